//! What the screen reads of a stepped run beyond its trace: the step count, each
//! actor's instruction, the schedule so far and the variables. The one place in
//! src/ui that reaches past `Run` to its simulator, until `Run` answers these
//! itself (issue 9, item 1).

use crate::program::{ActorId, Value};
use crate::run::Run;

/// Steps taken so far (0 for a live run).
pub fn steps(run: &Run) -> usize {
    run.sim().map_or(0, |s| s.steps())
}

/// The instruction an actor of a stepped run is at.
pub fn pc(run: &Run, actor: ActorId) -> Option<u32> {
    run.sim().map(|s| s.pc(actor))
}

/// The actors picked so far, in order (a stepped run only).
pub fn picks(run: &Run) -> Option<&[ActorId]> {
    run.sim().map(|s| s.schedule())
}

/// Shared variable `i` as a stepped run holds it now.
pub fn var(run: &Run, i: usize) -> Option<Value> {
    run.sim().and_then(|s| s.vars().get(i).copied())
}
