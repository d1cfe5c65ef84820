//! The `event` lesson (issue 16): workers wait on a `threading.Event` as a
//! start signal and loop until a second Event, the stop flag, is set; with a
//! timeout, `wait()` returns False before the signal. Stepped over seeds,
//! explored exhaustively, and live on real threads: what a student sees.

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::explore::{self, Control, Limits, OutcomeKey, Stop};
use interleave::lesson::Lesson;
use interleave::live::LiveRun;
use interleave::run::{Origin, Run, Start};
use interleave::sim::Sim;
use interleave::trace::{ActorState, BlockedOn, StateReplay, Trace};
use std::sync::Arc;
use std::time::Duration;

const LIVE_LIMIT: Duration = Duration::from_secs(60);

fn lesson() -> Lesson {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    catalog.find("event").expect("the lesson exists").clone()
}

fn sets(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

fn stepped(s: &[&str], origin: Origin) -> Trace {
    let l = lesson();
    let knobs = knobs_from(&l, &sets(s)).expect("valid knobs");
    Run::new(&l, knobs, Start::Stepped(origin))
        .expect("the lesson builds")
        .finish_stepped()
        .expect("a stepped run runs to its end")
}

fn output(t: &Trace) -> Vec<String> {
    t.output.iter().map(|o| o.text.clone()).collect()
}

fn position(out: &[String], line: &str) -> usize {
    out.iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("no line {line:?} in {out:?}"))
}

/// What a run with the signal in time shows: main's lines in order, every
/// worker started after `main: start!` and stopped after `main: stop!`.
fn assert_signalled(out: &[String], workers: usize, what: &str) {
    let start = position(out, "main: start!");
    let stop = position(out, "main: stop!");
    assert!(position(out, "main: getting ready") < start, "{what}");
    assert_eq!(out.last().map(String::as_str), Some("main: all stopped"));
    for n in 1..=workers {
        let started = position(out, &format!("worker-{n} started"));
        let stopped = position(out, &format!("worker-{n} stopped"));
        assert!(start < started && started < stopped, "{what}: {out:?}");
        assert!(stop < stopped, "{what}: a worker stops after the flag");
    }
    assert_eq!(out.len(), 4 + 2 * workers, "{what}: {out:?}");
}

/// What a run whose waits time out shows: every worker gave up before the
/// signal, and none started.
fn assert_gave_up(out: &[String], workers: usize, what: &str) {
    let start = position(out, "main: start!");
    for n in 1..=workers {
        let gave_up = position(out, &format!("worker-{n}: no start signal, giving up"));
        assert!(gave_up < start, "{what}: {out:?}");
    }
    assert!(!out.iter().any(|l| l.ends_with(" started")), "{what}");
    assert_eq!(out.last().map(String::as_str), Some("main: all stopped"));
}

#[test]
fn stepped_runs_start_every_worker_after_the_signal() {
    for seed in 1..=5 {
        for extra in [
            &[][..],
            &["scheduler=uniform", "gil=free", "granularity=bytecode"],
            &["timeout=0.5", "gil=gil-classic"],
            &["workers=4"],
        ] {
            let what = format!("seed {seed} {extra:?}");
            let t = stepped(extra, Origin::Seed(seed));
            let workers = if extra.contains(&"workers=4") { 4 } else { 2 };
            assert_signalled(&output(&t), workers, &what);
            assert!(t.deadlock().is_empty(), "{what}");
            assert_eq!(
                t.final_vars(),
                vec![("start".to_string(), 1), ("stop".to_string(), 1)]
            );
        }
        let t = stepped(&["timeout=0.05"], Origin::Seed(seed));
        assert_gave_up(&output(&t), 2, &format!("seed {seed} timeout=0.05"));
    }
}

/// Expands a schedule string (`0x7 1x4`) into the actor of every step.
fn steps(schedule: &str) -> Vec<u16> {
    schedule
        .split_whitespace()
        .flat_map(|run| {
            let (a, n) = run.split_once('x').unwrap_or((run, "1"));
            let (a, n): (u16, usize) = (a.parse().expect("an actor"), n.parse().expect("a count"));
            std::iter::repeat_n(a, n)
        })
        .collect()
}

fn replay(s: &[&str], schedule: &str) -> Sim {
    let l = lesson();
    let knobs = knobs_from(&l, &sets(s)).expect("valid knobs");
    let p = Arc::new(interleave::scenarios::build(&l, &knobs).expect("it builds"));
    Sim::replay(p, knobs.engine(), &steps(schedule)).expect("every step may be taken")
}

