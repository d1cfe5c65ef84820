//! What a live run of threads records so that it can be replayed stepped: for each
//! shared read, which write it saw; for each write, its place in the variable's
//! order of writes; the order in which locks were acquired; the order of printed
//! lines. `explore::replay` turns that into a schedule string.
//!
//! Every shared variable has a version beside its value: the number of stores to
//! it so far, twice, odd while a store is under way (a sequence lock). A load
//! reads the value and the version that made it as one; a store bumps the version
//! and writes the value as one. Both stay separate steps of the program, so a
//! lost update is still a real lost update on real cores.
//!
//! A thread keeps one `u64` per shared operation, at most [`MAX_OPS`]; past that
//! it stops recording and the run says its replay is unavailable.
//!
//! Worker processes record the same way, into a file each writes as it goes
//! ([`FileLog`]), so that a process killed by `terminate()` leaves its record
//! whole: a
//! `multiprocessing.Value`'s version and each lock's count of acquisitions sit
//! beside them in the shared memory every worker maps; a shared file has a
//! version there too; each queue or pipe message carries its number on its
//! channel (`ipc::send_message`), and a `get` or `recv` records which one it
//! received; `is_alive()` and `terminate()` record what they found; a printed
//! line is recorded by the time of its event. The host reads the files back
//! once the run has ended ([`read_process_logs`]).

use crate::i18n::Msg;
use crate::lesson::Lang;
use crate::program::{ActorId, Instr, Program, Value};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering, fence};

/// Shared operations one thread records, at most (8 bytes each: 4 MiB a thread).
/// The balance lesson's default run (100 000 iterations, 4 shared operations each)
/// fits.
pub const MAX_OPS: usize = 1 << 19;

/// What kind of operation an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    /// A load of variable `obj`; `version` is the store it saw (0: the initial value).
    Load = 0,
    /// A store to variable `obj`; `version` is the one it made (from 1).
    Store = 1,
    /// An acquisition of lock `obj`; `version`: acquisitions of it before this one.
    Acquire = 2,
    /// A printed line; `version`: lines printed before it.
    Print = 3,
    /// A message handed to channel `obj` (a queue's `put`, a pipe end's `send`,
    /// see [`queue_channel`], [`conn_channel`]); `version`: messages handed to
    /// it before this one, or [`RAISED`] when the call raised (`queue.Full`,
    /// `BrokenPipeError`).
    Put = 4,
    /// A message taken from channel `obj` (`get`, `recv`); `version`: which
    /// message (its `Put`'s version), [`NOTHING`] for `EOFError` on a pipe, or
    /// [`RAISED`] when the call raised (`queue.Empty`).
    Get = 5,
    /// Whether process actor `obj` was still running (`version` 1) or had ended
    /// (0) when it was asked (`is_alive()`) or sent SIGTERM (`terminate()`).
    Alive = 6,
}

/// The version of a `Get` that found no message and no sender left (EOF).
pub const NOTHING: u64 = (1 << 48) - 1;
/// The version of a `Put` or `Get` that raised (its traceback is the actor's
/// next `Print`).
pub const RAISED: u64 = NOTHING - 1;

/// The channel of queue `q` in `Put` and `Get` entries.
pub fn queue_channel(q: u16) -> u16 {
    q
}

/// The channel of pipe end `c`'s inbox (what `recv` on `c` reads, and `send` on
/// the other end writes): after the queues.
pub fn conn_channel(program: &Program, c: u16) -> u16 {
    program.queues.len() as u16 + c
}

/// One recorded operation, packed: 3 bits of kind, 13 of object, 48 of version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry(u64);

/// Objects an entry can name (variables, locks, channels, actors).
pub const MAX_OBJECTS: usize = 1 << 13;

