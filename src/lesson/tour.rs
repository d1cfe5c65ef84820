//! What a lesson file says beside its program to guide a student: a tour of steps,
//! each with something to do and a check on the run that says it is done; a
//! question to answer before the first run; and where the classic tutorials are
//! wrong for today's CPython.
//!
//! ```toml
//! [[tour]]
//! text = { en = "Step t1 until it has read balance.", zh = "…" }
//! do = { en = "press 1 five times", zh = "…" }
//! keys = "11111"
//! check = "steps_of('t1') >= 5"
//! hint = { en = "1 steps t1; b steps back", zh = "…" }
//!
//! [predict]
//! question = { en = "What does print(balance) show?", zh = "…" }
//! [[predict.choice]]
//! text = { en = "always 0", zh = "…" }
//! check = "balance == 0"
//! explain = { en = "…", zh = "…" }
//!
//! [[errata]]
//! tutorial = { en = "…", zh = "…" }
//! cpython = { en = "…", zh = "…" }
//! ```
//!
//! Checks are [`Expr`]essions over the run so far: shared variables, knobs,
//! `steps`, `overwritten`, `over`, `finished`, `deadlock`, `printed('…')` and the
//! questions in [`super::verdict::CALLS`].

use super::verdict::Expr;
use super::{KnobSpec, KnobValue, Text};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A key the tour presses for the student (`D`) and that its test presses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TourKey {
    Char(char),
    Enter,
    Home,
    End,
    Tab,
}

/// Reads a tour's `keys`: characters are keys, `<Enter>`, `<Home>`, `<End>`,
/// `<Tab>` and `<Space>` name the others; plain spaces only separate groups.
pub fn parse_keys(s: &str) -> Result<Vec<TourKey>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let end = rest
                .find('>')
                .ok_or_else(|| format!("`<` opens a key name that is not closed in `{s}`"))?;
            let k = match &rest[1..end] {
                "Enter" => TourKey::Enter,
                "Home" => TourKey::Home,
                "End" => TourKey::End,
                "Tab" => TourKey::Tab,
                "Space" => TourKey::Char(' '),
                "" => TourKey::Char('<'),
                other => return Err(format!("unknown key name `<{other}>`")),
            };
            out.push(k);
            rest = &rest[end + 1..];
            continue;
        }
        rest = &rest[c.len_utf8()..];
        if c == ' ' {
            continue;
        }
        if c.is_control() || !c.is_ascii() {
            return Err(format!(
                "`{}` is not a key the tour can press",
                c.escape_debug()
            ));
        }
        out.push(TourKey::Char(c));
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    text: Text,
    #[serde(rename = "do")]
    todo: Text,
    keys: Option<String>,
    #[serde(default)]
    set: BTreeMap<String, toml::Value>,
    check: String,
    hint: Text,
}

/// One step of a tour.
#[derive(Clone, Debug)]
pub struct TourStep {
    /// What this step shows and why it matters.
    pub text: Text,
    /// What to do, as an instruction (`press 1 five times`).
    pub todo: Text,
    /// The keys that do it (what `D` presses for the student).
    pub keys: Vec<TourKey>,
    /// Knob values the step sets before its keys (what `D` sets).
    pub set: Vec<(String, KnobValue)>,
    /// True when the step is done.
    pub check: Expr,
    /// The check as written, for `check` and errors.
    pub check_text: String,
    /// Shown when a move does not get there.
    pub hint: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPredict {
    question: Text,
    #[serde(rename = "choice")]
    choices: Vec<RawChoice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChoice {
    text: Text,
    check: String,
    explain: Text,
}

/// The question a student answers before the first run.
#[derive(Clone, Debug)]
pub struct Predict {
    pub question: Text,
    pub choices: Vec<Choice>,
}

/// One answer, and how to tell from a finished run whether the run showed it.
#[derive(Clone, Debug)]
pub struct Choice {
    pub text: Text,
    pub check: Expr,
    pub check_text: String,
    /// Why this answer is right or wrong, whatever one run showed.
    pub explain: Text,
}

/// Where a classic tutorial is wrong or outdated for today's CPython.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Erratum {
    /// What the tutorial says.
    pub tutorial: Text,
    /// What CPython does, with the versions it was measured on.
    pub cpython: Text,
}

pub(super) fn both(what: &str, t: &Text) -> Result<(), String> {
    if t.en.trim().is_empty() || t.zh.trim().is_empty() {
        return Err(format!("{what} needs both `en` and `zh` text"));
    }
    // Shown on a terminal: no escape sequences, as for every lesson text.
    for s in [&t.en, &t.zh] {
        if let Some(c) = s
            .chars()
            .find(|&c| super::is_unsafe(c) && c != '\n' && c != '\t')
        {
            return Err(format!(
                "{what} contains the control character {}; lesson texts are shown on a terminal",
                c.escape_unicode()
            ));
        }
    }
    Ok(())
}

pub(super) fn step(raw: RawStep, knobs: &[KnobSpec], n: usize) -> Result<TourStep, String> {
    let at = |e: String| format!("tour step {n}: {e}");
    both("text", &raw.text).map_err(at)?;
    both("do", &raw.todo).map_err(at)?;
    both("hint", &raw.hint).map_err(at)?;
    let keys = parse_keys(raw.keys.as_deref().unwrap_or("")).map_err(at)?;
    let mut set = Vec::new();
    for (name, v) in raw.set {
        let spec = knobs.iter().find(|k| k.name == name).ok_or_else(|| {
            at(format!(
                "`set` names knob `{name}`, which this lesson lacks"
            ))
        })?;
        let text = match v {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => if b { "on" } else { "off" }.to_string(),
            other => return Err(at(format!("`set.{name}` cannot be {}", other.type_str()))),
        };
        set.push((name, spec.parse(&text).map_err(at)?));
    }
    if keys.is_empty() && set.is_empty() {
        return Err(at("a step needs `keys` or `set`: something to do".into()));
    }
    let check = Expr::parse(&raw.check).map_err(|e| at(format!("check: {e}")))?;
    Ok(TourStep {
        text: raw.text,
        todo: raw.todo,
        keys,
        set,
        check,
        check_text: raw.check,
        hint: raw.hint,
    })
}

pub(super) fn predict(raw: RawPredict) -> Result<Predict, String> {
    both("predict question", &raw.question)?;
    if raw.choices.len() < 2 {
        return Err("predict needs at least two choices".into());
    }
    let mut choices = Vec::new();
    for (i, c) in raw.choices.into_iter().enumerate() {
        let at = |e: String| format!("predict choice {}: {e}", i + 1);
        both("text", &c.text).map_err(at)?;
        both("explain", &c.explain).map_err(at)?;
        let check = Expr::parse(&c.check).map_err(|e| at(format!("check: {e}")))?;
        choices.push(Choice {
            text: c.text,
            check,
            check_text: c.check,
            explain: c.explain,
        });
    }
    Ok(Predict {
        question: raw.question,
        choices,
    })
}

pub(super) fn erratum(e: &Erratum) -> Result<(), String> {
    both("errata `tutorial`", &e.tutorial)?;
    both("errata `cpython`", &e.cpython)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_characters_and_named_keys() {
        assert_eq!(
            parse_keys("11 2<End><Space>").unwrap(),
            vec![
                TourKey::Char('1'),
                TourKey::Char('1'),
                TourKey::Char('2'),
                TourKey::End,
                TourKey::Char(' ')
            ]
        );
        assert!(parse_keys("<Nope>").is_err());
        assert!(parse_keys("<End").is_err());
        assert!(parse_keys("\u{1b}[A").is_err());
    }
}
