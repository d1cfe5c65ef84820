//! The simulator's answers for asyncio programs ([`Program::event_loop`]): the
//! actors are the tasks of one event loop on one thread. The loop is held as a
//! GIL is (`Sim::gil`), and passes only where the running task awaits
//! ([`Instr::yields_loop`]), waits or ends: [`Sim::loop_refuses`].
//!
//! An `asyncio.Lock`'s line of waiting tasks is kept in `cond_waiters` (a lock
//! of an asyncio program is never a `threading.Condition`'s).
//!
//! [`Program::event_loop`]: crate::program::Program::event_loop

use super::*;

impl Sim {
    /// The task that holds the event loop and keeps `a` from running, if any:
    /// the holder's last step was not an `await` that gave the loop back.
    #[inline]
    pub(super) fn loop_refuses(&self, a: ActorId) -> Option<ActorId> {
        let h = self.gil[self.process[a as usize] as usize]?;
        if h == a {
            return None;
        }
        let last = self.actors[h as usize].last?;
        (!last.yields_loop()).then_some(h)
    }

    /// `await asyncio.sleep(0)`: the task gives the loop back and stays ready.
    /// The event records the virtual time of the yield.
    pub(super) fn aio_yield(&mut self, a: ActorId, ins: Instr, next: Pc) {
        let ai = a as usize;
        self.event(a, EventKind::Exec, self.now as Value);
        self.now += INSTR_NS;
        self.actors[ai].pc = next;
        self.actors[ai].last = Some(ins);
        self.drop_gil(a);
    }

    /// `async with lock:` on an `asyncio.Lock`: taken at once when free and
    /// nobody else is in line first (CPython's `Lock.acquire`, 3.8–3.13: a
    /// task woken by a release takes the lock when it runs, and a task that
    /// comes meanwhile queues behind it); else `a` gets in line.
    pub(super) fn aio_take(&mut self, a: ActorId, l: LockId) -> bool {
        let li = l as usize;
        let first = self.cond_waiters[li].first().is_none_or(|&w| w == a);
        if self.locks[li].is_none() && first {
            self.locks[li] = Some(a);
            self.cond_waiters[li].retain(|&w| w != a);
            return true;
        }
        if !self.cond_waiters[li].contains(&a) {
            self.cond_waiters[li].push(a);
        }
        false
    }

    /// The end of `async with lock:`: frees the lock and wakes the first task
    /// in line (it takes the lock when it runs); `a` keeps the loop.
    pub(super) fn aio_release(&mut self, a: ActorId, l: LockId, ins: Instr, next: Pc) {
        let ai = a as usize;
        self.locks[l as usize] = None;
        self.event(a, EventKind::Exec, l as Value);
        self.actors[ai].pc = next;
        self.actors[ai].last = Some(ins);
        self.now += INSTR_NS;
        if let Some(&w) = self.cond_waiters[l as usize].first()
            && self.actors[w as usize].status == RunState::Blocked
        {
            self.actors[w as usize].status = RunState::Ready;
            self.event(w, EventKind::Wake, a as Value);
        }
    }
}
