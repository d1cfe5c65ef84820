//! The default balance-race run (stepped, seed 1) N times, for a profiler:
//! `valgrind --tool=callgrind target/release/examples/engine_profile timed 5`.
//! Instruction counts are repeatable on a busy machine where wall time is not;
//! the difference between N and 0 runs is what the runs themselves cost.

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::sim::{Calibration, SchedulerKind, Seeded, Sim};
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kind = args
        .first()
        .map(String::as_str)
        .and_then(SchedulerKind::parse)
        .unwrap_or_default();
    let runs: u64 = match args.get(1).map(|s| s.parse()) {
        None => 1,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("usage: engine_profile [timed|uniform] [RUNS]");
            return ExitCode::from(2);
        }
    };
    let built = Catalog::embedded()
        .map_err(|e| e.to_string())
        .and_then(|cat| {
            let l = cat.find("balance-race")?;
            let knobs = knobs_from(l, &[]).map_err(|e| e.to_string())?;
            let p = interleave::scenarios::build(l, &knobs)?;
            Ok((Arc::new(p), knobs.engine()))
        });
    let (p, cfg) = match built {
        Ok(b) => b,
        Err(e) => {
            eprintln!("engine_profile: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut steps = 0;
    for _ in 0..runs {
        let mut sim = Sim::new(p.clone(), cfg);
        let mut sched = Seeded::new(kind, 1, Calibration::for_run(None, cfg));
        sim.run_seeded(&mut sched);
        steps += sim.steps();
    }
    println!("{runs} runs, {steps} steps ({})", kind.name());
    ExitCode::SUCCESS
}
