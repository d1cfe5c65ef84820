//! The command line: (none) = playground, `list`, `run`, `check`, and the hidden `worker`.
//!
//! The contract (README, "The command line"): exit code 0 when the run finished,
//! 1 for an internal error, 2 for bad input, 3 when the run ended in a deadlock
//! (stepped or live), 4 when a live run was stopped at `--timeout`, 128 + N after
//! signal N (130 for SIGINT, 143 for SIGTERM). A closed pipe on stdout is not an
//! error. Every text that reaches the terminal is free of control characters.

mod explain;
mod new_lesson;
mod shell;
pub(crate) mod signals;
mod stream;

use crate::catalog::Catalog;
use crate::export::{Replay, Report, perfetto_json, text_report, write_jsonl};
use crate::lesson::{Lang, Lesson};
use crate::program::{ActorId, Program};
use crate::run::ScheduleError;
use crate::run::{Origin, Run, Start};
use crate::trace::{Mode, Trace};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::lesson::escape;
pub use explain::{explain_text, wrap_paragraphs};

/// Exit codes, as the README lists them.
pub mod exit {
    pub const FINISHED: u8 = 0;
    pub const INTERNAL: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const DEADLOCK: u8 = 3;
    pub const TIMEOUT: u8 = 4;
}

/// Longest schedule string, in steps (as `Schedule::parse` allows).
pub const MAX_SCHEDULE_STEPS: u64 = 100_000_000;
/// Longest `--timeout`: a week. Longer is a typo, and `Instant + 1e19 s` overflows.
pub const MAX_TIMEOUT_S: f64 = 7.0 * 24.0 * 3600.0;
/// `--speed` range: a sleep of the lessons' longest (60 s) stays between 60 ms and
/// 100 minutes.
pub const MIN_SPEED: f64 = 0.01;
pub const MAX_SPEED: f64 = 1000.0;

#[derive(Parser, Debug)]
#[command(
    name = "interleave",
    version,
    about = "Watch the classic Python concurrency lessons run for real",
    after_help = "Without a subcommand, opens the playground (LESSON opens that lesson directly, \
                  with --seed, --schedule, --set and --live as `run` takes them).\n\n\
                  Exit codes: 0 finished, 1 internal error, 2 bad input, 3 deadlock, \
                  4 live run stopped at --timeout, 130/143 after SIGINT/SIGTERM."
)]
pub struct Cli {
    /// Open this lesson directly.
    pub lesson: Option<String>,
    #[command(flatten)]
    pub start: StartArgs,
    /// Read lessons from this folder too (same id: it replaces the built-in one).
    #[arg(long, global = true, value_name = "DIR")]
    pub lessons: Option<PathBuf>,
    /// Language of lesson texts.
    #[arg(long, global = true, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
    /// Open the playground in presenter mode: code and interleaving large, for a
    /// projector (P switches it inside).
    #[arg(long)]
    pub present: bool,
    /// Record the playground session to FILE as asciicast v2 (what the screen
    /// showed, the keys pressed and the resizes), for `asciinema play FILE`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Which engine the playground opens LESSON on: ours, or a real CPython
    /// running the lesson's own code (E switches it inside).
    #[arg(long, value_enum, default_value_t = EngineArg::Builtin)]
    pub engine: EngineArg,
    /// The interpreter the cpython engine uses, in the playground too (default:
    /// the first python3 on PATH).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
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
    /// Print a completion script for a shell, e.g.
    /// `interleave completions bash > ~/.local/share/bash-completion/completions/interleave`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `interleave man | man -l -`.
    Man,
    /// Write a commented lesson file to start from: ID.toml in the current folder
    /// (`--output -` prints it instead). `interleave --lessons . check` accepts it.
    NewLesson(NewLessonArgs),
    /// Internal: a child process of a live process lesson.
    #[command(hide = true)]
    Worker,
}

/// How a run starts: knobs, and a seed, a schedule or live.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct StartArgs {
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
}

impl StartArgs {
    fn is_empty(&self) -> bool {
        self.set.is_empty() && self.seed.is_none() && self.schedule.is_none() && !self.live
    }
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    pub lesson: String,
    #[command(flatten)]
    pub start: StartArgs,
    /// Live: how much faster sleeps pass (2 = twice as fast), 0.01 to 1000.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Live: stop a run that has not ended after this many seconds (at most a week).
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print the lesson's explanation and notes (in --lang) instead of running it.
    #[arg(long)]
    pub explain: bool,
    /// Which engine runs the lesson: ours (stepped, or live with --live), or a real
    /// CPython running the lesson's own code (thread lessons), stepped by --seed or
    /// --schedule, or on its own with --live.
    #[arg(long, value_enum, default_value_t = EngineArg::Builtin)]
    pub engine: EngineArg,
    /// The interpreter for `--engine cpython` (default: the first python3 on PATH).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineArg {
    /// The simulator (stepped) and real threads and processes (live).
    Builtin,
    /// The lesson's own Python on a real CPython, under interleave's tracer.
    Cpython,
}

