//! Where every process of a traced program meets the controller: the root's pipes,
//! and a Unix socket each child process connects to: at the fork (`os.fork`,
//! multiprocessing with fork), or when a new interpreter starts (multiprocessing
//! with spawn or forkserver, a Python program run by subprocess). The tracer numbers threads per process; the hub gives
//! every thread of every process one actor number, in the order the run shows them
//! (a child's first thread when its parent forks it), so that the controller, the
//! recorder and the reports see one program of actors, and a controlled run's
//! numbering does not depend on the order the children happen to connect in.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Instant;

/// What waiting for the tracer's next event gave.
pub(super) enum Next {
    Line(String),
    Timeout,
    /// Every process has closed its connection: the program is over.
    Closed,
}

/// How much one read of a connection takes at most.
const READ_CHUNK: usize = 65536;

/// One process's stream of lines.
struct Conn {
    fd: OwnedFd,
    buf: Vec<u8>,
    /// Where a read lands, zeroed once: a fresh 64 KiB array a read was half the
    /// controller's instructions per step (callgrind, RESULTS 16.5).
    chunk: Box<[u8]>,
    /// Where the unread part of `buf` starts.
    pos: usize,
    closed: bool,
    /// The process it speaks for, once its `hello` has named it.
    proc: Option<usize>,
}

impl Conn {
    fn new(fd: OwnedFd, proc: Option<usize>) -> Conn {
        Conn {
            fd,
            buf: Vec::new(),
            chunk: vec![0u8; READ_CHUNK].into_boxed_slice(),
            pos: 0,
            closed: false,
            proc,
        }
    }

    /// The next whole line already read, if any.
    fn line(&mut self) -> Option<String> {
        let n = self.buf[self.pos..].iter().position(|&b| b == b'\n')?;
        let line = String::from_utf8_lossy(&self.buf[self.pos..self.pos + n]).into_owned();
        self.pos += n + 1;
        Some(line)
    }

    /// The line `line()` would give next, left in place.
    fn peek(&self) -> Option<String> {
        let n = self.buf[self.pos..].iter().position(|&b| b == b'\n')?;
        Some(String::from_utf8_lossy(&self.buf[self.pos..self.pos + n]).into_owned())
    }

    fn fill(&mut self) {
        self.buf.drain(..self.pos);
        self.pos = 0;
        match nix::unistd::read(&self.fd, &mut self.chunk) {
            Ok(0) => self.closed = true,
            Ok(n) => self.buf.extend_from_slice(&self.chunk[..n]),
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
            Err(_) => self.closed = true,
        }
    }
}

/// One process of the program.
struct Proc {
    /// "0" the root, "0.1" its first child, "0.1.2" that child's second.
    key: String,
    /// A spawned child names itself `pPID` (it cannot know the key its parent gave
    /// it): the parent's `pid KEY PID` line sets this, and the child's forks are
    /// `pPID.1`, ...
    alias: Option<String>,
    pid: u32,
    /// Its threads: the tracer's index in this process → actor.
    locals: HashMap<i64, u16>,
    /// Its first actor: the thread that goes on from the fork (MainThread in the root).
    first: Option<u16>,
    /// Where its commands go: the root's command pipe is the hub's `root_cmd`.
    cmd: Option<UnixStream>,
    connected: bool,
    closed: bool,
    /// `end` was sent: its threads wait for no one any more.
    ended: bool,
    /// The newest time it gave.
    ns: String,
    /// A program subprocess runs, not Python we trace: no connection; it is over
    /// once its parent has reaped it (`cdone`).
    untraced: bool,
}

impl Proc {
    fn new(key: String) -> Proc {
        Proc {
            key,
            alias: None,
            pid: 0,
            locals: HashMap::new(),
            first: None,
            cmd: None,
            connected: false,
            closed: false,
            ended: false,
            ns: "0".into(),
            untraced: false,
        }
    }
}

/// Every process's connection, and the actors of all of them.
pub(super) struct Hub {
    root: Conn,
    root_cmd: std::fs::File,
    listener: Option<UnixListener>,
    conns: Vec<Conn>,
    procs: Vec<Proc>,
    /// Actor → its process and the tracer's index of it there.
    actors: Vec<(usize, i64)>,
    names: Vec<String>,
    done: Vec<bool>,
    /// Lines rewritten for the controller, not yet given.
    out: VecDeque<String>,
    /// Whether a wait first looks without sleeping (controlled runs).
    pub(super) spin: Spin,
}

