//! The explorer: every outcome a program can reach, each with a witness that
//! replays it, held against brute-force enumeration of every interleaving.

use interleave::catalog::Catalog;
use interleave::explore::{self, Control, Limits, OutcomeKey, Stop};
use interleave::program::{EngineConfig, Program};
use interleave::run::{Origin, Run, Start};
use interleave::sim::Sim;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

fn build(lesson: &str, sets: &[&str]) -> (Arc<Program>, EngineConfig) {
    let catalog = Catalog::embedded().expect("the embedded lessons load");
    let l = catalog.get(lesson).expect("the lesson exists");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = interleave::cli::knobs_from(l, &sets).expect("valid knobs");
    let p = interleave::scenarios::build(l, &knobs).expect("it builds");
    (Arc::new(p), knobs.engine())
}

/// DPOR alone, without the state search that completes and corrects it.
fn dpor_only() -> Limits {
    Limits {
        fewest: false,
        ..Limits::default()
    }
}

fn dpor_set(p: &Arc<Program>, cfg: EngineConfig) -> BTreeSet<OutcomeKey> {
    let ex = explore::exhaustive(p, cfg, &dpor_only(), &Control::default());
    assert_eq!(ex.stop, Stop::Complete);
    ex.outcomes.into_iter().map(|f| f.key).collect()
}

