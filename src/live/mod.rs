//! The live engine: every thread a real OS thread, shared variables real memory
//! (atomics, loaded and stored in separate steps), locks real locks, the GIL a real
//! lock, and every event stamped with the monotonic clock.

mod aio;
mod fd;
mod gil;
pub mod ipc;
pub mod process;
pub mod record;
pub mod terminal;
mod thread;
mod watchdog;
pub mod worker;

pub use gil::Gil;

use crate::program::{ActorId, EngineConfig, Instr, Program, Value};
use crate::trace::{Event, EventKind, OutputLine, Prefix, Trace};
use crossbeam::channel::{Receiver, SendTimeoutError, Sender, bounded};
use parking_lot::lock_api::RawMutex as _;
use parking_lot::{Condvar, Mutex, RawMutex};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a live run sends to whoever watches it.
#[derive(Clone, Debug)]
pub enum LiveMsg {
    /// A batch of one actor's events, in that actor's order.
    Events(Vec<Event>),
    /// A printed line; `index` is the value of the `print` event that made it.
    Output {
        index: u64,
        actor: ActorId,
        text: String,
        /// The write did not end its line (`OutputLine::open`).
        open: bool,
    },
    /// A process actor's real PID, for its timeline label.
    Label { actor: ActorId, pid: i32 },
    /// Every actor has ended.
    Finished,
}

/// Events an actor sends at once (and at least every [`FLUSH_NS`]).
const CHUNK: usize = 4096;
const FLUSH_NS: u64 = 20_000_000;
/// How often a blocked thread looks up to see whether the run is being stopped.
const POLL: Duration = Duration::from_millis(10);
/// Messages a run's channel holds before a sender waits: 256 full batches of
/// [`CHUNK`] events are 25 MB. A run that records faster than its watcher takes
/// the events in waits for it, instead of piling them up in memory (a balance
/// race at 10 M iterations used to fill 22 GB this way).
const CHANNEL_MESSAGES: usize = 256;
/// Messages [`Collector::drain`] takes in at once, so that a run refilling the
/// channel as it empties cannot keep the screen from drawing.
const DRAIN_MESSAGES: usize = 2 * CHANNEL_MESSAGES;
/// A live trace keeps at most this many events (24 MB); past it, the oldest are
/// added up into the trace's prefix and dropped, down to [`KEEP_EVENTS`]. The
/// screen walks the window each time it refreshes a live run's panels (4 times
/// a second), so the window is kept smaller than a stepped run's.
pub const WINDOW_EVENTS: usize = 1 << 20;
/// Events kept after a drop: the screen's rows, the timeline and the exports
/// of a long run show at least the newest half million.
pub const KEEP_EVENTS: usize = 1 << 19;
/// Events at the end of the sorted part that a late batch may still move
/// (see [`Collector::sort`]); those before are in their final place. A batch is
/// late by what its thread recorded before sending it (at most [`CHUNK`] events
/// or [`FLUSH_NS`]) and by what other threads sent meanwhile; a worker
/// process's frames also wait in the pipe and two channels. 256 K events cover
/// both with room to spare, and sorting them again costs about a millisecond.
const SORT_MARGIN: usize = 1 << 18;
/// Units of CPU work between two looks at the GIL's drop request (a countdown loop
/// has a back-edge every unit; looking every unit would only cost time).
const WORK_SLICE: u32 = 256;