/// A controlled run's waits look for the traced thread's answer without sleeping
/// for a few tens of microseconds first: the thread answers within microseconds, and
/// waking from a sleeping poll costs more than that on a virtual machine
/// (`benches/cpython.rs`). Spinning pays only while a core is free for the thread we
/// wait for: it is not done while more threads are runnable than there are cores
/// (`/proc/loadavg`, looked at every 32 waits), nor for 64 waits after 3 spins in a
/// row found nothing, nor after the turn was handed to another thread. The tracer
/// does the same on its side (`_spin`).
#[derive(Debug, Clone)]
pub(super) struct Spin {
    /// The longest one spin lasts; zero never spins.
    budget: std::time::Duration,
    /// Spins in a row that found nothing.
    misses: u32,
    /// Waits left that sleep at once.
    rest: u32,
    /// Waits left before the load is looked at again.
    look: u32,
    cores: usize,
    /// The actor the last `go` let run, and whether it was another than the one
    /// before: a thread handed the turn wakes from its gate first, which takes
    /// longer than a spin, so a wait after a hand-over sleeps at once.
    last: Option<u16>,
    handed_over: bool,
}

impl Spin {
    /// Spins in a row that may find nothing before the waits rest.
    const MISSES: u32 = 3;
    /// How many waits sleep at once after that.
    const REST: u32 = 64;
    /// How often the load is looked at, and how long a busy machine rests.
    const LOOK: u32 = 32;

    pub(super) fn new(budget: std::time::Duration) -> Spin {
        Spin {
            budget,
            misses: 0,
            rest: 0,
            look: 0,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            last: None,
            handed_over: false,
        }
    }

    /// Actor `a` was let go.
    fn went(&mut self, a: u16) {
        self.handed_over = self.last != Some(a);
        self.last = Some(a);
    }

    /// How long this wait may spin.
    fn allowance(&mut self) -> std::time::Duration {
        if self.budget.is_zero() || self.handed_over {
            return std::time::Duration::ZERO;
        }
        if self.look == 0 {
            self.look = Spin::LOOK;
            if !cores_free(self.cores) {
                self.rest = Spin::LOOK;
            }
        }
        self.look -= 1;
        if self.rest > 0 {
            self.rest -= 1;
            return std::time::Duration::ZERO;
        }
        self.budget
    }

    /// What the spin found: whether the answer came while it spun.
    fn found(&mut self, found: bool) {
        if found {
            self.misses = 0;
        } else {
            self.misses += 1;
            if self.misses >= Spin::MISSES {
                self.misses = 0;
                self.rest = Spin::REST;
            }
        }
    }
}

/// Whether no more threads are runnable on the machine than `cores` (the fourth
/// field of `/proc/loadavg`, "running/total"); not known is not free.
fn cores_free(cores: usize) -> bool {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| {
            let field = s.split_whitespace().nth(3)?;
            field.split('/').next()?.parse::<usize>().ok()
        })
        .is_some_and(|running| running <= cores)
}

/// How often a run looks whether a child that has not connected yet has ended.
const UNCONNECTED_LOOK: std::time::Duration = std::time::Duration::from_millis(20);

/// Whether the process `pid` has ended: gone, or a zombie its parent has not reaped.
fn has_ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command's name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| matches!(rest.trim_start().chars().next(), Some('Z' | 'X'))),
        Err(_) => true,
    }
}

/// The socket children connect to, at `path` (in the run's own temporary folder).
pub(super) fn listen(path: &Path) -> Result<UnixListener, String> {
    let l = UnixListener::bind(path).map_err(|e| format!("a socket for child processes: {e}"))?;
    l.set_nonblocking(true)
        .map_err(|e| format!("a socket for child processes: {e}"))?;
    Ok(l)
}

impl Hub {
    /// `listener`: where children connect (None: a run that cannot have any).
    pub(super) fn new(
        events: OwnedFd,
        commands: std::fs::File,
        listener: Option<UnixListener>,
    ) -> Hub {
        let mut root = Proc::new("0".into());
        root.connected = true;
        Hub {
            root: Conn::new(events, Some(0)),
            root_cmd: commands,
            listener,
            conns: Vec::new(),
            procs: vec![root],
            actors: Vec::new(),
            names: Vec::new(),
            done: Vec::new(),
            out: VecDeque::new(),
            spin: Spin::new(std::time::Duration::ZERO),
        }
    }

