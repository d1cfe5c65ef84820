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

use super::access::{Access, Obj, step_access, time_matters};
use super::{Control, Exploration, Limits, Method, Stop, Tally};
use crate::program::{ActorId, EngineConfig, Program};
use crate::sim::{Ending, Sim};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// One step of the run being explored.
struct Step {
    actor: ActorId,
    /// This is the actor's `idx`-th step (from 1).
    idx: u32,
    access: Access,
    /// Vector clock after the step: how many steps of each actor happen before it
    /// (itself included).
    clock: Vec<u32>,
}

/// A state on the search stack, with what is left to explore from it.
struct Node {
    sim: Sim,
    /// The actor of the step that led here.
    prev: Option<ActorId>,
    preemptions: u32,
    backtrack: Vec<ActorId>,
    done: Vec<ActorId>,
    /// Actors whose next step leads only to runs already explored.
    sleep: Vec<(ActorId, Access)>,
    /// Actors explored from here, with what their step touched.
    explored: Vec<(ActorId, Access)>,
}

impl Node {
    fn new(sim: Sim, prev: Option<ActorId>, preemptions: u32, sleep: Vec<(ActorId, Access)>) -> Node {
        let mut n = Node {
            sim,
            prev,
            preemptions,
            backtrack: Vec::new(),
            done: Vec::new(),
            sleep,
            explored: Vec::new(),
        };
        // Going on with the same actor first: no preemption.
        let asleep = |a: ActorId| n.sleep.iter().any(|(s, _)| *s == a);
        let first = prev
            .filter(|&a| n.sim.can_step(a) && !asleep(a))
            .or_else(|| (0..n.sim.actor_count() as ActorId).find(|&a| n.sim.can_step(a) && !asleep(a)));
        if let Some(a) = first {
            n.backtrack.push(a);
        }
        n
    }

    fn next_choice(&self) -> Option<ActorId> {
        self.backtrack
            .iter()
            .copied()
            .find(|a| !self.done.contains(a) && !self.sleep.iter().any(|(s, _)| s == a))
    }
}

struct Search<'a> {
    limits: &'a Limits,
    ctl: &'a Control,
    t0: Instant,
    time: bool,
    stack: Vec<Node>,
    path: Vec<Step>,
    tally: Tally,
    executions: u64,
    pruned: u64,
}

pub fn run(
    program: &Arc<Program>,
    cfg: EngineConfig,
    limits: &Limits,
    ctl: &Control,
    t0: Instant,
) -> Exploration {
    let root = Node::new(Sim::new(program.clone(), cfg), None, 0, Vec::new());
    let mut s = Search {
        limits,
        ctl,
        t0,
        time: time_matters(program),
        stack: vec![root],
        path: Vec::new(),
        tally: Tally::default(),
        executions: 0,
        pruned: 0,
    };
    if s.stack[0].sim.ending() != Ending::Running {
        let sim = s.stack[0].sim.clone();
        s.tally.add(&sim, None, 0);
        s.executions = 1;
    }
    let stop = s.explore();
    Exploration {
        method: Method::Exhaustive,
        outcomes: s.tally.into_sorted(),
        executions: s.executions,
        elapsed: t0.elapsed(),
        stop,
        minimal: false,
    }
}

