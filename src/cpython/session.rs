//! One run of a program under the tracer: the child process, the two pipes, and the
//! controller loop that reads events and answers with `go`.

use super::follow::{Effect, Follower};
use super::hub::{Hub, Next};
use super::{Drive, Ending, Granularity, Outcome, Picker, Step, ThreadState, Wait};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a run could not be done.
#[derive(Debug)]
pub enum SessionError {
    /// Bad input: an interpreter that is too old, a schedule that cannot be followed.
    Usage(String),
    /// The machine's fault: a pipe, a temp file, a process.
    Internal(String),
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::Usage(s) | SessionError::Internal(s) => f.write_str(s),
        }
    }
}

fn internal(what: &str) -> impl Fn(std::io::Error) -> SessionError + '_ {
    move |e| SessionError::Internal(format!("{what}: {e}"))
}

/// The file descriptors the tracer finds its pipes on.
const EVENTS_FD: i32 = 3;
const COMMANDS_FD: i32 = 4;

/// What the tracer runs: a lesson's code (written next to the tracer) or a file.
enum Program<'a> {
    Text(&'a str),
    File(&'a Path),
}

/// A running program under the tracer. Dropping it kills and reaps the child.
pub struct Session {
    child: Child,
    /// The root's pipes and every child process's connection.
    hub: Hub,
    stderr: Option<std::thread::JoinHandle<String>>,
    // Keeps the program and the tracer on disk while the child runs.
    _dir: tempfile::TempDir,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.hub.kill_children();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Session {
    /// The run's temporary folder (the tracer, the program, the children's
    /// socket): what a signal handler must remove.
    pub fn folder(&self) -> std::path::PathBuf {
        self._dir.path().to_path_buf()
    }

    /// Starts `python` on `source` under the tracer.
    pub fn start(
        python: &Path,
        source: &str,
        drive: &Drive,
        granularity: Granularity,
    ) -> Result<Session, SessionError> {
        Session::spawn(python, Program::Text(source), drive, granularity, &[])
    }

    /// [`Session::start`] with these variables added to the tracer's environment
    /// (`INTERLEAVE_STDOUT`: a real, buffered sys.stdout).
    pub fn start_env(
        python: &Path,
        source: &str,
        drive: &Drive,
        granularity: Granularity,
        env: &[(&str, &str)],
    ) -> Result<Session, SessionError> {
        Session::spawn(python, Program::Text(source), drive, granularity, env)
    }

    /// Starts `python` on the program in the file `program`, under the tracer: a
    /// student's own file runs where it is, so its errors name it.
    pub fn start_file(
        python: &Path,
        program: &Path,
        drive: &Drive,
        granularity: Granularity,
    ) -> Result<Session, SessionError> {
        Session::spawn(python, Program::File(program), drive, granularity, &[])
    }

    fn spawn(
        python: &Path,
        program: Program,
        drive: &Drive,
        granularity: Granularity,
        env: &[(&str, &str)],
    ) -> Result<Session, SessionError> {
        let dir = tempfile::Builder::new()
            .prefix("interleave-cpython-")
            .tempdir()
            .map_err(internal("a temporary folder"))?;
        // Absolute, since a lesson's program runs with the folder as its cwd.
        let base = std::path::absolute(dir.path()).map_err(internal("a temporary folder"))?;
        // A lesson's code runs in the run's own folder, so the files it writes
        // (the tickets lesson's ticket.json) go with it; a student's own file runs
        // where they started interleave, as `python FILE.py` would.
        let (program, cwd) = match program {
            Program::Text(source) => {
                let path = base.join("program.py");
                std::fs::write(&path, source).map_err(internal("writing the program"))?;
                (path, Some(base.clone()))
            }
            Program::File(path) => (path.to_path_buf(), None),
        };
        let tracer = base.join("tracer.py");
        std::fs::write(&tracer, super::TRACER).map_err(internal("writing the tracer"))?;
        let (site, pythonpath) = site_folder(&base)?;
        let (ev_r, ev_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| SessionError::Internal(format!("a pipe: {e}")))?;
        let (cmd_r, cmd_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| SessionError::Internal(format!("a pipe: {e}")))?;
        let mode = if matches!(drive, Drive::Free) {
            "free"
        } else {
            "controlled"
        };
        let socket = base.join("children.sock");
        let spin = spin_budget();
        let mut cmd = Command::new(python);
        if let Some(cwd) = &cwd {
            cmd.current_dir(cwd);
        }
        cmd.arg(&tracer)
            .env("INTERLEAVE_SOCKET", &socket)
            .env("INTERLEAVE_TRACER", &tracer)
            // A Python program the traced one runs by subprocess gets this folder
            // first on its PYTHONPATH again, whatever environment it is given.
            .env("INTERLEAVE_SITE", &site)
            .env("PYTHONPATH", pythonpath)
            .arg(&program)
            .env("INTERLEAVE_EVENTS_FD", EVENTS_FD.to_string())
            .env("INTERLEAVE_COMMANDS_FD", COMMANDS_FD.to_string())
            .env("INTERLEAVE_MODE", mode)
            .env(
                "INTERLEAVE_GRANULARITY",
                match granularity {
                    Granularity::Bytecode => "bytecode",
                    Granularity::Line => "line",
                },
            )
            .env("INTERLEAVE_SPIN", if spin.is_zero() { "0" } else { "30" })
            .env_remove("PYTHONSTARTUP")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let (ew, cr) = (ev_w.as_raw_fd(), cmd_r.as_raw_fd());
        // SAFETY: between fork and exec only async-signal-safe calls (fcntl, dup2, prctl).
        // Both ends first move above the two target fds, so neither can be overwritten by
        // the other's dup2 (the command pipe's read end may itself be fd 3 when tests open
        // and close fds on other threads); dup2 onto a different fd clears close-on-exec.
        unsafe {
            cmd.pre_exec(move || {
                let high = |fd: i32| libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, COMMANDS_FD + 1);
                let (ew, cr) = (high(ew), high(cr));
                if ew < 0
                    || cr < 0
                    || libc::dup2(ew, EVENTS_FD) < 0
                    || libc::dup2(cr, COMMANDS_FD) < 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                Ok(())
            });
        }
        // Listening before the program starts: a child may connect at once.
        let listener = super::hub::listen(&socket).map_err(SessionError::Internal)?;
        let mut child = cmd
            .spawn()
            .map_err(|e| SessionError::Usage(format!("cannot start {}: {e}", python.display())))?;
        drop(ev_w);
        drop(cmd_r);
        let mut hub = Hub::new(ev_r, std::fs::File::from(cmd_w), Some(listener));
        if mode == "controlled" {
            hub.spin = super::hub::Spin::new(spin);
        }

        let stderr = child.stderr.take().map(|mut s| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = s.read_to_string(&mut text);
                text
            })
        });
        Ok(Session {
            child,
            hub,
            stderr,
            _dir: dir,
        })
    }

    /// Drives the run to its end, or until `limit` has passed.
    pub fn run(self, drive: Drive, limit: Duration) -> Result<Outcome, SessionError> {
        let free = matches!(drive, Drive::Free);
        self.drive(Controller::new(Picker::new(drive), free), limit)
            .map(|(o, _)| o)
    }

    /// Drives a controlled run by a stepped run's shared steps (`follow.rs`): gives
    /// the run, how many of those steps it took in order, the first place the two
    /// parted, and the printed lines with every PID written as its process.
    pub(super) fn follow(
        self,
        follower: Follower,
        limit: Duration,
    ) -> Result<(Outcome, usize, Option<String>, Vec<String>), SessionError> {
        let mut c = Controller::new(Picker::new(Drive::Schedule(Vec::new())), false);
        c.follow = Some(follower);
        let (o, c) = self.drive(c, limit)?;
        let (at, why) = c.follow.as_ref().map_or((0, None), |f| f.verdict());
        let printed = o
            .output
            .iter()
            .map(|(_, l)| c.follow.as_ref().map_or(l.clone(), |f| f.masked(l)))
            .collect();
        Ok((o, at, why, printed))
    }

    fn drive(
        mut self,
        mut c: Controller,
        limit: Duration,
    ) -> Result<(Outcome, Controller), SessionError> {
        let free = c.free;
        let deadline = Instant::now() + limit;
        let mut ended = false;
        let ending = loop {
            let line = match self.hub.next_line(deadline) {
                Next::Line(l) => l,
                Next::Timeout => break Ending::TimedOut,
                Next::Closed => {
                    let exit = self.child.wait().ok().and_then(|s| s.code()).unwrap_or(1);
                    if c.version.is_empty() {
                        let err = self
                            .stderr
                            .take()
                            .and_then(|h| h.join().ok())
                            .unwrap_or_default();
                        return Err(SessionError::Usage(format!(
                            "the interpreter could not run interleave's tracer (exit code {exit}): {}",
                            err.lines().last().unwrap_or("no message")
                        )));
                    }
                    break Ending::Finished {
                        exit: c.exit.unwrap_or(exit),
                    };
                }
            };
            c.take(&line)?;
            if c.settled() {
                if c.stuck() {
                    break Ending::Deadlock;
                }
                if !free {
                    // The thread that took the last step reads this; `end` frees the
                    // last one to finish, which waits for a command before it leaves.
                    match c.next()? {
                        Some(t) => self
                            .hub
                            .go(t)
                            .map_err(internal("telling the program to go on"))?,
                        // A thread in a library call comes back by itself.
                        None if c.in_io() => {}
                        None if !ended => {
                            ended = true;
                            self.hub.end_all();
                        }
                        None => {}
                    }
                }
            }
        };
        if !matches!(ending, Ending::Finished { .. }) {
            self.hub.kill_children();
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        c.flush_output();
        if c.follow.is_some() && matches!(ending, Ending::Finished { .. }) {
            c.finals.extend(files_left(self._dir.path()));
        }
        let outcome = Outcome {
            version: std::mem::take(&mut c.version),
            pid: c.pid,
            threads: std::mem::take(&mut c.names),
            steps: std::mem::take(&mut c.steps),
            output: std::mem::take(&mut c.output),
            finals: std::mem::take(&mut c.finals),
            stderr,
            ending,
            schedule: std::mem::take(&mut c.schedule),
        };
        Ok((outcome, c))
    }
}