impl Entry {
    #[inline]
    pub fn new(op: Op, obj: u16, version: u64) -> Entry {
        Entry(((op as u64) << 61) | ((obj as u64 & 0x1fff) << 48) | (version & NOTHING))
    }
    pub fn op(self) -> Op {
        match self.0 >> 61 {
            0 => Op::Load,
            1 => Op::Store,
            2 => Op::Acquire,
            3 => Op::Print,
            4 => Op::Put,
            5 => Op::Get,
            _ => Op::Alive,
        }
    }
    pub fn obj(self) -> u16 {
        ((self.0 >> 48) & 0x1fff) as u16
    }
    pub fn version(self) -> u64 {
        self.0 & NOTHING
    }
}

/// One thread's record.
#[derive(Clone, Debug, Default)]
pub struct ThreadLog {
    pub entries: Vec<Entry>,
    /// It did more than [`MAX_OPS`] shared operations and stopped recording.
    pub overflowed: bool,
}

impl ThreadLog {
    #[inline]
    pub fn push(&mut self, e: Entry) {
        if self.entries.len() < MAX_OPS {
            self.entries.push(e);
        } else {
            self.overflowed = true;
        }
    }
}

/// A whole live run's record, one log per actor.
#[derive(Clone, Debug, Default)]
pub struct Recording {
    pub logs: Vec<ThreadLog>,
    /// Why this run cannot be replayed whatever its logs say.
    pub unsupported: Option<NoReplay>,
}

impl Recording {
    /// Why the run cannot be replayed, if it cannot.
    pub fn unavailable(&self) -> Option<NoReplay> {
        if let Some(why) = &self.unsupported {
            return Some(why.clone());
        }
        self.logs
            .iter()
            .any(|l| l.overflowed)
            .then_some(NoReplay::RecordTooLong)
    }
}

/// Why a live run has no stepped replay; said in the report's language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoReplay {
    /// A thread made more than [`MAX_OPS`] shared operations.
    RecordTooLong,
    /// The replay would pass the longest schedule a run takes.
    ReplayTooLong,
    /// A program of processes that does what its workers do not record: the
    /// operation, as the bytecode view names it.
    NotRecorded(String),
    /// A process ended (it was killed) before it handed in its record: its name.
    LogMissing(String),
    /// The run was stopped before it ended.
    Stopped,
    /// The record and the program part ways: an actor did more than it recorded …
    DidMore,
    /// … took another path than its record …
    OtherPath,
    /// … or the replay ended before the record did.
    EndedEarly,
    /// At some point no actor may take its next step and keep to the record.
    CannotFollow,
    /// No actor may go on while one sleeps: live, sleeps ended in another order
    /// than the stepped model's virtual time ends them.
    SleepOrder,
    /// A read or write of a file (its variable's name) overlapped another
    /// process's write of it, so which write a read saw is not known.
    Overlap(String),
}

impl NoReplay {
    /// The reason, in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        match self {
            NoReplay::RecordTooLong => Msg::RpRecordTooLong.fill(lang, &[&MAX_OPS]),
            NoReplay::ReplayTooLong => Msg::RpReplayTooLong.get(lang).into(),
            NoReplay::NotRecorded(op) => Msg::RpNotRecorded.fill(lang, &[op]),
            NoReplay::LogMissing(who) => Msg::RpLogMissing.fill(lang, &[who]),
            NoReplay::Stopped => Msg::RpStopped.get(lang).into(),
            NoReplay::DidMore => Msg::RpDidMore.get(lang).into(),
            NoReplay::OtherPath => Msg::RpOtherPath.get(lang).into(),
            NoReplay::EndedEarly => Msg::RpEndedEarly.get(lang).into(),
            NoReplay::CannotFollow => Msg::RpCannotFollow.get(lang).into(),
            NoReplay::SleepOrder => Msg::RpSleepOrder.get(lang).into(),
            NoReplay::Overlap(file) => Msg::RpOverlap.fill(lang, &[file]),
        }
    }
}

impl std::fmt::Display for NoReplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(Lang::En))
    }
}