impl Search<'_> {
    fn explore(&mut self) -> Stop {
        let mut iter: u64 = 0;
        while let Some(d) = self.stack.len().checked_sub(1) {
            iter += 1;
            if iter.is_multiple_of(512) {
                self.ctl.executions.store(self.executions, Ordering::Relaxed);
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
                self.stack.pop();
                self.path.truncate(self.stack.len().saturating_sub(1));
                continue;
            };
            node.done.push(p);
            if !node.sim.can_step(p) {
                continue;
            }
            let preempts = node.prev.is_some_and(|q| q != p && node.sim.can_step(q));
            let k = node.preemptions + preempts as u32;
            if self.limits.max_preemptions.is_some_and(|b| k > b) {
                self.pruned += 1;
                continue;
            }
            self.take(d, p, k);
        }
        self.ctl.executions.store(self.executions, Ordering::Relaxed);
        match (self.limits.max_preemptions, self.pruned) {
            (Some(bound), pruned) if pruned > 0 => Stop::PreemptionBound { bound, pruned },
            _ => Stop::Complete,
        }
    }

    /// Explores step `p` from the node at depth `d`.
    fn take(&mut self, d: usize, p: ActorId, preemptions: u32) {
        let node = &self.stack[d];
        let mut sim = node.sim.clone();
        let from = sim.trace().events.len();
        let pc0 = sim.pc(p);
        sim.step_checked(p);
        let access = step_access(&sim, p, from, pc0, self.time);
        self.path.truncate(d);
        let step = self.race_check(p, access);
        let node = &mut self.stack[d];
        // The child sleeps on what slept here, and on the siblings explored before
        // p, as long as p's step does not touch what they touch.
        let sleep: Vec<(ActorId, Access)> = node
            .sleep
            .iter()
            .chain(node.explored.iter())
            .filter(|(a, acc)| *a != p && !acc.conflicts(&step.access))
            .cloned()
            .collect();
        node.explored.push((p, step.access.clone()));
        self.path.push(step);
        if sim.ending() != Ending::Running {
            self.tally.add(&sim, None, preemptions);
            self.executions += 1;
            return;
        }
        let child = Node::new(sim, Some(p), preemptions, sleep);
        if child.backtrack.is_empty() {
            // Every actor that could go on sleeps: this run is equivalent to one
            // already explored.
            return;
        }
        self.stack.push(child);
    }

    /// The vector clock of a new step of `p` at the end of the path; for every
    /// step it races with, a backtrack point.
    fn race_check(&mut self, p: ActorId, access: Access) -> Step {
        let n = self.stack[0].sim.actor_count();
        let d = self.path.len();
        let prev = self.path.iter().rposition(|s| s.actor == p);
        let (mut clock, idx) = match prev {
            Some(k) => (self.path[k].clock.clone(), self.path[k].idx + 1),
            None => (vec![0; n], 1),
        };
        if prev.is_none()
            && let Some(k) = self
                .path
                .iter()
                .rposition(|s| s.access.items.contains(&(Obj::Actor(p), true)))
        {
            // Started by that step.
            join(&mut clock, &self.path[k].clock);
        }
        let mut races = Vec::new();
        for j in (0..d).rev() {
            let s = &self.path[j];
            if s.actor == p || !s.access.conflicts(&access) {
                continue;
            }
            if clock[s.actor as usize] < s.idx {
                races.push(j);
            }
            join(&mut clock, &s.clock);
        }
        clock[p as usize] = idx;
        let step = Step {
            actor: p,
            idx,
            access,
            clock,
        };
        for j in races {
            self.reverse(j, &step);
        }
        step
    }

    /// Makes sure the node before step `j` explores an actor that can start the
    /// order in which `last` (not yet on the path) comes before step `j`.
    fn reverse(&mut self, j: usize, last: &Step) {
        let (ja, jidx) = (self.path[j].actor, self.path[j].idx);
        // The steps after j that do not depend on it, then `last`.
        let v: Vec<&Step> = self.path[j + 1..]
            .iter()
            .filter(|s| s.clock[ja as usize] < jidx)
            .chain(std::iter::once(last))
            .collect();
        let mut initials: Vec<ActorId> = Vec::new();
        let mut seen: Vec<ActorId> = Vec::new();
        for (i, s) in v.iter().enumerate() {
            if seen.contains(&s.actor) {
                continue;
            }
            seen.push(s.actor);
            if !v[..i].iter().any(|m| s.clock[m.actor as usize] >= m.idx) {
                initials.push(s.actor);
            }
        }
        let node = &mut self.stack[j];
        if initials.iter().any(|a| node.backtrack.contains(a)) {
            return;
        }
        let pick = if initials.contains(&last.actor) {
            Some(last.actor)
        } else {
            initials.first().copied()
        };
        match pick {
            Some(q) if node.sim.can_step(q) => node.backtrack.push(q),
            // The model's enabledness outran the dependence relation: explore every
            // actor that can go on here (sound, only slower).
            _ => {
                for a in 0..node.sim.actor_count() as ActorId {
                    if node.sim.can_step(a) && !node.backtrack.contains(&a) {
                        node.backtrack.push(a);
                    }
                }
            }
        }
    }
}

fn join(into: &mut [u32], other: &[u32]) {
    for (a, b) in into.iter_mut().zip(other) {
        *a = (*a).max(*b);
    }
}