struct Shared {
    program: Arc<Program>,
    cfg: EngineConfig,
    speed: f64,
    t0: Instant,
    vars: Vec<AtomicI64>,
    locks: Vec<RawMutex>,
    done: Vec<AtomicBool>,
    done_lock: Mutex<()>,
    done_cond: Condvar,
    gils: Vec<Gil>,
    stop: AtomicBool,
    /// Set when the watcher stops reading (a stop, a drop): a sender waiting
    /// for room in the channel gives up then.
    closed: Arc<AtomicBool>,
    handles: Mutex<Vec<JoinHandle<()>>>,
    tx: Sender<LiveMsg>,
    outputs: AtomicU64,
    alive: AtomicUsize,
    /// What the deadlock watchdog reads: who holds each lock (−1: nobody) …
    lock_holder: Vec<AtomicI32>,
    /// … what each actor is blocked on ([`watchdog::blocked`]; 0: not blocked) …
    block_on: Vec<AtomicU64>,
    started: Vec<AtomicBool>,
    /// … and a count of every unblocking, so it can tell a still picture.
    progress: AtomicU64,
    /// What a stepped replay needs (record.rs): a version beside each variable,
    /// a count beside each lock, and the logs of the threads that have ended.
    versions: Vec<record::Version>,
    lock_counts: Vec<record::LockCount>,
    logs: Mutex<Vec<(ActorId, record::ThreadLog)>>,
    /// Per lock that is a `threading.Condition`'s: the threads in its `wait()`
    /// not notified yet, longest waiting first; `cond_changed` wakes them.
    cond_waiters: Mutex<Vec<std::collections::VecDeque<ActorId>>>,
    cond_changed: Condvar,
    /// Per lock that names a `threading.Barrier`: its state; `barrier_changed`
    /// wakes the threads waiting at it.
    barriers: Mutex<Vec<crate::interp::barrier::BarrierState>>,
    barrier_changed: Condvar,
}

/// A running (or finished) live run. Dropping it stops every thread it started.
pub struct LiveRun {
    shared: Arc<Shared>,
    rx: Receiver<LiveMsg>,
    /// The worker processes of a program with processes (process.rs).
    host: Option<process::Host>,
}

impl LiveRun {
    /// Starts the program's first threads. `speed` scales sleeps (2.0 = twice as fast).
    pub fn start(program: Arc<Program>, cfg: EngineConfig, speed: f64) -> LiveRun {
        let (tx, rx) = bounded(CHANNEL_MESSAGES);
        let nproc = program.process_count();
        let interval = Duration::from_nanos(cfg.switch_interval_ns.max(1));
        let shared = Arc::new(Shared {
            vars: program
                .vars
                .iter()
                .map(|v| AtomicI64::new(v.init))
                .collect(),
            locks: program.locks.iter().map(|_| RawMutex::INIT).collect(),
            done: program
                .actors
                .iter()
                .map(|_| AtomicBool::new(false))
                .collect(),
            done_lock: Mutex::new(()),
            done_cond: Condvar::new(),
            gils: (0..nproc).map(|_| Gil::new(interval)).collect(),
            stop: AtomicBool::new(false),
            closed: Arc::new(AtomicBool::new(false)),
            handles: Mutex::new(Vec::new()),
            tx,
            outputs: AtomicU64::new(0),
            alive: AtomicUsize::new(0),
            lock_holder: program.locks.iter().map(|_| AtomicI32::new(-1)).collect(),
            block_on: program.actors.iter().map(|_| AtomicU64::new(0)).collect(),
            cond_waiters: Mutex::new(vec![Default::default(); program.locks.len()]),
            cond_changed: Condvar::new(),
            barriers: Mutex::new(vec![Default::default(); program.locks.len()]),
            barrier_changed: Condvar::new(),
            started: program
                .actors
                .iter()
                .map(|_| AtomicBool::new(false))
                .collect(),
            progress: AtomicU64::new(0),
            versions: program.vars.iter().map(|_| Default::default()).collect(),
            lock_counts: program.locks.iter().map(|_| Default::default()).collect(),
            logs: Mutex::new(Vec::new()),
            t0: Instant::now(),
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
            cfg,
            program,
        });
        let autostart: Vec<ActorId> = (0..shared.program.actors.len() as ActorId)
            .filter(|&a| shared.program.actors[a as usize].autostart)
            .collect();
        if shared.program.event_loop {
            // asyncio: every task on one event loop, on one OS thread.
            aio::start(&shared);
            return LiveRun {
                shared,
                rx,
                host: None,
            };
        }
        if shared.program.uses_processes() {
            // Every process, the main one included, is a real worker process.
            // The workers' messages pass through a watchdog that notices a run
            // in which every live actor is blocked for good.
            let (wtx, wrx) = bounded(CHANNEL_MESSAGES);
            let watch = watchdog::forward_processes(
                shared.program.clone(),
                wrx,
                shared.tx.clone(),
                shared.closed.clone(),
            );
            match watch {
                Ok(h) => shared.handles.lock().push(h),
                Err(_) => return LiveRun::failed(shared, rx, "cannot start the watchdog"),
            }
            let host = process::Host::start(
                shared.program.clone(),
                cfg,
                shared.speed,
                wtx,
                shared.closed.clone(),
            );
            let host = match host {
                Ok(h) => Some(h),
                Err(e) => {
                    let _ = shared.tx.send(LiveMsg::Output {
                        index: 0,
                        actor: 0,
                        text: format!("interleave: cannot start a worker process: {e}"),
                        open: false,
                    });
                    let _ = shared.tx.send(LiveMsg::Finished);
                    None
                }
            };
            return LiveRun { shared, rx, host };
        }
        if autostart.is_empty() {
            let _ = shared.tx.send(LiveMsg::Finished);
        }
        for a in autostart {
            spawn(&shared, a);
        }
        watchdog::start(&shared);
        LiveRun {
            shared,
            rx,
            host: None,
        }
    }

