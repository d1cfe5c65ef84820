//! The command line: (none) = playground, `list`, `run`, `check`, and the hidden `worker`.

use crate::catalog::Catalog;
use crate::export::{Replay, Report, perfetto_json, text_report, write_jsonl};
use crate::lesson::{Lang, Lesson};
use crate::run::{Origin, Run, Start};
use crate::sim::Schedule;
use crate::trace::Mode;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "interleave",
    version,
    about = "Watch the classic Python concurrency lessons run for real",
    after_help = "Without a subcommand, opens the playground (LESSON opens that lesson directly)."
)]
pub struct Cli {
    /// Open this lesson directly.
    pub lesson: Option<String>,
    /// Read lessons from this folder too (same id: it replaces the built-in one).
    #[arg(long, global = true, value_name = "DIR")]
    pub lessons: Option<PathBuf>,
    /// Language of lesson texts.
    #[arg(long, global = true, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    En,
    Zh,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::En => Lang::En,
            LangArg::Zh => Lang::Zh,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Jsonl,
    Perfetto,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// List every lesson: id, title, concepts.
    List,
    /// Run a lesson without the screen and print what happened.
    Run(RunArgs),
    /// Check lesson files (the built-in ones and those of --lessons).
    Check,
    /// Every outcome of a lesson, each with a schedule that replays it.
    Explore(crate::explore::cli::ExploreArgs),
    /// Internal: a child process of a live process lesson.
    #[command(hide = true)]
    Worker,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    pub lesson: String,
    /// Set a knob, e.g. `--set lock=on` (repeatable).
    #[arg(long = "set", value_name = "KNOB=VALUE")]
    pub set: Vec<String>,
    /// Stepped run with the seeded random scheduler.
    #[arg(long, conflicts_with_all = ["schedule", "live"])]
    pub seed: Option<u64>,
    /// Stepped run that follows a schedule string, e.g. `0x4 1x5 2x6`.
    #[arg(long, conflicts_with = "live")]
    pub schedule: Option<String>,
    /// Run on real threads and processes.
    #[arg(long)]
    pub live: bool,
    /// Live: how much faster sleeps pass (2 = twice as fast).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Live: stop a run that has not ended after this many seconds.
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Bad input: a one-line message and exit code 2.
struct Usage(String);

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(Usage(msg)) => {
            eprintln!("interleave: {msg}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode, Usage> {
    if let Some(Cmd::Worker) = cli.command {
        // A worker starts fast: it needs no lessons, only the job on its stdin.
        if std::io::stdin().is_terminal() {
            return Err(Usage("`worker` is started by the playground itself".into()));
        }
        let code = crate::live::worker::main();
        return Ok(ExitCode::from(code.clamp(0, 255) as u8));
    }
    let catalog =
        Catalog::with_overrides(cli.lessons.as_deref()).map_err(|e| Usage(e.to_string()))?;
    let lang: Lang = cli.lang.into();
    match cli.command {
        None => playground(&catalog, cli.lesson.as_deref(), lang),
        Some(Cmd::List) => {
            list(&catalog, lang);
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Check) => {
            println!(
                "{} lessons are well formed and build their programs",
                catalog.lessons().len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Run(args)) => run(&catalog, args, lang),
        Some(Cmd::Explore(args)) => crate::explore::cli::main(&catalog, args).map_err(Usage),
        Some(Cmd::Worker) => unreachable!("handled above"),
    }
}

fn list(catalog: &Catalog, lang: Lang) {
    let w = catalog
        .lessons()
        .iter()
        .map(|l| l.id.len())
        .max()
        .unwrap_or(0);
    for l in catalog.lessons() {
        println!(
            "{:<w$}  {}  [{}]",
            l.id,
            l.title.get(lang),
            l.concepts.join(", ")
        );
    }
}

fn playground(catalog: &Catalog, lesson: Option<&str>, lang: Lang) -> Result<ExitCode, Usage> {
    if let Some(id) = lesson {
        catalog.find(id).map_err(Usage)?;
    }
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(Usage(
            "the playground needs a terminal (stdin and stdout); to run a lesson without one, \
             use `interleave run LESSON` (see `interleave run --help`)"
                .into(),
        ));
    }
    crate::ui::run_playground(catalog, lesson, lang).map_err(|e| Usage(format!("{e:#}")))?;
    Ok(ExitCode::SUCCESS)
}

/// Knobs from `--set` arguments, checked against the lesson.
pub fn knobs_from(lesson: &Lesson, sets: &[String]) -> Result<crate::lesson::Knobs, String> {
    let mut knobs = lesson.default_knobs();
    for s in sets {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| format!("--set takes KNOB=VALUE, not `{s}`"))?;
        knobs.set(&lesson.knobs, k.trim(), v)?;
    }
    Ok(knobs)
}

fn run(catalog: &Catalog, args: RunArgs, lang: Lang) -> Result<ExitCode, Usage> {
    let lesson = catalog.find(&args.lesson).map_err(Usage)?;
    let knobs = knobs_from(lesson, &args.set).map_err(Usage)?;
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err(Usage(format!(
            "--speed must be above 0, not {}",
            args.speed
        )));
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(Usage(format!(
            "--timeout must be above 0, not {}",
            args.timeout
        )));
    }
    let t0 = Instant::now();
    let (trace, replay, mode, finished) = if args.live {
        let program = crate::scenarios::build(lesson, &knobs).map_err(Usage)?;
        let (trace, finished) =
            crate::live::LiveRun::start(std::sync::Arc::new(program), knobs.engine(), args.speed)
                .wait(Duration::from_secs_f64(args.timeout));
        (trace, Replay::Live, Mode::Live, finished)
    } else {
        let origin = match (&args.schedule, args.seed) {
            (Some(s), _) => Origin::Schedule(Schedule::parse(s).map_err(|e| Usage(e.to_string()))?),
            (None, Some(seed)) => Origin::Seed(seed),
            (None, None) => Origin::Seed(fresh_seed()),
        };
        let mut run = Run::new(lesson, knobs.clone(), Start::Stepped(origin.clone()))
            .map_err(|e| Usage(e.to_string()))?;
        let out = run.command(crate::run::Command::RunToEnd);
        if let (crate::run::Outcome::Refused(why), Origin::Schedule(_)) = (out, &origin) {
            return Err(Usage(format!("the schedule cannot be followed: {why}")));
        }
        let schedule = run.schedule().unwrap_or_default();
        let trace = run.trace().clone();
        let replay = match origin {
            Origin::Seed(s) => Replay::Seed(s, schedule),
            Origin::Schedule(_) => Replay::Schedule(schedule),
        };
        (trace, replay, Mode::Stepped, true)
    };
    let wall_ms = t0.elapsed().as_secs_f64() * 1e3;
    let report = Report {
        lesson,
        knobs: &knobs,
        trace: &trace,
        mode,
        replay,
        wall_ms,
        lang,
        finished,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = match args.format {
        Format::Text => out.write_all(text_report(&report).as_bytes()),
        Format::Jsonl => write_jsonl(&report, &mut out),
        Format::Perfetto => serde_json::to_writer(&mut out, &perfetto_json(&trace))
            .map_err(std::io::Error::other)
            .and_then(|_| out.write_all(b"\n")),
    };
    match written {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A closed pipe (`| head`) is not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(Usage(format!("cannot write the report: {e}"))),
    }
}

/// A seed for a run that was not given one; it is printed with the report.
fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    (t ^ (std::process::id() as u64) << 32) % 1_000_000
}
