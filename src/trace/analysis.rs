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
    let nvars = program.vars.len();
    let nactors = program.actors.len();
    let nproc = program.process_count();
    // Where a variable lives: shared ones once, the others once per process.
    let home = |a: ActorId, v: VarId| {
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
    };
    let mut last_store: Vec<Option<(usize, ActorId)>> = vec![None; nvars * nproc];
    let mut last_load: Vec<Option<usize>> = vec![None; nvars * nactors];
    let mut out = Vec::new();
    for (seq, e) in events.iter().enumerate() {
        if e.kind != EventKind::Exec {
            continue;
        }
        match program.instr(e.actor, e.pc) {
            Some(Instr::LoadGlobal(v) | Instr::FileRead(v)) => {
                last_load[e.actor as usize * nvars + v as usize] = Some(seq);
            }
            Some(Instr::StoreGlobal(v) | Instr::FileWrite(v)) => {
                let loaded = last_load[e.actor as usize * nvars + v as usize];
                let at = home(e.actor, v);
                if let (Some(load), Some((store, by))) = (loaded, last_store[at])
                    && by != e.actor
                    && store > load
                {
                    out.push(LostUpdate {
                        seq,
                        actor: e.actor,
                        var: v,
                        overwritten_seq: store,
                        overwritten_actor: by,
                    });
                }
                last_store[at] = Some((seq, e.actor));
            }
            _ => {}
        }
    }
    out
}
