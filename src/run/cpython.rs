//! `Run`'s third engine: the lesson's own code on a real CPython under the tracer
//! (`src/cpython/`), kept alive so that each key lets one thread take one step.
//! A step back starts the program again and replays the steps before.

use crate::cpython::{Ask, Drive, Granularity, News, Recorder, Session};
use crate::i18n::Msg;
use crate::lesson::Lang;
use crate::program::ActorId;
use crossbeam::channel::{Receiver, Sender};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::Outcome;

/// How long a key waits for its step before the screen goes on without it (the
/// step then shows when it arrives): a step is ~40 µs, but one may sleep.
const STEP_WAIT: Duration = Duration::from_millis(300);
/// How long starting (and replaying the steps before a step back) may take.
const START_WAIT: Duration = Duration::from_secs(30);

/// What a CPython run was started with, to start it again.
#[derive(Clone, Debug, PartialEq)]
pub struct CpySpec {
    pub python: PathBuf,
    pub source: String,
    pub granularity: Granularity,
    /// The bytecode view's CPython 3.x.
    pub dis_minor: u8,
}

/// A CPython run in flight or over.
pub struct Cpy {
    pub spec: CpySpec,
    pub drive: Drive,
    pub rec: Recorder,
    asks: Sender<Ask>,
    news: Receiver<News>,
    job: Option<std::thread::JoinHandle<()>>,
    /// Every thread waits for the next ask.
    paused: bool,
    /// How the program ended, once it has.
    pub ending: Option<crate::cpython::Ending>,
    /// Why the run broke, if it did.
    pub failed: Option<String>,
    /// After a step back, the steps the run took before: stepping on follows them.
    horizon: Vec<u16>,
    pub stderr: String,
}

impl Drop for Cpy {
    fn drop(&mut self) {
        let _ = self.asks.send(Ask::Stop);
        // The session kills and reaps the child when its thread lets it go.
        if let Some(j) = self.job.take() {
            let _ = j.join();
        }
    }
}

impl Cpy {
    /// Starts the program; a controlled run first takes `prefix`'s steps and stops
    /// before the next. Err: the interpreter could not start it.
    pub fn start(
        spec: CpySpec,
        drive: Drive,
        prefix: Vec<u16>,
        horizon: Vec<u16>,
    ) -> Result<Cpy, String> {
        let session = Session::start(&spec.python, &spec.source, &drive, spec.granularity)
            .map_err(|e| e.to_string())?;
        let free = matches!(drive, Drive::Free);
        let (ask_tx, ask_rx) = crossbeam::channel::unbounded();
        let (news_tx, news_rx) = crossbeam::channel::bounded(256);
        let d = drive.clone();
        let job = std::thread::Builder::new()
            .name("cpython-run".into())
            .spawn(move || session.serve(d, prefix, ask_rx, news_tx))
            .map_err(|e| e.to_string())?;
        let mut c = Cpy {
            rec: Recorder::new(free, spec.dis_minor),
            spec,
            drive,
            asks: ask_tx,
            news: news_rx,
            job: Some(job),
            paused: false,
            ending: None,
            failed: None,
            horizon,
            stderr: String::new(),
        };
        if !free {
            c.wait(START_WAIT);
            if let Some(f) = &c.failed {
                return Err(f.clone());
            }
        }
        Ok(c)
    }

    pub fn free(&self) -> bool {
        matches!(self.drive, Drive::Free)
    }

    pub fn over(&self) -> bool {
        self.ending.is_some() || self.failed.is_some()
    }

    /// The run is doing something the screen has not seen yet: a free run that
    /// goes on, a controlled one between an ask and its pause.
    pub fn in_flight(&self) -> bool {
        !self.over() && !self.paused
    }

    fn take(&mut self, n: News) {
        match n {
            News::Lines(lines) => {
                for l in &lines {
                    if let Err(why) = self.rec.take(l) {
                        self.failed = Some(why);
                    }
                }
                self.rec.publish();
            }
            News::Paused => self.paused = true,
            News::Refused(why) => {
                self.rec.refused = Some(why);
                self.paused = true;
            }
            News::Ended { ending, stderr } => {
                self.rec.end(&ending);
                self.stderr = stderr;
                self.ending = Some(ending);
            }
            News::Failed(why) => {
                self.rec.publish();
                self.failed = Some(why);
            }
        }
    }

    /// Takes in what has come; true if anything did.
    pub fn poll(&mut self) -> bool {
        let mut any = false;
        while let Ok(n) = self.news.try_recv() {
            self.take(n);
            any = true;
        }
        any
    }

    /// Waits until the run pauses or ends, at most `limit`.
    fn wait(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.in_flight() {
            match self.news.recv_deadline(deadline) {
                Ok(n) => self.take(n),
                Err(crossbeam::channel::RecvTimeoutError::Timeout) => return,
                Err(crossbeam::channel::RecvTimeoutError::Disconnected) => {
                    if !self.over() {
                        self.failed = Some("the CPython run stopped".into());
                    }
                    return;
                }
            }
        }
    }

