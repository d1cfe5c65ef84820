//! The `start-methods` lesson (issue 15): what a student reads for each start
//! method with and without the `__main__` guard, stepped over several seeds and
//! live (a real fork, a re-exec of our binary, a real fork server), and who
//! starts whom.

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
const METHODS: [&str; 3] = ["spawn", "fork", "forkserver"];
const BOOTSTRAP: &str = "RuntimeError: An attempt has been made to start a new process before the current process has finished its bootstrapping phase.";

fn sets(method: &str, guard: &str) -> Vec<String> {
    vec![format!("method={method}"), format!("guard={guard}")]
}

fn stepped(sets: &[String], seed: u64) -> Trace {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find("start-methods").expect("the lesson exists");
    let knobs = knobs_from(l, sets).expect("the knobs are valid");
    Run::new(l, knobs, Start::Stepped(Origin::Seed(seed)))
        .expect("the lesson builds")
        .finish_stepped()
        .expect("the run ends")
}

fn live(sets: &[String]) -> Trace {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find("start-methods").expect("the lesson exists");
    let knobs = knobs_from(l, sets).expect("the knobs are valid");
    let program = interleave::scenarios::build(l, &knobs).expect("the lesson builds");
    let (trace, finished) =
        LiveRun::start(Arc::new(program), knobs.engine(), 1.0).wait(Duration::from_secs(30));
    assert!(finished, "start-methods {sets:?} did not finish live");
    trace
}

fn output(t: &Trace) -> Vec<String> {
    t.output.iter().map(|o| o.text.clone()).collect()
}

/// The lines, sorted (the two children print at the same time), as CPython
/// printed them for the lesson's code on 3.6 to 3.13
/// (tools/measure/start_methods_lesson.py).
fn expected(method: &str, guard: &str) -> Vec<String> {
    let mut lines = vec!["top level: __name__ is __main__".to_string()];
    let imports = method != "fork";
    if imports {
        lines.extend(vec!["top level: __name__ is __mp_main__".to_string(); 2]);
    }
    if imports && guard == "off" {
        lines.extend(vec![
            format!(
                "Traceback (most recent call last): … {BOOTSTRAP}"
            );
            2
        ]);
        lines.push("parent done, exit codes [1, 1]".into());
    } else {
        lines.push("child A runs f".into());
        lines.push("child B runs f".into());
        lines.push("parent done, exit codes [0, 0]".into());
    }
    lines.sort();
    lines
}

fn sorted(t: &Trace) -> Vec<String> {
    let mut out = output(t);
    out.sort();
    out
}

/// Who ran the `Fork` that started `child`, if a fork started it.
fn forked_by(t: &Trace, child: &str) -> Option<String> {
    let c = t.program.actor_id(child)?;
    t.events
        .iter()
        .find(|e| {
            e.kind == EventKind::Exec && t.program.instr(e.actor, e.pc) == Some(Instr::Fork(c))
        })
        .map(|e| t.program.actors[e.actor as usize].name.clone())
}

#[test]
fn every_method_prints_what_cpython_prints_over_several_seeds() {
    for method in METHODS {
        for guard in ["on", "off"] {
            for seed in [1, 2, 7, 99, 1234] {
                let t = stepped(&sets(method, guard), seed);
                assert_eq!(
                    sorted(&t),
                    expected(method, guard),
                    "{method} {guard} {seed}"
                );
                // The parent's own top level comes first, its summary last.
                let out = output(&t);
                assert_eq!(out[0], "top level: __name__ is __main__");
                assert!(out[out.len() - 1].starts_with("parent done"), "{out:?}");
            }
        }
    }
}

#[test]
fn a_spawned_child_runs_the_top_level_itself_before_f() {
    for method in ["spawn", "forkserver"] {
        let t = stepped(&sets(method, "on"), 3);
        for (child, letter) in [("Process-1", "A"), ("Process-2", "B")] {
            let a = t.program.actor_id(child).expect("the child");
            let mine: Vec<&str> = t
                .output
                .iter()
                .filter(|o| o.actor == a)
                .map(|o| o.text.as_str())
                .collect();
            let f = format!("child {letter} runs f");
            assert_eq!(
                mine,
                vec!["top level: __name__ is __mp_main__", f.as_str()],
                "{method}"
            );
        }
    }
    // A forked child goes straight to f.
    let t = stepped(&sets("fork", "on"), 3);
    let a = t.program.actor_id("Process-1").expect("the child");
    let mine: Vec<&str> = t
        .output
        .iter()
        .filter(|o| o.actor == a)
        .map(|o| o.text.as_str())
        .collect();
    assert_eq!(mine, vec!["child A runs f"]);
}

#[test]
fn fork_forks_the_parent_and_forkserver_forks_the_server() {
    let t = stepped(&sets("fork", "on"), 1);
    for c in ["Process-1", "Process-2"] {
        assert_eq!(forked_by(&t, c).as_deref(), Some("MainProcess"), "{c}");
    }
    assert!(t.program.actor_id("forkserver").is_none());
    let t = stepped(&sets("forkserver", "on"), 1);
    for c in ["Process-1", "Process-2"] {
        assert_eq!(forked_by(&t, c).as_deref(), Some("forkserver"), "{c}");
    }
    // Spawned children are started, not forked.
    let t = stepped(&sets("spawn", "on"), 1);
    for c in ["Process-1", "Process-2"] {
        assert_eq!(forked_by(&t, c), None, "{c}");
    }
}

#[test]
fn the_verdict_says_whether_both_children_ran_f() {
    for (method, guard, verdict) in [
        ("spawn", "on", "CORRECT"),
        ("spawn", "off", "WRONG"),
        ("forkserver", "off", "WRONG"),
        ("fork", "off", "CORRECT"),
    ] {
        let out = Command::new(BIN)
            .args(["run", "start-methods", "--seed", "5", "--set"])
            .arg(format!("method={method}"))
            .args(["--set", &format!("guard={guard}")])
            .output()
            .expect("run runs");
        assert!(out.status.success(), "{method} {guard}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("verdict: {verdict}")),
            "{method} {guard}:\n{text}"
        );
    }
}

#[test]
fn live_every_method_starts_real_processes_and_prints_the_same() {
    for method in METHODS {
        for guard in ["on", "off"] {
            let t = live(&sets(method, guard));
            assert_eq!(sorted(&t), expected(method, guard), "live {method} {guard}");
            // Every process has a real PID of its own, none of them ours.
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
            let processes = if method == "forkserver" { 4 } else { 3 };
            assert_eq!(pids.len(), processes, "{method}: {:?}", t.actor_labels);
            assert!(!pids.contains(&std::process::id()));
        }
    }
}

#[test]
fn check_accepts_the_lesson() {
    let check = Command::new(BIN).arg("check").output().expect("check runs");
    assert!(check.status.success(), "{check:?}");
}