#[derive(clap::Args, Debug)]
pub struct NewLessonArgs {
    /// The lesson's id: lowercase letters, digits and dashes.
    pub id: String,
    /// Where to write it (default: ID.toml; `-` for stdout). An existing file is
    /// never overwritten.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Why a command did not do its work.
enum Fail {
    /// Bad input: a one-line message and exit code 2.
    Usage(String),
    /// Our fault or the machine's: a one-line message and exit code 1.
    Internal(String),
}

use Fail::Usage;

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::BAD_INPUT } else { 0 });
        }
    };
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(Fail::Usage(msg)) => {
            eprintln!("interleave: {}", escape(&msg));
            ExitCode::from(exit::BAD_INPUT)
        }
        Err(Fail::Internal(msg)) => {
            eprintln!("interleave: {}", escape(&msg));
            ExitCode::from(exit::INTERNAL)
        }
    }
}

fn dispatch(cli: Cli) -> Result<u8, Fail> {
    if let Some(Cmd::Worker) = cli.command {
        // A worker starts fast: it needs no lessons, only the job on its stdin.
        if std::io::stdin().is_terminal() {
            return Err(Usage("`worker` is started by the playground itself".into()));
        }
        let code = crate::live::worker::main();
        return Ok(code.clamp(0, 255) as u8);
    }
    if cli.command.is_some() && (cli.lesson.is_some() || !cli.start.is_empty()) {
        return Err(Usage(
            "a lesson and --set/--seed/--schedule/--live go after the subcommand, \
             e.g. `interleave run LESSON --seed 7`"
                .into(),
        ));
    }
    if cli.command.is_some() && cli.record.is_some() {
        return Err(Usage(
            "--record is for the playground: `interleave LESSON --record FILE.cast`".into(),
        ));
    }
    if let Some(Cmd::NewLesson(args)) = &cli.command {
        return new_lesson(args);
    }
    let catalog =
        Catalog::with_overrides(cli.lessons.as_deref()).map_err(|e| Usage(e.to_string()))?;
    let lang: Lang = cli.lang.into();
    match cli.command {
        None => playground(
            &catalog,
            cli.lesson.as_deref(),
            &cli.start,
            crate::ui::Look {
                lang,
                present: cli.present,
                python: cli.python.clone(),
            },
            cli.engine,
            cli.record.as_deref(),
        ),
        Some(Cmd::List) => print_out(&list(&catalog, lang)),
        Some(Cmd::Check) => {
            catalog
                .check_knob_ranges()
                .map_err(|e| Usage(e.to_string()))?;
            print_out(&format!(
                "{} lessons are well formed and build their programs at every knob's limits\n",
                catalog.lessons().len()
            ))
        }
        Some(Cmd::Run(args)) => run(&catalog, args, lang),
        Some(Cmd::Explore(args)) => crate::explore::cli::main(&catalog, args)
            .map(|_| exit::FINISHED)
            .map_err(Usage),
        Some(Cmd::Completions { shell }) => print_out_bytes(&shell::completions(&catalog, shell)),
        Some(Cmd::Man) => match shell::man(&catalog) {
            Ok(page) => print_out_bytes(&page),
            Err(e) => Err(Fail::Internal(format!("cannot write the man page: {e}"))),
        },
        Some(Cmd::Worker | Cmd::NewLesson(_)) => {
            Err(Fail::Internal("handled before the catalog is read".into()))
        }
    }
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
fn print_out(text: &str) -> Result<u8, Fail> {
    print_out_bytes(text.as_bytes())
}

fn print_out_bytes(bytes: &[u8]) -> Result<u8, Fail> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(exit::FINISHED),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(exit::FINISHED),
        Err(e) => Err(Fail::Internal(format!("cannot write to stdout: {e}"))),
    }
}

