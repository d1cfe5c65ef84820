//! The keymap is the whole truth about keys: every key it lists does something a
//! person can see, and every key that does something is listed (so it is in the
//! help, or in the lesson list's footer).

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use interleave::catalog::Catalog;
use interleave::lesson::Lang;
use interleave::ui::keymap::{self, Row};
use interleave::ui::{App, AppOptions, HELP, Overlay, Screen, Theme, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app(catalog: Catalog) -> App {
    App::new(
        catalog,
        Lang::En,
        AppOptions {
            theme: Theme { color: false },
            seed: 7,
            state_file: None,
            predict: false,
        },
    )
}

fn embedded() -> Catalog {
    static ALL: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    ALL.get_or_init(|| Catalog::embedded().expect("embedded lessons load"))
        .clone()
}

fn balance_only() -> Catalog {
    let l = embedded()
        .find("balance-race")
        .expect("balance-race")
        .clone();
    Catalog::from_lessons(vec![l]).expect("catalog")
}

fn press(a: &mut App, code: KeyCode) -> interleave::ui::Effect {
    a.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn screen(a: &mut App) -> String {
    let mut t = Terminal::new(TestBackend::new(120, 40)).expect("test terminal");
    t.draw(|f| draw(a, f)).expect("draws");
    let b = t.backend().buffer().clone();
    let mut s = String::new();
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            s.push_str(b[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

/// Every key a terminal sends without a modifier that the app could react to.
fn candidates() -> Vec<KeyCode> {
    let mut keys: Vec<KeyCode> = (0x20u8..0x7f).map(|b| KeyCode::Char(b as char)).collect();
    keys.extend([
        KeyCode::Enter,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Backspace,
        KeyCode::Esc,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::PageUp,
        KeyCode::PageDown,
        KeyCode::Delete,
        KeyCode::Insert,
    ]);
    keys.extend((1..=12).map(KeyCode::F));
    keys
}

fn bound(rows: &[Row], code: KeyCode) -> bool {
    keymap::lookup(rows, code).is_some()
}

/// Which candidate keys change the screen from any of these starting states.
fn effective(states: &mut dyn FnMut() -> Vec<App>) -> Vec<KeyCode> {
    let mut seen = Vec::new();
    for code in candidates() {
        for mut a in states() {
            let before = screen(&mut a);
            let effect = press(&mut a, code);
            // Quitting and copying show nowhere on the screen.
            if screen(&mut a) != before || a.quit || effect.copy.is_some() {
                seen.push(code);
                break;
            }
        }
    }
    seen
}

/// A few steps into balance-race with one iteration, each panel focused in turn
/// (so Enter and ↑↓ reach the state panel, ←→ the timeline), and each also
/// scrolled down a page (so ↑ and PgUp have somewhere to go).
fn lesson_states() -> Vec<App> {
    (0..14)
        .map(|i| {
            let (tabs, scrolled) = (i / 2, i % 2 == 1);
            let mut a = app(balance_only());
            a.open("balance-race").expect("opens");
            a.set_knob("iterations", "1").expect("knob");
            for c in "000011".chars() {
                press(&mut a, KeyCode::Char(c));
            }
            for _ in 0..tabs {
                press(&mut a, KeyCode::Tab);
            }
            if scrolled {
                // A run long enough to zoom its timeline: run to the end, zoom in,
                // pan once.
                a.set_knob("iterations", "100").expect("knob");
                press(&mut a, KeyCode::Char('e'));
                while a.busy() {
                    a.tick();
                }
                screen(&mut a);
                for code in [KeyCode::PageDown, KeyCode::Down, KeyCode::Char(']')] {
                    press(&mut a, code);
                }
                screen(&mut a);
                press(&mut a, KeyCode::Left);
            }
            a
        })
        .collect()
}

#[test]
fn every_key_that_acts_on_a_lesson_is_in_the_help_and_every_listed_key_acts() {
    let acts = effective(&mut lesson_states);
    for code in &acts {
        assert!(
            bound(keymap::LESSON, *code),
            "{code:?} changes the lesson screen but the keymap (and so the help) does not list it"
        );
    }
    for row in keymap::LESSON {
        for (code, _) in row.keys {
            assert!(
                acts.contains(code),
                "the help row {:?} lists {code:?}, which changes nothing",
                row.label
            );
        }
    }
}

#[test]
fn the_help_is_the_keymap() {
    assert_eq!(HELP.len(), keymap::LESSON.len());
    for ((label, msg), row) in HELP.iter().zip(keymap::LESSON) {
        assert_eq!(*label, row.label);
        assert_eq!(*msg, row.help);
    }
}

#[test]
fn every_key_that_acts_on_the_list_is_in_its_footer_and_every_listed_key_acts() {
    let mut states = || {
        (0..3)
            .map(|i| {
                let mut a = app(embedded());
                match i {
                    1 => _ = press(&mut a, KeyCode::Down),
                    2 => _ = press(&mut a, KeyCode::End),
                    _ => {}
                }
                a
            })
            .collect()
    };
    let acts = effective(&mut states);
    for code in &acts {
        assert!(
            bound(keymap::BROWSER, *code),
            "{code:?} changes the lesson list but its keymap does not list it"
        );
    }
    for row in keymap::BROWSER {
        for (code, _) in row.keys {
            assert!(acts.contains(code), "the list's {code:?} changes nothing");
        }
    }
    // What the footer says is what the keymap holds.
    let s = screen(&mut app(embedded()));
    for row in keymap::BROWSER {
        assert!(s.contains(row.short), "footer lacks {:?}", row.short);
    }
}

/// Which candidate keys act on an overlay (change the screen or the overlay) from
/// any of these states.
fn effective_on(states: &mut dyn FnMut() -> Vec<App>) -> Vec<KeyCode> {
    let mut seen = Vec::new();
    for code in candidates() {
        for mut a in states() {
            let before = (screen(&mut a), a.overlay.clone());
            press(&mut a, code);
            if (screen(&mut a), a.overlay.clone()) != before {
                seen.push(code);
                break;
            }
        }
    }
    seen
}

/// Both ways, as for the lesson screen: what acts is in the table, and what the
/// table lists acts (but for the keys `exempt` names, with the reason at the call).
fn agree(rows: &[Row], acts: &[KeyCode], exempt: &dyn Fn(KeyCode) -> bool, what: &str) {
    for code in acts {
        assert!(
            bound(rows, *code),
            "{code:?} acts on the {what} but its keymap does not list it"
        );
    }
    for row in rows {
        for (code, _) in row.keys {
            assert!(
                acts.contains(code) || exempt(*code),
                "the {what}'s keymap lists {code:?} ({:?}), which changes nothing",
                row.label
            );
        }
    }
}

/// balance-race with one iteration, a few steps in.
fn stepped_lesson() -> App {
    let mut a = app(balance_only());
    a.open("balance-race").expect("opens");
    a.set_knob("iterations", "1").expect("knob");
    for c in "0000".chars() {
        press(&mut a, KeyCode::Char(c));
    }
    a
}

#[test]
fn the_knob_editor_dispatches_what_its_line_of_keys_says() {
    // On the first knob (a bool), on the second (an int), and with a number typed.
    let mut states = || {
        (0..3)
            .map(|i| {
                let mut a = stepped_lesson();
                press(&mut a, KeyCode::Char('k'));
                if i > 0 {
                    press(&mut a, KeyCode::Down);
                }
                if i > 1 {
                    press(&mut a, KeyCode::Char('1'));
                }
                assert!(matches!(a.overlay, Overlay::Knobs { .. }));
                a
            })
            .collect()
    };
    let acts = effective_on(&mut states);
    agree(keymap::KNOB_EDITOR, &acts, &|_| false, "knob editor");
    // Its line of keys is its table's footer.
    let mut a = states().remove(0);
    let s = screen(&mut a);
    for row in keymap::KNOB_EDITOR {
        assert!(
            s.contains(row.short),
            "the editor's keys lack {:?}\n{s}",
            row.short
        );
    }
}

#[test]
fn the_go_to_prompt_dispatches_its_keymap() {
    let mut states = || {
        (0..2)
            .map(|i| {
                let mut a = stepped_lesson();
                press(&mut a, KeyCode::Char(':'));
                if i > 0 {
                    press(&mut a, KeyCode::Char('2'));
                }
                assert!(matches!(a.overlay, Overlay::GoTo { .. }));
                a
            })
            .collect()
    };
    let acts = effective_on(&mut states);
    agree(keymap::GO_TO, &acts, &|_| false, "go-to prompt");
}

#[test]
fn the_question_dispatches_its_keymap() {
    let mut states = || {
        let mut a = App::new(
            balance_only(),
            Lang::En,
            AppOptions {
                theme: Theme { color: false },
                seed: 7,
                state_file: None,
                predict: true,
            },
        );
        a.open("balance-race").expect("opens");
        assert!(matches!(a.overlay, Overlay::Predict));
        vec![a]
    };
    let n = embedded()
        .find("balance-race")
        .expect("balance-race")
        .predict
        .as_ref()
        .map_or(0, |p| p.choices.len());
    assert!(n >= 2, "balance-race asks a question with choices");
    let acts = effective_on(&mut states);
    // The table answers 1 to 9; a digit past this lesson's choices is ignored.
    let past_choices = |code: KeyCode| matches!(code, KeyCode::Char(c) if c.to_digit(10).is_some_and(|d| d as usize > n));
    agree(keymap::PREDICTION, &acts, &past_choices, "question");
    for code in &acts {
        assert!(
            !past_choices(*code),
            "{code:?} answered a question with {n} choices"
        );
    }
}

#[test]
fn the_help_scrolls_with_its_keys_and_any_other_key_closes_it() {
    // At 80×24 the help is taller than the screen, so it scrolls.
    let small = |a: &mut App| {
        let mut t = Terminal::new(TestBackend::new(80, 24)).expect("test terminal");
        t.draw(|f| draw(a, f)).expect("draws");
        format!("{:?}", t.backend().buffer())
    };
    for code in candidates() {
        let mut a = stepped_lesson();
        press(&mut a, KeyCode::Char('?'));
        if matches!(code, KeyCode::Up | KeyCode::PageUp) {
            // Somewhere to scroll back from.
            press(&mut a, KeyCode::PageDown);
        }
        let before = small(&mut a);
        press(&mut a, code);
        let after = small(&mut a);
        match keymap::lookup(keymap::HELP_OVERLAY, code) {
            Some(_) => {
                assert!(
                    matches!(a.overlay, Overlay::Help),
                    "{code:?} closed the help"
                );
                assert_ne!(before, after, "{code:?} did not scroll the help");
            }
            None => {
                assert_eq!(keymap::HELP_OTHERS, keymap::Action::Close);
                assert!(
                    matches!(a.overlay, Overlay::None),
                    "{code:?} left the help open"
                );
                // q and Esc close the help only: the lesson stays.
                assert!(
                    matches!(a.screen, Screen::Lesson(_)),
                    "{code:?} left the lesson"
                );
            }
        }
    }
}

#[test]
fn update_does_what_the_first_key_of_an_action_does() {
    // The same action by key and by `update` leaves the same screen.
    for code in [
        KeyCode::Char('s'),
        KeyCode::Char('b'),
        KeyCode::Char('>'),
        KeyCode::Tab,
        KeyCode::Char('l'),
    ] {
        let action = keymap::lookup(keymap::LESSON, code).expect("bound");
        let mut by_key = stepped_lesson();
        press(&mut by_key, code);
        let mut by_action = stepped_lesson();
        let e = by_action.update(action);
        assert!(e.redraw);
        assert_eq!(screen(&mut by_key), screen(&mut by_action), "{action:?}");
    }
}