fn balances(set: &BTreeSet<OutcomeKey>) -> Vec<i64> {
    let mut v: Vec<i64> = set
        .iter()
        .map(|k| {
            assert_eq!(
                k.output,
                vec![k.vars[0].1.to_string()],
                "main prints the balance"
            );
            k.vars[0].1
        })
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn one_iteration_without_a_lock_reaches_all_seven_balances() {
    let (p, cfg) = build("balance-race", &["iterations=1", "gil=free", "lock=off"]);
    let brute = explore::enumerate_all(&p, cfg, 5_000_000).expect("small enough");
    assert_eq!(balances(&brute), vec![-8, -5, -3, 0, 3, 5, 8]);
    assert_eq!(dpor_set(&p, cfg), brute);
    // Whole lines as steps: few enough interleavings to run every one of them.
    let (p, cfg) = build(
        "balance-race",
        &["iterations=1", "gil=free", "lock=off", "granularity=line"],
    );
    let tree = explore::enumerate_tree(&p, cfg, 5_000_000).expect("small enough");
    let ex = explore::exhaustive(&p, cfg, &dpor_only(), &Control::default());
    let found: BTreeSet<OutcomeKey> = ex.outcomes.iter().map(|f| f.key.clone()).collect();
    assert_eq!(found, tree.keys().cloned().collect());
    // The reduction is real: far fewer runs than interleavings.
    let interleavings: u64 = tree.values().map(|(n, _)| n).sum();
    assert!(
        ex.executions * 10 < interleavings,
        "{} of {interleavings}",
        ex.executions
    );
}

#[test]
fn dpor_finds_what_brute_force_finds_in_every_gil_model_and_with_the_lock() {
    for sets in [
        &["iterations=1", "gil=free", "lock=on"][..],
        &["iterations=1", "gil=gil-classic", "lock=off"],
        &["iterations=1", "gil=gil-modern", "lock=off"],
        &["iterations=1", "gil=gil-modern", "lock=on"],
        &["iterations=2", "gil=gil-modern", "lock=off"],
        &[
            "iterations=1",
            "gil=gil-modern",
            "lock=off",
            "granularity=line",
        ],
    ] {
        let (p, cfg) = build("balance-race", sets);
        let brute = explore::enumerate_all(&p, cfg, 5_000_000).expect("small enough");
        assert_eq!(dpor_set(&p, cfg), brute, "{sets:?}");
    }
}

#[test]
fn two_iterations_match_the_state_enumeration_and_the_lock_leaves_only_zero() {
    for (lock, want) in [("lock=off", None), ("lock=on", Some(vec![0]))] {
        let (p, cfg) = build("balance-race", &["iterations=2", "gil=free", lock]);
        let all = explore::enumerate_all(&p, cfg, 5_000_000).expect("small enough");
        let found = dpor_set(&p, cfg);
        assert_eq!(found, all, "{lock}");
        match want {
            Some(w) => assert_eq!(balances(&found), w),
            None => assert!(balances(&found).len() > 7, "{:?}", balances(&found)),
        }
    }
}

#[test]
fn the_lock_leaves_only_the_correct_balance() {
    let (p, cfg) = build("balance-race", &["iterations=1", "gil=free", "lock=on"]);
    assert_eq!(balances(&dpor_set(&p, cfg)), vec![0]);
}

#[test]
fn deadlock_outcomes_match_brute_force_and_a_consistent_order_has_none() {
    for (order, can_deadlock) in [
        ("consistent-order=off", true),
        ("consistent-order=on", false),
    ] {
        for nap in ["nap=on", "nap=off"] {
            let always = can_deadlock && nap == "nap=on";
            let (p, cfg) = build("deadlock", &[order, nap]);
            let brute: BTreeSet<OutcomeKey> = explore::enumerate_tree(&p, cfg, 5_000_000)
                .expect("small enough")
                .into_keys()
                .collect();
            let found = dpor_set(&p, cfg);
            assert_eq!(found, brute, "{order} {nap}");
            assert_eq!(
                found.iter().any(|k| k.deadlock),
                can_deadlock,
                "{order} {nap}"
            );
            // The nap makes the deadlock certain: each thread holds its first lock
            // before the other one wakes.
            assert_eq!(found.iter().all(|k| k.deadlock), always, "{order} {nap}");
        }
    }
}

/// Every witness replays to its outcome, and has the fewest preemptions of any
/// interleaving that ends so.
#[test]
fn witnesses_replay_and_have_the_fewest_preemptions() {
    for sets in [
        &["iterations=1", "gil=free", "lock=off", "granularity=line"][..],
        &[
            "iterations=2",
            "gil=gil-modern",
            "lock=off",
            "granularity=line",
        ],
    ] {
        let (p, cfg) = build("balance-race", sets);
        let tree = explore::enumerate_tree(&p, cfg, 5_000_000).expect("small enough");
        let ex = explore::exhaustive(&p, cfg, &Limits::default(), &Control::default());
        assert!(ex.minimal && ex.stop.is_complete());
        assert_eq!(ex.outcomes.len(), tree.len());
        for f in &ex.outcomes {
            let sim = Sim::replay(p.clone(), cfg, &f.schedule.0).expect("the witness replays");
            assert_eq!(OutcomeKey::of(&sim), f.key);
            assert_eq!(
                explore::count_preemptions(&p, cfg, &f.schedule.0),
                Some(f.preemptions)
            );
            assert_eq!(f.preemptions, tree[&f.key].1, "{sets:?} {:?}", f.key);
        }
        let zero: Vec<_> = ex.outcomes.iter().filter(|f| f.preemptions == 0).collect();
        assert!(!zero.is_empty(), "a run without preemptions ends somehow");
    }
}

#[test]
fn a_preemption_bound_keeps_the_outcomes_that_need_no_more() {
    let (p, cfg) = build(
        "balance-race",
        &["iterations=1", "gil=free", "lock=off", "granularity=line"],
    );
    let tree = explore::enumerate_tree(&p, cfg, 5_000_000).expect("small enough");
    for k in 0..5 {
        let limits = Limits {
            max_preemptions: Some(k),
            ..Limits::default()
        };
        let ex = explore::exhaustive(&p, cfg, &limits, &Control::default());
        let want: BTreeSet<&OutcomeKey> = tree
            .iter()
            .filter(|(_, v)| v.1 <= k)
            .map(|(o, _)| o)
            .collect();
        let got: BTreeSet<&OutcomeKey> = ex.outcomes.iter().map(|f| &f.key).collect();
        assert_eq!(got, want, "bound {k}");
        assert!(ex.outcomes.iter().all(|f| f.preemptions <= k));
    }
}

#[test]
fn a_budget_or_a_cancel_says_incomplete() {
    let (p, cfg) = build("balance-race", &["iterations=2", "gil=free", "lock=off"]);
    let limits = Limits {
        max_executions: 10,
        fewest: false,
        ..Limits::default()
    };
    let ex = explore::exhaustive(&p, cfg, &limits, &Control::default());
    assert_eq!(ex.stop, Stop::Budget(10));
    assert!(ex.stop.describe().starts_with("incomplete"));
    let ctl = Control::default();
    ctl.cancel.store(true, Ordering::Relaxed);
    let ex = explore::exhaustive(&p, cfg, &Limits::default(), &ctl);
    assert!(!ex.stop.is_complete());
}

/// Seed s in the sampler ends as `interleave run --seed s` does.
#[test]
fn sampled_seeds_reproduce_their_runs() {
    let catalog = Catalog::embedded().expect("the embedded lessons load");
    let l = catalog.get("balance-race").expect("the lesson exists");
    let sets = vec!["iterations=1".to_string(), "gil=free".to_string()];
    let knobs = interleave::cli::knobs_from(l, &sets).expect("valid knobs");
    let (p, cfg) = build("balance-race", &["iterations=1", "gil=free"]);
    let ex = explore::sample(&p, cfg, &knobs, 0..400, &Control::default());
    assert_eq!(ex.executions, 400);
    assert_eq!(ex.outcomes.iter().map(|f| f.count).sum::<u64>(), 400);
    let again = explore::sample(&p, cfg, &knobs, 0..400, &Control::default());
    assert_eq!(ex.outcomes, again.outcomes);
    for f in &ex.outcomes {
        let seed = f.seed.expect("a sampled witness has a seed");
        let trace = Run::new(l, knobs.clone(), Start::Stepped(Origin::Seed(seed)))
            .expect("it builds")
            .finish_stepped()
            .expect("it runs");
        let vars: Vec<(String, i64)> = trace.final_vars();
        assert_eq!(vars, f.key.vars, "seed {seed}");
        let sim = Sim::replay(p.clone(), cfg, &f.schedule.0).expect("the schedule replays");
        assert_eq!(OutcomeKey::of(&sim), f.key);
    }
}

#[test]
fn the_command_prints_one_json_line_per_outcome_then_a_summary() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_interleave"))
        .args([
            "explore",
            "balance-race",
            "--set",
            "iterations=1",
            "--set",
            "gil=free",
            "--exhaustive",
            "--format",
            "jsonl",
        ])
        .output()
        .expect("the binary runs");
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let (summary, outcomes) = lines.split_last().expect("lines");
    assert_eq!(outcomes.len(), 7);
    assert!(outcomes.iter().all(|o| o["kind"] == "outcome"
        && o["final"]["balance"].is_i64()
        && o["schedule"].is_string()
        && o["preemptions"].is_u64()));
    assert_eq!(summary["kind"], "summary");
    assert_eq!(summary["distinct"], 7);
    assert_eq!(summary["complete"], true);
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_interleave"))
        .args(["explore", "balance-race", "--runs", "0"])
        .output()
        .expect("the binary runs");
    assert_eq!(bad.status.code(), Some(2));
}

