//! The stepped engine: one thread, virtual time, one step of one actor at a time.
//!
//! A run is a pure function of its schedule (the actor chosen at each step), so the
//! same schedule gives the same trace byte for byte, and stepping back is replaying
//! a shorter schedule.

mod aio;
mod backend;
mod barrier;
pub mod calibration;
mod clocks;
mod copy;
mod process;
mod refusal;
mod schedule;
mod scheduler;
mod timed;

pub use calibration::{Calibration, PyVersion};
#[cfg(test)]
use clocks::{gil_hold, gil_slot};
pub use copy::{BuildStateHasher, StateHasher};
pub use process::{SIM_PID_BASE, sim_pid};
pub use refusal::Refusal;
pub use schedule::{Schedule, ScheduleError};
pub use scheduler::{RandomScheduler, SchedulerKind, Seeded};
pub use timed::TimedScheduler;

use crate::i18n::Msg;
use crate::lesson::Lang;
use crate::program::{
    ActorId, EngineConfig, Granularity, Instr, LockId, Pc, Program, StrId, Value, VarId,
};
use crate::trace::{Event, EventKind, OutputLine, Trace};
use std::fmt;
use std::sync::Arc;

/// Virtual cost of one instruction: CPython runs a few tens of millions of simple
/// bytecodes a second.
pub const INSTR_NS: u64 = 25;
/// Virtual cost of one unit of CPU work (one turn of a `while n > 0: n -= 1` loop).
pub const WORK_UNIT_NS: u64 = 40;
/// How late `time.sleep()` returns with nobody else wanting the CPU: the median of
/// `time.sleep(0.001)` on CPython 3.6–3.13 (85 µs, tools/measure/timing_costs.py).
pub const SLEEP_LATE_NS: u64 = 85_000;
/// `Process.start()` (a fork) until the child runs its first line, and until
/// start() returns in the parent: CPython 3.13 on an idle 2-core machine
/// (tools/measure/timing_costs.py; 3.6–3.12 under load took longer).
pub const PROCESS_FIRST_LINE_NS: u64 = 3_000_000;
pub const PROCESS_START_RETURNS_NS: u64 = 1_150_000;
/// Virtual cost of a `print` (a write to the terminal).
pub const PRINT_NS: u64 = 2_000;
/// The most instructions one line-granularity step executes, so that a line that
/// loops on itself still yields.
const MAX_INSTRS_PER_LINE: usize = 256;

/// An actor's state in the simulator, which decides whether it may take the next
/// step (the screen's view of it is `trace::ActorState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RunState {
    NotStarted,
    Ready,
    Blocked,
    Sleeping(u64),
    Done(i32),
}

#[derive(Clone, Debug)]
struct ActorRt {
    pc: Pc,
    stack: Vec<Value>,
    locals: Vec<Value>,
    status: RunState,
    /// The last instruction executed: decides whether the GIL may pass (gil-modern).
    last: Option<Instr>,
    /// This thread's `threading.local()` dictionary: (attribute, value).
    tls: Vec<(StrId, Value)>,
    /// The deadline of the timed queue call it waits in (`put`/`get` with a
    /// timeout), if any.
    wait_until: Option<u64>,
}

/// How a run ended, or that it has not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Running,
    Finished,
    Deadlock,
}

