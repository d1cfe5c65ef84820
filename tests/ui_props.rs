//! Any keys at any terminal size: the playground never panics.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use interleave::catalog::Catalog;
use interleave::lesson::Lang;
use interleave::ui::{App, AppOptions, Screen, Theme, draw};
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Every key the screens react to, and a few they do not. `m` (live: real
/// threads) and the knob editor's typed numbers are left to their own tests, so
/// that a random run cannot ask for ten million iterations.
const KEYS: &[KeyCode] = &[
    KeyCode::Char(' '),
    KeyCode::Char('s'),
    KeyCode::Char('.'),
    KeyCode::Char('0'),
    KeyCode::Char('1'),
    KeyCode::Char('2'),
    KeyCode::Char('3'),
    KeyCode::Char('9'),
    KeyCode::Char('b'),
    KeyCode::Backspace,
    KeyCode::Char('e'),
    KeyCode::Char('r'),
    KeyCode::Char('n'),
    KeyCode::Char('l'),
    KeyCode::Char('g'),
    KeyCode::Char('t'),
    KeyCode::Char('d'),
    KeyCode::Char('+'),
    KeyCode::Char('-'),
    KeyCode::Char('?'),
    KeyCode::Char('['),
    KeyCode::Char(']'),
    KeyCode::Char('x'),
    KeyCode::Tab,
    KeyCode::BackTab,
    KeyCode::Up,
    KeyCode::Down,
    KeyCode::Left,
    KeyCode::Right,
    KeyCode::PageUp,
    KeyCode::PageDown,
    KeyCode::Home,
    KeyCode::End,
    KeyCode::Enter,
    KeyCode::Esc,
    KeyCode::Char('q'),
];

#[derive(Clone, Debug)]
enum Input {
    Key(usize),
    Wheel(bool, u16, u16),
    Resize(u16, u16),
    Tick,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        8 => (0..KEYS.len()).prop_map(Input::Key),
        1 => (any::<bool>(), 0u16..300, 0u16..100).prop_map(|(u, x, y)| Input::Wheel(u, x, y)),
        1 => (1u16..=300, 1u16..=100).prop_map(|(w, h)| Input::Resize(w, h)),
        1 => Just(Input::Tick),
    ]
}

fn catalog() -> Catalog {
    let all = Catalog::embedded().expect("embedded lessons load");
    let l = all.find("balance-race").expect("balance-race").clone();
    Catalog::from_lessons(vec![l]).expect("catalog")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_keys_at_any_size_never_panic(
        w in 1u16..=300,
        h in 1u16..=100,
        inputs in proptest::collection::vec(input(), 0..60),
    ) {
        let mut app = App::new(catalog(), Lang::En, AppOptions {
            theme: Theme { color: true },
            seed: 3,
            state_file: None,
            predict: false,
        });
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        term.draw(|f| draw(&app, f)).expect("the browser draws");
        app.open("balance-race").expect("opens");
        app.set_knob("iterations", "2").expect("knob");
        term.draw(|f| draw(&app, f)).expect("draw");
        for i in inputs {
            match i {
                Input::Key(k) => {
                    app.handle(Event::Key(KeyEvent::new(KEYS[k], KeyModifiers::NONE)));
                }
                Input::Wheel(up, x, y) => {
                    app.handle(Event::Mouse(MouseEvent {
                        kind: if up { MouseEventKind::ScrollUp } else { MouseEventKind::ScrollDown },
                        column: x,
                        row: y,
                        modifiers: KeyModifiers::NONE,
                    }));
                }
                Input::Resize(nw, nh) => {
                    term.backend_mut().resize(nw, nh);
                    app.handle(Event::Resize(nw, nh));
                }
                Input::Tick => {
                    app.tick();
                }
            }
            if app.quit {
                break;
            }
            // A closed lesson comes back, so the keys keep reaching the lesson screen.
            if matches!(app.screen, Screen::Browser) {
                app.open("balance-race").expect("opens");
                app.set_knob("iterations", "2").expect("knob");
            }
            term.draw(|f| draw(&app, f)).expect("draw");
        }
    }
}

/// Keys that change the run or what is shown of it, none of whose effect depends
/// on the last frame drawn, and none that starts something real or long (`m`,
/// `x`, `k`, the tour's `D`). Left out by design: the scroll keys, the zoom and the
/// mouse wheel, which are held to what the last frame could show, and Tab, which
/// can focus the state panel, whose window follows the selected actor from frame
/// to frame as a list does.
const COMMANDS: &[KeyCode] = &[
    KeyCode::Char(' '),
    KeyCode::Char('s'),
    KeyCode::Char('.'),
    KeyCode::Char('0'),
    KeyCode::Char('1'),
    KeyCode::Char('2'),
    KeyCode::Char('9'),
    KeyCode::Char('b'),
    KeyCode::Backspace,
    KeyCode::Char('e'),
    KeyCode::End,
    KeyCode::Home,
    KeyCode::Char('>'),
    KeyCode::Char('<'),
    KeyCode::Char(':'),
    KeyCode::Enter,
    KeyCode::Char('r'),
    KeyCode::Char('n'),
    KeyCode::Char('l'),
    KeyCode::Char('g'),
    KeyCode::Char('t'),
    KeyCode::Char('d'),
    KeyCode::Char('i'),
    KeyCode::Char('?'),
    KeyCode::Char('p'),
    KeyCode::Char('L'),
    KeyCode::Esc,
];

