//! The whole playground without a terminal: keys in, a `TestBackend` buffer out.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use interleave::catalog::Catalog;
use interleave::lesson::Lang;
use interleave::ui::{App, AppOptions, Theme, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

/// The narrated interleaving of the tutorials, as number keys.
const NARRATED: &str = "0000 11111 222222 11111 2222 1111 2222 00000";

/// A catalog with balance-race only, so that lessons added later do not change
/// these screens.
fn catalog() -> Catalog {
    let all = Catalog::embedded().expect("embedded lessons load");
    let l = all
        .find("balance-race")
        .expect("balance-race exists")
        .clone();
    Catalog::from_lessons(vec![l]).expect("catalog")
}

fn app(color: bool) -> App {
    app_with(catalog(), color)
}

fn app_with(catalog: Catalog, color: bool) -> App {
    App::new(
        catalog,
        Lang::En,
        AppOptions {
            theme: Theme { color },
            seed: 7,
            state_file: None,
            predict: false,
        },
    )
}

/// The lesson opened with one iteration per thread, as the tutorials step it.
fn lesson(color: bool) -> App {
    let mut a = app(color);
    a.open("balance-race").expect("opens");
    a.set_knob("iterations", "1").expect("knob");
    a.set_knob("gil", "gil-classic").expect("knob");
    a
}

fn key(a: &mut App, code: KeyCode) {
    a.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn keys(a: &mut App, s: &str) {
    for c in s.chars().filter(|c| !c.is_whitespace()) {
        key(a, KeyCode::Char(c));
    }
}

fn render(a: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| draw(a, f)).expect("draws");
    t
}

fn text(b: &Buffer) -> String {
    let mut s = String::new();
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            s.push_str(b[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

/// A row as a person reads it: a wide character's second cell is not a space.
fn wide_line(b: &Buffer, y: u16) -> String {
    let mut s = String::new();
    let mut x = 0;
    while x < b.area.width {
        let sym = b[(x, y)].symbol();
        s.push_str(sym);
        x += unicode_width::UnicodeWidthStr::width(sym).max(1) as u16;
    }
    s
}

fn wide_text(b: &Buffer) -> String {
    (0..b.area.height).map(|y| wide_line(b, y) + "\n").collect()
}

/// (x, y) of the first occurrence of `needle` on screen.
fn find(b: &Buffer, needle: &str) -> Option<(u16, u16)> {
    for y in 0..b.area.height {
        let line: Vec<&str> = (0..b.area.width).map(|x| b[(x, y)].symbol()).collect();
        let joined: String = line.concat();
        if let Some(byte) = joined.find(needle) {
            // Every cell here holds one char, so the char index is the column.
            let col = joined[..byte].chars().count();
            return Some((col as u16, y));
        }
    }
    None
}

#[test]
fn browser_lists_the_lessons() {
    let mut a = app(true);
    let t = render(&mut a, 80, 24);
    insta::assert_snapshot!("browser_80x24", t.backend());
}

#[test]
fn lesson_screen_80x24_after_the_narrated_interleaving() {
    let mut a = lesson(true);
    keys(&mut a, NARRATED);
    let t = render(&mut a, 80, 24);
    let s = text(t.backend().buffer());
    assert!(s.contains("balance -8"), "{s}");
    assert!(s.contains("overwritten writes (rows marked !): 1"), "{s}");
    assert!(s.contains("0x4 1x5 2x6 1x5 2x4 1x4 2x4 0x5"), "{s}");
    insta::assert_snapshot!("lesson_80x24_narrated", t.backend());
}

#[test]
fn lesson_screen_160x48_mid_race() {
    let mut a = lesson(true);
    keys(&mut a, "0000 11111 222222 11111");
    let t = render(&mut a, 160, 48);
    insta::assert_snapshot!("lesson_160x48_mid_race", t.backend());
}

#[test]
fn help_overlay_lists_the_keys_and_any_key_closes_it() {
    let mut a = lesson(true);
    key(&mut a, KeyCode::Char('?'));
    let t = render(&mut a, 80, 24);
    insta::assert_snapshot!("help_overlay", t.backend());
    // Taller than 24 rows: ↓ scrolls to the last keys and the legend.
    assert!(!text(t.backend().buffer()).contains("Ctrl-C"));
    for _ in 0..20 {
        key(&mut a, KeyCode::Down);
    }
    let s = text(render(&mut a, 80, 24).backend().buffer());
    assert!(s.contains("Ctrl-C"), "{s}");
    assert!(s.contains("timeline: "), "the legend:\n{s}");
    key(&mut a, KeyCode::Char('q'));
    let s = text(render(&mut a, 80, 24).backend().buffer());
    assert!(!s.contains("any key closes"));
    assert!(
        s.contains("STEP"),
        "q closed the help but stayed in the lesson"
    );
}

#[test]
fn a_small_terminal_gets_one_line_asking_for_more_room() {
    let mut a = lesson(true);
    let t = render(&mut a, 60, 10);
    insta::assert_snapshot!("too_small", t.backend());
}

#[test]
fn each_actor_has_a_coloured_marker_on_its_line() {
    let mut a = lesson(true);
    // `i` hides the lesson text, so the code has the whole column.
    keys(&mut a, "i 0000 11");
    let b = render(&mut a, 120, 40).backend().buffer().clone();
    // MainThread is at `t1.join()` and t1 inside its loop: their markers are the
    // digits of their keys, on their actors' colours.
    let (_, y) = find(&b, "t1.join()").expect("code shows t1.join()");
    let row: String = (0..40).map(|x| b[(x, y)].symbol()).collect();
    let x = row
        .chars()
        .position(|c| c == '0')
        .expect("marker 0 on the join line") as u16;
    assert_eq!(b[(x, y)].bg, Color::Cyan);
    let t1_marker = (0..b.area.height).find_map(|y| {
        (0..40).find(|&x| b[(x, y)].symbol() == "1" && b[(x, y)].bg == Color::Yellow)
    });
    assert!(t1_marker.is_some(), "t1's marker is yellow:\n{}", text(&b));
}

#[test]
fn a_blocked_thread_is_red_in_the_timeline_and_named_in_the_state() {
    let mut a = lesson(true);
    a.set_knob("lock", "on").expect("knob");
    keys(&mut a, "0000 1111 22");
    let b = render(&mut a, 120, 40).backend().buffer().clone();
    let s = text(&b);
    assert!(s.contains("held by t1 · waiting: t2"), "{s}");
    assert!(s.contains("t2: blocked on lock"), "{s}");
    let (_, ty) = find(&b, "timeline").expect("timeline panel");
    let t2_row = (ty..b.area.height)
        .find(|&y| {
            let line: String = (0..b.area.width).map(|x| b[(x, y)].symbol()).collect();
            line.trim_start_matches('│').starts_with("t2")
        })
        .expect("timeline row of t2");
    let last = (0..b.area.width)
        .rfind(|&x| b[(x, t2_row)].symbol() == "▒")
        .expect("t2's row shows blocked cells");
    assert_eq!(b[(last, t2_row)].fg, Color::Red);
}

#[test]
fn the_row_that_loses_an_update_is_marked() {
    let mut a = lesson(true);
    keys(&mut a, "0000 11111 222222 11111");
    let b = render(&mut a, 160, 48).backend().buffer().clone();
    // The mark on the interleaving's row (the state panel's legend has one too).
    let (_, y) = (0..b.area.height)
        .flat_map(|y| (0..b.area.width).map(move |x| (x, y)))
        .find(|&(x, y)| b[(x, y)].symbol() == "!" && b[(x, y)].bg == Color::Red)
        .expect("a lost-update mark");
    let row: String = (0..b.area.width).map(|x| b[(x, y)].symbol()).collect();
    assert!(row.contains("wrote balance = 5"), "{row}");
}

#[test]
fn stepping_back_returns_to_the_earlier_screen_exactly() {
    let mut a = lesson(true);
    keys(&mut a, "0000 11111 2222");
    let before = text(render(&mut a, 120, 40).backend().buffer());
    keys(&mut a, "2 2 1");
    key(&mut a, KeyCode::Char('b'));
    key(&mut a, KeyCode::Backspace);
    key(&mut a, KeyCode::Char('b'));
    let after = text(render(&mut a, 120, 40).backend().buffer());
    assert_eq!(before, after);
}

#[test]
fn the_modern_gil_refuses_a_switch_inside_change_it_and_says_why() {
    let mut a = lesson(true);
    a.set_knob("gil", "gil-modern").expect("knob");
    keys(&mut a, "0000 11111 2");
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(
        s.contains("t2 waits for the GIL: t1 holds it"),
        "status line explains the refusal:\n{s}"
    );
    assert!(
        s.contains("step 9 "),
        "the refused step was not taken:\n{s}"
    );
}

#[test]
fn the_lock_keeps_balance_at_zero_and_the_change_says_it_reran() {
    let mut a = lesson(true);
    keys(&mut a, NARRATED);
    key(&mut a, KeyCode::Char('l'));
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("lock=on: re-running from the start"), "{s}");
    assert!(s.contains("step 0 "), "{s}");
    key(&mut a, KeyCode::Char('e'));
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("balance 0"), "{s}");
    assert!(s.contains("overwritten writes (rows marked !): 0"), "{s}");
    assert!(s.contains("finished"), "{s}");
}

#[test]
fn the_knob_editor_sets_a_number_and_reruns() {
    let mut a = app(true);
    a.open("balance-race").expect("opens");
    key(&mut a, KeyCode::Char('k'));
    key(&mut a, KeyCode::Down);
    keys(&mut a, "3");
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Esc);
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("iterations=3"), "{s}");
    assert!(
        s.contains("range(3)"),
        "the code shows the new knob value:\n{s}"
    );
    assert!(s.contains("iterations=3: re-running from the start"), "{s}");
}