/// `new-lesson ID`: the skeleton to ID.toml (never over an existing file) or stdout.
fn new_lesson(args: &NewLessonArgs) -> Result<u8, Fail> {
    let text = new_lesson::skeleton(&args.id).map_err(Usage)?;
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.toml", args.id)));
    if path.as_os_str() == "-" {
        return print_out(&text);
    }
    let shown = escape(&path.display().to_string());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => Usage(format!(
                "{shown} exists already; a new lesson never overwrites a file"
            )),
            _ => Usage(format!("cannot create {shown}: {e}")),
        })?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| Fail::Internal(format!("cannot write {shown}: {e}")))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| ".".to_string(), |d| escape(&d.display().to_string()));
    print_out(&format!(
        "wrote {shown}; check it with `interleave --lessons {dir} check`, \
         open it with `interleave --lessons {dir} {}`\n",
        args.id
    ))
}

fn list(catalog: &Catalog, lang: Lang) -> String {
    let w = catalog
        .lessons()
        .iter()
        .map(|l| l.id.len())
        .max()
        .unwrap_or(0);
    let mut s = String::new();
    for l in catalog.lessons() {
        // Lesson texts are checked for control characters when they are loaded.
        s.push_str(&format!(
            "{:<w$}  {}  [{}]\n",
            l.id,
            l.title.get(lang),
            l.concepts.join(", ")
        ));
    }
    s
}

fn playground(
    catalog: &Catalog,
    lesson: Option<&str>,
    start: &StartArgs,
    look: crate::ui::Look,
    engine: EngineArg,
    record: Option<&std::path::Path>,
) -> Result<u8, Fail> {
    // `--engine cpython`: the interpreter is found before the screen opens.
    let cpython = match engine {
        EngineArg::Cpython => {
            Some(crate::cpython::find_python(look.python.as_deref()).map_err(Usage)?)
        }
        EngineArg::Builtin => None,
    };
    let prepared = match lesson {
        Some(id) if id.ends_with(".py") => {
            return Err(Usage(format!(
                "the playground opens lessons; a Python file runs headless for now: \
                 `interleave run {} --seed 1` steps it on a real CPython",
                crate::lesson::escape(id)
            )));
        }
        Some(id) => {
            let l = catalog.find(id).map_err(Usage)?;
            let knobs = knobs_from(l, &start.set).map_err(Usage)?;
            let program = Arc::new(crate::scenarios::build(l, &knobs).map_err(Usage)?);
            let how = match (&start.schedule, start.seed, start.live) {
                _ if cpython.is_some() => cpython_start(&program, start, cpython.clone())?,
                (_, _, true) => Start::Live { speed: 1.0 },
                (Some(s), _, _) => {
                    // Followed once here, so that a schedule that cannot be followed
                    // is refused before the screen opens.
                    let tokens = given_tokens(&program, s)?;
                    stream::check_given(&program, &knobs, &tokens)?;
                    // Kept as its runs: `0x99999999` costs one run, not 200 MB.
                    Start::Stepped(Origin::Schedule(crate::run::Runs::from_tokens(&tokens)))
                }
                (None, Some(seed), _) => Start::Stepped(Origin::Seed(seed)),
                (None, None, false) if start.set.is_empty() => {
                    return open_playground(catalog, Some((id, None)), look, record);
                }
                (None, None, false) => Start::Stepped(Origin::Seed(fresh_seed())),
            };
            Some((id, Some((knobs, how))))
        }
        None if !start.is_empty() => {
            return Err(Usage(
                "--set, --seed, --schedule and --live need a lesson: `interleave LESSON --seed 7`"
                    .into(),
            ));
        }
        None => None,
    };
    open_playground(catalog, prepared, look, record)
}

fn open_playground(
    catalog: &Catalog,
    open: Option<(&str, Option<crate::ui::Prepared>)>,
    look: crate::ui::Look,
    record: Option<&std::path::Path>,
) -> Result<u8, Fail> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(Usage(
            "the playground needs a terminal (stdin and stdout); to run a lesson without one, \
             use `interleave run LESSON` (see `interleave run --help`)"
                .into(),
        ));
    }
    let recorder = match record {
        Some(path) => {
            let (w, h) = crossterm::terminal::size()
                .map_err(|e| Fail::Internal(format!("cannot read the terminal's size: {e}")))?;
            let r = crate::record::Recorder::create(path, w, h).map_err(|e| {
                Usage(format!(
                    "cannot write the recording {}: {e}",
                    escape(&path.display().to_string())
                ))
            })?;
            Some(r)
        }
        None => None,
    };
    let code = crate::ui::run_playground(catalog, open, look, recorder.clone())
        .map_err(|e| Fail::Internal(format!("{e:#}")))?;
    if let Some(r) = recorder {
        // The session is over and the terminal given back: a recording that could
        // not be written completely says so.
        r.finish().map_err(|e| {
            Fail::Internal(format!(
                "the recording {} is incomplete: {e}",
                escape(&r.path().display().to_string())
            ))
        })?;
    }
    Ok(code)
}

