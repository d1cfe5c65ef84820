//! The `queue` lesson's `payload=str` (issue 15): the writer puts the Queue
//! tutorial's strings ('Hello shiyanlou', 'zhihou', 'charu') and the reader gets
//! each whole, in order: stepped over seeds, schedulers and `maxsize`, live on
//! real worker processes (the strings' bytes through a real pipe), with
//! `get_nowait()`, and the lesson's own code on real CPythons.

#[path = "common/lesson.rs"]
mod common;
use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::lesson::Lang;
use interleave::live::LiveRun;
use interleave::run::{Command, Origin, Outcome, Run, Start};
use interleave::trace::Trace;
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_interleave");
const LESSON: &str = "queue";
const WORDS: [&str; 3] = ["Hello shiyanlou", "zhihou", "charu"];

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn stepped(sets: &[String], seed: u64) -> Trace {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(LESSON).expect("the lesson exists");
    let knobs = knobs_from(l, sets).expect("the knobs are valid");
    let mut r = Run::new(l, knobs, Start::Stepped(Origin::Seed(seed))).expect("the lesson builds");
    assert_eq!(r.command(Command::RunToEnd), Outcome::Done, "{sets:?}");
    r.trace().clone()
}

fn verdict(sets: &[String], t: &Trace) -> bool {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(LESSON).expect("the lesson exists");
    let knobs = knobs_from(l, sets).expect("the knobs are valid");
    interleave::trace::verdict(l, &knobs, t, true, Lang::En)
        .expect("a verdict")
        .correct
}

fn live(sets: &[String]) -> Trace {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(LESSON).expect("the lesson exists");
    let knobs = knobs_from(l, sets).expect("the knobs are valid");
    let program = interleave::scenarios::build(l, &knobs).expect("the lesson builds");
    let (trace, finished) =
        LiveRun::start(Arc::new(program), knobs.engine(), 1.0).wait(Duration::from_secs(60));
    assert!(finished, "queue {sets:?} did not finish live");
    trace
}

fn lines(out: &[String], head: &str, tail: &str) -> Vec<String> {
    out.iter()
        .filter_map(|l| l.strip_prefix(head)?.strip_suffix(tail))
        .map(String::from)
        .collect()
}

fn gets(t: &Trace) -> Vec<String> {
    let out: Vec<String> = t.output.iter().map(|o| o.text.clone()).collect();
    lines(&out, "Get ", " from queue.")
}

fn puts(t: &Trace) -> Vec<String> {
    let out: Vec<String> = t.output.iter().map(|o| o.text.clone()).collect();
    lines(&out, "Put ", " to queue...")
}

#[test]
fn stepped_every_string_arrives_whole_and_in_order_over_seeds_schedulers_and_sizes() {
    for sched in ["timed", "uniform"] {
        for maxsize in ["0", "1", "3"] {
            for seed in [1, 2, 7, 99, 1234] {
                let sets = s(&[
                    "payload=str",
                    &format!("maxsize={maxsize}"),
                    &format!("scheduler={sched}"),
                ]);
                let t = stepped(&sets, seed);
                assert_eq!(puts(&t), WORDS, "{sets:?} {seed}");
                assert_eq!(gets(&t), WORDS, "{sets:?} {seed}");
                assert!(verdict(&sets, &t), "{sets:?} {seed}");
                // Each Get comes after its Put.
                let out: Vec<&str> = t.output.iter().map(|o| o.text.as_str()).collect();
                for w in WORDS {
                    let put = out
                        .iter()
                        .position(|l| *l == format!("Put {w} to queue..."));
                    let get = out
                        .iter()
                        .position(|l| *l == format!("Get {w} from queue."));
                    assert!(put < get, "{sets:?} {seed}: {out:?}");
                }
            }
        }
    }
}

#[test]
fn the_default_still_puts_the_letters() {
    let t = stepped(&[], 1);
    assert_eq!(gets(&t), ["A", "B", "C"]);
    let t = stepped(&s(&["payload=char", "scheduler=uniform"]), 7);
    assert_eq!(puts(&t), ["A", "B", "C"]);
}

#[test]
fn stepped_get_nowait_gets_a_prefix_of_the_strings_then_dies_on_an_empty_queue() {
    let mut empty_first = 0;
    for seed in 1..=20 {
        let sets = s(&["payload=str", "nowait=on", "scheduler=uniform"]);
        let t = stepped(&sets, seed);
        let got = gets(&t);
        assert!(got.len() < 3, "{seed}: {got:?}");
        assert_eq!(got[..], WORDS[..got.len()], "{seed}");
        assert!(
            t.output.iter().any(|o| o.text.contains("Empty")),
            "{seed}: the reader dies of queue.Empty"
        );
        empty_first += got.is_empty() as u32;
    }
    // Both ways happen: a reader that starts before the first put, and one after.
    assert!((1..20).contains(&empty_first), "{empty_first}");
}

#[test]
fn live_the_strings_travel_through_a_real_queue_between_real_processes() {
    for maxsize in ["0", "1"] {
        let sets = s(&["payload=str", &format!("maxsize={maxsize}"), "delay=0.1"]);
        let t = live(&sets);
        assert_eq!(puts(&t), WORDS, "{sets:?}");
        assert_eq!(gets(&t), WORDS, "{sets:?}");
        assert!(verdict(&sets, &t), "{sets:?}");
        // The writer and the reader are two real processes.
        let out: Vec<&str> = t.output.iter().map(|o| o.text.as_str()).collect();
        let pid = |head: &str| -> i64 {
            out.iter()
                .find_map(|l| l.strip_prefix(head))
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or_else(|| panic!("{head} in {out:?}"))
        };
        let (w, r) = (pid("Process to write: "), pid("Process to read: "));
        assert_ne!(w, r);
        assert_ne!(w, std::process::id() as i64);
        assert!(
            !(1000..1010).contains(&w),
            "a real PID, not a simulated one"
        );
    }
}

/// The lesson's code for these knobs, as the student reads it.
fn python_code(sets: &[String]) -> String {
    common::code(LESSON, sets)
}

#[test]
fn the_lessons_own_code_gets_the_same_strings_on_real_cpython() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut ran = 0;
    for v in ["3.8", "3.11", "3.12", "3.13"] {
        let Some(exe) = common::pyenv_python(v) else {
            continue;
        };
        let sets = s(&["payload=str"]);
        let file = dir.path().join("queue_str.py");
        std::fs::write(&file, python_code(&sets)).expect("writes");
        // -u: the reader is killed by terminate(), and block-buffered output
        // would die with it (RESULTS §19.5).
        let out = std::process::Command::new(&exe)
            .arg("-u")
            .arg(&file)
            .output()
            .expect("python runs");
        assert!(out.status.success(), "{v}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        // With -u two processes' lines can run into each other (the text and
        // the newline are two writes), so look for each Get, in order, anywhere.
        let mut from = 0;
        for w in WORDS {
            let get = format!("Get {w} from queue.");
            let at = text[from..]
                .find(&get)
                .unwrap_or_else(|| panic!("{v}: no {get:?} after byte {from}: {text}"));
            from += at + get.len();
        }
        assert_eq!(text.matches("Get ").count(), 3, "{v}: {text}");
        // Ours says the same.
        assert_eq!(gets(&stepped(&sets, 1)), WORDS);
        ran += 1;
    }
    eprintln!("ran the lesson's code on {ran} CPython versions");
}
