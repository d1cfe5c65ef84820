//! A lesson's verdict: what a correct run is, as small expressions over the final
//! shared state, the knobs and the output, written in the lesson file's `[verdict]`.
//!
//! ```toml
//! [verdict]
//! names = { sold = "printed('got a ticket')" }
//! correct = "sold <= tickets"
//! expected = { "ticket.json" = "max(tickets - buyers, 0)" }
//! missing = "sold - (tickets - ticket.json)"
//! unit = { en = "ticket sales", zh = "次售票" }
//! right = { en = "{sold} sold of {tickets}", zh = "…" }
//! wrong = { en = "{sold} buyers got one of {tickets} ticket(s)", zh = "…" }
//! ```
//!
//! Names are the program's shared variables (`balance`, `counter.value`), the
//! knobs (dashes read as underscores, `on`/`off` as 1/0), `finished` and
//! `deadlock` (1 or 0), and the lesson's own `names`. `printed('text')` counts the
//! output lines that contain the text.

use super::Text;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A value the expressions compute with.
pub type Num = i64;

/// One parsed expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Num(Num),
    Name(String),
    Printed(String),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
    Min(Box<Expr>, Box<Expr>),
    Max(Box<Expr>, Box<Expr>),
    /// A question about the run so far, with quoted arguments:
    /// `blocked('t1')`, `holds('t1', 'lock')` (tour checks; see [`CALLS`]).
    Call(String, Vec<String>),
}

