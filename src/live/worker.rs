//! The hidden `worker` subcommand: one real process of a live process lesson. It runs
//! the process's main actor, and each thread the program starts in this process on
//! a real OS thread of its own, under this process's own GIL; it reports events over
//! the event pipe (stdout).

use super::fd::{inheritable_pipe, pipe_bytes, readable, readable_within, socket_pair};
use super::gil::Gil;
use super::ipc::{self, EVENTS_PER_FRAME, Frame, Job, PARENT_ENV, SharedMem, write_frame};
use super::record;
use crate::interp::{Backend, Cost, Flow, Take};
use crate::program::pytext::process_raise_text;
use crate::program::{
    ActorId, ActorKind, ConnId, Instr, LockId, NONE, Pc, Program, QueueId, StrId, Value, VarId,
};
use crate::trace::{Event, EventKind};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a process waiting for a cross-process lock sleeps between tries.
const LOCK_POLL: Duration = Duration::from_micros(20);
/// Where the event pipe is: the worker's stdout.
const EVENT_FD: i32 = 1;
/// A worker's exit code when its event pipe cannot be written.
pub const EXIT_NO_PIPE: i32 = 3;

/// Entry point of `interleave worker`: reads a [`Job`] on stdin, runs it, and
/// exits with the code Python would.
pub fn main() -> i32 {
    die_with_parent();
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        return fail(0, &format!("cannot read the job: {e}"));
    }
    let mut job: Job = match serde_json::from_slice(&input) {
        Ok(j) => j,
        Err(e) => return fail(0, &format!("bad job: {e}")),
    };
    let mem = match SharedMem::open(&job.shm, &job.program) {
        Ok(m) => m,
        Err(e) => return fail(job.actor, &format!("shared memory: {e}")),
    };
    if job.queue_fds.is_empty() && !job.program.queues.is_empty() {
        // The main process makes the queues' pipes; every child inherits them.
        match job
            .program
            .queues
            .iter()
            .map(|_| inheritable_pipe())
            .collect()
        {
            Ok(fds) => job.queue_fds = fds,
            Err(e) => return fail(job.actor, &format!("pipe: {e}")),
        }
    }
    if job.conn_fds.is_empty() && !job.program.pipes.is_empty() {
        // `Pipe()` is a socket pair, made by the main process and inherited.
        for _ in &job.program.pipes {
            match socket_pair() {
                Ok([a, b]) => job.conn_fds.extend([a, b]),
                Err(e) => return fail(job.actor, &format!("socketpair: {e}")),
            }
        }
    }
    let first = job.actor;
    Worker::new(Arc::new(Proc::new(job, mem))).run(first)
}

/// A worker that cannot start says why, on stderr and on the event pipe (where the
/// playground shows it as output), and exits with code 2.
fn fail(actor: ActorId, why: &str) -> i32 {
    let text = format!("interleave worker: {why}");
    let _ = writeln!(std::io::stderr(), "{text}");
    let _ = write_frame(
        EVENT_FD,
        &Frame::Output {
            actor,
            index: super::process::UNLINKED,
            text,
            open: false,
        },
    );
    2
}

/// Starts an external program with its stdin and stdout on pipes (`None` when it
/// cannot start: the caller reports exit code 127, as a shell does).
fn spawn_program(argv: &str) -> Option<std::process::Child> {
    use std::os::unix::process::CommandExt;
    let words: Vec<&str> = argv.split('\u{1f}').collect();
    let mut cmd = Command::new(words[0]);
    cmd.args(&words[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: prctl is async-signal-safe; the external program then dies with us.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            Ok(())
        });
    }
    cmd.spawn().ok()
}

/// Feeds a started program its input, waits for it: its exit code as Python
/// reports it (−N for signal N) and what it wrote.
fn finish_program(mut child: std::process::Child, input: &str) -> (i32, String) {
    use std::os::unix::process::ExitStatusExt;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    match child.wait_with_output() {
        Ok(out) => {
            let code = out
                .status
                .code()
                .or_else(|| out.status.signal().map(|s| -s))
                .unwrap_or(1);
            (code, String::from_utf8_lossy(&out.stdout).into_owned())
        }
        Err(_) => (1, String::new()),
    }
}

/// Asks the kernel to SIGKILL this process when its parent dies, then closes the
/// race where the parent died before the request.
fn die_with_parent() {
    // SAFETY: prctl with an integer argument.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    let expected = std::env::var(PARENT_ENV)
        .ok()
        .and_then(|s| s.parse::<i32>().ok());
    // SAFETY: getppid cannot fail.
    let ppid = unsafe { libc::getppid() };
    if expected.is_some_and(|p| p != ppid) {
        std::process::exit(137);
    }
}

struct ChildProc {
    actor: ActorId,
    pid: Pid,
    /// Python's exit code once reaped.
    exit: Option<i32>,
}

/// What the threads of one worker process share: its memory, its GIL and the event
/// pipe.
struct Proc {
    job: Job,
    mem: SharedMem,
    /// This process's own copy of the non-shared variables, read and written in
    /// separate steps as the thread engine does.
    vars: Vec<AtomicI64>,
    /// Lines this process has printed; a line's number links it to its event.
    outputs: AtomicU64,
    /// The process's `sys.stdout` buffer (the buffering lesson): memory of this
    /// process, so a real fork copies it and a process killed by a signal loses it.
    stdout: parking_lot::Mutex<String>,
    /// One frame at a time on the event pipe.
    pipe: parking_lot::Mutex<()>,
    /// The process's GIL, when the model has one and the program starts a thread in
    /// this process (a lone thread holds it throughout, so it is not kept then).
    gil: Option<Gil>,
    /// A worker is stopped by a signal, never by this flag; the GIL wants one.
    stop: AtomicBool,
    /// The threads this process started and has not joined yet.
    threads: parking_lot::Mutex<Vec<(ActorId, JoinHandle<()>)>>,
    /// Whether its actors record what a stepped replay needs (record.rs): only
    /// in a program whose every operation the record holds.
    record: bool,
    /// Per lock that is a `threading.Condition`'s: this process's threads in
    /// its `wait()`, not notified yet, longest waiting first.
    cond_waiters: parking_lot::Mutex<Vec<std::collections::VecDeque<ActorId>>>,
    /// The real file this process has as stdout, when the run gives one.
    terminal: Option<super::terminal::Stdout>,
    /// Per lock that names a `threading.Barrier`: its state, between this
    /// process's threads.
    barriers: parking_lot::Mutex<Vec<crate::interp::barrier::BarrierState>>,
}

