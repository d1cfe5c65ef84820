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

/// A comparison in flight.
pub struct Comparing {
    version: String,
    job: JoinHandle<Result<Comparison, SessionError>>,
}

/// Starts comparing `run` (stepped) with CPython: `Ok` with the status to show
/// while it runs, `Err` with why it cannot.
pub fn start(run: &Run, lang: Lang) -> Result<(Comparing, String), String> {
    let origin = match run.replayable() {
        Replayable::Origin(o) => o,
        Replayable::Steps(s) => Origin::Schedule(s),
        Replayable::TooLong => return Err(Msg::SCmpTooLong.get(lang).into()),
        Replayable::Live => return Err(Msg::SCmpLive.get(lang).into()),
    };
    if run.program().actors.iter().any(|a| a.process != 0) {
        return Err(Msg::SCmpProcesses.get(lang).into());
    }
    let python =
        crate::cpython::find_python(None).map_err(|_| Msg::SCmpNoPython.get(lang).to_string())?;
    let version = python.display().to_string();
    let (lesson, knobs): (Lesson, Knobs) = (run.lesson().clone(), run.knobs().clone());
    let job = std::thread::Builder::new()
        .name("cpython-compare".into())
        .spawn(move || crate::cpython::compare(&lesson, &knobs, origin, &python, LIMIT))
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
            Ok(Err(e)) => return Err(Msg::SCmpFailed.fill(lang, &[&self.version, &e])),
            Err(_) => return Err(Msg::SCmpFailed.fill(lang, &[&self.version, &"panic"])),
        };
        let finals: Vec<String> = c
            .sim_finals
            .iter()
            .map(|(n, v)| format!("{n} = {v}"))
            .collect();
        if c.agrees() {
            Ok(Msg::SCmpAgrees.fill(lang, &[&c.version, &c.shared_steps, &finals.join(", ")]))
        } else {
            let first = c.differences().into_iter().next().unwrap_or_default();
            Err(Msg::SCmpDisagrees.fill(lang, &[&c.version, &first]))
        }
    }
}
