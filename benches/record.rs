//! What live → stepped recording costs per event, in release: a thread's shared
//! load or store through its version with its log entry and its timestamped
//! event, and the same in a worker process, whose values and versions sit in the
//! shared memory every worker maps and whose log is a file (`record::FileLog`,
//! written as `worker.rs` writes it: every `LAZY_SYNC` entries while it computes,
//! and whatever is new before it waits, prints or ends). Each is beside the plain
//! operation it replaces. Issue 13 wants ~25 ns an event, issue 14 at most 50.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::live::EventBuffer;
use interleave::live::ipc::{SharedMem, monotonic_ns};
use interleave::live::record::{Entry, FileLog, Op, ThreadLog, Version, seq_load, seq_store};
use interleave::trace::{Event, EventKind};
use std::hint::black_box;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

/// Shared operations per measured iteration (half loads, half stores).
const OPS: u64 = 100_000;

fn threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("record, threads");
    g.throughput(Throughput::Elements(OPS));
    let x = AtomicI64::new(0);
    let ver = Version::default();
    let t0 = Instant::now();
    g.bench_function("plain op + timestamped event", |b| {
        b.iter(|| {
            let mut buf = EventBuffer::new(t0, 1);
            for i in 0..OPS / 2 {
                let v = x.load(Ordering::Relaxed);
                if buf.rec(EventKind::Exec, 1, v) {
                    black_box(buf.take());
                }
                x.store(black_box(v + i as i64), Ordering::Relaxed);
                if buf.rec(EventKind::Exec, 2, v) {
                    black_box(buf.take());
                }
            }
            black_box(buf.take())
        })
    });
    g.bench_function(
        "whole event: versioned op + entry + timestamped event",
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

fn processes(c: &mut Criterion) {
    let cat = Catalog::embedded().expect("lessons load");
    let l = cat.find("value-race").expect("value-race exists");
    let knobs = knobs_from(l, &[]).expect("valid knobs");
    let p = interleave::scenarios::build(l, &knobs).expect("builds");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("shared-memory");
    SharedMem::create(&path, &p).expect("the shared memory file");
    let mem = SharedMem::open(&path, &p).expect("it maps");
    let ev = |t_ns, pc, value| Event {
        t_ns,
        value,
        pc,
        actor: 1,
        kind: EventKind::Exec,
    };
    let mut g = c.benchmark_group("record, worker process");
    g.throughput(Throughput::Elements(OPS));
    g.bench_function("plain shared op + stamped event", |b| {
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
        "whole event: versioned shared op + file log entry + stamped event",
        |b| {
            b.iter_batched(
                // A fresh log each time, as each worker makes its own (made
                // outside the measurement: once a worker, not once an event).
                || FileLog::create(dir.path(), 1).expect("makes its log"),
                |mut log| {
                    let mut evs: Vec<Event> = Vec::with_capacity(OPS as usize);
                    for i in 0..OPS / 2 {
                        let (v, seen) = seq_load(mem.version(&p, 0), mem.slot(0));
                        log.push(Entry::new(Op::Load, 0, seen));
                        evs.push(ev(monotonic_ns(), 1, v));
                        let made =
                            seq_store(mem.version(&p, 0), mem.slot(0), black_box(v + i as i64));
                        log.push(Entry::new(Op::Store, 0, made));
                        evs.push(ev(monotonic_ns(), 2, v));
                        // A frame of events is sent every ~170: the log is written
                        // as the worker does then.
                        if i % 85 == 84 {
                            log.sync_some();
                        }
                    }
                    // The rest, as at the worker's end.
                    log.sync();
                    black_box((log, evs))
                },
                BatchSize::PerIteration,
            )
        },
    );
    g.bench_function("file log entries alone, synced every 170", |b| {
        b.iter(|| {
            let mut log = FileLog::create(dir.path(), 2).expect("makes its log");
            for i in 0..OPS {
                if i % 170 == 0 {
                    log.sync();
                }
                log.push(Entry::new(Op::Load, 0, black_box(i)));
            }
            black_box(log)
        })
    });
    g.bench_function("vec entries alone", |b| {
        b.iter(|| {
            let mut log = ThreadLog::default();
            for i in 0..OPS {
                log.push(Entry::new(Op::Load, 0, black_box(i)));
            }
            black_box(log)
        })
    });
    g.finish();
}

criterion_group!(benches, threads, processes);
criterion_main!(benches);