    /// A run that could not start: it says why and has finished.
    fn failed(shared: Arc<Shared>, rx: Receiver<LiveMsg>, why: &str) -> LiveRun {
        let _ = shared.tx.send(LiveMsg::Output {
            index: 0,
            actor: 0,
            text: format!("interleave: {why}"),
            open: false,
        });
        let _ = shared.tx.send(LiveMsg::Finished);
        LiveRun {
            shared,
            rx,
            host: None,
        }
    }

    /// Where events and output arrive: a loop waits on it beside its other channels.
    pub fn receiver(&self) -> &Receiver<LiveMsg> {
        &self.rx
    }

    /// The real terminal or pipe the processes write to (the buffering lesson),
    /// when the run has one: what it received, also after the run is dropped.
    pub fn terminal(&self) -> Option<terminal::Watch> {
        self.host.as_ref().and_then(process::Host::terminal)
    }

    pub fn program(&self) -> &Arc<Program> {
        &self.shared.program
    }

    /// The shared variables as the threads left them in memory, for a program of
    /// threads (`None` for one of processes: those live in the workers).
    pub fn memory(&self) -> Option<Vec<Value>> {
        if self.host.is_some() || self.shared.program.uses_processes() {
            return None;
        }
        Some(
            self.shared
                .vars
                .iter()
                .map(|v| v.load(Ordering::SeqCst))
                .collect(),
        )
    }

    /// What a stepped replay of this run needs (record.rs); complete once every
    /// thread has ended.
    pub fn recording(&self) -> record::Recording {
        if let Some(host) = &self.host {
            return host.recording(&self.shared.program);
        }
        if self.shared.program.uses_processes() {
            // Its workers could not start: nothing ran.
            return record::Recording {
                logs: Vec::new(),
                unsupported: Some(record::NoReplay::Stopped),
            };
        }
        let done = self.shared.logs.lock().clone();
        record::Recording {
            logs: record::gather(self.shared.program.actors.len(), done),
            unsupported: None,
        }
    }

    /// Asks every thread to stop and waits for them all.
    pub fn stop(&mut self) {
        // Nobody reads the channel while the threads are joined below.
        self.shared.closed.store(true, Ordering::SeqCst);
        if let Some(h) = &mut self.host {
            h.stop();
        }
        let sh = &self.shared;
        sh.stop.store(true, Ordering::SeqCst);
        for g in &sh.gils {
            g.wake_all();
        }
        {
            let _g = sh.done_lock.lock();
            sh.done_cond.notify_all();
        }
        loop {
            let hs: Vec<_> = std::mem::take(&mut *sh.handles.lock());
            if hs.is_empty() {
                break;
            }
            for h in hs {
                let _ = h.join();
            }
        }
    }

    /// Runs to the end (or until `timeout`) and returns the merged trace.
    /// The flag is false when the run did not end in time and was stopped.
    pub fn wait(self, timeout: Duration) -> (Trace, bool) {
        let (trace, finished, _) = self.wait_recorded(timeout);
        (trace, finished)
    }

    /// [`LiveRun::wait`], and what a stepped replay of the run needs.
    pub fn wait_recorded(mut self, timeout: Duration) -> (Trace, bool, record::Recording) {
        let mut c = Collector::new(self.shared.program.clone());
        let deadline = Instant::now() + timeout;
        let mut finished = false;
        while !finished {
            // A run whose threads send faster than we take in would keep the
            // channel full, and a receive with no time left still succeeds.
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.rx.recv_timeout(left) {
                Ok(m) => finished = c.take(m),
                Err(_) => break,
            }
        }
        self.stop();
        while let Ok(m) = self.rx.try_recv() {
            c.take(m);
        }
        let rec = self.recording();
        (c.finish(), finished, rec)
    }
}

