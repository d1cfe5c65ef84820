//! Where a stepped run's picks come from: the one seam between [`super::Run`]
//! and its schedulers (DESIGN.md, "Schedulers behind one seam").
//!
//! `Run` owns a `Box<dyn Scheduler>` and asks it for every step, also for the
//! steps the student picks by hand: a seeded scheduler sees every step, so
//! stepping back and on again gives the same picks. The student's own picks
//! are kept beside it (the run's horizon, `run.rs`), not in it, because a
//! checkpoint restores the scheduler as it was while the horizon stays.
//! The simulator's hot loop (`Sim::run_seeded`, the CLI's streamed runs and the
//! explorer's seed samples) drives `Seeded` directly, without this seam.

use super::{Origin, Runs};
use crate::lesson::Knobs;
use crate::program::{ActorId, EngineConfig};
use crate::sim::{Calibration, SchedulerKind, Seeded, Sim};
use std::sync::Arc;

/// One pick of a scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick {
    pub actor: ActorId,
    /// The actor is known to be able to step (a seeded scheduler picks only
    /// among those that can), so `Sim::step_unchecked` may take it; else the
    /// step is checked and refused with a reason.
    pub steppable: bool,
}

/// A source of picks for a stepped run. Object safe: `Run` holds one boxed.
pub trait Scheduler: Send + Sync {
    /// The actor for `sim`'s next step; `None` when it has nobody to pick.
    fn pick(&mut self, sim: &Sim) -> Option<Pick>;
    /// What starts a run that makes the same picks.
    fn origin(&self) -> &Origin;
    /// A copy as it is now, for a checkpoint to start from again.
    fn clone_box(&self) -> Box<dyn Scheduler>;
    /// How many of `sim`'s kept events, and up to which step, it has read: a
    /// checkpoint or a drop of old events may forget the rest.
    fn seen(&self, sim: &Sim) -> (usize, usize);
    /// `sim` dropped its `n` oldest kept events.
    fn forget_events(&mut self, n: usize);
}

/// The scheduler a run started from `origin` follows: the lesson's seeded
/// scheduler ([`seeded`]), or a schedule string's picks and seed 0's after it.
pub fn scheduler_for(knobs: &Knobs, cfg: EngineConfig, origin: &Origin) -> Box<dyn Scheduler> {
    let sched = seeded(knobs, cfg, origin);
    match origin {
        Origin::Seed(_) => Box::new(FromSeed {
            origin: Arc::new(origin.clone()),
            sched,
        }),
        Origin::Schedule(_) => Box::new(FromSchedule {
            origin: Arc::new(origin.clone()),
            then: sched,
        }),
    }
}

/// The scheduler a lesson's `scheduler` knob asks for (timed unless it says
/// `uniform`), calibrated for its `python` knob or GIL model; a schedule string's
/// run goes on with seed 0 past its end.
pub fn seeded(knobs: &Knobs, cfg: EngineConfig, origin: &Origin) -> Seeded {
    let kind = knobs
        .choice("scheduler")
        .and_then(SchedulerKind::parse)
        .unwrap_or_default();
    let seed = match origin {
        Origin::Seed(s) => *s,
        Origin::Schedule(_) => 0,
    };
    Seeded::new(
        kind,
        seed,
        Calibration::for_run(knobs.choice("python"), cfg),
    )
}

/// A seeded scheduler, timed or uniform.
#[derive(Clone)]
struct FromSeed {
    origin: Arc<Origin>,
    sched: Seeded,
}

impl Scheduler for FromSeed {
    fn pick(&mut self, sim: &Sim) -> Option<Pick> {
        self.sched.pick_steppable(sim).map(|actor| Pick {
            actor,
            steppable: true,
        })
    }
    fn origin(&self) -> &Origin {
        &self.origin
    }
    fn clone_box(&self) -> Box<dyn Scheduler> {
        Box::new(self.clone())
    }
    fn seen(&self, sim: &Sim) -> (usize, usize) {
        (self.sched.seen_events(sim), self.sched.seen_steps(sim))
    }
    fn forget_events(&mut self, n: usize) {
        self.sched.forget_events(n);
    }
}

/// A schedule string's picks, each checked; past its end, seed 0's scheduler
/// (which reads the steps before from the trace when it first picks).
#[derive(Clone)]
struct FromSchedule {
    /// Shared with its copies: a checkpoint does not copy the schedule.
    origin: Arc<Origin>,
    then: Seeded,
}

impl FromSchedule {
    fn runs(&self) -> Option<&Runs> {
        match &*self.origin {
            Origin::Schedule(r) => Some(r),
            Origin::Seed(_) => None,
        }
    }
}

impl Scheduler for FromSchedule {
    fn pick(&mut self, sim: &Sim) -> Option<Pick> {
        let i = sim.steps();
        if let Some(r) = self.runs().filter(|r| i < r.len()) {
            return r.at(i).map(|actor| Pick {
                actor,
                steppable: false,
            });
        }
        self.then.pick_steppable(sim).map(|actor| Pick {
            actor,
            steppable: true,
        })
    }
    fn origin(&self) -> &Origin {
        &self.origin
    }
    fn clone_box(&self) -> Box<dyn Scheduler> {
        Box::new(self.clone())
    }
    fn seen(&self, sim: &Sim) -> (usize, usize) {
        (self.then.seen_events(sim), self.then.seen_steps(sim))
    }
    fn forget_events(&mut self, n: usize) {
        self.then.forget_events(n);
    }
}
