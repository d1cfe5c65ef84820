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
//! Worker processes record the same way: a `multiprocessing.Value`'s version and
//! each lock's count of acquisitions sit beside them in the shared memory every
//! worker maps, and a global count of printed lines with them. Each process hands
//! in its log as a file in the run's folder when its actor ends
//! ([`ThreadLog::to_bytes`], [`log_path`]); the host reads them back.

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
pub enum Op {
    /// A load of variable `obj`; `version` is the store it saw (0: the initial value).
    Load,
    /// A store to variable `obj`; `version` is the one it made (from 1).
    Store,
    /// An acquisition of lock `obj`; `version`: acquisitions of it before this one.
    Acquire,
    /// A printed line; `version`: lines printed before it.
    Print,
}

/// One recorded operation, packed: 2 bits of kind, 14 of object, 48 of version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry(u64);

impl Entry {
    #[inline]
    pub fn new(op: Op, obj: u16, version: u64) -> Entry {
        let k = match op {
            Op::Load => 0,
            Op::Store => 1,
            Op::Acquire => 2,
            Op::Print => 3,
        };
        Entry((k << 62) | ((obj as u64 & 0x3fff) << 48) | (version & ((1 << 48) - 1)))
    }
    pub fn op(self) -> Op {
        match self.0 >> 62 {
            0 => Op::Load,
            1 => Op::Store,
            2 => Op::Acquire,
            _ => Op::Print,
        }
    }
    pub fn obj(self) -> u16 {
        ((self.0 >> 48) & 0x3fff) as u16
    }
    pub fn version(self) -> u64 {
        self.0 & ((1 << 48) - 1)
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
        }
    }
}

impl std::fmt::Display for NoReplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(Lang::En))
    }
}

/// Whether the worker processes of `program` record what its stepped replay
/// needs, or the first operation they do not record. They record loads and
/// stores of shared memory (`multiprocessing.Value`), lock acquisitions and
/// printed lines; queues, pipes, files, PIDs, forks, signals and other programs
/// hand values across in ways the record does not hold (and the simulator's PIDs
/// are not the real ones), so such a program is not replayed. A variable that is
/// not shared is a process's own copy: it is left out of the record, so it may
/// be touched only where one actor runs.
pub fn process_support(program: &Program) -> Result<(), NoReplay> {
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
                Instr::Acquire(_)
                | Instr::Release(_)
                | Instr::Start(_)
                | Instr::Join(_)
                | Instr::Print { .. }
                | Instr::Sleep(_)
                | Instr::Work(_)
                | Instr::Exit(_) => true,
                _ => false,
            };
            if !ok {
                return Err(NoReplay::NotRecorded(program.dis(ai as ActorId, *ins)));
            }
        }
    }
    Ok(())
}

impl ThreadLog {
    /// The log as a worker process hands it in (a file in the run's folder): a
    /// flag that says it overflowed, then its entries, 8 bytes each, little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(8 * (self.entries.len() + 1));
        b.extend_from_slice(&(self.overflowed as u64).to_le_bytes());
        for e in &self.entries {
            b.extend_from_slice(&e.0.to_le_bytes());
        }
        b
    }

    /// A log handed in by [`ThreadLog::to_bytes`]; `None` if it is cut short or
    /// longer than a log can be.
    pub fn from_bytes(b: &[u8]) -> Option<ThreadLog> {
        if !b.len().is_multiple_of(8) || b.len() < 8 || b.len() / 8 - 1 > MAX_OPS {
            return None;
        }
        let mut words = b
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        let overflowed = words.next()? != 0;
        Some(ThreadLog {
            entries: words.map(Entry).collect(),
            overflowed,
        })
    }
}

/// Where a worker process hands in actor `a`'s log: a file in the run's folder.
pub fn log_path(dir: &std::path::Path, a: ActorId) -> std::path::PathBuf {
    dir.join(format!("record-{a}"))
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
    fn a_log_comes_back_as_a_worker_handed_it_in() {
        let log = ThreadLog {
            entries: vec![Entry::new(Op::Load, 2, 9), Entry::new(Op::Print, 0, 1)],
            overflowed: true,
        };
        let back = ThreadLog::from_bytes(&log.to_bytes()).expect("reads back");
        assert_eq!((&back.entries, back.overflowed), (&log.entries, true));
        // A file cut short or empty is no log.
        assert!(ThreadLog::from_bytes(&log.to_bytes()[..13]).is_none());
        assert!(ThreadLog::from_bytes(&[]).is_none());
    }

    #[test]
    fn only_processes_that_share_values_and_locks_record() {
        let cat = crate::catalog::Catalog::embedded().expect("lessons");
        for (id, ok) in [("value-race", true), ("fork", false), ("queue", false)] {
            let l = cat.find(id).expect("lesson");
            let p = crate::scenarios::build(l, &l.default_knobs()).expect("builds");
            assert_eq!(process_support(&p).is_ok(), ok, "{id}");
        }
    }

    #[test]
    fn an_entry_keeps_its_parts() {
        for op in [Op::Load, Op::Store, Op::Acquire, Op::Print] {
            let e = Entry::new(op, 0x3fff, (1 << 48) - 1);
            assert_eq!((e.op(), e.obj(), e.version()), (op, 0x3fff, (1 << 48) - 1));
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