/// `x` in the playground: the explore view lists every outcome; Enter on the
/// rarest opens its run stepped, at the step where it leaves the most common
/// run, and played to its end the run ends in that outcome.
#[test]
fn the_playground_opens_an_outcome_where_it_leaves_the_common_run() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use interleave::lesson::Lang;
    use interleave::run::Command;
    use interleave::ui::explore_view::first_difference;
    use interleave::ui::{App, AppOptions, Screen, Theme};
    let mut a = App::new(
        Catalog::embedded().expect("lessons"),
        Lang::En,
        AppOptions {
            theme: Theme { color: false },
            seed: 7,
            state_file: None,
            predict: false,
        },
    );
    let press = |a: &mut App, code: KeyCode| {
        a.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    };
    a.open("balance-race").expect("opens");
    a.set_knob("iterations", "1").expect("knob");
    a.set_knob("gil", "free").expect("knob");
    press(&mut a, KeyCode::Char('x'));
    let v = a.explore.as_mut().expect("x opens the explore view");
    v.wait();
    let outs = v.result.as_ref().expect("the search ends").outcomes.clone();
    assert_eq!(outs.len(), 7, "the seven balances of the unlocked race");
    let (common, rare) = (&outs[0], &outs[6]);
    press(&mut a, KeyCode::End);
    press(&mut a, KeyCode::Enter);
    assert!(a.explore.is_none(), "Enter closes the view");
    let Screen::Lesson(ls) = &mut a.screen else {
        panic!("the lesson stays open")
    };
    let at = first_difference(&rare.schedule, &common.schedule);
    assert!(at > 0 && at < rare.schedule.0.len());
    assert_eq!(ls.run.sim().expect("stepped").steps(), at);
    assert_eq!(
        ls.run.sim().expect("stepped").schedule(),
        &rare.schedule.0[..at]
    );
    ls.run.command(Command::RunToEnd);
    let sim = ls.run.sim().expect("stepped");
    let vars: Vec<_> = sim
        .program()
        .vars
        .iter()
        .map(|v| v.name.clone())
        .zip(sim.vars().iter().copied())
        .collect();
    assert_eq!(vars, rare.key.vars, "the run ends in the chosen outcome");
}

/// The API a tour's last step calls: every outcome at small knobs, or `None`
/// when the search cannot finish in time.
#[test]
fn all_outcomes_is_complete_at_small_knobs_and_none_past_the_budget() {
    let catalog = Catalog::embedded().expect("lessons");
    let l = catalog.get("balance-race").expect("lesson");
    let knobs = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        interleave::cli::knobs_from(l, &sets).expect("knobs")
    };
    let all = explore::all_outcomes(
        l,
        &knobs(&["iterations=1", "gil=free", "lock=off"]),
        std::time::Duration::from_secs(30),
    )
    .expect("complete at one iteration");
    let mut balances: Vec<i64> = all.iter().map(|f| f.key.vars[0].1).collect();
    balances.sort();
    assert_eq!(balances, vec![-8, -5, -3, 0, 3, 5, 8]);
    let two = explore::all_outcomes(
        l,
        &knobs(&["iterations=2", "gil=free", "lock=off"]),
        std::time::Duration::from_secs(60),
    )
    .expect("complete at two iterations");
    assert_eq!(two.len(), 23);
    assert!(
        explore::all_outcomes(
            l,
            &knobs(&["iterations=100000", "gil=free", "lock=off"]),
            std::time::Duration::from_millis(200),
        )
        .is_none(),
        "a long race does not finish in 0.2 s"
    );
}

// ---- live → stepped ----

use interleave::explore::replay::{self, replay_config};
use interleave::live::LiveRun;
use interleave::live::record::{Entry, Op, Recording, ThreadLog};
use interleave::sim::Ending;
use std::time::Duration;

