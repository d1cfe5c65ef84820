//! Every lesson the playground knows: the embedded ones, overridden by `--lessons DIR`.

use crate::lesson::{KnobKind, KnobValue, Knobs, Lesson, LessonError};
use crate::program::Program;
use crate::scenarios;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/lessons.rs"));
}

/// The lessons, in the order the browser lists them.
#[derive(Clone, Debug)]
pub struct Catalog {
    lessons: Vec<Lesson>,
}

impl Catalog {
    /// The lessons built into the binary.
    pub fn embedded() -> Result<Catalog, LessonError> {
        let lessons = embedded::EMBEDDED
            .iter()
            .map(|(name, text)| Lesson::parse(&format!("lessons/{name}"), text))
            .collect::<Result<Vec<_>, _>>()?;
        Catalog::from_lessons(lessons)
    }

    /// The embedded lessons, with those of `dir` added or put in place of the ones
    /// with the same id.
    pub fn with_overrides(dir: Option<&std::path::Path>) -> Result<Catalog, LessonError> {
        let mut cat = Catalog::embedded()?;
        if let Some(dir) = dir {
            for l in Lesson::load_dir(dir)? {
                check(&l)?;
                match cat.lessons.iter_mut().find(|o| o.id == l.id) {
                    Some(slot) => *slot = l,
                    None => cat.lessons.push(l),
                }
            }
            cat.sort();
        }
        Ok(cat)
    }

    pub fn from_lessons(lessons: Vec<Lesson>) -> Result<Catalog, LessonError> {
        for l in &lessons {
            check(l)?;
        }
        let mut c = Catalog { lessons };
        c.sort();
        Ok(c)
    }

    fn sort(&mut self) {
        self.lessons
            .sort_by(|a, b| a.order.cmp(&b.order).then(a.id.cmp(&b.id)));
    }

    pub fn lessons(&self) -> &[Lesson] {
        &self.lessons
    }

    pub fn get(&self, id: &str) -> Option<&Lesson> {
        self.lessons.iter().find(|l| l.id == id)
    }

    /// Builds every lesson at each limit of each of its knobs (an int knob's min
    /// and max, every option, on and off), the others at their defaults: a lesson
    /// file may only offer values its scenario can run.
    pub fn check_knob_ranges(&self) -> Result<(), LessonError> {
        for l in &self.lessons {
            for spec in &l.knobs {
                let values: Vec<KnobValue> = match &spec.kind {
                    KnobKind::Bool { .. } => vec![KnobValue::Bool(false), KnobValue::Bool(true)],
                    KnobKind::Int { min, max, .. } => {
                        vec![KnobValue::Int(*min), KnobValue::Int(*max)]
                    }
                    KnobKind::Choice { options, .. } => {
                        options.iter().cloned().map(KnobValue::Choice).collect()
                    }
                };
                for v in values {
                    let mut knobs = l.default_knobs();
                    knobs.put(&spec.name, v.clone());
                    if let Err(e) = scenarios::build(l, &knobs) {
                        return Err(l.scenario_error(format!(
                            "knob `{}` offers {v}, but scenario `{}` cannot run it: {e}",
                            spec.name, l.scenario
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// The lesson `id`, or an error that lists the ones there are.
    pub fn find(&self, id: &str) -> Result<&Lesson, String> {
        self.get(id).ok_or_else(|| {
            let ids: Vec<&str> = self.lessons.iter().map(|l| l.id.as_str()).collect();
            format!("unknown lesson `{id}`; try one of: {}", ids.join(", "))
        })
    }
}

/// A lesson is usable when its scenario builds a program from its default knobs,
/// and its tour and prediction ask only about what its programs have.
fn check(l: &Lesson) -> Result<Program, LessonError> {
    let program =
        scenarios::build(l, &Knobs::defaults(&l.knobs)).map_err(|e| l.scenario_error(e))?;
    check_guides(l, &program).map_err(|e| l.scenario_error(e))?;
    Ok(program)
}

/// Names a run check may read besides shared variables and knobs.
pub const RUN_NAMES: &[&str] = &[
    "steps",
    "overwritten",
    "over",
    "finished",
    "deadlock",
    "live",
];

/// Every tour check and prediction check names real variables, knobs, actors
/// and locks: each tour step against the program its knobs build (the knobs the
/// steps before it set, and its own).
fn check_guides(l: &Lesson, defaults: &Program) -> Result<(), String> {
    let mut knobs = Knobs::defaults(&l.knobs);
    for (i, step) in l.tour.iter().enumerate() {
        for (name, v) in &step.set {
            knobs.put(name, v.clone());
        }
        let p = scenarios::build(l, &knobs)
            .map_err(|e| format!("tour step {}: its knobs do not build: {e}", i + 1))?;
        check_expr(l, &p, &step.check)
            .map_err(|e| format!("tour step {} check `{}`: {e}", i + 1, step.check_text))?;
    }
    if let Some(pr) = &l.predict {
        for (i, c) in pr.choices.iter().enumerate() {
            check_expr(l, defaults, &c.check)
                .map_err(|e| format!("predict choice {} check `{}`: {e}", i + 1, c.check_text))?;
        }
    }
    Ok(())
}

fn check_expr(l: &Lesson, p: &Program, e: &crate::lesson::verdict::Expr) -> Result<(), String> {
    let mut names = Vec::new();
    e.names(&mut names);
    for n in names {
        let known = p.vars.iter().any(|v| v.name == n)
            || RUN_NAMES.contains(&n.as_str())
            || l.knob(&n.replace('_', "-")).is_some();
        if !known {
            return Err(format!(
                "`{n}` is no variable, knob or run figure of this lesson"
            ));
        }
    }
    let mut calls = Vec::new();
    e.calls(&mut calls);
    let actor = |a: &str| {
        if p.actors.iter().any(|x| x.name == a) {
            Ok(())
        } else {
            let names: Vec<&str> = p.actors.iter().map(|x| x.name.as_str()).collect();
            Err(format!(
                "no actor is named `{a}`; there are {}",
                names.join(", ")
            ))
        }
    };
    for (f, args) in calls {
        match (f, args) {
            ("blocked" | "done" | "started" | "steps_of", [a]) => actor(a)?,
            ("holds", [a, lock]) => {
                actor(a)?;
                if !p.locks.iter().any(|x| x.name == *lock) {
                    return Err(format!("no lock is named `{lock}`"));
                }
            }
            ("knob", [k, v]) => {
                let spec = l.knob(k).ok_or_else(|| format!("no knob is named `{k}`"))?;
                spec.parse(v)?;
            }
            _ => {}
        }
    }
    Ok(())
}
