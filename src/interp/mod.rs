//! The one interpreter of the instruction set: what each instruction means is
//! written here, once; the engines are [`Backend`]s that answer what differs.
//!
//! [`exec`] matches every [`Instr`] once. It does what is the same everywhere (the
//! operand stack, locals, thread-locals, print formats, the text of every
//! exception, where the code goes on) and asks the backend for the rest: the
//! simulator (virtual time, a scheduler that retries a blocked actor), an OS
//! thread of the live engine (real atomics, real locks, a real GIL) and a thread
//! of a worker process (shared memory, pipes, real child processes). A new
//! instruction is one arm here, plus whatever new question it asks: a method of
//! [`Backend`] without a default, so every backend must answer it before the
//! crate compiles.
//!
//! Blocking is the seam: the simulator cannot block, so its backend records the
//! block and answers [`Flow::Stop`] (its scheduler steps another actor and the
//! instruction runs again once the actor is woken); a live backend blocks in the
//! OS inside the call and answers once it may go on, or [`Flow::Stop`] when the
//! run is being stopped.

pub mod barrier;

use crate::program::pytext::{fill_format, process_raise_text, raise_text, uncaught_text};
use crate::program::{
    ActorId, ConnId, Instr, LockId, NONE, Pc, Program, QueueAsk, QueueId, StrId, Value, VarId,
};

/// Where an actor goes after one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// The instruction ran; the actor goes on at this pc.
    Next(Pc),
    /// The actor cannot go on now: a simulated actor blocked or sleeps (the
    /// scheduler picks another and the actor is retried once woken), or a live
    /// run is being stopped.
    Stop,
    /// The actor ended with this exit code.
    End(i32),
}

/// What an instruction costs on the simulator's virtual clock (live engines
/// spend real time instead and ignore it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cost {
    /// One bytecode.
    Instr,
    /// A write to the terminal.
    Print,
    /// This many units of CPU work.
    Work(u32),
    /// A wait of this many µs that never lets the actor go (`time.sleep` in
    /// a coroutine holds its event loop): time passes, no CPU is spent.
    Held(u32),
}

/// The actor's own state: what no other actor can see.
pub struct Frame<'a> {
    pub stack: &'a mut Vec<Value>,
    pub locals: &'a mut [Value],
    /// Its `threading.local()` dictionary: (attribute, value).
    pub tls: &'a mut Vec<(StrId, Value)>,
}

/// What a `get` from a queue found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Take {
    Item(Value),
    /// Empty, and the call does not wait: `queue.Empty`.
    Empty,
    /// Nothing can come any more (every writer is gone): `EOFError`.
    Closed,
}

/// What differs between the engines. Every method is required: a backend answers
/// every question, including "never here" (a thread of the live thread engine
/// never runs a process operation: such programs run on worker processes).
///
/// `pc` is the instruction's own pc (events name it); `ins` the instruction.
pub trait Backend {
    fn program(&self) -> &Program;
    /// The actor running now.
    fn actor(&self) -> ActorId;
    fn frame(&mut self) -> Frame<'_>;

    // -- How an instruction ends.
    /// It ran and the trace records `value`; the actor goes on at `next` (and,
    /// live, lets the GIL go here if asked and the model allows).
    fn went(&mut self, ins: Instr, pc: Pc, value: Value, next: Pc, cost: Cost) -> Flow;
    /// `sys.exit(code)` or the end of a thread's target.
    fn exit(&mut self, ins: Instr, pc: Pc, code: i32) -> Flow;
    /// An uncaught exception in a thread: `text` is printed and the actor ends
    /// with exit code 1.
    fn uncaught(&mut self, ins: Instr, pc: Pc, text: String) -> Flow;
    /// An uncaught exception in a process's target: its traceback's last lines
    /// (`text`), then the process ends with exit code 1.
    fn raise(&mut self, ins: Instr, pc: Pc, text: String) -> Flow;

    // -- Memory.
    /// Reads a global (a real, separate load where the engine is live).
    fn load(&mut self, g: VarId) -> Value;
    fn store(&mut self, g: VarId, v: Value);
    /// `json.load(open(name))['count']`, or the exception it raises.
    fn file_read(&mut self, g: VarId) -> Result<Value, String>;
    /// `json.dump(...)`, or why the write failed (an `OSError`).
    fn file_write(&mut self, g: VarId, v: Value) -> Result<(), String>;