/// The simulator.
#[derive(Clone, Debug)]
pub struct Sim {
    program: Arc<Program>,
    cfg: EngineConfig,
    actors: Vec<ActorRt>,
    process: Vec<u16>,
    vars: Vec<Value>,
    locks: Vec<Option<ActorId>>,
    gil: Vec<Option<ActorId>>,
    gil_since: Vec<u64>,
    now: u64,
    sleepers: usize,
    /// Virtual CPU time every actor has spent so far.
    cpu_ns: u64,
    /// What `time.perf_counter()` reads: each actor's own virtual clock, as if every
    /// thread had a core of its own. Threads of one process under a GIL take turns
    /// (`gil_busy`); starts, joins and locks carry time from one to another.
    /// The trace's `now` stays one global clock, so only programs that read the
    /// clock see the difference: the GIL lab's speed-ups.
    own_clock: Vec<u64>,
    /// Whether the program reads a clock at all; if not, the clocks are not kept
    /// (they cost time on every step of the long runs).
    clocked: bool,
    /// The step's last write left the terminal's line open (the text of a
    /// `python -u` print, its end still to come): a line-granularity step ends
    /// there, since the rest of the print is another `write(2)` and another
    /// process's write may come between (processes run at once; a step of a
    /// line is one actor's line only as far as its own process is concerned).
    open_write: bool,
    /// Per process under a GIL: the stretches of virtual time in which one of its
    /// threads held the GIL, sorted and merged. A thread's instruction runs in the
    /// first free stretch from its own clock on. Steps are taken in an order virtual
    /// time need not follow, so a thread may run in a gap before a stretch another
    /// thread has already taken (the I/O thread waking while MainThread waits in a
    /// join that ends later).
    gil_busy: Vec<Vec<(u64, u64)>>,
    lock_clock: Vec<u64>,
    ending: Ending,
    trace: Trace,
    /// The actor chosen at every step from step `steps_base` on (a long run in the
    /// playground forgets the older ones: [`Sim::forget`]).
    schedule: Vec<ActorId>,
    steps_base: usize,
    /// Per simulated process: its own copy of the non-shared variables (process 0
    /// uses `vars`), its PID, parent and exit code.
    procs: Vec<process::ProcRt>,
    /// The items in each `multiprocessing.Queue`.
    queues: Vec<std::collections::VecDeque<Value>>,
    /// Per pipe end: what waits to be received there, and which processes hold
    /// a copy of it open.
    conns: Vec<process::ConnRt>,
    /// Wakes an instruction caused (a put waking a getter), recorded after the
    /// instruction's own event so the waker's row comes first, once.
    pending_wakes: Vec<(ActorId, Value)>,
    /// Per lock that is a `threading.Condition`'s: the actors in its `wait()`
    /// not yet notified, longest waiting first (empty when no program waits).
    cond_waiters: Vec<Vec<ActorId>>,
    /// Per lock that names a `threading.Barrier`: its state (src/sim/barrier.rs).
    barriers: Vec<crate::interp::barrier::BarrierState>,
    /// Tests turn the fast path of [`Sim::exec_plain`] off, to compare it with `exec`.
    #[cfg(test)]
    exec_only: bool,
}

