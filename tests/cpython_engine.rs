//! `--engine cpython`: the lesson's own code on every real CPython under pyenv,
//! stepped by us. What a student reads: the output, the globals at the end, the
//! ending, and a schedule that replays the run.

#[path = "common/fidelity.rs"]
mod fidelity;

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_interleave");

/// The pyenv interpreters the engine supports (3.8+), oldest first. CI has them and
/// must run these tests; elsewhere, without pyenv, there is nothing to test against.
fn pythons() -> Vec<(String, PathBuf)> {
    fidelity::pythons()
        .into_iter()
        .map(|(v, _, p)| (v, p))
        .collect()
}

struct Ran {
    code: i32,
    out: String,
    err: String,
}

fn run(args: &[&str]) -> Ran {
    let o = Command::new(BIN)
        .args(["run"])
        .args(args)
        .output()
        .expect("the binary runs");
    Ran {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn cpython(lesson: &str, python: &Path, extra: &[&str]) -> Ran {
    let p = python.to_string_lossy().to_string();
    let mut args = vec![
        lesson,
        "--engine",
        "cpython",
        "--python",
        &p,
        "--timeout",
        "60",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn line_after<'a>(out: &'a str, prefix: &str) -> Option<&'a str> {
    out.lines().find_map(|l| l.strip_prefix(prefix))
}

#[test]
fn a_real_cpython_loses_an_update_when_we_step_it() {
    for (v, py) in pythons() {
        let mut lost = None;
        for seed in 1..=30 {
            let r = cpython(
                "balance-race",
                &py,
                &["--set", "iterations=1", "--seed", &seed.to_string()],
            );
            assert_eq!(r.code, 0, "{v} seed {seed}: {}{}", r.out, r.err);
            assert!(r.out.contains(&format!("CPython {v}")), "{v}: {}", r.out);
            let balance = line_after(&r.out, "globals at the end: balance = ").unwrap_or("?");
            if balance != "0" {
                lost = Some((seed, balance.to_string()));
                break;
            }
        }
        let (seed, balance) = lost.unwrap_or_else(|| panic!("{v}: 30 seeds and no update lost"));
        assert!(
            ["-8", "-5", "-3", "3", "5", "8"].contains(&balance.as_str()),
            "{v} seed {seed}: balance {balance} is not a value this program can reach"
        );
    }
}

#[test]
fn a_seed_and_its_schedule_replay_the_same_run() {
    for (v, py) in pythons().into_iter().rev().take(2) {
        let a = cpython(
            "balance-race",
            &py,
            &["--set", "iterations=2", "--seed", "11"],
        );
        let b = cpython(
            "balance-race",
            &py,
            &["--set", "iterations=2", "--seed", "11"],
        );
        let interleaving = |r: &Ran| {
            r.out
                .lines()
                .skip_while(|l| !l.starts_with("interleaving"))
                .take_while(|l| !l.starts_with("replay:"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            interleaving(&a),
            interleaving(&b),
            "{v}: the same seed, another run"
        );
        let schedule =
            line_after(&a.out, "schedule: ").expect("a controlled run prints its schedule");
        let c = cpython(
            "balance-race",
            &py,
            &["--set", "iterations=2", "--schedule", schedule],
        );
        assert_eq!(c.code, 0, "{v}: {}", c.err);
        assert_eq!(
            interleaving(&a),
            interleaving(&c),
            "{v}: the schedule did not replay the run"
        );
    }
}

#[test]
fn with_the_lock_every_stepped_run_ends_at_zero() {
    for (v, py) in pythons().into_iter().rev().take(3) {
        for seed in 1..=4 {
            let r = cpython(
                "balance-race",
                &py,
                &[
                    "--set",
                    "iterations=2",
                    "--set",
                    "lock=on",
                    "--seed",
                    &seed.to_string(),
                ],
            );
            assert_eq!(r.code, 0, "{v}: {}", r.err);
            assert_eq!(
                line_after(&r.out, "globals at the end: balance = "),
                Some("0"),
                "{v} seed {seed}"
            );
            assert!(r.out.contains("output:\n  MainThread"), "{v}: {}", r.out);
        }
    }
}

#[test]
fn the_deadlock_is_seen_stepped_and_free() {
    let Some((v, py)) = pythons().pop() else {
        return;
    };
    let r = cpython("deadlock", &py, &["--seed", "1"]);
    assert_eq!(r.code, 3, "{v}: {}{}", r.out, r.err);
    assert!(r.out.contains("DEADLOCK"), "{}", r.out);
    assert!(
        r.out.contains("t1 holds lock_a") && r.out.contains("t2 holds lock_b"),
        "{}",
        r.out
    );
    // Free: the real GIL and the nap make the cycle; we see every thread blocked.
    let r = cpython("deadlock", &py, &["--live"]);
    assert_eq!(r.code, 3, "{v}: {}{}", r.out, r.err);
    assert!(
        !r.out.contains("schedule:"),
        "a free run has no schedule: {}",
        r.out
    );
}

#[test]
fn what_cannot_run_says_why() {
    let r = run(&[
        "balance-race",
        "--engine",
        "cpython",
        "--python",
        "/nonexistent/python3",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.err
            .contains("no Python interpreter at /nonexistent/python3"),
        "{}",
        r.err
    );
    let Some((_, py)) = pythons().pop() else {
        return;
    };
    let p = py.to_string_lossy().to_string();
    // (subprocess and spawn children run now: tests/cpython_processes.rs.)
    // A schedule that names a thread that cannot go.
    let r = run(&[
        "balance-race",
        "--engine",
        "cpython",
        "--python",
        &p,
        "--schedule",
        "2",
    ]);
    assert_eq!(r.code, 2, "{}", r.out);
    assert!(
        r.err
            .contains("schedule step 1: thread 2 cannot take a step now"),
        "{}",
        r.err
    );
    // 3.6 has no opcode tracing.
    if let Some(old) = interleave::cpython::pyenv_pythons()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("/3.6."))
    {
        let o = old.to_string_lossy().to_string();
        let r = run(&[
            "balance-race",
            "--engine",
            "cpython",
            "--python",
            &o,
            "--seed",
            "1",
        ]);
        assert_eq!(r.code, 2);
        assert!(r.err.contains("cannot be stepped by bytecode"), "{}", r.err);
    }
}

/// The tutorial's race as a student would type it into their own file.
const STUDENT_RACE: &str = "import threading

balance = 0

def change_it(n):
    global balance
    balance = balance + n
    balance = balance - n

def run_thread(n):
    for i in range(2):
        change_it(n)

t1 = threading.Thread(target=run_thread, args=(5,))
t2 = threading.Thread(target=run_thread, args=(8,))
t1.start()
t2.start()
t1.join()
t2.join()
print(balance)
";

fn student_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the student's file");
    path.to_string_lossy().into_owned()
}

#[test]
fn a_students_own_file_runs_stepped_and_replays_from_its_schedule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let race = student_file(dir.path(), "race.py", STUDENT_RACE);
    for (v, py) in pythons() {
        // One thread at a time, lowest first: no update can be lost.
        let serial = cpython(&race, &py, &["--schedule", "0"]);
        assert_eq!(serial.code, 0, "{v}: {}", serial.err);
        assert!(
            serial.out.contains("race.py — CPython"),
            "{v}: {}",
            serial.out
        );
        assert_eq!(
            line_after(&serial.out, "globals at the end: "),
            Some("balance = 0"),
            "{v}"
        );
        let seeded = cpython(&race, &py, &["--seed", "5"]);
        assert_eq!(seeded.code, 0, "{v}: {}", seeded.err);
        let schedule = line_after(&seeded.out, "schedule: ")
            .expect("a schedule")
            .to_string();
        let again = cpython(&race, &py, &["--schedule", &schedule]);
        assert_eq!(
            line_after(&again.out, "globals at the end: "),
            line_after(&seeded.out, "globals at the end: "),
            "{v}: the schedule replays the seeded run"
        );
    }
}

#[test]
fn a_students_file_with_a_syntax_error_is_refused_clearly_and_a_fork_is_followed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = student_file(dir.path(), "bad.py", "x = (\nprint(x)\n");
    let fork = student_file(
        dir.path(),
        "fork.py",
        "import os\npid = os.fork()\nprint(pid)\n",
    );
    for (v, py) in pythons() {
        let r = cpython(&bad, &py, &["--seed", "1"]);
        assert_eq!(r.code, 2, "{v}: {}", r.err);
        // Where CPython puts the error: line 1 on 3.10+, line 2 (EOF) on 3.8 and 3.9.
        assert!(
            (r.err.contains("bad.py:1:") || r.err.contains("bad.py:2:"))
                && r.err.contains("SyntaxError"),
            "{v}: {}",
            r.err
        );
        // Both sides of the fork print: the child's 0 and the parent's child PID.
        let r = cpython(&fork, &py, &["--seed", "1"]);
        assert_eq!(r.code, 0, "{v}: {}", r.err);
        let out = r.out.split("output:").nth(1).unwrap_or_default();
        let printed: Vec<&str> = out
            .lines()
            .filter_map(|l| l.split(")  ").nth(1))
            .map(str::trim)
            .collect();
        assert_eq!(printed.len(), 2, "{v}: {}", r.out);
        assert!(printed.contains(&"0"), "{v}: {}", r.out);
    }
    let r = run(&[&dir.path().join("missing.py").to_string_lossy()]);
    assert_eq!(r.code, 2);
    assert!(r.err.contains("missing.py"), "{}", r.err);
}
