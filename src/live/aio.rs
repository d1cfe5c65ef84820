//! The live engine of an asyncio program ([`Program::event_loop`]): a real
//! event loop on ONE OS thread runs every task, as CPython's does. It has a
//! ready queue (first in, first out), a heap of timers on the monotonic clock
//! for `await asyncio.sleep(t)`, and each `asyncio.Lock`'s line of waiting
//! tasks. A task runs until it awaits something that is not ready, waits for
//! a lock or a task, or ends; then the loop runs the next ready task, or
//! sleeps until the first timer is due. `time.sleep` in a task really blocks
//! the thread, so no other task runs meanwhile. Events carry real monotonic
//! times, as every live event does.
//!
//! [`Program::event_loop`]: crate::program::Program::event_loop

use super::{LiveMsg, POLL, Recorder, Shared, process_cpu_ns, say, send, spin, stopping};
use crate::interp::{Backend, Cost, Flow, Frame, Take};
use crate::program::{
    ActorId, ConnId, Instr, LockId, NONE, Pc, Program, QueueAsk, QueueId, StrId, Value, VarId,
};
use crate::trace::{Event, EventKind};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Where a task is, as the loop sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    NotStarted,
    /// In the ready queue, or running.
    Ready,
    /// Its timer is in the heap.
    Sleeping,
    /// Waits for a lock or another task.
    Blocked,
    Done,
}

/// One task: its frame, and its own buffer of events.
struct Task<'a> {
    r: Recorder<'a>,
    pc: Pc,
    stack: Vec<Value>,
    locals: Vec<Value>,
    tls: Vec<(StrId, Value)>,
    state: State,
}

/// The event loop, and the backend of the task it runs (`current`).
struct Loop<'a> {
    sh: &'a Arc<Shared>,
    tasks: Vec<Task<'a>>,
    ready: VecDeque<ActorId>,
    /// (when, order of arming, task): the earliest first.
    timers: BinaryHeap<Reverse<(Instant, u64, ActorId)>>,
    armed: u64,
    /// Each lock's holder and its line of waiting tasks.
    holder: Vec<Option<ActorId>>,
    line: Vec<VecDeque<ActorId>>,
    /// Per task: the tasks waiting for it to end (`gather`).
    joiners: Vec<Vec<ActorId>>,
    current: ActorId,
}

/// Starts the program's event loop on a thread of its own (the only thread
/// the program gets).
pub(super) fn start(sh: &Arc<Shared>) {
    sh.alive.fetch_add(1, Ordering::SeqCst);
    let s2 = sh.clone();
    let h = std::thread::Builder::new()
        .name("event-loop".into())
        .spawn(move || run(&s2));
    match h {
        Ok(h) => sh.handles.lock().push(h),
        Err(_) => {
            // The OS would not give us a thread: nothing runs.
            sh.alive.fetch_sub(1, Ordering::SeqCst);
            let _ = say(
                sh,
                0,
                "interleave: cannot start the event loop's thread".into(),
            );
            send(sh, LiveMsg::Finished);
        }
    }
}

