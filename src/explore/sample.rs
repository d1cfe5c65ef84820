//! Sampled mode: many seeds of the seeded scheduler, in parallel on every core.
//! Seed `s` runs exactly as `interleave run --seed s`, so every count and witness
//! is the same however many threads share the work.

use super::{Control, Exploration, Method, Stop, Tally};
use crate::lesson::Knobs;
use crate::program::{ActorId, EngineConfig, Program};
use crate::run::{Origin, seeded};
use crate::sim::{Ending, Sim};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Seeds a worker takes at a time.
const CHUNK: u64 = 64;

pub fn run(
    program: &Arc<Program>,
    cfg: EngineConfig,
    knobs: &Knobs,
    seeds: std::ops::Range<u64>,
    ctl: &Control,
) -> Exploration {
    let t0 = Instant::now();
    let next = AtomicU64::new(seeds.start);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(seeds.end.saturating_sub(seeds.start).div_ceil(CHUNK).max(1) as usize);
    let tallies: Vec<(Tally, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| scope.spawn(|| worker(program, cfg, knobs, &next, seeds.end, ctl)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut tally = Tally::default();
    let mut executions = 0;
    for (t, n) in tallies {
        tally.merge(t);
        executions += n;
    }
    ctl.executions.store(executions, Ordering::Relaxed);
    let stop = if ctl.cancelled() {
        Stop::Cancelled
    } else {
        Stop::Complete
    };
    Exploration {
        method: Method::Sampled,
        outcomes: tally.into_sorted(),
        executions,
        elapsed: t0.elapsed(),
        counts: stop.clone(),
        stop,
        minimal: false,
        max_preemptions: None,
    }
}

fn worker(
    program: &Arc<Program>,
    cfg: EngineConfig,
    knobs: &Knobs,
    next: &AtomicU64,
    end: u64,
    ctl: &Control,
) -> (Tally, u64) {
    let mut tally = Tally::default();
    let mut runs = 0;
    loop {
        if ctl.cancelled() {
            break;
        }
        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
        if start >= end {
            break;
        }
        let stop = (start + CHUNK).min(end);
        for seed in start..stop {
            let (sim, preemptions) = one(program, cfg, knobs, seed);
            tally.add(&sim, Some(seed), preemptions);
        }
        runs += stop - start;
        ctl.executions.fetch_add(stop - start, Ordering::Relaxed);
    }
    (tally, runs)
}

/// The run of one seed, as `interleave run --seed` makes it (with the scheduler
/// the lesson's `scheduler` knob names), and its preemptions.
pub fn one(program: &Arc<Program>, cfg: EngineConfig, knobs: &Knobs, seed: u64) -> (Sim, u32) {
    let mut sim = Sim::new(program.clone(), cfg);
    let mut sched = seeded(knobs, cfg, &Origin::Seed(seed));
    let mut prev: Option<ActorId> = None;
    let mut preemptions = 0;
    while sim.ending() == Ending::Running {
        let Some(a) = sched.pick_steppable(&sim) else {
            break;
        };
        if prev.is_some_and(|q| q != a && sim.can_step(q)) {
            preemptions += 1;
        }
        sim.step_unchecked(a);
        prev = Some(a);
    }
    (sim, preemptions)
}
