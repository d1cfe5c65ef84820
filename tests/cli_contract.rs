//! The command line's contract, as the README states it: exit codes, signals,
//! closed pipes, range-checked flags, and lesson folders treated as untrusted data.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_interleave");

fn interleave(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn code(o: &Output) -> i32 {
    o.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {:?}", o.status.signal()))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_finished_run_is_0_bad_input_2_a_deadlock_3() {
    let o = interleave(&[
        "run",
        "balance-race",
        "--seed",
        "7",
        "--set",
        "iterations=10",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = interleave(&["run", "no-such-lesson"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("unknown lesson `no-such-lesson`"),
        "{}",
        stderr(&o)
    );
    // Seed 1 of the deadlock lesson ends in the cycle (its report names it).
    let o = interleave(&["run", "deadlock", "--seed", "1"]);
    assert!(stdout(&o).contains("DEADLOCK"), "{}", stdout(&o));
    assert_eq!(code(&o), 3);
    // A schedule that runs into the deadlock is 3 as well.
    let o = interleave(&["run", "deadlock", "--schedule", "0x5 1x3 2x3 1 2"]);
    assert!(stdout(&o).contains("DEADLOCK"), "{}", stdout(&o));
    assert_eq!(code(&o), 3);
}

#[test]
fn a_live_deadlock_is_3_and_a_live_timeout_is_4() {
    // Live, the outcome is the machine's: the code must say what the report says.
    let o = interleave(&["run", "deadlock", "--live", "--timeout", "20"]);
    let deadlocked = stdout(&o).contains("DEADLOCK");
    assert_eq!(code(&o), if deadlocked { 3 } else { 0 }, "{}", stdout(&o));
    // The threads lesson sleeps a second per loop: 0.2 s is never enough.
    let o = interleave(&["run", "threads", "--live", "--timeout", "0.2"]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(stdout(&o).contains("did not end in time"), "{}", stdout(&o));
    // A run whose events never stop coming is stopped at its timeout too (a
    // busy channel once kept it going to its end: 10 M iterations, many seconds).
    let busy = [
        "run",
        "balance-race",
        "--live",
        "--set",
        "iterations=10000000",
        "--timeout",
        "0.5",
    ];
    let o = interleave(&busy);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(stdout(&o).contains("did not end in time"), "{}", stdout(&o));
}

#[test]
fn every_numeric_flag_is_range_checked() {
    for (args, says) in [
        (&["--live", "--timeout", "1e19"][..], "--timeout must be"),
        (&["--live", "--timeout", "1e20"], "--timeout must be"),
        (&["--timeout", "0"], "--timeout must be"),
        (&["--timeout", "NaN"], "--timeout must be"),
        (&["--timeout", "inf"], "--timeout must be"),
        (&["--live", "--speed", "0"], "--speed must be"),
        (&["--speed", "1e300"], "--speed must be"),
        (&["--schedule", ""], "the schedule is empty"),
        (&["--schedule", " , "], "the schedule is empty"),
        (&["--schedule", "0x0"], "at least 1"),
        (&["--schedule", "0x100000001"], "longer than 100 million"),
        (&["--schedule", "0x99999999999999999999"], "not a number"),
        (&["--schedule", "7x2"], "there is no actor 7"),
        // Followed step by step: refused at the sixth step, never expanded.
        (
            &["--schedule", "0x99999999"],
            "cannot be followed at token 1",
        ),
        (&["--set", "iterations=0"], "must be from"),
        (
            &["--set", "iterations=99999999999999999999"],
            "whole number",
        ),
    ] {
        let mut all = vec!["run", "balance-race"];
        all.extend_from_slice(args);
        let o = interleave(&all);
        assert_eq!(code(&o), 2, "{all:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{all:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{all:?}: {}", stderr(&o));
    }
    for seed in ["-1", "18446744073709551616", "x"] {
        let o = interleave(&["run", "balance-race", "--seed", seed]);
        assert_eq!(code(&o), 2, "--seed {seed}");
    }
}

/// Runs `args` with stdout a pipe nobody reads any more.
fn into_closed_pipe(args: &[&str]) -> std::process::ExitStatus {
    let (r, w) = nix::unistd::pipe().expect("a pipe");
    drop(r);
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(w))
        .stderr(Stdio::piped())
        .status()
        .expect("the binary runs")
}

#[test]
fn a_closed_pipe_is_exit_0_for_every_format() {
    for format in ["text", "jsonl", "perfetto"] {
        let status = into_closed_pipe(&[
            "run",
            "balance-race",
            "--seed",
            "3",
            "--set",
            "iterations=200",
            "--format",
            format,
        ]);
        assert_eq!(status.code(), Some(0), "--format {format}: {status:?}");
    }
    assert_eq!(into_closed_pipe(&["list"]).code(), Some(0));
    assert_eq!(into_closed_pipe(&["check"]).code(), Some(0));
    assert_eq!(
        into_closed_pipe(&["run", "balance-race", "--explain"]).code(),
        Some(0)
    );
}

/// Processes in process group `pgid`, from /proc.
fn group_members(pgid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        // Fields after the name: state, ppid, pgrp.
        let f: Vec<&str> = after.split_whitespace().collect();
        if f.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid) {
            out.push(pid);
        }
    }
    out
}

/// The children of `pid` (of any of its threads) whose command line says `worker`.
fn workers_of(pid: u32) -> Vec<i32> {
    let mut kids = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
            kids.extend(s.split_whitespace().filter_map(|k| k.parse::<i32>().ok()));
        }
    }
    kids.into_iter()
        .filter(|k| {
            std::fs::read(format!("/proc/{k}/cmdline"))
                .map(|c| c.split(|&b| b == 0).any(|w| w == b"worker"))
                .unwrap_or(false)
        })
        .collect()
}

