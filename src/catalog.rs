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

/// A lesson is usable when its scenario builds a program from its default knobs.
fn check(l: &Lesson) -> Result<Program, LessonError> {
    scenarios::build(l, &Knobs::defaults(&l.knobs)).map_err(|e| l.scenario_error(e))
}