/// The loop itself: runs ready tasks in order, fires due timers, and ends
/// when every task has ended or the rest can never go on.
fn run(sh: &Arc<Shared>) {
    let p = &sh.program;
    let mut lp = Loop {
        sh,
        tasks: p
            .actors
            .iter()
            .enumerate()
            .map(|(a, actor)| Task {
                r: Recorder::new(sh, a as ActorId),
                pc: 0,
                stack: Vec::with_capacity(8),
                locals: actor.locals.clone(),
                tls: Vec::new(),
                state: State::NotStarted,
            })
            .collect(),
        ready: VecDeque::new(),
        timers: BinaryHeap::new(),
        armed: 0,
        holder: vec![None; p.locks.len()],
        line: vec![VecDeque::new(); p.locks.len()],
        joiners: vec![Vec::new(); p.actors.len()],
        current: 0,
    };
    for (a, actor) in p.actors.iter().enumerate() {
        if actor.autostart {
            lp.make_ready(a as ActorId);
        }
    }
    while !stopping(sh) {
        lp.fire_due_timers();
        if let Some(a) = lp.ready.pop_front() {
            lp.run_task(a);
            continue;
        }
        let Some(&Reverse((when, _, _))) = lp.timers.peek() else {
            // Nothing ready and no timer: every task has ended, or the ones
            // left wait for what no task can give any more.
            lp.report_stuck();
            break;
        };
        lp.flush_all();
        let left = when.saturating_duration_since(Instant::now());
        std::thread::sleep(left.min(POLL));
    }
    lp.flush_all();
    {
        let _g = sh.done_lock.lock();
        sh.done_cond.notify_all();
    }
    if sh.alive.fetch_sub(1, Ordering::SeqCst) == 1 {
        send(sh, LiveMsg::Finished);
    }
}

impl<'a> Loop<'a> {
    fn make_ready(&mut self, a: ActorId) {
        let t = &mut self.tasks[a as usize];
        if t.state == State::NotStarted {
            self.sh.started[a as usize].store(true, Ordering::SeqCst);
        }
        t.state = State::Ready;
        self.ready.push_back(a);
    }

    /// Moves every task whose timer is due to the back of the ready queue.
    fn fire_due_timers(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((when, _, a))) = self.timers.peek() {
            if when > now {
                break;
            }
            self.timers.pop();
            let t = &mut self.tasks[a as usize];
            let pc = t.pc;
            t.r.rec(EventKind::Wake, pc, -1);
            self.make_ready(a);
        }
    }

    /// Runs task `a` until it gives the loop back, waits or ends.
    fn run_task(&mut self, a: ActorId) {
        self.current = a;
        let code = &self.sh.program.actors[a as usize].code;
        while !stopping(self.sh) {
            let pc = self.tasks[a as usize].pc;
            let Some(&ins) = code.get(pc as usize) else {
                self.end_task(a);
                return;
            };
            match crate::interp::exec(self, ins, pc) {
                Flow::Next(n) => self.tasks[a as usize].pc = n,
                Flow::Stop => return,
                Flow::End(_) => {
                    self.end_task(a);
                    return;
                }
            }
        }
    }

    /// Task `a` has ended: whoever waits for it (`gather`) is ready again.
    fn end_task(&mut self, a: ActorId) {
        self.tasks[a as usize].state = State::Done;
        self.sh.done[a as usize].store(true, Ordering::SeqCst);
        for w in std::mem::take(&mut self.joiners[a as usize]) {
            self.wake(w, a);
        }
    }

    /// Blocked task `w` can go on (`by` let it): it retries its instruction.
    fn wake(&mut self, w: ActorId, by: ActorId) {
        let t = &mut self.tasks[w as usize];
        if t.state != State::Blocked {
            return;
        }
        let pc = t.pc;
        t.r.rec(EventKind::Wake, pc, by as Value);
        self.make_ready(w);
    }

    /// The current task waits (a `Block` event on `on`), giving the loop back.
    fn block(&mut self, on: Value) -> Flow {
        let t = &mut self.tasks[self.current as usize];
        let pc = t.pc;
        t.r.rec(EventKind::Block, pc, on);
        t.state = State::Blocked;
        Flow::Stop
    }

    fn flush_all(&mut self) {
        for t in &mut self.tasks {
            t.r.flush();
        }
    }

    /// Nothing can run: the tasks still waiting wait for ever. They are
    /// recorded as deadlocked (on the lock's holder or the task they join).
    fn report_stuck(&mut self) {
        let t_ns = self.sh.t0.elapsed().as_nanos() as u64;
        let p = &self.sh.program;
        let mut events = Vec::new();
        for (a, t) in self.tasks.iter().enumerate() {
            if t.state != State::Blocked {
                continue;
            }
            let value = match p.instr(a as ActorId, t.pc) {
                Some(Instr::AioAcquire(l) | Instr::Acquire(l)) => {
                    self.holder[l as usize].map_or(-1, |h| h as Value)
                }
                Some(Instr::Join(j)) => j as Value,
                _ => -1,
            };
            events.push(Event {
                t_ns,
                value,
                pc: t.pc,
                actor: a as ActorId,
                kind: EventKind::Deadlock,
            });
        }
        self.flush_all();
        if !events.is_empty() {
            send(self.sh, LiveMsg::Events(events));
        }
    }

    /// Takes lock `l` for the current task if it is free and nobody is in
    /// line before it; else puts it in line.
    fn take_lock(&mut self, l: LockId) -> bool {
        let (li, a) = (l as usize, self.current);
        let first = self.line[li].front().is_none_or(|&w| w == a);
        if self.holder[li].is_none() && first {
            self.holder[li] = Some(a);
            self.line[li].retain(|&w| w != a);
            self.sh.lock_holder[li].store(a as i32, Ordering::SeqCst);
            return true;
        }
        if !self.line[li].contains(&a) {
            self.line[li].push_back(a);
        }
        false
    }

    /// Frees lock `l` (recording the release first) and wakes the first task
    /// in line; the current task goes on.
    fn free_lock(&mut self, pc: Pc, l: LockId, next: Pc) -> Flow {
        let a = self.current;
        self.tasks[a as usize]
            .r
            .rec(EventKind::Exec, pc, l as Value);
        self.holder[l as usize] = None;
        self.sh.lock_holder[l as usize].store(-1, Ordering::SeqCst);
        if let Some(&w) = self.line[l as usize].front() {
            self.wake(w, a);
        }
        Flow::Next(next)
    }

    /// Sleeps `us` µs of the program's time (scaled by the speed) on this
    /// thread, looking up every [`POLL`]; false if the run is being stopped.
    fn nap(&self, us: u32) -> bool {
        let until = Instant::now() + Duration::from_secs_f64(us as f64 / 1e6 / self.sh.speed);
        while Instant::now() < until {
            if stopping(self.sh) {
                return false;
            }
            std::thread::sleep(until.saturating_duration_since(Instant::now()).min(POLL));
        }
        true
    }
}