/// Whether the worker processes of `program` record what its stepped replay
/// needs, or the first operation they do not record.
///
/// Recorded: loads and stores of shared memory (`multiprocessing.Value`) and of
/// a shared file (`json.load`/`json.dump`, versioned like a Value, an overlap
/// with another write marked), lock acquisitions, printed lines (in the order
/// the playground received them), every queue `put`/`get` and pipe
/// `send`/`recv` (which message, by its number on its channel), and what
/// `is_alive()` and `terminate()` found (running or ended).
///
/// Left free, because they hand nothing from one process to another that the
/// replay could get wrong: PIDs (`os.getpid`, `os.getppid`, `Process.pid`,
/// `os.fork`'s value: the simulator numbers processes its own way, the same
/// lines print with other numbers), `conn.close()` (it only decides whether a
/// later `recv` ends in EOF, recorded there, or a `send` raises, recorded
/// there), `exitcode` (the lessons read it after `join()`, when the process has
/// ended in both), and an external program's run (`subprocess`: the parent
/// records the lines it printed; its exit code comes from the program alone).
///
/// A variable that is not shared is a process's own copy: it is left out of the
/// record, so it may be touched only where one actor runs.
pub fn process_support(program: &Program) -> Result<(), NoReplay> {
    let objects = program
        .vars
        .len()
        .max(program.locks.len())
        .max(program.actors.len());
    if objects >= MAX_OBJECTS || program.queues.len() + 2 * program.pipes.len() >= MAX_OBJECTS {
        return Err(NoReplay::NotRecorded(format!(
            "more than {MAX_OBJECTS} variables, locks, channels or actors"
        )));
    }
    let alone = |a: &crate::program::Actor| {
        program
            .actors
            .iter()
            .filter(|b| b.process == a.process)
            .count()
            == 1
    };
    for (ai, a) in program.actors.iter().enumerate() {
        for ins in &a.code {
            let ok = match *ins {
                crate::program::local_instr!() => true,
                Instr::LoadGlobal(g) | Instr::StoreGlobal(g) => {
                    program.vars.get(g as usize).is_some_and(|v| v.shared) || alone(a)
                }
                Instr::FileRead(g) | Instr::FileWrite(g) => {
                    program.vars.get(g as usize).is_some_and(|v| v.shared)
                }
                // A process's own list, changed by its only thread: nothing
                // another actor sees. A list in shared memory (`Array`) is not
                // recorded.
                Instr::ListStore { var: g, .. } => {
                    program.vars.get(g as usize).is_some_and(|v| !v.shared) && alone(a)
                }
                Instr::Acquire(_)
                | Instr::Release(_)
                | Instr::Start(_)
                | Instr::Join(_)
                | Instr::Print { .. }
                | Instr::Raise(_)
                | Instr::Sleep(_)
                | Instr::Work(_)
                | Instr::Exit(_)
                | Instr::QueuePut { .. }
                | Instr::QueueGet { .. }
                | Instr::PipeSend(_)
                | Instr::PipeRecv { .. }
                | Instr::PipeClose(_)
                | Instr::GetPid
                | Instr::GetPpid
                | Instr::ProcPid(_)
                | Instr::Fork(_)
                | Instr::ForkChild
                | Instr::ProcAlive(_)
                | Instr::ProcExitCode(_)
                | Instr::Terminate(_)
                | Instr::RunProgram { .. }
                | Instr::PrintCaptured { .. } => true,
                // What qsize/empty/full saw and whether a timed call (a queue's,
                // a `join(timeout)`) timed out
                // are not recorded: such a run is not replayed.
                Instr::QueueAsk { .. } | Instr::QueueTry { .. } | Instr::JoinFor { .. } => false,
                // The buffering lesson's prints and flushes: a line's text is
                // written when its buffer goes out, which the record does not hold.
                Instr::TlsSet { .. }
                | Instr::TlsGet(_)
                | Instr::Clock { .. }
                | Instr::Ident(_)
                | Instr::BufPrint { .. }
                | Instr::Flush(_)
                | Instr::QueueReady(_) => false,
                // A notify's choice of waiter is not recorded yet.
                crate::program::cond_instr!() | crate::program::barrier_instr!() => false,
                // Which waiter a semaphore's release let in is not recorded yet.
                crate::program::sync_instr!() => false,
                // asyncio programs run on their own event loop, unrecorded.
                crate::program::aio_instr!() => false,
            };
            if !ok {
                return Err(NoReplay::NotRecorded(program.dis(ai as ActorId, *ins)));
            }
        }
    }
    Ok(())
}

