//! The instruction set both engines run: per-actor instruction lists tagged with Python lines.

mod builder;
pub mod pytext;

pub use builder::{ActorBuilder, Label, ProgramBuilder};

use serde::{Deserialize, Serialize};
use std::fmt;

/// Every value a lesson program computes with.
pub type Value = i64;
/// Index of an actor (a thread or a process's main thread) in [`Program::actors`].
pub type ActorId = u16;
/// Index of a shared variable in [`Program::vars`].
pub type VarId = u16;
/// Index of a lock in [`Program::locks`].
pub type LockId = u16;
/// Index of an actor-local slot (Python's fast locals).
pub type LocalId = u16;
/// Index into [`Program::strings`].
pub type StrId = u16;
/// Index of a `multiprocessing.Queue` in [`Program::queues`].
pub type QueueId = u16;
/// One end of a `Pipe()`: pipe `k` has ends `2k` and `2k + 1` ([`Program::pipes`]).
pub type ConnId = u16;
/// Index of an instruction in its actor's code.
pub type Pc = u32;
/// What `p.exitcode` (and any other attribute that can be `None`) holds before it
/// has a value: prints as `None`.
pub const NONE: Value = i64::MIN;

/// Where the values that stand for a Python `str` begin: `STR_BASE + id` is
/// the program string `id` (a `conn.send('Hello shiyanlou')`). No lesson
/// computes with numbers this far down, so a number is never taken for a
/// string; `print` shows the text, and a live pipe or queue carries its bytes
/// (`live::ipc::send_message`).
pub const STR_BASE: Value = i64::MIN + (1 << 20);

/// The value that stands for program string `id` (see [`STR_BASE`]).
pub const fn str_value(id: StrId) -> Value {
    STR_BASE + id as Value
}

/// The program string a value stands for, if it is one (see [`STR_BASE`]).
pub fn as_str_id(v: Value) -> Option<StrId> {
    v.checked_sub(STR_BASE)
        .and_then(|i| StrId::try_from(i).ok())
}

/// Arithmetic a `BINARY_OP` performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    /// `a > b` (CPython's `COMPARE_OP >`): 1 or 0.
    Gt,
    /// `x += b`: the same sum, written in place (CPython's dis tells it apart).
    IAdd,
    /// `x -= b`.
    ISub,
    /// `a == b` (CPython's `COMPARE_OP ==`): 1 or 0.
    Eq,
}

impl BinOp {
    pub fn apply(self, a: Value, b: Value) -> Value {
        match self {
            BinOp::Add | BinOp::IAdd => a.wrapping_add(b),
            BinOp::Sub | BinOp::ISub => a.wrapping_sub(b),
            BinOp::Mul => a.wrapping_mul(b),
            BinOp::Gt => (a > b) as Value,
            BinOp::Eq => (a == b) as Value,
        }
    }
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Gt => ">",
            BinOp::IAdd => "+=",
            BinOp::ISub => "-=",
            BinOp::Eq => "==",
        }
    }

    /// The instruction as CPython 3.`minor`'s `dis` prints it (checked against
    /// tools/measure/dis/*.json, which tools/measure/dis_listings.py writes).
    pub fn dis(self, minor: u8) -> String {
        let old = match self {
            BinOp::Add => "BINARY_ADD",
            BinOp::Sub => "BINARY_SUBTRACT",
            BinOp::Mul => "BINARY_MULTIPLY",
            BinOp::IAdd => "INPLACE_ADD",
            BinOp::ISub => "INPLACE_SUBTRACT",
            BinOp::Gt | BinOp::Eq => "",
        };
        // NB_* operator numbers of 3.11+ (Include/opcode.h).
        let nb = match self {
            BinOp::Add => 0,
            BinOp::Sub => 10,
            BinOp::Mul => 5,
            BinOp::IAdd => 13,
            BinOp::ISub => 23,
            BinOp::Gt | BinOp::Eq => 0,
        };
        match (self, minor) {
            (BinOp::Gt, ..=11) => "COMPARE_OP 4 (>)".to_string(),
            (BinOp::Gt, 12) => "COMPARE_OP 68 (>)".to_string(),
            (BinOp::Gt, _) => "COMPARE_OP 148 (bool(>))".to_string(),
            // Measured with dis on 3.8, 3.11, 3.12 and 3.13.
            (BinOp::Eq, ..=11) => "COMPARE_OP 2 (==)".to_string(),
            (BinOp::Eq, 12) => "COMPARE_OP 40 (==)".to_string(),
            (BinOp::Eq, _) => "COMPARE_OP 88 (bool(==))".to_string(),
            (_, ..=10) => old.to_string(),
            _ => format!("BINARY_OP {nb} ({})", self.symbol()),
        }
    }
}

/// The instructions [`Instr::exec_local`] runs, as a pattern: each engine's match
/// hands them over in one arm, and a new local instruction is added here only.
macro_rules! local_instr {
    () => {
        $crate::program::Instr::Nop(_)
            | $crate::program::Instr::Opcode(_)
            | $crate::program::Instr::Call(_)
            | $crate::program::Instr::Return
            | $crate::program::Instr::LoadConst(_)
            | $crate::program::Instr::LoadFast(_)
            | $crate::program::Instr::StoreFast(_)
            | $crate::program::Instr::BinaryOp(_)
            | $crate::program::Instr::ForRange { .. }
            | $crate::program::Instr::JumpBackward(_)
            | $crate::program::Instr::PopJumpIfFalse(_)
    };
}
pub(crate) use local_instr;

/// The instructions of threads that are neither local ([`local_instr`]) nor
/// between processes ([`process_instr`]), as a pattern: the three together name
/// every instruction.
macro_rules! thread_instr {
    () => {
        $crate::program::Instr::LoadGlobal(_)
            | $crate::program::Instr::StoreGlobal(_)
            | $crate::program::thread_call_instr!()
    };
}
pub(crate) use thread_instr;

/// The instructions of threads beyond a local step or a global's load and store
/// (part of [`thread_instr`]): what they do depends on, or touches, more than the
/// actor's own frame and one variable.
macro_rules! thread_call_instr {
    () => {
        $crate::program::Instr::Acquire(_)
            | $crate::program::Instr::Release(_)
            | $crate::program::Instr::Start(_)
            | $crate::program::Instr::Join(_)
            | $crate::program::Instr::JoinFor { .. }
            | $crate::program::Instr::Print { .. }
            | $crate::program::Instr::Sleep(_)
            | $crate::program::Instr::Work(_)
            | $crate::program::Instr::TlsSet { .. }
            | $crate::program::Instr::TlsGet(_)
            | $crate::program::Instr::Clock { .. }
            | $crate::program::Instr::Ident(_)
            | $crate::program::Instr::Raise(_)
            | $crate::program::Instr::Exit(_)
            | $crate::program::cond_instr!()
            | $crate::program::aio_instr!()
            | $crate::program::Instr::ListStore { .. }
            | $crate::program::barrier_instr!()
            | $crate::program::sync_instr!()
    };
}
pub(crate) use thread_call_instr;

/// Every instruction but the local ones and a global's load and store, as a
/// pattern: what the simulator's fast paths hand back to the general step.
macro_rules! general_instr {
    () => {
        $crate::program::thread_call_instr!() | $crate::program::process_instr!()
    };
}
pub(crate) use general_instr;

/// The asyncio instructions, as a pattern (part of [`thread_instr`]): the
/// actors of a program that has them are tasks of one event loop
/// ([`Program::event_loop`]).
macro_rules! aio_instr {
    () => {
        $crate::program::Instr::AioSleep(_)
            | $crate::program::Instr::AioBlock(_)
            | $crate::program::Instr::AioAcquire(_)
            | $crate::program::Instr::AioRelease(_)
    };
}
pub(crate) use aio_instr;

/// The `threading.Condition` instructions, as a pattern (part of [`thread_instr`]).
macro_rules! cond_instr {
    () => {
        $crate::program::Instr::CondWait(_)
            | $crate::program::Instr::CondSleep(_)
            | $crate::program::Instr::CondNotify { .. }
    };
}
pub(crate) use cond_instr;