impl Backend for Loop<'_> {
    fn program(&self) -> &Program {
        &self.sh.program
    }
    fn actor(&self) -> ActorId {
        self.current
    }
    #[inline(always)]
    fn frame(&mut self) -> Frame<'_> {
        let t = &mut self.tasks[self.current as usize];
        Frame {
            stack: &mut t.stack,
            locals: &mut t.locals,
            tls: &mut t.tls,
        }
    }

    fn went(&mut self, _ins: Instr, pc: Pc, value: Value, next: Pc, _cost: Cost) -> Flow {
        self.tasks[self.current as usize]
            .r
            .rec(EventKind::Exec, pc, value);
        Flow::Next(next)
    }
    fn exit(&mut self, _ins: Instr, pc: Pc, code: i32) -> Flow {
        self.tasks[self.current as usize]
            .r
            .rec(EventKind::Exec, pc, code as Value);
        Flow::End(code)
    }
    fn uncaught(&mut self, _ins: Instr, pc: Pc, text: String) -> Flow {
        let index = say(self.sh, self.current, text);
        self.tasks[self.current as usize]
            .r
            .rec(EventKind::Exec, pc, index);
        Flow::End(1)
    }
    fn raise(&mut self, ins: Instr, pc: Pc, text: String) -> Flow {
        self.uncaught(ins, pc, text)
    }

    // One thread: the variables are plain loads and stores of the run's memory.
    fn load(&mut self, g: VarId) -> Value {
        self.sh.vars[g as usize].load(Ordering::Relaxed)
    }
    fn store(&mut self, g: VarId, v: Value) {
        self.sh.vars[g as usize].store(v, Ordering::Relaxed);
    }
    fn file_read(&mut self, g: VarId) -> Result<Value, String> {
        Ok(self.load(g))
    }
    fn file_write(&mut self, g: VarId, v: Value) -> Result<(), String> {
        self.store(g, v);
        Ok(())
    }

    // A `threading.Lock` in a task would block the thread; the tasks of one
    // loop can only wait for it in line, as for an asyncio.Lock.
    fn acquire(&mut self, pc: Pc, l: LockId) -> Result<(), Flow> {
        self.aio_acquire(pc, l)
    }
    fn release(&mut self, ins: Instr, pc: Pc, l: LockId, next: Pc) -> Flow {
        self.aio_release(ins, pc, l, next)
    }
    /// `create_task` (what `gather` does): the task is ready, behind the others.
    fn start(&mut self, _pc: Pc, t: ActorId) {
        if self.tasks[t as usize].state == State::NotStarted {
            self.make_ready(t);
        }
    }
    fn join(&mut self, _pc: Pc, t: ActorId) -> Result<(), Flow> {
        if self.tasks[t as usize].state == State::Done {
            return Ok(());
        }
        self.joiners[t as usize].push(self.current);
        Err(self.block(t as Value))
    }
    fn print(&mut self, text: String) -> Value {
        say(self.sh, self.current, text)
    }
    // Never here: no task of an event loop writes through a stdout buffer.
    fn print_open(&mut self, text: String) -> Value {
        say(self.sh, self.current, text)
    }
    fn sleep(&mut self, ins: Instr, pc: Pc, us: u32, next: Pc) -> Flow {
        // `time.sleep` in a task blocks the loop's thread.
        self.aio_block(ins, pc, us, next)
    }
    fn work(&mut self, _pc: Pc, units: u32) -> Result<(), Flow> {
        spin(units);
        Ok(())
    }
    fn clock(&mut self, cpu: bool) -> Value {
        if cpu {
            process_cpu_ns() as Value
        } else {
            self.sh.t0.elapsed().as_nanos() as Value
        }
    }

    // An asyncio program has no processes; these answer as a thread's would.
    fn fork(&mut self, _ins: Instr, _pc: Pc, _t: ActorId) -> Result<Value, Flow> {
        Ok(0)
    }
    fn pid(&mut self) -> Value {
        std::process::id() as Value
    }
    fn ident(&mut self) -> Value {
        super::real_ident()
    }
    fn ppid(&mut self) -> Value {
        0
    }
    fn proc_pid(&mut self, _t: ActorId) -> Value {
        NONE
    }
    fn proc_alive(&mut self, _t: ActorId) -> Value {
        0
    }
    fn proc_exit_code(&mut self, _t: ActorId) -> Value {
        NONE
    }
    fn terminate(&mut self, _t: ActorId) {}
    fn queue_room(&mut self, _pc: Pc, _q: QueueId, _block: bool) -> Result<bool, Flow> {
        Ok(true)
    }
    fn queue_put(&mut self, _q: QueueId, _v: Value) -> Result<(), String> {
        Ok(())
    }
    fn queue_get(&mut self, _pc: Pc, _q: QueueId, _block: bool) -> Result<Take, Flow> {
        Ok(Take::Empty)
    }
    fn queue_ready(&mut self, _q: QueueId) -> bool {
        false
    }
    fn pipe_send(&mut self, _c: ConnId, _v: Value) -> bool {
        false
    }
    fn pipe_recv(&mut self, _pc: Pc, _c: ConnId) -> Result<Option<Value>, Flow> {
        Ok(None)
    }
    fn pipe_close(&mut self, _c: ConnId) {}
    fn run_program(
        &mut self,
        _pc: Pc,
        _argv: StrId,
        _input: StrId,
        _sim_output: StrId,
        _child: ActorId,
    ) -> Result<Value, Flow> {
        Ok(0)
    }
    fn captured(&self) -> &str {
        ""
    }
    fn queue_ask(&mut self, _q: QueueId, _ask: QueueAsk) -> Value {
        0
    }
    fn queue_room_within(&mut self, _pc: Pc, _q: QueueId, _t: u32) -> Result<bool, Flow> {
        Ok(true)
    }
    fn queue_get_within(&mut self, _pc: Pc, _q: QueueId, _t: u32) -> Result<Take, Flow> {
        Ok(Take::Empty)
    }
    fn stdout_add(&mut self, _text: &str) -> usize {
        0
    }
    fn stdout_take(&mut self) -> String {
        String::new()
    }
    fn stdout_is(&mut self, asked: crate::program::Stdout) -> crate::program::Stdout {
        asked
    }
    // No task of a loop waits on a `threading.Condition`.
    fn cond_wait(&mut self, _ins: Instr, pc: Pc, l: LockId, next: Pc) -> Flow {
        self.free_lock(pc, l, next)
    }
    fn cond_sleep(&mut self, _pc: Pc, _l: LockId) -> Result<(), Flow> {
        Ok(())
    }
    fn cond_notify(&mut self, _l: LockId, _all: bool) -> Value {
        0
    }
    // Nor at a `threading.Barrier`, a semaphore, an event or a process's join:
    // the asyncio lesson has none. Asked anyway, the loop answers without waiting.
    fn barrier_arrive(&mut self, _pc: Pc, _l: LockId, _parties: u8) -> Result<Option<Value>, Flow> {
        Ok(None)
    }
    fn barrier_sleep(&mut self, _pc: Pc, _l: LockId, _timeout_us: u32) -> Result<bool, Flow> {
        Ok(false)
    }
    fn barrier_abort(&mut self, _l: LockId) {}
    fn sem_acquire(&mut self, _pc: Pc, g: VarId) -> Result<Value, Flow> {
        Ok(self.load(g))
    }
    fn sem_release(&mut self, g: VarId, _bound: u16) -> Result<Value, Value> {
        Ok(self.load(g))
    }
    fn event_set(&mut self, _g: VarId, _on: bool) {}
    fn event_wait(&mut self, _pc: Pc, g: VarId, _timeout_us: u32) -> Result<bool, Flow> {
        Ok(self.load(g) != 0)
    }
    fn join_within(&mut self, _pc: Pc, _t: ActorId, _timeout_us: u32) -> Result<(), Flow> {
        Ok(())
    }

    fn aio_sleep(&mut self, _ins: Instr, pc: Pc, us: u32, next: Pc) -> Flow {
        let a = self.current;
        let t = &mut self.tasks[a as usize];
        t.r.rec(EventKind::Exec, pc, us as Value);
        t.pc = next;
        if us == 0 {
            // Ready again at once, behind every task already ready.
            self.ready.push_back(a);
        } else {
            t.state = State::Sleeping;
            let when = Instant::now() + Duration::from_secs_f64(us as f64 / 1e6 / self.sh.speed);
            self.armed += 1;
            self.timers.push(Reverse((when, self.armed, a)));
        }
        Flow::Stop
    }
    fn aio_block(&mut self, _ins: Instr, pc: Pc, us: u32, next: Pc) -> Flow {
        let a = self.current as usize;
        self.tasks[a].r.rec(EventKind::Exec, pc, us as Value);
        // Everything so far reaches the screen before the thread stops.
        self.flush_all();
        if !self.nap(us) {
            return Flow::Stop;
        }
        self.tasks[a].r.rec(EventKind::Wake, next, -1);
        Flow::Next(next)
    }
    fn aio_acquire(&mut self, _pc: Pc, l: LockId) -> Result<(), Flow> {
        if self.take_lock(l) {
            return Ok(());
        }
        Err(self.block(l as Value))
    }
    fn aio_release(&mut self, _ins: Instr, pc: Pc, l: LockId, next: Pc) -> Flow {
        self.free_lock(pc, l, next)
    }
}
