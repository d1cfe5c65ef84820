//! Long stepped runs in the playground keep their memory flat: a run is its
//! schedule's choices plus checkpoints of the simulator, and only a window of its
//! newest events is kept. What the student sees (the final variables, the
//! overwritten writes, the output, the step count, stepping back) is the same as
//! for a run that kept every event.

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::lesson::Lesson;
use interleave::run::{Command, Origin, Outcome, Replayable, Run, Runs, Start};
use interleave::sim::{Ending, Sim};
use interleave::trace::rows;
use std::sync::Arc;

fn lesson(id: &str) -> Lesson {
    Catalog::embedded()
        .expect("the built-in lessons load")
        .find(id)
        .expect("the lesson exists")
        .clone()
}

fn run(id: &str, sets: &[&str], seed: u64) -> Run {
    let l = lesson(id);
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = knobs_from(&l, &sets).expect("knobs are valid");
    Run::new(&l, knobs, Start::Stepped(Origin::Seed(seed))).expect("the scenario builds")
}

/// The same run on a bare simulator that keeps every event.
fn full(run: &Run, seed: u64) -> Sim {
    let mut sim = Sim::new(Arc::clone(run.program()), run.config());
    let mut sched = interleave::run::seeded(run.knobs(), run.config(), &Origin::Seed(seed));
    sim.run_seeded(&mut sched);
    sim
}

/// 300 000 iterations: 7.2 M events, past the window, so the oldest are dropped.
const LONG: &str = "iterations=300000";

#[test]
fn a_long_run_keeps_a_window_and_still_adds_up_like_the_whole_run() {
    for (sets, seed) in [
        (vec![LONG], 3),
        (vec![LONG, "gil=free", "scheduler=uniform"], 5),
    ] {
        let mut r = run("balance-race", &sets, seed);
        assert_eq!(r.command(Command::RunToEnd), Outcome::Done);
        let whole = full(&r, seed);
        let (t, w) = (r.trace(), whole.trace());
        assert!(t.base > 0, "{sets:?}: nothing was dropped");
        assert!(
            t.events.len() <= 4_000_000,
            "{sets:?}: {} kept",
            t.events.len()
        );
        assert_eq!(t.total_len(), w.len(), "{sets:?}");
        assert_eq!(&w.events[t.base..], &t.events[..], "{sets:?}: the window");
        assert_eq!(t.final_vars(), w.final_vars(), "{sets:?}");
        assert_eq!(t.lost_total(), w.lost_total(), "{sets:?}");
        assert_eq!(t.output, w.output, "{sets:?}");
        assert_eq!(r.sim().map(|s| s.steps()), Some(whole.steps()));
        assert_eq!(r.ending(), whole.ending());
        // The newest rows carry the whole run's numbers (past 7 million), operands
        // and marks, as the interleaving shows them.
        let code = r.lesson().code(r.knobs());
        let g = r.config().granularity;
        let mut mine = rows(t, g, &code, t.len() - 40..t.len());
        let theirs = rows(w, g, &code, w.len() - 40..w.len());
        for row in &mut mine {
            row.events = row.events.start + t.base..row.events.end + t.base;
        }
        assert_eq!(mine, theirs, "{sets:?}: the newest rows");
        assert!(mine.last().is_some_and(|row| row.number > 4_000_000));
        // A long run no longer has its whole schedule; its seed replays it.
        assert!(r.schedule().is_none());
    }
}

