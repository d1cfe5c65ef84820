//! The simulator's clocks: the fast paths that run many plain steps at once,
//! the run that keeps each actor's own clock, and what an instruction costs in
//! virtual time and GIL time.

use super::*;

impl Sim {
    /// [`Sim::exec`], keeping the actors' own clocks (see `own_clock`) when the
    /// program reads them.
    #[inline(always)]
    pub(super) fn exec_clocked(&mut self, a: ActorId) -> bool {
        if self.clocked {
            return self.exec_keeping_clocks(a);
        }
        match self.exec_plain(a) {
            Some(went_on) => went_on,
            None => self.exec(a),
        }
    }

    /// The instructions of a long run that touch only the actor's own stack and
    /// locals or a variable of the main process, done as [`Sim::exec`] does them,
    /// without its checks for signals and other processes. `None`: anything else,
    /// left to `exec`.
    #[inline(always)]
    pub(super) fn exec_plain(&mut self, a: ActorId) -> Option<bool> {
        // With one process, no signal can be pending and every variable is `vars`.
        if self.procs.len() > 1 {
            return None;
        }
        #[cfg(test)]
        if self.exec_only {
            return None;
        }
        let rt = &mut self.actors[a as usize];
        let pc = rt.pc;
        let ins = *self.program.actors[a as usize].code.get(pc as usize)?;
        let (value, next) = match ins {
            crate::program::local_instr!() => ins
                .exec_local(&mut rt.stack, &mut rt.locals, pc)
                .unwrap_or((0, pc + 1)),
            Instr::LoadGlobal(g) => {
                let v = self.vars[g as usize];
                rt.stack.push(v);
                (v, pc + 1)
            }
            Instr::StoreGlobal(g) => {
                let v = rt.stack.pop().unwrap_or(0);
                self.vars[g as usize] = v;
                (v, pc + 1)
            }
            // The general path, src/interp/.
            crate::program::general_instr!() => return None,
        };
        self.trace.events.push(Event {
            t_ns: self.now,
            value,
            pc,
            actor: a,
            kind: EventKind::Exec,
        });
        self.now += INSTR_NS;
        self.cpu_ns += INSTR_NS;
        rt.pc = next;
        rt.last = Some(ins);
        Some(true)
    }

    /// The timed scheduler's fast path, many steps at a time: `a` goes on through
    /// the instructions [`Sim::exec_plain`] does, as [`Sim::step_unchecked`] would
    /// step them, while `plan[pc]` (their cost) is below `stop` and `clock` plus the
    /// cost of the step before (`burst.pending`) stays before `horizon`, and at most
    /// `max` steps. Only where `step_unchecked` would do nothing else: one process,
    /// bytecode steps, no clocks kept, no sleepers, `a` ready and holding its GIL.
    pub(crate) fn plain_burst(&mut self, a: ActorId, plan: &[u64], burst: &mut timed::Burst) {
        let ai = a as usize;
        #[cfg(test)]
        if self.exec_only {
            return;
        }
        let gil_ok = !self.cfg.gil.has_gil() || self.gil.first().copied().flatten() == Some(a);
        if self.procs.len() > 1
            || self.clocked
            || self.sleepers > 0
            || self.cfg.granularity != Granularity::Bytecode
            || self.ending != Ending::Running
            || !gil_ok
            || self
                .actors
                .get(ai)
                .is_none_or(|r| r.status != RunState::Ready)
        {
            return;
        }
        let code = &self.program.actors[ai].code;
        let rt = &mut self.actors[ai];
        while burst.steps < burst.max {
            let pc = rt.pc;
            let (Some(&cost), Some(&ins)) = (plan.get(pc as usize), code.get(pc as usize)) else {
                break;
            };
            let t = burst.clock + burst.pending;
            if cost >= burst.stop || t >= burst.horizon {
                break;
            }
            let (value, next) = match ins {
                crate::program::local_instr!() => ins
                    .exec_local(&mut rt.stack, &mut rt.locals, pc)
                    .unwrap_or((0, pc + 1)),
                Instr::LoadGlobal(g) => {
                    let v = self.vars[g as usize];
                    rt.stack.push(v);
                    (v, pc + 1)
                }
                Instr::StoreGlobal(g) => {
                    let v = rt.stack.pop().unwrap_or(0);
                    self.vars[g as usize] = v;
                    (v, pc + 1)
                }
                // A step for `step_unchecked`.
                crate::program::general_instr!() => break,
            };
            burst.clock = t;
            burst.pending = cost;
            burst.charged = burst.pc;
            burst.pc = pc;
            burst.steps += 1;
            self.schedule.push(a);
            self.trace.events.push(Event {
                t_ns: self.now,
                value,
                pc,
                actor: a,
                kind: EventKind::Exec,
            });
            self.now += INSTR_NS;
            self.cpu_ns += INSTR_NS;
            rt.pc = next;
            rt.last = Some(ins);
        }
    }

