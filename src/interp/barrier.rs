//! `threading.Barrier`'s state, as CPython's `Barrier` keeps it (Lib/threading.py):
//! how many parties are in `wait()` and whether it fills, drains or is broken.
//! Every engine keeps one per barrier and changes it only through these methods,
//! so what a barrier does is written once; the engines answer only how a party
//! waits for a change.

use crate::program::Value;

/// CPython's `Barrier._state`: 0 filling, 1 draining, −2 broken (`reset()`'s −1
/// is not modelled: no lesson resets a barrier).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Parties arrive and wait for the last one.
    #[default]
    Filling,
    /// The barrier tripped: the parties of that trip leave; a party arriving for
    /// the next round waits until the last of them has left.
    Draining,
    /// Broken by `abort()` or a timed-out `wait()`: every waiting party and every
    /// later `wait()` raises `BrokenBarrierError`.
    Broken,
}

/// One barrier: its phase and CPython's `_count` (parties inside `wait()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BarrierState {
    pub phase: Phase,
    pub count: u32,
}

impl BarrierState {
    /// `_enter` waits while the barrier drains.
    pub fn may_enter(&self) -> bool {
        self.phase != Phase::Draining
    }

    /// The arrival (after `_enter`): `None` on a broken barrier (raise);
    /// else the arrival's index, and the `parties`-th arrival trips it (`_release`).
    pub fn arrive(&mut self, parties: u8) -> Option<Value> {
        if self.phase == Phase::Broken {
            return None;
        }
        let index = self.count;
        self.count += 1;
        if self.count >= parties as u32 {
            self.phase = Phase::Draining;
        }
        Some(index as Value)
    }

    /// `_wait`'s predicate: the barrier tripped or broke since the party arrived.
    /// (It cannot be filling again before this party has left: the party counts.)
    pub fn released(&self) -> bool {
        self.phase != Phase::Filling
    }

    /// `_break()`: a party's wait timed out, or `abort()`.
    pub fn break_(&mut self) {
        self.phase = Phase::Broken;
    }

    /// A party leaves `wait()` (`_exit`, always run): whether it passed (false:
    /// the barrier is broken, `BrokenBarrierError`). The last to leave a drained
    /// barrier lets it fill again.
    pub fn leave(&mut self) -> bool {
        let passed = self.phase != Phase::Broken;
        self.count = self.count.saturating_sub(1);
        if self.count == 0 && self.phase == Phase::Draining {
            self.phase = Phase::Filling;
        }
        passed
    }

    /// `barrier.n_waiting`: how many wait for the barrier to trip.
    pub fn n_waiting(&self) -> u32 {
        if self.phase == Phase::Filling {
            self.count
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_parties_trip_drain_and_fill_again() {
        let mut b = BarrierState::default();
        assert_eq!(b.arrive(3), Some(0));
        assert_eq!(b.arrive(3), Some(1));
        assert!(!b.released());
        assert_eq!(b.n_waiting(), 2);
        assert_eq!(b.arrive(3), Some(2));
        assert!(b.released());
        assert!(
            !b.may_enter(),
            "a party of the next round waits for the drain"
        );
        assert!(b.leave() && b.leave());
        assert!(!b.may_enter());
        assert!(b.leave());
        assert!(b.may_enter());
        assert_eq!(b, BarrierState::default());
    }

    #[test]
    fn a_broken_barrier_raises_in_waiters_and_later_arrivals() {
        let mut b = BarrierState::default();
        assert_eq!(b.arrive(3), Some(0));
        b.break_();
        assert!(b.released());
        assert!(!b.leave(), "the waiting party raises");
        assert!(b.may_enter());
        assert_eq!(b.arrive(3), None, "a later wait() raises at once");
        // A party of a trip that had not left yet raises too (CPython checks
        // `_state < 0` after its wait).
        let mut b = BarrierState::default();
        b.arrive(2);
        b.arrive(2);
        b.break_();
        assert!(!b.leave());
    }
}