impl Proc {
    fn new(job: Job, mem: SharedMem) -> Proc {
        let process = job
            .program
            .actors
            .get(job.actor as usize)
            .map(|a| a.process);
        let threads_here = job
            .program
            .actors
            .iter()
            .filter(|a| Some(a.process) == process)
            .count();
        let gil = (job.gil.has_gil() && threads_here > 1)
            .then(|| Gil::new(Duration::from_nanos(job.switch_interval_ns.max(1))));
        Proc {
            vars: job.vars.iter().map(|&v| AtomicI64::new(v)).collect(),
            outputs: AtomicU64::new(0),
            stdout: parking_lot::Mutex::new(String::new()),
            pipe: parking_lot::Mutex::new(()),
            gil,
            stop: AtomicBool::new(false),
            threads: parking_lot::Mutex::new(Vec::new()),
            record: record::process_support(&job.program).is_ok(),
            barriers: parking_lot::Mutex::new(vec![Default::default(); job.program.locks.len()]),
            cond_waiters: parking_lot::Mutex::new(vec![
                Default::default();
                job.program.locks.len()
            ]),
            terminal: job.terminal_fd.map(super::terminal::Stdout::new),
            job,
            mem,
        }
    }

    /// Sends a frame to the playground. If the event pipe is gone, nobody can see
    /// this run any more: the process says why on stderr and exits.
    fn send(&self, frame: &Frame) {
        let _one_at_a_time = self.pipe.lock();
        if let Err(e) = write_frame(EVENT_FD, frame) {
            let _ = writeln!(
                std::io::stderr(),
                "interleave worker: cannot write to the event pipe: {e}"
            );
            std::process::exit(EXIT_NO_PIPE);
        }
    }
}

/// One thread of a worker process.
struct Worker {
    p: Arc<Proc>,
    buf: Vec<Event>,
    children: Vec<ChildProc>,
    /// This process's pipe-end sockets (-1 once closed here).
    conns: Vec<i32>,
    /// What the last `communicate()` captured.
    captured: String,
    /// Its actor's record, written into a file as it goes (record.rs).
    log: record::FileLog,
    /// The record of the external program `subprocess` runs now, whose rows this
    /// thread writes (the program cannot).
    program_log: Option<(ActorId, record::FileLog)>,
    /// The actor this thread runs (a forked child makes the child's actor its own).
    actor: ActorId,
    stack: Vec<Value>,
    locals: Vec<Value>,
    tls: Vec<(StrId, Value)>,
    /// The `multiprocessing` locks it holds.
    held: Vec<LockId>,
    /// A line was sent; the event that printed it (the next `Exec`) goes in the
    /// record with its time, which orders the run's output.
    print_pending: bool,
}

fn python_exit(s: WaitStatus) -> Option<i32> {
    match s {
        WaitStatus::Exited(_, c) => Some(c),
        WaitStatus::Signaled(_, sig, _) => Some(-(sig as i32)),
        _ => None,
    }
}

impl Worker {
    fn new(p: Arc<Proc>) -> Worker {
        Worker {
            conns: p.job.conn_fds.clone(),
            captured: String::new(),
            log: record::FileLog::default(),
            program_log: None,
            print_pending: false,
            buf: Vec::with_capacity(EVENTS_PER_FRAME),
            children: Vec::new(),
            actor: 0,
            stack: Vec::with_capacity(8),
            locals: Vec::new(),
            tls: Vec::new(),
            held: Vec::new(),
            p,
        }
    }

    /// Makes `actor` the one this thread runs, from its first instruction.
    fn enter(&mut self, actor: ActorId) {
        self.actor = actor;
        self.log = self.open_log(actor);
        self.label(actor);
        self.locals = self.program().actors[actor as usize].locals.clone();
        self.stack.clear();
        self.held.clear();
    }

    fn program(&self) -> &Program {
        &self.p.job.program
    }

    fn now(&self) -> u64 {
        ipc::monotonic_ns().saturating_sub(self.p.job.t0)
    }

    fn rec(&mut self, actor: ActorId, kind: EventKind, pc: u32, value: Value) {
        let t_ns = self.now();
        if self.print_pending && kind == EventKind::Exec {
            self.log_print(actor, t_ns);
        }
        self.buf.push(Event {
            t_ns,
            value,
            pc,
            actor,
            kind,
        });
        if self.buf.len() >= EVENTS_PER_FRAME {
            // A full frame while it computes: the record is written now and then
            // (`FileLog::sync_some`), not with every frame.
            self.log.sync_some();
            self.send_events();
        }
    }

    fn flush(&mut self) {
        // The record goes to its file first: when it waits, prints or ends, a
        // line or an event on the screen is never ahead of the record.
        self.log.sync();
        self.send_events();
    }

    fn send_events(&mut self) {
        if !self.buf.is_empty() {
            let evs = std::mem::take(&mut self.buf);
            self.p.send(&Frame::Events(evs));
        }
    }

    fn label(&mut self, actor: ActorId) {
        let pid = std::process::id() as i32;
        self.p.send(&Frame::Label { actor, pid });
    }

    fn shared_lock(&self, l: u16) -> &std::sync::atomic::AtomicI64 {
        self.p.mem.slot(self.program().vars.len() + l as usize)
    }

    fn child(&mut self, t: ActorId) -> Option<&mut ChildProc> {
        self.children.iter_mut().find(|c| c.actor == t)
    }

    /// Waits for a child (blocking or not) and records how it ended; reports a
    /// death by signal on the child's row, since the child could not.
    fn reap(&mut self, t: ActorId, block: bool) -> Option<i32> {
        let c = self.child(t)?;
        if c.exit.is_some() {
            return c.exit;
        }
        let pid = c.pid;
        let flags = (!block).then_some(WaitPidFlag::WNOHANG);
        let code = loop {
            match waitpid(pid, flags) {
                Ok(s) => break python_exit(s),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => break Some(-(libc::SIGKILL)),
            }
        };
        if let Some(code) = code {
            if let Some(c) = self.child(t) {
                c.exit = Some(code);
            }
            if code < 0 {
                self.rec(t, EventKind::Ended, u32::MAX, code as Value);
            }
        }
        code
    }

    /// The file a variable names, in the run's temporary directory (never the
    /// student's working directory).
    fn file_path(&self, g: u16) -> std::path::PathBuf {
        let dir = self.p.job.shm.parent().unwrap_or(std::path::Path::new("."));
        dir.join(&self.program().vars[g as usize].name)
    }