    #[inline(never)]
    pub(super) fn exec_keeping_clocks(&mut self, a: ActorId) -> bool {
        let ai = a as usize;
        let p = self.process[ai] as usize;
        let gil = self.cfg.gil.has_gil();
        let pc = self.actors[ai].pc;
        let ins = self.program.instr(a, pc);
        if gil {
            self.own_clock[ai] = gil_slot(&self.gil_busy[p], self.own_clock[ai], cost_of(ins));
        }
        let start = self.own_clock[ai];
        let before = self.now;
        let went_on = self.exec(a);
        let done = self.actors[ai].pc != pc || matches!(self.actors[ai].status, RunState::Done(_));
        let spent = self.now - before;
        self.own_clock[ai] += spent;
        if gil {
            gil_hold(&mut self.gil_busy[p], start, spent);
        }
        self.move_clocks(ai, ins, done);
        went_on
    }

    /// How a step moves the clocks besides what `exec` spent: a child starts a while
    /// after its parent's call, a join or a lock goes on from the clock of what it
    /// waited for, a sleeper's time passes without the GIL.
    fn move_clocks(&mut self, ai: usize, ins: Option<Instr>, done: bool) {
        match ins {
            // A fork or a process's start: the child runs its first line a while
            // later, and start() takes the parent a while to return.
            Some(Instr::Start(t) | Instr::Fork(t)) => {
                let t = t as usize;
                let (first, back) = if self.process[t] != self.process[ai] {
                    (PROCESS_FIRST_LINE_NS, PROCESS_START_RETURNS_NS)
                } else {
                    (0, 0)
                };
                self.own_clock[t] = self.own_clock[t].max(self.own_clock[ai] + first);
                self.own_clock[ai] += back;
            }
            // A program run by subprocess starts as a process does, and is waited for.
            Some(Instr::RunProgram { child, .. }) if !done => {
                let first = self.own_clock[ai] + PROCESS_FIRST_LINE_NS;
                let t = child as usize;
                self.own_clock[t] = self.own_clock[t].max(first);
            }
            Some(Instr::Join(t) | Instr::RunProgram { child: t, .. }) if done => {
                self.own_clock[ai] = self.own_clock[ai].max(self.own_clock[t as usize]);
            }
            // A lock taken (a thread's, a task's in asyncio) goes on from the clock of
            // its release; so does a party a barrier let go, from the step that
            // tripped or broke it (kept with the lock that names the barrier).
            Some(
                Instr::Acquire(l) | Instr::AioAcquire(l) | Instr::BarrierSleep { barrier: l, .. },
            ) if done => {
                self.own_clock[ai] = self.own_clock[ai].max(self.lock_clock[l as usize]);
            }
            // `join(timeout)` goes on when `t` ends, at the latest when the
            // timeout is up.
            Some(Instr::JoinFor { t, timeout_us }) if done => {
                let deadline = self.own_clock[ai] + timeout_us as u64 * 1_000;
                let ended = matches!(self.actors[t as usize].status, RunState::Done(_));
                self.own_clock[ai] = if ended {
                    self.own_clock[ai]
                        .max(self.own_clock[t as usize])
                        .min(deadline)
                } else {
                    deadline
                };
            }
            Some(Instr::Release(l) | Instr::CondWait(l) | Instr::AioRelease(l)) => {
                self.lock_clock[l as usize] = self.own_clock[ai]
            }
            Some(Instr::BarrierWait { barrier: l, .. } | Instr::BarrierAbort(l)) if done => {
                let c = &mut self.lock_clock[l as usize];
                *c = (*c).max(self.own_clock[ai]);
            }
            // A sleeper's time passes without the GIL, and it wakes a little late;
            // an asyncio task's timer is the loop's own.
            Some(Instr::Sleep(us)) => self.own_clock[ai] += us as u64 * 1_000 + SLEEP_LATE_NS,
            Some(Instr::AioSleep(us)) => self.own_clock[ai] += us as u64 * 1_000,
            // Blocked: its clock moves when it gets what it waits for (the
            // guards above cover these both ways). A notify's waiter takes its
            // clock from the lock it takes back.
            Some(
                Instr::Join(_)
                | Instr::JoinFor { .. }
                | Instr::Acquire(_)
                | Instr::RunProgram { .. }
                | Instr::CondSleep(_)
                | Instr::CondNotify { .. }
                | crate::program::barrier_instr!()
                | Instr::AioAcquire(_)
                | Instr::AioBlock(_),
            ) => {}
            // What exec spent is all: waits on queues and pipes are woken by
            // their senders, whose clocks the scheduler does not follow here;
            // a blocking sleep in asyncio holds the loop all along.
            None
            | Some(
                crate::program::local_instr!()
                | Instr::LoadGlobal(_)
                | Instr::StoreGlobal(_)
                | Instr::ListStore { .. }
                | Instr::Print { .. }
                | Instr::Work(_)
                | Instr::TlsSet { .. }
                | Instr::TlsGet(_)
                | Instr::Clock { .. }
                | Instr::Ident(_)
                | Instr::Raise(_)
                | Instr::Exit(_)
                | Instr::ForkChild
                | Instr::GetPid
                | Instr::GetPpid
                | Instr::ProcPid(_)
                | Instr::ProcAlive(_)
                | Instr::QueueReady(_)
                | Instr::ProcExitCode(_)
                | Instr::Terminate(_)
                | Instr::QueuePut { .. }
                | Instr::QueueGet { .. }
                | Instr::QueueAsk { .. }
                | Instr::QueueTry { .. }
                | Instr::FileRead(_)
                | Instr::FileWrite(_)
                | Instr::PipeSend(_)
                | Instr::PipeRecv { .. }
                | Instr::PipeClose(_)
                | Instr::PrintCaptured { .. }
                | Instr::BufPrint { .. }
                | Instr::Flush(_)
                | crate::program::sync_instr!(),
            ) => {}
        }
    }
}

