//! The `condition` lesson (issue 16): a producer and two consumers around one
//! `threading.Condition`, stepped over seeds, explored exhaustively at small
//! knobs, and live on real threads: what a student sees, and the invariants
//! every run keeps.

#[path = "common/lesson.rs"]
mod common;
use common::{Of, count, output};

const L: Of = Of("condition");

use interleave::explore::OutcomeKey;
use interleave::run::Origin;
use interleave::sim::Ending;
use interleave::trace::{ActorState, BlockedOn, StateReplay};

const INDEX_ERROR: &str = "Exception in thread consumer-1: IndexError: pop from empty list";

/// What every run prints, whatever the schedule: the buffer never holds more
/// than `size` items nor fewer than none, and every line says so.
fn buffer_counts_stay_in_bounds(out: &[String], size: i64) {
    for line in out {
        let n = if let Some(rest) = line.strip_prefix("producer put ") {
            rest.split(", ").nth(1).and_then(|r| r.split(' ').next())
        } else if line.contains(" took one, ") {
            line.split(", ").nth(1).and_then(|r| r.split(' ').next())
        } else {
            continue;
        };
        let n: i64 = n.and_then(|n| n.parse().ok()).unwrap_or(-1);
        assert!((0..=size).contains(&n), "{line}: outside 0..={size}");
    }
}

#[test]
fn with_while_every_seed_puts_and_takes_every_item() {
    for seed in 1..=6 {
        for extra in [
            &[][..],
            &["scheduler=uniform", "gil=free", "granularity=bytecode"],
        ] {
            let t = L.stepped(extra, Origin::Seed(seed));
            let out = output(&t);
            assert_eq!(count(&out, "producer put"), 4, "seed {seed}: {out:?}");
            assert_eq!(count(&out, " took one, "), 4, "seed {seed}: {out:?}");
            assert_eq!(
                out.last().map(String::as_str),
                Some("left in the buffer: 0")
            );
            assert_eq!(count(&out, "Error"), 0);
            buffer_counts_stay_in_bounds(&out, 2);
            assert!(t.deadlock().is_empty(), "seed {seed}");
        }
    }
}

/// The tour's moves with `if`: the other consumer steals the item between the
/// notify and the woken consumer's return from wait().
#[test]
fn the_stolen_wake_up_pops_from_an_empty_list_with_if_and_not_with_while() {
    // MainThread to its join, consumer-1 into wait(), the producer puts and
    // notifies, consumer-2 takes the item, consumer-1 comes back.
    let schedule = "0x7 1x4 3x7 2x7 1x2";
    let small = ["rounds=1", "granularity=line", "gil=gil-modern", "size=2"];
    let sim = L.replay(&[&small[..], &["check=if"]].concat(), schedule);
    let out = output(sim.trace());
    assert_eq!(out.last().map(String::as_str), Some(INDEX_ERROR), "{out:?}");
    assert_eq!(count(&out, "consumer-2 took one, 0 left"), 1);
    assert_eq!(sim.vars(), &[0]);
    // The same moves with while: consumer-1 looks again and waits again.
    let sim = L.replay(
        &[&small[..], &["check=while"]].concat(),
        &format!("{schedule} 1"),
    );
    let t = sim.trace();
    assert_eq!(count(&output(t), "Error"), 0);
    let c1 = t.program.actor_id("consumer-1").expect("consumer-1");
    let state = StateReplay::at(&t.program, &t.events, t.events.len());
    assert!(
        matches!(state.state(c1), ActorState::Blocked(BlockedOn::Notify(_))),
        "consumer-1 waits again: {:?}",
        state.state(c1)
    );
    assert_eq!(
        sim.check(c1).map_err(|r| r.to_string()),
        Err(
            "consumer-1 waits in cond.wait(): it goes on only after another thread calls notify"
                .to_string()
        )
    );
}

