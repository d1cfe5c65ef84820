//! One file per scenario: each builds a lesson's program from its knobs.

mod balance;
mod deadlock;
mod fork;
mod gil_lab;
mod pipe;
mod pool;
mod process;
mod queue;
mod subprocess;
mod thread_local;
pub mod threads;
mod tickets;
mod value_race;

use crate::lesson::{Knobs, Lesson};
use crate::program::Program;

/// A function that turns a lesson's code and knobs into a program.
pub type Build = fn(&Lesson, &Knobs) -> Result<Program, String>;

/// Every scenario, by the id lesson files name.
pub const SCENARIOS: &[(&str, Build)] = &[
    ("balance", balance::build),
    ("fork", fork::build),
    ("pipe", pipe::build),
    ("pool", pool::build),
    ("process", process::build),
    ("queue", queue::build),
    ("subprocess", subprocess::build),
    ("tickets", tickets::build),
    ("value-race", value_race::build),
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
    let mut program = f(lesson, knobs)?;
    program.dis_minor = crate::program::dis_minor(knobs.choice("python"), knobs.choice("gil"));
    Ok(program)
}