/// The playground's start on a real CPython (`--engine cpython`): free with
/// `--live`, else controlled by the schedule, the seed or a fresh seed.
fn cpython_start(
    program: &Arc<crate::program::Program>,
    start: &StartArgs,
    python: Option<PathBuf>,
) -> Result<Start, Fail> {
    let python = python.ok_or_else(|| Fail::Internal("no interpreter".into()))?;
    let origin = match (&start.schedule, start.seed) {
        (Some(s), _) => Origin::Schedule(crate::run::Runs::from_tokens(&given_tokens(program, s)?)),
        (None, Some(seed)) => Origin::Seed(seed),
        (None, None) => Origin::Seed(fresh_seed()),
    };
    Ok(Start::Cpython {
        python,
        free: start.live,
        origin,
    })
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

/// `--speed` and `--timeout`, checked before anything starts.
fn check_live_flags(args: &RunArgs) -> Result<(), Fail> {
    if !(args.speed.is_finite() && (MIN_SPEED..=MAX_SPEED).contains(&args.speed)) {
        return Err(Usage(format!(
            "--speed must be from {MIN_SPEED} to {MAX_SPEED}, not {}",
            args.speed
        )));
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= MAX_TIMEOUT_S) {
        return Err(Usage(format!(
            "--timeout must be above 0 and at most {MAX_TIMEOUT_S} seconds (a week), not {}",
            args.timeout
        )));
    }
    Ok(())
}

fn cpython_fail(e: crate::cpython::SessionError) -> Fail {
    match e {
        crate::cpython::SessionError::Usage(m) => Usage(m),
        crate::cpython::SessionError::Internal(m) => Fail::Internal(m),
    }
}

/// What a finished run gives the report.
struct Done {
    trace: Trace,
    replay: Replay,
    mode: Mode,
    /// False when a live run was stopped at the timeout.
    finished: bool,
    deadlock: bool,
}

fn run(catalog: &Catalog, args: RunArgs, lang: Lang) -> Result<u8, Fail> {
    if args.lesson.ends_with(".py") {
        // A student's own program: only a real interpreter can run it.
        if args.explain {
            return Err(Usage(
                "--explain prints a lesson's text; a Python file has none".into(),
            ));
        }
        let path = std::path::Path::new(&args.lesson);
        return crate::cpython::cli::run_file(path, &args, lang).map_err(cpython_fail);
    }
    let lesson = catalog.find(&args.lesson).map_err(Usage)?;
    if args.explain {
        if !args.start.is_empty() {
            return Err(Usage(
                "--explain prints the lesson's text and runs nothing".into(),
            ));
        }
        return print_out(&explain_text(lesson, lang, explain::width()));
    }
    let knobs = knobs_from(lesson, &args.start.set).map_err(Usage)?;
    if args.engine == EngineArg::Cpython {
        return crate::cpython::cli::run(lesson, &knobs, &args, lang).map_err(cpython_fail);
    }
    check_live_flags(&args)?;
    signals::exit_codes().map_err(|e| Fail::Internal(format!("signals: {e}")))?;
    let program = Arc::new(crate::scenarios::build(lesson, &knobs).map_err(Usage)?);
    if !args.start.live {
        let picks = match &args.start.schedule {
            Some(s) => {
                let tokens = given_tokens(&program, s)?;
                stream::check_given(&program, &knobs, &tokens)?;
                stream::Picks::Given(tokens)
            }
            None => stream::Picks::Seed(args.start.seed.unwrap_or_else(fresh_seed)),
        };
        return stream::run(lesson, &knobs, program, picks, args.format, lang);
    }
    let t0 = Instant::now();
    let done = live(lesson, &knobs, &args)?;
    let wall_ms = t0.elapsed().as_secs_f64() * 1e3;
    let report = Report {
        lesson,
        knobs: &knobs,
        trace: &done.trace,
        mode: done.mode,
        replay: done.replay.clone(),
        wall_ms,
        lang,
        finished: done.finished,
    };
    write_report(&report, args.format)?;
    Ok(if done.deadlock {
        exit::DEADLOCK
    } else if !done.finished {
        exit::TIMEOUT
    } else {
        exit::FINISHED
    })
}

fn write_report(report: &Report, format: Format) -> Result<(), Fail> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = match format {
        Format::Text => out.write_all(text_report(report).as_bytes()),
        Format::Jsonl => write_jsonl(report, &mut out),
        Format::Perfetto => serde_json::to_writer(&mut out, &perfetto_json(report))
            .map_err(|e| match e.io_error_kind() {
                // The pipe error inside serde's error keeps its kind.
                Some(kind) => io::Error::new(kind, e),
                None => io::Error::other(e),
            })
            .and_then(|_| out.write_all(b"\n")),
    };
    match written.and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not an error of ours.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Fail::Internal(format!("cannot write the report: {e}"))),
    }
}

