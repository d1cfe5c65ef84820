//! Issue 15's `queue-api` lesson as a student meets it: the hints `empty()`,
//! `full()` and `qsize()`, `put_nowait` caught as `queue.Full`, a writer blocked
//! on a full `Queue(3)`, two writers' letters each in their own order, and the
//! timed `get` caught as `queue.Empty`; stepped over seeds and schedules, live on
//! real worker processes, and its own Python code on real CPythons where they are
//! installed.

#[path = "common/lesson.rs"]
mod common;

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::explore::{self, Control};
use interleave::lesson::Lang;
use interleave::live::LiveRun;
use interleave::program::Instr;
use interleave::run::{Origin, Run, Runs, Start};
use interleave::sim::Schedule;
use interleave::trace::{EventKind, Trace};
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_interleave");
const LESSON: &str = "queue-api";

fn stepped_from(sets: &[&str], origin: Origin) -> (Trace, bool) {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(LESSON).expect("the lesson exists");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = knobs_from(l, &sets).expect("the knobs are valid");
    let t = Run::new(l, knobs.clone(), Start::Stepped(origin))
        .expect("the lesson builds")
        .finish_stepped()
        .expect("the run ends");
    let v = interleave::trace::verdict(l, &knobs, &t, true, Lang::En).expect("a verdict");
    (t, v.correct)
}

fn stepped(sets: &[&str], seed: u64) -> (Trace, bool) {
    stepped_from(sets, Origin::Seed(seed))
}

fn live(sets: &[&str]) -> Trace {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(LESSON).expect("the lesson exists");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = knobs_from(l, &sets).expect("the knobs are valid");
    let program = interleave::scenarios::build(l, &knobs).expect("the lesson builds");
    let (trace, finished) =
        LiveRun::start(Arc::new(program), knobs.engine(), 1.0).wait(Duration::from_secs(30));
    assert!(finished, "{LESSON} did not finish live");
    trace
}

fn output(t: &Trace) -> Vec<String> {
    t.output.iter().map(|o| o.text.clone()).collect()
}

/// The letters of the Get lines, in order.
fn gets(out: &[String]) -> String {
    out.iter()
        .filter_map(|l| l.strip_prefix("Get "))
        .filter_map(|l| l.chars().next())
        .collect()
}

/// What the lesson says every run prints, at Queue(`maxsize`).
fn check_shape(out: &[String], maxsize: u32, timeout: &str) {
    assert_eq!(out[0], "empty: True, full: False, qsize: 0", "{out:?}");
    let hint = format!("empty: False, full: True, qsize: {maxsize}");
    assert_eq!(
        out.iter().filter(|l| **l == hint).count(),
        1,
        "the second hint: {out:?}"
    );
    let at = |s: &str| out.iter().position(|l| l == s);
    assert!(at(&hint) < at("put_nowait: queue.Full"), "{out:?}");
    let g = gets(out);
    assert_eq!(g.len(), 6, "six letters: {out:?}");
    let own = |set: &str| g.chars().filter(|c| set.contains(*c)).collect::<String>();
    assert_eq!(own("ABC"), "ABC", "writer 1's order: {out:?}");
    assert_eq!(own("XYZ"), "XYZ", "writer 2's order: {out:?}");
    assert!(at("put_nowait: queue.Full") < at("Get A from queue."));
    let empty = format!("get(True, {timeout}): queue.Empty");
    assert_eq!(
        out.last(),
        Some(&empty),
        "the timed get ends the output: {out:?}"
    );
    // Only the main process prints: ten lines, none glued to another.
    assert_eq!(out.len(), 10, "{out:?}");
}

/// Whether a writer's `put` blocked on the full queue at some point.
fn a_writer_blocked_on_put(t: &Trace) -> bool {
    let p = &t.program;
    t.events.iter().any(|e| {
        e.kind == EventKind::Block
            && e.actor != 0
            && matches!(p.instr(e.actor, e.pc), Some(Instr::QueuePut { .. }))
    })
}

