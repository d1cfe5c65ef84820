//! The simulator against the real thing for the output lessons (issue 17, item 6):
//! `buffering` and `subprocess`, each stepped run's choices of who runs next
//! replayed on every CPython 3.8+ under pyenv (`src/cpython/follow.rs`).
//!
//! buffering: the simulator models each process's `sys.stdout` buffer. Under the
//! cpython engine the tracer gives the program a real one, set up as CPython sets
//! it up at start (`INTERLEAVE_STDOUT`: block-buffered for `stdout=pipe`,
//! line-buffered for `stdout=tty`, written through under `python -u`), so fork
//! copies it, SIGTERM loses it and exit flushes it for real. A printed line is
//! compared where it reaches the output, at its `write(2)`, not at its print().
//!
//! subprocess: a program that is not Python (echo, false, sh, tr) is no thread the
//! controller steps: its start is the step that starts it, what it writes to the
//! output it inherited comes as it writes it, and its end when it is reaped.

#[path = "common/fidelity.rs"]
mod common;

use common::{check, lesson, pythons, schedule};
use interleave::run::Origin;

/// How many of CPython's printed lines contain `what`.
fn count(c: &interleave::cpython::Comparison, what: &str) -> usize {
    c.cpython_output.iter().filter(|l| l.contains(what)).count()
}

/// buffering, every `show` but `pool` (declared: the pool's queue hands out the
/// tasks), on a pipe and on a terminal, and both fixes: the lines CPython wrote
/// come out as the simulator's do, the start line twice on a pipe and once on a
/// terminal, the terminated child's line lost on a pipe. Not compared: a schedule
/// that puts another process's write between a print's text and its end under
/// `python -u` (declared `joined`, below): CPython's print() is one step.
#[test]
fn the_buffering_lesson_is_the_same_on_every_cpython() {
    for py in pythons() {
        let c = check("buffering", &[], Origin::Seed(1), &py);
        assert_eq!(count(&c, "start..."), 2, "{c:?}");
        let c = check("buffering", &["stdout=tty"], Origin::Seed(1), &py);
        assert_eq!(count(&c, "start..."), 1, "{c:?}");
        for fix in ["fix=flush", "fix=unbuffered"] {
            let c = check("buffering", &[fix], Origin::Seed(2), &py);
            assert_eq!(count(&c, "start..."), 1, "{fix} {c:?}");
        }
        let c = check("buffering", &["show=terminate"], Origin::Seed(1), &py);
        assert_eq!(count(&c, "child: this line"), 0, "{c:?}");
        let c = check(
            "buffering",
            &["show=terminate", "stdout=tty"],
            Origin::Seed(1),
            &py,
        );
        assert_eq!(count(&c, "child: this line"), 1, "{c:?}");
        check("buffering", &["show=process"], Origin::Seed(1), &py);
        let c = check("buffering", &["show=end"], Origin::Seed(1), &py);
        assert_eq!(c.cpython_output, ["1 2 3 4 5 "], "{c:?}");
        // Each show=end run sleeps a second: the digits one by one, on the oldest
        // and the newest only.
        if py.1 == 8 || py.1 == 13 {
            let c = check(
                "buffering",
                &["show=end", "fix=flush"],
                Origin::Seed(1),
                &py,
            );
            assert_eq!(c.cpython_output, ["1 2 3 4 5 "], "{c:?}");
        }
    }
}

/// buffering under `python -u` with the tour's schedule `0x3 1x3 0x2 1 0x2`, which
/// joins the parent's and the child's lines: declared not compared, with why, before
/// any Python runs (a controlled print() is one step, its two writes inside it).
/// A run whose lines stay whole is still compared (the test above, seed 2).
#[test]
fn a_buffering_run_that_joins_two_lines_is_declared_not_compared() {
    let Some(py) = pythons().pop() else { return };
    let l = lesson("buffering");
    let knobs = interleave::cli::knobs_from(&l, &["stdout=tty".into(), "fix=unbuffered".into()])
        .expect("the knobs are valid");
    let joined = schedule("0x3 1x3 0x2 1 0x2");
    match interleave::cpython::compare(&l, &knobs, joined, &py.2, common::LIMIT) {
        Err(e) => {
            let e = e.to_string();
            assert!(
                e.contains("declared") && e.contains("one print() is two write(2)s"),
                "{e}"
            );
        }
        Ok(c) => panic!("a joined run is not compared: {c:?}"),
    }
    // The same setting on a schedule that keeps the lines whole is compared.
    let c = check(
        "buffering",
        &["stdout=tty", "fix=unbuffered"],
        Origin::Seed(2),
        &py,
    );
    assert!(c.declared.is_empty(), "{c:?}");
}

/// subprocess, each `command`: echo's line comes between the parent's, `false`
/// gives 1, a shell killed by SIGTERM -15, and tr's answer is printed with the
/// empty line print() adds after its newline.
#[test]
fn the_subprocess_lesson_is_the_same_on_every_cpython() {
    for py in pythons() {
        for (command, code) in [("echo", "0"), ("false", "1"), ("kill", "-15")] {
            let set = format!("command={command}");
            let c = check("subprocess", &[&set], Origin::Seed(1), &py);
            let first = c
                .cpython_output
                .iter()
                .find(|l| l.starts_with("Exit code:"));
            assert_eq!(first, Some(&format!("Exit code: {code}")), "{c:?}");
            assert!(
                c.cpython_output
                    .windows(2)
                    .any(|w| w[0] == "HELLO FROM PYTHON" && w[1].is_empty()),
                "{c:?}"
            );
        }
    }
}
