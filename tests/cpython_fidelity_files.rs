//! The simulator against the real thing for what processes share outside memory
//! (issue 17, item 6): a file every process reads and writes (tickets), and a
//! child's traceback on stderr (start-methods without the guard). A stepped run's
//! choices of who runs next, replayed on every CPython 3.8+ under pyenv by its
//! shared steps (`src/cpython/follow.rs`), must print the same lines, read and
//! write the same file contents in the same order, and leave the same file.

#[path = "common/fidelity.rs"]
mod common;

use common::{check, pythons};
use interleave::run::Origin;

/// How many lines of `out` contain `text`.
fn count(out: &[String], text: &str) -> usize {
    out.iter().filter(|l| l.contains(text)).count()
}

/// tickets: each buyer's `json.load` of ticket.json is a read of the file and its
/// `json.dump` a write, compared with their contents (`{"count": 1}`); the file's
/// text at the end is compared too. Without the lock the one ticket is sold to
/// every buyer; with it, once.
#[test]
fn the_tickets_lesson_is_the_same_on_every_cpython() {
    for py in pythons() {
        let c = check("tickets", &[], Origin::Seed(1), &py);
        assert_eq!(
            c.cpython_finals,
            [("ticket.json".to_string(), r#"{"count": 0}"#.to_string())],
            "{c:?}"
        );
        let sold = count(&c.cpython_output, "got a ticket");
        assert_eq!(sold, count(&c.sim_output, "got a ticket"), "{c:?}");
        assert!(sold >= 2, "the last ticket is sold more than once: {c:?}");
    }
}

/// The lock, fewer tickets, the tutorial's own reads and writes: on the oldest and
/// the newest CPython, in a test of its own that runs beside the one above.
#[test]
fn the_tickets_lessons_settings_are_the_same_on_the_oldest_and_newest_cpython() {
    let all = pythons();
    for py in [all.first(), all.last()].into_iter().flatten() {
        for (sets, seed) in [
            (&["buyers=3", "lock=on"][..], 2),
            (&["buyers=3", "tickets=2", "scheduler=uniform"][..], 2),
            // The tutorial's program: f.read() and f.write(json.dumps(...)).
            (&["as-written=on", "buyers=3", "lock=on"][..], 1),
        ] {
            let c = check("tickets", sets, Origin::Seed(seed), py);
            // The file's text at the end, the simulator's and CPython's alike.
            assert_eq!(c.cpython_finals, c.sim_finals, "{sets:?} on {}", py.0);
            if sets.contains(&"lock=on") {
                let sold =
                    count(&c.cpython_output, "got a ticket") + count(&c.cpython_output, "购票成功");
                assert_eq!(sold, 1, "{c:?}");
                assert_eq!(
                    c.cpython_finals,
                    [("ticket.json".to_string(), r#"{"count": 0}"#.to_string())],
                    "{c:?}"
                );
            }
        }
    }
}

/// start-methods without the `if __name__ == '__main__':` guard: each spawned (or
/// forkserver's) child runs `p.start()` while it imports the module, and CPython
/// refuses with a RuntimeError whose traceback goes to the child's stderr, not
/// stdout. The simulator's one-line traceback is looked for there, once per child.
#[test]
fn start_methods_without_the_guard_is_the_same_on_every_cpython() {
    for py in pythons() {
        for (method, seed) in [("spawn", 1), ("forkserver", 2), ("fork", 1)] {
            let method = format!("method={method}");
            let c = check(
                "start-methods",
                &["guard=off", method.as_str()],
                Origin::Seed(seed),
                &py,
            );
            let refused = if method == "method=fork" { 0 } else { 2 };
            let error = "RuntimeError: An attempt has been made to start a new process";
            assert_eq!(count(&c.sim_output, error), refused, "{c:?}");
            assert_eq!(count(&c.cpython_output, error), 0, "stdout: {c:?}");
            let stderr: Vec<String> = c.cpython_stderr.lines().map(String::from).collect();
            assert_eq!(count(&stderr, "RuntimeError: "), refused, "{c:?}");
            let codes = if refused == 2 { "[1, 1]" } else { "[0, 0]" };
            assert_eq!(
                c.cpython_output.last().map(String::as_str),
                Some(format!("parent done, exit codes {codes}").as_str()),
                "{c:?}"
            );
            // Without CPython's tracebacks on stderr the two runs part.
            if refused > 0 {
                let mut without = c.clone();
                without.cpython_stderr.clear();
                assert!(!without.agrees(), "{without:?}");
                assert!(
                    without
                        .differences()
                        .iter()
                        .any(|d| d.starts_with("stderr: ")),
                    "{:?}",
                    without.differences()
                );
            }
        }
    }
}