fn log(entries: &[(Op, u64)]) -> ThreadLog {
    ThreadLog {
        entries: entries
            .iter()
            .map(|&(op, v)| Entry::new(op, 0, v))
            .collect(),
        overflowed: false,
    }
}

/// balance-race, one iteration: t1 (+5) and t2 (+8) both read 0; t2 writes 8,
/// then t1 writes 5 over it without having seen it (a lost update); t1 takes its 5
/// back out, t2 its 8: the balance ends at −8.
fn one_lost_update() -> Recording {
    use Op::*;
    Recording {
        logs: vec![
            log(&[(Load, 4), (Print, 0)]),
            log(&[(Load, 0), (Store, 2), (Load, 2), (Store, 3)]),
            log(&[(Load, 0), (Store, 1), (Load, 3), (Store, 4)]),
        ],
        unsupported: None,
    }
}

#[test]
fn a_recorded_run_replays_stepped_with_its_reads_and_its_lost_update() {
    let (p, cfg) = build(
        "balance-race",
        &["iterations=1", "gil=gil-modern", "lock=off"],
    );
    let rec = one_lost_update();
    assert_eq!(rec.lost_updates(), 1);
    let s = replay::schedule(&p, cfg, &rec).expect("the record can be followed");
    let sim = Sim::replay(p.clone(), replay_config(cfg), &s.0).expect("the schedule replays");
    assert_eq!(sim.ending(), Ending::Finished);
    assert_eq!(sim.vars(), &[-8]);
    let out: Vec<&str> = sim.trace().output.iter().map(|o| o.text.as_str()).collect();
    assert_eq!(out, ["-8"]);
    assert_eq!(sim.trace().lost_total(), 1);
    // gil-modern would refuse the switch between t1's read and its write.
    assert_eq!(replay::replay_sets(cfg), [("gil", "free")]);

    // A record the program cannot have made is refused, never followed blindly.
    let mut bad = one_lost_update();
    bad.logs[1].entries[1] = Entry::new(Op::Store, 0, 1);
    assert!(replay::schedule(&p, cfg, &bad).is_err());
    let mut short = one_lost_update();
    short.logs[2].entries.pop();
    assert!(replay::schedule(&p, cfg, &short).is_err());
    let mut long = one_lost_update();
    long.logs[1].overflowed = true;
    let why = replay::schedule(&p, cfg, &long).expect_err("an overflowed log");
    assert_eq!(why, interleave::live::record::NoReplay::RecordTooLong);
    assert!(why.to_string().contains("run too long"), "{why}");
}

/// Many live runs, with real threads racing on real cores: each one's stepped
/// replay ends with the same balance, prints the same and loses as many updates.
#[test]
fn live_runs_replay_stepped_to_the_same_end_and_lost_updates() {
    let mut raced = 0;
    for gil in ["free", "gil-modern", "gil-classic"] {
        let sets = ["iterations=20000", &format!("gil={gil}"), "lock=off"];
        let (p, cfg) = build("balance-race", &sets);
        for _ in 0..6 {
            let (trace, finished, rec) =
                LiveRun::start(p.clone(), cfg, 1.0).wait_recorded(Duration::from_secs(60));
            assert!(finished, "a 20000-iteration live run ends");
            let s = replay::schedule(&p, cfg, &rec).expect("a finished live run replays");
            let sim = Sim::replay(p.clone(), replay_config(cfg), &s.0).expect("it replays");
            assert_eq!(sim.ending(), Ending::Finished);
            let live_final: Vec<i64> = trace.final_vars().into_iter().map(|(_, v)| v).collect();
            assert_eq!(sim.vars(), &live_final[..], "gil={gil}: the same balance");
            let text = |o: &[interleave::trace::OutputLine]| -> Vec<String> {
                o.iter().map(|l| l.text.clone()).collect()
            };
            assert_eq!(text(&sim.trace().output), text(&trace.output));
            assert_eq!(
                sim.trace().lost_total(),
                rec.lost_updates(),
                "gil={gil}: the same lost updates"
            );
            raced += (rec.lost_updates() > 0) as u32;
        }
    }
    eprintln!("{raced} of 18 live runs lost an update");
}

#[test]
fn the_live_summary_carries_a_schedule_that_replays_it() {
    let exe = env!("CARGO_BIN_EXE_interleave");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(exe)
            .args(args)
            .env("XDG_STATE_HOME", std::env::temp_dir())
            .output()
            .expect("the binary runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let last = text.lines().last().unwrap_or("").to_string();
        serde_json::from_str::<serde_json::Value>(&last).expect("a json summary")
    };
    let knobs = ["--set", "iterations=2000", "--set", "gil=gil-modern"];
    let mut live_args = vec!["run", "balance-race", "--live", "--format", "jsonl"];
    live_args.extend(knobs);
    let live = run(&live_args);
    let schedule = live["schedule"].as_str().expect("a schedule");
    assert_eq!(live["schedule_knobs"], serde_json::json!({"gil": "free"}));
    let mut args = vec![
        "run",
        "balance-race",
        "--format",
        "jsonl",
        "--schedule",
        schedule,
    ];
    args.extend(["--set", "iterations=2000", "--set", "gil=free"]);
    let stepped = run(&args);
    assert_eq!(stepped["final"], live["final"]);
    assert_eq!(stepped["output"], live["output"]);
    assert_eq!(stepped["overwritten_writes"], live["overwritten_writes"]);
}