#[test]
fn stepping_back_in_a_long_run_lands_where_a_replay_does() {
    let seed = 9;
    let mut r = run("balance-race", &[LONG], seed);
    r.command(Command::RunToEnd);
    let whole = full(&r, seed);
    let end = whole.steps();
    // One copy of the whole trace, cut shorter at each target (in falling order).
    let mut cut = whole.trace().clone();
    for target in [end - 1, end - 300_000, 1_234_567, 262_145, 262_144, 100, 0] {
        assert_eq!(r.go_to_step(target), Outcome::Done);
        let sim = r.sim().expect("stepped");
        assert_eq!(sim.steps(), target);
        let at = sim.trace().total_len();
        let t = sim.trace();
        // The events up to here are the whole run's, and there are rows behind.
        assert_eq!(
            &whole.trace().events[t.base..at],
            &t.events[..],
            "at {target}"
        );
        assert!(
            t.events.len() >= 4096.min(at),
            "at {target}: {} rows",
            t.events.len()
        );
        cut.events.truncate(at);
        assert_eq!(t.final_vars(), cut.final_vars(), "at {target}");
        assert_eq!(t.lost_total(), cut.lost_total(), "at {target}");
    }
    // Back at the end by the horizon, not by new picks.
    assert_eq!(r.command(Command::RunToEnd), Outcome::Done);
    assert_eq!(r.trace().total_len(), whole.trace().len());
    assert_eq!(r.trace().final_vars(), whole.trace().final_vars());
}

#[test]
fn a_step_by_hand_in_a_long_run_is_remembered_after_stepping_back() {
    let mut r = run("balance-race", &[LONG], 4);
    assert_eq!(r.go_to_step(3_000_000), Outcome::Done);
    // Step whichever thread the scheduler would not have.
    let mut probe = run("balance-race", &[LONG], 4);
    probe.go_to_step(3_000_000);
    probe.command(Command::Step);
    let default = *probe.sim().unwrap().schedule().last().unwrap();
    let other = if default == 1 { 2 } else { 1 };
    assert_eq!(r.command(Command::StepActor(other)), Outcome::Done);
    r.command(Command::Step);
    let after: Vec<_> = r.trace().events[r.trace().len() - 20..].to_vec();
    let vars = r.trace().final_vars();
    r.go_to_step(10);
    r.go_to_step(3_000_002);
    assert_eq!(r.sim().unwrap().pick_at(3_000_000), Some(other));
    assert_eq!(&r.trace().events[r.trace().len() - 20..], &after[..]);
    assert_eq!(r.trace().final_vars(), vars);
    assert_ne!(other, default);
}

/// `c` in the playground copies what `Run::replayable` gives: after the oldest
/// steps were dropped, a run nobody stepped by hand is its seed; once a step was
/// picked by hand, the seed no longer replays it, and the schedule of every
/// step (run-length encoded, a few hundred runs) does, to the same events.
#[test]
fn the_command_copied_after_steps_were_dropped_replays_this_run() {
    let mut r = run("balance-race", &[LONG], 4);
    assert_eq!(r.go_to_step(6_000_000), Outcome::Done);
    assert!(
        r.sim().is_some_and(|s| s.steps_base() > 0),
        "nothing dropped"
    );
    assert_eq!(r.replayable(), Replayable::Origin(Origin::Seed(4)));
    let mut probe = run("balance-race", &[LONG], 4);
    probe.go_to_step(6_000_000);
    probe.command(Command::Step);
    let default = probe.sim().and_then(|s| s.pick_at(6_000_000));
    let other = if default == Some(1) { 2 } else { 1 };
    assert_eq!(r.command(Command::StepActor(other)), Outcome::Done);
    for _ in 0..50 {
        r.command(Command::Step);
    }
    let steps = r.sim().map_or(0, |s| s.steps());
    let Replayable::Steps(copied) = r.replayable() else {
        panic!(
            "a run stepped by hand copies its schedule: {:?}",
            r.replayable()
        );
    };
    assert_eq!(copied.len(), steps);
    let text = copied.to_string();
    assert!(text.len() < 20_000, "{} characters", text.len());
    // Pasted back (`interleave balance-race --set iterations=300000 --schedule '…'`).
    let tokens = interleave::cli::schedule_tokens(&text).expect("the string reads back");
    let again = Start::Stepped(Origin::Schedule(Runs::from_tokens(&tokens)));
    let mut pasted = Run::new(r.lesson(), r.knobs().clone(), again).expect("builds");
    assert_eq!(pasted.go_to_step(steps), Outcome::Done);
    let (a, b) = (r.trace(), pasted.trace());
    assert_eq!(a.total_len(), b.total_len());
    let n = a.len().min(b.len()).min(5_000);
    assert_eq!(&a.events[a.len() - n..], &b.events[b.len() - n..]);
    assert_eq!(a.final_vars(), b.final_vars());
    assert_eq!(a.lost_total(), b.lost_total());
    assert_eq!(pasted.sim().and_then(|s| s.pick_at(6_000_000)), Some(other));
    // Back before the step by hand, the seed replays it again.
    r.go_to_step(5_999_999);
    assert_eq!(r.replayable(), Replayable::Origin(Origin::Seed(4)));
}

