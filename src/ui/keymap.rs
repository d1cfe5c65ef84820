//! The one keymap: which key does what, where, and how the help and the footer say so.
//!
//! Each row is one line of the help overlay (or of the lesson list's footer): the
//! keys it documents, each with the action it dispatches. The app looks keys up
//! here and nowhere else, so a key cannot work without being described, and the
//! help cannot describe a key that does nothing (tests/keymap.rs presses them all).

use crate::i18n::Msg;
use crossterm::event::KeyCode;

/// What a key asks of the playground, before anything happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Space: play or pause a stepped run, run a finished live run again.
    PlayPause,
    /// One step, the scheduler's choice.
    Step,
    /// A digit: step that actor.
    StepActor(u8),
    /// Enter: step the actor selected in the state panel.
    StepSelected,
    Back,
    /// `e`: run to the end (off the key path).
    RunToEnd,
    /// End: run to the end when stepped; scroll to the newest when live.
    End,
    /// Home: back to the start of a stepped run.
    Home,
    /// `>` / `<`: the next or previous moment worth seeing.
    Moment {
        forward: bool,
    },
    /// `:`: type a step number to go to.
    GoTo,
    Reset,
    NewSeed,
    /// Cycles one of the shared knobs (`lock`, `gil`, `granularity`).
    ToggleKnob(&'static str),
    /// `m`: stepped ↔ live.
    SwitchMode,
    Speed {
        up: bool,
    },
    Knobs,
    Dis,
    Text,
    Tour,
    TourDo,
    TourUndo,
    Predict,
    Lang,
    Copy,
    Explore,
    /// `R` after a live run of threads: open its stepped replay.
    ReplayLive,
    /// `C`: run the stepped schedule again on a real CPython and compare.
    CompareCpython,
    /// `E`: the engine, the simulator or a real CPython.
    Engine,
    Present,
    Focus {
        next: bool,
    },
    /// ↑↓ PgUp PgDn: scroll the focused panel (↑↓ choose an actor in the state panel).
    Scroll {
        up: bool,
        by: u8,
    },
    /// ←→ in the timeline.
    Pan {
        left: bool,
    },
    Zoom {
        zoom_in: bool,
    },
    Help,
    /// `q`, Esc: back to the list (or quit from it).
    Leave,
    // The lesson list (and the lists of the overlays).
    Choose {
        up: bool,
    },
    First,
    Last,
    Open,
    // The overlays.
    /// Esc (and the overlay's own key): close the overlay, or skip the question.
    Close,
    /// A digit typed into a prompt or the knob editor.
    Type(u8),
    /// Backspace in a prompt or the knob editor.
    Erase,
    /// Enter in a prompt or the knob editor.
    Confirm,
    /// ←→ Space in the knob editor: the next or the previous value.
    Change {
        forward: bool,
    },
    /// 1–9: the answer to the lesson's question.
    Answer(u8),
    /// Ctrl-C, from anywhere.
    Quit,
}

/// What the footer shows for a row, given the lesson screen as it is.
#[derive(Clone, Copy, Debug, Default)]
pub struct FooterState {
    pub stepped: bool,
    pub playing: bool,
    pub over: bool,
    pub has_lock: bool,
    pub has_gil: bool,
    pub show_text: bool,
    pub present: bool,
    /// Actors in the run (the digit keys the footer offers).
    pub actors: usize,
    /// A finished live run whose record replays it stepped (`R`).
    pub replayable: bool,
}

/// One line of the help: what it shows, the keys it dispatches, its footer entry.
pub struct Row {
    /// The keys as the help prints them.
    pub label: &'static str,
    pub help: Msg,
    pub keys: &'static [(KeyCode, Action)],
    /// The keys as the footer prints them (`0-9` becomes the run's actors).
    pub short: &'static str,
    /// Whether and how the footer shows this row.
    pub footer: Option<fn(&FooterState) -> Option<Msg>>,
}

use Action as A;
use KeyCode as K;

const fn row(label: &'static str, help: Msg, keys: &'static [(KeyCode, Action)]) -> Row {
    Row {
        label,
        help,
        keys,
        short: label,
        footer: None,
    }
}

const fn shown(
    label: &'static str,
    help: Msg,
    keys: &'static [(KeyCode, Action)],
    short: &'static str,
    footer: fn(&FooterState) -> Option<Msg>,
) -> Row {
    Row {
        label,
        help,
        keys,
        short,
        footer: Some(footer),
    }
}

const DIGITS: &[(KeyCode, Action)] = &[
    (K::Char('0'), A::StepActor(0)),
    (K::Char('1'), A::StepActor(1)),
    (K::Char('2'), A::StepActor(2)),
    (K::Char('3'), A::StepActor(3)),
    (K::Char('4'), A::StepActor(4)),
    (K::Char('5'), A::StepActor(5)),
    (K::Char('6'), A::StepActor(6)),
    (K::Char('7'), A::StepActor(7)),
    (K::Char('8'), A::StepActor(8)),
    (K::Char('9'), A::StepActor(9)),
];