impl Drop for LiveRun {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Gathers a live run's messages into a trace in time order.
///
/// A long run keeps a window of its newest events: past [`WINDOW_EVENTS`], the
/// oldest are added up into the trace's [`Prefix`] (the variables as the last
/// store left them, the actors' states, the overwritten writes) and dropped, as
/// a long stepped run does, so that its memory stays flat however long it runs.
#[derive(Clone, Debug)]
pub struct Collector {
    pub trace: Trace,
    outputs: Vec<Printed>,
    /// Events `..sorted_upto` of the window are in time order.
    sorted_upto: usize,
    /// Past `window` events, the oldest are dropped down to `keep`.
    window: usize,
    keep: usize,
}

/// A line the program printed, and once known for good, the number of the
/// event that printed it.
#[derive(Clone, Debug)]
struct Printed {
    index: u64,
    actor: ActorId,
    text: String,
    open: bool,
    seq: Option<u64>,
}

impl Printed {
    fn printed_by(&self, p: &Program, e: &Event) -> bool {
        e.actor == self.actor
            && e.kind == EventKind::Exec
            && e.value == self.index as Value
            && matches!(
                p.instr(e.actor, e.pc),
                Some(
                    Instr::Print { .. }
                        | Instr::Raise(_)
                        | Instr::PrintCaptured { .. }
                        | Instr::BufPrint { .. }
                        | Instr::Flush(_)
                )
            )
    }
}

impl Collector {
    pub fn new(program: Arc<Program>) -> Self {
        Self::with_window(program, WINDOW_EVENTS, KEEP_EVENTS)
    }

    /// A collector that keeps at most `window` events, dropping the oldest down
    /// to `keep` (and never the newest [`SORT_MARGIN`], which a late batch may
    /// still move): tests compare a small window with a run kept whole.
    pub fn with_window(program: Arc<Program>, window: usize, keep: usize) -> Self {
        Collector {
            trace: Trace::new(program),
            outputs: Vec::new(),
            sorted_upto: 0,
            window: window.max(1),
            keep: keep.min(window),
        }
    }

    /// Folds a message in; true when it says the run has finished.
    pub fn take(&mut self, m: LiveMsg) -> bool {
        match m {
            LiveMsg::Events(evs) => {
                if self.trace.events.len() + evs.len() > self.window {
                    self.drop_oldest();
                }
                self.trace.events.extend_from_slice(&evs);
                false
            }
            LiveMsg::Output {
                index,
                actor,
                text,
                open,
            } => {
                self.outputs.push(Printed {
                    index,
                    actor,
                    text,
                    open,
                    seq: None,
                });
                self.link_outputs();
                false
            }
            LiveMsg::Label { actor, pid } => {
                let program = self.trace.program.clone();
                if let (Some(label), Some(a)) = (
                    self.trace.actor_labels.get_mut(actor as usize),
                    program.actors.get(actor as usize),
                ) {
                    *label = format!("{} (pid {pid})", a.name);
                }
                false
            }
            LiveMsg::Finished => true,
        }
    }

    /// Takes in what has arrived, at most [`DRAIN_MESSAGES`] messages, and puts
    /// it in order: (whether anything arrived, whether the run has finished).
    pub fn drain(&mut self, rx: &Receiver<LiveMsg>) -> (bool, bool) {
        let (mut any, mut finished) = (false, false);
        for m in rx.try_iter().take(DRAIN_MESSAGES) {
            any = true;
            finished |= self.take(m);
        }
        if any {
            self.sort();
        }
        (any, finished)
    }

    /// Puts the events that have arrived in time order. Batches from different
    /// threads arrive out of order; a release sorts before an acquire stamped with
    /// the same nanosecond, since it really happened first.
    pub fn sort(&mut self) {
        let from = self.sorted_upto.saturating_sub(SORT_MARGIN);
        self.trace.events[from..].sort_by_key(|e| (e.t_ns, order_rank(e)));
        self.sorted_upto = self.trace.events.len();
        self.link_outputs();
    }

