//! The `semaphore` lesson (issue 16): workers share two connections under a
//! `threading.Semaphore(2)` (or a BoundedSemaphore, or a
//! `multiprocessing.Semaphore` between processes), stepped over seeds,
//! explored exhaustively at small knobs, and live on real threads and real
//! processes: what a student sees, and the invariant every run keeps (never
//! more than two in use) unless the program releases once too often.

#[path = "common/lesson.rs"]
mod common;
use common::{Of, count, output};

const L: Of = Of("semaphore");

use interleave::explore::OutcomeKey;
use interleave::run::Origin;
use interleave::sim::Schedule;
use interleave::trace::{ActorState, BlockedOn, StateReplay, Trace};

const BIN: &str = env!("CARGO_BIN_EXE_interleave");
const THREADING_OVER: &str = "ValueError: Semaphore released too many times";
const MULTIPROCESSING_OVER: &str = "ValueError: semaphore or lock released too many times";

/// The counts of connections in use the workers printed, in order.
fn in_use(out: &[String]) -> Vec<i64> {
    out.iter()
        .filter_map(|l| l.split(", ").nth(1)?.strip_suffix(" in use")?.parse().ok())
        .collect()
}

fn var(t: &Trace, name: &str) -> i64 {
    t.final_vars()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no variable {name}"))
}

/// What every correct run shows: a line per worker, never more than two in
/// use, `at most 2` (or 1 with one worker) at the end, the counter back at 2.
fn assert_correct(t: &Trace, workers: usize, what: &str) {
    let out = output(t);
    assert_eq!(count(&out, "has a connection"), workers, "{what}: {out:?}");
    let counts = in_use(&out);
    assert!(
        counts.iter().all(|&n| (1..=2).contains(&n)),
        "{what}: {out:?}"
    );
    let most = counts.iter().max().copied().unwrap_or(0);
    assert_eq!(
        out.last().map(String::as_str),
        Some(format!("at most {most} in use at once").as_str()),
        "{what}"
    );
    assert_eq!(count(&out, "Error"), 0, "{what}: {out:?}");
    assert!(t.deadlock().is_empty(), "{what}");
}

#[test]
fn stepped_runs_never_have_more_than_two_in_use() {
    for seed in 1..=5 {
        for extra in [
            &[][..],
            &["scheduler=uniform", "gil=free", "granularity=bytecode"],
            &["across=processes"],
            &["kind=BoundedSemaphore", "gil=gil-classic"],
        ] {
            let what = format!("seed {seed} {extra:?}");
            let t = L.stepped(extra, Origin::Seed(seed));
            assert_correct(&t, 5, &what);
            assert_eq!(var(&t, "sem"), 2, "{what}: the counter is back at 2");
        }
    }
    // One worker, then more workers than the default.
    assert_correct(&L.stepped(&["workers=1"], Origin::Seed(1)), 1, "one worker");
    assert_correct(&L.stepped(&["workers=8"], Origin::Seed(2)), 8, "eight");
}

/// The tour's moves: two in, the other two wait in acquire() and the state
/// panel says so; one release too many lets three in with a plain Semaphore.
#[test]
fn the_tours_moves_show_the_waiters_and_the_third_worker() {
    let four = ["workers=4", "granularity=line", "gil=gil-modern"];
    let sim = L.replay(&four, "0x3 1x8 2x8 3x2 4x2");
    let t = sim.trace();
    assert_eq!(sim.vars(), &[0, 2, 2], "sem, inside, most");
    let state = StateReplay::at(&t.program, &t.events, t.events.len());
    for name in ["worker-3", "worker-4"] {
        let a = t.program.actor_id(name).expect("a worker");
        assert_eq!(
            state.state(a),
            ActorState::Blocked(BlockedOn::Semaphore(0)),
            "{name} waits in sem.acquire()"
        );
        assert_eq!(
            sim.check(a).map_err(|r| r.to_string()),
            Err(format!(
                "{name} waits in sem.acquire(): the counter is 0; it goes on after another worker releases"
            ))
        );
    }
    // The bug, by hand: worker-1 leaves and releases once more.
    let moves = "0x3 1x8 2x8 3x2 4x2 1 2 1x6 3x7 4x7";
    let sim = L.replay(&[&four[..], &["release=twice"]].concat(), moves);
    let out = output(sim.trace());
    assert_eq!(in_use(&out).iter().max(), Some(&3), "{out:?}");
    assert_eq!(sim.vars()[1], 3, "three inside at once");
    // The same with a BoundedSemaphore: the extra release is allowed (the
    // counter was 1), three get in, and a later release raises.
    let sim = L.replay(
        &[&four[..], &["release=twice", "kind=BoundedSemaphore"]].concat(),
        moves,
    );
    assert_eq!(sim.vars()[1], 3);
    assert_eq!(
        count(&output(sim.trace()), "Error"),
        0,
        "nothing raised yet"
    );
    let t = L.stepped(
        &[&four[..], &["release=twice", "kind=BoundedSemaphore"]].concat(),
        Origin::Schedule(Schedule::parse(moves).expect("a schedule").into()),
    );
    let out = output(&t);
    assert_eq!(count(&out, THREADING_OVER), 1, "{out:?}");
    assert!(
        out.iter()
            .any(|l| l.starts_with("Exception in thread worker-") && l.ends_with(THREADING_OVER)),
        "{out:?}"
    );
    assert_eq!(
        var(&t, "sem"),
        2,
        "the failed release left the counter at 2"
    );
}