/// The files a lesson's program left in its run's folder (its working folder),
/// each with its text, as finals: a file every process wrote is compared at the
/// end like a global (the tickets lesson's `ticket.json`). Read here, once every
/// process has ended, not by the main program, which may end before its children.
/// The folder of our `sitecustomize.py` (which connects a child interpreter to
/// the run) in the run's folder `base`, and the PYTHONPATH that puts it first: ours
/// first, the student's own PYTHONPATH (and sitecustomize) after it.
fn site_folder(base: &Path) -> Result<(PathBuf, std::ffi::OsString), SessionError> {
    let site = base.join("site");
    std::fs::create_dir(&site).map_err(internal("a folder for sitecustomize.py"))?;
    std::fs::write(site.join("sitecustomize.py"), super::SITECUSTOMIZE)
        .map_err(internal("writing sitecustomize.py"))?;
    let mut pythonpath = vec![site.clone()];
    if let Some(theirs) = std::env::var_os("PYTHONPATH") {
        pythonpath.extend(std::env::split_paths(&theirs).filter(|p| !p.as_os_str().is_empty()));
    }
    let pythonpath = std::env::join_paths(pythonpath)
        .map_err(|e| SessionError::Internal(format!("PYTHONPATH: {e}")))?;
    Ok((site, pythonpath))
}

