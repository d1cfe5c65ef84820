//! Processes on the cpython engine (issue 17, item 4): `os.fork` and multiprocessing
//! children connect to the controller, each thread of each process is an actor with
//! its real PID, controlled stepping works across processes, and nothing is left
//! behind when a run ends early. Every CPython 3.8+ under pyenv (CI has them).

#[path = "common/fidelity.rs"]
mod fidelity;

use interleave::catalog::Catalog;
use interleave::run::{Command as RunCommand, Origin, Outcome, Run, Start};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_interleave");

/// The pyenv interpreters the engine supports (3.8+), oldest first.
fn pythons() -> Vec<(String, PathBuf)> {
    fidelity::pythons()
        .into_iter()
        .map(|(v, _, p)| (v, p))
        .collect()
}

struct Ran {
    code: i32,
    /// The jsonl report: steps, output lines, the summary last.
    lines: Vec<Value>,
    err: String,
}

impl Ran {
    fn summary(&self) -> &Value {
        self.lines.last().expect("a summary line")
    }

    fn labels(&self) -> Vec<String> {
        self.summary()["threads"]
            .as_array()
            .expect("threads")
            .iter()
            .map(|t| t.as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Each printed line with the label of the actor that printed it.
    fn output(&self) -> Vec<(String, String)> {
        let labels = self.labels();
        self.lines
            .iter()
            .filter(|l| l["kind"] == "output")
            .map(|l| {
                let a = l["thread"].as_u64().unwrap_or(0) as usize;
                (
                    labels.get(a).cloned().unwrap_or_default(),
                    l["text"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The steps as (actor, line, op), which do not change with PIDs.
    fn steps(&self) -> Vec<(u64, u64, String)> {
        self.lines
            .iter()
            .filter(|l| l["kind"] == "step")
            .map(|l| {
                (
                    l["thread"].as_u64().unwrap_or(0),
                    l["line"].as_u64().unwrap_or(0),
                    l["op"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

fn cpython(what: &str, python: &Path, extra: &[&str]) -> Ran {
    let timeout = if extra.contains(&"--timeout") {
        &[][..]
    } else {
        &["--timeout", "60"][..]
    };
    let o = Command::new(BIN)
        .args(["run", what, "--engine", "cpython", "--python"])
        .arg(python)
        .args(["--format", "jsonl"])
        .args(timeout)
        .args(extra)
        .output()
        .expect("the binary runs");
    let out = String::from_utf8_lossy(&o.stdout);
    Ran {
        code: o.status.code().unwrap_or(-1),
        lines: out
            .lines()
            .map(|l| serde_json::from_str(l).expect("a json line"))
            .collect(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The PID in a label `MainThread (pid 123)`.
fn pid_of(label: &str) -> Option<u32> {
    label
        .rsplit_once("(pid ")?
        .1
        .strip_suffix(')')?
        .parse()
        .ok()
}

/// Whether a process with this PID still exists (a zombie counts: nobody reaped it).
fn exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits (a give-up bound for a loaded machine) until none of `pids` exists.
fn all_gone(pids: &[u32]) -> bool {
    let until = Instant::now() + Duration::from_secs(20);
    while pids.iter().any(|&p| exists(p)) {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn the_fork_lesson_shows_two_processes_with_their_real_pids() {
    for (v, py) in pythons() {
        let r = cpython("fork", &py, &["--seed", "1"]);
        assert_eq!(r.code, 0, "{v}: {}", r.err);
        let labels = r.labels();
        assert_eq!(labels.len(), 2, "{v}: {labels:?}");
        let parent = pid_of(&labels[0]).expect("the parent's PID");
        let child = pid_of(&labels[1]).expect("the child's PID");
        assert_ne!(parent, child, "{v}");
        assert_eq!(r.summary()["pid"].as_u64(), Some(parent as u64), "{v}");
        // The lesson's output, each line from the process it names.
        let mut out = r.output();
        out.sort();
        let mut want = vec![
            (labels[0].clone(), format!("Process ({parent}) start...")),
            (
                labels[0].clone(),
                format!("I ({parent}) just created a child process ({child})."),
            ),
            (
                labels[1].clone(),
                format!("I am child process ({child}) and my parent is {parent}."),
            ),
        ];
        want.sort();
        assert_eq!(out, want, "{v}");
        // Both processes stepped their own lines of the program.
        let steps = r.steps();
        assert!(steps.iter().any(|s| s.0 == 0) && steps.iter().any(|s| s.0 == 1));
    }
}

#[test]
fn a_process_lesson_stepped_is_the_same_run_for_the_same_seed_and_its_schedule() {
    for (v, py) in pythons() {
        // (Not the queue and pool lessons as they are: their processes sleep, and a
        // sleep ends by itself, when it ends; the queue without sleeps is below.)
        let dir = tempfile::tempdir().expect("temp dir");
        let queue = dir.path().join("queue.py");
        std::fs::write(&queue, QUEUE).expect("write the program");
        let queue = queue.to_string_lossy().to_string();
        for lesson in ["process", "pipe", queue.as_str()] {
            let a = cpython(lesson, &py, &["--seed", "4"]);
            assert_eq!(a.code, 0, "{v} {lesson}: {}", a.err);
            let b = cpython(lesson, &py, &["--seed", "4"]);
            assert_eq!(a.steps(), b.steps(), "{v} {lesson}: same seed, same steps");
            let strip = |r: &Ran| -> Vec<String> {
                r.output()
                    .iter()
                    .map(|(who, text)| {
                        let who = who.split(" (pid").next().unwrap_or_default();
                        let text: String = text
                            .chars()
                            .map(|c| if c.is_ascii_digit() { '#' } else { c })
                            .collect();
                        format!("{who}: {text}")
                    })
                    .collect()
            };
            assert_eq!(strip(&a), strip(&b), "{v} {lesson}");
            let schedule = a.summary()["schedule"].as_str().expect("a schedule");
            let c = cpython(lesson, &py, &["--schedule", schedule]);
            assert_eq!(c.code, 0, "{v} {lesson}: {}", c.err);
            assert_eq!(
                a.steps(),
                c.steps(),
                "{v} {lesson}: the schedule replays it"
            );
            assert_eq!(strip(&a), strip(&c), "{v} {lesson}");
            // Distinct real PIDs; a child's actor is named as multiprocessing
            // names it.
            let labels = a.labels();
            let mut pids: Vec<u32> = labels.iter().filter_map(|l| pid_of(l)).collect();
            pids.dedup();
            assert_eq!(pids.len(), labels.len(), "{v} {lesson}: {labels:?}");
            assert!(labels[1].starts_with("Process-1 (pid "), "{labels:?}");
        }
        // The queue's items arrive in order, each got after it was put.
        let r = cpython(&queue, &py, &["--seed", "6"]);
        let out: Vec<String> = r.output().into_iter().map(|(_, t)| t).collect();
        for x in ["A", "B", "C"] {
            let put = out
                .iter()
                .position(|l| *l == format!("Put {x} to queue..."));
            let got = out
                .iter()
                .position(|l| *l == format!("Get {x} from queue."));
            assert!(put.is_some() && put < got, "{v}: {out:?}");
        }
        // A pipe nobody will write: with close=off the parent keeps the child's end,
        // so its second recv() never sees EOF. The run says deadlock (exit code 3).
        let r = cpython("pipe", &py, &["--seed", "1", "--set", "close=off"]);
        assert_eq!(r.code, 3, "{v}: {}", r.err);
        assert_eq!(r.summary()["ending"], "deadlock", "{v}");
        // The process lesson's order: the parent waits in join() for the child.
        let r = cpython("process", &py, &["--seed", "9"]);
        let out: Vec<String> = r.output().into_iter().map(|(_, t)| t).collect();
        let ran = out
            .iter()
            .position(|l| l.starts_with("Run child process test"));
        let end = out.iter().position(|l| l == "Child process end.");
        assert!(ran.is_some() && ran < end, "{v}: {out:?}");
        let child = pid_of(&r.labels()[1]).expect("the child's PID");
        assert!(
            out.iter()
                .any(|l| *l == format!("Process-1 {child} False 0")),
            "{v}: {out:?}"
        );
    }
}

/// The queue lesson's two processes without its sleeps.
const QUEUE: &str = r#"from multiprocessing import Process, Queue

def write(q):
    for value in ['A', 'B', 'C']:
        print('Put %s to queue...' % value)
        q.put(value)

def read(q):
    for _ in range(3):
        value = q.get(True)
        print('Get %s from queue.' % value)

if __name__ == '__main__':
    q = Queue()
    pw = Process(target=write, args=(q,))
    pr = Process(target=read, args=(q,))
    pw.start()
    pr.start()
    pw.join()
    pr.join()
"#;

/// A program whose children never end: they nap while the parent joins them.
const NAPPING: &str = r#"import multiprocessing as mp
import time

def nap(n):
    print('child', n, 'naps')
    time.sleep(1000)

if __name__ == '__main__':
    mp.set_start_method('fork')
    ps = [mp.Process(target=nap, args=(n,)) for n in range(2)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
"#;

#[test]
fn no_process_is_left_behind_when_a_run_stops_at_its_timeout_or_a_signal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("napping.py");
    std::fs::write(&file, NAPPING).expect("write the program");
    let file = file.to_string_lossy().to_string();
    for (v, py) in pythons() {
        let r = cpython(&file, &py, &["--seed", "2", "--timeout", "3"]);
        assert_eq!(r.code, 4, "{v}: stopped at --timeout: {}", r.err);
        let pids: Vec<u32> = r.labels().iter().filter_map(|l| pid_of(l)).collect();
        assert_eq!(pids.len(), 3, "{v}: {:?}", r.labels());
        let out: Vec<String> = r.output().into_iter().map(|(_, t)| t).collect();
        assert!(out.contains(&"child 0 naps".to_string()), "{v}: {out:?}");
        assert!(all_gone(&pids), "{v}: a process of the run is still there");
    }
    // SIGTERM to the command while its children nap: they die with it.
    let Some((v, py)) = pythons().pop() else {
        return;
    };
    // Its own TMPDIR, to see that the run's temporary folder goes too.
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(BIN)
        .args(["run", &file, "--python"])
        .arg(&py)
        .args(["--seed", "2", "--timeout", "60"])
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the binary runs");
    let me = child.id();
    let until = Instant::now() + Duration::from_secs(30);
    let mut tree = descendants(me);
    while tree.len() < 3 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
        tree = descendants(me);
    }
    assert_eq!(
        tree.len(),
        3,
        "{v}: the root and its two children: {tree:?}"
    );
    // SAFETY: kill(2) on the child this test started.
    unsafe {
        libc::kill(me as i32, libc::SIGTERM);
    }
    let status = child.wait().expect("the command ends");
    use std::os::unix::process::ExitStatusExt;
    assert!(
        status.code() == Some(143) || status.signal() == Some(libc::SIGTERM),
        "{v}: {status:?}"
    );
    assert!(all_gone(&tree), "{v}: a process of the run outlived it");
    let left: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("the temp dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("interleave-"))
        .collect();
    assert!(left.is_empty(), "{v}: the run's folder stayed: {left:?}");
}

/// Every process below `root`, from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // The fields after the command's closing parenthesis: state, ppid, ...
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse().ok());
            if let Some(ppid) = ppid {
                parents.push((pid, ppid));
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

#[test]
fn the_playground_steps_a_child_process_and_dropping_the_run_leaves_nothing() {
    let Some((v, py)) = pythons().pop() else {
        return;
    };
    let all = Catalog::embedded().expect("embedded lessons load");
    let l = all.find("process").expect("the lesson").clone();
    let start = Start::Cpython {
        python: py,
        free: false,
        origin: Origin::Seed(1),
    };
    let mut run = Run::new(&l, l.default_knobs(), start).expect("CPython starts the lesson");
    let settle = |run: &mut Run| {
        let until = Instant::now() + Duration::from_secs(120);
        while run.in_flight() {
            assert!(Instant::now() < until, "the CPython run never stood still");
            run.poll();
            std::thread::sleep(Duration::from_millis(1));
        }
        run.poll();
    };
    // The parent steps until its child stands before its first step.
    let mut guard = 0;
    while !(run.trace().program.actors.len() > 1 && run.pc(1).is_some()) {
        match run.command(RunCommand::StepActor(0)) {
            Outcome::Done => settle(&mut run),
            Outcome::Refused(why) => panic!("{v}: the parent cannot step: {why}"),
        }
        guard += 1;
        assert!(guard < 200, "{v}: the child never came");
    }
    let labels = run.trace().actor_labels.clone();
    let pids: Vec<u32> = labels.iter().filter_map(|l| pid_of(l)).collect();
    assert_eq!(pids.len(), 2, "{v}: {labels:?}");
    assert_eq!(run.trace().program.actors[1].process, 1, "{v}");
    // The child's step, by its number key, prints its line.
    match run.command(RunCommand::StepActor(1)) {
        Outcome::Done => settle(&mut run),
        Outcome::Refused(why) => panic!("{v}: the child cannot step: {why}"),
    }
    let printed: Vec<String> = run.trace().output.iter().map(|o| o.text.clone()).collect();
    assert!(
        printed.contains(&format!("Run child process test ({})...", pids[1])),
        "{v}: {printed:?}"
    );
    drop(run);
    assert!(all_gone(&pids), "{v}: dropping the run left a process");
}

/// The output lines with the actor that printed each, PIDs and digits masked.
fn masked(r: &Ran) -> Vec<String> {
    r.output()
        .iter()
        .map(|(who, text)| {
            let who = who.split(" (pid").next().unwrap_or_default();
            let text: String = text
                .chars()
                .map(|c| if c.is_ascii_digit() { '#' } else { c })
                .collect();
            format!("{who}: {text}")
        })
        .collect()
}

#[test]
fn spawn_and_forkserver_children_are_followed_with_their_real_pids() {
    for (v, py) in pythons() {
        for method in ["spawn", "forkserver"] {
            let set = format!("method={method}");
            let a = cpython("start-methods", &py, &["--seed", "3", "--set", &set]);
            assert_eq!(a.code, 0, "{v} {method}: {}", a.err);
            // The parent and its two children; the fork server runs none of the
            // program and is not shown.
            let labels = a.labels();
            assert_eq!(labels.len(), 3, "{v} {method}: {labels:?}");
            let pids: Vec<u32> = labels.iter().filter_map(|l| pid_of(l)).collect();
            assert_eq!(pids.len(), 3, "{v} {method}: {labels:?}");
            assert!(pids[0] != pids[1] && pids[1] != pids[2] && pids[0] != pids[2]);
            assert!(labels[1].starts_with("Process-1 (pid "), "{labels:?}");
            assert!(labels[2].starts_with("Process-2 (pid "), "{labels:?}");
            // Each child runs the module's top level again, as __mp_main__, then f.
            let out = a.output();
            for (i, name) in ["A", "B"].iter().enumerate() {
                let me = &labels[i + 1];
                let mine: Vec<&str> = out
                    .iter()
                    .filter(|(who, _)| who == me)
                    .map(|(_, t)| t.as_str())
                    .collect();
                assert_eq!(
                    mine,
                    [
                        "top level: __name__ is __mp_main__".to_string(),
                        format!("child {name} runs f")
                    ],
                    "{v} {method}: {out:?}"
                );
            }
            assert!(
                out.contains(&(
                    labels[0].clone(),
                    "parent done, exit codes [0, 0]".to_string()
                )),
                "{v} {method}: {out:?}"
            );
            // The children's own steps were stepped: lines of f.
            let steps = a.steps();
            assert!(steps.iter().any(|s| s.0 == 1 && s.1 == 6), "{v} {method}");
            assert!(steps.iter().any(|s| s.0 == 2 && s.1 == 6), "{v} {method}");
            // Same seed, same run; the schedule replays it.
            let b = cpython("start-methods", &py, &["--seed", "3", "--set", &set]);
            assert_eq!(a.steps(), b.steps(), "{v} {method}: same seed, same steps");
            assert_eq!(masked(&a), masked(&b), "{v} {method}");
            let schedule = a.summary()["schedule"].as_str().expect("a schedule");
            let c = cpython(
                "start-methods",
                &py,
                &["--schedule", schedule, "--set", &set],
            );
            assert_eq!(
                a.steps(),
                c.steps(),
                "{v} {method}: the schedule replays it"
            );
            assert!(
                all_gone(&pids),
                "{v} {method}: a process of the run is left"
            );
        }
        // No guard: each spawned child reaches p.start() while importing; CPython
        // raises RuntimeError there, the children exit with 1, and the parent goes on.
        let r = cpython(
            "start-methods",
            &py,
            &["--seed", "1", "--set", "method=spawn", "--set", "guard=off"],
        );
        assert_eq!(r.code, 0, "{v}: {}", r.err);
        let out: Vec<String> = r.output().into_iter().map(|(_, t)| t).collect();
        assert!(
            out.contains(&"parent done, exit codes [1, 1]".to_string()),
            "{v}: {out:?}"
        );
        assert!(!out.iter().any(|l| l.contains("runs f")), "{v}: {out:?}");
        let stderr = r.summary()["stderr"].as_str().unwrap_or_default();
        assert_eq!(
            stderr.matches("bootstrapping phase").count(),
            2,
            "{v}: {stderr}"
        );
        // Free: the real timing, the same processes and lines.
        let r = cpython("start-methods", &py, &["--live", "--set", "method=spawn"]);
        assert_eq!(r.code, 0, "{v}: {}", r.err);
        assert_eq!(r.labels().len(), 3, "{v}: {:?}", r.labels());
        let out: Vec<String> = r.output().into_iter().map(|(_, t)| t).collect();
        assert_eq!(
            out.iter().filter(|l| l.contains("__mp_main__")).count(),
            2,
            "{v}: {out:?}"
        );
    }
}

/// A program that starts a spawned child and runs another Python with subprocess,
/// and prints what the student's own sitecustomize set.
const SITE_PROGRAM: &str = r#"import builtins
import multiprocessing as mp
import subprocess
import sys

def f():
    print('child sees', getattr(builtins, 'MARK', 'no mark'))

if __name__ == '__main__':
    mp.set_start_method('spawn')
    print('parent sees', getattr(builtins, 'MARK', 'no mark'))
    p = mp.Process(target=f)
    p.start()
    p.join()
    r = subprocess.call([sys.executable, '-c', 'import builtins; print(getattr(builtins, "MARK", "no mark"), 6 * 7)'])
    print('exit', r)
"#;

#[test]
fn a_students_sitecustomize_still_runs_and_the_run_leaves_no_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let theirs = dir.path().join("theirs");
    std::fs::create_dir(&theirs).expect("a folder");
    std::fs::write(
        theirs.join("sitecustomize.py"),
        "import builtins\nbuiltins.MARK = 'theirs'\n",
    )
    .expect("their sitecustomize");
    let file = dir.path().join("site_program.py");
    std::fs::write(&file, SITE_PROGRAM).expect("write the program");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).expect("a folder");
    for (v, py) in pythons() {
        let o = Command::new(BIN)
            .args(["run"])
            .arg(&file)
            .args(["--python"])
            .arg(&py)
            .args(["--format", "jsonl", "--seed", "2", "--timeout", "60"])
            .env("PYTHONPATH", &theirs)
            .env("TMPDIR", &tmp)
            .output()
            .expect("the binary runs");
        let r = Ran {
            code: o.status.code().unwrap_or(-1),
            lines: String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| serde_json::from_str(l).expect("a json line"))
                .collect(),
            err: String::from_utf8_lossy(&o.stderr).into_owned(),
        };
        assert_eq!(r.code, 0, "{v}: {}", r.err);
        let out = r.output();
        let labels = r.labels();
        // Their sitecustomize ran in the parent, in the spawned child, and in the
        // Python that subprocess ran, which is followed: a process of its own, whose
        // line is a step of its own.
        assert!(
            out.contains(&(labels[0].clone(), "parent sees theirs".into())),
            "{v}: {out:?}"
        );
        assert!(
            out.contains(&(labels[1].clone(), "child sees theirs".into())),
            "{v}: {out:?}"
        );
        let python = out
            .iter()
            .find(|(_, t)| t == "theirs 42")
            .map(|(who, _)| who.clone())
            .unwrap_or_else(|| panic!("{v}: the subprocess printed: {out:?}"));
        assert_eq!(labels.len(), 3, "{v}: {labels:?}");
        assert_eq!(python, labels[2], "{v}: {labels:?}");
        assert!(python.starts_with("MainThread (pid "), "{v}: {python}");
        assert!(
            out.contains(&(labels[0].clone(), "exit 0".into())),
            "{v}: {out:?}"
        );
        assert!(r.steps().iter().any(|s| s.0 == 2), "{v}: its step");
        // Nothing of the run stays in the temporary folder.
        let left: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").flatten().collect();
        assert!(left.is_empty(), "{v}: left behind: {left:?}");
    }
}

#[test]
fn the_subprocess_lesson_shows_each_program_with_its_pid_and_output() {
    for (v, py) in pythons() {
        for (command, code) in [("echo", "0"), ("kill", "-15")] {
            let set = format!("command={command}");
            let r = cpython("subprocess", &py, &["--seed", "1", "--set", &set]);
            assert_eq!(r.code, 0, "{v} {command}: {}", r.err);
            let labels = r.labels();
            let row = |name: &str| {
                labels
                    .iter()
                    .find(|l| l.starts_with(&format!("{name} (pid ")))
                    .cloned()
                    .unwrap_or_else(|| panic!("{v}: a row for {name}: {labels:?}"))
            };
            let (first, tr) = (
                row(if command == "echo" { "echo" } else { "sh" }),
                row("tr"),
            );
            let pids: Vec<u32> = labels.iter().filter_map(|l| pid_of(l)).collect();
            assert_eq!(pids.len(), 3, "{v}: {labels:?}");
            let out = r.output();
            let main = labels[0].clone();
            let mut want = Vec::new();
            if command == "echo" {
                want.push((main.clone(), "$ echo hello, world".to_string()));
                // echo writes to the terminal it inherited: its own row prints it.
                want.push((first.clone(), "hello, world".to_string()));
            } else {
                want.push((main.clone(), "$ sh -c 'kill -TERM $$'".to_string()));
            }
            want.extend([
                (main.clone(), format!("Exit code: {code}")),
                (main.clone(), "$ tr a-z A-Z".to_string()),
                // tr's stdout is the program's pipe: the program prints what it read.
                (main.clone(), "HELLO FROM PYTHON".to_string()),
                (main.clone(), String::new()),
                (main.clone(), "Exit code: 0".to_string()),
            ]);
            assert_eq!(out, want, "{v} {command}");
            let _ = tr;
            assert!(all_gone(&pids[1..]), "{v}: a program of the run is left");
        }
    }
}

/// Errors in a thread, in a forked child process and in the main program.
const RAISES: &str = r#"import multiprocessing as mp
import threading

def boom(n):
    return 1 // n

def work():
    boom(0)

if __name__ == '__main__':
    mp.set_start_method('fork')
    t = threading.Thread(target=work)
    t.start()
    t.join()
    p = mp.Process(target=work)
    p.start()
    p.join()
    print('exit code', p.exitcode)
    boom(0)
"#;

#[test]
fn a_traceback_is_the_one_cpython_prints_without_the_tracer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("raises.py");
    std::fs::write(&file, RAISES).expect("write the program");
    for (v, py) in pythons() {
        let plain = Command::new(&py)
            .arg(&file)
            .output()
            .expect("the interpreter runs");
        let plain = String::from_utf8_lossy(&plain.stderr).into_owned();
        assert!(plain.contains("in _bootstrap"), "{v}: {plain}");
        for drive in [&["--seed", "1"][..], &["--live"][..]] {
            let r = cpython(&file.to_string_lossy(), &py, drive);
            assert_eq!(r.code, 0, "{v} {drive:?}: {}", r.err);
            let stderr = r.summary()["stderr"].as_str().unwrap_or_default();
            assert!(!stderr.contains("tracer.py"), "{v} {drive:?}: {stderr}");
            assert_eq!(stderr, plain, "{v} {drive:?}");
        }
    }
}

/// A lesson's code runs in the run's own folder: the tickets lesson's ticket.json
/// is not left in the folder interleave was started from.
#[test]
fn a_lessons_files_stay_in_the_runs_folder() {
    let Some((v, py)) = pythons().pop() else {
        return;
    };
    let here = tempfile::tempdir().expect("temp dir");
    let o = Command::new(BIN)
        .args(["run", "tickets", "--engine", "cpython", "--python"])
        .arg(&py)
        .args(["--seed", "1", "--timeout", "60"])
        .current_dir(here.path())
        .output()
        .expect("the binary runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{v}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("got a ticket"), "{v}: {out}");
    let left: Vec<_> = std::fs::read_dir(here.path())
        .expect("the folder")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{v}: left behind {left:?}");
}

/// A Python program a traced one runs by subprocess: it prints its own PID.
const CHILD: &str = r#"import os
print('child', os.getpid(), 'says hi')
x = 6 * 7
print('child x', x)
"#;

/// Runs `child.py` by a relative path (3.8 compiles it under that name, 3.9+ under
/// the absolute one), then a `-c` program.
const RUNS_PYTHON: &str = r#"import subprocess
import sys

print('parent starts')
r = subprocess.call([sys.executable, 'child.py'])
print('call gave', r)
c = subprocess.Popen([sys.executable, '-c', 'import os; print("dash c", os.getpid())'])
print('wait gave', c.wait())
"#;

/// `interleave run FILE` in the folder `dir` (a student's file runs where they are).
fn cpython_in(dir: &Path, file: &str, python: &Path, extra: &[&str]) -> Ran {
    let o = Command::new(BIN)
        .current_dir(dir)
        .args(["run", file, "--engine", "cpython", "--python"])
        .arg(python)
        .args(["--format", "jsonl", "--timeout", "60"])
        .args(extra)
        .output()
        .expect("the binary runs");
    Ran {
        code: o.status.code().unwrap_or(-1),
        lines: String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a json line"))
            .collect(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// What `python FILE` prints on its own, in `dir`.
fn plain(dir: &Path, file: &str, python: &Path) -> String {
    let o = Command::new(python)
        .current_dir(dir)
        .arg(file)
        .env_remove("PYTHONPATH")
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_python_program_run_by_subprocess_is_a_process_whose_lines_are_steps() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("child.py"), CHILD).expect("write the child");
    std::fs::write(dir.path().join("parent.py"), RUNS_PYTHON).expect("write the parent");
    for (v, py) in pythons() {
        for how in [&["--seed", "1"][..], &["--live"]] {
            let r = cpython_in(dir.path(), "parent.py", &py, how);
            assert_eq!(r.code, 0, "{v} {how:?}: {}", r.err);
            let labels = r.labels();
            assert_eq!(labels.len(), 3, "{v} {how:?}: {labels:?}");
            let pids: Vec<u32> = labels.iter().filter_map(|l| pid_of(l)).collect();
            assert_eq!(pids.len(), 3, "{v} {how:?}: {labels:?}");
            assert!(pids[0] != pids[1] && pids[1] != pids[2] && pids[0] != pids[2]);
            for l in &labels[1..] {
                assert!(l.starts_with("MainThread (pid "), "{v} {how:?}: {labels:?}");
            }
            // Each child printed its own PID, on its own row; the parent's call()
            // and wait() came back after the child had ended.
            let (main, child, dash) = (&labels[0], &labels[1], &labels[2]);
            let want = [
                (main.clone(), "parent starts".to_string()),
                (child.clone(), format!("child {} says hi", pids[1])),
                (child.clone(), "child x 42".to_string()),
                (main.clone(), "call gave 0".to_string()),
                (dash.clone(), format!("dash c {}", pids[2])),
                (main.clone(), "wait gave 0".to_string()),
            ];
            assert_eq!(r.output(), want, "{v} {how:?}");
            // The children's own lines were steps: child.py's two prints, and the
            // one line of -c.
            let steps = r.steps();
            for line in [2, 4] {
                assert!(
                    steps.iter().any(|s| s.0 == 1 && s.1 == line),
                    "{v} {how:?}: child.py line {line}: {steps:?}"
                );
            }
            assert!(steps.iter().any(|s| s.0 == 2 && s.1 == 1), "{v} {how:?}");
            assert!(
                all_gone(&pids[1..]),
                "{v} {how:?}: a child of the run is left"
            );
        }
    }
}

/// The parent prints its line while the child may print its own.
const RACE: &str = r#"import subprocess
import sys
p = subprocess.Popen([sys.executable, '-c', 'print("child")'])
print('parent')
p.wait()
"#;

#[test]
fn controlled_a_schedule_that_lets_the_child_print_first_replays() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("race.py"), RACE).expect("write the program");
    let line = ["--set", "granularity=line"];
    for (v, py) in pythons() {
        let printed = |r: &Ran| -> Vec<String> { r.output().into_iter().map(|(_, t)| t).collect() };
        // Seeds until both orders have shown: each is a choice of the controller.
        let mut seen: Vec<(Vec<String>, String)> = Vec::new();
        for seed in 1..=40 {
            let seed = seed.to_string();
            let r = cpython_in(
                dir.path(),
                "race.py",
                &py,
                &[&["--seed", &seed][..], &line].concat(),
            );
            assert_eq!(r.code, 0, "{v} seed {seed}: {}", r.err);
            let out = printed(&r);
            if !seen.iter().any(|(o, _)| *o == out) {
                let schedule = r.summary()["schedule"].as_str().expect("a schedule");
                seen.push((out, schedule.to_string()));
            }
            if seen.len() == 2 {
                break;
            }
        }
        let child_first = ["child".to_string(), "parent".to_string()];
        let (_, schedule) = seen
            .iter()
            .find(|(o, _)| *o == child_first)
            .unwrap_or_else(|| panic!("{v}: no seed of 40 let the child print first: {seen:?}"));
        assert!(
            seen.iter().any(|(o, _)| *o == ["parent", "child"]),
            "{v}: {seen:?}"
        );
        // The schedule that let the child print first does it again, step for step.
        for _ in 0..2 {
            let r = cpython_in(
                dir.path(),
                "race.py",
                &py,
                &[&["--schedule", schedule.as_str()][..], &line].concat(),
            );
            assert_eq!(r.code, 0, "{v}: {}", r.err);
            assert_eq!(printed(&r), child_first, "{v}: {schedule}");
            assert_eq!(
                r.summary()["schedule"].as_str(),
                Some(schedule.as_str()),
                "{v}"
            );
            // The child's print is its step, taken before the parent's line 4.
            let steps = r.steps();
            let child = steps
                .iter()
                .position(|s| s.0 == 1)
                .expect("the child's step");
            let parent = steps
                .iter()
                .position(|s| s.0 == 0 && s.1 == 4)
                .expect("line 4");
            assert!(child < parent, "{v}: {steps:?}");
        }
    }
}

/// Python children whose stdout is a pipe the parent reads.
const CAPTURES: &str = r#"import subprocess
import sys
code = 'import sys; print("é", 6 * 7); sys.stdout.write("no newline")'
r = subprocess.run([sys.executable, '-c', code], capture_output=True)
print(repr(r.stdout), repr(r.stderr), r.returncode)
out = subprocess.check_output([sys.executable, 'child.py'])
print(repr(out))
p = subprocess.Popen([sys.executable, '-c', 'print(input().upper())'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
got, _ = p.communicate(b'hello from python\n')
print(got, p.returncode)
"#;

#[test]
fn capture_output_still_gives_the_parent_the_childs_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("child.py"), CHILD).expect("write the child");
    std::fs::write(dir.path().join("captures.py"), CAPTURES).expect("write the parent");
    for (v, py) in pythons() {
        let want = plain(dir.path(), "captures.py", &py);
        for how in [&["--seed", "3"][..], &["--live"]] {
            let r = cpython_in(dir.path(), "captures.py", &py, how);
            assert_eq!(r.code, 0, "{v} {how:?}: {}", r.err);
            let labels = r.labels();
            assert_eq!(labels.len(), 4, "{v} {how:?}: {labels:?}");
            // Everything the children printed went into their pipes: the parent
            // printed what it read, as a plain run does (PIDs masked: they differ).
            let out = r.output();
            assert!(
                out.iter().all(|(who, _)| *who == labels[0]),
                "{v} {how:?}: {out:?}"
            );
            let got: String = out.iter().map(|(_, t)| format!("{t}\n")).collect();
            let digits = |s: &str| -> String {
                s.chars()
                    .map(|c| if c.is_ascii_digit() { '#' } else { c })
                    .collect()
            };
            assert_eq!(digits(&got), digits(&want), "{v} {how:?}");
            assert!(
                got.starts_with("b'\\xc3\\xa9 42\\nno newline' b'' 0\n"),
                "{v}: {got}"
            );
            // Each child still took its own steps.
            for a in 1..4 {
                assert!(r.steps().iter().any(|s| s.0 == a), "{v} {how:?}: actor {a}");
            }
        }
    }
}

#[test]
fn outside_interleave_the_sitecustomize_does_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let site = dir.path().join("site");
    std::fs::create_dir(&site).expect("a folder");
    std::fs::write(
        site.join("sitecustomize.py"),
        interleave::cpython::SITECUSTOMIZE,
    )
    .expect("write it");
    std::fs::write(dir.path().join("child.py"), CHILD).expect("write the child");
    std::fs::write(dir.path().join("parent.py"), RUNS_PYTHON).expect("write the parent");
    for (v, py) in pythons() {
        // Even marked as a followed child, a process whose parent is not the PID
        // the environment names loads nothing and prints what it prints.
        for marks in [
            &[][..],
            &[("INTERLEAVE_SUBPROCESS", "run"), ("INTERLEAVE_PARENT", "1")],
        ] {
            let o = Command::new(&py)
                .current_dir(dir.path())
                .arg("parent.py")
                .env("PYTHONPATH", &site)
                .env("INTERLEAVE_TRACER", dir.path().join("no-tracer.py"))
                .envs(marks.iter().copied())
                .output()
                .expect("python runs");
            assert!(
                o.status.success(),
                "{v}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(
                out.contains("child x 42\n") && out.ends_with("wait gave 0\n"),
                "{v}: {out}"
            );
            assert!(
                o.stderr.is_empty(),
                "{v}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}
