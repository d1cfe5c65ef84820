//! Every label and number a student reads is true: the instruction a row names is
//! the one the actor ran, the verdict follows the lesson's criterion, the figures
//! count what they say, and a run stuck for good says so.

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::export::{Replay, Report, text_report, write_jsonl};
use interleave::lesson::{Lang, Lesson};
use interleave::live::{Collector, LiveRun};
use interleave::program::{Instr, Pc, Program};
use interleave::run::{Command, Origin, Run, Start};
use interleave::trace::{EventKind, StateReplay, Trace, lost_updates, rows, verdict};
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_interleave");

fn lesson(id: &str) -> Lesson {
    Catalog::embedded()
        .expect("the built-in lessons load")
        .find(id)
        .expect("the lesson exists")
        .clone()
}

fn sets(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

fn stepped(id: &str, s: &[&str], origin: Origin) -> Run {
    let l = lesson(id);
    let knobs = knobs_from(&l, &sets(s)).expect("valid knobs");
    let mut run = Run::new(&l, knobs, Start::Stepped(origin)).expect("it builds");
    run.command(Command::RunToEnd);
    run
}

fn report_text(run: &Run) -> String {
    let r = Report {
        lesson: run.lesson(),
        knobs: run.knobs(),
        trace: run.trace(),
        mode: run.mode(),
        replay: Replay::Live,
        wall_ms: 0.0,
        lang: Lang::En,
        finished: run.is_over(),
    };
    text_report(&r)
}

fn summary(run: &Run) -> serde_json::Value {
    let r = Report {
        lesson: run.lesson(),
        knobs: run.knobs(),
        trace: run.trace(),
        mode: run.mode(),
        replay: Replay::Live,
        wall_ms: 0.0,
        lang: Lang::En,
        finished: run.is_over(),
    };
    let mut out = Vec::new();
    write_jsonl(&r, &mut out).expect("writes to memory");
    let text = String::from_utf8(out).expect("utf-8");
    serde_json::from_str(text.lines().last().expect("a summary line")).expect("json")
}

/// Where an actor may go after executing `ins` at `pc`.
fn successors(ins: Instr, pc: Pc) -> Vec<Pc> {
    match ins {
        Instr::ForRange { exit, .. } => vec![pc + 1, exit],
        Instr::JumpBackward(t) => vec![t],
        Instr::PopJumpIfFalse(t) => vec![pc + 1, t],
        Instr::PipeRecv { eof, .. } => vec![pc + 1, eof],
        _ => vec![pc + 1],
    }
}

/// Every event an actor records names the instruction at its pc: the first one
/// is at 0, each executed instruction is followed by one the code can go to, and
/// a blocked instruction is tried again at the same pc.
fn check_pcs(t: &Trace, what: &str) {
    let p = &t.program;
    // Per actor: where it may be next (None: anywhere it starts).
    let mut next: Vec<Option<Vec<Pc>>> = vec![Some(vec![0]); p.actors.len()];
    for (seq, e) in t.events.iter().enumerate() {
        let a = e.actor as usize;
        match e.kind {
            EventKind::Exec | EventKind::Block => {
                let ins = p.instr(e.actor, e.pc).unwrap_or_else(|| {
                    panic!(
                        "{what}: event {seq} of actor {a} has no instruction at {}",
                        e.pc
                    )
                });
                if let Some(allowed) = &next[a] {
                    assert!(
                        allowed.contains(&e.pc),
                        "{what}: event {seq} ({:?}) of {} is at pc {} ({}), but the actor can \
                         only be at {allowed:?}",
                        e.kind,
                        p.actors[a].name,
                        e.pc,
                        p.dis(e.actor, ins),
                    );
                }
                next[a] = Some(if e.kind == EventKind::Block {
                    vec![e.pc]
                } else {
                    successors(ins, e.pc)
                });
            }
            // A wake names no instruction (a live sleeper wakes at its sleep).
            EventKind::Deadlock => {
                if let Some(allowed) = &next[a] {
                    assert!(
                        allowed.contains(&e.pc) || e.pc == u32::MAX,
                        "{what}: {:?} event {seq} of {} at pc {}",
                        e.kind,
                        p.actors[a].name,
                        e.pc
                    );
                }
            }
            _ => {}
        }
    }
}

/// Each lesson, with knobs that keep a stepped run short.
const LESSONS: &[(&str, &[&str])] = &[
    ("balance-race", &["iterations=200", "granularity=bytecode"]),
    (
        "balance-race",
        &["iterations=50", "lock=on", "granularity=line"],
    ),
    ("value-race", &["iterations=20", "processes=4"]),
    ("value-race", &["iterations=20", "processes=4", "lock=on"]),
    ("tickets", &["granularity=bytecode"]),
    ("tickets", &["lock=on", "buyers=5"]),
    ("deadlock", &["granularity=bytecode"]),
    ("deadlock", &["consistent-order=on"]),
    ("fork", &["granularity=bytecode"]),
    ("process", &["terminate=on", "daemon=on"]),
    ("pool", &["tasks=4", "size=2"]),
    ("queue", &["granularity=bytecode"]),
    ("queue", &["nowait=on", "maxsize=1"]),
    ("pipe", &[]),
    ("pipe", &["close=off", "granularity=bytecode"]),
    ("subprocess", &["granularity=bytecode"]),
    ("threads", &["loops=3", "granularity=bytecode"]),
    ("thread-local", &["main-reads=on"]),
    ("gil", &["n=25000", "probe=on"]),
    ("pool-results", &["api=callback", "granularity=bytecode"]),
    ("pool-results", &["api=map"]),
    (
        "start-methods",
        &["method=forkserver", "granularity=bytecode"],
    ),
    ("start-methods", &["method=spawn", "guard=off"]),
];

fn count(t: &Trace, text: &str) -> i64 {
    t.output.iter().filter(|o| o.text.contains(text)).count() as i64
}

fn var(t: &Trace, name: &str) -> i64 {
    t.final_vars()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|x| x.1)
        .expect("the variable exists")
}

