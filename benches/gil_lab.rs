//! The GIL lab's speed-ups at its default knobs, measured live: the median of the
//! speed-ups that several runs of each way to run the workers print, as the lesson's
//! own program prints them.

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::live::LiveRun;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Live runs per mode; `GIL_LAB_RUNS=15 cargo bench --bench gil_lab` for more on a
/// noisy machine.
fn runs() -> usize {
    std::env::var("GIL_LAB_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(7)
}

/// The numbers the lab's program prints: (one after another, wall, CPU) in ms.
fn parse(lines: &[String]) -> Option<(f64, f64, f64)> {
    let after = |prefix: &str| lines.iter().find_map(|l| l.strip_prefix(prefix));
    let ms = |s: &str| {
        s.trim()
            .trim_end_matches("CPU")
            .trim_end_matches("wall")
            .trim()
            .trim_end_matches("ms")
            .trim()
            .parse::<f64>()
            .ok()
    };
    let seq = ms(after("one after another:")?)?;
    let (wall, cpu) = after("at the same time:")?.split_once(',')?;
    Some((seq, ms(wall)?, ms(cpu)?))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    // Worker processes are the playground's binary, not this benchmark's.
    // SAFETY: set before any thread or worker starts.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", env!("CARGO_BIN_EXE_interleave")) };
    // `cargo bench` passes flags such as `--bench`; a filter word picks modes.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let catalog = match Catalog::embedded() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gil_lab bench: {e}");
            std::process::exit(2);
        }
    };
    let Some(lesson) = catalog.get("gil") else {
        eprintln!("gil_lab bench: the gil lesson is missing");
        std::process::exit(2);
    };
    let modes: [(&str, &[&str]); 4] = [
        ("threads, gil-modern", &["run-as=threads", "gil=gil-modern"]),
        (
            "threads, gil-classic",
            &["run-as=threads", "gil=gil-classic"],
        ),
        ("threads, free (no GIL)", &["run-as=threads", "gil=free"]),
        ("processes", &["run-as=processes", "probe=off"]),
    ];
    machine_ceiling();
    convoy(lesson);
    if let Some(d) = catalog.get("deadlock") {
        deadlock_detection(d);
    }
    println!(
        "GIL lab, default knobs (2 workers, n = 20000000, 5 ms switch interval), {} live runs each, {} CPUs",
        runs(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    for (label, sets) in modes {
        if !filter.is_empty() && !filter.iter().any(|f| label.contains(f.as_str())) {
            continue;
        }
        let mut sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        sets.push("probe=off".into());
        let knobs = match knobs_from(lesson, &sets) {
            Ok(k) => k,
            Err(e) => {
                eprintln!("gil_lab bench: {e}");
                std::process::exit(2);
            }
        };
        let program = match interleave::scenarios::build(lesson, &knobs) {
            Ok(p) => Arc::new(p),
            Err(e) => {
                eprintln!("gil_lab bench: {e}");
                std::process::exit(2);
            }
        };
        // Other programs on the machine slow some runs down a lot; the least
        // disturbed run of each half is the best estimate of its own time, as in
        // the CPython measurement (best of 3). Medians are printed beside them.
        let mut done: Vec<(f64, f64, f64)> = Vec::new();
        for _ in 0..runs() {
            let (trace, finished) =
                LiveRun::start(program.clone(), knobs.engine(), 1.0).wait(Duration::from_secs(120));
            let lines: Vec<String> = trace.output.iter().map(|o| o.text.clone()).collect();
            match parse(&lines).filter(|_| finished) {
                Some(r) => done.push(r),
                None => eprintln!("gil_lab bench: a run did not finish: {lines:?}"),
            }
        }
        if done.is_empty() {
            continue;
        }
        // Each run times both halves a second apart, so its own ratio is what a
        // student sees on the screen; the median of those is the headline. The
        // least disturbed run of each half (best of N, as in the CPython
        // measurement) is printed beside it.
        let ratios: Vec<f64> = done.iter().map(|r| r.0 / r.1).collect();
        let min = |f: fn(&(f64, f64, f64)) -> f64| done.iter().map(f).fold(f64::MAX, f64::min);
        let (seq, wall) = (min(|r| r.0), min(|r| r.1));
        let lo = ratios.iter().copied().fold(f64::MAX, f64::min);
        let hi = ratios.iter().copied().fold(f64::MIN, f64::max);
        println!(
            "{label:<24} speed-up {:.2}x median of {} runs (range {lo:.2}x-{hi:.2}x); \
             best one after another {seq:.1} ms / best at the same time {wall:.1} ms = {:.2}x; \
             median CPU at the same time {:.1} ms",
            median(ratios.clone()),
            ratios.len(),
            seq / wall,
            median(done.iter().map(|r| r.2).collect()),
        );
    }
}

/// The I/O thread's wake-up lateness next to CPU-bound threads and next to worker
/// processes (the convoy effect), median over every probe of a few runs.
fn convoy(lesson: &interleave::lesson::Lesson) {
    for (label, run_as) in [
        ("next to 1 CPU-bound thread", "run-as=threads"),
        ("next to 1 CPU-bound process", "run-as=processes"),
    ] {
        let sets = vec![
            run_as.to_string(),
            "workers=1".to_string(),
            "n=20000000".to_string(),
        ];
        let Ok(knobs) = knobs_from(lesson, &sets) else {
            continue;
        };
        let Ok(program) = interleave::scenarios::build(lesson, &knobs) else {
            continue;
        };
        let program = Arc::new(program);
        let mut late: Vec<f64> = Vec::new();
        for _ in 0..3 {
            let (trace, _) =
                LiveRun::start(program.clone(), knobs.engine(), 1.0).wait(Duration::from_secs(60));
            late.extend(trace.output.iter().filter_map(|o| {
                o.text
                    .strip_prefix("I/O thread woke up ")?
                    .strip_suffix(" ms late")?
                    .parse::<f64>()
                    .ok()
            }));
        }
        let n = late.len();
        println!(
            "I/O thread sleeping 1 ms {label:<28} woke up late by a median {:.1} ms ({n} wake-ups)",
            median(late)
        );
    }
}

/// How long after the last thread blocked the live watchdog reports the deadlock.
fn deadlock_detection(lesson: &interleave::lesson::Lesson) {
    let Ok(program) = interleave::scenarios::build(lesson, &lesson.default_knobs()) else {
        return;
    };
    let program = Arc::new(program);
    let mut after: Vec<f64> = Vec::new();
    for _ in 0..10 {
        let (trace, _) = LiveRun::start(program.clone(), lesson.default_knobs().engine(), 1.0)
            .wait(Duration::from_secs(10));
        let found = trace.deadlock().first().map(|e| e.t_ns);
        let blocked = trace
            .events
            .iter()
            .filter(|e| e.kind == interleave::trace::EventKind::Block)
            .map(|e| e.t_ns)
            .max();
        if let (Some(f), Some(b)) = (found, blocked) {
            after.push(f.saturating_sub(b) as f64 / 1e6);
        }
    }
    let worst = after.iter().copied().fold(0.0, f64::max);
    println!(
        "deadlock lesson, live: the watchdog reported the cycle a median {:.0} ms (worst {worst:.0} ms) after the last thread blocked ({} of 10 runs)",
        median(after.clone()),
        after.len()
    );
}

/// What the machine itself gives: the same countdown as the lab's workers, bare
/// (no engine, no trace), twice one after another and then on two threads. On a
/// shared virtual machine this is the ceiling for every speed-up above.
fn machine_ceiling() {
    let units = 20_000_000;
    let ratios: Vec<f64> = (0..runs())
        .map(|_| {
            let t = Instant::now();
            interleave::live::spin(units);
            interleave::live::spin(units);
            let seq = t.elapsed().as_secs_f64();
            let t = Instant::now();
            std::thread::scope(|s| {
                s.spawn(|| interleave::live::spin(units));
                s.spawn(|| interleave::live::spin(units));
            });
            seq / t.elapsed().as_secs_f64()
        })
        .collect();
    let lo = ratios.iter().copied().fold(f64::MAX, f64::min);
    let hi = ratios.iter().copied().fold(f64::MIN, f64::max);
    println!(
        "the machine itself: two bare countdowns on two threads, speed-up {:.2}x median of {} (range {lo:.2}x-{hi:.2}x)",
        median(ratios.clone()),
        ratios.len()
    );
}