    // -- Locks, threads, output, time.
    /// Takes the lock, waiting for it however the engine waits.
    fn acquire(&mut self, pc: Pc, l: LockId) -> Result<(), Flow>;
    /// Records the release first (another actor's acquire must come after it),
    /// frees the lock and goes on at `next` without a switch.
    fn release(&mut self, ins: Instr, pc: Pc, l: LockId, next: Pc) -> Flow;
    /// `t.start()` / `p.start()`.
    fn start(&mut self, pc: Pc, t: ActorId);
    /// Waits until `t` has ended.
    fn join(&mut self, pc: Pc, t: ActorId) -> Result<(), Flow>;
    /// A line the program prints; gives the value its event records.
    fn print(&mut self, text: String) -> Value;
    /// A write that does not end its line (`print(x, end=' ')` flushed, or the
    /// text of a `python -u` print before its newline): like [`Backend::print`],
    /// but the terminal's cursor stays on the line, so the next write of any
    /// process goes on there. Gives the index of the line it went to.
    fn print_open(&mut self, text: String) -> Value;
    /// `time.sleep(us µs)`, without the GIL; goes on at `next`.
    fn sleep(&mut self, ins: Instr, pc: Pc, us: u32, next: Pc) -> Flow;
    /// CPU work, holding the GIL (live: giving it up at the loop's back-edges).
    fn work(&mut self, pc: Pc, units: u32) -> Result<(), Flow>;
    /// `time.perf_counter()` or the CPU time so far, in ns.
    fn clock(&mut self, cpu: bool) -> Value;
    /// `threading.get_ident()`: a real thread's `pthread_self()`, or the
    /// simulator's stand-in.
    fn ident(&mut self) -> Value;

    // -- Processes.
    /// `os.fork()` in the parent: the child's PID. A backend that runs the
    /// child's side in this very thread (a worker's forked child) answers
    /// `Err(Flow::Next(0))` there, having made the child's actor its own.
    fn fork(&mut self, ins: Instr, pc: Pc, t: ActorId) -> Result<Value, Flow>;
    fn pid(&mut self) -> Value;
    fn ppid(&mut self) -> Value;
    /// `p.pid`: [`NONE`] before it starts.
    fn proc_pid(&mut self, t: ActorId) -> Value;
    /// `p.is_alive()`: 1 or 0.
    fn proc_alive(&mut self, t: ActorId) -> Value;
    /// `p.exitcode`: [`NONE`] while it runs.
    fn proc_exit_code(&mut self, t: ActorId) -> Value;
    fn terminate(&mut self, t: ActorId);
    /// Whether queue `q` has room for one more item, waiting for it if `block`;
    /// `Ok(false)`: full, and the put does not wait.
    fn queue_room(&mut self, pc: Pc, q: QueueId, block: bool) -> Result<bool, Flow>;
    /// Puts an item the queue has room for; `Err`: why it failed (an `OSError`).
    fn queue_put(&mut self, q: QueueId, v: Value) -> Result<(), String>;
    /// Takes the first item, waiting for one if `block`.
    fn queue_get(&mut self, pc: Pc, q: QueueId, block: bool) -> Result<Take, Flow>;
    /// Whether queue `q` holds an item now (a `get` would not wait); never waits.
    fn queue_ready(&mut self, q: QueueId) -> bool;
    /// `conn.send(v)`; false: nobody holds the other end (`BrokenPipeError`).
    fn pipe_send(&mut self, c: ConnId, v: Value) -> bool;
    /// `conn.recv()`: the next value, waiting for one; `None` once nothing can
    /// come (`EOFError`).
    fn pipe_recv(&mut self, pc: Pc, c: ConnId) -> Result<Option<Value>, Flow>;
    fn pipe_close(&mut self, c: ConnId);
    /// Runs the program (`subprocess`) as the process actor `child`, waits for it
    /// and keeps what it wrote for [`Backend::captured`]; its exit code.
    /// (`argv`: words separated by U+001F; `sim_output`: what a simulator, which
    /// runs no program, says it wrote.)
    fn run_program(
        &mut self,
        pc: Pc,
        argv: StrId,
        input: StrId,
        sim_output: StrId,
        child: ActorId,
    ) -> Result<Value, Flow>;
    /// What the last program run wrote.
    fn captured(&self) -> &str;

