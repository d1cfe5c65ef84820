//! Lesson files: text in two languages, the Python program, knobs, the scenario id.
//!
//! Lessons are data. Loading one reads TOML and nothing else: no command, no code.

pub mod differs;
mod fields;
mod knobs;
pub mod tour;
pub mod verdict;

pub use differs::Difference;
pub use fields::FieldSet;
pub use knobs::{KnobKind, KnobSpec, KnobValue, Knobs};
pub use tour::{Choice, Erratum, Predict, TourKey, TourStep};
pub use verdict::VerdictSpec;

use serde::Deserialize;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// The language lesson text is shown in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
}

/// A text in English and Simplified Chinese.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub en: String,
    pub zh: String,
}

impl Text {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }
}

/// A loaded, checked lesson.
#[derive(Clone, Debug)]
pub struct Lesson {
    pub id: String,
    /// Where the lesson sits in the list.
    pub order: i64,
    pub title: Text,
    pub concepts: Vec<String>,
    /// One paragraph: what the student will see.
    pub summary: Text,
    pub explanation: Text,
    /// What we measured on which CPython versions.
    pub notes: Text,
    /// The scenario that builds this lesson's program.
    pub scenario: String,
    pub knobs: Vec<KnobSpec>,
    /// What a correct run is (the lesson file's `[verdict]`), if it says.
    pub verdict: Option<VerdictSpec>,
    /// The guided tour (`[[tour]]`), in order.
    pub tour: Vec<TourStep>,
    /// What the tour showed, said at its end (`tour_end`).
    pub tour_end: Text,
    /// The question asked before the first run (`[predict]`).
    pub predict: Option<Predict>,
    /// Where the classic tutorials are wrong for today's CPython (`[[errata]]`).
    pub errata: Vec<Erratum>,
    /// Where the simulator's program declares it differs from CPython's
    /// (`[[differs]]`): left out of the comparison with CPython, and said so.
    pub differs: Vec<Difference>,
    code: String,
    /// Where the lesson came from (`embedded:balance-race.toml` or a path).
    pub source: String,
    /// Byte range of the `scenario` value, for errors found later.
    scenario_span: Range<usize>,
    raw: String,
}

/// A lesson file that cannot be used, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LessonError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

impl fmt::Display for LessonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.reason
        )
    }
}

impl std::error::Error for LessonError {}

fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map(|i| before[i + 1..].chars().count() + 1)
        .unwrap_or(before.chars().count() + 1);
    (line, col)
}

