//! The cpython engine on the lesson screen (issue 17, items 1, 3, 7 and 8): `E`
//! runs the lesson's own code on a real CPython, the number keys step its threads,
//! the header names the interpreter and says what tracing costs; without Python,
//! `E` says how to get one and the rest of the playground works.

#[path = "common/pty.rs"]
mod pty;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use interleave::catalog::Catalog;
use interleave::lesson::Lang;
use interleave::ui::{App, AppOptions, StatusLine, Theme, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};

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
        settle(a);
    }
}

/// Ticks while the run is doing something; a give-up bound for a loaded
/// machine, not a speed target.
fn settle(a: &mut App) {
    let until = Instant::now() + Duration::from_secs(120);
    while a.frame_ticks() {
        assert!(Instant::now() < until, "the run never stood still");
        a.tick();
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn screen(a: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| draw(a, f)).expect("draws");
    let b = t.backend().buffer();
    let mut s = String::new();
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            s.push_str(b[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

#[test]
fn e_runs_the_lesson_on_cpython_and_the_number_keys_step_its_threads() {
    if interleave::cpython::find_python(None).is_err() {
        return;
    }
    for lang in [Lang::En, Lang::Zh] {
        let mut a = app(lang);
        keys(&mut a, "E");
        let Some(StatusLine::Info(s)) = a.status.clone() else {
            panic!("E did not start CPython: {:?}", a.status);
        };
        let (on, real, cost) = match lang {
            Lang::En => ("real CPython (3.", "real CPython 3.", "traced:"),
            Lang::Zh => ("真实的 CPython（3.", "真实的 CPython 3.", "已插桩"),
        };
        assert!(s.contains(on) && s.contains(cost), "{s}");
        let top = screen(&a, 160, 40);
        // Wide characters take two cells: compare without the spaces.
        let bare = |t: &str| t.replace(' ', "");
        let header = bare(top.lines().next().unwrap_or_default());
        assert!(
            header.contains(&bare(real)) && header.contains(&bare(cost)),
            "{header}"
        );
        // MainThread's first steps, by hand: the interleaving shows real opcodes.
        keys(&mut a, "000000");
        let shown = screen(&a, 160, 40);
        assert!(
            shown.contains("STORE_NAME") || shown.contains("IMPORT_NAME"),
            "{shown}"
        );
        // A thread that does not exist yet cannot step.
        keys(&mut a, "9");
        assert!(
            matches!(a.status, Some(StatusLine::Refused(_))),
            "{:?}",
            a.status
        );
        // To the end, by the seed: the output panel shows what the program
        // printed, and the state panel the same balance (a lost update or not).
        keys(&mut a, "e");
        settle(&mut a);
        let end = screen(&a, 160, 40);
        let info = bare(end.lines().nth(1).unwrap_or_default());
        let over = match lang {
            Lang::En => "finished",
            Lang::Zh => "已结束",
        };
        assert!(info.contains(over), "{end}");
        let balance = end
            .lines()
            .find_map(|l| l.split("│balance ").nth(1))
            .and_then(|r| r.split_whitespace().next())
            .expect("the state panel shows balance");
        let rows: Vec<&str> = end.lines().collect();
        let out_row = rows
            .iter()
            .position(|l| l.contains("output") || l.contains("输 出"))
            .expect("an output panel");
        let printed = rows[out_row + 1]
            .rsplit('│')
            .nth(1)
            .map(str::trim)
            .expect("a printed line");
        assert_eq!(printed, balance, "{end}");
        // Back to the simulator.
        keys(&mut a, "E");
        let header = screen(&a, 160, 40);
        assert!(
            !header
                .lines()
                .next()
                .unwrap_or_default()
                .contains("CPython"),
            "{header}"
        );
    }
}

#[test]
fn without_python_e_says_how_to_get_one_and_the_rest_works() {
    let home = tempfile::tempdir().expect("temp home");
    let mut cmd = pty::command(&["balance-race"], home.path());
    // No python3 anywhere on PATH (the binary itself needs none).
    cmd.env("PATH", home.path());
    cmd.env("PYENV_ROOT", home.path());
    let mut s = pty::Pty::spawn(cmd, 40, 140);
    s.wait_for("paused at the start");
    s.send("\x1b");
    s.wait_for("question skipped");
    s.send("E");
    s.wait_for("no python3 on PATH: install CPython 3.8+");
    // The simulator goes on as ever.
    s.send("1");
    s.wait_for("step 1");
    s.send("q");
    s.send("q");
    assert!(s.wait_exit().success());
}
