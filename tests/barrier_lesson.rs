//! The `barrier` lesson (issue 16): three workers meet at a `threading.Barrier(3)`
//! after each phase; stepped over seeds, explored exhaustively, and live on real
//! threads: what a student sees, and the invariant every run keeps (no worker
//! starts a phase before all three finished the one before).

#[path = "common/lesson.rs"]
mod common;
use common::{Of, count, output};

const L: Of = Of("barrier");

use interleave::run::Origin;
use interleave::sim::Ending;
use interleave::trace::{ActorState, BlockedOn, StateReplay};

/// The barrier's promise: every `finished phase k+1` line comes after all three
/// `finished phase k` lines. Panics with the output otherwise.
fn phases_in_order(out: &[String]) {
    let mut finished = std::collections::HashMap::<u32, usize>::new();
    for line in out {
        let Some((_, k)) = line.split_once(" finished phase ") else {
            continue;
        };
        let k: u32 = k.parse().expect("a phase number");
        if k > 1 {
            assert_eq!(
                finished.get(&(k - 1)).copied().unwrap_or(0),
                3,
                "`{line}` before all three finished phase {}: {out:?}",
                k - 1
            );
        }
        *finished.entry(k).or_default() += 1;
    }
}

fn all_went_through(out: &[String], phases: usize) {
    phases_in_order(out);
    assert_eq!(count(out, " finished phase "), 3 * phases, "{out:?}");
    assert_eq!(count(out, " passed barrier "), phases, "{out:?}");
    for k in 1..=phases {
        assert_eq!(
            count(out, &format!("--- all 3 passed barrier {k} ---")),
            1,
            "{out:?}"
        );
    }
    assert_eq!(count(out, " is done"), 3, "{out:?}");
    assert_eq!(count(out, "Error"), 0, "{out:?}");
    assert_eq!(out.last().map(String::as_str), Some("all workers are back"));
}

#[test]
fn every_seed_passes_every_barrier_together() {
    for seed in 1..=5 {
        for extra in [
            &[][..],
            &["work=none", "scheduler=uniform"],
            &[
                "work=none",
                "scheduler=uniform",
                "gil=free",
                "granularity=bytecode",
            ],
            &[
                "work=none",
                "scheduler=uniform",
                "gil=gil-classic",
                "phases=4",
            ],
        ] {
            let t = L.stepped(extra, Origin::Seed(seed));
            let phases = if extra.contains(&"phases=4") { 4 } else { 2 };
            all_went_through(&output(&t), phases);
            assert!(t.deadlock().is_empty(), "seed {seed} {extra:?}");
        }
    }
}

#[test]
fn the_default_run_reads_as_the_lesson_says() {
    // The staggered work: worker-1 arrives first (index 0, the `---` line),
    // worker-3 last; on CPython this is the most common output on every version.
    let out = output(&L.stepped(&[], Origin::Seed(1)));
    assert_eq!(
        &out[..4],
        [
            "worker-1 finished phase 1",
            "worker-2 finished phase 1",
            "worker-3 finished phase 1",
            "--- all 3 passed barrier 1 ---",
        ]
    );
}

#[test]
fn a_late_party_times_out_and_breaks_the_barrier_for_everybody() {
    for seed in 1..=4 {
        for extra in [&[][..], &["work=none", "scheduler=uniform"]] {
            let t = L.stepped(&[&["fail=timeout"], extra].concat(), Origin::Seed(seed));
            let out = output(&t);
            phases_in_order(&out);
            assert_eq!(count(&out, "passed barrier 1"), 1, "{out:?}");
            for w in 1..=3 {
                assert_eq!(
                    count(&out, &format!("worker-{w}: BrokenBarrierError in phase 2")),
                    1,
                    "{out:?}"
                );
            }
            assert_eq!(count(&out, " is done"), 0);
            assert_eq!(out.last().map(String::as_str), Some("all workers are back"));
            assert!(t.deadlock().is_empty());
        }
    }
    // Staggered: worker-3 prints `finished phase 2` after the others broke.
    let out = output(&L.stepped(&["fail=timeout"], Origin::Seed(1)));
    let at = |s: &str| out.iter().position(|l| l == s).expect(s);
    assert!(
        at("worker-2: BrokenBarrierError in phase 2") < at("worker-3 finished phase 2"),
        "{out:?}"
    );
}

#[test]
fn abort_wakes_the_waiting_parties_with_broken_barrier_error() {
    let out = output(&L.stepped(&["fail=abort"], Origin::Seed(1)));
    assert_eq!(
        &out[4..],
        [
            "worker-1 finished phase 2",
            "worker-2 finished phase 2",
            "worker-3 gives up and aborts the barrier",
            "worker-1: BrokenBarrierError in phase 2",
            "worker-2: BrokenBarrierError in phase 2",
            "all workers are back",
        ]
    );
}

