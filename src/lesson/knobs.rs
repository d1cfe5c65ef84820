//! Knobs: a lesson's settings, their kinds, ranges and current values.

use super::Text;
use crate::program::{EngineConfig, GilModel, Granularity};
use std::fmt;

/// What values a knob takes.
#[derive(Clone, Debug, PartialEq)]
pub enum KnobKind {
    Bool {
        default: bool,
    },
    Int {
        default: i64,
        min: i64,
        max: i64,
        unit: String,
    },
    Choice {
        default: String,
        options: Vec<String>,
    },
}

/// One knob a lesson declares.
#[derive(Clone, Debug, PartialEq)]
pub struct KnobSpec {
    pub name: String,
    pub kind: KnobKind,
    pub help: Text,
}

/// A knob's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KnobValue {
    Bool(bool),
    Int(i64),
    Choice(String),
}

impl fmt::Display for KnobValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KnobValue::Bool(true) => f.write_str("on"),
            KnobValue::Bool(false) => f.write_str("off"),
            KnobValue::Int(i) => write!(f, "{i}"),
            KnobValue::Choice(s) => f.write_str(s),
        }
    }
}

impl KnobSpec {
    pub fn default_value(&self) -> KnobValue {
        match &self.kind {
            KnobKind::Bool { default } => KnobValue::Bool(*default),
            KnobKind::Int { default, .. } => KnobValue::Int(*default),
            KnobKind::Choice { default, .. } => KnobValue::Choice(default.clone()),
        }
    }

    /// Reads a value typed by a person: `on`/`off`, a number in range, an option.
    pub fn parse(&self, text: &str) -> Result<KnobValue, String> {
        let t = text.trim();
        match &self.kind {
            KnobKind::Bool { .. } => match t.to_ascii_lowercase().as_str() {
                "on" | "true" | "yes" | "1" => Ok(KnobValue::Bool(true)),
                "off" | "false" | "no" | "0" => Ok(KnobValue::Bool(false)),
                _ => Err(format!("knob `{}` is on or off, not `{t}`", self.name)),
            },
            KnobKind::Int { min, max, .. } => {
                let v: i64 = t
                    .replace('_', "")
                    .parse()
                    .map_err(|_| format!("knob `{}` takes a whole number, not `{t}`", self.name))?;
                if v < *min || v > *max {
                    return Err(format!(
                        "knob `{}` must be from {min} to {max}, not {v}",
                        self.name
                    ));
                }
                Ok(KnobValue::Int(v))
            }
            KnobKind::Choice { options, .. } => {
                if options.iter().any(|o| o == t) {
                    Ok(KnobValue::Choice(t.to_string()))
                } else {
                    Err(format!(
                        "knob `{}` is one of {}, not `{t}`",
                        self.name,
                        options.join(", ")
                    ))
                }
            }
        }
    }

    /// The value after `v` when a person cycles the knob (a toggle or the next option).
    pub fn next(&self, v: &KnobValue) -> KnobValue {
        match (&self.kind, v) {
            (KnobKind::Bool { .. }, KnobValue::Bool(b)) => KnobValue::Bool(!b),
            (KnobKind::Choice { options, .. }, KnobValue::Choice(c)) => {
                let i = options.iter().position(|o| o == c).unwrap_or(0);
                KnobValue::Choice(options[(i + 1) % options.len()].clone())
            }
            (KnobKind::Int { min, max, .. }, KnobValue::Int(i)) => {
                KnobValue::Int((i.saturating_mul(2)).clamp(*min, *max))
            }
            _ => self.default_value(),
        }
    }
}

/// The values of every knob of one lesson, in the lesson's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Knobs {
    values: Vec<(String, KnobValue)>,
}

