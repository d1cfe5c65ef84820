//! The simulator against the real thing for the pool-results lesson (issue 17,
//! item 6): a stepped run's choices of who runs next, replayed on CPython 3.8+
//! under pyenv by its shared steps (`src/cpython/follow.rs`), must print the same
//! lines in the same order.
//!
//! What the lesson adds to the pool's: a worker's send of a task's outcome is a
//! shared step (the tracer holds it before its `put()` on the pool's result queue),
//! so the parent's `get()`, `wait()` and `imap_unordered` loop, which wait for the
//! pool's own result-handler thread, end by themselves, and the outcomes come in
//! the simulator's order. `api=callback` is declared, not compared (its callbacks
//! run on that untraced thread).

#[path = "common/fidelity.rs"]
mod common;

use common::{check, lesson, pythons};
use interleave::cli::knobs_from;
use interleave::run::Origin;

/// The default, `api=async`, seed 1, on every CPython (under a second each): the
/// parent's `ready()` is False before the worker's outcome is back, `get()`
/// returns 16, and `done` comes last.
#[test]
fn apply_async_is_the_same_on_every_cpython() {
    for py in pythons() {
        let out = agrees("api=async", 1, &py);
        assert_eq!(
            out,
            ["ready? False", "16", "ready? True successful? True", "done"],
            "on {}",
            py.0
        );
    }
}

/// The other parts on the oldest and the newest CPython, seed 1 (about a second
/// each): tests of their own, so that they run beside the one above.
#[test]
fn apply_timeout_error_and_with_are_the_same_on_the_oldest_and_newest_cpython() {
    for py in ends() {
        let out = agrees("api=apply", 1, &py);
        assert_eq!(out, ["9", "done"]);
        let out = agrees("api=timeout", 1, &py);
        assert_eq!(out[0], "no result after 0.1 s");
        let out = agrees("api=error", 1, &py);
        assert!(out.iter().any(|l| l.starts_with("get() raised ValueError")));
        // The with block terminates the pool: the result never comes.
        let out = agrees("api=with", 1, &py);
        assert!(out.contains(&"no result: the with block terminated the pool".to_string()));
    }
}

/// `map` (seed 1, five seconds: ten tasks of 0.5 s on two workers) and
/// `imap_unordered` with seed 2, whose schedule has square(3) finish before
/// square(2): its results print in that order.
#[test]
fn map_and_imap_unordered_are_the_same_on_the_oldest_and_newest_cpython() {
    for py in ends() {
        let out = agrees("api=map", 1, &py);
        assert_eq!(
            out.iter().filter(|l| *l == "[0, 1, 4, 9, 16]").count(),
            2,
            "{out:?}"
        );
        let out = agrees("api=imap_unordered", 2, &py);
        assert_eq!(out, ["0", "1", "9", "4", "16", "done"]);
    }
}

/// The oldest and the newest CPython 3.8+ under pyenv.
fn ends() -> Vec<(String, u32, std::path::PathBuf)> {
    let mut all = pythons();
    if all.len() > 2 {
        all.drain(1..all.len() - 1);
    }
    all
}

/// `api=callback` is declared different, with a reason in both languages: the
/// comparison says so instead of running it.
#[test]
fn the_callbacks_are_declared_not_compared() {
    let l = lesson("pool-results");
    let set = ["api=callback".to_string()];
    let knobs = knobs_from(&l, &set).expect("valid knobs");
    let declared: Vec<_> = l
        .differs
        .iter()
        .filter(|d| d.whole() && d.applies(&knobs))
        .collect();
    assert_eq!(declared.len(), 1);
    let async_knobs = knobs_from(&l, &["api=async".to_string()]).expect("valid knobs");
    assert!(l.differs.iter().all(|d| !d.applies(&async_knobs)));
    for lang in [interleave::lesson::Lang::En, interleave::lesson::Lang::Zh] {
        assert!(declared[0].label(lang).contains("Thread-3"));
    }
}

/// The run agrees, ends with `done`, and this is what CPython printed.
fn agrees(set: &str, seed: u64, py: &(String, u32, std::path::PathBuf)) -> Vec<String> {
    let c = check("pool-results", &[set], Origin::Seed(seed), py);
    let out = c.cpython_output.clone();
    assert_eq!(
        out.last().map(String::as_str),
        Some("done"),
        "{set} seed {seed} on {}: {out:?}",
        py.0
    );
    out
}
