//! The default headless run next to CPython running the real program: the wall
//! time of `interleave run balance-race --seed 7` (text report) and of CPython 3.11
//! running the lesson's own Python code (2 threads × 100 000 iterations), side by
//! side, with the ratio and the report's peak memory.
//!
//! `cargo bench --bench cli_vs_cpython`. CPython comes from pyenv
//! (~/.pyenv/versions/3.11.*) or `INTERLEAVE_PYTHON`.

use interleave::catalog::Catalog;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 15;

/// Wall time of one run of `cmd`, its output thrown away.
fn once(cmd: &mut Command) -> Duration {
    let t0 = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("starts");
    let wall = t0.elapsed();
    assert!(status.success(), "{cmd:?} failed: {status}");
    wall
}

/// The largest peak RSS (KB) of any child waited for so far.
fn children_peak_kb() -> i64 {
    // SAFETY: an all-zero rusage is a valid value for getrusage to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: fills `usage`.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn python311() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("INTERLEAVE_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let root = PathBuf::from(std::env::var_os("HOME")?).join(".pyenv/versions");
    let mut found: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("3.11."))
        .map(|e| e.path().join("bin/python"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop()
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that names another bench skips this one.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"cli_vs_cpython".contains(a.as_str()))
    {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_interleave");
    let cat = Catalog::embedded().expect("lessons load");
    let lesson = cat.find("balance-race").expect("balance-race exists");
    let code = lesson.code(&lesson.default_knobs());
    let dir = tempfile::tempdir().expect("a temp dir");
    let script = dir.path().join("balance.py");
    std::fs::write(&script, &code).expect("writes the program");

    // CPython first: the children's peak RSS is a running maximum.
    let Some(py) = python311() else {
        println!("CPython 3.11 not found (set INTERLEAVE_PYTHON): no ratio");
        return;
    };
    let theirs = median(
        (0..RUNS)
            .map(|_| once(Command::new(&py).arg(&script)))
            .collect(),
    );
    let py_peak = children_peak_kb();
    let ours = median(
        (0..RUNS)
            .map(|_| once(Command::new(bin).args(["run", "balance-race", "--seed", "7"])))
            .collect(),
    );
    let peak = children_peak_kb();
    println!(
        "interleave run balance-race --seed 7 (text): median {:.1} ms over {RUNS} runs, peak RSS {:.1} MB",
        ours.as_secs_f64() * 1e3,
        peak as f64 / 1024.0
    );
    println!(
        "{} {} (the lesson's program): median {:.1} ms over {RUNS} runs, peak RSS {:.1} MB",
        py.display(),
        script
            .file_name()
            .map(|f| f.to_string_lossy())
            .unwrap_or_default(),
        theirs.as_secs_f64() * 1e3,
        py_peak as f64 / 1024.0
    );
    println!(
        "ratio interleave / CPython 3.11: {:.2}",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
}
