//! The explorer's speed: DPOR interleavings per second, the time to every outcome
//! of balance-race at 1, 2 and 3 iterations (gil=free), and sampled runs per second.
//!
//! Targets (issue 14): iterations=2 every outcome ≤ 1 s, iterations=3 ≤ 10 s,
//! ≥ 200 000 interleavings/s at iterations=1.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::explore::{self, Control, Limits};
use interleave::program::{EngineConfig, Program};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn balance(sets: &[&str]) -> (Arc<Program>, EngineConfig) {
    let (p, cfg, _) = balance_knobs(sets);
    (p, cfg)
}

fn balance_knobs(sets: &[&str]) -> (Arc<Program>, EngineConfig, interleave::lesson::Knobs) {
    let cat = Catalog::embedded().expect("lessons load");
    let l = cat.find("balance-race").expect("balance-race exists");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = knobs_from(l, &sets).expect("valid knobs");
    let p = interleave::scenarios::build(l, &knobs).expect("builds");
    let cfg = knobs.engine();
    (Arc::new(p), cfg, knobs)
}

fn dpor_only() -> Limits {
    Limits {
        fewest: false,
        max_time: Duration::from_secs(120),
        ..Limits::default()
    }
}

/// DPOR alone: interleavings explored per second.
fn dpor_rate(c: &mut Criterion) {
    let mut g = c.benchmark_group("explore dpor");
    g.sample_size(10);
    for it in ["iterations=1", "iterations=2"] {
        let (p, cfg) = balance(&[it, "gil=free", "lock=off"]);
        let n = explore::exhaustive(&p, cfg, &dpor_only(), &Control::default()).executions;
        g.throughput(Throughput::Elements(n));
        g.bench_function(
            format!("balance-race {it} gil=free ({n} interleavings)"),
            |b| {
                b.iter(|| {
                    black_box(explore::exhaustive(
                        &p,
                        cfg,
                        &dpor_only(),
                        &Control::default(),
                    ))
                })
            },
        );
    }
    g.finish();
}

/// `interleave explore --exhaustive` as the command runs it: every outcome with
/// its fewest-preemption witness.
fn every_outcome(c: &mut Criterion) {
    let mut g = c.benchmark_group("explore every outcome");
    g.sample_size(10);
    for it in ["iterations=1", "iterations=2"] {
        let (p, cfg) = balance(&[it, "gil=free", "lock=off"]);
        g.bench_function(format!("balance-race {it} gil=free"), |b| {
            b.iter(|| {
                let ex = explore::exhaustive(&p, cfg, &Limits::default(), &Control::default());
                assert!(ex.stop.is_complete());
                black_box(ex)
            })
        });
    }
    g.finish();
    // Too long for criterion's repetitions: timed once, reported the same way.
    let (p, cfg) = balance(&["iterations=3", "gil=free", "lock=off"]);
    let limits = Limits {
        max_time: Duration::from_secs(10),
        ..Limits::default()
    };
    let t = Instant::now();
    let ex = explore::exhaustive(&p, cfg, &limits, &Control::default());
    println!(
        "explore every outcome/balance-race iterations=3 gil=free: {} outcomes, {} in {:.2} s \
         ({} DPOR interleavings, counts {})",
        ex.outcomes.len(),
        ex.stop.describe(),
        t.elapsed().as_secs_f64(),
        ex.executions,
        ex.counts.describe()
    );
}

/// Sampled mode: seeded runs per second on every core.
fn sampled(c: &mut Criterion) {
    let mut g = c.benchmark_group("explore sampled");
    g.sample_size(10);
    let (p, cfg, knobs) = balance_knobs(&["iterations=1", "gil=free", "lock=off"]);
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("balance-race iterations=1 gil=free, 10 000 seeds", |b| {
        b.iter(|| {
            black_box(explore::sample(
                &p,
                cfg,
                &knobs,
                0..10_000,
                &Control::default(),
            ))
        })
    });
    g.finish();
}

