//! The playground's side of a live process lesson: starts the main process as a
//! worker, turns the event pipe into live messages, and leaves nothing behind.

use super::LiveMsg;
use super::ipc::{self, Frame, Job, PARENT_ENV, SharedMem, WORKER_EXE_ENV};
use super::record::{self, Recording};
use super::terminal::{Medium, Watch};
use crate::program::{ActorKind, EngineConfig, Program};
use crossbeam::channel::Sender;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use std::io::{self, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The binary that runs workers: ours, unless a test or benchmark names it.
pub fn worker_exe() -> io::Result<PathBuf> {
    match std::env::var_os(WORKER_EXE_ENV) {
        Some(p) => Ok(PathBuf::from(p)),
        None => std::env::current_exe(),
    }
}

/// A running process lesson. Dropping or stopping it kills and reaps every
/// process it started.
pub struct Host {
    /// The main worker's PID, which is also the process group of all workers.
    main: Pid,
    reader: Option<JoinHandle<()>>,
    finished: Arc<AtomicBool>,
    /// Holds the shared memory file and the records the workers write;
    /// removed when the run is dropped.
    dir: tempfile::TempDir,
    /// The real terminal or pipe every worker has as stdout, when the program
    /// asks for one (the buffering lesson).
    terminal: Option<Box<Medium>>,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

impl Host {
    /// Starts the program's main process (process 0) in a worker.
    pub fn start(
        program: Arc<Program>,
        cfg: EngineConfig,
        speed: f64,
        tx: Sender<LiveMsg>,
        closed: Arc<AtomicBool>,
    ) -> io::Result<Host> {
        let main_actor = program
            .actors
            .iter()
            .position(|a| a.process == 0 && a.kind == ActorKind::Main)
            .ok_or_else(|| io::Error::other("the program has no main process"))?
            as u16;
        // Orphans of a killed worker come to us, so that we can reap them too.
        // SAFETY: prctl with an integer argument.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        let dir = tempfile::Builder::new().prefix("interleave-").tempdir()?;
        let shm = dir.path().join("shared-memory");
        SharedMem::create(&shm, &program)?;
        let mut terminal = program
            .terminal
            .map(Medium::open)
            .transpose()?
            .map(Box::new);
        let terminal_fd = terminal.as_deref().and_then(Medium::child_fd);
        let job = Job {
            vars: program.vars.iter().map(|v| v.init).collect(),
            program: (*program).clone(),
            actor: main_actor,
            t0: ipc::monotonic_ns(),
            speed,
            shm,
            queue_fds: Vec::new(),
            conn_fds: Vec::new(),
            gil: cfg.gil,
            switch_interval_ns: cfg.switch_interval_ns,
            terminal_fd,
        };
        let bytes = serde_json::to_vec(&job).map_err(io::Error::other)?;
        let (read, write) = pipe()?;
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(worker_exe()?);
        cmd.arg("worker")
            .env(PARENT_ENV, std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::from(write))
            .stderr(Stdio::null())
            // One process group for every worker, so that a stop reaches them all.
            .process_group(0);
        if let Some(fd) = terminal_fd {
            // SAFETY: the closure only calls fcntl, which is async-signal-safe.
            unsafe { cmd.pre_exec(move || Medium::inherit_in_child(fd)) };
        }
        let child = spawn_with_job(cmd, &bytes)?;
        let main = Pid::from_raw(child.id() as i32);
        // The child is reaped with waitpid (by PID and group); `Child` is not waited on.
        drop(child);
        if let Some(Err(e)) = terminal.as_deref_mut().map(Medium::started) {
            let _ = killpg(main, Signal::SIGKILL);
            reap_group(main);
            return Err(e);
        }
        let finished = Arc::new(AtomicBool::new(false));
        let fin = finished.clone();
        let reader = std::thread::Builder::new()
            .name("process-events".into())
            .spawn(move || read_events(read, main, &tx, &fin, &closed));
        let reader = match reader {
            Ok(r) => r,
            Err(e) => {
                let _ = killpg(main, Signal::SIGKILL);
                reap_group(main);
                return Err(e);
            }
        };
        Ok(Host {
            main,
            reader: Some(reader),
            finished,
            dir,
            terminal,
        })
    }

    /// What the real stdout received so far, when the run has one.
    pub fn terminal(&self) -> Option<Watch> {
        self.terminal.as_deref().map(Medium::watch)
    }

    /// What the workers recorded for a stepped replay (record.rs); complete
    /// once the run has ended and every worker is reaped.
    pub fn recording(&self, program: &Program) -> Recording {
        record::read_process_logs(self.dir.path(), program)
    }

    /// Kills every worker (if the run has not ended) and waits until all are reaped.
    pub fn stop(&mut self) {
        if !self.finished.load(Ordering::SeqCst) {
            let _ = killpg(self.main, Signal::SIGKILL);
        }
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Forwards the workers' frames until every write end of the event pipe is
/// closed; a frame that cannot be read stops the run with a message saying so
/// (otherwise the run would look hung). Then every worker is reaped.
///
/// A frame is read only once the one before has room in the channel, so workers
/// that record faster than the playground takes their events in wait in their
/// `write()` to the pipe: nothing piles up, in them or here. `closed` says the
/// playground has stopped reading.
fn read_events(
    read: OwnedFd,
    main: Pid,
    tx: &Sender<LiveMsg>,
    fin: &AtomicBool,
    closed: &AtomicBool,
) {
    let send = |m| super::send_while_open(tx, m, closed);
    let mut r = BufReader::with_capacity(64 * 1024, std::fs::File::from(read));
    loop {
        let m = match Frame::read(&mut r) {
            Ok(None) => break,
            Ok(Some(Frame::Events(evs))) => LiveMsg::Events(evs),
            Ok(Some(Frame::Output {
                actor,
                index,
                text,
                open,
            })) => LiveMsg::Output {
                index,
                actor,
                text,
                open,
            },
            Ok(Some(Frame::Label { actor, pid })) => LiveMsg::Label { actor, pid },
            Err(e) => {
                let _ = killpg(main, Signal::SIGKILL);
                send(LiveMsg::Output {
                    index: UNLINKED,
                    actor: 0,
                    text: format!(
                        "interleave: the worker processes sent a corrupt frame ({e}); \
                         the run was stopped"
                    ),
                    open: false,
                });
                break;
            }
        };
        if !send(m) {
            // Nobody reads any more: the workers are being stopped.
            let _ = killpg(main, Signal::SIGKILL);
            break;
        }
    }
    // Every write end is closed (every worker has exited), or the run was stopped.
    reap_group(main);
    fin.store(true, Ordering::SeqCst);
    send(LiveMsg::Finished);
}

/// The output index of a message of ours (not a line the program printed): it
/// matches no print event, so it shows after the program's own output.
pub const UNLINKED: u64 = u64::MAX;

/// Starts `cmd` with `job` written to its stdin. The child is started by one
/// long-lived thread (see [`spawn_held`]); if the job cannot be written, the
/// child is killed and reaped before the error is returned.
pub fn spawn_with_job(cmd: Command, job: &[u8]) -> io::Result<std::process::Child> {
    let mut child = spawn_held(cmd)?;
    let written = match child.stdin.take() {
        Some(mut stdin) => stdin.write_all(job),
        None => Err(io::Error::other("the worker has no stdin")),
    };
    if let Err(e) = written {
        let _ = child.kill();
        let _ = child.wait();
        return Err(io::Error::new(
            e.kind(),
            format!("cannot send the job to the worker: {e}"),
        ));
    }
    Ok(child)
}

type SpawnRequest = (Command, Sender<io::Result<std::process::Child>>);

/// Spawns on a thread that lives as long as this process. A worker asks the kernel
/// to kill it when its parent dies (`PR_SET_PDEATHSIG`), and for the kernel the
/// parent is the *thread* that started it: a child started by a short-lived thread
/// (a playground thread, a lesson's thread inside a worker) would be killed when
/// that thread ends.
fn spawn_held(cmd: Command) -> io::Result<std::process::Child> {
    static SPAWNER: std::sync::Mutex<Option<(u32, Sender<SpawnRequest>)>> =
        std::sync::Mutex::new(None);
    let me = std::process::id();
    let tx = {
        let mut slot = SPAWNER.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            // A forked child inherits the slot but not the thread behind it.
            Some((pid, tx)) if *pid == me => tx.clone(),
            _ => {
                let (tx, rx) = crossbeam::channel::unbounded::<SpawnRequest>();
                std::thread::Builder::new()
                    .name("spawner".into())
                    .spawn(move || {
                        for (mut cmd, reply) in rx {
                            let child = cmd.spawn();
                            // The parent's copies of the child's pipe ends close here.
                            drop(cmd);
                            let _ = reply.send(child);
                        }
                    })?;
                *slot = Some((me, tx.clone()));
                tx
            }
        }
    };
    let (reply_tx, reply_rx) = crossbeam::channel::bounded(1);
    tx.send((cmd, reply_tx))
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| io::Error::other("the spawner thread is gone"))?
}

/// Reaps the main worker and any worker of its group that became our child
/// when its parent died.
fn reap_group(main: Pid) {
    let _ = waitpid(main, None);
    let deadline = Instant::now() + Duration::from_secs(2);
    let group = Pid::from_raw(-main.as_raw());
    loop {
        match waitpid(group, Some(WaitPidFlag::WNOHANG)) {
            Ok(nix::sys::wait::WaitStatus::StillAlive) => {}
            Ok(_) => continue,
            // No child of ours is left in the group; one may still be on its way
            // to us (reparenting happens as its parent dies).
            Err(_) if !group_alive(main.as_raw()) => return,
            Err(_) => {}
        }
        if Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether any process of the group still exists.
fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks that the group exists.
    unsafe { libc::kill(-pgid, 0) == 0 }
}
