//! Simulated processes: each has its own copy of memory, a made-up PID, a parent and
//! an exit code, and a signal takes effect when the target next runs.

use super::{RunState, Sim};
use crate::program::{
    ActorId, ActorKind, ConnId, Instr, NONE, Program, QueueId, StrId, Value, VarId,
};
use crate::trace::EventKind;

/// Simulated PIDs are this plus the process number, so a student can tell them
/// from real ones (the screen also says "simulated").
pub const SIM_PID_BASE: Value = 1000;
/// What a simulated main process reports as its parent (a shell).
const SIM_SHELL_PID: Value = 999;

/// The PID the simulator gives a process.
pub fn sim_pid(process: u16) -> Value {
    SIM_PID_BASE + process as Value
}

#[derive(Clone, Debug)]
pub(super) struct ProcRt {
    /// The process's own copy of every variable (unused for process 0, which
    /// uses the simulator's `vars`; shared variables always live there).
    vars: Vec<Value>,
    ppid: Value,
    exitcode: Option<i32>,
    pub(super) kill_pending: bool,
    /// What the last `communicate()` captured (simulated).
    pub(super) captured: String,
    /// What waits in the process's `sys.stdout` buffer (the buffering lesson).
    pub(super) stdout: String,
}

impl ProcRt {
    pub(super) fn all(program: &Program, nproc: usize) -> Vec<ProcRt> {
        (0..nproc)
            .map(|_| ProcRt {
                vars: program.vars.iter().map(|v| v.init).collect(),
                ppid: SIM_SHELL_PID,
                exitcode: None,
                kill_pending: false,
                captured: String::new(),
                stdout: String::new(),
            })
            .collect()
    }
}

/// One end of a simulated `Pipe()`.
#[derive(Clone, Debug)]
pub(super) struct ConnRt {
    /// Values sent from the other end, waiting for a `recv()` here.
    inbox: std::collections::VecDeque<Value>,
    /// Per process: whether it holds a copy of this end open.
    open: Vec<bool>,
}

impl ConnRt {
    pub(super) fn all(program: &Program, nproc: usize) -> Vec<ConnRt> {
        // The main process makes every pipe, so it alone holds both ends at first.
        (0..2 * program.pipes.len())
            .map(|_| ConnRt {
                inbox: Default::default(),
                open: (0..nproc).map(|p| p == 0).collect(),
            })
            .collect()
    }
}

impl Sim {
    /// Where actor `a` reads and writes variable `g`.
    pub(super) fn var_mut(&mut self, a: ActorId, g: VarId) -> &mut Value {
        let p = self.process[a as usize] as usize;
        if p == 0 || self.program.vars[g as usize].shared {
            &mut self.vars[g as usize]
        } else {
            &mut self.procs[p].vars[g as usize]
        }
    }

    /// Process `p`'s copy of variable `g` (the one copy of a shared variable).
    pub fn var_in(&self, p: u16, g: VarId) -> Value {
        let p = p as usize;
        if p == 0 || self.program.vars[g as usize].shared {
            self.vars[g as usize]
        } else {
            self.procs[p].vars[g as usize]
        }
    }

    /// `a` starts the process whose first actor is `t`: the child gets a copy of
    /// the parent's memory (as with the fork start method, Linux's default before
    /// Python 3.14).
    pub(super) fn start_process(&mut self, a: ActorId, t: ActorId) {
        let n = self.program.vars.len();
        let copy: Vec<Value> = (0..n as VarId).map(|g| *self.var_mut(a, g)).collect();
        let child = self.process[t as usize] as usize;
        let parent = self.process[a as usize];
        // A forked child's memory holds its parent's stdout buffer too (empty
        // after `Process.start()`, which flushes first).
        let buffered = self.procs[parent as usize].stdout.clone();
        let rt = &mut self.procs[child];
        rt.vars = copy;
        rt.ppid = sim_pid(parent);
        rt.stdout = buffered;
        // The child inherits every pipe end its parent holds open.
        for c in &mut self.conns {
            c.open[child] = c.open[parent as usize];
        }
    }

    /// `conn.send(v)`; false when nobody holds the other end (BrokenPipeError).
    pub(super) fn pipe_send(&mut self, a: ActorId, c: ConnId, v: Value) -> bool {
        let other = (c ^ 1) as usize;
        if !self.conns[other].open.iter().any(|&o| o) {
            return false;
        }
        self.conns[other].inbox.push_back(v);
        self.wake_one(
            a,
            |i| matches!(i, Instr::PipeRecv { conn, .. } if conn as usize == other),
        );
        true
    }

    /// `conn.recv()`: `Some(Some(v))` for a value, `Some(None)` for EOFError,
    /// `None` when the actor blocked.
    pub(super) fn pipe_recv(&mut self, a: ActorId, c: ConnId) -> Option<Option<Value>> {
        if let Some(v) = self.conns[c as usize].inbox.pop_front() {
            return Some(Some(v));
        }
        // Nobody holds the other end (not even this process): nothing can come.
        if !self.conns[(c ^ 1) as usize].open.iter().any(|&o| o) {
            return Some(None);
        }
        self.block(a, c as Value);
        None
    }