/// One release too many, over seeds: a plain Semaphore ends at 3 and says
/// nothing; a BoundedSemaphore raises ValueError in exactly one worker (with
/// multiprocessing's own message between processes) and ends at 2.
#[test]
fn an_extra_release_grows_a_semaphore_and_a_bounded_one_raises() {
    for seed in 1..=5 {
        for procs in [false, true] {
            let across = if procs {
                "across=processes"
            } else {
                "across=threads"
            };
            let t = L.stepped(&["release=twice", across], Origin::Seed(seed));
            let out = output(&t);
            assert_eq!(count(&out, "Error"), 0, "seed {seed}: {out:?}");
            assert_eq!(var(&t, "sem"), 3, "seed {seed} {across}: grew silently");
            let t = L.stepped(
                &["release=twice", "kind=BoundedSemaphore", across],
                Origin::Seed(seed),
            );
            let out = output(&t);
            let msg = if procs {
                MULTIPROCESSING_OVER
            } else {
                THREADING_OVER
            };
            assert_eq!(count(&out, msg), 1, "seed {seed} {across}: {out:?}");
            assert_eq!(count(&out, "Error"), 1, "seed {seed}: {out:?}");
            if procs {
                assert!(
                    out.iter().any(|l| l.starts_with("Process worker-")),
                    "{out:?}"
                );
            }
            assert_eq!(var(&t, "sem"), 2, "seed {seed} {across}");
            assert!(in_use(&out).iter().all(|&n| n <= 3), "{out:?}");
        }
    }
}

fn final_var(k: &OutcomeKey, name: &str) -> i64 {
    k.vars
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .unwrap_or(-1)
}

// Exhaustive exploration at three workers, one test per setting so that the
// three explorations (the slowest part of this file) run side by side.

/// With one release each, every outcome has at most two in use and the counter
/// back at 2.
#[test]
fn exploration_proves_the_limit() {
    let ok = L.outcomes(&["workers=3"], 300);
    assert!(!ok.is_empty());
    for k in &ok {
        assert!(!k.deadlock, "{k:?}");
        assert_eq!(final_var(k, "sem"), 2, "{k:?}");
        assert!(final_var(k, "most") <= 2, "{k:?}");
        assert!(in_use(&k.output).iter().all(|&n| n <= 2), "{k:?}");
    }
}

/// One release too many reaches a counter of 3 in every outcome of a plain
/// Semaphore.
#[test]
fn exploration_finds_a_plain_semaphore_grown() {
    let plain = L.outcomes(&["workers=3", "release=twice"], 300);
    assert!(!plain.is_empty());
    assert!(plain.iter().all(|k| final_var(k, "sem") == 3), "{plain:?}");
}

/// A bounded one raises the ValueError once in every outcome, and in some it is
/// worker-1's own extra release that raised, in others an innocent worker's.
#[test]
fn exploration_finds_who_a_bounded_semaphore_raises_in() {
    let bounded = L.outcomes(
        &["workers=3", "release=twice", "kind=BoundedSemaphore"],
        300,
    );
    assert!(
        bounded
            .iter()
            .all(|k| count(&k.output, THREADING_OVER) == 1)
    );
    let died = |w: &str| {
        bounded.iter().any(|k| {
            k.output
                .iter()
                .any(|l| l.starts_with(&format!("Exception in thread {w}:")))
        })
    };
    assert!(died("worker-1"), "the buggy worker's own extra release");
    assert!(
        died("worker-2") || died("worker-3"),
        "an innocent worker's release"
    );
}

/// Four workers are the smallest pool where one release too many lets a third
/// in; seeds of the uniform scheduler find it.
#[test]
fn sampling_finds_three_in_use_with_four_workers() {
    let found = (1..=40).any(|seed| {
        let t = L.stepped(
            &["workers=4", "release=twice", "scheduler=uniform"],
            Origin::Seed(seed),
        );
        in_use(&output(&t)).contains(&3)
    });
    assert!(found, "no seed of 40 had three in use");
}

fn live(s: &[&str]) -> Trace {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    L.live(s)
}

#[test]
fn live_threads_and_processes_never_have_more_than_two_in_use() {
    for extra in [
        &[][..],
        &["gil=free"],
        &["across=processes"],
        &["kind=BoundedSemaphore", "across=processes"],
    ] {
        for _ in 0..2 {
            let t = live(extra);
            let what = format!("live {extra:?}");
            assert_correct(&t, 5, &what);
            let most = if extra.contains(&"across=processes") {
                "most.value"
            } else {
                "most"
            };
            assert!(var(&t, most) <= 2, "{what}");
        }
    }
}

/// Live, one release too many: whatever the timing, a plain semaphore never
/// raises, and a bounded one raises in exactly one worker; no count ever
/// goes above 3.
#[test]
fn live_over_release_raises_only_with_a_bounded_semaphore() {
    for across in ["across=threads", "across=processes"] {
        let t = live(&["release=twice", across]);
        let out = output(&t);
        assert_eq!(count(&out, "Error"), 0, "{out:?}");
        assert_eq!(count(&out, "has a connection"), 5);
        assert!(in_use(&out).iter().all(|&n| n <= 3), "{out:?}");
        let t = live(&["release=twice", "kind=BoundedSemaphore", across]);
        let out = output(&t);
        assert_eq!(count(&out, "released too many times"), 1, "{out:?}");
        assert_eq!(count(&out, "has a connection"), 5, "{out:?}");
        assert!(in_use(&out).iter().all(|&n| n <= 3), "{out:?}");
    }
}