/// Where a worker process keeps actor `a`'s log: a file in the run's folder.
pub fn log_path(dir: &std::path::Path, a: ActorId) -> std::path::PathBuf {
    dir.join(format!("record-{a}"))
}

/// A worker process's log for one actor, kept in memory and written to its
/// file (`log_path`) at every point where the process may wait or be stopped:
/// before it blocks (a `get`, a `recv`, a lock, a `join`, a sleep), before a
/// printed line, before it forks, when it sends events, and at its end. The
/// file: a header word (entries so far, the top bit set once it overflowed),
/// then the entries. So a process killed while it waits (`terminate()`, the
/// run stopped) leaves its record whole; one killed while it computes loses at
/// most what it did since it last sent its events.
///
/// Without a file (not recording, or it could not be made) a push does
/// nothing, and the missing file says so when the host reads the logs.
#[derive(Default)]
pub struct FileLog {
    file: Option<std::fs::File>,
    entries: Vec<u64>,
    written: usize,
    overflowed: bool,
}

const OVERFLOWED: u64 = 1 << 63;
/// Entries a worker lets wait before it writes them while it computes
/// ([`FileLog::sync_some`]): a write to the file costs ~15 µs, too much for every
/// frame of events (~170).
pub const LAZY_SYNC: usize = 16_384;

impl FileLog {
    /// Makes (or empties) actor `a`'s log file in `dir`.
    pub fn create(dir: &std::path::Path, a: ActorId) -> std::io::Result<FileLog> {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(log_path(dir, a))?;
        std::os::unix::fs::FileExt::write_all_at(&f, &0u64.to_le_bytes(), 0)?;
        Ok(FileLog {
            file: Some(f),
            entries: Vec::with_capacity(1024),
            written: 0,
            overflowed: false,
        })
    }

    /// `create`, or a log that records nothing if `record` is off or the file
    /// cannot be made (the host then finds no file and says so).
    pub fn open(record: bool, dir: Option<&std::path::Path>, a: ActorId) -> FileLog {
        match dir {
            Some(dir) if record => FileLog::create(dir, a).unwrap_or_default(),
            _ => FileLog::default(),
        }
    }

    #[inline]
    pub fn push(&mut self, e: Entry) {
        if self.file.is_none() {
            return;
        }
        if self.entries.len() < MAX_OPS {
            self.entries.push(e.0);
        } else {
            self.overflowed = true;
        }
    }

    /// [`Self::sync`] once [`LAZY_SYNC`] entries are waiting: what a worker does
    /// each time it sends a frame of events. Before it waits, prints or ends it
    /// syncs whatever is new, so a process killed while it waits (as `terminate()`
    /// finds the lessons' children) leaves its whole record; one killed while it
    /// computes may leave up to `LAZY_SYNC` entries out, and its run then says it
    /// cannot be replayed rather than replaying something else.
    #[inline]
    pub fn sync_some(&mut self) {
        if self.entries.len() - self.written >= LAZY_SYNC {
            self.sync();
        }
    }

    /// Writes what is new to the file: the entries, then the header. A write
    /// that fails leaves the file short; the host then finds the log does not
    /// match the run.
    pub fn sync(&mut self) {
        use std::os::unix::fs::FileExt;
        let Some(f) = &self.file else {
            return;
        };
        if self.written == self.entries.len() && !self.overflowed {
            return;
        }
        let new = &self.entries[self.written..];
        let mut b = Vec::with_capacity(8 * new.len());
        for e in new {
            b.extend_from_slice(&e.to_le_bytes());
        }
        let at = 8 * (1 + self.written as u64);
        let head = self.entries.len() as u64 | if self.overflowed { OVERFLOWED } else { 0 };
        if f.write_all_at(&b, at).is_ok() && f.write_all_at(&head.to_le_bytes(), 0).is_ok() {
            self.written = self.entries.len();
        }
    }
}