/// The tour's moves: both workers wait in start.wait() (the state panel and
/// the refusal say so) until main's set() wakes both at once.
#[test]
fn the_tours_moves_show_the_waiters_and_one_set_waking_both() {
    let sim = replay(&[], "0x2 1x2 2x2");
    let t = sim.trace();
    let state = StateReplay::at(&t.program, &t.events, t.events.len());
    for name in ["worker-1", "worker-2"] {
        let a = t.program.actor_id(name).expect("a worker");
        assert_eq!(state.state(a), ActorState::Blocked(BlockedOn::Event(0)));
        assert_eq!(
            sim.check(a).map_err(|r| r.to_string()),
            Err(format!(
                "{name} waits in start.wait(): it goes on only after another thread calls set()"
            ))
        );
    }
    let sim = replay(&[], "0x2 1x2 2x2 0x4 1x2 2x2");
    assert_eq!(sim.vars(), &[1, 0], "start is set, stop is not");
    let out = output(sim.trace());
    assert_eq!(
        &out[1..],
        ["main: start!", "worker-1 started", "worker-2 started"]
    );
    // With a 50 ms timeout the waits end first: wait() returns False.
    let sim = replay(&["timeout=0.05"], "0x2 1x2 2x2 0x2 1x3");
    assert_eq!(sim.vars(), &[0, 0]);
    assert_eq!(
        output(sim.trace()).last().map(String::as_str),
        Some("worker-1: no start signal, giving up")
    );
}

fn outcomes(s: &[&str]) -> Vec<OutcomeKey> {
    let l = lesson();
    let knobs = knobs_from(&l, &sets(s)).expect("valid knobs");
    let p = Arc::new(interleave::scenarios::build(&l, &knobs).expect("it builds"));
    let limits = Limits {
        max_time: Duration::from_secs(300),
        ..Limits::default()
    };
    let ex = explore::exhaustive(&p, knobs.engine(), &limits, &Control::default());
    assert_eq!(
        ex.stop,
        Stop::Complete,
        "{s:?}: the outcome set is complete"
    );
    ex.outcomes.into_iter().map(|f| f.key).collect()
}

/// Every interleaving: with the signal in time every worker starts after
/// `main: start!` and none gives up; with a 50 ms timeout every worker gives
/// up, whatever the order.
#[test]
fn exploration_finds_only_signalled_starts_or_only_give_ups() {
    let ok = outcomes(&["workers=2"]);
    assert!(ok.len() > 1, "the workers' lines interleave: {ok:?}");
    for k in &ok {
        assert!(!k.deadlock);
        assert_signalled(&k.output, 2, "explored");
    }
    for k in outcomes(&["workers=1", "timeout=0.5"]) {
        assert_signalled(&k.output, 1, "explored, timeout 0.5");
    }
    let late = outcomes(&["workers=2", "timeout=0.05"]);
    assert!(!late.is_empty());
    for k in &late {
        assert_gave_up(&k.output, 2, "explored, timeout 0.05");
    }
}

fn live(s: &[&str]) -> Trace {
    let l = lesson();
    let knobs = knobs_from(&l, &sets(s)).expect("valid knobs");
    let program = interleave::scenarios::build(&l, &knobs).expect("the lesson builds");
    let (trace, finished) = LiveRun::start(Arc::new(program), knobs.engine(), 1.0).wait(LIVE_LIMIT);
    assert!(finished, "the live run {s:?} did not end");
    trace
}

#[test]
fn live_threads_wait_for_the_signal_and_stop_at_the_flag() {
    for extra in [&[][..], &["gil=free", "workers=4"], &["timeout=0.5"]] {
        for _ in 0..2 {
            let t = live(extra);
            let workers = if extra.contains(&"workers=4") { 4 } else { 2 };
            assert_signalled(&output(&t), workers, &format!("live {extra:?}"));
            assert!(t.deadlock().is_empty());
        }
    }
    // A 50 ms wait against a signal at 100 ms: each worker either gives up
    // before the signal (real time ran out first: the usual run) or, on a
    // machine too busy to start it in time, finds the flag already set.
    for _ in 0..2 {
        let out = output(&live(&["timeout=0.05"]));
        let start = position(&out, "main: start!");
        for n in 1..=2 {
            let gave_up = out
                .iter()
                .position(|l| *l == format!("worker-{n}: no start signal, giving up"));
            let started = out.iter().position(|l| *l == format!("worker-{n} started"));
            match (gave_up, started) {
                (Some(g), None) => assert!(g < start, "{out:?}"),
                (None, Some(s)) => assert!(s > start, "{out:?}"),
                _ => panic!("worker-{n} must give up or start, once: {out:?}"),
            }
        }
    }
}
