//! The third engine: the lesson's own Python code on a real CPython, recorded, and
//! stepped by us when the run is controlled.
//!
//! `assets/cpython/tracer.py` runs the program on the interpreter and reports every
//! step of the program's own code over a pipe (see its header for the protocol). In a
//! controlled run each thread waits before each step until we say `go`, so exactly one
//! thread of the program runs at a time and we choose which: a seeded scheduler or a
//! schedule string, as in a stepped run. The waits release the GIL. A free run (`--live`)
//! waits for nothing: the real GIL and the real timing decide.
//!
//! Child processes made by `os.fork` or multiprocessing's fork start method connect to
//! the controller at the fork (`hub.rs`); those multiprocessing starts with spawn or
//! forkserver (new interpreters) connect when they start, through a sitecustomize.py
//! on PYTHONPATH. So every thread of every process is an actor of one run, stepped by
//! one controller. A program that subprocess runs is a process row with its real PID
//! and its output, not stepped: it is not Python we trace.

pub mod cli;
mod follow;
mod hub;
mod record;
mod session;

pub use follow::{
    Anchor, Comparison, Effect, anchors, compare, compare_trace, not_compared, stepped,
};
pub use record::{MAX_EVENTS, Recorder};
pub use session::{Ask, News, Session, SessionError};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use std::path::{Path, PathBuf};

/// The tracer, shipped inside the binary and written next to the program for each run.
pub const TRACER: &str = include_str!("../../assets/cpython/tracer.py");

/// Put on `PYTHONPATH` for a run: a process multiprocessing spawns (a new
/// interpreter) loads the tracer and connects; any other Python process is left alone.
pub const SITECUSTOMIZE: &str = include_str!("../../assets/cpython/sitecustomize.py");

/// How a run is driven.
#[derive(Clone, Debug)]
pub enum Drive {
    /// Real GIL, real timing; the program runs on its own and is recorded.
    Free,
    /// Seeded random choice among the threads that can take a step.
    Seed(u64),
    /// These threads in this order (indices as `0x4 1x5`), then the lowest-numbered
    /// thread that can go.
    Schedule(Vec<u16>),
}

/// What one step can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    Bytecode,
    Line,
}

/// A thread's state as the controller sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThreadState {
    /// Announced by `start()`, not yet at its first step.
    Starting,
    /// Stands before a step and waits for `go`.
    At,
    /// Cannot go on until a lock is free or a thread is done.
    Blocked(Wait),
    /// Let go; will report its next stop.
    Running,
    Done,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wait {
    Lock(String),
    Join(u16),
    /// In a library call that waits for another process (a queue's `get`, a
    /// pipe's `recv`): it comes back by itself.
    Io(String),
    /// Found nothing to read in a pipe (`recv`): looks again once another step has
    /// been taken after the controller's `n`th.
    Poll(String, u64),
    /// In `Condition.wait` (or an Event's, a Barrier's, a Semaphore's) of a
    /// condition the program made, on this waiter lock until a notify frees it;
    /// `true`: with a timeout, which comes when the controller lets it go first.
    Notify(String, bool),
}

/// One step a thread took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub thread: u16,
    pub line: u32,
    /// The opcode (`LOAD_GLOBAL`), or empty when a step is a line.
    pub op: String,
    /// The global the opcode names, if any.
    pub arg: String,
    /// What the step read or wrote: `balance → 0`, `balance ← 8`.
    pub note: String,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    Finished {
        exit: i32,
    },
    /// No thread can take a step, and not all are done.
    Deadlock,
    /// Still running after the time limit.
    TimedOut,
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub version: String,
    pub pid: u32,
    pub threads: Vec<String>,
    pub steps: Vec<Step>,
    /// The program's printed lines, with the thread that printed each.
    pub output: Vec<(u16, String)>,
    /// The globals at the end (simple values only), in the program's order.
    pub finals: Vec<(String, String)>,
    /// What the program wrote to stderr (tracebacks).
    pub stderr: String,
    pub ending: Ending,
    /// Who took each step, in order: replays this run with `--schedule`.
    pub schedule: Vec<u16>,
}