    /// One step: of `actor`, or of the horizon's next pick, or of the drive's.
    pub fn step(&mut self, actor: Option<ActorId>, lang: Lang) -> Outcome {
        if let Some(o) = self.refusal(lang) {
            return o;
        }
        let i = self.rec.picks.len();
        let pick = match actor {
            Some(a) => {
                if self.horizon.get(i) != Some(&a) {
                    self.horizon.clear();
                }
                Some(a)
            }
            None => self.horizon.get(i).copied(),
        };
        self.rec.refused = None;
        self.paused = false;
        if self.asks.send(Ask::Step(pick)).is_err() {
            return Outcome::Refused(Msg::SCpyGone.get(lang).into());
        }
        self.wait(STEP_WAIT);
        match self.rec.refused.take() {
            Some(why) => Outcome::Refused(Msg::SCpyCannot.fill(lang, &[&why])),
            None => Outcome::Done,
        }
    }

    /// The drive's picks until the program ends (the screen polls for them).
    pub fn run_to_end(&mut self, lang: Lang) -> Outcome {
        if let Some(o) = self.refusal(lang) {
            return o;
        }
        self.horizon.clear();
        self.paused = false;
        if self.asks.send(Ask::RunToEnd).is_err() {
            return Outcome::Refused(Msg::SCpyGone.get(lang).into());
        }
        Outcome::Done
    }

    /// Why no step can be asked now, if none can.
    fn refusal(&self, lang: Lang) -> Option<Outcome> {
        if self.free() {
            return Some(Outcome::Refused(Msg::SLiveCannotStep.get(lang).into()));
        }
        if self.over() {
            return Some(Outcome::Refused(Msg::SCpyOver.get(lang).into()));
        }
        if !self.paused {
            return Some(Outcome::Refused(Msg::SCpyBusy.get(lang).into()));
        }
        None
    }

    /// The same program from the start, replaying all the steps taken but the last.
    pub fn back(&self) -> Result<Cpy, String> {
        let n = self.rec.picks.len();
        let prefix = self.rec.picks[..n.saturating_sub(1)].to_vec();
        let horizon = if self.horizon.len() > n {
            self.horizon.clone()
        } else {
            self.rec.picks.clone()
        };
        Cpy::start(self.spec.clone(), self.drive.clone(), prefix, horizon)
    }

    /// The same run from the start.
    pub fn again(&self) -> Result<Cpy, String> {
        Cpy::start(
            self.spec.clone(),
            self.drive.clone(),
            Vec::new(),
            Vec::new(),
        )
    }
}

/// The engine for `Start::Cpython`: the lesson's code as the lesson shows it.
pub(super) fn engine(
    lesson: &crate::lesson::Lesson,
    program: &crate::program::Program,
    knobs: &crate::lesson::Knobs,
    python: PathBuf,
    free: bool,
    origin: super::Origin,
) -> Result<super::Engine, super::BuildError> {
    let refuse = |m: String| super::BuildError(m);
    let granularity = match knobs.engine().granularity {
        crate::program::Granularity::Bytecode => Granularity::Bytecode,
        crate::program::Granularity::Line => Granularity::Line,
    };
    let drive = match (&origin, free) {
        (_, true) => Drive::Free,
        (super::Origin::Seed(s), _) => Drive::Seed(*s),
        (super::Origin::Schedule(runs), _) => {
            if runs.len() > 1_000_000 {
                return Err(refuse(
                    "a schedule for CPython is at most 1 000 000 steps".into(),
                ));
            }
            let mut picks = Vec::with_capacity(runs.len());
            for (a, n) in runs.tokens() {
                picks.extend(std::iter::repeat_n(a, n as usize));
            }
            Drive::Schedule(picks)
        }
    };
    let spec = CpySpec {
        python,
        source: lesson.code(knobs),
        granularity,
        dis_minor: program.dis_minor,
    };
    let cpy = Cpy::start(spec, drive, Vec::new(), Vec::new()).map_err(refuse)?;
    Ok(super::Engine::Cpython {
        cpy: Box::new(cpy),
        origin,
    })
}

/// A command to a CPython run.
pub(super) fn command(cpy: &mut Box<Cpy>, cmd: super::Command, lang: Lang) -> Outcome {
    use super::Command as C;
    let again = match cmd {
        C::Step => return cpy.step(None, lang),
        C::StepActor(a) => return cpy.step(Some(a), lang),
        C::RunToEnd => return cpy.run_to_end(lang),
        C::StepBack if cpy.free() => {
            return Outcome::Refused(Msg::SLiveCannotStep.get(lang).into());
        }
        C::StepBack if cpy.rec.picks.is_empty() => {
            return Outcome::Refused(Msg::SAlreadyAtStart.get(lang).into());
        }
        C::StepBack => cpy.back(),
        C::Reset => cpy.again(),
    };
    match again {
        Ok(c) => {
            // The old run is stopped (and its program killed) when it is dropped.
            **cpy = c;
            Outcome::Done
        }
        Err(e) => Outcome::Refused(e),
    }
}

/// Run to the end in slices: the first slice asks for it, every slice takes in
/// what came until `deadline`.
pub(super) fn run_for(cpy: &mut Cpy, deadline: Instant, lang: Lang) -> Option<Outcome> {
    if cpy.over() {
        return Some(Outcome::Done);
    }
    if cpy.paused
        && let Outcome::Refused(why) = cpy.run_to_end(lang)
    {
        return Some(Outcome::Refused(why));
    }
    cpy.wait(deadline.saturating_duration_since(Instant::now()));
    if cpy.over() {
        return Some(Outcome::Done);
    }
    // A schedule that cannot go on, or a thread stuck in a refusal.
    cpy.rec
        .refused
        .take()
        .map(|why| Outcome::Refused(Msg::SCpyCannot.fill(lang, &[&why])))
}