#[test]
fn no_color_draws_without_colours_but_keeps_the_markers() {
    let mut a = lesson(false);
    keys(&mut a, "0000 11111 222222 11111");
    let b = render(&mut a, 120, 40).backend().buffer().clone();
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            let c = &b[(x, y)];
            assert_eq!(c.fg, Color::Reset, "colour at {x},{y}");
            assert_eq!(c.bg, Color::Reset, "colour at {x},{y}");
        }
    }
    let (x, y) = find(&b, "!").expect("lost-update mark");
    assert!(
        b[(x, y)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    );
}

#[test]
fn a_finished_lesson_is_marked_in_the_browser() {
    let mut a = lesson(true);
    key(&mut a, KeyCode::Char('e'));
    key(&mut a, KeyCode::Char('q'));
    let s = text(render(&mut a, 80, 24).backend().buffer());
    assert!(s.contains("✓ balance-race"), "{s}");
}

#[test]
fn ctrl_c_quits_from_anywhere() {
    let mut a = lesson(true);
    key(&mut a, KeyCode::Char('k'));
    a.handle(Event::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert!(a.quit);
}

#[test]
fn esc_typed_just_before_a_key_is_both_keys() {
    let mut a = lesson(true);
    key(&mut a, KeyCode::Char('k'));
    a.handle(Event::Key(KeyEvent::new(
        KeyCode::Char('g'),
        KeyModifiers::ALT,
    )));
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(!s.contains("knobs · a change"), "the editor closed:\n{s}");
    assert!(s.contains("gil=gil-modern: re-running"), "{s}");
}

#[test]
fn the_bytecode_view_marks_each_actors_next_instruction() {
    let mut a = lesson(true);
    keys(&mut a, "i 0000 11 d");
    let b = render(&mut a, 120, 40).backend().buffer().clone();
    let s = text(&b);
    assert!(s.contains("bytecode (dis)"), "{s}");
    assert!(
        s.contains("── t1, t2 ──"),
        "t1 and t2 share one listing:\n{s}"
    );
    // t1 ran FOR_ITER and CALL change_it: its next instruction is pc 2.
    let (x, y) = find(&b, "2 LOAD_GLOBAL balance").expect("pc 2 of run_thread");
    let row: Vec<&str> = (0..x).map(|x| b[(x, y)].symbol()).collect();
    let m = row
        .iter()
        .position(|c| *c == "1")
        .expect("t1's marker on pc 2") as u16;
    assert_eq!(b[(m, y)].bg, Color::Yellow);
    // MainThread waits at its join.
    let (x, y) = find(&b, "CALL t1.join").expect("MainThread's join");
    let row: String = (0..x).map(|x| b[(x, y)].symbol()).collect();
    assert!(row.contains('0'), "MainThread's marker on its join: {row}");
}

#[test]
fn the_timeline_zooms_and_says_by_how_much() {
    let mut a = lesson(true);
    a.set_knob("iterations", "1000").expect("knob");
    keys(&mut a, "e");
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(!s.contains("zoom ×"), "{s}");
    keys(&mut a, "]]");
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("zoom ×4"), "{s}");
    keys(&mut a, "[[");
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(!s.contains("zoom ×"), "{s}");
    // Zooming in stops where a column is one step, and the title says the truth.
    for _ in 0..30 {
        keys(&mut a, "]");
        render(&mut a, 120, 40);
    }
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("as far as it goes"), "{s}");
    let factor: u64 = s
        .split("zoom ×")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a zoom factor");
    assert!(
        (64..=1024).contains(&factor),
        "×{factor} for ~24 000 steps over ~50 columns"
    );
}

