//! Live process lessons: worker start-up, whole lessons at default knobs, and the
//! parent's memory per child process.

use criterion::{Criterion, criterion_group, criterion_main};
use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::live::{LiveMsg, LiveRun};
use std::sync::Arc;
use std::time::Duration;

fn program(
    lesson: &str,
    sets: &[&str],
) -> (
    Arc<interleave::program::Program>,
    interleave::program::EngineConfig,
) {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(lesson).expect("the lesson exists");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = knobs_from(l, &sets).expect("valid knobs");
    let p = interleave::scenarios::build(l, &knobs).expect("the lesson builds");
    (Arc::new(p), knobs.engine())
}

/// Resident memory of this process, in kB.
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn benches(c: &mut Criterion) {
    // SAFETY: set once, before any worker starts.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", env!("CARGO_BIN_EXE_interleave")) };

    let (fork, cfg) = program("fork", &[]);
    c.bench_function("worker start to first event", |b| {
        b.iter(|| {
            let run = LiveRun::start(fork.clone(), cfg, 1.0);
            loop {
                match run.receiver().recv_timeout(Duration::from_secs(10)) {
                    Ok(LiveMsg::Events(_)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
    });

    let mut g = c.benchmark_group("process lesson live, default knobs");
    g.sample_size(10);
    for lesson in [
        "fork",
        "process",
        "pool",
        "queue",
        "pipe",
        "subprocess",
        "value-race",
        "tickets",
    ] {
        let (p, cfg) = program(lesson, &[]);
        g.bench_function(lesson, |b| {
            b.iter(|| {
                let (_, finished) =
                    LiveRun::start(p.clone(), cfg, 1.0).wait(Duration::from_secs(30));
                assert!(finished);
            })
        });
    }
    g.finish();

    // The parent keeps no state per child beyond its events; measure what a run
    // with many children costs it over a run with one.
    let (one, cfg1) = program("value-race", &["processes=1"]);
    let (many, cfg32) = program("value-race", &["processes=32"]);
    let before = rss_kb();
    let _ = LiveRun::start(one, cfg1, 1.0).wait(Duration::from_secs(30));
    let with_one = rss_kb();
    let _ = LiveRun::start(many, cfg32, 1.0).wait(Duration::from_secs(30));
    let with_many = rss_kb();
    eprintln!(
        "parent memory: {before} kB before, {with_one} kB after 1 child, {with_many} kB after 32: \
         {:.1} kB per extra child (events included)",
        with_many.saturating_sub(with_one) as f64 / 31.0
    );
}

criterion_group!(processes, benches);
criterion_main!(processes);
