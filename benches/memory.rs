//! A long stepped run in the playground: its peak memory, what a step back
//! costs anywhere in it, and what recording costs per event next to the bare
//! simulator.
//!
//! `cargo bench --bench memory` (balance-race at its largest knob value,
//! 10 000 000 iterations; `INTERLEAVE_BENCH_ITERATIONS` for another). Targets
//! (issue 13): peak RSS ≤ 300 MB, a step back ≤ 50 ms, recording no dearer than
//! the bare simulator's ~25 ns an event.

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::run::{Command, Origin, Run, Start, seeded};
use interleave::sim::Sim;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn run(iterations: u64) -> Run {
    let lesson = Catalog::embedded()
        .expect("lessons")
        .find("balance-race")
        .expect("balance-race")
        .clone();
    let knobs = knobs_from(&lesson, &[format!("iterations={iterations}")]).expect("knobs");
    Run::new(&lesson, knobs, Start::Stepped(Origin::Seed(1))).expect("builds")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let iterations: u64 = std::env::var("INTERLEAVE_BENCH_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);

    let mut r = run(iterations);
    let t0 = Instant::now();
    r.command(Command::RunToEnd);
    let wall = t0.elapsed();
    let total = r.trace().total_len();
    let steps = r.sim().map(|s| s.steps()).unwrap_or(0);
    println!(
        "run to end, {iterations} iterations: {total} events, {steps} steps in {:.2} s ({:.1} ns/event), {} kept",
        wall.as_secs_f64(),
        wall.as_nanos() as f64 / total as f64,
        r.trace().events.len()
    );

    let mut backs = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        r.command(Command::StepBack);
        backs.push(t0.elapsed());
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let mut jumps = Vec::new();
    for _ in 0..20 {
        let target = rng.random_range(0..steps);
        r.go_to_step(target);
        // A step back from a random moment: what `b` costs there.
        let t0 = Instant::now();
        r.command(Command::StepBack);
        backs.push(t0.elapsed());
        let t0 = Instant::now();
        r.go_to_step(target);
        jumps.push(t0.elapsed());
    }
    backs.sort();
    jumps.sort();
    println!(
        "step back ({} tries, anywhere in the run): median {:.1} ms, worst {:.1} ms (target ≤ 50 ms)",
        backs.len(),
        ms(backs[backs.len() / 2]),
        ms(backs[backs.len() - 1])
    );
    println!(
        "one step forward again after a step back: median {:.3} ms",
        ms(jumps[jumps.len() / 2])
    );
    // Measured before the recording comparison below, whose bare simulator
    // keeps all of its 24 M events (576 MB).
    println!(
        "peak RSS: {:.1} MB (target ≤ 300 MB)",
        peak_kb() as f64 / 1024.0
    );
    // Recording cost: the bare simulator (every event kept in one vector, as the
    // CLI runs it) and the playground's run (window + checkpoints) on 1 M.
    let small = run(1_000_000);
    let t0 = Instant::now();
    let mut sim = Sim::new(Arc::clone(small.program()), small.config());
    sim.run_seeded(&mut seeded(small.knobs(), small.config(), &Origin::Seed(1)));
    let bare = t0.elapsed();
    let bare_events = sim.trace().len();
    drop(sim);
    let mut small = small;
    let t0 = Instant::now();
    small.command(Command::RunToEnd);
    let windowed = t0.elapsed();
    println!(
        "recording, 1 M iterations ({bare_events} events): bare simulator {:.1} ns/event, playground run {:.1} ns/event",
        bare.as_nanos() as f64 / bare_events as f64,
        windowed.as_nanos() as f64 / small.trace().total_len() as f64,
    );
    drop(small);
}