    /// The PIDs of the child processes still connected, to kill when the run is dropped:
    /// a process whose connection is open has not exited, so its PID is still its own.
    pub(super) fn live_children(&self) -> Vec<u32> {
        self.procs
            .iter()
            .skip(1)
            .filter(|p| {
                // A child that has not connected yet but whose PID its parent gave
                // (spawned, or a Python program run by subprocess) is ours too.
                let running = if p.untraced {
                    p.first.is_some_and(|a| !self.done[a as usize])
                } else {
                    !p.closed
                };
                running && p.pid > 0
            })
            .map(|p| p.pid)
            .collect()
    }

    /// Kills every child process still connected (SIGKILL).
    pub(super) fn kill_children(&self) {
        for pid in self.live_children() {
            if let Ok(pid) = i32::try_from(pid) {
                // SAFETY: kill(2) with a PID this run's own process tree gave us.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }

    /// Lets actor `a` take its next step.
    pub(super) fn go(&mut self, a: u16) -> std::io::Result<()> {
        let Some(&(p, local)) = self.actors.get(a as usize) else {
            return Err(std::io::Error::other(format!("there is no actor {a}")));
        };
        let line = format!("go {local}\n");
        self.spin.went(a);
        self.write(p, &line)
    }

    fn write(&mut self, p: usize, line: &str) -> std::io::Result<()> {
        if p == 0 {
            self.root_cmd.write_all(line.as_bytes())?;
            self.root_cmd.flush()
        } else {
            match &mut self.procs[p].cmd {
                // A process another ended (`terminate()`) may be gone before its
                // end reaches us: its connection's end says its threads are done.
                Some(s) => match s.write_all(line.as_bytes()) {
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                        ) =>
                    {
                        Ok(())
                    }
                    r => r,
                },
                None => Err(std::io::Error::other("the process has not connected")),
            }
        }
    }

    /// Every thread of every process is done or can never go: nobody waits any more.
    pub(super) fn end_all(&mut self) {
        for p in 0..self.procs.len() {
            self.end(p);
        }
    }

    fn end(&mut self, p: usize) {
        let pr = &self.procs[p];
        if pr.ended || pr.closed || !pr.connected {
            return;
        }
        self.procs[p].ended = true;
        // A process that has gone meanwhile needs no `end`.
        let _ = self.write(p, "end\n");
    }

    /// The next line, rewritten to actor numbers, waiting at most until `deadline`.
    pub(super) fn next_line(&mut self, deadline: Instant) -> Next {
        loop {
            if let Some(l) = self.out.pop_front() {
                return Next::Line(l);
            }
            if self.take_buffered() {
                continue;
            }
            if self.all_closed() {
                return Next::Closed;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Next::Timeout;
            }
            if self.unconnected().next().is_some() {
                // A child that ends before it connects (killed at once, or an
                // interpreter that never ran sitecustomize.py) says nothing: look.
                self.wait(left.min(UNCONNECTED_LOOK));
                self.close_dead_unconnected();
            } else {
                self.wait(left);
            }
        }
    }

    /// The children whose parent gave their PID and which have not connected.
    fn unconnected(&self) -> impl Iterator<Item = usize> + '_ {
        self.procs
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.untraced && !p.connected && !p.closed && p.pid > 0)
            .map(|(q, _)| q)
    }

    /// Closes each child that has ended (a zombie, or reaped) without connecting.
    /// One that connected and wrote before it ended is in the listener's queue and
    /// the socket's buffer: those are taken first, so it is not missed.
    fn close_dead_unconnected(&mut self) {
        let dead: Vec<usize> = self
            .unconnected()
            .filter(|&q| has_ended(self.procs[q].pid))
            .collect();
        if dead.is_empty() {
            return;
        }
        self.accept();
        self.fill_unbound_now();
        for i in 0..self.conns.len() {
            if self.conns[i].proc.is_none() {
                self.bind(i);
            }
        }
        for q in dead {
            if !self.procs[q].connected {
                // It gave no time of its own: it ends at the root's latest.
                self.procs[q].ns = self.procs[0].ns.clone();
                self.close(q);
            }
        }
    }

