//! Actor states derived from events: nothing about them is stored twice.

use super::{Event, EventKind};
use crate::program::{ActorId, Instr, LockId, Program, StrId, Value};

/// What an actor waits for while blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockedOn {
    Lock(LockId),
    Join(ActorId),
    /// A `multiprocessing.Queue`: empty for a get, full for a put.
    Queue(crate::program::QueueId),
    /// A `Pipe()` end with nothing to receive yet.
    Pipe(crate::program::ConnId),
    /// In `cond.wait()` on the condition of this lock, not notified yet.
    Notify(LockId),
    /// In `barrier.wait()` on the barrier this lock names: waiting for the other
    /// parties (or, entering, for the last round to leave).
    Barrier(LockId),
    /// In `sem.acquire()` of the semaphore whose counter is this variable, at 0.
    Semaphore(crate::program::VarId),
    /// In `ev.wait()` of the event whose flag is this variable, not set yet.
    Event(crate::program::VarId),
}

/// What an actor is doing at a point of a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorState {
    /// A thread nobody has started yet.
    NotStarted,
    /// Executed the event at this point.
    Running,
    /// Could run, and nothing stops it but the scheduler.
    Ready,
    /// Could run, but another thread of its process holds the GIL.
    WaitingGil,
    Blocked(BlockedOn),
    Sleeping,
    Done(i32),
}

impl ActorState {
    pub fn label(self) -> &'static str {
        match self {
            ActorState::NotStarted => "not started",
            ActorState::Running => "running",
            ActorState::Ready => "ready",
            ActorState::WaitingGil => "waiting for the GIL",
            ActorState::Blocked(BlockedOn::Lock(_)) => "blocked on a lock",
            ActorState::Blocked(BlockedOn::Join(_)) => "blocked in join",
            ActorState::Blocked(BlockedOn::Queue(_)) => "blocked on a queue",
            ActorState::Blocked(BlockedOn::Pipe(_)) => "blocked on a pipe",
            ActorState::Blocked(BlockedOn::Notify(_)) => "waiting for a notify",
            ActorState::Blocked(BlockedOn::Barrier(_)) => "waiting at a barrier",
            ActorState::Blocked(BlockedOn::Semaphore(_)) => "waiting for a release",
            ActorState::Blocked(BlockedOn::Event(_)) => "waiting for set()",
            ActorState::Sleeping => "sleeping",
            ActorState::Done(_) => "done",
        }
    }
}

/// Whether executing `i` changes more of the state than who runs (the
/// instructions [`StateReplay::apply`] looks at): the others may be folded in
/// by [`StateReplay::apply_plain`].
pub fn touches_state(i: Instr) -> bool {
    // Every instruction named: a new one must say whether the replay looks at it.
    match i {
        Instr::Start(_)
        | Instr::Fork(_)
        | Instr::Acquire(_)
        | Instr::Release(_)
        | Instr::Sleep(_)
        | Instr::Raise(_)
        | Instr::Exit(_)
        | Instr::TlsSet { .. }
        | Instr::TlsGet(_)
        | Instr::CondWait(_) => true,
        crate::program::local_instr!()
        | crate::program::barrier_instr!()
        | crate::program::sync_instr!()
        | Instr::CondSleep(_)
        | Instr::CondNotify { .. }
        | Instr::LoadGlobal(_)
        | Instr::StoreGlobal(_)
        | Instr::ListStore { .. }
        | Instr::Join(_)
        | Instr::JoinFor { .. }
        | Instr::Print { .. }
        | Instr::Work(_)
        | Instr::Clock { .. }
        | Instr::Ident(_)
        | Instr::ForkChild
        | Instr::GetPid
        | Instr::GetPpid
        | Instr::ProcPid(_)
        | Instr::ProcAlive(_)
        | Instr::ProcExitCode(_)
        | Instr::Terminate(_)
        | Instr::QueuePut { .. }
        | Instr::QueueGet { .. }
        | Instr::FileRead(_)
        | Instr::FileWrite(_)
        | Instr::PipeSend(_)
        | Instr::PipeRecv { .. }
        | Instr::PipeClose(_)
        | Instr::RunProgram { .. }
        | Instr::PrintCaptured { .. }
        | Instr::QueueAsk { .. }
        | Instr::QueueTry { .. } => false,
        Instr::BufPrint { .. } | Instr::Flush(_) => false,
        Instr::QueueReady(_) => false,
        // asyncio: a yield or a timed sleep gives the loop back, a blocking
        // sleep holds it asleep, the lock has a holder.
        crate::program::aio_instr!() => true,
    }
}