/// How long the controller looks for a traced thread's answer without sleeping
/// (`hub::Spin`): 40 µs, or `INTERLEAVE_SPIN_US` (0 turns spinning off on both sides;
/// `benches/cpython.rs` compares the two).
fn spin_budget() -> Duration {
    let us = std::env::var("INTERLEAVE_SPIN_US")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    Duration::from_micros(us)
}

fn files_left(dir: &Path) -> Vec<(String, String)> {
    const OURS: [&str; 3] = ["program.py", "tracer.py", "children.sock"];
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            if OURS.contains(&name.as_str()) {
                return None;
            }
            let bytes = std::fs::read(e.path()).ok()?;
            Some((name, String::from_utf8_lossy(&bytes).to_string()))
        })
        .collect();
    out.sort();
    out
}

/// What the playground asks of a run it keeps alive (`serve`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// One step: of this thread, or (`None`) of the drive's pick.
    Step(Option<u16>),
    /// The drive's picks until the program ends.
    RunToEnd,
    /// Kill the program now.
    Stop,
}

/// What a run kept alive tells the playground, in order.
#[derive(Clone, Debug)]
pub enum News {
    /// The tracer's lines as they came, with `go T` where the controller let T go.
    Lines(Vec<String>),
    /// Every thread stands still and waits for the next ask.
    Paused,
    /// The last ask could not be done (a thread that cannot take a step); the run
    /// waits for another.
    Refused(String),
    /// The program is over.
    Ended { ending: Ending, stderr: String },
    /// The run broke (the tracer said something unreadable, a pipe failed).
    Failed(String),
}

/// Lines a free run sends at once, and how long it holds a batch at most.
const BATCH_LINES: usize = 4096;
const BATCH_WAIT: Duration = Duration::from_millis(20);

