//! The simulator against the real thing (issue 17, item 6): a stepped run's choices of
//! who runs next, replayed on every CPython 3.8+ under pyenv by its shared steps
//! (`src/cpython/follow.rs`), must take the same shared steps with the same values,
//! print the same lines and leave the same globals. Seeds and schedules are chosen to
//! race: lost updates, a deadlock, a thread reading what it never set.

#[path = "common/fidelity.rs"]
mod common;

use common::{LIMIT, check, lesson, pythons, schedule};
use interleave::cli::knobs_from;
use interleave::cpython::Comparison;
use interleave::lesson::Lesson;
use interleave::run::Origin;

fn final_balance(c: &Comparison) -> &str {
    &c.sim_finals[0].1
}

/// The tutorial's table (t1 reads 0; t2 reads 0 and writes 8; t1 writes 5; t1 reads
/// 5 and writes 0; t2 reads 0 and writes -8), as the lesson's tour steps it, ends at
/// -8 on the simulator and on every CPython.
#[test]
fn the_tutorials_minus_eight_is_the_same_on_every_cpython() {
    for py in pythons() {
        let c = check(
            "balance-race",
            &["iterations=1", "gil=free"],
            schedule("0x4 1x5 2x6 1x5 2x4 1x4 2x4 0x5"),
            &py,
        );
        assert_eq!(final_balance(&c), "-8", "{}", py.0);
        assert_eq!(c.cpython_output, ["-8"], "{}", py.0);
    }
}

/// Seeded races, with no GIL in the simulator so that a switch may fall between a
/// read and its write: the seeds lose updates, and CPython loses the same ones.
#[test]
fn seeded_balance_races_end_the_same_on_every_cpython() {
    for py in pythons() {
        let mut wrong = 0;
        for seed in 1..=6 {
            let c = check(
                "balance-race",
                &["iterations=2", "gil=free", "scheduler=uniform"],
                Origin::Seed(seed),
                &py,
            );
            wrong += usize::from(final_balance(&c) != "0");
        }
        assert!(wrong > 0, "{}: six uniform seeds and no lost update", py.0);
        // With the lock, every schedule ends at 0 on both.
        for seed in 1..=2 {
            let c = check(
                "balance-race",
                &["iterations=2", "gil=free", "scheduler=uniform", "lock=on"],
                Origin::Seed(seed),
                &py,
            );
            assert_eq!(final_balance(&c), "0", "{}", py.0);
        }
    }
}

/// The classic and the modern GIL only allow fewer switch points: their timed
/// seeds replay on CPython too.
#[test]
fn gil_models_seeds_replay_on_every_cpython() {
    for py in pythons() {
        for gil in ["gil-classic", "gil-modern"] {
            let set = format!("gil={gil}");
            check(
                "balance-race",
                &["iterations=3", &set],
                Origin::Seed(3),
                &py,
            );
        }
    }
}

#[test]
fn the_deadlock_and_its_cure_are_the_same_on_every_cpython() {
    for py in pythons() {
        // Seeds 1-4 and 6 deadlock in the simulator, 5 finishes.
        let mut endings = (0, 0);
        for seed in 1..=6 {
            let c = check("deadlock", &["nap=off"], Origin::Seed(seed), &py);
            if c.cpython_deadlock {
                endings.0 += 1;
            } else {
                endings.1 += 1;
            }
        }
        assert_eq!(endings, (5, 1), "{}: deadlocked and finished", py.0);
        let c = check("deadlock", &["nap=on"], Origin::Seed(1), &py);
        assert!(c.cpython_deadlock, "{}", py.0);
        for seed in 1..=2 {
            let c = check(
                "deadlock",
                &["nap=off", "consistent-order=on", "scheduler=uniform"],
                Origin::Seed(seed),
                &py,
            );
            assert!(!c.cpython_deadlock, "{}", py.0);
        }
    }
}

#[test]
fn thread_local_is_the_same_on_every_cpython() {
    for py in pythons() {
        for seed in 1..=3 {
            let c = check(
                "thread-local",
                &["scheduler=uniform"],
                Origin::Seed(seed),
                &py,
            );
            assert_eq!(c.cpython_output.len(), 2, "{}", py.0);
        }
        // Without binding, both threads raise AttributeError: CPython says so on
        // stderr, the simulator in its output.
        let c = check("thread-local", &["bind=off"], Origin::Seed(1), &py);
        assert!(c.cpython_stderr.contains("AttributeError"), "{}", py.0);
    }
}