/// The `threading.Barrier` instructions, as a pattern (part of [`thread_instr`]).
macro_rules! barrier_instr {
    () => {
        $crate::program::Instr::BarrierWait { .. }
            | $crate::program::Instr::BarrierSleep { .. }
            | $crate::program::Instr::BarrierAbort(_)
    };
}
pub(crate) use barrier_instr;
/// The semaphore and event instructions, as a pattern (part of [`thread_instr`]).
macro_rules! sync_instr {
    () => {
        $crate::program::Instr::SemAcquire(_)
            | $crate::program::Instr::SemRelease { .. }
            | $crate::program::Instr::EventSet(_)
            | $crate::program::Instr::EventClear(_)
            | $crate::program::Instr::EventWait { .. }
            | $crate::program::Instr::EventIsSet(_)
    };
}
pub(crate) use sync_instr;

/// The process calls that push what they return (a PID, `is_alive()`, an exit
/// code), as a pattern.
macro_rules! pid_instr {
    () => {
        $crate::program::Instr::Fork(_)
            | $crate::program::Instr::ForkChild
            | $crate::program::Instr::GetPid
            | $crate::program::Instr::GetPpid
            | $crate::program::Instr::ProcPid(_)
            | $crate::program::Instr::ProcAlive(_)
            | $crate::program::Instr::ProcExitCode(_)
    };
}
pub(crate) use pid_instr;

/// The instructions that only make sense between processes, as a pattern.
macro_rules! process_instr {
    () => {
        $crate::program::pid_instr!()
            | $crate::program::Instr::Terminate(_)
            | $crate::program::Instr::QueuePut { .. }
            | $crate::program::Instr::QueueGet { .. }
            | $crate::program::Instr::FileRead(_)
            | $crate::program::Instr::FileWrite(_)
            | $crate::program::Instr::PipeSend(_)
            | $crate::program::Instr::PipeRecv { .. }
            | $crate::program::Instr::PipeClose(_)
            | $crate::program::Instr::RunProgram { .. }
            | $crate::program::Instr::PrintCaptured { .. }
            | $crate::program::Instr::QueueAsk { .. }
            | $crate::program::Instr::QueueTry { .. }
            | $crate::program::Instr::BufPrint { .. }
            | $crate::program::Instr::Flush(_)
            | $crate::program::Instr::QueueReady(_)
    };
}
pub(crate) use process_instr;

/// What [`Instr::QueueAsk`] asks a `multiprocessing.Queue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QueueAsk {
    /// `q.qsize()`: how many items were put and not yet got.
    Size,
    /// `q.empty()`: 1 (True) or 0.
    Empty,
    /// `q.full()`: 1 (True) or 0; never True for an unbounded queue.
    Full,
}

impl QueueAsk {
    pub fn method(self) -> &'static str {
        match self {
            QueueAsk::Size => "qsize",
            QueueAsk::Empty => "empty",
            QueueAsk::Full => "full",
        }
    }
}

/// The instructions that never leave their actor blocked (on a lock, a join, a
/// queue, a pipe or a program it runs; a sleeper sleeps, it is not blocked), as
/// a pattern. The tables that say what a blocked actor waits on name every
/// other instruction, so an instruction that can block is a compile error in
/// each of them until it is given its answer there. Add a new instruction here
/// only if it can never block.
macro_rules! never_blocks {
    () => {
        $crate::program::local_instr!()
            | $crate::program::Instr::LoadGlobal(_)
            | $crate::program::Instr::StoreGlobal(_)
            | $crate::program::Instr::Release(_)
            | $crate::program::Instr::Start(_)
            | $crate::program::Instr::Print { .. }
            | $crate::program::Instr::Sleep(_)
            | $crate::program::Instr::Work(_)
            | $crate::program::Instr::TlsSet { .. }
            | $crate::program::Instr::TlsGet(_)
            | $crate::program::Instr::Clock { .. }
            | $crate::program::Instr::Ident(_)
            | $crate::program::Instr::Raise(_)
            | $crate::program::Instr::Exit(_)
            | $crate::program::Instr::Fork(_)
            | $crate::program::Instr::ForkChild
            | $crate::program::Instr::GetPid
            | $crate::program::Instr::GetPpid
            | $crate::program::Instr::ProcPid(_)
            | $crate::program::Instr::ProcAlive(_)
            | $crate::program::Instr::ProcExitCode(_)
            | $crate::program::Instr::Terminate(_)
            | $crate::program::Instr::FileRead(_)
            | $crate::program::Instr::FileWrite(_)
            | $crate::program::Instr::PipeSend(_)
            | $crate::program::Instr::PipeClose(_)
            | $crate::program::Instr::PrintCaptured { .. }
            | $crate::program::Instr::CondWait(_)
            | $crate::program::Instr::CondNotify { .. }
            | $crate::program::Instr::QueueAsk { .. }
            | $crate::program::Instr::BufPrint { .. }
            | $crate::program::Instr::Flush(_)
            | $crate::program::Instr::QueueReady(_)
            | $crate::program::Instr::AioSleep(_)
            | $crate::program::Instr::AioBlock(_)
            | $crate::program::Instr::AioRelease(_)
            | $crate::program::Instr::ListStore { .. }
            | $crate::program::Instr::BarrierAbort(_)
            | $crate::program::Instr::SemRelease { .. }
            | $crate::program::Instr::EventSet(_)
            | $crate::program::Instr::EventClear(_)
            | $crate::program::Instr::EventIsSet(_)
    };
}
pub(crate) use never_blocks;

