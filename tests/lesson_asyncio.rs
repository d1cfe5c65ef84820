//! The `asyncio` lesson (issue 16): two tasks of one event loop add to a
//! counter across an `await`. Stepped over seeds (what CPython prints, line for
//! line), explored exhaustively (no await in the middle: never a lost update),
//! the event loop's switch points (only at an await), a blocking `time.sleep`
//! that freezes every task, and live on a real event loop on one OS thread.

#[path = "common/lesson.rs"]
mod common;
use common::{LIVE_LIMIT, Of, output, sets};

const L: Of = Of("asyncio");

use interleave::cli::knobs_from;
use interleave::explore::OutcomeKey;
use interleave::live::LiveRun;
use interleave::program::Instr;
use interleave::run::Origin;
use interleave::trace::{EventKind, Trace};
use std::sync::Arc;
use std::time::Duration;

/// The count `main` printed last (`counter = N`).
fn counter(t: &Trace) -> i64 {
    output(t)
        .last()
        .and_then(|l| l.strip_prefix("counter = "))
        .and_then(|n| n.parse().ok())
        .expect("main printed the counter")
}

/// What CPython 3.8–3.13 print for the lesson's code at 3 rounds, every
/// setting (tools/measure/asyncio_lesson.py, RESULTS.md §17.9): the same on
/// every run of every version.
fn cpython_prints(pause: &str, lock: bool) -> [&'static str; 3] {
    match (pause, lock) {
        ("sleep0" | "sleep", false) => {
            ["A done: counter = 3", "B done: counter = 3", "counter = 3"]
        }
        ("sleep0" | "sleep", true) => ["A done: counter = 5", "B done: counter = 6", "counter = 6"],
        _ => ["A done: counter = 3", "B done: counter = 6", "counter = 6"],
    }
}

const PAUSES: [&str; 4] = ["sleep0", "sleep", "blocking", "none"];

#[test]
fn timed_seeds_print_what_cpython_prints_at_every_setting() {
    for pause in PAUSES {
        for lock in [false, true] {
            let lk = format!("lock={}", if lock { "on" } else { "off" });
            let p = format!("pause={pause}");
            for seed in 1..=4 {
                for g in ["granularity=line", "granularity=bytecode"] {
                    let t = L.stepped(&[&p, &lk, g], Origin::Seed(seed));
                    assert_eq!(
                        output(&t),
                        cpython_prints(pause, lock),
                        "{p} {lk} {g} seed {seed}"
                    );
                    assert!(t.deadlock().is_empty());
                }
            }
        }
    }
}

#[test]
fn uniform_seeds_lose_updates_only_across_an_await_without_the_lock() {
    let mut lost = 0;
    for seed in 1..=20 {
        for (pause, lock, safe) in [
            ("sleep0", "off", false),
            ("sleep0", "on", true),
            ("none", "off", true),
            ("blocking", "off", true),
        ] {
            let s = [
                &format!("pause={pause}")[..],
                &format!("lock={lock}"),
                "rounds=4",
                "scheduler=uniform",
            ];
            let t = L.stepped(&s, Origin::Seed(seed));
            let c = counter(&t);
            assert!((4..=8).contains(&c), "{s:?} seed {seed}: {c}");
            if safe {
                assert_eq!(c, 8, "{s:?} seed {seed}: no update lost");
            } else if c < 8 {
                lost += 1;
            }
        }
    }
    assert!(
        lost > 0,
        "some uniform seed loses an update across the await"
    );
}

/// Exhaustive exploration: with no await between the read and the write, every
/// order the loop could take ends with the full count; across an await, some
/// lose updates (CPython's own order among them); the lock keeps every update.
#[test]
fn exploration_proves_no_await_no_race() {
    let full = |k: &OutcomeKey, n: i64| k.vars == vec![("counter".to_string(), n)];
    for rounds in [1, 2, 3] {
        let r = format!("rounds={rounds}");
        let none = L.outcomes(&["pause=none", &r], 20);
        assert!(!none.is_empty());
        for k in &none {
            assert!(full(k, 2 * rounds), "pause=none {r}: {k:?}");
            assert!(!k.deadlock);
        }
    }
    let locked = L.outcomes(&["pause=sleep0", "lock=on", "rounds=2"], 20);
    assert!(
        locked.iter().all(|k| full(k, 4) && !k.deadlock),
        "{locked:?}"
    );

    let raced = L.outcomes(&["pause=sleep0", "rounds=2"], 20);
    let counts: Vec<i64> = raced.iter().map(|k| k.vars[0].1).collect();
    assert!(counts.contains(&2), "CPython's order (2 of 4): {counts:?}");
    assert!(counts.iter().all(|c| (2..=4).contains(c)), "{counts:?}");
    // The loop may also run one task to its end first: no update lost then.
    assert!(counts.contains(&4), "{counts:?}");
}