/// What live → stepped recording costs a live thread per shared operation: a
/// load or store through the variable's version, plus its entry in the thread's
/// log, beside the plain atomic load or store it replaces (target: ≤ 50 ns an
/// event, with the event's own timestamp and record).
fn live_record(c: &mut Criterion) {
    use interleave::live::EventBuffer;
    use interleave::live::record::{Entry, Op, ThreadLog, Version};
    use interleave::trace::EventKind;
    use std::sync::atomic::{AtomicI64, Ordering};
    const OPS: u64 = 100_000;
    let mut g = c.benchmark_group("live record");
    g.throughput(Throughput::Elements(OPS));
    let x = AtomicI64::new(0);
    g.bench_function("plain load + store, 100 000 ops", |b| {
        b.iter(|| {
            for i in 0..OPS / 2 {
                let v = x.load(Ordering::Relaxed);
                x.store(black_box(v + i as i64), Ordering::Relaxed);
            }
        })
    });
    let ver = Version::default();
    g.bench_function(
        "versioned load + store with log entries, 100 000 ops",
        |b| {
            b.iter(|| {
                let mut log = ThreadLog::default();
                for i in 0..OPS / 2 {
                    let (v, seen) = ver.load(&x);
                    log.push(Entry::new(Op::Load, 0, seen));
                    let made = ver.store(&x, black_box(v + i as i64));
                    log.push(Entry::new(Op::Store, 0, made));
                }
                black_box(log)
            })
        },
    );
    let t0 = Instant::now();
    g.bench_function(
        "whole event: timestamped record + versioned op + entry",
        |b| {
            b.iter(|| {
                let mut buf = EventBuffer::new(t0, 1);
                let mut log = ThreadLog::default();
                for i in 0..OPS / 2 {
                    let (v, seen) = ver.load(&x);
                    log.push(Entry::new(Op::Load, 0, seen));
                    if buf.rec(EventKind::Exec, 1, v) {
                        black_box(buf.take());
                    }
                    let made = ver.store(&x, black_box(v + i as i64));
                    log.push(Entry::new(Op::Store, 0, made));
                    if buf.rec(EventKind::Exec, 2, v) {
                        black_box(buf.take());
                    }
                }
                black_box((log, buf.take()))
            })
        },
    );
    g.finish();
}

/// The same for a worker process (value-race): the version and the value sit in
/// the shared memory every worker maps, the event is stamped with the raw
/// monotonic clock the workers share, as `worker.rs` does it.
fn process_record(c: &mut Criterion) {
    use interleave::live::ipc::{SharedMem, monotonic_ns};
    use interleave::live::record::{Entry, Op, ThreadLog, seq_load, seq_store};
    use interleave::trace::{Event, EventKind};
    use std::sync::atomic::Ordering;
    const OPS: u64 = 100_000;
    let cat = Catalog::embedded().expect("lessons load");
    let l = cat.find("value-race").expect("value-race exists");
    let knobs = knobs_from(l, &[]).expect("valid knobs");
    let p = interleave::scenarios::build(l, &knobs).expect("builds");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("shared-memory");
    SharedMem::create(&path, &p).expect("the shared memory file");
    let mem = SharedMem::open(&path, &p).expect("it maps");
    let mut g = c.benchmark_group("live record, worker process");
    g.throughput(Throughput::Elements(OPS));
    g.bench_function("plain shared load + store with events, 100 000 ops", |b| {
        b.iter(|| {
            let mut evs: Vec<Event> = Vec::with_capacity(OPS as usize);
            for i in 0..OPS / 2 {
                let v = mem.slot(0).load(Ordering::SeqCst);
                evs.push(ev(monotonic_ns(), 1, v));
                mem.slot(0).store(black_box(v + i as i64), Ordering::SeqCst);
                evs.push(ev(monotonic_ns(), 2, v));
            }
            black_box(evs)
        })
    });
    g.bench_function(
        "whole event: stamped event + versioned shared op + entry, 100 000 ops",
        |b| {
            b.iter(|| {
                let mut evs: Vec<Event> = Vec::with_capacity(OPS as usize);
                let mut log = ThreadLog::default();
                for i in 0..OPS / 2 {
                    let (v, seen) = seq_load(mem.version(&p, 0), mem.slot(0));
                    log.push(Entry::new(Op::Load, 0, seen));
                    evs.push(ev(monotonic_ns(), 1, v));
                    let made = seq_store(mem.version(&p, 0), mem.slot(0), black_box(v + i as i64));
                    log.push(Entry::new(Op::Store, 0, made));
                    evs.push(ev(monotonic_ns(), 2, v));
                }
                black_box((log, evs))
            })
        },
    );
    g.finish();

    fn ev(t_ns: u64, pc: u32, value: i64) -> Event {
        Event {
            t_ns,
            value,
            pc,
            actor: 1,
            kind: EventKind::Exec,
        }
    }
}

criterion_group!(
    benches,
    dpor_rate,
    every_outcome,
    sampled,
    live_record,
    process_record
);
criterion_main!(benches);