    // -- The queue-api lesson.
    /// `q.qsize()`, `q.empty()` or `q.full()` now.
    fn queue_ask(&mut self, q: QueueId, ask: QueueAsk) -> Value;
    /// [`Backend::queue_room`] that waits at most `timeout_us` µs (0: not at
    /// all); `Ok(false)`: still full (`queue.Full`).
    fn queue_room_within(&mut self, pc: Pc, q: QueueId, timeout_us: u32) -> Result<bool, Flow>;
    /// [`Backend::queue_get`] that waits at most `timeout_us` µs (0: not at
    /// all); [`Take::Empty`]: still empty (`queue.Empty`).
    fn queue_get_within(&mut self, pc: Pc, q: QueueId, timeout_us: u32) -> Result<Take, Flow>;
    // -- The process's `sys.stdout` buffer (the buffering lesson).
    /// Appends `text` to this process's buffer (memory of the process: a fork
    /// copies it, a killed process loses it); gives how many bytes now wait.
    fn stdout_add(&mut self, text: &str) -> usize;
    /// Takes what this process's buffer holds, leaving it empty.
    fn stdout_take(&mut self) -> String;
    /// The buffering `sys.stdout` has, given what the lesson asked: a live worker
    /// whose stdout is a real file asks the file (`isatty`), as CPython does.
    fn stdout_is(&mut self, asked: crate::program::Stdout) -> crate::program::Stdout;
    // -- threading.Condition (a condition is named by its lock).
    /// `cond.wait()`'s first step: puts the actor on `l`'s waiters, then records
    /// the step and releases the lock as [`Backend::release`] does; goes on at
    /// `next`.
    fn cond_wait(&mut self, ins: Instr, pc: Pc, l: LockId, next: Pc) -> Flow;
    /// `cond.wait()`'s second step: waits until a notify has taken the actor off
    /// `l`'s waiters.
    fn cond_sleep(&mut self, pc: Pc, l: LockId) -> Result<(), Flow>;
    /// `cond.notify()` / `notify_all()`: takes the longest waiter (or every one)
    /// off `l`'s waiters and wakes it; how many it woke.
    fn cond_notify(&mut self, l: LockId, all: bool) -> Value;
    // -- threading.Barrier (a barrier is named by a lock; its state is a
    // [`barrier::BarrierState`] each engine keeps per lock).
    /// `barrier.wait()`'s first step: waits while the barrier drains, then
    /// [`barrier::BarrierState::arrive`]s, waking the parties a trip releases.
    fn barrier_arrive(&mut self, pc: Pc, l: LockId, parties: u8) -> Result<Option<Value>, Flow>;
    /// `barrier.wait()`'s second step: waits until the barrier is released
    /// (tripped or broken) or `timeout_us` µs pass (0: no timeout; then it
    /// breaks the barrier, waking every party), then leaves it
    /// ([`barrier::BarrierState::leave`], waking parties waiting to enter):
    /// whether it passed.
    fn barrier_sleep(&mut self, pc: Pc, l: LockId, timeout_us: u32) -> Result<bool, Flow>;
    /// `barrier.abort()`: breaks it and wakes every party waiting at it.
    fn barrier_abort(&mut self, l: LockId);
    // -- Semaphores and events: the counter or flag is variable `g` of the
    // program (shared memory between processes).
    /// `sem.acquire()`: waits until `g` is above 0, then takes one, in one
    /// atomic step; the counter after.
    fn sem_acquire(&mut self, pc: Pc, g: VarId) -> Result<Value, Flow>;
    /// `sem.release()`: adds one and wakes a waiter; the counter after. `Err`
    /// with the counter as it stays when `bound` > 0 and the counter is at
    /// `bound` already (the program then raises `ValueError`).
    fn sem_release(&mut self, g: VarId, bound: u16) -> Result<Value, Value>;
    /// `ev.set()` (`on`) or `ev.clear()`; a set wakes every waiter.
    fn event_set(&mut self, g: VarId, on: bool);
    /// `ev.wait()`: waits until `g` is not 0, for at most `timeout_us` µs (0:
    /// no limit); whether it is set when the wait ends.
    fn event_wait(&mut self, pc: Pc, g: VarId, timeout_us: u32) -> Result<bool, Flow>;

