//! Exhaustive search with dynamic partial-order reduction: source sets and sleep
//! sets (Abdulla, Aronis, Jonsson, Sagonas, "Optimal dynamic partial order
//! reduction", POPL 2014 — the algorithm Nidhugg calls source-DPOR), over the
//! simulator's steps, with CHESS's preemption bound.
//!
//! Two steps of different actors are dependent when they touch the same object
//! and one writes it ([`Access::conflicts`]). Happens-before is kept with vector
//! clocks, one per step of the current run. When a finished step races with an
//! earlier one (dependent, not ordered by happens-before through anything in
//! between), the search makes sure that, at the state before the earlier step,
//! some actor is scheduled that starts the reversed order.

use super::access::{Access, Obj, Objects, step_access, time_matters};
use super::{Control, Exploration, Limits, Method, Stop, Tally};
use crate::program::{ActorId, EngineConfig, GilModel, Instr, Program};
use crate::sim::{Ending, Sim};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// A copy of the simulator is kept every this many steps down the search stack;
/// any other state is reached by replaying the steps since the copy above it
/// (cheaper than copying the simulator at every step).
const SNAPSHOT_EVERY: usize = 8;

/// A set of actors, one bit each (the search takes programs of up to 64 actors).
type Actors = u64;

fn bit(a: ActorId) -> Actors {
    1u64 << a
}

/// One step of the run being explored.
#[derive(Clone, Copy)]
struct Step {
    actor: ActorId,
    /// This is the actor's `idx`-th step (from 1).
    idx: u32,
    /// The simulator steps it takes: the actor's instruction, and the local
    /// instructions right after it ([`Search::merge_locals`]).
    len: u32,
    access: Access,
}

/// A state on the search stack, with what is left to explore from it.
struct Node {
    /// The simulator in this state, at every [`SNAPSHOT_EVERY`]th depth.
    snapshot: Option<Box<Sim>>,
    /// Actors that can step here.
    enabled: Actors,
    /// The actor of the step that led here.
    prev: Option<ActorId>,
    preemptions: u32,
    backtrack: Actors,
    done: Actors,
    /// Actors whose next step leads only to runs already explored.
    sleep: Vec<(ActorId, Access)>,
    /// Actors explored from here, with what their step touched.
    explored: Vec<(ActorId, Access)>,
}

impl Node {
    #[allow(clippy::vec_box)]
    fn new(
        sim: &Sim,
        depth: usize,
        prev: Option<ActorId>,
        preemptions: u32,
        sleep: Vec<(ActorId, Access)>,
        spare: &mut Vec<Box<Sim>>,
    ) -> Node {
        let enabled = (0..sim.actor_count() as ActorId)
            .filter(|&a| sim.can_step(a))
            .fold(0, |m, a| m | bit(a));
        let asleep = sleep.iter().fold(0, |m, (a, _)| m | bit(*a));
        let awake = enabled & !asleep;
        // Going on with the same actor first: no preemption.
        let first = match prev {
            Some(p) if awake & bit(p) != 0 => bit(p),
            _ if awake != 0 => awake & awake.wrapping_neg(),
            _ => 0,
        };
        Node {
            snapshot: depth
                .is_multiple_of(SNAPSHOT_EVERY)
                .then(|| match spare.pop() {
                    Some(mut b) => {
                        b.copy_from(sim);
                        b
                    }
                    None => Box::new(sim.clone()),
                }),
            enabled,
            prev,
            preemptions,
            backtrack: first,
            done: 0,
            sleep,
            explored: Vec::new(),
        }
    }

    fn next_choice(&self) -> Option<ActorId> {
        let asleep = self.sleep.iter().fold(0, |m, (a, _)| m | bit(*a));
        let left = self.backtrack & !self.done & !asleep;
        (left != 0).then(|| left.trailing_zeros() as ActorId)
    }
}

