//! The simulator against the real thing for the process lessons (issue 17, item 6):
//! a stepped run's choices of who runs next, replayed on every CPython 3.8+ under
//! pyenv by its shared steps (`src/cpython/follow.rs`), must print the same lines in
//! the same order and leave the same globals.
//!
//! What these lessons add to the thread lessons' comparison: a process waits for
//! another's message (a pipe's `recv`, a queue's `get`) whose `send` or `put` is no
//! shared step. When the thread due for the next shared step waits so in CPython,
//! the threads the simulator ran before that step take their steps first; and a
//! process ended by `terminate()` ends when the signal lands, which is no step of
//! the program's.

#[path = "common/fidelity.rs"]
mod common;

use common::{check, pythons};
use interleave::run::Origin;

/// Each line the reader printed, in order.
fn got(out: &[String]) -> Vec<&str> {
    out.iter()
        .filter(|l| l.starts_with("Get "))
        .map(|l| l.as_str())
        .collect()
}

/// The pipe lesson: the parent's `recv` waits for the child's `send`, and the
/// child's for the parent's, on every CPython, for the seeds and knobs below.
#[test]
fn the_pipe_lesson_is_the_same_on_every_cpython() {
    for py in pythons() {
        for seed in [1, 2, 7] {
            let c = check("pipe", &[], Origin::Seed(seed), &py);
            for line in ["parent got 42", "child got 43"] {
                assert!(c.cpython_output.iter().any(|l| l == line), "{c:?}");
            }
            assert!(
                c.cpython_output
                    .iter()
                    .any(|l| l == "EOFError: the child closed its end"),
                "{c:?}"
            );
        }
        // The child's end left open in the parent: its second recv() waits for ever,
        // in the simulator and in CPython alike.
        let c = check("pipe", &["close=off"], Origin::Seed(1), &py);
        assert!(c.sim_deadlock && c.cpython_deadlock, "{c:?}");
        check(
            "pipe",
            &["payload=str", "scheduler=uniform"],
            Origin::Seed(1),
            &py,
        );
    }
}

/// The queue lesson: the reader's `get` waits for the writer's `put`, and the
/// parent ends the reader with `terminate()`. The reader gets A, B, C in order.
#[test]
fn the_queue_lesson_is_the_same_on_every_cpython() {
    for py in pythons() {
        for seed in [1, 2] {
            let c = check("queue", &[], Origin::Seed(seed), &py);
            assert_eq!(
                got(&c.cpython_output),
                [
                    "Get A from queue.",
                    "Get B from queue.",
                    "Get C from queue."
                ],
                "{c:?}"
            );
        }
        check("queue", &["maxsize=1"], Origin::Seed(1), &py);
        check(
            "queue",
            &["payload=str", "scheduler=uniform"],
            Origin::Seed(7),
            &py,
        );
        check(
            "queue",
            &["delay=0.5", "granularity=bytecode"],
            Origin::Seed(2),
            &py,
        );
    }
}

/// queue-api's seed 2 (seeds 1 and 7 are in cpython_fidelity.rs): its reader waits
/// in `get` for an item the simulator put before.
#[test]
fn the_queue_api_lesson_seed_2_is_the_same_on_every_cpython() {
    for py in pythons() {
        check("queue-api", &[], Origin::Seed(2), &py);
        check("queue-api", &["scheduler=uniform"], Origin::Seed(1), &py);
    }
}