    /// How many of the kept events (from the first) no late batch can move any
    /// more: what follows them may still be put in another order.
    pub fn settled(&self) -> usize {
        self.sorted_upto
            .saturating_sub(SORT_MARGIN)
            .min(self.trace.events.len())
    }

    /// Adds the oldest events up into the prefix and drops them, keeping the
    /// newest `keep` and the ones a late batch may still move.
    fn drop_oldest(&mut self) {
        self.sort();
        // Only events no late batch can move any more are dropped.
        let n = (self.trace.events.len().saturating_sub(self.keep))
            .min(self.sorted_upto.saturating_sub(SORT_MARGIN));
        if n == 0 {
            return;
        }
        let mut prefix = match self.trace.prefix.take() {
            Some(pre) => pre,
            None => Box::new(Prefix::new(&self.trace.program)),
        };
        self.trace.absorb_into(&mut prefix, 0, n);
        self.trace.drop_front(n, prefix);
        self.sorted_upto -= n;
    }

    /// Finds the event that printed each line. A line's number is for good once
    /// its event is in the part of the window no late batch can move; until its
    /// event has arrived, a line shows at the end.
    fn link_outputs(&mut self) {
        let t = &self.trace;
        let settled = self.sorted_upto.saturating_sub(SORT_MARGIN);
        let mut output = Vec::with_capacity(self.outputs.len());
        for o in &mut self.outputs {
            let seq = match o.seq {
                Some(seq) => seq,
                None => {
                    let at = t.events.iter().rposition(|e| o.printed_by(&t.program, e));
                    if let Some(i) = at.filter(|&i| i < settled) {
                        o.seq = Some((t.base + i) as u64);
                    }
                    at.map_or(t.total_len(), |i| t.base + i) as u64
                }
            };
            output.push(OutputLine {
                seq,
                actor: o.actor,
                text: o.text.clone(),
                open: o.open,
                joined: false,
            });
        }
        output.sort_by_key(|o| o.seq);
        // As the terminal shows them: a write that left its line open and the
        // next write are one line.
        let mut lines = Vec::with_capacity(output.len());
        for o in output {
            crate::trace::write_line(&mut lines, o);
        }
        self.trace.output = lines;
    }

    pub fn finish(mut self) -> Trace {
        self.sorted_upto = 0;
        self.sort();
        self.trace
    }
}

fn order_rank(e: &Event) -> u8 {
    match e.kind {
        EventKind::GilDrop => 0,
        EventKind::Exec => 1,
        _ => 2,
    }
}

fn spawn(sh: &Arc<Shared>, a: ActorId) {
    sh.alive.fetch_add(1, Ordering::SeqCst);
    sh.started[a as usize].store(true, Ordering::SeqCst);
    let s2 = sh.clone();
    let name = sh.program.actors[a as usize].name.clone();
    let h = std::thread::Builder::new()
        .name(name)
        .spawn(move || thread::run_actor(&s2, a));
    match h {
        Ok(h) => sh.handles.lock().push(h),
        Err(_) => {
            // The OS would not give us a thread: the actor ends at once.
            sh.done[a as usize].store(true, Ordering::SeqCst);
            if sh.alive.fetch_sub(1, Ordering::SeqCst) == 1 {
                send(sh, LiveMsg::Finished);
            }
        }
    }
}

/// One thread's events, stamped with the monotonic clock as they happen and handed
/// on in batches. Public so that the benchmark can measure what a record costs.
pub struct EventBuffer {
    t0: Instant,
    actor: ActorId,
    buf: Vec<Event>,
    last_flush: u64,
}

impl EventBuffer {
    pub fn new(t0: Instant, actor: ActorId) -> Self {
        EventBuffer {
            t0,
            actor,
            buf: Vec::with_capacity(CHUNK),
            last_flush: 0,
        }
    }

    /// Records one event now; true when the batch is due to be sent.
    #[inline]
    pub fn rec(&mut self, kind: EventKind, pc: u32, value: Value) -> bool {
        let t_ns = self.t0.elapsed().as_nanos() as u64;
        self.buf.push(Event {
            t_ns,
            value,
            pc,
            actor: self.actor,
            kind,
        });
        if self.buf.len() >= CHUNK || t_ns - self.last_flush > FLUSH_NS {
            self.last_flush = t_ns;
            return true;
        }
        false
    }

