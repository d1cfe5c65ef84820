//! Schedule strings: the actor chosen at every step, short enough to paste.
//!
//! Format: tokens separated by spaces or commas; `2` is one step of actor 2, `2x40`
//! is forty steps of it. Actor 0 is `MainThread`, the rest in the order the lesson
//! lists them.

use crate::program::ActorId;
use std::fmt;

/// The actor chosen at every step of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule(pub Vec<ActorId>);

/// A schedule string that cannot be read, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleError {
    /// 1-based token number.
    pub token: usize,
    pub text: String,
    pub reason: &'static str,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed schedule at token {} `{}`: {} (expected ACTOR or ACTORxCOUNT, e.g. `1x4 2 1x2`)",
            self.token, self.text, self.reason
        )
    }
}

impl std::error::Error for ScheduleError {}

/// Longest schedule a string may ask for, so a typo cannot ask for 10^18 steps.
pub const MAX_STEPS: usize = 100_000_000;

impl Schedule {
    pub fn parse(s: &str) -> Result<Schedule, ScheduleError> {
        let mut out = Vec::new();
        for (i, tok) in s
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|t| !t.is_empty())
            .enumerate()
        {
            let err = |reason| ScheduleError {
                token: i + 1,
                text: tok.to_string(),
                reason,
            };
            let (actor, count) = match tok.split_once('x') {
                Some((a, n)) => (a, n),
                None => (tok, "1"),
            };
            let actor: ActorId = actor
                .parse()
                .map_err(|_| err("the actor is not a number"))?;
            let count: usize = count
                .parse()
                .map_err(|_| err("the count is not a number"))?;
            if count == 0 {
                return Err(err("a count must be at least 1"));
            }
            if out.len() + count > MAX_STEPS {
                return Err(err("the schedule is longer than 100 million steps"));
            }
            out.extend(std::iter::repeat_n(actor, count));
        }
        Ok(Schedule(out))
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut i = 0;
        let v = &self.0;
        while i < v.len() {
            let mut j = i + 1;
            while j < v.len() && v[j] == v[i] {
                j += 1;
            }
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            if j - i == 1 {
                write!(f, "{}", v[i])?;
            } else {
                write!(f, "{}x{}", v[i], j - i)?;
            }
            i = j;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let s = Schedule(vec![0, 0, 0, 1, 2, 2, 1]);
        assert_eq!(s.to_string(), "0x3 1 2x2 1");
        assert_eq!(Schedule::parse(&s.to_string()).unwrap(), s);
        assert_eq!(Schedule::parse("0x3,1, 2x2 1").unwrap(), s);
    }

    #[test]
    fn says_what_is_wrong() {
        let e = Schedule::parse("1x4 t2").unwrap_err();
        assert_eq!(e.token, 2);
        assert!(e.to_string().contains("`t2`"));
        assert!(Schedule::parse("1x0").is_err());
        assert!(Schedule::parse("1xx").is_err());
        assert!(Schedule::parse("1x999999999999").is_err());
    }
}