struct Search<'a> {
    limits: &'a Limits,
    ctl: &'a Control,
    t0: Instant,
    time: bool,
    /// Whether a step takes the local instructions after it along (see
    /// [`local_next`]): where no GIL limits the switch points and time does not
    /// matter.
    merge_locals: bool,
    objects: Objects,
    /// Actors in the program.
    n: usize,
    stack: Vec<Node>,
    path: Vec<Step>,
    /// The vector clock after each step of `path`, `n` entries a step: how many
    /// steps of each actor happen before it (itself included).
    clocks: Vec<u32>,
    /// The simulator, in the state after `path[..cur_depth]`.
    cur: Sim,
    cur_depth: usize,
    tally: Tally,
    executions: u64,
    pruned: u64,
    /// Buffers reused from step to step.
    scratch_first: Vec<u32>,
    scratch_firsts: Vec<usize>,
    scratch_races: Vec<usize>,
    scratch_cands: Vec<usize>,
    /// Indexes of `path`: the steps of each actor, the steps that touch each
    /// object (by bit), the steps that conflict with everything.
    by_actor: Vec<Vec<usize>>,
    by_obj: Vec<Vec<usize>>,
    globals: Vec<usize>,
    scratch_clock: Vec<u32>,
    /// Sleep and explored lists of nodes popped off the stack, for the next ones.
    spare: Vec<Vec<(ActorId, Access)>>,
    /// Snapshots of nodes popped off the stack, for the next ones to copy into.
    /// Boxed, as in `Node`: moving a snapshot between the two moves a pointer.
    #[allow(clippy::vec_box)]
    spare_sims: Vec<Box<Sim>>,
}

pub fn run(
    program: &Arc<Program>,
    cfg: EngineConfig,
    limits: &Limits,
    ctl: &Control,
    t0: Instant,
) -> Exploration {
    let merge = cfg.gil == GilModel::Free && !time_matters(program);
    run_merging(program, cfg, limits, ctl, t0, merge)
}

fn run_merging(
    program: &Arc<Program>,
    cfg: EngineConfig,
    limits: &Limits,
    ctl: &Control,
    t0: Instant,
    merge_locals: bool,
) -> Exploration {
    let sim = Sim::new(program.clone(), cfg);
    let n = sim.actor_count();
    let mut spare_sims = Vec::new();
    let root = Node::new(&sim, 0, None, 0, Vec::new(), &mut spare_sims);
    let mut s = Search {
        limits,
        ctl,
        t0,
        time: time_matters(program),
        merge_locals,
        objects: Objects::default(),
        n,
        stack: vec![root],
        path: Vec::new(),
        clocks: Vec::new(),
        cur: sim,
        cur_depth: 0,
        tally: Tally::default(),
        executions: 0,
        pruned: 0,
        scratch_first: Vec::new(),
        scratch_firsts: Vec::new(),
        scratch_races: Vec::new(),
        scratch_cands: Vec::new(),
        by_actor: vec![Vec::new(); n],
        by_obj: vec![Vec::new(); 64],
        globals: Vec::new(),
        scratch_clock: Vec::new(),
        spare: Vec::new(),
        spare_sims,
    };
    let stop = if s.n > 64 {
        Stop::Unsupported(format!("{} actors; the search takes up to 64", s.n))
    } else if s.cur.ending() != Ending::Running {
        s.tally.add(&s.cur, None, 0);
        s.executions = 1;
        Stop::Complete
    } else {
        s.explore()
    };
    Exploration {
        method: Method::Exhaustive,
        outcomes: s.tally.into_sorted(),
        executions: s.executions,
        elapsed: t0.elapsed(),
        counts: stop.clone(),
        stop,
        minimal: false,
        max_preemptions: None,
    }
}

