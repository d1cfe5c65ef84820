//! What a student has done, kept between sessions: lessons seen and finished,
//! tour steps done, predictions and how they came out.
//!
//! A versioned JSON file in the XDG state directory
//! (`$XDG_STATE_HOME/interleave/progress.json`). Remembering is a convenience:
//! a corrupt file is read as empty (and kept aside as `progress.json.corrupt`),
//! and a read-only home only means nothing is remembered.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The format version this build writes; a newer file is read as far as it goes.
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    #[serde(default)]
    pub version: u32,
    #[serde(default)]
    pub lessons: BTreeMap<String, LessonProgress>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LessonProgress {
    /// Opened at least once.
    #[serde(default)]
    pub seen: bool,
    /// A run reached its end.
    #[serde(default)]
    pub finished: bool,
    /// Tour steps done (1-based numbers, in order).
    #[serde(default)]
    pub tour_done: Vec<usize>,
    /// The whole tour was walked.
    #[serde(default)]
    pub tour_complete: bool,
    #[serde(default)]
    pub prediction: Option<Prediction>,
}

/// The answer a student gave before the first run, and what the run showed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prediction {
    /// 1-based choice number, `None` if the student skipped the question.
    pub choice: Option<usize>,
    /// The choices the finished run showed (1-based); empty until it ends.
    #[serde(default)]
    pub shown: Vec<usize>,
    /// Whether the run showed the chosen answer (once it ended).
    #[serde(default)]
    pub matched: Option<bool>,
}

impl Progress {
    /// Reads the file; anything unreadable gives an empty record.
    pub fn load(path: Option<&Path>) -> Progress {
        let Some(path) = path else {
            return Progress::default();
        };
        match std::fs::read_to_string(path) {
            Ok(text) => match serde_json::from_str::<Progress>(&text) {
                Ok(p) => p,
                Err(_) => {
                    // Keep what was there for a person to look at; start afresh.
                    let _ = std::fs::rename(path, path.with_extension("json.corrupt"));
                    Progress::default()
                }
            },
            Err(_) => Progress::from_finished_list(path),
        }
    }

    /// Earlier versions kept only a list of finished lessons in `finished`.
    fn from_finished_list(path: &Path) -> Progress {
        let mut p = Progress::default();
        if let Some(dir) = path.parent()
            && let Ok(text) = std::fs::read_to_string(dir.join("finished"))
        {
            for id in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let l = p.lessons.entry(id.to_string()).or_default();
                l.seen = true;
                l.finished = true;
            }
        }
        p
    }

    /// Writes the file (through a temporary file, so a crash never leaves half
    /// of one). Failing to write is not an error the student needs to see.
    pub fn save(&self, path: Option<&Path>) {
        let Some(path) = path else {
            return;
        };
        let mut me = self.clone();
        me.version = VERSION;
        let Ok(text) = serde_json::to_string_pretty(&me) else {
            return;
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let tmp: PathBuf = path.with_extension("json.tmp");
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, path);
        }
    }

    pub fn lesson(&self, id: &str) -> Option<&LessonProgress> {
        self.lessons.get(id)
    }

    pub fn lesson_mut(&mut self, id: &str) -> &mut LessonProgress {
        self.lessons.entry(id.to_string()).or_default()
    }

    pub fn finished(&self, id: &str) -> bool {
        self.lesson(id).is_some_and(|l| l.finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_file_is_read_as_empty_and_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("progress.json");
        std::fs::write(&p, "{not json").unwrap();
        assert_eq!(Progress::load(Some(&p)), Progress::default());
        assert!(dir.path().join("progress.json.corrupt").exists());
    }

    #[test]
    fn progress_survives_a_save_and_a_load() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("progress.json");
        let mut pr = Progress::default();
        pr.lesson_mut("fork").tour_done = vec![1, 2];
        pr.lesson_mut("fork").prediction = Some(Prediction {
            choice: Some(2),
            shown: vec![2],
            matched: Some(true),
        });
        pr.save(Some(&p));
        let back = Progress::load(Some(&p));
        assert_eq!(back.version, VERSION);
        assert_eq!(back.lessons, pr.lessons);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("\"version\": 1"), "{text}");
    }

    #[test]
    fn the_old_finished_list_is_carried_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("finished"), "fork\npool\n").unwrap();
        let p = Progress::load(Some(&dir.path().join("progress.json")));
        assert!(p.finished("fork") && p.finished("pool") && !p.finished("gil"));
    }

    #[test]
    fn a_read_only_place_only_means_nothing_is_remembered() {
        let p = Path::new("/proc/interleave-cannot-write/progress.json");
        Progress::default().save(Some(p));
        assert_eq!(Progress::load(Some(p)), Progress::default());
    }
}