/// The threads lesson names an unnamed thread as the `python` knob's CPython does.
#[test]
fn threads_are_the_same_on_every_cpython() {
    for py in pythons() {
        let python = if py.1 >= 10 {
            "python=3.10-3.13"
        } else {
            "python=3.6-3.9"
        };
        for named in ["named=on", "named=off"] {
            check(
                "threads",
                &[named, python, "loops=2", "sleep=0"],
                Origin::Seed(1),
                &py,
            );
        }
    }
}

/// The comparison can fail: the simulator's run of one iteration, replayed on CPython
/// running two, parts where CPython's t1 loops again instead of ending.
#[test]
fn a_program_that_differs_from_the_simulators_is_caught() {
    let Some(py) = pythons().pop() else { return };
    let l = lesson("balance-race");
    let knobs = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        knobs_from(&l, &sets).expect("valid knobs")
    };
    let racy = knobs(&["iterations=1", "gil=free"]);
    let trace = interleave::run::Run::new(
        &l,
        racy,
        interleave::run::Start::Stepped(schedule("0x4 1x5 2x6 1x5 2x4 1x4 2x4 0x5")),
    )
    .expect("the lesson builds")
    .finish_stepped()
    .expect("the run ends");
    let two = knobs(&["iterations=2", "gil=free"]);
    let c =
        interleave::cpython::compare_trace(&l, &two, &trace, &py.2, LIMIT).expect("CPython runs");
    assert!(!c.agrees(), "{}: {c:?}", py.0);
    let why = c.disagreement.expect("the runs part");
    assert!(
        why.contains("the simulator's t1 ends") && why.contains("reads balance"),
        "{why}"
    );
}

/// Item 6 for processes: the fork and process lessons' stepped runs replay on every
/// CPython, child processes and all. A printed PID compares by the process it names
/// (the simulator's 1001 and CPython's real PID of the same child are equal). The
/// fork lesson's parent ends before its child asks for its parent's PID in some of
/// these schedules: as in the simulator, the controlled root process stays until the
/// run ends, so the child sees its parent, not the process that would adopt it.
#[test]
fn fork_and_process_lessons_are_the_same_on_every_cpython() {
    for py in pythons() {
        for seed in [1, 2, 7] {
            for (id, sets) in [
                ("fork", &[][..]),
                ("fork", &["granularity=bytecode"][..]),
                ("process", &[][..]),
            ] {
                let c = check(id, sets, Origin::Seed(seed), &py);
                // Both sides printed PIDs; they were compared as the processes
                // they name.
                for out in [&c.sim_output, &c.cpython_output] {
                    assert!(
                        out.iter().any(|l| l.contains("<pid of process 1>")),
                        "{c:?}"
                    );
                }
            }
        }
    }
}

/// A process that prints another PID than the simulator's is caught: the child's
/// line names its parent, and a program whose child names itself instead parts
/// from the simulator's run at that line.
#[test]
fn a_child_process_that_prints_the_wrong_pid_is_caught() {
    let Some(py) = pythons().pop() else { return };
    let l = lesson("fork");
    let knobs = knobs_from(&l, &[]).expect("valid knobs");
    let trace = interleave::run::Run::new(
        &l,
        knobs.clone(),
        interleave::run::Start::Stepped(Origin::Seed(1)),
    )
    .expect("the lesson builds")
    .finish_stepped()
    .expect("the run ends");
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/lessons/fork.toml");
    let text = std::fs::read_to_string(file).expect("the fork lesson");
    let changed = text.replace("os.getppid()", "os.getpid()");
    assert_ne!(changed, text, "the lesson prints its parent's PID");
    let wrong = Lesson::parse(file, &changed).expect("the changed lesson parses");
    let c = interleave::cpython::compare_trace(&wrong, &knobs, &trace, &py.2, LIMIT)
        .expect("CPython runs");
    assert!(!c.agrees(), "{}: {c:?}", py.0);
    let why = c.disagreement.expect("the runs part");
    assert!(
        why.contains("<pid of process 1>") && why.contains("prints"),
        "{why}"
    );
}

/// Item 6 for the start methods and the Queue API. In queue-api the reader sleeps
/// before it looks at the queue: following the simulator, the controller waits for
/// a thread that sleeps (or waits in a library call that comes back by itself)
/// rather than calling it a disagreement. Under spawn the child runs the module's
/// top level again, as `__mp_main__`, and prints so.
#[test]
fn start_methods_and_the_queue_api_are_the_same_on_every_cpython() {
    for py in pythons() {
        for seed in [1, 7] {
            check("queue-api", &[], Origin::Seed(seed), &py);
        }
        for method in ["method=fork", "method=spawn"] {
            let c = check("start-methods", &[method], Origin::Seed(1), &py);
            let again = c.cpython_output.iter().any(|l| l.contains("__mp_main__"));
            assert_eq!(again, method != "method=fork", "{c:?}");
        }
    }
}
