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

/// Every lost update in `events`, in order.
pub fn lost_updates(program: &Program, events: &[Event]) -> Vec<LostUpdate> {
    let nvars = program.vars.len();
    let nactors = program.actors.len();
    let mut last_store: Vec<Option<(usize, ActorId)>> = vec![None; nvars];
    let mut last_load: Vec<Option<usize>> = vec![None; nvars * nactors];
    let mut out = Vec::new();
    for (seq, e) in events.iter().enumerate() {
        if e.kind != EventKind::Exec {
            continue;
        }
        match program.instr(e.actor, e.pc) {
            Some(Instr::LoadGlobal(v)) => {
                last_load[e.actor as usize * nvars + v as usize] = Some(seq);
            }
            Some(Instr::StoreGlobal(v)) => {
                let loaded = last_load[e.actor as usize * nvars + v as usize];
                if let (Some(load), Some((store, by))) = (loaded, last_store[v as usize])
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
                last_store[v as usize] = Some((seq, e.actor));
            }
            _ => {}
        }
    }
    out
}
