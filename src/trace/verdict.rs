//! Whether a run was correct, by the lesson's own criterion, and the two figures
//! that say how it went wrong: the missing effect and the overwritten writes.

use super::Trace;
use crate::lesson::verdict::{Env, Num, fill};
use crate::lesson::{KnobValue, Knobs, Lang, Lesson};
use crate::program::Value;

/// The verdict on one run, as data: the screen colours it, the CLI prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub correct: bool,
    /// Why, in the lesson's words, with this run's numbers.
    pub why: String,
    /// The criterion as the lesson file writes it (`balance == 0`).
    pub criterion: String,
    /// What a correct run leaves in shared variables: (name, value).
    pub expected: Vec<(String, Value)>,
    /// How much of the program's effect is missing from the final state.
    pub missing: Option<Missing>,
    /// Writes that wiped out another actor's write they never read (rows with `!`).
    pub overwritten: usize,
    /// Whether the run has ended; before that the verdict is about the state so far.
    pub over: bool,
}

/// The missing effect: what a correct run gives minus what this run left, in the
/// lesson's unit (increments, ticket sales).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    pub value: Value,
    pub unit: String,
}

/// The legend of a `!` row (and of the red row on the screen).
pub fn overwrite_legend(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "! = an overwritten write: this write wiped out another's write it never read",
        Lang::Zh => "! = 被覆盖的写入：这次写入抹掉了另一方的一次写入，而它从未读到那次写入",
    }
}

/// What the overwritten-writes figure counts, for the line that shows it.
pub fn overwritten_explained(lang: Lang, n: usize) -> String {
    match lang {
        Lang::En => format!(
            "overwritten writes: {n}: writes that wiped out another's write they never read (rows marked !)"
        ),
        Lang::Zh => {
            format!("被覆盖的写入：{n}：抹掉了另一方写入、却从未读到那次写入的写入（标 ! 的行）")
        }
    }
}

/// What the missing-effect figure counts, for the line that shows it.
pub fn missing_explained(lang: Lang, m: &Missing) -> String {
    match lang {
        Lang::En => format!(
            "missing effect: {} {}: what a correct run gives minus what this run left",
            m.value, m.unit
        ),
        Lang::Zh => format!(
            "缺失的效果：{} {}：正确运行的结果减去本次运行留下的结果",
            m.value, m.unit
        ),
    }
}

struct RunEnv<'a> {
    vars: Vec<(String, Value)>,
    knobs: &'a Knobs,
    output: &'a [super::OutputLine],
    own: Vec<(String, Value)>,
    finished: bool,
    deadlock: bool,
}

impl Env for RunEnv<'_> {
    fn name(&self, name: &str) -> Option<Num> {
        if let Some((_, v)) = self.own.iter().rev().find(|(n, _)| n == name) {
            return Some(*v);
        }
        if let Some((_, v)) = self.vars.iter().find(|(n, _)| n == name) {
            return Some(*v);
        }
        match name {
            "finished" => return Some(self.finished as Num),
            "deadlock" => return Some(self.deadlock as Num),
            _ => {}
        }
        match self.knobs.get(&name.replace('_', "-"))? {
            KnobValue::Bool(b) => Some(*b as Num),
            KnobValue::Int(i) => Some(*i),
            KnobValue::Choice(c) => c.parse().ok(),
        }
    }

    fn printed(&self, text: &str) -> Num {
        self.output.iter().filter(|o| o.text.contains(text)).count() as Num
    }
}

/// The lesson's verdict on a run (`None` for a lesson that states no criterion).
/// `over`: the run has ended (finished or deadlocked).
pub fn verdict(
    lesson: &Lesson,
    knobs: &Knobs,
    trace: &Trace,
    over: bool,
    lang: Lang,
) -> Option<Verdict> {
    let spec = lesson.verdict.as_ref()?;
    let deadlock = !trace.deadlock().is_empty();
    let mut env = RunEnv {
        vars: trace.final_vars(),
        knobs,
        output: &trace.output,
        own: Vec::new(),
        finished: over && !deadlock,
        deadlock,
    };
    let overwritten = trace.lost_total();
    let broken = |why: String| Verdict {
        correct: false,
        why,
        criterion: spec.correct_text.clone(),
        expected: Vec::new(),
        missing: None,
        overwritten,
        over,
    };
    for (n, e) in &spec.names {
        match e.eval(&env) {
            Ok(v) => env.own.push((n.clone(), v)),
            Err(why) => return Some(broken(why)),
        }
    }
    let mut expected = Vec::new();
    for (n, e) in &spec.expected {
        match e.eval(&env) {
            Ok(v) => expected.push((n.clone(), v)),
            Err(why) => return Some(broken(why)),
        }
    }
    let correct = match spec.correct.eval(&env) {
        Ok(v) => v != 0,
        Err(why) => return Some(broken(why)),
    };
    let missing = match &spec.missing {
        Some(e) => match e.eval(&env) {
            Ok(value) => Some(Missing {
                value,
                unit: spec.unit.get(lang).to_string(),
            }),
            Err(why) => return Some(broken(why)),
        },
        None => None,
    };
    let mut why = fill(
        if correct { &spec.right } else { &spec.wrong }.get(lang),
        &env,
    );
    if !over {
        let so_far = match lang {
            Lang::En => "so far (the run has not ended): ",
            Lang::Zh => "目前为止（运行尚未结束）：",
        };
        why = format!("{so_far}{why}");
    }
    Some(Verdict {
        correct: correct && over,
        why,
        criterion: spec.correct_text.clone(),
        expected,
        missing,
        overwritten,
        over,
    })
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;

    #[test]
    fn every_lesson_states_what_a_correct_run_is() {
        let cat = Catalog::embedded().expect("the embedded lessons load");
        for l in cat.lessons() {
            assert!(l.verdict.is_some(), "{} has no [verdict]", l.id);
        }
    }
}
