//! What a lesson declares the simulator models differently from real CPython
//! (`[[differs]]`): the comparison with CPython (issue 17, item 6) leaves it out,
//! and says so, instead of calling it a disagreement.

use super::{KnobSpec, Knobs, Lang, Text};
use serde::Deserialize;

/// One declared difference: exactly one of `global`, `whole` and `joined`, and why;
/// with `when`, only under those knob settings.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Difference {
    /// A shared variable the simulator keeps that is no global value in CPython
    /// (a semaphore's counter is inside the Semaphore object): its reads, writes
    /// and final value are not compared.
    pub global: Option<String>,
    /// `true`: the lesson's runs are not compared with CPython at all.
    pub whole: Option<bool>,
    /// `true`: a run whose output joins writes of two threads or processes on one
    /// line is not compared. In CPython one `print()` is one step of the
    /// controller, so it cannot put another process's write between a print's text
    /// and its end: only timing does that.
    pub joined: Option<bool>,
    /// Knob settings (`"lock=on"`) under which alone the difference holds, all of
    /// them at once; none: under every setting.
    #[serde(default)]
    pub when: Vec<String>,
    /// Why the simulator differs there.
    pub why: Text,
}

impl Difference {
    /// The global this declares not compared, if any.
    pub fn global(&self) -> Option<&str> {
        self.global.as_deref()
    }

    /// Whether this declares the whole lesson not compared.
    pub fn whole(&self) -> bool {
        self.whole == Some(true)
    }

    /// Whether this declares a run that joins two writers' text on a line not
    /// compared.
    pub fn joined(&self) -> bool {
        self.joined == Some(true)
    }

    /// Whether the difference holds under `knobs`: every `when` setting is set.
    pub fn applies(&self, knobs: &Knobs) -> bool {
        self.when.iter().all(|w| match w.split_once('=') {
            Some((name, value)) => knobs
                .get(name.trim())
                .is_some_and(|v| v.to_string() == value.trim()),
            None => false,
        })
    }

    /// What the comparison says about it: `sem (why)`, or for the whole lesson
    /// just why.
    pub fn label(&self, lang: Lang) -> String {
        let why = self.why.get(lang).trim();
        match &self.global {
            Some(g) => format!("{g} ({why})"),
            None => why.to_string(),
        }
    }
}

/// Checks one `[[differs]]` table against the lesson's knobs.
pub(super) fn check(d: &Difference, knobs: &[KnobSpec]) -> Result<(), String> {
    for w in &d.when {
        let Some((name, value)) = w.split_once('=') else {
            return Err(format!(
                "a [[differs]] table's `when` entry {w:?} is no knob setting: write \"knob=value\""
            ));
        };
        let Some(spec) = knobs.iter().find(|k| k.name == name.trim()) else {
            return Err(format!(
                "a [[differs]] table's `when` names knob `{}`, which the lesson does not declare",
                name.trim()
            ));
        };
        let v = spec
            .parse(value.trim())
            .map_err(|e| format!("a [[differs]] table's `when` entry {w:?}: {e}"))?;
        if v.to_string() != value.trim() {
            return Err(format!(
                "a [[differs]] table's `when` entry {w:?}: write the value as `{}={v}`",
                name.trim()
            ));
        }
    }
    match (&d.global, d.whole, d.joined) {
        (Some(g), None, None) if g.trim().is_empty() => {
            return Err("a [[differs]] table's `global` is empty".into());
        }
        (Some(_), None, None) | (None, Some(true), None) | (None, None, Some(true)) => {}
        (None, Some(false), None) | (None, None, Some(false)) => {
            return Err(
                "`whole = false` or `joined = false` declares nothing: leave the table out".into(),
            );
        }
        _ => {
            return Err(
                "a [[differs]] table names exactly one of `global`, `whole = true` and `joined = true`"
                    .into(),
            );
        }
    }
    super::tour::both("differs.why", &d.why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why() -> Text {
        Text {
            en: "because".into(),
            zh: "因为".into(),
        }
    }

    #[test]
    fn a_table_declares_exactly_one_thing_with_its_reason() {
        let global = Difference {
            global: Some("sem".into()),
            whole: None,
            joined: None,
            when: Vec::new(),
            why: why(),
        };
        assert!(check(&global, &[]).is_ok());
        assert_eq!(global.label(Lang::En), "sem (because)");
        let both = Difference {
            whole: Some(true),
            ..global.clone()
        };
        assert!(check(&both, &[]).is_err());
        let none = Difference {
            global: None,
            whole: None,
            joined: None,
            when: Vec::new(),
            why: why(),
        };
        assert!(check(&none, &[]).is_err());
        let whole = Difference {
            whole: Some(true),
            ..none.clone()
        };
        assert!(check(&whole, &[]).is_ok() && whole.whole());
        let joined = Difference {
            joined: Some(true),
            ..none.clone()
        };
        assert!(check(&joined, &[]).is_ok() && joined.joined() && !joined.whole());
        let two = Difference {
            joined: Some(true),
            ..whole.clone()
        };
        assert!(check(&two, &[]).is_err());
        let no_zh = Difference {
            why: Text {
                en: "because".into(),
                zh: String::new(),
            },
            ..global
        };
        assert!(check(&no_zh, &[]).is_err());
    }

    #[test]
    fn a_table_with_when_holds_only_under_those_settings() {
        let specs = vec![KnobSpec {
            name: "lock".into(),
            kind: super::super::KnobKind::Bool { default: false },
            help: why(),
        }];
        let d = Difference {
            global: None,
            whole: Some(true),
            joined: None,
            when: vec!["lock=on".into()],
            why: why(),
        };
        assert!(check(&d, &specs).is_ok());
        let mut knobs = Knobs::defaults(&specs);
        assert!(!d.applies(&knobs), "lock is off by default");
        knobs.set(&specs, "lock", "on").expect("a valid setting");
        assert!(d.applies(&knobs));
        for bad in ["lock", "nolock=on", "lock=maybe", "lock=true"] {
            let d = Difference {
                when: vec![bad.into()],
                ..d.clone()
            };
            assert!(check(&d, &specs).is_err(), "{bad} is refused");
        }
    }
}
