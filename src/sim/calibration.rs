//! What CPython's operations cost in virtual time, per version: the numbers the
//! timed scheduler runs on. Every figure is a median measured on the CPythons under
//! pyenv by `tools/measure/calibrate.sh` (raw output in `tools/measure/out/timing/`,
//! write-up in `tools/measure/RESULTS.md`, section 14).

use crate::program::{EngineConfig, GilModel, Instr};

/// A CPython version, as far as the simulator tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PyVersion {
    V3_6,
    V3_7,
    V3_8,
    V3_9,
    V3_10,
    V3_11,
    V3_12,
    V3_13,
}

impl PyVersion {
    pub const ALL: [PyVersion; 8] = [
        PyVersion::V3_6,
        PyVersion::V3_7,
        PyVersion::V3_8,
        PyVersion::V3_9,
        PyVersion::V3_10,
        PyVersion::V3_11,
        PyVersion::V3_12,
        PyVersion::V3_13,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PyVersion::V3_6 => "3.6",
            PyVersion::V3_7 => "3.7",
            PyVersion::V3_8 => "3.8",
            PyVersion::V3_9 => "3.9",
            PyVersion::V3_10 => "3.10",
            PyVersion::V3_11 => "3.11",
            PyVersion::V3_12 => "3.12",
            PyVersion::V3_13 => "3.13",
        }
    }

    /// Reads a `python` knob's value: one version (`3.11`) or a range
    /// (`3.10-3.13`, which stands for its newest version).
    pub fn parse(s: &str) -> Option<PyVersion> {
        let last = s.rsplit('-').next()?.trim();
        Self::ALL.into_iter().find(|v| v.name() == last)
    }

    /// The version a GIL model stands for when a lesson has no `python` knob:
    /// gil-classic is 3.9, the last with the classic switch points; gil-modern 3.11;
    /// free-threading exists only from 3.13.
    pub fn of_model(gil: GilModel) -> PyVersion {
        match gil {
            GilModel::Classic => PyVersion::V3_9,
            GilModel::Modern => PyVersion::V3_11,
            GilModel::Free => PyVersion::V3_13,
        }
    }

    /// Where a lesson's `python` knob (if any) and GIL model put a run.
    pub fn of_run(python: Option<&str>, cfg: EngineConfig) -> PyVersion {
        python
            .and_then(PyVersion::parse)
            .unwrap_or_else(|| PyVersion::of_model(cfg.gil))
    }

    /// How CPython names an unnamed thread: `Thread-1 (loop)` from 3.10 on,
    /// `Thread-1` before (tools/measure/thread_names.py).
    pub fn thread_name(self, n: u32, target: &str) -> String {
        if self >= PyVersion::V3_10 {
            format!("Thread-{n} ({target})")
        } else {
            format!("Thread-{n}")
        }
    }

    /// The class name `get_nowait()` on an empty queue raises: `_queue.Empty` from
    /// 3.7 on (the C implementation), `queue.Empty` on 3.6 (tools/measure/mp_queue.py).
    pub fn queue_empty(self) -> &'static str {
        if self >= PyVersion::V3_7 {
            "_queue.Empty"
        } else {
            "queue.Empty"
        }
    }

    /// From an uncaught exception in a program with a `Pool` to its workers' SIGTERM
    /// (µs): multiprocessing's exit handler first stops the pool's handler threads,
    /// and the workers go on meanwhile. Medians on a terminal, 16 runs per version
    /// (tools/measure/pool_mistake_exit.py): 3.6 and 3.7 ~100 ms (60–103), 3.8–3.12
    /// ~14 ms (3–26), 3.13 ~60 ms (40–85).
    pub fn pool_exit_terminate_us(self) -> u32 {
        match self {
            PyVersion::V3_6 | PyVersion::V3_7 => 100_000,
            PyVersion::V3_13 => 60_000,
            _ => 14_000,
        }
    }

    /// How many workers `Pool()` starts: `os.process_cpu_count()` on 3.13 (the CPUs
    /// this process may run on), `os.cpu_count()` before (every CPU of the machine).
    pub fn pool_default_size(self) -> u16 {
        let n = if self >= PyVersion::V3_13 {
            process_cpu_count()
        } else {
            cpu_count()
        };
        n.clamp(1, 16) as u16
    }
}