/// The lesson's criterion, written again here from the lesson's story.
fn criterion(id: &str, run: &Run) -> Option<bool> {
    criterion_of(id, run.trace(), run.knobs())
}

fn criterion_of(id: &str, t: &Trace, k: &interleave::lesson::Knobs) -> Option<bool> {
    let deadlock = !t.deadlock().is_empty();
    Some(match id {
        "balance-race" => var(t, "balance") == 0,
        "value-race" => {
            let n = |name| k.int(name).expect("value-race declares it");
            var(t, "counter.value") == n("processes") * n("iterations")
        }
        "tickets" => {
            let sold = count(t, "got a ticket");
            let tickets = k.int("tickets").expect("tickets declares it");
            sold <= tickets && var(t, "ticket.json") == tickets - sold
        }
        "deadlock" => !deadlock && count(t, "both threads finished") == 1,
        "pipe" => !deadlock && count(t, "parent got 42") == 1 && count(t, "child got 43") == 1,
        "queue" => count(t, "Get ") == 3,
        "thread-local" => count(t, "AttributeError") == 0,
        _ => return None,
    })
}

/// The consistency check over every lesson and several seeds, stepped: each
/// event's instruction is the one at the actor's pc, the final state the report
/// shows is the engine's, and the verdict agrees with the lesson's criterion.
#[test]
fn every_lesson_and_seed_tells_the_truth_stepped() {
    for &(id, s) in LESSONS {
        for seed in 1..=4 {
            let what = format!("{id} {s:?} seed {seed}");
            let run = stepped(id, s, Origin::Seed(seed));
            assert!(run.is_over(), "{what} ended");
            let t = run.trace();
            check_pcs(t, &what);
            // What the report shows is what the simulator holds.
            let sim = run.sim().expect("a stepped run");
            let p = &t.program;
            for (i, (name, v)) in t.final_vars().iter().enumerate() {
                let main_sees = p.vars[i].shared || p.actors.iter().all(|a| a.process == 0);
                if main_sees || !p.actors.iter().any(|a| a.process != 0) {
                    assert_eq!(*v, sim.vars()[i], "{what}: {name}");
                }
            }
            let vd = run.verdict(Lang::En).expect("every lesson has a verdict");
            if let Some(want) = criterion(id, &run) {
                assert_eq!(vd.correct, want, "{what}: {}", vd.why);
            }
            assert_eq!(vd.overwritten, lost_updates(p, &t.events).len());
            // The screen's window of rows numbers them as the whole table does.
            let code = run.lesson().code(run.knobs());
            let g = run.config().granularity;
            let all = rows(t, g, &code, 0..t.len());
            for (i, r) in all.iter().enumerate() {
                assert_eq!(r.number, i + 1, "{what}");
            }
            let from = t.len() / 2;
            let window = rows(t, g, &code, from..t.len());
            if let Some(first) = window.get(1) {
                let same = all.iter().find(|r| r.events.start == first.events.start);
                assert_eq!(same.map(|r| r.number), Some(first.number), "{what}");
            }
        }
    }
}

