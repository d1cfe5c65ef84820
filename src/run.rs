//! One handle in front of both engines: start a run, send it commands, read its trace.

use crate::lesson::{Knobs, Lesson};
use crate::live::{Collector, LiveMsg, LiveRun};
use crate::program::{ActorId, EngineConfig, Program};
use crate::scenarios;
use crate::sim::{Calibration, Ending, Refusal, Schedule, SchedulerKind, Seeded, Sim};
use crate::trace::{Mode, Trace};
use crossbeam::channel::Receiver;
use std::sync::Arc;
use std::time::Instant;

/// Where a stepped run's scheduler picks come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A seeded scheduler: timed (like a typical CPython run) or uniform, as the
    /// lesson's `scheduler` knob says.
    Seed(u64),
    /// A pasted schedule string; past its end, the scheduler of seed 0 goes on.
    Schedule(Schedule),
}

/// What to start.
#[derive(Clone, Debug, PartialEq)]
pub enum Start {
    Stepped(Origin),
    /// Live, with sleeps scaled by a speed factor.
    Live {
        speed: f64,
    },
}

/// A command the screen or the CLI sends to a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// One step of the scheduler's pick.
    Step,
    /// One step of a chosen actor.
    StepActor(ActorId),
    StepBack,
    RunToEnd,
    Reset,
}

/// What a command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Nothing changed, and why (for the status line).
    Refused(String),
}

enum Engine {
    Stepped {
        sim: Box<Sim>,
        sched: Seeded,
        origin: Origin,
    },
    Live {
        run: Option<LiveRun>,
        rx: Receiver<LiveMsg>,
        collector: Box<Collector>,
        finished: bool,
        speed: f64,
        started: Instant,
        /// Milliseconds from the start to the end, once the run has ended.
        ended_ms: Option<f64>,
    },
}

/// A run of one lesson with one set of knobs.
pub struct Run {
    lesson: Lesson,
    knobs: Knobs,
    program: Arc<Program>,
    cfg: EngineConfig,
    engine: Engine,
    /// The longest schedule this stepped run has been through whose start is the
    /// schedule so far: after stepping back, stepping on (and `>`) replays it.
    horizon: Vec<ActorId>,
}

/// A lesson whose knobs produce no program (a scenario error).
#[derive(Debug)]
pub struct BuildError(pub String);

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

impl Run {
    pub fn new(lesson: &Lesson, knobs: Knobs, start: Start) -> Result<Run, BuildError> {
        let program = Arc::new(scenarios::build(lesson, &knobs).map_err(BuildError)?);
        let cfg = knobs.engine();
        let engine = Self::engine(&program, cfg, &knobs, start);
        Ok(Run {
            lesson: lesson.clone(),
            knobs,
            program,
            cfg,
            engine,
            horizon: Vec::new(),
        })
    }

    fn engine(program: &Arc<Program>, cfg: EngineConfig, knobs: &Knobs, start: Start) -> Engine {
        match start {
            Start::Stepped(origin) => Engine::Stepped {
                sim: Box::new(Sim::new(program.clone(), cfg)),
                sched: seeded(knobs, cfg, &origin),
                origin,
            },
            Start::Live { speed } => {
                let run = LiveRun::start(program.clone(), cfg, speed);
                Engine::Live {
                    rx: run.receiver().clone(),
                    run: Some(run),
                    collector: Box::new(Collector::new(program.clone())),
                    finished: false,
                    speed,
                    started: Instant::now(),
                    ended_ms: None,
                }
            }
        }
    }