impl Session {
    /// Drives the run from a thread of its own, for the playground: a free run
    /// runs and its lines are sent as they come; a controlled one takes `prefix`'s
    /// steps first (a step back replays the steps before), then stops before each
    /// step until it is asked. The drive's scheduler is asked at every step, even
    /// one chosen by hand, so the same steps give the same picks after them.
    pub fn serve(
        mut self,
        drive: Drive,
        prefix: Vec<u16>,
        asks: crossbeam::channel::Receiver<Ask>,
        news: crossbeam::channel::Sender<News>,
    ) {
        let free = matches!(drive, Drive::Free);
        let mut c = Controller::new(Picker::new(drive), free);
        let mut st = Serving {
            prefix,
            at: 0,
            to_end: false,
            ended: false,
            batch: Vec::new(),
            since: Instant::now(),
        };
        let ending = match self.serve_loop(&mut c, &mut st, &asks, &news) {
            Ok(Some(e)) => e,
            Ok(None) => Ending::TimedOut,
            Err(e) => {
                let _ = news.send(News::Lines(std::mem::take(&mut st.batch)));
                let _ = news.send(News::Failed(e.to_string()));
                return;
            }
        };
        if !matches!(ending, Ending::Finished { .. }) {
            self.hub.kill_children();
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let _ = news.send(News::Lines(std::mem::take(&mut st.batch)));
        let _ = news.send(News::Ended { ending, stderr });
    }

    /// `Ok(None)`: stopped by the playground (or the playground is gone).
    fn serve_loop(
        &mut self,
        c: &mut Controller,
        st: &mut Serving,
        asks: &crossbeam::channel::Receiver<Ask>,
        news: &crossbeam::channel::Sender<News>,
    ) -> Result<Option<Ending>, SessionError> {
        loop {
            if c.free && matches!(asks.try_recv(), Ok(Ask::Stop)) {
                return Ok(None);
            }
            let deadline = Instant::now() + BATCH_WAIT;
            let line = match self.hub.next_line(deadline) {
                Next::Line(l) => l,
                Next::Timeout => {
                    if !st.batch.is_empty()
                        && news
                            .send(News::Lines(std::mem::take(&mut st.batch)))
                            .is_err()
                    {
                        return Ok(None);
                    }
                    continue;
                }
                Next::Closed => {
                    let exit = self.child.wait().ok().and_then(|s| s.code()).unwrap_or(1);
                    if c.version.is_empty() {
                        let err = self
                            .stderr
                            .take()
                            .and_then(|h| h.join().ok())
                            .unwrap_or_default();
                        return Err(SessionError::Usage(format!(
                            "the interpreter could not run interleave's tracer (exit code {exit}): {}",
                            err.lines().last().unwrap_or("no message")
                        )));
                    }
                    return Ok(Some(Ending::Finished {
                        exit: c.exit.unwrap_or(exit),
                    }));
                }
            };
            c.take(&line)?;
            st.batch.push(line);
            if c.free {
                if st.batch.len() >= BATCH_LINES || st.since.elapsed() >= BATCH_WAIT {
                    st.since = Instant::now();
                    if news
                        .send(News::Lines(std::mem::take(&mut st.batch)))
                        .is_err()
                    {
                        return Ok(None);
                    }
                }
                continue;
            }
            if !c.settled() {
                continue;
            }
            if c.stuck() {
                return Ok(Some(Ending::Deadlock));
            }
            if !self.serve_settled(c, st, asks, news)? {
                return Ok(None);
            }
        }
    }

    /// Every thread stands still: lets the next one go, asking the playground when
    /// no step is owed. False when the run is to stop.
    fn serve_settled(
        &mut self,
        c: &mut Controller,
        st: &mut Serving,
        asks: &crossbeam::channel::Receiver<Ask>,
        news: &crossbeam::channel::Sender<News>,
    ) -> Result<bool, SessionError> {
        let go = loop {
            if !c.any_ready() {
                // A thread in a library call comes back by itself.
                if st.ended || c.in_io() {
                    return Ok(true);
                }
                st.ended = true;
                self.hub.end_all();
                return Ok(true);
            }
            let forced = if st.at < st.prefix.len() {
                st.at += 1;
                Some(Some(st.prefix[st.at - 1]))
            } else if st.to_end {
                match asks.try_recv() {
                    Ok(Ask::Stop) => return Ok(false),
                    _ => Some(None),
                }
            } else {
                None
            };
            let forced: Option<u16> = match forced {
                Some(f) => f,
                None => {
                    if news
                        .send(News::Lines(std::mem::take(&mut st.batch)))
                        .is_err()
                        || news.send(News::Paused).is_err()
                    {
                        return Ok(false);
                    }
                    match asks.recv() {
                        Ok(Ask::Step(a)) => a,
                        Ok(Ask::RunToEnd) => {
                            st.to_end = true;
                            None
                        }
                        Ok(Ask::Stop) | Err(_) => return Ok(false),
                    }
                }
            };
            match c.next_forced(forced) {
                Ok(Some(t)) => {
                    st.batch.push(format!("go\t{t}"));
                    break t;
                }
                Ok(None) => continue,
                Err(why) => {
                    st.to_end = false;
                    st.at = st.prefix.len();
                    if news
                        .send(News::Lines(std::mem::take(&mut st.batch)))
                        .is_err()
                        || news.send(News::Refused(why)).is_err()
                    {
                        return Ok(false);
                    }
                }
            }
        };
        self.hub
            .go(go)
            .map_err(internal("telling the program to go on"))?;
        Ok(true)
    }
}

/// Where a served run is: the steps it still owes, whether it runs to the end.
struct Serving {
    prefix: Vec<u16>,
    at: usize,
    to_end: bool,
    ended: bool,
    batch: Vec<String>,
    since: Instant,
}

/// Undoes the tracer's escapes: `\\`, `\t`, `\n`, `\r`.
pub(super) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The controller's picture of the program, built from its events.
struct Controller {
    picker: Picker,
    free: bool,
    /// Where each controlled thread stands, until it is let go.
    standing: BTreeMap<u16, Step>,
    version: String,
    pid: u32,
    names: Vec<String>,
    states: BTreeMap<u16, ThreadState>,
    holders: BTreeMap<String, u16>,
    steps: Vec<Step>,
    pending: BTreeMap<u16, String>,
    output: Vec<(u16, String)>,
    finals: Vec<(String, String)>,
    schedule: Vec<u16>,
    exit: Option<i32>,
    /// Following a stepped run's shared steps, instead of the picker.
    follow: Option<Follower>,
    /// The thread let go last: the one whose step starts a thread.
    last_go: u16,
    /// Steps let go and processes ended so far: a thread polling a pipe looks
    /// again once this has grown.
    moves: u64,
}

impl Controller {
    fn new(picker: Picker, free: bool) -> Self {
        Controller {
            picker,
            free,
            standing: BTreeMap::new(),
            version: String::new(),
            pid: 0,
            names: Vec::new(),
            states: BTreeMap::new(),
            holders: BTreeMap::new(),
            steps: Vec::new(),
            pending: BTreeMap::new(),
            output: Vec::new(),
            finals: Vec::new(),
            schedule: Vec::new(),
            exit: None,
            follow: None,
            last_go: 0,
            moves: 0,
        }
    }