/// `lock.release()` is a row of its own, named as such, and leaves the lock free.
#[test]
fn the_release_is_labelled_as_the_release_and_frees_the_lock() {
    let run = stepped(
        "balance-race",
        &["iterations=1", "lock=on"],
        Origin::Seed(1),
    );
    let text = report_text(&run);
    assert_eq!(text.matches("CALL lock.release").count(), 2, "{text}");
    let t = run.trace();
    let end = StateReplay::at(&t.program, &t.events, t.len());
    assert_eq!(end.lock_holder(0), None, "nobody holds the lock at the end");
    // Two rows in a row of one thread never name the same jump.
    let lines: Vec<&str> = text.lines().collect();
    for w in lines.windows(2) {
        assert!(
            !(w[0].contains("JUMP_BACKWARD")
                && w[0].trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ')
                    == w[1].trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ')),
            "{text}"
        );
    }
    let run = stepped("deadlock", &["consistent-order=on"], Origin::Seed(1));
    let text = report_text(&run);
    assert!(text.contains("lock_b.release()  # released"), "{text}");
    assert!(text.contains("lock_a.release()  # released"), "{text}");
    assert_eq!(text.matches("# released").count(), 4, "{text}");
    assert!(!text.contains("ends (exit code 0), ends"), "{text}");
}

/// The waker's row is shown once, and the wake comes right after it.
#[test]
fn a_put_or_a_send_is_one_row_and_wakes_after_it() {
    for (id, s) in [("queue", &["granularity=line"][..]), ("pipe", &[][..])] {
        for seed in 1..=5 {
            let run = stepped(id, s, Origin::Seed(seed));
            let t = run.trace();
            let evs: Vec<_> = t
                .events
                .iter()
                .filter(|e| !matches!(e.kind, EventKind::GilTake | EventKind::GilDrop))
                .collect();
            for w in evs.windows(2) {
                if w[1].kind == EventKind::Wake && w[1].value >= 0 {
                    assert_eq!(w[0].actor as i64, w[1].value, "{id} seed {seed}");
                    assert_eq!(w[0].kind, EventKind::Exec, "{id} seed {seed}");
                }
            }
            let text = report_text(&run);
            for (i, l) in text.lines().enumerate() {
                if l.ends_with("q.put(value)") || l.ends_with("conn.send(42)") {
                    panic!("{id} seed {seed}: row {i} names the put without its value:\n{text}");
                }
            }
        }
    }
}

/// Oversold tickets are a wrong run, with both figures and the reason.
#[test]
fn an_oversold_ticket_sale_is_wrong_and_says_why() {
    let run = stepped("tickets", &[], Origin::Seed(3));
    let t = run.trace();
    let sold = count(t, "got a ticket");
    assert!(sold > 1, "seed 3 oversells");
    let vd = run.verdict(Lang::En).expect("a verdict");
    assert!(!vd.correct);
    assert!(
        vd.why.contains(&format!("{sold} buyer(s) got a ticket")),
        "{}",
        vd.why
    );
    assert_eq!(vd.missing.as_ref().map(|m| m.value), Some(sold - 1));
    assert!(
        vd.overwritten > 0,
        "each sale after the first wrote over another"
    );
    let j = summary(&run);
    assert_eq!(j["verdict"]["correct"], false);
    assert_eq!(j["expected"]["ticket.json"], 0);
    assert_eq!(j["final"]["ticket.json"], 0);
    let text = report_text(&run);
    assert!(text.contains("verdict: WRONG"), "{text}");
    assert!(
        text.contains(&format!("missing effect: {}", sold - 1)),
        "{text}"
    );
    let run = stepped("tickets", &["lock=on"], Origin::Seed(3));
    let vd = run.verdict(Lang::En).expect("a verdict");
    assert!(vd.correct, "{}", vd.why);
    assert_eq!(summary(&run)["verdict"]["correct"], true);
}

/// The missing effect counts increments; overwritten writes count rows with `!`
/// (seed 38: one write wipes out a whole batch of 50).
#[test]
fn the_two_figures_count_different_things() {
    let run = stepped("value-race", &[], Origin::Seed(38));
    let t = run.trace();
    let counter = var(t, "counter.value");
    let vd = run.verdict(Lang::En).expect("a verdict");
    let m = vd.missing.expect("value-race has a missing effect");
    assert_eq!(m.value, 10 * 50 - counter);
    assert_eq!(m.unit, "increments");
    let bangs = report_text(&run)
        .lines()
        .filter(|l| l.len() > 7 && &l[6..7] == "!")
        .count();
    assert!(bangs > 0);
    assert_eq!(vd.overwritten, lost_updates(&t.program, &t.events).len());
    let text = report_text(&run);
    assert!(
        text.contains(&format!("missing effect: {} increments", m.value)),
        "{text}"
    );
    assert!(
        text.contains(&format!("overwritten writes: {}", vd.overwritten)),
        "{text}"
    );
    // The balance race's tutorial schedule: one overwritten write, balance off by 8.
    let s = interleave::sim::Schedule::parse("0x4 1x5 2x6 1 1x4 2x4 1x4 2x4 0x5").unwrap();
    let run = stepped(
        "balance-race",
        &["iterations=1"],
        Origin::Schedule(s.into()),
    );
    let vd = run.verdict(Lang::En).expect("a verdict");
    assert!(!vd.correct);
    assert!(vd.why.contains("balance is -8"), "{}", vd.why);
    assert_eq!(vd.overwritten, 1);
    assert_eq!(vd.missing.map(|m| m.value), Some(8));
}

fn live_run(id: &str, s: &[&str]) -> (Trace, bool) {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    let l = lesson(id);
    let knobs = knobs_from(&l, &sets(s)).expect("valid knobs");
    let program: Program = interleave::scenarios::build(&l, &knobs).expect("it builds");
    LiveRun::start(Arc::new(program), knobs.engine(), 4.0).wait(Duration::from_secs(30))
}

/// A process program blocked for good ends as a deadlock, as threads do, naming
/// where each process waits.
#[test]
fn a_live_process_run_stuck_for_good_is_reported() {
    for (id, s) in [
        ("pipe", &["close=off"][..]),
        ("queue", &["nowait=on", "maxsize=1"][..]),
    ] {
        let (t, finished) = live_run(id, s);
        assert!(
            finished,
            "{id} {s:?} ended instead of hanging to the timeout"
        );
        let dl = t.deadlock();
        assert!(!dl.is_empty(), "{id} {s:?}: a deadlock is reported");
        check_pcs(&t, id);
        let end = StateReplay::at(&t.program, &t.events, t.len());
        for e in dl {
            // The marker of a stuck actor is on the call it is stuck in.
            assert_eq!(end.position(e.actor), Some(e.pc), "{id}");
            let ins = t.program.instr(e.actor, e.pc);
            assert!(
                matches!(
                    ins,
                    Some(Instr::PipeRecv { .. } | Instr::QueuePut { .. } | Instr::Join(_))
                ),
                "{id}: stuck in {ins:?}"
            );
        }
    }
    // A run that ends by itself is not called stuck.
    let (t, finished) = live_run("pipe", &[]);
    assert!(finished);
    assert!(t.deadlock().is_empty());
    check_pcs(&t, "pipe live");
}

/// Live thread lessons keep the same truth: instructions follow the code, and a
/// deadlocked thread's marker is on the acquire it waits in, not the line before.
#[test]
fn live_thread_runs_follow_the_code_and_mark_where_threads_wait() {
    for (id, s) in [
        ("deadlock", &[][..]),
        ("balance-race", &["iterations=2000", "lock=on"][..]),
        ("thread-local", &[][..]),
        ("threads", &["loops=3", "sleep=0"][..]),
    ] {
        let (t, finished) = live_run(id, s);
        assert!(finished, "{id}");
        check_pcs(&t, id);
        if id == "deadlock" {
            let end = StateReplay::at(&t.program, &t.events, t.len());
            let dl = t.deadlock();
            assert!(!dl.is_empty(), "the napping threads deadlock");
            for e in dl {
                assert_eq!(end.position(e.actor), Some(e.pc));
                let ins = t.program.instr(e.actor, e.pc);
                assert!(
                    matches!(ins, Some(Instr::Acquire(_) | Instr::Join(_))),
                    "{ins:?}"
                );
            }
        }
    }
}

/// The playground's verdict before the end says it is not final.
#[test]
fn a_verdict_before_the_end_is_not_a_correct_run() {
    let l = lesson("balance-race");
    let knobs = knobs_from(&l, &sets(&["iterations=3"])).expect("valid");
    let mut run = Run::new(&l, knobs, Start::Stepped(Origin::Seed(1))).expect("builds");
    run.command(Command::Step);
    let vd = verdict(
        run.lesson(),
        run.knobs(),
        run.trace(),
        run.is_over(),
        Lang::En,
    )
    .expect("a verdict");
    assert!(!vd.over);
    assert!(!vd.correct);
    assert!(vd.why.starts_with("so far"), "{}", vd.why);
}

/// `print(output.decode())` of tr's output shows tr's newline as a blank line,
/// stepped and live, as CPython does.
#[test]
fn the_blank_line_after_trs_output_is_shown() {
    let run = stepped("subprocess", &[], Origin::Seed(1));
    let text = report_text(&run);
    assert!(text.contains("HELLO FROM PYTHON\n\nExit code: 0"), "{text}");
    assert!(text.contains("hello, world\nExit code: 0"), "{text}");
    let (t, finished) = live_run("subprocess", &[]);
    assert!(finished);
    let out: Vec<&str> = t.output.iter().map(|o| o.text.as_str()).collect();
    assert!(out.contains(&"HELLO FROM PYTHON\n"), "{out:?}");
    assert!(out.contains(&"hello, world"), "{out:?}");
}

/// A live run's elapsed time goes on between events and stops at the end.
#[test]
fn the_live_elapsed_time_stops_when_the_run_ends() {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    let l = lesson("thread-local");
    let mut run = Run::new(&l, l.default_knobs(), Start::Live { speed: 1.0 }).expect("it builds");
    for _ in 0..3000 {
        run.poll();
        if run.is_over() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(run.is_over(), "thread-local ends live");
    let a = run.live_elapsed_ms().expect("a live run");
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(run.live_elapsed_ms(), Some(a));
}

fn perfetto(id: &str, s: &[&str], t: &Trace) -> Vec<serde_json::Value> {
    let l = lesson(id);
    let knobs = knobs_from(&l, &sets(s)).expect("valid knobs");
    let r = Report {
        lesson: &l,
        knobs: &knobs,
        trace: t,
        mode: interleave::trace::Mode::Live,
        replay: Replay::Live,
        wall_ms: 0.0,
        lang: Lang::En,
        finished: true,
    };
    let v = interleave::export::perfetto_json(&r);
    v["traceEvents"]
        .as_array()
        .expect("a list of events")
        .clone()
}

/// Perfetto shows named processes with their real PIDs, slices named by the
/// code, overwritten writes as instants, and flows from a send to its recv.
#[test]
fn perfetto_names_processes_code_races_and_hand_overs() {
    let (t, finished) = live_run("pipe", &[]);
    assert!(finished);
    let evs = perfetto("pipe", &[], &t);
    let procs: Vec<&serde_json::Value> =
        evs.iter().filter(|e| e["name"] == "process_name").collect();
    assert_eq!(procs.len(), 2);
    for (e, label) in procs.iter().zip(&t.actor_labels) {
        let pid = e["pid"].as_i64().expect("a pid");
        assert!(label.contains(&format!("(pid {pid})")), "{label} vs {pid}");
        assert!(pid > 1, "a real PID, not a process number");
    }
    assert!(
        evs.iter()
            .any(|e| e["ph"] == "X" && e["name"] == "conn.send(42)"),
        "slices are named by the code"
    );
    let starts = evs.iter().filter(|e| e["ph"] == "s").count();
    let ends = evs.iter().filter(|e| e["ph"] == "f").count();
    assert_eq!(
        (starts, ends),
        (2, 2),
        "42 and 43 each go from a send to a recv"
    );
    let run = stepped("value-race", &[], Origin::Seed(38));
    let t = run.trace();
    let evs = perfetto("value-race", &[], t);
    let marks = evs
        .iter()
        .filter(|e| e["name"] == "overwritten write")
        .count();
    assert_eq!(marks, lost_updates(&t.program, &t.events).len());
    assert!(marks > 0);
}

/// A process terminated before it could run still shows its PID; the pool's stop
/// signal is named for what it is.
#[test]
fn a_terminated_process_has_its_pid_and_the_pools_stop_signal_is_explained() {
    let (t, finished) = live_run("process", &["terminate=on"]);
    assert!(finished);
    let p2 = t
        .actor_labels
        .iter()
        .find(|l| l.starts_with("Process-2"))
        .expect("Process-2 is an actor");
    assert!(p2.contains("(pid "), "{p2}");
    let run = stepped("pool", &["tasks=2", "size=2"], Origin::Seed(1));
    let text = report_text(&run);
    assert!(!text.contains("got -1"), "{text}");
    assert!(
        text.contains("got None (the pool's signal to stop)"),
        "{text}"
    );
}

/// The GIL lab names its unnamed threads as the CPython its GIL model stands for.
#[test]
fn gil_lab_threads_are_named_as_their_cpython_names_them() {
    let names = |gil: &str| {
        let l = lesson("gil");
        let knobs = knobs_from(&l, &sets(&[&format!("gil={gil}")])).expect("valid");
        let p = interleave::scenarios::build(&l, &knobs).expect("builds");
        p.actors.iter().map(|a| a.name.clone()).collect::<Vec<_>>()
    };
    let classic = names("gil-classic");
    assert!(classic.contains(&"Thread-1".to_string()), "{classic:?}");
    assert!(classic.contains(&"Thread-3".to_string()), "{classic:?}");
    let modern = names("gil-modern");
    assert!(
        modern.contains(&"Thread-1 (count)".to_string()),
        "{modern:?}"
    );
    assert!(
        modern.contains(&"Thread-3 (probe)".to_string()),
        "{modern:?}"
    );
}

/// value-race's `counter.value += 1` adds the constant 1, as CPython's dis shows
/// (`LOAD_CONST 1`), not a local.
#[test]
fn value_race_adds_the_constant_one() {
    let run = stepped(
        "value-race",
        &["processes=1", "iterations=1", "granularity=bytecode"],
        Origin::Seed(1),
    );
    let text = report_text(&run);
    assert!(text.contains("LOAD_CONST 1"), "{text}");
    assert!(!text.contains("LOAD_FAST 1"), "{text}");
    assert!(text.contains("STORE_ATTR counter.value"), "{text}");
}

/// Each lesson live, with knobs that keep a run short.
const LIVE: &[(&str, &[&str])] = &[
    ("balance-race", &["iterations=2000"]),
    ("balance-race", &["iterations=2000", "lock=on", "gil=free"]),
    ("value-race", &["iterations=50", "processes=4"]),
    ("value-race", &["iterations=50", "processes=4", "lock=on"]),
    ("tickets", &["lock=on", "buyers=5"]),
    ("deadlock", &["consistent-order=on"]),
    ("fork", &[]),
    ("process", &["terminate=on"]),
    ("pool", &["tasks=2", "size=2", "seconds=0.1"]),
    ("queue", &[]),
    ("pipe", &[]),
    ("subprocess", &[]),
    ("threads", &["loops=3", "sleep=0"]),
    ("thread-local", &["main-reads=on"]),
    ("gil", &["n=25000"]),
    ("pool-results", &["api=callback"]),
    ("start-methods", &["method=fork"]),
    ("start-methods", &["method=forkserver"]),
];

/// The consistency check, live: events follow the code, the values the state
/// panel shows (the trace's final values) are what the threads left in memory
/// and what the program itself printed, and the verdict agrees with the lesson.
#[test]
fn every_lesson_tells_the_truth_live() {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    for &(id, s) in LIVE {
        let what = format!("{id} {s:?} live");
        let l = lesson(id);
        let knobs = knobs_from(&l, &sets(s)).expect("valid knobs");
        let program = Arc::new(interleave::scenarios::build(&l, &knobs).expect("it builds"));
        let run = LiveRun::start(program.clone(), knobs.engine(), 4.0);
        let mut c = Collector::new(program);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut finished = false;
        while !finished {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match run.receiver().recv_timeout(left) {
                Ok(m) => finished = c.take(m),
                Err(_) => break,
            }
        }
        assert!(finished, "{what} ended");
        let memory = run.memory();
        drop(run);
        let t = c.finish();
        check_pcs(&t, &what);
        let shown = t.final_vars();
        if let Some(mem) = memory {
            let values: Vec<i64> = shown.iter().map(|x| x.1).collect();
            assert_eq!(values, mem, "{what}: the state panel against memory");
        }
        // The program prints its variable last: the panel shows the same.
        let printed = |name: &str| {
            let last = t.output.last().map(|o| o.text.trim().to_string());
            assert_eq!(last, Some(var(&t, name).to_string()), "{what}: {name}");
        };
        match id {
            "balance-race" => printed("balance"),
            "value-race" => printed("counter.value"),
            _ => {}
        }
        let vd = verdict(&l, &knobs, &t, true, Lang::En).expect("every lesson has a verdict");
        if let Some(want) = criterion_of(id, &t, &knobs) {
            assert_eq!(vd.correct, want, "{what}: {}", vd.why);
        }
        assert_eq!(
            vd.overwritten,
            lost_updates(&t.program, &t.events).len(),
            "{what}"
        );
    }
}

/// One CPython instruction of a listing: its name and the texts `dis` may print it
/// as (`OPNAME arg (what)`, or `OPNAME what` for an index into a table).
struct CpyIns {
    op: String,
    forms: Vec<String>,
}

const TABLE_OPS: &[&str] = &[
    "LOAD_CONST",
    "LOAD_FAST",
    "STORE_FAST",
    "LOAD_GLOBAL",
    "STORE_GLOBAL",
    "LOAD_NAME",
    "STORE_NAME",
    "LOAD_ATTR",
    "STORE_ATTR",
    "LOAD_DEREF",
    "STORE_DEREF",
    "LOAD_METHOD",
    "RETURN_CONST",
    "LOAD_FAST_CHECK",
];

/// The view's rows that stand for a CPython instruction moving a value.
const VALUE_OPS: &[&str] = &["LOAD_", "STORE_", "BINARY_", "INPLACE_", "COMPARE_OP"];

fn cpython_line(ins: &serde_json::Value, decl: &toml::Value) -> Vec<CpyIns> {
    let splits = decl
        .get("split")
        .and_then(|s| s.as_array())
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    // A line CPython compiles to nothing (a comment, `else:`) has no entry.
    for i in ins.as_array().into_iter().flatten() {
        let f = |k: usize| i[k].as_str().unwrap_or("").to_string();
        let (op, arg, what) = (f(0), f(1), f(2));
        if let Some(s) = splits
            .iter()
            .find(|s| s["op"].as_str() == Some(op.as_str()))
        {
            let into = s["into"].as_array().expect("split.into");
            for (o, w) in into.iter().zip(what.split(", ")) {
                let o = o.as_str().unwrap_or("");
                out.push(CpyIns {
                    op: o.to_string(),
                    forms: vec![format!("{o} {w}")],
                });
            }
            continue;
        }
        let mut forms = vec![match (arg.is_empty(), what.is_empty()) {
            (true, _) => op.clone(),
            (false, true) => format!("{op} {arg}"),
            (false, false) => format!("{op} {arg} ({what})"),
        }];
        if TABLE_OPS.contains(&op.as_str()) && !what.is_empty() {
            forms.push(format!("{op} {what}"));
        }
        out.push(CpyIns { op, forms });
    }
    out
}

/// Compares one line of the view with CPython's; gives what differs.
fn compare_line(lesson: &str, view: &[String], cpy: &[CpyIns], decl: &toml::Value) -> Vec<String> {
    let list = |k: &str| {
        decl.get(k)
            .and_then(|s| s.as_array())
            .cloned()
            .unwrap_or_default()
    };
    let high: Vec<String> = decl["high_level"]["words"]
        .as_array()
        .expect("high_level.words")
        .iter()
        .filter_map(|w| w.as_str().map(str::to_string))
        .collect();
    let hidden: Vec<String> = list("hidden")
        .iter()
        .flat_map(|h| h["ops"].as_array().cloned().unwrap_or_default())
        .filter_map(|o| o.as_str().map(str::to_string))
        .collect();
    let folds: Vec<toml::Value> = list("fold")
        .into_iter()
        .filter(|f| {
            f["lessons"].as_array().is_some_and(|l| {
                l.iter()
                    .any(|x| x.as_str() == Some(lesson) || x.as_str() == Some("*"))
            })
        })
        .collect();
    let mut used = vec![false; cpy.len()];
    let mut at = 0;
    let mut diffs = Vec::new();
    let mut has_call = false;
    let mut has_value = false;
    for v in view {
        let first = v.split(' ').next().unwrap_or("");
        if high.iter().any(|h| h == first) {
            has_call = true;
            continue;
        }
        let fold = folds.iter().find(|f| {
            let want = f["view"].as_str().unwrap_or("");
            match want.strip_suffix('*') {
                Some(prefix) => v.starts_with(prefix),
                None => want == v,
            }
        });
        if let Some(f) = fold {
            has_value = true;
            for c in f["cpython"].as_array().expect("fold.cpython") {
                let c = c.as_str().unwrap_or("");
                for j in 0..cpy.len() {
                    if cpy[j].forms.iter().any(|x| x == c) {
                        used[j] = true;
                    }
                }
            }
            continue;
        }
        if !VALUE_OPS.iter().any(|p| first.starts_with(p)) {
            continue;
        }
        has_value = true;
        // The same row under the names a declared alias allows.
        let mut names = vec![v.clone()];
        for a in list("alias") {
            if a["view"].as_str() == Some(first) {
                for c in a["cpython"].as_array().into_iter().flatten() {
                    names.push(format!("{}{}", c.as_str().unwrap_or(""), &v[first.len()..]));
                }
            }
        }
        match (at..cpy.len()).find(|&j| !used[j] && cpy[j].forms.iter().any(|x| names.contains(x)))
        {
            Some(j) => {
                used[j] = true;
                at = j + 1;
            }
            None => diffs.push(format!(
                "the view shows `{v}`, CPython does not (here, in this order)"
            )),
        }
    }
    if has_value && !has_call {
        for (j, c) in cpy.iter().enumerate() {
            if !used[j] && !hidden.contains(&c.op) {
                diffs.push(format!("CPython has `{}`, the view does not", c.forms[0]));
            }
        }
    }
    diffs
}

/// Whether the declarations say the view draws code that is not the lesson's on
/// this line.
fn not_lesson(decl: &toml::Value, lesson: &str, code: &[String], line: u32) -> bool {
    let text = code.get((line as usize).wrapping_sub(1)).map(|l| l.trim());
    decl.get("not_lesson_code")
        .and_then(|x| x.as_array())
        .into_iter()
        .flatten()
        .any(|n| {
            n["lessons"]
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(lesson)))
                && n["line"].as_str().map(str::trim) == text
        })
}