    /// Reads what the connections not bound yet already have, without waiting.
    fn fill_unbound_now(&mut self) {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let which: Vec<usize> = (0..self.conns.len())
            .filter(|&i| self.conns[i].proc.is_none() && !self.conns[i].closed)
            .collect();
        let ready: Vec<bool> = {
            let mut polls: Vec<PollFd> = which
                .iter()
                .map(|&i| PollFd::new(self.conns[i].fd.as_fd(), PollFlags::POLLIN))
                .collect();
            match poll(&mut polls, PollTimeout::ZERO) {
                Ok(n) if n > 0 => polls
                    .iter()
                    .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
                    .collect(),
                _ => return,
            }
        };
        for (k, &i) in which.iter().enumerate() {
            if ready[k] {
                self.conns[i].fill();
            }
        }
    }

    fn all_closed(&self) -> bool {
        self.root.closed
            && self.conns.iter().all(|c| c.closed)
            && self.procs.iter().all(|p| p.connected || p.closed)
    }

    /// Takes the lines already read; true if it took any.
    fn take_buffered(&mut self) -> bool {
        let mut took = false;
        while let Some(l) = self.root.line() {
            self.take(0, &l);
            took = true;
        }
        if self.root.closed && !self.procs[0].closed {
            self.close(0);
            took = true;
        }
        for i in 0..self.conns.len() {
            if self.conns[i].proc.is_none() && !self.bind(i) {
                continue;
            }
            while let Some(l) = self.conns[i].line() {
                if let Some(p) = self.conns[i].proc {
                    self.take(p, &l);
                    took = true;
                }
            }
            if self.conns[i].closed
                && let Some(p) = self.conns[i].proc
                && !self.procs[p].closed
            {
                self.close(p);
                took = true;
            }
        }
        took
    }

    /// A new connection names its process by its first line, `hello VERSION PID KEY`:
    /// true once it is bound (its parent's `fork` line may not have come yet).
    fn bind(&mut self, i: usize) -> bool {
        let Some(hello) = self.conns[i].peek() else {
            if self.conns[i].closed {
                // Closed before it said who it is: nothing to follow.
                return false;
            }
            return false;
        };
        let f: Vec<&str> = hello.split('\t').collect();
        let key = if f.first() == Some(&"hello") {
            f.get(3).copied()
        } else {
            None
        };
        let Some(p) = key.and_then(|k| self.find(k)) else {
            if key.is_none() {
                // Not one of ours: drop it.
                self.conns[i].closed = true;
            }
            return false;
        };
        let _ = self.conns[i].line();
        let pid: u32 = f.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
        let cmd = self.conns[i].fd.try_clone().ok().map(UnixStream::from);
        let pr = &mut self.procs[p];
        pr.pid = pid;
        pr.cmd = cmd;
        pr.connected = true;
        self.conns[i].proc = Some(p);
        if let Some(a) = pr.first {
            let label = self.label(a);
            self.out.push_back(format!("thread\t{a}\t{label}\t0"));
            self.out.push_back(format!("process\t{a}\t{p}\t{pid}\t0"));
        }
        true
    }

    /// The process a key names: its own, or the `pPID` a spawned child goes by.
    fn find(&self, key: &str) -> Option<usize> {
        self.procs
            .iter()
            .position(|p| p.key == key || p.alias.as_deref() == Some(key))
    }

    /// An actor's name as reports show it: with its process's PID once there are two.
    fn label(&self, a: u16) -> String {
        let (p, _) = self.actors[a as usize];
        let name = &self.names[a as usize];
        let pid = self.procs[p].pid;
        if self.procs.len() > 1 && pid > 0 {
            format!("{name} (pid {pid})")
        } else {
            name.clone()
        }
    }

    fn actor(&mut self, p: usize, local: i64) -> u16 {
        if local < 0
            && let Some(a) = self.procs[p].first
        {
            return a;
        }
        if let Some(&a) = self.procs[p].locals.get(&local) {
            return a;
        }
        let a = self.actors.len() as u16;
        self.actors.push((p, local));
        self.names.push(if local == 0 && p == 0 {
            "MainThread".into()
        } else {
            format!("Thread-{local}")
        });
        self.done.push(false);
        self.procs[p].locals.insert(local, a);
        if self.procs[p].first.is_none() {
            self.procs[p].first = Some(a);
        }
        a
    }

    fn all_done(&self, p: usize) -> bool {
        self.procs[p]
            .locals
            .values()
            .all(|&b| self.done[b as usize])
    }

