//! docs/lessons.md and docs/lessons.zh.md, the lesson format's reference, name
//! exactly the fields the lesson parser reads, and their whole-lesson example is
//! a lesson `check` accepts.

use interleave::catalog::Catalog;
use interleave::lesson::{FieldSet, Lesson, file_fields};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The field rows of a reference: `| `path` | type | …` → path → type.
fn documented(doc: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in doc.lines() {
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let Some((path, rest)) = rest.split_once('`') else {
            continue;
        };
        let ty = rest
            .trim_start_matches([' ', '|'])
            .split('|')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        assert!(
            out.insert(path.to_string(), ty).is_none(),
            "`{path}` is documented twice"
        );
    }
    out
}

/// What a reference must document: every field, but a text's `en` and `zh`
/// once for all (the type "text").
fn required(f: &FieldSet) -> BTreeSet<String> {
    f.fields
        .iter()
        .filter(|p| {
            let parent = p.rsplit_once('.').map_or("", |(a, _)| a);
            f.tables.get(parent) != Some(&"Text")
        })
        .cloned()
        .collect()
}

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_parser_refuses_every_field_it_does_not_know() {
    let f = file_fields().expect("the lesson structs can be walked");
    assert!(
        f.fields.contains("title") && f.fields.contains("knob.name"),
        "{f:?}"
    );
    assert!(
        f.lenient.is_empty(),
        "these tables accept fields nobody documents; give their structs \
         #[serde(deny_unknown_fields)]: {:?}",
        f.lenient
    );
}

#[test]
fn the_reference_names_every_field_the_parser_reads_and_no_other() {
    let f = file_fields().expect("the lesson structs can be walked");
    let want = required(&f);
    for doc in ["docs/lessons.md", "docs/lessons.zh.md"] {
        let rows = documented(&read(doc));
        let named: BTreeSet<String> = rows.keys().cloned().collect();
        let missing: Vec<&String> = want.difference(&named).collect();
        let unknown: Vec<&String> = named.difference(&want).collect();
        assert!(
            missing.is_empty(),
            "{doc} does not document fields the parser reads: {missing:?}"
        );
        assert!(
            unknown.is_empty(),
            "{doc} documents fields the parser does not read: {unknown:?}"
        );
        // A field read as a text (en + zh) says so.
        for (path, ty) in &rows {
            let is_text = f.tables.get(path.as_str()) == Some(&"Text");
            assert_eq!(
                ty.starts_with("text"),
                is_text,
                "{doc}: `{path}` has type `{ty}`"
            );
        }
    }
}

#[test]
fn the_reference_example_is_a_lesson_check_accepts() {
    for doc in ["docs/lessons.md", "docs/lessons.zh.md"] {
        let text = read(doc);
        let start = text.find("```toml\n").expect("a toml example") + "```toml\n".len();
        let len = text[start..].find("```").expect("the example ends");
        let lesson = Lesson::parse(doc, &text[start..start + len])
            .unwrap_or_else(|e| panic!("the example in {e}"));
        let catalog = Catalog::from_lessons(vec![lesson]).expect("a catalog");
        catalog
            .check_knob_ranges()
            .unwrap_or_else(|e| panic!("the example in {doc}: {e}"));
    }
}

#[test]
fn the_walk_sees_a_field_a_struct_gains() {
    // The check above is only as good as the walk: a table of the real parser
    // (here [[knob]]) shows each of its fields, and an unknown one is refused.
    let f = file_fields().expect("walk");
    for k in [
        "name", "kind", "default", "min", "max", "unit", "options", "help",
    ] {
        assert!(f.fields.contains(&format!("knob.{k}")), "knob.{k}: {f:?}");
    }
    let good = read("docs/lessons.md");
    let start = good.find("```toml\n").expect("example") + 8;
    let len = good[start..].find("```").expect("end");
    let example = &good[start..start + len];
    let with_extra = example.replacen("kind = \"bool\"", "kind = \"bool\"\ncolour = \"red\"", 1);
    let e = Lesson::parse("x.toml", &with_extra).expect_err("an unknown knob field");
    assert!(e.reason.contains("colour"), "{e}");
}
