//! The default headless run next to CPython running the real program: the wall
//! and CPU time (user + system) of `interleave run balance-race --seed 7` (text
//! report) and of CPython 3.11 running the lesson's own Python code (2 threads ×
//! 100 000 iterations), side by side, with the ratios and each one's peak memory.
//! On a loaded machine the wall times are noisy; the CPU times less so.
//!
//! `cargo bench --bench cli_vs_cpython`. CPython comes from pyenv
//! (~/.pyenv/versions/3.11.*) or `INTERLEAVE_PYTHON`.

use interleave::catalog::Catalog;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 15;

/// One run of `cmd`, its output thrown away: its wall time, its CPU time
/// (user + system) and its peak RSS in kB.
struct Once {
    wall: Duration,
    cpu: Duration,
    peak_kb: i64,
}

// The child is reaped by `wait4`, which std's `Child` does not see.
#[allow(clippy::zombie_processes)]
fn once(cmd: &mut Command) -> Once {
    let t0 = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, which std has not reaped.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let wall = t0.elapsed();
    assert_eq!(pid, child.id() as i32, "waits for {cmd:?}");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed: {status}"
    );
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Once {
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        peak_kb: usage.ru_maxrss,
    }
}

/// Medians of wall and CPU time, and the largest peak RSS in MB.
fn medians(runs: Vec<Once>) -> (Duration, Duration, f64) {
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let peak = runs.iter().map(|r| r.peak_kb).max().unwrap_or(0);
    (
        median(runs.iter().map(|r| r.wall).collect()),
        median(runs.iter().map(|r| r.cpu).collect()),
        peak as f64 / 1024.0,
    )
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

    let Some(py) = python311() else {
        println!("CPython 3.11 not found (set INTERLEAVE_PYTHON): no ratio");
        return;
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    // Taken in turns, so that both see the same load.
    let (mut theirs, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        theirs.push(once(Command::new(&py).arg(&script)));
        ours.push(once(Command::new(bin).args([
            "run",
            "balance-race",
            "--seed",
            "7",
        ])));
    }
    let (their_wall, their_cpu, their_peak) = medians(theirs);
    let (our_wall, our_cpu, our_peak) = medians(ours);
    println!(
        "interleave run balance-race --seed 7 (text): median {:.1} ms wall, {:.1} ms CPU over {RUNS} runs, peak RSS {our_peak:.1} MB",
        ms(our_wall),
        ms(our_cpu),
    );
    println!(
        "{} {} (the lesson's program): median {:.1} ms wall, {:.1} ms CPU over {RUNS} runs, peak RSS {their_peak:.1} MB",
        py.display(),
        script
            .file_name()
            .map(|f| f.to_string_lossy())
            .unwrap_or_default(),
        ms(their_wall),
        ms(their_cpu),
    );
    println!(
        "ratio interleave / CPython 3.11: {:.2} wall, {:.2} CPU",
        our_wall.as_secs_f64() / their_wall.as_secs_f64(),
        our_cpu.as_secs_f64() / their_cpu.as_secs_f64().max(1e-9)
    );
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average while measured: {}",
        loadavg
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}
