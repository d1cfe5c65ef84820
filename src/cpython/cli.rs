//! `interleave run LESSON --engine cpython`: the lesson's own code on a real CPython,
//! printed as a text report or as JSON lines.

use super::{Drive, Ending, Granularity, Outcome, Session, SessionError, find_python};
use crate::cli::{Format, RunArgs};
use crate::i18n::Msg;
use crate::lesson::{Knobs, Lang, Lesson};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest interleaving the text report prints in full; longer ones keep both ends.
const SHOWN_STEPS: usize = 200;

pub fn run(lesson: &Lesson, knobs: &Knobs, args: &RunArgs, lang: Lang) -> Result<u8, SessionError> {
    let usage = |m: String| SessionError::Usage(m);
    crate::scenarios::build(lesson, knobs).map_err(usage)?;
    let granularity = match knobs.engine().granularity {
        crate::program::Granularity::Bytecode => Granularity::Bytecode,
        crate::program::Granularity::Line => Granularity::Line,
    };
    let (python, drive) = prepare(args)?;
    let source = lesson.code(knobs);
    let session = Session::start(&python, &source, &drive, granularity)?;
    let outcome = run_cleaning_up(session, &drive, args.timeout)?;
    let named = Named {
        title: lesson.title.get(lang),
        replay_id: &lesson.id,
        lang,
    };
    finish(args, &outcome, &drive, || {
        report(&named, &python, &outcome, &drive)
    })
}

/// Largest Python file `interleave run FILE.py` reads: a teaching program is small.
const MAX_FILE: u64 = 1 << 20;

/// `interleave run FILE.py`: any small Python program of the student's, on a real
/// CPython, with its threads stepped as a lesson's are.
pub fn run_file(path: &Path, args: &RunArgs, lang: Lang) -> Result<u8, SessionError> {
    let usage = |m: String| SessionError::Usage(m);
    let shown = crate::lesson::escape(&path.display().to_string());
    let meta = std::fs::metadata(path).map_err(|e| usage(format!("{shown}: {e}")))?;
    if !meta.is_file() {
        return Err(usage(format!("{shown} is not a regular file")));
    }
    if meta.len() > MAX_FILE {
        return Err(usage(format!(
            "{shown} is {} bytes; a program to step is at most {MAX_FILE}",
            meta.len()
        )));
    }
    let mut granularity = Granularity::Bytecode;
    for set in &args.start.set {
        granularity = match set.replace(' ', "").as_str() {
            "granularity=bytecode" => Granularity::Bytecode,
            "granularity=line" => Granularity::Line,
            _ => {
                return Err(usage(format!(
                    "a Python file takes one knob, granularity=bytecode|line, not `{}`",
                    crate::lesson::escape(set)
                )));
            }
        };
    }
    let (python, drive) = prepare(args)?;
    let session = Session::start_file(&python, path, &drive, granularity)?;
    let outcome = run_cleaning_up(session, &drive, args.timeout)?;
    let title = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| shown.clone());
    let named = Named {
        title: &title,
        replay_id: &shown,
        lang,
    };
    finish(args, &outcome, &drive, || {
        report(&named, &python, &outcome, &drive)
    })
}

/// Runs the session to its end. A signal meanwhile (SIGINT, SIGTERM, SIGHUP)
/// removes the run's temporary folder before the documented exit code, 128 + the
/// signal (without this the folder stayed behind in /tmp); the interpreter, and
/// the multiprocessing children it started, die with this process
/// (PR_SET_PDEATHSIG).
fn run_cleaning_up(session: Session, drive: &Drive, timeout: f64) -> Result<Outcome, SessionError> {
    let signals = crate::cli::signals::catch()
        .map_err(|e| SessionError::Internal(format!("signals: {e}")))?;
    let folder = session.folder();
    std::thread::Builder::new()
        .name("cleanup on a signal".into())
        .spawn(move || {
            let Ok(sig) = signals.recv() else { return };
            let _ = std::fs::remove_dir_all(&folder);
            crate::cli::signals::exit_after(sig);
        })
        .map_err(|e| SessionError::Internal(format!("a thread: {e}")))?;
    let outcome = session.run(drive.clone(), Duration::from_secs_f64(timeout));
    crate::cli::signals::immediate();
    outcome
}

/// The interpreter and the drive the flags ask for, checked.
fn prepare(args: &RunArgs) -> Result<(PathBuf, Drive), SessionError> {
    let usage = |m: String| SessionError::Usage(m);
    if matches!(args.format, Format::Perfetto) {
        return Err(usage("`--engine cpython` prints text or jsonl".into()));
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 604_800.0) {
        return Err(usage(
            "--timeout must be between 0 and 604800 seconds".into(),
        ));
    }
    let python = find_python(args.python.as_deref()).map_err(usage)?;
    let drive = match (&args.start.schedule, args.start.seed, args.start.live) {
        (_, _, true) => Drive::Free,
        (Some(s), _, _) => Drive::Schedule(
            crate::sim::Schedule::parse(s)
                .map_err(|e| usage(e.to_string()))?
                .0,
        ),
        (None, Some(seed), _) => Drive::Seed(seed),
        (None, None, false) => Drive::Seed(rand::random()),
    };
    Ok((python, drive))
}

/// Prints the report in the chosen format; the exit code says how the run ended.
fn finish(
    args: &RunArgs,
    o: &Outcome,
    drive: &Drive,
    text: impl FnOnce() -> String,
) -> Result<u8, SessionError> {
    let text = match args.format {
        Format::Jsonl => jsonl(o, drive),
        _ => text(),
    };
    let mut out = std::io::stdout().lock();
    use std::io::Write as _;
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(SessionError::Internal(format!("writing the report: {e}")));
    }
    Ok(match o.ending {
        Ending::Finished { .. } => 0,
        Ending::Deadlock => 3,
        Ending::TimedOut => 4,
    })
}

