//! The balance race end to end: what a student sees from `interleave run balance-race`.

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::lesson::Lesson;
use interleave::live::LiveRun;
use interleave::program::Instr;
use interleave::run::{Command, Origin, Run, Start};
use interleave::sim::Schedule;
use interleave::trace::{EventKind, Trace, lost_updates};
use std::process::Command as Proc;
use std::sync::Arc;
use std::time::Duration;

fn lesson() -> Lesson {
    Catalog::embedded()
        .expect("the built-in lessons load")
        .find("balance-race")
        .expect("balance-race exists")
        .clone()
}

fn stepped(sets: &[&str], origin: Origin) -> (Run, Trace) {
    let l = lesson();
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = knobs_from(&l, &sets).expect("knobs are valid");
    let mut run = Run::new(&l, knobs, Start::Stepped(origin)).expect("the scenario builds");
    run.command(Command::RunToEnd);
    let trace = run.trace().clone();
    (run, trace)
}

fn balance(t: &Trace) -> i64 {
    t.final_vars()
        .into_iter()
        .find(|(n, _)| n == "balance")
        .map(|(_, v)| v)
        .expect("balance is a shared variable")
}

fn printed(t: &Trace) -> Vec<String> {
    t.output.iter().map(|o| o.text.clone()).collect()
}

#[test]
fn the_tutorials_narrated_interleaving_ends_at_minus_8() {
    // t1 reads 0; t2 reads 0, writes 8; t1 writes 5; t1 reads 5, writes 0;
    // t2 reads 0, writes -8.
    let s = Schedule::parse("0x4 1x5 2x6 1 1x4 2x4 1x4 2x4 0x5").unwrap();
    let (run, t) = stepped(
        &["iterations=1", "gil=gil-classic", "granularity=bytecode"],
        Origin::Schedule(s.into()),
    );
    assert!(run.is_over());
    assert_eq!(balance(&t), -8);
    assert_eq!(printed(&t), vec!["-8"]);
    let p = &t.program;
    let rw: Vec<(String, &str, i64)> = t
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Exec)
        .filter_map(|e| match p.instr(e.actor, e.pc)? {
            Instr::LoadGlobal(_) => {
                Some((t.actor_labels[e.actor as usize].clone(), "read", e.value))
            }
            Instr::StoreGlobal(_) => {
                Some((t.actor_labels[e.actor as usize].clone(), "write", e.value))
            }
            _ => None,
        })
        .collect();
    let want = [
        ("t1", "read", 0),
        ("t2", "read", 0),
        ("t2", "write", 8),
        ("t1", "write", 5),
        ("t1", "read", 5),
        ("t1", "write", 0),
        ("t2", "read", 0),
        ("t2", "write", -8),
        ("MainThread", "read", -8),
    ];
    let got: Vec<(&str, &str, i64)> = rw.iter().map(|(a, k, v)| (a.as_str(), *k, *v)).collect();
    assert_eq!(got, want);
    // t1's write of 5 wipes out t2's 8: the one lost update of the story.
    let lost = lost_updates(p, &t.events);
    assert_eq!(lost.len(), 1);
    assert_eq!(t.events[lost[0].seq].value, 5);
}

#[test]
fn with_the_lock_every_model_granularity_and_seed_ends_at_0() {
    for gil in ["gil-classic", "gil-modern", "free"] {
        for gran in ["bytecode", "line"] {
            let knobs = |lock| {
                vec![
                    format!("lock={lock}"),
                    "iterations=300".to_string(),
                    "switch-interval=100".to_string(),
                    format!("gil={gil}"),
                    format!("granularity={gran}"),
                ]
            };
            let on = knobs("on");
            let on: Vec<&str> = on.iter().map(String::as_str).collect();
            for seed in 1..=200 {
                let (_, t) = stepped(&on, Origin::Seed(seed));
                assert_eq!(balance(&t), 0, "lock on, {gil}, {gran}, seed {seed}");
                assert!(lost_updates(&t.program, &t.events).is_empty());
            }
        }
    }
}

#[test]
fn without_the_lock_the_classic_gil_loses_an_update_and_the_schedule_replays_it() {
    let sets = ["lock=off", "granularity=bytecode", "gil=gil-classic"];
    let (run, t) = (1..=50)
        .map(|seed| stepped(&sets, Origin::Seed(seed)))
        .find(|(_, t)| balance(t) != 0)
        .expect("some seed in 1..=50 ends with balance != 0");
    let schedule = run
        .schedule()
        .expect("a stepped run has a schedule")
        .to_string();
    let (_, again) = stepped(
        &sets,
        Origin::Schedule(Schedule::parse(&schedule).unwrap().into()),
    );
    assert_eq!(
        again.events, t.events,
        "the schedule string replays the same trace"
    );
    assert_eq!(printed(&again), printed(&t));
}

