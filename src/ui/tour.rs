//! The guided tour on the lesson screen: the current step, what to do, a hint
//! after a move that does not get there, and the checks that move it on; and the
//! prediction asked before the first run, compared with what the run showed.
//!
//! Checks read the run as the screen shows it (the same variables, actor states
//! and output), through [`RunNow`].

use super::app::LessonScreen;
use crate::lesson::verdict::{Env, Num};
use crate::lesson::{KnobValue, Lesson, TourKey};
use crate::program::Program;
use crate::trace::{ActorState, EventKind};

/// Where a student is in a lesson's tour.
#[derive(Clone, Debug, Default)]
pub struct TourState {
    /// The tour panel is on screen.
    pub on: bool,
    /// The current step (0-based); the lesson's step count means the tour is done.
    pub step: usize,
    /// The last move did not get there: show the step's hint.
    pub hint: bool,
    /// Keys that changed the run since the step began.
    pressed: Vec<TourKey>,
}

impl TourState {
    pub fn new(lesson: &Lesson) -> TourState {
        TourState {
            on: !lesson.tour.is_empty(),
            ..TourState::default()
        }
    }

    pub fn done(&self, lesson: &Lesson) -> bool {
        self.step >= lesson.tour.len()
    }

    /// Back one step (`U`).
    pub fn back(&mut self) {
        self.step = self.step.saturating_sub(1);
        self.hint = false;
        self.pressed.clear();
    }

    /// Moves on when the current step's check holds; after a move that changed the
    /// run and left the step undone, shows the hint once the move strays from the
    /// step's own keys. Returns the step just done (1-based), if one was.
    pub fn observe(&mut self, ls: &LessonScreen, moved: Option<TourKey>) -> Option<usize> {
        let step = ls.lesson.tour.get(self.step)?;
        if let Some(k) = moved {
            self.pressed.push(k);
        }
        if check(ls, &step.check) == Some(true) {
            self.step += 1;
            self.hint = false;
            self.pressed.clear();
            return Some(self.step);
        }
        if moved.is_some() {
            let on_track = self.pressed.len() <= step.keys.len()
                && step.keys[..self.pressed.len()] == self.pressed[..];
            self.hint = !on_track;
        }
        None
    }

    /// Forgets the keys of the step so far (after `D` set the knobs afresh).
    pub fn restart_step(&mut self) {
        self.pressed.clear();
        self.hint = false;
    }
}

/// Evaluates a check on the run as it is now; `None` if it names something the
/// run does not have (which `interleave check` reports for built-in lessons).
pub fn check(ls: &LessonScreen, e: &crate::lesson::verdict::Expr) -> Option<bool> {
    let now = RunNow::of(ls);
    e.eval(&now).ok().map(|v| v != 0)
}

/// The run so far, as a tour check or a prediction reads it.
pub struct RunNow<'a> {
    ls: &'a LessonScreen,
    program: &'a Program,
}

impl<'a> RunNow<'a> {
    pub fn of(ls: &'a LessonScreen) -> RunNow<'a> {
        RunNow {
            ls,
            program: ls.run.program(),
        }
    }

    fn actor(&self, name: &str) -> Option<usize> {
        self.program.actors.iter().position(|a| a.name == name)
    }

    fn state(&self, actor: usize) -> ActorState {
        self.ls.run.model().state(actor as crate::program::ActorId)
    }
}

impl Env for RunNow<'_> {
    fn name(&self, name: &str) -> Option<Num> {
        let run = &self.ls.run;
        if let Some(i) = self.program.vars.iter().position(|v| v.name == name) {
            let init = self.program.vars[i].init;
            return Some(run.model().var(i).unwrap_or(init));
        }
        let trace = run.trace();
        let deadlock = !trace.deadlock().is_empty();
        match name {
            "steps" => return Some(trace.total_len() as Num),
            "overwritten" => return Some(run.model().lost() as Num),
            "over" => return Some(run.is_over() as Num),
            "finished" => return Some((run.is_over() && !deadlock) as Num),
            "deadlock" => return Some(deadlock as Num),
            "live" => return Some((run.mode() == crate::trace::Mode::Live) as Num),
            _ => {}
        }
        match run.knobs().get(&name.replace('_', "-"))? {
            KnobValue::Bool(b) => Some(*b as Num),
            KnobValue::Int(i) => Some(*i),
            KnobValue::Choice(c) => c.parse().ok(),
        }
    }

    fn printed(&self, text: &str) -> Num {
        let out = &self.ls.run.trace().output;
        out.iter().filter(|o| o.text.contains(text)).count() as Num
    }

    fn call(&self, f: &str, args: &[String]) -> Option<Num> {
        let trace = self.ls.run.trace();
        let yes = |b: bool| Some(b as Num);
        match (f, args) {
            ("printer", [text]) => Some(
                trace
                    .output
                    .iter()
                    .find(|o| o.text.contains(text.as_str()))
                    .map_or(-1, |o| o.actor as Num),
            ),
            ("blocked", [a]) => {
                let s = self.state(self.actor(a)?);
                yes(matches!(s, ActorState::Blocked(_) | ActorState::Sleeping))
            }
            ("done", [a]) => yes(matches!(self.state(self.actor(a)?), ActorState::Done(_))),
            ("started", [a]) => {
                let i = self.actor(a)?;
                yes(trace.events.iter().any(|e| e.actor as usize == i))
            }
            ("steps_of", [a]) => {
                let i = self.actor(a)?;
                let n = trace
                    .events
                    .iter()
                    .filter(|e| e.actor as usize == i && e.kind == EventKind::Exec)
                    .count();
                Some(n as Num)
            }
            ("knob", [k, v]) => {
                let spec = self.ls.lesson.knob(k)?;
                let want = spec.parse(v).ok()?;
                yes(self.ls.run.knobs().get(k) == Some(&want))
            }
            ("holds", [a, lock]) => {
                let i = self.actor(a)?;
                let l = self.program.locks.iter().position(|l| l.name == *lock)?;
                let model = self.ls.run.model();
                let r = model.replay()?;
                yes(r.lock_holder(l as crate::program::LockId) == Some(i as _))
            }
            _ => None,
        }
    }
}
