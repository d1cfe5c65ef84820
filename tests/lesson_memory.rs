//! The `memory` lesson (issue 15): a global list changed in a child process (the
//! parent keeps its own copy) or in a thread (one list), then shared through a
//! `Value`, an `Array` and a `Manager().list()`. What the student reads, stepped
//! over seeds and both schedulers, live on real processes (the manager a real
//! server process), the copies the state panel shows, every interleaving, and
//! the lesson's own code on real CPythons.

#[path = "common/lesson.rs"]
mod common;
use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::explore::{self, Control, Limits};
use interleave::lesson::Lang;
use interleave::live::LiveRun;
use interleave::program::Instr;
use interleave::program::pytext::value_text;
use interleave::run::{Origin, Run, Start};
use interleave::trace::{EventKind, Trace};
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_interleave");
const LESSON: &str = "memory";
const SHARES: [&str; 4] = ["none", "value", "array", "manager"];
const RUN_IN: [&str; 2] = ["process", "thread"];

fn sets(run_in: &str, share: &str) -> Vec<String> {
    vec![format!("run-in={run_in}"), format!("share={share}")]
}

fn stepped_run(sets: &[String], seed: u64) -> Run {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(LESSON).expect("the lesson exists");
    let knobs = knobs_from(l, sets).expect("the knobs are valid");
    let mut r = Run::new(l, knobs, Start::Stepped(Origin::Seed(seed))).expect("the lesson builds");
    assert_eq!(
        r.command(interleave::run::Command::RunToEnd),
        interleave::run::Outcome::Done
    );
    r
}

/// The run's verdict: whether the main program saw the worker's change.
fn verdict(sets: &[String], t: &Trace) -> bool {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(LESSON).expect("the lesson exists");
    let knobs = knobs_from(l, sets).expect("the knobs are valid");
    interleave::trace::verdict(l, &knobs, t, true, Lang::En)
        .expect("a verdict")
        .correct
}

fn live(sets: &[String]) -> Trace {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(LESSON).expect("the lesson exists");
    let knobs = knobs_from(l, sets).expect("the knobs are valid");
    let program = interleave::scenarios::build(l, &knobs).expect("the lesson builds");
    let (trace, finished) =
        LiveRun::start(Arc::new(program), knobs.engine(), 1.0).wait(Duration::from_secs(60));
    assert!(finished, "memory {sets:?} did not finish live");
    trace
}

/// The output with each PID replaced by `PID`, and the PIDs in order.
fn lines(t: &Trace) -> (Vec<String>, Vec<String>) {
    let mut pids = Vec::new();
    let out = t
        .output
        .iter()
        .map(|o| {
            let w: Vec<&str> = o.text.splitn(3, ' ').collect();
            pids.push(w.get(1).copied().unwrap_or("").to_string());
            format!("{} PID {}", w[0], w.get(2).copied().unwrap_or(""))
        })
        .collect();
    (out, pids)
}

/// What CPython 3.6 to 3.13 printed for the lesson's code at each setting, PIDs
/// aside (tools/measure/memory_lesson.py, RESULTS.md §15.10).
fn expected(run_in: &str, share: &str) -> Vec<String> {
    let change = if share == "value" {
        "10"
    } else {
        "[1, 2, 3, 4]"
    };
    let main = if share == "none" && run_in == "process" {
        "[1, 2, 3]"
    } else {
        change
    };
    vec![
        format!("worker PID sees {change}"),
        format!("main PID sees {main}"),
    ]
}

#[test]
fn every_setting_prints_what_cpython_prints_over_seeds_and_schedulers() {
    for run_in in RUN_IN {
        for share in SHARES {
            for sched in ["timed", "uniform"] {
                for seed in [1, 2, 7, 99, 1234] {
                    let mut s = sets(run_in, share);
                    s.push(format!("scheduler={sched}"));
                    let r = stepped_run(&s, seed);
                    let t = r.trace();
                    let (out, pids) = lines(t);
                    assert_eq!(out, expected(run_in, share), "{s:?} seed {seed}");
                    // A thread prints its process's PID; a child process its own.
                    assert_eq!(pids[0] == pids[1], run_in == "thread", "{s:?} {pids:?}");
                    // The verdict: right exactly when the main program saw the change.
                    let shared = !(share == "none" && run_in == "process");
                    assert_eq!(verdict(&s, t), shared, "{s:?} seed {seed}");
                }
            }
        }
    }
}

