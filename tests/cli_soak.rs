//! Every lesson live, again and again, in one process: memory, open files and
//! threads come back to where they were, and no child process is left.
//!
//! `cargo test` runs 2 rounds after a warm-up one (a 2-core CI machine stays fast);
//! `INTERLEAVE_SOAK_ROUNDS=20 cargo test --release --test cli_soak` runs the full soak.

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::lesson::{KnobKind, Lesson};
use interleave::live::LiveRun;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_interleave");
/// Sleeps pass this much faster, so that a round takes about a second.
const SPEED: f64 = 50.0;
/// What the allocator may keep of freed memory between rounds.
const RSS_SLACK_KB: u64 = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Usage {
    rss_kb: u64,
    fds: usize,
    threads: usize,
}

fn usage() -> Usage {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Usage {
        rss_kb: field("VmRSS:"),
        fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()),
        threads: field("Threads:") as usize,
    }
}

fn children() -> Vec<String> {
    let me = std::process::id();
    let mut kids = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{me}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
            kids.extend(s.split_whitespace().map(str::to_string));
        }
    }
    kids
}

/// The lesson's knobs, with the long ones (100 000 iterations, 20 M units of
/// work) cut to 1000 or their minimum.
fn short_knobs(l: &Lesson) -> Vec<String> {
    l.knobs
        .iter()
        .filter_map(|k| match k.kind {
            KnobKind::Int {
                default, min, max, ..
            } if default > 1000 => Some(format!("{}={}", k.name, 1000.clamp(min, max))),
            _ => None,
        })
        .collect()
}

fn round(catalog: &Catalog) {
    for l in catalog.lessons() {
        let knobs = knobs_from(l, &short_knobs(l)).expect("valid knobs");
        let program = Arc::new(interleave::scenarios::build(l, &knobs).expect("builds"));
        let (trace, finished) =
            LiveRun::start(program, knobs.engine(), SPEED).wait(Duration::from_secs(60));
        // Deadlock ends a run too (the watchdog finds the cycle).
        assert!(finished, "{} did not finish live", l.id);
        assert!(!trace.events.is_empty(), "{} recorded nothing", l.id);
    }
}

/// Waits (boundedly) for threads that are ending to be gone.
fn settled(baseline: Usage) -> Usage {
    let start = Instant::now();
    loop {
        let u = usage();
        if (u.threads <= baseline.threads && u.fds <= baseline.fds)
            || start.elapsed() > Duration::from_secs(10)
        {
            return u;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn every_lesson_live_many_times_leaves_nothing_behind() {
    // SAFETY: set before any worker starts; this file has one test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    let rounds: usize = std::env::var("INTERLEAVE_SOAK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    // The first round starts what lives as long as the process (the thread that
    // spawns workers) and warms the allocator.
    round(&catalog);
    let baseline = settled(usage());
    for i in 0..rounds {
        round(&catalog);
        let u = settled(baseline);
        assert!(
            children().is_empty(),
            "round {i}: children left: {:?}",
            children()
        );
        assert_eq!(
            u.fds, baseline.fds,
            "round {i}: open files {u:?} vs {baseline:?}"
        );
        assert_eq!(
            u.threads, baseline.threads,
            "round {i}: threads {u:?} vs {baseline:?}"
        );
        assert!(
            u.rss_kb <= baseline.rss_kb + RSS_SLACK_KB,
            "round {i}: memory grew: {u:?} vs {baseline:?}"
        );
    }
    eprintln!(
        "soak: {rounds} rounds of {} lessons live; baseline {baseline:?}, after {:?}",
        catalog.lessons().len(),
        usage()
    );
}
