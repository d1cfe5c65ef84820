//! Finds lost updates: a store computed from a value another actor overwrote meanwhile.

use super::{Event, EventKind};
use crate::program::{ActorId, Instr, Program, VarId};

/// A store that wiped out another actor's store without having seen it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LostUpdate {
    /// Index of the store that loses the other update.
    pub seq: usize,
    pub actor: ActorId,
    pub var: VarId,
    /// Index of the store whose effect is lost.
    pub overwritten_seq: usize,
    pub overwritten_actor: ActorId,
}

/// Every lost update in `events`, in order: an overwritten write. A file that
/// holds a number is read and written like a variable (the ticket sale); a
/// variable that is not shared is a separate copy in every process.
pub fn lost_updates(program: &Program, events: &[Event]) -> Vec<LostUpdate> {
    let mut scan = LostScan::new(program);
    let mut out = Vec::new();
    for (seq, e) in events.iter().enumerate() {
        if let Some(l) = scan.feed(program, seq, e) {
            out.push(l);
        }
    }
    out
}

/// [`lost_updates`] one event at a time, so that a run too long to keep can be
/// scanned as it goes (the trace's prefix, `Trace::evict`).
#[derive(Clone, Debug)]
pub struct LostScan {
    nvars: usize,
    last_store: Vec<Option<(usize, ActorId)>>,
    last_load: Vec<Option<usize>>,
    /// Lost updates found so far.
    pub count: usize,
}

impl LostScan {
    pub fn new(program: &Program) -> Self {
        let nvars = program.vars.len();
        LostScan {
            nvars,
            last_store: vec![None; nvars * program.process_count()],
            last_load: vec![None; nvars * program.actors.len()],
            count: 0,
        }
    }

    /// Takes in event number `seq`; the lost update it makes, if any.
    pub fn feed(&mut self, program: &Program, seq: usize, e: &Event) -> Option<LostUpdate> {
        if e.kind != EventKind::Exec {
            return None;
        }
        match program.instr(e.actor, e.pc).map_or(VarOp::None, var_op) {
            VarOp::Load(v) => {
                self.load(seq, e.actor, v);
                None
            }
            VarOp::Store(v) => self.store(seq, e.actor, v, home(program, e.actor, v)),
            VarOp::None => None,
        }
    }

    /// Event `seq`, a load of variable `v` by `actor` (an executed `LoadGlobal`
    /// or `FileRead`).
    #[inline(always)]
    pub(super) fn load(&mut self, seq: usize, actor: ActorId, v: VarId) {
        let at = actor as usize * self.nvars + v as usize;
        if let Some(slot) = self.last_load.get_mut(at) {
            *slot = Some(seq);
        }
    }

    /// Event `seq`, a store of variable `v` by `actor` (an executed
    /// `StoreGlobal` or `FileWrite`), `at` being where the variable lives
    /// ([`home`]); the lost update it makes, if any.
    #[inline(always)]
    pub(super) fn store(
        &mut self,
        seq: usize,
        actor: ActorId,
        v: VarId,
        at: usize,
    ) -> Option<LostUpdate> {
        let loaded = self
            .last_load
            .get(actor as usize * self.nvars + v as usize)
            .copied()
            .flatten();
        let slot = self.last_store.get_mut(at)?;
        let mut out = None;
        if let (Some(load), Some((store, by))) = (loaded, *slot)
            && by != actor
            && store > load
        {
            self.count += 1;
            out = Some(LostUpdate {
                seq,
                actor,
                var: v,
                overwritten_seq: store,
                overwritten_actor: by,
            });
        }
        *slot = Some((seq, actor));
        out
    }
}

/// Where a variable lives: shared ones once, the others once per process.
pub(super) fn home(program: &Program, a: ActorId, v: VarId) -> usize {
    let nvars = program.vars.len();
    let shared = program.vars.get(v as usize).is_some_and(|x| x.shared);
    let p = if shared {
        0
    } else {
        program
            .actors
            .get(a as usize)
            .map_or(0, |x| x.process as usize)
    };
    p * nvars + v as usize
}

/// What an instruction does to a variable of the program (a global, a
/// `multiprocessing.Value`, or the number a file keeps): what lost updates,
/// the variables panel and the tally read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarOp {
    Load(VarId),
    Store(VarId),
    None,
}

/// The [`VarOp`] of an instruction. Every instruction is named: a new one that
/// reads or writes a variable must say so here.
#[inline]
pub fn var_op(i: Instr) -> VarOp {
    match i {
        Instr::LoadGlobal(v) | Instr::FileRead(v) => VarOp::Load(v),
        Instr::StoreGlobal(v) | Instr::FileWrite(v) => VarOp::Store(v),
        // The list after the change (read and written in one step).
        Instr::ListStore { var, .. } => VarOp::Store(var),
        crate::program::local_instr!()
        | Instr::Acquire(_)
        | Instr::Release(_)
        | Instr::Start(_)
        | Instr::Join(_)
        | Instr::JoinFor { .. }
        | Instr::Print { .. }
        | Instr::Sleep(_)
        | Instr::Work(_)
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
        | Instr::PipeSend(_)
        | Instr::PipeRecv { .. }
        | Instr::PipeClose(_)
        | Instr::RunProgram { .. }
        | Instr::PrintCaptured { .. }
        | Instr::BufPrint { .. }
        | Instr::Flush(_) => VarOp::None,
        crate::program::cond_instr!() | crate::program::barrier_instr!() => VarOp::None,
        // A semaphore's counter and an event's flag: the event records the
        // value after a take, a give-back, a set or a clear, and the flag a
        // wait or is_set() saw.
        Instr::SemAcquire(v) | Instr::SemRelease { sem: v, .. } => VarOp::Store(v),
        Instr::EventSet(v) | Instr::EventClear(v) => VarOp::Store(v),
        Instr::EventWait { ev: v, .. } | Instr::EventIsSet(v) => VarOp::Load(v),
        crate::program::aio_instr!() => VarOp::None,
    }
}
