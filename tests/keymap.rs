//! The keymap is the whole truth about keys: every key it lists does something a
//! person can see, and every key that does something is listed (so it is in the
//! help, or in the lesson list's footer).

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use interleave::catalog::Catalog;
use interleave::lesson::Lang;
use interleave::ui::keymap::{self, Row};
use interleave::ui::{App, AppOptions, HELP, Theme, draw};
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
