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
/// In `cond.wait()`: any other thread could notify it.
const COND: u64 = 3;

/// What a thread sleeping in `cond.wait()` on lock `l`'s condition publishes.
pub(super) fn on_cond(l: LockId, pc: Pc) -> u64 {
    pack(COND, l, pc)
}

/// What a thread blocked in `sem.acquire()` or `ev.wait()` on variable `g`
/// publishes: like a condition's wait, any other thread could wake it.
pub(super) fn on_var(g: crate::program::VarId, pc: Pc) -> u64 {
    pack(COND, g, pc)
}

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
        if kind == COND {
            // Stuck for good only when every other live thread is blocked too.
            let all_blocked = (0..n)
                .filter(|&b| b != a && live(b))
                .all(|b| sh.block_on[b].load(Ordering::SeqCst) != 0);
            if !all_blocked {
                return None;
            }
            waits.push((a as ActorId, pc, -1));
            continue;
        }
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
    super::send(sh, LiveMsg::Events(events));
    // The threads give their locks back, record nothing more, and end; the last
    // one to end says the run has finished.
    sh.stop.store(true, Ordering::SeqCst);
    for g in &sh.gils {
        g.wake_all();
    }
    let _g = sh.done_lock.lock();
    sh.done_cond.notify_all();
}

/// How long a process lesson must stay still, every live actor blocked, before the
/// forwarder calls it stuck for good (twice this is the longest it takes).
const PROCESS_LOOK: Duration = Duration::from_millis(200);

/// What the forwarder knows of one actor of a process lesson, from its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    /// Nobody has started it.
    Unstarted,
    /// Started by its parent; its own first events have not arrived yet.
    Starting,
    Running,
    Sleeping,
    /// Blocked at this pc, waiting for this actor (−1: for data or a slot).
    Blocked(Pc, Value),
    Done,
}

/// Follows a process lesson's events: who is blocked on what.
struct ProcessWatch {
    program: Arc<crate::program::Program>,
    seen: Vec<Seen>,
    holder: Vec<Option<ActorId>>,
    last_t_ns: u64,
}

impl ProcessWatch {
    fn new(program: Arc<crate::program::Program>) -> Self {
        let seen = program
            .actors
            .iter()
            .map(|a| {
                if a.autostart {
                    Seen::Starting
                } else {
                    Seen::Unstarted
                }
            })
            .collect();
        ProcessWatch {
            holder: vec![None; program.locks.len()],
            seen,
            program,
            last_t_ns: 0,
        }
    }

    fn take(&mut self, e: &Event) {
        use crate::program::Instr;
        let a = e.actor as usize;
        if a >= self.seen.len() {
            return;
        }
        self.last_t_ns = self.last_t_ns.max(e.t_ns);
        let me = &mut self.seen[a];
        match e.kind {
            EventKind::Exec => {
                *me = Seen::Running;
                self.took_step(e, a);
            }
            // A timed queue call (queue-api), `join(timeout)`, barrier wait or
            // event wait ends by itself once its timeout is up.
            EventKind::Block
                if matches!(
                    self.program.instr(e.actor, e.pc),
                    Some(
                        Instr::QueueTry { .. }
                            | Instr::JoinFor { .. }
                            | Instr::BarrierSleep {
                                timeout_us: 1..,
                                ..
                            }
                    )
                ) || matches!(
                    self.program.instr(e.actor, e.pc),
                    Some(Instr::EventWait { timeout_us, .. }) if timeout_us > 0
                ) =>
            {
                *me = Seen::Sleeping;
            }
            EventKind::Block => {
                let on = match self.program.instr(e.actor, e.pc) {
                    Some(Instr::Join(t)) => t as Value,
                    Some(Instr::Acquire(l) | Instr::AioAcquire(l)) => self
                        .holder
                        .get(l as usize)
                        .copied()
                        .flatten()
                        .map_or(-1, |h| h as Value),
                    // Nobody in particular (whoever puts, gets, sends), or not a
                    // blocking instruction.
                    Some(
                        Instr::QueuePut { .. }
                        | Instr::QueueGet { .. }
                        | Instr::PipeRecv { .. }
                        | Instr::RunProgram { .. }
                        | Instr::QueueTry { .. }
                        | Instr::CondSleep(_)
                        | Instr::BarrierWait { .. }
                        | Instr::BarrierSleep { .. }
                        | Instr::SemAcquire(_)
                        | Instr::EventWait { .. }
                        | Instr::JoinFor { .. },
                    )
                    | None
                    | Some(crate::program::never_blocks!()) => -1,
                };
                *me = Seen::Blocked(e.pc, on);
            }
            EventKind::Wake => *me = Seen::Running,
            EventKind::Ended => *me = Seen::Done,
            EventKind::GilTake | EventKind::GilDrop => {
                if matches!(*me, Seen::Unstarted | Seen::Starting) {
                    *me = Seen::Running;
                }
            }
            EventKind::Deadlock => {}
        }
    }