    pub fn lesson(&self) -> &Lesson {
        &self.lesson
    }
    pub fn knobs(&self) -> &Knobs {
        &self.knobs
    }
    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }
    pub fn config(&self) -> EngineConfig {
        self.cfg
    }

    pub fn mode(&self) -> Mode {
        match self.engine {
            Engine::Stepped { .. } => Mode::Stepped,
            Engine::Live { .. } => Mode::Live,
        }
    }

    /// Everything recorded so far.
    pub fn trace(&self) -> &Trace {
        match &self.engine {
            Engine::Stepped { sim, .. } => sim.trace(),
            Engine::Live { collector, .. } => &collector.trace,
        }
    }

    /// The simulator, for views that show its live state (stepped runs only).
    pub fn sim(&self) -> Option<&Sim> {
        match &self.engine {
            Engine::Stepped { sim, .. } => Some(sim),
            Engine::Live { .. } => None,
        }
    }

    pub fn origin(&self) -> Option<&Origin> {
        match &self.engine {
            Engine::Stepped { origin, .. } => Some(origin),
            Engine::Live { .. } => None,
        }
    }

    /// The schedule so far, as a string that replays it.
    pub fn schedule(&self) -> Option<Schedule> {
        self.sim().map(|s| Schedule(s.schedule().to_vec()))
    }

    /// Whether the run has ended (finished or deadlocked).
    pub fn is_over(&self) -> bool {
        match &self.engine {
            Engine::Stepped { sim, .. } => sim.ending() != Ending::Running,
            Engine::Live { finished, .. } => *finished,
        }
    }

    pub fn ending(&self) -> Ending {
        match &self.engine {
            Engine::Stepped { sim, .. } => sim.ending(),
            // The live watchdog ends a deadlocked run and leaves the cycle last.
            Engine::Live {
                finished: true,
                collector,
                ..
            } if !collector.trace.deadlock().is_empty() => Ending::Deadlock,
            Engine::Live { finished: true, .. } => Ending::Finished,
            Engine::Live { .. } => Ending::Running,
        }
    }

    /// The lesson's verdict on the run so far (final once [`Run::is_over`]).
    pub fn verdict(&self, lang: crate::lesson::Lang) -> Option<crate::trace::Verdict> {
        crate::trace::verdict(
            &self.lesson,
            &self.knobs,
            self.trace(),
            self.is_over(),
            lang,
        )
    }

    /// A live run's message channel, to wait on in `select!`.
    pub fn live_receiver(&self) -> Option<&Receiver<LiveMsg>> {
        match &self.engine {
            Engine::Live { rx, finished, .. } if !finished => Some(rx),
            _ => None,
        }
    }

    /// Takes in what a live run has sent; true if anything arrived.
    pub fn poll(&mut self) -> bool {
        let Engine::Live {
            rx,
            collector,
            finished,
            run,
            started,
            ended_ms,
            ..
        } = &mut self.engine
        else {
            return false;
        };
        let mut any = false;
        while let Ok(m) = rx.try_recv() {
            any = true;
            if collector.take(m) {
                *finished = true;
            }
        }
        if any {
            collector.sort();
        }
        if *finished && ended_ms.is_none() {
            *ended_ms = Some(started.elapsed().as_secs_f64() * 1e3);
        }
        if *finished && let Some(mut r) = run.take() {
            r.stop();
            while let Ok(m) = rx.try_recv() {
                collector.take(m);
            }
            collector.sort();
        }
        any
    }

    /// Milliseconds since a live run started: it goes on between events (a run
    /// stuck in a wait still shows its time passing) and stops when the run ends.
    pub fn live_elapsed_ms(&self) -> Option<f64> {
        match &self.engine {
            Engine::Live {
                ended_ms: Some(ms), ..
            } => Some(*ms),
            Engine::Live { started, .. } => Some(started.elapsed().as_secs_f64() * 1e3),
            _ => None,
        }
    }

    pub fn command(&mut self, cmd: Command) -> Outcome {
        if let Command::Reset = cmd {
            let start = match &self.engine {
                Engine::Stepped { origin, .. } => Start::Stepped(origin.clone()),
                Engine::Live { speed, .. } => Start::Live { speed: *speed },
            };
            // The old live run stops (and joins its threads) when it is dropped here.
            self.engine = Self::engine(&self.program, self.cfg, &self.knobs, start);
            self.horizon.clear();
            return Outcome::Done;
        }
        let Engine::Stepped { sim, sched, origin } = &mut self.engine else {
            return Outcome::Refused("a live run cannot be stepped; switch to STEP mode".into());
        };
        let r = match cmd {
            Command::Step => step_on(sim, sched, origin, &mut self.horizon, None),
            Command::StepActor(a) => step_on(sim, sched, origin, &mut self.horizon, Some(a)),
            Command::RunToEnd => {
                let mut r = Ok(());
                while sim.ending() == Ending::Running && r.is_ok() {
                    r = step_on(sim, sched, origin, &mut self.horizon, None);
                }
                r
            }
            Command::StepBack => {
                let steps = sim.steps();
                if steps == 0 {
                    return Outcome::Refused("already at the start".into());
                }
                let prefix = sim.schedule()[..steps - 1].to_vec();
                let fresh = seeded(&self.knobs, self.cfg, origin);
                match rebuild(&self.program, self.cfg, fresh, origin, &prefix) {
                    Ok((s, r)) => {
                        **sim = s;
                        *sched = r;
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Command::Reset => unreachable!("handled above"),
        };
        match r {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Refused(e.to_string()),
        }
    }

    /// Runs a stepped run to its end and gives back the trace.
    pub fn finish_stepped(mut self) -> Result<Trace, String> {
        if let Outcome::Refused(why) = self.command(Command::RunToEnd) {
            return Err(why);
        }
        match self.engine {
            Engine::Stepped { sim, .. } => Ok(sim.into_trace()),
            Engine::Live { .. } => Err("not a stepped run".into()),
        }
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

/// One step: the origin's pick (or `manual`), keeping the seeded scheduler in step
/// so that stepping back and forth again gives the same picks.
fn advance(
    sim: &mut Sim,
    sched: &mut Seeded,
    origin: &Origin,
    manual: Option<ActorId>,
) -> Result<(), Refusal> {
    if sim.ending() != Ending::Running {
        return Err(Refusal::Finished);
    }
    if let Some(a) = manual {
        sim.check(a)?;
    }
    let i = sim.steps();
    let (pick, checked) = match origin {
        Origin::Schedule(s) if i < s.0.len() => (Some(s.0[i]), false),
        _ => (sched.pick_steppable(sim), true),
    };
    match (manual, pick) {
        (Some(a), _) => sim.step(a),
        (None, Some(a)) if checked => {
            sim.step_checked(a);
            Ok(())
        }
        (None, Some(a)) => sim.step(a),
        (None, None) => Err(Refusal::Finished),
    }
}

/// One step that keeps to the horizon: without a chosen actor, the horizon's next
/// pick if there is one; a different pick starts a new horizon from here.
fn step_on(
    sim: &mut Sim,
    sched: &mut Seeded,
    origin: &Origin,
    horizon: &mut Vec<ActorId>,
    manual: Option<ActorId>,
) -> Result<(), Refusal> {
    let i = sim.steps();
    let ahead = horizon.get(i).copied();
    let pick = manual.or(ahead);
    advance(sim, sched, origin, pick)?;
    let Some(&done) = sim.schedule().get(i) else {
        return Ok(());
    };
    if ahead != Some(done) {
        horizon.truncate(i);
        horizon.push(done);
    } else if horizon.len() <= i {
        horizon.push(done);
    }
    Ok(())
}

fn rebuild(
    program: &Arc<Program>,
    cfg: EngineConfig,
    mut sched: Seeded,
    origin: &Origin,
    steps: &[ActorId],
) -> Result<(Sim, Seeded), Refusal> {
    let mut sim = Sim::new(program.clone(), cfg);
    for &a in steps {
        advance(&mut sim, &mut sched, origin, Some(a))?;
    }
    Ok((sim, sched))
}

/// Moving through a stepped run: to a step, to an event, and a look ahead.
impl Run {
    /// Steps forwards, or replays back, until `done` holds of the simulator or the
    /// run ends.
    fn seek(&mut self, back: bool, done: impl Fn(&Sim) -> bool) -> Outcome {
        let Engine::Stepped { sim, sched, origin } = &mut self.engine else {
            return Outcome::Refused("a live run cannot be stepped; switch to STEP mode".into());
        };
        if back {
            let picks = sim.schedule().to_vec();
            let mut fresh = Sim::new(self.program.clone(), self.cfg);
            let mut fresh_sched = seeded(&self.knobs, self.cfg, origin);
            for &a in &picks {
                if done(&fresh) {
                    break;
                }
                if let Err(e) = advance(&mut fresh, &mut fresh_sched, origin, Some(a)) {
                    return Outcome::Refused(e.to_string());
                }
            }
            **sim = fresh;
            *sched = fresh_sched;
            return Outcome::Done;
        }
        while !done(sim) && sim.ending() == Ending::Running {
            if let Err(e) = step_on(sim, sched, origin, &mut self.horizon, None) {
                return Outcome::Refused(e.to_string());
            }
        }
        Outcome::Done
    }

    /// Goes to the moment after step `n` (0 is the start).
    pub fn go_to_step(&mut self, n: usize) -> Outcome {
        let now = self.sim().map(|s| s.steps()).unwrap_or(0);
        self.seek(n < now, |s| s.steps() >= n)
    }

    /// Goes to the moment where event `seq` is the newest one.
    pub fn go_to_event(&mut self, seq: usize) -> Outcome {
        let len = self.trace().len();
        self.seek(seq + 1 < len, |s| s.trace().len() > seq)
    }

    /// The run as it will go on from here, played on a copy to its end or at
    /// most `cap` more steps; `None` for a live run.
    pub fn future(&self, cap: usize) -> Option<Trace> {
        let Engine::Stepped { sim, origin, .. } = &self.engine else {
            return None;
        };
        let (mut copy, mut sched) = rebuild(
            &self.program,
            self.cfg,
            seeded(&self.knobs, self.cfg, origin),
            origin,
            sim.schedule(),
        )
        .ok()?;
        let mut horizon = self.horizon.clone();
        for _ in 0..cap {
            if copy.ending() != Ending::Running
                || step_on(&mut copy, &mut sched, origin, &mut horizon, None).is_err()
            {
                break;
            }
        }
        Some(copy.into_trace())
    }
}
