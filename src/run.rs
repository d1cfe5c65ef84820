//! One handle in front of both engines: start a run, send it commands, read its trace.

use crate::i18n::Msg;
use crate::lesson::{Knobs, Lang, Lesson};
/// The engines' words the screen, the CLI and the exports use, given by `Run` so
/// that they need not import the engines.
pub use crate::live::LiveMsg;
use crate::live::{Collector, LiveRun};
use crate::program::{ActorId, EngineConfig, Program, Value};
use crate::scenarios;
pub use crate::sim::{Ending, Schedule, ScheduleError};
use crate::sim::{Refusal, Sim};
use crate::trace::{Mode, Prefix, Trace};
use crossbeam::channel::Receiver;
use std::cell::{Cell, Ref, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod cpython;
mod live;
mod model;
mod runs;
mod scheduler;
/// Why a live run has no stepped replay, for the reports.
pub use crate::live::record::NoReplay;
pub use cpython::CpySpec;
pub use live::first_lost_update;
pub use model::Model;
pub use runs::Runs;
pub use scheduler::{Pick, Scheduler, scheduler_for, seeded};

/// Where a stepped run's scheduler picks come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A seeded scheduler: timed (like a typical CPython run) or uniform, as the
    /// lesson's `scheduler` knob says.
    Seed(u64),
    /// A pasted schedule string, as its runs (bounded by the string's size, not
    /// by its counts); past its end, the scheduler of seed 0 goes on.
    Schedule(Runs),
}