#[test]
fn a_live_run_finishes_and_prints_the_balance_it_shows() {
    let mut a = lesson(true);
    keys(&mut a, "i m");
    let start = std::time::Instant::now();
    while a.animating() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "the live run never ended"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
        a.tick();
    }
    let b = render(&mut a, 120, 40).backend().buffer().clone();
    let s = text(&b);
    assert!(s.contains(" LIVE "), "{s}");
    assert!(s.contains("finished"), "{s}");
    // Real threads decide the value; whatever it is, print shows what the state shows.
    let shown = s
        .lines()
        .find_map(|l| l.split("│balance ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .expect("balance in the state panel")
        .to_string();
    let (_, oy) = find(&b, "output").expect("output panel");
    let printed: String = (0..b.area.width)
        .map(|x| b[(x, oy + 1)].symbol())
        .collect::<String>();
    assert!(
        printed.contains(&format!("│{shown} ")),
        "printed {printed:?}, state shows {shown}"
    );
}

#[test]
fn the_state_panel_shows_each_threads_own_local_dictionary() {
    let mut a = app_with(Catalog::embedded().expect("embedded lessons load"), false);
    a.open("thread-local").expect("opens");
    keys(&mut a, "e");
    let t = render(&mut a, 120, 40);
    let s = text(t.backend().buffer());
    assert!(
        s.contains("Thread-A: done (exit code 0)  local {'student': 'Alice'}"),
        "{s}"
    );
    assert!(
        s.contains("Thread-B: done (exit code 0)  local {'student': 'Bob'}"),
        "{s}"
    );
    assert!(
        s.contains("MainThread: done (exit code 0)  local {}"),
        "{s}"
    );
}

#[test]
fn long_thread_names_are_cut_with_an_ellipsis_and_kept_apart() {
    let mut a = app_with(Catalog::embedded().expect("embedded lessons load"), false);
    a.open("gil").expect("opens");
    let t = render(&mut a, 120, 40);
    let screen = text(t.backend().buffer());
    let header = screen
        .lines()
        .find(|l| l.contains("MainThread") && l.contains("Thread-1"))
        .expect("the interleaving names every thread");
    // Four threads share 58 columns: each name gets its column less one space.
    assert!(header.contains("Thread-1 (co… Thread-2 (co…"), "{header}");
}

#[test]
fn a_lesson_opens_with_its_text_which_scrolls_and_hides() {
    let mut a = app(true);
    a.open("balance-race").expect("opens");
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("lesson · i: hide"), "{s}");
    assert!(s.contains("looks like one step"), "the explanation:\n{s}");
    // Inline code loses its backticks and keeps a style of its own.
    assert!(!s.contains('`'), "{s}");
    assert!(s.contains('↓'), "an arrow says the text goes on:\n{s}");
    // The text has focus when the lesson opens: ↓ scrolls it down to the notes.
    let (mut seen_heading, mut seen_errata) = (false, false);
    for _ in 0..200 {
        key(&mut a, KeyCode::Down);
        let s = text(render(&mut a, 120, 40).backend().buffer());
        seen_heading |= s.contains("Measured on CPython");
        seen_errata |= s.contains("The tutorial says / CPython does");
    }
    assert!(seen_heading, "the notes' heading scrolled past");
    assert!(seen_errata, "the tutorials' errata come after the notes");
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("threading.Lock()."), "the last erratum:\n{s}");
    assert!(!s.contains('↓'), "nothing more below:\n{s}");
    key(&mut a, KeyCode::Char('i'));
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(!s.contains("looks like one step"), "hidden:\n{s}");
    assert!(
        s.contains("i lesson text"),
        "the footer says how to get it back:\n{s}"
    );
}

