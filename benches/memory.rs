//! A long stepped run in the playground: its peak memory, what a step back
//! costs anywhere in it, and what recording costs per event next to the bare
//! simulator. Before it, a long live run: what recording and taking in its
//! events cost, and its peak memory (measured first, so that the peak is its own).
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
    if std::env::var_os("INTERLEAVE_BENCH_STEPPED_ONLY").is_none() {
        live(iterations);
    }
    if std::env::var_os("INTERLEAVE_BENCH_LIVE_ONLY").is_some() {
        return;
    }

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

    frame_after_a_step(&r);
    let (backs, jumps) = step_backs(&mut r, steps);
    let n = backs.len();
    println!(
        "step back ({n} tries: random moments, and just past and just before checkpoints): \
         median {:.1} ms wall / {:.1} ms CPU, worst {:.1} ms wall / {:.1} ms CPU (target ≤ 50 ms)",
        ms(backs[n / 2].0),
        ms(median_of(backs.iter().map(|b| b.1).collect())),
        ms(backs[n - 1].0),
        ms(backs.iter().map(|b| b.1).max().unwrap_or_default()),
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

/// CPU time of the calling thread so far.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we pass it.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn median_of(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Steps back from the end, from random moments, and from the moments a step
/// back costs most: just past a checkpoint (it replays from the one before, so
/// that rows stay behind the new moment) and just before one (a whole
/// interval). The checkpoint interval is `run.rs`'s `CHECKPOINT_STEPS`.
/// Gives (wall, this thread's CPU) per step back, sorted by wall, and the times
/// of going forward again.
fn step_backs(r: &mut Run, steps: usize) -> (Vec<(Duration, Duration)>, Vec<Duration>) {
    const INTERVAL: usize = 1 << 15;
    let mut backs = Vec::new();
    let timed_back = |r: &mut Run| {
        let (t0, c0) = (Instant::now(), thread_cpu());
        r.command(Command::StepBack);
        (t0.elapsed(), thread_cpu() - c0)
    };
    for _ in 0..5 {
        backs.push(timed_back(r));
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let mut targets: Vec<usize> = (0..30).map(|_| rng.random_range(1..steps)).collect();
    for _ in 0..10 {
        let k = rng.random_range(1..steps / INTERVAL);
        targets.extend([k * INTERVAL + 2, k * INTERVAL + 4000, (k + 1) * INTERVAL]);
    }
    // Latest first: each target is reached by going back (a replay from a
    // checkpoint), not by stepping on through the run.
    targets.sort_unstable_by(|a, b| b.cmp(a));
    let mut jumps = Vec::new();
    for target in targets.into_iter().filter(|&t| t <= steps) {
        r.go_to_step(target);
        // A step back from this moment: what `b` costs there.
        backs.push(timed_back(r));
        let t0 = Instant::now();
        r.go_to_step(target);
        jumps.push(t0.elapsed());
    }
    backs.sort();
    jumps.sort();
    (backs, jumps)
}

/// What the screen derives after one more step late in the long run, with
/// the event window full (millions kept): the state panel's values (the run's
/// model, `Model::follow`, which goes on from the step before) and the
/// timeline's summary (`summarise`, 200 columns, the whole window), each of
/// which walks the events kept. Measured at the end of the run: the trace
/// without its last event stands for the step before.
fn frame_after_a_step(r: &Run) {
    use interleave::run::Model;
    use interleave::ui::{Axis, summarise};
    let full = r.trace();
    let mut before = full.clone();
    before.events.pop();
    let mut model = Model::default();
    model.follow(1, &before, before.total_len());
    drop(before);
    let t0 = Instant::now();
    model.follow(1, full, full.total_len());
    let state = t0.elapsed();
    let t0 = Instant::now();
    let s = summarise(full, 200, 0, 0, Axis::Steps);
    let timeline = t0.elapsed();
    std::hint::black_box(s);
    println!(
        "the screen after one step at the end ({} events kept): state panel {:.1} ms, timeline summary {:.1} ms",
        full.events.len(),
        ms(state),
        ms(timeline)
    );
}

/// CPU time of this process so far (every thread), in ns.
fn cpu_ns() -> u64 {
    // SAFETY: getrusage only writes the struct we pass it; zeroed is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// The live half (issue 13): a thread's record of one event; taking a run's
/// events in with the window (now) and keeping them all (before); a whole live
/// run at `iterations` taken in as the playground does, and its peak memory.
fn live(iterations: u64) {
    use interleave::live::{Collector, EventBuffer, LiveMsg, LiveRun};
    use interleave::trace::EventKind;
    use std::hint::black_box;

    let n = 20_000_000u64;
    let mut buf = EventBuffer::new(Instant::now(), 1);
    let t0 = Instant::now();
    for i in 0..n {
        if buf.rec(EventKind::Exec, black_box(3), black_box(i as i64)) {
            black_box(buf.take());
        }
    }
    println!(
        "live: a thread records one event in {:.1} ns",
        t0.elapsed().as_nanos() as f64 / n as f64
    );

    let lesson = Catalog::embedded()
        .expect("lessons")
        .find("balance-race")
        .expect("balance-race")
        .clone();
    let program = |its: u64| {
        let knobs = knobs_from(&lesson, &[format!("iterations={its}")]).expect("knobs");
        let p = interleave::scenarios::build(&lesson, &knobs).expect("builds");
        (Arc::new(p), knobs)
    };
    // The whole run, taken in as `Run::poll` does.
    let (p, knobs) = program(iterations);
    let (wall0, cpu0) = (Instant::now(), cpu_ns());
    let run = LiveRun::start(p.clone(), knobs.engine(), 1.0);
    let mut c = Collector::new(p);
    let mut finished = false;
    while !finished {
        match run.receiver().recv_timeout(Duration::from_secs(3600)) {
            Ok(m) => finished = c.take(m),
            Err(_) => break,
        }
        finished |= c.drain(run.receiver()).1;
    }
    drop(run);
    let t = c.finish();
    let (wall, cpu) = (wall0.elapsed(), cpu_ns() - cpu0);
    let total = t.total_len();
    println!(
        "live run, {iterations} iterations: {total} events ({} kept) in {:.1} s wall, {:.1} s CPU: {:.1} ns/event wall, {:.1} ns/event CPU; balance = {}",
        t.events.len(),
        wall.as_secs_f64(),
        cpu as f64 / 1e9,
        wall.as_nanos() as f64 / total as f64,
        cpu as f64 / total as f64,
        t.final_vars()[0].1
    );
    println!(
        "live peak RSS: {:.1} MB (target ≤ 300 MB)",
        peak_kb() as f64 / 1024.0
    );
    // One live run's messages, taken in again and again by the two collectors
    // (after the peak above: keeping every event is what took memory before).
    let (p, knobs) = program(200_000);
    let run = LiveRun::start(p.clone(), knobs.engine(), 1.0);
    let mut msgs: Vec<LiveMsg> = Vec::new();
    while let Ok(m) = run.receiver().recv_timeout(Duration::from_secs(600)) {
        let end = matches!(m, LiveMsg::Finished);
        msgs.push(m);
        if end {
            break;
        }
    }
    drop(run);
    let events: usize = msgs
        .iter()
        .map(|m| match m {
            LiveMsg::Events(e) => e.len(),
            _ => 0,
        })
        .sum();
    for (name, window) in [
        ("every event kept (before)", usize::MAX),
        ("window (now)", 0),
    ] {
        let mut best = f64::MAX;
        for _ in 0..3 {
            let mut c = match window {
                0 => Collector::new(p.clone()),
                w => Collector::with_window(p.clone(), w, w),
            };
            let copy = msgs.clone();
            let t0 = Instant::now();
            for (i, m) in copy.into_iter().enumerate() {
                c.take(m);
                // The playground sorts what arrived on every tick, about every 64 batches.
                if i % 64 == 0 {
                    c.sort();
                }
            }
            let t = c.finish();
            best = best.min(t0.elapsed().as_nanos() as f64 / events as f64);
            black_box(t.final_vars());
        }
        println!("live: taking in {events} events, {name}: {best:.1} ns/event (best of 3)");
    }
    drop(msgs);
}