    // -- knobs15: `p.join(timeout)` --
    /// Waits until `t` has ended or `timeout_us` µs have passed, whichever
    /// comes first (`Ok` either way).
    fn join_within(&mut self, pc: Pc, t: ActorId, timeout_us: u32) -> Result<(), Flow>;
    // -- asyncio (the actors are the tasks of one event loop).
    /// `await asyncio.sleep(us)`: records the step and gives the loop back,
    /// the task going on at `next` (with 0: ready again at once, behind the
    /// tasks already ready; else when its timer is due).
    fn aio_sleep(&mut self, ins: Instr, pc: Pc, us: u32, next: Pc) -> Flow;
    /// `time.sleep(us)` in a coroutine: records the step, then waits keeping
    /// the loop, so no other task runs meanwhile; goes on at `next`.
    fn aio_block(&mut self, ins: Instr, pc: Pc, us: u32, next: Pc) -> Flow;
    /// `async with lock:`: takes the `asyncio.Lock` when it is free and no
    /// other task is in line before this one; else waits in line.
    fn aio_acquire(&mut self, pc: Pc, l: LockId) -> Result<(), Flow>;
    /// The end of `async with lock:`: records the release, frees the lock and
    /// wakes the first task in line; goes on at `next`, keeping the loop.
    fn aio_release(&mut self, ins: Instr, pc: Pc, l: LockId, next: Pc) -> Flow;
}

