//! The `futures` lesson (issue 16 item 5): `concurrent.futures` with threads or
//! processes. What a student sees in stepped runs over seeds and in live runs
//! (the output, the exception a future carries, the workers' names and PIDs),
//! the GIL in the countdowns (threads take turns on one GIL, processes never
//! wait for one), the tour, `interleave check`, and the lesson's own code on
//! real CPython.

#[path = "common/lesson.rs"]
mod common;
use common::{Of, output};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use interleave::catalog::Catalog;
use interleave::lesson::Lang;
use interleave::program::{ActorId, Instr};
use interleave::run::Origin;
use interleave::trace::{ActorState, EventKind, StateReplay, Trace};
use interleave::ui::{App, AppOptions, Screen, Theme};

const LESSON: &str = "futures";
const FUTURES: Of = Of(LESSON);
const BIN: &str = env!("CARGO_BIN_EXE_interleave");

/// What part=api prints, with either executor, on CPython 3.6–3.13
/// (tools/measure/futures_code.py, RESULTS.md §17.6; 3.6 writes the repr with a
/// trailing comma).
const API_OUT: [&str; 7] = [
    "submit(square, 2).result(): 4",
    "as_completed: 4",
    "as_completed: result() raised ValueError('no 3, please')",
    "as_completed: 1",
    "map: [1, 4]",
    "map raised ValueError('no 3, please')",
    "done",
];
const CPU_OUT: [&str; 2] = ["countdowns: [0, 0]", "done"];

fn stepped(s: &[&str], seed: u64) -> Trace {
    FUTURES.stepped(s, Origin::Seed(seed))
}

fn live(s: &[&str]) -> Trace {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    FUTURES.live(s)
}

fn workers(executor: &str) -> [&'static str; 2] {
    if executor == "process" {
        ["ForkProcess-1", "ForkProcess-2"]
    } else {
        ["ThreadPoolExecutor-0_0", "ThreadPoolExecutor-0_1"]
    }
}

fn actor(t: &Trace, name: &str) -> ActorId {
    t.program
        .actor_id(name)
        .unwrap_or_else(|| panic!("no actor {name}"))
}

#[test]
fn every_seed_prints_the_results_and_the_exceptions_as_cpython_does() {
    for seed in 1..=4 {
        for executor in ["thread", "process"] {
            for extra in [
                &[][..],
                &["scheduler=uniform"],
                &["scheduler=uniform", "gil=free", "granularity=bytecode"],
                &["scheduler=uniform", "gil=gil-classic"],
            ] {
                let e = format!("executor={executor}");
                let s = [&[e.as_str()][..], extra].concat();
                let t = stepped(&s, seed);
                assert_eq!(output(&t), API_OUT, "seed {seed} {s:?}");
                assert!(t.deadlock().is_empty(), "seed {seed} {s:?}");
            }
        }
    }
}

/// The exception is printed by the main thread's `except`, never by the worker
/// that raised it, and the worker goes on with the next work item.
#[test]
fn the_exception_travels_in_the_future_to_the_thread_that_asks() {
    for executor in ["thread", "process"] {
        let t = stepped(&[&format!("executor={executor}")], 1);
        let main = if executor == "process" {
            "MainProcess"
        } else {
            "MainThread"
        };
        let main = actor(&t, main);
        for line in &t.output {
            assert_eq!(line.actor, main, "{executor}: {}", line.text);
        }
        // Both workers ran a square after square(3) raised (the map items 5-8
        // come after it): a raise ends the task, not the worker.
        let end = StateReplay::at(&t.program, &t.events, t.events.len());
        for w in workers(executor) {
            assert_eq!(
                end.state(actor(&t, w)),
                ActorState::Done(0),
                "{executor}: {w} ends normally at shutdown"
            );
        }
    }
}

