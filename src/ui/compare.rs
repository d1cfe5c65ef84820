//! `C`: the stepped run's schedule, run again on a real CPython (issue 17, item 6),
//! on a thread of its own; the status line says whether the two agree.

use crate::cpython::{Comparison, SessionError};
use crate::i18n::Msg;
use crate::lesson::{Knobs, Lang, Lesson};
use crate::run::{Origin, Replayable, Run};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the CPython run may take before it counts as stuck.
const LIMIT: Duration = Duration::from_secs(30);
/// The longest stepped run `C` replays: CPython stepped by opcodes takes about
/// 40 µs a step (benches/cpython.rs), and it takes more opcodes than the simulator
/// takes steps, so this is a few seconds.
const MAX_EVENTS: usize = 200_000;

/// Why a comparison could not be made.
enum Failure {
    /// The stepped run has this many events: too long to step on CPython.
    TooLong(usize),
    /// The lesson declares this run not compared (`[[differs]] joined`).
    Declared(crate::lesson::Difference),
    Session(SessionError),
}

/// A comparison in flight.
pub struct Comparing {
    version: String,
    job: JoinHandle<Result<Comparison, Failure>>,
}

fn compare(
    lesson: &Lesson,
    knobs: &Knobs,
    origin: Origin,
    python: &std::path::Path,
) -> Result<Comparison, Failure> {
    let (trace, schedule) =
        crate::cpython::stepped(lesson, knobs, origin).map_err(Failure::Session)?;
    if let Some(d) = crate::cpython::not_compared(lesson, knobs, &trace) {
        return Err(Failure::Declared(d.clone()));
    }
    if trace.total_len() > MAX_EVENTS {
        return Err(Failure::TooLong(trace.total_len()));
    }
    let mut c = crate::cpython::compare_trace(lesson, knobs, &trace, python, LIMIT)
        .map_err(Failure::Session)?;
    c.sim_schedule = schedule;
    Ok(c)
}

/// Starts comparing `run` (stepped) with CPython: `Ok` with the status to show
/// while it runs, `Err` with why it cannot.
pub fn start(run: &Run, lang: Lang) -> Result<(Comparing, String), String> {
    // A lesson that declares its runs not comparable says why, before any Python.
    let mut declared = run.lesson().differs.iter();
    if let Some(d) = declared.find(|d| d.whole() && d.applies(run.knobs())) {
        return Err(Msg::SCmpDeclared.fill(lang, &[&d.label(lang)]));
    }
    let origin = match run.replayable() {
        Replayable::Origin(o) => o,
        Replayable::Steps(s) => Origin::Schedule(s),
        Replayable::TooLong => return Err(Msg::SCmpTooLong.get(lang).into()),
        Replayable::Live => return Err(Msg::SCmpLive.get(lang).into()),
    };
    let python =
        crate::cpython::find_python(None).map_err(|_| Msg::SCmpNoPython.get(lang).to_string())?;
    let version = python.display().to_string();
    let (lesson, knobs): (Lesson, Knobs) = (run.lesson().clone(), run.knobs().clone());
    let job = std::thread::Builder::new()
        .name("cpython-compare".into())
        .spawn(move || compare(&lesson, &knobs, origin, &python))
        .map_err(|e| e.to_string())?;
    let status = Msg::SCmpRunning.fill(lang, &[&version]);
    Ok((Comparing { version, job }, status))
}

impl Comparing {
    pub fn finished(&self) -> bool {
        self.job.is_finished()
    }

    /// The status line for the result: `Ok` when the two agree.
    pub fn result(self, lang: Lang) -> Result<String, String> {
        let c = match self.job.join() {
            Ok(Ok(c)) => c,
            Ok(Err(Failure::TooLong(n))) => {
                return Err(Msg::SCmpTooManySteps.fill(lang, &[&n, &MAX_EVENTS]));
            }
            Ok(Err(Failure::Declared(d))) => {
                return Err(Msg::SCmpDeclared.fill(lang, &[&d.label(lang)]));
            }
            Ok(Err(Failure::Session(e))) => {
                return Err(Msg::SCmpFailed.fill(lang, &[&self.version, &e]));
            }
            Err(_) => return Err(Msg::SCmpFailed.fill(lang, &[&self.version, &"panic"])),
        };
        let finals: Vec<String> = c
            .sim_finals
            .iter()
            .map(|(n, v)| format!("{n} = {v}"))
            .collect();
        let ending = if c.sim_deadlock {
            Msg::SCmpBothDeadlock.get(lang).to_string()
        } else if finals.is_empty() {
            Msg::SCmpSameEnd.get(lang).to_string()
        } else {
            finals.join(", ")
        };
        let declared = match c.declared_text(lang) {
            d if d.is_empty() => d,
            d if lang == Lang::Zh => format!("；{d}"),
            d => format!("; {d}"),
        };
        if c.agrees() {
            let agrees = Msg::SCmpAgrees.fill(lang, &[&c.version, &ending, &c.shared_steps]);
            Ok(format!("{agrees}{declared}"))
        } else {
            let first = c.differences().into_iter().next().unwrap_or_default();
            let disagrees = Msg::SCmpDisagrees.fill(lang, &[&c.version, &first]);
            Err(format!("{disagrees}{declared}"))
        }
    }
}
