//! What the fidelity tests share (issue 17, item 6): the pyenv CPythons 3.8+, and a
//! lesson's stepped run replayed on one of them, asserted to agree.
#![allow(dead_code)]

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::cpython::{Comparison, compare};
use interleave::lesson::Lesson;
use interleave::run::{Origin, Runs};
use interleave::sim::Schedule;
use std::path::PathBuf;
use std::time::Duration;

pub const LIMIT: Duration = Duration::from_secs(60);

/// The pyenv interpreters the engine supports (3.8+), oldest first, with their
/// minor version. CI has them and must run these tests.
pub fn pythons() -> Vec<(String, u32, PathBuf)> {
    let mut found: Vec<(String, u32, PathBuf)> = interleave::cpython::pyenv_pythons()
        .into_iter()
        .filter_map(|p| {
            let v = p
                .parent()?
                .parent()?
                .file_name()?
                .to_string_lossy()
                .to_string();
            let minor: u32 = v.split('.').nth(1)?.parse().ok()?;
            (minor >= 8).then_some((v, minor, p))
        })
        .collect();
    found.reverse();
    if found.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have the CPython interpreters under pyenv"
        );
        eprintln!("no CPython 3.8+ under pyenv: nothing to compare against");
    }
    found
}

pub fn lesson(id: &str) -> Lesson {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    catalog.find(id).expect("the lesson exists").clone()
}

pub fn check(id: &str, sets: &[&str], origin: Origin, py: &(String, u32, PathBuf)) -> Comparison {
    let l = lesson(id);
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = knobs_from(&l, &sets).expect("valid knobs");
    let c = compare(&l, &knobs, origin.clone(), &py.2, LIMIT)
        .unwrap_or_else(|e| panic!("{id} {sets:?} {origin:?} on {}: {e}", py.0));
    assert_eq!(c.version, py.0, "the run was on the interpreter asked for");
    assert!(
        c.agrees(),
        "{id} {sets:?} {origin:?} on CPython {}: the simulator and CPython disagree\n{}\nsimulator's schedule: {}\nCPython's schedule: {}\nCPython's stderr: {}",
        py.0,
        c.differences().join("\n"),
        c.sim_schedule,
        c.cpython_schedule,
        c.cpython_stderr
    );
    assert!(c.shared_steps > 0 && c.followed == c.shared_steps);
    c
}

pub fn schedule(s: &str) -> Origin {
    Origin::Schedule(Runs::from(&Schedule::parse(s).expect("a schedule")))
}