fn how(drive: &Drive, lang: Lang) -> String {
    match drive {
        Drive::Free => Msg::CpyFree.get(lang).to_string(),
        Drive::Seed(s) => Msg::CpySeed.fill(lang, &[s]),
        Drive::Schedule(_) => Msg::CpySchedule.get(lang).to_string(),
    }
}

/// What the report names: the run's title, and what `interleave run` takes to replay it.
struct Named<'a> {
    title: &'a str,
    replay_id: &'a str,
    lang: Lang,
}

fn report(n: &Named, python: &std::path::Path, o: &Outcome, drive: &Drive) -> String {
    let lang = n.lang;
    let mut s = String::new();
    let name = |t: u16| {
        o.threads
            .get(t as usize)
            .cloned()
            .unwrap_or_else(|| format!("thread {t}"))
    };
    let header = Msg::CpyHeader.fill(
        lang,
        &[
            &n.title,
            &o.version,
            &python.display(),
            &o.pid,
            &how(drive, lang),
        ],
    );
    let waits = if matches!(drive, Drive::Free) {
        ""
    } else {
        Msg::CpyWaits.get(lang)
    };
    let _ = writeln!(s, "{header}\n{}", Msg::CpyTraced.fill(lang, &[&waits]));
    let _ = writeln!(
        s,
        "\n{}",
        Msg::CpyInterleaving.fill(lang, &[&o.steps.len()])
    );
    let width = o
        .threads
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(4);
    let shown = |i: usize| {
        o.steps.len() <= SHOWN_STEPS || i < SHOWN_STEPS / 2 || i >= o.steps.len() - SHOWN_STEPS / 2
    };
    let line_word = Msg::CpyLine.get(lang);
    for (i, st) in o.steps.iter().enumerate() {
        if !shown(i) {
            if i == SHOWN_STEPS / 2 {
                let hidden = o.steps.len() - SHOWN_STEPS;
                let _ = writeln!(s, "{}", Msg::CpyNotShown.fill(lang, &[&hidden]));
            }
            continue;
        }
        let what = if st.op.is_empty() {
            String::new()
        } else {
            format!("{} {}", st.op, st.arg)
        };
        let note = if st.note.is_empty() {
            String::new()
        } else {
            format!("  # {}", st.note)
        };
        let _ = writeln!(
            s,
            "{:>6}  {:<width$}  {line_word} {:>3}  {}{}",
            i + 1,
            name(st.thread),
            st.line,
            what.trim_end(),
            note
        );
    }
    let _ = writeln!(s, "\n{}", Msg::CpyOutput.get(lang));
    for (t, line) in &o.output {
        let _ = writeln!(s, "  {:<width$}  {line}", name(*t));
    }
    if !o.stderr.is_empty() {
        let _ = writeln!(s, "\nstderr:");
        for line in o.stderr.lines() {
            let _ = writeln!(s, "  {line}");
        }
    }
    if !o.finals.is_empty() {
        let finals: Vec<String> = o.finals.iter().map(|(n, v)| format!("{n} = {v}")).collect();
        let _ = writeln!(s, "\n{}", Msg::CpyGlobals.fill(lang, &[&finals.join(", ")]));
    }
    let ending = match o.ending {
        Ending::Finished { exit } => Msg::CpyFinished.fill(lang, &[&exit]),
        Ending::Deadlock => Msg::CpyDeadlock.get(lang).to_string(),
        Ending::TimedOut => Msg::CpyTimedOut.get(lang).to_string(),
    };
    let _ = writeln!(s, "\n{}", Msg::CpyEnding.fill(lang, &[&ending]));
    if !matches!(drive, Drive::Free) {
        let sched = super::schedule_string(&o.schedule);
        let replay = format!(
            "interleave run {} --engine cpython --python {} --schedule '{sched}'",
            n.replay_id,
            python.display(),
        );
        let _ = writeln!(s, "{}", Msg::CpySchedLine.fill(lang, &[&sched]));
        let _ = writeln!(s, "{}", Msg::CpyReplay.fill(lang, &[&replay]));
    }
    s
}

fn jsonl(o: &Outcome, drive: &Drive) -> String {
    use serde_json::json;
    let mut s = String::new();
    for st in &o.steps {
        let _ = writeln!(
            s,
            "{}",
            json!({"kind": "step", "thread": st.thread, "line": st.line, "op": st.op, "arg": st.arg, "note": st.note})
        );
    }
    for (t, line) in &o.output {
        let _ = writeln!(
            s,
            "{}",
            json!({"kind": "output", "thread": t, "text": line})
        );
    }
    let ending = match o.ending {
        Ending::Finished { .. } => "finished",
        Ending::Deadlock => "deadlock",
        Ending::TimedOut => "timeout",
    };
    let finals: serde_json::Map<String, serde_json::Value> = o
        .finals
        .iter()
        .map(|(n, v)| (n.clone(), json!(v)))
        .collect();
    let _ = writeln!(
        s,
        "{}",
        json!({
            "kind": "summary", "engine": "cpython", "version": o.version, "pid": o.pid,
            "threads": o.threads, "steps": o.steps.len(), "ending": ending,
            "final": finals, "stderr": o.stderr,
            "schedule": (!matches!(drive, Drive::Free)).then(|| super::schedule_string(&o.schedule)),
        })
    );
    s
}
