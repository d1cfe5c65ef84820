//! The simulator against the real thing for the pool lesson (issue 17, item 6): a
//! stepped run's choices of who runs next, replayed on every CPython 3.8+ under
//! pyenv by its shared steps (`src/cpython/follow.rs`), must print the same lines
//! in the same order.
//!
//! What the pool adds: which worker takes which task is a shared step (the tracer
//! holds each worker before its `get()` on the pool's queue), and the pool sends
//! its stop signals only once every result is back, so a worker's `get()` may wait
//! for the parent's `close()` or another worker's last result.

#[path = "common/fidelity.rs"]
mod common;

use common::{check, pythons};
use interleave::run::Origin;

/// The PID masked as the process it names: `Run task 4 (<pid of process 1>)...`.
fn process_of<'a>(out: &'a [String], prefix: &str) -> &'a str {
    let l = out
        .iter()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?}: {out:?}"));
    l.split('(').nth(1).unwrap_or("")
}

/// Pool(4), five tasks, seed 1, on every CPython (each run takes about 3 s): the
/// same workers take the same tasks and print in the same order; every worker ends
/// after the last task's `done`, and the parent prints last.
#[test]
fn the_pool_lesson_is_the_same_on_every_cpython() {
    for py in pythons() {
        agrees("size=4", 1, &py);
    }
}

/// Pool(3) seed 2 and Pool(1) on the oldest and the newest CPython: a test of its
/// own, so that it runs beside the one above.
#[test]
fn other_pool_sizes_are_the_same_on_the_oldest_and_newest_cpython() {
    let all = pythons();
    for py in [all.first(), all.last()].into_iter().flatten() {
        agrees("size=3", 2, py);
        agrees("size=1", 1, py);
    }
}

fn agrees(set: &str, seed: u64, py: &(String, u32, std::path::PathBuf)) {
    let c = check("pool", &[set], Origin::Seed(seed), py);
    let out = &c.cpython_output;
    assert_eq!(
        out.last().map(String::as_str),
        Some("All subprocesses done.")
    );
    assert_eq!(out.iter().filter(|l| l.starts_with("Task ")).count(), 5);
    // Task 4 waited for a free worker: it ran in one that had run a task.
    let four = process_of(out, "Run task 4");
    assert!(
        (0..4).any(|i| process_of(out, &format!("Run task {i} ")) == four),
        "{set} seed {seed} on {}: {out:?}",
        py.0
    );
}