    /// `json.load(f)['count']`, with the exception Python would raise.
    fn read_file(&mut self, g: u16) -> Result<Value, String> {
        let path = self.file_path(g);
        let seq = self.p.mem.version(self.program(), g);
        let (text, ver) = record::file_load(seq, || std::fs::read_to_string(path));
        if self.p.record {
            self.log.push(record::Entry::new(record::Op::Load, g, ver));
        }
        let text = text.map_err(|e| {
            format!(
                "FileNotFoundError: [Errno 2] No such file or directory: '{}' ({e})",
                self.program().vars[g as usize].name
            )
        })?;
        // A reader that comes between another process's truncate and its write
        // finds an empty file, as in Python.
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
            "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)".to_string()
        })?;
        json["count"]
            .as_i64()
            .ok_or_else(|| "KeyError: 'count'".to_string())
    }

    /// `json.dump({'count': v}, open(name, 'w'))`: truncate, then write, as Python does.
    fn write_file(&mut self, g: u16, v: Value) -> std::io::Result<()> {
        let path = self.file_path(g);
        let seq = self.p.mem.version(self.program(), g);
        let (done, ver) = record::file_store(seq, || {
            let mut f = std::fs::File::create(path)?;
            f.write_all(crate::program::pytext::file_text(v).as_bytes())
        });
        if self.p.record {
            self.log.push(record::Entry::new(record::Op::Store, g, ver));
        }
        done
    }

    /// Sends a line the program printed (after the events before it); its index
    /// goes in the event that printed it.
    fn say(&mut self, actor: ActorId, text: String, open: bool) -> u64 {
        let index = self.p.outputs.fetch_add(1, Ordering::SeqCst);
        self.flush();
        self.p.send(&Frame::Output {
            actor,
            index,
            text,
            open,
        });
        self.print_pending = self.p.record;
        index
    }

    fn start_worker(&mut self, t: ActorId) -> std::io::Result<Pid> {
        let job = Job {
            program: self.p.job.program.clone(),
            actor: t,
            t0: self.p.job.t0,
            speed: self.p.job.speed,
            shm: self.p.job.shm.clone(),
            vars: self
                .p
                .vars
                .iter()
                .map(|v| v.load(Ordering::SeqCst))
                .collect(),
            queue_fds: self.p.job.queue_fds.clone(),
            gil: self.p.job.gil,
            switch_interval_ns: self.p.job.switch_interval_ns,
            conn_fds: self.conns.clone(),
            terminal_fd: self.p.job.terminal_fd,
        };
        let bytes = serde_json::to_vec(&job).map_err(std::io::Error::other)?;
        self.announce_log(t);
        let mut cmd = Command::new(super::process::worker_exe()?);
        cmd.arg("worker")
            .env(PARENT_ENV, std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        let child = super::process::spawn_with_job(cmd, &bytes)?;
        // The parent names the child's PID at once: a child terminated before it
        // could say it itself still shows its PID.
        let pid = child.id() as i32;
        self.p.send(&Frame::Label { actor: t, pid });
        // The child is reaped with waitpid by PID; `Child` is not waited on.
        Ok(Pid::from_raw(pid))
    }

    /// `subprocess`: runs the real program as the process actor `child` and
    /// writes that actor's rows, since the program cannot: its real PID, the exec,
    /// what it printed to the terminal, its end. Gives its exit code.
    fn run_external(
        &mut self,
        actor: ActorId,
        pc: u32,
        argv: u16,
        input: u16,
        child: ActorId,
    ) -> i32 {
        let (argv, input) = (
            self.program().str(argv).to_string(),
            self.program().str(input).to_string(),
        );
        let code: Vec<Instr> = self.program().actors[child as usize].code.clone();
        self.program_log = Some((child, self.open_log(child)));
        let (status, out) = self.blocking(actor, pc, |w| {
            let Some(p) = spawn_program(&argv) else {
                return (127, String::new());
            };
            w.p.send(&Frame::Label {
                actor: child,
                pid: p.id() as i32,
            });
            w.rec(child, EventKind::Exec, 0, p.id() as Value);
            w.flush();
            finish_program(p, &input)
        });
        for (at, ins) in code.iter().enumerate().skip(1) {
            match ins {
                // What call() lets the program write to the terminal.
                Instr::Print { .. } if !out.is_empty() => {
                    let text = out.strip_suffix('\n').unwrap_or(&out).to_string();
                    let index = self.say(child, text, false);
                    self.rec(child, EventKind::Exec, at as u32, index as Value);
                }
                Instr::Exit(_) if status >= 0 => {
                    self.rec(child, EventKind::Exec, at as u32, status as Value);
                }
                Instr::Exit(_) => self.rec(child, EventKind::Ended, u32::MAX, status as Value),
                // An external program's rows are its exec, what it writes to the
                // terminal and its exit (`scenarios/subprocess.rs`): nothing else
                // happens in them. Named one by one, so that a new instruction is
                // decided here too.
                Instr::Print { .. }
                | crate::program::local_instr!()
                | Instr::LoadGlobal(_)
                | Instr::StoreGlobal(_)
                | Instr::Acquire(_)
                | Instr::Release(_)
                | Instr::Start(_)
                | Instr::Join(_)
                | Instr::Sleep(_)
                | Instr::Work(_)
                | Instr::TlsSet { .. }
                | Instr::TlsGet(_)
                | Instr::Clock { .. }
                | Instr::Ident(_)
                | Instr::Raise(_)
                | Instr::CondWait(_)
                | Instr::CondSleep(_)
                | Instr::CondNotify { .. }
                | Instr::Fork(_)
                | Instr::ForkChild
                | Instr::GetPid
                | Instr::GetPpid
                | Instr::ProcPid(_)
                | Instr::ProcAlive(_)
                | Instr::ProcExitCode(_)
                | Instr::Terminate(_)
                | Instr::QueuePut { .. }
                | Instr::QueueGet { .. }
                | Instr::QueueAsk { .. }
                | Instr::QueueTry { .. }
                | Instr::QueueReady(_)
                | Instr::FileRead(_)
                | Instr::FileWrite(_)
                | Instr::PipeSend(_)
                | Instr::PipeRecv { .. }
                | Instr::PipeClose(_)
                | Instr::RunProgram { .. }
                | Instr::PrintCaptured { .. }
                | Instr::BufPrint { .. }
                | Instr::Flush(_)
                | Instr::ListStore { .. }
                | Instr::JoinFor { .. }
                | crate::program::barrier_instr!()
                | crate::program::sync_instr!()
                | crate::program::aio_instr!() => {}
            }
        }
        self.program_log = None;
        // Kept whole: print(output.decode()) shows the program's last newline as a
        // blank line, as CPython does.
        self.captured = out;
        status
    }

    /// Reads shared variable `g`, and records which store it saw.
    fn load_shared(&mut self, g: u16) -> Value {
        let value = self.p.mem.slot(g as usize);
        if !self.p.record {
            return value.load(Ordering::SeqCst);
        }
        let (v, ver) = record::seq_load(self.p.mem.version(self.program(), g), value);
        self.log.push(record::Entry::new(record::Op::Load, g, ver));
        v
    }

    /// Writes shared variable `g`, and records its place in the order of stores.
    fn store_shared(&mut self, g: u16, v: Value) {
        let value = self.p.mem.slot(g as usize);
        if !self.p.record {
            return value.store(v, Ordering::SeqCst);
        }
        let ver = record::seq_store(self.p.mem.version(self.program(), g), value, v);
        self.log.push(record::Entry::new(record::Op::Store, g, ver));
    }

    /// Lets go of `actor`'s record: it is in its file already (record.rs).
    fn hand_in_log(&mut self, _actor: ActorId) {
        self.log = record::FileLog::default();
    }

    /// Starts `actor`'s record, a file in the run's folder (record.rs).
    fn open_log(&self, actor: ActorId) -> record::FileLog {
        record::FileLog::open(self.p.record, self.p.job.shm.parent(), actor)
    }

    /// Makes the empty record of an actor this process is about to start, so
    /// that one killed before it began still has one.
    fn announce_log(&self, actor: ActorId) {
        if let (true, Some(dir)) = (self.p.record, self.p.job.shm.parent()) {
            let _ = std::fs::write(record::log_path(dir, actor), b"");
        }
    }

    /// Records the line `actor` printed, by the time of the event that printed
    /// it: the playground orders a run's output by those times.
    fn log_print(&mut self, actor: ActorId, t_ns: u64) {
        self.print_pending = false;
        let entry = record::Entry::new(record::Op::Print, 0, t_ns);
        match &mut self.program_log {
            Some((a, log)) if *a == actor => log.push(entry),
            _ => self.log.push(entry),
        }
    }

    /// Records an operation that gave nothing (`record::NOTHING`, EOF) or raised
    /// (`record::RAISED`) on channel `ch`.
    fn log_empty(&mut self, op: record::Op, ch: u16, version: u64) {
        if self.p.record {
            self.log.push(record::Entry::new(op, ch, version));
        }
    }

    /// `q.put(v)` or `conn.send(v)`: sends the numbered message (ipc.rs) and
    /// records its number.
    fn put_message(&mut self, ch: u16, fd: i32, v: Value, socket: bool) -> std::io::Result<()> {
        let counter = self.p.mem.channel(self.program(), ch);
        // A `str` goes as its own bytes; the receiver finds it again by its text.
        let payload = match crate::program::as_str_id(v) {
            Some(s) => ipc::Payload::Text(self.program().str(s)),
            None => ipc::Payload::Int(v),
        };
        let n = ipc::send_message(fd, counter, payload, socket)?;
        if self.p.record {
            self.log.push(record::Entry::new(record::Op::Put, ch, n));
        }
        Ok(())
    }

    /// `q.get()` or `conn.recv()`: the next message, and the record of which
    /// one it was; `None` at the end of the pipe (recorded as
    /// `record::NOTHING`).
    fn take_message(&mut self, ch: u16, fd: i32) -> Option<Value> {
        let got = ipc::recv_message(fd).and_then(|(v, n)| match v {
            ipc::Payload::Int(v) => Some((v, n)),
            // Every process runs the same program, so a text it sends is one
            // of the program's strings; one that is not reads as the end.
            ipc::Payload::Text(t) => {
                let id = self.program().strings.iter().position(|s| *s == t)?;
                Some((crate::program::str_value(StrId::try_from(id).ok()?), n))
            }
        });
        if self.p.record {
            let n = got.map_or(record::NOTHING, |(_, n)| n);
            self.log.push(record::Entry::new(record::Op::Get, ch, n));
        }
        got.map(|(v, _)| v)
    }

    /// Records whether process actor `t` was running (`is_alive()`,
    /// `terminate()`).
    fn log_alive(&mut self, t: ActorId, alive: bool) {
        if self.p.record {
            self.log
                .push(record::Entry::new(record::Op::Alive, t, alive as u64));
        }
    }

    /// The channels of queue `q` and of pipe end `c`'s inbox.
    fn queue_ch(&self, q: u16) -> u16 {
        record::queue_channel(q)
    }
    fn conn_ch(&self, c: u16) -> u16 {
        record::conn_channel(self.program(), c)
    }

    /// Takes this process's GIL, if it has one, and says so on the timeline.
    fn take_gil(&mut self, actor: ActorId, pc: u32) {
        let p = self.p.clone();
        if let Some(g) = &p.gil {
            g.take(actor, &p.stop);
            self.rec(actor, EventKind::GilTake, pc, -1);
        }
    }

    /// Lets go of this process's GIL (`forced`: another thread asked for it).
    fn drop_gil(&mut self, actor: ActorId, pc: u32, forced: bool) {
        let p = self.p.clone();
        if let Some(g) = &p.gil
            && g.holds(actor)
        {
            self.rec(actor, EventKind::GilDrop, pc, forced as Value);
            self.flush();
            g.release(actor, forced, &p.stop);
        }
    }

    /// Runs a call that may block without the GIL, as CPython does, and takes the
    /// GIL back afterwards.
    fn blocking<R>(&mut self, actor: ActorId, pc: u32, call: impl FnOnce(&mut Self) -> R) -> R {
        // A process may be killed while it waits: its record is whole by then.
        self.log.sync();
        self.drop_gil(actor, pc, false);
        let r = call(self);
        self.take_gil(actor, pc);
        r
    }

    /// Records that `actor` blocks on `on` and polls `ready` without the GIL until
    /// it holds (a lock or a queue slot another process frees).
    fn poll_until(&mut self, actor: ActorId, pc: u32, on: Value, ready: impl Fn(&Self) -> bool) {
        self.rec(actor, EventKind::Block, pc, on);
        self.flush();
        self.blocking(actor, pc, |w| {
            while !ready(w) {
                std::thread::sleep(LOCK_POLL);
            }
        });
        self.woke(actor, pc, -1);
    }

    /// Records that a blocked actor goes on, and sends it at once: the process
    /// watchdog must never see a stale block (see `watchdog::forward_processes`).
    fn woke(&mut self, actor: ActorId, pc: u32, by: Value) {
        self.rec(actor, EventKind::Wake, pc, by);
        self.flush();
    }

    /// Gives the GIL to the thread that asked for it, if one did.
    fn switch_if_asked(&mut self, actor: ActorId, pc: u32) {
        if self.p.gil.as_ref().is_some_and(|g| g.drop_requested()) {
            self.drop_gil(actor, pc, true);
            self.take_gil(actor, pc);
        }
    }

    /// Starts thread `t` of this process on a real OS thread of this worker.
    fn start_thread(&mut self, t: ActorId) {
        let p = self.p.clone();
        let handle = std::thread::spawn(move || {
            Worker::new(p).run(t);
        });
        self.p.threads.lock().push((t, handle));
    }

    /// Whether `t` is a thread of this process (not a process of its own).
    fn is_my_thread(&self, me: ActorId, t: ActorId) -> bool {
        let actors = &self.program().actors;
        actors[t as usize].process == actors[me as usize].process
    }

    /// Runs `actor` (and, in a forked child, the child's actor) to the end. The
    /// process's main thread then waits for its other threads, as Python does at
    /// exit, and reaps every child this process started; returns the exit code.
    fn run(&mut self, first: ActorId) -> i32 {
        self.enter(first);
        let mut pc: Pc = 0;
        self.take_gil(first, pc);
        let exit_code = loop {
            let Some(ins) = self.program().instr(self.actor, pc) else {
                break 0;
            };
            match crate::interp::exec(self, ins, pc) {
                Flow::Next(n) => pc = n,
                // A worker is stopped by a signal, never in between instructions.
                Flow::Stop => break 0,
                Flow::End(code) => break code,
            }
        };
        let actor = self.actor;
        self.drop_gil(actor, pc, false);
        self.flush();
        self.hand_in_log(actor);
        if self.program().actors[actor as usize].kind == ActorKind::Thread {
            // Only a thread of this process ends here; the process goes on.
            return exit_code;
        }
        // Python waits for the process's other threads before it exits.
        let threads: Vec<_> = std::mem::take(&mut *self.p.threads.lock());
        for (_, h) in threads {
            let _ = h.join();
        }
        // A process that ends holding a multiprocessing lock keeps it locked, as
        // in Python; every child is waited for, so none is left unreaped.
        let kids: Vec<ActorId> = self.children.iter().map(|c| c.actor).collect();
        for t in kids {
            self.reap(t, true);
        }
        self.flush();
        exit_code
    }

    /// `p.start()` of a process: a worker of its own.
    fn start_process(&mut self, t: ActorId) {
        match self.start_worker(t) {
            Ok(pid) => self.children.push(ChildProc {
                actor: t,
                pid,
                exit: None,
            }),
            Err(e) => {
                // Said on the row of the process that could not start.
                let name = self.program().actors[t as usize].name.clone();
                self.p.send(&Frame::Output {
                    actor: t,
                    index: super::process::UNLINKED,
                    text: format!("interleave: cannot start process {name} (a worker): {e}"),
                    open: false,
                });
                self.children.push(ChildProc {
                    actor: t,
                    pid: Pid::from_raw(0),
                    exit: Some(1),
                });
            }
        }
    }

    /// `t.join()` of a thread of this process.
    fn join_thread(&mut self, pc: Pc, t: ActorId) {
        let actor = self.actor;
        let handle = {
            let mut threads = self.p.threads.lock();
            let at = threads.iter().position(|(a, _)| *a == t);
            at.map(|i| threads.remove(i).1)
        };
        if let Some(h) = handle {
            let running = !h.is_finished();
            if running {
                self.rec(actor, EventKind::Block, pc, t as Value);
                self.flush();
            }
            let _ = self.blocking(actor, pc, |_| h.join());
            if running {
                self.woke(actor, pc, t as Value);
            }
        }
    }

    /// Takes the next message from `fd` (a queue's or a pipe end's), on record
    /// channel `ch`; when it `waits` (nothing is there yet), it records a block
    /// on `on` and waits without the GIL.
    fn read_waiting(
        &mut self,
        pc: Pc,
        (fd, ch): (i32, u16),
        on: Value,
        waits: bool,
    ) -> Option<Value> {
        if !waits {
            return self.take_message(ch, fd);
        }
        let actor = self.actor;
        self.rec(actor, EventKind::Block, pc, on);
        self.flush();
        self.blocking(actor, pc, |w| w.take_message(ch, fd))
    }

    /// When a wait of `us` µs of the program's time ends (scaled by the speed
    /// knob, as sleeps are).
    fn deadline(&self, us: u32) -> std::time::Instant {
        std::time::Instant::now() + Duration::from_secs_f64(us as f64 / 1e6 / self.p.job.speed)
    }

    /// The shared-memory slot that counts a bounded queue's free places.
    fn queue_slots(&self, q: QueueId) -> &AtomicI64 {
        let p = self.program();
        self.p.mem.slot(p.vars.len() + p.locks.len() + q as usize)
    }
}