/// The countdowns under a GIL model: whenever one worker thread executes a chunk
/// of the countdown while the other is in its countdown too, the other waits
/// for the GIL, and the one working holds it. Worker processes each have their
/// own GIL: the other is never waiting for one, so both can run at once.
#[test]
fn threads_take_turns_on_one_gil_while_processes_never_wait_for_one() {
    for seed in 1..=3 {
        for (executor, gil) in [
            ("thread", "gil-modern"),
            ("thread", "gil-classic"),
            ("thread", "free"),
            ("process", "gil-modern"),
        ] {
            let s = [
                "part=cpu",
                "n=1000000",
                &format!("executor={executor}"),
                &format!("gil={gil}"),
            ];
            let t = stepped(&s, seed);
            assert_eq!(output(&t), CPU_OUT, "{s:?}");
            let (both, waited) = both_counting(&t, executor);
            assert!(both > 10, "{s:?}: the countdowns overlap ({both} chunks)");
            match (executor, gil) {
                ("thread", "free") | ("process", _) => {
                    assert_eq!(waited, 0, "{s:?}: nobody waits for a GIL")
                }
                _ => assert_eq!(waited, both, "{s:?}: one GIL, one countdown at a time"),
            }
        }
    }
}

/// Walks the trace: at every countdown chunk one worker executes while the
/// other is inside `count` too, how many such chunks there are and at how many
/// the other waited for the GIL. Checks that the working one holds its
/// process's GIL (under a GIL model).
fn both_counting(t: &Trace, executor: &str) -> (usize, usize) {
    let p = &t.program;
    let ws = workers(executor).map(|w| actor(t, w));
    let mut inside = [false; 2];
    let (mut both, mut waited) = (0, 0);
    let mut r = StateReplay::new(p);
    for e in &t.events {
        r.apply(p, e);
        if e.kind != EventKind::Exec {
            continue;
        }
        let Some(i) = ws.iter().position(|&w| w == e.actor) else {
            continue;
        };
        match p.instr(e.actor, e.pc) {
            Some(Instr::Call(_)) => inside[i] = true,
            Some(Instr::Return) => inside[i] = false,
            Some(Instr::Work(_)) => {
                let process = p.actors[e.actor as usize].process;
                if let Some(holder) = r.gil_holder(process) {
                    assert_eq!(holder, e.actor, "a chunk without the GIL");
                }
                if inside[1 - i] {
                    both += 1;
                    waited += (r.state(ws[1 - i]) == ActorState::WaitingGil) as usize;
                }
            }
            _ => {}
        }
    }
    (both, waited)
}

#[test]
fn live_runs_on_real_threads_and_processes_print_what_the_lesson_says() {
    for executor in ["thread", "process"] {
        let t = live(&[&format!("executor={executor}")]);
        assert_eq!(output(&t), API_OUT, "{executor}");
        let t = live(&[&format!("executor={executor}"), "part=cpu", "n=2000000"]);
        assert_eq!(output(&t), CPU_OUT, "{executor}");
        let pid = |name: &str| {
            let label = &t.actor_labels[actor(&t, name) as usize];
            label
                .rsplit_once("(pid ")
                .and_then(|(_, pid)| pid.strip_suffix(')'))
                .unwrap_or_else(|| panic!("{label} shows no pid"))
                .to_string()
        };
        let main = pid(if executor == "process" {
            "MainProcess"
        } else {
            "MainThread"
        });
        let [w0, w1] = workers(executor).map(pid);
        if executor == "process" {
            assert!(w0 != main && w1 != main && w0 != w1, "{main} {w0} {w1}");
        } else {
            assert!(w0 == main && w1 == main, "{main} {w0} {w1}");
        }
        // The real GIL of each process: a chunk of the countdown runs only in
        // the thread that holds it, and one process never has two holders.
        // Worker processes run their chunks each under a GIL of its own.
        let p = &t.program;
        let mut r = StateReplay::new(p);
        let mut chunks = 0;
        for e in &t.events {
            if e.kind == EventKind::GilTake {
                let process = p.actors[e.actor as usize].process;
                assert_eq!(r.gil_holder(process), None, "{executor}: two holders");
            }
            r.apply(p, e);
            if e.kind == EventKind::Exec && matches!(p.instr(e.actor, e.pc), Some(Instr::Work(_))) {
                let process = p.actors[e.actor as usize].process;
                let holder = r.gil_holder(process);
                if executor == "thread" {
                    assert_eq!(holder, Some(e.actor), "a chunk without the GIL");
                } else {
                    // A worker process is alone in its process: nobody else
                    // could want its GIL.
                    assert!(holder.is_none() || holder == Some(e.actor), "{holder:?}");
                }
                chunks += 1;
            }
        }
        assert_eq!(chunks, 2 * 2_000_000 / 25_000, "{executor}");
    }
}

