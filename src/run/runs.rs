//! A schedule as its runs of one actor (`0x4 1 2x3`): what the playground keeps
//! of a pasted schedule and of the steps taken, sized by the string, not by the
//! steps it counts.

use crate::program::ActorId;
use crate::sim::Schedule;
use std::fmt;

/// Steps as runs of one actor. Neighbouring runs of one actor are merged, so
/// `1x2 1x3` is kept (and written) as `1x5`: the same steps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Runs {
    /// (actor, the step after the run's last), in order.
    runs: Vec<(ActorId, u64)>,
}

impl Runs {
    /// The runs of a schedule string's tokens, `(actor, count)`.
    pub fn from_tokens(tokens: &[(ActorId, u64)]) -> Runs {
        let mut r = Runs::default();
        for &(a, n) in tokens {
            r.push(a, n);
        }
        r
    }

    /// Appends `n` steps of actor `a`.
    pub fn push(&mut self, a: ActorId, n: u64) {
        if n == 0 {
            return;
        }
        let end = self.len() as u64 + n;
        match self.runs.last_mut() {
            Some((b, e)) if *b == a => *e = end,
            _ => self.runs.push((a, end)),
        }
    }

    /// Steps in all.
    pub fn len(&self) -> usize {
        self.runs.last().map_or(0, |r| r.1 as usize)
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The actor of the last step.
    pub fn last_actor(&self) -> Option<ActorId> {
        self.runs.last().map(|r| r.0)
    }

    /// How many runs (tokens of the string) there are.
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// The actor of step `i` (from 0).
    pub fn at(&self, i: usize) -> Option<ActorId> {
        let k = self.runs.partition_point(|r| r.1 <= i as u64);
        self.runs.get(k).map(|r| r.0)
    }

    /// Keeps the first `steps` steps.
    pub fn truncate(&mut self, steps: usize) {
        let steps = steps as u64;
        let whole = self.runs.partition_point(|r| r.1 <= steps);
        let start = whole.checked_sub(1).map_or(0, |k| self.runs[k].1);
        let part = start < steps && whole < self.runs.len();
        self.runs.truncate(whole + usize::from(part));
        if part {
            self.runs[whole].1 = steps;
        }
    }

    /// `(actor, count)` per run.
    pub fn tokens(&self) -> impl Iterator<Item = (ActorId, u64)> + '_ {
        let mut start = 0;
        self.runs.iter().map(move |&(a, end)| {
            let n = end - start;
            start = end;
            (a, n)
        })
    }
}

impl From<&Schedule> for Runs {
    fn from(s: &Schedule) -> Runs {
        let mut r = Runs::default();
        for &a in &s.0 {
            r.push(a, 1);
        }
        r
    }
}

impl From<Schedule> for Runs {
    fn from(s: Schedule) -> Runs {
        Runs::from(&s)
    }
}

/// The schedule string (`Schedule`'s format: `0x4 1 2x3`).
impl fmt::Display for Runs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (a, n)) in self.tokens().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match n {
                1 => write!(f, "{a}")?,
                _ => write!(f, "{a}x{n}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_as_the_schedule_string_does() {
        let s = Schedule(vec![0, 0, 0, 1, 2, 2, 1]);
        let r = Runs::from(&s);
        assert_eq!(r.to_string(), s.to_string());
        assert_eq!(r.len(), 7);
        assert_eq!(r.run_count(), 4);
        let picks: Vec<_> = (0..8).map(|i| r.at(i)).collect();
        let mut want: Vec<_> = s.0.iter().map(|&a| Some(a)).collect();
        want.push(None);
        assert_eq!(picks, want);
        // Huge counts cost one run each.
        let big = Runs::from_tokens(&[(1, 50_000_000), (2, 50_000_000), (2, 1)]);
        assert_eq!(big.run_count(), 2);
        assert_eq!(big.to_string(), "1x50000000 2x50000001");
        assert_eq!(big.at(49_999_999), Some(1));
        assert_eq!(big.at(50_000_000), Some(2));
    }

    #[test]
    fn truncates_to_any_step() {
        let s = Schedule(vec![0, 0, 0, 1, 2, 2, 1]);
        for n in 0..=8 {
            let mut r = Runs::from(&s);
            r.truncate(n);
            let cut = Schedule(s.0[..n.min(7)].to_vec());
            assert_eq!(r, Runs::from(&cut), "at {n}");
            assert_eq!(r.len(), n.min(7));
        }
    }
}