/// Waits (boundedly) for `ready`; the bound is patience, not a timing assertion.
fn wait_until(mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn dir_is_empty(d: &Path) -> bool {
    std::fs::read_dir(d)
        .map(|mut r| r.next().is_none())
        .unwrap_or(false)
}

#[test]
fn after_sigint_or_sigterm_a_live_run_leaves_no_worker_and_no_temp_dir() {
    for (i, (sig, want)) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)]
        .into_iter()
        .cycle()
        .take(8)
        .enumerate()
    {
        let tmp = tempfile::tempdir().expect("a temp dir");
        // The tickets lesson keeps ticket.json and the shared memory in its temp dir.
        let mut child = Command::new(BIN)
            .args(["run", "tickets", "--live", "--timeout", "60"])
            .env("TMPDIR", tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        let pid = child.id();
        let mut group = None;
        assert!(
            wait_until(|| {
                group = workers_of(pid).first().copied();
                group.is_some() && !dir_is_empty(tmp.path())
            }),
            "round {i}: the live run never started a worker"
        );
        // Let some rounds signal at once, others once the buyers run.
        std::thread::sleep(Duration::from_millis(20 * (i as u64 % 4)));
        // SAFETY: signals our own child.
        unsafe { libc::kill(pid as i32, sig) };
        let status = child.wait().expect("waits");
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        assert_eq!(status.code(), Some(want), "round {i}: {status:?} {err}");
        let group = group.unwrap_or_default();
        assert!(
            group_members(group).is_empty(),
            "round {i}: workers of group {group} outlived the run: {:?}",
            group_members(group)
        );
        assert!(
            dir_is_empty(tmp.path()),
            "round {i}: left behind: {:?}",
            std::fs::read_dir(tmp.path())
                .map(|r| r.flatten().map(|e| e.path()).collect::<Vec<_>>())
        );
    }
}

fn lesson_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("a temp dir");
    for (name, text) in files {
        std::fs::write(d.path().join(name), text).expect("writes");
    }
    d
}

fn builtin(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("lessons")
            .join(name),
    )
    .expect("a built-in lesson")
}

/// `check --lessons DIR`, given up on (and failed) if it hangs.
fn check_dir(dir: &Path) -> Output {
    let mut child = Command::new(BIN)
        .args(["check", "--lessons"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    if !wait_until(|| matches!(child.try_wait(), Ok(Some(_)))) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("`check --lessons {}` hung", dir.display());
    }
    child.wait_with_output().expect("output")
}

#[test]
fn a_fifo_a_device_or_a_huge_file_is_refused_without_reading_it() {
    let d = tempfile::tempdir().expect("a temp dir");
    let fifo = d.path().join("x.toml");
    nix::unistd::mkfifo(
        &fifo,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .expect("mkfifo");
    let o = check_dir(d.path());
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));

    let d = tempfile::tempdir().expect("a temp dir");
    std::os::unix::fs::symlink("/dev/zero", d.path().join("zero.toml")).expect("symlink");
    let o = check_dir(d.path());
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));

    let d = lesson_dir(&[("big.toml", &"\n".repeat(50 * 1024 * 1024))]);
    let o = check_dir(d.path());
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("at most 262144"), "{}", stderr(&o));
}