/// The lesson screen, in the help's order; the footer shows a subset in the same order.
pub const LESSON: &[Row] = &[
    shown(
        "space",
        Msg::HSpace,
        &[(K::Char(' '), A::PlayPause)],
        "space",
        |s| match (s.stepped, s.playing, s.over) {
            (true, true, _) => Some(Msg::KPause),
            (true, false, _) => Some(Msg::KPlay),
            (false, _, true) => Some(Msg::KRunAgain),
            (false, _, false) => None,
        },
    ),
    shown(
        "s  .",
        Msg::HStep,
        &[(K::Char('s'), A::Step), (K::Char('.'), A::Step)],
        "s",
        |s| s.stepped.then_some(Msg::KStep),
    ),
    shown("0-9", Msg::HDigits, DIGITS, "0-9", |s| {
        s.stepped.then_some(Msg::KStepActor)
    }),
    row("Enter", Msg::HEnter, &[(K::Enter, A::StepSelected)]),
    shown(
        "b  ⌫",
        Msg::HBack,
        &[(K::Char('b'), A::Back), (K::Backspace, A::Back)],
        "b",
        |s| s.stepped.then_some(Msg::KBack),
    ),
    shown(
        "e  End",
        Msg::HEnd,
        &[(K::Char('e'), A::RunToEnd), (K::End, A::End)],
        "e",
        |s| s.stepped.then_some(Msg::KEnd),
    ),
    row("Home", Msg::HHome, &[(K::Home, A::Home)]),
    shown(
        ">  <",
        Msg::HMoments,
        &[
            (K::Char('>'), A::Moment { forward: true }),
            (K::Char('<'), A::Moment { forward: false }),
        ],
        "> <",
        |s| s.stepped.then_some(Msg::KMoment),
    ),
    row(":", Msg::HGoTo, &[(K::Char(':'), A::GoTo)]),
    shown(
        "l",
        Msg::HLock,
        &[(K::Char('l'), A::ToggleKnob("lock"))],
        "l",
        |s| s.has_lock.then_some(Msg::KLock),
    ),
    shown(
        "g",
        Msg::HGil,
        &[(K::Char('g'), A::ToggleKnob("gil"))],
        "g",
        |s| s.has_gil.then_some(Msg::KGil),
    ),
    row(
        "t",
        Msg::HGranularity,
        &[(K::Char('t'), A::ToggleKnob("granularity"))],
    ),
    shown(
        "m",
        Msg::HMode,
        &[(K::Char('m'), A::SwitchMode)],
        "m",
        |s| {
            Some(if s.stepped {
                Msg::KLive
            } else {
                Msg::KStepMode
            })
        },
    ),
    row(
        "+  -",
        Msg::HSpeed,
        &[
            (K::Char('+'), A::Speed { up: true }),
            (K::Char('='), A::Speed { up: true }),
            (K::Char('-'), A::Speed { up: false }),
        ],
    ),
    shown("k", Msg::HKnobs, &[(K::Char('k'), A::Knobs)], "k", |_| {
        Some(Msg::KKnobs)
    }),
    row("d", Msg::HDis, &[(K::Char('d'), A::Dis)]),
    shown("i", Msg::HText, &[(K::Char('i'), A::Text)], "i", |s| {
        Some(if s.show_text {
            Msg::KHideText
        } else {
            Msg::KLessonText
        })
    }),
    shown("r", Msg::HReset, &[(K::Char('r'), A::Reset)], "r", |s| {
        s.stepped.then_some(Msg::KReset)
    }),
    shown(
        "n",
        Msg::HNewSeed,
        &[(K::Char('n'), A::NewSeed)],
        "n",
        |s| s.stepped.then_some(Msg::KNewSeed),
    ),
    row(
        "T  D  U",
        Msg::HTour,
        &[
            (K::Char('T'), A::Tour),
            (K::Char('D'), A::TourDo),
            (K::Char('U'), A::TourUndo),
        ],
    ),
    row("p", Msg::HPredict, &[(K::Char('p'), A::Predict)]),
    shown("L", Msg::HLang, &[(K::Char('L'), A::Lang)], "L", |_| {
        Some(Msg::KLang)
    }),
    row("c", Msg::HCopy, &[(K::Char('c'), A::Copy)]),
    row("x", Msg::HExplore, &[(K::Char('x'), A::Explore)]),
    shown(
        "R",
        Msg::HReplay,
        &[(K::Char('R'), A::ReplayLive)],
        "R",
        |s| s.replayable.then_some(Msg::KReplay),
    ),
    row("C", Msg::HCompare, &[(K::Char('C'), A::CompareCpython)]),
    row("E", Msg::HEngine, &[(K::Char('E'), A::Engine)]),
    shown(
        "P",
        Msg::HPresent,
        &[(K::Char('P'), A::Present)],
        "P",
        |s| {
            Some(if s.present {
                Msg::KFullLayout
            } else {
                Msg::KPresent
            })
        },
    ),
    row(
        "Tab",
        Msg::HTab,
        &[
            (K::Tab, A::Focus { next: true }),
            (K::BackTab, A::Focus { next: false }),
            (K::Up, A::Scroll { up: true, by: 1 }),
            (K::Down, A::Scroll { up: false, by: 1 }),
            (K::PageUp, A::Scroll { up: true, by: 10 }),
            (K::PageDown, A::Scroll { up: false, by: 10 }),
        ],
    ),
    row(
        "[  ]",
        Msg::HZoom,
        &[
            (K::Char('['), A::Zoom { zoom_in: false }),
            (K::Char('Z'), A::Zoom { zoom_in: false }),
            (K::Char(']'), A::Zoom { zoom_in: true }),
            (K::Char('z'), A::Zoom { zoom_in: true }),
            (K::Left, A::Pan { left: true }),
            (K::Right, A::Pan { left: false }),
        ],
    ),
    // The mouse wheel and Ctrl-C are not keys of a context: the help still says them.
    row("wheel", Msg::HWheel, &[]),
    shown("?", Msg::HHelp, &[(K::Char('?'), A::Help)], "?", |_| {
        Some(Msg::KHelp)
    }),
    shown(
        "q  Esc",
        Msg::HLeave,
        &[(K::Char('q'), A::Leave), (K::Esc, A::Leave)],
        "q",
        |_| Some(Msg::KLeave),
    ),
    row("Ctrl-C", Msg::HQuit, &[]),
];

