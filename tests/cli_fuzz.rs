//! Fuzzing the two parsers that read what a person or a file gives us: lesson files
//! and schedule strings. Neither may panic, hang or let a control character
//! through, whatever the input.
//!
//! `cargo test` runs a few hundred cases of each; the long run is
//! `INTERLEAVE_FUZZ_CASES=1000000 cargo test --release --test cli_fuzz -- --nocapture`.

use interleave::cli::schedule_tokens;
use interleave::lesson::{Lesson, is_unsafe};
use interleave::sim::Schedule;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const SEED_LESSONS: [&str; 3] = [
    include_str!("../lessons/balance-race.toml"),
    include_str!("../lessons/value-race.toml"),
    include_str!("../lessons/tickets.toml"),
];

fn cases() -> u32 {
    std::env::var("INTERLEAVE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// One edit of a lesson file: TOML punctuation, control characters, long runs,
/// numbers at their limits and escapes are where parsers break.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, String),
    Delete(usize, usize),
    Duplicate(usize, usize),
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"".to_string()),
        Just("\"\"\"".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("=".to_string()),
        Just("\n".to_string()),
        Just("\\u001b[2J".to_string()),
        Just("\\u0000".to_string()),
        Just("\u{1b}".to_string()),
        Just("\u{202e}".to_string()),
        Just("[[knob]]\nname = \"x\"\nkind = \"int\"\n".to_string()),
        Just("?{lock=on}".to_string()),
        Just("{{iterations}}".to_string()),
        Just("9223372036854775807".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("1e400".to_string()),
        "\\PC{0,12}",
        any::<char>().prop_map(String::from),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), piece()).prop_map(|(at, s)| Edit::Insert(at, s)),
        (any::<usize>(), 0usize..64).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), 0usize..256).prop_map(|(at, n)| Edit::Duplicate(at, n)),
    ]
}

fn floor_boundary(s: &str, mut at: usize) -> usize {
    at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut s = text.to_string();
    for e in edits {
        let len = s.len().max(1);
        match e {
            Edit::Insert(at, p) => {
                let at = floor_boundary(&s, at % len);
                s.insert_str(at, p);
            }
            Edit::Delete(at, n) => {
                let a = floor_boundary(&s, at % len);
                let b = floor_boundary(&s, a + n);
                s.replace_range(a..b, "");
            }
            Edit::Duplicate(at, n) => {
                let a = floor_boundary(&s, at % len);
                let b = floor_boundary(&s, a + n);
                let copy = s[a..b].to_string();
                s.insert_str(b, &copy);
            }
        }
    }
    s
}

fn check_lesson(text: &str) {
    match Lesson::parse("fuzz.toml", text) {
        Ok(l) => {
            for t in [&l.title.en, &l.title.zh] {
                assert!(!t.chars().any(is_unsafe), "{t:?}");
            }
            for t in [
                &l.summary.en,
                &l.summary.zh,
                &l.explanation.en,
                &l.explanation.zh,
                &l.notes.en,
                &l.notes.zh,
            ] {
                assert!(
                    !t.chars().any(|c| is_unsafe(c) && c != '\n' && c != '\t'),
                    "{t:?}"
                );
            }
            // A lesson that loads can show its code with its default knobs and
            // build (or refuse to build) its program without panicking.
            let knobs = l.default_knobs();
            let _ = l.code(&knobs);
            let _ = interleave::scenarios::build(&l, &knobs);
        }
        Err(e) => {
            assert_eq!(e.file, "fuzz.toml");
            assert!(e.line >= 1 && e.column >= 1, "{e}");
        }
    }
}

#[test]
fn the_lesson_parser_survives_mutated_lesson_files() {
    let mut r = runner();
    let strategy = (0..SEED_LESSONS.len(), prop::collection::vec(edit(), 1..6));
    let result = r.run(&strategy, |(i, edits)| {
        check_lesson(&apply(SEED_LESSONS[i], &edits));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!("lesson parser: {} mutated files, 0 failures", cases());
}

#[test]
fn the_lesson_parser_survives_arbitrary_text() {
    let mut r = runner();
    let result = r.run(&"\\PC{0,400}|(.|\n){0,400}", |s| {
        check_lesson(&s);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Schedule-like strings: mostly well formed, with the separators, counts and
/// garbage a paste can hold.
fn schedule_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        (0u16..5, 1u32..50).prop_map(|(a, n)| format!("{a}x{n}")),
        (0u16..5).prop_map(|a| a.to_string()),
        Just("x".to_string()),
        Just("0x".to_string()),
        Just("x5".to_string()),
        Just("0x0".to_string()),
        Just("65536".to_string()),
        Just("1x99999999999999999999".to_string()),
        Just("-1".to_string()),
        "\\PC{0,6}",
    ];
    let sep = prop_oneof![Just(" "), Just(","), Just(", "), Just("\t"), Just("\n")];
    prop::collection::vec((token, sep), 0..12).prop_map(|v| {
        v.into_iter()
            .map(|(t, s)| format!("{t}{s}"))
            .collect::<String>()
    })
}

#[test]
fn the_schedule_parsers_agree_and_never_panic() {
    let mut r = runner();
    let result = r.run(&schedule_text(), |s| {
        let tokens = schedule_tokens(&s);
        let parsed = Schedule::parse(&s);
        match (&tokens, &parsed) {
            (Ok(t), Ok(p)) => {
                // The run-length tokens expand to exactly what the parser reads.
                let expanded: Vec<u16> = t
                    .iter()
                    .flat_map(|&(a, n)| std::iter::repeat_n(a, n as usize))
                    .collect();
                prop_assert_eq!(&expanded, &p.0);
                // And the parsed schedule prints back to a string that parses the same.
                let again = Schedule::parse(&p.to_string()).ok();
                prop_assert_eq!(again.as_ref(), Some(p));
            }
            // An empty string is the one input `Schedule::parse` takes and the
            // command line refuses.
            (Err(e), Ok(p)) => prop_assert!(p.0.is_empty(), "{e}"),
            (Ok(_), Err(e)) => prop_assert!(false, "only the parser refused: {e}"),
            (Err(e), Err(_)) => {
                prop_assert!(!e.to_string().chars().any(is_unsafe), "{}", e);
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
