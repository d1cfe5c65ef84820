//! What the lesson test files share: one built-in lesson, named by its id, run
//! from knob settings written as on the command line (`work=none`): stepped, as a
//! replay of a schedule string, explored exhaustively, or live.
#![allow(dead_code)]

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::explore::{self, Control, Limits, OutcomeKey, Stop};
use interleave::lesson::{Knobs, Lesson};
use interleave::live::LiveRun;
use interleave::program::Program;
use interleave::run::{Origin, Run, Start};
use interleave::sim::Sim;
use interleave::trace::Trace;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long a live run may take before the test says it did not end.
pub const LIVE_LIMIT: Duration = Duration::from_secs(60);

/// A built-in lesson, by id.
pub struct Of(pub &'static str);

impl Of {
    pub fn lesson(&self) -> Lesson {
        let catalog = Catalog::embedded().expect("the built-in lessons load");
        catalog.find(self.0).expect("the lesson exists").clone()
    }

    /// The lesson, its knobs set as `s` says, and its program.
    fn built(&self, s: &[&str]) -> (Lesson, Knobs, Arc<Program>) {
        let l = self.lesson();
        let knobs = knobs_from(&l, &sets(s)).expect("valid knobs");
        let p = Arc::new(interleave::scenarios::build(&l, &knobs).expect("the lesson builds"));
        (l, knobs, p)
    }

    /// A stepped run to its end, as the playground makes it.
    pub fn stepped(&self, s: &[&str], origin: Origin) -> Trace {
        let (l, knobs, _) = self.built(s);
        Run::new(&l, knobs, Start::Stepped(origin))
            .expect("the lesson builds")
            .finish_stepped()
            .expect("a stepped run runs to its end")
    }

    /// The simulator after the steps of a schedule string (`0x3 1x4 2`).
    pub fn replay(&self, s: &[&str], schedule: &str) -> Sim {
        let (_, knobs, p) = self.built(s);
        Sim::replay(p, knobs.engine(), &steps(schedule)).expect("every step may be taken")
    }

    /// Every outcome, by exhaustive exploration, which must finish within `secs`.
    /// The outcome set is complete once the state search has visited every
    /// reachable state (`explore::exhaustive`); only DPOR's counts need more, and
    /// these tests ask for none, so DPOR first gets a small budget (semaphore at
    /// three workers: 0.3 s instead of 146 s). Where the state search gives up, the
    /// whole search runs.
    pub fn outcomes(&self, s: &[&str], secs: u64) -> Vec<OutcomeKey> {
        let (_, knobs, p) = self.built(s);
        let limits = Limits {
            max_time: Duration::from_secs(secs),
            ..Limits::default()
        };
        let quick = Limits {
            max_executions: 10_000,
            ..limits.clone()
        };
        let mut ex = explore::exhaustive(&p, knobs.engine(), &quick, &Control::default());
        if ex.stop != Stop::Complete {
            ex = explore::exhaustive(&p, knobs.engine(), &limits, &Control::default());
        }
        assert_eq!(
            ex.stop,
            Stop::Complete,
            "{s:?}: the outcome set is complete"
        );
        ex.outcomes.into_iter().map(|f| f.key).collect()
    }

    /// A live run on real threads (and processes), which must end within
    /// [`LIVE_LIMIT`].
    pub fn live(&self, s: &[&str]) -> Trace {
        let (_, knobs, p) = self.built(s);
        let (trace, finished) = LiveRun::start(p, knobs.engine(), 1.0).wait(LIVE_LIMIT);
        assert!(finished, "the live run {s:?} did not end");
        trace
    }
}

pub fn sets(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

/// The output panel's lines.
pub fn output(t: &Trace) -> Vec<String> {
    t.output.iter().map(|o| o.text.clone()).collect()
}

/// How many lines contain `what`.
pub fn count(out: &[String], what: &str) -> usize {
    out.iter().filter(|l| l.contains(what)).count()
}

/// Expands a schedule string (`0x7 1x4`) into the actor of every step.
pub fn steps(schedule: &str) -> Vec<u16> {
    schedule
        .split_whitespace()
        .flat_map(|run| {
            let (a, n) = run.split_once('x').unwrap_or((run, "1"));
            let (a, n): (u16, usize) = (a.parse().expect("an actor"), n.parse().expect("a count"));
            std::iter::repeat_n(a, n)
        })
        .collect()
}

/// The lesson's code with these knob settings, as the student reads it.
pub fn code(id: &str, s: &[String]) -> String {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(id).expect("the lesson exists");
    l.code(&knobs_from(l, s).expect("valid knobs"))
}

/// The interpreter under pyenv whose version starts with `v` (`3.11`), if there is one.
pub fn pyenv_python(v: &str) -> Option<PathBuf> {
    let home = std::env::var("HOME").unwrap_or_default();
    std::fs::read_dir(format!("{home}/.pyenv/versions"))
        .into_iter()
        .flatten()
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{v}."))
        })
        .map(|e| e.path().join("bin/python"))
}
