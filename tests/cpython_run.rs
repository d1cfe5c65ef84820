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

fn cpython_run(id: &str, set: &[(&str, &str)], free: bool, origin: Origin) -> Option<Run> {
    let py = python()?;
    let l = lesson(id);
    let k = knobs(&l, set);
    let start = Start::Cpython {
        python: py,
        free,
        origin,
    };
    Some(Run::new(&l, k, start).expect("CPython starts the lesson"))
}

fn to_end(run: &mut Run) {
    assert_eq!(run.command(Command::RunToEnd), Outcome::Done);
    settle(run);
    assert!(run.is_over());
}

/// Every event, as the panels read it.
fn events(run: &Run) -> Vec<String> {
    let t = run.trace();
    t.events
        .iter()
        .map(|e| {
            let i = t.program.actors[e.actor as usize].code[e.pc as usize];
            format!(
                "{} {:?} {} {}",
                e.actor,
                e.kind,
                t.program.dis(e.actor, i),
                e.value
            )
        })
        .collect()
}

#[test]
fn the_same_seed_on_the_same_interpreter_is_the_same_run_and_the_summary_has_its_schedule() {
    let set = [("iterations", "3"), ("gil", "free")];
    let Some(mut a) = cpython_run("balance-race", &set, false, Origin::Seed(5)) else {
        return;
    };
    to_end(&mut a);
    let mut b = cpython_run("balance-race", &set, false, Origin::Seed(5)).expect("python");
    to_end(&mut b);
    assert_eq!(events(&a), events(&b));
    let sched = a.schedule().expect("a controlled run has a schedule");
    assert_eq!(sched.0.len(), a.steps());
    // The schedule string replays it.
    let runs = interleave::run::Runs::from(&sched);
    let mut c = cpython_run("balance-race", &set, false, Origin::Schedule(runs)).expect("python");
    to_end(&mut c);
    assert_eq!(events(&a), events(&c));
    let mut d = cpython_run("balance-race", &set, false, Origin::Seed(6)).expect("python");
    to_end(&mut d);
    assert_ne!(events(&a), events(&d), "seeds 5 and 6 ran the same way");
}

#[test]
fn a_step_back_replays_the_steps_before_and_stepping_on_follows_them_again() {
    let set = [("iterations", "2"), ("gil", "free")];
    let Some(mut run) = cpython_run("balance-race", &set, false, Origin::Seed(3)) else {
        return;
    };
    for _ in 0..60 {
        assert_eq!(run.command(Command::Step), Outcome::Done);
        settle(&mut run);
    }
    let before = events(&run);
    let picks = run.picks().expect("picks").to_vec();
    assert_eq!(run.command(Command::StepBack), Outcome::Done);
    settle(&mut run);
    assert_eq!(run.steps(), 59);
    assert_eq!(run.picks().expect("picks"), &picks[..59]);
    assert_eq!(run.command(Command::Step), Outcome::Done);
    settle(&mut run);
    assert_eq!(events(&run), before);
}

#[test]
fn a_thread_waiting_for_the_lock_is_blocked_and_a_deadlock_is_found() {
    let Some(mut run) = cpython_run(
        "balance-race",
        &[("iterations", "1"), ("lock", "on")],
        false,
        Origin::Seed(1),
    ) else {
        return;
    };
    // Some seed makes a thread find the lock held; all must end at 0.
    to_end(&mut run);
    assert_eq!(run.ending(), Ending::Finished);
    let out: Vec<&str> = run.trace().output.iter().map(|o| o.text.as_str()).collect();
    assert_eq!(out, ["0"]);
    let mut deadlocked = 0;
    let mut blocked = 0;
    for seed in 1..=6 {
        let mut run =
            cpython_run("deadlock", &[("nap", "off")], false, Origin::Seed(seed)).expect("python");
        to_end(&mut run);
        blocked += run
            .trace()
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Block)
            .count();
        if run.ending() == Ending::Deadlock {
            deadlocked += 1;
            let stuck = run.trace().deadlock();
            assert!(stuck.len() >= 2, "{:?}", events(&run));
        }
    }
    assert!(blocked > 0, "no thread was ever shown blocked");
    assert!(deadlocked > 0, "no seed of 1-6 deadlocked");
}

#[test]
fn a_free_run_is_recorded_with_real_times() {
    let Some(mut run) = cpython_run(
        "balance-race",
        &[("iterations", "200"), ("gil", "free")],
        true,
        Origin::Seed(0),
    ) else {
        return;
    };
    settle(&mut run);
    assert!(run.is_over());
    assert_eq!(run.mode(), interleave::trace::Mode::Live);
    let t = run.trace();
    let stores = t
        .events
        .iter()
        .filter(|e| matches!(t.program.instr(e.actor, e.pc), Some(Instr::StoreGlobal(_))))
        .count();
    // Two threads, 200 iterations, two stores each: every one recorded.
    assert!(stores >= 800, "{stores} stores");
    assert!(t.events.windows(2).all(|w| w[0].t_ns <= w[1].t_ns));
    assert!(t.events.last().is_some_and(|e| e.t_ns > 0));
    assert_eq!(
        run.command(Command::Step),
        Outcome::Refused(
            interleave::i18n::Msg::SLiveCannotStep
                .get(interleave::lesson::Lang::En)
                .into()
        )
    );
}
