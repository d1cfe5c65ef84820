//! The `threads` lesson's issue-15 knobs: `ident=on` prints `os.getpid()` and
//! `threading.get_ident()` next to each thread's name (one PID, one ident per
//! thread; real `pthread_self()` numbers live, stand-ins stepped), and
//! `api=_thread` starts the thread with `_thread.start_new_thread` (named
//! Dummy-1, no join: main sleeps). Stepped over seeds and schedulers, live on
//! real threads, every interleaving, and the lesson's own code on real CPythons.

#[path = "common/lesson.rs"]
mod common;
use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::explore::{self, Control, Limits};
use interleave::lesson::Lang;
use interleave::live::LiveRun;
use interleave::program::Instr;
use interleave::run::{Command, Origin, Outcome, Run, Start};
use interleave::trace::{EventKind, Trace};
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_interleave");
const LESSON: &str = "threads";

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn stepped(sets: &[String], seed: u64) -> Run {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(LESSON).expect("the lesson exists");
    let knobs = knobs_from(l, sets).expect("the knobs are valid");
    let mut r = Run::new(l, knobs, Start::Stepped(Origin::Seed(seed))).expect("the lesson builds");
    assert_eq!(r.command(Command::RunToEnd), Outcome::Done, "{sets:?}");
    r
}

fn verdict(sets: &[String], t: &Trace) -> bool {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(LESSON).expect("the lesson exists");
    let knobs = knobs_from(l, sets).expect("the knobs are valid");
    interleave::trace::verdict(l, &knobs, t, true, Lang::En)
        .expect("a verdict")
        .correct
}

fn live(sets: &[String]) -> Trace {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(LESSON).expect("the lesson exists");
    let knobs = knobs_from(l, sets).expect("the knobs are valid");
    let program = interleave::scenarios::build(l, &knobs).expect("the lesson builds");
    let (trace, finished) =
        LiveRun::start(Arc::new(program), knobs.engine(), 1.0).wait(Duration::from_secs(60));
    assert!(finished, "threads {sets:?} did not finish live");
    trace
}

fn output(t: &Trace) -> Vec<String> {
    t.output.iter().map(|o| o.text.clone()).collect()
}

/// The pid and ident a `... is running... pid P, ident I` line carries.
fn pid_ident(line: &str) -> (i64, i64) {
    let tail = line
        .split_once("running... pid ")
        .unwrap_or_else(|| panic!("no pid in {line:?}"))
        .1;
    let (pid, ident) = tail.split_once(", ident ").expect("an ident");
    (
        pid.parse().expect("a whole-number pid"),
        ident.parse().expect("a whole-number ident"),
    )
}

/// Each line with the numbers after `pid ` and `ident ` masked.
fn masked(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| match l.split_once("running... pid ") {
            Some((head, _)) => format!("{head}running... pid N, ident N"),
            None => l.clone(),
        })
        .collect()
}

/// What CPython 3.8–3.13 prints, numbers masked (RESULTS §15.11).
fn expected(thread: &str, loops: u32) -> Vec<String> {
    let mut v = vec![
        "thread MainThread is running... pid N, ident N".to_string(),
        format!("thread {thread} is running... pid N, ident N"),
    ];
    v.extend((1..=loops).map(|n| format!("thread {thread} >>> {n}")));
    v.push(format!("thread {thread} ended."));
    v.push("thread MainThread ended.".to_string());
    v
}

#[test]
fn stepped_ident_is_one_pid_and_one_stand_in_ident_per_thread_over_seeds_and_schedulers() {
    for sched in ["timed", "uniform"] {
        for granularity in ["line", "bytecode"] {
            for seed in [1, 2, 7, 99, 1234] {
                let sets = s(&[
                    "ident=on",
                    "loops=3",
                    "sleep=10",
                    &format!("scheduler={sched}"),
                    &format!("granularity={granularity}"),
                ]);
                let r = stepped(&sets, seed);
                let t = r.trace();
                let out = output(t);
                assert_eq!(masked(&out), expected("LoopThread", 3), "{sets:?} {seed}");
                let (pid0, id0) = pid_ident(&out[0]);
                let (pid1, id1) = pid_ident(&out[1]);
                // One process: the simulator's PID for it; one stand-in per thread.
                assert_eq!((pid0, pid1), (1000, 1000), "{sets:?}");
                assert_eq!((id0, id1), (7000, 7001), "{sets:?}");
                assert!(verdict(&sets, t), "{sets:?} {seed}");
            }
        }
    }
}

#[test]
fn stepped_thread_api_is_dummy_1_with_no_join_and_main_sleeping_past_the_loop() {
    for sched in ["timed", "uniform"] {
        for seed in [1, 2, 7, 99, 1234] {
            for ident in ["off", "on"] {
                let sets = s(&[
                    "api=_thread",
                    &format!("ident={ident}"),
                    "loops=4",
                    "sleep=100",
                    &format!("scheduler={sched}"),
                ]);
                let r = stepped(&sets, seed);
                let t = r.trace();
                let out = output(t);
                let want = if ident == "on" {
                    expected("Dummy-1", 4)
                } else {
                    let mut v = expected("Dummy-1", 4);
                    v[0] = "thread MainThread is running...".into();
                    v[1] = "thread Dummy-1 is running...".into();
                    v
                };
                assert_eq!(masked(&out), want, "{sets:?} {seed}");
                assert!(verdict(&sets, t), "{sets:?} {seed}");
                // `_thread` has no join: main never blocks on the thread, it sleeps.
                let p = &t.program;
                assert!(
                    !p.actors[0]
                        .code
                        .iter()
                        .any(|i| matches!(i, Instr::Join(_) | Instr::JoinFor { .. })),
                    "{sets:?}"
                );
                assert!(
                    p.actors[0]
                        .code
                        .iter()
                        .any(|i| matches!(i, Instr::Sleep(_)))
                );
                assert_eq!(t.actor_labels.len(), 2);
            }
        }
    }
}