#[test]
fn at_80x24_the_text_takes_the_code_panel_place_until_hidden() {
    let mut a = app(true);
    a.open("balance-race").expect("opens");
    let s = text(render(&mut a, 80, 24).backend().buffer());
    assert!(s.contains("lesson · i: hide"), "{s}");
    assert!(!s.contains("code · d: bytecode"), "{s}");
    key(&mut a, KeyCode::Char('i'));
    let s = text(render(&mut a, 80, 24).backend().buffer());
    assert!(s.contains("code · d: bytecode"), "{s}");
}

#[test]
fn under_lang_zh_the_lesson_text_is_chinese_and_wrapped_by_display_width() {
    let mut a = App::new(
        catalog(),
        Lang::Zh,
        AppOptions {
            theme: Theme { color: false },
            seed: 7,
            state_file: None,
            predict: false,
        },
    );
    a.open("balance-race").expect("opens");
    // At 80×24 the tour has the panel first; T puts it away for the text.
    let s = wide_text(render(&mut a, 80, 24).backend().buffer());
    assert!(s.contains("导览 · 第 1 步"), "the tour comes first:\n{s}");
    assert!(s.contains("操作："), "what to do is never cut off:\n{s}");
    keys(&mut a, "T");
    let t = render(&mut a, 80, 24);
    let b = t.backend().buffer();
    let s = wide_text(b);
    assert!(s.contains("课文"), "{s}");
    // (No line may start with `，`, so 步 goes down with it.)
    assert!(s.contains("看起来是一"), "{s}");
    // Every row of the text panel keeps its right border in place: wide
    // characters were counted as two columns.
    let y = (0..b.area.height)
        .find(|&y| wide_line(b, y).contains("课文"))
        .expect("the panel title");
    let x = 0;
    let right = (x..b.area.width)
        .find(|&c| b[(c, y)].symbol() == "┐")
        .expect("the panel's corner");
    for row in y + 1..y + 8 {
        assert_eq!(b[(right, row)].symbol(), "│", "row {row}:\n{s}");
    }
}