#[test]
fn stepped_runs_print_the_hints_the_exceptions_and_every_letter_in_its_writers_order() {
    for sched in ["timed", "uniform"] {
        for maxsize in [1, 2, 3] {
            for seed in 1..=12 {
                let m = format!("maxsize={maxsize}");
                let s = format!("scheduler={sched}");
                let (t, correct) = stepped(&[&m, &s], seed);
                let out = output(&t);
                check_shape(&out, maxsize, "0.5");
                assert!(correct, "{sched} {maxsize} seed {seed}: {out:?}");
                assert!(a_writer_blocked_on_put(&t), "{sched} {maxsize} {seed}");
                assert!(t.deadlock().is_empty());
            }
        }
    }
}

#[test]
fn several_writers_mix_differently_from_run_to_run() {
    let mut orders = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let (t, _) = stepped(&["scheduler=uniform"], seed);
        orders.insert(gets(&output(&t)));
    }
    assert!(orders.len() >= 3, "only {orders:?}");
    assert!(orders.contains("ABCXYZ") || orders.contains("XYZABC"));
}

#[test]
fn full_said_false_and_the_put_waited_anyway() {
    // The tour: Process-1 puts A and B, Process-2 asks full() (False), Process-1
    // asks too and puts C, Process-2's put finds the queue full.
    let s = Schedule::parse("0x6 1x7 2x3 1x3 2").expect("a schedule");
    let (t, correct) = stepped_from(&[], Origin::Schedule(Runs::from(&s)));
    let p = &t.program;
    let at = |actor: u16, what: &dyn Fn(Instr) -> bool, kind: EventKind| {
        t.events.iter().position(|e| {
            e.actor == actor && e.kind == kind && p.instr(actor, e.pc).is_some_and(what)
        })
    };
    let asked = at(2, &|i| matches!(i, Instr::QueueAsk { .. }), EventKind::Exec)
        .expect("Process-2 asks full()");
    assert_eq!(t.events[asked].value, 0, "full() said False");
    let put_c = t
        .events
        .iter()
        .position(|e| {
            e.actor == 1
                && e.kind == EventKind::Exec
                && e.value == 'C' as i64
                && matches!(p.instr(1, e.pc), Some(Instr::QueuePut { .. }))
        })
        .expect("Process-1 puts C");
    let blocked = at(
        2,
        &|i| matches!(i, Instr::QueuePut { .. }),
        EventKind::Block,
    )
    .expect("Process-2 blocks on put");
    assert!(
        asked < put_c && put_c < blocked,
        "{asked} {put_c} {blocked}"
    );
    check_shape(&output(&t), 3, "0.5");
    assert!(correct);
}

#[test]
fn the_timed_get_waits_its_timeout_on_the_virtual_clock() {
    for (timeout, ns) in [
        ("0.5", 500_000_000u64),
        ("0.1", 100_000_000),
        ("1", 1_000_000_000),
    ] {
        let k = format!("timeout={timeout}");
        let (t, correct) = stepped(&[&k], 3);
        check_shape(&output(&t), 3, timeout);
        assert!(correct);
        let p = &t.program;
        let is_timed_get = |e: &&interleave::trace::Event| {
            e.actor == 0 && matches!(p.instr(0, e.pc), Some(Instr::QueueTry { put: false, .. }))
        };
        let start = t
            .events
            .iter()
            .filter(is_timed_get)
            .find(|e| e.kind == EventKind::Block)
            .expect("the timed get waits");
        let end = t
            .events
            .iter()
            .filter(is_timed_get)
            .find(|e| e.kind == EventKind::Exec)
            .expect("and then raises");
        let waited = end.t_ns - start.t_ns;
        assert!(
            waited >= ns && waited < ns + 1_000_000,
            "{timeout}: waited {waited} ns"
        );
    }
}