impl Drop for FileLog {
    fn drop(&mut self) {
        self.sync();
    }
}

impl ThreadLog {
    /// Reads a log file a [`FileLog`] wrote; `None` if it is not one. An
    /// empty file is an empty log: the process was started (its parent made
    /// the file) but ended before it made it.
    pub fn read_log_file(path: &std::path::Path) -> Option<ThreadLog> {
        use std::io::Read;
        let mut f = std::fs::File::open(path).ok()?;
        let mut head = [0u8; 8];
        match f.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Some(ThreadLog::default());
            }
            Err(_) => return None,
        }
        let head = u64::from_le_bytes(head);
        let n = (head & !OVERFLOWED) as usize;
        if n > MAX_OPS {
            return None;
        }
        let mut b = vec![0u8; 8 * n];
        f.read_exact(&mut b).ok()?;
        Some(ThreadLog {
            entries: b
                .chunks_exact(8)
                .map(|c| Entry(u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))))
                .collect(),
            overflowed: head & OVERFLOWED != 0,
        })
    }
}

/// The record of a live run of processes, from the log files in `dir`. A
/// worker's `Print` entry holds the time of the event that printed the line;
/// the playground orders a run's output by those times, and so does the record:
/// each `Print` is given its line's place in that order.
pub fn read_process_logs(dir: &std::path::Path, program: &Program) -> Recording {
    let unsupported = |why| Recording {
        logs: Vec::new(),
        unsupported: Some(why),
    };
    if let Err(why) = process_support(program) {
        return unsupported(why);
    }
    let mut logs = Vec::with_capacity(program.actors.len());
    for (a, actor) in program.actors.iter().enumerate() {
        let Some(log) = ThreadLog::read_log_file(&log_path(dir, a as ActorId)) else {
            return unsupported(NoReplay::LogMissing(actor.name.clone()));
        };
        for e in &log.entries {
            if matches!(e.op(), Op::Load | Op::Store) && e.version() == NOTHING {
                let name = program.vars.get(e.obj() as usize).map(|v| v.name.clone());
                return unsupported(NoReplay::Overlap(name.unwrap_or_default()));
            }
        }
        logs.push(log);
    }
    // (time, actor, entry) of every line, in the run's order of output.
    let mut lines: Vec<(u64, usize, usize)> = Vec::new();
    for (a, log) in logs.iter().enumerate() {
        for (i, e) in log.entries.iter().enumerate() {
            if e.op() == Op::Print {
                lines.push((e.version(), a, i));
            }
        }
    }
    lines.sort_unstable();
    for (place, &(_, a, i)) in lines.iter().enumerate() {
        logs[a].entries[i] = Entry::new(Op::Print, 0, place as u64);
    }
    Recording {
        logs,
        unsupported: None,
    }
}

impl Recording {
    /// The lost updates of the run, exactly: stores whose actor last read the
    /// variable before another actor's store, which this one overwrites (what
    /// `trace::lost_updates` counts in a trace, here from the versions each read
    /// saw rather than from the order of timestamps, which can be off by a few).
    pub fn lost_updates(&self) -> usize {
        // Who made each version of each variable.
        let mut writer: std::collections::HashMap<(u16, u64), usize> = Default::default();
        for (a, log) in self.logs.iter().enumerate() {
            for e in log.entries.iter().filter(|e| e.op() == Op::Store) {
                writer.insert((e.obj(), e.version()), a);
            }
        }
        let mut lost = 0;
        for (a, log) in self.logs.iter().enumerate() {
            let mut last_load: std::collections::HashMap<u16, u64> = Default::default();
            for e in &log.entries {
                match e.op() {
                    Op::Load => {
                        last_load.insert(e.obj(), e.version());
                    }
                    Op::Store => {
                        let before = e.version().wrapping_sub(1);
                        if let (Some(&seen), Some(&by)) =
                            (last_load.get(&e.obj()), writer.get(&(e.obj(), before)))
                            && by != a
                            && seen < before
                        {
                            lost += 1;
                        }
                    }
                    _ => {}
                }
            }
        }
        lost
    }
}

