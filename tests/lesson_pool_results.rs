//! The `pool-results` lesson (issue 15): what a student reads in the output for
//! every part of the `api` knob, stepped over several seeds and live on real
//! worker processes, and where each result came from.

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::live::LiveRun;
use interleave::program::Instr;
use interleave::run::{Origin, Run, Start};
use interleave::trace::{EventKind, Trace};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_interleave");

fn stepped(sets: &[&str], seed: u64) -> Trace {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find("pool-results").expect("the lesson exists");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = knobs_from(l, &sets).expect("the knobs are valid");
    Run::new(l, knobs, Start::Stepped(Origin::Seed(seed)))
        .expect("the lesson builds")
        .finish_stepped()
        .expect("the run ends")
}

fn live(sets: &[&str]) -> Trace {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find("pool-results").expect("the lesson exists");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = knobs_from(l, &sets).expect("the knobs are valid");
    let program = interleave::scenarios::build(l, &knobs).expect("the lesson builds");
    let (trace, finished) =
        LiveRun::start(Arc::new(program), knobs.engine(), 1.0).wait(Duration::from_secs(30));
    assert!(finished, "pool-results {sets:?} did not finish live");
    trace
}

fn output(t: &Trace) -> Vec<String> {
    t.output.iter().map(|o| o.text.clone()).collect()
}

/// How an actor ended, by name: the exit code of its `EXIT` instruction, or of
/// the signal that ended it (an `Ended` event).
fn exit_code(t: &Trace, name: &str) -> Option<i64> {
    let a = t.program.actor_id(name)?;
    t.events.iter().rev().find_map(|e| {
        if e.actor != a {
            return None;
        }
        match (e.kind, t.program.instr(a, e.pc)) {
            (EventKind::Ended, _) => Some(e.value),
            (EventKind::Exec, Some(Instr::Exit(code))) => Some(code as i64),
            _ => None,
        }
    })
}

/// The output every part prints, as CPython printed it for the lesson's own code
/// on 3.6 to 3.13 (tools/measure/pool_results_lesson.py); `imap_unordered` is
/// checked on its own, its order changes.
fn expected(api: &str, python: &str) -> Vec<String> {
    let minor: u32 = python
        .strip_prefix("3.")
        .and_then(|m| m.parse().ok())
        .expect("a version 3.x");
    let handler = if minor >= 10 {
        "Thread-3 (_handle_results)"
    } else {
        "Thread-3"
    };
    let lines: Vec<String> = match api {
        "async" => vec![
            "ready? False".into(),
            "16".into(),
            "ready? True successful? True".into(),
        ],
        "apply" => vec!["9".into()],
        "timeout" => vec![
            "no result after 0.1 s".into(),
            "ready? True".into(),
            "16".into(),
        ],
        "error" => vec![
            "ready? True successful? False".into(),
            "get() raised ValueError('negative: -7')".into(),
        ],
        "callback" => vec![
            format!("error_callback got ValueError('negative: -7') in {handler}"),
            format!("callback got 25 in {handler}"),
        ],
        "map" => vec![
            "[0, 1, 4, 9, 16]".into(),
            "map_async returned".into(),
            "[0, 1, 4, 9, 16]".into(),
        ],
        "with" => vec![
            "leaving the with block".into(),
            "ready? False".into(),
            "no result: the with block terminated the pool".into(),
        ],
        other => panic!("no expected output for {other}"),
    };
    lines.into_iter().chain(["done".to_string()]).collect()
}

const APIS: [&str; 7] = [
    "async", "apply", "timeout", "error", "callback", "map", "with",
];

#[test]
fn every_part_prints_what_cpython_prints_over_several_seeds() {
    for api in APIS {
        for seed in [1, 2, 7, 99] {
            let set = format!("api={api}");
            let t = stepped(&[&set], seed);
            assert_eq!(output(&t), expected(api, "3.13"), "api={api} seed {seed}");
        }
    }
}

#[test]
fn the_callbacks_run_on_the_result_handler_thread_named_as_each_version_names_it() {
    for python in ["3.8", "3.9", "3.10", "3.13"] {
        let py = format!("python={python}");
        let t = stepped(&["api=callback", &py], 3);
        assert_eq!(output(&t), expected("callback", python), "{python}");
        // Printed by the parent's thread, not by a worker.
        let handler = t.output[0].actor;
        assert_eq!(t.program.actors[handler as usize].process, 0, "{python}");
        assert!(
            t.program.actors[handler as usize]
                .name
                .starts_with("Thread-3")
        );
    }
}

