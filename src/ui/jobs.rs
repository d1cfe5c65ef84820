//! Long work off the key path: run-to-end (`e`, End) goes on in slices of at most
//! [`SLICE`] between keys and frames, with its progress (events/s, and the time
//! left when the run's end is known) in the status line; Esc stops it where it is.
//!
//! The run stays on the loop's thread, so the screen never reads a run another
//! thread is changing: a slice is short enough that a key, `q` or a signal waits
//! at most one slice (see `event_loop` in `ui/mod.rs`).

use crate::i18n::Msg;
use crate::lesson::Lang;
use crate::run::{Outcome, Run};
use std::time::{Duration, Instant};

/// How long one slice of work may hold the loop.
pub const SLICE: Duration = Duration::from_millis(20);
/// Steps a run to the end takes at once, before it goes on in slices (a few
/// milliseconds).
pub const FIRST_STEPS: usize = 100_000;
/// How often the screen is redrawn while a job runs (a key redraws at once).
pub const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// A run-to-end in progress.
#[derive(Debug)]
pub struct Job {
    started: Instant,
    from_events: usize,
    from_steps: usize,
}

impl Job {
    pub fn run_to_end(run: &Run) -> Job {
        Job {
            started: Instant::now(),
            from_events: run.trace().total_len(),
            from_steps: run.steps(),
        }
    }

    /// The first stretch, taken at once with the key: a short run ends in it
    /// (the same steps whatever the machine), and only a longer one becomes a job.
    pub fn first(&mut self, run: &mut Run) -> Option<Outcome> {
        run.run_steps(FIRST_STEPS)
    }

    /// One slice of the work; the outcome once the job is over.
    pub fn slice(&mut self, run: &mut Run) -> Option<Outcome> {
        run.run_for(Instant::now() + SLICE)
    }

    /// The status line while the job runs.
    pub fn progress(&self, run: &Run, lang: Lang) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let events = run.trace().total_len().saturating_sub(self.from_events);
        let steps_done = run.steps();
        let rate = events as f64 / secs;
        let mut s = Msg::SJobRunning.fill(
            lang,
            &[&millions(run.trace().total_len()), &millions_f(rate)],
        );
        // The time left is known when the run has been this way before (after a
        // step back): the steps still ahead at the steps' pace so far.
        if let Some(end) = run.known_end_steps()
            && steps_done > self.from_steps
        {
            let pace = (steps_done - self.from_steps) as f64 / secs;
            let left = end.saturating_sub(steps_done) as f64 / pace.max(1.0);
            s.push_str(&Msg::SJobEta.fill(lang, &[&format!("{left:.1}")]));
        }
        s.push_str(Msg::SJobCancelHint.get(lang));
        s
    }
}

fn millions(n: usize) -> String {
    millions_f(n as f64)
}

fn millions_f(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.1} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.0} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_a_person_says_them() {
        assert_eq!(millions(999), "999");
        assert_eq!(millions(24_000), "24 k");
        assert_eq!(millions(2_400_043), "2.4 M");
    }
}
