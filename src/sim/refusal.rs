//! Why an actor may not take the step asked for: the simulator's refusals, in
//! words a student can act on.

use super::*;

/// Why an actor cannot take a step, in words a student can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    NoSuchActor(ActorId),
    NotStarted(String),
    Done(String),
    BlockedOnLock {
        actor: String,
        lock: String,
        holder: String,
    },
    BlockedOnJoin {
        actor: String,
        target: String,
    },
    Sleeping {
        actor: String,
        until_ns: u64,
    },
    /// A queue is empty (a get waits) or full (a put waits).
    BlockedOnQueue {
        actor: String,
        queue: String,
        full: bool,
    },
    /// In `cond.wait()`, not notified yet.
    WaitingForNotify {
        actor: String,
        cond: String,
    },
    /// In `barrier.wait()`: waiting for the other parties (or, `entering`, for
    /// the parties of the last trip to leave).
    WaitingAtBarrier {
        actor: String,
        barrier: String,
        entering: bool,
    },
    /// In `sem.acquire()` with the counter at 0 (`event` false), or in
    /// `ev.wait()` with the flag clear (`event` true).
    WaitingOnSync {
        actor: String,
        name: String,
        event: bool,
    },
    /// Another thread of the same process holds the GIL and may not let go yet.
    GilHeld {
        actor: String,
        holder: String,
        model: &'static str,
    },
    /// Another task of the event loop runs, and has not reached an `await`
    /// that gives the loop back.
    LoopHeld {
        actor: String,
        holder: String,
    },
    Finished,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::En))
    }
}

impl Refusal {
    /// Why, in `lang`: the names stay as the program has them.
    pub fn text(&self, lang: Lang) -> String {
        match self {
            Refusal::NoSuchActor(a) => Msg::XNoSuchActor.fill(lang, &[a]),
            Refusal::NotStarted(a) => Msg::XNotStarted.fill(lang, &[a]),
            Refusal::Done(a) => Msg::XDone.fill(lang, &[a]),
            Refusal::BlockedOnLock {
                actor,
                lock,
                holder,
            } => Msg::XBlockedOnLock.fill(lang, &[actor, lock, holder]),
            Refusal::BlockedOnJoin { actor, target } => {
                Msg::XBlockedOnJoin.fill(lang, &[actor, target])
            }
            Refusal::BlockedOnQueue { actor, queue, full } => if *full {
                Msg::XQueueFull
            } else {
                Msg::XQueueEmpty
            }
            .fill(lang, &[actor, queue]),
            Refusal::WaitingForNotify { actor, cond } => {
                Msg::XWaitingForNotify.fill(lang, &[actor, cond])
            }
            Refusal::WaitingAtBarrier {
                actor,
                barrier,
                entering,
            } => if *entering {
                Msg::XBarrierDrains
            } else {
                Msg::XWaitingAtBarrier
            }
            .fill(lang, &[actor, barrier]),
            Refusal::WaitingOnSync { actor, name, event } => if *event {
                Msg::XWaitingForSet
            } else {
                Msg::XWaitingForRelease
            }
            .fill(lang, &[actor, name]),
            Refusal::Sleeping { actor, until_ns } => {
                Msg::XSleeping.fill(lang, &[actor, &format!("{:.3}", *until_ns as f64 / 1e6)])
            }
            Refusal::GilHeld {
                actor,
                holder,
                model,
            } => Msg::XGilHeld.fill(lang, &[actor, holder, model]),
            Refusal::LoopHeld { actor, holder } => Msg::XLoopHeld.fill(lang, &[actor, holder]),
            Refusal::Finished => Msg::XFinished.get(lang).into(),
        }
    }
}

impl Sim {
    /// Whether `a` may take a step now, and if not, why.
    #[inline]
    pub fn check(&self, a: ActorId) -> Result<(), Refusal> {
        if self.can_step(a) {
            return Ok(());
        }
        self.refusal(a)
    }