#[test]
fn an_actor_past_9_is_stepped_from_the_state_panel() {
    let mut a = app_with(Catalog::embedded().expect("embedded lessons load"), false);
    a.open("value-race").expect("opens");
    // MainProcess starts all ten processes: step it until Process-10 exists.
    for _ in 0..12 {
        keys(&mut a, "0");
    }
    // Focus the state panel (lesson → code → interleaving → state).
    for _ in 0..3 {
        key(&mut a, KeyCode::Tab);
    }
    for _ in 0..10 {
        key(&mut a, KeyCode::Down);
    }
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("Enter steps it"), "{s}");
    assert!(s.contains("10 Process-10: ready"), "{s}");
    key(&mut a, KeyCode::Enter);
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("10 Process-10: running"), "{s}");
    // The interleaving header keeps its number whole.
    assert!(s.contains("-10"), "{s}");
    assert!(!s.contains("Pro… Pro…"), "{s}");
}

#[test]
fn going_live_and_back_keeps_the_stepped_run() {
    let mut a = lesson(false);
    keys(&mut a, "0000 11");
    let before = text(render(&mut a, 120, 40).backend().buffer());
    assert!(before.contains("step 6"), "{before}");
    keys(&mut a, "m");
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains(" LIVE "), "{s}");
    keys(&mut a, "m");
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains(" STEP "), "{s}");
    assert!(s.contains("step 6"), "back where it was:\n{s}");
    assert!(s.contains("back where you were"), "{s}");
}

#[test]
fn the_jump_keys_go_to_the_lost_update_and_back() {
    let mut a = lesson(true);
    // The tutorial's run, then back to the start: `>` follows that same run.
    keys(&mut a, NARRATED);
    key(&mut a, KeyCode::Home);
    // From the start, `>` stops at each moment; one of them is the overwritten
    // write, and there the row is marked and explained.
    let mut found = None;
    for i in 0..30 {
        keys(&mut a, ">");
        let s = text(render(&mut a, 120, 40).backend().buffer());
        if s.contains("overwrote a write it never read") {
            found = Some((i, s));
            break;
        }
    }
    let (_, s) = found.expect("> reaches the lost update");
    assert!(s.contains("! red row: this store overwrote"), "{s}");
    let step_here: String = s
        .split("· step ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("a step number")
        .to_string();
    // `<` goes to an earlier moment, `>` comes back to the same step.
    keys(&mut a, "<");
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(!s.contains(&format!("· step {step_here} ")), "{s}");
    keys(&mut a, ">");
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains(&format!("· step {step_here} ")), "{s}");
}

#[test]
fn colon_goes_to_a_step_and_home_and_end_to_the_ends() {
    let mut a = lesson(true);
    keys(&mut a, NARRATED);
    key(&mut a, KeyCode::Home);
    keys(&mut a, ":12");
    key(&mut a, KeyCode::Enter);
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("· step 12 "), "{s}");
    key(&mut a, KeyCode::End);
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("finished"), "{s}");
    // End followed the tutorial's run, not a new one.
    assert!(s.contains("balance -8"), "{s}");
    key(&mut a, KeyCode::Home);
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("· step 0 "), "{s}");
    // The timeline at the end marks the lost update with `!`.
    key(&mut a, KeyCode::End);
    let b = render(&mut a, 120, 40).backend().buffer().clone();
    let (_, y) = find(&b, "timeline").expect("timeline");
    let marked = (y..b.area.height)
        .any(|y| (0..60).any(|x| b[(x, y)].symbol() == "!" && b[(x, y)].bg == Color::Red));
    assert!(marked, "{}", text(&b));
}