/// Which instructions of a program [`touches_state`]: a replay that folds in
/// millions of events (the timeline's summary) looks each one up here once
/// instead of matching on it.
#[derive(Clone, Debug)]
pub struct StateOps {
    /// Per actor: where its flags start in `touches`, and how many it has.
    spans: Vec<(usize, usize)>,
    touches: Vec<bool>,
}

impl StateOps {
    pub fn new(program: &Program) -> Self {
        let mut spans = Vec::with_capacity(program.actors.len());
        let mut touches = Vec::new();
        for a in &program.actors {
            spans.push((touches.len(), a.code.len()));
            touches.extend(a.code.iter().map(|&i| touches_state(i)));
        }
        StateOps { spans, touches }
    }

    /// [`StateReplay::apply`] of one event of `program`.
    #[inline(always)]
    pub fn apply(&self, r: &mut StateReplay, program: &Program, e: &Event) {
        let plain = e.kind == EventKind::Exec
            && matches!(self.spans.get(e.actor as usize),
                Some(&(start, len)) if (e.pc as usize) < len && !self.touches[start + e.pc as usize]);
        if plain {
            r.apply_plain(e);
        } else {
            r.apply(program, e);
        }
    }
}

/// Replays events one at a time and keeps every actor's state, the lock holders
/// and the GIL holders. Cheap to clone; views replay once and sample as they go.
#[derive(Clone, Debug)]
pub struct StateReplay {
    states: Vec<ActorState>,
    process: Vec<u16>,
    /// Per process: who holds its GIL (only ever set when the run has a GIL).
    gil: Vec<Option<ActorId>>,
    locks: Vec<Option<ActorId>>,
    last_running: Option<ActorId>,
    /// Per actor: its `threading.local()` dictionary, (attribute, value).
    tls: Vec<Vec<(StrId, Value)>>,
    /// Per actor: the instruction it is at, as far as the events tell (the last
    /// one it executed, or the one it is blocked in).
    at_pc: Vec<Option<crate::program::Pc>>,
}

impl StateReplay {
    pub fn new(program: &Program) -> Self {
        let nproc = program.process_count();
        StateReplay {
            states: program
                .actors
                .iter()
                .map(|a| {
                    if a.autostart {
                        ActorState::Ready
                    } else {
                        ActorState::NotStarted
                    }
                })
                .collect(),
            process: program.actors.iter().map(|a| a.process).collect(),
            gil: vec![None; nproc],
            locks: vec![None; program.locks.len()],
            last_running: None,
            tls: vec![Vec::new(); program.actors.len()],
            at_pc: vec![None; program.actors.len()],
        }
    }

    /// What a `Block` event's actor waits for.
    fn blocked_on(&mut self, program: &Program, e: &Event) -> ActorState {
        match program.instr(e.actor, e.pc) {
            Some(Instr::Join(t) | Instr::JoinFor { t, .. }) => {
                ActorState::Blocked(BlockedOn::Join(t))
            }
            // subprocess starts the program's process, then waits for it.
            Some(Instr::RunProgram { child: t, .. }) => {
                if let Some(s @ ActorState::NotStarted) = self.states.get_mut(t as usize) {
                    *s = ActorState::Ready;
                }
                ActorState::Blocked(BlockedOn::Join(t))
            }
            Some(
                Instr::QueuePut { q, .. } | Instr::QueueGet { q, .. } | Instr::QueueTry { q, .. },
            ) => ActorState::Blocked(BlockedOn::Queue(q)),
            Some(Instr::PipeRecv { conn, .. }) => ActorState::Blocked(BlockedOn::Pipe(conn)),
            Some(Instr::CondSleep(l)) => ActorState::Blocked(BlockedOn::Notify(l)),
            Some(
                Instr::BarrierWait { barrier: l, .. } | Instr::BarrierSleep { barrier: l, .. },
            ) => ActorState::Blocked(BlockedOn::Barrier(l)),
            Some(Instr::SemAcquire(g)) => ActorState::Blocked(BlockedOn::Semaphore(g)),
            Some(Instr::EventWait { ev, .. }) => ActorState::Blocked(BlockedOn::Event(ev)),
            // An acquire; no other instruction blocks.
            Some(
                Instr::Acquire(_)
                | crate::program::aio_instr!()
                | Instr::CondWait(_)
                | Instr::CondNotify { .. }
                | Instr::BarrierAbort(_)
                | crate::program::local_instr!()
                | Instr::LoadGlobal(_)
                | Instr::StoreGlobal(_)
                | Instr::ListStore { .. }
                | Instr::Release(_)
                | Instr::Start(_)
                | Instr::Print { .. }
                | Instr::Sleep(_)
                | Instr::Work(_)
                | Instr::TlsSet { .. }
                | Instr::TlsGet(_)
                | Instr::Clock { .. }
                | Instr::Ident(_)
                | Instr::Raise(_)
                | Instr::Exit(_)
                | crate::program::pid_instr!()
                | Instr::Terminate(_)
                | Instr::FileRead(_)
                | Instr::FileWrite(_)
                | Instr::PipeSend(_)
                | Instr::PipeClose(_)
                | Instr::PrintCaptured { .. }
                | Instr::QueueAsk { .. }
                | Instr::BufPrint { .. }
                | Instr::Flush(_)
                | Instr::QueueReady(_)
                | Instr::SemRelease { .. }
                | Instr::EventSet(_)
                | Instr::EventClear(_)
                | Instr::EventIsSet(_),
            )
            | None => ActorState::Blocked(BlockedOn::Lock(e.value as LockId)),
        }
    }