impl Sim {
    pub fn new(program: Arc<Program>, cfg: EngineConfig) -> Self {
        let nproc = program.process_count();
        let mut sim = Sim {
            actors: program
                .actors
                .iter()
                .map(|a| ActorRt {
                    pc: 0,
                    stack: Vec::with_capacity(8),
                    locals: a.locals.clone(),
                    status: if a.autostart {
                        RunState::Ready
                    } else {
                        RunState::NotStarted
                    },
                    last: None,
                    tls: Vec::new(),
                    wait_until: None,
                })
                .collect(),
            process: program.actors.iter().map(|a| a.process).collect(),
            vars: program.vars.iter().map(|v| v.init).collect(),
            locks: vec![None; program.locks.len()],
            gil: vec![None; nproc],
            gil_since: vec![0; nproc],
            now: 0,
            sleepers: 0,
            cpu_ns: 0,
            own_clock: vec![0; program.actors.len()],
            clocked: program
                .actors
                .iter()
                .any(|a| a.code.iter().any(|i| matches!(i, Instr::Clock { .. }))),
            open_write: false,
            gil_busy: vec![Vec::new(); nproc],
            lock_clock: vec![0; program.locks.len()],
            ending: if program.actors.is_empty() {
                Ending::Finished
            } else {
                Ending::Running
            },
            trace: Trace::new(program.clone()),
            schedule: Vec::new(),
            steps_base: 0,
            procs: process::ProcRt::all(&program, nproc),
            queues: vec![Default::default(); program.queues.len()],
            conns: process::ConnRt::all(&program, nproc),
            pending_wakes: Vec::new(),
            cond_waiters: vec![Vec::new(); program.locks.len()],
            barriers: vec![Default::default(); program.locks.len()],
            #[cfg(test)]
            exec_only: false,
            cfg,
            program,
        };
        sim.label_processes();
        sim
    }

    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }
    pub fn config(&self) -> EngineConfig {
        self.cfg
    }
    pub fn trace(&self) -> &Trace {
        &self.trace
    }
    pub fn into_trace(self) -> Trace {
        self.trace
    }
    /// The actor chosen at every step so far (from step [`Sim::steps_base`] on).
    pub fn schedule(&self) -> &[ActorId] {
        &self.schedule
    }
    /// Steps taken since the start of the run.
    pub fn steps(&self) -> usize {
        self.steps_base + self.schedule.len()
    }
    /// The first step `schedule()` still holds.
    pub fn steps_base(&self) -> usize {
        self.steps_base
    }
    /// The actor chosen at step `i` of the run, if it is still kept.
    pub fn pick_at(&self, i: usize) -> Option<ActorId> {
        self.schedule.get(i.checked_sub(self.steps_base)?).copied()
    }

    /// Makes room for `n` more events at once (a look ahead of known size).
    pub fn reserve_events(&mut self, n: usize) {
        self.trace.events.reserve_exact(n);
    }

    /// Forgets the oldest `events` kept events (`prefix` is what all the
    /// forgotten ones add up to) and the steps before step `step`: how a long run
    /// keeps its memory flat.
    pub fn forget(&mut self, events: usize, prefix: Box<crate::trace::Prefix>, step: usize) {
        self.trace.drop_front(events, prefix);
        let n = step
            .saturating_sub(self.steps_base)
            .min(self.schedule.len());
        self.schedule.drain(..n);
        self.steps_base += n;
    }

    /// A copy of the simulator that keeps only the events from `events` on (an
    /// index into the trace's events; `prefix` adds up the ones before) and the
    /// steps from step `step` on: a checkpoint.
    pub fn checkpoint_copy(
        &mut self,
        events: usize,
        prefix: Box<crate::trace::Prefix>,
        step: usize,
    ) -> Sim {
        let trace = self.trace.copy_from(events, prefix);
        let keep = step
            .saturating_sub(self.steps_base)
            .min(self.schedule.len());
        let schedule = self.schedule[keep..].to_vec();
        // Clone everything else without the two long vectors.
        let old_events = std::mem::take(&mut self.trace.events);
        let old_schedule = std::mem::take(&mut self.schedule);
        let mut copy = self.clone();
        self.trace.events = old_events;
        self.schedule = old_schedule;
        copy.trace = trace;
        copy.schedule = schedule;
        copy.steps_base = self.steps_base + keep;
        copy
    }
    pub fn now_ns(&self) -> u64 {
        self.now
    }
    pub fn ending(&self) -> Ending {
        self.ending
    }
    pub fn actor_count(&self) -> usize {
        self.actors.len()
    }
    pub fn process_of(&self, a: ActorId) -> u16 {
        self.process[a as usize]
    }
    /// Who holds the GIL of a process, and since when (virtual ns).
    pub fn gil_holder(&self, process: u16) -> Option<(ActorId, u64)> {
        let p = process as usize;
        self.gil
            .get(p)
            .copied()
            .flatten()
            .map(|h| (h, self.gil_since[p]))
    }
    /// Current value of every shared variable.
    pub fn vars(&self) -> &[Value] {
        &self.vars
    }
    /// The next instruction an actor will execute.
    pub fn pc(&self, a: ActorId) -> Pc {
        self.actors[a as usize].pc
    }

    fn name(&self, a: ActorId) -> String {
        self.program.actors[a as usize].name.clone()
    }

    /// Whether `a` may take a step now: [`Sim::check`] without the explanation.
    #[inline(always)]
    pub fn can_step(&self, a: ActorId) -> bool {
        let Some(rt) = self.actors.get(a as usize) else {
            return false;
        };
        let ready = match rt.status {
            RunState::Ready => true,
            RunState::Sleeping(_) => self.program.sleeps_end_by_scheduler || !self.anyone_ready(),
            RunState::NotStarted | RunState::Blocked | RunState::Done(_) => false,
        };
        ready && self.ending == Ending::Running && self.gil_refuses(a).is_none()
    }

    /// Whether `a` could run if the GIL let it (it is neither blocked, asleep,
    /// finished nor unstarted).
    pub fn wants_to_run(&self, a: ActorId) -> bool {
        self.actors
            .get(a as usize)
            .is_some_and(|r| r.status == RunState::Ready)
    }

    fn anyone_ready(&self) -> bool {
        self.actors.iter().any(|r| r.status == RunState::Ready)
    }

    /// One step of actor `a`: one instruction, or one Python line.
    #[inline]
    pub fn step(&mut self, a: ActorId) -> Result<(), Refusal> {
        self.check(a)?;
        self.step_unchecked(a);
        Ok(())
    }

    /// [`Sim::step`] without its check, for an actor already known to be able to
    /// step (a random scheduler's pick): the hot path of a long run.
    #[inline(always)]
    pub fn step_unchecked(&mut self, a: ActorId) {
        debug_assert!(self.can_step(a));
        if let RunState::Sleeping(until) = self.actors[a as usize].status {
            self.advance_to(until);
        }
        self.schedule.push(a);
        if self.cfg.gil.has_gil() || self.program.event_loop {
            self.take_gil(a);
        }
        if self.cfg.granularity == Granularity::Bytecode {
            self.exec_clocked(a);
        } else {
            let start_line = self.program.line(a, self.actors[a as usize].pc);
            for _ in 0..MAX_INSTRS_PER_LINE {
                if !self.exec_clocked(a) {
                    break;
                }
                let pc = self.actors[a as usize].pc;
                if self.program.line(a, pc) != start_line {
                    break;
                }
            }
        }
        if self.sleepers > 0 {
            self.wake_sleepers();
        }
        if self.actors[a as usize].status != RunState::Ready {
            self.settle();
        }
    }

    #[inline]
    fn event(&mut self, a: ActorId, kind: EventKind, value: Value) {
        let pc = self.actors[a as usize].pc;
        self.trace.events.push(Event {
            t_ns: self.now,
            value,
            pc,
            actor: a,
            kind,
        });
    }

    /// `a` holds its process's GIL from now on (most steps: it already does).
    #[inline(always)]
    fn take_gil(&mut self, a: ActorId) {
        if self.gil[self.process[a as usize] as usize] != Some(a) {
            self.take_gil_from_another(a);
        }
    }

    fn take_gil_from_another(&mut self, a: ActorId) {
        let p = self.process[a as usize] as usize;
        match self.gil[p] {
            Some(h) if h == a => {}
            Some(h) => {
                self.event(h, EventKind::GilDrop, 1);
                self.event(a, EventKind::GilTake, h as Value);
                self.gil[p] = Some(a);
                self.gil_since[p] = self.now;
            }
            None => {
                self.event(a, EventKind::GilTake, -1);
                self.gil[p] = Some(a);
                self.gil_since[p] = self.now;
            }
        }
    }

    fn drop_gil(&mut self, a: ActorId) {
        let p = self.process[a as usize] as usize;
        if self.gil[p] == Some(a) {
            self.event(a, EventKind::GilDrop, 0);
            self.gil[p] = None;
        }
    }

    /// `lock.release()`: the event names the release itself; the pc moves on after
    /// it, then the lock's waiters are woken.
    fn release(&mut self, a: ActorId, l: LockId, ins: Instr, next: u32) -> bool {
        let ai = a as usize;
        self.locks[l as usize] = None;
        self.event(a, EventKind::Exec, l as Value);
        self.actors[ai].pc = next;
        self.actors[ai].last = Some(ins);
        self.now += INSTR_NS;
        self.wake_where(a, |i| i == Instr::Acquire(l));
        true
    }

    /// `cond.wait()`'s first step: `a` joins the waiters of `l`, then releases it.
    fn cond_wait(&mut self, a: ActorId, l: LockId, ins: Instr, next: u32) {
        self.cond_waiters[l as usize].push(a);
        self.release(a, l, ins, next);
    }

    /// Whether `a` is still among the waiters of `l` (not notified yet).
    fn cond_waiting(&self, a: ActorId, l: LockId) -> bool {
        self.cond_waiters[l as usize].contains(&a)
    }

    /// `cond.notify()` / `notify_all()`: the longest waiter (or every one) leaves
    /// the waiters, and wakes if it already sleeps; how many left.
    fn cond_notify(&mut self, by: ActorId, l: LockId, all: bool) -> Value {
        let waiters = &mut self.cond_waiters[l as usize];
        let n = if all {
            waiters.len()
        } else {
            waiters.len().min(1)
        };
        let woken: Vec<ActorId> = waiters.drain(..n).collect();
        for w in woken {
            let rt = &mut self.actors[w as usize];
            if rt.status == RunState::Blocked
                && self.program.instr(w, rt.pc) == Some(Instr::CondSleep(l))
            {
                rt.status = RunState::Ready;
                self.pending_wakes.push((w, by as Value));
            }
        }
        n as Value
    }

    /// A semaphore's counter or an event's flag (variable `g`) went up: every
    /// actor waiting on it wakes and looks again (a semaphore's waiters race
    /// for what came, as a lock's do), a timed `wait` before its deadline too.
    fn wake_var(&mut self, by: ActorId, g: VarId) {
        for w in 0..self.actors.len() {
            let rt = &mut self.actors[w];
            let waits = matches!(
                self.program.instr(w as ActorId, rt.pc),
                Some(Instr::SemAcquire(x) | Instr::EventWait { ev: x, .. }) if x == g
            );
            if !waits {
                continue;
            }
            match rt.status {
                RunState::Blocked => {}
                RunState::Sleeping(_) => self.sleepers -= 1,
                RunState::NotStarted | RunState::Ready | RunState::Done(_) => continue,
            }
            rt.status = RunState::Ready;
            self.pending_wakes.push((w as ActorId, by as Value));
        }
    }

    /// `t.start()` / `p.start()`: a child process is made first if `t` is in one.
    fn start(&mut self, a: ActorId, t: ActorId) -> Value {
        if self.process[t as usize] != self.process[a as usize] {
            self.start_process(a, t);
        }
        if self.actors[t as usize].status == RunState::NotStarted {
            self.actors[t as usize].status = RunState::Ready;
        }
        t as Value
    }

    /// `time.sleep`: the actor sleeps until its time comes and lets the GIL go.
    fn sleep(&mut self, a: ActorId, us: u32, ins: Instr, next: u32) -> bool {
        let ai = a as usize;
        let until = self.now + INSTR_NS + us as u64 * 1_000;
        self.event(a, EventKind::Exec, until as Value);
        self.now += INSTR_NS;
        self.actors[ai].pc = next;
        self.actors[ai].last = Some(ins);
        self.actors[ai].status = RunState::Sleeping(until);
        self.sleepers += 1;
        self.drop_gil(a);
        false
    }

    /// `time.process_time()` (all the process's CPU) or the actor's own clock.
    fn clock(&self, a: ActorId, cpu: bool) -> Value {
        (if cpu {
            self.cpu_ns
        } else {
            self.own_clock[a as usize]
        }) as Value
    }

    /// The actor's code ends with this exit code.
    fn exit(&mut self, a: ActorId, code: i32, ins: Instr) -> bool {
        self.event(a, EventKind::Exec, code as Value);
        self.now += INSTR_NS;
        self.actors[a as usize].last = Some(ins);
        self.finish_actor(a, code);
        false
    }

    /// Executes one instruction (src/interp/ says what each means); false when
    /// the actor blocked, slept or ended.
    #[inline(never)]
    fn exec(&mut self, a: ActorId) -> bool {
        let ai = a as usize;
        // Only a program with child processes can have a signal pending.
        if self.procs.len() > 1 && self.procs[self.process[ai] as usize].kill_pending {
            self.die_of_signal(a);
            return false;
        }
        let pc = self.actors[ai].pc;
        let Some(ins) = self.program.instr(a, pc) else {
            // Running off the end of the code cannot happen in a validated program.
            self.finish_actor(a, 0);
            return false;
        };
        let flow = crate::interp::exec(&mut backend::SimActor { sim: self, a }, ins, pc);
        matches!(flow, crate::interp::Flow::Next(_)) && !std::mem::take(&mut self.open_write)
    }

    /// An uncaught exception: its message is printed and the thread ends with
    /// exit code 1. Always false: the actor stopped.
    fn die_uncaught(&mut self, a: ActorId, ins: Instr, text: String) -> bool {
        let idx = self.print(a, text);
        self.event(a, EventKind::Exec, idx);
        self.now += PRINT_NS;
        self.actors[a as usize].last = Some(ins);
        self.finish_actor(a, 1);
        false
    }

    fn print(&mut self, a: ActorId, text: String) -> Value {
        let seq = self.trace.total_len() as u64;
        self.trace.write_output(OutputLine {
            seq,
            actor: a,
            text,
            open: false,
            joined: false,
        }) as Value
    }

    /// A write that leaves the terminal's line open (see [`Sim::open_write`]).
    fn print_open(&mut self, a: ActorId, text: String) -> Value {
        let seq = self.trace.total_len() as u64;
        self.open_write = true;
        self.trace.write_output(OutputLine {
            seq,
            actor: a,
            text,
            open: true,
            joined: false,
        }) as Value
    }

    fn block(&mut self, a: ActorId, on: Value) -> bool {
        self.event(a, EventKind::Block, on);
        self.now += INSTR_NS;
        self.actors[a as usize].status = RunState::Blocked;
        self.drop_gil(a);
        false
    }

    fn finish_actor(&mut self, a: ActorId, code: i32) {
        self.note_exit(a, code);
        self.actors[a as usize].status = RunState::Done(code);
        self.drop_gil(a);
        self.flush_wakes();
        self.wake_where(a, |i| {
            i == Instr::Join(a) || matches!(i, Instr::RunProgram { child, .. } if child == a)
        });
        self.wake_timed_joins(a);
    }

    /// Records the wakes the last instruction caused (see `pending_wakes`).
    fn flush_wakes(&mut self) {
        if self.pending_wakes.is_empty() {
            return;
        }
        for (w, by) in std::mem::take(&mut self.pending_wakes) {
            self.event(w, EventKind::Wake, by);
        }
    }

    /// Wakes every blocked actor whose pending instruction matches.
    fn wake_where(&mut self, by: ActorId, pending: impl Fn(Instr) -> bool) {
        for w in 0..self.actors.len() {
            let rt = &self.actors[w];
            if rt.status == RunState::Blocked
                && self
                    .program
                    .instr(w as ActorId, rt.pc)
                    .is_some_and(&pending)
            {
                self.actors[w].status = RunState::Ready;
                self.event(w as ActorId, EventKind::Wake, by as Value);
            }
        }
    }

    fn wake_sleepers(&mut self) {
        for w in 0..self.actors.len() {
            if let RunState::Sleeping(until) = self.actors[w].status
                && until <= self.now
            {
                self.actors[w].status = RunState::Ready;
                self.sleepers -= 1;
                self.event(w as ActorId, EventKind::Wake, -1);
            }
        }
    }

    fn advance_to(&mut self, t: u64) {
        if t > self.now {
            self.now = t;
        }
        self.wake_sleepers();
    }

    /// After an actor stopped being ready: let time pass if everyone sleeps, and
    /// notice the end of the run or a deadlock.
    fn settle(&mut self) {
        if self.anyone_ready() {
            return;
        }
        if self.sleepers > 0 {
            let first = self
                .actors
                .iter()
                .filter_map(|r| match r.status {
                    RunState::Sleeping(u) => Some(u),
                    RunState::NotStarted
                    | RunState::Ready
                    | RunState::Blocked
                    | RunState::Done(_) => None,
                })
                .min()
                .unwrap_or(self.now);
            self.advance_to(first);
            return;
        }
        let blocked: Vec<ActorId> = (0..self.actors.len() as ActorId)
            .filter(|&w| self.actors[w as usize].status == RunState::Blocked)
            .collect();
        if blocked.is_empty() {
            self.ending = Ending::Finished;
            return;
        }
        self.ending = Ending::Deadlock;
        for w in blocked {
            let waits_for = match self.program.instr(w, self.actors[w as usize].pc) {
                Some(Instr::Acquire(l) | Instr::AioAcquire(l)) => {
                    self.locks[l as usize].map(|h| h as Value)
                }
                Some(
                    Instr::Join(t) | Instr::JoinFor { t, .. } | Instr::RunProgram { child: t, .. },
                ) => Some(t as Value),
                // Nobody in particular: whoever next puts, gets, sends or notifies.
                Some(
                    Instr::QueuePut { .. }
                    | Instr::QueueGet { .. }
                    | Instr::PipeRecv { .. }
                    | Instr::CondSleep(_)
                    | Instr::BarrierWait { .. }
                    | Instr::BarrierSleep { .. }
                    | Instr::QueueTry { .. }
                    | Instr::SemAcquire(_)
                    | Instr::EventWait { .. },
                ) => None,
                None | Some(crate::program::never_blocks!()) => None,
            };
            self.event(w, EventKind::Deadlock, waits_for.unwrap_or(-1));
        }
    }

    /// An actor's `threading.local()` dictionary now: (attribute, value).
    pub fn tls(&self, a: ActorId) -> &[(StrId, Value)] {
        self.actors
            .get(a as usize)
            .map(|r| r.tls.as_slice())
            .unwrap_or(&[])
    }

    /// Who holds a lock now.
    pub fn lock_holder(&self, l: LockId) -> Option<ActorId> {
        self.locks.get(l as usize).copied().flatten()
    }

    /// Runs with the seeded scheduler to the end: its picks need no second check.
    pub fn run_random(&mut self, sched: &mut RandomScheduler) {
        while self.ending == Ending::Running {
            match sched.pick_steppable(self) {
                Some(a) => self.step_unchecked(a),
                None => break,
            }
        }
    }

    /// [`Sim::run_random`] until the trace keeps `events` events or the run
    /// ends: a long run a stretch at a time. True when the scheduler had no
    /// actor to pick while the run had not ended.
    pub fn run_random_until(&mut self, sched: &mut RandomScheduler, events: usize) -> bool {
        while self.ending == Ending::Running && self.trace.events.len() < events {
            match sched.pick_steppable(self) {
                Some(a) => self.step_unchecked(a),
                None => return true,
            }
        }
        false
    }

    /// Runs with a seeded scheduler of either kind until the trace keeps `events`
    /// events or the run ends. True when the scheduler found nobody to pick
    /// although the run had not ended.
    pub fn run_seeded_until(&mut self, sched: &mut Seeded, events: usize) -> bool {
        match sched {
            Seeded::Uniform(s) => self.run_random_until(s, events),
            Seeded::Timed(s) => {
                while self.ending == Ending::Running && self.trace.events.len() < events {
                    match s.pick_steppable(self) {
                        Some(a) => {
                            self.step_unchecked(a);
                            s.burst(self, events.saturating_sub(self.trace.events.len()));
                        }
                        None => return true,
                    }
                }
                false
            }
        }
    }

    /// Runs with a seeded scheduler of either kind to the end.
    pub fn run_seeded(&mut self, sched: &mut Seeded) {
        match sched {
            Seeded::Uniform(s) => self.run_random(s),
            Seeded::Timed(s) => {
                while self.ending == Ending::Running {
                    match s.pick_steppable(self) {
                        Some(a) => {
                            self.step_unchecked(a);
                            s.burst(self, usize::MAX);
                        }
                        None => break,
                    }
                }
            }
        }
    }

    /// A hash of everything that decides how the run can go on from here and what
    /// it ends with (not the trace, the schedule or the clocks a program never
    /// reads): two states with the same fingerprint have the same futures. The
    /// explorer (`src/explore/`) caches states by it. `with_time`: the program
    /// sleeps or reads a clock, so the virtual time is part of the state.
    pub fn fingerprint(&self, with_time: bool) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = StateHasher::default();
        for rt in &self.actors {
            rt.pc.hash(&mut h);
            rt.stack.hash(&mut h);
            rt.locals.hash(&mut h);
            rt.tls.hash(&mut h);
            rt.wait_until.hash(&mut h);
            match rt.status {
                RunState::NotStarted => 0u64.hash(&mut h),
                RunState::Ready => 1u64.hash(&mut h),
                RunState::Blocked => 2u64.hash(&mut h),
                RunState::Sleeping(u) => (3u64, u).hash(&mut h),
                RunState::Done(c) => (4u64, c).hash(&mut h),
            }
            // All the GIL models ask of the last instruction.
            rt.last
                .map(|i| self.cfg.gil.may_switch_after(i))
                .hash(&mut h);
        }
        self.vars.hash(&mut h);
        self.locks.hash(&mut h);
        self.gil.hash(&mut h);
        (self.ending as u8).hash(&mut h);
        self.queues.hash(&mut h);
        self.cond_waiters.hash(&mut h);
        self.barriers.hash(&mut h);
        if self.procs.len() > 1 || !self.conns.is_empty() {
            format!("{:?}{:?}", self.procs, self.conns).hash(&mut h);
        }
        if with_time || self.clocked {
            (self.now, self.cpu_ns, &self.own_clock, &self.gil_busy).hash(&mut h);
        }
        for o in &self.trace.output {
            (o.actor, &o.text, o.open).hash(&mut h);
        }
        h.finish()
    }

    /// Drops the events recorded so far (the output stays): for a search that
    /// reads each step's events once, so that copying the simulator stays cheap.
    pub fn clear_events(&mut self) {
        self.trace.events.clear();
    }

    /// Replays `schedule` from the start (how tests check that a schedule
    /// replays; `Run` steps back from its checkpoints).
    pub fn replay(
        program: Arc<Program>,
        cfg: EngineConfig,
        schedule: &[ActorId],
    ) -> Result<Sim, (usize, Refusal)> {
        let mut sim = Sim::new(program, cfg);
        for (i, &a) in schedule.iter().enumerate() {
            sim.step(a).map_err(|r| (i, r))?;
        }
        Ok(sim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn run(lesson: &str, sets: &[&str], seed: u64, exec_only: bool) -> Sim {
        let catalog = Catalog::embedded().expect("the embedded lessons load");
        let l = catalog.get(lesson).expect("the lesson exists");
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let knobs = crate::cli::knobs_from(l, &sets).expect("valid knobs");
        let p = Arc::new(crate::scenarios::build(l, &knobs).expect("it builds"));
        let mut sim = Sim::new(p, knobs.engine());
        sim.exec_only = exec_only;
        sim.run_random(&mut RandomScheduler::new(seed));
        sim
    }

    #[test]
    fn the_gil_is_given_in_the_first_free_stretch_and_stretches_merge() {
        let mut busy = Vec::new();
        gil_hold(&mut busy, 0, 10);
        gil_hold(&mut busy, 10, 5);
        assert_eq!(busy, vec![(0, 15)]);
        gil_hold(&mut busy, 100, 10);
        assert_eq!(busy, vec![(0, 15), (100, 110)]);
        // A short instruction fits in the gap; a long one waits for the end.
        assert_eq!(gil_slot(&busy, 5, 1), 15);
        assert_eq!(gil_slot(&busy, 20, 30), 20);
        assert_eq!(gil_slot(&busy, 90, 30), 110);
        gil_hold(&mut busy, 15, 85);
        assert_eq!(busy, vec![(0, 110)]);
        gil_hold(&mut busy, 50, 0);
        assert_eq!(busy, vec![(0, 110)]);
    }

    /// The fast path for plain instructions gives the same run as the general one,
    /// event for event, in every model and granularity.
    #[test]
    fn the_fast_path_gives_the_same_trace_as_exec() {
        let cases: &[(&str, &[&str])] = &[
            ("balance-race", &["iterations=300"]),
            ("balance-race", &["iterations=300", "lock=on"]),
            ("balance-race", &["iterations=300", "gil=free"]),
            ("balance-race", &["iterations=300", "gil=gil-modern"]),
            ("balance-race", &["iterations=300", "granularity=line"]),
            ("thread-local", &[]),
            ("deadlock", &[]),
            ("threads", &[]),
        ];
        for &(lesson, sets) in cases {
            for seed in 1..=5 {
                let fast = run(lesson, sets, seed, false);
                let slow = run(lesson, sets, seed, true);
                assert!(fast.steps() > 10, "{lesson} {sets:?} ran");
                assert_eq!(
                    fast.schedule(),
                    slow.schedule(),
                    "{lesson} {sets:?} seed {seed}"
                );
                assert_eq!(
                    fast.trace().events,
                    slow.trace().events,
                    "{lesson} {sets:?} seed {seed}"
                );
                assert_eq!(fast.trace().output, slow.trace().output);
                assert_eq!(fast.vars(), slow.vars());
            }
        }
    }
}