    /// A child process of the program has not ended (or has not connected yet).
    fn children_running(&self) -> bool {
        self.procs.iter().skip(1).any(|q| !q.untraced && !q.closed)
    }

    /// The process is over: its threads that did not say so are done.
    fn close(&mut self, p: usize) {
        if p != 0 && self.all_done(0) {
            // The root waited for its children: the last one is gone.
            self.procs[p].closed = true;
            if !self.children_running() {
                self.end(0);
            }
        }
        self.procs[p].closed = true;
        let ns = self.procs[p].ns.clone();
        let mut mine: Vec<u16> = self.procs[p].locals.values().copied().collect();
        mine.sort_unstable();
        for a in mine {
            if !self.done[a as usize] {
                self.done[a as usize] = true;
                self.out.push_back(format!("done\t{a}\t{ns}"));
            }
        }
    }

    /// One line of process `p`, rewritten to actor numbers.
    fn take(&mut self, p: usize, line: &str) {
        let mut f: Vec<String> = line.split('\t').map(str::to_string).collect();
        if let Some(ns) = f.last() {
            self.procs[p].ns = ns.clone();
        }
        let num = |f: &[String], i: usize| f.get(i).and_then(|s| s.parse::<i64>().ok());
        // A thread's lock is its process's own: `L1` in a child is another lock than
        // the root's `L1`. A multiprocessing lock (`M…`) is one semaphore that every
        // process shares, named the same in each.
        let lock = |f: &mut Vec<String>, i: usize| {
            if p > 0
                && let Some(l) = f.get_mut(i)
                && !l.starts_with('M')
            {
                *l = format!("{l}@{p}");
            }
        };
        match f[0].as_str() {
            "hello" if p == 0 => {
                self.procs[0].pid = f.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
            }
            // A child's `hello` was taken when it was bound; its globals and exit
            // code are not the program's.
            "hello" | "final" | "exit" if p > 0 => return,
            "fork" => return self.fork(p, &f),
            "child" => return self.untraced(p, &f),
            "cout" | "cdone" => {
                let key = f.get(1).cloned().unwrap_or_default();
                // A followed Python child's prints and end come on its own connection.
                let Some(a) = self
                    .find(&key)
                    .filter(|&q| self.procs[q].untraced || f[0] == "cout")
                    .and_then(|q| self.procs[q].first)
                else {
                    return;
                };
                if f[0] == "cout" {
                    let text = f.get(2).cloned().unwrap_or_default();
                    let ns = self.procs[p].ns.clone();
                    self.out.push_back(format!("out\t{a}\t{text}\t{ns}"));
                } else if !self.done[a as usize] {
                    self.done[a as usize] = true;
                    let ns = self.procs[p].ns.clone();
                    self.out.push_back(format!("done\t{a}\t{ns}"));
                }
                return;
            }
            // `pid KEY PID`: child KEY, a spawned one, got this PID; it will say
            // `hello ... pPID` when it connects.
            "pid" => {
                if let (Some(q), Some(pid)) = (f.get(1).and_then(|k| self.find(k)), f.get(2)) {
                    self.procs[q].alias = Some(format!("p{pid}"));
                    self.procs[q].pid = pid.parse().unwrap_or(0);
                }
                return;
            }
            "thread" => {
                let Some(t) = num(&f, 1) else { return };
                let a = self.actor(p, t);
                self.names[a as usize] = f.get(2).cloned().unwrap_or_default();
                f[1] = a.to_string();
                f[2] = self.label(a);
            }
            "new" => {
                let (Some(t), Some(by)) = (num(&f, 1), num(&f, 2)) else {
                    return;
                };
                f[1] = self.actor(p, t).to_string();
                f[2] = self.actor(p, by).to_string();
            }
            "blocked" => {
                let Some(t) = num(&f, 1) else { return };
                f[1] = self.actor(p, t).to_string();
                match f.get(2).map(String::as_str) {
                    Some("lock") => lock(&mut f, 3),
                    Some("join") => {
                        let u = num(&f, 3).unwrap_or(0);
                        f[3] = self.actor(p, u).to_string();
                    }
                    Some("pjoin") => {
                        let key = f.get(3).cloned().unwrap_or_default();
                        let target = self.find(&key).and_then(|q| self.procs[q].first);
                        f[2] = "join".into();
                        f[3] = target.map_or("?".into(), |a| a.to_string());
                    }
                    _ => {}
                }
            }
            "acquired" | "released" => {
                let Some(t) = num(&f, 1) else { return };
                f[1] = self.actor(p, t).to_string();
                lock(&mut f, 2);
            }
            "done" => {
                let Some(t) = num(&f, 1) else { return };
                let a = self.actor(p, t);
                self.done[a as usize] = true;
                f[1] = a.to_string();
                self.out.push_back(f.join("\t"));
                // Its last thread waits for a command before it leaves: it need not,
                // unless it is the root and a child process still runs. The root then
                // stays until the run ends, as the playground's parent process does,
                // so what a child sees of its parent (os.getppid()) does not depend
                // on when the root's interpreter happens to exit.
                if self.all_done(p) && (p != 0 || !self.children_running()) {
                    self.end(p);
                }
                return;
            }
            "at" | "read" | "wrote" | "out" | "unblocked" | "queue" | "take" => {
                let Some(t) = num(&f, 1) else { return };
                f[1] = self.actor(p, t).to_string();
            }
            _ => {}
        }
        self.out.push_back(f.join("\t"));
    }