fn app(seed: u64) -> App {
    App::new(
        Catalog::embedded().expect("embedded lessons load"),
        Lang::En,
        AppOptions {
            theme: Theme { color: false },
            seed,
            state_file: None,
            predict: false,
        },
    )
}

#[test]
fn the_tour_runs_through_with_its_own_moves() {
    for seed in [1, 7, 12345] {
        let mut a = app(seed);
        a.open(LESSON).expect("opens");
        let n = match &a.screen {
            Screen::Lesson(ls) => ls.lesson.tour.len(),
            Screen::Browser => unreachable!(),
        };
        assert!(n >= 3);
        for want in 1..=n {
            a.handle(Event::Key(KeyEvent::new(
                KeyCode::Char('D'),
                KeyModifiers::NONE,
            )));
            let got = match &a.screen {
                Screen::Lesson(ls) => ls.tour.step,
                Screen::Browser => unreachable!(),
            };
            assert_eq!(got, want, "seed {seed}: step {want}: {:?}", a.status);
        }
    }
}

#[test]
fn the_lesson_checks_and_runs_from_the_cli_in_both_languages() {
    let out = std::process::Command::new(BIN)
        .arg("check")
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{out:?}");
    for executor in ["thread", "process"] {
        let out = std::process::Command::new(BIN)
            .args(["run", LESSON, "--seed", "1", "--set"])
            .arg(format!("executor={executor}"))
            .output()
            .expect("the binary runs");
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        for line in API_OUT {
            assert!(text.contains(line), "{executor}: {line}\n{text}");
        }
        for w in workers(executor) {
            assert!(text.contains(w), "{executor}: {w}\n{text}");
        }
    }
    for (lang, word) in [("en", "as_completed"), ("zh", "执行器")] {
        let out = std::process::Command::new(BIN)
            .args(["run", LESSON, "--explain", "--lang", lang])
            .output()
            .expect("the binary runs");
        assert!(out.status.success(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(word),
            "{lang}"
        );
    }
}

/// The lesson's code for these knobs, as the student reads it.
fn python_code(s: &[&str]) -> String {
    common::code(LESSON, &common::sets(s))
}

#[test]
fn the_lessons_own_code_prints_the_same_on_real_cpython() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut ran = 0;
    for v in ["3.8", "3.11", "3.12", "3.13"] {
        let Some(exe) = common::pyenv_python(v) else {
            continue;
        };
        for executor in ["thread", "process"] {
            for (part, want) in [("api", &API_OUT[..]), ("cpu", &CPU_OUT[..])] {
                let s = [
                    &*format!("executor={executor}"),
                    &*format!("part={part}"),
                    "n=200000",
                ];
                let file = dir.path().join(format!("futures_{executor}_{part}.py"));
                std::fs::write(&file, python_code(&s)).expect("writes");
                let out = std::process::Command::new(&exe)
                    .arg(&file)
                    .output()
                    .expect("python runs");
                assert!(out.status.success(), "{v} {s:?}: {out:?}");
                let text = String::from_utf8_lossy(&out.stdout);
                assert_eq!(text.lines().collect::<Vec<_>>(), want, "{v} {s:?}");
                // The stepped run of the same knobs prints the same.
                assert_eq!(output(&stepped(&s, 1)), want, "{v} {s:?}");
            }
        }
        ran += 1;
    }
    eprintln!("ran the lesson's code on {ran} CPython versions");
}

/// Every interleaving of part=api (DPOR): the sleeps decide the finishing
/// order, so whatever the schedule, the futures give the same results and
/// exceptions in the same order, on threads with or without a GIL and on
/// processes.
#[test]
fn exploration_finds_one_outcome_whatever_the_schedule() {
    for s in [
        &["executor=thread"][..],
        &["executor=thread", "gil=free"],
        &["executor=process"],
    ] {
        let keys = FUTURES.outcomes(s, 300);
        assert_eq!(keys.len(), 1, "{s:?}: {keys:?}");
        assert_eq!(keys[0].output, API_OUT, "{s:?}");
        assert!(!keys[0].deadlock, "{s:?}");
    }
}