/// Runs one instruction `ins` (at `pc`) of the backend's actor.
#[inline]
pub fn exec<B: Backend>(b: &mut B, ins: Instr, pc: Pc) -> Flow {
    // An operation that may stop the actor: its value, or the flow that stops it.
    macro_rules! go {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(flow) => return flow,
            }
        };
    }
    let next = pc + 1;
    let (value, next, cost) = match ins {
        crate::program::local_instr!() => {
            let f = b.frame();
            let (v, n) = ins.exec_local(f.stack, f.locals, pc).unwrap_or((0, next));
            (v, n, Cost::Instr)
        }
        Instr::LoadGlobal(g) => {
            let v = b.load(g);
            (push(b, v), next, Cost::Instr)
        }
        Instr::StoreGlobal(g) => {
            let v = pop(b);
            b.store(g, v);
            (v, next, Cost::Instr)
        }
        Instr::Acquire(l) => {
            go!(b.acquire(pc, l));
            (l as Value, next, Cost::Instr)
        }
        Instr::Release(l) => return b.release(ins, pc, l, next),
        Instr::Start(t) => {
            b.start(pc, t);
            (t as Value, next, Cost::Instr)
        }
        Instr::Join(t) => {
            go!(b.join(pc, t));
            (t as Value, next, Cost::Instr)
        }
        Instr::JoinFor { t, timeout_us } => {
            go!(b.join_within(pc, t, timeout_us));
            (t as Value, next, Cost::Instr)
        }
        Instr::Print { fmt, nargs } => {
            let text = format(b, fmt, nargs);
            (b.print(text), next, Cost::Print)
        }
        Instr::Sleep(us) => return b.sleep(ins, pc, us, next),
        Instr::Work(units) => {
            go!(b.work(pc, units));
            (units as Value, next, Cost::Work(units))
        }
        Instr::TlsSet { attr, .. } => {
            let v = pop(b);
            crate::program::tls_set(b.frame().tls, attr, v);
            (v, next, Cost::Instr)
        }
        Instr::TlsGet(attr) => {
            let found = b.frame().tls.iter().find(|(k, _)| *k == attr).map(|e| e.1);
            let Some(v) = found else {
                let p = b.program();
                let msg = crate::program::tls_missing_message(p.str(attr));
                let text = uncaught_text(p, b.actor(), &msg);
                return b.uncaught(ins, pc, text);
            };
            (push(b, v), next, Cost::Instr)
        }
        Instr::Clock { cpu } => {
            let v = b.clock(cpu);
            (push(b, v), next, Cost::Instr)
        }
        Instr::Ident(of) => {
            let v = ident(b, of);
            (push(b, v), next, Cost::Instr)
        }
        Instr::Raise(msg) => return raise_in_actor(b, ins, pc, msg),
        Instr::Exit(code) => return b.exit(ins, pc, code),
        Instr::CondWait(l) => return b.cond_wait(ins, pc, l, next),
        Instr::CondSleep(l) => {
            go!(b.cond_sleep(pc, l));
            (l as Value, next, Cost::Instr)
        }
        Instr::CondNotify { cond, all } => (b.cond_notify(cond, all), next, Cost::Instr),
        Instr::AioSleep(us) => return b.aio_sleep(ins, pc, us, next),
        Instr::AioBlock(us) => return b.aio_block(ins, pc, us, next),
        Instr::AioAcquire(l) => {
            go!(b.aio_acquire(pc, l));
            (l as Value, next, Cost::Instr)
        }
        Instr::AioRelease(l) => return b.aio_release(ins, pc, l, next),
        // The list is read and written back in this one instruction: it is one
        // call (`append`) or one STORE_SUBSCR in CPython, which no other thread
        // interleaves with. (The memory lesson changes each copy from one actor.)
        Instr::ListStore { var, index } => go!(list_store(b, ins, pc, var, index)),
        // The arrival's index is on the stack between the two steps; a broken
        // barrier records NONE and jumps to `except BrokenBarrierError:`.
        Instr::BarrierWait {
            barrier,
            parties,
            broken,
        } => match go!(b.barrier_arrive(pc, barrier, parties)) {
            Some(index) => (push(b, index), next, Cost::Instr),
            None => (NONE, broken, Cost::Instr),
        },
        Instr::BarrierSleep {
            barrier,
            timeout_us,
            broken,
        } => go!(barrier_sleep(b, pc, barrier, timeout_us, broken)),
        Instr::BarrierAbort(l) => {
            b.barrier_abort(l);
            (l as Value, next, Cost::Instr)
        }
        crate::program::sync_instr!() => return exec_sync(b, ins, pc),
        crate::program::process_instr!() => return exec_process(b, ins, pc),
    };
    b.went(ins, pc, value, next, cost)
}

/// `list.append(x)` or `list[i] = x` on a list variable: a list too long, or an
/// index out of range, raises in the actor as CPython would.
#[inline(never)]
fn list_store<B: Backend>(
    b: &mut B,
    ins: Instr,
    pc: Pc,
    var: VarId,
    index: u8,
) -> Result<(Value, Pc, Cost), Flow> {
    let x = pop(b);
    let list = b.load(var);
    match crate::program::pytext::list_store(list, index, x) {
        Ok(new) => {
            b.store(var, new);
            Ok((new, pc + 1, Cost::Instr))
        }
        Err(msg) => {
            let text = uncaught_text(b.program(), b.actor(), &msg);
            Err(b.uncaught(ins, pc, text))
        }
    }
}

/// The second step of `barrier.wait()`: waits for the trip, a break or the
/// timeout; the arrival's index comes off the stack and goes back on if it passed.
#[inline(never)]
fn barrier_sleep<B: Backend>(
    b: &mut B,
    pc: Pc,
    barrier: LockId,
    timeout_us: u32,
    broken: Pc,
) -> Result<(Value, Pc, Cost), Flow> {
    let passed = b.barrier_sleep(pc, barrier, timeout_us)?;
    let index = pop(b);
    Ok(match passed {
        true => (push(b, index), pc + 1, Cost::Instr),
        false => (NONE, broken, Cost::Instr),
    })
}