/// The playground: after a live run, `R` opens its stepped replay at the store
/// that makes its first lost update, and that replay ends where the live run did.
#[test]
fn after_a_live_run_r_opens_its_replay_at_the_first_lost_update() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use interleave::lesson::Lang;
    use interleave::run::Command;
    use interleave::trace::Mode;
    use interleave::ui::{App, AppOptions, Screen, StatusLine as Status, Theme};
    let mut a = App::new(
        Catalog::embedded().expect("lessons"),
        Lang::En,
        AppOptions {
            theme: Theme { color: false },
            seed: 7,
            state_file: None,
            predict: false,
        },
    );
    let press = |a: &mut App, code: KeyCode| {
        a.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    };
    a.open("balance-race").expect("opens");
    a.set_knob("iterations", "20000").expect("knob");
    a.set_knob("gil", "free").expect("knob");
    let mut lost = 0;
    // Live runs until one loses an update (each run is a fresh race; a few
    // suffice on two cores), at most 20.
    for i in 0..20 {
        if i > 0 {
            // Back to stepped, then live again: a new run.
            press(&mut a, KeyCode::Char('m'));
        }
        press(&mut a, KeyCode::Char('m'));
        let Screen::Lesson(ls) = &mut a.screen else {
            panic!("the lesson stays open")
        };
        assert_eq!(ls.run.mode(), Mode::Live);
        for _ in 0..6000 {
            ls.run.poll();
            if ls.run.is_over() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let rec = ls
            .run
            .live_recording()
            .expect("a finished live run recorded");
        lost = rec.lost_updates();
        if lost > 0 {
            break;
        }
    }
    let Screen::Lesson(ls) = &a.screen else {
        panic!("the lesson stays open")
    };
    let live_final = ls.run.trace().final_vars();
    press(&mut a, KeyCode::Char('R'));
    let Screen::Lesson(ls) = &mut a.screen else {
        panic!("the lesson stays open")
    };
    assert_eq!(ls.run.mode(), Mode::Stepped, "R opens the replay stepped");
    let Some(Status::Info(said)) = &a.status else {
        panic!("R says what it opened: {:?}", a.status)
    };
    if lost > 0 {
        assert!(said.contains("first lost update"), "{said}");
        let at = ls.run.sim().expect("stepped").steps();
        assert!(at > 0);
        assert_eq!(ls.run.trace().lost_total(), 1, "it stops at the first");
    } else {
        assert!(said.contains("it lost no update"), "{said}");
    }
    ls.run.command(Command::RunToEnd);
    assert_eq!(ls.run.trace().final_vars(), live_final);
    assert_eq!(ls.run.trace().lost_total(), lost);
}

/// Once DPOR has explored every class of interleavings the search stops, says
/// complete and counts each class once, however long its time limit; a search cut
/// short counts less and says why, while the state search still completes the
/// outcome set.
#[test]
fn an_exhausted_search_stops_at_once_and_says_complete() {
    let (p, cfg) = build("balance-race", &["iterations=2", "gil=free", "lock=off"]);
    let hour = Limits {
        max_time: Duration::from_secs(3600),
        ..Limits::default()
    };
    let ctl = Control::default();
    let ex = explore::exhaustive(&p, cfg, &hour, &ctl);
    assert_eq!(ex.stop, Stop::Complete);
    assert_eq!(ex.counts, Stop::Complete);
    assert!(ex.minimal);
    assert_eq!(ex.outcomes.len(), 23);
    let dpor = explore::exhaustive(&p, cfg, &dpor_only(), &Control::default());
    assert_eq!(ex.executions, dpor.executions, "every class counted once");
    assert_eq!(ctl.executions.load(Ordering::Relaxed), ex.executions);
    assert_eq!(
        ex.outcomes.iter().map(|f| f.count).sum::<u64>(),
        ex.executions
    );

    let cut = Limits {
        max_executions: 1000,
        ..hour
    };
    let ex = explore::exhaustive(&p, cfg, &cut, &Control::default());
    assert_eq!(ex.counts, Stop::Budget(1000));
    assert_eq!(
        ex.stop,
        Stop::Complete,
        "the state search completes the set"
    );
    assert_eq!(ex.outcomes.len(), 23);
}

/// The knobs a lesson's tour leaves: its defaults, then every step's `set`.
fn tour_knobs(l: &interleave::lesson::Lesson) -> interleave::lesson::Knobs {
    let mut knobs = interleave::cli::knobs_from(l, &[]).expect("the defaults are valid");
    for step in &l.tour {
        for (k, v) in &step.set {
            knobs.put(k, v.clone());
        }
    }
    knobs
}