/// The child of [`a_long_run_stays_under_300_mb`]: runs the long run and prints
/// its peak resident memory.
#[test]
#[ignore = "started by a_long_run_stays_under_300_mb in a process of its own"]
fn long_run_child() {
    let its: &str = &std::env::var("INTERLEAVE_MEMORY_ITERATIONS").unwrap_or("1000000".into());
    let set = format!("iterations={its}");
    let mut r = run("balance-race", &[&set], 1);
    r.command(Command::RunToEnd);
    assert_ne!(r.ending(), Ending::Running);
    let events = r.trace().total_len();
    r.command(Command::StepBack);
    r.go_to_step(12_345);
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM");
    assert_eq!(r.sim().map(|s| s.steps()), Some(12_345));
    println!("{hwm} events={events}");
}

/// 1 M iterations (24 M events) in the playground's run took 3.4 GB before; a
/// run of any length now stays under 300 MB (the bench `memory` does 10 M).
#[test]
fn a_long_run_stays_under_300_mb() {
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--ignored", "--exact", "long_run_child", "--nocapture"])
        .output()
        .expect("the child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {text}");
    let line = text
        .lines()
        .find(|l| l.contains("VmHWM:"))
        .expect("the child reports its peak");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .expect("a number of kB");
    let events: u64 = line
        .rsplit("events=")
        .next()
        .and_then(|x| x.trim().parse().ok())
        .expect("events");
    assert!(events > 20_000_000, "the run was short: {events}");
    assert!(kb < 300 * 1024, "peak {kb} kB for {events} events");
}

// Live runs (issue 13): real threads and processes, whose events arrive faster
// than anyone can keep them all. A live run keeps a window of its newest events
// plus what the dropped ones add up to, so its memory stays flat too.

/// The child of [`live_runs_stay_under_300_mb`]: runs one lesson live, taking
/// its events in as the playground does, checks that what the run shows agrees
/// with the real memory, and prints its peak resident memory.
#[test]
#[ignore = "started by live_runs_stay_under_300_mb in a process of its own"]
fn live_run_child() {
    use interleave::live::{Collector, LiveRun, WINDOW_EVENTS};
    use std::time::Duration;
    let id = std::env::var("INTERLEAVE_MEMORY_LESSON").unwrap_or("balance-race".into());
    let sets: Vec<String> = std::env::var("INTERLEAVE_MEMORY_SETS")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let l = lesson(&id);
    let knobs = knobs_from(&l, &sets).expect("knobs are valid");
    let program = Arc::new(interleave::scenarios::build(&l, &knobs).expect("the scenario builds"));
    let run = LiveRun::start(program.clone(), knobs.engine(), 1.0);
    let mut c = Collector::new(program);
    let mut finished = false;
    let mut kept = 0;
    while !finished {
        let m = run.receiver().recv_timeout(Duration::from_secs(600));
        finished = c.take(m.expect("the run sends something within 10 minutes"));
        // What `Run::poll` does on every tick of the playground.
        let (_, fin) = c.drain(run.receiver());
        finished |= fin;
        kept = kept.max(c.trace.events.len());
    }
    let memory = run.memory();
    drop(run);
    let trace = c.finish();
    let vars = trace.final_vars();
    let v = interleave::trace::verdict(&l, &knobs, &trace, true, interleave::lesson::Lang::En)
        .expect("the lesson has a verdict");
    // The program prints the shared variable after every thread or process has
    // ended: the value the real memory held then.
    let printed: i64 = trace
        .output
        .last()
        .and_then(|o| o.text.trim().parse().ok())
        .expect("the program printed its result");
    let (name, shown) = vars[0].clone();
    assert_eq!(shown, printed, "{id}: {name} on screen vs printed");
    if let Some(mem) = memory {
        assert_eq!(
            vars.iter().map(|v| v.1).collect::<Vec<_>>(),
            mem,
            "{id}: threads' memory"
        );
    }
    let (_, expected) = v
        .expected
        .iter()
        .find(|(n, _)| *n == name)
        .expect("expected value");
    assert_eq!(v.correct, printed == *expected, "{id}: verdict {v:?}");
    assert!(v.why.contains(&printed.to_string()), "{id}: {}", v.why);
    assert!(
        trace.base > 0,
        "{id}: nothing dropped of {}",
        trace.total_len()
    );
    assert!(kept <= WINDOW_EVENTS, "{id}: {kept} events kept at once");
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM");
    // SAFETY: getrusage only writes the struct we pass it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    println!(
        "{hwm} children={} events={} kept={kept} {name}={printed} correct={} overwritten={}",
        ru.ru_maxrss,
        trace.total_len(),
        v.correct,
        v.overwritten
    );
}