/// `os.cpu_count()`: the CPUs the machine has online.
fn cpu_count() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|s| count_cpu_list(s.trim()))
        .unwrap_or_else(process_cpu_count)
}

/// `os.process_cpu_count()`: the CPUs this process may run on (its affinity mask).
fn process_cpu_count() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .and_then(|l| count_cpu_list(l.trim()))
        })
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
}

/// Counts a CPU list like `0-3,6,8-9`.
fn count_cpu_list(s: &str) -> Option<usize> {
    let mut n = 0;
    for part in s.split(',').filter(|p| !p.is_empty()) {
        n += match part.split_once('-') {
            Some((a, b)) => b.parse::<usize>().ok()?.checked_sub(a.parse().ok()?)? + 1,
            None => part.parse::<usize>().map(|_| 1).ok()?,
        };
    }
    (n > 0).then_some(n)
}

/// Virtual costs of one CPython version, in ns. Medians; the timed scheduler adds
/// seeded jitter to the slow operations (starts, prints, wake-ups, hand-offs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calibration {
    pub version: PyVersion,
    /// One turn of `for i in range(N): change_it(n)` (the balance loop), with the
    /// turn split over the instructions below in proportion to what a loop without
    /// the body costs (`call_iter_ns`).
    pub call_ns: u64,
    pub return_ns: u64,
    pub for_iter_ns: u64,
    pub jump_ns: u64,
    pub load_global_ns: u64,
    pub store_global_ns: u64,
    pub fast_ns: u64,
    pub binary_ns: u64,
    /// `Thread.start()` until the new OS thread asks for the GIL. (Measured:
    /// start() until the thread's first line, 50–80 µs on an idle machine, which
    /// also holds the thread's bootstrap under the GIL.)
    pub thread_spawn_ns: u64,
    /// `Process.start()` (a fork) until the child runs its first line.
    pub process_first_line_ns: u64,
    /// `Process.start()` until it returns in the parent.
    pub process_start_returns_ns: u64,
    /// One `print()` of a short line to a terminal: a write per line, done without
    /// the GIL.
    pub print_tty_ns: u64,
    /// The same to a pipe (block-buffered: no write, the GIL is kept).
    pub print_pipe_ns: u64,
    /// How late `time.sleep(0.001)` returns on an idle machine.
    pub sleep_late_ns: u64,
    /// A thread blocked on a lock, a join or an event asks for the GIL again this
    /// long after the release (a futex wake-up).
    pub thread_wake_ns: u64,
    /// `q.put()` in one process until `q.get()` returns in another.
    pub queue_handoff_ns: u64,
    /// `conn.send()` until `conn.recv()` returns in another process.
    pub pipe_handoff_ns: u64,
    /// Thread to thread GIL hand-off after a drop request.
    pub gil_handoff_ns: u64,
    /// Half of `counter.value += 1` on a `multiprocessing.Value` (its lock, then
    /// the read or the write). A process that finds the lock taken by another
    /// sleeps on it and wakes `thread_wake_ns` later.
    pub value_access_ns: u64,
    /// Cores of the machine measured on; a process woken while the others keep
    /// them all busy waits `core_wait_ns` (median) for one.
    pub cores: u32,
    pub core_wait_ns: u64,
    /// Out of 100 GIL hand-offs with several waiters, how many go to the thread that
    /// has waited longest (the rest to a waiter at random).
    pub gil_fifo_pct: u32,
    /// A process that reads or writes a `multiprocessing.Value` loses its core to
    /// the OS (its time slice is up on a busy machine) right after one access in
    /// this many, and runs again `preempt_pause_ns` (median, jittered) later.
    /// After a read, the update it was making wipes out every increment the other
    /// processes made meanwhile: CPython's lows of whole batches of 50
    /// (tools/measure/value_race_lows.py; RESULTS.md, section 14).
    pub value_preempt_one_in: u32,
    /// The same for a process that came back from `time.sleep` less than 200 µs
    /// ago. Fitted, not derived: with the tutorial's `time.sleep(0.01)` before each
    /// increment, ten processes lose 4–36 of 500 increments per run on CPython 3.8,
    /// 3.11 and 3.13 on an idle 2-core machine, in every run
    /// (tools/measure/value_race_sleep.py; RESULTS.md, section 18). The loss is
    /// this figure's doing: at one in 8000, seeds 1–40 kept 500 in 36 of 40 runs
    /// even with sleeps ended by the scheduler; at one in 80 they lose 1–42.
    pub value_preempt_after_sleep_one_in: u32,
    pub preempt_pause_ns: u64,
}