/// One instruction. Names follow CPython's `dis` where there is a counterpart; the
/// library calls (locks, threads, print, sleep, CPU work) are single operations.
///
/// Kept `Copy` and small: the simulator reads one per step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Instr {
    /// A line that matters for reading the program but has no concurrent effect
    /// (`t1 = Thread(...)`): shown as `CALL <label>`.
    Nop(StrId),
    LoadConst(Value),
    LoadFast(LocalId),
    StoreFast(LocalId),
    LoadGlobal(VarId),
    StoreGlobal(VarId),
    BinaryOp(BinOp),
    /// `for _ in range(limit)`: bump the counter local, or jump to `exit` when done.
    ForRange {
        counter: LocalId,
        limit: u32,
        exit: Pc,
    },
    JumpBackward(Pc),
    /// Entering a Python function (CPython's `CALL` + `RESUME`): a switch point
    /// under the modern GIL.
    Call(StrId),
    Return,
    Acquire(LockId),
    Release(LockId),
    Start(ActorId),
    Join(ActorId),
    /// `print(...)`: pops `nargs` values and fills the `{}` holes of the format;
    /// `{thread}` is the printing actor's name (`current_thread().name`).
    Print {
        fmt: StrId,
        nargs: u8,
    },
    /// `time.sleep(µs)`: blocks without holding the GIL.
    Sleep(u32),
    /// CPU-bound work of this many units (one unit ≈ one loop iteration of a
    /// countdown), done while holding the GIL.
    Work(u32),
    // -- thread lessons (threads, thread-local, deadlock, gil) --
    /// `local.attr = value`: pops a value into this thread's own `threading.local()`
    /// dictionary; `value_is_str` says the value is a string id (shown quoted).
    TlsSet {
        attr: StrId,
        value_is_str: bool,
    },
    /// `local.attr`: pushes this thread's value, or raises CPython's
    /// `AttributeError` when this thread never set it.
    TlsGet(StrId),
    /// `time.perf_counter()` (`cpu` false) or the CPU time of every thread and
    /// worker so far (`cpu` true), in ns.
    Clock {
        cpu: bool,
    },
    /// An uncaught exception: prints `Exception in thread …` and the message (a
    /// string like `AttributeError: …`), and the actor ends with exit code 1.
    Raise(StrId),
    // Processes (multiprocessing, os). A process is the actor that is its first
    // thread: `Start`/`Join` of such an actor start and join the process.
    /// `os.fork()` in the parent: starts the child process (the actor given, whose
    /// code is the child's side) with a copy of this process's memory; pushes its PID.
    Fork(ActorId),
    /// The child's side of `os.fork()`: pushes 0.
    ForkChild,
    /// `os.getpid()`.
    GetPid,
    /// `os.getppid()`.
    GetPpid,
    /// `p.pid` of a process actor ([`NONE`] before it starts).
    ProcPid(ActorId),
    /// `p.is_alive()`: pushes 1 or 0.
    ProcAlive(ActorId),
    /// `p.exitcode`: [`NONE`] while it runs, −N when signal N ended it.
    ProcExitCode(ActorId),
    /// `p.terminate()`: sends SIGTERM.
    Terminate(ActorId),
    /// `q.put(v)` / `q.put(v, False)`: pops the value; when the queue is full it
    /// blocks, or raises `queue.Full`.
    QueuePut {
        q: QueueId,
        block: bool,
    },
    /// `q.get()` / `q.get_nowait()`: pushes the value; when the queue is empty it
    /// blocks, or raises `_queue.Empty`.
    QueueGet {
        q: QueueId,
        block: bool,
    },
    /// `json.load(open(name))['count']`: reads the number kept in the file that the
    /// (shared) variable names; pushes it.
    FileRead(VarId),
    /// `json.dump({'count': v}, open(name, 'w'))`: pops a number and writes it.
    FileWrite(VarId),
    /// `if x:` — pops a value and jumps when it is false (0).
    PopJumpIfFalse(Pc),
    /// `conn.send(v)` on a `Pipe()` end: pops the value.
    PipeSend(ConnId),
    /// `conn.recv()`: pushes the next value; waits while the pipe is empty and some
    /// process still holds the other end; when none does, `EOFError` jumps to `eof`.
    PipeRecv {
        conn: ConnId,
        eof: Pc,
    },
    /// `conn.close()`: closes this process's copy of the end.
    PipeClose(ConnId),
    /// `subprocess.call(argv)` or `Popen(argv, …).communicate(input)`: runs an
    /// external program (`argv` words separated by U+001F) with `input` on its
    /// stdin as the process actor `child`, waits for it, keeps what it wrote to
    /// the pipe for [`Instr::PrintCaptured`], and pushes its exit code (−N for
    /// signal N). The child's own code stands for the program: `CALL exec …`, a
    /// `print` of what it writes to the terminal (`call()` only), its exit. Live,
    /// the program really runs and its rows carry its real PID; the simulator
    /// cannot run programs: its child prints `sim_output` and exits with `sim_code`.
    RunProgram {
        argv: StrId,
        input: StrId,
        sim_output: StrId,
        sim_code: i8,
        child: ActorId,
    },
    /// Prints what the last program run wrote: `print(output.decode())`, or, with
    /// `skip_empty`, the program's own output to the shared terminal.
    PrintCaptured {
        skip_empty: bool,
    },
    /// The actor ends here (end of a thread's target, or `sys.exit(code)`).
    Exit(i32),
    // -- threading.Condition (issue 16). A condition is named by its lock (the
    // lock `with cond:` takes); `cond.wait()` is three instructions on its line,
    // as CPython's `Condition.wait` is three steps: `CondWait`, `CondSleep`, then
    // an `Acquire` of the lock again.
    /// `cond.wait()`, first step: puts the actor on the condition's waiters and
    /// releases the lock (which it holds).
    CondWait(LockId),
    /// `cond.wait()`, second step: sleeps until a notify takes the actor off the
    /// waiters. A notify that came before `CondWait` does not count: it is lost.
    CondSleep(LockId),
    /// `cond.notify()` (`all` false: wakes the longest waiter, if any) or
    /// `cond.notify_all()`; pushes nothing, records how many it woke.
    CondNotify {
        cond: LockId,
        all: bool,
    },
    // -- the queue-api lesson
    /// `q.qsize()`, `q.empty()`, `q.full()`: pushes what the queue says at this
    /// moment (a hint: other processes may put or get right after).
    QueueAsk {
        q: QueueId,
        ask: QueueAsk,
    },
    /// `try: q.put(v, True, t)` / `q.put_nowait(v)` (`put`, pops the value) or
    /// `q.get(True, t)` / `q.get_nowait()` (pushes the value), `except queue.Full`
    /// / `except queue.Empty`: jumps to `fail` when the queue stayed full (empty)
    /// for `timeout_us` µs (0: does not wait).
    QueueTry {
        q: QueueId,
        put: bool,
        timeout_us: u32,
        fail: Pc,
    },
    // -- the buffering lesson: print() into the process's own `sys.stdout` buffer --
    /// `print(...)` through the process's `sys.stdout` buffer (the buffering
    /// lesson): pops `nargs` values, fills the format, adds `end` (a newline, or a
    /// space for `end=' '`) and appends it to the process's buffer, which goes out
    /// as [`Stdout`] says (and at once with `flush=True`). A plain [`Instr::Print`]
    /// reaches the terminal at once, as every other lesson's print does.
    ///
    /// `end: false` writes only the text, and a second `BufPrint` (format `""`,
    /// no arguments, `end: true`) writes the end: what `print` does under
    /// `python -u`, where each of its `file.write` calls is one `write(2)`, so
    /// another process's write can come between the two (RESULTS §19.4).
    BufPrint {
        fmt: StrId,
        nargs: u8,
        stdout: Stdout,
        space_end: bool,
        flush: bool,
        end: bool,
    },
    /// Writes out what the process's `sys.stdout` buffer holds, as one write.
    Flush(FlushBy),
    // -- pool-results (issue 15) --
    /// `r.ready()` of a Pool's `AsyncResult` whose result comes back on queue
    /// `q`: pushes 1 when a `get` from it would not wait, else 0; never waits.
    QueueReady(QueueId),
    // -- the cpython engine (src/cpython/record.rs) --
    // -- the memory lesson (issue 15): a Python list of small ints, kept in one
    // variable (see `pytext::list_pack`); each process has its own copy unless
    // the variable is shared (`multiprocessing.Array`).
    /// `numbers.append(v)` (`index` [`LIST_APPEND`]) or `numbers[index] = v`:
    /// pops the value and changes the list in one step (a list's `append` is one
    /// C call under the GIL). The event records the list after it.
    ListStore {
        var: VarId,
        index: u8,
    },
    /// One real CPython opcode with no effect the trace models (`LOAD_FAST x`,
    /// `BINARY_OP +`): the label is what `dis` calls it. Only programs built from
    /// a real interpreter's run have it; the engines run it as a no-op.
    Opcode(StrId),
    // -- threading.Barrier (issue 16). A barrier is named by a lock of the program
    // (its name is the barrier's; no thread ever holds it). `barrier.wait()` is two
    // instructions on its line, as CPython's `Barrier.wait` is two waits under the
    // barrier's condition: `_enter` and the arrival (`BarrierWait`), then `_wait`
    // and `_exit` (`BarrierSleep`).
    /// `barrier.wait()`, first step: waits while the barrier drains (the parties
    /// of the last trip have not all left yet); on a broken barrier jumps to
    /// `broken` (`except threading.BrokenBarrierError:`); else pushes the
    /// arrival's index (0 for the first) and, as the `parties`-th to arrive,
    /// trips the barrier: every party waiting at it may go.
    BarrierWait {
        barrier: LockId,
        parties: u8,
        broken: Pc,
    },
    /// `barrier.wait()`, second step: waits until the barrier trips or breaks,
    /// or `timeout_us` µs (0: no timeout), after which it breaks the barrier
    /// itself; then leaves it. Broken: pops the index and jumps to `broken`.
    BarrierSleep {
        barrier: LockId,
        timeout_us: u32,
        broken: Pc,
    },
    /// `barrier.abort()`: breaks the barrier; every party waiting at it, and
    /// every later `wait()`, raises `BrokenBarrierError`.
    BarrierAbort(LockId),
    // -- threading.Semaphore / BoundedSemaphore, multiprocessing.Semaphore and
    // threading.Event (issue 16). A semaphore's counter (CPython's
    // `sem._value`) and an event's flag are variables of the program: shared
    // memory between processes, and the state panel shows them.
    /// `sem.acquire()` (`with sem:`): waits while the counter is 0, then takes
    /// one, in one step; records the counter after.
    SemAcquire(VarId),
    /// `sem.release()`: gives one back and wakes a waiter; records the counter
    /// after. `bound` > 0 is a `BoundedSemaphore(bound)`: a release that would
    /// take the counter above it changes nothing and jumps to `fail`, where the
    /// program raises `ValueError` (a [`Instr::Raise`]).
    SemRelease {
        sem: VarId,
        bound: u16,
        fail: Pc,
    },
    /// `ev.set()`: the flag becomes 1 and every waiter wakes.
    EventSet(VarId),
    /// `ev.clear()`: the flag becomes 0.
    EventClear(VarId),
    /// `ev.wait()` (`timeout_us` 0: for ever) or `ev.wait(timeout)`: waits until
    /// the flag is set or the timeout passed; pushes the flag (True / False).
    EventWait {
        ev: VarId,
        timeout_us: u32,
    },
    /// `ev.is_set()`: pushes the flag.
    EventIsSet(VarId),
    // -- knobs15: the process lesson's `p.join(timeout)` --
    /// `p.join(timeout)`: waits until process (or thread) `t` has ended or
    /// `timeout_us` µs have passed, whichever comes first, and returns None
    /// either way (`is_alive()` tells which).
    JoinFor {
        t: ActorId,
        timeout_us: u32,
    },
    // -- asyncio (issue 16). The actors are the tasks of one event loop on one
    // thread ([`Program::event_loop`]): one task runs at a time, and the loop
    // passes to another only where the running task awaits something that is
    // not ready (it sleeps, waits for a lock or a task) or ends.
    /// `await asyncio.sleep(t)` (µs): the task gives the loop back. With 0 it
    /// is ready again at once, behind the tasks already ready; else its timer
    /// wakes it.
    AioSleep(u32),
    /// `time.sleep(t)` (µs) called in a coroutine: it never gives the loop
    /// back, so every task of the loop waits with it.
    AioBlock(u32),
    /// `async with lock:` on an `asyncio.Lock`: takes it, without giving the
    /// loop back, when it is free and no task waits for it; else waits in line
    /// (first come, first served).
    AioAcquire(LockId),
    /// The end of `async with lock:`: frees the lock and wakes the first task
    /// in line, which takes it when it runs; the releasing task goes on.
    AioRelease(LockId),
    // -- ident15: who is running, from a program of threads (issue 15) --
    /// `threading.get_ident()` ([`IdentOf::Thread`]) or `os.getpid()`
    /// ([`IdentOf::Process`]) in a program of threads: pushes the number. Not a
    /// process operation, so the program stays on threads.
    Ident(IdentOf),
}