/// The lesson list: only its footer shows these.
pub const BROWSER: &[Row] = &[
    shown(
        "↑↓",
        Msg::KChoose,
        &[
            (K::Up, A::Choose { up: true }),
            (K::Char('k'), A::Choose { up: true }),
            (K::Down, A::Choose { up: false }),
            (K::Char('j'), A::Choose { up: false }),
            (K::Home, A::First),
            (K::End, A::Last),
        ],
        "↑↓",
        |_| Some(Msg::KChoose),
    ),
    shown(
        "Enter",
        Msg::KOpen,
        &[
            (K::Enter, A::Open),
            (K::Right, A::Open),
            (K::Char(' '), A::Open),
        ],
        "Enter",
        |_| Some(Msg::KOpen),
    ),
    shown("L", Msg::KLang, &[(K::Char('L'), A::Lang)], "L", |_| {
        Some(Msg::KLang)
    }),
    shown("?", Msg::KHelp, &[(K::Char('?'), A::Help)], "?", |_| {
        Some(Msg::KHelp)
    }),
    shown(
        "q",
        Msg::KQuit,
        &[(K::Char('q'), A::Leave), (K::Esc, A::Leave)],
        "q",
        |_| Some(Msg::KQuit),
    ),
];

const TYPED: &[(KeyCode, Action)] = &[
    (K::Char('0'), A::Type(0)),
    (K::Char('1'), A::Type(1)),
    (K::Char('2'), A::Type(2)),
    (K::Char('3'), A::Type(3)),
    (K::Char('4'), A::Type(4)),
    (K::Char('5'), A::Type(5)),
    (K::Char('6'), A::Type(6)),
    (K::Char('7'), A::Type(7)),
    (K::Char('8'), A::Type(8)),
    (K::Char('9'), A::Type(9)),
    (K::Backspace, A::Erase),
];

/// The help overlay: ↑↓ PgUp PgDn scroll it; every other key closes it
/// ([`HELP_OTHERS`]), as its title says.
pub const HELP_OVERLAY: &[Row] = &[row(
    "↑↓ PgUp PgDn",
    Msg::HTab,
    &[
        (K::Up, A::Scroll { up: true, by: 1 }),
        (K::Down, A::Scroll { up: false, by: 1 }),
        (K::PageUp, A::Scroll { up: true, by: 10 }),
        (K::PageDown, A::Scroll { up: false, by: 10 }),
    ],
)];
/// What any other key does in the help overlay.
pub const HELP_OTHERS: Action = Action::Close;