/// The virtual time an instruction is expected to take (what `exec` charges).
#[inline]
pub(super) fn cost_of(ins: Option<Instr>) -> u64 {
    match ins {
        Some(Instr::Work(units)) => units as u64 * WORK_UNIT_NS,
        Some(
            Instr::Print { .. }
            | Instr::PrintCaptured { .. }
            | Instr::BufPrint { .. }
            | Instr::Flush(_),
        ) => PRINT_NS,
        None
        | Some(
            crate::program::local_instr!()
            | Instr::LoadGlobal(_)
            | Instr::StoreGlobal(_)
            | Instr::ListStore { .. }
            | Instr::Acquire(_)
            | Instr::Release(_)
            | Instr::Start(_)
            | Instr::Join(_)
            | Instr::JoinFor { .. }
            | Instr::Sleep(_)
            | Instr::TlsSet { .. }
            | Instr::TlsGet(_)
            | Instr::Clock { .. }
            | Instr::Ident(_)
            | Instr::Raise(_)
            | Instr::Exit(_)
            | Instr::Fork(_)
            | Instr::ForkChild
            | Instr::GetPid
            | Instr::GetPpid
            | Instr::ProcPid(_)
            | Instr::ProcAlive(_)
            | Instr::QueueReady(_)
            | Instr::ProcExitCode(_)
            | Instr::Terminate(_)
            | Instr::QueuePut { .. }
            | Instr::QueueGet { .. }
            | Instr::QueueAsk { .. }
            | Instr::QueueTry { .. }
            | Instr::FileRead(_)
            | Instr::FileWrite(_)
            | Instr::PipeSend(_)
            | Instr::PipeRecv { .. }
            | Instr::PipeClose(_)
            | Instr::RunProgram { .. }
            | crate::program::cond_instr!()
            | crate::program::barrier_instr!()
            | crate::program::sync_instr!()
            | Instr::AioSleep(_)
            | Instr::AioAcquire(_)
            | Instr::AioRelease(_),
        ) => INSTR_NS,
        // `time.sleep` in a coroutine: the loop's time passes with it.
        Some(Instr::AioBlock(us)) => us as u64 * 1_000 + INSTR_NS,
    }
}

/// The first time from `t` on when the GIL is free for `cost` ns, given the
/// stretches in which it is held.
#[inline]
pub(super) fn gil_slot(busy: &[(u64, u64)], t: u64, cost: u64) -> u64 {
    let mut x = t;
    let from = busy.partition_point(|&(_, end)| end <= x);
    for &(start, end) in &busy[from..] {
        if x + cost <= start {
            break;
        }
        x = x.max(end);
    }
    x
}

/// Marks the GIL held from `start` for `spent` ns.
#[inline]
pub(super) fn gil_hold(busy: &mut Vec<(u64, u64)>, start: u64, spent: u64) {
    if spent == 0 {
        return;
    }
    let end = start + spent;
    // Most turns go on from the end of the last stretch.
    if let Some(last) = busy.last_mut()
        && (last.0..=last.1).contains(&start)
    {
        last.1 = last.1.max(end);
        return;
    }
    let at = busy.partition_point(|&(s, _)| s < start);
    busy.insert(at, (start, end));
    // Merge with the neighbours it touches.
    let mut i = at.saturating_sub(1);
    while i + 1 < busy.len() {
        if busy[i + 1].0 <= busy[i].1 {
            busy[i].1 = busy[i].1.max(busy[i + 1].1);
            busy.remove(i + 1);
        } else if i >= at {
            break;
        } else {
            i += 1;
        }
    }
}
