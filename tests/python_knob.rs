//! The `python` knob, end to end: what `interleave run LESSON --set python=3.X`
//! prints (stepped) follows what that CPython does, as measured on the pyenv
//! interpreters (tools/measure/RESULTS.md, sections 2, 5, 6 and 14).

use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_interleave");

fn run(cmd: &mut Command) -> String {
    let o: Output = cmd.stdin(Stdio::null()).output().expect("the binary runs");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.code().is_some_and(|c| c == 0 || c == 1),
        "{:?}: {}\n{out}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn interleave(lesson: &str, sets: &[&str], seed: u64) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(["run", lesson, "--seed", &seed.to_string()]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    run(&mut cmd)
}

/// The lines of the report's output section.
fn output(report: &str) -> Vec<&str> {
    report
        .lines()
        .skip_while(|l| *l != "== output ==")
        .skip(1)
        .take_while(|l| !l.starts_with("== "))
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn an_unnamed_thread_is_named_as_the_chosen_cpython_names_it() {
    for (python, name) in [("3.6-3.9", "Thread-1"), ("3.10-3.13", "Thread-1 (loop)")] {
        let r = interleave(
            "threads",
            &[
                "named=off",
                &format!("python={python}"),
                "loops=2",
                "sleep=1",
            ],
            3,
        );
        let out = output(&r);
        assert_eq!(
            out.iter()
                .filter(|l| **l == format!("thread {name} is running..."))
                .count(),
            1,
            "python={python}: {out:?}"
        );
        assert!(
            out.contains(&format!("thread {name} >>> 2").as_str()),
            "python={python}: {out:?}"
        );
        assert!(out.contains(&format!("thread {name} ended.").as_str()));
        if python == "3.6-3.9" {
            assert!(!r.contains("(loop)"), "3.6-3.9 has no (loop): {out:?}");
        }
    }
}

/// The first seed whose reader found the queue empty, and what it printed.
fn empty_queue_line(python: &str) -> String {
    (1..=40)
        .find_map(|seed| {
            let r = interleave("queue", &["nowait=on", &format!("python={python}")], seed);
            output(&r)
                .into_iter()
                .find(|l| l.contains("Empty"))
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("python={python}: no seed of 40 found the queue empty"))
}

#[test]
fn the_empty_queue_exception_is_named_as_the_chosen_cpython_names_it() {
    let old = empty_queue_line("3.6");
    assert!(
        old.ends_with(" queue.Empty") && !old.contains("_queue"),
        "3.6: {old}"
    );
    for python in ["3.7", "3.11", "3.13"] {
        let new = empty_queue_line(python);
        assert!(new.ends_with(" _queue.Empty"), "{python}: {new}");
    }
}

/// `run pool --set size=cores` on CPU 0 only: how many workers `Pool()` started.
fn pool_workers_on_one_cpu(python: &str) -> usize {
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", "0", BIN, "run", "pool", "--seed", "1"]);
    for s in [
        "size=cores",
        "tasks=6",
        "seconds=0.1",
        &format!("python={python}"),
    ] {
        cmd.args(["--set", s]);
    }
    let r = run(&mut cmd);
    let mut pids: Vec<&str> = output(&r)
        .into_iter()
        .filter_map(|l| {
            l.strip_prefix("Run task ")?
                .split_once(" (")
                .map(|(_, p)| p)
        })
        .collect();
    pids.sort();
    pids.dedup();
    pids.len()
}

/// The CPUs the machine has online, as `os.cpu_count()` counts them.
fn online_cpus() -> usize {
    let list = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .expect("Linux lists its online CPUs");
    list.trim()
        .split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => {
                b.parse::<usize>().expect("a CPU number")
                    - a.parse::<usize>().expect("a CPU number")
                    + 1
            }
            None => 1,
        })
        .sum()
}

#[test]
fn pool_without_a_size_counts_cpus_as_the_chosen_cpython_does() {
    // 3.13: os.process_cpu_count(), the CPUs this process may use (here, one).
    assert_eq!(pool_workers_on_one_cpu("3.13"), 1);
    // Before 3.13: os.cpu_count(), every CPU of the machine, whatever the affinity.
    // (Six tasks of 0.1 s keep every worker busy at least once.)
    let all = online_cpus().min(6);
    for python in ["3.12", "3.6"] {
        assert_eq!(pool_workers_on_one_cpu(python), all, "python={python}");
    }
}

#[test]
fn join_before_close_raises_what_the_chosen_cpython_raises() {
    let sets = |p: &str| {
        [
            "size=4",
            "mistake=join-before-close",
            &format!("python={p}"),
        ]
        .map(String::from)
    };
    let r36 = interleave("pool", &sets("3.6").each_ref().map(String::as_str), 1);
    assert!(
        r36.contains("AssertionError") && !r36.contains("ValueError"),
        "{r36}"
    );
    let r37 = interleave("pool", &sets("3.7").each_ref().map(String::as_str), 1);
    assert!(r37.contains("ValueError: Pool is still running"), "{r37}");
}
