//! The buffering lesson's `show=pool` (issue 15): a `Pool(2)` whose workers
//! print. On a pipe each worker's lines wait in its own buffer and come out in
//! one write when it exits at `p.join()`: grouped per worker, main's line last.
//! On a terminal (or with `flush=True`) each line comes out as it is printed.
//! Stepped over seeds and schedulers, live on real processes writing to a real
//! pipe or pseudo-terminal, and the lesson's own code on real CPythons
//! (RESULTS §15.12).

#[path = "common/lesson.rs"]
mod common;

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::lesson::Lang;
use interleave::live::LiveRun;
use interleave::live::terminal::Received;
use interleave::program::Terminal;
use interleave::run::{Origin, Run, Start};
use interleave::trace::Trace;
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_interleave");
const DONE: &str = "All subprocesses done.";

fn knobs(sets: &[&str]) -> (interleave::lesson::Lesson, interleave::lesson::Knobs) {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog
        .find("buffering")
        .expect("the lesson exists")
        .clone();
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let k = knobs_from(&l, &sets).expect("the knobs are valid");
    (l, k)
}

fn stepped(sets: &[&str], seed: u64) -> Trace {
    let (l, k) = knobs(sets);
    Run::new(&l, k, Start::Stepped(Origin::Seed(seed)))
        .expect("the lesson builds")
        .finish_stepped()
        .expect("the run ends")
}

fn verdict(sets: &[&str], t: &Trace) -> bool {
    let (l, k) = knobs(sets);
    interleave::trace::verdict(&l, &k, t, true, Lang::En)
        .expect("a verdict")
        .correct
}

/// The lines the output panel shows: one write of a buffer may hold several.
fn lines_of(text: &str) -> Vec<String> {
    text.split('\n')
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn lines(t: &Trace) -> Vec<String> {
    t.output.iter().flat_map(|o| lines_of(&o.text)).collect()
}

/// The PID a task line names: `Run task 3 (1002)...` / `Task 3 done (1002).`.
fn pid_of(line: &str) -> &str {
    line.rsplit_once('(')
        .and_then(|(_, p)| p.split_once(')'))
        .map(|(p, _)| p)
        .unwrap_or_else(|| panic!("no pid in {line:?}"))
}

/// Runs of consecutive task lines from one worker.
fn blocks(lines: &[String]) -> usize {
    let pids: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains("task") || l.contains("Task"))
        .map(|l| pid_of(l))
        .collect();
    pids.windows(2).filter(|w| w[0] != w[1]).count() + usize::from(!pids.is_empty())
}

