//! What a lesson declares the simulator models differently from real CPython
//! (`[[differs]]`): the comparison with CPython (issue 17, item 6) leaves it out,
//! and says so, instead of calling it a disagreement.

use super::Text;
use serde::Deserialize;

/// One declared difference: exactly one of `global` and `timing`, and why.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Difference {
    /// A shared variable the simulator keeps that is no global value in CPython
    /// (a semaphore's counter is inside the Semaphore object): its reads, writes
    /// and final value are not compared.
    pub global: Option<String>,
    /// Printed lines that contain this text report a time measured by the
    /// program: they are compared with every number written as `<n>`.
    pub timing: Option<String>,
    /// Why the simulator differs there.
    pub why: Text,
}

impl Difference {
    /// The global this declares not compared, if any.
    pub fn global(&self) -> Option<&str> {
        self.global.as_deref()
    }

    /// What the comparison says about it: `sem (why)`.
    pub fn label(&self, lang: super::Lang) -> String {
        let what = match (&self.global, &self.timing) {
            (Some(g), _) => g.clone(),
            (_, Some(t)) => format!("{t:?}"),
            _ => String::new(),
        };
        format!("{what} ({})", self.why.get(lang).trim())
    }
}

/// Checks one `[[differs]]` table.
pub(super) fn check(d: &Difference) -> Result<(), String> {
    match (&d.global, &d.timing) {
        (Some(_), Some(_)) | (None, None) => {
            return Err("a [[differs]] table names exactly one of `global` and `timing`".into());
        }
        (Some(s), None) | (None, Some(s)) if s.trim().is_empty() => {
            return Err("a [[differs]] table's `global` or `timing` is empty".into());
        }
        _ => {}
    }
    super::tour::both("differs.why", &d.why)
}

/// `line` with every run of digits (and a decimal point inside one) written as
/// `<n>`: a timing compared by its shape.
pub fn mask_numbers(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|&n| n.is_ascii_digit() || n == '.')
            {
                chars.next();
            }
            out.push_str("<n>");
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_compare_by_shape() {
        assert_eq!(
            mask_numbers("I/O thread woke up 11.0 ms late (3 of 4)"),
            "I/O thread woke up <n> ms late (<n> of <n>)"
        );
        assert_eq!(mask_numbers("no numbers."), "no numbers.");
    }
}