    /// Actor `t` runs in the process with this PID (a follower masks it).
    fn note_pid(&mut self, t: u16, pid: u32) {
        if let Some(f) = &mut self.follow {
            f.pid(t, pid);
        }
    }

    fn observe(&mut self, t: u16, effect: Effect) {
        if let Some(f) = &mut self.follow {
            f.observe(t, effect);
        }
    }

    fn take(&mut self, line: &str) -> Result<(), SessionError> {
        let f: Vec<String> = line.split('\t').map(unescape).collect();
        let bad =
            || SessionError::Internal(format!("the tracer said something unexpected: {line:?}"));
        let thread = |i: usize| f.get(i).and_then(|s| s.parse::<i64>().ok()).ok_or_else(bad);
        let field = |i: usize| f.get(i).cloned().ok_or_else(bad);
        match f[0].as_str() {
            "hello" => {
                self.version = field(1)?;
                self.pid = field(2)?.parse().map_err(|_| bad())?;
                self.note_pid(0, self.pid);
            }
            "new" => {
                let t = thread(1)? as u16;
                self.states.insert(t, ThreadState::Starting);
                self.observe(self.last_go, Effect::Start(t));
            }
            "thread" => {
                let t = thread(1)? as usize;
                if self.names.len() <= t {
                    self.names.resize(t + 1, String::new());
                }
                self.names[t] = field(2)?;
                self.states.entry(t as u16).or_insert(ThreadState::Starting);
            }
            "at" => {
                let t = thread(1)? as u16;
                self.states.insert(t, ThreadState::At);
                let step = Step {
                    thread: t,
                    line: field(2)?.parse().unwrap_or(0),
                    op: field(3)?,
                    arg: field(4)?,
                    note: String::new(),
                };
                // A free thread takes its step now; a controlled one when we say go,
                // and the order of the go's is the order of the steps.
                if self.free {
                    self.steps.push(step);
                } else {
                    self.standing.insert(t, step);
                }
            }
            "read" | "wrote" => {
                let t = thread(1)? as u16;
                let arrow = if f[0] == "read" { "→" } else { "←" };
                let note = format!("{} {arrow} {}", field(2)?, field(3)?);
                let (name, value) = (field(2)?, field(3)?);
                self.observe(
                    t,
                    if f[0] == "read" {
                        Effect::Read(name, value)
                    } else {
                        Effect::Write(name, value)
                    },
                );
                // A read is reported once the step is let go, a write at the thread's
                // next stop before it is reported: both belong to its last step taken.
                if let Some(s) = self.steps.iter_mut().rev().find(|s| s.thread == t) {
                    if s.note.is_empty() {
                        s.note = note;
                    } else {
                        s.note = format!("{}, {note}", s.note);
                    }
                }
            }
            "out" => {
                let t = thread(1)?;
                self.out(if t < 0 { 0 } else { t as u16 }, &field(2)?);
            }
            "blocked" => {
                let t = thread(1)? as u16;
                let what = field(3)?;
                let wait = match f[2].as_str() {
                    "lock" => Wait::Lock(what),
                    "io" => Wait::Io(what),
                    "poll" => Wait::Poll(what, self.moves),
                    "wait" => Wait::Notify(what, f.get(4).is_some_and(|s| s == "timed")),
                    _ => Wait::Join(what.parse().map_err(|_| bad())?),
                };
                self.states.insert(t, ThreadState::Blocked(wait));
            }
            "acquired" => {
                let t = thread(1)?;
                self.holders.insert(field(2)?, t as u16);
                self.observe(t as u16, Effect::Acquire);
                // A free run's blocked thread has the lock now and runs on.
                if let Some(ThreadState::Blocked(_)) = self.states.get(&(t as u16)) {
                    self.states.insert(t as u16, ThreadState::Running);
                }
            }
            "held" | "freed" | "signal" | "arrive" | "leave" | "queue" | "take" => {
                let t = thread(1)? as u16;
                self.take_sync(&f[0], t, &field(2).unwrap_or_default());
            }
            "released" => {
                self.holders.remove(&field(2)?);
                self.observe(thread(1)? as u16, Effect::Release);
            }
            "unblocked" => {
                let t = thread(1)? as u16;
                if let Some(ThreadState::Blocked(Wait::Io(_))) = self.states.get(&t) {
                    self.states.insert(t, ThreadState::Running);
                }
            }
            // The hub's: an actor is the first thread of process Q, with this PID.
            "process" => self.note_pid(thread(1)? as u16, field(3)?.parse().unwrap_or(0)),
            "done" => {
                let t = thread(1)? as u16;
                self.moves += 1;
                self.states.insert(t, ThreadState::Done);
                self.observe(t, Effect::Exit);
            }
            "final" => self.finals.push((field(1)?, field(2)?)),
            "exit" => self.exit = Some(field(1)?.parse().unwrap_or(1)),
            "refuse" => return Err(SessionError::Usage(field(1)?)),
            _ => return Err(bad()),
        }
        Ok(())
    }