#[test]
fn the_state_panel_shows_the_parents_list_and_the_childs_as_two_copies() {
    let s = sets("process", "none");
    let r = stepped_run(&s, 3);
    let sim = r.sim().expect("a stepped run");
    let p = r.program();
    let g = p.var_id("numbers").expect("the list");
    // One row per process that uses its copy, parent first.
    assert_eq!(p.var_rows(), vec![(g, Some(0)), (g, Some(1))]);
    assert_eq!(value_text(sim.var_in(0, g)), "[1, 2, 3]");
    assert_eq!(value_text(sim.var_in(1, g)), "[1, 2, 3, 4]");
    // The trace says the same (the view of a live run reads it).
    let t = r.trace();
    assert_eq!(
        t.var_in_process(g, 0).map(value_text).as_deref(),
        Some("[1, 2, 3]")
    );
    assert_eq!(
        t.var_in_process(g, 1).map(value_text).as_deref(),
        Some("[1, 2, 3, 4]")
    );
    // A thread has no copy: one list, one row.
    let r = stepped_run(&sets("thread", "none"), 3);
    let p = r.program();
    let g = p.var_id("numbers").expect("the list");
    assert_eq!(p.var_rows(), vec![(g, None)]);
    assert_eq!(
        value_text(r.var(g as usize).expect("a value")),
        "[1, 2, 3, 4]"
    );
    // The manager's list lives only in the server: that is the one row.
    let r = stepped_run(&sets("process", "manager"), 3);
    let p = r.program();
    let g = p.var_id("numbers").expect("the list");
    let server = p.actor_id("SyncManager-1").expect("the server");
    let sp = p.actors[server as usize].process;
    assert_eq!(p.var_rows(), vec![(g, Some(sp))]);
    let sim = r.sim().expect("a stepped run");
    assert_eq!(value_text(sim.var_in(sp, g)), "[1, 2, 3, 4]");
    // Array and Value are one copy in shared memory.
    for (share, name, want) in [
        ("array", "numbers", "[1, 2, 3, 4]"),
        ("value", "total.value", "10"),
    ] {
        let r = stepped_run(&sets("process", share), 3);
        let p = r.program();
        let g = p.var_id(name).expect("the variable");
        assert!(p.vars[g as usize].shared, "{share}");
        assert_eq!(p.var_rows(), vec![(g, None)], "{share}");
        assert_eq!(value_text(r.var(g as usize).expect("a value")), want);
    }
}

#[test]
fn before_the_child_runs_its_copy_is_the_parents_and_after_its_append_they_differ() {
    // Schedule: MainProcess creates and starts the child (2 line steps), the
    // child enters add and appends (2), then the rest.
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(LESSON).expect("the lesson exists");
    let knobs = knobs_from(l, &sets("process", "none")).expect("knobs");
    let mut r = Run::new(l, knobs, Start::Stepped(Origin::Seed(1))).expect("builds");
    let g = r.program().var_id("numbers").expect("the list");
    let copies = |r: &Run| {
        let sim = r.sim().expect("stepped");
        (value_text(sim.var_in(0, g)), value_text(sim.var_in(1, g)))
    };
    for _ in 0..2 {
        assert_eq!(
            r.command(interleave::run::Command::StepActor(0)),
            interleave::run::Outcome::Done
        );
    }
    assert_eq!(copies(&r), ("[1, 2, 3]".into(), "[1, 2, 3]".into()));
    for _ in 0..2 {
        assert_eq!(
            r.command(interleave::run::Command::StepActor(1)),
            interleave::run::Outcome::Done
        );
    }
    assert_eq!(copies(&r), ("[1, 2, 3]".into(), "[1, 2, 3, 4]".into()));
}

#[test]
fn the_manager_is_a_process_that_owns_the_list_and_answers_each_call() {
    let r = stepped_run(&sets("process", "manager"), 5);
    let t = r.trace();
    let p = &t.program;
    let server = p.actor_id("SyncManager-1").expect("the server");
    let worker = p.actor_id("Process-2").expect("the worker");
    let main = p.actor_id("MainProcess").expect("main");
    // Only the server changes the list; the worker and main send requests.
    let appends: Vec<u16> = t
        .events
        .iter()
        .filter(|e| {
            e.kind == EventKind::Exec
                && matches!(p.instr(e.actor, e.pc), Some(Instr::ListStore { .. }))
        })
        .map(|e| e.actor)
        .collect();
    assert_eq!(appends, vec![server]);
    let sends = |a: u16| {
        t.events
            .iter()
            .filter(|e| {
                e.kind == EventKind::Exec
                    && e.actor == a
                    && matches!(p.instr(e.actor, e.pc), Some(Instr::PipeSend(_)))
            })
            .count()
    };
    // The worker: append and str; main: str and shutdown; the server answers all four.
    assert_eq!((sends(worker), sends(main), sends(server)), (2, 2, 4));
    assert!(matches!(
        p.instr(
            server,
            r.sim().expect("stepped").pc(server).saturating_sub(1)
        ),
        Some(Instr::Exit(0)) | Some(Instr::PipeSend(_))
    ));
    assert!(t.events.iter().any(|e| e.actor == server
        && e.kind == EventKind::Exec
        && matches!(p.instr(e.actor, e.pc), Some(Instr::Exit(0)))));
}

