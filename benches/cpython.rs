//! The cost of the cpython engine: the round trip of one controlled step (the thread
//! reports where it stands, waits, we say go) and the events per second of a free
//! run, for every CPython 3.8+ under pyenv, on balance-race's own code.
//!
//! Then the playground's own path: one key's step through `Run` (the ask to the
//! controller's thread, the tracer's round trip, the lines back and into the trace).
//!
//! `cargo bench --bench cpython`. Target (issue 17): ≤ 50 µs a controlled step.
//! Controlled runs look for each other's answer without sleeping for a moment first
//! while the machine has a core free (`hub::Spin`, the tracer's `_spin`);
//! `INTERLEAVE_SPIN_US=0 cargo bench --bench cpython` measures without that.

use interleave::catalog::Catalog;
use interleave::cpython::{Drive, Granularity, Session, pyenv_pythons};
use std::time::{Duration, Instant};

fn main() {
    let catalog = match Catalog::embedded() {
        Ok(c) => c,
        Err(e) => panic!("the built-in lessons load: {e}"),
    };
    let lesson = catalog.find("balance-race").expect("balance-race exists");
    for python in pyenv_pythons().into_iter().rev() {
        let name = python.to_string_lossy().to_string();
        if ["/3.6.", "/3.7."].iter().any(|v| name.contains(v)) {
            continue;
        }
        // Seeded, the two threads take turns every few steps (a turn passed between
        // threads costs one more wake-up); with an empty schedule each thread runs
        // until it ends or waits, the round trip alone.
        let drives = [
            (Drive::Seed(1), 500),
            (Drive::Schedule(Vec::new()), 500),
            (Drive::Free, 5_000),
        ];
        for (drive, iterations) in drives {
            let knobs = interleave::cli::knobs_from(lesson, &[format!("iterations={iterations}")])
                .expect("the knob is in range");
            let source = lesson.code(&knobs);
            let t0 = Instant::now();
            let session = Session::start(&python, &source, &drive, Granularity::Bytecode)
                .expect("the interpreter starts");
            let out = session
                .run(drive.clone(), Duration::from_secs(600))
                .expect("the run ends");
            let wall = t0.elapsed().as_secs_f64();
            let steps = out.steps.len() as f64;
            match drive {
                Drive::Free => println!(
                    "{name}: free, {iterations} iterations: {steps} steps in {wall:.2} s = {:.0} steps/s",
                    steps / wall
                ),
                Drive::Seed(_) => println!(
                    "{name}: controlled, seeded, {iterations} iterations: {steps} steps in {wall:.2} s = {:.1} µs a step",
                    wall * 1e6 / steps
                ),
                Drive::Schedule(_) => println!(
                    "{name}: controlled, one thread at a time, {iterations} iterations: {steps} steps in {wall:.2} s = {:.1} µs a step",
                    wall * 1e6 / steps
                ),
            }
        }
    }
    played(&catalog);
}

/// Steps by key through `Run`, as the playground does, on every interpreter.
fn played(catalog: &Catalog) {
    use interleave::run::{Command, Origin, Outcome, Run, Start};
    let lesson = catalog.find("balance-race").expect("balance-race exists");
    let knobs = interleave::cli::knobs_from(lesson, &["iterations=2000".to_string()])
        .expect("the knob is in range");
    for python in pyenv_pythons().into_iter().rev() {
        let name = python.to_string_lossy().to_string();
        if ["/3.6.", "/3.7."].iter().any(|v| name.contains(v)) {
            continue;
        }
        let start = Start::Cpython {
            python,
            free: false,
            origin: Origin::Seed(1),
        };
        let mut run = Run::new(lesson, knobs.clone(), start).expect("CPython starts");
        let steps = 20_000;
        let t0 = Instant::now();
        for _ in 0..steps {
            match run.command(Command::Step) {
                Outcome::Done => {}
                Outcome::Refused(why) => panic!("{why}"),
            }
        }
        let wall = t0.elapsed().as_secs_f64();
        println!(
            "{name}: a key's step through Run: {:.1} µs ({steps} steps, {} events)",
            wall * 1e6 / steps as f64,
            run.trace().total_len()
        );
    }
}