#[test]
fn control_characters_never_reach_the_terminal() {
    let evil = builtin("balance-race.toml").replacen(
        "title = { en = \"",
        "title = { en = \"\\u001b[2J\\u001b]0;pwned\\u0007",
        1,
    );
    assert_ne!(evil, builtin("balance-race.toml"), "the title line moved");
    let d = lesson_dir(&[("balance-race.toml", &evil)]);
    let o = check_dir(d.path());
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("control character"), "{}", stderr(&o));
    assert!(!o.stderr.contains(&0x1b) && !o.stdout.contains(&0x1b));
    // What a person typed is echoed escaped.
    for args in [
        &["run", "x\u{1b}[31mred"][..],
        &["run", "balance-race", "--set", "lock=\u{1b}[2J"],
        &["run", "balance-race", "--set", "\u{9b}2J=1"],
        &["run", "balance-race", "--schedule", "1\u{1b}[2J"],
    ] {
        let o = interleave(args);
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(!o.stderr.contains(&0x1b), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains('\u{9b}'), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("\\u{"), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn check_refuses_a_knob_range_the_scenario_cannot_run() {
    let text = builtin("value-race.toml");
    let too_many = text.replacen("min = 1\nmax = 32", "min = 1\nmax = 100", 1);
    let none = text.replacen("min = 1\nmax = 32", "min = 0\nmax = 32", 1);
    assert_ne!(too_many, text, "the processes knob moved");
    for bad in [too_many, none] {
        let d = lesson_dir(&[("value-race.toml", &bad)]);
        let o = check_dir(d.path());
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        assert!(stderr(&o).contains("knob `processes`"), "{}", stderr(&o));
        assert!(stderr(&o).contains("value-race.toml:"), "{}", stderr(&o));
    }
    let d = lesson_dir(&[("value-race.toml", &text)]);
    assert_eq!(code(&check_dir(d.path())), 0);
}

#[test]
fn explain_prints_the_lessons_text_in_either_language_wrapped_to_80() {
    let o = interleave(&["run", "balance-race", "--explain"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("balance-race — "), "{out}");
    assert!(out.contains("LOAD_GLOBAL balance reads the value"), "{out}");
    assert!(out.contains("\nNotes\n"), "{out}");
    assert!(
        out.contains(" (knob `gil`):\n- gil-classic is CPython 3.9"),
        "{out}"
    );
    // Nothing is run: no interleaving table.
    assert!(!out.contains("== interleaving"), "{out}");
    let width = unicode_width::UnicodeWidthStr::width;
    assert!(out.lines().all(|l| width(l) <= 80), "{out}");

    let o = interleave(&["run", "balance-race", "--explain", "--lang", "zh"]);
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(out.contains("看起来是一步"), "{out}");
    // No line starts with closing punctuation.
    assert!(
        !out.lines()
            .any(|l| l.starts_with(['，', '。', '；', '）', '”'])),
        "{out}"
    );
    assert!(out.contains("\n说明\n"), "{out}");
    assert!(out.lines().all(|l| width(l) <= 80), "{out}");

    let o = interleave(&["run", "balance-race", "--explain", "--seed", "3"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn the_playground_takes_the_flags_of_run() {
    // Without a terminal it refuses, after checking the flags like `run` does.
    let o = interleave(&["balance-race", "--seed", "7", "--set", "iterations=3"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("needs a terminal"), "{}", stderr(&o));
    let o = interleave(&["balance-race", "--set", "nope=1"]);
    assert!(stderr(&o).contains("unknown knob `nope`"), "{}", stderr(&o));
    let o = interleave(&["balance-race", "--schedule", "0x99999999"]);
    assert!(stderr(&o).contains("cannot be followed"), "{}", stderr(&o));
    let o = interleave(&["--seed", "7"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("need a lesson"), "{}", stderr(&o));
    let o = interleave(&["--seed", "7", "run", "balance-race"]);
    assert_eq!(code(&o), 2);
}

/// A jsonl trace gives each printed line as the `text` of the event that
/// printed it, whatever printed it (`print`, an uncaught exception, a captured
/// program's output): in order, they are the summary's `output`. Before the
/// fix, subprocess's `print(output.decode())` stopped the count and its last
/// two prints had no `text`.
#[test]
fn every_printed_line_is_the_text_of_its_event_in_jsonl() {
    let cases: &[&[&str]] = &[
        &["subprocess"],
        &["thread-local", "--set", "main-reads=on"],
        &["pipe"],
        &["queue"],
        &["fork"],
        &["threads"],
    ];
    for case in cases {
        let mut args = vec!["run", case[0], "--seed", "1", "--format", "jsonl"];
        args.extend_from_slice(&case[1..]);
        let o = interleave(&args);
        assert_eq!(code(&o), 0, "{case:?}: {}", stderr(&o));
        let mut texts = Vec::new();
        let mut output = None;
        for line in stdout(&o).lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("a json line");
            if v["kind"] == "summary" {
                output = Some(v["output"].clone());
            } else if let Some(t) = v.get("text") {
                texts.push(t.clone());
            }
        }
        let output = output.expect("a summary line");
        let output = output.as_array().expect("output is a list");
        assert!(!output.is_empty(), "{case:?} prints");
        assert_eq!(&texts, output, "{case:?}");
    }
}