#[test]
fn no_interleaving_changes_what_is_printed() {
    // join() orders the worker before main's print: every schedule gives the
    // same two lines. (The manager's requests block until answered.)
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(LESSON).expect("the lesson exists");
    for (run_in, share) in [
        ("process", "none"),
        ("thread", "none"),
        ("process", "manager"),
    ] {
        let mut s = sets(run_in, share);
        s.push("granularity=bytecode".into());
        let knobs = knobs_from(l, &s).expect("knobs");
        let p = Arc::new(interleave::scenarios::build(l, &knobs).expect("builds"));
        let limits = Limits {
            max_time: Duration::from_secs(60),
            ..Limits::default()
        };
        let ex = explore::exhaustive(&p, knobs.engine(), &limits, &Control::default());
        assert_eq!(ex.outcomes.len(), 1, "{s:?}");
        let f = &ex.outcomes[0];
        assert!(!f.key.deadlock, "{s:?}");
        let out: Vec<String> = f
            .key
            .output
            .iter()
            .map(|l| {
                let w: Vec<&str> = l.splitn(3, ' ').collect();
                format!("{} PID {}", w[0], w.get(2).copied().unwrap_or(""))
            })
            .collect();
        assert_eq!(out, expected(run_in, share), "{s:?}");
        assert!(ex.executions >= 1);
    }
}

#[test]
fn live_every_setting_on_real_processes_prints_what_cpython_prints() {
    for run_in in RUN_IN {
        for share in SHARES {
            let s = sets(run_in, share);
            let t = live(&s);
            let (out, pids) = lines(&t);
            assert_eq!(out, expected(run_in, share), "{s:?}");
            assert_eq!(pids[0] == pids[1], run_in == "thread", "{s:?} {pids:?}");
            // Real PIDs, not the simulator's 1000 + n.
            for pid in &pids {
                let n: i64 = pid.parse().expect("a PID");
                assert!(!(1000..1010).contains(&n) && n > 1, "{s:?} {pid}");
            }
            assert!(!t.events.iter().any(|e| e.kind == EventKind::Deadlock));
        }
    }
}

#[test]
fn live_the_copies_are_in_two_real_processes_and_the_manager_is_a_third() {
    let t = live(&sets("process", "none"));
    let g = t.program.var_id("numbers").expect("the list");
    assert_eq!(
        t.var_in_process(g, 0).map(value_text).as_deref(),
        Some("[1, 2, 3]")
    );
    assert_eq!(
        t.var_in_process(g, 1).map(value_text).as_deref(),
        Some("[1, 2, 3, 4]")
    );
    let t = live(&sets("process", "manager"));
    let p = &t.program;
    let server = p.actor_id("SyncManager-1").expect("the server");
    let sp = p.actors[server as usize].process;
    let g = p.var_id("numbers").expect("the list");
    // The server process ran, changed its list, and ended with 0 on shutdown.
    assert_eq!(
        t.var_in_process(g, sp).map(value_text).as_deref(),
        Some("[1, 2, 3, 4]")
    );
    assert!(t.events.iter().any(|e| e.actor == server
        && e.kind == EventKind::Exec
        && matches!(p.instr(e.actor, e.pc), Some(Instr::Exit(0)))));
    // Its label carries a real PID of its own.
    let label = &t.actor_labels[server as usize];
    assert!(label.contains("SyncManager-1"), "{label}");
}

/// The lesson's code for these knobs, as the student reads it.
fn python_code(s: &[String]) -> String {
    common::code(LESSON, s)
}

#[test]
fn the_lessons_own_code_prints_the_same_on_real_cpython() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut ran = 0;
    for v in ["3.8", "3.11", "3.12", "3.13"] {
        let Some(exe) = common::pyenv_python(v) else {
            continue;
        };
        for run_in in RUN_IN {
            for share in SHARES {
                let s = sets(run_in, share);
                let file = dir.path().join(format!("memory_{run_in}_{share}.py"));
                std::fs::write(&file, python_code(&s)).expect("writes");
                let out = std::process::Command::new(&exe)
                    .arg(&file)
                    .output()
                    .expect("python runs");
                assert!(out.status.success(), "{v} {s:?}: {out:?}");
                let text = String::from_utf8_lossy(&out.stdout);
                let got: Vec<String> = text
                    .lines()
                    .map(|l| {
                        let w: Vec<&str> = l.splitn(3, ' ').collect();
                        format!("{} PID {}", w[0], w.get(2).copied().unwrap_or(""))
                    })
                    .collect();
                assert_eq!(got, expected(run_in, share), "{v} {s:?}");
            }
        }
        ran += 1;
    }
    eprintln!("ran the lesson's code on {ran} CPython versions");
}

#[test]
fn the_lesson_checks_and_runs_from_the_cli_in_both_languages() {
    let out = std::process::Command::new(BIN)
        .args(["check"])
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{out:?}");
    let out = std::process::Command::new(BIN)
        .args(["run", LESSON, "--seed", "1"])
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("main 1000 sees [1, 2, 3]"), "{text}");
    assert!(text.contains("sees [1, 2, 3, 4]"), "{text}");
    // The shared state lists the parent's copy and the child's.
    assert!(
        text.contains("numbers in MainProcess = [1, 2, 3]\n"),
        "{text}"
    );
    assert!(
        text.contains("numbers in Process-1 = [1, 2, 3, 4]\n"),
        "{text}"
    );
    for lang in ["en", "zh"] {
        let out = std::process::Command::new(BIN)
            .args(["run", LESSON, "--explain", "--lang", lang])
            .output()
            .expect("the binary runs");
        assert!(out.status.success(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Manager"),
            "{lang}"
        );
    }
}