/// Between two awaits the running task holds the loop: the other task's key is
/// refused, with the reason; after the await either task may go.
#[test]
fn the_loop_passes_only_at_an_await() {
    let small = ["rounds=1", "granularity=line"];
    // main to its gather, A's for line and its read.
    let sim = L.replay(&small, "0x3 1x2");
    let b = sim.program().actor_id("B").expect("B");
    let a = sim.program().actor_id("A").expect("A");
    assert_eq!(
        sim.check(b).map_err(|r| r.to_string()),
        Err(
            "B waits for the event loop: A runs and has not reached an await that gives the loop back"
                .to_string()
        )
    );
    // A's await gives the loop back: B may run, and so may A.
    let sim = L.replay(&small, "0x3 1x3");
    assert!(sim.check(b).is_ok() && sim.check(a).is_ok());
    // With no await, A holds the loop from its first step to its end.
    let mut sim = L.replay(&["rounds=2", "granularity=bytecode", "pause=none"], "0x5 1");
    for _ in 0..1000 {
        if sim.check(a).is_err() {
            break;
        }
        assert!(
            sim.check(b).is_err(),
            "B may not run while A holds the loop"
        );
        sim.step(a).expect("A goes on");
    }
    assert_eq!(sim.vars(), &[2], "A added both its rounds without a switch");
}

/// `time.sleep(0.1)` in a task holds the loop: no other task has an event
/// while it sleeps, and the six pauses add up; `await asyncio.sleep(0.1)`
/// lets the other task run, and the pauses overlap (virtual time, stepped).
#[test]
fn a_blocking_sleep_freezes_every_task() {
    let t = L.stepped(&["pause=blocking"], Origin::Seed(1));
    let p = &t.program;
    let blocks: Vec<_> = t
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Exec)
        .filter(|e| matches!(p.instr(e.actor, e.pc), Some(Instr::AioBlock(_))))
        .collect();
    assert_eq!(blocks.len(), 6);
    for b in &blocks {
        let end = b.t_ns + 100_000_000;
        let others = t
            .events
            .iter()
            .filter(|e| e.actor != b.actor && e.t_ns > b.t_ns && e.t_ns < end)
            .count();
        assert_eq!(others, 0, "another task ran during a blocking sleep");
    }
    let last = |t: &Trace| t.events.last().map_or(0, |e| e.t_ns);
    assert!(last(&t) >= 600_000_000, "six blocking pauses add up");
    let overlap = L.stepped(&["pause=sleep"], Origin::Seed(1));
    assert!(last(&overlap) >= 300_000_000);
    assert!(
        last(&overlap) < 600_000_000,
        "awaited pauses overlap: {}",
        last(&overlap)
    );
}

/// The names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
                .map(|s| s.trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Live, the tasks run on one real event loop: the output is CPython's at
/// every setting (its ready queue and timers go first in, first out), the
/// loop is one OS thread (no thread per task), and a blocking sleep lets no
/// other task take a step. The only test here that runs live.
#[test]
fn live_runs_on_one_event_loop_thread_print_what_cpython_prints() {
    for pause in PAUSES {
        for lock in [false, true] {
            let lk = format!("lock={}", if lock { "on" } else { "off" });
            let p = format!("pause={pause}");
            let t = L.live(&[&p, &lk]);
            assert_eq!(output(&t), cpython_prints(pause, lock), "{p} {lk}");
            assert!(t.deadlock().is_empty());
        }
    }
    // While a blocking sleep holds the loop: one thread for the loop, none per task.
    let l = L.lesson();
    let knobs = knobs_from(&l, &sets(&["pause=blocking"])).expect("valid knobs");
    let program = interleave::scenarios::build(&l, &knobs).expect("the lesson builds");
    let run = LiveRun::start(Arc::new(program), knobs.engine(), 1.0);
    std::thread::sleep(Duration::from_millis(150));
    let names = thread_names();
    let (trace, finished) = run.wait(LIVE_LIMIT);
    assert!(finished);
    assert_eq!(
        names.iter().filter(|n| *n == "event-loop").count(),
        1,
        "{names:?}"
    );
    for task in ["main", "A", "B"] {
        assert!(!names.iter().any(|n| n == task), "{task} has no thread");
    }
    // Each blocking sleep's step and its wake-up: nobody else in between, and
    // the real clock moved on by at least the 0.1 s slept.
    let p = &trace.program;
    for (i, e) in trace.events.iter().enumerate() {
        if e.kind != EventKind::Exec || !matches!(p.instr(e.actor, e.pc), Some(Instr::AioBlock(_)))
        {
            continue;
        }
        let wake = trace.events[i + 1..]
            .iter()
            .find(|w| w.actor == e.actor && w.kind == EventKind::Wake)
            .expect("the sleeper wakes");
        assert!(wake.t_ns - e.t_ns >= 100_000_000);
        let between = trace
            .events
            .iter()
            .filter(|o| o.actor != e.actor && o.t_ns > e.t_ns && o.t_ns < wake.t_ns)
            .count();
        assert_eq!(between, 0);
    }
}
