//! The simulator against the real thing for the thread lessons (issue 17, item 6): a
//! stepped run's choices of who runs next, replayed on every CPython 3.8+ under
//! pyenv by its shared steps (`src/cpython/follow.rs`), must take the same shared
//! steps with the same values, print the same lines and leave the same globals,
//! except where the lesson declares a difference (`[[differs]]`), which the
//! comparison names.

#[path = "common/fidelity.rs"]
mod common;

use common::{check, pythons};
use interleave::cpython::Comparison;
use interleave::run::Origin;

/// The names of the declarations a comparison left out.
fn declared(c: &Comparison) -> Vec<String> {
    c.declared.iter().filter_map(|d| d.global.clone()).collect()
}

/// The semaphore's counter is the simulator's shared variable `sem`; in CPython it
/// is inside the Semaphore object. The lesson declares it, the comparison leaves it
/// out and says so, and everything else agrees: five workers, two at a time, and
/// with one release too many three at once, on the simulator and on CPython alike.
#[test]
fn semaphore_agrees_on_every_cpython_with_its_counter_declared() {
    for py in pythons() {
        for seed in [1, 2, 7] {
            let c = check("semaphore", &[], Origin::Seed(seed), &py);
            assert_eq!(declared(&c), ["sem"], "{}", py.0);
            assert!(
                c.cpython_output
                    .contains(&"at most 2 in use at once".to_string()),
                "{}: {:?}",
                py.0,
                c.cpython_output
            );
        }
        let c = check(
            "semaphore",
            &["release=twice", "workers=4", "scheduler=uniform"],
            Origin::Seed(3),
            &py,
        );
        assert!(c.sim_finals.iter().all(|(n, _)| n != "sem"), "{c:?}");
        let c = check(
            "semaphore",
            &["release=twice", "kind=BoundedSemaphore", "workers=3"],
            Origin::Seed(1),
            &py,
        );
        assert!(
            c.cpython_stderr
                .contains("ValueError: Semaphore released too many times"),
            "{}: {}",
            py.0,
            c.cpython_stderr
        );
    }
}

/// `with cond:` takes the Condition's lock, `cond.wait()` gives it up and takes it
/// back, `notify()` lets a waiter go: on CPython the controller sees all three, so
/// the consumers' waits and the producer's notifies replay in the simulator's order.
/// The simulator keeps the list `items` as its length (declared); the lengths the
/// program prints are compared.
#[test]
fn condition_agrees_on_every_cpython() {
    for py in pythons() {
        for (sets, seed) in [
            (&[][..], 1),
            (&[][..], 7),
            (&["notify=one"][..], 2),
            (&["check=if", "scheduler=uniform"][..], 7),
        ] {
            let c = check("condition", sets, Origin::Seed(seed), &py);
            assert_eq!(declared(&c), ["items"], "{}", py.0);
            assert_eq!(
                c.cpython_output.last().map(String::as_str),
                Some("left in the buffer: 0"),
                "{}",
                py.0
            );
        }
    }
}

/// Two workers wait in `start.wait()` until MainThread's `start.set()`, then poll
/// `stop.is_set()`: the waits end at the set, in the simulator's order. With a
/// timeout, a wait the simulator timed out times out on CPython at the same step.
#[test]
fn event_agrees_on_every_cpython() {
    for py in pythons() {
        for (sets, seed) in [(&[][..], 1), (&[][..], 2), (&["timeout=0.05"][..], 7)] {
            let c = check("event", sets, Origin::Seed(seed), &py);
            assert_eq!(declared(&c), ["start", "stop"], "{}", py.0);
            assert_eq!(
                c.cpython_output.last().map(String::as_str),
                Some("main: all stopped"),
                "{}",
                py.0
            );
        }
    }
}

/// Three workers meet at a Barrier(3) each phase: every arrival, the trip, every
/// leaving of `wait()` (the barrier drains before the next phase) and an `abort()`
/// replay in the simulator's order; with `fail=timeout` the late worker's
/// `wait(timeout=0.5)` times out where the simulator's did, and the barrier breaks.
#[test]
fn barrier_agrees_on_every_cpython() {
    for py in pythons() {
        for (sets, seed) in [
            (&[][..], 1),
            (&["work=none", "scheduler=uniform"][..], 2),
            (&["work=none", "scheduler=uniform"][..], 7),
            (&["fail=abort"][..], 1),
            (&["fail=timeout"][..], 7),
        ] {
            let c = check("barrier", sets, Origin::Seed(seed), &py);
            let passed = c
                .cpython_output
                .iter()
                .filter(|l| l.starts_with("--- all 3 passed"))
                .count();
            let broken = c
                .cpython_output
                .iter()
                .any(|l| l.contains("BrokenBarrierError"));
            // Both phases pass, or phase 2 breaks, as the knob says.
            let fails = sets.iter().any(|s| s.starts_with("fail="));
            assert_eq!(
                (passed, broken),
                (if fails { 1 } else { 2 }, fails),
                "{sets:?} {}: {:?}",
                py.0,
                c.cpython_output
            );
        }
    }
}

/// The memory lesson run in a thread: the thread appends to the global list the
/// main thread sees. The simulator's list reads as Python writes it (`[1, 2, 3]`),
/// `numbers.append(4)` is CPython's read of the list, and both print the same PID,
/// the one process's.
#[test]
fn memory_in_a_thread_agrees_on_every_cpython() {
    for py in pythons() {
        for seed in [1, 2] {
            let c = check("memory", &["run-in=thread"], Origin::Seed(seed), &py);
            assert_eq!(
                c.cpython_output,
                [
                    "worker <pid of process 0> sees [1, 2, 3, 4]",
                    "main <pid of process 0> sees [1, 2, 3, 4]"
                ],
                "{}",
                py.0
            );
            assert_eq!(
                c.sim_finals,
                [("numbers".to_string(), "[1, 2, 3, 4]".to_string())]
            );
        }
    }
}

/// The lessons whose runs cannot be replayed on CPython declare so, with the
/// reason, and the comparison refuses them with it rather than calling them
/// disagreements: the gil lesson's output is all timings, the executor's workers
/// are the standard library's threads, asyncio's tasks share one thread.
#[test]
fn lessons_declared_not_comparable_say_why() {
    let Some(py) = pythons().pop() else { return };
    for (id, reason) in [
        ("gil", "timing"),
        ("futures", "concurrent.futures"),
        ("asyncio", "one thread"),
    ] {
        let l = common::lesson(id);
        let knobs = l.default_knobs();
        let e = interleave::cpython::compare(&l, &knobs, Origin::Seed(1), &py.2, common::LIMIT)
            .expect_err("a lesson declared not comparable is not compared");
        let e = e.to_string();
        assert!(e.contains("declared: ") && e.contains(reason), "{id}: {e}");
    }
}
