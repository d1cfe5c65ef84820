//! What one simulator step touched that another actor's step could conflict with:
//! the dependence relation partial-order reduction reorders by.

use crate::program::{ActorId, GilModel, Instr, Program};
use crate::sim::Sim;
use crate::trace::EventKind;

/// Something two actors' steps can both touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Obj {
    /// A variable: shared ones by index, a process's own copy by (process, index).
    Var(u32),
    Lock(u16),
    /// An actor's life: started, finished (what `join` and `start` touch).
    Actor(u16),
    Queue(u16),
    /// A `Pipe()`: both ends.
    Pipe(u16),
    /// The printed output: prints are ordered.
    Output,
    /// A process's GIL, where the model lets the holder refuse a switch.
    Gil(u16),
}

/// The objects a step read and wrote, one bit per object of an [`Objects`] table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub reads: u64,
    pub writes: u64,
    /// Conflicts with every other step: time, processes, signals, or more objects
    /// than the table holds.
    pub global: bool,
}

impl Access {
    /// Whether the two steps may not commute.
    #[inline]
    pub fn conflicts(&self, other: &Access) -> bool {
        self.global
            || other.global
            || self.writes & (other.reads | other.writes) != 0
            || other.writes & self.reads != 0
    }

    pub fn is_empty(&self) -> bool {
        !self.global && self.reads | self.writes == 0
    }

    /// Whether the step wrote `o`.
    pub fn writes_obj(&self, objects: &Objects, o: Obj) -> bool {
        objects.bit(o).is_some_and(|b| self.writes & b != 0)
    }
}

/// The objects a search has met, numbered for [`Access`]'s bits.
#[derive(Clone, Debug, Default)]
pub struct Objects {
    seen: Vec<Obj>,
}

impl Objects {
    fn bit(&self, o: Obj) -> Option<u64> {
        self.index(o).map(|i| 1u64 << i)
    }

    /// The bit number of an object met so far.
    pub fn index(&self, o: Obj) -> Option<usize> {
        self.seen.iter().position(|x| *x == o)
    }

    fn add(&mut self, acc: &mut Access, o: Obj, write: bool) {
        let bit = match self.bit(o) {
            Some(b) => b,
            None if self.seen.len() < 64 => {
                self.seen.push(o);
                1u64 << (self.seen.len() - 1)
            }
            None => {
                acc.global = true;
                return;
            }
        };
        if write {
            acc.writes |= bit;
        } else {
            acc.reads |= bit;
        }
    }
}

/// Whether steps of this program depend on time (sleeps and clocks): then every
/// step is treated as conflicting with every other.
pub fn time_matters(program: &Program) -> bool {
    program
        .actors
        .iter()
        .any(|a| a.code.iter().any(|&i| reads_time(i)))
}

/// What actor `a`'s last step did, read from the events it appended from `from` on;
/// `pc0` is where the actor stood before the step. It errs on the side of more:
/// an event's pc may already be the next instruction's (a release records it
/// so), and both are counted.
pub fn step_access(
    sim: &Sim,
    a: ActorId,
    from: usize,
    pc0: crate::program::Pc,
    time: bool,
    objects: &mut Objects,
) -> Access {
    let p = sim.program();
    let mut acc = Access {
        global: time,
        ..Access::default()
    };
    if time {
        return acc;
    }
    let multi = p.process_count() > 1;
    let proc_ = sim.process_of(a);
    // The event loop of an asyncio program is held like a GIL: its holder
    // refuses every other task until it awaits.
    if sim.config().gil == GilModel::Modern || p.event_loop {
        objects.add(&mut acc, Obj::Gil(proc_), true);
    }
    let pcs = sim.trace().events[from..]
        .iter()
        .filter(|e| e.actor == a && matches!(e.kind, EventKind::Exec | EventKind::Block))
        .flat_map(|e| [e.pc, e.pc.wrapping_sub(1)]);
    for (k, pc) in std::iter::once(pc0).chain(pcs).enumerate() {
        let Some(ins) = p.instr(a, pc) else {
            continue;
        };
        // The instruction before an event's pc counts only if it is a release.
        if k > 0 && k % 2 == 0 && !matches!(ins, Instr::Release(_)) {
            continue;
        }
        add_access(p, a, (proc_, multi), ins, objects, &mut acc);
    }
    acc
}