#[test]
fn several_commands_between_two_frames_show_what_one_per_frame_shows() {
    // `0000 1` then `b 2` with no frame between: the screen must say t2 ran.
    let mut one = lesson(false);
    keys(&mut one, "00001");
    render(&mut one, 120, 40);
    keys(&mut one, "b");
    render(&mut one, 120, 40);
    keys(&mut one, "2");
    let per_frame = text(render(&mut one, 120, 40).backend().buffer());
    let mut batch = lesson(false);
    keys(&mut batch, "00001");
    render(&mut batch, 120, 40);
    keys(&mut batch, "b2");
    let batched = text(render(&mut batch, 120, 40).backend().buffer());
    assert_eq!(per_frame, batched);
}

fn zh_app() -> App {
    App::new(
        catalog(),
        Lang::Zh,
        AppOptions {
            theme: Theme { color: false },
            seed: 7,
            state_file: None,
            predict: false,
        },
    )
}

#[test]
fn under_lang_zh_the_screen_chrome_is_chinese() {
    let mut a = zh_app();
    a.open("balance-race").expect("opens");
    a.set_knob("iterations", "1").expect("knob");
    keys(&mut a, NARRATED);
    let t = render(&mut a, 120, 40);
    let s = wide_text(t.backend().buffer());
    for zh in [
        "单步",
        "已结束",
        "种子",
        "调度",
        "课文",
        "交错执行",
        "状态",
        "时间线",
        "输出",
        "帮助",
        "返回",
    ] {
        assert!(s.contains(zh), "{zh} missing:\n{s}");
    }
    // Outside the code, the program's names and the interleaving's instructions,
    // none of the screen's own English words is left.
    for en in [
        " paused",
        "finished",
        "schedule:",
        " lesson ",
        " state ",
        " output ",
        "timeline",
        "interleaving",
        " help ",
        "new seed",
        "lost updates",
        "not started",
        "ready",
    ] {
        assert!(!s.contains(en), "English {en:?} left under --lang zh:\n{s}");
    }
    insta::assert_snapshot!("lesson_zh_120x40_narrated", t.backend());
}

#[test]
fn l_switches_the_language_inside_the_app() {
    let mut a = lesson(false);
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("new seed"), "{s}");
    keys(&mut a, "L");
    let s = wide_text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("新种子"), "{s}");
    assert!(s.contains("看起来是一步") || s.contains("课文"), "{s}");
    keys(&mut a, "L");
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains("new seed"), "{s}");
}

#[test]
fn every_key_in_the_help_does_something() {
    // Each key the help lists changes the screen or the status line when pressed
    // on a fresh lesson (or opens something), so the help never lists a dead key.
    use interleave::ui::HELP;
    for (keys_text, _) in HELP {
        for k in keys_text.split_whitespace() {
            let code = match k {
                "space" => KeyCode::Char(' '),
                "Enter" => KeyCode::Enter,
                "End" => KeyCode::End,
                "Home" => KeyCode::Home,
                "Tab" => KeyCode::Tab,
                "Esc" => KeyCode::Esc,
                "⌫" => KeyCode::Backspace,
                "0-9" => KeyCode::Char('1'),
                "wheel" | "Ctrl-C" => continue,
                k if k.chars().count() == 1 => KeyCode::Char(k.chars().next().unwrap_or(' ')),
                other => panic!("the help lists a key no test knows: {other}"),
            };
            let mut a = lesson(false);
            // A state worth acting on: a few steps in, the state panel focused for Enter.
            keys(&mut a, "0000 11");
            if code == KeyCode::Enter {
                for _ in 0..3 {
                    key(&mut a, KeyCode::Tab);
                }
            }
            let before = text(render(&mut a, 120, 40).backend().buffer());
            key(&mut a, code);
            let after = text(render(&mut a, 120, 40).backend().buffer());
            assert_ne!(before, after, "key {k:?} from the help did nothing");
        }
    }
}

#[test]
fn c_copies_the_command_line_that_replays_the_run() {
    let mut a = lesson(false);
    // The app asks the loop to copy (OSC 52): the effect carries the text.
    let copy = |a: &mut App| {
        a.handle(Event::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::NONE,
        )))
        .copy
    };
    assert_eq!(
        copy(&mut a).as_deref(),
        Some("interleave balance-race --set iterations=1 --seed 374487")
    );
    keys(&mut a, "0000 11");
    let line = copy(&mut a).expect("copied");
    assert_eq!(
        line,
        "interleave balance-race --set iterations=1 --schedule '0x4 1x2'"
    );
    let s = text(render(&mut a, 120, 40).backend().buffer());
    assert!(s.contains(&format!("copied: {line}")), "{s}");
}

