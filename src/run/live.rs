//! A live run's end, as the CLI and the screen see it: stopping it early, taking
//! its trace, and the stepped replay its record gives (`explore::replay`).

use super::{Engine, Run};
use crate::export::LiveReplay;
use crate::live::record::NoReplay;
use crate::program::{EngineConfig, Program};
use crate::sim::{Schedule, Sim};
use crate::trace::{LostScan, Trace};
use std::sync::Arc;

impl Run {
    /// Stops a live run that has not finished (a timeout, a signal): its threads
    /// are joined, its workers killed and reaped and its temporary folder removed;
    /// what arrived so far stays in the trace. A stepped or finished run is left
    /// as it is.
    pub fn stop(&mut self) {
        let Engine::Live {
            run,
            rx,
            collector,
            recording,
            ..
        } = &mut self.engine
        else {
            return;
        };
        if let Some(mut r) = run.take() {
            r.stop();
            *recording = Some(Box::new(r.recording()));
            // Dropping `r` removes its temporary folder.
        }
        while let Ok(m) = rx.try_recv() {
            collector.take(m);
        }
        collector.sort();
    }

    /// True once a live run has ended by itself (not stopped); a stepped run
    /// once it is over.
    pub fn finished(&self) -> bool {
        match &self.engine {
            Engine::Live { finished, .. } => *finished,
            Engine::Stepped(_) | Engine::Cpython { .. } => self.is_over(),
        }
    }

    /// The run's trace, all of it in time order.
    pub fn into_trace(self) -> Trace {
        match self.engine {
            Engine::Stepped(st) => st.sim.into_trace(),
            Engine::Live { collector, .. } => collector.finish(),
            Engine::Cpython { cpy, .. } => cpy.rec.trace.clone(),
        }
    }

    /// What a live run's record gives its report: the schedule of its stepped
    /// replay (or why there is none) and its exact lost updates. `None` for a
    /// stepped run.
    pub fn live_replay(&self) -> Option<LiveReplay> {
        let Engine::Live {
            finished,
            recording,
            ..
        } = &self.engine
        else {
            return None;
        };
        let cfg = self.cfg;
        let complete = recording.as_deref().filter(|_| *finished);
        let schedule = match complete {
            Some(rec) => crate::explore::replay::schedule(&self.program, cfg, rec),
            None => Err(NoReplay::Stopped),
        };
        Some(LiveReplay {
            schedule,
            sets: crate::explore::replay::replay_sets(cfg),
            lost_updates: complete
                .filter(|rec| rec.unavailable().is_none())
                .map(|rec| rec.lost_updates()),
        })
    }
}

/// The steps of `schedule` up to and including the store that makes its first
/// lost update, if it makes one (where the playground opens a live run's replay).
pub fn first_lost_update(program: &Arc<Program>, cfg: EngineConfig, s: &Schedule) -> Option<usize> {
    let mut sim = Sim::new(program.clone(), cfg);
    let mut scan = LostScan::new(program);
    let mut fed = 0;
    for (i, &a) in s.0.iter().enumerate() {
        sim.step(a).ok()?;
        let events = &sim.trace().events;
        for (j, e) in events.iter().enumerate().skip(fed) {
            if scan.feed(program, j, e).is_some() {
                return Some(i + 1);
            }
        }
        fed = events.len();
    }
    None
}