    /// A process closes its copy of an end; a reader waiting on the other end may
    /// now see EOF.
    pub(super) fn pipe_close(&mut self, process: u16, c: ConnId) {
        self.conns[c as usize].open[process as usize] = false;
        let other = c ^ 1;
        let waiters: Vec<usize> = (0..self.actors.len())
            .filter(|&w| {
                self.actors[w].status == RunState::Blocked
                    && matches!(
                        self.program.instr(w as ActorId, self.actors[w].pc),
                        Some(Instr::PipeRecv { conn, .. }) if conn == other
                    )
            })
            .collect();
        for w in waiters {
            self.actors[w].status = RunState::Ready;
            self.pending_wakes.push((w as ActorId, -1));
        }
    }

    /// Whether actor `t` has started and not ended (`is_alive()` of a process).
    pub fn running(&self, t: ActorId) -> bool {
        self.actors
            .get(t as usize)
            .is_some_and(|rt| !matches!(rt.status, RunState::NotStarted | RunState::Done(_)))
    }

    /// Whether `a` sleeps (`time.sleep`), waiting for its time to come.
    pub fn sleeping(&self, a: ActorId) -> bool {
        matches!(self.actors[a as usize].status, RunState::Sleeping(_))
    }

    /// Whether `a`'s process has a SIGTERM waiting: its next step ends it.
    pub fn kill_pending(&self, a: ActorId) -> bool {
        let p = self.process[a as usize] as usize;
        self.procs.len() > 1 && self.procs[p].kill_pending
    }

    /// Whether `a`'s next `print(captured)` prints a line (`skip_empty`: not
    /// when nothing was captured).
    pub fn prints_captured(&self, a: ActorId, skip_empty: bool) -> bool {
        !skip_empty
            || !self.procs[self.process[a as usize] as usize]
                .captured
                .is_empty()
    }

    fn main_of(&self, process: u16) -> Option<ActorId> {
        self.program
            .actors
            .iter()
            .position(|x| x.process == process && x.kind == ActorKind::Main)
            .map(|i| i as ActorId)
    }

    /// `os.fork()` in the parent: the child (actor `t`) starts with a copy of
    /// this process's memory; gives its PID.
    pub(super) fn fork(&mut self, a: ActorId, t: ActorId) -> Value {
        self.start_process(a, t);
        if self.actors[t as usize].status == RunState::NotStarted {
            self.actors[t as usize].status = RunState::Ready;
        }
        sim_pid(self.process[t as usize])
    }

    /// What waits in process `p`'s `sys.stdout` buffer (the buffering lesson).
    pub fn stdout_buffer(&self, p: u16) -> Option<&str> {
        self.procs.get(p as usize).map(|r| r.stdout.as_str())
    }

    pub(super) fn ppid(&self, a: ActorId) -> Value {
        self.procs[self.process[a as usize] as usize].ppid
    }

    pub(super) fn proc_pid(&self, t: ActorId) -> Value {
        match self.actors[t as usize].status {
            RunState::NotStarted => NONE,
            RunState::Ready | RunState::Blocked | RunState::Sleeping(_) | RunState::Done(_) => {
                sim_pid(self.process[t as usize])
            }
        }
    }

    pub(super) fn proc_alive(&self, t: ActorId) -> Value {
        let st = self.actors[t as usize].status;
        (st != RunState::NotStarted && !matches!(st, RunState::Done(_))) as Value
    }

    pub(super) fn proc_exit_code(&self, t: ActorId) -> Value {
        let p = self.process[t as usize] as usize;
        self.procs[p].exitcode.map_or(NONE, |c| c as Value)
    }

    /// `p.terminate()`: SIGTERM, delivered when the target next runs.
    pub(super) fn terminate(&mut self, t: ActorId) {
        let p = self.process[t as usize] as usize;
        let alive = !matches!(
            self.actors[t as usize].status,
            RunState::Done(_) | RunState::NotStarted
        );
        if alive {
            // The signal is delivered when the target next runs, so right
            // after terminate() it is usually still alive, as in CPython.
            self.procs[p].kill_pending = true;
            match self.actors[t as usize].status {
                RunState::Sleeping(_) => {
                    self.sleepers -= 1;
                    self.actors[t as usize].status = RunState::Ready;
                }
                RunState::Blocked => self.actors[t as usize].status = RunState::Ready,
                RunState::NotStarted | RunState::Ready | RunState::Done(_) => {}
            }
        }
    }