/// Issue 10.14: the bytecode view is what `dis` prints for the lesson's code on
/// the CPython the lesson stands for, apart from what tools/measure/dis/declared.toml
/// declares, with its reason. The listings were written by
/// tools/measure/dis_listings.py from the pyenv interpreters; this test reads them.
#[test]
fn the_bytecode_view_is_what_dis_prints() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/measure/dis");
    let decl: toml::Value =
        toml::from_str(&std::fs::read_to_string(dir.join("declared.toml")).expect("declared.toml"))
            .expect("declared.toml parses");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the listings folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 13, "a listing per lesson: {files:?}");
    let mut problems = Vec::new();
    let mut compared = 0;
    for f in files {
        let data: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).expect("reads")).expect("json");
        let id = data["lesson"].as_str().expect("lesson id");
        let l = lesson(id);
        for listing in data["listings"].as_array().expect("listings") {
            let s: Vec<String> = listing["knobs"]
                .as_object()
                .expect("knobs")
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            let knobs = knobs_from(&l, &s).expect("valid knobs");
            let what = format!("{id} {s:?} (CPython {})", listing["python"]);
            assert_eq!(
                l.code(&knobs),
                listing["code"].as_str().unwrap_or(""),
                "{what}: the lesson's code changed; run tools/measure/dis_listings.py"
            );
            let p = interleave::scenarios::build(&l, &knobs).expect("it builds");
            let code: Vec<String> = l.code(&knobs).lines().map(str::to_string).collect();
            let want_minor: u8 = listing["python"]
                .as_str()
                .and_then(|v| v.split('.').nth(1))
                .and_then(|m| m.parse().ok())
                .expect("a version");
            assert_eq!(p.dis_minor, want_minor, "{what}: the view's CPython");
            let mut seen = std::collections::HashSet::new();
            for (a, actor) in p.actors.iter().enumerate() {
                let mut by_line: std::collections::BTreeMap<u32, Vec<String>> = Default::default();
                for (pc, ins) in actor.code.iter().enumerate() {
                    by_line
                        .entry(actor.lines[pc])
                        .or_default()
                        .push(p.dis(a as u16, *ins));
                }
                for (line, view) in by_line {
                    if !seen.insert((line, view.clone())) || not_lesson(&decl, id, &code, line) {
                        continue;
                    }
                    let cpy = cpython_line(&listing["lines"][line.to_string()], &decl);
                    compared += 1;
                    for d in compare_line(id, &view, &cpy, &decl) {
                        problems.push(format!("{what} line {line} ({}): {d}", actor.name));
                    }
                }
            }
        }
    }
    assert!(compared > 100, "{compared} lines compared");
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Issue 10.12: a process terminated before it reached its code still has a bar
/// on the timeline, where the signal ended it, stepped and live.
#[test]
fn a_terminated_process_has_a_bar_on_the_timeline() {
    use interleave::ui::{App, AppOptions, Theme, draw};
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    for live in [false, true] {
        let mut a = App::new(
            Catalog::embedded().expect("lessons"),
            Lang::En,
            AppOptions {
                theme: Theme { color: false },
                seed: 1,
                state_file: None,
                predict: false,
            },
        );
        let l = lesson("process");
        let knobs = knobs_from(&l, &sets(&["terminate=on"])).expect("valid");
        if live {
            a.open_at("process", knobs, Start::Live { speed: 4.0 })
                .expect("opens");
            for _ in 0..3000 {
                a.tick();
                if !a.animating() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            assert!(!a.animating(), "the live run ended");
        } else {
            a.open_at("process", knobs, Start::Stepped(Origin::Seed(1)))
                .expect("opens");
            a.handle(crossterm::event::Event::Key(
                crossterm::event::KeyEvent::new(
                    crossterm::event::KeyCode::Char('e'),
                    crossterm::event::KeyModifiers::NONE,
                ),
            ));
        }
        let mut t =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(200, 60)).expect("terminal");
        t.draw(|f| draw(&a, f)).expect("draws");
        let b = t.backend().buffer().clone();
        let rows: Vec<String> = (0..b.area.height)
            .map(|y| (0..b.area.width).map(|x| b[(x, y)].symbol()).collect())
            .collect();
        let row = rows
            .iter()
            .find(|r| r.contains("Process-2 (pid") && r.contains('│'))
            .unwrap_or_else(|| panic!("a timeline row for Process-2:\n{}", rows.join("\n")));
        assert!(
            row.contains('█'),
            "live {live}: Process-2 ran somewhere: {row}"
        );
    }
}

