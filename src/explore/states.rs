//! Searches without partial-order reduction: every interleaving one by one (the
//! oracle the tests hold DPOR to), every reachable state once (state caching), and
//! the fewest preemptions each outcome needs (a 0-1 breadth-first search over
//! states, where a preemption costs 1 and any other step 0).

use super::access::time_matters;
use super::{Control, OutcomeKey};
use crate::program::{ActorId, EngineConfig, Program};
use crate::sim::{BuildStateHasher, Ending, Schedule, Sim};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn steppable(sim: &Sim) -> impl Iterator<Item = ActorId> + '_ {
    (0..sim.actor_count() as ActorId).filter(|&a| sim.can_step(a))
}

/// Every interleaving, one by one: for each outcome, how many interleavings end
/// in it and the fewest preemptions any of them makes; `None` when there are
/// more than `max_runs`.
pub fn enumerate_tree(
    program: &Arc<Program>,
    cfg: EngineConfig,
    max_runs: u64,
) -> Option<BTreeMap<OutcomeKey, (u64, u32)>> {
    let mut out: BTreeMap<OutcomeKey, (u64, u32)> = BTreeMap::new();
    let mut runs = 0u64;
    let mut stack = vec![(Sim::new(program.clone(), cfg), None::<ActorId>, 0u32)];
    while let Some((sim, prev, k)) = stack.pop() {
        if sim.ending() != Ending::Running {
            runs += 1;
            if runs > max_runs {
                return None;
            }
            let e = out.entry(OutcomeKey::of(&sim)).or_insert((0, k));
            e.0 += 1;
            e.1 = e.1.min(k);
            continue;
        }
        let live_prev = prev.filter(|&q| sim.can_step(q));
        for a in steppable(&sim) {
            let mut next = sim.clone();
            next.step_unchecked(a);
            next.clear_events();
            let cost = live_prev.is_some_and(|q| q != a) as u32;
            stack.push((next, Some(a), k + cost));
        }
    }
    Some(out)
}

/// Every outcome of every interleaving, visiting each reachable state once;
/// `None` when there are more than `max_states` states.
pub fn enumerate_all(
    program: &Arc<Program>,
    cfg: EngineConfig,
    max_states: usize,
) -> Option<BTreeSet<OutcomeKey>> {
    let time = time_matters(program);
    let mut out = BTreeSet::new();
    let root = Sim::new(program.clone(), cfg);
    let mut seen = HashSet::from([root.fingerprint(time)]);
    let mut stack = vec![root];
    while let Some(sim) = stack.pop() {
        if sim.ending() != Ending::Running {
            out.insert(OutcomeKey::of(&sim));
            continue;
        }
        for a in steppable(&sim) {
            let mut next = sim.clone();
            next.step_unchecked(a);
            next.clear_events();
            if seen.insert(next.fingerprint(time)) {
                if seen.len() > max_states {
                    return None;
                }
                stack.push(next);
            }
        }
    }
    Some(out)
}

/// For every outcome, a schedule with the fewest preemptions that reaches it;
/// `None` when the states, the time or the caller ran out first.
pub fn fewest_preemptions(
    program: &Arc<Program>,
    cfg: EngineConfig,
    max_states: usize,
    max_time: Duration,
    ctl: &Control,
) -> Option<HashMap<OutcomeKey, (Schedule, u32)>> {
    let t0 = Instant::now();
    let time = time_matters(program);
    // A state is the simulator's state and the actor that ran last, if it could
    // go on (only then does switching away count).
    let key = |sim: &Sim, prev: Option<ActorId>| {
        (sim.fingerprint(time), prev.filter(|&q| sim.can_step(q)))
    };
    let root = Sim::new(program.clone(), cfg);
    let mut dist: HashMap<(u64, Option<ActorId>), u32, BuildStateHasher> = HashMap::default();
    dist.insert(key(&root, None), 0);
    let mut queue: VecDeque<(Sim, Option<ActorId>, u32)> = VecDeque::from([(root, None, 0)]);
    let mut best: HashMap<OutcomeKey, (Schedule, u32)> = HashMap::new();
    let mut popped = 0u64;
    // States done with, for the next ones to be copied into (no allocation).
    let mut spare: Vec<Sim> = Vec::new();
    let mut enabled: Vec<ActorId> = Vec::new();
    while let Some((sim, prev, k)) = queue.pop_front() {
        popped += 1;
        if popped.is_multiple_of(1024) && (ctl.cancelled() || t0.elapsed() > max_time) {
            return None;
        }
        if dist.get(&key(&sim, prev)).is_some_and(|&d| d < k) {
            spare.push(sim);
            continue;
        }
        if sim.ending() != Ending::Running {
            let o = OutcomeKey::of(&sim);
            if best.get(&o).is_none_or(|(_, b)| k < *b) {
                best.insert(o, (Schedule(sim.schedule().to_vec()), k));
            }
            spare.push(sim);
            continue;
        }
        let live_prev = prev.filter(|&q| sim.can_step(q));
        enabled.clear();
        enabled.extend(steppable(&sim));
        for &a in &enabled {
            let cost = live_prev.is_some_and(|q| q != a) as u32;
            let mut next = match spare.pop() {
                Some(mut s) => {
                    s.copy_from(&sim);
                    s
                }
                None => sim.clone(),
            };
            next.step_unchecked(a);
            next.clear_events();
            let nk = key(&next, Some(a));
            if dist.get(&nk).is_some_and(|&d| d <= k + cost) {
                spare.push(next);
                continue;
            }
            dist.insert(nk, k + cost);
            if dist.len() > max_states {
                return None;
            }
            if cost == 0 {
                queue.push_front((next, Some(a), k));
            } else {
                queue.push_back((next, Some(a), k + cost));
            }
        }
        spare.push(sim);
    }
    Some(best)
}