/// What to start.
#[derive(Clone, Debug, PartialEq)]
pub enum Start {
    Stepped(Origin),
    /// Live, with sleeps scaled by a speed factor.
    Live {
        speed: f64,
    },
    /// The lesson's own code on a real CPython (issue 17): controlled by `origin`
    /// (a seed or a schedule of thread numbers) and the keys, or free.
    Cpython {
        python: std::path::PathBuf,
        free: bool,
        origin: Origin,
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

/// What opens this run again exactly, at the moment it is at
/// ([`Run::replayable`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replayable {
    /// Every step so far is the origin's own pick: the seed or the schedule
    /// given replays it (and goes on the same way).
    Origin(Origin),
    /// Steps were picked by hand: the schedule of every step so far.
    Steps(Runs),
    /// Steps were picked by hand and the schedule passed [`TAKEN_RUNS`] runs,
    /// too long to keep (a long run under the uniform scheduler).
    TooLong,
    /// A live run: `--live` runs it again, not the same way.
    Live,
}

/// The most runs of one actor a stepped run keeps of its schedule for
/// [`Run::replayable`] (16 bytes each): a seeded run at the default knobs has a
/// few hundred; a 10 M-iteration uniform run has over a hundred million.
pub const TAKEN_RUNS: usize = 1 << 19;

enum Engine {
    Stepped(Box<Stepped>),
    Cpython {
        cpy: Box<cpython::Cpy>,
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
        /// What a stepped replay needs, once the run has ended (live/record.rs).
        recording: Option<Box<crate::live::record::Recording>>,
    },
}

/// A run of one lesson with one set of knobs.
pub struct Run {
    lesson: Lesson,
    knobs: Knobs,
    program: Arc<Program>,
    cfg: EngineConfig,
    engine: Engine,
    /// The language of the refusals it gives (English unless told).
    lang: Lang,
    /// Taken anew on every change that is not an append ([`Run::version`]).
    version: u64,
    /// What the screen draws, brought up to date when read ([`Run::model`]).
    model: RefCell<Model>,
    /// When a live run's model was last brought up to date.
    model_at: Cell<Option<Instant>>,
}

/// While a live run streams events in, its model is brought up to date at
/// most this often: between, every panel shows the same earlier moment, and
/// input stays responsive while a million events arrive.
pub const LIVE_REFRESH: Duration = Duration::from_millis(250);

/// The next run version: unique in the process, so that a run put in another's
/// place never shows the other's version.
fn next_version() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
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
        let engine = Self::engine(lesson, &program, cfg, &knobs, start)?;
        Ok(Run {
            lesson: lesson.clone(),
            knobs,
            program,
            cfg,
            engine,
            lang: Lang::En,
            version: next_version(),
            model: RefCell::new(Model::default()),
            model_at: Cell::new(None),
        })
    }

    /// The run's version: it changes on every change that is not an append
    /// (a new run, a step back, a reset, a rebuilt CPython trace), never when
    /// events are only added. No two runs share one, so a screen's caches keyed
    /// on (version, events) hold for whichever run is behind them.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Marks the trace as replaced: what was derived from it is recomputed.
    fn replaced(&mut self) {
        self.version = next_version();
    }

    /// Drops everything derived from the trace, as a change that is not an
    /// append does: the next read recomputes it (what a cold frame costs, for
    /// the benchmarks).
    pub fn invalidate(&mut self) {
        self.replaced();
    }

    /// What the screen draws of the run now: every actor's state and
    /// instruction, the locks, the GIL, the variables, the lost updates and the
    /// schedule so far. Brought up to date here, one pass over what the trace
    /// added since the last read; a live run in flight at most every
    /// [`LIVE_REFRESH`].
    pub fn model(&self) -> Ref<'_, Model> {
        if self.model_stale()
            && let Ok(mut m) = self.model.try_borrow_mut()
        {
            self.sync_model(&mut m);
            self.model_at.set(Some(Instant::now()));
        }
        self.model.borrow()
    }

    fn model_stale(&self) -> bool {
        let Ok(m) = self.model.try_borrow() else {
            // Someone holds it while it is being brought up to date: impossible
            // (`sync_model` reads only the engine), but never a panic.
            return false;
        };
        if m.version() != self.version {
            return true;
        }
        if m.len() == self.trace().total_len() {
            return false;
        }
        let held = self.live_receiver().is_some()
            && self
                .model_at
                .get()
                .is_some_and(|t| t.elapsed() < LIVE_REFRESH);
        !held
    }

    /// How many of the kept events will never move: all but a live run's newest,
    /// which a late batch may still put in another order.
    fn settled_events(&self) -> usize {
        match &self.engine {
            Engine::Live { collector, .. } => collector.settled(),
            Engine::Stepped(_) | Engine::Cpython { .. } => self.trace().len(),
        }
    }

    /// Says why a command was refused in `lang` from now on.
    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
    }

    fn engine(
        lesson: &Lesson,
        program: &Arc<Program>,
        cfg: EngineConfig,
        knobs: &Knobs,
        start: Start,
    ) -> Result<Engine, BuildError> {
        Ok(match start {
            Start::Cpython {
                python,
                free,
                origin,
            } => cpython::engine(lesson, program, knobs, python, free, origin)?,
            Start::Stepped(origin) => Engine::Stepped(Box::new(Stepped::new(
                Sim::new(program.clone(), cfg),
                scheduler_for(knobs, cfg, &origin),
            ))),
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
                    recording: None,
                }
            }
        })
    }

    pub fn lesson(&self) -> &Lesson {
        &self.lesson
    }
    pub fn knobs(&self) -> &Knobs {
        &self.knobs
    }
    /// The program the run's trace is of: the scenario's, or for a CPython run the
    /// one its tracer has shown so far.
    pub fn program(&self) -> &Arc<Program> {
        match &self.engine {
            Engine::Cpython { cpy, .. } => &cpy.rec.trace.program,
            _ => &self.program,
        }
    }
    pub fn config(&self) -> EngineConfig {
        self.cfg
    }

    pub fn mode(&self) -> Mode {
        match &self.engine {
            Engine::Stepped(_) => Mode::Stepped,
            Engine::Cpython { cpy, .. } if cpy.free() => Mode::Live,
            Engine::Cpython { .. } => Mode::Stepped,
            Engine::Live { .. } => Mode::Live,
        }
    }

    /// Everything recorded so far.
    pub fn trace(&self) -> &Trace {
        match &self.engine {
            Engine::Stepped(st) => st.sim.trace(),
            Engine::Cpython { cpy, .. } => &cpy.rec.trace,
            Engine::Live { collector, .. } => &collector.trace,
        }
    }

    /// The simulator, for views that show its live state (stepped runs only).
    pub fn sim(&self) -> Option<&Sim> {
        match &self.engine {
            Engine::Stepped(st) => Some(&st.sim),
            Engine::Live { .. } | Engine::Cpython { .. } => None,
        }
    }

    /// What process `p`'s own copy of variable `g` holds now (the memory
    /// lesson's per-process copies), or `None` while the process has not
    /// started: the simulator's copy in a stepped run, else the last value the
    /// trace saw that process's actors read or write.
    pub fn var_in_process(&self, g: crate::program::VarId, p: u16) -> Option<Value> {
        let program = &self.trace().program;
        let started = p == 0
            || self.trace().events.iter().any(|e| {
                program
                    .actors
                    .get(e.actor as usize)
                    .is_some_and(|a| a.process == p)
            });
        match &self.engine {
            Engine::Stepped(st) => started.then(|| st.sim.var_in(p, g)),
            Engine::Live { .. } | Engine::Cpython { .. } => self.trace().var_in_process(g, p),
        }
    }

    /// The CPython run behind this one, if it is one.
    pub fn cpython(&self) -> Option<&cpython::Cpy> {
        match &self.engine {
            Engine::Cpython { cpy, .. } => Some(cpy),
            _ => None,
        }
    }

    /// A CPython run that is doing something the trace does not show yet: a
    /// free run going on, or a controlled one between a command and its pause
    /// (`poll` takes in what comes).
    pub fn in_flight(&self) -> bool {
        self.cpython().is_some_and(|c| c.in_flight())
    }

    /// Steps taken so far (0 for a live run).
    pub fn steps(&self) -> usize {
        match self.cpython() {
            Some(c) => c.rec.picks.len(),
            None => self.sim().map_or(0, |s| s.steps()),
        }
    }

    /// The instruction an actor of a stepped run is at.
    pub fn pc(&self, actor: ActorId) -> Option<u32> {
        match self.cpython() {
            Some(c) => c.rec.pc(actor),
            None => self.sim().map(|s| s.pc(actor)),
        }
    }

    /// The actors picked so far, in order (a stepped run only).
    pub fn picks(&self) -> Option<&[ActorId]> {
        match self.cpython() {
            Some(c) if !c.free() => Some(&c.rec.picks),
            Some(_) => None,
            None => self.sim().map(|s| s.schedule()),
        }
    }

    /// Shared variable `i` as a stepped run holds it now.
    pub fn var(&self, i: usize) -> Option<Value> {
        if let Some(c) = self.cpython() {
            return c.rec.value(i);
        }
        self.sim().and_then(|s| s.vars().get(i).copied())
    }

    /// What waits in process `p`'s `sys.stdout` buffer, stepped (the buffering
    /// lesson; a live process's buffer is in its own memory).
    pub fn stdout_buffer(&self, p: u16) -> Option<&str> {
        self.sim().and_then(|s| s.stdout_buffer(p))
    }

    pub fn origin(&self) -> Option<&Origin> {
        match &self.engine {
            Engine::Stepped(st) => Some(st.sched.origin()),
            Engine::Cpython { cpy, origin } if !cpy.free() => Some(origin),
            Engine::Live { .. } | Engine::Cpython { .. } => None,
        }
    }

    /// The schedule so far, as a string that replays it (`None` once a long run
    /// has forgotten its first steps: its seed replays it).
    pub fn schedule(&self) -> Option<Schedule> {
        if let Some(c) = self.cpython() {
            return (!c.free()).then(|| Schedule(c.rec.picks.clone()));
        }
        self.sim()
            .filter(|s| s.steps_base() == 0)
            .map(|s| Schedule(s.schedule().to_vec()))
    }

    /// What replays this run exactly up to the moment it is at: its origin
    /// while no step was picked by hand, else the schedule of every step.
    pub fn replayable(&self) -> Replayable {
        if let Some(c) = self.cpython() {
            return if c.free() {
                Replayable::Live
            } else {
                let mut runs = Runs::default();
                for &t in &c.rec.picks {
                    runs.push(t, 1);
                }
                Replayable::Steps(runs)
            };
        }
        let Engine::Stepped(st) = &self.engine else {
            return Replayable::Live;
        };
        let steps = st.sim.steps();
        let by_hand = st.horizon.overrides.first().is_some_and(|o| o.0 < steps);
        if !by_hand {
            Replayable::Origin(st.sched.origin().clone())
        } else if st.taken.len() == steps {
            Replayable::Steps(st.taken.clone())
        } else {
            Replayable::TooLong
        }
    }

    /// Whether the run has ended (finished or deadlocked).
    pub fn is_over(&self) -> bool {
        match &self.engine {
            Engine::Stepped(st) => st.sim.ending() != Ending::Running,
            Engine::Cpython { cpy, .. } => cpy.over(),
            Engine::Live { finished, .. } => *finished,
        }
    }

    pub fn ending(&self) -> Ending {
        match &self.engine {
            Engine::Stepped(st) => st.sim.ending(),
            Engine::Cpython { cpy, .. } => match &cpy.ending {
                Some(crate::cpython::Ending::Deadlock) => Ending::Deadlock,
                Some(_) => Ending::Finished,
                None if cpy.failed.is_some() => Ending::Finished,
                None => Ending::Running,
            },
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

    /// A live run's message channel while it is in flight, for a loop to wait on
    /// (the playground's `Select`); `poll` drains it.
    pub fn live_receiver(&self) -> Option<&Receiver<LiveMsg>> {
        match &self.engine {
            Engine::Live { rx, finished, .. } if !finished => Some(rx),
            _ => None,
        }
    }

    /// Takes in what a live run has sent; true if anything arrived.
    pub fn poll(&mut self) -> bool {
        if let Engine::Cpython { cpy, .. } = &mut self.engine {
            // Its trace is rebuilt as its program grows, events changed in place.
            let any = cpy.poll();
            if any {
                self.replaced();
            }
            return any;
        }
        let Engine::Live {
            rx,
            collector,
            finished,
            run,
            started,
            ended_ms,
            recording,
            ..
        } = &mut self.engine
        else {
            return false;
        };
        // At most a channel's worth at a time: the screen draws between.
        let (any, fin) = collector.drain(rx);
        *finished |= fin;
        if *finished && ended_ms.is_none() {
            *ended_ms = Some(started.elapsed().as_secs_f64() * 1e3);
        }
        if *finished && let Some(mut r) = run.take() {
            r.stop();
            *recording = Some(Box::new(r.recording()));
            while let Ok(m) = rx.try_recv() {
                collector.take(m);
            }
            collector.sort();
        }
        any
    }

    /// What a finished live run recorded for its stepped replay.
    pub fn live_recording(&self) -> Option<&crate::live::record::Recording> {
        match &self.engine {
            Engine::Live {
                recording: Some(r), ..
            } => Some(r),
            _ => None,
        }
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
        if let Engine::Cpython { cpy, .. } = &mut self.engine {
            let o = cpython::command(cpy, cmd, self.lang);
            self.replaced();
            return o;
        }
        if let Command::Reset = cmd {
            let start = match &self.engine {
                Engine::Stepped(st) => Start::Stepped(st.sched.origin().clone()),
                Engine::Live { speed, .. } => Start::Live { speed: *speed },
                Engine::Cpython { .. } => unreachable!("answered above"),
            };
            // The old live run stops (and joins its threads) when it is dropped here.
            match Self::engine(&self.lesson, &self.program, self.cfg, &self.knobs, start) {
                Ok(e) => self.engine = e,
                Err(e) => return Outcome::Refused(e.0),
            }
            self.replaced();
            return Outcome::Done;
        }
        let Engine::Stepped(st) = &mut self.engine else {
            return Outcome::Refused(Msg::SLiveCannotStep.get(self.lang).into());
        };
        let r = match cmd {
            Command::Step => st.step_on(None),
            Command::StepActor(a) => st.step_on(Some(a)),
            Command::RunToEnd => {
                let mut r = Ok(());
                while st.sim.ending() == Ending::Running && r.is_ok() {
                    r = st.step_on(None);
                }
                r
            }
            Command::StepBack => {
                let steps = st.sim.steps();
                if steps == 0 {
                    return Outcome::Refused(Msg::SAlreadyAtStart.get(self.lang).into());
                }
                // A shorter trace replayed from a checkpoint, even if the replay
                // is refused on the way.
                self.version = next_version();
                st.restore(&self.knobs, self.cfg, &self.program, steps - 1)
            }
            Command::Reset => unreachable!("handled above"),
        };
        match r {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Refused(e.text(self.lang)),
        }
    }

    /// Steps on towards the end until `deadline`: `None` while the run goes on,
    /// else how it ended (run-to-end in slices, `ui/jobs.rs`).
    pub fn run_for(&mut self, deadline: Instant) -> Option<Outcome> {
        if let Engine::Cpython { cpy, .. } = &mut self.engine {
            let o = cpython::run_for(cpy, deadline, self.lang);
            self.replaced();
            return o;
        }
        let Engine::Stepped(st) = &mut self.engine else {
            return Some(Outcome::Refused(Msg::SLiveCannotStep.get(self.lang).into()));
        };
        loop {
            for _ in 0..4096 {
                if st.sim.ending() != Ending::Running {
                    return Some(Outcome::Done);
                }
                if let Err(e) = st.step_on(None) {
                    return Some(Outcome::Refused(e.text(self.lang)));
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
        }
    }

    /// Steps on towards the end, at most `n` steps: `None` while the run goes on.
    pub fn run_steps(&mut self, n: usize) -> Option<Outcome> {
        if let Engine::Cpython { cpy, .. } = &mut self.engine {
            let o = cpython_steps(cpy, n, self.lang);
            self.replaced();
            return o;
        }
        let Engine::Stepped(st) = &mut self.engine else {
            return Some(Outcome::Refused(Msg::SLiveCannotStep.get(self.lang).into()));
        };
        for _ in 0..n {
            if st.sim.ending() != Ending::Running {
                return Some(Outcome::Done);
            }
            if let Err(e) = st.step_on(None) {
                return Some(Outcome::Refused(e.text(self.lang)));
            }
        }
        (st.sim.ending() != Ending::Running).then_some(Outcome::Done)
    }

    /// The step count of the run's end, when this run has been there before.
    pub fn known_end_steps(&self) -> Option<usize> {
        match &self.engine {
            Engine::Stepped(st) => st.known_end.filter(|&e| e > st.sim.steps()),
            _ => None,
        }
    }

    /// Runs a stepped run to its end and gives back the trace.
    pub fn finish_stepped(mut self) -> Result<Trace, String> {
        if let Outcome::Refused(why) = self.command(Command::RunToEnd) {
            return Err(why);
        }
        match self.engine {
            Engine::Stepped(st) => Ok(st.sim.into_trace()),
            Engine::Live { .. } | Engine::Cpython { .. } => Err("not a stepped run".into()),
        }
    }
}

/// At most `n` steps of a CPython run by its drive: `None` while it goes on.
fn cpython_steps(cpy: &mut cpython::Cpy, n: usize, lang: Lang) -> Option<Outcome> {
    for _ in 0..n {
        if cpy.over() {
            return Some(Outcome::Done);
        }
        if let Outcome::Refused(why) = cpy.step(None, lang) {
            return Some(Outcome::Refused(why));
        }
    }
    cpy.over().then_some(Outcome::Done)
}

/// One step: the scheduler's pick (or `manual`), asking the scheduler even
/// then, to keep it in step, so that stepping back and forth again gives the
/// same picks. Gives back the scheduler's pick (what the step would have been
/// without `manual`).
fn advance(
    sim: &mut Sim,
    sched: &mut dyn Scheduler,
    manual: Option<ActorId>,
) -> Result<Option<ActorId>, Refusal> {
    if sim.ending() != Ending::Running {
        return Err(Refusal::Finished);
    }
    if let Some(a) = manual {
        sim.check(a)?;
    }
    let pick = sched.pick(sim);
    match (manual, pick) {
        (Some(a), _) => sim.step(a)?,
        (
            None,
            Some(Pick {
                actor,
                steppable: true,
            }),
        ) => sim.step_unchecked(actor),
        (
            None,
            Some(Pick {
                actor,
                steppable: false,
            }),
        ) => sim.step(actor)?,
        (None, None) => return Err(Refusal::Finished),
    }
    Ok(pick.map(|p| p.actor))
}

/// How often a stepped run keeps a copy of the simulator, in steps: a step back
/// replays at most this many steps (plus [`RESTORE_MARGIN`]). At 1 << 18 the
/// worst step back in a 10 M-iteration run replayed 266 K steps (123 ms under
/// load); at 1 << 15 it replays at most 37 K, and the ~7 300 checkpoints of that
/// run (a few KB each: the simulator without its events, the scheduler, the
/// prefix) stay small next to the event window.
const CHECKPOINT_STEPS: usize = 1 << 15;
/// A stepped run keeps at most about this many events in memory (24 bytes each);
/// past it, the oldest are dropped down to [`KEEP_EVENTS`] at a checkpoint. The
/// default runs of every lesson stay under it.
const WINDOW_EVENTS: usize = 4_000_000;
/// Events kept behind the newest after a drop: rows for the interleaving.
const KEEP_EVENTS: usize = 1 << 16;
/// A step back starts replaying at least this many steps before its target, so
/// the interleaving has rows behind the new moment.
const RESTORE_MARGIN: usize = 4096;

/// The simulator at one step, with its scheduler: a step back starts here.
struct Checkpoint {
    sim: Sim,
    sched: Box<dyn Scheduler>,
}

/// The run this stepped run has been through, as far as it went (its "horizon"):
/// after stepping back, stepping on (and `>`, End) follows it. Only the choices
/// the origin would not have made are kept (the student's own steps), so a run
/// of any length costs nothing here until someone steps by hand.
#[derive(Default)]
struct Horizon {
    /// (step, actor), sorted by step.
    overrides: Vec<(usize, ActorId)>,
    /// Steps the horizon covers.
    end: usize,
}

impl Horizon {
    /// The student's own pick at step `i`, if the horizon has one.
    fn at(&self, i: usize) -> Option<ActorId> {
        if i >= self.end {
            return None;
        }
        self.overrides
            .binary_search_by_key(&i, |o| o.0)
            .ok()
            .map(|k| self.overrides[k].1)
    }

    /// Step `i` took `took` where the origin picked `default`; true if that left
    /// the horizon (which then ends here).
    fn record(&mut self, i: usize, took: ActorId, default: Option<ActorId>) -> bool {
        let before = (i < self.end).then(|| self.at(i).or(default)).flatten();
        if before == Some(took) {
            return false;
        }
        let left = i < self.end;
        let keep = self.overrides.partition_point(|o| o.0 < i);
        self.overrides.truncate(keep);
        if default != Some(took) {
            self.overrides.push((i, took));
        }
        self.end = i + 1;
        left
    }
}

/// A stepped run: the simulator now, how it got here, and copies to go back to.
struct Stepped {
    sim: Box<Sim>,
    /// Where the picks come from; it knows the run's [`Origin`].
    sched: Box<dyn Scheduler>,
    horizon: Horizon,
    checkpoints: Vec<Checkpoint>,
    /// The step count at which the horizon's run ends, once it has been there.
    known_end: Option<usize>,
    /// What the events before event number `tip.0` add up to: the next
    /// checkpoint's prefix, brought up to date once per checkpoint.
    tip: (usize, Box<Prefix>),
    /// The first steps of the run, as runs of one actor: all of them while
    /// there are at most [`TAKEN_RUNS`] runs (`taken.len() == sim.steps()`).
    taken: Runs,
}

impl Stepped {
    fn new(sim: Sim, sched: Box<dyn Scheduler>) -> Stepped {
        let tip = (0, Box::new(sim.trace().prefix_or_start()));
        Stepped {
            sim: Box::new(sim),
            sched,
            horizon: Horizon::default(),
            checkpoints: Vec::new(),
            known_end: None,
            tip,
            taken: Runs::default(),
        }
    }

    /// One step that keeps to the horizon: without a chosen actor, the horizon's
    /// next pick if there is one; a different pick starts a new horizon here.
    fn step_on(&mut self, manual: Option<ActorId>) -> Result<(), Refusal> {
        self.keep_memory_flat();
        let i = self.sim.steps();
        let ahead = self.horizon.at(i);
        let default = advance(&mut self.sim, &mut *self.sched, manual.or(ahead))?;
        if let Some(took) = self.sim.pick_at(i) {
            if self.taken.len() == i
                && (self.taken.last_actor() == Some(took) || self.taken.run_count() < TAKEN_RUNS)
            {
                self.taken.push(took, 1);
            }
            if self.horizon.record(i, took, default) {
                // The checkpoints past here were of the old horizon.
                self.checkpoints.retain(|c| c.sim.steps() <= i);
                self.known_end = None;
            }
        }
        if self.sim.ending() != Ending::Running {
            self.known_end = Some(self.sim.steps());
        }
        Ok(())
    }

    /// Before a step: every [`CHECKPOINT_STEPS`] steps, a checkpoint; when the
    /// events kept pass [`WINDOW_EVENTS`], the oldest are dropped back to a
    /// checkpoint. Only events and steps the scheduler has read are dropped.
    fn keep_memory_flat(&mut self) {
        let steps = self.sim.steps();
        if !steps.is_multiple_of(CHECKPOINT_STEPS) {
            return;
        }
        let here = self.checkpoints.partition_point(|c| c.sim.steps() < steps);
        match self.checkpoints.get(here) {
            // A replay passing a checkpoint it made before: the prefix is that one's.
            Some(c) if c.sim.steps() == steps => {
                let t = c.sim.trace();
                self.tip = (t.base, Box::new(t.prefix_or_start()));
            }
            _ => {
                let c = self.checkpoint();
                self.checkpoints.truncate(here);
                self.checkpoints.push(c);
            }
        }
        let trace = self.sim.trace();
        if trace.events.len() < WINDOW_EVENTS {
            return;
        }
        let newest = trace.total_len().saturating_sub(KEEP_EVENTS);
        let Some(c) = self.checkpoints[..=here.min(self.checkpoints.len() - 1)]
            .iter()
            .rev()
            .find(|c| c.sim.trace().base <= newest && c.sim.trace().base > trace.base)
        else {
            return;
        };
        let n = c.sim.trace().base - trace.base;
        let prefix = Box::new(c.sim.trace().prefix_or_start());
        let step = c.sim.steps_base();
        self.sim.forget(n, prefix, step);
        self.sched.forget_events(n);
    }

    /// A copy of the simulator and its scheduler as they are now, without the
    /// events and steps the scheduler has read.
    fn checkpoint(&mut self) -> Checkpoint {
        let (seen, seen_steps) = self.sched.seen(&self.sim);
        let trace = self.sim.trace();
        let (at, pre) = &mut self.tip;
        trace.absorb_into(pre, at.saturating_sub(trace.base), seen);
        *at = trace.base + seen.min(trace.events.len());
        let mut sched = self.sched.clone_box();
        sched.forget_events(seen);
        let sim = self.sim.checkpoint_copy(seen, pre.clone(), seen_steps);
        Checkpoint { sim, sched }
    }

    /// Goes to the moment after step `n` of the horizon, from the nearest
    /// checkpoint at least [`RESTORE_MARGIN`] steps before it.
    fn restore(
        &mut self,
        knobs: &Knobs,
        cfg: EngineConfig,
        program: &Arc<Program>,
        n: usize,
    ) -> Result<(), Refusal> {
        self.restore_until(knobs, cfg, program, |s| s.steps() >= n)
    }

    /// Replays the horizon from the start (a checkpoint) until `done` holds,
    /// the horizon ends or the run ends. `done` must turn true once and stay so.
    fn restore_until(
        &mut self,
        knobs: &Knobs,
        cfg: EngineConfig,
        program: &Arc<Program>,
        done: impl Fn(&Sim) -> bool,
    ) -> Result<(), Refusal> {
        // From the last checkpoint where `done` does not hold yet; from the one
        // before if that leaves too few rows behind the new moment.
        let mut k = self.checkpoints.partition_point(|c| !done(&c.sim));
        loop {
            let (sim, sched) = match k.checked_sub(1).map(|i| &self.checkpoints[i]) {
                Some(c) => (c.sim.clone(), c.sched.clone_box()),
                None => (
                    Sim::new(program.clone(), cfg),
                    scheduler_for(knobs, cfg, self.sched.origin()),
                ),
            };
            self.tip = (sim.trace().base, Box::new(sim.trace().prefix_or_start()));
            *self.sim = sim;
            self.sched = sched;
            self.taken.truncate(self.sim.steps());
            while !done(&self.sim)
                && self.sim.steps() < self.horizon.end
                && self.sim.ending() == Ending::Running
            {
                self.step_on(None)?;
            }
            if self.sim.trace().len() >= RESTORE_MARGIN || k <= 1 {
                return Ok(());
            }
            k -= 1;
        }
    }
}

/// Moving through a stepped run: to a step, to an event, and a look ahead.
impl Run {
    /// Steps forwards, or replays back, until `done` holds of the simulator or the
    /// run ends.
    fn seek(&mut self, back: bool, done: impl Fn(&Sim) -> bool) -> Outcome {
        let Engine::Stepped(st) = &mut self.engine else {
            return Outcome::Refused(Msg::SLiveCannotStep.get(self.lang).into());
        };
        if back {
            self.version = next_version();
            return match st.restore_until(&self.knobs, self.cfg, &self.program, done) {
                Ok(()) => Outcome::Done,
                Err(e) => Outcome::Refused(e.text(self.lang)),
            };
        }
        while !done(&st.sim) && st.sim.ending() == Ending::Running {
            if let Err(e) = st.step_on(None) {
                return Outcome::Refused(e.text(self.lang));
            }
        }
        Outcome::Done
    }

    /// Goes to the moment after step `n` (0 is the start).
    pub fn go_to_step(&mut self, n: usize) -> Outcome {
        let now = self.sim().map(|s| s.steps()).unwrap_or(0);
        self.seek(n < now, |s| s.steps() >= n)
    }

    /// Goes to the moment where event `seq` (an index into the trace's events
    /// now) is the newest one.
    pub fn go_to_event(&mut self, seq: usize) -> Outcome {
        let t = self.trace();
        let (len, abs) = (t.len(), t.base + seq);
        self.seek(seq + 1 < len, |s| s.trace().total_len() > abs)
    }

    /// The run as it will go on from here, played on a copy to its end, at most
    /// `cap` more steps or [`LOOKAHEAD_EVENTS`] more events; `None` for a live run.
    pub fn future(&self, cap: usize) -> Option<Trace> {
        let Engine::Stepped(st) = &self.engine else {
            return None;
        };
        let mut sim = st.sim.clone();
        let mut sched = st.sched.clone_box();
        let limit = sim.trace().len() + LOOKAHEAD_EVENTS;
        sim.reserve_events(LOOKAHEAD_EVENTS.min(cap.saturating_mul(2)));
        for _ in 0..cap {
            if sim.ending() != Ending::Running || sim.trace().len() >= limit {
                break;
            }
            let ahead = st.horizon.at(sim.steps());
            if advance(&mut sim, &mut *sched, ahead).is_err() {
                break;
            }
        }
        Some(sim.into_trace())
    }
}

/// How many events `>` looks ahead at most (24 bytes each).
const LOOKAHEAD_EVENTS: usize = 4_000_000;
