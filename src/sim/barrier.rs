//! `threading.Barrier` in the simulator: a party that cannot go on is blocked
//! (or, with a timeout, asleep until its deadline) and woken when the barrier
//! changes; what the barrier does is `crate::interp::barrier`.

use super::{RunState, Sim};
use crate::interp::barrier::BarrierState;
use crate::program::{ActorId, Instr, LockId};

impl Sim {
    pub(super) fn barrier(&mut self, l: LockId) -> &mut BarrierState {
        &mut self.barriers[l as usize]
    }

    /// After barrier `l` changed: wakes each party whose wait is over, one
    /// waiting to enter (`_enter`) once the barrier no longer drains, one
    /// waiting for the trip once it tripped or broke. They run their step again.
    pub(super) fn barrier_changed(&mut self, by: ActorId, l: LockId) {
        let b = self.barriers[l as usize];
        for w in 0..self.actors.len() {
            let rt = &self.actors[w];
            let over = match self.program.instr(w as ActorId, rt.pc) {
                Some(Instr::BarrierWait { barrier, .. }) if barrier == l => b.may_enter(),
                Some(Instr::BarrierSleep { barrier, .. }) if barrier == l => b.released(),
                _ => false,
            };
            if !over {
                continue;
            }
            match rt.status {
                RunState::Blocked => {}
                // A timed wait sleeps until its deadline.
                RunState::Sleeping(_) => self.sleepers -= 1,
                _ => continue,
            }
            self.actors[w].status = RunState::Ready;
            self.pending_wakes
                .push((w as ActorId, by as crate::program::Value));
        }
    }
}