    /// The batch so far, leaving an empty one.
    pub fn take(&mut self) -> Vec<Event> {
        std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK))
    }
}

/// An actor thread's buffer and the channel its batches go to.
struct Recorder<'a> {
    sh: &'a Shared,
    buf: EventBuffer,
}

impl<'a> Recorder<'a> {
    fn new(sh: &'a Shared, actor: ActorId) -> Self {
        Recorder {
            sh,
            buf: EventBuffer::new(sh.t0, actor),
        }
    }

    #[inline]
    fn rec(&mut self, kind: EventKind, pc: u32, value: Value) {
        if self.buf.rec(kind, pc, value) {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let chunk = self.buf.take();
        if !chunk.is_empty() {
            send(self.sh, LiveMsg::Events(chunk));
        }
    }
}

/// Sends a line the program printed; its index goes in the event that printed it.
fn say(sh: &Shared, a: ActorId, text: String) -> Value {
    let index = sh.outputs.fetch_add(1, Ordering::SeqCst);
    send(
        sh,
        LiveMsg::Output {
            index,
            actor: a,
            text,
            open: false,
        },
    );
    index as Value
}

/// Sends a message to the run's watcher, waiting while the channel is full.
fn send(sh: &Shared, m: LiveMsg) -> bool {
    send_while_open(&sh.tx, m, &sh.closed)
}

/// Sends `m`, waiting while the channel is full, until `closed` says nobody
/// reads it any more (the message is dropped then). False if it was not sent.
pub(crate) fn send_while_open(tx: &Sender<LiveMsg>, mut m: LiveMsg, closed: &AtomicBool) -> bool {
    loop {
        match tx.send_timeout(m, POLL) {
            Ok(()) => return true,
            Err(SendTimeoutError::Timeout(back)) if !closed.load(Ordering::Relaxed) => m = back,
            Err(_) => return false,
        }
    }
}

/// Whether the run is being stopped.
fn stopping(sh: &Shared) -> bool {
    sh.stop.load(Ordering::Relaxed)
}

/// CPU time of this whole OS process (every live thread, so every simulated
/// worker process too), in ns.
/// CPU time of this process and of its children that have been waited for, as
/// Python's `os.times()` adds them up.
pub(crate) fn cpu_ns_with_children() -> u64 {
    let used = |who| {
        // SAFETY: getrusage only writes the struct we pass it; zeroed is a valid value.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::getrusage(who, &mut ru) } != 0 {
            return 0;
        }
        let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
        tv(ru.ru_utime) + tv(ru.ru_stime)
    };
    used(libc::RUSAGE_SELF) + used(libc::RUSAGE_CHILDREN)
}

/// `threading.get_ident()` of the calling OS thread: CPython returns
/// `pthread_self()` as an unsigned long (Python/thread_pthread.h), and so do we.
pub(crate) fn real_ident() -> Value {
    // SAFETY: pthread_self has no preconditions and cannot fail.
    let me = unsafe { libc::pthread_self() };
    me as Value
}

fn process_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we pass it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Machine-level countdown turns in one unit of CPU work.
const TURNS_PER_UNIT: u64 = 40;