/// Runs [`live_run_child`] on one lesson: (peak kB, its workers' peak kB, events).
fn live_child(id: &str, sets: &[&str]) -> (u64, u64, u64) {
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--ignored", "--exact", "live_run_child", "--nocapture"])
        .env("INTERLEAVE_MEMORY_LESSON", id)
        .env("INTERLEAVE_MEMORY_SETS", sets.join(","))
        .env("INTERLEAVE_WORKER_EXE", env!("CARGO_BIN_EXE_interleave"))
        .output()
        .expect("the child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{id} {sets:?}: child failed: {text}\n{err}"
    );
    let line = text
        .lines()
        .find(|l| l.contains("VmHWM:"))
        .expect("the child reports its peak");
    let field = |key: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.parse().ok())
            .unwrap_or_else(|| panic!("{key} in {line}"))
    };
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .expect("a number of kB");
    eprintln!("{id} {sets:?}: {line}");
    (kb, field("children="), field("events="))
}

/// The largest live runs the test budget allows (see `benches/memory.rs` for the
/// knobs' own maximum, 10 M iterations): 1 M iterations of balance-race are
/// 24 M events, twenty-four windows' worth, and 32 processes of value-race at 100 000
/// iterations 19 M. A window's memory does not grow with the run: once the first
/// window has been dropped, every later one reuses the same memory, so the peak
/// of a run ten times longer is the same (measured: see the bench).
/// `INTERLEAVE_MEMORY_LIVE_MAX=1` runs both at the knobs' maximum.
#[test]
fn live_runs_stay_under_300_mb() {
    let max = std::env::var_os("INTERLEAVE_MEMORY_LIVE_MAX").is_some();
    let (balance, value) = if max {
        ("iterations=10000000", "iterations=1000000")
    } else {
        ("iterations=1000000", "iterations=100000")
    };
    for (id, sets, least) in [
        ("balance-race", vec![balance], 20_000_000),
        ("value-race", vec!["processes=32", value], 15_000_000),
    ] {
        let (kb, workers_kb, events) = live_child(id, &sets);
        assert!(events > least, "{id}: the run was short: {events}");
        assert!(kb < 300 * 1024, "{id}: peak {kb} kB for {events} events");
        assert!(
            workers_kb < 300 * 1024,
            "{id}: a worker's peak {workers_kb} kB"
        );
    }
}

