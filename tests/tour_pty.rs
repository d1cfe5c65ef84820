//! A student walks a whole guided tour in the real binary, in a pseudo-terminal:
//! the question skipped, each step done with the keys a student types (the knob
//! editor for a step's knobs, then the step's own keys, never `D`), the screen
//! showing the next step after each, the tour's summary at the end, and the
//! progress file remembering every step. In English and in Chinese.

#[path = "common/pty.rs"]
mod pty;

use interleave::catalog::Catalog;
use interleave::i18n::Msg;
use interleave::lesson::{KnobKind, KnobValue, Lang, Lesson, TourKey};
use pty::Pty;
use std::collections::BTreeMap;

fn lesson(id: &str) -> Lesson {
    Catalog::embedded()
        .expect("embedded lessons load")
        .lessons()
        .iter()
        .find(|l| l.id == id)
        .unwrap_or_else(|| panic!("no lesson {id}"))
        .clone()
}

/// What the terminal sends for a key.
fn bytes(k: TourKey) -> String {
    match k {
        TourKey::Char(c) => c.to_string(),
        TourKey::Enter => "\r".into(),
        TourKey::Home => "\x1b[H".into(),
        TourKey::End => "\x1b[F".into(),
        TourKey::Tab => "\t".into(),
    }
}

/// The first words of a text as the screen shows them: inline code loses its
/// backticks, and only what fits on the first line of a narrow box is asked for.
fn opening(text: &str) -> String {
    text.replace('`', "").chars().take(14).collect()
}

/// Sets knobs as a student does: `k` opens the editor, ↓ to the knob, then a
/// number and Enter, or → until the value reads right; each change re-runs,
/// and the status line says so. `k` closes the editor.
fn set_knobs(
    term: &mut Pty,
    lesson: &Lesson,
    now: &mut BTreeMap<String, KnobValue>,
    set: &[(String, KnobValue)],
    lang: Lang,
) {
    term.send("k");
    let mut at = 0;
    for (name, want) in set {
        let i = lesson
            .knobs
            .iter()
            .position(|k| k.name == *name)
            .unwrap_or_else(|| panic!("{}: no knob {name}", lesson.id));
        let spec = &lesson.knobs[i];
        let mut cur = now
            .get(name)
            .cloned()
            .unwrap_or_else(|| spec.default_value());
        if cur == *want {
            continue;
        }
        while at < i {
            term.send("\x1b[B");
            at += 1;
        }
        while at > i {
            term.send("\x1b[A");
            at -= 1;
        }
        if let (KnobKind::Int { .. }, KnobValue::Int(n)) = (&spec.kind, want) {
            term.send(&format!("{n}\r"));
            cur = want.clone();
            term.wait_for(&Msg::SRerun.fill(lang, &[&format!("{name}={cur}")]));
        }
        let mut turns = 0;
        while cur != *want {
            term.send("\x1b[C");
            cur = spec.next(&cur);
            term.wait_for(&Msg::SRerun.fill(lang, &[&format!("{name}={cur}")]));
            turns += 1;
            assert!(turns < 20, "{name} never reads {want}");
        }
        now.insert(name.clone(), cur);
    }
    term.send("k");
}

/// The screen once it has stopped changing.
fn screen_text(term: &Pty) -> String {
    term.settled();
    term.text()
}