/// Semaphores and events ([`crate::program::sync_instr`]): out of line, like
/// the process operations.
#[inline(never)]
fn exec_sync<B: Backend>(b: &mut B, ins: Instr, pc: Pc) -> Flow {
    let next = pc + 1;
    let (value, next) = match ins {
        Instr::SemAcquire(g) => match b.sem_acquire(pc, g) {
            Ok(v) => (v, next),
            Err(flow) => return flow,
        },
        Instr::SemRelease { sem, bound, fail } => match b.sem_release(sem, bound) {
            Ok(v) => (v, next),
            Err(v) => (v, fail),
        },
        Instr::EventSet(g) => {
            b.event_set(g, true);
            (1, next)
        }
        Instr::EventClear(g) => {
            b.event_set(g, false);
            (0, next)
        }
        Instr::EventWait { ev, timeout_us } => match b.event_wait(pc, ev, timeout_us) {
            Ok(set) => (push(b, set as Value), next),
            Err(flow) => return flow,
        },
        Instr::EventIsSet(g) => {
            let v = b.load(g);
            (push(b, (v != 0) as Value), next)
        }
        crate::program::local_instr!()
        | crate::program::process_instr!()
        | Instr::LoadGlobal(_)
        | Instr::StoreGlobal(_)
        | Instr::Acquire(_)
        | Instr::Release(_)
        | Instr::Start(_)
        | Instr::Join(_)
        | Instr::Print { .. }
        | Instr::Sleep(_)
        | Instr::Work(_)
        | Instr::TlsSet { .. }
        | Instr::TlsGet(_)
        | Instr::Clock { .. }
        | Instr::Ident(_)
        | Instr::Raise(_)
        | Instr::Exit(_)
        | Instr::ListStore { .. }
        | Instr::JoinFor { .. }
        | crate::program::barrier_instr!()
        | crate::program::aio_instr!()
        | crate::program::cond_instr!() => return exec(b, ins, pc),
    };
    b.went(ins, pc, value, next, Cost::Instr)
}

/// `raise` of an exception nothing catches (`msg`, like `ValueError: …`): a
/// thread prints `Exception in thread …`, a child process's target its
/// traceback; either way the actor ends with exit code 1.
fn raise_in_actor<B: Backend>(b: &mut B, ins: Instr, pc: Pc, msg: StrId) -> Flow {
    let p = b.program();
    let actor = &p.actors[b.actor() as usize];
    if actor.kind == crate::program::ActorKind::Main && actor.process != 0 {
        let text = process_raise_text(&actor.name, p.str(msg));
        return b.raise(ins, pc, text);
    }
    let text = raise_text(&actor.name, p.str(msg));
    b.uncaught(ins, pc, text)
}

