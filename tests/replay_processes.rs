//! Live → stepped for every process lesson: real worker processes hand messages
//! over real queues and pipes, fork, terminate each other, run programs and
//! share a file; what they record lets each run replay stepped to the same
//! output (PIDs aside: the simulator numbers processes its own way), the same
//! final state and the same lost updates. Invariants only: which interleaving a
//! live run takes is up to the machine.

use interleave::catalog::Catalog;
use interleave::explore::replay::{self, replay_config};
use interleave::live::LiveRun;
use interleave::live::record::NoReplay;
use interleave::program::{EngineConfig, Program};
use interleave::sim::{Ending, Sim};
use std::sync::Arc;
use std::time::Duration;

fn build(lesson: &str, sets: &[&str]) -> (Arc<Program>, EngineConfig) {
    let catalog = Catalog::embedded().expect("the embedded lessons load");
    let l = catalog.get(lesson).expect("the lesson exists");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = interleave::cli::knobs_from(l, &sets).expect("valid knobs");
    let p = interleave::scenarios::build(l, &knobs).expect("it builds");
    (Arc::new(p), knobs.engine())
}

/// The worker binary for live process runs started inside this test process.
fn use_worker_binary() {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", env!("CARGO_BIN_EXE_interleave")) };
}

/// A line with every number of three digits or more (a PID, real or simulated)
/// written as `PID`. Linux hands out PIDs from 300 again once it reaches
/// `pid_max`, so a real PID may have three digits; no lesson these tests run
/// prints another number that large.
fn mask_pids(line: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    for c in line.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if digits.len() >= 3 {
            out.push_str("PID");
        } else {
            out.push_str(&digits);
        }
        digits.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// Runs `lesson` live `runs` times; each run whose record `may_miss` does not
/// excuse must replay stepped to the live run's masked output, final state and
/// lost updates. Returns how many replayed.
fn replays(
    lesson: &str,
    sets: &[&str],
    runs: usize,
    speed: f64,
    may_miss: impl Fn(&NoReplay) -> bool,
) -> usize {
    use_worker_binary();
    let (p, cfg) = build(lesson, sets);
    let mut replayed = 0;
    for run in 0..runs {
        let (trace, finished, rec) =
            LiveRun::start(p.clone(), cfg, speed).wait_recorded(Duration::from_secs(60));
        assert!(finished, "{lesson} run {run}: the live run ends");
        let schedule = match replay::schedule(&p, cfg, &rec) {
            Ok(s) => s,
            Err(why) => {
                assert!(
                    may_miss(&why),
                    "{lesson} {sets:?} run {run}: no replay: {why}"
                );
                continue;
            }
        };
        let sim = Sim::replay(p.clone(), replay_config(cfg), &schedule.0).expect("it replays");
        assert_ne!(sim.ending(), Ending::Running, "{lesson} run {run}");
        let lines = |o: &[interleave::trace::OutputLine]| -> Vec<String> {
            let mut v: Vec<String> = o.iter().map(|l| mask_pids(&l.text)).collect();
            // The live view shows a traceback raised by a queue operation at the
            // end (it links only print and raise instructions to their event);
            // the replay prints it where it happened. Compared apart.
            let tb: Vec<String> = v.extract_if(.., |l| l.contains("Traceback")).collect();
            v.extend(tb);
            v
        };
        assert_eq!(
            lines(&sim.trace().output),
            lines(&trace.output),
            "{lesson} run {run}: the same lines in the same order"
        );
        let live_final: Vec<i64> = trace.final_vars().into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            sim.vars(),
            &live_final[..],
            "{lesson} run {run}: the same state"
        );
        assert_eq!(
            sim.trace().lost_total(),
            rec.lost_updates(),
            "{lesson} run {run}: the same lost updates"
        );
        replayed += 1;
    }
    replayed
}

#[test]
fn pids_are_masked_and_nothing_else() {
    assert_eq!(
        mask_pids("Run task 3 (12401)... 1001 42 (919)"),
        "Run task 3 (PID)... PID 42 (PID)"
    );
}

/// The queue: each `get` receives the message the record says (the n-th put),
/// in the same order; the reader, killed while it waits for a fourth letter,
/// waits there stepped too until `terminate()` ends it. A run may not replay
/// only where, live, one process went on while another slept and the model's
/// virtual time cannot put them in that order (said as such).
#[test]
fn live_queue_runs_replay_with_the_same_hand_offs() {
    let sleeps = |w: &NoReplay| *w == NoReplay::SleepOrder;
    for (sets, runs) in [(&[][..], 8), (&["maxsize=1"][..], 4)] {
        let n = replays("queue", sets, runs, 1.0, sleeps);
        assert!(2 * n >= runs, "{sets:?}: {n} of {runs} replayed");
    }
    // get_nowait() that raises queue.Empty: the record does not say how many
    // messages had been put when it found none, so the replay may put one
    // first and then cannot follow (said as such).
    let n = replays("queue", &["nowait=on"], 4, 1.0, |w| {
        sleeps(w) || *w == NoReplay::CannotFollow
    });
    eprintln!("nowait: {n} of 4 replayed");
}

/// The pipe: each `recv` gets the message sent on the other end, and the
/// parent's second `recv` ends in EOF once the child has closed its end (and
/// the parent its copy).
#[test]
fn live_pipe_runs_replay_with_the_same_hand_offs() {
    assert_eq!(replays("pipe", &[], 10, 1.0, |_| false), 10);
}

/// fork, Process, subprocess: only PIDs differ, and PIDs are no shared state.
#[test]
fn live_fork_process_and_subprocess_runs_replay() {
    assert_eq!(replays("fork", &[], 4, 1.0, |_| false), 4);
    assert_eq!(replays("process", &[], 3, 10.0, |_| false), 3);
    assert_eq!(replays("subprocess", &[], 3, 1.0, |_| false), 3);
    assert_eq!(
        replays("subprocess", &["command=kill"], 2, 1.0, |_| false),
        2
    );
}

/// The pool: its workers race for the tasks; the record says who got which.
/// Two workers' sleeps of the same length can end live in the other order than
/// the model's virtual time ends them: then, and only then, no replay.
#[test]
fn live_pool_runs_replay_or_say_their_sleeps_crossed() {
    // How often they cross depends on the load: about half the runs replay on an
    // idle or lightly loaded machine, fewer with the whole suite beside them. Runs
    // go on until one replays, up to 30.
    let replayed =
        (0..30).any(|_| replays("pool", &[], 1, 4.0, |w| *w == NoReplay::SleepOrder) == 1);
    assert!(replayed, "at least one pool run of 30 replays");
}

/// Tickets with the lock: the lock's order decides which buyer reads which
/// write of ticket.json. Without it, buyers that write at the same moment make
/// the record unsure, and it says so.
#[test]
fn live_ticket_runs_replay_or_say_the_file_was_written_at_once() {
    let n = replays("tickets", &["lock=on", "buyers=3"], 2, 4.0, |_| false);
    assert_eq!(n, 2);
    replays("tickets", &["lock=off", "buyers=3"], 2, 4.0, |w| {
        matches!(w, NoReplay::Overlap(f) if f == "ticket.json") || *w == NoReplay::SleepOrder
    });
}
