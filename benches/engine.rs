//! The engine's speed and memory: simulator steps per second with the trace kept,
//! the default balance-race run stepped, what a live event costs to record, and
//! the bytes an event takes.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::lesson::Lesson;
use interleave::live::EventBuffer;
use interleave::program::Program;
use interleave::sim::{Calibration, RandomScheduler, SchedulerKind, Seeded, Sim};
use interleave::trace::{Event, EventKind};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn balance(sets: &[&str]) -> (Arc<Program>, interleave::program::EngineConfig) {
    let cat = Catalog::embedded().expect("lessons load");
    let l: &Lesson = cat.find("balance-race").expect("balance-race exists");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = knobs_from(l, &sets).expect("valid knobs");
    let p = interleave::scenarios::build(l, &knobs).expect("builds");
    (Arc::new(p), knobs.engine())
}

/// A run with the default scheduler (timed): the picks `interleave run` makes, but
/// the engine alone, with every event kept in memory (the CLI streams 64 K events
/// at a time and writes a report).
fn run_to_end(p: &Arc<Program>, cfg: interleave::program::EngineConfig, seed: u64) -> Sim {
    let mut sim = Sim::new(p.clone(), cfg);
    let mut sched = Seeded::new(SchedulerKind::Timed, seed, Calibration::for_run(None, cfg));
    sim.run_seeded(&mut sched);
    sim
}

/// The same with the uniform scheduler (the default before the timed one).
fn run_uniform(p: &Arc<Program>, cfg: interleave::program::EngineConfig, seed: u64) -> Sim {
    let mut sim = Sim::new(p.clone(), cfg);
    sim.run_random(&mut RandomScheduler::new(seed));
    sim
}

fn simulator(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulator");
    g.sample_size(20);
    for (name, sets) in [
        ("default gil-classic bytecode", &["lock=off"][..]),
        ("free bytecode", &["gil=free"][..]),
        ("default gil-classic line", &["granularity=line"][..]),
    ] {
        let (p, cfg) = balance(sets);
        let steps = run_to_end(&p, cfg, 1).steps() as u64;
        g.throughput(Throughput::Elements(steps));
        g.bench_with_input(
            BenchmarkId::new("balance-race run to end", name),
            &(),
            |b, _| b.iter(|| black_box(run_to_end(&p, cfg, 1).steps())),
        );
    }
    let (p, cfg) = balance(&["lock=off"]);
    let steps = run_uniform(&p, cfg, 1).steps() as u64;
    g.throughput(Throughput::Elements(steps));
    g.bench_with_input(
        BenchmarkId::new("balance-race run to end", "default, scheduler=uniform"),
        &(),
        |b, _| b.iter(|| black_box(run_uniform(&p, cfg, 1).steps())),
    );
    g.finish();
}

fn live_record(c: &mut Criterion) {
    let mut g = c.benchmark_group("live");
    g.throughput(Throughput::Elements(1));
    g.bench_function("record one event", |b| {
        let mut buf = EventBuffer::new(Instant::now(), 1);
        b.iter(|| {
            if buf.rec(EventKind::Exec, black_box(3), black_box(42)) {
                black_box(buf.take());
            }
        })
    });
    g.finish();
}

fn memory(_c: &mut Criterion) {
    let (p, cfg) = balance(&["lock=off"]);
    let sim = run_to_end(&p, cfg, 1);
    let t = sim.trace();
    let held = t.events.capacity() * std::mem::size_of::<Event>();
    println!(
        "memory: {} events, {} bytes per event ({} bytes held with the Vec's spare room: {:.1} per event)",
        t.events.len(),
        std::mem::size_of::<Event>(),
        held,
        held as f64 / t.events.len() as f64
    );
    // The first run of a session writes its events to fresh memory; later runs reuse
    // the buffer of the trace they replace (what the criterion runs below measure).
    // Keeping every run alive here denies each the spare buffer.
    let mut alive = Vec::new();
    let mut cold: Vec<f64> = (1..=5)
        .map(|seed| {
            let t = Instant::now();
            alive.push(run_to_end(&p, cfg, seed));
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    drop(alive);
    drop(sim);
    cold.sort_by(f64::total_cmp);
    println!(
        "default run on fresh memory (the first run of a session): median {:.1} ms, best {:.1} ms of {}",
        cold[cold.len() / 2],
        cold[0],
        cold.len()
    );
    let t0 = Instant::now();
    let mut n = 0;
    while t0.elapsed() < Duration::from_millis(10) {
        n += 1;
        black_box(run_to_end(&p, cfg, n).steps());
    }
}

criterion_group!(benches, memory, simulator, live_record);
criterion_main!(benches);