#[test]
fn the_modern_gil_never_loses_an_update_in_change_it() {
    for seed in 1..=40 {
        let (_, t) = stepped(
            &[
                "lock=off",
                "gil=gil-modern",
                "iterations=3000",
                "switch-interval=100",
            ],
            Origin::Seed(seed),
        );
        assert_eq!(balance(&t), 0, "seed {seed}");
        let switches = t
            .events
            .iter()
            .filter(|e| e.kind == EventKind::GilDrop && e.value == 1)
            .count();
        assert!(switches > 0, "seed {seed}: the GIL did change hands");
    }
    let (_, t) = stepped(&["lock=off", "gil=gil-modern"], Origin::Seed(7));
    assert_eq!(balance(&t), 0);
    let text = lesson().explanation.en;
    assert!(
        text.contains("3.10") && text.contains("back-edge"),
        "the lesson says why"
    );
}

#[test]
fn under_gil_modern_a_student_cannot_switch_inside_change_it() {
    let l = lesson();
    let sets = ["iterations=1", "gil=gil-modern"].map(String::from);
    let knobs = knobs_from(&l, &sets).unwrap();
    let mut run = Run::new(&l, knobs, Start::Stepped(Origin::Seed(1))).unwrap();
    for a in [0, 0, 0, 0, 1, 1, 1] {
        assert_eq!(
            run.command(Command::StepActor(a)),
            interleave::run::Outcome::Done
        );
    }
    // t1 has read balance: t2 may not run until t1 reaches a call or back-edge.
    match run.command(Command::StepActor(2)) {
        interleave::run::Outcome::Refused(why) => assert!(why.contains("GIL"), "{why}"),
        other => panic!("t2 should be refused, got {other:?}"),
    }
}

#[test]
fn stepping_back_returns_to_the_earlier_state_exactly() {
    let l = lesson();
    let knobs = knobs_from(&l, &["iterations=20".to_string(), "gil=free".to_string()]).unwrap();
    let mut run = Run::new(&l, knobs, Start::Stepped(Origin::Seed(11))).unwrap();
    let mut seen = Vec::new();
    for _ in 0..60 {
        seen.push(run.trace().events.clone());
        run.command(Command::Step);
    }
    for want in seen.iter().rev() {
        run.command(Command::StepBack);
        assert_eq!(&run.trace().events, want);
    }
    // And forwards again with the scheduler: the same picks as the first time.
    let first = seen[30].clone();
    for _ in 0..30 {
        run.command(Command::Step);
    }
    assert_eq!(run.trace().events, first);
}

fn live(sets: &[&str]) -> Trace {
    let l = lesson();
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = knobs_from(&l, &sets).unwrap();
    let program = Arc::new(interleave::scenarios::build(&l, &knobs).unwrap());
    let (t, finished) = LiveRun::start(program, knobs.engine(), 1.0).wait(Duration::from_secs(60));
    assert!(finished, "the live run ends");
    t
}

#[test]
fn live_free_threads_lose_updates_on_real_cores() {
    let lost = (0..10).any(|_| {
        let t = live(&["gil=free", "lock=off"]);
        !lost_updates(&t.program, &t.events).is_empty() || balance(&t) != 0
    });
    assert!(
        lost,
        "no lost update in 10 live runs of 2 x 100000 iterations"
    );
}

#[test]
fn live_with_the_lock_ends_at_0_and_never_has_two_holders() {
    for gil in ["free", "gil-classic"] {
        let t = live(&[&format!("gil={gil}"), "lock=on", "iterations=20000"]);
        assert_eq!(balance(&t), 0, "{gil}");
        assert_eq!(printed(&t), vec!["0"]);
        let mut holder = None;
        let mut acquires = 0;
        for e in t.events.iter().filter(|e| e.kind == EventKind::Exec) {
            match t.program.instr(e.actor, e.pc) {
                Some(Instr::Acquire(_)) => {
                    assert_eq!(holder, None, "{gil}: two holders at t={} ns", e.t_ns);
                    holder = Some(e.actor);
                    acquires += 1;
                }
                Some(Instr::Release(_)) => {
                    assert_eq!(holder, Some(e.actor), "{gil}: released by a non-holder");
                    holder = None;
                }
                _ => {}
            }
        }
        assert_eq!(acquires, 40_000);
    }
}

fn cli(args: &[&str]) -> std::process::Output {
    Proc::new(env!("CARGO_BIN_EXE_interleave"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn the_same_seed_gives_the_same_jsonl_apart_from_wall_time() {
    let args = [
        "run",
        "balance-race",
        "--set",
        "iterations=500",
        "--set",
        "gil=free",
        "--seed",
        "42",
        "--format",
        "jsonl",
    ];
    let strip = |o: std::process::Output| -> Vec<serde_json::Value> {
        assert!(o.status.success());
        String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).expect("every line is JSON");
                if let Some(m) = v.as_object_mut() {
                    m.remove("wall_ms");
                }
                v
            })
            .collect()
    };
    let a = strip(cli(&args));
    let b = strip(cli(&args));
    assert_eq!(a, b);
    let first = &a[0];
    for key in ["seq", "t_ns", "actor", "kind", "line"] {
        assert!(first.get(key).is_some(), "events carry `{key}`");
    }
    let summary = a.last().unwrap();
    assert_eq!(summary["kind"], "summary");
    assert_eq!(summary["mode"], "stepped");
    assert_eq!(summary["seed"], 42);
    assert!(summary["final"]["balance"].is_i64());
    assert_eq!(summary["events"].as_u64().unwrap() as usize, a.len() - 1);
}

