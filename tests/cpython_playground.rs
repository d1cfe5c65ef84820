//! The `C` key: the stepped run on the screen, run again on a real CPython (the
//! first python3 on PATH), and the status line saying whether the two agree.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use interleave::catalog::Catalog;
use interleave::lesson::Lang;
use interleave::ui::{App, AppOptions, StatusLine, Theme};
use std::time::{Duration, Instant};

/// The tutorials' interleaving, as number keys: it ends at -8.
const NARRATED: &str = "0000 11111 222222 11111 2222 1111 2222 00000";

fn app(lang: Lang) -> App {
    let all = Catalog::embedded().expect("embedded lessons load");
    let l = all.find("balance-race").expect("the lesson").clone();
    let mut a = App::new(
        Catalog::from_lessons(vec![l]).expect("catalog"),
        lang,
        AppOptions {
            theme: Theme { color: false },
            seed: 7,
            state_file: None,
            predict: false,
        },
    );
    a.open("balance-race").expect("opens");
    a.set_knob("iterations", "1").expect("knob");
    a.set_knob("gil", "free").expect("knob");
    a
}

fn keys(a: &mut App, s: &str) {
    for c in s.chars().filter(|c| !c.is_whitespace()) {
        a.handle(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
}

/// Ticks until the comparison's result replaces the "running" status; a give-up
/// bound for a machine under load, not a speed target.
fn result(a: &mut App) -> StatusLine {
    let until = Instant::now() + Duration::from_secs(120);
    while a.frame_ticks() {
        assert!(Instant::now() < until, "the comparison never ended");
        a.tick();
        std::thread::sleep(Duration::from_millis(20));
    }
    a.status.clone().expect("a status")
}

fn has_python() -> bool {
    interleave::cpython::find_python(None).is_ok()
}

#[test]
fn c_compares_the_stepped_run_with_cpython_or_says_how_to_get_one() {
    if has_python() {
        let mut a = app(Lang::En);
        keys(&mut a, NARRATED);
        keys(&mut a, "C");
        match a.status.clone() {
            Some(StatusLine::Info(s)) => assert!(s.contains("running this schedule on"), "{s}"),
            other => panic!("C did not start: {other:?}"),
        }
        match result(&mut a) {
            StatusLine::Info(s) => {
                assert!(s.contains("agrees") && s.contains("balance = -8"), "{s}")
            }
            StatusLine::Refused(s) => panic!("the runs disagree: {s}"),
        }
        let mut z = app(Lang::Zh);
        keys(&mut z, NARRATED);
        keys(&mut z, "C");
        match result(&mut z) {
            StatusLine::Info(s) => assert!(s.contains("与模拟器一致"), "{s}"),
            StatusLine::Refused(s) => panic!("{s}"),
        }
        // The default 100000 iterations are millions of events: C says to lower them.
        let mut d = app(Lang::En);
        d.set_knob("iterations", "100000").expect("knob");
        keys(&mut d, "C");
        match result(&mut d) {
            StatusLine::Refused(s) => assert!(s.contains("lower iterations"), "{s}"),
            StatusLine::Info(s) => panic!("{s}"),
        }
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have a python3 on PATH"
        );
    }
    // Without any python3, C says how to get one, and the run goes on stepping.
    // SAFETY: this test binary has one test, so no other thread reads PATH.
    unsafe { std::env::set_var("PATH", "/nonexistent") };
    let mut a = app(Lang::En);
    keys(&mut a, "0C");
    match a.status.clone() {
        Some(StatusLine::Refused(s)) => assert!(s.contains("no python3 on PATH"), "{s}"),
        other => panic!("{other:?}"),
    }
    keys(&mut a, "0");
    assert!(!a.frame_ticks());
}
