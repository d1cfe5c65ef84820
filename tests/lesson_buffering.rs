//! The buffering lesson: what print() writes on a pipe and on a terminal, stepped
//! (each process's stdout buffer modelled) and live (real processes, the buffer in
//! each one's own memory), as CPython 3.6–3.13 does it (tools/measure/RESULTS.md
//! §15.1 and §15.6).

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::live::LiveRun;
use interleave::live::terminal::Received;
use interleave::program::Terminal;
use interleave::run::{Origin, Run, Start};
use interleave::trace::Trace;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_interleave");

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

fn live(sets: &[&str]) -> Trace {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    let (l, k) = knobs(sets);
    let program = interleave::scenarios::build(&l, &k).expect("the lesson builds");
    // Sleeps pass 10 times faster: the terminated child sleeps 0.5 s, not 5 s.
    let (trace, finished) =
        LiveRun::start(Arc::new(program), k.engine(), 10.0).wait(Duration::from_secs(60));
    assert!(finished, "buffering {sets:?} did not finish live");
    trace
}

/// The lines the output panel shows: one write of a buffer may hold several.
fn lines(t: &Trace) -> Vec<String> {
    t.output
        .iter()
        .flat_map(|o| o.text.split('\n').map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn count(t: &Trace, text: &str) -> usize {
    lines(t).iter().filter(|l| l.contains(text)).count()
}

#[test]
fn on_a_pipe_the_fork_copies_the_unflushed_start_line() {
    for seed in 1..=6 {
        let t = stepped(&["show=fork", "stdout=pipe"], seed);
        let out = lines(&t);
        assert_eq!(out.len(), 4, "seed {seed}: {out:?}");
        assert_eq!(
            count(&t, "Process (1000) start..."),
            2,
            "seed {seed}: {out:?}"
        );
        // The parent waits, so the child's copy comes out first, with its own
        // line after the start line it never printed.
        assert_eq!(t.output.len(), 2, "two writes, one per process at exit");
        assert_eq!(
            t.output[0].text,
            "Process (1000) start...\nI am child process (1001) and my parent is 1000."
        );
        assert_eq!(
            t.output[1].text,
            "Process (1000) start...\nI (1000) just created a child process (1001)."
        );
    }
}

#[test]
fn on_a_terminal_or_with_a_fix_the_start_line_comes_out_once_before_the_fork() {
    for sets in [
        ["stdout=tty", "fix=none"],
        ["stdout=pipe", "fix=flush"],
        ["stdout=pipe", "fix=unbuffered"],
    ] {
        for seed in 1..=4 {
            let t = stepped(&["show=fork", sets[0], sets[1]], seed);
            let out = lines(&t);
            assert_eq!(out.len(), 3, "{sets:?} seed {seed}: {out:?}");
            assert_eq!(out[0], "Process (1000) start...", "{sets:?}");
            assert_eq!(count(&t, "start..."), 1);
            assert_eq!(count(&t, "I am child process (1001)"), 1);
            assert_eq!(count(&t, "just created a child process (1001)"), 1);
        }
    }
}

#[test]
fn process_start_flushes_so_each_line_comes_out_once_on_a_pipe_too() {
    for stdout in ["stdout=pipe", "stdout=tty"] {
        for seed in 1..=4 {
            let t = stepped(&["show=process", stdout], seed);
            assert_eq!(
                lines(&t),
                [
                    "Parent process 1000.",
                    "Run child process test (1001)...",
                    "Child process end."
                ],
                "{stdout} seed {seed}"
            );
        }
    }
}

#[test]
fn a_terminated_child_loses_its_buffer_on_a_pipe_and_not_on_a_terminal() {
    for seed in 1..=4 {
        let pipe = stepped(&["show=terminate", "stdout=pipe"], seed);
        assert_eq!(lines(&pipe), ["parent: exitcode -15"], "seed {seed}");
        let tty = stepped(&["show=terminate", "stdout=tty"], seed);
        assert_eq!(
            lines(&tty),
            ["child: this line is in my buffer", "parent: exitcode -15"],
            "seed {seed}"
        );
        let fixed = stepped(&["show=terminate", "stdout=pipe", "fix=flush"], seed);
        assert_eq!(count(&fixed, "child: this line"), 1, "seed {seed}");
    }
}

/// The index of the event that wrote each output entry, and of the last sleep.
fn write_steps(t: &Trace) -> (Vec<u64>, u64) {
    let p = &t.program;
    let last_sleep = (0..t.total_len())
        .filter(|&i| {
            let e = &t.events[i - t.base];
            matches!(
                p.instr(e.actor, e.pc),
                Some(interleave::program::Instr::Sleep(_))
            )
        })
        .max()
        .expect("the loop sleeps") as u64;
    (t.output.iter().map(|o| o.seq).collect(), last_sleep)
}

#[test]
fn end_space_stays_in_the_buffer_even_on_a_terminal_until_the_last_print() {
    for stdout in ["stdout=pipe", "stdout=tty"] {
        let t = stepped(&["show=end", stdout], 1);
        // One write, after every sleep: the digits come out together.
        assert_eq!(lines(&t), ["1 2 3 4 5 "], "{stdout}");
        let (writes, last_sleep) = write_steps(&t);
        assert_eq!(writes.len(), 1, "{stdout}");
        assert!(writes[0] > last_sleep, "{stdout}: {writes:?} {last_sleep}");
    }
    // Each digit goes out at its own print, before the sleep after it, onto the
    // one line the terminal keeps open until print() ends it. flush=True writes
    // the digit and its ' ' at once; python -u writes them one after the other.
    for (fix, n) in [("fix=flush", 6), ("fix=unbuffered", 11)] {
        let t = stepped(&["show=end", "stdout=pipe", fix], 1);
        assert_eq!(lines(&t), ["1 2 3 4 5 "], "{fix}");
        let (_, last_sleep) = write_steps(&t);
        let writes: Vec<usize> = (0..t.total_len())
            .filter(|&i| {
                let e = &t.events[i - t.base];
                e.kind == interleave::trace::EventKind::Exec
                    && e.value >= 0
                    && matches!(
                        t.program.instr(e.actor, e.pc),
                        Some(interleave::program::Instr::BufPrint { .. })
                    )
            })
            .collect();
        assert_eq!(writes.len(), n, "{fix}");
        assert!((writes[n - 2] as u64) < last_sleep, "{fix}");
        assert!(t.output.iter().all(|o| !o.open), "{fix}");
    }
}

#[test]
fn the_verdict_says_a_line_came_out_twice_or_was_lost() {
    let run = |sets: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(["run", "buffering", "--seed", "3"]);
        for s in sets {
            c.args(["--set", s]);
        }
        let out = c.output().expect("the binary runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let right = "every line the program printed came out once";
    assert!(!run(&["stdout=pipe"]).contains(right));
    assert!(run(&["stdout=tty"]).contains(right));
    assert!(run(&["stdout=pipe", "fix=flush"]).contains(right));
    assert!(!run(&["show=terminate", "stdout=pipe"]).contains(right));
    assert!(run(&["show=terminate", "stdout=tty"]).contains(right));
    assert!(run(&["show=process", "stdout=pipe"]).contains(right));
}

#[test]
fn live_processes_really_copy_and_really_lose_their_buffers() {
    let fork_pipe = live(&["show=fork", "stdout=pipe"]);
    assert_eq!(count(&fork_pipe, "start..."), 2, "{:?}", lines(&fork_pipe));
    assert_eq!(lines(&fork_pipe).len(), 4);
    // The same real PID in both copies of the start line: the parent's.
    let starts: Vec<String> = lines(&fork_pipe)
        .into_iter()
        .filter(|l| l.contains("start..."))
        .collect();
    assert_eq!(starts[0], starts[1]);

    let fork_tty = live(&["show=fork", "stdout=tty"]);
    assert_eq!(count(&fork_tty, "start..."), 1, "{:?}", lines(&fork_tty));
    assert!(lines(&fork_tty)[0].contains("start..."));
    assert_eq!(lines(&fork_tty).len(), 3);

    let killed = live(&["show=terminate", "stdout=pipe"]);
    assert_eq!(lines(&killed), ["parent: exitcode -15"]);
    let kept = live(&["show=terminate", "stdout=tty"]);
    assert_eq!(
        lines(&kept),
        ["child: this line is in my buffer", "parent: exitcode -15"]
    );

    let once = live(&["show=process", "stdout=pipe"]);
    assert_eq!(lines(&once).len(), 3, "{:?}", lines(&once));
    assert_eq!(count(&once, "Parent process"), 1);
}

/// A live run whose processes write to the real file `terminal` (a fresh
/// pseudo-terminal or pipe): its trace, and what the file received.
fn live_on(sets: &[&str], terminal: Terminal) -> (Trace, Received) {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    let (l, k) = knobs(sets);
    let mut program = interleave::scenarios::build(&l, &k).expect("the lesson builds");
    program.terminal = Some(terminal);
    let run = LiveRun::start(Arc::new(program), k.engine(), 10.0);
    let watch = run.terminal().expect("the run has a real stdout");
    let (trace, finished) = run.wait(Duration::from_secs(60));
    assert!(finished, "buffering {sets:?} did not finish live");
    let got = watch.received_all(Duration::from_secs(20));
    assert!(got.closed, "every process closed its stdout");
    (trace, got)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.retain(|l| !l.is_empty());
    v.sort();
    v
}

#[test]
fn live_stdout_is_a_real_terminal_or_a_real_pipe_and_receives_every_write() {
    for sets in [
        ["show=fork", "stdout=tty"],
        ["show=fork", "stdout=pipe"],
        ["show=terminate", "stdout=tty"],
        ["show=terminate", "stdout=pipe"],
        ["show=end", "stdout=tty"],
        ["show=process", "stdout=pipe"],
    ] {
        let tty = sets[1] == "stdout=tty";
        let kind = if tty { Terminal::Tty } else { Terminal::Pipe };
        let (trace, got) = live_on(&sets, kind);
        assert_eq!(got.kind, kind);
        if tty {
            assert!(got.name.starts_with("/dev/pts/"), "{}", got.name);
            // The terminal's own line discipline turned each newline into CRLF.
            assert!(got.bytes.windows(2).any(|w| w == b"\r\n"), "{sets:?}");
        } else {
            assert!(!got.bytes.contains(&b'\r'), "{sets:?}");
        }
        // Byte for byte what the processes wrote: the output panel's lines.
        let text = got.text();
        let received: Vec<String> = text.split('\n').map(str::to_string).collect();
        assert_eq!(
            sorted(received),
            sorted(lines(&trace)),
            "{sets:?}: {text:?}"
        );
    }
}

#[test]
fn live_buffering_follows_the_real_file_not_the_knob() {
    // The lesson's program says "terminal", but its processes are given a pipe:
    // each asks the file itself (isatty), as CPython does, and block-buffers.
    let (trace, got) = live_on(&["show=fork", "stdout=tty"], Terminal::Pipe);
    assert_eq!(count(&trace, "start..."), 2, "{:?}", lines(&trace));
    assert_eq!(got.text().matches("start...").count(), 2);
    // And the other way round: told "pipe", given a terminal, they line-buffer.
    let (trace, got) = live_on(&["show=fork", "stdout=pipe"], Terminal::Tty);
    assert_eq!(count(&trace, "start..."), 1, "{:?}", lines(&trace));
    assert_eq!(got.text().matches("start...").count(), 1);
}