#[test]
fn the_text_report_shows_output_table_state_and_replay() {
    let o = cli(&[
        "run",
        "balance-race",
        "--set",
        "iterations=1",
        "--schedule",
        "0x4 1x5 2x6 1 1x4 2x4 1x4 2x4 0x5",
    ]);
    assert!(o.status.success());
    let s = String::from_utf8(o.stdout).unwrap();
    assert!(s.contains("== output ==\n-8\n"), "{s}");
    // gil-classic stands for CPython 3.9, whose dis names the addition BINARY_ADD.
    assert!(s.contains("BINARY_ADD  # 0 + 5 = 5"), "{s}");
    assert!(
        s.contains("STORE_GLOBAL balance  # wrote balance = 5"),
        "{s}"
    );
    assert!(s.contains("balance = -8   (a correct run gives 0)"), "{s}");
    assert!(
        s.contains("verdict: WRONG (balance == 0): balance is -8"),
        "{s}"
    );
    assert!(s.contains("missing effect: 8 of balance"), "{s}");
    assert!(s.contains("overwritten writes: 1: "), "{s}");
    assert!(
        s.contains("schedule: 0x4 1x5 2x6 1x5 2x4 1x4 2x4 0x5"),
        "{s}"
    );
    let zh = cli(&[
        "run",
        "balance-race",
        "--set",
        "iterations=1",
        "--seed",
        "1",
        "--lang",
        "zh",
    ]);
    assert!(
        String::from_utf8(zh.stdout)
            .unwrap()
            .contains("balance 竞争")
    );
}

#[test]
fn bad_input_exits_2_with_one_line() {
    for (args, says) in [
        (
            vec!["run", "no-such-lesson"],
            "unknown lesson `no-such-lesson`",
        ),
        (
            vec!["run", "balance-race", "--set", "colour=red"],
            "unknown knob `colour`",
        ),
        (
            vec!["run", "balance-race", "--set", "iterations=0"],
            "from 1 to 10000000",
        ),
        (
            vec!["run", "balance-race", "--set", "gil=gil-ancient"],
            "is one of",
        ),
        (
            vec!["run", "balance-race", "--schedule", "1x4 two"],
            "malformed schedule at token 2",
        ),
        (
            vec!["run", "balance-race", "--schedule", "5"],
            "there is no actor 5",
        ),
        (vec!["run", "balance-race", "--set", "lock"], "KNOB=VALUE"),
    ] {
        let o = cli(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn a_malformed_lesson_file_is_reported_as_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(
        &path,
        "id = \"broken\"\nscenario = \"balance\"\nconcepts = [\"x\"\n",
    )
    .unwrap();
    let o = cli(&["--lessons", dir.path().to_str().unwrap(), "list"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    let want = format!("{}:3:16: unclosed array", path.display());
    assert!(err.contains(&want), "{err}");

    std::fs::write(&path, lesson_with_scenario("no-such-scenario")).unwrap();
    let o = cli(&["--lessons", dir.path().to_str().unwrap(), "list"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains(":2:12: unknown scenario `no-such-scenario`"),
        "{err}"
    );
}

fn lesson_with_scenario(s: &str) -> String {
    format!(
        "id = \"x\"\nscenario = \"{s}\"\nconcepts = []\ntitle = {{ en = \"a\", zh = \"b\" }}\n\
         summary = {{ en = \"a\", zh = \"b\" }}\nexplanation = {{ en = \"a\", zh = \"b\" }}\ncode = \"pass\"\n"
    )
}

#[test]
fn lessons_from_a_folder_replace_built_in_ones() {
    let dir = tempfile::tempdir().unwrap();
    let text = include_str!("../lessons/balance-race.toml").replace(
        "title = { en = \"The balance race\"",
        "title = { en = \"My own balance race\"",
    );
    std::fs::write(dir.path().join("mine.toml"), text).unwrap();
    let o = cli(&["--lessons", dir.path().to_str().unwrap(), "list"]);
    assert!(o.status.success());
    let s = String::from_utf8(o.stdout).unwrap();
    assert!(s.contains("My own balance race"), "{s}");
    assert_eq!(s.matches("balance-race").count(), 1);
}

#[test]
fn the_playground_refuses_a_non_terminal_and_points_to_run() {
    let o = Proc::new(env!("CARGO_BIN_EXE_interleave"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8(o.stderr)
            .unwrap()
            .contains("interleave run")
    );
}