/// The knob editor (`k`): its footer is the editor's line of keys.
pub const KNOB_EDITOR: &[Row] = &[
    shown(
        "↑↓ Tab",
        Msg::KChoose,
        &[
            (K::Up, A::Choose { up: true }),
            (K::Down, A::Choose { up: false }),
            (K::Tab, A::Choose { up: false }),
        ],
        "↑↓",
        |_| Some(Msg::KChoose),
    ),
    shown(
        "←→ Space Enter",
        Msg::KChange,
        &[
            (K::Left, A::Change { forward: false }),
            (K::Right, A::Change { forward: true }),
            (K::Char(' '), A::Change { forward: true }),
            (K::Enter, A::Confirm),
        ],
        "←→ Enter",
        |_| Some(Msg::KChange),
    ),
    shown("0-9 ⌫", Msg::KSetNumber, TYPED, "digits Enter", |_| {
        Some(Msg::KSetNumber)
    }),
    shown(
        "Esc q k",
        Msg::KClose,
        &[
            (K::Esc, A::Close),
            (K::Char('q'), A::Close),
            (K::Char('k'), A::Close),
        ],
        "Esc",
        |_| Some(Msg::KClose),
    ),
];

/// The go-to prompt (`:`): digits, Backspace, Enter goes, Esc cancels.
pub const GO_TO: &[Row] = &[
    row("0-9 ⌫", Msg::HGoTo, TYPED),
    row("Enter", Msg::HGoTo, &[(K::Enter, A::Confirm)]),
    row("Esc", Msg::HGoTo, &[(K::Esc, A::Close)]),
];

/// The lesson's question: a digit answers, Esc (or q) skips.
pub const PREDICTION: &[Row] = &[
    row(
        "1-9",
        Msg::HPredict,
        &[
            (K::Char('1'), A::Answer(1)),
            (K::Char('2'), A::Answer(2)),
            (K::Char('3'), A::Answer(3)),
            (K::Char('4'), A::Answer(4)),
            (K::Char('5'), A::Answer(5)),
            (K::Char('6'), A::Answer(6)),
            (K::Char('7'), A::Answer(7)),
            (K::Char('8'), A::Answer(8)),
            (K::Char('9'), A::Answer(9)),
        ],
    ),
    row(
        "Esc q",
        Msg::HPredict,
        &[(K::Esc, A::Close), (K::Char('q'), A::Close)],
    ),
];

/// The explore view (`x`): choose an outcome, open it stepped, close (or cancel
/// the search while it runs).
pub const EXPLORE: &[Row] = &[
    row(
        "↑↓",
        Msg::HExplore,
        &[
            (K::Up, A::Choose { up: true }),
            (K::Char('k'), A::Choose { up: true }),
            (K::Down, A::Choose { up: false }),
            (K::Char('j'), A::Choose { up: false }),
            (K::Home, A::First),
            (K::End, A::Last),
        ],
    ),
    row("Enter", Msg::HExplore, &[(K::Enter, A::Open)]),
    row(
        "Esc",
        Msg::HExplore,
        &[
            (K::Esc, A::Close),
            (K::Char('q'), A::Close),
            (K::Char('x'), A::Close),
        ],
    ),
];

/// The action `code` dispatches in a context (`LESSON`, `BROWSER` or an overlay's
/// table), if any.
pub fn lookup(rows: &[Row], code: KeyCode) -> Option<Action> {
    rows.iter()
        .flat_map(|r| r.keys.iter())
        .find(|(k, _)| *k == code)
        .map(|(_, a)| *a)
}

/// The footer's keys for a context and a state, in the table's order.
pub fn footer(rows: &[Row], s: &FooterState) -> Vec<(String, Msg)> {
    rows.iter()
        .filter_map(|r| {
            let what = (r.footer?)(s)?;
            let keys = if r.short == "0-9" {
                if s.actors > 1 {
                    format!("0-{}", (s.actors - 1).min(9))
                } else {
                    "0".to_string()
                }
            } else {
                r.short.to_string()
            };
            Some((keys, what))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_in_a_context() {
        for rows in [
            LESSON,
            BROWSER,
            HELP_OVERLAY,
            KNOB_EDITOR,
            GO_TO,
            PREDICTION,
            EXPLORE,
        ] {
            let keys: Vec<KeyCode> = rows
                .iter()
                .flat_map(|r| r.keys.iter().map(|k| k.0))
                .collect();
            for (i, k) in keys.iter().enumerate() {
                assert!(!keys[i + 1..].contains(k), "{k:?} is bound twice");
            }
        }
    }

    #[test]
    fn every_label_names_keys_its_row_dispatches() {
        // The help's label is what a person reads: each single-character key it
        // shows must be one the row dispatches.
        for r in LESSON.iter().chain(BROWSER) {
            for word in r.label.split_whitespace() {
                let mut cs = word.chars();
                if let (Some(c), None) = (cs.next(), cs.next())
                    && c.is_ascii_graphic()
                {
                    assert!(
                        lookup(std::slice::from_ref(r), KeyCode::Char(c)).is_some(),
                        "help row {:?} shows {c} but does not dispatch it",
                        r.label
                    );
                }
            }
        }
    }
}
