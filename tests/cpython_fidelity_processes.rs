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

/// value-race: each process's `counter.value += 1` reads and writes the shared
/// Value in two steps; CPython's reads and writes of `.value` are compared as a
/// global's, lost updates and all, and so is the final `counter.value`.
#[test]
fn the_value_race_is_the_same_on_every_cpython() {
    for py in pythons() {
        let c = check("value-race", &[], Origin::Seed(1), &py);
        assert_eq!(c.cpython_finals, c.sim_finals, "{c:?}");
        // Seed 4 (0x5 1x11 2x21 1x10 0x5): Process-2's three increments fall
        // between a read and a write of Process-1's and are written over: 3 of the
        // 6 are lost, in the simulator and in CPython.
        let c = check(
            "value-race",
            &["processes=2", "iterations=3", "scheduler=uniform"],
            Origin::Seed(4),
            &py,
        );
        assert_eq!(
            c.cpython_finals,
            [("counter.value".to_string(), "3".to_string())],
            "{c:?}"
        );
        assert_eq!(c.cpython_output, ["3"], "{}", py.0);
    }
}

/// memory: a global list appended to in a child process (the parent keeps its
/// own copy) or in a thread (one list), and a shared Value. The child's append
/// reads the list as it was; the PIDs printed compare as the process they name.
#[test]
fn the_memory_lesson_is_the_same_on_every_cpython() {
    for py in pythons() {
        for sets in [
            &[][..],
            &["run-in=thread"][..],
            &["share=value"][..],
            &["share=value", "run-in=thread"][..],
        ] {
            let c = check("memory", sets, Origin::Seed(1), &py);
            let main = c.cpython_output.last().cloned().unwrap_or_default();
            let expected = match sets {
                [] => "sees [1, 2, 3]",
                ["run-in=thread"] => "sees [1, 2, 3, 4]",
                _ => "sees 10",
            };
            assert!(main.ends_with(expected), "{sets:?} on {}: {main}", py.0);
        }
    }
}

/// start-methods under forkserver: the simulator's fork server is an actor of its
/// own that forks each child; CPython's runs none of the program and is not shown
/// (`HIDDEN_ACTORS`, a declared difference), so its starts compare as the
/// `p.start()` that asked for them. Each child imports the module again.
#[test]
fn start_methods_forkserver_is_the_same_on_every_cpython() {
    for py in pythons() {
        for seed in [1, 7] {
            let c = check(
                "start-methods",
                &["method=forkserver"],
                Origin::Seed(seed),
                &py,
            );
            let again = c
                .cpython_output
                .iter()
                .filter(|l| l.contains("__mp_main__"))
                .count();
            assert_eq!(again, 2, "{c:?}");
        }
    }
}