    /// What thread `t` did to the program's Conditions, Events, Semaphores and
    /// Barriers. `held`, `freed`: a condition's waiter lock `what` changed hands
    /// (`Condition.wait`, `notify`): no step of the program's, but who may go on.
    /// The others are shared steps: `set()`, `release()`, `notify()` or `abort()`
    /// (`signal`), which may let a waiting thread go; a barrier's arrival and
    /// leaving; a put or get on the program's queue.
    fn take_sync(&mut self, kind: &str, t: u16, what: &str) {
        match kind {
            "held" => {
                self.holders.insert(what.to_string(), t);
            }
            "freed" => {
                self.holders.remove(what);
            }
            "signal" => self.observe(t, Effect::Signal),
            "arrive" => self.observe(t, Effect::Arrive),
            // `queue T put|get`: the program's put or get on a multiprocessing.Queue
            // returned (or raised queue.Full, queue.Empty).
            "queue" if what == "put" => self.observe(t, Effect::Put),
            // `queue T result`: a pool worker sent a task's outcome back
            // (`follow::pool_step`).
            "queue" if what == "result" => self.observe(t, Effect::Give),
            "queue" => self.observe(t, Effect::Get),
            // A pool worker took its next task (or the pool's None) from the
            // pool's queue (`follow::pool_step`).
            "take" => self.observe(t, Effect::Take),
            _ => self.observe(t, Effect::Leave),
        }
    }

    /// Text printed by thread `t`: whole lines go to the output.
    fn out(&mut self, t: u16, text: &str) {
        let buf = self.pending.entry(t).or_default();
        buf.push_str(text);
        while let Some(i) = buf.find('\n') {
            let line: String = buf.drain(..=i).collect();
            let line = line.trim_end_matches('\n').to_string();
            if let Some(f) = &mut self.follow {
                f.observe(t, Effect::Print(line.clone()));
            }
            self.output.push((t, line));
        }
    }

    /// Every thread we know of has stopped: before a step, blocked, or done.
    fn settled(&self) -> bool {
        !self.states.is_empty()
            && self.states.values().all(|s| {
                matches!(
                    s,
                    ThreadState::At | ThreadState::Blocked(_) | ThreadState::Done
                )
            })
    }

    fn can_go(&self, t: u16) -> bool {
        match self.states.get(&t) {
            Some(ThreadState::At) => true,
            Some(ThreadState::Blocked(Wait::Lock(l))) => !self.holders.contains_key(l),
            Some(ThreadState::Blocked(Wait::Join(u))) => {
                self.states.get(u) == Some(&ThreadState::Done)
            }
            Some(ThreadState::Blocked(Wait::Poll(_, n))) => self.moves > *n || self.serving(),
            Some(ThreadState::Blocked(Wait::Notify(w, _))) => !self.holders.contains_key(w),
            _ => false,
        }
    }

    /// A process runs a Manager's server (`runs _run_server`, the standard
    /// library's code, untraced): what it sends comes with no step of the program's,
    /// so a thread that found nothing to receive may look again at any time. How
    /// many times it looks depends on when the server answers: such a run's output
    /// replays, its count of steps may not.
    fn serving(&self) -> bool {
        self.states
            .values()
            .any(|s| matches!(s, ThreadState::Blocked(Wait::Io(w)) if w == "runs _run_server"))
    }

