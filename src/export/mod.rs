//! Writing a finished run out: the text report, JSON lines, Perfetto's trace format.

mod jsonl;
mod perfetto;
mod text;

pub use jsonl::{JsonlStream, write_jsonl};
pub use perfetto::perfetto_json;
pub use text::text_report;

use crate::lesson::{Knobs, Lang, Lesson};
use crate::sim::Schedule;
use crate::trace::{Mode, Trace};

/// How a run can be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replay {
    /// A seeded stepped run, and the schedule it produced.
    Seed(u64, Schedule),
    /// A stepped run from a schedule string.
    Schedule(Schedule),
    /// A live run cannot be replayed; its trace is what happened.
    Live,
    /// A live run of threads that recorded which write each read saw.
    Recorded(LiveReplay),
}

/// What a live run's record gives its report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveReplay {
    /// The schedule that replays it stepped, or why there is none.
    pub schedule: Result<Schedule, String>,
    /// Knobs to set over the run's own to follow the schedule
    /// (`explore::replay::replay_sets`).
    pub sets: Vec<(&'static str, &'static str)>,
    /// Its lost updates, counted from the record (exact), when it is complete.
    pub lost_updates: Option<usize>,
}

/// Everything a report about one run needs.
pub struct Report<'a> {
    pub lesson: &'a Lesson,
    pub knobs: &'a Knobs,
    pub trace: &'a Trace,
    pub mode: Mode,
    pub replay: Replay,
    pub wall_ms: f64,
    pub lang: Lang,
    /// False when a live run had to be stopped before it ended.
    pub finished: bool,
}

impl Report<'_> {
    /// The command line that runs this again.
    pub fn command_line(&self) -> String {
        let mut s = format!("interleave run {}", self.lesson.id);
        for (name, v) in self.knobs.iter() {
            s.push_str(&format!(" --set {name}={v}"));
        }
        match &self.replay {
            Replay::Seed(seed, _) => s.push_str(&format!(" --seed {seed}")),
            Replay::Schedule(sch) => s.push_str(&format!(" --schedule '{sch}'")),
            Replay::Live | Replay::Recorded(..) => s.push_str(" --live"),
        }
        s
    }

    /// `--set` arguments for the run's knobs, with `over` set over them.
    pub fn knob_args(&self, over: &[(&str, &str)]) -> String {
        let mut s = String::new();
        for (name, v) in self.knobs.iter() {
            let v = over
                .iter()
                .find(|(k, _)| *k == name)
                .map_or_else(|| v.to_string(), |(_, o)| o.to_string());
            s.push_str(&format!(" --set {name}={v}"));
        }
        for (k, v) in over.iter().filter(|(k, _)| self.knobs.get(k).is_none()) {
            s.push_str(&format!(" --set {k}={v}"));
        }
        s
    }

    /// The lesson's verdict on this run.
    pub fn verdict(&self) -> Option<crate::trace::Verdict> {
        let over = self.finished;
        crate::trace::verdict(self.lesson, self.knobs, self.trace, over, self.lang)
    }

    pub fn schedule(&self) -> Option<&Schedule> {
        match &self.replay {
            Replay::Seed(_, s) | Replay::Schedule(s) => Some(s),
            Replay::Recorded(LiveReplay {
                schedule: Ok(s), ..
            }) => Some(s),
            Replay::Live | Replay::Recorded(_) => None,
        }
    }
}
