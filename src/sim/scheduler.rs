//! Who runs next: the seeded schedulers (timed, the default, and uniform). A
//! schedule string is followed by `Run` itself (`run::advance`).

use super::Sim;
use super::calibration::Calibration;
use super::timed::TimedScheduler;
use crate::program::{ActorId, GilModel};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// A seeded scheduler (xoshiro256++, stable across versions and machines).
///
/// Without a GIL it runs a random actor for a short random burst, like threads on
/// several cores. With a GIL the holder keeps running until it blocks or until the
/// switch interval (±20%, seeded) is up while another thread waits; then the GIL
/// passes at the holder's next allowed switch point to a random waiter. Threads of
/// different processes interleave in bursts, since each process has its own GIL.
#[derive(Clone)]
pub struct RandomScheduler {
    rng: Xoshiro256PlusPlus,
    current: Option<ActorId>,
    burst_left: u32,
    /// Virtual ns the current GIL tenure may last before a drop request.
    tenure: u64,
    seed: u64,
}

/// Longest burst without a GIL.
const MAX_BURST: u32 = 8;

impl RandomScheduler {
    pub fn new(seed: u64) -> Self {
        RandomScheduler {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            current: None,
            burst_left: 0,
            tenure: 0,
            seed,
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Whether `cur` has held its process's GIL past its tenure.
    fn switch_due(&self, sim: &Sim, cur: ActorId) -> bool {
        sim.gil_holder(sim.process_of(cur))
            .is_some_and(|(_, since)| sim.now_ns() - since >= self.tenure)
    }

    fn start_burst(&mut self, a: ActorId, sim: &Sim) -> ActorId {
        if self.current != Some(a) {
            let iv = sim.config().switch_interval_ns;
            self.tenure = iv - iv / 5 + self.rng.random_range(0..=iv / 5 * 2);
        }
        self.current = Some(a);
        // Under a GIL a burst only decides when another process's thread gets a turn.
        let most = if sim.config().gil == GilModel::Free {
            MAX_BURST
        } else {
            MAX_BURST * 8
        };
        self.burst_left = self.rng.random_range(0..most);
        a
    }
}

impl RandomScheduler {
    /// The next actor; it can always step (`Sim::step_unchecked` may take it).
    #[inline(always)]
    pub fn pick_steppable(&mut self, sim: &Sim) -> Option<ActorId> {
        // An event loop has no tenure: wherever the loop may pass (the simulator
        // refuses the others until an await), every task that may run is as
        // likely as any other.
        if sim.program().event_loop {
            return self.choose_where(sim, |_| true);
        }
        let gil = sim.config().gil != GilModel::Free;
        let cur = match self.current {
            Some(c) if sim.can_step(c) => Some(c),
            _ => None,
        };
        let Some(cur) = cur else {
            let a = self.choose_where(sim, |_| true);
            return a.map(|a| self.start_burst(a, sim));
        };
        let proc_ = sim.process_of(cur);
        // A forced switch: the tenure is up and a thread of the same process can
        // take the GIL (under gil-modern only once the holder is at a switch point,
        // which `can_step` knows).
        if gil && self.switch_due(sim, cur) {
            let others = |o: ActorId| o != cur && sim.process_of(o) == proc_;
            if let Some(a) = self.choose_where(sim, others) {
                return Some(self.start_burst(a, sim));
            }
            let n = sim.actor_count() as ActorId;
            if !(0..n).any(|o| others(o) && sim.wants_to_run(o)) {
                // Nobody waits for the GIL: no drop request until another interval.
                self.tenure += sim.config().switch_interval_ns;
            }
            // Otherwise the request stands and the holder lets go at its next
            // switch point.
        }
        if self.burst_left > 0 {
            self.burst_left -= 1;
            return Some(cur);
        }
        // The burst is over: any actor that may run now, except (under a GIL) the
        // other threads of the holder's process.
        let a = self
            .choose_where(sim, |o| !gil || o == cur || sim.process_of(o) != proc_)
            .unwrap_or(cur);
        Some(self.start_burst(a, sim))
    }
}

impl RandomScheduler {
    /// A uniformly random actor that may step and satisfies `want`, without
    /// allocating: this runs every few steps.
    fn choose_where(&mut self, sim: &Sim, want: impl Fn(ActorId) -> bool) -> Option<ActorId> {
        let n = sim.actor_count() as ActorId;
        let ok = |a: ActorId| want(a) && sim.can_step(a);
        let count = (0..n).filter(|&a| ok(a)).count();
        if count == 0 {
            return None;
        }
        let k = if count == 1 {
            0
        } else {
            self.rng.random_range(0..count)
        };
        (0..n).filter(|&a| ok(a)).nth(k)
    }
}

/// Which seeded scheduler a stepped run uses: the lessons' `scheduler` knob.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SchedulerKind {
    /// Per-operation costs calibrated against CPython: a seed looks like a typical
    /// CPython run.
    #[default]
    Timed,
    /// Every actor that may run is as likely as any other: rare interleavings show
    /// often.
    Uniform,
}

impl SchedulerKind {
    pub fn name(self) -> &'static str {
        match self {
            SchedulerKind::Timed => "timed",
            SchedulerKind::Uniform => "uniform",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [SchedulerKind::Timed, SchedulerKind::Uniform]
            .into_iter()
            .find(|k| k.name() == s)
    }
}

/// A seeded scheduler of either kind, behind one type.
#[derive(Clone)]
pub enum Seeded {
    Timed(Box<TimedScheduler>),
    Uniform(RandomScheduler),
}

impl Seeded {
    pub fn new(kind: SchedulerKind, seed: u64, cal: Calibration) -> Self {
        match kind {
            SchedulerKind::Timed => Seeded::Timed(Box::new(TimedScheduler::new(seed, cal))),
            SchedulerKind::Uniform => Seeded::Uniform(RandomScheduler::new(seed)),
        }
    }