    /// The threads that may take a step: those that can go, or, when none can, those
    /// in a timed wait, whose timeouts come first. Following, the thread due for the
    /// simulator's next shared step goes out of a timed wait too: the simulator's
    /// wait timed out there.
    fn ready(&self) -> Vec<u16> {
        let mut ready: Vec<u16> = self
            .states
            .keys()
            .copied()
            .filter(|&t| self.can_go(t))
            .collect();
        let timed = |t: &u16| {
            matches!(
                self.states.get(t),
                Some(ThreadState::Blocked(Wait::Notify(_, true)))
            )
        };
        if ready.is_empty() {
            ready = self.states.keys().copied().filter(timed).collect();
        } else if let Some(t) = self.follow.as_ref().and_then(|f| f.due())
            && timed(&t)
            && !ready.contains(&t)
        {
            ready.push(t);
            ready.sort_unstable();
        }
        ready
    }

    /// Some thread waits in a library call for another process: it comes back by
    /// itself, so the run is not stuck while it does.
    fn in_io(&self) -> bool {
        self.states
            .values()
            .any(|s| matches!(s, ThreadState::Blocked(Wait::Io(_))))
    }

    /// Settled, not all done, no thread can take a step, and none will come back
    /// from a library call by itself.
    fn stuck(&self) -> bool {
        !self.in_io()
            && self.states.values().any(|s| *s != ThreadState::Done)
            && self.ready().is_empty()
    }

    /// Lets the next thread go, if one can.
    fn next(&mut self) -> Result<Option<u16>, SessionError> {
        let ready = self.ready();
        if ready.is_empty() {
            return Ok(None);
        }
        // Following, the thread that takes the simulator's next shared step may be
        // in a library call that comes back by itself (`time.sleep`, a queue's
        // `get` whose item a feeder thread is still writing): wait for it rather
        // than let another thread go out of the simulator's order.
        // A program subprocess runs (`runs tr`) may wait for its caller, though:
        // the threads the simulator ran before the step go meanwhile.
        let mut helper = None;
        if let Some(t) = self.follow.as_ref().and_then(|f| f.due())
            && let Some(ThreadState::Blocked(Wait::Io(w))) = self.states.get(&t)
            && !(w.starts_with("runs ") && self.follow.as_ref().is_some_and(|f| f.may_help(&ready)))
        {
            helper = self.pool_helper(w == POOL_TAKE, &ready);
            if helper.is_none() {
                return Ok(None);
            }
        }
        // A thread that joins a process another one terminated waits for the signal
        // to land, which no step orders: wait for it too (`Follower::killed`).
        if let Some(f) = &self.follow
            && let Some(t) = f.due()
            && let Some(ThreadState::Blocked(Wait::Join(u))) = self.states.get(&t)
            && f.killed(*u)
        {
            return Ok(None);
        }
        let why = |t: u16| match self.states.get(&t) {
            Some(ThreadState::Blocked(Wait::Lock(l))) => format!("it waits for lock {l}"),
            Some(ThreadState::Blocked(Wait::Join(u))) => {
                format!("it waits in join() for thread {u}")
            }
            Some(ThreadState::Blocked(Wait::Io(w) | Wait::Poll(w, _))) => {
                format!("it waits in {w}")
            }
            Some(ThreadState::Blocked(Wait::Notify(..))) => {
                "it waits in Condition.wait() for a notify".into()
            }
            Some(ThreadState::Done) => "it is done".into(),
            None => "there is no such thread".into(),
            _ => "it is not stopped".into(),
        };
        let t = match (helper, &mut self.follow) {
            (Some(h), _) => h,
            (None, Some(f)) => f.pick(&ready, &self.standing, why),
            (None, None) => self.picker.pick(&ready, why).map_err(SessionError::Usage)?,
        };
        self.last_go = t;
        if let Some(step) = self.standing.remove(&t) {
            self.steps.push(step);
        }
        self.states.insert(t, ThreadState::Running);
        self.schedule.push(t);
        self.moves += 1;
        Ok(Some(t))
    }

    /// A pool worker due for its next task waits in the pool's `get()` for what the
    /// pool's own threads send, which may wait in turn for a thread the simulator ran
    /// before this shared step (the parent's `close()`, before the pool sends its
    /// stop signals, which wait for every worker's last result): one of those goes
    /// first, if one can (`Follower::pool_helper`), never a worker that stands
    /// before its own `get()`.
    fn pool_helper(&mut self, pool_take: bool, ready: &[u16]) -> Option<u16> {
        if !pool_take {
            return None;
        }
        let standing = &self.standing;
        let at_take = |t: u16| standing.get(&t).is_some_and(|s| s.op == POOL_TAKE_OP);
        let line_of = |t: u16| standing.get(&t).map(|s| s.line);
        self.follow.as_mut()?.pool_helper(ready, at_take, line_of)
    }