    /// Why `a` may not step (the slow path of [`Sim::check`]).
    #[cold]
    pub(super) fn refusal(&self, a: ActorId) -> Result<(), Refusal> {
        let rt = self.actors.get(a as usize).ok_or(Refusal::NoSuchActor(a))?;
        match rt.status {
            RunState::Ready => {}
            RunState::NotStarted => return Err(Refusal::NotStarted(self.name(a))),
            RunState::Done(_) => return Err(Refusal::Done(self.name(a))),
            RunState::Sleeping(until) => {
                // Time only passes by itself when nobody else can run, unless
                // the scheduler decides when sleeps end.
                if self.anyone_ready() && !self.program.sleeps_end_by_scheduler {
                    return Err(Refusal::Sleeping {
                        actor: self.name(a),
                        until_ns: until,
                    });
                }
            }
            RunState::Blocked => {
                return Err(match self.program.instr(a, rt.pc) {
                    Some(
                        Instr::Join(t)
                        | Instr::JoinFor { t, .. }
                        | Instr::RunProgram { child: t, .. },
                    ) => Refusal::BlockedOnJoin {
                        actor: self.name(a),
                        target: self.name(t),
                    },
                    Some(
                        Instr::QueuePut { q, .. }
                        | Instr::QueueGet { q, .. }
                        | Instr::QueueTry { q, .. },
                    ) => Refusal::BlockedOnQueue {
                        actor: self.name(a),
                        queue: self.program.queues[q as usize].name.clone(),
                        full: matches!(
                            self.program.instr(a, rt.pc),
                            Some(Instr::QueuePut { .. } | Instr::QueueTry { put: true, .. })
                        ),
                    },
                    Some(Instr::PipeRecv { conn, .. }) => Refusal::BlockedOnQueue {
                        actor: self.name(a),
                        queue: self.program.conn_name(conn).to_string(),
                        full: false,
                    },
                    Some(Instr::CondSleep(l)) => Refusal::WaitingForNotify {
                        actor: self.name(a),
                        cond: self.program.locks[l as usize].name.clone(),
                    },
                    Some(
                        ins @ (Instr::BarrierWait { barrier: l, .. }
                        | Instr::BarrierSleep { barrier: l, .. }),
                    ) => Refusal::WaitingAtBarrier {
                        actor: self.name(a),
                        barrier: self.program.locks[l as usize].name.clone(),
                        entering: matches!(ins, Instr::BarrierWait { .. }),
                    },
                    Some(Instr::SemAcquire(g) | Instr::EventWait { ev: g, .. }) => {
                        Refusal::WaitingOnSync {
                            actor: self.name(a),
                            name: self.program.vars[g as usize].name.clone(),
                            event: matches!(
                                self.program.instr(a, rt.pc),
                                Some(Instr::EventWait { .. })
                            ),
                        }
                    }
                    Some(Instr::Acquire(l) | Instr::AioAcquire(l)) => Refusal::BlockedOnLock {
                        actor: self.name(a),
                        lock: self.program.locks[l as usize].name.clone(),
                        holder: self.locks[l as usize]
                            .map(|h| self.name(h))
                            .unwrap_or_else(|| "nobody".into()),
                    },
                    // Not a blocking instruction: the actor cannot be blocked there.
                    None | Some(crate::program::never_blocks!()) => Refusal::Done(self.name(a)),
                });
            }
        }
        if self.ending != Ending::Running {
            return Err(Refusal::Finished);
        }
        if let Some(h) = self.gil_refuses(a)
            && self.program.event_loop
        {
            return Err(Refusal::LoopHeld {
                actor: self.name(a),
                holder: self.name(h),
            });
        }
        if let Some(h) = self.gil_refuses(a) {
            return Err(Refusal::GilHeld {
                actor: self.name(a),
                holder: self.name(h),
                model: self.cfg.gil.name(),
            });
        }
        Ok(())
    }

    /// The GIL holder that keeps `a` from running, if any.
    #[inline]
    pub(super) fn gil_refuses(&self, a: ActorId) -> Option<ActorId> {
        if self.program.event_loop {
            return self.loop_refuses(a);
        }
        if !self.cfg.gil.has_gil() {
            return None;
        }
        let h = self.gil[self.process[a as usize] as usize]?;
        if h == a {
            return None;
        }
        let last = self.actors[h as usize].last?;
        (!self.cfg.gil.may_switch_after(last)).then_some(h)
    }
}