impl Calibration {
    pub fn for_version(v: PyVersion) -> Calibration {
        // Bytecode speed relative to 3.11 (percent): tools/measure/out/timing/*.json,
        // balance_iter_ns.
        let speed = match v {
            PyVersion::V3_6 | PyVersion::V3_7 | PyVersion::V3_8 => 135,
            PyVersion::V3_9 | PyVersion::V3_10 => 130,
            PyVersion::V3_11 => 100,
            PyVersion::V3_12 => 110,
            PyVersion::V3_13 => 112,
        };
        let s = |ns: u64| ns * speed / 100;
        Calibration {
            version: v,
            call_ns: s(90),
            return_ns: s(30),
            for_iter_ns: s(15),
            jump_ns: s(6),
            load_global_ns: s(10),
            store_global_ns: s(14),
            fast_ns: s(4),
            binary_ns: s(12),
            thread_spawn_ns: 30_000,
            process_first_line_ns: super::PROCESS_FIRST_LINE_NS,
            process_start_returns_ns: super::PROCESS_START_RETURNS_NS,
            print_tty_ns: 40_000,
            print_pipe_ns: 2_500,
            sleep_late_ns: super::SLEEP_LATE_NS,
            thread_wake_ns: 12_000,
            queue_handoff_ns: 160_000,
            pipe_handoff_ns: 120_000,
            gil_handoff_ns: 20_000,
            value_access_ns: 1_000,
            cores: 2,
            core_wait_ns: 200_000,
            gil_fifo_pct: 50,
            value_preempt_one_in: 8_000,
            value_preempt_after_sleep_one_in: 80,
            preempt_pause_ns: 2_500_000,
        }
    }

    /// The calibration for a run: the `python` knob's version, else the GIL model's.
    pub fn for_run(python: Option<&str>, cfg: EngineConfig) -> Calibration {
        Calibration::for_version(PyVersion::of_run(python, cfg))
    }

    /// What executing `ins` costs the actor, for the instructions whose cost does
    /// not depend on what happens around them (see [`is_plain`]).
    #[inline(always)]
    pub fn plain_ns(&self, ins: Instr) -> u64 {
        match ins {
            Instr::Return => self.return_ns,
            Instr::ForRange { .. } => self.for_iter_ns,
            Instr::JumpBackward(_) | Instr::PopJumpIfFalse(_) => self.jump_ns,
            Instr::LoadGlobal(_) => self.load_global_ns,
            Instr::StoreGlobal(_) => self.store_global_ns,
            Instr::LoadFast(_) | Instr::LoadConst(_) | Instr::StoreFast(_) => self.fast_ns,
            Instr::BinaryOp(_) => self.binary_ns,
            // The countdown's CPU work: the simulator's own unit, so that what the
            // scheduler believes and what `perf_counter` shows agree.
            Instr::Work(units) => units as u64 * super::WORK_UNIT_NS,
            // A call into the library (or a Python call) that returns at once.
            Instr::Call(_)
            | Instr::Nop(_)
            | Instr::Opcode(_)
            | Instr::TlsGet(_)
            | Instr::TlsSet { .. }
            | Instr::Clock { .. }
            | Instr::Ident(_)
            | Instr::GetPid
            | Instr::GetPpid => self.call_ns,
            // Not plain: the timed scheduler charges these by what they do
            // (`Timed::effect`); asked anyway, a call.
            not_plain!() => self.call_ns,
        }
    }
}