#[test]
fn presenter_mode_keeps_code_and_interleaving_and_drops_the_rest() {
    let mut a = lesson(true);
    keys(&mut a, NARRATED);
    keys(&mut a, "P");
    let t = render(&mut a, 80, 24);
    let s = text(t.backend().buffer());
    for shown in [
        "tour · step 1 of 8",
        "do: ",
        "code · d: bytecode",
        "interleaving",
        "state",
        "balance -8",
    ] {
        assert!(s.contains(shown), "{shown}:\n{s}");
    }
    for gone in ["timeline", "output"] {
        assert!(!s.contains(gone), "{gone} in presenter mode:\n{s}");
    }
    insta::assert_snapshot!("present_80x24_narrated", t.backend());
    // Tab never lands on a panel that is not there.
    for _ in 0..8 {
        key(&mut a, KeyCode::Tab);
        let s = text(render(&mut a, 80, 24).backend().buffer());
        assert!(s.contains('▶'), "focus on a hidden panel:\n{s}");
    }
    keys(&mut a, "P");
    let s = text(render(&mut a, 80, 24).backend().buffer());
    assert!(s.contains("timeline"), "{s}");
}

/// Presses `>` until the status names a task reusing a worker, or the run has
/// no moment ahead; returns the worker named each time.
fn reuse_moments(a: &mut App) -> Vec<String> {
    let mut found = Vec::new();
    for _ in 0..200 {
        keys(a, ">");
        let s = text(render(a, 120, 40).backend().buffer());
        if s.contains("no moment ahead") {
            return found;
        }
        if let Some(at) = s.find(" takes another task: the same worker process") {
            let who = s[..at].rsplit(' ').next().unwrap_or_default().to_string();
            found.push(who);
        }
    }
    panic!("`>` never ran out of moments");
}

#[test]
fn the_jump_keys_stop_where_a_pool_task_reuses_a_worker() {
    let mut a = app_with(Catalog::embedded().expect("lessons"), false);
    a.open("pool").expect("opens");
    a.set_knob("size", "4").expect("knob");
    a.set_knob("tasks", "5").expect("knob");
    // Four workers, five tasks: only task 4 runs in a worker that ran one before.
    let first = reuse_moments(&mut a);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].starts_with("ForkPoolWorker-"), "{first:?}");
    // Two workers, five tasks: tasks 2, 3 and 4 reuse a worker.
    a.set_knob("size", "2").expect("knob");
    let second = reuse_moments(&mut a);
    assert_eq!(second.len(), 3, "{second:?}");
    // In Chinese, the same moment has its own words.
    a.set_knob("size", "4").expect("knob");
    keys(&mut a, "L");
    let mut seen = false;
    for _ in 0..200 {
        keys(&mut a, ">");
        let s = wide_text(render(&mut a, 120, 40).backend().buffer());
        if s.contains("又领到一个任务") {
            seen = true;
            break;
        }
    }
    assert!(seen, "the moment is labelled in Chinese");
}