/// The instructions only processes run ([`Instr::is_process_op`]): out of line,
/// so that the threads' instructions stay a short match.
#[inline(never)]
fn exec_process<B: Backend>(b: &mut B, ins: Instr, pc: Pc) -> Flow {
    macro_rules! go {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(flow) => return flow,
            }
        };
    }
    let next = pc + 1;
    let raise = |b: &mut B, exception: &str| {
        let text = process_raise_text(&b.program().actors[b.actor() as usize].name, exception);
        b.raise(ins, pc, text)
    };
    let (value, next) = match ins {
        Instr::Fork(t) => {
            let v = go!(b.fork(ins, pc, t));
            (push(b, v), next)
        }
        Instr::ForkChild => (push(b, 0), next),
        Instr::GetPid => {
            let v = b.pid();
            (push(b, v), next)
        }
        Instr::GetPpid => {
            let v = b.ppid();
            (push(b, v), next)
        }
        Instr::ProcPid(t) => {
            let v = b.proc_pid(t);
            (push(b, v), next)
        }
        Instr::ProcAlive(t) => {
            let v = b.proc_alive(t);
            (push(b, v), next)
        }
        Instr::ProcExitCode(t) => {
            let v = b.proc_exit_code(t);
            (push(b, v), next)
        }
        Instr::Terminate(t) => {
            b.terminate(t);
            (t as Value, next)
        }
        Instr::QueuePut { q, block } => {
            if !go!(b.queue_room(pc, q, block)) {
                return raise(b, "queue.Full");
            }
            let v = pop(b);
            if let Err(e) = b.queue_put(q, v) {
                return raise(b, &format!("OSError: {e}"));
            }
            (v, next)
        }
        Instr::QueueGet { q, block } => match go!(b.queue_get(pc, q, block)) {
            Take::Item(v) => (push(b, v), next),
            Take::Empty => {
                let class = b.program().queues[q as usize].empty_class.clone();
                return raise(b, &class);
            }
            Take::Closed => return raise(b, "EOFError"),
        },
        // A file holding a number reads and writes like a variable of its process.
        Instr::FileRead(g) => match b.file_read(g) {
            Ok(v) => (push(b, v), next),
            Err(exception) => return raise(b, &exception),
        },
        Instr::FileWrite(g) => {
            let v = pop(b);
            if let Err(e) = b.file_write(g, v) {
                return raise(b, &format!("OSError: {e}"));
            }
            (v, next)
        }
        Instr::PipeSend(c) => {
            let v = pop(b);
            if !b.pipe_send(c, v) {
                return raise(b, "BrokenPipeError: [Errno 32] Broken pipe");
            }
            (v, next)
        }
        Instr::PipeRecv { conn, eof } => match go!(b.pipe_recv(pc, conn)) {
            Some(v) => (push(b, v), next),
            // Every copy of the other end is closed: EOFError, caught.
            None => (NONE, eof),
        },
        Instr::PipeClose(c) => {
            b.pipe_close(c);
            (c as Value, next)
        }
        Instr::RunProgram {
            argv,
            input,
            sim_output,
            child,
            ..
        } => {
            let code = go!(b.run_program(pc, argv, input, sim_output, child));
            (push(b, code), next)
        }
        Instr::PrintCaptured { skip_empty } => return print_captured(b, ins, pc, skip_empty),
        Instr::QueueAsk { .. } | Instr::QueueTry { .. } => return exec_queue_api(b, ins, pc),
        Instr::BufPrint { .. } => return buf_print(b, ins, pc),
        Instr::Flush(_) => return write_out(b, ins, pc),
        Instr::QueueReady(q) => {
            let v = b.queue_ready(q) as Value;
            (push(b, v), next)
        }
        crate::program::local_instr!() | crate::program::thread_instr!() => {
            return exec(b, ins, pc);
        }
    };
    b.went(ins, pc, value, next, Cost::Instr)
}

/// The queue-api lesson's calls: `qsize`/`empty`/`full`, and the puts and gets
/// that `except queue.Full` / `except queue.Empty` catch.
fn exec_queue_api<B: Backend>(b: &mut B, ins: Instr, pc: Pc) -> Flow {
    macro_rules! go {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(flow) => return flow,
            }
        };
    }
    let next = pc + 1;
    let raise = |b: &mut B, exception: &str| {
        let text = process_raise_text(&b.program().actors[b.actor() as usize].name, exception);
        b.raise(ins, pc, text)
    };
    let (value, next) = match ins {
        Instr::QueueAsk { q, ask } => {
            let v = b.queue_ask(q, ask);
            (push(b, v), next)
        }
        // `except queue.Full` / `except queue.Empty` catch the failure: the
        // event records the jump as NONE.
        Instr::QueueTry {
            q,
            put: true,
            timeout_us,
            fail,
        } => {
            if !go!(b.queue_room_within(pc, q, timeout_us)) {
                pop(b);
                (NONE, fail)
            } else {
                let v = pop(b);
                if let Err(e) = b.queue_put(q, v) {
                    return raise(b, &format!("OSError: {e}"));
                }
                (v, next)
            }
        }
        Instr::QueueTry {
            q,
            put: false,
            timeout_us,
            fail,
        } => match go!(b.queue_get_within(pc, q, timeout_us)) {
            Take::Item(v) => (push(b, v), next),
            Take::Empty => (NONE, fail),
            Take::Closed => return raise(b, "EOFError"),
        },
        // Every other instruction is run by `exec`.
        crate::program::local_instr!()
        | crate::program::thread_instr!()
        | crate::program::pid_instr!()
        | Instr::Terminate(_)
        | Instr::QueuePut { .. }
        | Instr::QueueGet { .. }
        | Instr::FileRead(_)
        | Instr::FileWrite(_)
        | Instr::PipeSend(_)
        | Instr::PipeRecv { .. }
        | Instr::PipeClose(_)
        | Instr::RunProgram { .. }
        | Instr::PrintCaptured { .. } => return exec(b, ins, pc),
        Instr::BufPrint { .. } => return buf_print(b, ins, pc),
        Instr::Flush(_) => return write_out(b, ins, pc),
        Instr::QueueReady(_) => return exec_process(b, ins, pc),
    };
    b.went(ins, pc, value, next, Cost::Instr)
}