    /// Folds in an executed instruction that [`touches_state`] says changes
    /// nothing but who runs: what [`StateReplay::apply`] does for it, without
    /// looking the instruction up.
    #[inline(always)]
    pub fn apply_plain(&mut self, e: &Event) {
        debug_assert_eq!(e.kind, EventKind::Exec);
        if let Some(prev) = self.last_running.take()
            && let Some(s @ ActorState::Running) = self.states.get_mut(prev as usize)
        {
            *s = ActorState::Ready;
        }
        let a = e.actor as usize;
        if let (Some(at), Some(s)) = (self.at_pc.get_mut(a), self.states.get_mut(a)) {
            *at = Some(e.pc);
            *s = ActorState::Running;
            self.last_running = Some(e.actor);
        }
    }

    /// Folds one event in.
    pub fn apply(&mut self, program: &Program, e: &Event) {
        if let Some(prev) = self.last_running.take()
            && self.states[prev as usize] == ActorState::Running
        {
            self.states[prev as usize] = ActorState::Ready;
        }
        let a = e.actor as usize;
        if matches!(
            e.kind,
            EventKind::Exec | EventKind::Block | EventKind::Wake | EventKind::Deadlock
        ) {
            self.at_pc[a] = Some(e.pc);
        }
        match e.kind {
            EventKind::Exec => self.apply_exec(program, e, a),
            EventKind::Block => self.states[a] = self.blocked_on(program, e),
            EventKind::Wake => self.states[a] = ActorState::Ready,
            EventKind::GilTake => self.gil[self.process[a] as usize] = Some(e.actor),
            EventKind::GilDrop => {
                let p = self.process[a] as usize;
                if self.gil[p] == Some(e.actor) {
                    self.gil[p] = None;
                }
            }
            EventKind::Deadlock => {}
            EventKind::Ended => {
                self.states[a] = ActorState::Done(e.value as i32);
                if self.last_running == Some(e.actor) {
                    self.last_running = None;
                }
            }
        }
    }

