//! The Python package: `pip wheel .` builds the wheel through pyproject.toml
//! (maturin, `bindings = "bin"`), a fresh venv installs it, and the installed
//! `interleave` lists the lessons and runs a live process lesson whose worker
//! processes are the installed binary itself.
//!
//! maturin comes from PyPI into a venv under target/ (once). Without it (no
//! network, no python3 venv) the test fails when CI is set and says why; on a
//! developer's machine it says so and passes, as `cargo test` needs no network.
//!
//! The wheel is built with the `wheel-test` profile (no optimisation, no debug
//! info) into target/wheel-test/: a wheel's binary leaves the dev-dependencies
//! out, so cargo's feature resolution differs from `cargo test`'s and the
//! dependencies are compiled again anyway; the cheapest profile keeps that short
//! and keeps target/debug/interleave as the other tests built it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The longest any one step may take (the build is the long one).
const STEP_LIMIT: Duration = Duration::from_secs(20 * 60);

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Runs `cmd` to its end, killing it at `limit`.
fn run(cmd: &mut Command, limit: Duration) -> Output {
    let shown = format!("{cmd:?}");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = tx.send(());
        out
    });
    if rx.recv_timeout(limit).is_err() {
        // SAFETY: signals the child we started, which has not been reaped.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        let _ = waiter.join();
        panic!("{shown} took longer than {limit:?} and was killed");
    }
    waiter
        .join()
        .expect("the waiter thread")
        .unwrap_or_else(|e| panic!("{shown}: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The build backend pyproject.toml asks for, e.g. `maturin>=1.7,<2`.
fn maturin_requirement(root: &Path) -> String {
    let py = std::fs::read_to_string(root.join("pyproject.toml")).expect("pyproject.toml");
    let doc: toml::Table = toml::from_str(&py).expect("pyproject.toml is TOML");
    assert_eq!(
        doc["build-system"]["build-backend"].as_str(),
        Some("maturin")
    );
    assert_eq!(doc["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
    doc["build-system"]["requires"]
        .as_array()
        .and_then(|r| r.iter().find_map(|x| x.as_str()))
        .filter(|r| r.starts_with("maturin"))
        .expect("maturin in build-system.requires")
        .to_string()
}

/// A venv with maturin, made once; None (with the reason) when it cannot be had.
fn tools(root: &Path, work: &Path) -> Result<PathBuf, String> {
    let venv = work.join("tools");
    let maturin = venv.join("bin/maturin");
    if maturin.exists() {
        return Ok(venv);
    }
    let o = run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        Duration::from_secs(120),
    );
    if !o.status.success() {
        return Err(format!("python3 -m venv failed:\n{}", text(&o)));
    }
    let o = run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--disable-pip-version-check", "--timeout", "60"])
            .arg(maturin_requirement(root)),
        Duration::from_secs(600),
    );
    if !o.status.success() || !maturin.exists() {
        let _ = std::fs::remove_dir_all(&venv);
        return Err(format!(
            "maturin could not be installed from PyPI:\n{}",
            text(&o)
        ));
    }
    Ok(venv)
}

/// Every process below `pid`, by /proc's parent links.
fn descendants(pid: u32) -> Vec<u32> {
    let parent_of = |p: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
        // `pid (comm) state ppid …`; comm may hold spaces, so read after the `)`.
        let rest = &stat[stat.rfind(')')? + 2..];
        rest.split(' ').nth(1)?.parse().ok()
    };
    let all: Vec<u32> = std::fs::read_dir("/proc")
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let mut out = vec![pid];
    let mut grew = true;
    while grew {
        grew = false;
        for &p in &all {
            if !out.contains(&p) && parent_of(p).is_some_and(|pp| out.contains(&pp)) {
                out.push(p);
                grew = true;
            }
        }
    }
    out.remove(0);
    out
}

#[test]
fn the_wheel_installs_a_working_interleave_into_a_fresh_venv() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pkg-wheel");
    std::fs::create_dir_all(&work).expect("a work folder");
    let tools = match tools(root, &work) {
        Ok(t) => t,
        Err(why) if in_ci() => panic!("the wheel test needs maturin from PyPI: {why}"),
        Err(why) => {
            eprintln!("SKIPPED (not in CI): the wheel test needs maturin from PyPI: {why}");
            return;
        }
    };

    // `pip wheel .` is what `pip install .` and `pipx install .` do first.
    let wheels = work.join("wheels");
    let _ = std::fs::remove_dir_all(&wheels);
    let path = format!(
        "{}:{}",
        tools.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let started = Instant::now();
    let o = run(
        Command::new(tools.join("bin/pip"))
            .args([
                "wheel",
                "--disable-pip-version-check",
                "--no-deps",
                "--no-build-isolation",
                "-w",
            ])
            .arg(&wheels)
            .arg(root)
            .env("PATH", path)
            .env("MATURIN_PEP517_ARGS", "--profile wheel-test"),
        STEP_LIMIT,
    );
    assert!(o.status.success(), "pip wheel .:\n{}", text(&o));
    eprintln!("the wheel was built in {:.0?}", started.elapsed());
    let wheel = std::fs::read_dir(&wheels)
        .expect("the wheels folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .expect("a .whl file");
    let name = wheel.file_name().and_then(|n| n.to_str()).unwrap_or("");
    assert!(
        name.starts_with(&format!("interleave-{}-", env!("CARGO_PKG_VERSION"))),
        "{name}"
    );

    // A fresh venv, the wheel and nothing else (no index: nothing is fetched).
    let venv = work.join("venv");
    let _ = std::fs::remove_dir_all(&venv);
    let o = run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "python3 -m venv:\n{}", text(&o));
    let o = run(
        Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--disable-pip-version-check",
                "--no-index",
                "--no-deps",
            ])
            .arg(&wheel),
        Duration::from_secs(300),
    );
    assert!(o.status.success(), "pip install the wheel:\n{}", text(&o));
    let exe = venv.join("bin/interleave");
    assert!(exe.is_file(), "pip put no interleave in {}", venv.display());

    // The lessons are in the binary: the list does not need the checkout.
    let elsewhere = tempfile::tempdir().expect("a temp dir");
    let o = run(
        Command::new(&exe)
            .arg("list")
            .current_dir(elsewhere.path())
            .env_remove("INTERLEAVE_WORKER_EXE"),
        Duration::from_secs(60),
    );
    assert!(o.status.success(), "interleave list:\n{}", text(&o));
    let list = String::from_utf8_lossy(&o.stdout);
    for id in ["fork", "process", "balance-race", "gil"] {
        assert!(list.contains(id), "no {id} in:\n{list}");
    }

    // A live process lesson: its workers are the installed binary, started as
    // `interleave worker` (the parent sleeps a second with its daemon child up).
    let child = Command::new(&exe)
        .args([
            "run",
            "process",
            "--live",
            "--set",
            "daemon=on",
            "--timeout",
            "120",
        ])
        .current_dir(elsewhere.path())
        .env_remove("INTERLEAVE_WORKER_EXE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the installed interleave starts");
    let pid = child.id();
    let installed = std::fs::canonicalize(&exe).expect("the installed binary");
    let mut seen = Vec::new();
    let watch_until = Instant::now() + Duration::from_secs(60);
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = tx.send(());
        out
    });
    while rx.try_recv().is_err() && Instant::now() < watch_until {
        for p in descendants(pid) {
            if let Ok(e) = std::fs::read_link(format!("/proc/{p}/exe"))
                && !seen.contains(&e)
            {
                seen.push(e);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let o = waiter.join().expect("waiter").expect("the run ends");
    assert!(
        o.status.success(),
        "interleave run process --live:\n{}",
        text(&o)
    );
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(report.contains("live"), "{report}");
    assert!(
        !seen.is_empty(),
        "no worker process was seen while the live lesson ran:\n{report}"
    );
    for e in &seen {
        assert_eq!(e, &installed, "a worker ran {}", e.display());
    }
}
