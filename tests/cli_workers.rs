//! Live worker processes when things go wrong: a corrupt event pipe, a worker that
//! cannot start, an event pipe nobody reads, a job that cannot be written, and a
//! run started by a thread that ends before the run does.

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::live::LiveRun;
use interleave::live::ipc::{Frame, Job, SharedMem};
use interleave::program::{ActorKind, EngineConfig, Program};
use interleave::trace::{EventKind, Trace};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_interleave");

/// INTERLEAVE_WORKER_EXE is process-wide: one test at a time sets it.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn use_worker(exe: &Path) {
    // SAFETY: the tests of this file set it one at a time (`serial`).
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", exe) };
}

fn program(lesson: &str, sets: &[&str]) -> (Arc<Program>, EngineConfig) {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(lesson).expect("the lesson exists");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = knobs_from(l, &sets).expect("the knobs are valid");
    let p = interleave::scenarios::build(l, &knobs).expect("the lesson builds");
    (Arc::new(p), knobs.engine())
}

fn live(lesson: &str, sets: &[&str]) -> (Trace, bool) {
    let (p, cfg) = program(lesson, sets);
    LiveRun::start(p, cfg, 20.0).wait(Duration::from_secs(30))
}

fn output(t: &Trace) -> String {
    t.output
        .iter()
        .map(|o| o.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// An executable shell script in a temp dir (kept alive by the returned dir).
fn script(body: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().expect("a temp dir");
    let p = d.path().join("fake-worker");
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("writes");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (d, p)
}

/// Children of this process, zombies included.
fn our_children() -> Vec<i32> {
    let me = std::process::id();
    let mut kids = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{me}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
            kids.extend(s.split_whitespace().filter_map(|k| k.parse::<i32>().ok()));
        }
    }
    kids
}

#[test]
fn a_corrupt_frame_ends_the_run_with_a_message() {
    let _g = serial();
    // A "worker" that writes a frame with an impossible length, then lingers.
    let (_d, exe) = script("cat >/dev/null; printf 'ZZZZgarbage'; sleep 5");
    use_worker(&exe);
    let (trace, finished) = live("value-race", &[]);
    use_worker(Path::new(BIN));
    assert!(finished, "the run must end, not hang");
    let out = output(&trace);
    assert!(out.contains("corrupt frame"), "{out}");
    assert!(out.contains("bad frame length"), "{out}");
    assert!(our_children().is_empty(), "{:?}", our_children());
}

#[test]
fn a_worker_that_cannot_start_says_why() {
    let _g = serial();
    use_worker(Path::new("/nonexistent/interleave"));
    let (trace, finished) = live("value-race", &[]);
    use_worker(Path::new(BIN));
    assert!(finished);
    let out = output(&trace);
    assert!(out.contains("cannot start a worker process"), "{out}");
    assert!(out.contains("No such file"), "{out}");

    // The main worker starts; the processes it starts (through
    // INTERLEAVE_WORKER_EXE, which it honours) cannot.
    let (_d, exe) = script(&format!(
        "INTERLEAVE_WORKER_EXE=/nonexistent/worker exec {BIN} \"$@\""
    ));
    use_worker(&exe);
    let (trace, finished) = live("value-race", &["processes=2", "iterations=3"]);
    use_worker(Path::new(BIN));
    assert!(finished);
    let out = output(&trace);
    assert!(
        out.contains("cannot start process Process-1 (a worker)"),
        "{out}"
    );
    assert!(out.contains("No such file"), "{out}");
    assert!(no_children_soon(), "{:?}", our_children());
}

