//! Every lesson's guided tour and prediction, as a student meets them: the tour
//! is walked with its own moves (what `D` presses) and each step's check must
//! pass after them; a wrong move shows the hint; the prediction is asked on
//! opening and judged on the run's end.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use interleave::catalog::Catalog;
use interleave::lesson::Lang;
use interleave::ui::{App, AppOptions, Overlay, Screen, Theme, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app(seed: u64, predict: bool, state: Option<std::path::PathBuf>) -> App {
    App::new(
        Catalog::embedded().expect("embedded lessons load"),
        Lang::En,
        AppOptions {
            theme: Theme { color: false },
            seed,
            state_file: state,
            predict,
        },
    )
}

/// A key, and the progress file written as the playground's loop writes it.
fn key(a: &mut App, code: KeyCode) {
    let e = a.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    if e.save_progress {
        a.progress.save(a.state_file());
    }
}

fn screen(a: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
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

fn tour_step(a: &App) -> usize {
    match &a.screen {
        Screen::Lesson(ls) => ls.tour.step,
        Screen::Browser => panic!("no lesson open"),
    }
}

#[test]
fn every_lesson_has_a_tour_a_prediction_and_its_errata_are_bilingual() {
    let cat = Catalog::embedded().expect("lessons");
    for l in cat.lessons() {
        assert!(
            l.tour.len() >= 3,
            "{}: a tour of at least three steps",
            l.id
        );
        assert!(!l.tour_end.en.is_empty(), "{}: the tour sums up", l.id);
        let p = l
            .predict
            .as_ref()
            .unwrap_or_else(|| panic!("{}: a prediction", l.id));
        assert!(p.choices.len() >= 3, "{}: at least three choices", l.id);
    }
}

/// Walks each tour with the moves its steps name, under several seeds: each step
/// is done by its own moves, whatever the scheduler would have picked.
#[test]
fn every_tour_reaches_its_end_with_its_own_moves() {
    let ids: Vec<String> = Catalog::embedded()
        .expect("lessons")
        .lessons()
        .iter()
        .map(|l| l.id.clone())
        .collect();
    for seed in [1, 7, 12345] {
        for id in &ids {
            let mut a = app(seed, false, None);
            a.open(id).expect("opens");
            let n = match &a.screen {
                Screen::Lesson(ls) => ls.lesson.tour.len(),
                Screen::Browser => unreachable!(),
            };
            for want in 1..=n {
                key(&mut a, KeyCode::Char('D'));
                let got = tour_step(&a);
                assert_eq!(
                    got, want,
                    "{id} (seed {seed}): step {want} was not done by its own moves; status: {:?}",
                    a.status
                );
            }
            let s = screen(&mut a, 120, 40);
            assert!(s.contains("tour · done"), "{id}: the end is shown\n{s}");
        }
    }
}

#[test]
fn a_wrong_move_shows_the_hint_and_u_goes_back() {
    let mut a = app(1, false, None);
    a.open("balance-race").expect("opens");
    key(&mut a, KeyCode::Char('D')); // step 1: the knobs
    assert_eq!(tour_step(&a), 1);
    key(&mut a, KeyCode::Char('2')); // step 2 wants MainThread first
    let s = screen(&mut a, 120, 40);
    assert!(s.contains("hint:"), "a wrong move gets the hint\n{s}");
    key(&mut a, KeyCode::Char('U'));
    assert_eq!(tour_step(&a), 0);
    let s = screen(&mut a, 120, 40);
    assert!(s.contains("tour · step 1 of"), "{s}");
    assert!(!s.contains("hint:"), "{s}");
}

#[test]
fn the_question_comes_first_and_the_run_is_compared_with_the_answer() {
    let dir = tempfile::tempdir().expect("tmp");
    let state = dir.path().join("progress.json");
    let mut a = app(3, true, Some(state.clone()));
    a.open("balance-race").expect("opens");
    assert!(matches!(a.overlay, Overlay::Predict), "asked on opening");
    let s = screen(&mut a, 100, 32);
    assert!(s.contains("predict, then run"), "{s}");
    assert!(s.contains("print(balance) show?"), "{s}");
    key(&mut a, KeyCode::Char('2')); // "a number other than 0"
    assert!(matches!(a.overlay, Overlay::None));
    key(&mut a, KeyCode::Char('e')); // run to the end, a slice per tick
    for _ in 0..10_000 {
        let e = a.tick();
        if e.save_progress {
            a.progress.save(a.state_file());
        }
        if !e.redraw {
            break;
        }
    }
    let s = screen(&mut a, 120, 40);
    assert!(
        s.contains("✗ the run did not show what you predicted"),
        "{s}"
    );
    let saved = std::fs::read_to_string(&state).expect("progress saved");
    let v: serde_json::Value = serde_json::from_str(&saved).expect("json");
    assert_eq!(v["version"], 1);
    let pr = &v["lessons"]["balance-race"]["prediction"];
    assert_eq!(pr["choice"], 2);
    assert_eq!(pr["matched"], false);
    assert_eq!(pr["shown"], serde_json::json!([1, 3]));
    // Opened again, the question is not asked again; p asks it.
    let mut b = app(3, true, Some(state));
    b.open("balance-race").expect("opens");
    assert!(matches!(b.overlay, Overlay::None));
    key(&mut b, KeyCode::Char('p'));
    assert!(matches!(b.overlay, Overlay::Predict));
}

#[test]
fn tour_progress_is_remembered_and_the_list_shows_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let state = dir.path().join("progress.json");
    let mut a = app(1, false, Some(state.clone()));
    a.open("balance-race").expect("opens");
    key(&mut a, KeyCode::Char('D'));
    key(&mut a, KeyCode::Char('D'));
    let saved = std::fs::read_to_string(&state).expect("saved");
    let v: serde_json::Value = serde_json::from_str(&saved).expect("json");
    assert_eq!(
        v["lessons"]["balance-race"]["tour_done"],
        serde_json::json!([1, 2])
    );
    let mut b = app(1, false, Some(state));
    let s = screen(&mut b, 120, 40);
    assert!(
        s.contains("tour 2/"),
        "the lesson list shows tour progress\n{s}"
    );
}