    /// `fork T KEY CT`: process `p`'s thread T makes child KEY, whose thread CT goes
    /// on from the fork: that thread is the child's first actor, numbered now.
    fn fork(&mut self, p: usize, f: &[String]) {
        let (Some(t), Some(key), Some(ct)) = (
            f.get(1).and_then(|s| s.parse::<i64>().ok()),
            f.get(2),
            f.get(3).and_then(|s| s.parse::<i64>().ok()),
        ) else {
            return;
        };
        let ns = f.last().cloned().unwrap_or_default();
        let by = self.actor(p, t);
        let first_fork = self.procs.len() == 1;
        self.procs.push(Proc::new(key.clone()));
        let q = self.procs.len() - 1;
        let a = self.actor(q, ct);
        self.names[a as usize] = self.names[by as usize].clone();
        if first_fork {
            // Two processes now: every actor so far is shown with its PID.
            for b in 0..self.actors.len() as u16 {
                if b != a {
                    let label = self.label(b);
                    self.out.push_back(format!("thread\t{b}\t{label}\t{ns}"));
                }
            }
        }
        self.out.push_back(format!("new\t{a}\t{by}\t{ns}"));
    }

    /// `child T KEY PID NAME`: process `p`'s thread T started a program it does
    /// not trace: a process of its own, with one actor, running until reaped.
    fn untraced(&mut self, p: usize, f: &[String]) {
        let (Some(t), Some(key), Some(pid)) = (
            f.get(1).and_then(|s| s.parse::<i64>().ok()),
            f.get(2),
            f.get(3).and_then(|s| s.parse::<u32>().ok()),
        ) else {
            return;
        };
        let name = f.get(4).cloned().unwrap_or_default();
        let ns = f.last().cloned().unwrap_or_default();
        let by = self.actor(p, t);
        let first_fork = self.procs.len() == 1;
        let mut q = Proc::new(key.clone());
        q.pid = pid;
        q.connected = true;
        q.closed = true;
        q.untraced = true;
        self.procs.push(q);
        let q = self.procs.len() - 1;
        let a = self.actor(q, 0);
        self.names[a as usize] = name.clone();
        if first_fork {
            for b in 0..self.actors.len() as u16 {
                if b != a {
                    let label = self.label(b);
                    self.out.push_back(format!("thread\t{b}\t{label}\t{ns}"));
                }
            }
        }
        let label = self.label(a);
        self.out.push_back(format!("new\t{a}\t{by}\t{ns}"));
        self.out.push_back(format!("thread\t{a}\t{label}\t{ns}"));
        self.out
            .push_back(format!("process\t{a}\t{q}\t{pid}\t{ns}"));
        self.out
            .push_back(format!("blocked\t{a}\tio\truns {name}\t{ns}"));
    }

    /// Waits until a connection has something to read, or a child connects; a
    /// controlled run may look without sleeping first (`Spin`).
    fn wait(&mut self, left: std::time::Duration) {
        use nix::poll::PollTimeout;
        let spin = self.spin.allowance().min(left);
        if !spin.is_zero() {
            let until = Instant::now() + spin;
            loop {
                if self.poll_once(PollTimeout::ZERO) {
                    self.spin.found(true);
                    return;
                }
                if Instant::now() >= until {
                    break;
                }
                std::hint::spin_loop();
            }
            self.spin.found(false);
        }
        let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
        self.poll_once(PollTimeout::from(ms));
    }

