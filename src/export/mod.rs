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
            Replay::Live => s.push_str(" --live"),
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
            Replay::Live => None,
        }
    }
}