impl Knobs {
    pub fn defaults(specs: &[KnobSpec]) -> Self {
        Knobs {
            values: specs
                .iter()
                .map(|s| (s.name.clone(), s.default_value()))
                .collect(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &KnobValue)> {
        self.values.iter().map(|(n, v)| (n.as_str(), v))
    }

    pub fn get(&self, name: &str) -> Option<&KnobValue> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A knob the lesson must declare, as a scenario reads it: a knob the lesson
    /// leaves out, or declares with another kind, is an error (which `check` and
    /// loading the lesson report), never a silent default.
    fn declared(&self, name: &str, kind: &str) -> Result<&KnobValue, String> {
        let v = self.get(name).ok_or_else(|| {
            format!(
                "the scenario reads knob `{name}` ({kind}), which the lesson does not declare; \
                 add a [[knob]] named `{name}` with its default to the lesson file"
            )
        })?;
        let matches = matches!(
            (v, kind),
            (KnobValue::Bool(_), "on/off")
                | (KnobValue::Int(_), "a whole number")
                | (KnobValue::Choice(_), "a choice")
        );
        if matches {
            Ok(v)
        } else {
            Err(format!(
                "the scenario reads knob `{name}` as {kind}, but the lesson declares it as {}",
                match v {
                    KnobValue::Bool(_) => "on/off",
                    KnobValue::Int(_) => "a whole number",
                    KnobValue::Choice(_) => "a choice",
                }
            ))
        }
    }

    /// An on/off knob the lesson declares.
    pub fn bool(&self, name: &str) -> Result<bool, String> {
        Ok(matches!(
            self.declared(name, "on/off")?,
            KnobValue::Bool(true)
        ))
    }

    /// A whole-number knob the lesson declares.
    pub fn int(&self, name: &str) -> Result<i64, String> {
        match self.declared(name, "a whole number")? {
            KnobValue::Int(i) => Ok(*i),
            _ => Err(format!("knob `{name}` is not a whole number")),
        }
    }

    /// A choice knob the lesson declares.
    pub fn option(&self, name: &str) -> Result<&str, String> {
        match self.declared(name, "a choice")? {
            KnobValue::Choice(c) => Ok(c),
            _ => Err(format!("knob `{name}` is not a choice")),
        }
    }

    /// One of the shared engine knobs a lesson may leave out (`python`, `gil`,
    /// `granularity`, `scheduler`): then CPython's defaults hold. Scenario knobs
    /// are read with `bool`, `int` and `option`.
    pub fn choice(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(KnobValue::Choice(c)) => Some(c),
            _ => None,
        }
    }

    /// Sets a knob the lesson declares; `specs` are the lesson's knobs.
    pub fn set(&mut self, specs: &[KnobSpec], name: &str, text: &str) -> Result<(), String> {
        let spec = specs.iter().find(|s| s.name == name).ok_or_else(|| {
            let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            format!(
                "unknown knob `{name}`; this lesson has: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )
        })?;
        let v = spec.parse(text)?;
        self.put(name, v);
        Ok(())
    }

    /// Replaces a value the caller has already checked.
    pub fn put(&mut self, name: &str, v: KnobValue) {
        match self.values.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = v,
            None => self.values.push((name.to_string(), v)),
        }
    }

    /// The engine settings these knobs ask for (lessons without the shared knobs
    /// get CPython's defaults: classic GIL, bytecode steps, 5 ms).
    pub fn engine(&self) -> EngineConfig {
        let d = EngineConfig::default();
        EngineConfig {
            gil: self
                .choice("gil")
                .and_then(GilModel::parse)
                .unwrap_or(d.gil),
            granularity: self
                .choice("granularity")
                .and_then(Granularity::parse)
                .unwrap_or(d.granularity),
            switch_interval_ns: match self.get("switch-interval") {
                Some(KnobValue::Int(us)) => (*us).max(1) as u64 * 1000,
                _ => d.switch_interval_ns,
            },
        }
    }

    /// `lock=on gil=gil-classic …`, as a person would type them back.
    pub fn summary(&self) -> String {
        self.values
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}