    /// One poll of every connection and the listener, reading what is ready:
    /// whether anything was.
    fn poll_once(&mut self, timeout: nix::poll::PollTimeout) -> bool {
        use nix::poll::{PollFd, PollFlags, poll};
        // Which poll entry is which: the root, the listener, then the open children.
        let mut which: Vec<Option<usize>> = Vec::new();
        let mut fds: Vec<BorrowedFd> = Vec::new();
        if !self.root.closed {
            fds.push(self.root.fd.as_fd());
            which.push(None);
        }
        let listen_at = fds.len();
        if let Some(l) = &self.listener {
            fds.push(l.as_fd());
            which.push(None);
        }
        for (i, c) in self.conns.iter().enumerate() {
            if !c.closed {
                fds.push(c.fd.as_fd());
                which.push(Some(i));
            }
        }
        let mut polls: Vec<PollFd> = fds
            .iter()
            .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
            .collect();
        let ready: Vec<bool> = match poll(&mut polls, timeout) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => return false,
            Ok(_) => polls
                .iter()
                .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
                .collect(),
            Err(_) => {
                self.root.closed = true;
                return true;
            }
        };
        drop(polls);
        drop(fds);
        let root_open = !self.root.closed;
        if root_open && ready[0] {
            self.root.fill();
        }
        if self.listener.is_some() && ready[listen_at] {
            self.accept();
        }
        for (k, w) in which.iter().enumerate() {
            if let Some(i) = w
                && ready[k]
            {
                self.conns[*i].fill();
            }
        }
        true
    }

    fn accept(&mut self) {
        let Some(l) = &self.listener else { return };
        while let Ok((s, _)) = l.accept() {
            if s.set_nonblocking(false).is_ok() {
                self.conns.push(Conn::new(OwnedFd::from(s), None));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> Hub {
        let (ev_r, _ev_w) = nix::unistd::pipe().expect("a pipe");
        let (_cmd_r, cmd_w) = nix::unistd::pipe().expect("a pipe");
        Hub::new(ev_r, std::fs::File::from(cmd_w), None)
    }

    fn child(h: &mut Hub, text: &str) {
        let (a, _b) = UnixStream::pair().expect("a socket pair");
        let mut c = Conn::new(OwnedFd::from(a), None);
        c.buf.extend_from_slice(text.as_bytes());
        h.conns.push(c);
    }

    fn drain(h: &mut Hub) -> Vec<String> {
        h.take_buffered();
        h.out.drain(..).collect()
    }

    #[test]
    fn children_are_numbered_by_their_fork_not_by_when_they_connect() {
        let mut h = hub();
        for l in [
            "hello\t3.12.1\t100\t0",
            "thread\t0\tMainThread\t1",
            "fork\t0\t0.1\t0\t2",
            "fork\t0\t0.2\t0\t3",
        ] {
            h.take(0, l);
        }
        let _ = drain(&mut h);
        // The second child connects first.
        child(&mut h, "hello\t3.12.1\t202\t0.2\nacquired\t0\tL1\t5\n");
        child(&mut h, "hello\t3.12.1\t201\t0.1\nat\t0\t7\t\t\t6\n");
        let lines = drain(&mut h);
        assert!(lines.contains(&"thread\t2\tMainThread (pid 202)\t0".to_string()));
        assert!(lines.contains(&"thread\t1\tMainThread (pid 201)\t0".to_string()));
        // Each child's own thread 0 is its actor; its locks are its own.
        assert!(
            lines.contains(&"acquired\t2\tL1@2\t5".to_string()),
            "{lines:?}"
        );
        assert!(lines.contains(&"at\t1\t7\t\t\t6".to_string()), "{lines:?}");
        assert_eq!(h.live_children(), [201, 202]);
    }

    #[test]
    fn a_spawned_child_that_connects_first_waits_for_its_parents_word() {
        let mut h = hub();
        h.take(0, "hello\t3.12.1\t100\t0");
        h.take(0, "thread\t0\tMainThread\t1");
        let _ = drain(&mut h);
        // The child says hello by its PID before its parent has said anything.
        child(&mut h, "hello\t3.12.1\t300\tp300\nat\t0\t1\t\t\t2\n");
        assert!(drain(&mut h).is_empty(), "not bound yet");
        h.take(0, "fork\t0\t0.1\t0\t3");
        h.take(0, "pid\t0.1\t300\t3");
        h.take(0, "blocked\t0\tpjoin\t0.1\t4");
        let lines = drain(&mut h);
        assert!(lines.contains(&"new\t1\t0\t3".to_string()), "{lines:?}");
        assert!(
            lines.contains(&"process\t1\t1\t300\t0".to_string()),
            "{lines:?}"
        );
        assert!(lines.contains(&"at\t1\t1\t\t\t2".to_string()), "{lines:?}");
        assert!(
            lines.contains(&"blocked\t0\tjoin\t1\t4".to_string()),
            "{lines:?}"
        );
        // The root stays while its child runs: its last thread is not sent `end`.
        h.take(0, "done\t0\t5");
        assert!(!h.procs[0].ended);
        h.conns[0].closed = true;
        let _ = drain(&mut h);
        assert!(h.procs[0].ended, "the last child is gone: the root may end");
    }

    #[test]
    fn a_program_subprocess_runs_is_a_process_that_prints_and_is_reaped() {
        let mut h = hub();
        h.take(0, "hello\t3.12.1\t100\t0");
        h.take(0, "thread\t0\tMainThread\t1");
        h.out.clear();
        h.take(0, "child\t0\t0.1\t4321\techo\t2");
        h.take(0, "cout\t0.1\thello, world\\n\t3");
        h.take(0, "cdone\t0.1\t0\t4");
        let lines: Vec<String> = h.out.drain(..).collect();
        assert_eq!(
            lines,
            [
                "thread\t0\tMainThread (pid 100)\t2",
                "new\t1\t0\t2",
                "thread\t1\techo (pid 4321)\t2",
                "process\t1\t1\t4321\t2",
                "blocked\t1\tio\truns echo\t2",
                "out\t1\thello, world\\n\t3",
                "done\t1\t4",
            ]
        );
        assert!(h.live_children().is_empty(), "reaped: not ours to kill");
    }

    #[test]
    fn a_process_that_closes_ends_its_threads_and_a_join_names_it() {
        let mut h = hub();
        h.take(0, "hello\t3.12.1\t100\t0");
        h.take(0, "thread\t0\tMainThread\t1");
        h.take(0, "fork\t0\t0.1\t0\t2");
        h.take(0, "blocked\t0\tpjoin\t0.1\t3");
        child(&mut h, "hello\t3.12.1\t201\t0.1\nnew\t1\t0\t4\n");
        h.conns[0].closed = true;
        let lines = drain(&mut h);
        assert!(
            lines.contains(&"blocked\t0\tjoin\t1\t3".to_string()),
            "{lines:?}"
        );
        // The child's thread 1 is actor 2; both its actors end when it closes.
        assert!(lines.contains(&"new\t2\t1\t4".to_string()), "{lines:?}");
        assert!(lines.contains(&"done\t1\t4".to_string()), "{lines:?}");
        assert!(lines.contains(&"done\t2\t4".to_string()), "{lines:?}");
        assert!(h.live_children().is_empty());
    }

    #[test]
    fn a_child_that_ended_before_it_connected_is_closed() {
        let mut h = hub();
        h.take(0, "hello\t3.12.1\t100\t0");
        h.take(0, "thread\t0\tMainThread\t1");
        // A real process that has ended and been reaped: its PID is free.
        let mut gone = std::process::Command::new("true")
            .spawn()
            .expect("true runs");
        let pid = gone.id();
        gone.wait().expect("reaped");
        h.take(0, "fork\t0\t0.1\t0\t2");
        h.take(0, &format!("pid\t0.1\t{pid}\t3"));
        h.take(0, "blocked\t0\tpjoin\t0.1\t4");
        let _ = drain(&mut h);
        assert_eq!(h.unconnected().collect::<Vec<_>>(), [1]);
        assert_eq!(
            h.live_children(),
            [pid],
            "ours to kill until it is known to be gone"
        );
        h.close_dead_unconnected();
        let lines = drain(&mut h);
        assert!(lines.contains(&"done\t1\t4".to_string()), "{lines:?}");
        assert!(h.unconnected().next().is_none());
        assert!(h.live_children().is_empty());
    }
}