/// One unit of CPU work is one turn of a countdown loop.
///
/// The counter stays in a register: an empty `asm!` that claims to read and change it
/// keeps the compiler from folding the loop away, and costs nothing at run time. A
/// counter passed through `black_box` each turn went through memory instead, and its
/// speed varied threefold from run to run on the same machine (store-to-load
/// forwarding), which drowned the speed-ups the GIL lab measures.
pub fn spin(units: u32) {
    let mut n = u64::from(units) * TURNS_PER_UNIT;
    while n > 0 {
        opaque(&mut n);
        n -= 1;
    }
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
fn opaque(n: &mut u64) {
    // SAFETY: the template is empty; it only tells the compiler `n` may have changed.
    unsafe {
        std::arch::asm!(
            "/* {0} */",
            inout(reg) * n,
            options(nomem, nostack, preserves_flags)
        )
    };
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
fn opaque(n: &mut u64) {
    *n = std::hint::black_box(*n);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{ActorKind, BinOp, ProgramBuilder};

    fn counter_program(lock: bool, n: u32) -> Program {
        let mut b = ProgramBuilder::new("");
        let x = b.var("x", 0);
        let l = b.lock("lock");
        let main = b.declare("MainThread", ActorKind::Main, 0);
        let ts: Vec<_> = (0..2)
            .map(|i| b.declare(&format!("t{i}"), ActorKind::Thread, 0))
            .collect();
        for &t in &ts {
            let mut a = b.code(t);
            let one = a.local("one", 1);
            let i = a.local("i", 0);
            let exit = a.label();
            let head = a.for_range(i, n, exit);
            if lock {
                a.emit(Instr::Acquire(l));
            }
            a.update_global(x, BinOp::Add, one);
            if lock {
                a.emit(Instr::Release(l));
            }
            a.end_loop(head, exit).emit(Instr::Exit(0));
            b.finish(a).unwrap();
        }
        let mut m = b.code(main);
        for &t in &ts {
            m.emit(Instr::Start(t));
        }
        for &t in &ts {
            m.emit(Instr::Join(t));
        }
        m.emit(Instr::Exit(0));
        b.finish(m).unwrap();
        b.build().unwrap()
    }

    #[test]
    fn a_locked_counter_is_exact_and_the_trace_is_complete() {
        let p = Arc::new(counter_program(true, 2000));
        let cfg = EngineConfig {
            gil: crate::program::GilModel::Free,
            ..Default::default()
        };
        let (trace, finished) = LiveRun::start(p, cfg, 1.0).wait(Duration::from_secs(30));
        assert!(finished);
        assert_eq!(trace.final_vars(), vec![("x".to_string(), 4000)]);
        assert!(trace.events.windows(2).all(|w| w[0].t_ns <= w[1].t_ns));
    }

    /// A live run's messages taken in twice, by a collector with a small window
    /// and one that keeps every event, sorted at the same moments: the window is
    /// the whole run's newest events, and what the dropped ones add up to (the
    /// variables, the overwritten writes, the actors' states, the printed lines'
    /// places) is the whole run's.
    #[test]
    fn a_small_window_adds_up_like_the_whole_run() {
        let p = Arc::new(counter_program(false, 100_000));
        let cfg = EngineConfig {
            gil: crate::program::GilModel::Free,
            ..Default::default()
        };
        let run = LiveRun::start(p.clone(), cfg, 1.0);
        let window = SORT_MARGIN + 100_000;
        let mut small = Collector::with_window(p.clone(), window, SORT_MARGIN + 30_000);
        let mut whole = Collector::with_window(p.clone(), usize::MAX, usize::MAX);
        let mut finished = false;
        let mut peak = 0;
        while !finished {
            let m = run.receiver().recv_timeout(Duration::from_secs(60));
            let m = m.expect("a message within a minute");
            whole.take(m.clone());
            finished = small.take(m);
            whole.sort();
            small.sort();
            peak = peak.max(small.trace.events.len());
        }
        drop(run);
        let (s, w) = (small.trace, whole.trace);
        assert!(s.base > 0, "nothing was dropped from {} events", w.len());
        assert!(peak <= window, "{peak} events kept");
        assert_eq!(s.total_len(), w.len());
        assert_eq!(&w.events[s.base..], &s.events[..]);
        assert_eq!(s.final_vars(), w.final_vars());
        assert_eq!(s.lost_total(), w.lost_total());
        assert_eq!(s.output, w.output);
        let mut at_base = StateReplayCheck::new(&p);
        at_base.feed(&w.events[..s.base]);
        assert_eq!(format!("{:?}", s.state_at_base()), at_base.show());
    }

    /// The actors' states after some events, as a string to compare.
    struct StateReplayCheck<'a>(&'a Program, crate::trace::StateReplay);

    impl<'a> StateReplayCheck<'a> {
        fn new(p: &'a Program) -> Self {
            StateReplayCheck(p, crate::trace::StateReplay::new(p))
        }
        fn feed(&mut self, events: &[Event]) {
            events.iter().for_each(|e| self.1.apply(self.0, e));
        }
        fn show(&self) -> String {
            format!("{:?}", self.1)
        }
    }

    #[test]
    fn stopping_a_run_ends_its_threads() {
        let p = Arc::new(counter_program(false, u32::MAX));
        let run = LiveRun::start(p, EngineConfig::default(), 1.0);
        let (_, finished) = run.wait(Duration::from_millis(100));
        assert!(!finished, "four billion iterations cannot end in 100 ms");
    }
}