/// Where it is feasible at the knobs a tour leaves, the tour ends on every
/// outcome the program can reach, each with a run that reaches it.
#[test]
fn tours_end_on_every_outcome_where_the_search_is_feasible() {
    let catalog = Catalog::embedded().expect("lessons");
    let feasible = [
        "fork",
        "process",
        "pipe",
        "subprocess",
        "threads",
        "deadlock",
        "thread-local",
        "balance-race",
        "queue",
    ];
    for id in feasible {
        let l = catalog.get(id).expect("the lesson exists");
        assert!(!l.tour.is_empty(), "{id} has a tour");
        let knobs = tour_knobs(l);
        let outs = explore::all_outcomes(l, &knobs, Duration::from_secs(30))
            .unwrap_or_else(|| panic!("{id}: every outcome at {}", knobs.summary()));
        assert!(!outs.is_empty(), "{id}");
        let p = Arc::new(interleave::scenarios::build(l, &knobs).expect("builds"));
        for f in &outs {
            let sim = Sim::replay(p.clone(), knobs.engine(), &f.schedule.0).expect("replays");
            assert_eq!(OutcomeKey::of(&sim), f.key, "{id}: the witness reaches it");
        }
        let set: BTreeSet<OutcomeKey> = outs.into_iter().map(|f| f.key).collect();
        let brute = explore::enumerate_all(&p, knobs.engine(), 5_000_000)
            .unwrap_or_else(|| panic!("{id}: few enough states to visit every one"));
        assert_eq!(
            set, brute,
            "{id}: the same outcomes as visiting every state"
        );
        if id == "balance-race" {
            // The tour ends with the lock on: only the correct balance is left.
            assert_eq!(balances(&set), vec![0]);
        }
    }
}