#[test]
fn a_timed_get_that_an_item_reaches_in_time_takes_it() {
    // The simulator's timed wait is woken by a put: build a program where the
    // main process's get(True, 0.5) waits and a writer then puts.
    use interleave::program::{ActorKind, ProgramBuilder};
    let code = "def w():\n    q.put(1)\nv = q.get(True, 0.5)\nprint(v)\nprint('Empty')\n";
    let mut b = ProgramBuilder::new(code);
    let q = b.queue("q", 0);
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let w = b.declare_process("Process-1", 1);
    let mut c = b.code(w);
    c.at(2)
        .emit(Instr::LoadConst(7))
        .emit(Instr::QueuePut { q, block: true });
    c.emit(Instr::Exit(0));
    b.finish(c).expect("the writer builds");
    let got = b.string("got {}");
    let empty = b.string("Empty");
    let mut m = b.code(main);
    let fail = m.label();
    m.at(3)
        .emit(Instr::Start(w))
        .queue_try(q, false, 500_000, fail);
    m.at(4)
        .print(got, 1)
        .emit(Instr::Join(w))
        .emit(Instr::Exit(0));
    m.place(fail).at(5).print(empty, 0).emit(Instr::Exit(0));
    let p = Arc::new(b.build_with(m).expect("builds"));
    let cfg = interleave::program::EngineConfig::default();
    // Main waits first (1 step: start + the get), then the writer puts.
    let sim = interleave::sim::Sim::replay(p.clone(), cfg, &[0, 0, 1, 1, 0, 0]).expect("replays");
    let out: Vec<&str> = sim.trace().output.iter().map(|o| o.text.as_str()).collect();
    assert_eq!(out, ["got 7"]);
}

#[test]
fn live_runs_keep_the_shape_on_real_processes() {
    for maxsize in [3, 1] {
        let m = format!("maxsize={maxsize}");
        for _ in 0..3 {
            let t = live(&[&m]);
            let out = output(&t);
            check_shape(&out, maxsize, "0.5");
            assert!(a_writer_blocked_on_put(&t), "live: a writer waits: {out:?}");
            assert!(
                t.events
                    .iter()
                    .any(|e| e.kind == EventKind::Ended && e.actor != 0)
                    || t.events.iter().filter(|e| e.actor != 0).count() > 10,
                "the writers ran"
            );
        }
    }
}

#[test]
fn sampled_exploration_finds_only_runs_of_the_lessons_shape() {
    let catalog = Catalog::embedded().expect("lessons");
    let l = catalog.find(LESSON).expect("the lesson exists");
    let sets = vec!["maxsize=1".to_string(), "scheduler=uniform".to_string()];
    let knobs = knobs_from(l, &sets).expect("knobs");
    let p = Arc::new(interleave::scenarios::build(l, &knobs).expect("builds"));
    let ex = explore::sample(&p, knobs.engine(), &knobs, 0..200, &Control::default());
    assert!(ex.outcomes.len() >= 3, "{} outcomes", ex.outcomes.len());
    for f in &ex.outcomes {
        assert!(!f.key.deadlock);
        check_shape(&f.key.output, 1, "0.5");
    }
}

/// The lesson's code at its default knobs, as the student reads it.
fn python_code() -> String {
    let catalog = Catalog::embedded().expect("lessons");
    let l = catalog.find(LESSON).expect("the lesson exists");
    let knobs = knobs_from(l, &[]).expect("knobs");
    l.code(&knobs)
}

#[test]
fn the_lessons_own_code_prints_the_same_shape_on_real_cpython() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("queue_api.py");
    std::fs::write(&file, python_code()).expect("writes");
    let mut ran = 0;
    for v in ["3.8", "3.11", "3.12", "3.13"] {
        let Some(exe) = common::pyenv_python(v) else {
            continue;
        };
        // Only the main process prints, so even under PYTHONUNBUFFERED (a print's
        // text and newline two writes) no two lines run together.
        let out = std::process::Command::new(&exe)
            .env("PYTHONUNBUFFERED", "1")
            .arg(&file)
            .output()
            .expect("python runs");
        assert!(out.status.success(), "{v}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        check_shape(&lines, 3, "0.5");
        ran += 1;
    }
    eprintln!("ran the lesson's code on {ran} CPython versions");
}

#[test]
fn the_lesson_checks_and_runs_from_the_cli() {
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
    assert!(text.contains("put_nowait: queue.Full"), "{text}");
    assert!(text.contains("verdict: CORRECT"), "{text}");
    let out = std::process::Command::new(BIN)
        .args(["run", LESSON, "--lang", "zh"])
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Queue 的接口"), "{text}");
    assert!(
        text.contains("empty: False, full: True, qsize: 3"),
        "{text}"
    );
}