/// A shared variable's version, beside its value in `Shared::vars`.
#[derive(Debug, Default)]
pub struct Version(AtomicU64);

impl Version {
    /// Reads `value` and the version of the store that wrote it, as one.
    #[inline]
    pub fn load(&self, value: &AtomicI64) -> (Value, u64) {
        seq_load(&self.0, value)
    }

    /// Writes `v` to `value` and returns the new version, as one.
    #[inline]
    pub fn store(&self, value: &AtomicI64, v: Value) -> u64 {
        seq_store(&self.0, value, v)
    }
}

/// Reads `value` and the version (`seq`, the sequence lock beside it) of the store
/// that wrote it, as one. `seq` may live in memory other processes map
/// (`multiprocessing.Value`), as `Version` lives beside a thread run's variables.
#[inline]
pub fn seq_load(seq: &AtomicU64, value: &AtomicI64) -> (Value, u64) {
    loop {
        let s1 = seq.load(Ordering::Acquire);
        if s1 & 1 == 0 {
            let v = value.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if seq.load(Ordering::Relaxed) == s1 {
                return (v, s1 / 2);
            }
        }
        std::hint::spin_loop();
    }
}

/// Writes `v` to `value` and returns the new version, as one (see [`seq_load`]).
#[inline]
pub fn seq_store(seq: &AtomicU64, value: &AtomicI64, v: Value) -> u64 {
    let mut s = seq.load(Ordering::Relaxed);
    loop {
        if s & 1 == 0 {
            match seq.compare_exchange_weak(s, s + 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => s = now,
            }
        } else {
            std::hint::spin_loop();
            s = seq.load(Ordering::Relaxed);
        }
    }
    value.store(v, Ordering::Release);
    seq.store(s + 2, Ordering::Release);
    s / 2 + 1
}

/// Reads a shared file through `read`, and the version of the write it saw
/// (`seq` as in [`seq_load`]), or [`NOTHING`] if a write was under way or came
/// between: the read is never held up, so a reader that comes between a
/// writer's truncate and its write still finds an empty file, as in Python.
pub fn file_load<R>(seq: &AtomicU64, read: impl FnOnce() -> R) -> (R, u64) {
    let s1 = seq.load(Ordering::Acquire);
    let r = read();
    fence(Ordering::Acquire);
    let s2 = seq.load(Ordering::Relaxed);
    (
        r,
        if s1 == s2 && s1 & 1 == 0 {
            s1 / 2
        } else {
            NOTHING
        },
    )
}

/// Writes a shared file through `write`, and gives the write's version, or
/// [`NOTHING`] if another write overlapped it (two writers are not held up
/// either: their bytes mix as they would in Python).
pub fn file_store<R>(seq: &AtomicU64, write: impl FnOnce() -> R) -> (R, u64) {
    let s = seq.fetch_add(1, Ordering::AcqRel);
    let r = write();
    let e = seq.fetch_add(1, Ordering::AcqRel);
    (
        r,
        if s & 1 == 0 && e == s + 1 {
            s / 2 + 1
        } else {
            NOTHING
        },
    )
}

/// Counts the acquisitions of one lock; read and bumped only by its holder.
#[derive(Debug, Default)]
pub struct LockCount(AtomicU64);

impl LockCount {
    /// Acquisitions before this one; call it holding the lock.
    #[inline]
    pub fn bump(&self) -> u64 {
        bump(&self.0)
    }
}

/// Acquisitions of a lock before this one, counted in `count` (which may live in
/// memory other processes map); call it holding the lock.
#[inline]
pub fn bump(count: &AtomicU64) -> u64 {
    let n = count.load(Ordering::Relaxed);
    count.store(n + 1, Ordering::Relaxed);
    n
}

