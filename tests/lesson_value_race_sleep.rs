//! value-race with `sleep=on`: the tutorial's `time.sleep(0.01)` before each
//! increment. Ten processes that sleep 10 ms between increments overlap for half a
//! second, and CPython loses some increments in nearly every run
//! (tools/measure/value_race_sleep.py and lesson_knobs.py, RESULTS.md section 18).

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::live::LiveRun;
use interleave::program::Instr;
use interleave::run::{Origin, Run, Runs, Start};
use interleave::sim::Schedule;
use interleave::trace::{EventKind, Trace};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_interleave");

fn knobs(sets: &[&str]) -> (interleave::lesson::Lesson, interleave::lesson::Knobs) {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog
        .find("value-race")
        .expect("the lesson exists")
        .clone();
    let mut all = vec!["sleep=on".to_string()];
    all.extend(sets.iter().map(|s| s.to_string()));
    let k = knobs_from(&l, &all).expect("the knobs are valid");
    (l, k)
}

fn stepped(sets: &[&str], seed: u64) -> Trace {
    let (l, k) = knobs(sets);
    Run::new(&l, k, Start::Stepped(Origin::Seed(seed)))
        .expect("the lesson builds")
        .finish_stepped()
        .expect("the run ends")
}

fn live(sets: &[&str]) -> Trace {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    let (l, k) = knobs(sets);
    let program = interleave::scenarios::build(&l, &k).expect("the lesson builds");
    // Speed 1: every sleep is the real 10 ms.
    let (t, finished) =
        LiveRun::start(Arc::new(program), k.engine(), 1.0).wait(Duration::from_secs(120));
    assert!(finished, "the live run finished");
    t
}

fn counter(t: &Trace) -> i64 {
    t.final_vars()
        .into_iter()
        .find(|(k, _)| k == "counter.value")
        .map(|(_, v)| v)
        .expect("the Value is a variable")
}

fn printed(t: &Trace) -> Vec<String> {
    t.output.iter().map(|o| o.text.clone()).collect()
}

/// Every `time.sleep(0.01)` in the trace lasts at least its 10 ms: the process's
/// next step comes 10 ms or more after the sleep began (virtual time stepped, the
/// monotonic clock live). Returns how many sleeps were seen.
fn sleeps_last_their_time(t: &Trace) -> usize {
    let mut seen = 0;
    for (i, e) in t.events.iter().enumerate() {
        let Some(Instr::Sleep(us)) = t.program.instr(e.actor, e.pc) else {
            continue;
        };
        if e.kind != EventKind::Exec {
            continue;
        }
        seen += 1;
        let next = t.events[i + 1..]
            .iter()
            .find(|n| n.actor == e.actor && n.kind == EventKind::Exec);
        if let Some(n) = next {
            assert!(
                n.t_ns - e.t_ns >= us as u64 * 1_000,
                "{} went on {} ns after a sleep of {us} µs",
                t.program.actors[e.actor as usize].name,
                n.t_ns - e.t_ns
            );
        }
    }
    seen
}

/// The band the stepped runs are held to, loosely around CPython's: the lesson's
/// own code with ten processes lost 0–86 of 500 per run (median 8–14) on 3.8, 3.11
/// and 3.13 at load ~8, and 4–36 on an idle machine; 405 was the lowest result
/// seen at load ~11, and a run at 500 was rare (3 of 60 at load ~8).
#[test]
fn stepped_with_the_sleep_most_seeds_lose_some_increments_as_cpython_does() {
    let mut lost = Vec::new();
    for seed in 1..=20 {
        let t = stepped(&[], seed);
        let n = counter(&t);
        assert!((400..=500).contains(&n), "seed {seed}: {n}");
        assert_eq!(printed(&t), vec![n.to_string()], "seed {seed}");
        assert_eq!(sleeps_last_their_time(&t), 500, "seed {seed}");
        lost.push(500 - n);
    }
    let below = lost.iter().filter(|&&l| l > 0).count();
    let mean = lost.iter().sum::<i64>() as f64 / lost.len() as f64;
    assert!(
        below >= 15,
        "only {below} of 20 seeds lost an increment: {lost:?}"
    );
    assert!(
        (3.0..=60.0).contains(&mean),
        "{mean} increments lost per run on average: {lost:?}"
    );
}

#[test]
fn stepped_with_the_sleep_and_the_lock_every_seed_ends_at_500() {
    for seed in 1..=5 {
        for sched in ["timed", "uniform"] {
            let t = stepped(&["lock=on", &format!("scheduler={sched}")], seed);
            assert_eq!(counter(&t), 500, "seed {seed}, {sched}");
            assert_eq!(printed(&t), vec!["500".to_string()]);
        }
    }
}

#[test]
fn the_uniform_scheduler_with_the_sleep_ends_at_or_below_500() {
    for seed in 1..=5 {
        let t = stepped(&["scheduler=uniform"], seed);
        let n = counter(&t);
        assert!((1..=500).contains(&n), "seed {seed}: {n}");
        assert_eq!(sleeps_last_their_time(&t), 500);
    }
}

#[test]
fn a_sleeping_process_may_be_stepped_while_another_is_ready() {
    // Two processes, one increment each. Process-1 sleeps; Process-2 is still
    // ready (it has not reached its sleep), yet Process-1 may be stepped: its
    // sleep ends first, as the OS may have it, and the clock jumps to its
    // wake-up. Its increment still starts 10 ms after its sleep began.
    let (l, k) = knobs(&["processes=2", "iterations=1"]);
    let s = Schedule::parse("0x5 1x3 2x2 1x7 2x8 0x5").expect("a schedule");
    let t = Run::new(&l, k, Start::Stepped(Origin::Schedule(Runs::from(&s))))
        .expect("the schedule replays")
        .finish_stepped()
        .expect("the run ends");
    assert_eq!(counter(&t), 2);
    assert_eq!(printed(&t), vec!["2".to_string()]);
    assert_eq!(sleeps_last_their_time(&t), 2);
}

#[test]
fn exploring_two_processes_with_one_sleep_each_finds_one_and_two() {
    let out = Command::new(BIN)
        .args([
            "explore",
            "value-race",
            "--set",
            "sleep=on",
            "--set",
            "processes=2",
            "--set",
            "iterations=1",
            "--exhaustive",
            "--time-limit",
            "5",
            "--format",
            "jsonl",
        ])
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut finals: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"kind\":\"outcome\""))
        .filter_map(|l| l.split("\"final\":").nth(1))
        .filter_map(|l| l.split('}').next())
        .collect();
    finals.sort_unstable();
    assert_eq!(
        finals,
        vec!["{\"counter.value\":1", "{\"counter.value\":2"],
        "{text}"
    );
    assert!(text.contains("\"complete\":true"), "{text}");
}

#[test]
fn live_the_sleeps_are_real_and_the_value_never_counts_more_than_happened() {
    let t = live(&["processes=4", "iterations=10"]);
    let n = counter(&t);
    assert!((1..=40).contains(&n), "{n}");
    assert_eq!(printed(&t), vec![n.to_string()]);
    assert_eq!(sleeps_last_their_time(&t), 40);
    let t = live(&["processes=4", "iterations=10", "lock=on"]);
    assert_eq!(counter(&t), 40);
    assert_eq!(printed(&t), vec!["40".to_string()]);
    assert_eq!(sleeps_last_their_time(&t), 40);
}