impl Search<'_> {
    fn explore(&mut self) -> Stop {
        let mut iter: u64 = 0;
        while let Some(d) = self.stack.len().checked_sub(1) {
            iter += 1;
            if iter.is_multiple_of(1024) {
                self.ctl
                    .executions
                    .store(self.executions, Ordering::Relaxed);
                if self.ctl.cancelled() {
                    return Stop::Cancelled;
                }
                if self.t0.elapsed() >= self.limits.max_time {
                    return Stop::Time(self.t0.elapsed());
                }
            }
            if self.executions >= self.limits.max_executions {
                return Stop::Budget(self.executions);
            }
            let node = &mut self.stack[d];
            let Some(p) = node.next_choice() else {
                if let Some(node) = self.stack.pop() {
                    self.spare.push(node.sleep);
                    self.spare.push(node.explored);
                    self.spare_sims.extend(node.snapshot);
                }
                continue;
            };
            node.done |= bit(p);
            if node.enabled & bit(p) == 0 {
                continue;
            }
            let preempts = node
                .prev
                .is_some_and(|q| q != p && node.enabled & bit(q) != 0);
            let k = node.preemptions + preempts as u32;
            if self.limits.max_preemptions.is_some_and(|b| k > b) {
                self.pruned += 1;
                continue;
            }
            self.take(d, p, k);
        }
        self.ctl
            .executions
            .store(self.executions, Ordering::Relaxed);
        match (self.limits.max_preemptions, self.pruned) {
            (Some(bound), pruned) if pruned > 0 => Stop::PreemptionBound { bound, pruned },
            _ => Stop::Complete,
        }
    }

    /// Brings `cur` to the state at depth `d` of the stack: from the snapshot
    /// above it, replaying the steps since.
    fn restore(&mut self, d: usize) {
        if self.cur_depth == d {
            return;
        }
        let s = d - d % SNAPSHOT_EVERY;
        if let Some(snap) = &self.stack[s].snapshot {
            self.cur.copy_from(snap);
        }
        for step in &self.path[s..d] {
            for _ in 0..step.len {
                self.cur.step_unchecked(step.actor);
            }
        }
        self.cur.clear_events();
        self.cur_depth = d;
    }

    /// Explores step `p` from the node at depth `d`.
    fn take(&mut self, d: usize, p: ActorId, preemptions: u32) {
        self.restore(d);
        let from = self.cur.trace().events.len();
        let pc0 = self.cur.pc(p);
        self.cur.step_unchecked(p);
        let mut len = 1;
        while self.merge_locals && local_next(&self.cur, p) {
            self.cur.step_unchecked(p);
            len += 1;
        }
        self.cur_depth = d + 1;
        let access = step_access(&self.cur, p, from, pc0, self.time, &mut self.objects);
        self.cur.clear_events();
        self.truncate_path(d);
        let step = self.race_check(p, access, len);
        let node = &mut self.stack[d];
        // The child sleeps on what slept here, and on the siblings explored before
        // p, as long as p's step does not touch what they touch.
        let mut sleep = self.spare.pop().unwrap_or_default();
        sleep.clear();
        sleep.extend(
            node.sleep
                .iter()
                .chain(node.explored.iter())
                .filter(|(a, acc)| *a != p && !acc.conflicts(&step.access)),
        );
        node.explored.push((p, step.access));
        self.push_step(step);
        if self.cur.ending() != Ending::Running {
            self.tally.add(&self.cur, None, preemptions);
            self.executions += 1;
            self.spare.push(sleep);
            return;
        }
        let mut child = Node::new(
            &self.cur,
            d + 1,
            Some(p),
            preemptions,
            sleep,
            &mut self.spare_sims,
        );
        child.explored = self.spare.pop().unwrap_or_default();
        child.explored.clear();
        if child.backtrack == 0 {
            // Every actor that could go on sleeps: this run is equivalent to one
            // already explored.
            self.spare.push(child.sleep);
            self.spare.push(child.explored);
            self.spare_sims.extend(child.snapshot);
            return;
        }
        self.stack.push(child);
    }

    fn clock(&self, j: usize) -> &[u32] {
        &self.clocks[j * self.n..(j + 1) * self.n]
    }

    /// The vector clock of a new step of `p` at the end of the path (pushed onto
    /// `clocks`); for every step it races with, a backtrack point.
    fn race_check(&mut self, p: ActorId, access: Access, len: u32) -> Step {
        let n = self.n;
        let d = self.path.len();
        let prev = self.by_actor[p as usize].last().copied();
        let mut clock = std::mem::take(&mut self.scratch_clock);
        clock.clear();
        match prev {
            Some(k) => clock.extend_from_slice(self.clock(k)),
            None => clock.resize(n, 0),
        }
        let idx = prev.map_or(1, |k| self.path[k].idx + 1);
        if prev.is_none()
            && let Some(o) = self.objects.index(Obj::Actor(p))
            && let Some(&k) = self.by_obj[o]
                .iter()
                .rev()
                .find(|&&k| self.path[k].access.writes & (1 << o) != 0)
        {
            // Started by that step.
            join(&mut clock, self.clock(k));
        }
        // The earlier steps that touch what this one touches, latest first.
        let mut cands = std::mem::take(&mut self.scratch_cands);
        cands.clear();
        if access.global {
            cands.extend(0..d);
        } else {
            let mut bits = access.reads | access.writes;
            while bits != 0 {
                cands.extend_from_slice(&self.by_obj[bits.trailing_zeros() as usize]);
                bits &= bits - 1;
            }
            cands.extend_from_slice(&self.globals);
            cands.sort_unstable();
            cands.dedup();
        }
        let mut races = std::mem::take(&mut self.scratch_races);
        races.clear();
        for &j in cands.iter().rev() {
            let s = self.path[j];
            if s.actor == p || !s.access.conflicts(&access) {
                continue;
            }
            if clock[s.actor as usize] < s.idx {
                races.push(j);
            }
            join(&mut clock, self.clock(j));
        }
        clock[p as usize] = idx;
        let step = Step {
            actor: p,
            idx,
            len,
            access,
        };
        for &j in &races {
            self.reverse(j, &step, &clock);
        }
        self.clocks.extend_from_slice(&clock);
        self.scratch_clock = clock;
        self.scratch_races = races;
        self.scratch_cands = cands;
        step
    }

    /// Puts a step at the end of the path, in the indexes by actor and object.
    fn push_step(&mut self, step: Step) {
        let d = self.path.len();
        self.by_actor[step.actor as usize].push(d);
        if step.access.global {
            self.globals.push(d);
        }
        let mut bits = step.access.reads | step.access.writes;
        while bits != 0 {
            self.by_obj[bits.trailing_zeros() as usize].push(d);
            bits &= bits - 1;
        }
        self.path.push(step);
    }

    /// Cuts the path back to its first `d` steps.
    fn truncate_path(&mut self, d: usize) {
        while self.path.len() > d {
            let Some(step) = self.path.pop() else { break };
            self.by_actor[step.actor as usize].pop();
            if step.access.global {
                self.globals.pop();
            }
            let mut bits = step.access.reads | step.access.writes;
            while bits != 0 {
                self.by_obj[bits.trailing_zeros() as usize].pop();
                bits &= bits - 1;
            }
        }
        self.clocks.truncate(d * self.n);
    }

    /// Makes sure the node before step `j` explores an actor that can start the
    /// order in which `last` (clock `last_clock`, not yet on the path) comes
    /// before step `j`.
    fn reverse(&mut self, j: usize, last: &Step, last_clock: &[u32]) {
        let (ja, jidx) = (self.path[j].actor as usize, self.path[j].idx);
        let d = self.path.len();
        let mut first_idx = std::mem::take(&mut self.scratch_first);
        let mut firsts = std::mem::take(&mut self.scratch_firsts);
        // v: the steps after j that do not happen after it, then `last`.
        let in_v = |k: usize| k == d || self.clock(k)[ja] < jidx;
        let step_at = |k: usize| if k == d { *last } else { self.path[k] };
        let clock_at = |k: usize| if k == d { last_clock } else { self.clock(k) };
        // Each actor's first step in v, and where it is. A first step is an
        // initial of v when no step of v happens before it; a step of actor r
        // in v happens before it exactly when r's first step in v does.
        first_idx.clear();
        first_idx.resize(self.n, 0);
        firsts.clear();
        for k in (j + 1..=d).filter(|&k| in_v(k)) {
            let s = step_at(k);
            if first_idx[s.actor as usize] == 0 {
                first_idx[s.actor as usize] = s.idx;
                firsts.push(k);
            }
        }
        let mut initials: Actors = 0;
        for &k in &firsts {
            let a = step_at(k).actor as usize;
            let c = clock_at(k);
            let after_another =
                (0..self.n).any(|r| r != a && first_idx[r] != 0 && c[r] >= first_idx[r]);
            if !after_another {
                initials |= bit(a as ActorId);
            }
        }
        self.scratch_first = first_idx;
        self.scratch_firsts = firsts;
        let node = &mut self.stack[j];
        if initials & node.backtrack != 0 {
            return;
        }
        let pick = if initials & bit(last.actor) != 0 {
            bit(last.actor)
        } else {
            initials & initials.wrapping_neg()
        };
        if pick != 0 && node.enabled & pick != 0 {
            node.backtrack |= pick;
        } else {
            // The model's enabledness outran the dependence relation: explore every
            // actor that can go on here (sound, only slower).
            node.backtrack |= node.enabled;
        }
    }
}