#[test]
fn imap_unordered_gives_every_square_once_in_an_order_that_changes() {
    let mut orders = std::collections::HashSet::new();
    for seed in 0..40 {
        let t = stepped(&["api=imap_unordered"], seed);
        let out = output(&t);
        assert_eq!(out.last().map(String::as_str), Some("done"), "seed {seed}");
        let mut got: Vec<i64> = out[..out.len() - 1]
            .iter()
            .map(|l| l.parse().expect("a number per line"))
            .collect();
        orders.insert(got.clone());
        got.sort();
        assert_eq!(got, vec![0, 1, 4, 9, 16], "seed {seed}");
    }
    assert!(orders.len() >= 2, "one order only: {orders:?}");
    assert!(
        orders.iter().any(|o| o != &vec![0, 1, 4, 9, 16]),
        "never out of order: {orders:?}"
    );
}

#[test]
fn map_keeps_the_order_whichever_worker_finishes_first() {
    for seed in 0..30 {
        let t = stepped(&["api=map", "scheduler=uniform"], seed);
        assert_eq!(output(&t), expected("map", "3.13"), "seed {seed}");
    }
}

#[test]
fn the_with_block_kills_the_workers_and_the_task_inside_never_returns() {
    let t = stepped(&["api=with"], 1);
    for w in ["ForkPoolWorker-1", "ForkPoolWorker-2"] {
        assert_eq!(exit_code(&t, w), Some(-15), "{w} is terminated");
    }
    // Every other part closes the pool: the workers end on their own.
    let t = stepped(&["api=async"], 1);
    for w in ["ForkPoolWorker-1", "ForkPoolWorker-2"] {
        assert_eq!(exit_code(&t, w), Some(0), "{w} ends after close()");
    }
}

#[test]
fn the_value_comes_from_a_worker_process() {
    let t = stepped(&["api=apply"], 5);
    // The parent waited in get(): it blocked, and a worker woke it.
    let main = t.program.actor_id("MainProcess").expect("the parent");
    let block = t
        .events
        .iter()
        .position(|e| e.actor == main && e.kind == EventKind::Block)
        .expect("the parent waits for the result");
    let wake = t.events[block..]
        .iter()
        .find(|e| e.actor == main && e.kind == EventKind::Wake)
        .expect("and is woken");
    let by = t.program.actors[wake.value as usize].name.clone();
    assert!(by.starts_with("ForkPoolWorker-"), "woken by {by}");
}

#[test]
fn live_runs_on_real_processes_print_the_same() {
    for api in ["async", "error", "callback", "with"] {
        let set = format!("api={api}");
        let t = live(&[&set]);
        assert_eq!(output(&t), expected(api, "3.13"), "live api={api}");
    }
    let t = live(&["api=with"]);
    for w in ["ForkPoolWorker-1", "ForkPoolWorker-2"] {
        assert_eq!(exit_code(&t, w), Some(-15), "live: {w} is terminated");
    }
    // Live workers are real processes: each row carries a real PID of its own.
    let pids: std::collections::HashSet<u32> = t
        .actor_labels
        .iter()
        .filter_map(|l| {
            let rest = &l[l.find("pid ")? + 4..];
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(pids.len(), 3, "{:?}", t.actor_labels);
    assert!(!pids.contains(&std::process::id()), "{:?}", t.actor_labels);
}

#[test]
fn live_imap_unordered_gives_every_square_once() {
    let t = live(&["api=imap_unordered"]);
    let out = output(&t);
    assert_eq!(out.last().map(String::as_str), Some("done"));
    let mut got: Vec<i64> = out[..out.len() - 1]
        .iter()
        .map(|l| l.parse().expect("a number per line"))
        .collect();
    got.sort();
    assert_eq!(got, vec![0, 1, 4, 9, 16]);
}

#[test]
fn the_cli_runs_every_part_and_check_accepts_the_lesson() {
    let check = Command::new(BIN).arg("check").output().expect("check runs");
    assert!(check.status.success(), "{check:?}");
    for api in APIS {
        let out = Command::new(BIN)
            .args(["run", "pool-results", "--seed", "4", "--set"])
            .arg(format!("api={api}"))
            .output()
            .expect("run runs");
        assert!(out.status.success(), "api={api}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("verdict: CORRECT"), "api={api}:\n{text}");
    }
}