/// Issue 10.12: a pool worker that got the pool's stop signal ends in the pool's
/// loop, not on the task's `print` line (which would read as if it printed).
#[test]
fn a_pool_worker_ends_on_the_pools_loop_not_on_a_print() {
    let l = lesson("pool");
    let knobs = knobs_from(&l, &sets(&["tasks=2", "size=2"])).expect("valid");
    let p = interleave::scenarios::build(&l, &knobs).expect("builds");
    let code: Vec<String> = l.code(&knobs).lines().map(str::to_string).collect();
    let workers: Vec<_> = p
        .actors
        .iter()
        .filter(|a| a.name.starts_with("ForkPoolWorker"))
        .collect();
    assert_eq!(workers.len(), 2);
    for w in workers {
        let at = w
            .code
            .iter()
            .position(|i| matches!(i, Instr::Exit(_)))
            .expect("a worker ends");
        let line = &code[w.lines[at] as usize - 1];
        assert!(!line.contains("print"), "{} ends on `{line}`", w.name);
        assert!(
            line.contains("def long_time_task"),
            "{} ends on `{line}`",
            w.name
        );
    }
}

/// Issue 10.13: the programs subprocess runs are processes on the timeline:
/// stepped, simulated processes with PIDs; live, the real children's PIDs, each
/// different from the parent's and from each other.
#[test]
fn subprocess_programs_are_processes_on_the_timeline() {
    let run = stepped("subprocess", &[], Origin::Seed(1));
    let t = run.trace();
    let label = |t: &Trace, name: &str| {
        t.actor_labels
            .iter()
            .find(|l| l.starts_with(&format!("{name} (pid ")))
            .cloned()
            .unwrap_or_else(|| panic!("an actor {name}: {:?}", t.actor_labels))
    };
    assert_eq!(label(t, "echo"), "echo (pid 1001, simulated)");
    assert_eq!(label(t, "tr"), "tr (pid 1002, simulated)");
    // The program's row prints what call() lets it write to the terminal.
    let echo = t.program.actor_id("echo").expect("echo");
    let hello = t
        .output
        .iter()
        .find(|o| o.text == "hello, world")
        .expect("printed");
    assert_eq!(hello.actor, echo);
    for s in [&[][..], &["command=kill"][..]] {
        let (t, finished) = live_run("subprocess", s);
        assert!(finished);
        check_pcs(&t, "subprocess live");
        let pid = |l: String| -> i64 {
            l.split("(pid ")
                .nth(1)
                .and_then(|r| r.trim_end_matches(')').parse().ok())
                .unwrap_or_else(|| panic!("a real PID in {l}"))
        };
        let name = if s.is_empty() { "echo" } else { "sh" };
        let (main, prog, tr) = (
            pid(label(&t, "MainProcess")),
            pid(label(&t, name)),
            pid(label(&t, "tr")),
        );
        assert!(
            main != prog && prog != tr && main != tr,
            "{main} {prog} {tr}"
        );
        assert!(prog > 1 && tr > 1);
        // Each program's row runs (its exec) and ends with its exit code.
        let states = StateReplay::at(&t.program, &t.events, t.len()).states();
        let code = if s.is_empty() { 0 } else { -15 };
        let a = t.program.actor_id(name).expect("actor") as usize;
        assert_eq!(
            states[a],
            interleave::trace::ActorState::Done(code),
            "{name} ended"
        );
        assert!(
            t.events
                .iter()
                .any(|e| e.actor as usize == a && e.kind == EventKind::Exec)
        );
    }
}

/// `p.is_alive()` is a bool: its row says True or False, as Python prints it.
#[test]
fn is_alive_rows_say_true_or_false() {
    let run = stepped("process", &["terminate=on"], Origin::Seed(1));
    let text = report_text(&run);
    assert!(text.contains("print(q.is_alive())  # → True"), "{text}");
    assert!(
        text.contains("p.is_alive(), p.exitcode)  # → 1001, → False, → 0"),
        "{text}"
    );
}

/// The text report of a live run says what the run ran on: processes for a
/// process lesson, threads for a thread lesson.
#[test]
fn a_live_report_names_processes_or_threads() {
    for (id, on) in [("fork", "real processes"), ("thread-local", "real threads")] {
        let (t, finished) = live_run(id, &[]);
        assert!(finished, "{id}");
        let l = lesson(id);
        let knobs = l.default_knobs();
        let r = Report {
            lesson: &l,
            knobs: &knobs,
            trace: &t,
            mode: interleave::trace::Mode::Live,
            replay: Replay::Live,
            wall_ms: 1.0,
            lang: Lang::En,
            finished: true,
        };
        let text = text_report(&r);
        assert!(text.contains(&format!("live run on {on}:")), "{id}: {text}");
    }
}
