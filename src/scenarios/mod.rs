//! One file per scenario: each builds a lesson's program from its knobs.
//!
//! A scenario file is found by build.rs (no list to edit): it has
//! `pub fn build(&Lesson, &Knobs) -> Result<Program, String>`, reads only knobs
//! its lessons declare (`Knobs::bool`, `int`, `option`; the shared engine knobs
//! with `Knobs::choice`), and its id is its file name with `-` for `_` unless it
//! declares `pub const ID: &str`.

use crate::lesson::{Knobs, Lesson};
use crate::program::Program;

/// A function that turns a lesson's code and knobs into a program.
pub type Build = fn(&Lesson, &Knobs) -> Result<Program, String>;

// A module per scenario file and `SCENARIOS`, their builders by id, written by
// build.rs from the files in this folder: adding a scenario is adding its file.
include!(concat!(env!("OUT_DIR"), "/scenarios.rs"));

/// Builds the program a lesson runs with these knobs.
pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let (_, f) = SCENARIOS
        .iter()
        .find(|(id, _)| *id == lesson.scenario)
        .ok_or_else(|| {
            let ids: Vec<&str> = SCENARIOS.iter().map(|(id, _)| *id).collect();
            format!(
                "unknown scenario `{}`; known: {}",
                lesson.scenario,
                ids.join(", ")
            )
        })?;
    let mut program = f(lesson, knobs)?;
    program.dis_minor = crate::program::dis_minor(knobs.choice("python"), knobs.choice("gil"));
    Ok(program)
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;
    use crate::lesson::Lesson;

    #[test]
    fn the_lesson_format_docs_name_every_scenario() {
        for doc in ["docs/lessons.md", "docs/lessons.zh.md"] {
            let path = format!("{}/{doc}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).expect("the docs are in the repository");
            let row = text
                .lines()
                .find(|l| l.starts_with("| `scenario` |"))
                .expect("the docs have a row for the scenario field");
            for (id, _) in super::SCENARIOS {
                assert!(row.contains(&format!("`{id}`")), "{doc} does not name {id}");
            }
        }
    }

    #[test]
    fn every_lesson_declares_every_knob_its_scenario_reads() {
        // At its defaults and at every limit of every knob (what `check` does).
        let c = Catalog::embedded().expect("embedded lessons load");
        c.check_knob_ranges()
            .expect("every lesson builds at every knob limit");
        for l in c.lessons() {
            super::build(l, &l.default_knobs())
                .unwrap_or_else(|e| panic!("{} does not build: {e}", l.id));
        }
    }

    #[test]
    fn a_knob_the_lesson_leaves_out_is_an_error_not_a_default() {
        let file = include_str!("../../lessons/balance-race.toml");
        // The tour sets the knob too: the lesson without its tour.
        let text = &file[..file.find("[[tour]]").expect("a tour")];
        let start = text.find("name = \"iterations\"").expect("the knob");
        let block = text[..start].rfind("[[knob]]").expect("its block");
        let end = start + text[start..].find("[[knob]]").expect("a next knob");
        // The code names the knob too: without it, it says the number itself.
        let without =
            format!("{}{}", &text[..block], &text[end..]).replace("{{iterations}}", "100000");
        let e = match Lesson::parse("balance-race.toml", &without) {
            Err(e) => e.to_string(),
            Ok(l) => match super::build(&l, &l.default_knobs()) {
                Err(e) => e,
                Ok(_) => panic!("balance built without its iterations knob"),
            },
        };
        assert!(
            e.contains("knob `iterations`") && e.contains("does not declare"),
            "{e}"
        );
        // And a knob declared with another kind than the scenario reads.
        let as_choice = text.replacen(
            "name = \"lock\"\nkind = \"bool\"\ndefault = false",
            "name = \"lock\"\nkind = \"choice\"\ndefault = \"off\"\noptions = [\"off\", \"on\"]",
            1,
        );
        assert_ne!(as_choice, *text);
        let e = match Lesson::parse("balance-race.toml", &as_choice) {
            Err(e) => e.to_string(),
            Ok(l) => match super::build(&l, &l.default_knobs()) {
                Err(e) => e,
                Ok(_) => panic!("balance built with a choice for its lock"),
            },
        };
        assert!(e.contains("as on/off") && e.contains("a choice"), "{e}");
    }

    #[test]
    fn scenario_files_are_formatted() {
        // `cargo fmt` follows `mod` items, and these come from build.rs through
        // `include!`, which it does not expand: so the check is made here.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/scenarios");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("src/scenarios")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        files.sort();
        let out = std::process::Command::new("rustfmt")
            .args(["--check", "--edition", "2024"])
            .args(&files)
            .output()
            .expect("rustfmt runs (it comes with the toolchain, as cargo fmt does)");
        assert!(
            out.status.success(),
            "run `rustfmt --edition 2024 src/scenarios/*.rs`:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