/// A live run, stopped at the timeout or by a signal. After SIGINT or SIGTERM,
/// every worker is killed and reaped and the run's temporary folder removed before
/// the process exits with 128 + the signal.
fn live(lesson: &Lesson, knobs: &crate::lesson::Knobs, args: &RunArgs) -> Result<Done, Fail> {
    let signals = signals::catch().map_err(|e| Fail::Internal(format!("signals: {e}")))?;
    let start = Start::Live { speed: args.speed };
    let mut run = Run::new(lesson, knobs.clone(), start).map_err(|e| Usage(e.0))?;
    let deadline = Instant::now() + Duration::from_secs_f64(args.timeout);
    let mut caught = None;
    while let Some(rx) = run.live_receiver().cloned() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let mut sel = crossbeam::channel::Select::new();
        let from_run = sel.recv(&rx);
        sel.recv(&signals);
        match sel.ready_timeout(left) {
            Ok(i) if i == from_run => {
                if !run.poll() && rx.is_empty() {
                    // Ready with nothing to read: the run's channel closed.
                    break;
                }
            }
            Ok(_) => {
                caught = signals.try_recv().ok();
                if caught.is_some() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    // Stopping removes the run's temporary folder (shared memory, ticket.json).
    run.stop();
    if let Some(sig) = caught {
        eprintln!("interleave: stopped by signal {sig}; every worker was reaped");
        signals::exit_after(sig);
    }
    signals::immediate();
    let finished = run.finished();
    let replay = run.live_replay().map_or(Replay::Live, Replay::Recorded);
    let trace = run.into_trace();
    let deadlock = !trace.deadlock().is_empty();
    Ok(Done {
        trace,
        replay,
        mode: Mode::Live,
        finished,
        deadlock,
    })
}

/// A schedule string's tokens, `(actor, count)`, read without expanding them, so
/// that `0x99999999` costs nothing until it is followed.
pub fn schedule_tokens(s: &str) -> Result<Vec<(ActorId, u64)>, ScheduleError> {
    let mut out = Vec::new();
    let mut total: u64 = 0;
    for (i, tok) in s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .enumerate()
    {
        let err = |reason| ScheduleError {
            token: i + 1,
            text: escape(tok),
            reason,
        };
        let (actor, count) = tok.split_once('x').unwrap_or((tok, "1"));
        let actor: ActorId = actor
            .parse()
            .map_err(|_| err("the actor is not a number"))?;
        let count: u64 = count
            .parse()
            .map_err(|_| err("the count is not a number"))?;
        if count == 0 {
            return Err(err("a count must be at least 1"));
        }
        total = total.saturating_add(count);
        if total > MAX_SCHEDULE_STEPS {
            return Err(err("the schedule is longer than 100 million steps"));
        }
        out.push((actor, count));
    }
    if out.is_empty() {
        return Err(ScheduleError {
            token: 0,
            text: String::new(),
            reason: "the schedule is empty",
        });
    }
    Ok(out)
}

/// A schedule string's tokens, refused when it is empty or names an actor the
/// run does not have. The string is never expanded; `stream::check_given`
/// follows it (as `Run` does with `Origin::Schedule`: past its end the scheduler
/// of seed 0 goes on) with a bounded window of events.
fn given_tokens(program: &Arc<Program>, s: &str) -> Result<Vec<(ActorId, u64)>, Fail> {
    if s.split(|c: char| c.is_whitespace() || c == ',')
        .all(str::is_empty)
    {
        return Err(Usage(
            "the schedule is empty: give ACTOR or ACTORxCOUNT tokens, e.g. `1x4 2 1x2`".into(),
        ));
    }
    let tokens = schedule_tokens(s).map_err(|e| Usage(e.to_string()))?;
    let actors = program.actors.len();
    for (i, &(a, _)) in tokens.iter().enumerate() {
        if a as usize >= actors {
            let names: Vec<String> = program
                .actors
                .iter()
                .enumerate()
                .map(|(k, x)| format!("{k} = {}", x.name))
                .collect();
            return Err(Usage(format!(
                "the schedule cannot be followed: there is no actor {a} (token {}); \
                 this run has {}",
                i + 1,
                names.join(", ")
            )));
        }
    }
    Ok(tokens)
}

/// A seed for a run that was not given one; it is printed with the report.
fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    (t ^ (std::process::id() as u64) << 32) % 1_000_000
}