/// Words of four or more ASCII letters on a `--lang zh` screen that are not the
/// lesson's own: not in its code, not an actor, variable or lock name, not a knob
/// name or value, and not one of a few names that stay as they are (GIL, CPython,
/// the key names). Each is English left untranslated.
fn english_left(screen: &str, lesson: &interleave::lesson::Lesson) -> Vec<String> {
    let knobs = lesson.default_knobs();
    let mut own = format!("{} {}", lesson.id, lesson.code(&knobs));
    let program = interleave::scenarios::build(lesson, &knobs).expect("builds");
    for a in &program.actors {
        own.push(' ');
        own.push_str(&a.name);
    }
    for k in &lesson.knobs {
        own.push(' ');
        own.push_str(&k.name);
        if let interleave::lesson::KnobKind::Choice { options, .. } = &k.kind {
            own.push(' ');
            own.push_str(&options.join(" "));
        }
    }
    let allowed = [
        "CPython",
        "Python",
        "GIL",
        "PID",
        "Home",
        "End",
        "Enter",
        "Space",
        "Tab",
        "Shift",
        "Ctrl",
        "Esc",
        "Backspace",
        "jsonl",
        "None",
        "True",
        "False",
        "space",
        "PgUp",
        "PgDn",
        "wheel",
        // Python's own `time.sleep`, named in the speed key's help.
        "sleep",
        // The key that switches to English names it in English.
        "English",
    ];
    // An instruction's name is code: LOAD_GLOBAL, STORE_GLOBAL, RETURN_CONST.
    let opcode = |w: &str| w.chars().all(|c| c.is_ascii_uppercase());
    // A timeline glyph repeated along a row (`gggg`: waits for the GIL).
    let glyphs = |w: &str| w.chars().all(|c| w.starts_with(c));
    let mut out = Vec::new();
    for word in screen.split(|c: char| !c.is_ascii_alphabetic()) {
        if word.len() >= 4
            && !allowed.contains(&word)
            && !own.contains(word)
            && !opcode(word)
            && !glyphs(word)
        {
            out.push(word.to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

fn zh_lesson(app: App) -> App {
    let mut a = app;
    a.open("balance-race").expect("opens");
    a.set_knob("iterations", "1").expect("knob");
    a
}

#[test]
fn zh_screens_mid_run_help_and_question_have_no_english_outside_code() {
    let lesson = catalog().find("balance-race").expect("lesson").clone();
    // Mid-run under the modern GIL: the rows' notes and a refused step.
    let mut a = zh_lesson(zh_app());
    a.set_knob("gil", "gil-modern").expect("knob");
    keys(&mut a, "0000 11111 2");
    let t = render(&mut a, 120, 40);
    let s = wide_text(t.backend().buffer());
    assert!(
        s.contains("在等 GIL：t1 持有它"),
        "the refusal is Chinese:\n{s}"
    );
    assert!(
        s.contains("读到 balance"),
        "the rows' notes are Chinese:\n{s}"
    );
    let left = english_left(&s, &lesson);
    assert!(left.is_empty(), "English under --lang zh: {left:?}\n{s}");
    insta::assert_snapshot!("zh_mid_run_refused_120x40", t.backend());

    // The help overlay, with its legend.
    keys(&mut a, "?");
    let t = render(&mut a, 120, 40);
    let s = wide_text(t.backend().buffer());
    let left = english_left(&s, &lesson);
    assert!(left.is_empty(), "English in the zh help: {left:?}\n{s}");
    insta::assert_snapshot!("zh_help_overlay_120x40", t.backend());
}

fn predicting(lang: Lang) -> App {
    let mut a = App::new(
        catalog(),
        lang,
        AppOptions {
            theme: Theme { color: false },
            seed: 7,
            state_file: None,
            predict: true,
        },
    );
    a.open("balance-race").expect("opens");
    a
}

#[test]
fn the_prediction_overlay_in_both_languages() {
    let lesson = catalog().find("balance-race").expect("lesson").clone();
    let mut a = predicting(Lang::En);
    let t = render(&mut a, 120, 40);
    let s = text(t.backend().buffer());
    assert!(s.contains("predict, then run"), "{s}");
    assert!(s.contains(" 1  0, in most runs"), "{s}");
    insta::assert_snapshot!("predict_overlay_en_120x40", t.backend());
    let mut a = predicting(Lang::Zh);
    let t = render(&mut a, 120, 40);
    let s = wide_text(t.backend().buffer());
    assert!(s.contains("先预测，再运行"), "{s}");
    let left = english_left(&s, &lesson);
    assert!(left.is_empty(), "English in the zh question: {left:?}\n{s}");
    insta::assert_snapshot!("predict_overlay_zh_120x40", t.backend());
}

#[test]
fn run_lang_zh_prints_its_report_in_chinese() {
    let lesson = catalog().find("balance-race").expect("lesson").clone();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_interleave"))
        .args(["run", "balance-race", "--lang", "zh", "--seed", "1"])
        .args(["--set", "iterations=1", "--set", "gil=free"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(s.contains("读到 balance = 0"), "{s}");
    assert!(s.contains("结束（退出码 0）"), "{s}");
    // The command line to run it again is code: it is left out of the scan.
    let body: String = s
        .lines()
        .filter(|l| !l.contains("interleave run"))
        .collect();
    let left = english_left(&body, &lesson);
    assert!(left.is_empty(), "English in `run --lang zh`: {left:?}\n{s}");
    insta::assert_snapshot!("run_lang_zh_text", s);
}

#[test]
fn a_timeline_too_short_for_every_actor_says_how_many_are_not_drawn() {
    let mut a = app_with(Catalog::embedded().expect("lessons"), false);
    a.open("value-race").expect("opens");
    keys(&mut a, "s");
    // MainProcess and ten children: at 80x24 the timeline has rows for two.
    let small = text(render(&mut a, 80, 24).backend().buffer());
    assert!(small.contains("│MainProcess"), "{small}");
    assert!(
        small.contains("│+9 more: the state panel lists all"),
        "{small}"
    );
    let big = text(render(&mut a, 200, 80).backend().buffer());
    assert!(!big.contains("more: the state panel"), "{big}");
    assert!(big.contains("│Process-10"), "{big}");
}
