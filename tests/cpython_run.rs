//! The cpython engine behind `Run` (issue 17, items 1 and 3): the lesson's own code
//! on the first python3 on PATH, stepped by hand one opcode at a time, seeded, and
//! free; what the panels read (the trace) is checked as a student would see it.

use interleave::catalog::Catalog;
use interleave::lesson::{Knobs, Lesson};
use interleave::program::{ActorId, Instr};
use interleave::run::{Command, Ending, Origin, Outcome, Run, Start};
use interleave::trace::EventKind;
use std::time::{Duration, Instant};

fn lesson(id: &str) -> Lesson {
    let all = Catalog::embedded().expect("embedded lessons load");
    all.find(id).expect("the lesson").clone()
}

fn knobs(l: &Lesson, set: &[(&str, &str)]) -> Knobs {
    let mut k = l.default_knobs();
    for (n, v) in set {
        k.set(&l.knobs, n, v).expect("knob");
    }
    k
}

fn python() -> Option<std::path::PathBuf> {
    interleave::cpython::find_python(None).ok()
}

/// Takes in what the run sends until it stands still; a give-up bound for a
/// loaded machine, not a speed target.
fn settle(run: &mut Run) {
    let until = Instant::now() + Duration::from_secs(120);
    while run.in_flight() {
        assert!(Instant::now() < until, "the CPython run never stood still");
        run.poll();
        std::thread::sleep(Duration::from_millis(1));
    }
    run.poll();
}

fn step(run: &mut Run, a: ActorId) {
    match run.command(Command::StepActor(a)) {
        Outcome::Done => settle(run),
        Outcome::Refused(why) => panic!("step {a} refused: {why}"),
    }
}

/// What each event of `a` did, as the interleaving shows it.
fn did(run: &Run, a: ActorId) -> Vec<String> {
    let t = run.trace();
    t.events
        .iter()
        .filter(|e| e.actor == a && e.kind == EventKind::Exec)
        .map(|e| {
            let i = t.program.actors[a as usize].code[e.pc as usize];
            format!("{} {}", t.program.dis(a, i), e.value)
        })
        .collect()
}

/// Steps `a` until its newest step is `LOAD_GLOBAL`/`STORE_GLOBAL` of `var`.
fn step_until(run: &mut Run, a: ActorId, what: fn(Instr) -> bool) {
    for _ in 0..500 {
        step(run, a);
        let t = run.trace();
        if let Some(e) = t.events.iter().rev().find(|e| e.actor == a)
            && let Some(i) = t.program.instr(a, e.pc)
            && what(i)
        {
            return;
        }
    }
    panic!("thread {a} never got there: {:?}", did(run, a));
}

fn started(run: &Run, n: usize) -> bool {
    let t = run.trace();
    t.program.actors.len() > n && (1..=n).all(|a| run.pc(a as ActorId).is_some())
}

#[test]
fn the_number_keys_force_the_tutorials_race_on_real_cpython() {
    let Some(py) = python() else {
        return;
    };
    let l = lesson("balance-race");
    let k = knobs(&l, &[("iterations", "1"), ("gil", "free")]);
    let start = Start::Cpython {
        python: py,
        free: false,
        origin: Origin::Seed(1),
    };
    let mut run = Run::new(&l, k, start).expect("CPython starts the lesson");
    // MainThread runs until both threads stand before their first step.
    let mut guard = 0;
    while !started(&run, 2) {
        step(&mut run, 0);
        guard += 1;
        assert!(
            guard < 2000,
            "the threads never started: {:?}",
            did(&run, 0)
        );
    }
    // The real threads' names (`Thread-1 (run_thread)` on 3.10+, `Thread-1` before).
    let labels = &run.trace().actor_labels;
    assert!(
        labels[1].starts_with("Thread-1") && labels[2].starts_with("Thread-2"),
        "{labels:?}"
    );
    let load = |i| matches!(i, Instr::LoadGlobal(_));
    let store = |i| matches!(i, Instr::StoreGlobal(_));
    step_until(&mut run, 1, load); // t1 reads 0
    step_until(&mut run, 2, store); // t2 reads 0, writes 8
    step_until(&mut run, 1, store); // t1 writes 5: t2's 8 is lost
    step_until(&mut run, 1, store); // t1 reads 5, writes 0
    step_until(&mut run, 2, store); // t2 reads 0, writes -8
    let t1: Vec<String> = did(&run, 1)
        .into_iter()
        .filter(|s| s.contains("GLOBAL balance"))
        .collect();
    assert_eq!(
        t1,
        [
            "LOAD_GLOBAL balance 0",
            "STORE_GLOBAL balance 5",
            "LOAD_GLOBAL balance 5",
            "STORE_GLOBAL balance 0"
        ]
    );
    let t2: Vec<String> = did(&run, 2)
        .into_iter()
        .filter(|s| s.contains("GLOBAL balance"))
        .collect();
    assert_eq!(
        t2,
        [
            "LOAD_GLOBAL balance 0",
            "STORE_GLOBAL balance 8",
            "LOAD_GLOBAL balance 0",
            "STORE_GLOBAL balance -8"
        ]
    );
    // The rest by the seed, to the end: the program prints -8.
    assert_eq!(run.command(Command::RunToEnd), Outcome::Done);
    settle(&mut run);
    assert_eq!(run.ending(), Ending::Finished);
    let out: Vec<&str> = run.trace().output.iter().map(|o| o.text.as_str()).collect();
    assert_eq!(out, ["-8"]);
    let t = run.trace();
    let lost = interleave::trace::lost_updates(&t.program, &t.events);
    assert!(!lost.is_empty(), "the lost update is not shown");
}