impl Backend for Worker {
    fn program(&self) -> &Program {
        &self.p.job.program
    }
    fn actor(&self) -> ActorId {
        self.actor
    }
    fn frame(&mut self) -> crate::interp::Frame<'_> {
        crate::interp::Frame {
            stack: &mut self.stack,
            locals: &mut self.locals,
            tls: &mut self.tls,
        }
    }

    fn went(&mut self, ins: Instr, pc: Pc, value: Value, next: Pc, _cost: Cost) -> Flow {
        self.rec(self.actor, EventKind::Exec, pc, value);
        if self.p.job.gil.may_switch_after(ins) {
            self.switch_if_asked(self.actor, next);
        }
        Flow::Next(next)
    }
    fn exit(&mut self, _ins: Instr, pc: Pc, code: i32) -> Flow {
        self.rec(self.actor, EventKind::Exec, pc, code as Value);
        Flow::End(code)
    }
    fn uncaught(&mut self, _ins: Instr, pc: Pc, text: String) -> Flow {
        let index = self.say(self.actor, text, false);
        self.rec(self.actor, EventKind::Exec, pc, index as Value);
        Flow::End(1)
    }
    fn raise(&mut self, _ins: Instr, pc: Pc, text: String) -> Flow {
        // An uncaught exception ends the process: its traceback, then exit code 1.
        let index = self.say(self.actor, text, false);
        self.rec(self.actor, EventKind::Exec, pc, index as Value);
        self.rec(self.actor, EventKind::Ended, pc, 1);
        Flow::End(1)
    }

    fn load(&mut self, g: VarId) -> Value {
        if self.program().vars[g as usize].shared {
            // A real read of memory other processes write.
            self.load_shared(g)
        } else {
            self.p.vars[g as usize].load(Ordering::Relaxed)
        }
    }
    fn store(&mut self, g: VarId, v: Value) {
        if self.program().vars[g as usize].shared {
            self.store_shared(g, v);
        } else {
            self.p.vars[g as usize].store(v, Ordering::Relaxed);
        }
    }
    fn file_read(&mut self, g: VarId) -> Result<Value, String> {
        self.read_file(g)
    }
    fn file_write(&mut self, g: VarId, v: Value) -> Result<(), String> {
        self.write_file(g, v).map_err(|e| e.to_string())
    }

    fn acquire(&mut self, pc: Pc, l: LockId) -> Result<(), Flow> {
        use std::sync::atomic::Ordering::SeqCst;
        let me = std::process::id() as i64;
        let try_take = |w: &Self| {
            w.shared_lock(l)
                .compare_exchange(0, me, SeqCst, SeqCst)
                .is_ok()
        };
        if !try_take(self) {
            self.poll_until(self.actor, pc, l as Value, try_take);
        }
        if self.p.record {
            let n = record::bump(self.p.mem.lock_count(self.program(), l));
            self.log.push(record::Entry::new(record::Op::Acquire, l, n));
        }
        self.held.push(l);
        Ok(())
    }
    fn release(&mut self, _ins: Instr, pc: Pc, l: LockId, next: Pc) -> Flow {
        // The event goes first: once the lock is free, another process may take
        // it, and its acquire must sort after this release.
        self.rec(self.actor, EventKind::Exec, pc, l as Value);
        self.held.retain(|&h| h != l);
        self.shared_lock(l).store(0, Ordering::SeqCst);
        Flow::Next(next)
    }
    fn start(&mut self, _pc: Pc, t: ActorId) {
        match self.is_my_thread(self.actor, t) {
            true => self.start_thread(t),
            false => self.start_process(t),
        }
    }
    fn join(&mut self, pc: Pc, t: ActorId) -> Result<(), Flow> {
        if self.is_my_thread(self.actor, t) {
            self.join_thread(pc, t);
        } else if self.child(t).is_some_and(|c| c.exit.is_none()) {
            let actor = self.actor;
            self.rec(actor, EventKind::Block, pc, t as Value);
            self.flush();
            self.blocking(actor, pc, |w| w.reap(t, true));
            self.woke(actor, pc, t as Value);
        }
        Ok(())
    }
    fn print(&mut self, text: String) -> Value {
        self.say(self.actor, text, false) as Value
    }
    fn print_open(&mut self, text: String) -> Value {
        self.say(self.actor, text, true) as Value
    }
    fn sleep(&mut self, _ins: Instr, pc: Pc, us: u32, next: Pc) -> Flow {
        let actor = self.actor;
        self.rec(actor, EventKind::Exec, pc, us as Value);
        self.flush();
        let nap = Duration::from_secs_f64(us as f64 / 1e6 / self.p.job.speed);
        self.blocking(actor, pc, |_| std::thread::sleep(nap));
        self.rec(actor, EventKind::Wake, pc, -1);
        Flow::Next(next)
    }
    fn work(&mut self, pc: Pc, units: u32) -> Result<(), Flow> {
        let mut left = units;
        while left > 0 {
            let n = left.min(super::WORK_SLICE);
            super::spin(n);
            left -= n;
            // The countdown loop's back-edges are switch points in every model.
            self.switch_if_asked(self.actor, pc);
        }
        Ok(())
    }
    fn clock(&mut self, cpu: bool) -> Value {
        (if cpu {
            super::cpu_ns_with_children()
        } else {
            self.now()
        }) as Value
    }

    fn fork(&mut self, ins: Instr, pc: Pc, t: ActorId) -> Result<Value, Flow> {
        let actor = self.actor;
        if !self.p.threads.lock().iter().all(|(_, h)| h.is_finished()) {
            // The child would have only the forking thread, and every lock
            // another thread held would stay locked in it for ever.
            let name = &self.program().actors[actor as usize].name;
            let text = process_raise_text(
                name,
                "RuntimeError: interleave forks a process only while its other threads have ended",
            );
            return Err(Backend::raise(self, ins, pc, text));
        }
        // The child starts with this process's GIL free, and nothing buffered may
        // be copied into the child and sent twice.
        self.drop_gil(actor, pc, false);
        self.flush();
        let me = std::process::id() as i32;
        // SAFETY: every other thread of this worker has ended (checked above), so
        // the child of this fork is a complete copy of a single-threaded process.
        let forked = unsafe { fork() };
        if let Ok(ForkResult::Child) = forked {
            die_with_parent_pid(me);
            // The parent's ended threads do not exist here: their handles must be
            // neither joined nor detached.
            for (_, h) in self.p.threads.lock().drain(..) {
                std::mem::forget(h);
            }
            self.children.clear();
            self.p.outputs.store(0, Ordering::SeqCst);
            // The child's side runs on in this thread, from its first instruction.
            self.enter(t);
            return Err(Flow::Next(0));
        }
        self.take_gil(actor, pc);
        Ok(match forked {
            Ok(ForkResult::Parent { child }) => {
                self.children.push(ChildProc {
                    actor: t,
                    pid: child,
                    exit: None,
                });
                child.as_raw() as Value
            }
            _ => -1,
        })
    }
    fn pid(&mut self) -> Value {
        std::process::id() as Value
    }
    fn ident(&mut self) -> Value {
        super::real_ident()
    }
    fn ppid(&mut self) -> Value {
        // SAFETY: getppid cannot fail.
        unsafe { libc::getppid() as Value }
    }
    fn proc_pid(&mut self, t: ActorId) -> Value {
        self.child(t).map_or(NONE, |c| c.pid.as_raw() as Value)
    }
    fn proc_alive(&mut self, t: ActorId) -> Value {
        // Like CPython's is_alive(): a non-blocking waitpid.
        let alive = self.child(t).is_some() && self.reap(t, false).is_none();
        self.log_alive(t, alive);
        alive as Value
    }
    fn proc_exit_code(&mut self, t: ActorId) -> Value {
        self.child(t).and_then(|c| c.exit).map_or(NONE, Value::from)
    }
    fn terminate(&mut self, t: ActorId) {
        let alive = self.child(t).is_some() && self.reap(t, false).is_none();
        self.log_alive(t, alive);
        if let Some(c) = self.child(t)
            && alive
        {
            let _ = kill(c.pid, Signal::SIGTERM);
        }
    }
    fn queue_room(&mut self, pc: Pc, q: QueueId, block: bool) -> Result<bool, Flow> {
        use std::sync::atomic::Ordering::SeqCst;
        if self.program().queues[q as usize].maxsize == 0 {
            return Ok(true);
        }
        let take_slot = |w: &Self| {
            let s = w.queue_slots(q);
            let f = s.load(SeqCst);
            f > 0 && s.compare_exchange(f, f - 1, SeqCst, SeqCst).is_ok()
        };
        if !take_slot(self) {
            if !block {
                self.log_empty(record::Op::Put, self.queue_ch(q), record::RAISED);
                return Ok(false);
            }
            self.poll_until(self.actor, pc, q as Value, take_slot);
        }
        Ok(true)
    }
    fn queue_put(&mut self, q: QueueId, v: Value) -> Result<(), String> {
        let fd = self.p.job.queue_fds[q as usize][1];
        self.put_message(self.queue_ch(q), fd, v, false)
            .map_err(|e| e.to_string())
    }
    fn queue_get(&mut self, pc: Pc, q: QueueId, block: bool) -> Result<Take, Flow> {
        let (fd, ch) = (self.p.job.queue_fds[q as usize][0], self.queue_ch(q));
        let waits = !readable(fd);
        if waits && !block {
            self.log_empty(record::Op::Get, ch, record::RAISED);
            return Ok(Take::Empty);
        }
        let Some(v) = self.read_waiting(pc, (fd, ch), q as Value, waits) else {
            return Ok(Take::Closed);
        };
        if waits {
            self.woke(self.actor, pc, -1);
        }
        if self.program().queues[q as usize].maxsize > 0 {
            self.queue_slots(q).fetch_add(1, Ordering::SeqCst);
        }
        Ok(Take::Item(v))
    }
    fn queue_ready(&mut self, q: QueueId) -> bool {
        // An item is a frame on the queue's pipe: readable means a get would not
        // wait (every process keeps the write end open, so it is never EOF here).
        readable(self.p.job.queue_fds[q as usize][0])
    }
    fn pipe_send(&mut self, c: ConnId, v: Value) -> bool {
        let (fd, ch) = (self.conns[c as usize], self.conn_ch(c ^ 1));
        if self.put_message(ch, fd, v, true).is_err() {
            self.log_empty(record::Op::Put, ch, record::RAISED);
            return false;
        }
        true
    }
    fn pipe_recv(&mut self, pc: Pc, c: ConnId) -> Result<Option<Value>, Flow> {
        let (fd, ch) = (self.conns[c as usize], self.conn_ch(c));
        let waits = !readable(fd);
        let got = self.read_waiting(pc, (fd, ch), c as Value, waits);
        if waits {
            self.woke(self.actor, pc, -1);
        }
        // None: every copy of the other end is closed (EOFError).
        Ok(got)
    }
    fn pipe_close(&mut self, c: ConnId) {
        let fd = std::mem::replace(&mut self.conns[c as usize], -1);
        if fd >= 0 {
            // SAFETY: closes this process's own copy of the socket.
            unsafe { libc::close(fd) };
        }
    }
    fn run_program(
        &mut self,
        pc: Pc,
        argv: StrId,
        input: StrId,
        _sim_output: StrId,
        child: ActorId,
    ) -> Result<Value, Flow> {
        Ok(self.run_external(self.actor, pc, argv, input, child) as Value)
    }
    fn captured(&self) -> &str {
        &self.captured
    }
    fn queue_ask(&mut self, q: QueueId, ask: crate::program::QueueAsk) -> Value {
        use crate::program::QueueAsk;
        let maxsize = self.program().queues[q as usize].maxsize as Value;
        let fd = self.p.job.queue_fds[q as usize][0];
        // As CPython's: qsize() and full() read the semaphore that put() takes
        // and get() gives back; empty() asks whether the pipe has data.
        match ask {
            QueueAsk::Empty => !readable(fd) as Value,
            QueueAsk::Full => {
                (maxsize > 0 && self.queue_slots(q).load(Ordering::SeqCst) <= 0) as Value
            }
            QueueAsk::Size if maxsize > 0 => maxsize - self.queue_slots(q).load(Ordering::SeqCst),
            // Counts 16-byte heads: a `str` item with its text counts as more
            // than one (no lesson asks an unbounded queue of texts its size).
            QueueAsk::Size => pipe_bytes(fd) / ipc::MESSAGE as Value,
        }
    }
    fn queue_room_within(&mut self, pc: Pc, q: QueueId, timeout_us: u32) -> Result<bool, Flow> {
        use std::sync::atomic::Ordering::SeqCst;
        if self.program().queues[q as usize].maxsize == 0 {
            return Ok(true);
        }
        let take_slot = |w: &Self| {
            let s = w.queue_slots(q);
            let f = s.load(SeqCst);
            f > 0 && s.compare_exchange(f, f - 1, SeqCst, SeqCst).is_ok()
        };
        if take_slot(self) {
            return Ok(true);
        }
        let mut got = false;
        if timeout_us > 0 {
            let (actor, until) = (self.actor, self.deadline(timeout_us));
            self.rec(actor, EventKind::Block, pc, q as Value);
            self.flush();
            got = self.blocking(actor, pc, |w| {
                loop {
                    if take_slot(w) {
                        break true;
                    }
                    if std::time::Instant::now() >= until {
                        break false;
                    }
                    std::thread::sleep(LOCK_POLL);
                }
            });
            self.woke(actor, pc, -1);
        }
        if !got {
            self.log_empty(record::Op::Put, self.queue_ch(q), record::RAISED);
        }
        Ok(got)
    }
    fn queue_get_within(&mut self, pc: Pc, q: QueueId, timeout_us: u32) -> Result<Take, Flow> {
        let (fd, ch) = (self.p.job.queue_fds[q as usize][0], self.queue_ch(q));
        let mut ready = readable(fd);
        if !ready && timeout_us > 0 {
            let (actor, until) = (self.actor, self.deadline(timeout_us));
            self.rec(actor, EventKind::Block, pc, q as Value);
            self.flush();
            ready = self.blocking(actor, pc, |_| {
                let left = until.saturating_duration_since(std::time::Instant::now());
                readable_within(fd, left)
            });
            self.woke(actor, pc, -1);
        }
        if !ready {
            self.log_empty(record::Op::Get, ch, record::RAISED);
            return Ok(Take::Empty);
        }
        let Some(v) = self.take_message(ch, fd) else {
            return Ok(Take::Closed);
        };
        if self.program().queues[q as usize].maxsize > 0 {
            self.queue_slots(q).fetch_add(1, Ordering::SeqCst);
        }
        Ok(Take::Item(v))
    }
    fn stdout_add(&mut self, text: &str) -> usize {
        let mut buf = self.p.stdout.lock();
        buf.push_str(text);
        buf.len()
    }
    fn stdout_take(&mut self) -> String {
        let text = std::mem::take(&mut *self.p.stdout.lock());
        // The flush is one real write, to the real terminal or pipe.
        if let Some(out) = &self.p.terminal
            && !text.is_empty()
        {
            out.write(&text);
        }
        text
    }
    fn stdout_is(&mut self, asked: crate::program::Stdout) -> crate::program::Stdout {
        match &self.p.terminal {
            Some(out) => asked.on_real_file(out.isatty),
            None => asked,
        }
    }

    fn join_within(&mut self, pc: Pc, t: ActorId, timeout_us: u32) -> Result<(), Flow> {
        let thread = self.is_my_thread(self.actor, t);
        let ended = move |w: &mut Self| {
            if thread {
                let threads = w.p.threads.lock();
                threads
                    .iter()
                    .find(|(a, _)| *a == t)
                    .is_none_or(|(_, h)| h.is_finished())
            } else {
                w.child(t).is_none() || w.reap(t, false).is_some()
            }
        };
        if !ended(self) {
            let (actor, until) = (self.actor, self.deadline(timeout_us));
            self.rec(actor, EventKind::Block, pc, t as Value);
            self.flush();
            let ended_in_time = self.blocking(actor, pc, |w| {
                while !ended(w) {
                    if std::time::Instant::now() >= until {
                        return false;
                    }
                    std::thread::sleep(LOCK_POLL);
                }
                true
            });
            // Woken by `t`'s end, or by the clock (-1: "wakes up").
            self.woke(actor, pc, if ended_in_time { t as Value } else { -1 });
        }
        if thread && ended(self) {
            // Reaps the finished thread, as `join()` would.
            self.join_thread(pc, t);
        }
        Ok(())
    }

    fn cond_wait(&mut self, ins: Instr, pc: Pc, l: LockId, next: Pc) -> Flow {
        self.p.cond_waiters.lock()[l as usize].push_back(self.actor);
        self.release(ins, pc, l, next)
    }
    fn cond_sleep(&mut self, pc: Pc, l: LockId) -> Result<(), Flow> {
        let me = self.actor;
        let notified = move |w: &Self| !w.p.cond_waiters.lock()[l as usize].contains(&me);
        if !notified(self) {
            self.poll_until(me, pc, l as Value, notified);
        }
        Ok(())
    }
    fn cond_notify(&mut self, l: LockId, all: bool) -> Value {
        let mut g = self.p.cond_waiters.lock();
        let waiters = &mut g[l as usize];
        let n = if all {
            waiters.len()
        } else {
            waiters.len().min(1)
        };
        waiters.drain(..n);
        n as Value
    }

    fn barrier_arrive(&mut self, pc: Pc, l: LockId, parties: u8) -> Result<Option<Value>, Flow> {
        let me = self.actor;
        loop {
            let mut g = self.p.barriers.lock();
            if g[l as usize].may_enter() {
                return Ok(g[l as usize].arrive(parties));
            }
            drop(g);
            self.poll_until(me, pc, l as Value, move |w| {
                w.p.barriers.lock()[l as usize].may_enter()
            });
        }
    }
    fn barrier_sleep(&mut self, pc: Pc, l: LockId, timeout_us: u32) -> Result<bool, Flow> {
        let me = self.actor;
        let released = move |w: &Self| w.p.barriers.lock()[l as usize].released();
        if !released(self) {
            let until = (timeout_us > 0).then(|| self.deadline(timeout_us));
            self.rec(me, EventKind::Block, pc, l as Value);
            self.flush();
            self.blocking(me, pc, |w| {
                while !released(w) {
                    if until.is_some_and(|u| std::time::Instant::now() >= u) {
                        // `_wait` timed out: it breaks the barrier for every party.
                        w.p.barriers.lock()[l as usize].break_();
                        break;
                    }
                    std::thread::sleep(LOCK_POLL);
                }
            });
            self.woke(me, pc, -1);
        }
        Ok(self.p.barriers.lock()[l as usize].leave())
    }
    fn barrier_abort(&mut self, l: LockId) {
        self.p.barriers.lock()[l as usize].break_();
    }
    fn sem_acquire(&mut self, pc: Pc, g: VarId) -> Result<Value, Flow> {
        use std::sync::atomic::Ordering::SeqCst;
        // A multiprocessing.Semaphore's counter is a word of the shared memory
        // every worker maps: one compare-and-swap takes one.
        let take = |w: &Self| {
            w.var_cell(g)
                .fetch_update(SeqCst, SeqCst, |v| (v > 0).then(|| v - 1))
                .is_ok()
        };
        if !take(self) {
            self.poll_until(self.actor, pc, g as Value, take);
        }
        // The counter right after this take (others may have moved it since).
        Ok(self.var_cell(g).load(SeqCst))
    }
    fn sem_release(&mut self, g: VarId, bound: u16) -> Result<Value, Value> {
        use std::sync::atomic::Ordering::SeqCst;
        let v = self.var_cell(g).fetch_update(SeqCst, SeqCst, |v| {
            (bound == 0 || v < bound as Value).then_some(v + 1)
        })?;
        Ok(v + 1)
    }
    fn event_set(&mut self, g: VarId, on: bool) {
        self.var_cell(g).store(on as Value, Ordering::SeqCst);
    }
    fn event_wait(&mut self, pc: Pc, g: VarId, timeout_us: u32) -> Result<bool, Flow> {
        let set = |w: &Self| w.var_cell(g).load(Ordering::SeqCst) != 0;
        if set(self) {
            return Ok(true);
        }
        if timeout_us == 0 {
            self.poll_until(self.actor, pc, g as Value, set);
            return Ok(true);
        }
        let (actor, until) = (self.actor, self.deadline(timeout_us));
        self.rec(actor, EventKind::Block, pc, g as Value);
        self.flush();
        let got = self.blocking(actor, pc, |w| {
            loop {
                if set(w) {
                    break true;
                }
                if std::time::Instant::now() >= until {
                    break false;
                }
                std::thread::sleep(LOCK_POLL);
            }
        });
        self.woke(actor, pc, -1);
        Ok(got)
    }
    // An asyncio program has no processes: it runs on the event loop of
    // src/live/aio.rs, never in a worker. Asked anyway, a worker's thread
    // answers as the calls they stand for would on threads.
    fn aio_sleep(&mut self, ins: Instr, pc: Pc, us: u32, next: Pc) -> Flow {
        self.sleep(ins, pc, us, next)
    }
    fn aio_block(&mut self, ins: Instr, pc: Pc, us: u32, next: Pc) -> Flow {
        std::thread::sleep(Duration::from_secs_f64(us as f64 / 1e6 / self.p.job.speed));
        self.went(ins, pc, us as Value, next, Cost::Instr)
    }
    fn aio_acquire(&mut self, pc: Pc, l: LockId) -> Result<(), Flow> {
        self.acquire(pc, l)
    }
    fn aio_release(&mut self, ins: Instr, pc: Pc, l: LockId, next: Pc) -> Flow {
        self.release(ins, pc, l, next)
    }
}

impl Worker {
    /// Where variable `g` lives: the shared memory for a `multiprocessing`
    /// object, else this process's own memory.
    fn var_cell(&self, g: VarId) -> &AtomicI64 {
        match self.program().vars[g as usize].shared {
            true => self.p.mem.slot(g as usize),
            false => &self.p.vars[g as usize],
        }
    }
}

/// In a forked child: die with the forking parent, and exit at once if it is gone.
fn die_with_parent_pid(parent: i32) {
    // SAFETY: prctl with an integer argument.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    // SAFETY: getppid cannot fail.
    if unsafe { libc::getppid() } != parent {
        std::process::exit(137);
    }
}