/// Whether actor `a`'s next instruction touches nothing another actor can see
/// (a constant, a local, arithmetic, a jump) and cannot end or block it. Such a
/// step commutes with every step of every other actor, so running it at once
/// after the step before it loses no outcome and no class of interleavings, and
/// the search need not branch there. Only where any instruction boundary may
/// be a switch (no GIL) and time does not matter: under gil-modern a switch at
/// a back-edge could not move past the next shared access.
fn local_next(sim: &Sim, a: ActorId) -> bool {
    sim.ending() == Ending::Running
        && sim.can_step(a)
        && sim.program().instr(a, sim.pc(a)).is_some_and(commutes)
}

/// Whether a step of this instruction commutes with every other actor's step
/// (see [`local_next`]). Every instruction is named: `Return` may end the
/// thread's function, and the rest touch something another actor can see.
fn commutes(i: Instr) -> bool {
    match i {
        Instr::Nop(_)
        | Instr::Opcode(_)
        | Instr::Call(_)
        | Instr::LoadConst(_)
        | Instr::LoadFast(_)
        | Instr::StoreFast(_)
        | Instr::BinaryOp(_)
        | Instr::ForRange { .. }
        | Instr::JumpBackward(_)
        | Instr::PopJumpIfFalse(_) => true,
        Instr::Return
        | crate::program::cond_instr!()
        | crate::program::barrier_instr!()
        | crate::program::sync_instr!()
        | Instr::LoadGlobal(_)
        | Instr::StoreGlobal(_)
        | Instr::ListStore { .. }
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
        | Instr::FileRead(_)
        | Instr::FileWrite(_)
        | Instr::PipeSend(_)
        | Instr::PipeRecv { .. }
        | Instr::PipeClose(_)
        | Instr::RunProgram { .. }
        | Instr::PrintCaptured { .. }
        | Instr::BufPrint { .. }
        | Instr::Flush(_)
        | crate::program::aio_instr!() => false,
    }
}