    /// `subprocess`: the program is a process of its own, started here and then
    /// waited for; once it has ended, its exit code (`None` while `a` waits).
    pub(super) fn run_program(
        &mut self,
        a: ActorId,
        child: ActorId,
        output: StrId,
    ) -> Option<Value> {
        let ci = child as usize;
        if self.actors[ci].status == RunState::NotStarted {
            self.start_process(a, child);
            self.actors[ci].status = RunState::Ready;
        }
        if !matches!(self.actors[ci].status, RunState::Done(_)) {
            self.block(a, child as Value);
            return None;
        }
        let text = self.program.str(output).to_string();
        self.procs[self.process[a as usize] as usize].captured = text;
        Some(
            self.procs[self.process[ci] as usize]
                .exitcode
                .map_or(NONE, |c| c as Value),
        )
    }

    /// `q.put(v)` into a queue with room: wakes a getter.
    pub(super) fn queue_put(&mut self, a: ActorId, q: QueueId, v: Value) {
        self.queues[q as usize].push_back(v);
        self.wake_one(a, |i| matches!(i, Instr::QueueGet { q: x, .. } if x == q));
        self.wake_timed(a, q, false);
    }

    /// `q.get()`: the first item, if any (a putter waiting for room wakes).
    pub(super) fn queue_get(&mut self, a: ActorId, q: QueueId) -> Option<Value> {
        let v = self.queues[q as usize].pop_front()?;
        self.wake_one(a, |i| matches!(i, Instr::QueuePut { q: x, .. } if x == q));
        self.wake_timed(a, q, true);
        Some(v)
    }

    /// A timed `put` (`put`) or `get` waiting on queue `q` wakes before its
    /// deadline: it looks again, and waits on if another took what came.
    fn wake_timed(&mut self, by: ActorId, q: QueueId, put: bool) {
        for w in 0..self.actors.len() {
            let waits = matches!(
                self.program.instr(w as ActorId, self.actors[w].pc),
                Some(Instr::QueueTry { q: x, put: p, .. }) if x == q && p == put
            );
            if waits && matches!(self.actors[w].status, RunState::Sleeping(_)) {
                self.actors[w].status = RunState::Ready;
                self.sleepers -= 1;
                self.pending_wakes.push((w as ActorId, by as Value));
            }
        }
    }

    /// A timed queue call waits (a `Block` on `on`) until `until`, asleep.
    pub(super) fn wait_timed(&mut self, a: ActorId, on: Value, until: u64, ins: Option<Instr>) {
        self.event(a, EventKind::Block, on);
        self.now += super::INSTR_NS;
        let rt = &mut self.actors[a as usize];
        rt.status = RunState::Sleeping(until);
        rt.last = ins;
        self.sleepers += 1;
        self.drop_gil(a);
    }

    /// Wakes the first actor blocked on a matching instruction (one item, one waiter).
    fn wake_one(&mut self, by: ActorId, pending: impl Fn(Instr) -> bool) {
        let w = (0..self.actors.len()).find(|&w| {
            self.actors[w].status == RunState::Blocked
                && self
                    .program
                    .instr(w as ActorId, self.actors[w].pc)
                    .is_some_and(&pending)
        });
        if let Some(w) = w {
            self.actors[w].status = RunState::Ready;
            self.pending_wakes.push((w as ActorId, by as Value));
        }
    }

    /// An uncaught exception in a process's target: Python prints the process's
    /// name and the traceback, whose last line is the exception; exit code 1.
    /// `text`: [`crate::program::pytext::process_raise_text`].
    pub(super) fn raise_in_process(&mut self, a: ActorId, text: String) {
        let idx = self.print(a, text);
        self.event(a, EventKind::Exec, idx);
        self.event(a, EventKind::Ended, 1);
        self.now += super::PRINT_NS;
        self.finish_actor(a, 1);
    }

    /// The pending SIGTERM ends `a`'s process: Python reports exit code −15.
    pub(super) fn die_of_signal(&mut self, a: ActorId) {
        let p = self.process[a as usize];
        self.procs[p as usize].kill_pending = false;
        self.event(a, EventKind::Ended, -15);
        self.now += super::INSTR_NS;
        self.finish_actor(a, -15);
    }

    /// Records a process's exit code when its first actor ends.
    pub(super) fn note_exit(&mut self, a: ActorId, code: i32) {
        let p = self.process[a as usize];
        if self.main_of(p) == Some(a) {
            // An ending process closes every file it holds, pipe ends included.
            for c in 0..self.conns.len() as ConnId {
                if self.conns[c as usize].open[p as usize] {
                    self.pipe_close(p, c);
                }
            }
        }
        if p != 0 && self.main_of(p) == Some(a) {
            self.procs[p as usize].exitcode = Some(code);
        }
    }

    /// A process's first actor is labelled with its simulated PID.
    pub(super) fn label_processes(&mut self) {
        if !self.program.uses_processes() {
            return;
        }
        for (i, x) in self.program.actors.iter().enumerate() {
            if x.kind == ActorKind::Main {
                self.trace.actor_labels[i] =
                    format!("{} (pid {}, simulated)", x.name, sim_pid(x.process));
            }
        }
    }

    /// The simulated PID of every process, for labels ("simulated").
    pub fn pids(&self) -> Vec<Value> {
        (0..self.procs.len() as u16).map(sim_pid).collect()
    }
}