/// What [`Instr::Ident`] asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdentOf {
    /// `threading.get_ident()`: CPython's `pthread_self()` as an integer,
    /// different for every live thread of a process.
    Thread,
    /// `os.getpid()`: the same for every thread of a process.
    Process,
}

/// [`Instr::ListStore`]'s index for `append`.
pub const LIST_APPEND: u8 = u8::MAX;

/// What the process's `sys.stdout` is, as CPython's `io.TextIOWrapper` sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Stdout {
    /// A terminal: line-buffered (a write holding a newline flushes the buffer).
    Tty,
    /// A pipe or a file: block-buffered (flushed when 8192 bytes are waiting, on
    /// `flush()`, and at exit).
    Pipe,
    /// `python -u` (or `PYTHONUNBUFFERED`): every write goes out at once.
    Unbuffered,
}

/// Who flushes: the program (`sys.stdout.flush()`), multiprocessing before it
/// starts a child (`Process.start()` flushes stdout and stderr), or the
/// interpreter as the process exits normally (a process killed by a signal never
/// gets there).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FlushBy {
    Program,
    Start,
    Exit,
}

/// `io.DEFAULT_BUFFER_SIZE`: a block-buffered stdout writes once this much waits.
pub const STDOUT_BLOCK: usize = 8192;

impl FlushBy {
    /// `dis`-style text of the flush.
    pub fn dis(self) -> &'static str {
        match self {
            FlushBy::Program => "CALL sys.stdout.flush",
            FlushBy::Start => "(p.start() flushes sys.stdout)",
            FlushBy::Exit => "(the interpreter flushes sys.stdout at exit)",
        }
    }
}

impl Stdout {
    /// The buffering a process uses when its stdout is a real file: what the
    /// lesson asked for, unless `python -u`, decided by whether the file is a
    /// terminal, as CPython decides it at start-up.
    pub fn on_real_file(self, isatty: bool) -> Stdout {
        match self {
            Stdout::Unbuffered => Stdout::Unbuffered,
            Stdout::Tty | Stdout::Pipe if isatty => Stdout::Tty,
            Stdout::Tty | Stdout::Pipe => Stdout::Pipe,
        }
    }

    /// Whether the buffer goes out after `text` was appended to it (`waiting`:
    /// the buffer's length with it): CPython's TextIOWrapper flushes on a newline
    /// when line-buffered, always when write-through, and its buffer writes once
    /// a block is full.
    pub fn flushes(self, text: &str, waiting: usize) -> bool {
        match self {
            Stdout::Tty => text.contains('\n') || waiting >= STDOUT_BLOCK,
            Stdout::Pipe => waiting >= STDOUT_BLOCK,
            Stdout::Unbuffered => true,
        }
    }
}

