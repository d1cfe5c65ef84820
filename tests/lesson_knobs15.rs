//! Issue 15's knobs in existing lessons: the pipe lesson sending the tutorial's
//! strings (`payload=str`), and the process lesson's four processes joined each,
//! with `join(0.5)`, or not at all (`join=each|timeout|none`); stepped over a few
//! seeds and live, as CPython prints them (tools/measure/lesson_knobs.py,
//! RESULTS.md §19).

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::live::LiveRun;
use interleave::run::{Origin, Run, Start};
use interleave::trace::Trace;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_interleave");

fn knobs(lesson: &str, sets: &[&str]) -> (interleave::lesson::Lesson, interleave::lesson::Knobs) {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(lesson).expect("the lesson exists").clone();
    let all: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let k = knobs_from(&l, &all).expect("the knobs are valid");
    (l, k)
}

fn stepped(lesson: &str, sets: &[&str], seed: u64) -> Trace {
    let (l, k) = knobs(lesson, sets);
    Run::new(&l, k, Start::Stepped(Origin::Seed(seed)))
        .expect("the lesson builds")
        .finish_stepped()
        .expect("the run ends")
}

/// A live run, its sleeps `speed` times faster; it must finish.
fn live(lesson: &str, sets: &[&str], speed: f64) -> Trace {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    let (l, k) = knobs(lesson, sets);
    let program = interleave::scenarios::build(&l, &k).expect("the lesson builds");
    let (t, finished) =
        LiveRun::start(Arc::new(program), k.engine(), speed).wait(Duration::from_secs(60));
    assert!(finished, "the live run of {lesson} {sets:?} finished");
    t
}

fn output(t: &Trace) -> Vec<String> {
    t.output.iter().map(|o| o.text.clone()).collect()
}

/// What CPython 3.6–3.13 print for the pipe lesson with `payload=str`
/// (`python -u`, so in the order the prints ran).
const PIPE_STR: [&str; 3] = [
    "parent got Hello shiyanlou",
    "child got Hello from the parent",
    "EOFError: the child closed its end",
];

#[test]
fn the_pipe_carries_the_tutorials_strings_stepped() {
    for seed in 1..=5 {
        let t = stepped("pipe", &["payload=str"], seed);
        assert_eq!(output(&t), PIPE_STR, "seed {seed}");
    }
    // The default still sends numbers.
    let t = stepped("pipe", &[], 1);
    assert_eq!(output(&t)[..2], ["parent got 42", "child got 43"]);
}

#[test]
fn the_pipe_carries_the_tutorials_strings_between_real_processes() {
    for _ in 0..2 {
        let t = live("pipe", &["payload=str"], 1.0);
        assert_eq!(output(&t), PIPE_STR);
    }
}

#[test]
fn the_interleaving_shows_the_strings_as_python_writes_them() {
    for live in [false, true] {
        let mut cmd = Command::new(BIN);
        cmd.args(["run", "pipe", "--set", "payload=str"]);
        cmd.args(if live {
            ["--live"].as_slice()
        } else {
            &["--seed", "2"]
        });
        let out = cmd
            .env("INTERLEAVE_WORKER_EXE", BIN)
            .output()
            .expect("runs");
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("conn.send('Hello shiyanlou')  # sent 'Hello shiyanlou'"),
            "live={live}\n{text}"
        );
        assert!(
            text.contains("# received 'Hello from the parent'"),
            "live={live}\n{text}"
        );
        assert!(text.contains("verdict: CORRECT"), "live={live}\n{text}");
    }
}

