//! The playground's side of a live process lesson: starts the main process as a
//! worker, turns the event pipe into live messages, and leaves nothing behind.

use super::LiveMsg;
use super::ipc::{self, Frame, Job, PARENT_ENV, SharedMem, WORKER_EXE_ENV};
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
    /// Holds the shared memory file; removed when the run is dropped.
    _dir: tempfile::TempDir,
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
        };
        let bytes = serde_json::to_vec(&job).map_err(io::Error::other)?;
        let (read, write) = pipe()?;
        use std::os::unix::process::CommandExt;
        let mut child = Command::new(worker_exe()?)
            .arg("worker")
            .env(PARENT_ENV, std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::from(write))
            .stderr(Stdio::null())
            // One process group for every worker, so that a stop reaches them all.
            .process_group(0)
            .spawn()?;
        let main = Pid::from_raw(child.id() as i32);
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(&bytes)?;
        }
        let finished = Arc::new(AtomicBool::new(false));
        let fin = finished.clone();
        let reader = std::thread::Builder::new()
            .name("process-events".into())
            .spawn(move || {
                let mut r = BufReader::with_capacity(64 * 1024, std::fs::File::from(read));
                while let Ok(Some(f)) = Frame::read(&mut r) {
                    let m = match f {
                        Frame::Events(evs) => LiveMsg::Events(evs),
                        Frame::Output { actor, index, text } => {
                            LiveMsg::Output { index, actor, text }
                        }
                        Frame::Label { actor, pid } => LiveMsg::Label { actor, pid },
                    };
                    if tx.send(m).is_err() {
                        break;
                    }
                }
                // Every write end is closed: every worker has exited.
                reap_group(main);
                fin.store(true, Ordering::SeqCst);
                let _ = tx.send(LiveMsg::Finished);
            })?;
        Ok(Host {
            main,
            reader: Some(reader),
            finished,
            _dir: dir,
        })
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