/// The interpreter to use: `explicit` if given, else the first `python3` on PATH.
pub fn find_python(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!("no Python interpreter at {}", p.display()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join("python3");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "no python3 on PATH: install CPython 3.7 or newer, or pass --python PATH{}",
        pyenv_hint()
    ))
}

/// The interpreters under pyenv, newest first, if there are any.
pub fn pyenv_pythons() -> Vec<PathBuf> {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
    let Some(root) = root else { return Vec::new() };
    let Ok(dir) = std::fs::read_dir(root.join("versions")) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let version: Vec<u32> = name
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let exe = e.path().join("bin").join("python3");
            (version.len() == 3 && version[0] == 3 && exe.is_file()).then_some((version, exe))
        })
        .collect();
    found.sort();
    found.into_iter().rev().map(|(_, p)| p).collect()
}

fn pyenv_hint() -> String {
    let found = pyenv_pythons();
    if found.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
        format!(" (found under pyenv: {})", list.join(", "))
    }
}

/// Picks who runs next among the threads that can.
pub struct Picker {
    drive: Drive,
    rng: Xoshiro256PlusPlus,
    at: usize,
}

impl Picker {
    pub fn new(drive: Drive) -> Self {
        let seed = match drive {
            Drive::Seed(s) => s,
            _ => 0,
        };
        Picker {
            drive,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            at: 0,
        }
    }

    /// `ready` is sorted. Err: the schedule names a thread that cannot go now.
    pub fn pick(&mut self, ready: &[u16], why_not: impl Fn(u16) -> String) -> Result<u16, String> {
        match &self.drive {
            Drive::Free => Err("a free run picks no one".into()),
            Drive::Seed(_) => Ok(ready[self.rng.random_range(0..ready.len())]),
            Drive::Schedule(s) => {
                let i = self.at;
                self.at += 1;
                match s.get(i) {
                    Some(t) if ready.contains(t) => Ok(*t),
                    Some(t) => Err(format!(
                        "schedule step {}: thread {t} cannot take a step now ({})",
                        i + 1,
                        why_not(*t)
                    )),
                    None => Ok(ready[0]),
                }
            }
        }
    }
}

/// The schedule as a string (`0x4 1x5 2`), as stepped runs write theirs.
pub fn schedule_string(s: &[u16]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let mut j = i + 1;
        while j < s.len() && s[j] == s[i] {
            j += 1;
        }
        out.push(if j - i == 1 {
            s[i].to_string()
        } else {
            format!("{}x{}", s[i], j - i)
        });
        i = j;
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_string_is_run_length() {
        assert_eq!(schedule_string(&[0, 0, 0, 1, 2, 2, 1]), "0x3 1 2x2 1");
        assert_eq!(schedule_string(&[]), "");
    }

    #[test]
    fn a_schedule_refuses_a_thread_that_cannot_go() {
        let mut p = Picker::new(Drive::Schedule(vec![1, 2]));
        assert_eq!(p.pick(&[0, 1], |_| String::new()), Ok(1));
        let e = p.pick(&[0, 1], |t| format!("t{t} waits")).unwrap_err();
        assert!(
            e.contains("step 2: thread 2 cannot take a step now (t2 waits)"),
            "{e}"
        );
        // After the schedule: the lowest-numbered thread that can go.
        assert_eq!(p.pick(&[1, 3], |_| String::new()), Ok(1));
    }

    #[test]
    fn a_seed_picks_the_same_threads_every_time() {
        let picks = |seed| {
            let mut p = Picker::new(Drive::Seed(seed));
            (0..20)
                .map(|_| p.pick(&[0, 1, 2], |_| String::new()).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(picks(7), picks(7));
        assert_ne!(picks(7), picks(8));
    }
}