/// A Python `str`'s `repr()` for the short ASCII texts lessons send: quoted
/// with `'`, or with `"` when it holds a `'` (as CPython chooses).
pub fn py_repr(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

impl Instr {
    /// Runs an instruction that touches only its actor's own operand stack and
    /// locals, the same way in every engine: gives the value the trace records and
    /// the next pc. `None` for every other instruction, which each engine runs its
    /// own way (shared memory, locks, the GIL, processes, output).
    #[inline(always)]
    pub fn exec_local(
        self,
        stack: &mut Vec<Value>,
        locals: &mut [Value],
        pc: Pc,
    ) -> Option<(Value, Pc)> {
        let next = pc + 1;
        Some(match self {
            Instr::Nop(_) | Instr::Opcode(_) | Instr::Call(_) | Instr::Return => (0, next),
            Instr::LoadConst(v) => {
                stack.push(v);
                (v, next)
            }
            Instr::LoadFast(l) => {
                let v = locals[l as usize];
                stack.push(v);
                (v, next)
            }
            Instr::StoreFast(l) => {
                let v = stack.pop().unwrap_or(0);
                locals[l as usize] = v;
                (v, next)
            }
            Instr::BinaryOp(op) => {
                let rhs = stack.pop().unwrap_or(0);
                let lhs = stack.pop().unwrap_or(0);
                let v = op.apply(lhs, rhs);
                stack.push(v);
                (v, next)
            }
            Instr::ForRange {
                counter,
                limit,
                exit,
            } => {
                let c = locals[counter as usize];
                if c < limit as Value {
                    locals[counter as usize] = c + 1;
                    (c + 1, next)
                } else {
                    (c, exit)
                }
            }
            Instr::JumpBackward(t) => (0, t),
            Instr::PopJumpIfFalse(t) => {
                let v = stack.pop().unwrap_or(0);
                (v, if v == 0 { t } else { next })
            }
            thread_instr!() | process_instr!() => return None,
        })
    }

    /// Whether CPython ≥ 3.10 may switch threads right after this instruction: at
    /// calls (function entry) and loop back-edges, and around every blocking call.
    /// Every instruction is named, so a new one is a switch point only if said so.
    pub fn is_switch_point(self) -> bool {
        match self {
            Instr::LoadConst(_)
            | Instr::LoadFast(_)
            | Instr::StoreFast(_)
            | Instr::LoadGlobal(_)
            | Instr::StoreGlobal(_)
            | Instr::BinaryOp(_)
            | Instr::ForRange { .. }
            | Instr::Return
            | Instr::TlsSet { .. }
            | Instr::TlsGet(_)
            | Instr::Opcode(_) => false,
            // `numbers.append(v)` is a call; `numbers[i] = v` is STORE_SUBSCR.
            Instr::ListStore { index, .. } => index == LIST_APPEND,
            Instr::Nop(_)
            | Instr::Call(_)
            | Instr::JumpBackward(_)
            | Instr::PopJumpIfFalse(_)
            | Instr::Acquire(_)
            | Instr::Release(_)
            | Instr::Start(_)
            | Instr::Join(_)
            | Instr::JoinFor { .. }
            | Instr::Print { .. }
            | Instr::Sleep(_)
            | Instr::Work(_)
            | Instr::Clock { .. }
            | Instr::Ident(_)
            | Instr::Raise(_)
            | Instr::Exit(_)
            | cond_instr!()
            | barrier_instr!()
            | sync_instr!()
            | aio_instr!()
            | process_instr!() => true,
        }
    }

    /// Whether an event loop ([`Program::event_loop`]) may run another task
    /// right after this instruction, its task still ready: only an `await`
    /// that gives the loop back. (A task that waits or ends gives it back too.)
    pub fn yields_loop(self) -> bool {
        matches!(self, Instr::AioSleep(_))
    }

    /// The library operations a student thinks of as one call.
    pub fn is_library_call(self) -> bool {
        match self {
            Instr::Acquire(_)
            | Instr::Release(_)
            | Instr::Start(_)
            | Instr::Join(_)
            | Instr::JoinFor { .. }
            | Instr::Print { .. }
            | Instr::Sleep(_)
            | Instr::Work(_)
            | Instr::Clock { .. }
            | Instr::Ident(_)
            | Instr::Raise(_)
            | Instr::Exit(_)
            | Instr::Fork(_)
            | Instr::GetPid
            | Instr::GetPpid
            | Instr::ProcAlive(_)
            | Instr::Terminate(_)
            | Instr::QueuePut { .. }
            | Instr::QueueGet { .. }
            | Instr::FileRead(_)
            | Instr::FileWrite(_)
            | Instr::PipeSend(_)
            | Instr::PipeRecv { .. }
            | Instr::PipeClose(_)
            | Instr::RunProgram { .. }
            | Instr::PrintCaptured { .. }
            | Instr::QueueAsk { .. }
            | Instr::QueueTry { .. } => true,
            Instr::BufPrint { .. } => true,
            // The interpreter's own flushes are steps of their own; a program's
            // `sys.stdout.flush()` is a call.
            Instr::Flush(by) => by == FlushBy::Program,
            Instr::QueueReady(_) => true,
            cond_instr!() => true,
            aio_instr!() => true,
            Instr::ListStore { index, .. } => index == LIST_APPEND,
            barrier_instr!() => true,
            sync_instr!() => true,
            // Attributes and the interpreter's own steps.
            Instr::ForkChild
            | Instr::ProcPid(_)
            | Instr::ProcExitCode(_)
            | Instr::TlsSet { .. }
            | Instr::TlsGet(_)
            | local_instr!()
            | Instr::LoadGlobal(_)
            | Instr::StoreGlobal(_) => false,
        }
    }

    /// Whether the instruction only makes sense between processes.
    pub fn is_process_op(self) -> bool {
        matches!(self, process_instr!())
    }
}

/// Where a thread switch may happen (DESIGN.md, "Preemption and the GIL").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GilModel {
    /// No GIL, like CPython 3.13t: any instruction, threads truly parallel.
    Free,
    /// CPython ≤ 3.9: any instruction boundary, once the switch interval is up.
    Classic,
    /// CPython ≥ 3.10: only at calls and loop back-edges.
    Modern,
}

impl GilModel {
    pub const ALL: [GilModel; 3] = [GilModel::Free, GilModel::Classic, GilModel::Modern];

    pub fn name(self) -> &'static str {
        match self {
            GilModel::Free => "free",
            GilModel::Classic => "gil-classic",
            GilModel::Modern => "gil-modern",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    pub fn has_gil(self) -> bool {
        self != GilModel::Free
    }

    /// Whether the GIL may pass to another thread right after `last` executed.
    pub fn may_switch_after(self, last: Instr) -> bool {
        match self {
            GilModel::Free | GilModel::Classic => true,
            GilModel::Modern => last.is_switch_point(),
        }
    }
}

/// How much one scheduler step executes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Granularity {
    /// A whole Python line is one step.
    Line,
    /// One instruction is one step.
    Bytecode,
}

impl Granularity {
    pub fn name(self) -> &'static str {
        match self {
            Granularity::Line => "line",
            Granularity::Bytecode => "bytecode",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Granularity::Line, Granularity::Bytecode]
            .into_iter()
            .find(|g| g.name() == s)
    }
}

/// How an engine runs a program: the knobs every lesson shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EngineConfig {
    pub gil: GilModel,
    pub granularity: Granularity,
    /// CPython's `sys.getswitchinterval()`, 5 ms by default since 3.2.
    pub switch_interval_ns: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            gil: GilModel::Classic,
            granularity: Granularity::Bytecode,
            switch_interval_ns: 5_000_000,
        }
    }
}

/// Whether an actor is a thread inside a process or the first thread of a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActorKind {
    /// A process's first thread (`MainThread`), the one that exists without `start()`.
    Main,
    Thread,
}

/// One actor's code and identity.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Actor {
    pub name: String,
    pub kind: ActorKind,
    /// Which simulated process the actor lives in; each process has its own GIL.
    pub process: u16,
    /// Runs from the beginning (a `Main`) or waits for a `Start`.
    pub autostart: bool,
    pub code: Vec<Instr>,
    /// The Python line (1-based, in the lesson's code) of each instruction.
    pub lines: Vec<u32>,
    /// Initial values of the fast locals (arguments first).
    pub locals: Vec<Value>,
    pub local_names: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Var {
    pub name: String,
    pub init: Value,
    /// Lives in memory every process shares (a `multiprocessing.Value`); otherwise
    /// each process has its own copy, taken from its parent when it starts.
    #[serde(default)]
    pub shared: bool,
}

/// A `multiprocessing.Queue`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Queue {
    pub name: String,
    /// 0 means unbounded, as in Python.
    pub maxsize: u32,
    /// The exception class `get_nowait()` raises on an empty queue, as the
    /// lesson's CPython prints it (`_queue.Empty` from 3.7 on, `queue.Empty` on 3.6).
    #[serde(default = "queue_empty_class")]
    pub empty_class: String,
}

fn queue_empty_class() -> String {
    "_queue.Empty".to_string()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Lock {
    pub name: String,
}

/// A whole lesson program, ready for either engine.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Program {
    pub actors: Vec<Actor>,
    pub vars: Vec<Var>,
    pub locks: Vec<Lock>,
    #[serde(default)]
    pub queues: Vec<Queue>,
    /// The names of the two ends of each `Pipe()`, as the lesson calls them.
    #[serde(default)]
    pub pipes: Vec<[String; 2]>,
    pub strings: Vec<String>,
    /// What each shared variable should hold at the end of a correct run, if the
    /// lesson knows (the state panel shows it next to the real value).
    pub expected: Vec<(VarId, Value)>,
    /// The CPython 3.x whose `dis` the bytecode view follows (see
    /// [`dis_minor`]): the lesson's `python` knob, else its `gil` knob, else 3.13.
    #[serde(default = "newest_minor")]
    pub dis_minor: u8,
    /// The actors are the tasks of one asyncio event loop on one thread: one
    /// task runs at a time, and the loop passes to another only where the
    /// running task awaits ([`Instr::yields_loop`]), waits or ends. Live, the
    /// tasks run on one OS thread (src/live/aio.rs), not one thread each.
    #[serde(default)]
    pub event_loop: bool,
    /// What every process's stdout is in a live run (the buffering lesson): a real
    /// pseudo-terminal or a real pipe that the run reads. `None`: output goes to
    /// the screen through the engine, as in every other lesson.
    #[serde(default)]
    pub terminal: Option<Terminal>,
    /// A sleeping actor may take its next step while others can run: the
    /// simulator's time jumps to its wake-up, so the scheduler (the timed one by
    /// its own clocks) decides when each sleep ends, as the OS does for processes
    /// whose sleeps end microseconds apart. Without it a sleeper waits until
    /// nobody else can run, and sleepers wake in the simulator's own order
    /// (value-race `sleep=on`, RESULTS.md section 18).
    #[serde(default)]
    pub sleeps_end_by_scheduler: bool,
}