/// Every field a lesson file may have, read from the structs below (the
/// reference, docs/lessons.md, is checked against it).
pub fn file_fields() -> Result<FieldSet, String> {
    fields::of::<RawLesson>()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLesson {
    id: Spanned<String>,
    order: Option<i64>,
    scenario: Spanned<String>,
    concepts: Vec<String>,
    title: Spanned<Text>,
    summary: Spanned<Text>,
    explanation: Spanned<Text>,
    notes: Option<Spanned<Text>>,
    code: Spanned<String>,
    #[serde(default, rename = "knob")]
    knobs: Vec<Spanned<RawKnob>>,
    verdict: Option<Spanned<verdict::RawVerdict>>,
    #[serde(default)]
    tour: Vec<Spanned<tour::RawStep>>,
    tour_end: Option<Spanned<Text>>,
    predict: Option<Spanned<tour::RawPredict>>,
    #[serde(default)]
    errata: Vec<Spanned<Erratum>>,
    #[serde(default)]
    differs: Vec<Spanned<Difference>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKnob {
    name: String,
    kind: String,
    default: toml::Value,
    min: Option<i64>,
    max: Option<i64>,
    unit: Option<String>,
    options: Option<Vec<String>>,
    help: Text,
}

impl Lesson {
    /// Parses and checks one lesson file's text. `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Lesson, LessonError> {
        let err_at = |offset: usize, reason: String| {
            let (line, column) = position(text, offset);
            LessonError {
                file: file.to_string(),
                line,
                column,
                reason,
            }
        };
        if text.len() > MAX_LESSON_BYTES {
            return Err(err_at(
                0,
                format!(
                    "the file is {} bytes; a lesson file is at most {MAX_LESSON_BYTES}",
                    text.len()
                ),
            ));
        }
        let raw: RawLesson = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| s.start).unwrap_or(0);
            err_at(at, e.message().trim().to_string())
        })?;

        let id = raw.id.get_ref();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(err_at(
                raw.id.span().start,
                format!("lesson id `{id}` must be lowercase letters, digits and dashes"),
            ));
        }
        for (what, t) in [
            ("title", &raw.title),
            ("summary", &raw.summary),
            ("explanation", &raw.explanation),
        ] {
            if t.get_ref().en.trim().is_empty() || t.get_ref().zh.trim().is_empty() {
                return Err(err_at(
                    t.span().start,
                    format!("{what} needs both `en` and `zh` text"),
                ));
            }
        }
        check_printable(&raw).map_err(|(at, r)| err_at(at, r))?;
        if raw.code.get_ref().trim().is_empty() {
            return Err(err_at(raw.code.span().start, "code is empty".into()));
        }

        let mut knobs: Vec<KnobSpec> = Vec::new();
        for k in &raw.knobs {
            let at = k.span().start;
            let spec = parse_knob(k.get_ref()).map_err(|r| err_at(at, r))?;
            if knobs.iter().any(|o| o.name == spec.name) {
                return Err(err_at(
                    at,
                    format!("knob `{}` is declared twice", spec.name),
                ));
            }
            knobs.push(spec);
        }

        let verdict = match raw.verdict {
            Some(v) => {
                let at = v.span().start;
                Some(VerdictSpec::from_raw(v.into_inner()).map_err(|r| err_at(at, r))?)
            }
            None => None,
        };
        let Guides {
            steps,
            tour_end,
            predict,
            errata,
        } = guides(
            raw.tour,
            raw.tour_end,
            raw.predict,
            raw.errata,
            &knobs,
            &err_at,
        )?;
        let mut differs = Vec::new();
        for d in raw.differs {
            differs::check(d.get_ref(), &knobs).map_err(|r| err_at(d.span().start, r))?;
            differs.push(d.into_inner());
        }
        let lesson = Lesson {
            differs,
            id: id.clone(),
            verdict,
            tour: steps,
            tour_end,
            predict,
            errata,
            order: raw.order.unwrap_or(1000),
            title: raw.title.into_inner(),
            concepts: raw.concepts,
            summary: raw.summary.into_inner(),
            explanation: raw.explanation.into_inner(),
            notes: raw.notes.map(Spanned::into_inner).unwrap_or_default(),
            scenario: raw.scenario.get_ref().clone(),
            scenario_span: raw.scenario.span(),
            knobs,
            code: raw.code.get_ref().clone(),
            source: file.to_string(),
            raw: text.to_string(),
        };
        lesson.check_conditions(text, raw.code.span().start)?;
        Ok(lesson)
    }

    /// Every conditional code line must name a declared knob and a value it can
    /// take; `code_start` is where the code starts in the file's `text`.
    fn check_conditions(&self, text: &str, code_start: usize) -> Result<(), LessonError> {
        for (i, line) in self.code.lines().enumerate() {
            let (conds, _) = split_conditions(line);
            for (cond, name, value, _) in conds {
                let spec = self.knobs.iter().find(|k| k.name == name);
                let ok = spec.is_some_and(|s| s.parse(value).is_ok());
                if !ok {
                    let (l, _) = position(text, code_start);
                    return Err(LessonError {
                        file: self.source.clone(),
                        line: l + i + 1,
                        column: 1,
                        reason: format!(
                            "code line condition `?{{{cond}}}` names no knob value of this lesson"
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// An error pointing at the lesson's `scenario` value (for a scenario that
    /// cannot build a program from this lesson).
    pub fn scenario_error(&self, reason: String) -> LessonError {
        let (line, column) = position(&self.raw, self.scenario_span.start);
        LessonError {
            file: self.source.clone(),
            line,
            column,
            reason,
        }
    }

    pub fn default_knobs(&self) -> Knobs {
        Knobs::defaults(&self.knobs)
    }

    /// The Python program as the student sees it with these knobs: lines marked
    /// `?{knob=value}` appear only when the knob has that value (`?{knob!=value}`:
    /// when it has another; several marks must all hold), and `{{knob}}`
    /// is replaced by the knob's value.
    pub fn code(&self, knobs: &Knobs) -> String {
        let mut out = String::with_capacity(self.code.len());
        for line in self.code.lines() {
            let (conds, line) = split_conditions(line);
            let holds = conds.iter().all(|&(_, name, value, negated)| {
                let want = self
                    .knobs
                    .iter()
                    .find(|k| k.name == name)
                    .and_then(|k| k.parse(value).ok());
                want.is_some() && (knobs.get(name) == want.as_ref()) != negated
            });
            if !holds {
                continue;
            }
            let mut l = line.to_string();
            for (name, v) in knobs.iter() {
                let hole = format!("{{{{{name}}}}}");
                if l.contains(&hole) {
                    l = l.replace(&hole, &v.to_string());
                }
            }
            out.push_str(&l);
            out.push('\n');
        }
        out
    }

    pub fn knob(&self, name: &str) -> Option<&KnobSpec> {
        self.knobs.iter().find(|k| k.name == name)
    }

    /// Reads every `*.toml` lesson in a folder, in name order. Lesson folders are
    /// untrusted: only regular files are read (a FIFO or a device named `x.toml`
    /// is refused, never opened for a blocking read), each at most
    /// [`MAX_LESSON_BYTES`], at most [`MAX_LESSON_FILES`] of them.
    pub fn load_dir(dir: &Path) -> Result<Vec<Lesson>, LessonError> {
        let io_err = |reason: String| LessonError {
            file: dir.display().to_string(),
            line: 1,
            column: 1,
            reason,
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io_err(format!("cannot read the lessons folder: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .take(MAX_LESSON_FILES + 1)
            .collect();
        if paths.len() > MAX_LESSON_FILES {
            return Err(io_err(format!(
                "more than {MAX_LESSON_FILES} lesson files in one folder"
            )));
        }
        paths.sort();
        paths
            .iter()
            .map(|p| {
                let name = p.display().to_string();
                let text = read_lesson_file(p).map_err(|reason| LessonError {
                    file: name.clone(),
                    line: 1,
                    column: 1,
                    reason,
                })?;
                Lesson::parse(&name, &text)
            })
            .collect()
    }
}

/// A lesson's tour, its end, its question and its errata, parsed and checked.
struct Guides {
    steps: Vec<TourStep>,
    tour_end: Text,
    predict: Option<Predict>,
    errata: Vec<Erratum>,
}

fn guides(
    tour: Vec<Spanned<tour::RawStep>>,
    tour_end: Option<Spanned<Text>>,
    predict: Option<Spanned<tour::RawPredict>>,
    errata_raw: Vec<Spanned<Erratum>>,
    knobs: &[KnobSpec],
    err_at: &dyn Fn(usize, String) -> LessonError,
) -> Result<Guides, LessonError> {
    let mut steps = Vec::new();
    for (i, st) in tour.into_iter().enumerate() {
        let at = st.span().start;
        steps.push(tour::step(st.into_inner(), knobs, i + 1).map_err(|r| err_at(at, r))?);
    }
    let tour_end = match tour_end {
        Some(t) => {
            tour::both("tour_end", t.get_ref()).map_err(|r| err_at(t.span().start, r))?;
            t.into_inner()
        }
        None if !steps.is_empty() => {
            return Err(err_at(
                0,
                "a lesson with a tour needs `tour_end`: what the tour showed".into(),
            ));
        }
        None => Text::default(),
    };
    let predict = match predict {
        Some(p) => {
            let at = p.span().start;
            Some(tour::predict(p.into_inner()).map_err(|r| err_at(at, r))?)
        }
        None => None,
    };
    let mut errata = Vec::new();
    for e in errata_raw {
        tour::erratum(e.get_ref()).map_err(|r| err_at(e.span().start, r))?;
        errata.push(e.into_inner());
    }
    Ok(Guides {
        steps,
        tour_end,
        predict,
        errata,
    })
}

/// Largest lesson file read, in bytes (the biggest built-in one is ~11 KB).
pub const MAX_LESSON_BYTES: usize = 256 * 1024;
/// Most lesson files read from one folder.
pub const MAX_LESSON_FILES: usize = 1000;

/// Reads one lesson file: a regular file (after symlinks) of at most
/// [`MAX_LESSON_BYTES`]. The file is opened without blocking and checked through
/// the open handle, so a FIFO cannot hang the read and a file swapped after a
/// check is still checked.
fn read_lesson_file(p: &Path) -> Result<String, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(p)
        .map_err(|e| format!("cannot read: {e}"))?;
    let meta = f.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err(
            "not a regular file (a lesson is a .toml file, not a FIFO, device or folder)".into(),
        );
    }
    if meta.len() > MAX_LESSON_BYTES as u64 {
        return Err(format!(
            "the file is {} bytes; a lesson file is at most {MAX_LESSON_BYTES}",
            meta.len()
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // A file that grows while it is read still stops at the cap.
    f.take(MAX_LESSON_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() > MAX_LESSON_BYTES {
        return Err(format!(
            "the file grew past {MAX_LESSON_BYTES} bytes while it was read"
        ));
    }
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))
}

/// Refuses control characters (and bidirectional overrides) in every text that
/// reaches a terminal: an escape sequence in a title would otherwise be sent to
/// the student's terminal raw. Line breaks (and tabs) are allowed only in the
/// multi-line texts. Returns the offset to report and the reason.
fn check_printable(raw: &RawLesson) -> Result<(), (usize, String)> {
    let bad = |s: &str, multiline: bool| {
        s.chars()
            .find(|&c| is_unsafe(c) && !(multiline && (c == '\n' || c == '\t')))
    };
    let complain = |what: &str, c: char| {
        format!(
            "{what} contains the control character {}; lesson texts are shown on a terminal",
            c.escape_unicode()
        )
    };
    let one_line = [("title", &raw.title)];
    for (what, t) in one_line {
        for s in [&t.get_ref().en, &t.get_ref().zh] {
            if let Some(c) = bad(s, false) {
                return Err((t.span().start, complain(what, c)));
            }
        }
    }
    let mut texts = vec![("summary", &raw.summary), ("explanation", &raw.explanation)];
    if let Some(n) = &raw.notes {
        texts.push(("notes", n));
    }
    for (what, t) in texts {
        for s in [&t.get_ref().en, &t.get_ref().zh] {
            if let Some(c) = bad(s, true) {
                return Err((t.span().start, complain(what, c)));
            }
        }
    }
    if let Some(c) = bad(raw.code.get_ref(), true) {
        return Err((raw.code.span().start, complain("code", c)));
    }
    for c in &raw.concepts {
        if let Some(ch) = bad(c, false) {
            return Err((0, complain("a concept", ch)));
        }
    }
    for k in &raw.knobs {
        let r = k.get_ref();
        let mut words: Vec<(&str, &str)> =
            vec![("a knob's help", &r.help.en), ("a knob's help", &r.help.zh)];
        if let Some(u) = &r.unit {
            words.push(("a knob's unit", u));
        }
        for o in r.options.iter().flatten() {
            words.push(("a knob's option", o));
        }
        if let toml::Value::String(d) = &r.default {
            words.push(("a knob's default", d));
        }
        for (what, w) in words {
            if let Some(c) = bad(w, false) {
                return Err((k.span().start, complain(what, c)));
            }
        }
    }
    Ok(())
}

/// `s` with every character that could move the cursor, change colours or reorder
/// text on a terminal (controls, bidirectional overrides) written as an escape,
/// for echoing what a person typed or what a file holds in a message.
pub fn escape(s: &str) -> String {
    if !s.chars().any(is_unsafe) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters a terminal acts on instead of showing: C0 and C1 controls, DEL, and
/// the bidirectional embeddings, overrides and isolates.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `?{lock=on}    lock.acquire()` → `("lock=on", "    lock.acquire()")`.
fn split_condition(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("?{")?;
    let end = rest.find('}')?;
    Some((&rest[..end], &rest[end + 1..]))
}

/// The conditions a code line starts with (`?{knob=value}` or `?{knob!=value}`,
/// any number, all of which must hold), each as (its text, the knob, the value,
/// whether negated), and the rest of the line.
fn split_conditions(mut line: &str) -> (Vec<(&str, &str, &str, bool)>, &str) {
    let mut conds = Vec::new();
    while let Some((cond, rest)) = split_condition(line) {
        let (name, value, negated) = match cond.split_once("!=") {
            Some((n, v)) => (n, v, true),
            None => {
                let (n, v) = cond.split_once('=').unwrap_or((cond, ""));
                (n, v, false)
            }
        };
        conds.push((cond, name, value, negated));
        line = rest;
    }
    (conds, line)
}

fn parse_knob(k: &RawKnob) -> Result<KnobSpec, String> {
    if k.name.is_empty()
        || !k
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(format!(
            "knob name `{}` must be lowercase letters, digits and dashes",
            k.name
        ));
    }
    let kind = match k.kind.as_str() {
        "bool" => KnobKind::Bool {
            default: k.default.as_bool().ok_or_else(|| {
                format!("knob `{}`: a bool knob's default is true or false", k.name)
            })?,
        },
        "int" => {
            let default = k.default.as_integer().ok_or_else(|| {
                format!("knob `{}`: an int knob's default is a whole number", k.name)
            })?;
            let (min, max) = match (k.min, k.max) {
                (Some(a), Some(b)) => (a, b),
                _ => return Err(format!("knob `{}`: an int knob needs min and max", k.name)),
            };
            if !(min <= default && default <= max) {
                return Err(format!(
                    "knob `{}`: default {default} is outside {min}..={max}",
                    k.name
                ));
            }
            KnobKind::Int {
                default,
                min,
                max,
                unit: k.unit.clone().unwrap_or_default(),
            }
        }
        "choice" => {
            let options = k
                .options
                .clone()
                .filter(|o| !o.is_empty())
                .ok_or_else(|| format!("knob `{}`: a choice knob needs options", k.name))?;
            let default = k
                .default
                .as_str()
                .filter(|d| options.iter().any(|o| o == d))
                .ok_or_else(|| {
                    format!("knob `{}`: the default must be one of the options", k.name)
                })?
                .to_string();
            KnobKind::Choice { default, options }
        }
        other => {
            return Err(format!(
                "knob `{}`: kind `{other}` is not bool, int or choice",
                k.name
            ));
        }
    };
    Ok(KnobSpec {
        name: k.name.clone(),
        kind,
        help: k.help.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(escape("plain 中文"), "plain 中文");
        assert_eq!(escape("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape("x\ny\r"), "x\\u{a}y\\u{d}");
        assert_eq!(escape("\u{202e}abc"), "\\u{202e}abc");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
    }

    const GOOD: &str = r#"
id = "demo"
scenario = "balance"
concepts = ["Thread"]
title = { en = "Demo", zh = "演示" }
summary = { en = "s", zh = "s" }
explanation = { en = "e", zh = "e" }
code = """
x = 1
?{lock=on}lock = Lock()
for i in range({{n}}):
"""

[[knob]]
name = "lock"
kind = "bool"
default = false
help = { en = "h", zh = "h" }

[[knob]]
name = "n"
kind = "int"
default = 3
min = 1
max = 9
help = { en = "h", zh = "h" }
"#;

    #[test]
    fn conditional_lines_and_holes_follow_the_knobs() {
        let l = Lesson::parse("demo.toml", GOOD).unwrap();
        let mut k = l.default_knobs();
        assert_eq!(l.code(&k), "x = 1\nfor i in range(3):\n");
        k.set(&l.knobs, "lock", "on").unwrap();
        k.set(&l.knobs, "n", "7").unwrap();
        assert_eq!(l.code(&k), "x = 1\nlock = Lock()\nfor i in range(7):\n");
    }

    #[test]
    fn bad_values_are_refused_with_the_range() {
        let l = Lesson::parse("demo.toml", GOOD).unwrap();
        let mut k = l.default_knobs();
        let e = k.set(&l.knobs, "n", "10").unwrap_err();
        assert!(e.contains("from 1 to 9"), "{e}");
        assert!(
            k.set(&l.knobs, "nope", "1")
                .unwrap_err()
                .contains("unknown knob")
        );
        assert!(k.set(&l.knobs, "lock", "maybe").is_err());
    }

    #[test]
    fn a_syntax_error_names_file_line_and_column() {
        let bad = GOOD.replace("concepts = [\"Thread\"]", "concepts = [\"Thread\"");
        let e = Lesson::parse("demo.toml", &bad).unwrap_err();
        assert_eq!(e.file, "demo.toml");
        // The parser notices the missing `]` where the next line begins.
        assert_eq!(e.line, 5, "{e}");
        assert!(e.to_string().starts_with("demo.toml:5:1: "), "{e}");
    }

    #[test]
    fn a_bad_knob_default_is_reported_where_the_knob_is() {
        let bad = GOOD.replace("default = 3", "default = 30");
        let e = Lesson::parse("demo.toml", &bad).unwrap_err();
        assert!(e.reason.contains("outside 1..=9"), "{e}");
        // The `[[knob]]` header of the knob with the bad default.
        assert_eq!(e.line, 20, "{e}");
    }

    #[test]
    fn missing_chinese_text_is_refused() {
        let bad = GOOD.replace("zh = \"演示\"", "zh = \"\"");
        let e = Lesson::parse("demo.toml", &bad).unwrap_err();
        assert!(e.reason.contains("both `en` and `zh`"), "{e}");
        assert_eq!(e.line, 5);
    }
}