    /// Folds in one executed step: what its instruction changes besides the pc.
    fn apply_exec(&mut self, program: &Program, e: &Event, a: usize) {
        self.states[a] = ActorState::Running;
        self.last_running = Some(e.actor);
        // Keep in step with `touches_state`.
        match program.instr(e.actor, e.pc) {
            Some(Instr::Start(t) | Instr::Fork(t)) => {
                if let Some(s) = self.states.get_mut(t as usize) {
                    *s = ActorState::Ready;
                }
            }
            Some(Instr::Acquire(l)) => self.locks[l as usize] = Some(e.actor),
            Some(Instr::Release(l) | Instr::CondWait(l)) => self.locks[l as usize] = None,
            Some(Instr::Sleep(_)) => {
                self.states[a] = ActorState::Sleeping;
                self.last_running = None;
            }
            // asyncio: `await asyncio.sleep(0)` leaves the task ready
            // behind the others; a timed await and a blocking
            // `time.sleep` sleep (the blocking one keeps the loop).
            Some(Instr::AioSleep(0)) => {
                self.states[a] = ActorState::Ready;
                self.last_running = None;
            }
            Some(Instr::AioSleep(_) | Instr::AioBlock(_)) => {
                self.states[a] = ActorState::Sleeping;
                self.last_running = None;
            }
            Some(Instr::AioAcquire(l)) => self.locks[l as usize] = Some(e.actor),
            Some(Instr::AioRelease(l)) => self.locks[l as usize] = None,
            Some(Instr::Raise(_)) => {
                self.states[a] = ActorState::Done(1);
                self.last_running = None;
            }
            Some(Instr::Exit(code)) => {
                self.states[a] = ActorState::Done(code);
                self.last_running = None;
            }
            Some(Instr::TlsSet { attr, .. }) => {
                let d = &mut self.tls[a];
                match d.iter_mut().find(|(k, _)| *k == attr) {
                    Some(slot) => slot.1 = e.value,
                    None => d.push((attr, e.value)),
                }
            }
            // A read of an attribute this thread never set raised.
            Some(Instr::TlsGet(attr)) if !self.tls[a].iter().any(|(k, _)| *k == attr) => {
                self.states[a] = ActorState::Done(1);
                self.last_running = None;
            }
            // Every instruction is named: a new one says here what it changes.
            Some(
                crate::program::local_instr!()
                | Instr::LoadGlobal(_)
                | Instr::StoreGlobal(_)
                | Instr::ListStore { .. }
                | Instr::Join(_)
                | Instr::JoinFor { .. }
                | Instr::Print { .. }
                | Instr::Work(_)
                | Instr::TlsGet(_)
                | Instr::Clock { .. }
                | Instr::Ident(_)
                | Instr::ForkChild
                | Instr::GetPid
                | Instr::GetPpid
                | Instr::ProcPid(_)
                | Instr::ProcAlive(_)
                | Instr::ProcExitCode(_)
                | Instr::Terminate(_)
                | Instr::QueuePut { .. }
                | Instr::QueueGet { .. }
                | Instr::FileRead(_)
                | Instr::FileWrite(_)
                | Instr::PipeSend(_)
                | Instr::PipeRecv { .. }
                | Instr::PipeClose(_)
                | Instr::RunProgram { .. }
                | Instr::PrintCaptured { .. }
                | Instr::CondSleep(_)
                | Instr::CondNotify { .. }
                | crate::program::barrier_instr!()
                | Instr::QueueAsk { .. }
                | Instr::QueueTry { .. }
                | Instr::BufPrint { .. }
                | Instr::Flush(_)
                | Instr::QueueReady(_)
                | crate::program::sync_instr!(),
            )
            | None => {}
        }
    }

    /// The state of an actor, telling apart a ready thread that waits for the GIL.
    pub fn state(&self, actor: ActorId) -> ActorState {
        let s = self.states[actor as usize];
        if s == ActorState::Ready
            && let Some(h) = self.gil[self.process[actor as usize] as usize]
            && h != actor
        {
            return ActorState::WaitingGil;
        }
        s
    }

    /// How many actors it follows.
    pub fn actors(&self) -> usize {
        self.states.len()
    }

    pub fn states(&self) -> Vec<ActorState> {
        (0..self.states.len() as ActorId)
            .map(|a| self.state(a))
            .collect()
    }

    /// The instruction an actor is at as far as its events tell: the one it is
    /// blocked (or deadlocked) in, otherwise the last one it executed. A live run's
    /// code markers come from here.
    pub fn position(&self, actor: ActorId) -> Option<crate::program::Pc> {
        self.at_pc.get(actor as usize).copied().flatten()
    }

    pub fn lock_holder(&self, lock: LockId) -> Option<ActorId> {
        self.locks.get(lock as usize).copied().flatten()
    }

    /// An actor's `threading.local()` dictionary: (attribute, value), in the
    /// order it set them.
    pub fn tls(&self, actor: ActorId) -> &[(StrId, Value)] {
        self.tls
            .get(actor as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The dictionary as the state panel prints it: `{'student': 'Alice'}`.
    pub fn tls_text(&self, program: &Program, actor: ActorId) -> String {
        let items: Vec<String> = self
            .tls(actor)
            .iter()
            .map(|&(attr, v)| {
                let text = program.actors.get(actor as usize).is_some_and(|x| {
                    x.code.contains(&Instr::TlsSet {
                        attr,
                        value_is_str: true,
                    })
                });
                let shown = if text {
                    format!("'{}'", program.str(v as StrId))
                } else {
                    v.to_string()
                };
                format!("'{}': {shown}", program.str(attr))
            })
            .collect();
        format!("{{{}}}", items.join(", "))
    }

    pub fn gil_holder(&self, process: u16) -> Option<ActorId> {
        self.gil.get(process as usize).copied().flatten()
    }

    /// States after the first `n` events of `events`.
    pub fn at(program: &Program, events: &[Event], n: usize) -> Self {
        let mut r = StateReplay::new(program);
        for e in &events[..n.min(events.len())] {
            r.apply(program, e);
        }
        r
    }
}