/// The real file a live run gives its processes as stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Terminal {
    /// A pseudo-terminal (`isatty()` is true: CPython line-buffers).
    Tty,
    /// A pipe (`isatty()` is false: CPython block-buffers).
    Pipe,
}

fn newest_minor() -> u8 {
    13
}

/// The CPython 3.x a lesson's bytecode view stands for, from its knobs: the
/// `python` knob (a range such as `3.10-3.13` stands for its newest), else the
/// `gil` knob (gil-classic is CPython ≤ 3.9; gil-modern and free are 3.13), else
/// 3.13. tools/measure/dis_listings.py picks the interpreter the same way.
pub fn dis_minor(python: Option<&str>, gil: Option<&str>) -> u8 {
    if let Some(v) = python {
        let newest = v.rsplit('-').next().unwrap_or(v);
        if let Some(m) = newest.strip_prefix("3.").and_then(|m| m.parse().ok()) {
            return m;
        }
    }
    match gil {
        Some("gil-classic") => 9,
        _ => newest_minor(),
    }
}

impl Program {
    /// How many processes the program has (each has its own GIL and memory).
    pub fn process_count(&self) -> usize {
        self.actors
            .iter()
            .map(|a| a.process as usize + 1)
            .max()
            .unwrap_or(1)
    }

    pub fn str(&self, id: StrId) -> &str {
        self.strings
            .get(id as usize)
            .map(String::as_str)
            .unwrap_or("?")
    }

    pub fn var_id(&self, name: &str) -> Option<VarId> {
        self.vars
            .iter()
            .position(|v| v.name == name)
            .map(|i| i as VarId)
    }

    pub fn actor_id(&self, name: &str) -> Option<ActorId> {
        self.actors
            .iter()
            .position(|a| a.name == name)
            .map(|i| i as ActorId)
    }

    /// The variables as the state panel lists them: a shared variable, or any
    /// variable of a one-process program, once (`None`); a process's own copy
    /// once per process whose code uses it (`Some(process)`), so the parent's
    /// list and the child's show side by side (the memory lesson).
    pub fn var_rows(&self) -> Vec<(VarId, Option<u16>)> {
        let nproc = self.process_count();
        let mut rows = Vec::new();
        for (g, v) in self.vars.iter().enumerate() {
            let g = g as VarId;
            if v.shared || nproc < 2 {
                rows.push((g, None));
                continue;
            }
            let uses = |i: &Instr| {
                matches!(*i, Instr::LoadGlobal(x) | Instr::StoreGlobal(x)
                    | Instr::ListStore { var: x, .. } if x == g)
            };
            for p in 0..nproc as u16 {
                if self
                    .actors
                    .iter()
                    .any(|a| a.process == p && a.code.iter().any(uses))
                {
                    rows.push((g, Some(p)));
                }
            }
        }
        rows
    }

    /// The name of process `p`: its first thread's (`MainProcess`, `Process-1`).
    pub fn process_name(&self, p: u16) -> &str {
        self.actors
            .iter()
            .find(|a| a.process == p && a.kind == ActorKind::Main)
            .map(|a| a.name.as_str())
            .unwrap_or("?")
    }

    /// The instruction an actor has at `pc`, if any.
    pub fn instr(&self, actor: ActorId, pc: Pc) -> Option<Instr> {
        self.actors
            .get(actor as usize)?
            .code
            .get(pc as usize)
            .copied()
    }

    /// The name of a pipe end (`parent_conn`).
    pub fn conn_name(&self, c: ConnId) -> &str {
        self.pipes
            .get(c as usize / 2)
            .map(|p| p[c as usize % 2].as_str())
            .unwrap_or("?")
    }

    /// Whether the program has more than one process or does what only a process
    /// can (run a program, fork): then it runs live on worker processes.
    pub fn uses_processes(&self) -> bool {
        self.actors
            .iter()
            .any(|a| a.process != 0 || a.code.iter().any(|i| i.is_process_op()))
    }

    /// The Python line of an actor's instruction (0 when unknown).
    pub fn line(&self, actor: ActorId, pc: Pc) -> u32 {
        self.actors
            .get(actor as usize)
            .and_then(|a| a.lines.get(pc as usize))
            .copied()
            .unwrap_or(0)
    }

