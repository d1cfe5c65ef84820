//! The live deadlock watchdog: notices that every live thread waits for another one
//! that can never go on, records the cycle as `Deadlock` events and stops the run.

use super::{LiveMsg, Shared};
use crate::program::{ActorId, LockId, Pc, Value};
use crate::trace::{Event, EventKind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How often the watchdog looks. Two identical looks in a row are needed, so a
/// deadlock is reported within about three of these.
const LOOK_EVERY: Duration = Duration::from_millis(60);
/// How long it sleeps at a time, so that stopping a run never waits for it long.
const NAP: Duration = Duration::from_millis(10);

/// A thread stuck for good: who, at which instruction, waiting for whom.
type Wait = (ActorId, Pc, Value);

const LOCK: u64 = 1;
const JOIN: u64 = 2;

/// What a thread blocked in `lock.acquire()` at `pc` publishes.
pub(super) fn on_lock(l: LockId, pc: Pc) -> u64 {
    pack(LOCK, l, pc)
}

/// What a thread blocked in `t.join()` at `pc` publishes.
pub(super) fn on_join(t: ActorId, pc: Pc) -> u64 {
    pack(JOIN, t, pc)
}

fn pack(kind: u64, id: u16, pc: Pc) -> u64 {
    kind << 48 | (id as u64) << 32 | pc as u64
}

/// (kind, id, pc) of a published block, or `None` for 0 (not blocked).
fn unpack(w: u64) -> Option<(u64, u16, Pc)> {
    (w != 0).then_some((w >> 48, (w >> 32) as u16, w as u32))
}

/// Starts the watchdog thread of a run; it ends with the run.
pub(super) fn start(sh: &Arc<Shared>) {
    let s2 = sh.clone();
    let h = std::thread::Builder::new()
        .name("deadlock-watchdog".into())
        .spawn(move || watch(&s2));
    // Without a watchdog a deadlocked run still ends at its timeout or reset.
    if let Ok(h) = h {
        sh.handles.lock().push(h);
    }
}

fn watch(sh: &Shared) {
    let mut last: Option<(Vec<Wait>, u64)> = None;
    loop {
        let mut slept = Duration::ZERO;
        while slept < LOOK_EVERY {
            if sh.stop.load(Ordering::Relaxed) || sh.alive.load(Ordering::SeqCst) == 0 {
                return;
            }
            std::thread::sleep(NAP);
            slept += NAP;
        }
        let progress = sh.progress.load(Ordering::SeqCst);
        let now = cycle(sh).map(|c| (c, progress));
        if now.is_some() && now == last {
            let Some((waits, _)) = now else { return };
            report(sh, &waits);
            return;
        }
        last = now;
    }
}

/// Every live thread and what it waits for forever, when each one is blocked on a
/// thread that is itself blocked (or has ended holding the lock); otherwise `None`.
fn cycle(sh: &Shared) -> Option<Vec<Wait>> {
    let n = sh.program.actors.len();
    let live =
        |a: usize| sh.started[a].load(Ordering::SeqCst) && !sh.done[a].load(Ordering::SeqCst);
    let mut waits = Vec::new();
    for a in (0..n).filter(|&a| live(a)) {
        let (kind, id, pc) = unpack(sh.block_on[a].load(Ordering::SeqCst))?;
        let on = match kind {
            LOCK => {
                let h = sh.lock_holder.get(id as usize)?.load(Ordering::SeqCst);
                // −1: the lock is being handed over right now.
                usize::try_from(h).ok()?
            }
            _ => id as usize,
        };
        if on >= n || on == a {
            return None;
        }
        // The one waited for must itself be stuck: blocked, or ended with the lock.
        let stuck = !live(on) && sh.done[on].load(Ordering::SeqCst)
            || live(on) && sh.block_on[on].load(Ordering::SeqCst) != 0;
        if !stuck || (kind == JOIN && !live(on)) {
            return None;
        }
        waits.push((a as ActorId, pc, on as Value));
    }
    (!waits.is_empty()).then_some(waits)
}

fn report(sh: &Shared, waits: &[Wait]) {
    let t_ns = sh.t0.elapsed().as_nanos() as u64;
    let events = waits
        .iter()
        .map(|&(actor, pc, value)| Event {
            t_ns,
            value,
            pc,
            actor,
            kind: EventKind::Deadlock,
        })
        .collect();
    let _ = sh.tx.send(LiveMsg::Events(events));
    // The threads give their locks back, record nothing more, and end; the last
    // one to end says the run has finished.
    sh.stop.store(true, Ordering::SeqCst);
    for g in &sh.gils {
        g.wake_all();
    }
    let _g = sh.done_lock.lock();
    sh.done_cond.notify_all();
}