/// What one instruction of actor `a` reads and writes, added to `acc`: `proc_` is
/// its process, `multi` whether the program has more than one.
fn add_access(
    p: &crate::program::Program,
    a: ActorId,
    (proc_, multi): (u16, bool),
    ins: Instr,
    objects: &mut Objects,
    acc: &mut Access,
) {
    let var = |g: u16| {
        if p.vars.get(g as usize).is_some_and(|v| v.shared) || !multi {
            Obj::Var(g as u32)
        } else {
            Obj::Var(((proc_ as u32 + 1) << 16) | g as u32)
        }
    };
    match ins {
        crate::program::local_instr!() | Instr::Work(_) | Instr::TlsSet { .. } => {}
        Instr::LoadGlobal(g) | Instr::FileRead(g) => objects.add(acc, var(g), false),
        Instr::StoreGlobal(g) | Instr::FileWrite(g) => objects.add(acc, var(g), true),
        // A list changed in place (it may raise, printing, if the list is full).
        Instr::ListStore { var: g, .. } => {
            objects.add(acc, var(g), true);
            objects.add(acc, Obj::Output, true);
            objects.add(acc, Obj::Actor(a), true);
        }
        // A lock, an asyncio.Lock and its line of waiting tasks.
        Instr::Acquire(l) | Instr::Release(l) | Instr::AioAcquire(l) | Instr::AioRelease(l) => {
            objects.add(acc, Obj::Lock(l), true)
        }
        // A yield touches only the loop (below); a timed sleep or a
        // blocking one reads the time (`reads_time`).
        Instr::AioSleep(_) | Instr::AioBlock(_) => {}
        // A condition's waiters live with its lock: a wait releases the lock
        // and joins them, a notify takes from them, a sleep reads them.
        Instr::CondWait(l) | Instr::CondSleep(l) | Instr::CondNotify { cond: l, .. } => {
            objects.add(acc, Obj::Lock(l), true)
        }
        // A barrier's state lives with the lock that names it: every step of
        // `wait()` and `abort()` reads and changes it (an arrival's index, the
        // trip, a break), so any two conflict.
        Instr::BarrierWait { barrier: l, .. }
        | Instr::BarrierSleep { barrier: l, .. }
        | Instr::BarrierAbort(l) => objects.add(acc, Obj::Lock(l), true),
        // A semaphore's counter and an event's flag are variables: taking,
        // giving back, setting and clearing write them, waiting and
        // is_set() read them (a wait that blocks read it too).
        Instr::SemAcquire(g)
        | Instr::SemRelease { sem: g, .. }
        | Instr::EventSet(g)
        | Instr::EventClear(g) => objects.add(acc, var(g), true),
        Instr::EventWait { ev: g, .. } | Instr::EventIsSet(g) => objects.add(acc, var(g), false),
        Instr::Start(t) if p.actors[t as usize].process == proc_ => {
            objects.add(acc, Obj::Actor(t), true)
        }
        Instr::Join(t) | Instr::JoinFor { t, .. } => objects.add(acc, Obj::Actor(t), false),
        Instr::Exit(_) if !multi => objects.add(acc, Obj::Actor(a), true),
        Instr::Print { .. }
        | Instr::PrintCaptured { .. }
        | Instr::BufPrint { .. }
        | Instr::Flush(_) => objects.add(acc, Obj::Output, true),
        // These may end the thread with a printed exception.
        Instr::TlsGet(_) | Instr::Raise(_) => {
            objects.add(acc, Obj::Output, true);
            objects.add(acc, Obj::Actor(a), true);
        }
        Instr::QueuePut { q, .. } | Instr::QueueGet { q, .. } | Instr::QueueReady(q) if !multi => {
            objects.add(acc, Obj::Queue(q), true)
        }
        // Between processes (or a process's start, a thread's end there):
        // conflicts with everything, sound and slower.
        Instr::Start(_)
        | Instr::Exit(_)
        | Instr::QueuePut { .. }
        | Instr::QueueGet { .. }
        | Instr::QueueAsk { .. }
        | Instr::QueueTry { .. }
        | Instr::QueueReady(_)
        | Instr::Sleep(_)
        | Instr::Clock { .. }
        | Instr::Ident(_)
        | Instr::Fork(_)
        | Instr::ForkChild
        | Instr::GetPid
        | Instr::GetPpid
        | Instr::ProcPid(_)
        | Instr::ProcAlive(_)
        | Instr::ProcExitCode(_)
        | Instr::Terminate(_)
        | Instr::PipeSend(_)
        | Instr::PipeRecv { .. }
        | Instr::PipeClose(_)
        | Instr::RunProgram { .. } => acc.global = true,
    }
}

/// Whether a step of this instruction depends on the virtual time (it sleeps
/// or reads a clock). Every instruction is named.
fn reads_time(i: Instr) -> bool {
    match i {
        // A timed queue call waits until a deadline on the virtual clock.
        Instr::Sleep(_) | Instr::Clock { .. } | Instr::QueueTry { .. } | Instr::JoinFor { .. } => {
            true
        }
        // So does a barrier's `wait(timeout)`.
        Instr::BarrierSleep { timeout_us, .. } => timeout_us > 0,
        Instr::BarrierWait { .. } | Instr::BarrierAbort(_) => false,
        // Who is running: the same answer at any time.
        Instr::Ident(_) => false,
        // So does an event's wait with a timeout.
        Instr::EventWait { timeout_us, .. } => timeout_us > 0,
        Instr::SemAcquire(_)
        | Instr::SemRelease { .. }
        | Instr::EventSet(_)
        | Instr::EventClear(_)
        | Instr::EventIsSet(_) => false,
        // `await asyncio.sleep(0)` only yields; any other sleep waits for time.
        Instr::AioSleep(us) => us > 0,
        Instr::AioBlock(_) => true,
        Instr::AioAcquire(_) | Instr::AioRelease(_) => false,
        crate::program::local_instr!()
        | crate::program::cond_instr!()
        | Instr::LoadGlobal(_)
        | Instr::StoreGlobal(_)
        | Instr::ListStore { .. }
        | Instr::Acquire(_)
        | Instr::Release(_)
        | Instr::Start(_)
        | Instr::Join(_)
        | Instr::Print { .. }
        | Instr::Work(_)
        | Instr::TlsSet { .. }
        | Instr::TlsGet(_)
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
        | Instr::FileRead(_)
        | Instr::FileWrite(_)
        | Instr::PipeSend(_)
        | Instr::PipeRecv { .. }
        | Instr::PipeClose(_)
        | Instr::RunProgram { .. }
        | Instr::PrintCaptured { .. }
        | Instr::BufPrint { .. }
        | Instr::Flush(_) => false,
    }
}