    /// `dis`-style text of one instruction.
    pub fn dis(&self, actor: ActorId, instr: Instr) -> String {
        let a = self.actors.get(actor as usize);
        let local = |i: LocalId| {
            a.and_then(|a| a.local_names.get(i as usize))
                .cloned()
                .unwrap_or_else(|| format!("${i}"))
        };
        let var = |i: VarId| named(self.vars.get(i as usize).map(|v| &v.name), i);
        let lock = |i: LockId| named(self.locks.get(i as usize).map(|l| &l.name), i);
        let queue = |i: QueueId| named(self.queues.get(i as usize).map(|q| &q.name), i);
        let actor_name = |i: ActorId| named(self.actors.get(i as usize).map(|a| &a.name), i);
        match instr {
            Instr::Nop(s) => format!("CALL {}", self.str(s)),
            Instr::Opcode(s) => self.str(s).to_string(),
            Instr::LoadConst(NONE) => "LOAD_CONST None".to_string(),
            Instr::LoadConst(v) => match as_str_id(v) {
                Some(s) => format!("LOAD_CONST {}", py_repr(self.str(s))),
                None => format!("LOAD_CONST {v}"),
            },
            Instr::LoadFast(l) => format!("LOAD_FAST {}", local(l)),
            Instr::StoreFast(l) => format!("STORE_FAST {}", local(l)),
            Instr::LoadGlobal(v) if self.vars.get(v as usize).is_some_and(|v| v.shared) => {
                format!("LOAD_ATTR {}", var(v))
            }
            Instr::StoreGlobal(v) if self.vars.get(v as usize).is_some_and(|v| v.shared) => {
                format!("STORE_ATTR {}", var(v))
            }
            Instr::LoadGlobal(v) => format!("LOAD_GLOBAL {}", var(v)),
            Instr::StoreGlobal(v) => format!("STORE_GLOBAL {}", var(v)),
            Instr::BinaryOp(op) => op.dis(self.dis_minor),
            Instr::ForRange { limit, .. } => format!("FOR_ITER range({limit})"),
            Instr::JumpBackward(t) if self.dis_minor <= 10 => format!("JUMP_ABSOLUTE to {t}"),
            Instr::JumpBackward(t) => format!("JUMP_BACKWARD to {t}"),
            Instr::Call(s) => format!("CALL {}", self.str(s)),
            Instr::Return if self.dis_minor >= 12 => "RETURN_CONST None".to_string(),
            Instr::Return => "RETURN_VALUE".to_string(),
            Instr::Acquire(l) => format!("CALL {}.acquire", lock(l)),
            Instr::Release(l) => format!("CALL {}.release", lock(l)),
            Instr::Start(t) => format!("CALL {}.start", actor_name(t)),
            Instr::Join(t) => format!("CALL {}.join", actor_name(t)),
            Instr::JoinFor { t, timeout_us } => {
                format!("CALL {}.join({})", actor_name(t), fmt_secs(timeout_us))
            }
            Instr::Print { .. } => "CALL print".to_string(),
            Instr::Sleep(us) => format!("CALL time.sleep({})", fmt_secs(us)),
            Instr::Work(n) => format!("CPU_WORK {n}"),
            Instr::TlsSet { attr, .. } => format!("STORE_ATTR local.{}", self.str(attr)),
            Instr::TlsGet(attr) => format!("LOAD_ATTR local.{}", self.str(attr)),
            Instr::Clock { cpu: false } => "CALL time.perf_counter".to_string(),
            Instr::Clock { cpu: true } => "CALL cpu_time".to_string(),
            Instr::Ident(IdentOf::Thread) => "CALL threading.get_ident".to_string(),
            Instr::Ident(IdentOf::Process) => "CALL os.getpid".to_string(),
            Instr::Raise(s) => format!("RAISE {}", self.str(s)),
            Instr::Fork(_) => "CALL os.fork".to_string(),
            Instr::ForkChild => "CALL os.fork (child side: 0)".to_string(),
            Instr::GetPid => "CALL os.getpid".to_string(),
            Instr::GetPpid => "CALL os.getppid".to_string(),
            Instr::ProcPid(t) => format!("LOAD_ATTR {}.pid", actor_name(t)),
            Instr::ProcAlive(t) => format!("CALL {}.is_alive", actor_name(t)),
            Instr::ProcExitCode(t) => format!("LOAD_ATTR {}.exitcode", actor_name(t)),
            Instr::Terminate(t) => format!("CALL {}.terminate", actor_name(t)),
            Instr::FileRead(v) => format!("CALL json.load  # {}", var(v)),
            Instr::FileWrite(v) => format!("CALL json.dump  # {}", var(v)),
            Instr::PopJumpIfFalse(t) => format!("POP_JUMP_IF_FALSE to {t}"),
            Instr::PipeSend(c) => format!("CALL {}.send", self.conn_name(c)),
            Instr::PipeRecv { conn, .. } => format!("CALL {}.recv", self.conn_name(conn)),
            Instr::PipeClose(c) => format!("CALL {}.close", self.conn_name(c)),
            Instr::RunProgram { argv, .. } => {
                format!("CALL subprocess {}", self.str(argv).replace('\u{1f}', " "))
            }
            Instr::PrintCaptured { skip_empty: true } => "(the program's output)".to_string(),
            Instr::PrintCaptured { .. } => "CALL print".to_string(),
            Instr::QueuePut { q, block: true } => format!("CALL {}.put", queue(q)),
            Instr::QueuePut { q, .. } => format!("CALL {}.put_nowait", queue(q)),
            Instr::QueueGet { q, block: true } => format!("CALL {}.get", queue(q)),
            Instr::QueueGet { q, .. } => format!("CALL {}.get_nowait", queue(q)),
            Instr::Exit(code) => format!("EXIT {code}"),
            Instr::CondWait(l) => format!("CALL {}.wait  # release, join the waiters", lock(l)),
            Instr::CondSleep(l) => format!("CALL {}.wait  # sleep until notified", lock(l)),
            Instr::CondNotify { cond, all } => format!(
                "CALL {}.{}",
                lock(cond),
                if all { "notify_all" } else { "notify" }
            ),
            Instr::QueueAsk { q, ask } => format!("CALL {}.{}", queue(q), ask.method()),
            Instr::QueueTry {
                q, put, timeout_us, ..
            } => format!("CALL {}.{}", queue(q), try_call(put, timeout_us)),
            Instr::BufPrint { .. } => "CALL print".to_string(),
            Instr::Flush(by) => by.dis().to_string(),
            Instr::QueueReady(q) => format!("CALL {}.ready", queue(q)),
            Instr::AioSleep(us) => format!("AWAIT asyncio.sleep({})", fmt_secs(us)),
            Instr::AioBlock(us) => format!("CALL time.sleep({})  # blocks the loop", fmt_secs(us)),
            Instr::AioAcquire(l) => format!("AWAIT {}.acquire", lock(l)),
            Instr::AioRelease(l) => format!("CALL {}.release", lock(l)),
            Instr::ListStore {
                var: v,
                index: LIST_APPEND,
            } => format!("CALL {}.append", var(v)),
            Instr::ListStore { var: v, index } => format!("STORE_SUBSCR {}[{index}]", var(v)),
            Instr::BarrierWait { barrier: l, .. } => barrier_dis(&lock(l), None),
            Instr::BarrierSleep {
                barrier: l,
                timeout_us: t,
                ..
            } => barrier_dis(&lock(l), Some(t)),
            Instr::BarrierAbort(l) => format!("CALL {}.abort", lock(l)),
            sync_instr!() => self.dis_sync(instr),
        }
    }

    /// `dis`-style text of a semaphore's or an event's call.
    fn dis_sync(&self, instr: Instr) -> String {
        let var = |i: VarId| named(self.vars.get(i as usize).map(|v| &v.name), i);
        match instr {
            Instr::SemAcquire(v) => format!("CALL {}.acquire", var(v)),
            Instr::SemRelease { sem, .. } => format!("CALL {}.release", var(sem)),
            Instr::EventSet(v) => format!("CALL {}.set", var(v)),
            Instr::EventClear(v) => format!("CALL {}.clear", var(v)),
            Instr::EventWait { ev, timeout_us: 0 } => format!("CALL {}.wait", var(ev)),
            Instr::EventWait { ev, timeout_us } => {
                format!("CALL {}.wait(timeout={})", var(ev), fmt_secs(timeout_us))
            }
            Instr::EventIsSet(v) => format!("CALL {}.is_set", var(v)),
            // Not a semaphore's or an event's: `dis` names these itself.
            local_instr!()
            | process_instr!()
            | Instr::LoadGlobal(_)
            | Instr::StoreGlobal(_)
            | Instr::Acquire(_)
            | Instr::Release(_)
            | Instr::Start(_)
            | Instr::Join(_)
            | Instr::JoinFor { .. }
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
            | cond_instr!()
            | barrier_instr!()
            | aio_instr!() => format!("{instr:?}"),
        }
    }

    /// The number of parties of the `threading.Barrier` that lock `l` names, if
    /// it names one (some `barrier.wait()` of the program waits at it).
    pub fn barrier_parties(&self, l: LockId) -> Option<u8> {
        self.actors.iter().flat_map(|a| &a.code).find_map(|i| {
            if let Instr::BarrierWait {
                barrier, parties, ..
            } = *i
                && barrier == l
            {
                return Some(parties);
            }
            None
        })
    }

    /// Checks that every reference in the program points at something that exists.
    pub fn validate(&self) -> Result<(), String> {
        for (ai, a) in self.actors.iter().enumerate() {
            if a.code.len() != a.lines.len() {
                return Err(format!("actor {}: code and lines differ in length", a.name));
            }
            for (pc, &ins) in a.code.iter().enumerate() {
                let checked = self.check_instr(ai, ins);
                if let Err(what) = checked {
                    return Err(format!("actor {} pc {pc}: {what}", a.name));
                }
            }
            // A handler placed after the end (queue-api's `except` bodies) jumps back.
            let last = a.code.last();
            if !matches!(
                last,
                Some(Instr::Exit(_) | Instr::Raise(_) | Instr::JumpBackward(_))
            ) {
                return Err(format!("actor {} does not end with EXIT", a.name));
            }
        }
        Ok(())
    }

