//! `interleave explore`: the command line of the explorer.

use super::{Control, Limits};
use crate::catalog::Catalog;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExploreFormat {
    Text,
    Jsonl,
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("how").required(true).args(["runs", "exhaustive"])))]
pub struct ExploreArgs {
    pub lesson: String,
    /// Set a knob, e.g. `--set iterations=1` (repeatable).
    #[arg(long = "set", value_name = "KNOB=VALUE")]
    pub set: Vec<String>,
    /// Sampled: run this many seeds (from --first-seed on), in parallel.
    #[arg(long, value_name = "N")]
    pub runs: Option<u64>,
    /// Sampled: the first seed.
    #[arg(long, default_value_t = 0, requires = "runs")]
    pub first_seed: u64,
    /// Every interleaving, up to reordering independent steps (DPOR).
    #[arg(long)]
    pub exhaustive: bool,
    /// Exhaustive: at most K preemptions per run (CHESS's bound).
    #[arg(long, value_name = "K", requires = "exhaustive")]
    pub max_preemptions: Option<u32>,
    /// Exhaustive: stop after this many interleavings.
    #[arg(long, default_value_t = 10_000_000, requires = "exhaustive")]
    pub budget: u64,
    /// Exhaustive: stop after this many seconds.
    #[arg(long, default_value_t = 10.0, requires = "exhaustive")]
    pub time_limit: f64,
    #[arg(long, value_enum, default_value_t = ExploreFormat::Text)]
    pub format: ExploreFormat,
}

/// Runs the command; an `Err` is a one-line message for bad input.
pub fn main(catalog: &Catalog, args: ExploreArgs) -> Result<ExitCode, String> {
    let lesson = catalog.find(&args.lesson)?;
    let knobs = crate::cli::knobs_from(lesson, &args.set)?;
    let program = Arc::new(crate::scenarios::build(lesson, &knobs)?);
    let cfg = knobs.engine();
    let ctl = Control::default();
    let ex = if let Some(n) = args.runs {
        if n == 0 {
            return Err("--runs must be at least 1".into());
        }
        let end = args
            .first_seed
            .checked_add(n)
            .ok_or("--first-seed + --runs is past the last seed")?;
        super::sample(&program, cfg, &knobs, args.first_seed..end, &ctl)
    } else {
        if !(args.time_limit.is_finite() && args.time_limit > 0.0) {
            return Err(format!(
                "--time-limit must be above 0, not {}",
                args.time_limit
            ));
        }
        let limits = Limits {
            max_preemptions: args.max_preemptions,
            max_executions: args.budget.max(1),
            max_time: Duration::from_secs_f64(args.time_limit),
            ..Limits::default()
        };
        super::exhaustive(&program, cfg, &limits, &ctl)
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = match args.format {
        ExploreFormat::Text => out.write_all(super::text_report(lesson, &knobs, &ex).as_bytes()),
        ExploreFormat::Jsonl => super::write_jsonl(lesson, &knobs, &ex, &mut out),
    };
    match written {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(format!("cannot write the report: {e}")),
    }
}
