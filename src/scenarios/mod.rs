//! One file per scenario: each builds a lesson's program from its knobs.

mod balance;
mod deadlock;
mod gil_lab;
mod thread_local;
pub mod threads;

use crate::lesson::{Knobs, Lesson};
use crate::program::Program;

/// A function that turns a lesson's code and knobs into a program.
pub type Build = fn(&Lesson, &Knobs) -> Result<Program, String>;

/// Every scenario, by the id lesson files name.
pub const SCENARIOS: &[(&str, Build)] = &[
    ("balance", balance::build),
    ("threads", threads::build),
    ("thread-local", thread_local::build),
    ("deadlock", deadlock::build),
    ("gil", gil_lab::build),
];

/// Builds the program a lesson runs with these knobs.
pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let (_, f) = SCENARIOS
        .iter()
        .find(|(id, _)| *id == lesson.scenario)
        .ok_or_else(|| {
            let ids: Vec<&str> = SCENARIOS.iter().map(|(id, _)| *id).collect();
            format!(
                "unknown scenario `{}`; known: {}",
                lesson.scenario,
                ids.join(", ")
            )
        })?;
    f(lesson, knobs)
}
