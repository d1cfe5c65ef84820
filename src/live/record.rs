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

use crate::program::{ActorId, Value};
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
    pub unsupported: Option<String>,
}

impl Recording {
    /// Why the run cannot be replayed, if it cannot.
    pub fn unavailable(&self) -> Option<String> {
        if let Some(why) = &self.unsupported {
            return Some(why.clone());
        }
        self.logs.iter().any(|l| l.overflowed).then(|| {
            format!(
                "run too long: a thread made more than {MAX_OPS} shared reads, writes, \
                 acquisitions and prints"
            )
        })
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
        loop {
            let s1 = self.0.load(Ordering::Acquire);
            if s1 & 1 == 0 {
                let v = value.load(Ordering::Relaxed);
                fence(Ordering::Acquire);
                if self.0.load(Ordering::Relaxed) == s1 {
                    return (v, s1 / 2);
                }
            }
            std::hint::spin_loop();
        }
    }

    /// Writes `v` to `value` and returns the new version, as one.
    #[inline]
    pub fn store(&self, value: &AtomicI64, v: Value) -> u64 {
        let mut s = self.0.load(Ordering::Relaxed);
        loop {
            if s & 1 == 0 {
                match self
                    .0
                    .compare_exchange_weak(s, s + 1, Ordering::Acquire, Ordering::Relaxed)
                {
                    Ok(_) => break,
                    Err(now) => s = now,
                }
            } else {
                std::hint::spin_loop();
                s = self.0.load(Ordering::Relaxed);
            }
        }
        value.store(v, Ordering::Release);
        self.0.store(s + 2, Ordering::Release);
        s / 2 + 1
    }
}

/// Counts the acquisitions of one lock; read and bumped only by its holder.
#[derive(Debug, Default)]
pub struct LockCount(AtomicU64);

impl LockCount {
    /// Acquisitions before this one; call it holding the lock.
    #[inline]
    pub fn bump(&self) -> u64 {
        let n = self.0.load(Ordering::Relaxed);
        self.0.store(n + 1, Ordering::Relaxed);
        n
    }
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
        assert!(
            rec.unavailable()
                .is_some_and(|w| w.contains("run too long"))
        );
    }
}