/// Whether every child is gone, allowing a loaded machine a moment to reap
/// the last one (a run ends when its events do, its reaper just after).
fn no_children_soon() -> bool {
    for _ in 0..100 {
        if our_children().is_empty() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// A job for the main process of `lesson`, with its shared memory in `dir`.
fn job(lesson: &str, dir: &Path) -> Vec<u8> {
    let (p, cfg) = program(lesson, &["processes=2", "iterations=3"]);
    let shm = dir.join("shared-memory");
    SharedMem::create(&shm, &p).expect("shared memory");
    let main = p
        .actors
        .iter()
        .position(|a| a.process == 0 && a.kind == ActorKind::Main)
        .expect("a main process") as u16;
    let job = Job {
        vars: p.vars.iter().map(|v| v.init).collect(),
        program: (*p).clone(),
        actor: main,
        t0: interleave::live::ipc::monotonic_ns(),
        speed: 20.0,
        shm,
        queue_fds: Vec::new(),
        conn_fds: Vec::new(),
        gil: cfg.gil,
        switch_interval_ns: cfg.switch_interval_ns,
        terminal_fd: None,
    };
    serde_json::to_vec(&job).expect("serialises")
}

fn worker(stdin: &[u8], stdout: Stdio) -> (i32, String) {
    let mut child = Command::new(BIN)
        .arg("worker")
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(stdin);
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let status = child.wait().expect("waits");
    (status.code().unwrap_or(-1), err)
}

#[test]
fn a_worker_given_a_bad_job_says_why_on_stderr_and_the_event_pipe() {
    let mut child = Command::new(BIN)
        .arg("worker")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(b"{not a job");
    }
    let out = child.wait_with_output().expect("waits");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interleave worker: bad job"));
    let frame = Frame::read(&mut &out.stdout[..]).expect("a frame");
    match frame {
        Some(Frame::Output { text, .. }) => assert!(text.contains("bad job"), "{text}"),
        other => panic!("expected the reason as output, got {other:?}"),
    }
}

#[test]
fn a_worker_whose_event_pipe_is_closed_stops_and_says_so() {
    let d = tempfile::tempdir().expect("a temp dir");
    let job = job("value-race", d.path());
    let (r, w) = nix::unistd::pipe().expect("a pipe");
    drop(r);
    let (code, err) = worker(&job, Stdio::from(w));
    assert_eq!(code, interleave::live::worker::EXIT_NO_PIPE, "{err}");
    assert!(err.contains("cannot write to the event pipe"), "{err}");
    assert!(err.contains("Broken pipe"), "{err}");
}

#[test]
fn a_job_that_cannot_be_written_leaves_no_child_behind() {
    let _g = serial();
    // The child closes its stdin at once; a job larger than a pipe's buffer then
    // cannot be written.
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "exec 0<&-; exec sleep 30"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    let big = vec![b' '; 4 << 20];
    let before = our_children();
    let r = interleave::live::process::spawn_with_job(cmd, &big);
    let e = r.expect_err("the job cannot be written");
    assert!(e.to_string().contains("cannot send the job"), "{e}");
    let after: Vec<i32> = our_children()
        .into_iter()
        .filter(|k| !before.contains(k))
        .collect();
    assert!(after.is_empty(), "not killed and reaped: {after:?}");
}

#[test]
fn a_run_outlives_the_thread_that_started_it() {
    let _g = serial();
    use_worker(Path::new(BIN));
    let (p, cfg) = program("tickets", &[]);
    // The thread starts the run, waits until the main worker runs (its first
    // message is there, left unread), and ends while the buyers are still at work.
    let (run, started) = std::thread::spawn(move || {
        let run = LiveRun::start(p, cfg, 1.0);
        let mut waited = 0;
        while run.receiver().is_empty() && waited < 20_000 {
            std::thread::sleep(Duration::from_millis(1));
            waited += 1;
        }
        let started = !run.receiver().is_empty();
        (run, started)
    })
    .join()
    .expect("the thread ends");
    assert!(started, "the run never started");
    let (trace, finished) = run.wait(Duration::from_secs(30));
    assert!(finished);
    let killed: Vec<_> = trace
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Ended && e.value < 0)
        .collect();
    assert!(killed.is_empty(), "a worker was killed: {killed:?}");
    // Every buyer reported (the main process prints after joining them all).
    assert!(!trace.output.is_empty());
    let procs = trace.program.actors.len();
    let labelled = trace
        .actor_labels
        .iter()
        .filter(|l| l.contains("(pid "))
        .count();
    assert_eq!(labelled, procs, "{:?}", trace.actor_labels);
}