#[test]
fn the_default_program_has_no_ident_and_the_threading_api() {
    let r = stepped(&[], 1);
    let t = r.trace();
    let out = output(t);
    assert_eq!(out[0], "thread MainThread is running...");
    assert_eq!(out[1], "thread LoopThread is running...");
    assert!(
        !t.program
            .actors
            .iter()
            .any(|a| a.code.iter().any(|i| matches!(i, Instr::Ident(_))))
    );
    assert!(!t.program.uses_processes());
}

#[test]
fn live_ident_is_this_processes_pid_and_a_real_ident_per_thread() {
    let sets = s(&["ident=on", "loops=2", "sleep=10"]);
    let t = live(&sets);
    let out = output(&t);
    assert_eq!(masked(&out), expected("LoopThread", 2));
    let (pid0, id0) = pid_ident(&out[0]);
    let (pid1, id1) = pid_ident(&out[1]);
    // Live threads run in this very process, on real OS threads.
    assert_eq!(pid0, std::process::id() as i64);
    assert_eq!(pid1, pid0);
    assert_ne!(id0, id1, "two threads, two idents");
    for id in [id0, id1] {
        // pthread_self() is an address, never the stepped stand-in.
        assert!(!(7000..7100).contains(&id) && id > 0, "{id}");
    }
    assert!(!t.events.iter().any(|e| e.kind == EventKind::Deadlock));
    assert!(verdict(&sets, &t));
}

#[test]
fn live_thread_api_prints_the_whole_loop_before_main_ends() {
    let sets = s(&["api=_thread", "loops=3", "sleep=10"]);
    let t = live(&sets);
    let mut want = expected("Dummy-1", 3);
    want[0] = "thread MainThread is running...".into();
    want[1] = "thread Dummy-1 is running...".into();
    assert_eq!(output(&t), want);
    assert!(verdict(&sets, &t));
}

#[test]
fn every_interleaving_prints_the_same_lines() {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(LESSON).expect("the lesson exists");
    for sets in [
        s(&["ident=on", "loops=1", "sleep=0", "granularity=bytecode"]),
        s(&["api=_thread", "loops=1", "sleep=0", "granularity=bytecode"]),
    ] {
        let knobs = knobs_from(l, &sets).expect("knobs");
        let p = Arc::new(interleave::scenarios::build(l, &knobs).expect("builds"));
        let limits = Limits {
            max_time: Duration::from_secs(60),
            ..Limits::default()
        };
        let ex = explore::exhaustive(&p, knobs.engine(), &limits, &Control::default());
        assert!(ex.executions >= 1, "{sets:?}");
        for f in &ex.outcomes {
            assert!(!f.key.deadlock, "{sets:?}");
            assert_eq!(
                f.key.output.last().map(String::as_str),
                Some("thread MainThread ended."),
                "{sets:?}"
            );
        }
    }
}

/// The lesson's code for these knobs, as the student reads it.
fn python_code(sets: &[String]) -> String {
    common::code(LESSON, sets)
}

#[test]
fn the_lessons_own_code_prints_the_same_on_real_cpython() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut ran = 0;
    for v in ["3.8", "3.11", "3.12", "3.13"] {
        let Some(exe) = common::pyenv_python(v) else {
            continue;
        };
        for (i, sets) in [
            s(&["ident=on", "loops=2", "sleep=10"]),
            s(&["api=_thread", "ident=on", "loops=2", "sleep=10"]),
        ]
        .into_iter()
        .enumerate()
        {
            let file = dir.path().join(format!("threads_{i}.py"));
            std::fs::write(&file, python_code(&sets)).expect("writes");
            let out = std::process::Command::new(&exe)
                .arg(&file)
                .env_remove("PYTHONUNBUFFERED")
                .output()
                .expect("python runs");
            assert!(out.status.success(), "{v} {sets:?}: {out:?}");
            let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(String::from)
                .collect();
            // Our stepped run prints the same lines, numbers aside.
            let ours = output(stepped(&sets, 1).trace());
            assert_eq!(masked(&got), masked(&ours), "{v} {sets:?}");
            let (pid0, id0) = pid_ident(&got[0]);
            let (pid1, id1) = pid_ident(&got[1]);
            assert_eq!(pid0, pid1, "{v}: one process");
            assert_ne!(id0, id1, "{v}: two threads, two idents");
        }
        ran += 1;
    }
    eprintln!("ran the lesson's code on {ran} CPython versions");
}

#[test]
fn the_knobs_run_from_the_cli_and_the_text_explains_them_in_both_languages() {
    let out = std::process::Command::new(BIN)
        .args(["run", LESSON, "--seed", "1", "--set", "ident=on"])
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("thread LoopThread is running... pid 1000, ident 7001"),
        "{text}"
    );
    assert!(text.contains("CALL threading.get_ident") || text.contains("get_ident()"));
    for (lang, word) in [("en", "stand-in"), ("zh", "替身")] {
        let out = std::process::Command::new(BIN)
            .args(["run", LESSON, "--explain", "--lang", lang])
            .output()
            .expect("the binary runs");
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("get_ident"), "{lang}");
        assert!(text.contains("_thread.start_new_thread"), "{lang}");
        assert!(text.contains(word), "{lang}");
    }
}
