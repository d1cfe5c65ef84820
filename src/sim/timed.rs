//! The timed scheduler: a seeded run that looks like a typical CPython run.
//!
//! Every actor has a clock (virtual ns): when its next instruction can start. Each
//! step costs what CPython takes for it ([`Calibration`]); among the actors that may
//! step, the one whose next instruction starts first runs. Each process's GIL lives
//! in the same virtual time, as CPython's does (3.2+): a thread that wants it waits
//! the switch interval, then sets a drop request; the holder lets go at its next
//! point that checks for one; one of the waiters gets it; blocking calls (a lock,
//! a join, a sleep, a write to the terminal) let go of it at once. The slow
//! operations (starting a thread or process, printing, waking up, hand-offs) carry
//! seeded jitter, so seeds differ the way CPython runs do.
//!
//! The scheduler only chooses: the simulator's trace stays a function of the
//! schedule, so a schedule string replays a timed run exactly.

use super::calibration::{Calibration, classic_checks_after, is_plain};
use super::{Sim, WORK_UNIT_NS};
use crate::program::{ActorId, GilModel, Instr, Pc};
use crate::trace::EventKind;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

const NOT_WAITING: u64 = u64::MAX;
/// How long after a sleep a process counts as just woken
/// ([`Calibration::value_preempt_after_sleep_one_in`]).
const AWAKE_NS: u64 = 200_000;

/// Marks in [`TimedScheduler::plan`]: an instruction the fast path leaves to the
/// slow one, and a plain access to a `multiprocessing.Value` (costed when it runs).
const NOT_PLAIN: u64 = u64::MAX;
const VALUE_ACCESS: u64 = u64::MAX - 1;

/// The 64 quantiles (per mille of the median) of a log-normal spread with σ = 0.5:
/// how much a slow operation's time varies around its median from run to run.
/// A table, not `exp`, so that every machine draws the same numbers.
const SPREAD: [u64; 64] = [
    299, 370, 414, 449, 479, 505, 529, 552, 573, 594, 613, 632, 651, 669, 687, 705, 722, 740, 757,
    775, 792, 809, 827, 844, 862, 879, 897, 915, 934, 952, 971, 990, 1010, 1030, 1050, 1071, 1093,
    1115, 1137, 1161, 1185, 1210, 1236, 1263, 1291, 1321, 1352, 1384, 1419, 1455, 1494, 1536, 1581,
    1631, 1685, 1745, 1812, 1890, 1980, 2089, 2227, 2413, 2701, 3349,
];

/// One process's GIL as the scheduler sees it.
#[derive(Clone, Copy, Debug)]
struct Gil {
    holder: Option<ActorId>,
    /// When the holder took it.
    since: u64,
    /// When it was last let go (for the next taker).
    free_at: u64,
}

/// A pick the scheduler made and expects to see taken: the GIL hand-off it implies.
#[derive(Clone, Copy, Debug)]
struct Pending {
    actor: ActorId,
    start: u64,
}

/// Many fast-path steps at once ([`Sim::plain_burst`]): the actor's clock before
/// the last step, that step's cost (not yet added), its pc and the one before.
pub(crate) struct Burst {
    pub(crate) clock: u64,
    pub(crate) pending: u64,
    pub(crate) pc: Pc,
    pub(crate) charged: Pc,
    pub(crate) horizon: u64,
    pub(crate) stop: u64,
    pub(crate) steps: usize,
    pub(crate) max: usize,
}

#[derive(Clone)]
pub struct TimedScheduler {
    rng: Xoshiro256PlusPlus,
    seed: u64,
    cal: Calibration,
    ready: bool,
    clock: Vec<u64>,
    wait_since: Vec<u64>,
    last: Vec<Option<Instr>>,
    gils: Vec<Gil>,
    /// Per variable in shared memory (`multiprocessing.Value`): until when its
    /// lock is held, and by whom; `None` for the others.
    shared: Vec<Option<(u64, ActorId)>>,
    /// Per actor: when it last came back from `time.sleep` (`NOT_WAITING` if never).
    woke: Vec<u64>,
    /// Trace events and steps already accounted for.
    seen_events: usize,
    seen_steps: usize,
    /// Per actor and pc, what its instruction costs when it is plain (an actor's
    /// code never changes, so this is worked out once): the fast path's only look-up.
    plan: Vec<Box<[u64]>>,
    /// The fast path: `fast` goes on without a new decision while its clock stays
    /// before `horizon` and it executes plain instructions. `fast_pc` is the
    /// instruction picked and `fast_cost` its entry in `plan`; `fast_charged` the
    /// last one the fast path charged (its `last` is written when the path ends).
    fast: Option<ActorId>,
    fast_pc: Pc,
    fast_cost: u64,
    fast_charged: Option<Pc>,
    horizon: u64,
    pending: Option<Pending>,
}