/// The questions a check may ask of a run, with how many arguments each takes.
/// Actor names are the program's (`t1`, `Process-1`, `MainThread`).
pub const CALLS: &[(&str, usize, &str)] = &[
    (
        "blocked",
        1,
        "the actor waits: for a lock, a queue, a pipe, a join, a sleep",
    ),
    ("done", 1, "the actor has ended"),
    ("started", 1, "the actor has run at least one step"),
    ("holds", 2, "the actor holds the lock named second"),
    ("steps_of", 1, "how many steps the actor has taken"),
    (
        "printer",
        1,
        "the actor that printed the first line containing the text (-1: nobody)",
    ),
    (
        "knob",
        2,
        "the knob has the value named second (`knob('gil', 'free')`)",
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

/// What an expression reads: names and the output.
pub trait Env {
    fn name(&self, name: &str) -> Option<Num>;
    /// How many output lines contain `text`.
    fn printed(&self, text: &str) -> Num;
    /// The answer to a question of [`CALLS`]; `None` if this environment cannot
    /// answer it (a verdict is about the final state only) or an argument names
    /// nobody.
    fn call(&self, _name: &str, _args: &[String]) -> Option<Num> {
        None
    }
}

impl Expr {
    /// Parses one expression; the error says what was expected where.
    pub fn parse(src: &str) -> Result<Expr, String> {
        let toks = lex(src)?;
        let mut p = Parser { toks, at: 0 };
        let e = p.or()?;
        match p.toks.get(p.at) {
            None => Ok(e),
            Some(t) => Err(format!("unexpected `{}` in `{src}`", t.text())),
        }
    }

    /// The value, or the first name nobody knows.
    pub fn eval(&self, env: &dyn Env) -> Result<Num, String> {
        Ok(match self {
            Expr::Num(n) => *n,
            Expr::Name(n) => env
                .name(n)
                .ok_or_else(|| format!("the verdict names `{n}`, which is not known"))?,
            Expr::Printed(t) => env.printed(t),
            Expr::Call(f, args) => env
                .call(f, args)
                .ok_or_else(|| format!("`{f}({})` cannot be answered here", args.join(", ")))?,
            Expr::Neg(e) => e.eval(env)?.wrapping_neg(),
            Expr::Not(e) => (e.eval(env)? == 0) as Num,
            Expr::Min(a, b) => a.eval(env)?.min(b.eval(env)?),
            Expr::Max(a, b) => a.eval(env)?.max(b.eval(env)?),
            Expr::Bin(op, a, b) => {
                let x = a.eval(env)?;
                // `and` and `or` look at the right side only when they must.
                match op {
                    Op::And if x == 0 => return Ok(0),
                    Op::Or if x != 0 => return Ok(1),
                    _ => {}
                }
                let y = b.eval(env)?;
                match op {
                    Op::Add => x.wrapping_add(y),
                    Op::Sub => x.wrapping_sub(y),
                    Op::Mul => x.wrapping_mul(y),
                    Op::Eq => (x == y) as Num,
                    Op::Ne => (x != y) as Num,
                    Op::Lt => (x < y) as Num,
                    Op::Le => (x <= y) as Num,
                    Op::Gt => (x > y) as Num,
                    Op::Ge => (x >= y) as Num,
                    Op::And | Op::Or => (y != 0) as Num,
                }
            }
        })
    }

    /// Every name the expression reads.
    pub fn names(&self, out: &mut Vec<String>) {
        match self {
            Expr::Name(n) => out.push(n.clone()),
            Expr::Num(_) | Expr::Printed(_) | Expr::Call(..) => {}
            Expr::Neg(e) | Expr::Not(e) => e.names(out),
            Expr::Bin(_, a, b) | Expr::Min(a, b) | Expr::Max(a, b) => {
                a.names(out);
                b.names(out);
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Num(Num),
    Ident(String),
    Str(String),
    Sym(&'static str),
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Num(n) => n.to_string(),
            Tok::Ident(s) => s.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Sym(s) => s.to_string(),
        }
    }
}

const SYMS: [&str; 13] = [
    "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "(", ")", ",", "×",
];

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
        } else if c.is_ascii_digit() {
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let n = rest[..end]
                .parse()
                .map_err(|_| format!("number too large in `{src}`"))?;
            out.push(Tok::Num(n));
            rest = &rest[end..];
        } else if c.is_ascii_alphabetic() || c == '_' {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .unwrap_or(rest.len());
            out.push(Tok::Ident(rest[..end].to_string()));
            rest = &rest[end..];
        } else if c == '\'' || c == '"' {
            let body = &rest[1..];
            let end = body
                .find(c)
                .ok_or_else(|| format!("a string is not closed in `{src}`"))?;
            out.push(Tok::Str(body[..end].to_string()));
            rest = &body[end + 1..];
        } else if let Some(s) = SYMS.iter().find(|s| rest.starts_with(**s)) {
            out.push(Tok::Sym(if *s == "×" { "*" } else { s }));
            rest = &rest[s.len()..];
        } else {
            return Err(format!("unexpected `{c}` in `{src}`"));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(x)) if *x == s) {
            self.at += 1;
            return true;
        }
        false
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(x)) if x == w) {
            self.at += 1;
            return true;
        }
        false
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), String> {
        if self.eat_sym(s) {
            return Ok(());
        }
        Err(match self.peek() {
            Some(t) => format!("expected `{s}`, found `{}`", t.text()),
            None => format!("expected `{s}` at the end"),
        })
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.eat_word("or") {
            e = Expr::Bin(Op::Or, Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.not()?;
        while self.eat_word("and") {
            e = Expr::Bin(Op::And, Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.eat_word("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, String> {
        let e = self.sum()?;
        let ops = [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        for (s, op) in ops {
            if self.eat_sym(s) {
                return Ok(Expr::Bin(op, Box::new(e), Box::new(self.sum()?)));
            }
        }
        Ok(e)
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut e = self.product()?;
        loop {
            let op = if self.eat_sym("+") {
                Op::Add
            } else if self.eat_sym("-") {
                Op::Sub
            } else {
                return Ok(e);
            };
            e = Expr::Bin(op, Box::new(e), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while self.eat_sym("*") {
            e = Expr::Bin(Op::Mul, Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat_sym("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, String> {
        let Some(t) = self.peek().cloned() else {
            return Err("an expression ends too early".into());
        };
        self.at += 1;
        match t {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Sym("(") => {
                let e = self.or()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Tok::Ident(f) if f == "printed" => {
                self.expect_sym("(")?;
                let Some(Tok::Str(s)) = self.peek().cloned() else {
                    return Err("printed() takes a quoted text".into());
                };
                self.at += 1;
                self.expect_sym(")")?;
                Ok(Expr::Printed(s))
            }
            Tok::Ident(f) if f == "min" || f == "max" => {
                self.expect_sym("(")?;
                let a = self.or()?;
                self.expect_sym(",")?;
                let b = self.or()?;
                self.expect_sym(")")?;
                let (a, b) = (Box::new(a), Box::new(b));
                Ok(if f == "min" {
                    Expr::Min(a, b)
                } else {
                    Expr::Max(a, b)
                })
            }
            // A question only when a `(` follows: `done` alone may be a name.
            Tok::Ident(f)
                if CALLS.iter().any(|(c, _, _)| *c == f)
                    && matches!(self.peek(), Some(Tok::Sym("("))) =>
            {
                self.call(f)
            }
            Tok::Ident(n) => Ok(Expr::Name(n)),
            other => Err(format!("unexpected `{}`", other.text())),
        }
    }
}

impl Parser {
    /// `name('a', 'b')`: the arguments are quoted texts, as many as [`CALLS`] says.
    fn call(&mut self, f: String) -> Result<Expr, String> {
        let want = CALLS.iter().find(|(c, _, _)| *c == f).map_or(0, |c| c.1);
        self.expect_sym("(")?;
        let mut args = Vec::new();
        loop {
            match self.peek().cloned() {
                Some(Tok::Str(s)) => {
                    self.at += 1;
                    args.push(s);
                }
                _ => return Err(format!("{f}() takes quoted names, e.g. {f}('t1')")),
            }
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(")")?;
        if args.len() != want {
            return Err(format!(
                "{f}() takes {want} quoted argument(s), not {}",
                args.len()
            ));
        }
        Ok(Expr::Call(f, args))
    }
}

impl Expr {
    /// Every question the expression asks, with its arguments.
    pub fn calls<'a>(&'a self, out: &mut Vec<(&'a str, &'a [String])>) {
        match self {
            Expr::Call(f, a) => out.push((f, a)),
            Expr::Num(_) | Expr::Printed(_) | Expr::Name(_) => {}
            Expr::Neg(e) | Expr::Not(e) => e.calls(out),
            Expr::Bin(_, a, b) | Expr::Min(a, b) | Expr::Max(a, b) => {
                a.calls(out);
                b.calls(out);
            }
        }
    }
}

/// The `[verdict]` table as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVerdict {
    #[serde(default)]
    names: BTreeMap<String, String>,
    correct: String,
    #[serde(default)]
    expected: BTreeMap<String, String>,
    missing: Option<String>,
    unit: Option<Text>,
    right: Text,
    wrong: Text,
}

/// A lesson's verdict, parsed and checked.
#[derive(Clone, Debug)]
pub struct VerdictSpec {
    /// The lesson's own names, in the order they may use each other.
    pub names: Vec<(String, Expr)>,
    pub correct: Expr,
    /// The criterion as the lesson wrote it (shown next to the verdict).
    pub correct_text: String,
    /// What a correct run leaves in shared variables.
    pub expected: Vec<(String, Expr)>,
    /// How much of the program's effect is missing, in `unit`.
    pub missing: Option<Expr>,
    pub unit: Text,
    /// Why the run is right or wrong: text with `{name}` holes.
    pub right: Text,
    pub wrong: Text,
}

impl VerdictSpec {
    pub fn from_raw(raw: RawVerdict) -> Result<VerdictSpec, String> {
        let parse =
            |what: &str, s: &str| Expr::parse(s).map_err(|e| format!("verdict {what}: {e}"));
        let mut names = Vec::new();
        for (n, s) in &raw.names {
            names.push((n.clone(), parse(n, s)?));
        }
        // A name may use another: order them so each comes after those it reads.
        order_names(&mut names)?;
        let expected = raw
            .expected
            .iter()
            .map(|(n, s)| Ok((n.clone(), parse(n, s)?)))
            .collect::<Result<Vec<_>, String>>()?;
        for t in [&raw.right, &raw.wrong] {
            if t.en.trim().is_empty() || t.zh.trim().is_empty() {
                return Err("verdict `right` and `wrong` need both `en` and `zh` text".into());
            }
        }
        Ok(VerdictSpec {
            names,
            correct: parse("correct", &raw.correct)?,
            correct_text: raw.correct.clone(),
            expected,
            missing: raw
                .missing
                .as_deref()
                .map(|s| parse("missing", s))
                .transpose()?,
            unit: raw.unit.unwrap_or_default(),
            right: raw.right,
            wrong: raw.wrong,
        })
    }
}

fn order_names(names: &mut Vec<(String, Expr)>) -> Result<(), String> {
    let mut done: Vec<(String, Expr)> = Vec::new();
    while !names.is_empty() {
        let pending: Vec<String> = names.iter().map(|(n, _)| n.clone()).collect();
        let ready = names.iter().position(|(_, e)| {
            let mut used = Vec::new();
            e.names(&mut used);
            used.iter().all(|u| !pending.contains(u))
        });
        match ready {
            Some(i) => done.push(names.remove(i)),
            None => {
                return Err(format!(
                    "verdict names use each other in a circle: {pending:?}"
                ));
            }
        }
    }
    *names = done;
    Ok(())
}

/// Fills `{name}` holes with values (a hole nobody knows stays as written).
pub fn fill(text: &str, env: &dyn Env) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find('}') {
            Some(j) => {
                let name = &after[..j];
                match env.name(name) {
                    Some(v) => out.push_str(&v.to_string()),
                    None => out.push_str(&rest[i..i + j + 2]),
                }
                rest = &after[j + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vars(&'static [(&'static str, Num)], &'static [&'static str]);
    impl Env for Vars {
        fn name(&self, n: &str) -> Option<Num> {
            self.0.iter().find(|(k, _)| *k == n).map(|x| x.1)
        }
        fn printed(&self, t: &str) -> Num {
            self.1.iter().filter(|l| l.contains(t)).count() as Num
        }
    }

    #[test]
    fn expressions_read_names_output_and_precedence() {
        let env = Vars(
            &[
                ("counter.value", 153),
                ("processes", 10),
                ("iterations", 50),
            ],
            &["buyer 1 got a ticket", "buyer 2 got a ticket", "sold out"],
        );
        let e = |s: &str| Expr::parse(s).unwrap().eval(&env).unwrap();
        assert_eq!(e("counter.value == processes × iterations"), 0);
        assert_eq!(e("processes * iterations - counter.value"), 347);
        assert_eq!(e("printed('got a ticket') <= 1"), 0);
        assert_eq!(e("printed(\"sold out\") == 1 and not 0"), 1);
        assert_eq!(e("1 + 2 * 3 == 7 or x == 1"), 1);
        assert_eq!(e("max(1 - processes, 0) + min(-2, 3)"), -2);
        assert!(Expr::parse("1 +").is_err());
        assert!(Expr::parse("a == (b").is_err());
        assert!(Expr::parse("a ? b").is_err());
        let unknown = Expr::parse("nobody == 1").unwrap().eval(&env).unwrap_err();
        assert!(unknown.contains("nobody"), "{unknown}");
    }

    #[test]
    fn holes_are_filled_with_values() {
        let env = Vars(&[("sold", 10), ("tickets", 1)], &[]);
        assert_eq!(
            fill("{sold} sold of {tickets} {nope}", &env),
            "10 sold of 1 {nope}"
        );
    }

    #[test]
    fn names_may_use_each_other_in_any_order_but_not_in_a_circle() {
        let mut n = vec![
            ("b".to_string(), Expr::parse("a + 1").unwrap()),
            ("a".to_string(), Expr::parse("2").unwrap()),
        ];
        order_names(&mut n).unwrap();
        assert_eq!(n[0].0, "a");
        let mut c = vec![
            ("b".to_string(), Expr::parse("a").unwrap()),
            ("a".to_string(), Expr::parse("b").unwrap()),
        ];
        assert!(order_names(&mut c).is_err());
    }
}