fn join(into: &mut [u32], other: &[u32]) {
    for (a, b) in into.iter_mut().zip(other) {
        *a = (*a).max(*b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Taking local instructions along with the step before them explores the
    /// same classes of interleavings: the same outcomes, and without a lock as
    /// many runs, each outcome as often.
    #[test]
    fn merging_local_steps_keeps_every_class_and_outcome() {
        let cat = crate::catalog::Catalog::embedded().expect("lessons");
        let l = cat.find("balance-race").expect("lesson");
        for it in ["iterations=1", "iterations=2"] {
            for lock in ["lock=off", "lock=on"] {
                let sets: Vec<String> = [it, "gil=free", lock].map(String::from).to_vec();
                let knobs = crate::cli::knobs_from(l, &sets).expect("knobs");
                let p = Arc::new(crate::scenarios::build(l, &knobs).expect("builds"));
                let limits = Limits {
                    fewest: false,
                    ..Limits::default()
                };
                let ctl = Control::default();
                let go = |m| run_merging(&p, knobs.engine(), &limits, &ctl, Instant::now(), m);
                let (plain, merged) = (go(false), go(true));
                assert_eq!(merged.stop, Stop::Complete);
                let counts = |e: &Exploration, how_often: bool| {
                    let mut v: Vec<_> = e
                        .outcomes
                        .iter()
                        .map(|f| (f.key.clone(), if how_often { f.count } else { 0 }))
                        .collect();
                    v.sort();
                    v
                };
                if lock == "lock=off" {
                    // One run per class, in both.
                    assert_eq!(merged.executions, plain.executions, "{it}");
                    assert_eq!(counts(&merged, true), counts(&plain, true), "{it}");
                } else {
                    // Lock steps make the plain search explore some classes more
                    // than once (where enabledness outruns the dependence
                    // relation); taking locals along leaves fewer such places.
                    assert!(merged.executions <= plain.executions, "{it}");
                    assert_eq!(counts(&merged, false), counts(&plain, false), "{it}");
                }
            }
        }
    }
}
