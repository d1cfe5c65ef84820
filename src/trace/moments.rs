//! The moments worth jumping to in a run: an overwritten write, a wait, a
//! deadlock, an exception or a signal, a process or thread starting or ending,
//! a worker process taking another task.

use super::{EventKind, Trace, lost_updates};
use crate::program::{ActorId, ActorKind, Instr};

/// What makes a moment worth a jump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MomentKind {
    /// A store that wipes out another actor's store it never read.
    OverwrittenWrite,
    /// An actor must wait: a held lock, an empty queue, a pipe, a join.
    Waits,
    Deadlock,
    /// An uncaught exception or a signal ended a process.
    Ended,
    /// `raise` in the program.
    Raised,
    /// A thread or process starts, or `os.fork()` returns twice.
    Started,
    /// An actor reaches its end.
    Exited,
    /// A worker process starts a task after it ran an earlier one: a pool reuses
    /// its processes (same process, same PID).
    TaskReused,
}

/// One moment: the event at `seq` and who made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moment {
    pub seq: usize,
    pub actor: ActorId,
    pub kind: MomentKind,
}

/// Every moment of `trace`, in order.
pub fn moments(trace: &Trace) -> Vec<Moment> {
    let p = &trace.program;
    let mut out: Vec<Moment> = lost_updates(p, &trace.events)
        .into_iter()
        .map(|l| Moment {
            seq: l.seq,
            actor: l.actor,
            kind: MomentKind::OverwrittenWrite,
        })
        .collect();
    let mut deadlock_seen = false;
    // Per actor: it has run a task (called a function with an argument it took
    // from a queue), and it has taken another item from a queue since.
    let mut ran_task = vec![false; p.actors.len()];
    let mut took = vec![false; p.actors.len()];
    for (seq, e) in trace.events.iter().enumerate() {
        let kind = match e.kind {
            EventKind::Block => Some(MomentKind::Waits),
            EventKind::Deadlock if !deadlock_seen => {
                deadlock_seen = true;
                Some(MomentKind::Deadlock)
            }
            EventKind::Ended => Some(MomentKind::Ended),
            EventKind::Exec => match p.instr(e.actor, e.pc) {
                Some(Instr::Start(_) | Instr::Fork(_)) => Some(MomentKind::Started),
                Some(Instr::Exit(_)) => Some(MomentKind::Exited),
                Some(Instr::Raise(_)) => Some(MomentKind::Raised),
                Some(Instr::QueueGet { .. }) => {
                    if let Some(t) = took.get_mut(e.actor as usize) {
                        *t = true;
                    }
                    None
                }
                Some(Instr::Call(_)) => task_call(p, e.actor, &mut ran_task, &mut took),
                None
                | Some(
                    Instr::Nop(_)
                    | Instr::Opcode(_)
                    | Instr::Return
                    | Instr::LoadConst(_)
                    | Instr::LoadFast(_)
                    | Instr::StoreFast(_)
                    | Instr::BinaryOp(_)
                    | Instr::ForRange { .. }
                    | Instr::JumpBackward(_)
                    | Instr::PopJumpIfFalse(_)
                    | Instr::LoadGlobal(_)
                    | Instr::StoreGlobal(_)
                    | Instr::ListStore { .. }
                    | Instr::Acquire(_)
                    | Instr::Release(_)
                    | Instr::Join(_)
                    | Instr::JoinFor { .. }
                    | Instr::Print { .. }
                    | Instr::Sleep(_)
                    | Instr::Work(_)
                    | Instr::TlsSet { .. }
                    | Instr::TlsGet(_)
                    | Instr::Clock { .. }
                    | Instr::Ident(_)
                    | Instr::ForkChild
                    | Instr::GetPid
                    | Instr::GetPpid
                    | Instr::ProcPid(_)
                    | Instr::ProcAlive(_)
                    | Instr::QueueReady(_)
                    | Instr::ProcExitCode(_)
                    | Instr::Terminate(_)
                    | Instr::QueuePut { .. }
                    | Instr::QueueAsk { .. }
                    | Instr::QueueTry { .. }
                    | Instr::FileRead(_)
                    | Instr::FileWrite(_)
                    | Instr::PipeSend(_)
                    | Instr::PipeRecv { .. }
                    | Instr::PipeClose(_)
                    | crate::program::aio_instr!()
                    | Instr::RunProgram { .. }
                    | Instr::PrintCaptured { .. }
                    | Instr::BufPrint { .. }
                    | Instr::Flush(_)
                    | crate::program::cond_instr!()
                    | crate::program::barrier_instr!()
                    | crate::program::sync_instr!(),
                ) => None,
            },
            EventKind::Wake | EventKind::GilTake | EventKind::GilDrop | EventKind::Deadlock => None,
        };
        if let Some(kind) = kind {
            out.push(Moment {
                seq,
                actor: e.actor,
                kind,
            });
        }
    }
    out.sort_by_key(|m| m.seq);
    out
}

/// A call by a process that took its argument from a queue is a task; the second
/// such call in the same process is the moment a task reuses a worker.
fn task_call(
    p: &crate::program::Program,
    actor: ActorId,
    ran_task: &mut [bool],
    took: &mut [bool],
) -> Option<MomentKind> {
    let i = actor as usize;
    let is_process = p.actors.get(i).is_some_and(|a| a.kind == ActorKind::Main);
    if !is_process || !took.get(i).copied().unwrap_or(false) {
        return None;
    }
    took[i] = false;
    let again = ran_task[i];
    ran_task[i] = true;
    again.then_some(MomentKind::TaskReused)
}
