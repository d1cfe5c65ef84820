//! The process lessons under their other settings against the real thing (issue 17,
//! item 6): a stepped run's choices of who runs next, replayed on every CPython 3.8+
//! under pyenv by its shared steps (`src/cpython/follow.rs`), must print the same
//! lines in the same order and leave the same globals. The default settings are in
//! cpython_fidelity_processes.rs.

#[path = "common/fidelity.rs"]
mod common;

use common::{check, pythons};
use interleave::run::Origin;

/// value-race with `lock=on`: `with lock:` on a `multiprocessing.Lock`, a semaphore
/// the forked children share, is a lock step in CPython as in the simulator (the
/// tracer reports the program's acquire and release of it, not the Value's own
/// lock that `.value` takes). No increment is lost.
#[test]
fn value_race_with_the_lock_is_the_same_on_every_cpython() {
    for py in pythons() {
        let c = check("value-race", &["lock=on"], Origin::Seed(1), &py);
        assert_eq!(c.cpython_output, ["500"], "{}", py.0);
        for seed in [1, 3] {
            let c = check(
                "value-race",
                &[
                    "lock=on",
                    "processes=2",
                    "iterations=3",
                    "scheduler=uniform",
                ],
                Origin::Seed(seed),
                &py,
            );
            assert_eq!(
                c.cpython_finals,
                [("counter.value".to_string(), "6".to_string())],
                "{c:?}"
            );
        }
    }
}

/// queue with `nowait=on`: the reader's `get_nowait()` does not wait for the
/// writer's `put`, so both are shared steps (on the program's own queue only): the
/// reader gets what the simulator's writer had put before it, and raises
/// `queue.Empty` where the simulator's found the queue empty, which ends its process
/// (CPython writes the traceback to stderr).
#[test]
fn queue_without_waiting_is_the_same_on_every_cpython() {
    for py in pythons() {
        let c = check("queue", &["nowait=on"], Origin::Seed(1), &py);
        let got: Vec<&String> = c
            .cpython_output
            .iter()
            .filter(|l| l.starts_with("Get "))
            .collect();
        assert_eq!(got, ["Get A from queue."], "{c:?}");
        assert!(c.cpython_stderr.contains("Empty"), "{c:?}");
        check(
            "queue",
            &["nowait=on", "scheduler=uniform"],
            Origin::Seed(2),
            &py,
        );
        // The writer's put into a full Queue(1) once the reader has ended waits for
        // ever, in the simulator and in CPython alike.
        let c = check(
            "queue",
            &["nowait=on", "maxsize=1", "granularity=bytecode"],
            Origin::Seed(1),
            &py,
        );
        assert!(c.sim_deadlock && c.cpython_deadlock, "{c:?}");
    }
}

/// memory with `share=array`: the worker gets the Array as a parameter, so its
/// `numbers[:]` is no read of a global in CPython; the tracer reports the program's
/// read of a whole shared Array under the name the calling frame gives it, which is
/// the name the simulator keeps it under. The parent sees the child's write.
#[test]
fn memory_with_a_shared_array_is_the_same_on_every_cpython() {
    for py in pythons() {
        for sets in [&["share=array"][..], &["share=array", "run-in=thread"][..]] {
            let c = check("memory", sets, Origin::Seed(1), &py);
            let main = c.cpython_output.last().cloned().unwrap_or_default();
            assert!(
                main.ends_with("sees [1, 2, 3, 4]"),
                "{sets:?} on {}: {main}",
                py.0
            );
            assert_eq!(
                c.cpython_finals,
                [("numbers".to_string(), "[1, 2, 3, 4]".to_string())],
                "{c:?}"
            );
        }
    }
}

/// memory with `share=manager`: the list lives in the Manager's server, which runs
/// the standard library untraced, so the lesson declares its runs not compared. A
/// controlled run on CPython still ends (the program's `recv` from the server looks
/// again while the server runs): it used to wait for its timeout at `Manager()`.
#[test]
fn memory_with_a_manager_is_declared_and_a_controlled_run_ends() {
    let found = pythons();
    for py in [found.first(), found.last()].into_iter().flatten() {
        let l = common::lesson("memory");
        let knobs =
            interleave::cli::knobs_from(&l, &["share=manager".to_string()]).expect("valid knobs");
        let refused =
            interleave::cpython::compare(&l, &knobs, Origin::Seed(1), &py.2, common::LIMIT)
                .expect_err("declared not compared");
        assert!(refused.to_string().contains("SyncManager-1"), "{refused}");
        for run_in in ["run-in=process", "run-in=thread"] {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_interleave"))
                .args(["run", "memory", "--set", "share=manager", "--set", run_in])
                .args([
                    "--engine",
                    "cpython",
                    "--seed",
                    "1",
                    "--timeout",
                    "30",
                    "--python",
                ])
                .arg(&py.2)
                .output()
                .expect("interleave runs");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{} {run_in}: {text}", py.0);
            assert!(
                text.contains("ending: finished, exit code 0"),
                "{} {run_in}: {text}",
                py.0
            );
            let sees = text.matches("sees [1, 2, 3, 4]").count();
            assert_eq!(sees, 2, "{} {run_in}: both print the list: {text}", py.0);
        }
    }
}