/// Opens `id` in a fresh home, walks its whole tour, quits, and returns the
/// progress file's record of the lesson.
fn walk(id: &str, lang: Lang) -> serde_json::Value {
    let lesson = lesson(id);
    let n = lesson.tour.len();
    let home = tempfile::tempdir().expect("temp home");
    let mut args = vec![id];
    if lang == Lang::Zh {
        args.extend(["--lang", "zh"]);
    }
    let mut term = Pty::spawn(pty::command(&args, home.path()), 40, 120);
    // A fresh home: the lesson's question comes first; Esc skips it.
    term.wait_for(Msg::PredictTitle.get(lang));
    term.send("\x1b");
    term.wait_for(Msg::SPredictSkipped.get(lang));
    let mut knobs = BTreeMap::new();
    for (i, step) in lesson.tour.iter().enumerate() {
        let s = term.wait_for(&Msg::TourTitle.fill(lang, &[&(i + 1), &n]));
        let todo = opening(step.todo.get(lang));
        assert!(s.contains(&todo), "{id} step {}: `{todo}`\n{s}", i + 1);
        let text = opening(step.text.get(lang));
        assert!(s.contains(&text), "{id} step {}: `{text}`\n{s}", i + 1);
        if !step.set.is_empty() {
            set_knobs(&mut term, &lesson, &mut knobs, &step.set, lang);
        }
        for k in &step.keys {
            term.send(&bytes(*k));
        }
        if i + 1 < n {
            // The next step is on screen once the keys are in; after the last
            // key, the status says this step was done (a step done before its
            // last key would have the rest land on the next step).
            term.wait_for(&Msg::TourTitle.fill(lang, &[&(i + 2), &n]));
            let s = screen_text(&term);
            let done = Msg::STourStepDone.fill(lang, &[&(i + 1), &(i + 2)]);
            assert!(
                s.contains(&done),
                "{id} step {}: done before its last key?\n{s}",
                i + 1
            );
            let hint = Msg::TourHint.get(lang);
            assert!(
                !s.contains(hint),
                "{id} step {}: the keys overshoot\n{s}",
                i + 1
            );
        }
    }
    term.wait_for(Msg::TourDoneTitle.get(lang));
    let s = screen_text(&term);
    assert!(
        s.contains(Msg::STourDone.get(lang)),
        "{id}: the status says so\n{s}"
    );
    let end = opening(lesson.tour_end.get(lang));
    assert!(s.contains(&end), "{id}: the tour sums up with `{end}`\n{s}");
    assert!(
        !s.contains(Msg::TourHint.get(lang)),
        "{id}: no hint on the way\n{s}"
    );
    term.send("q");
    term.wait_for(Msg::LessonsTitle.get(lang).trim());
    term.send("q");
    let status = term.wait_exit();
    assert!(status.success(), "{id}: exit status {status:?}");
    let p = term.finish();
    assert!(
        !p.screen().alternate_screen(),
        "left in the alternate screen"
    );
    let file = home.path().join("interleave").join("progress.json");
    let saved = std::fs::read_to_string(&file).expect("the progress file is written");
    let v: serde_json::Value = serde_json::from_str(&saved).expect("it is JSON");
    assert_eq!(v["version"], 1, "{saved}");
    v["lessons"][id].clone()
}

fn assert_whole_tour(id: &str, record: &serde_json::Value) {
    let n = lesson(id).tour.len();
    let all: Vec<usize> = (1..=n).collect();
    assert_eq!(
        record["tour_done"],
        serde_json::json!(all),
        "{id}: {record}"
    );
    assert_eq!(record["tour_complete"], true, "{id}: {record}");
}

#[test]
fn a_student_walks_the_balance_tour_to_the_tutorials_minus_8() {
    let record = walk("balance-race", Lang::En);
    assert_whole_tour("balance-race", &record);
}

#[test]
fn the_balance_tour_walks_the_same_in_chinese() {
    let record = walk("balance-race", Lang::Zh);
    assert_whole_tour("balance-race", &record);
}

/// Every other lesson's tour, walked the same way: knob editor and keys only.
#[test]
fn every_lessons_tour_walks_by_keys() {
    let ids: Vec<String> = Catalog::embedded()
        .expect("lessons")
        .lessons()
        .iter()
        .map(|l| l.id.clone())
        .filter(|id| id != "balance-race")
        .collect();
    let mut failed = Vec::new();
    for id in &ids {
        let r = std::panic::catch_unwind(|| {
            let record = walk(id, Lang::En);
            assert_whole_tour(id, &record);
        });
        if r.is_err() {
            failed.push(id.clone());
        }
    }
    assert!(failed.is_empty(), "{failed:?}");
}