/// The four processes' lines: each `X piao` before its own `X piao end`, the
/// ends in the order of their sleeps (a 1 s, y 2 s, e 3 s, w 4 s), and the main
/// line once. Gives the main line's index.
fn check_four(out: &[String]) -> usize {
    assert_eq!(
        out.iter().filter(|l| l.ends_with(" piao")).count(),
        4,
        "{out:?}"
    );
    let ends: Vec<&str> = out
        .iter()
        .filter(|l| l.ends_with(" piao end"))
        .map(|l| &l[..1])
        .collect();
    assert_eq!(ends, ["a", "y", "e", "w"], "{out:?}");
    for name in ["e", "a", "w", "y"] {
        let at = |text: String| out.iter().position(|l| *l == text);
        assert!(
            at(format!("{name} piao")) < at(format!("{name} piao end")),
            "{out:?}"
        );
    }
    let main: Vec<usize> = (0..out.len()).filter(|&i| out[i] == "主线程").collect();
    assert_eq!(main.len(), 1, "{out:?}");
    main[0]
}

fn first_end(out: &[String]) -> usize {
    out.iter()
        .position(|l| l.ends_with(" piao end"))
        .expect("an end line")
}

#[test]
fn without_join_the_main_line_comes_before_every_end_and_the_program_waits() {
    for seed in 1..=8 {
        let t = stepped("process", &["join=none"], seed);
        let out = output(&t);
        let main = check_four(&out);
        assert!(main < first_end(&out), "seed {seed}: {out:?}");
        // multiprocessing's exit handler joins the children: the main process
        // is the last to end.
        let last = t.events.last().expect("events");
        assert_eq!(last.actor, 0, "seed {seed}: MainProcess ends last");
    }
}

#[test]
fn joined_each_the_main_line_comes_last() {
    for seed in 1..=5 {
        let out = output(&stepped("process", &["join=each"], seed));
        assert_eq!(check_four(&out), 8, "seed {seed}: {out:?}");
    }
}

#[test]
fn join_with_a_timeout_returns_while_p1_still_runs() {
    for seed in 1..=5 {
        let out = output(&stepped("process", &["join=timeout"], seed));
        let main = check_four(&out);
        let attrs = out.iter().position(|l| l == "Process-1 True None");
        assert_eq!(attrs, Some(main - 1), "seed {seed}: {out:?}");
        assert!(main < first_end(&out), "seed {seed}: {out:?}");
    }
}

#[test]
fn live_the_four_real_processes_print_as_cpython_does() {
    // Sleeps 10 times faster: p1's 3 s is 0.3 s, join(0.5) waits 0.05 s.
    for join in ["none", "timeout", "each"] {
        let t = live("process", &[&format!("join={join}")], 10.0);
        let out = output(&t);
        let main = check_four(&out);
        match join {
            "each" => assert_eq!(main, 8, "{out:?}"),
            _ => assert!(main < first_end(&out), "{join}: {out:?}"),
        }
        if join == "timeout" {
            assert_eq!(out[main - 1], "Process-1 True None", "{out:?}");
        }
    }
}

/// CPython 3.6–3.13 (tools/measure/daemon_children.py): the same last line.
const DAEMON_CHILDREN: &str = "AssertionError: daemonic processes are not allowed to have children";

#[test]
fn a_daemon_named_with_kwargs_may_not_have_children() {
    let sets = ["daemon=on", "grandchild=on"];
    let check = |out: &[String]| {
        assert!(
            out.iter().any(|l| l.starts_with("Hello from Daemon (")),
            "{out:?}"
        );
        let raised: Vec<&String> = out.iter().filter(|l| l.contains(DAEMON_CHILDREN)).collect();
        assert_eq!(raised.len(), 1, "{out:?}");
        assert!(
            raised[0].starts_with("Process Daemon: Traceback"),
            "{out:?}"
        );
        assert_eq!(
            out.last().map(String::as_str),
            Some("Parent process ends. Daemon False")
        );
    };
    for seed in 1..=3 {
        let t = stepped("process", &sets, seed);
        check(&output(&t));
    }
    let t = live("process", &sets, 5.0);
    check(&output(&t));
    // Without grandchild the daemon is Process-2 and is terminated at exit.
    let out = output(&stepped("process", &["daemon=on"], 1));
    assert_eq!(
        out.last().map(String::as_str),
        Some("Parent process ends. Process-2 True")
    );
}