/// Every task's two lines, whole, each from one worker, Run before done, and
/// main's line last: what any run prints, on any file.
fn assert_whole(lines: &[String], what: &str) {
    assert_eq!(lines.len(), 13, "{what}: {lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some(DONE), "{what}");
    for i in 0..6 {
        let run = lines
            .iter()
            .position(|l| l.starts_with(&format!("Run task {i} (")))
            .unwrap_or_else(|| panic!("{what}: no Run task {i}: {lines:?}"));
        let done = lines
            .iter()
            .position(|l| l.starts_with(&format!("Task {i} done (")))
            .unwrap_or_else(|| panic!("{what}: no Task {i} done"));
        assert!(run < done, "{what}: task {i}");
        assert_eq!(
            pid_of(&lines[run]),
            pid_of(&lines[done]),
            "{what}: task {i}"
        );
    }
}

#[test]
fn stepped_on_a_pipe_each_worker_writes_its_lines_once_when_it_exits() {
    for sched in ["timed", "uniform"] {
        for seed in [1, 2, 3, 7, 99, 1234] {
            let sets = ["show=pool", "stdout=pipe", &format!("scheduler={sched}")];
            let t = stepped(&sets, seed);
            let what = format!("{sets:?} seed {seed}");
            let all = lines(&t);
            assert_whole(&all, &what);
            // One write per process that printed: each worker's whole buffer at
            // its exit, then main's.
            let workers = t.output.len() - 1;
            assert!((1..=2).contains(&workers), "{what}: {:?}", t.output);
            assert_eq!(blocks(&all), workers, "{what}: {all:?}");
            for o in &t.output[..workers] {
                let mine: Vec<String> = lines_of(&o.text);
                assert!(
                    mine.iter().all(|l| pid_of(l) == pid_of(&mine[0])),
                    "{what}: {o:?}"
                );
            }
            assert!(verdict(&sets, &t), "{what}");
        }
    }
}

#[test]
fn stepped_on_a_terminal_or_with_flush_each_line_comes_out_as_it_is_printed() {
    for sets in [
        ["show=pool", "stdout=tty", "fix=none"],
        ["show=pool", "stdout=pipe", "fix=flush"],
        ["show=pool", "stdout=pipe", "fix=unbuffered"],
    ] {
        let mut mixed = 0;
        for seed in [1, 2, 3, 7, 99, 1234] {
            let t = stepped(&sets, seed);
            let what = format!("{sets:?} seed {seed}");
            assert_whole(&lines(&t), &what);
            assert_eq!(t.output.len(), 13, "{what}: one write per line");
            mixed += usize::from(blocks(&lines(&t)) > 2);
        }
        // Both workers run at once, so their lines alternate.
        assert!(mixed >= 5, "{sets:?}: {mixed} of 6 seeds");
    }
}

/// A live run whose processes write to a fresh real pipe or pseudo-terminal:
/// its trace, and what the file received.
fn live_on(sets: &[&str], terminal: Terminal) -> (Trace, Received) {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    let (l, k) = knobs(sets);
    let mut program = interleave::scenarios::build(&l, &k).expect("the lesson builds");
    program.terminal = Some(terminal);
    let run = LiveRun::start(Arc::new(program), k.engine(), 1.0);
    let watch = run.terminal().expect("the run has a real stdout");
    let (trace, finished) = run.wait(Duration::from_secs(60));
    assert!(finished, "buffering {sets:?} did not finish live");
    let got = watch.received_all(Duration::from_secs(20));
    assert!(got.closed, "every process closed its stdout");
    (trace, got)
}

#[test]
fn live_real_workers_on_a_real_pipe_come_out_grouped_and_on_a_terminal_line_by_line() {
    let (t, got) = live_on(&["show=pool", "stdout=pipe"], Terminal::Pipe);
    let received = lines_of(&got.text());
    assert_whole(&received, "live pipe");
    // The same lines as the panel; two workers exiting at once may write in
    // either order relative to their events, so compare them as sets.
    let (mut a, mut b) = (received.clone(), lines(&t));
    a.sort();
    b.sort();
    assert_eq!(a, b, "the pipe got what the panel shows");
    // Two real worker processes, each one block.
    let pids: std::collections::BTreeSet<&str> = received[..12].iter().map(|l| pid_of(l)).collect();
    assert!(!pids.is_empty() && pids.len() <= 2, "{pids:?}");
    assert_eq!(blocks(&received), pids.len(), "{received:?}");
    for p in &pids {
        let n: i64 = p.parse().expect("a PID");
        assert!(!(1000..1010).contains(&n), "a real PID: {n}");
    }

    let (t, got) = live_on(&["show=pool", "stdout=tty"], Terminal::Tty);
    let received = lines_of(&got.text().replace('\r', ""));
    assert_whole(&received, "live tty");
    assert_eq!(t.output.len(), 13, "one write per line on a terminal");
}

#[test]
fn the_lessons_own_code_comes_out_grouped_on_a_pipe_on_real_cpython() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (l, k) = knobs(&["show=pool", "stdout=pipe"]);
    let file = dir.path().join("pool.py");
    std::fs::write(&file, l.code(&k)).expect("writes");
    let mut ran = 0;
    for v in ["3.8", "3.11", "3.12", "3.13"] {
        let Some(exe) = common::pyenv_python(v) else {
            continue;
        };
        let out = std::process::Command::new(&exe)
            .arg(&file)
            .env_remove("PYTHONUNBUFFERED")
            .output()
            .expect("python runs");
        assert!(out.status.success(), "{v}: {out:?}");
        let got = lines_of(&String::from_utf8_lossy(&out.stdout));
        assert_whole(&got, v);
        let pids: std::collections::BTreeSet<&str> = got[..12].iter().map(|l| pid_of(l)).collect();
        assert_eq!(
            blocks(&got),
            pids.len(),
            "{v}: one block per worker: {got:?}"
        );
        ran += 1;
    }
    eprintln!("ran the lesson's code on {ran} CPython versions");
}