/// The child of [`cli_peak`]: runs `interleave run` with the arguments in
/// `INTERLEAVE_PEAK_ARGS` (split on `|`) and prints its peak resident memory
/// (from `wait4`), the lines it wrote, then the last 64 KiB of its output. A
/// process of its own, because `wait4` counts the memory of the process that
/// started the child too, and the test harness's grows with the other tests.
#[test]
#[ignore = "started by the_headless_report_streams_in_every_format"]
// The child is reaped by `wait4`, which std's `Child` does not see.
#[allow(clippy::zombie_processes)]
fn cli_peak_child() {
    use std::io::Read;
    let Ok(args) = std::env::var("INTERLEAVE_PEAK_ARGS") else {
        return;
    };
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_interleave"))
        .args(args.split('|'))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut pipe = child.stdout.take().expect("piped");
    let (mut lines, mut tail) = (0usize, Vec::new());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = pipe.read(&mut buf).expect("reads the report");
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
        tail.extend_from_slice(&buf[..n]);
        let cut = tail.len().saturating_sub(1 << 16);
        tail.drain(..cut);
    }
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, which std has not reaped.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "waits for the child");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{args}: status {status}"
    );
    println!("peak={} lines={lines}", usage.ru_maxrss);
    println!("{}", String::from_utf8_lossy(&tail));
}

/// `interleave run balance-race` at `iterations` in `format` (and `extra`
/// flags): its peak resident memory in kB, the lines it wrote, and the end of
/// its output.
fn cli_peak(iterations: u32, format: &str, extra: &[&str]) -> (i64, usize, String) {
    let set = format!("iterations={iterations}");
    let mut args = vec!["run", "balance-race", "--set", &set, "--format", format];
    args.extend_from_slice(extra);
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--ignored", "--exact", "cli_peak_child", "--nocapture"])
        .env("INTERLEAVE_PEAK_ARGS", args.join("|"))
        .output()
        .expect("the child runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "child failed: {text}");
    let (head, rest) = text
        .split_once("peak=")
        .and_then(|(_, r)| r.split_once('\n'))
        .expect("the child reports its peak");
    let mut it = head.split(" lines=");
    let kb = it.next().and_then(|k| k.parse().ok()).expect("kB");
    let lines = it.next().and_then(|n| n.parse().ok()).expect("lines");
    (kb, lines, rest.to_string())
}

/// The headless run writes its report while it runs, in every format, with or
/// without a schedule given: ten times the events take no more memory (a
/// report that kept its events, as the text report and Perfetto did, grew by
/// 24 bytes an event and more), and what is written is whole.
#[test]
fn the_headless_report_streams_in_every_format() {
    let (small, large) = (20_000, 200_000);
    for (format, extra) in [
        ("text", &["--seed", "1"][..]),
        ("jsonl", &["--seed", "1"][..]),
        ("perfetto", &["--seed", "1"][..]),
        ("text", &["--schedule", "0x4"][..]),
    ] {
        let (kb_small, _, _) = cli_peak(small, format, extra);
        let (kb_large, nlines, text) = cli_peak(large, format, extra);
        eprintln!("{format} {extra:?}: peak {kb_small} kB at {small}, {kb_large} kB at {large}");
        assert!(
            kb_large < kb_small + 16 * 1024,
            "{format} {extra:?}: peak {kb_small} kB at {small} iterations, {kb_large} kB at {large}"
        );
        assert!(kb_large < 300 * 1024, "{format}: {kb_large} kB");
        match format {
            "text" => {
                assert!(text.contains("rows elided"), "{text}");
                assert!(text.contains("\nbalance = "), "{text}");
                // Row numbers count the whole run: the last rows are past 4 million.
                let last = text
                    .lines()
                    .filter_map(|l| {
                        l.trim_start()
                            .split(' ')
                            .next()?
                            .trim_end_matches('!')
                            .parse::<u64>()
                            .ok()
                    })
                    .max()
                    .expect("numbered rows");
                assert!(last > 4_000_000, "last row {last}");
            }
            "jsonl" => {
                // The child's own test harness writes its lines after the report's.
                let summary = text
                    .lines()
                    .rfind(|l| l.contains(r#""kind":"summary""#))
                    .expect("a summary");
                assert!(
                    summary.contains(&format!("\"events\":{}", nlines - 1)),
                    "{summary}"
                );
            }
            _ => {
                assert!(text.contains("}]}\n"), "the trace ends");
                assert!(text.contains(r#""ph":"X""#));
            }
        }
    }
}
