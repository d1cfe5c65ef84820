//! Writing a finished run out: the text report, JSON lines, Perfetto's trace format.

mod jsonl;
mod perfetto;
mod text;

pub use jsonl::{JsonlStream, write_jsonl};
pub use perfetto::{PerfettoStream, PerfettoWriter, perfetto_json};
pub use text::{MAX_SCHEDULE_CHARS, TextStream, text_report};

use crate::lesson::{Knobs, Lang, Lesson};
use crate::run::Schedule;
use crate::trace::{Mode, Trace};

/// How a run can be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replay {
    /// A seeded stepped run, and the schedule it produced.
    Seed(u64, Schedule),
    /// A stepped run from a schedule string.
    Schedule(Schedule),
    /// A stepped run from a schedule string whose whole schedule was too long
    /// to keep: the string given, which replays it (seed 0 goes on past its end).
    Given(String),
    /// A live run cannot be replayed; its trace is what happened.
    Live,
    /// A live run that recorded which write each read saw (threads, and
    /// processes that share only `multiprocessing.Value`s and locks).
    Recorded(LiveReplay),
}

/// What a live run's record gives its report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveReplay {
    /// The schedule that replays it stepped, or why there is none.
    pub schedule: Result<Schedule, crate::run::NoReplay>,
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
            Replay::Given(sch) => s.push_str(&format!(" --schedule '{sch}'")),
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
            Replay::Given(_) | Replay::Live | Replay::Recorded(_) => None,
        }
    }
}

/// The schedule of a run that is too long to keep, step by step, as runs of
/// one actor (`Schedule`'s `Display`: `0x4 1 2x3`): kept while it has at most
/// `max_steps` steps and its string at most `max_chars` characters; the
/// string's length and the number of steps always.
pub struct ScheduleKeeper {
    /// (actor, steps): a run within the knobs has far fewer than 2^32 steps.
    runs: Vec<(crate::program::ActorId, u32)>,
    max_steps: usize,
    max_chars: usize,
    kept: bool,
    total: usize,
    /// The string's length without the last run.
    chars: usize,
}

/// What a streamed run's report says about its schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamedSchedule {
    /// The schedule string's length.
    pub chars: usize,
    /// Whether `--format jsonl` carries it (it has at most 16 Mi steps).
    pub whole: bool,
    /// The string, if it was kept.
    pub text: Option<String>,
}

impl ScheduleKeeper {
    pub fn new(max_steps: usize, max_chars: usize) -> ScheduleKeeper {
        ScheduleKeeper {
            runs: Vec::new(),
            max_steps,
            max_chars,
            kept: true,
            total: 0,
            chars: 0,
        }
    }

    /// Takes in the next steps.
    pub fn extend(&mut self, steps: &[crate::program::ActorId]) {
        let mut rest = steps;
        // A run of one actor's steps at a time.
        while let Some(&a) = rest.first() {
            let len = rest.iter().position(|&b| b != a).unwrap_or(rest.len());
            rest = &rest[len..];
            let len = u32::try_from(len).unwrap_or(u32::MAX);
            match self.runs.last_mut() {
                Some((b, n)) if *b == a => *n = n.saturating_add(len),
                last => {
                    // A finished run and the space after it.
                    self.chars += last.map_or(0, |r| token_chars(*r) + 1);
                    if !self.kept {
                        self.runs.clear();
                    }
                    self.runs.push((a, len));
                }
            }
        }
        self.total += steps.len();
        if self.total > self.max_steps || self.chars() > self.max_chars {
            self.kept = false;
        }
    }

    /// The length of the schedule's string.
    pub fn chars(&self) -> usize {
        self.chars + self.runs.last().map_or(0, |r| token_chars(*r))
    }

    /// Steps taken in all.
    pub fn total_steps(&self) -> usize {
        self.total
    }

    /// What the report says: the string if it was kept.
    pub fn report(&self, whole_steps: usize) -> StreamedSchedule {
        let text = self.kept.then(|| {
            let words: Vec<String> = self
                .runs
                .iter()
                .map(|&(a, n)| match n {
                    1 => a.to_string(),
                    _ => format!("{a}x{n}"),
                })
                .collect();
            words.join(" ")
        });
        StreamedSchedule {
            chars: self.chars(),
            whole: self.total <= whole_steps,
            text,
        }
    }
}

/// The characters one run of a schedule string takes: `2`, `0x17`.
fn token_chars((a, n): (crate::program::ActorId, u32)) -> usize {
    let digits = |x: usize| x.checked_ilog10().map_or(1, |d| d as usize + 1);
    digits(a as usize) + if n > 1 { 1 + digits(n as usize) } else { 0 }
}