/// Prints what the last program run wrote, or, with `skip_empty`, the program's
/// own output to the shared terminal, if it wrote any.
fn print_captured<B: Backend>(b: &mut B, ins: Instr, pc: Pc, skip_empty: bool) -> Flow {
    let next = pc + 1;
    let captured = b.captured();
    if skip_empty && captured.is_empty() {
        return b.went(ins, pc, 0, next, Cost::Instr);
    }
    // A program writing to the terminal itself ends its own line; print() of what
    // it wrote adds one more.
    let text = match skip_empty {
        true => captured.strip_suffix('\n').unwrap_or(captured),
        false => captured,
    }
    .to_string();
    let index = b.print(text);
    b.went(ins, pc, index, next, Cost::Print)
}

/// `print()` into the process's `sys.stdout` buffer, which goes out if the
/// stream's buffering (or `flush=True`) says so.
fn buf_print<B: Backend>(b: &mut B, ins: Instr, pc: Pc) -> Flow {
    let Instr::BufPrint {
        fmt,
        nargs,
        stdout,
        space_end,
        flush,
        end,
    } = ins
    else {
        return b.went(ins, pc, NONE, pc + 1, Cost::Instr);
    };
    let mut text = format(b, fmt, nargs);
    if end {
        text.push(if space_end { ' ' } else { '\n' });
    }
    let waiting = b.stdout_add(&text);
    if flush || b.stdout_is(stdout).flushes(&text, waiting) {
        return write_out(b, ins, pc);
    }
    // Nothing reached the terminal: the event records how many bytes wait,
    // negated (never an output's index).
    b.went(ins, pc, -(waiting as Value), pc + 1, Cost::Instr)
}

/// Writes out the process's `sys.stdout` buffer as one write (one line of output,
/// which may hold several lines); the event records the output's index, or
/// [`NONE`] when the buffer was empty (never an index, so a live run links no
/// line to it). A write that does not end with a newline leaves the terminal's
/// line open: the next write, from any process, goes on after it
/// ([`Backend::print_open`]).
fn write_out<B: Backend>(b: &mut B, ins: Instr, pc: Pc) -> Flow {
    let text = b.stdout_take();
    if text.is_empty() {
        return b.went(ins, pc, NONE, pc + 1, Cost::Instr);
    }
    let index = match text.strip_suffix('\n') {
        Some(line) => b.print(line.to_string()),
        None => b.print_open(text),
    };
    b.went(ins, pc, index, pc + 1, Cost::Print)
}

/// `threading.get_ident()` or `os.getpid()` from a program of threads.
fn ident<B: Backend>(b: &mut B, of: crate::program::IdentOf) -> Value {
    match of {
        crate::program::IdentOf::Thread => b.ident(),
        crate::program::IdentOf::Process => b.pid(),
    }
}

/// Pushes `v`, which is also what the instruction's event records.
#[inline(always)]
fn push<B: Backend>(b: &mut B, v: Value) -> Value {
    b.frame().stack.push(v);
    v
}

#[inline(always)]
fn pop<B: Backend>(b: &mut B) -> Value {
    b.frame().stack.pop().unwrap_or(0)
}

/// `print(...)`: pops the arguments and fills the format.
fn format<B: Backend>(b: &mut B, fmt: StrId, nargs: u8) -> String {
    let stack = b.frame().stack;
    let at = stack.len().saturating_sub(nargs as usize);
    let args: Vec<Value> = stack.drain(at..).collect();
    let p = b.program();
    fill_format(
        p.str(fmt),
        &args,
        &p.actors[b.actor() as usize].name,
        &p.strings,
    )
}