    /// What an executed step changes besides its actor running: an end, a sleep, a
    /// start, a lock's holder.
    fn took_step(&mut self, e: &Event, a: usize) {
        use crate::program::Instr;
        match self.program.instr(e.actor, e.pc) {
            Some(Instr::Exit(_) | Instr::Raise(_)) => self.seen[a] = Seen::Done,
            Some(Instr::Sleep(_) | Instr::AioBlock(_)) => self.seen[a] = Seen::Sleeping,
            Some(Instr::AioSleep(us)) if us > 0 => self.seen[a] = Seen::Sleeping,
            Some(Instr::Start(t) | Instr::Fork(t)) => {
                if let Some(s) = self.seen.get_mut(t as usize)
                    && *s == Seen::Unstarted
                {
                    *s = Seen::Starting;
                }
            }
            Some(Instr::Acquire(l) | Instr::AioAcquire(l)) => {
                self.holder[l as usize] = Some(e.actor)
            }
            Some(Instr::Release(l) | Instr::CondWait(l) | Instr::AioRelease(l)) => {
                self.holder[l as usize] = None
            }
            None
            | Some(
                crate::program::local_instr!()
                | Instr::LoadGlobal(_)
                | Instr::StoreGlobal(_)
                | Instr::ListStore { .. }
                | Instr::Join(_)
                | Instr::JoinFor { .. }
                | Instr::Print { .. }
                | Instr::Work(_)
                | Instr::TlsSet { .. }
                | Instr::TlsGet(_)
                | Instr::Clock { .. }
                | Instr::Ident(_)
                | Instr::ForkChild
                | Instr::GetPid
                | Instr::GetPpid
                | Instr::ProcPid(_)
                | Instr::QueueReady(_)
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
                | Instr::AioSleep(_)
                | Instr::CondSleep(_)
                | Instr::CondNotify { .. }
                | crate::program::barrier_instr!()
                | crate::program::sync_instr!(),
            ) => {}
        }
    }

    /// Every live actor and what it waits for, when all of them are blocked:
    /// nobody is left who could release or feed anybody.
    fn stuck(&self) -> Option<Vec<Wait>> {
        let mut waits = Vec::new();
        for (a, s) in self.seen.iter().enumerate() {
            match *s {
                Seen::Unstarted | Seen::Done => {}
                Seen::Blocked(pc, on) => waits.push((a as ActorId, pc, on)),
                Seen::Starting | Seen::Running | Seen::Sleeping => return None,
            }
        }
        (!waits.is_empty()).then_some(waits)
    }
}

/// Stands between a process lesson's workers and whoever watches the run: passes
/// every message on, and when every live actor has been blocked, with nothing
/// arriving, for two looks in a row, reports them as a deadlock and ends the run
/// (the watcher then stops the workers).
pub(super) fn forward_processes(
    program: Arc<crate::program::Program>,
    from: crossbeam::channel::Receiver<LiveMsg>,
    to: crossbeam::channel::Sender<LiveMsg>,
    closed: Arc<std::sync::atomic::AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("process-watchdog".into())
        .spawn(move || {
            let mut watch = ProcessWatch::new(program);
            let mut still = 0;
            let mut last_msg = std::time::Instant::now();
            loop {
                match from.recv_timeout(PROCESS_LOOK) {
                    Ok(m) => {
                        still = 0;
                        last_msg = std::time::Instant::now();
                        if let LiveMsg::Events(evs) = &m {
                            evs.iter().for_each(|e| watch.take(e));
                        }
                        let end = matches!(m, LiveMsg::Finished);
                        if !super::send_while_open(&to, m, &closed) || end {
                            return;
                        }
                    }
                    Err(crossbeam::channel::RecvTimeoutError::Timeout) => {
                        let Some(waits) = watch.stuck() else {
                            still = 0;
                            continue;
                        };
                        still += 1;
                        if still < 2 {
                            continue;
                        }
                        let t_ns = watch.last_t_ns + last_msg.elapsed().as_nanos() as u64;
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
                        super::send_while_open(&to, LiveMsg::Events(events), &closed);
                        super::send_while_open(&to, LiveMsg::Finished, &closed);
                        return;
                    }
                    Err(crossbeam::channel::RecvTimeoutError::Disconnected) => return,
                }
            }
        })
}