/// Puts the logs of the actors that ran together; `logs[a]` is actor `a`'s.
pub fn gather(n: usize, mut done: Vec<(ActorId, ThreadLog)>) -> Vec<ThreadLog> {
    let mut logs = vec![ThreadLog::default(); n];
    for (a, log) in done.drain(..) {
        if let Some(slot) = logs.get_mut(a as usize) {
            *slot = log;
        }
    }
    logs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_log_reads_back_as_written_even_unfinished() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut log = FileLog::create(dir.path(), 2).expect("makes its file");
        log.push(Entry::new(Op::Load, 2, 9));
        log.push(Entry::new(Op::Get, 5, RAISED));
        // Read while the writer still has it, after it wrote, as after a kill.
        log.sync();
        let back = ThreadLog::read_log_file(&log_path(dir.path(), 2)).expect("reads");
        assert_eq!(
            back.entries,
            vec![Entry::new(Op::Load, 2, 9), Entry::new(Op::Get, 5, RAISED)]
        );
        assert!(!back.overflowed);
        drop(log);
        // An empty file: a process started but killed before it made its log.
        std::fs::write(log_path(dir.path(), 3), b"").expect("writes");
        let empty = ThreadLog::read_log_file(&log_path(dir.path(), 3)).expect("reads");
        assert!(empty.entries.is_empty());
        // No file at all, or one that claims more than it holds: no log.
        assert!(ThreadLog::read_log_file(&log_path(dir.path(), 4)).is_none());
        std::fs::write(log_path(dir.path(), 5), 3u64.to_le_bytes()).expect("writes");
        assert!(ThreadLog::read_log_file(&log_path(dir.path(), 5)).is_none());
    }

    #[test]
    fn only_processes_that_share_values_and_locks_record() {
        let cat = crate::catalog::Catalog::embedded().expect("lessons");
        for (id, ok) in [
            ("value-race", true),
            ("fork", true),
            ("queue", true),
            ("pipe", true),
            ("gil", false),
        ] {
            let l = cat.find(id).expect("lesson");
            let p = crate::scenarios::build(l, &l.default_knobs()).expect("builds");
            assert_eq!(process_support(&p).is_ok(), ok, "{id}");
        }
    }

    #[test]
    fn an_entry_keeps_its_parts() {
        for op in [
            Op::Load,
            Op::Store,
            Op::Acquire,
            Op::Print,
            Op::Put,
            Op::Get,
            Op::Alive,
        ] {
            let e = Entry::new(op, 0x1fff, NOTHING);
            assert_eq!((e.op(), e.obj(), e.version()), (op, 0x1fff, NOTHING));
            let e = Entry::new(op, 3, 7);
            assert_eq!((e.op(), e.obj(), e.version()), (op, 3, 7));
        }
    }

    #[test]
    fn versions_count_stores_and_loads_see_them() {
        let (v, x) = (Version::default(), AtomicI64::new(5));
        assert_eq!(v.load(&x), (5, 0));
        assert_eq!(v.store(&x, 8), 1);
        assert_eq!(v.store(&x, 9), 2);
        assert_eq!(v.load(&x), (9, 2));
    }

    #[test]
    fn concurrent_stores_get_distinct_versions() {
        let (v, x) = (Version::default(), AtomicI64::new(0));
        let mut seen: Vec<u64> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|t| {
                    let (v, x) = (&v, &x);
                    s.spawn(move || {
                        (0..1000)
                            .map(|i| v.store(x, t * 1000 + i))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        seen.sort_unstable();
        assert_eq!(seen, (1..=4000).collect::<Vec<u64>>());
        let (last, ver) = v.load(&x);
        assert_eq!(ver, 4000);
        assert!((0..4000).contains(&last));
    }

    #[test]
    fn a_log_stops_at_its_cap_and_says_so() {
        let mut log = ThreadLog::default();
        for i in 0..MAX_OPS as u64 + 3 {
            log.push(Entry::new(Op::Load, 0, i));
        }
        assert_eq!(log.entries.len(), MAX_OPS);
        let rec = Recording {
            logs: vec![log],
            unsupported: None,
        };
        assert_eq!(rec.unavailable(), Some(NoReplay::RecordTooLong));
        assert!(NoReplay::RecordTooLong.to_string().contains("run too long"));
    }
}