impl TimedScheduler {
    pub fn new(seed: u64, cal: Calibration) -> Self {
        TimedScheduler {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            seed,
            cal,
            ready: false,
            clock: Vec::new(),
            wait_since: Vec::new(),
            last: Vec::new(),
            gils: Vec::new(),
            shared: Vec::new(),
            woke: Vec::new(),
            seen_events: 0,
            seen_steps: 0,
            plan: Vec::new(),
            fast: None,
            fast_pc: 0,
            fast_cost: NOT_PLAIN,
            fast_charged: None,
            horizon: 0,
            pending: None,
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn calibration(&self) -> &Calibration {
        &self.cal
    }

    /// The virtual time at which an actor's next instruction may start.
    pub fn clock(&self, a: ActorId) -> u64 {
        self.clock.get(a as usize).copied().unwrap_or(0)
    }

    fn init(&mut self, sim: &Sim) {
        let n = sim.actor_count();
        self.clock = vec![0; n];
        self.wait_since = vec![NOT_WAITING; n];
        self.woke = vec![NOT_WAITING; n];
        self.last = vec![None; n];
        let prog = sim.program();
        self.plan = (0..n as ActorId)
            .map(|a| {
                (0..)
                    .map_while(|pc| prog.instr(a, pc))
                    .map(|ins| self.planned_cost(prog, ins))
                    .collect()
            })
            .collect();
        self.shared = sim
            .program()
            .vars
            .iter()
            .map(|v| v.shared.then_some((0, 0)))
            .collect();
        let procs = (0..n as ActorId)
            .map(|a| sim.process_of(a) as usize + 1)
            .max()
            .unwrap_or(1);
        self.gils = vec![
            Gil {
                holder: None,
                since: 0,
                free_at: 0,
            };
            procs
        ];
        self.ready = true;
    }

    /// `base` ns with seeded jitter: log-normal around the median (half of the
    /// draws within 0.7–1.4 times), and now and then (one in thirty) 2–6 times more,
    /// as on a machine where something else wanted the CPU.
    fn jit(&mut self, base: u64) -> u64 {
        let v = base * SPREAD[self.rng.random_range(0..SPREAD.len())] / 1000;
        if self.rng.random_range(0..30u32) == 0 {
            v * self.rng.random_range(2..=6u64)
        } else {
            v
        }
    }

    /// `base` ns give or take 15 % (one in thirty 2–6 times): for work that
    /// varies little, like a fork.
    fn jit_narrow(&mut self, base: u64) -> u64 {
        let v = base * self.rng.random_range(850..1150u64) / 1000;
        if self.rng.random_range(0..30u32) == 0 {
            v * self.rng.random_range(2..=6u64)
        } else {
            v
        }
    }

    /// The `plan` entry of an instruction: its fixed cost, or a mark.
    fn planned_cost(&self, prog: &crate::program::Program, ins: Instr) -> u64 {
        if !is_plain(ins) {
            NOT_PLAIN
        } else if global_of(ins)
            .is_some_and(|g| prog.vars.get(g as usize).is_some_and(|v| v.shared))
        {
            VALUE_ACCESS
        } else {
            self.cal.plain_ns(ins)
        }
    }

    /// What an instruction without side effects costs `a`; reading or writing a
    /// `multiprocessing.Value` goes through its lock.
    fn cost(&mut self, a: ActorId, ins: Instr) -> u64 {
        match global_of(ins) {
            Some(g) if self.shared.get(g as usize).is_some_and(|s| s.is_some()) => {
                self.value_cost(a, g as usize)
            }
            Some(_) | None => self.cal.plain_ns(ins),
        }
    }

    /// A `multiprocessing.Value` access: if another process holds its lock at this
    /// moment, `a` sleeps on the lock and wakes a futex wake-up after its release.
    #[cold]
    fn value_cost(&mut self, a: ActorId, g: usize) -> u64 {
        let t = self.clock[a as usize];
        let own = self.cal.value_access_ns;
        let (held_until, by) = self.shared[g].unwrap_or((0, a));
        let cost = if held_until > t && by != a {
            held_until - t + self.jit(self.cal.thread_wake_ns) + own
        } else {
            own
        };
        self.shared[g] = Some((t + cost, a));
        // The OS may take the core away right after the access (the Value's lock
        // is free again): the process runs again a time slice or more later. Just
        // back from a sleep, while the other sleepers keep waking, that happens far
        // more often.
        let woke = self.woke[a as usize];
        let one_in = if woke != NOT_WAITING && t.saturating_sub(woke) < AWAKE_NS {
            self.cal.value_preempt_after_sleep_one_in
        } else {
            self.cal.value_preempt_one_in
        };
        if self.rng.random_range(0..one_in.max(1)) == 0 {
            cost + self.jit(self.cal.preempt_pause_ns)
        } else {
            cost
        }
    }

    /// A process made runnable waits for a core when the other processes keep
    /// both busy.
    fn core_wait(&mut self, sim: &Sim, p: u16) -> u64 {
        let n = sim.actor_count() as ActorId;
        let mut busy = 0;
        let mut seen = u64::MAX;
        for a in 0..n {
            let q = sim.process_of(a);
            if q != p && q as u64 != seen && sim.wants_to_run(a) {
                busy += 1;
                seen = q as u64;
            }
        }
        if busy >= self.cal.cores {
            self.jit(self.cal.core_wait_ns)
        } else {
            0
        }
    }

    /// How many of the simulator's kept events the scheduler has taken in: a
    /// long run may drop those (`Sim::forget`), never the others.
    pub fn seen_events(&self) -> usize {
        self.seen_events
    }

    /// The first step the scheduler has not taken in yet.
    pub fn seen_steps(&self) -> usize {
        self.seen_steps
    }

    /// The simulator dropped its `n` oldest kept events.
    pub fn forget_events(&mut self, n: usize) {
        self.seen_events = self.seen_events.saturating_sub(n);
    }

    /// The next actor; it can always step (`Sim::step_unchecked` may take it).
    #[inline(always)]
    pub fn pick_steppable(&mut self, sim: &Sim) -> Option<ActorId> {
        if let Some(a) = self.fast {
            let events = sim.trace().events.len();
            // Our pick was taken, it executed one plain instruction and nothing
            // else happened: charge it and go on if nothing is due.
            if sim.steps() == self.seen_steps + 1
                && events == self.seen_events + 1
                && sim.schedule().last() == Some(&a)
            {
                self.seen_steps += 1;
                self.seen_events = events;
                let ai = a as usize;
                let cost = match self.fast_cost {
                    VALUE_ACCESS => self.value_cost_at(sim, a, self.fast_pc),
                    c => c,
                };
                self.clock[ai] += cost;
                self.fast_charged = Some(self.fast_pc);
                let pc = sim.pc(a);
                let next = self.plan[ai].get(pc as usize).copied().unwrap_or(NOT_PLAIN);
                // A Value access is decided anew: its lock may be held by another.
                if next < VALUE_ACCESS && self.clock[ai] < self.horizon {
                    self.fast_pc = pc;
                    self.fast_cost = next;
                    return Some(a);
                }
            }
        }
        self.pick_slow(sim)
    }

    /// When `a`, due to start at `start`, may make its next instruction if that is
    /// a `multiprocessing.Value` access: the Value's lock is taken first, so a
    /// process that finds it held by another sleeps on it and reads (or writes)
    /// only once it has woken up with the lock free. The lock is not fair: a
    /// process that keeps taking it keeps it while the sleeper wakes, which is
    /// what lets one child's loop go on while another waits, as on CPython.
    #[cold]
    fn value_lock_free(&mut self, sim: &Sim, a: ActorId, start: u64) -> u64 {
        let pc = sim.pc(a);
        if self.plan[a as usize].get(pc as usize) != Some(&VALUE_ACCESS) {
            return start;
        }
        let Some(g) = sim.program().instr(a, pc).and_then(global_of) else {
            return start;
        };
        let g = g as usize;
        match self.shared.get(g).copied().flatten() {
            Some((held_until, by)) if by != a && held_until > start => {
                held_until + self.jit(self.cal.thread_wake_ns)
            }
            _ => start,
        }
    }

    /// Goes on with the fast path's actor for as long as [`Self::pick_steppable`]
    /// would pick it without a decision, at most `max` steps, taking the steps on
    /// `sim` at once. The scheduler ends as if it had picked each of them.
    pub fn burst(&mut self, sim: &mut Sim, max: usize) {
        let Some(a) = self.fast else { return };
        if self.fast_cost >= VALUE_ACCESS
            || sim.steps() != self.seen_steps + 1
            || sim.trace().events.len() != self.seen_events + 1
            || sim.schedule().last() != Some(&a)
        {
            return;
        }
        let ai = a as usize;
        let mut b = Burst {
            clock: self.clock[ai],
            pending: self.fast_cost,
            pc: self.fast_pc,
            charged: self.fast_pc,
            horizon: self.horizon,
            stop: VALUE_ACCESS,
            steps: 0,
            max,
        };
        sim.plain_burst(a, &self.plan[ai], &mut b);
        if b.steps == 0 {
            return;
        }
        self.clock[ai] = b.clock;
        self.seen_steps += b.steps;
        self.seen_events += b.steps;
        self.fast_charged = Some(b.charged);
        self.fast_pc = b.pc;
        self.fast_cost = b.pending;
    }

    /// The cost of the `multiprocessing.Value` access at `pc`.
    #[cold]
    fn value_cost_at(&mut self, sim: &Sim, a: ActorId, pc: Pc) -> u64 {
        match sim.program().instr(a, pc) {
            Some(ins) => self.cost(a, ins),
            None => 0,
        }
    }

    #[inline(never)]
    fn pick_slow(&mut self, sim: &Sim) -> Option<ActorId> {
        if !self.ready {
            self.init(sim);
        }
        // The fast path leaves who ran last to now.
        if let (Some(a), Some(pc)) = (self.fast, self.fast_charged.take()) {
            self.last[a as usize] = sim.program().instr(a, pc);
        }
        self.catch_up(sim);
        let (a, start, horizon) = self.decide(sim)?;
        self.pending = Some(Pending { actor: a, start });
        self.horizon = horizon;
        let pc = sim.pc(a);
        let cost = self.plan[a as usize]
            .get(pc as usize)
            .copied()
            .unwrap_or(NOT_PLAIN);
        self.fast = (cost != NOT_PLAIN && start == self.clock[a as usize]).then_some(a);
        self.fast_pc = pc;
        self.fast_cost = cost;
        if self.fast.is_some() {
            // The fast path skips `catch_up`, so the hand-off is applied now.
            self.apply_pending(sim, a);
        }
        Some(a)
    }

    /// Takes in every step since the last look: their costs, wake-ups, the GIL.
    pub(crate) fn catch_up(&mut self, sim: &Sim) {
        // A long schedule given may be taken in before the scheduler ever picked.
        if !self.ready {
            self.init(sim);
        }
        let steps = sim.steps();
        if steps > self.seen_steps
            && let Some(first) = sim.pick_at(self.seen_steps)
            && self.fast.is_none()
        {
            self.apply_pending(sim, first);
        }
        self.pending = None;
        self.seen_steps = steps;
        let events = &sim.trace().events;
        let from = self.seen_events.min(events.len());
        for &e in &events[from..] {
            let a = e.actor;
            match e.kind {
                EventKind::Exec => {
                    let Some(ins) = sim.program().instr(a, e.pc) else {
                        continue;
                    };
                    self.take_gil(sim, a);
                    if is_plain(ins) {
                        self.clock[a as usize] += self.cost(a, ins);
                    } else {
                        self.effect(sim, a, ins);
                    }
                    self.last[a as usize] = Some(ins);
                }
                EventKind::Wake if e.value >= 0 => {
                    let by = e.value as usize;
                    let t = if sim.process_of(by as ActorId) == sim.process_of(a) {
                        self.jit(self.cal.thread_wake_ns)
                    } else {
                        self.jit(self.cal.queue_handoff_ns) + self.core_wait(sim, sim.process_of(a))
                    };
                    let t = self.clock.get(by).copied().unwrap_or(0) + t;
                    let w = a as usize;
                    self.clock[w] = self.clock[w].max(t);
                    self.wait_since[w] = self.clock[w];
                }
                EventKind::Wake => {
                    // Time passed for a sleeper: its clock was set when it slept.
                    self.wait_since[a as usize] = self.clock[a as usize];
                }
                // The GIL's own events are the scheduler's; the rest end a turn.
                EventKind::Block
                | EventKind::GilTake
                | EventKind::GilDrop
                | EventKind::Deadlock
                | EventKind::Ended => {}
            }
        }
        self.seen_events = events.len();
        // Whoever stopped wanting to run (blocked, asleep, finished) let go of the GIL.
        for g in 0..self.gils.len() {
            if let Some(h) = self.gils[g].holder
                && !sim.wants_to_run(h)
            {
                self.gils[g].holder = None;
                self.gils[g].free_at = self.clock[h as usize];
            }
        }
    }

    /// The hand-off a taken pick implies: the new holder starts when it got the GIL.
    fn apply_pending(&mut self, sim: &Sim, taken: ActorId) {
        let Some(p) = self.pending.take() else { return };
        if p.actor != taken {
            return;
        }
        let ai = p.actor as usize;
        self.clock[ai] = self.clock[ai].max(p.start);
        self.take_gil(sim, p.actor);
    }

    /// `a` runs: if another thread held its process's GIL, `a` has it now.
    fn take_gil(&mut self, sim: &Sim, a: ActorId) {
        if !sim.config().gil.has_gil() {
            return;
        }
        let g = &mut self.gils[sim.process_of(a) as usize];
        if g.holder == Some(a) {
            return;
        }
        if let Some(h) = g.holder {
            self.wait_since[h as usize] = self.clock[h as usize];
        }
        g.holder = Some(a);
        g.since = self.clock[a as usize];
        self.wait_since[a as usize] = NOT_WAITING;
    }

    /// Lets go of the GIL at `t` (a blocking call); `a` wants it back at its clock.
    fn release_gil(&mut self, sim: &Sim, a: ActorId, t: u64) {
        if !sim.config().gil.has_gil() {
            return;
        }
        let g = &mut self.gils[sim.process_of(a) as usize];
        if g.holder == Some(a) {
            g.holder = None;
            g.free_at = t;
        }
        self.wait_since[a as usize] = self.clock[a as usize];
    }

    /// The cost and consequences of an instruction that is not plain.
    fn effect(&mut self, sim: &Sim, a: ActorId, ins: Instr) {
        let ai = a as usize;
        let base = self.cal.fast_ns;
        match ins {
            // A task of an event loop is ready at once (`create_task` queues
            // it), behind the tasks already ready; no thread is made.
            Instr::Start(t) if sim.program().event_loop => {
                let ti = t as usize;
                self.clock[ai] += self.cal.call_ns;
                self.clock[ti] = self.clock[ai];
                self.wait_since[ti] = self.clock[ai];
            }
            Instr::Start(t) | Instr::Fork(t) => {
                let ti = t as usize;
                if sim.process_of(t) != sim.process_of(a) {
                    let wait = self.core_wait(sim, sim.process_of(t));
                    self.clock[ti] =
                        self.clock[ai] + self.jit_narrow(self.cal.process_first_line_ns) + wait;
                    self.clock[ai] += self.jit_narrow(self.cal.process_start_returns_ns);
                } else {
                    // start() waits, without the GIL, for the new thread to signal
                    // that it runs; then the starter wants the GIL back. Any thread
                    // that waits for the GIL may take it in between.
                    let start = self.clock[ai];
                    let first = start + self.jit(self.cal.thread_spawn_ns);
                    self.clock[ti] = first;
                    self.wait_since[ti] = first;
                    self.clock[ai] = first + self.jit(self.cal.thread_wake_ns);
                    self.release_gil(sim, a, start);
                }
            }
            Instr::Print { .. }
            | Instr::PrintCaptured { .. }
            | Instr::BufPrint { .. }
            | Instr::Flush(_)
            | Instr::Raise(_) => {
                // A terminal gets a write per line, made without the GIL.
                let start = self.clock[ai];
                self.clock[ai] += self.jit(self.cal.print_tty_ns);
                self.release_gil(sim, a, start + self.cal.print_pipe_ns);
            }
            Instr::Sleep(us) => {
                let start = self.clock[ai];
                self.clock[ai] += base + us as u64 * 1_000 + self.jit(self.cal.sleep_late_ns);
                self.woke[ai] = self.clock[ai];
                self.release_gil(sim, a, start);
            }
            Instr::QueuePut { .. } | Instr::PipeSend(_) | Instr::QueueTry { put: true, .. } => {
                self.clock[ai] += self.jit(self.cal.print_pipe_ns * 4);
            }
            Instr::QueueGet { .. }
            | Instr::PipeRecv { .. }
            | Instr::QueueTry { put: false, .. } => {
                // What came through the pipe is unpickled and the work goes on,
                // once this process has a core.
                let wait = self.core_wait(sim, sim.process_of(a));
                self.clock[ai] += self.jit(self.cal.print_pipe_ns * 4) + wait;
            }
            Instr::RunProgram { .. } => {
                self.clock[ai] += self.jit(self.cal.process_first_line_ns);
            }
            Instr::Work(units) => self.clock[ai] += units as u64 * WORK_UNIT_NS,
            // asyncio: `await asyncio.sleep(t)` gives the loop back at once (a
            // task that waited since before takes it first) and is due again
            // after `t`; `time.sleep` in a coroutine keeps the loop all along.
            Instr::AioSleep(us) => {
                let start = self.clock[ai];
                self.clock[ai] += self.cal.call_ns + us as u64 * 1_000;
                self.release_gil(sim, a, start);
            }
            Instr::AioBlock(us) => {
                self.clock[ai] += base + us as u64 * 1_000 + self.jit(self.cal.sleep_late_ns)
            }
            Instr::AioAcquire(_) | Instr::AioRelease(_) => self.clock[ai] += self.cal.call_ns,
            // A library call that returns at once, or waits: a wait's end is the
            // waker's clock (`EventKind::Wake` in `catch_up`).
            Instr::Acquire(_)
            | Instr::Release(_)
            | crate::program::cond_instr!()
            | crate::program::barrier_instr!()
            | crate::program::sync_instr!()
            | Instr::Join(_)
            | Instr::JoinFor { .. }
            | Instr::Exit(_)
            | Instr::ForkChild
            | Instr::ProcPid(_)
            | Instr::ProcAlive(_)
            | Instr::QueueReady(_)
            | Instr::ProcExitCode(_)
            | Instr::Terminate(_)
            | Instr::FileRead(_)
            | Instr::FileWrite(_)
            | Instr::PipeClose(_)
            | Instr::ListStore { .. }
            | Instr::QueueAsk { .. } => self.clock[ai] += self.cal.call_ns,
            // Plain instructions are charged by `cost`; asked anyway, a call.
            crate::program::local_instr!()
            | Instr::LoadGlobal(_)
            | Instr::StoreGlobal(_)
            | Instr::TlsSet { .. }
            | Instr::TlsGet(_)
            | Instr::Clock { .. }
            | Instr::Ident(_)
            | Instr::GetPid
            | Instr::GetPpid => self.clock[ai] += self.cal.call_ns,
        }
    }

    /// When the GIL's drop request is set for the holder of process `p`: each
    /// waiter times out after a switch interval and asks, unless the GIL changed
    /// hands in that interval (then it waits another).
    fn drop_request(&self, sim: &Sim, p: u16, holder: ActorId) -> u64 {
        let iv = sim.config().switch_interval_ns.max(1);
        let since = self.gils[p as usize].since;
        let mut first = u64::MAX;
        for w in 0..sim.actor_count() as ActorId {
            if w == holder || sim.process_of(w) != p || !sim.wants_to_run(w) {
                continue;
            }
            let s = self.wait_since[w as usize];
            let s = if s == NOT_WAITING {
                self.clock[w as usize]
            } else {
                s
            };
            let at = if s >= since {
                s + iv
            } else {
                s + ((since - s).div_ceil(iv) + 1) * iv
            };
            first = first.min(at);
        }
        first
    }

    /// Whether the holder may be made to let go now (it is at a point that looks
    /// at the drop request).
    fn at_check(&self, sim: &Sim, h: ActorId) -> bool {
        match (sim.config().gil, self.last[h as usize]) {
            (GilModel::Classic, Some(last)) => classic_checks_after(last),
            (GilModel::Classic, None) | (GilModel::Free | GilModel::Modern, _) => true,
        }
    }

    /// The actor to run, when its instruction starts, and until when it may go on
    /// without a new decision.
    fn decide(&mut self, sim: &Sim) -> Option<(ActorId, u64, u64)> {
        let n = sim.actor_count() as ActorId;
        let gil = sim.config().gil.has_gil();
        // (start time, tie-break, actor)
        let mut cands: Vec<(u64, u32, ActorId)> = Vec::with_capacity(n as usize);
        let mut horizon = u64::MAX;
        if !gil {
            for a in (0..n).filter(|&a| sim.can_step(a)) {
                let tie = self.rng.random_range(0..1024u32);
                cands.push((self.clock[a as usize], tie, a));
            }
        } else {
            for p in 0..self.gils.len() as u16 {
                if let Some((c, h)) = self.decide_process(sim, p) {
                    cands.push(c);
                    horizon = horizon.min(h);
                }
            }
        }
        if self.shared.iter().any(Option::is_some) {
            for c in &mut cands {
                c.0 = self.value_lock_free(sim, c.2, c.0);
            }
        }
        cands.sort_unstable();
        let &(start, _, a) = cands.first()?;
        if let Some(&(next, _, _)) = cands.get(1) {
            horizon = horizon.min(next.max(start + 1));
        }
        Some((a, start, horizon))
    }

    /// The task an event loop runs next, once the running one gave the loop
    /// back: the one ready the longest (CPython's ready queue is first in,
    /// first out), when the loop is free.
    fn loop_next(&self, waiters: &[ActorId], free_at: u64) -> Option<((u64, u32, ActorId), u64)> {
        let since = |w: ActorId| self.wait_since[w as usize].min(self.clock[w as usize]);
        let w = *waiters.iter().min_by_key(|&&w| (since(w), w))?;
        Some(((self.clock[w as usize].max(free_at), 0, w), u64::MAX))
    }

    /// The candidate of one process under a GIL: the holder, a waiter taking over
    /// after a drop request, or the first to take a free GIL. Also gives when the
    /// holder must be looked at again.
    fn decide_process(&mut self, sim: &Sim, p: u16) -> Option<((u64, u32, ActorId), u64)> {
        let n = sim.actor_count() as ActorId;
        let g = self.gils[p as usize];
        let mine = |a: ActorId| sim.process_of(a) == p;
        let holder = g.holder.filter(|&h| sim.can_step(h));
        let waiters: Vec<ActorId> = (0..n)
            .filter(|&w| mine(w) && Some(w) != holder && sim.can_step(w))
            .collect();
        let Some(h) = holder else {
            if sim.program().event_loop {
                return self.loop_next(&waiters, g.free_at);
            }
            // The GIL is free (or its holder cannot step): the first waiter takes it.
            let mut best: Option<(u64, u32, ActorId)> = None;
            for &w in &waiters {
                let t = self.clock[w as usize].max(g.free_at);
                let c = (t, self.rng.random_range(0..1024u32), w);
                best = Some(best.map_or(c, |b| b.min(c)));
            }
            return best.map(|c| (c, u64::MAX));
        };
        let hc = self.clock[h as usize];
        // Threads that want the GIL, even if the holder may not let go right now
        // (under gil-modern the simulator refuses them until a call or back-edge).
        let due = self.drop_request(sim, p, h);
        if due == u64::MAX {
            return Some(((hc, 0, h), u64::MAX));
        }
        if hc < due || waiters.is_empty() || !self.at_check(sim, h) {
            let again = if hc < due { due } else { 0 };
            return Some(((hc, 0, h), again));
        }
        // The drop request stands and the holder is at a check: it lets go, and
        // one of the waiters gets the GIL.
        let w = if self.rng.random_range(0..100u32) < self.cal.gil_fifo_pct {
            *waiters
                .iter()
                .min_by_key(|&&w| self.wait_since[w as usize].min(self.clock[w as usize]))?
        } else {
            waiters[self.rng.random_range(0..waiters.len())]
        };
        let t = self.clock[w as usize].max(hc) + self.jit(self.cal.gil_handoff_ns);
        Some(((t, 0, w), u64::MAX))
    }
}

/// The variable a `LOAD_GLOBAL` or `STORE_GLOBAL` reads or writes: a
/// `multiprocessing.Value` when the variable is shared between processes.
#[inline(always)]
fn global_of(ins: Instr) -> Option<crate::program::VarId> {
    if let Instr::LoadGlobal(g) | Instr::StoreGlobal(g) = ins {
        Some(g)
    } else {
        None
    }
}
