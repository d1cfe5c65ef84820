//! The `event` lesson (issue 16): workers wait on a `threading.Event` as a
//! start signal and loop until a second Event, the stop flag, is set; with a
//! timeout, `wait()` returns False before the signal. Stepped over seeds,
//! explored exhaustively, and live on real threads: what a student sees.

#[path = "common/lesson.rs"]
mod common;
use common::{Of, output};

const L: Of = Of("event");

use interleave::run::Origin;
use interleave::trace::{ActorState, BlockedOn, StateReplay};

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
            let t = L.stepped(extra, Origin::Seed(seed));
            let workers = if extra.contains(&"workers=4") { 4 } else { 2 };
            assert_signalled(&output(&t), workers, &what);
            assert!(t.deadlock().is_empty(), "{what}");
            assert_eq!(
                t.final_vars(),
                vec![("start".to_string(), 1), ("stop".to_string(), 1)]
            );
        }
        let t = L.stepped(&["timeout=0.05"], Origin::Seed(seed));
        assert_gave_up(&output(&t), 2, &format!("seed {seed} timeout=0.05"));
    }
}

/// The tour's moves: both workers wait in start.wait() (the state panel and
/// the refusal say so) until main's set() wakes both at once.
#[test]
fn the_tours_moves_show_the_waiters_and_one_set_waking_both() {
    let sim = L.replay(&[], "0x2 1x2 2x2");
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
    let sim = L.replay(&[], "0x2 1x2 2x2 0x4 1x2 2x2");
    assert_eq!(sim.vars(), &[1, 0], "start is set, stop is not");
    let out = output(sim.trace());
    assert_eq!(
        &out[1..],
        ["main: start!", "worker-1 started", "worker-2 started"]
    );
    // With a 50 ms timeout the waits end first: wait() returns False.
    let sim = L.replay(&["timeout=0.05"], "0x2 1x2 2x2 0x2 1x3");
    assert_eq!(sim.vars(), &[0, 0]);
    assert_eq!(
        output(sim.trace()).last().map(String::as_str),
        Some("worker-1: no start signal, giving up")
    );
}

/// Every interleaving: with the signal in time every worker starts after
/// `main: start!` and none gives up. (One test per exploration, so that they run
/// side by side.)
#[test]
fn exploration_finds_only_signalled_starts() {
    let ok = L.outcomes(&["workers=2"], 300);
    assert!(ok.len() > 1, "the workers' lines interleave: {ok:?}");
    for k in &ok {
        assert!(!k.deadlock);
        assert_signalled(&k.output, 2, "explored");
    }
    for k in L.outcomes(&["workers=1", "timeout=0.5"], 300) {
        assert_signalled(&k.output, 1, "explored, timeout 0.5");
    }
}

/// With a 50 ms timeout every worker gives up, whatever the order.
#[test]
fn exploration_finds_only_give_ups_when_the_signal_is_late() {
    let late = L.outcomes(&["workers=2", "timeout=0.05"], 300);
    assert!(!late.is_empty());
    for k in &late {
        assert_gave_up(&k.output, 2, "explored, timeout 0.05");
    }
}

#[test]
fn live_threads_wait_for_the_signal_and_stop_at_the_flag() {
    for extra in [&[][..], &["gil=free", "workers=4"], &["timeout=0.5"]] {
        for _ in 0..2 {
            let t = L.live(extra);
            let workers = if extra.contains(&"workers=4") { 4 } else { 2 };
            assert_signalled(&output(&t), workers, &format!("live {extra:?}"));
            assert!(t.deadlock().is_empty());
        }
    }
    // A 50 ms wait against a signal at 100 ms: each worker either gives up
    // before the signal (real time ran out first: the usual run) or, on a
    // machine too busy to start it in time, finds the flag already set.
    for _ in 0..2 {
        let out = output(&L.live(&["timeout=0.05"]));
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