/// The instructions that are not [`is_plain`], as a pattern: they block, wake,
/// start, print, sleep or end, so what they cost depends on the other actors and
/// `Timed::effect` names each one. Members are library calls: under the classic
/// GIL a drop request is looked at after them ([`classic_checks_after`]).
macro_rules! not_plain {
    () => {
        Instr::Acquire(_)
            | Instr::Release(_)
            | Instr::Start(_)
            | Instr::Join(_)
            | Instr::JoinFor { .. }
            | Instr::Print { .. }
            | Instr::Sleep(_)
            | Instr::Raise(_)
            | Instr::Exit(_)
            | Instr::Fork(_)
            | Instr::ForkChild
            | Instr::ProcPid(_)
            | Instr::ProcAlive(_)
            | Instr::ProcExitCode(_)
            | Instr::Terminate(_)
            | Instr::QueuePut { .. }
            | Instr::QueueGet { .. }
            | Instr::QueueAsk { .. }
            | Instr::QueueTry { .. }
            | Instr::FileRead(_)
            | Instr::FileWrite(_)
            | Instr::PipeSend(_)
            | Instr::PipeRecv { .. }
            | Instr::PipeClose(_)
            | Instr::RunProgram { .. }
            | Instr::PrintCaptured { .. }
            | Instr::BufPrint { .. }
            | Instr::Flush(_)
            | Instr::QueueReady(_)
            | crate::program::cond_instr!()
            | crate::program::aio_instr!()
            | Instr::ListStore { .. }
            | crate::program::barrier_instr!()
            | crate::program::sync_instr!()
    };
}
pub(crate) use not_plain;

/// Instructions with no effect on other actors and a fixed cost: the timed
/// scheduler's fast path.
#[inline(always)]
pub fn is_plain(ins: Instr) -> bool {
    match ins {
        Instr::Call(_)
        | Instr::Return
        | Instr::ForRange { .. }
        | Instr::JumpBackward(_)
        | Instr::PopJumpIfFalse(_)
        | Instr::LoadGlobal(_)
        | Instr::StoreGlobal(_)
        | Instr::LoadFast(_)
        | Instr::LoadConst(_)
        | Instr::StoreFast(_)
        | Instr::BinaryOp(_)
        | Instr::Nop(_)
        | Instr::Opcode(_)
        | Instr::Work(_)
        | Instr::TlsGet(_)
        | Instr::TlsSet { .. }
        | Instr::Clock { .. }
        | Instr::Ident(_)
        | Instr::GetPid
        | Instr::GetPpid => true,
        not_plain!() => false,
    }
}

/// Whether CPython 3.6–3.9 looks at a pending drop request right after `last`:
/// instructions that end in `FAST_DISPATCH` or a `PREDICT` (LOAD_FAST, LOAD_CONST,
/// STORE_FAST, FOR_ITER into STORE_FAST) go straight to the next one without
/// checking, so a forced switch never lands right after them (ceval.c of 3.6–3.9).
#[inline(always)]
pub fn classic_checks_after(last: Instr) -> bool {
    match last {
        Instr::LoadFast(_) | Instr::LoadConst(_) | Instr::StoreFast(_) | Instr::ForRange { .. } => {
            false
        }
        // The rest do look (library calls among them).
        Instr::Nop(_)
        | Instr::Opcode(_)
        | Instr::Call(_)
        | Instr::Return
        | Instr::BinaryOp(_)
        | Instr::JumpBackward(_)
        | Instr::PopJumpIfFalse(_)
        | Instr::LoadGlobal(_)
        | Instr::StoreGlobal(_)
        | Instr::Work(_)
        | Instr::TlsGet(_)
        | Instr::TlsSet { .. }
        | Instr::Clock { .. }
        | Instr::Ident(_)
        | Instr::GetPid
        | Instr::GetPpid
        | not_plain!() => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_ranges_parse() {
        assert_eq!(PyVersion::parse("3.6"), Some(PyVersion::V3_6));
        assert_eq!(PyVersion::parse("3.10-3.13"), Some(PyVersion::V3_13));
        assert_eq!(PyVersion::parse("3.6-3.9"), Some(PyVersion::V3_9));
        assert_eq!(PyVersion::parse("2.7"), None);
        assert_eq!(count_cpu_list("0-3,6,8-9"), Some(7));
        assert_eq!(count_cpu_list("0"), Some(1));
        assert_eq!(count_cpu_list("x"), None);
    }

    #[test]
    fn version_specific_names() {
        assert_eq!(PyVersion::V3_9.thread_name(1, "loop"), "Thread-1");
        assert_eq!(PyVersion::V3_10.thread_name(1, "loop"), "Thread-1 (loop)");
        assert_eq!(PyVersion::V3_6.queue_empty(), "queue.Empty");
        assert_eq!(PyVersion::V3_7.queue_empty(), "_queue.Empty");
        assert!(PyVersion::V3_13.pool_default_size() >= 1);
    }
}