    fn any_ready(&self) -> bool {
        !self.ready().is_empty()
    }

    /// Lets the next thread go: `forced`, if given and it can, else the picker's
    /// choice. The picker is asked either way, so that its choices after a step by
    /// hand do not depend on whether the step was by hand. Err: why `forced` cannot.
    fn next_forced(&mut self, forced: Option<u16>) -> Result<Option<u16>, String> {
        let mut ready = self.ready();
        // By hand, a thread in a timed wait may go at any time: its timeout comes.
        if let Some(a) = forced
            && matches!(
                self.states.get(&a),
                Some(ThreadState::Blocked(Wait::Notify(_, true)))
            )
            && !ready.contains(&a)
        {
            ready.push(a);
            ready.sort_unstable();
        }
        if ready.is_empty() {
            return Ok(None);
        }
        if let Some(a) = forced
            && !ready.contains(&a)
        {
            return Err(why_not(&self.states, a));
        }
        let states = &self.states;
        let pick = self.picker.pick(&ready, |t| why_not(states, t));
        let t = match (forced, pick) {
            (Some(a), _) => a,
            (_, Ok(p)) => p,
            (_, Err(e)) => return Err(e),
        };
        self.last_go = t;
        if let Some(step) = self.standing.remove(&t) {
            self.steps.push(step);
        }
        self.states.insert(t, ThreadState::Running);
        self.schedule.push(t);
        self.moves += 1;
        Ok(Some(t))
    }

    fn flush_output(&mut self) {
        for (t, rest) in std::mem::take(&mut self.pending) {
            if !rest.is_empty() {
                self.output.push((t, rest));
            }
        }
    }
}

/// What the tracer calls a pool worker's wait for its next task (`_pool_takes`).
const POOL_TAKE: &str = "Pool task";
/// The step a pool worker stands before when its next call is that `get()`.
const POOL_TAKE_OP: &str = "take";

/// Why thread `t` cannot take a step now.
fn why_not(states: &BTreeMap<u16, ThreadState>, t: u16) -> String {
    match states.get(&t) {
        Some(ThreadState::Blocked(Wait::Lock(l))) => format!("thread {t} waits for lock {l}"),
        Some(ThreadState::Blocked(Wait::Join(u))) => {
            format!("thread {t} waits in join() for thread {u}")
        }
        Some(ThreadState::Blocked(Wait::Io(w) | Wait::Poll(w, _))) => {
            format!("thread {t} waits in {w}")
        }
        Some(ThreadState::Blocked(Wait::Notify(..))) => {
            format!("thread {t} waits in Condition.wait() for a notify")
        }
        Some(ThreadState::Done) => format!("thread {t} is done"),
        None => format!("there is no thread {t}"),
        _ => format!("thread {t} is not stopped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_come_back() {
        assert_eq!(unescape(r"a\tb\\n\nc"), "a\tb\\n\nc");
    }

    #[test]
    fn the_controller_sees_a_deadlock() {
        let mut c = Controller::new(Picker::new(Drive::Seed(1)), false);
        for l in [
            "hello\t3.13.0\t42\t0",
            "thread\t0\tMainThread\t0",
            "new\t1\t0",
            "thread\t1\tt1\t0",
            "acquired\t0\tL1\t0",
            "acquired\t1\tL2\t0",
            "blocked\t0\tlock\tL2\t0",
            "blocked\t1\tlock\tL1\t0",
        ] {
            c.take(l).unwrap();
        }
        assert!(c.settled());
        assert!(c.stuck());
        // Once L1 is free, the thread waiting for it can go.
        c.take("released\t1\tL1\t0").unwrap();
        assert!(!c.stuck());
        assert!(c.can_go(1) && !c.can_go(0));
    }

    #[test]
    fn reads_and_writes_land_on_their_steps() {
        let mut c = Controller::new(Picker::new(Drive::Seed(1)), false);
        let go = |c: &mut Controller| assert_eq!(c.next().unwrap(), Some(0));
        c.take("thread\t0\tMainThread\t0").unwrap();
        c.take("at\t0\t3\tLOAD_GLOBAL\tbalance\t0").unwrap();
        go(&mut c);
        c.take("read\t0\tbalance\t0\t0").unwrap();
        c.take("at\t0\t3\tSTORE_GLOBAL\tbalance\t0").unwrap();
        go(&mut c);
        c.take("wrote\t0\tbalance\t5\t0").unwrap();
        c.take("at\t0\t4\tLOAD_CONST\t\t0").unwrap();
        go(&mut c);
        c.take("out\t0\t5\t0").unwrap();
        c.take("out\t0\t\\n\t0").unwrap();
        let notes: Vec<&str> = c.steps.iter().map(|s| s.note.as_str()).collect();
        assert_eq!(notes, ["balance → 0", "balance ← 5", ""]);
        assert_eq!(c.output, [(0, "5".to_string())]);
    }
}