/// Mostly steps of each actor, forwards and back (where a stale cache would show
/// one actor's step as another's), among the other commands.
fn command() -> impl Strategy<Value = usize> {
    let step = |c: char| {
        COMMANDS
            .iter()
            .position(|k| *k == KeyCode::Char(c))
            .unwrap_or(0)
    };
    prop_oneof![
        6 => proptest::sample::select(vec![step('0'), step('1'), step('2'), step('s'), step('b')]),
        2 => 0..COMMANDS.len(),
    ]
}

fn lesson_app() -> App {
    let mut app = App::new(
        catalog(),
        Lang::En,
        AppOptions {
            theme: Theme { color: true },
            seed: 5,
            state_file: None,
            predict: false,
        },
    );
    app.open("balance-race").expect("opens");
    app.set_knob("iterations", "2").expect("knob");
    // Without a GIL any actor may step at any time: a step back and another
    // actor's step (where a stale view would show the wrong actor) come often.
    app.set_knob("gil", "free").expect("knob");
    app
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Issue 9: what the screen shows after a run of commands does not depend on
    /// how many frames were drawn between them.
    #[test]
    fn several_commands_between_two_frames_show_what_one_per_frame_shows(
        size in prop_oneof![Just((80u16, 24u16)), Just((120, 40)), Just((200, 60))],
        keys in proptest::collection::vec((command(), proptest::bool::weighted(0.2)), 1..60),
    ) {
        let (w, h) = size;
        let mut per_frame = lesson_app();
        let mut batched = lesson_app();
        let mut t1 = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        let mut t2 = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        t1.draw(|f| draw(&per_frame, f)).expect("draw");
        t2.draw(|f| draw(&batched, f)).expect("draw");
        // The batched app draws now and then (so its caches hold an earlier
        // moment of the run), the other after every command.
        for &(k, frame) in &keys {
            let ev = Event::Key(KeyEvent::new(COMMANDS[k], KeyModifiers::NONE));
            per_frame.handle(ev.clone());
            batched.handle(ev);
            // A closed lesson comes back in both, as in the test above.
            for a in [&mut per_frame, &mut batched] {
                if matches!(a.screen, Screen::Browser) {
                    a.open("balance-race").expect("opens");
                    a.set_knob("iterations", "2").expect("knob");
                    a.set_knob("gil", "free").expect("knob");
                }
            }
            t1.draw(|f| draw(&per_frame, f)).expect("draw");
            if frame {
                t2.draw(|f| draw(&batched, f)).expect("draw");
            }
        }
        // The last frames, each on a fresh terminal: a terminal that drew more
        // frames keeps the second cell of a wide character it has since moved
        // (TestBackend's diffing), which is not what the app drew.
        let last = |a: &App| {
            let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
            t.draw(|f| draw(a, f)).expect("draw");
            t.backend().buffer().clone()
        };
        prop_assert_eq!(last(&per_frame), last(&batched));
    }
}

fn key(app: &mut App, c: char) {
    app.handle(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )));
}

fn frame(app: &App, w: u16, h: u16) -> ratatui::buffer::Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| draw(app, f)).expect("draw");
    t.backend().buffer().clone()
}

/// Issue 9's stale-state bug as it was found: `00001`, then `b2` with no frame
/// between. The step back replays a shorter trace and thread 2's step grows it
/// back to the same length, so a view keyed on the trace's length alone showed
/// thread 1's step where thread 2's was. The screen must be the one a frame
/// after every key gives, and the one `00002` gives.
#[test]
fn a_step_back_and_another_threads_step_between_two_frames_show_that_step() {
    for (w, h) in [(80u16, 24u16), (120, 40), (200, 60)] {
        let mut per_frame = lesson_app();
        let mut batched = lesson_app();
        let mut straight = lesson_app();
        for c in "00001".chars() {
            for a in [&mut per_frame, &mut batched] {
                key(a, c);
                frame(a, w, h);
            }
        }
        let len = |a: &App| match &a.screen {
            Screen::Lesson(ls) => ls.run.trace().total_len(),
            Screen::Browser => 0,
        };
        let before = len(&batched);
        for c in "00002".chars() {
            key(&mut straight, c);
            frame(&straight, w, h);
        }
        key(&mut per_frame, 'b');
        frame(&per_frame, w, h);
        key(&mut per_frame, '2');
        key(&mut batched, 'b');
        key(&mut batched, '2');
        // The scenario is the one the bug needs: the newest step is thread 2's,
        // and the step back left the trace as long as it was.
        for a in [&per_frame, &batched, &straight] {
            let Screen::Lesson(ls) = &a.screen else {
                panic!("the lesson is open");
            };
            let last = ls.run.trace().events.last().map(|e| e.actor);
            assert_eq!(last, Some(2), "thread 2 took the last step");
        }
        assert_eq!(
            len(&batched),
            before,
            "the trace is as long as before the step back"
        );
        let shown = frame(&batched, w, h);
        assert_eq!(
            shown,
            frame(&per_frame, w, h),
            "{w}x{h}: batched against one frame per key"
        );
        assert_eq!(
            shown,
            frame(&straight, w, h),
            "{w}x{h}: `00001 b 2` against `00002`"
        );
    }
}