    /// How many of the simulator's kept events the scheduler has read (the
    /// uniform one reads none, so any may be dropped).
    pub fn seen_events(&self, sim: &crate::sim::Sim) -> usize {
        match self {
            Seeded::Timed(t) => t.seen_events(),
            Seeded::Uniform(_) => sim.trace().events.len(),
        }
    }

    /// The first step whose pick the scheduler still reads from the simulator.
    pub fn seen_steps(&self, sim: &crate::sim::Sim) -> usize {
        match self {
            Seeded::Timed(t) => t.seen_steps(),
            Seeded::Uniform(_) => sim.steps(),
        }
    }

    /// Takes in the steps taken since the scheduler last looked (steps it did
    /// not pick: a schedule given), so that their events may be dropped.
    pub fn catch_up(&mut self, sim: &crate::sim::Sim) {
        if let Seeded::Timed(t) = self {
            t.catch_up(sim);
        }
    }

    /// The simulator dropped its `n` oldest kept events.
    pub fn forget_events(&mut self, n: usize) {
        if let Seeded::Timed(t) = self {
            t.forget_events(n);
        }
    }

    pub fn kind(&self) -> SchedulerKind {
        match self {
            Seeded::Timed(_) => SchedulerKind::Timed,
            Seeded::Uniform(_) => SchedulerKind::Uniform,
        }
    }

    pub fn seed(&self) -> u64 {
        match self {
            Seeded::Timed(s) => s.seed(),
            Seeded::Uniform(s) => s.seed(),
        }
    }

    /// The next actor; it can always step (`Sim::step_unchecked` may take it).
    #[inline(always)]
    pub fn pick_steppable(&mut self, sim: &Sim) -> Option<ActorId> {
        match self {
            Seeded::Timed(s) => s.pick_steppable(sim),
            Seeded::Uniform(s) => s.pick_steppable(sim),
        }
    }
}