/// The playground: the tour's end box lists every outcome, found off the key
/// path, once the tour has ended.
#[test]
fn the_tour_end_box_lists_every_outcome() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use interleave::lesson::Lang;
    use interleave::ui::explore_view::tour_outcomes_pending;
    use interleave::ui::{App, AppOptions, Screen, Theme, draw};
    use ratatui::{Terminal, backend::TestBackend};
    let mut a = App::new(
        Catalog::embedded().expect("lessons"),
        Lang::En,
        AppOptions {
            theme: Theme { color: false },
            seed: 7,
            state_file: None,
            predict: false,
        },
    );
    a.open("balance-race").expect("opens");
    a.set_knob("iterations", "1").expect("knob");
    a.set_knob("gil", "free").expect("knob");
    let Screen::Lesson(ls) = &mut a.screen else {
        panic!("the lesson is open")
    };
    ls.tour.on = true;
    ls.tour.step = ls.lesson.tour.len();
    // Any key: the search starts after it, on a thread.
    a.handle(Event::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::NONE,
    )));
    for _ in 0..3000 {
        a.tick();
        if !tour_outcomes_pending() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut t = Terminal::new(TestBackend::new(160, 60)).expect("test terminal");
    t.draw(|f| draw(&a, f)).expect("draws");
    let b = t.backend().buffer();
    let screen: String = (0..b.area.height)
        .map(|y| {
            (0..b.area.width)
                .map(|x| b[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        screen.contains("These are all the ways this program can end"),
        "{screen}"
    );
    let Screen::Lesson(ls) = &a.screen else {
        panic!("the lesson is open")
    };
    let lines = interleave::ui::explore_view::tour_outcome_lines(ls, Lang::En);
    assert_eq!(
        lines[0],
        "These are all the ways this program can end, at these knobs (7):"
    );
    for v in [-8, -5, -3, 0, 3, 5, 8] {
        assert!(
            lines[1].contains(&format!("• balance = {v} · prints {v}")),
            "balance {v}: {lines:?}"
        );
    }
    let zh = interleave::ui::explore_view::tour_outcome_lines(ls, Lang::Zh);
    assert!(zh[0].contains("所有可能的结局（共 7 种）"), "{zh:?}");
}

/// A live run that deadlocks replays stepped into the same deadlock: each thread
/// takes the lock it took live and waits for the one it waited for.
#[test]
fn a_live_deadlock_replays_stepped_as_a_deadlock() {
    let (p, cfg) = build("deadlock", &[]);
    for _ in 0..4 {
        let (trace, finished, rec) =
            LiveRun::start(p.clone(), cfg, 1.0).wait_recorded(Duration::from_secs(60));
        assert!(finished, "the watchdog ends a deadlocked run");
        let s = replay::schedule(&p, cfg, &rec).expect("a finished live run replays");
        let sim = Sim::replay(p.clone(), replay_config(cfg), &s.0).expect("it replays");
        let live_deadlock = !trace.deadlock().is_empty();
        assert_eq!(sim.ending() == Ending::Deadlock, live_deadlock);
        let text = |o: &[interleave::trace::OutputLine]| -> Vec<String> {
            o.iter().map(|l| l.text.clone()).collect()
        };
        assert_eq!(text(&sim.trace().output), text(&trace.output));
    }
}

/// The worker binary for live process runs started inside this test process.
fn use_worker_binary() {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", env!("CARGO_BIN_EXE_interleave")) };
}

/// Live → stepped for processes: value-race's workers are real processes adding
/// to a real shared `multiprocessing.Value`; the version beside it, the lock's
/// count and the order of printed lines, all in the shared memory, let each run
/// replay stepped to the same value, output and lost updates.
#[test]
fn live_process_runs_of_value_race_replay_stepped_to_the_same_end_and_lost_updates() {
    use_worker_binary();
    let mut raced = 0;
    for lock in ["lock=off", "lock=on"] {
        let sets = ["processes=4", "iterations=20000", lock];
        let (p, cfg) = build("value-race", &sets);
        for _ in 0..4 {
            let (trace, finished, rec) =
                LiveRun::start(p.clone(), cfg, 1.0).wait_recorded(Duration::from_secs(120));
            assert!(finished, "{lock}: a live value-race run ends");
            assert_eq!(
                rec.unavailable(),
                None,
                "{lock}: every worker handed in its log"
            );
            // Each process did its 20 000 loads and stores, and took the lock as often.
            for log in &rec.logs[1..] {
                let per = if lock == "lock=on" { 3 } else { 2 };
                assert_eq!(log.entries.len(), per * 20_000, "{lock}");
            }
            let s = replay::schedule(&p, cfg, &rec).expect("a finished live run replays");
            let sim = Sim::replay(p.clone(), replay_config(cfg), &s.0).expect("it replays");
            assert_eq!(sim.ending(), Ending::Finished);
            let live_final: Vec<i64> = trace.final_vars().into_iter().map(|(_, v)| v).collect();
            assert_eq!(sim.vars(), &live_final[..], "{lock}: the same value");
            let text = |o: &[interleave::trace::OutputLine]| -> Vec<String> {
                o.iter().map(|l| l.text.clone()).collect()
            };
            let printed = text(&trace.output);
            assert_eq!(text(&sim.trace().output), printed, "{lock}");
            assert_eq!(
                printed,
                [live_final[0].to_string()],
                "{lock}: main prints it"
            );
            assert_eq!(
                sim.trace().lost_total(),
                rec.lost_updates(),
                "{lock}: the same lost updates"
            );
            // The value is short of 80 000 exactly when an update was lost (a
            // lost update can wipe out several increments), and the lock leaves none.
            assert!(live_final[0] <= 80_000, "{lock}");
            assert_eq!(
                live_final[0] < 80_000,
                rec.lost_updates() > 0,
                "{lock}: {} with {} lost updates",
                live_final[0],
                rec.lost_updates()
            );
            if lock == "lock=on" {
                assert_eq!(rec.lost_updates(), 0);
            }
            raced += (rec.lost_updates() > 0) as u32;
        }
    }
    eprintln!("{raced} of 8 live process runs lost an update");
}

/// The command line: a live process run's summary carries the schedule, and
/// the stepped run of it ends as the live one did, with as many lost updates.
#[test]
fn a_live_process_run_summary_carries_a_schedule_that_replays_it() {
    let exe = env!("CARGO_BIN_EXE_interleave");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(exe)
            .args(args)
            .env("XDG_STATE_HOME", std::env::temp_dir())
            .output()
            .expect("the binary runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let last = text.lines().last().unwrap_or("").to_string();
        serde_json::from_str::<serde_json::Value>(&last).expect("a json summary")
    };
    let knobs = ["--set", "processes=3", "--set", "iterations=5000"];
    let mut live_args = vec!["run", "value-race", "--live", "--format", "jsonl"];
    live_args.extend(knobs);
    let live = run(&live_args);
    let schedule = live["schedule"].as_str().expect("a schedule");
    assert_eq!(live["schedule_knobs"], serde_json::json!({}));
    let mut args = vec![
        "run",
        "value-race",
        "--format",
        "jsonl",
        "--schedule",
        schedule,
    ];
    args.extend(knobs);
    let stepped = run(&args);
    assert_eq!(stepped["final"], live["final"]);
    assert_eq!(stepped["output"], live["output"]);
    assert_eq!(stepped["overwritten_writes"], live["overwritten_writes"]);
}

/// A process lesson whose processes do what the record does not hold (the GIL
/// lab's processes read the clock) says so, and why, in both languages.
#[test]
fn a_process_run_the_record_cannot_hold_says_why_in_both_languages() {
    use interleave::lesson::Lang;
    use interleave::live::record::NoReplay;
    use_worker_binary();
    let lesson = "gil";
    let (p, cfg) = build(lesson, &["run-as=processes", "n=25000"]);
    let (_, finished, rec) =
        LiveRun::start(p.clone(), cfg, 4.0).wait_recorded(Duration::from_secs(60));
    assert!(finished, "{lesson}");
    let why = rec.unavailable().expect("no replay");
    assert!(matches!(why, NoReplay::NotRecorded(_)), "{lesson}: {why:?}");
    assert_eq!(replay::schedule(&p, cfg, &rec), Err(why.clone()));
    let (en, zh) = (why.text(Lang::En), why.text(Lang::Zh));
    assert!(en.starts_with("its processes do "), "{en}");
    assert!(zh.contains("记录里没有这类操作"), "{zh}");
}

/// The replay lines of a live run's text report, under `--lang zh`: every
/// sentence in Chinese, English only in code (the command, knob names and
/// values, the bytecode an unsupported process ran).
#[test]
fn the_live_reports_replay_lines_are_chinese_under_lang_zh() {
    let exe = env!("CARGO_BIN_EXE_interleave");
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "value-race",
            &["--set", "processes=3", "--set", "iterations=200"],
            "单步重放它（读、写和丢失的更新都相同）",
        ),
        (
            "balance-race",
            &["--set", "iterations=200"],
            "单步重放它（读、写和丢失的更新都相同）",
        ),
        (
            "gil",
            &["--set", "run-as=processes", "--set", "n=25000"],
            "无法重放：它的进程执行了 CALL time.perf_counter，记录里没有这类操作",
        ),
    ];
    for (lesson, sets, want) in cases {
        let mut args = vec!["run", lesson, "--live", "--lang", "zh"];
        args.extend(sets);
        let out = std::process::Command::new(exe)
            .args(&args)
            .env("XDG_STATE_HOME", std::env::temp_dir())
            .output()
            .expect("the binary runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let section: Vec<&str> = text
            .lines()
            .skip_while(|l| *l != "== 重放 ==")
            .skip(1)
            .collect();
        assert!(section.iter().any(|l| l.contains(want)), "{lesson}: {text}");
        let on = if lesson == "balance-race" {
            "线程"
        } else {
            "进程"
        };
        assert!(
            section[0].starts_with(&format!("在真实的{on}上实时运行")),
            "{section:?}"
        );
        let (p, _) = build(lesson, &[]);
        let catalog = Catalog::embedded().expect("lessons");
        let l = catalog.get(lesson).expect("the lesson exists");
        let mut own = format!(
            "interleave run schedule {lesson} {}",
            l.code(&l.default_knobs())
        );
        for k in &l.knobs {
            let v = l.default_knobs().get(&k.name).map(|v| v.to_string());
            own.push_str(&format!(" {} {}", k.name, v.unwrap_or_default()));
        }
        for a in &p.actors {
            own.push_str(&format!(" {}", a.name));
        }
        for line in section
            .iter()
            .filter(|l| !l.starts_with("调度：") && !l.starts_with("再运行一次："))
        {
            for w in line.split(|c: char| !c.is_ascii_alphabetic()) {
                let code = own.contains(w) || w.chars().all(|c| c.is_ascii_uppercase());
                assert!(w.len() < 4 || code, "{lesson}: English {w:?} in {line:?}");
            }
        }
    }
}

/// The playground: after a live value-race run (real worker processes), `R`
/// opens its stepped replay, which ends where the live run did, with as many
/// lost updates.
#[test]
fn after_a_live_process_run_r_opens_its_replay() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use interleave::lesson::Lang;
    use interleave::run::Command;
    use interleave::trace::Mode;
    use interleave::ui::{App, AppOptions, Screen, StatusLine as Status, Theme};
    use_worker_binary();
    let mut a = App::new(
        Catalog::embedded().expect("lessons"),
        Lang::En,
        AppOptions {
            theme: Theme { color: false },
            seed: 7,
            state_file: None,
            predict: false,
        },
    );
    let press = |a: &mut App, code: KeyCode| {
        a.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    };
    a.open("value-race").expect("opens");
    a.set_knob("processes", "3").expect("knob");
    a.set_knob("iterations", "5000").expect("knob");
    press(&mut a, KeyCode::Char('m'));
    let Screen::Lesson(ls) = &mut a.screen else {
        panic!("the lesson stays open")
    };
    assert_eq!(ls.run.mode(), Mode::Live);
    for _ in 0..6000 {
        ls.run.poll();
        if ls.run.is_over() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let rec = ls
        .run
        .live_recording()
        .expect("a finished live run recorded");
    assert_eq!(rec.unavailable(), None);
    let lost = rec.lost_updates();
    let live_final = ls.run.trace().final_vars();
    press(&mut a, KeyCode::Char('R'));
    let Screen::Lesson(ls) = &mut a.screen else {
        panic!("the lesson stays open")
    };
    assert_eq!(ls.run.mode(), Mode::Stepped, "R opens the replay stepped");
    let Some(Status::Info(said)) = &a.status else {
        panic!("R says what it opened: {:?}", a.status)
    };
    assert!(said.starts_with("the live run, replayed stepped"), "{said}");
    ls.run.command(Command::RunToEnd);
    assert_eq!(ls.run.trace().final_vars(), live_final);
    assert_eq!(ls.run.trace().lost_total(), lost);
}