/// Exhaustive exploration at one item per consumer: `while` never breaks, `if`
/// has outcomes with an IndexError and items left over, and waiting without
/// looking (`none`) can hang for good.
#[test]
fn exploration_finds_the_stolen_and_the_lost_wake_up() {
    let ok = |k: &OutcomeKey| {
        !k.deadlock
            && k.vars == vec![("items".to_string(), 0)]
            && k.output.last().map(String::as_str) == Some("left in the buffer: 0")
            && !k.output.iter().any(|l| l.contains("Error"))
    };
    let with_while = L.outcomes(&["rounds=1", "check=while"], 5);
    assert!(!with_while.is_empty());
    assert!(with_while.iter().all(ok), "{with_while:?}");

    let with_if = L.outcomes(&["rounds=1", "check=if"], 5);
    let broken: Vec<&OutcomeKey> = with_if.iter().filter(|k| !ok(k)).collect();
    assert!(!broken.is_empty(), "if: the stolen wake-up is reachable");
    for k in &broken {
        assert!(
            k.output
                .iter()
                .any(|l| l.ends_with("IndexError: pop from empty list")),
            "{k:?}"
        );
        assert_eq!(
            k.vars,
            vec![("items".to_string(), 1)],
            "the item nobody took"
        );
        assert!(!k.deadlock);
    }
    assert!(with_if.iter().any(ok), "if also has runs that go right");

    let none = L.outcomes(&["rounds=1", "check=none"], 5);
    assert!(
        none.iter().any(|k| k.deadlock && k.vars[0].1 == 2),
        "{none:?}"
    );

    // notify() instead of notify_all(), one slot: a consumer's notify can wake
    // the other consumer instead of the producer, and everybody waits.
    let one = L.outcomes(&["rounds=2", "size=1", "notify=one"], 5);
    assert!(one.iter().any(|k| k.deadlock), "notify=one can hang");
    assert!(one.iter().any(ok));
}

#[test]
fn a_consumer_left_waiting_is_a_deadlock_the_run_reports() {
    // The producer puts both items before either consumer waits.
    let sim = L.replay(
        &["rounds=1", "check=none", "granularity=line"],
        "0x7 3x15 1x3 2x3",
    );
    assert_eq!(sim.ending(), Ending::Deadlock);
    assert_eq!(sim.vars(), &[2], "both items stay in the buffer");
    let t = sim.trace();
    let dl = t.deadlock();
    assert_eq!(dl.len(), 3, "both consumers and MainThread wait forever");
    let text = interleave::trace::forever_in(&t.program, dl[1], interleave::lesson::Lang::En);
    assert!(text.contains("notify on cond"), "{text}");
}

#[test]
fn live_runs_on_real_threads_keep_the_buffer_in_bounds() {
    for _ in 0..3 {
        let t = L.live(&[]);
        let out = output(&t);
        assert!(t.deadlock().is_empty());
        assert_eq!(count(&out, "producer put"), 4, "{out:?}");
        assert_eq!(count(&out, " took one, "), 4, "{out:?}");
        assert_eq!(
            out.last().map(String::as_str),
            Some("left in the buffer: 0")
        );
        buffer_counts_stay_in_bounds(&out, 2);
    }
    // With if, a run either goes right or a consumer dies and leaves items:
    // never a count outside the buffer, never both.
    for _ in 0..3 {
        let t = L.live(&["check=if", "rounds=3"]);
        let out = output(&t);
        buffer_counts_stay_in_bounds(&out, 2);
        let died = count(&out, "IndexError: pop from empty list");
        let left = out.last().cloned().unwrap_or_default();
        assert_eq!(died > 0, left != "left in the buffer: 0", "{out:?}");
    }
}

#[test]
fn a_live_consumer_waiting_forever_is_caught_by_the_watchdog() {
    // rounds=1, size=1, check=none: the producer's second put waits for room
    // unless a consumer takes the first; whichever way it goes, the run ends
    // (finished, or the watchdog reports every thread waiting).
    for _ in 0..3 {
        let t = L.live(&["rounds=1", "check=none", "gil=free"]);
        let out = output(&t);
        let finished = out
            .last()
            .is_some_and(|l| l.starts_with("left in the buffer"));
        assert!(finished || !t.deadlock().is_empty(), "{out:?}");
    }
}