    /// What [`Program::validate`] says of one instruction of actor `ai`.
    fn check_instr(&self, ai: usize, ins: Instr) -> Result<(), &'static str> {
        let a = &self.actors[ai];
        let n = a.code.len() as Pc;
        let local = |l: LocalId| (l as usize) < a.locals.len();
        let var = |v: VarId| (v as usize) < self.vars.len();
        let conn = |c: ConnId| (c as usize) < 2 * self.pipes.len();
        let actor = |t: ActorId| (t as usize) < self.actors.len() && t as usize != ai;
        let string = |s: StrId| (s as usize) < self.strings.len();
        let check = |ok: bool, what: &'static str| if ok { Ok(()) } else { Err(what) };
        match ins {
            Instr::LoadFast(l) | Instr::StoreFast(l) => check(local(l), "unknown local"),
            Instr::ForRange { counter, exit, .. } => check(local(counter) && exit <= n, "bad loop"),
            Instr::LoadGlobal(v)
            | Instr::StoreGlobal(v)
            | Instr::FileRead(v)
            | Instr::FileWrite(v)
            | Instr::ListStore { var: v, .. } => check(var(v), "unknown variable"),
            Instr::SemAcquire(v)
            | Instr::EventSet(v)
            | Instr::EventClear(v)
            | Instr::EventWait { ev: v, .. }
            | Instr::EventIsSet(v) => check(var(v), "unknown variable"),
            Instr::SemRelease { sem, fail, .. } => {
                check(var(sem), "unknown variable").and(check(fail < n, "jump out of code"))
            }
            Instr::PipeSend(c) | Instr::PipeClose(c) => check(conn(c), "unknown pipe end"),
            Instr::PipeRecv { conn: c, eof } => {
                check(conn(c), "unknown pipe end").and(check(eof < n, "jump out of code"))
            }
            Instr::JumpBackward(t) | Instr::PopJumpIfFalse(t) => check(t < n, "jump out of code"),
            Instr::Acquire(l)
            | Instr::Release(l)
            | Instr::CondWait(l)
            | Instr::CondSleep(l)
            | Instr::CondNotify { cond: l, .. }
            | Instr::AioAcquire(l)
            | Instr::AioRelease(l) => check((l as usize) < self.locks.len(), "unknown lock"),
            Instr::BarrierAbort(l) => check((l as usize) < self.locks.len(), "unknown lock"),
            Instr::BarrierWait {
                barrier: l,
                parties,
                broken,
            } => check((l as usize) < self.locks.len(), "unknown lock")
                .and(check(parties >= 1, "a barrier needs a party"))
                .and(check(broken < n, "jump out of code")),
            Instr::BarrierSleep {
                barrier: l, broken, ..
            } => check((l as usize) < self.locks.len(), "unknown lock")
                .and(check(broken < n, "jump out of code")),
            Instr::Start(t)
            | Instr::Join(t)
            | Instr::JoinFor { t, .. }
            | Instr::Fork(t)
            | Instr::ProcPid(t)
            | Instr::ProcAlive(t)
            | Instr::ProcExitCode(t)
            | Instr::Terminate(t) => check(actor(t), "bad thread reference"),
            Instr::QueuePut { q, .. }
            | Instr::QueueGet { q, .. }
            | Instr::QueueAsk { q, .. }
            | Instr::QueueReady(q) => check((q as usize) < self.queues.len(), "unknown queue"),
            Instr::QueueTry { q, fail, .. } => {
                check((q as usize) < self.queues.len(), "unknown queue")
                    .and(check(fail < n, "jump out of code"))
            }
            Instr::RunProgram {
                argv,
                input,
                sim_output,
                child,
                ..
            } => check(actor(child), "bad thread reference").and(check(
                [argv, input, sim_output].into_iter().all(string),
                "unknown string",
            )),
            Instr::Nop(s)
            | Instr::Opcode(s)
            | Instr::Call(s)
            | Instr::Raise(s)
            | Instr::Print { fmt: s, .. }
            | Instr::BufPrint { fmt: s, .. }
            | Instr::TlsSet { attr: s, .. }
            | Instr::TlsGet(s) => check(string(s), "unknown string"),
            // Nothing to point at.
            Instr::LoadConst(_)
            | Instr::BinaryOp(_)
            | Instr::Return
            | Instr::Sleep(_)
            | Instr::AioSleep(_)
            | Instr::AioBlock(_)
            | Instr::Work(_)
            | Instr::Clock { .. }
            | Instr::Ident(_)
            | Instr::ForkChild
            | Instr::GetPid
            | Instr::GetPpid
            | Instr::PrintCaptured { .. }
            | Instr::Flush(_)
            | Instr::Exit(_) => Ok(()),
        }
    }
}

/// `local.attr = v` on a thread's `threading.local()` dictionary.
pub fn tls_set(tls: &mut Vec<(StrId, Value)>, attr: StrId, v: Value) {
    match tls.iter_mut().find(|(k, _)| *k == attr) {
        Some(slot) => slot.1 = v,
        None => tls.push((attr, v)),
    }
}

/// CPython's message for reading an attribute a thread never set on its
/// `threading.local()` (measured on 3.6–3.13: the same text on every version).
pub fn tls_missing_message(attr: &str) -> String {
    format!("AttributeError: '_thread._local' object has no attribute '{attr}'")
}

/// The method a queue's non-blocking or timed call names.
fn try_call(put: bool, timeout_us: u32) -> String {
    match (put, timeout_us) {
        (true, 0) => "put_nowait".to_string(),
        (false, 0) => "get_nowait".to_string(),
        (true, t) => format!("put(timeout={})", fmt_secs(t)),
        (false, t) => format!("get(timeout={})", fmt_secs(t)),
    }
}

/// The bytecode view's row of `barrier.wait()`'s arrival (`timeout`: None) or
/// its wait for the trip (`Some(0)`: no timeout).
fn barrier_dis(barrier: &str, timeout: Option<u32>) -> String {
    match timeout {
        None => format!("CALL {barrier}.wait  # arrive (trips as the last party)"),
        Some(0) => format!("CALL {barrier}.wait  # until it trips"),
        Some(t) => format!(
            "CALL {barrier}.wait(timeout={})  # until it trips",
            fmt_secs(t)
        ),
    }
}

fn fmt_secs(us: u32) -> String {
    let s = us as f64 / 1e6;
    format!("{s}")
}

impl fmt::Display for BinOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// A name from one of the program's tables, or `?i` for an index it does not have.
fn named(name: Option<&String>, i: impl std::fmt::Display) -> String {
    name.cloned().unwrap_or_else(|| format!("?{i}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_stay_small() {
        assert!(std::mem::size_of::<Instr>() <= 16);
    }

    #[test]
    fn local_instructions_run_the_same_for_every_engine() {
        let (mut stack, mut locals) = (vec![], vec![7, 0]);
        let loop_ = Instr::ForRange {
            counter: 1,
            limit: 1,
            exit: 9,
        };
        assert_eq!(loop_.exec_local(&mut stack, &mut locals, 3), Some((1, 4)));
        assert_eq!(loop_.exec_local(&mut stack, &mut locals, 3), Some((1, 9)));
        assert_eq!(
            Instr::LoadFast(0).exec_local(&mut stack, &mut locals, 0),
            Some((7, 1))
        );
        assert_eq!(
            Instr::LoadConst(5).exec_local(&mut stack, &mut locals, 1),
            Some((5, 2))
        );
        let sub = Instr::BinaryOp(BinOp::Sub);
        assert_eq!(sub.exec_local(&mut stack, &mut locals, 2), Some((2, 3)));
        let jump = Instr::PopJumpIfFalse(8);
        assert_eq!(jump.exec_local(&mut stack, &mut locals, 3), Some((2, 4)));
        stack.push(0);
        assert_eq!(jump.exec_local(&mut stack, &mut locals, 3), Some((0, 8)));
        assert!(stack.is_empty());
        // Shared memory, locks and calls into the library are each engine's own.
        assert_eq!(
            Instr::LoadGlobal(0).exec_local(&mut stack, &mut locals, 0),
            None
        );
        assert_eq!(
            Instr::Acquire(0).exec_local(&mut stack, &mut locals, 0),
            None
        );
    }

    #[test]
    fn only_calls_and_back_edges_are_switch_points() {
        assert!(Instr::Call(0).is_switch_point());
        assert!(Instr::JumpBackward(0).is_switch_point());
        assert!(Instr::Acquire(0).is_switch_point());
        assert!(!Instr::LoadGlobal(0).is_switch_point());
        assert!(!Instr::StoreGlobal(0).is_switch_point());
        assert!(!Instr::BinaryOp(BinOp::Add).is_switch_point());
    }
}