/// By hand, line by line: two workers wait at the barrier and cannot be
/// stepped; the third one's arrival lets them go.
#[test]
fn the_first_two_wait_until_the_third_arrives() {
    let small = ["work=none", "granularity=line", "gil=gil-modern"];
    // MainThread starts the three and waits in join; worker-1 and worker-2 go
    // to the barrier (the for line, me =, print, wait).
    let sim = L.replay(&small, "0x3 1x4 2x4");
    let t = sim.trace();
    let state = StateReplay::at(&t.program, &t.events, t.events.len());
    let w1 = t.program.actor_id("worker-1").expect("worker-1");
    assert!(
        matches!(state.state(w1), ActorState::Blocked(BlockedOn::Barrier(_))),
        "{:?}",
        state.state(w1)
    );
    assert_eq!(
        sim.check(w1).map_err(|r| r.to_string()),
        Err("worker-1 waits in barrier.wait(): it goes on once every party has arrived, or the barrier breaks".to_string())
    );
    // worker-3 arrives: the barrier trips, and worker-1 is woken (it may go as
    // soon as worker-3 lets the GIL go).
    let sim = L.replay(&small, "0x3 1x4 2x4 3x4");
    let t = sim.trace();
    let state = StateReplay::at(&t.program, &t.events, t.events.len());
    assert_eq!(state.state(w1), ActorState::WaitingGil);
    let why = sim.check(w1).map_err(|r| r.to_string());
    assert!(
        why.as_ref().is_err_and(|w| w.contains("waits for the GIL")),
        "{why:?}"
    );
    let sim = L.replay(&small, "0x3 1x4 2x4 3x5 1");
    assert_eq!(
        sim.trace().events.last().map(|e| e.actor),
        t.program.actor_id("worker-1")
    );
    assert_eq!(
        output(sim.trace()),
        [
            "worker-1 finished phase 1",
            "worker-2 finished phase 1",
            "worker-3 finished phase 1"
        ]
    );
}

/// Every interleaving (no work, so only the schedule decides who arrives when):
/// the phases never overlap, nothing deadlocks, and the order of arrival does
/// vary (the `---` line is printed by different workers).
#[test]
fn exploration_finds_no_run_where_a_phase_starts_early() {
    let all = L.outcomes(&["work=none"], 300);
    assert!(all.len() > 1, "{all:?}");
    for k in &all {
        assert!(!k.deadlock, "{k:?}");
        all_went_through(&k.output, 2);
    }
}

/// With abort and no work, worker-3 can finish phase 1 last, trip the barrier
/// and abort it in phase 2 before a woken party has left its phase-1 wait():
/// that party raises in phase 1 (CPython does: RESULTS.md §17.5). A dependency
/// the explorer got wrong would hide this outcome.
#[test]
fn exploration_finds_a_tripped_party_broken_by_an_abort() {
    let all = L.outcomes(&["work=none", "fail=abort", "gil=free"], 300);
    assert!(
        all.iter().any(|k| k
            .output
            .iter()
            .any(|l| l.ends_with("BrokenBarrierError in phase 1"))),
        "{all:?}"
    );
    assert!(all.iter().any(|k| {
        k.output
            .iter()
            .filter(|l| l.ends_with("BrokenBarrierError in phase 2"))
            .count()
            == 2
    }));
    for k in &all {
        assert!(!k.deadlock, "{k:?}");
        phases_in_order(&k.output);
        assert_eq!(count(&k.output, "BrokenBarrierError"), 2, "{k:?}");
        assert_eq!(count(&k.output, " is done"), 0, "{k:?}");
    }
}

#[test]
fn live_runs_on_real_threads_keep_the_phases_apart() {
    for extra in [
        &[][..],
        &["work=none"],
        &["work=none", "gil=free", "phases=5"],
    ] {
        for _ in 0..2 {
            let t = L.live(extra);
            let phases = if extra.contains(&"phases=5") { 5 } else { 2 };
            all_went_through(&output(&t), phases);
            assert!(t.deadlock().is_empty());
        }
    }
}

#[test]
fn live_a_timeout_or_an_abort_breaks_the_barrier() {
    let out = output(&L.live(&["fail=timeout"]));
    phases_in_order(&out);
    assert_eq!(count(&out, "BrokenBarrierError in phase 2"), 3, "{out:?}");
    assert_eq!(out.last().map(String::as_str), Some("all workers are back"));
    for _ in 0..2 {
        let out = output(&L.live(&["fail=abort", "work=none", "gil=free"]));
        phases_in_order(&out);
        assert_eq!(count(&out, "gives up and aborts the barrier"), 1);
        assert_eq!(count(&out, "BrokenBarrierError"), 2, "{out:?}");
        assert_eq!(out.last().map(String::as_str), Some("all workers are back"));
    }
}

#[test]
fn a_stepped_run_ends_as_a_run_not_a_deadlock() {
    let sim = L.replay(&["work=none", "fail=abort"], "0x3 1x4 2x4 3x4");
    assert_eq!(sim.ending(), Ending::Running);
}
