//! The playground's state and its update step: events in, state changes out, no I/O.

use super::cache::ViewCache;
use super::jobs::Job;
use super::keymap::{self, Action};
use super::progress::{Prediction, Progress};
use super::theme::Theme;
use super::tour::TourState;
use crate::catalog::Catalog;
use crate::i18n::Msg;
use crate::lesson::{KnobKind, KnobValue, Knobs, Lang, Lesson, TourKey};
use crate::program::ActorId;
use crate::run::{Command, Origin, Outcome, Replayable, Run, Start};
use crate::trace::{Mode, MomentKind, moments};
use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use std::cell::{Cell, RefCell};
use std::path::PathBuf;

/// Live runs start with sleeps at their real length.
const DEFAULT_LIVE_SPEED: f64 = 1.0;
/// Steps a second while a stepped run plays, by speed level.
pub const PLAY_RATES: [f64; 8] = [2.0, 5.0, 10.0, 30.0, 100.0, 1_000.0, 10_000.0, 100_000.0];
const DEFAULT_PLAY_LEVEL: usize = 2;
/// Frames a second while something animates.
pub const FPS: f64 = 30.0;

/// A panel of the lesson screen that can take focus and scroll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    /// The lesson's own text: explanation and notes.
    Lesson,
    Code,
    Interleaving,
    Timeline,
    Output,
    /// Variables, locks and actors; Enter steps the selected actor.
    State,
}

impl Panel {
    /// In Tab order.
    pub const ALL: [Panel; 6] = [
        Panel::Lesson,
        Panel::Code,
        Panel::Interleaving,
        Panel::State,
        Panel::Timeline,
        Panel::Output,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Panel::Lesson => "lesson",
            Panel::Code => "code",
            Panel::Interleaving => "interleaving",
            Panel::Timeline => "timeline",
            Panel::Output => "output",
            Panel::State => "state",
        }
    }
}

/// An overlay drawn on top of the lesson screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    Knobs {
        selected: usize,
        typing: String,
    },
    /// `:` then a step number.
    GoTo {
        typing: String,
    },
    /// The lesson's question before the first run (`p` asks it again).
    Predict,
}

/// What the status line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusLine {
    Info(String),
    /// A step that could not be taken, and why.
    Refused(String),
}

/// The lesson screen's state.
pub struct LessonScreen {
    pub run: Run,
    pub lesson: Lesson,
    /// The Python code as shown with the current knobs.
    pub code: String,
    pub playing: bool,
    pub play_level: usize,
    /// Steps owed to the animation (fractions carry over between ticks).
    play_budget: f64,
    pub live_speed: f64,
    pub dis_view: bool,
    /// The focused panel (the draw moves it to the lesson text when its panel is
    /// not on screen).
    pub focus: Cell<Panel>,
    /// The verdict for (run version, trace length, language), once the run is over
    /// (worked out by the state panel's draw).
    #[allow(clippy::type_complexity)]
    pub verdict: RefCell<Option<((u64, usize, Lang), Option<crate::trace::Verdict>)>>,
    /// Presenter mode (a copy of the app's, for the layout and Tab order).
    pub present: bool,
    /// Whether the lesson's text is on screen (it is when a lesson opens).
    pub show_text: bool,
    /// Whether the lesson text takes the code panel's place (short terminals);
    /// set by the last draw.
    pub text_replaces_code: Cell<bool>,
    /// The most output lines any run on this screen has shown: the output panel is
    /// as tall as they need (up to a third of the screen), and never shrinks back,
    /// so the layout stays put while a run starts over.
    pub output_rows: Cell<u16>,
    /// Lines scrolled up from the newest, per panel in `Panel::ALL` order (lesson
    /// and code: lines from the top).
    pub scroll: Scroll,
    /// The actor that Enter steps when the state panel has focus.
    pub selected_actor: usize,
    /// Whether the code panel was scrolled by hand (else it follows the markers).
    pub code_scrolled: bool,
    /// Timeline zoom: the window shows 1/2^zoom of the run (the draw holds it at
    /// `zoom_max`).
    pub zoom: Cell<u32>,
    /// The deepest useful zoom, as of the last draw.
    pub zoom_max: Cell<u32>,
    /// The moment `>` or `<` last went to, and the trace length there.
    pub at_moment: Option<(usize, usize)>,
    /// The stepped run put aside while a live one runs; `m` comes back to it.
    pub parked: Option<Run>,
    /// Timeline pan, in eighths of the window, back from the end.
    pub pan: u64,
    /// What the panels derive from the trace, kept between frames; the draw fills it.
    pub cache: RefCell<ViewCache>,
    /// Where each panel was drawn last (the mouse wheel scrolls what it is over).
    pub areas: Cell<PanelAreas>,
    /// Where the student is in the lesson's tour.
    pub tour: TourState,
    /// The student's answer to the lesson's question, as progress records it.
    pub prediction: Option<Prediction>,
    /// A run to the end under way, a slice per tick (`ui/jobs.rs`).
    pub job: Option<Job>,
}

impl LessonScreen {
    /// The panels on screen now, in Tab order.
    pub fn shown_panels(&self) -> Vec<Panel> {
        Panel::ALL
            .into_iter()
            .filter(|p| match p {
                // In presenter mode the tour has the text's whole strip.
                Panel::Lesson => {
                    self.show_text
                        && !(self.present && self.tour.on && !self.lesson.tour.is_empty())
                }
                Panel::Code => !(self.show_text && self.text_replaces_code.get()),
                Panel::Timeline | Panel::Output => !self.present,
                _ => true,
            })
            .collect()
    }
}

/// Lines scrolled per panel: up from the newest (interleaving, output), down from
/// the top (lesson text, code, state). Keys move it; the draw clamps it to what
/// the panel holds at its size.
#[derive(Debug, Default)]
pub struct Scroll([Cell<usize>; 6]);

impl Scroll {
    pub fn get(&self, p: Panel) -> usize {
        self.0[panel_index(p)].get()
    }
    pub fn set(&self, p: Panel, v: usize) {
        self.0[panel_index(p)].set(v);
    }
    /// Holds the panel's scroll at `max` and gives it back.
    pub fn clamp(&self, p: Panel, max: usize) -> usize {
        let v = self.get(p).min(max);
        self.set(p, v);
        v
    }
}

/// Where each panel was drawn last, for the mouse wheel.
#[derive(Clone, Copy, Debug, Default)]
pub struct PanelAreas {
    pub lesson: Rect,
    pub code: Rect,
    pub interleaving: Rect,
    pub timeline: Rect,
    pub output: Rect,
    pub state: Rect,
}

pub enum Screen {
    Browser,
    Lesson(Box<LessonScreen>),
}

/// Options that tests and the binary choose differently.
#[derive(Clone, Debug)]
pub struct AppOptions {
    pub theme: Theme,
    /// The seed of the first stepped run; later "new seed"s follow from it.
    pub seed: u64,
    /// Where progress is remembered (`progress.json`); `None` keeps it in memory only.
    pub state_file: Option<PathBuf>,
    /// Ask a lesson's question when it opens, until the student has answered it.
    pub predict: bool,
}

/// The whole playground.
pub struct App {
    pub catalog: Catalog,
    pub lang: Lang,
    pub theme: Theme,
    pub screen: Screen,
    pub overlay: Overlay,
    pub browser_selected: usize,
    pub status: Option<StatusLine>,
    /// What the student has done, kept between sessions.
    pub progress: Progress,
    pub quit: bool,
    /// Lines the help overlay is scrolled down (the draw clamps it).
    pub help_scroll: Cell<usize>,
    /// Presenter mode: a layout for a projector (`--present`, or P).
    pub present: bool,
    /// The explore view (`x`), over the lesson screen while open.
    pub explore: Option<Box<super::explore_view::ExploreView>>,
    seed_state: u64,
    state_file: Option<PathBuf>,
    ask_predictions: bool,
    /// What the loop must do, gathered since the last effect was handed over.
    pending: Effect,
    /// `C`: the stepped schedule running on CPython, off the key path.
    comparing: Option<super::compare::Comparing>,
    /// The interpreter `E` runs lessons on (`--python`); the first python3 on PATH
    /// when not given.
    python: Option<PathBuf>,
}

/// What an update asks of the loop, which does all the I/O: the app only changes
/// its state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effect {
    /// The screen changed: draw it.
    pub redraw: bool,
    /// Text for the terminal's clipboard (OSC 52).
    pub copy: Option<String>,
    /// The progress record changed: write it to the state file.
    pub save_progress: bool,
}

impl App {
    pub fn new(catalog: Catalog, lang: Lang, opts: AppOptions) -> App {
        let progress = Progress::load(opts.state_file.as_deref());
        App {
            catalog,
            lang,
            theme: opts.theme,
            screen: Screen::Browser,
            overlay: Overlay::None,
            browser_selected: 0,
            status: None,
            progress,
            quit: false,
            pending: Effect::default(),
            comparing: None,
            python: None,
            help_scroll: Cell::new(0),
            present: false,
            explore: None,
            seed_state: opts.seed,
            state_file: opts.state_file,
            ask_predictions: opts.predict,
        }
    }

    /// Where the progress record is written (`None`: kept in memory only).
    pub fn state_file(&self) -> Option<&std::path::Path> {
        self.state_file.as_deref()
    }

    /// Hands over what the loop must do since the last effect (for what happened
    /// outside `handle`, `update` and `tick`: opening a lesson).
    pub fn take_effect(&mut self) -> Effect {
        std::mem::take(&mut self.pending)
    }

    fn effect(&mut self, redraw: bool) -> Effect {
        let mut e = self.take_effect();
        e.redraw |= redraw;
        e
    }

    /// The next seed for a stepped run: a fixed sequence from the first seed, so a
    /// test sees the same seeds every time, and a person sees each one on screen.
    fn next_seed(&mut self) -> u64 {
        // splitmix64: a stable, well-mixed sequence.
        self.seed_state = self.seed_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.seed_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % 1_000_000
    }

    /// Opens a lesson on a fresh stepped run.
    /// The interpreter the cpython engine uses (`--python PATH`).
    pub fn set_python(&mut self, python: Option<PathBuf>) {
        self.python = python;
    }

    pub fn open(&mut self, id: &str) -> Result<(), String> {
        let lesson = self.catalog.find(id)?.clone();
        let seed = self.next_seed();
        let knobs = lesson.default_knobs();
        let run = Run::new(&lesson, knobs.clone(), Start::Stepped(Origin::Seed(seed)))
            .map_err(|e| e.to_string())?;
        if let Some(i) = self.catalog.lessons().iter().position(|l| l.id == id) {
            self.browser_selected = i;
        }
        let tour = TourState::new(&lesson);
        self.screen = Screen::Lesson(Box::new(LessonScreen {
            code: lesson.code(&knobs),
            run,
            lesson,
            playing: false,
            play_level: DEFAULT_PLAY_LEVEL,
            play_budget: 0.0,
            live_speed: DEFAULT_LIVE_SPEED,
            dis_view: false,
            focus: Cell::new(Panel::Lesson),
            verdict: RefCell::new(None),
            present: self.present,
            show_text: true,
            text_replaces_code: Cell::new(false),
            output_rows: Cell::new(0),
            scroll: Scroll::default(),
            selected_actor: 0,
            code_scrolled: false,
            zoom: Cell::new(0),
            zoom_max: Cell::new(0),
            at_moment: None,
            parked: None,
            pan: 0,
            cache: RefCell::new(ViewCache::default()),
            areas: Cell::new(PanelAreas::default()),
            tour,
            prediction: None,
            job: None,
        }));
        self.overlay = Overlay::None;
        self.status = Some(StatusLine::Info(Msg::SPausedAtStart.get(self.lang).into()));
        let asked = self
            .progress
            .lesson(id)
            .is_some_and(|l| l.prediction.is_some());
        let l = self.progress.lesson_mut(id);
        if !l.seen {
            l.seen = true;
            self.pending.save_progress = true;
        }
        if self.ask_predictions
            && !asked
            && self.catalog.find(id).is_ok_and(|l| l.predict.is_some())
        {
            self.overlay = Overlay::Predict;
        }
        self.sync_prediction();
        Ok(())
    }

    /// Copies the progress record's prediction to the lesson screen that shows it.
    fn sync_prediction(&mut self) {
        if let Screen::Lesson(ls) = &mut self.screen {
            let pr = self
                .progress
                .lesson(&ls.lesson.id)
                .and_then(|l| l.prediction.as_ref());
            super::guide::sync(ls, pr);
        }
    }

    /// Opens a lesson on a prepared run (`interleave LESSON --seed 7 --set k=v`).
    pub fn open_at(&mut self, id: &str, knobs: Knobs, start: Start) -> Result<(), String> {
        self.open(id)?;
        let Screen::Lesson(ls) = &mut self.screen else {
            return Err("no lesson is open".into());
        };
        restart(ls, knobs, start)
    }

    /// Sets a knob of the open lesson as a person would in the knob editor, and
    /// re-runs from the start.
    pub fn set_knob(&mut self, name: &str, text: &str) -> Result<(), String> {
        let Screen::Lesson(ls) = &mut self.screen else {
            return Err("no lesson is open".into());
        };
        let mut knobs = ls.run.knobs().clone();
        knobs.set(&ls.lesson.knobs, name, text)?;
        let status = rerun(ls, knobs, &format!("{name}={text}"), self.lang);
        self.status = Some(status);
        Ok(())
    }

    /// Whether a long job (run to the end) is under way: the loop gives it
    /// slice after slice between keys.
    pub fn busy(&self) -> bool {
        matches!(&self.screen, Screen::Lesson(ls) if ls.job.is_some())
    }

    /// Whether the loop should tick (animation or a live run in flight).
    pub fn animating(&self) -> bool {
        (match &self.screen {
            Screen::Lesson(ls) => {
                ls.playing || ls.run.live_receiver().is_some() || ls.run.in_flight()
            }
            Screen::Browser => false,
        }) || self.explore.as_ref().is_some_and(|e| e.running())
            || super::explore_view::tour_outcomes_pending()
    }

    /// A live run's channel while the run is in flight, for the loop to wait on:
    /// `tick` drains it.
    pub fn live_receiver(&self) -> Option<&crossbeam::channel::Receiver<crate::run::LiveMsg>> {
        match &self.screen {
            Screen::Lesson(ls) => ls.run.live_receiver(),
            Screen::Browser => None,
        }
    }

    /// Whether the loop must tick at the frame rate: a stepped run playing, an
    /// exploration running. A live run wakes the loop through its channel instead.
    pub fn frame_ticks(&self) -> bool {
        (match &self.screen {
            Screen::Lesson(ls) => {
                (ls.playing && ls.run.live_receiver().is_none()) || ls.run.in_flight()
            }
            Screen::Browser => false,
        }) || self.explore.as_ref().is_some_and(|e| e.running())
            || self.comparing.is_some()
    }

    /// One animation tick; true if the screen changed.
    /// One animation tick (a job's slice, a live run's news, a playing run's
    /// steps); the effect's `redraw` says whether the screen changed.
    pub fn tick(&mut self) -> Effect {
        let changed = self.tick_changed();
        self.effect(changed)
    }

    fn tick_changed(&mut self) -> bool {
        self.run_speaks_lang();
        let explored = self.explore.as_mut().is_some_and(|e| e.poll())
            | super::explore_view::tour_outcomes_poll()
            | self.compare_poll();
        let Screen::Lesson(ls) = &mut self.screen else {
            return explored;
        };
        let mut changed = explored;
        if let Some(job) = &mut ls.job {
            self.status = match job.slice(&mut ls.run) {
                None => Some(StatusLine::Info(job.progress(&ls.run, self.lang))),
                Some(o) => {
                    ls.job = None;
                    outcome_status(o)
                }
            };
            if ls.job.is_none() {
                // The run reached its end (or was stopped): the tour may move on.
                let done = observe_tour(ls, None);
                self.tour_progress(done);
                self.after_change();
            }
            return true;
        }
        if ls.run.live_receiver().is_some() {
            changed |= ls.run.poll();
        }
        // (A CPython run's trace is rebuilt as its program grows: the run takes
        // a new version itself.)
        if ls.run.cpython().is_some() && ls.run.poll() {
            changed = true;
        }
        if ls.playing {
            if ls.run.live_receiver().is_some() {
                // A live run plays by itself; nothing to step.
            } else if ls.run.is_over() || ls.run.mode() == Mode::Live {
                ls.playing = false;
                changed = true;
            } else {
                ls.play_budget += PLAY_RATES[ls.play_level] / FPS;
                let n = ls.play_budget.floor() as usize;
                ls.play_budget -= n as f64;
                for _ in 0..n {
                    if let Outcome::Refused(why) = ls.run.command(Command::Step) {
                        ls.playing = false;
                        if !ls.run.is_over() {
                            self.status = Some(StatusLine::Refused(why));
                        }
                        break;
                    }
                }
                changed |= n > 0;
                if ls.run.is_over() {
                    ls.playing = false;
                }
            }
        }
        if changed {
            if let Screen::Lesson(ls) = &mut self.screen {
                let done = observe_tour(ls, None);
                self.tour_progress(done);
            }
            self.after_change();
        }
        changed
    }

    /// Notes a lesson whose run reached its end as finished.
    fn after_change(&mut self) {
        let Screen::Lesson(ls) = &self.screen else {
            return;
        };
        if ls.run.is_over() && !self.progress.finished(&ls.lesson.id) {
            self.progress.lesson_mut(&ls.lesson.id).finished = true;
            self.pending.save_progress = true;
        }
        self.judge_prediction();
        if let Screen::Lesson(ls) = &self.screen {
            super::explore_view::tour_outcomes_start(ls);
        }
    }

    /// Takes one terminal event: the keymap of what is on screen (the lesson, the
    /// list, or the overlay over them) turns a key into an action, and the action is
    /// carried out as [`App::update`] does. Gives back what the loop must do.
    pub fn handle(&mut self, ev: Event) -> Effect {
        self.run_speaks_lang();
        let redraw = match ev {
            Event::Key(k) if k.kind != KeyEventKind::Release => {
                self.key(k);
                true
            }
            Event::Mouse(m) => self.mouse(m),
            Event::Resize(..) => true,
            _ => false,
        };
        self.effect(redraw)
    }

    /// Carries out one action where the app is now, as its first key in the keymap
    /// of what is on screen would. No I/O: the effect says what the loop must do.
    pub fn update(&mut self, action: Action) -> Effect {
        self.run_speaks_lang();
        let code = self
            .keymap()
            .iter()
            .flat_map(|r| r.keys.iter())
            .find(|(_, a)| *a == action)
            .map(|(k, _)| *k);
        self.act(Some(action), code);
        self.effect(true)
    }

    /// The keymap of what has the keys now: an overlay, else the screen.
    pub fn keymap(&self) -> &'static [keymap::Row] {
        if self.explore.is_some() {
            return keymap::EXPLORE;
        }
        match (&self.overlay, &self.screen) {
            (Overlay::Help, _) => keymap::HELP_OVERLAY,
            (Overlay::Knobs { .. }, _) => keymap::KNOB_EDITOR,
            (Overlay::GoTo { .. }, _) => keymap::GO_TO,
            (Overlay::Predict, _) => keymap::PREDICTION,
            (Overlay::None, Screen::Browser) => keymap::BROWSER,
            (Overlay::None, Screen::Lesson(_)) => keymap::LESSON,
        }
    }

    fn key(&mut self, k: KeyEvent) {
        // Esc and a key typed right after it arrive as Alt+key; a person meant both.
        if k.modifiers.contains(KeyModifiers::ALT) && matches!(k.code, KeyCode::Char(_)) {
            self.key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
            if !self.quit {
                self.key(KeyEvent::new(k.code, k.modifiers - KeyModifiers::ALT));
            }
            return;
        }
        if k.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(k.code, KeyCode::Char('c') | KeyCode::Char('C'))
        {
            self.act(Some(Action::Quit), None);
            return;
        }
        let action = keymap::lookup(self.keymap(), k.code).or_else(|| {
            (self.overlay == Overlay::Help && self.explore.is_none()).then_some(keymap::HELP_OTHERS)
        });
        self.act(action, Some(k.code));
    }

    /// One action (or a key no keymap binds, which a few places still notice) in
    /// the context it came from; `code` is the key that asked for it, for the tour.
    fn act(&mut self, action: Option<Action>, code: Option<KeyCode>) {
        if action == Some(Action::Quit) {
            self.quit = true;
            return;
        }
        if self.explore.is_some() {
            if let Some(a) = action {
                super::explore_view::key(self, a);
            }
            self.after_change();
            return;
        }
        let on_lesson = self.overlay == Overlay::None && matches!(self.screen, Screen::Lesson(_));
        if on_lesson && action == Some(Action::Explore) {
            super::explore_view::open(self);
            return;
        }
        if on_lesson && action == Some(Action::ReplayLive) {
            super::explore_view::replay_live(self);
            self.after_change();
            return;
        }
        match self.overlay.clone() {
            Overlay::Help => {
                // ↑↓ scroll a help taller than the screen; any other key closes it,
                // and q and Esc do not also leave the lesson.
                match action {
                    Some(Action::Scroll { up: true, by }) => self
                        .help_scroll
                        .set(self.help_scroll.get().saturating_sub(by.into())),
                    Some(Action::Scroll { up: false, by }) => self
                        .help_scroll
                        .set(self.help_scroll.get() + usize::from(by)),
                    _ => self.overlay = Overlay::None,
                }
                return;
            }
            Overlay::Knobs { selected, typing } => {
                self.knob_key(action, selected, typing);
                // A knob set in the editor may be what the tour's step asked for.
                if let Screen::Lesson(ls) = &mut self.screen {
                    let done = observe_tour(ls, None);
                    self.tour_progress(done);
                }
                return;
            }
            Overlay::GoTo { typing } => {
                self.goto_key(action, typing);
                self.after_change();
                return;
            }
            Overlay::Predict => {
                self.predict_key(action);
                return;
            }
            Overlay::None => {}
        }
        match &mut self.screen {
            Screen::Browser => self.browser_key(action),
            Screen::Lesson(ls) => {
                let before = run_mark(ls);
                // A tour key moves the tour itself (`U` must not be undone at once
                // by a check that still holds).
                if !self.tour_key(action) {
                    self.lesson_key(action, code);
                    // A move is a key that changed the run, or one the run refused.
                    let refused = matches!(self.status, Some(StatusLine::Refused(_)));
                    if let Screen::Lesson(ls) = &mut self.screen {
                        let moved = (refused || run_mark(ls) != before)
                            .then(|| code.and_then(tour_key_of))
                            .flatten();
                        let done = observe_tour(ls, moved);
                        self.tour_progress(done);
                    }
                }
            }
        }
        self.after_change();
    }

    /// The prediction overlay: a digit picks an answer, Esc skips the question.
    fn predict_key(&mut self, action: Option<Action>) {
        let Screen::Lesson(ls) = &self.screen else {
            self.overlay = Overlay::None;
            return;
        };
        let n = ls.lesson.predict.as_ref().map_or(0, |p| p.choices.len());
        let id = ls.lesson.id.clone();
        let choice = match action {
            Some(Action::Answer(c)) if usize::from(c) <= n => Some(usize::from(c)),
            Some(Action::Close) => None,
            _ => return,
        };
        self.overlay = Overlay::None;
        self.progress.lesson_mut(&id).prediction = Some(Prediction {
            choice,
            shown: Vec::new(),
            matched: None,
        });
        self.pending.save_progress = true;
        self.sync_prediction();
        let lang = self.lang;
        self.status = Some(StatusLine::Info(match choice {
            Some(c) => Msg::SPredicted.fill(lang, &[&c]),
            None => Msg::SPredictSkipped.get(lang).into(),
        }));
        // A run that has already ended is judged at once.
        self.judge_prediction();
    }

    /// Tour keys: T shows or hides the tour, D does the current step for the
    /// student, U goes back a step. True if the key was one of them.
    fn tour_key(&mut self, action: Option<Action>) -> bool {
        let lang = self.lang;
        let Screen::Lesson(ls) = &mut self.screen else {
            return false;
        };
        if ls.lesson.tour.is_empty()
            && matches!(
                action,
                Some(Action::Tour | Action::TourDo | Action::TourUndo)
            )
        {
            self.status = Some(StatusLine::Info(Msg::SNoTour.get(lang).into()));
            return true;
        }
        match action {
            Some(Action::Tour) => {
                ls.tour.on = !ls.tour.on;
                if ls.tour.on {
                    ls.show_text = true;
                }
            }
            Some(Action::TourUndo) if ls.tour.on => {
                ls.tour.back();
                self.status = Some(StatusLine::Info(
                    Msg::STourStep.fill(lang, &[&(ls.tour.step + 1)]),
                ));
            }
            Some(Action::TourDo) if ls.tour.on => self.tour_do(),
            Some(Action::Predict) => {
                if ls.lesson.predict.is_some() {
                    self.overlay = Overlay::Predict;
                } else {
                    self.status = Some(StatusLine::Info(Msg::SNoPredict.get(lang).into()));
                }
            }
            _ => return false,
        }
        true
    }

    /// `D`: sets the current step's knobs and presses its keys, as the student
    /// would have.
    fn tour_do(&mut self) {
        let lang = self.lang;
        let Screen::Lesson(ls) = &mut self.screen else {
            return;
        };
        let Some(step) = ls.lesson.tour.get(ls.tour.step).cloned() else {
            self.status = Some(StatusLine::Info(Msg::STourDone.get(lang).into()));
            return;
        };
        if !step.set.is_empty() {
            let mut knobs = ls.run.knobs().clone();
            for (name, v) in &step.set {
                knobs.put(name, v.clone());
            }
            let seed = match ls.run.origin() {
                Some(Origin::Seed(s)) => *s,
                _ => 0,
            };
            if let Err(e) = restart(ls, knobs, Start::Stepped(Origin::Seed(seed))) {
                self.status = Some(StatusLine::Refused(e));
                return;
            }
            ls.tour.restart_step();
        }
        for key in step.keys {
            let code = match key {
                TourKey::Char(c) => KeyCode::Char(c),
                TourKey::Enter => KeyCode::Enter,
                TourKey::Home => KeyCode::Home,
                TourKey::End => KeyCode::End,
                TourKey::Tab => KeyCode::Tab,
            };
            let Screen::Lesson(ls) = &mut self.screen else {
                return;
            };
            let before = run_mark(ls);
            self.lesson_key(keymap::lookup(keymap::LESSON, code), Some(code));
            if let Screen::Lesson(ls) = &mut self.screen {
                let moved = (run_mark(ls) != before).then_some(key);
                let done = observe_tour(ls, moved);
                self.tour_progress(done);
            }
        }
        if let Screen::Lesson(ls) = &mut self.screen {
            let done = observe_tour(ls, None);
            self.tour_progress(done);
        }
    }

    /// Remembers a tour step just done and says so.
    fn tour_progress(&mut self, done: Option<usize>) {
        let Some(n) = done else {
            return;
        };
        let Screen::Lesson(ls) = &self.screen else {
            return;
        };
        let total = ls.lesson.tour.len();
        let id = ls.lesson.id.clone();
        let l = self.progress.lesson_mut(&id);
        if !l.tour_done.contains(&n) {
            l.tour_done.push(n);
            l.tour_done.sort_unstable();
        }
        l.tour_complete |= n == total;
        self.pending.save_progress = true;
        let lang = self.lang;
        let done = if n == total {
            Msg::STourDone.get(lang).into()
        } else {
            Msg::STourStepDone.fill(lang, &[&n, &(n + 1)])
        };
        // What the key itself did stays in front.
        self.status = Some(StatusLine::Info(match self.status.take() {
            Some(StatusLine::Info(before)) => format!("{before} · {done}"),
            _ => done,
        }));
    }

    /// Once a run is over, compares the student's answer with what it showed.
    fn judge_prediction(&mut self) {
        let Screen::Lesson(ls) = &self.screen else {
            return;
        };
        if !ls.run.is_over() {
            return;
        }
        let Some(predict) = &ls.lesson.predict else {
            return;
        };
        let id = ls.lesson.id.clone();
        let Some(pr) = self.progress.lesson(&id).and_then(|l| l.prediction.clone()) else {
            return;
        };
        if pr.matched.is_some() || pr.choice.is_none() {
            return;
        }
        let shown: Vec<usize> = predict
            .choices
            .iter()
            .enumerate()
            .filter(|(_, c)| super::tour::check(ls, &c.check) == Some(true))
            .map(|(i, _)| i + 1)
            .collect();
        let matched = pr.choice.is_some_and(|c| shown.contains(&c));
        self.progress.lesson_mut(&id).prediction = Some(Prediction {
            choice: pr.choice,
            shown,
            matched: Some(matched),
        });
        self.pending.save_progress = true;
        self.sync_prediction();
    }

    fn browser_key(&mut self, action: Option<Action>) {
        let n = self.catalog.lessons().len();
        let Some(action) = action else {
            return;
        };
        match action {
            Action::Leave => self.quit = true,
            Action::Choose { up: true } => {
                self.browser_selected = self.browser_selected.saturating_sub(1)
            }
            Action::Choose { up: false } if self.browser_selected + 1 < n => {
                self.browser_selected += 1;
            }
            Action::First => self.browser_selected = 0,
            Action::Last => self.browser_selected = n.saturating_sub(1),
            Action::Open => {
                if let Some(l) = self.catalog.lessons().get(self.browser_selected) {
                    let id = l.id.clone();
                    if let Err(e) = self.open(&id) {
                        self.status = Some(StatusLine::Refused(e));
                    }
                }
            }
            Action::Help => {
                self.overlay = Overlay::Help;
                self.help_scroll.set(0);
            }
            Action::Lang => self.switch_lang(),
            _ => {}
        }
    }

    /// The run gives its refusals in the screen's language (the runs are made in
    /// several places; this is before every key and tick).
    fn run_speaks_lang(&mut self) {
        if let Screen::Lesson(ls) = &mut self.screen {
            ls.run.set_lang(self.lang);
            if let Some(p) = &mut ls.parked {
                p.set_lang(self.lang);
            }
        }
    }

    /// English ↔ Chinese, for every string on the screen.
    fn switch_lang(&mut self) {
        self.lang = match self.lang {
            Lang::En => Lang::Zh,
            Lang::Zh => Lang::En,
        };
        self.status = Some(StatusLine::Info(Msg::SLang.get(self.lang).into()));
    }

    fn lesson_key(&mut self, action: Option<Action>, code: Option<KeyCode>) {
        let Screen::Lesson(ls) = &mut self.screen else {
            return;
        };
        let stepped = ls.run.mode() == Mode::Stepped;
        let lang = self.lang;
        let mut status: Option<StatusLine> = None;
        // Esc stops a run to the end where it is; other keys work as ever.
        if ls.job.is_some() && code == Some(KeyCode::Esc) {
            ls.job = None;
            self.status = Some(StatusLine::Info(
                Msg::SJobCancelled.fill(lang, &[&steps_of(ls)]),
            ));
            return;
        }
        let Some(action) = action else {
            return;
        };
        // Moving around the screen first; then what changes the run.
        if let Some(st) = view_key(ls, action, stepped, lang) {
            if st.is_some() {
                self.status = st;
            }
            return;
        }
        let command = |ls: &mut LessonScreen, c: Command| {
            ls.playing = false;
            match ls.run.command(c) {
                Outcome::Done => None,
                Outcome::Refused(why) => Some(StatusLine::Refused(why)),
            }
        };
        match action {
            Action::Leave => {
                self.screen = Screen::Browser;
                self.status = None;
                return;
            }
            Action::Help => {
                self.overlay = Overlay::Help;
                self.help_scroll.set(0);
            }
            Action::PlayPause => status = play_key(ls, stepped, lang),
            Action::Step => status = command(ls, Command::Step),
            Action::StepActor(n) => status = step_digit(ls, n, lang),
            Action::Back => status = command(ls, Command::StepBack),
            Action::Moment { forward } => status = Some(jump(ls, forward, lang)),
            Action::Lang => {
                self.switch_lang();
                return;
            }
            Action::Present => status = Some(self.toggle_present(lang)),
            Action::Copy => match replay_command(ls) {
                Some(line) => {
                    status = Some(StatusLine::Info(Msg::SCopied.fill(lang, &[&line])));
                    self.pending.copy = Some(line);
                }
                None => {
                    let most = crate::run::TAKEN_RUNS;
                    status = Some(StatusLine::Refused(Msg::SCopyTooLong.fill(lang, &[&most])));
                }
            },
            Action::GoTo if stepped => {
                self.overlay = Overlay::GoTo {
                    typing: String::new(),
                }
            }
            Action::Home if stepped => status = go_home(ls),
            Action::End | Action::RunToEnd => status = start_job(ls, lang),
            Action::Reset => status = Some(reset(ls, lang)),
            Action::NewSeed => status = self.new_seed(lang),
            Action::CompareCpython => status = self.compare_start(lang),
            Action::Engine => status = self.switch_engine(lang),
            Action::SwitchMode => status = self.switch_mode(stepped, lang),
            Action::ToggleKnob(name) => status = Some(toggle_knob(ls, name, lang)),
            Action::Knobs if ls.lesson.knobs.is_empty() => {
                status = Some(StatusLine::Info(Msg::SNoKnobs.get(lang).into()));
            }
            Action::Knobs => {
                self.overlay = Overlay::Knobs {
                    selected: 0,
                    typing: String::new(),
                };
            }
            Action::Speed { up } => status = Some(change_speed(ls, up, stepped, lang)),
            Action::StepSelected if ls.focus.get() == Panel::State => {
                let a = ls.selected_actor as ActorId;
                status = command(ls, Command::StepActor(a));
            }
            _ => {}
        }
        if let Some(s) = status {
            self.status = Some(s);
        } else if matches!(
            action,
            Action::Step
                | Action::StepActor(_)
                | Action::Back
                | Action::RunToEnd
                | Action::End
                | Action::Home
                | Action::StepSelected
        ) {
            // A step that worked clears an old refusal.
            self.status = None;
        }
    }

    /// P: presenter mode on or off.
    fn toggle_present(&mut self, lang: Lang) -> StatusLine {
        self.present = !self.present;
        if let Screen::Lesson(ls) = &mut self.screen {
            ls.present = self.present;
            if !ls.shown_panels().contains(&ls.focus.get()) {
                ls.focus.set(Panel::Interleaving);
            }
        }
        StatusLine::Info(
            if self.present {
                Msg::SPresent
            } else {
                Msg::SFullLayout
            }
            .get(lang)
            .into(),
        )
    }

    /// n: the same knobs with the next seed, from the start.
    /// `C`: starts running the stepped schedule on CPython (one at a time).
    fn compare_start(&mut self, lang: Lang) -> Option<StatusLine> {
        let Screen::Lesson(ls) = &self.screen else {
            return None;
        };
        if self.comparing.is_some() {
            return None;
        }
        Some(match super::compare::start(&ls.run, lang) {
            Ok((job, status)) => {
                self.comparing = Some(job);
                StatusLine::Info(status)
            }
            Err(why) => StatusLine::Refused(why),
        })
    }

    /// The comparison's result once it is in: true when the status changed.
    fn compare_poll(&mut self) -> bool {
        if !self.comparing.as_ref().is_some_and(|c| c.finished()) {
            return false;
        }
        let Some(job) = self.comparing.take() else {
            return false;
        };
        self.status = Some(match job.result(self.lang) {
            Ok(s) => StatusLine::Info(s),
            Err(s) => StatusLine::Refused(s),
        });
        true
    }

    fn new_seed(&mut self, lang: Lang) -> Option<StatusLine> {
        let seed = self.next_seed();
        let Screen::Lesson(ls) = &mut self.screen else {
            return None;
        };
        let knobs = ls.run.knobs().clone();
        let start = match ls.run.cpython() {
            Some(c) => Start::Cpython {
                python: c.spec.python.clone(),
                free: c.free(),
                origin: Origin::Seed(seed),
            },
            None => Start::Stepped(Origin::Seed(seed)),
        };
        Some(match restart(ls, knobs, start) {
            Ok(()) => StatusLine::Info(Msg::SNewSeed.fill(lang, &[&seed])),
            Err(e) => StatusLine::Refused(e),
        })
    }

    /// `E`: the lesson's own code on a real CPython (controlled, or free when the
    /// run was live), or back to the simulator.
    fn switch_engine(&mut self, lang: Lang) -> Option<StatusLine> {
        let seed = self.next_seed();
        let python = self.python.clone();
        let Screen::Lesson(ls) = &mut self.screen else {
            return None;
        };
        let knobs = ls.run.knobs().clone();
        let live = ls.run.mode() == Mode::Live;
        if ls.run.cpython().is_some() {
            let start = if live {
                Start::Live {
                    speed: ls.live_speed,
                }
            } else {
                Start::Stepped(Origin::Seed(seed))
            };
            return Some(match restart(ls, knobs, start) {
                Ok(()) => StatusLine::Info(Msg::SCpyOff.get(lang).into()),
                Err(e) => StatusLine::Refused(e),
            });
        }
        let Ok(python) = crate::cpython::find_python(python.as_deref()) else {
            return Some(StatusLine::Refused(Msg::SCpyNoPython.get(lang).into()));
        };
        let origin = match ls.run.origin() {
            Some(Origin::Seed(s)) => Origin::Seed(*s),
            _ => Origin::Seed(seed),
        };
        let start = Start::Cpython {
            python,
            free: live,
            origin,
        };
        Some(match restart(ls, knobs, start) {
            Ok(()) => StatusLine::Info(cpython_on(ls, lang)),
            Err(e) => StatusLine::Refused(Msg::SCpyCannotStart.fill(lang, &[&e])),
        })
    }

    /// `m`: a live run of the same knobs, keeping the stepped run aside; from a
    /// live run, back to that stepped run where it was (or a fresh one).
    fn switch_mode(&mut self, stepped: bool, lang: Lang) -> Option<StatusLine> {
        let seed = self.next_seed();
        let Screen::Lesson(ls) = &mut self.screen else {
            return None;
        };
        let knobs = ls.run.knobs().clone();
        // On CPython: free ↔ controlled, on the same interpreter.
        if let Some(c) = ls.run.cpython() {
            let start = Start::Cpython {
                python: c.spec.python.clone(),
                free: stepped,
                origin: Origin::Seed(seed),
            };
            return Some(match restart(ls, knobs, start) {
                Ok(()) => StatusLine::Info(cpython_on(ls, lang)),
                Err(e) => StatusLine::Refused(Msg::SCpyCannotStart.fill(lang, &[&e])),
            });
        }
        if !stepped {
            // Back to the stepped run the student left, where they left it.
            if let Some(run) = ls.parked.take() {
                ls.run = run;
                ls.playing = false;
                return Some(StatusLine::Info(Msg::SStepBack.get(lang).into()));
            }
        }
        let start = if stepped {
            Start::Live {
                speed: ls.live_speed,
            }
        } else {
            let seed = self.next_seed();
            Start::Stepped(Origin::Seed(seed))
        };
        let Screen::Lesson(ls) = &mut self.screen else {
            return None;
        };
        let parked = if stepped {
            Run::new(&ls.lesson, knobs.clone(), start.clone()).ok()
        } else {
            None
        };
        Some(match parked {
            Some(live) => {
                let old = std::mem::replace(&mut ls.run, live);
                ls.parked = Some(old);
                ls.playing = false;
                ls.pan = 0;
                ls.zoom.set(0);
                StatusLine::Info(Msg::SLive.get(lang).into())
            }
            None => match restart(ls, knobs, start) {
                Ok(()) => StatusLine::Info(Msg::SStep.get(lang).into()),
                Err(e) => StatusLine::Refused(e),
            },
        })
    }

    fn goto_key(&mut self, action: Option<Action>, mut typing: String) {
        let Screen::Lesson(ls) = &mut self.screen else {
            self.overlay = Overlay::None;
            return;
        };
        match action {
            Some(Action::Type(d)) if typing.len() < 12 => typing.push(char::from(b'0' + d)),
            Some(Action::Erase) => {
                typing.pop();
            }
            Some(Action::Confirm) => {
                self.overlay = Overlay::None;
                let Ok(n) = typing.parse::<usize>() else {
                    self.status = Some(StatusLine::Refused(Msg::STypeStep.get(self.lang).into()));
                    return;
                };
                ls.playing = false;
                self.status = outcome_status(ls.run.go_to_step(n)).or_else(|| {
                    Some(StatusLine::Info(
                        Msg::SAtStep.fill(self.lang, &[&n.min(steps_of(ls))]),
                    ))
                });
                return;
            }
            Some(Action::Close) => {
                self.overlay = Overlay::None;
                return;
            }
            _ => {}
        }
        self.overlay = Overlay::GoTo { typing };
    }

    fn knob_key(&mut self, action: Option<Action>, selected: usize, mut typing: String) {
        let Screen::Lesson(ls) = &mut self.screen else {
            self.overlay = Overlay::None;
            return;
        };
        let n = ls.lesson.knobs.len();
        let Some(spec) = ls.lesson.knobs.get(selected).cloned() else {
            self.overlay = Overlay::None;
            return;
        };
        let current = ls
            .run
            .knobs()
            .get(&spec.name)
            .cloned()
            .unwrap_or_else(|| spec.default_value());
        let mut sel = selected;
        let mut apply: Option<KnobValue> = None;
        match action {
            Some(Action::Close) => {
                self.overlay = Overlay::None;
                return;
            }
            Some(Action::Choose { up: true }) => {
                sel = sel.saturating_sub(1);
                typing.clear();
            }
            Some(Action::Choose { up: false }) => {
                sel = (sel + 1).min(n.saturating_sub(1));
                typing.clear();
            }
            // Twelve digits is past every knob's range; more would only overflow.
            Some(Action::Type(d))
                if matches!(spec.kind, KnobKind::Int { .. }) && typing.len() < 12 =>
            {
                typing.push(char::from(b'0' + d));
            }
            Some(Action::Erase) => {
                typing.pop();
            }
            Some(Action::Confirm) if !typing.is_empty() => match spec.parse(&typing) {
                Ok(v) => {
                    apply = Some(v);
                    typing.clear();
                }
                Err(e) => {
                    self.status = Some(StatusLine::Refused(e));
                    typing.clear();
                }
            },
            Some(Action::Confirm | Action::Change { forward: true }) => {
                apply = Some(spec.next(&current))
            }
            Some(Action::Change { forward: false }) => apply = Some(previous(&spec.kind, &current)),
            _ => {}
        }
        if let Some(v) = apply
            && v != current
        {
            let mut knobs = ls.run.knobs().clone();
            knobs.put(&spec.name, v.clone());
            self.status = Some(rerun(ls, knobs, &format!("{}={v}", spec.name), self.lang));
        }
        self.overlay = Overlay::Knobs {
            selected: sel,
            typing,
        };
    }

    fn mouse(&mut self, m: MouseEvent) -> bool {
        let Screen::Lesson(ls) = &mut self.screen else {
            return false;
        };
        let up = match m.kind {
            MouseEventKind::ScrollUp => true,
            MouseEventKind::ScrollDown => false,
            _ => return false,
        };
        let at = Position::new(m.column, m.row);
        let a = ls.areas.get();
        let panel = [
            (a.lesson, Panel::Lesson),
            (a.code, Panel::Code),
            (a.interleaving, Panel::Interleaving),
            (a.timeline, Panel::Timeline),
            (a.output, Panel::Output),
            (a.state, Panel::State),
        ]
        .into_iter()
        .find(|(r, _)| r.contains(at))
        .map(|(_, p)| p);
        match panel {
            Some(p) => {
                scroll(ls, p, 3, up);
                true
            }
            None => false,
        }
    }
}

pub fn panel_index(p: Panel) -> usize {
    Panel::ALL.iter().position(|x| *x == p).unwrap_or(0)
}

fn scroll(ls: &mut LessonScreen, p: Panel, by: usize, up: bool) {
    let now = ls.scroll.get(p);
    match p {
        Panel::Timeline => {
            if ls.zoom.get() == 0 {
                return;
            }
            ls.pan = if up {
                ls.pan.saturating_add(by as u64)
            } else {
                ls.pan.saturating_sub(by as u64)
            };
        }
        Panel::Code | Panel::Lesson | Panel::State => {
            ls.code_scrolled |= p == Panel::Code;
            // Code and text scroll from the top: "up" shows earlier lines.
            ls.scroll.set(
                p,
                if up {
                    now.saturating_sub(by)
                } else {
                    now.saturating_add(by)
                },
            );
        }
        _ => {
            ls.scroll.set(
                p,
                if up {
                    now.saturating_add(by)
                } else {
                    now.saturating_sub(by)
                },
            );
        }
    }
}

/// The command line that opens this run again exactly: the lesson, every knob
/// that differs from its default, and the seed or the schedule given (while no
/// step was picked by hand), the schedule so far (once one was), or `--live`;
/// `None` when that schedule is too long to keep.
pub fn replay_command(ls: &LessonScreen) -> Option<String> {
    let mut parts = vec!["interleave".to_string(), ls.lesson.id.clone()];
    let defaults = ls.lesson.default_knobs();
    for (name, v) in ls.run.knobs().iter() {
        if defaults.get(name) != Some(v) {
            parts.push(format!("--set {name}={v}"));
        }
    }
    match ls.run.replayable() {
        Replayable::Origin(Origin::Seed(seed)) => parts.push(format!("--seed {seed}")),
        Replayable::Origin(Origin::Schedule(s)) | Replayable::Steps(s) => {
            parts.push(format!("--schedule '{s}'"))
        }
        Replayable::TooLong => return None,
        Replayable::Live => parts.push("--live".into()),
    }
    Some(parts.join(" "))
}

/// Keys that move around the screen (focus, scrolling, zoom, the text and dis
/// views) without changing the run: `None` if `k` is not one of them, else the
/// status to show, if any.
fn view_key(
    ls: &mut LessonScreen,
    action: Action,
    stepped: bool,
    lang: Lang,
) -> Option<Option<StatusLine>> {
    let mut status = None;
    match action {
        Action::Focus { next } => {
            let shown = ls.shown_panels();
            let i = shown.iter().position(|p| *p == ls.focus.get()).unwrap_or(0);
            let n = shown.len();
            let j = if next { (i + 1) % n } else { (i + n - 1) % n };
            ls.focus.set(shown[j]);
        }
        Action::Text => {
            ls.show_text = !ls.show_text;
            if ls.show_text {
                ls.focus.set(Panel::Lesson);
            } else if ls.focus.get() == Panel::Lesson {
                ls.focus.set(Panel::Interleaving);
            }
        }
        Action::Scroll { up: true, by: 1 } if ls.focus.get() == Panel::State => {
            ls.selected_actor = ls.selected_actor.saturating_sub(1);
        }
        Action::Scroll { up: false, by: 1 } if ls.focus.get() == Panel::State => {
            let n = ls.run.program().actors.len();
            ls.selected_actor = (ls.selected_actor + 1).min(n.saturating_sub(1));
        }
        Action::Scroll { up, by } => scroll(ls, ls.focus.get(), by.into(), up),
        Action::Pan { left } if ls.focus.get() == Panel::Timeline => {
            scroll(ls, Panel::Timeline, 1, left)
        }
        Action::End if !stepped => {
            let focus = ls.focus.get();
            ls.scroll.set(focus, 0);
            if focus == Panel::Timeline {
                ls.pan = 0;
            }
            if focus == Panel::Code {
                ls.code_scrolled = false;
            }
        }
        Action::Zoom { zoom_in: true } => {
            if ls.zoom.get() < ls.zoom_max.get() {
                ls.zoom.set(ls.zoom.get() + 1);
            } else {
                status = Some(StatusLine::Info(Msg::SZoomMax.get(lang).into()));
            }
        }
        Action::Zoom { zoom_in: false } => {
            if ls.zoom.get() == 0 {
                status = Some(StatusLine::Info(Msg::SZoomMin.get(lang).into()));
            }
            ls.zoom.set(ls.zoom.get().saturating_sub(1));
            if ls.zoom.get() == 0 {
                ls.pan = 0;
            }
        }
        Action::Dis => ls.dis_view = !ls.dis_view,
        _ => return None,
    }
    Some(status)
}

/// `+` and `-`: the play rate of a stepped run, or how fast a live run's sleeps
/// pass (which re-runs it).
fn change_speed(ls: &mut LessonScreen, up: bool, stepped: bool, lang: Lang) -> StatusLine {
    if stepped {
        ls.play_level = if up {
            (ls.play_level + 1).min(PLAY_RATES.len() - 1)
        } else {
            ls.play_level.saturating_sub(1)
        };
        return StatusLine::Info(Msg::SPlaySpeed.fill(lang, &[&PLAY_RATES[ls.play_level]]));
    }
    let speed = if up {
        (ls.live_speed * 2.0).min(64.0)
    } else {
        (ls.live_speed / 2.0).max(1.0 / 64.0)
    };
    ls.live_speed = speed;
    let knobs = ls.run.knobs().clone();
    match restart(ls, knobs, Start::Live { speed }) {
        Ok(()) => StatusLine::Info(Msg::SLiveSpeed.fill(lang, &[&speed, &speed])),
        Err(e) => StatusLine::Refused(e),
    }
}

/// Space: play or pause a stepped run; run a finished live run again.
fn play_key(ls: &mut LessonScreen, stepped: bool, lang: Lang) -> Option<StatusLine> {
    if stepped {
        if ls.run.is_over() {
            return Some(StatusLine::Info(Msg::SRunEnded.get(lang).into()));
        } else {
            ls.playing = !ls.playing;
            ls.play_budget = 0.0;
        }
    } else if ls.run.is_over() {
        ls.run.command(Command::Reset);
        return Some(StatusLine::Info(Msg::SRunningAgainLive.get(lang).into()));
    } else {
        return Some(StatusLine::Info(Msg::SLivePlaysItself.get(lang).into()));
    }
    None
}

/// A digit: one step of that actor, or why there is no such actor.
fn step_digit(ls: &mut LessonScreen, a: u8, lang: Lang) -> Option<StatusLine> {
    let n = ls.run.program().actors.len();
    if (a as usize) >= n {
        return Some(StatusLine::Refused(
            Msg::SNoActor.fill(lang, &[&a, &n.saturating_sub(1)]),
        ));
    }
    ls.playing = false;
    outcome_status(ls.run.command(Command::StepActor(a as ActorId)))
}

/// `e` and End: run to the end in slices between keys (`ui/jobs.rs`).
fn start_job(ls: &mut LessonScreen, lang: Lang) -> Option<StatusLine> {
    ls.playing = false;
    if ls.run.mode() == Mode::Live {
        return outcome_status(ls.run.command(Command::RunToEnd));
    }
    let mut job = Job::run_to_end(&ls.run);
    if let Some(o) = job.first(&mut ls.run) {
        return outcome_status(o);
    }
    let status = StatusLine::Info(job.progress(&ls.run, lang));
    ls.job = Some(job);
    Some(status)
}

fn steps_of(ls: &LessonScreen) -> usize {
    ls.run.steps()
}

fn outcome_status(o: Outcome) -> Option<StatusLine> {
    match o {
        Outcome::Done => None,
        Outcome::Refused(why) => Some(StatusLine::Refused(why)),
    }
}

/// How far `>` looks ahead for the next moment.
const LOOKAHEAD_STEPS: usize = 5_000_000;

/// `>` and `<`: to the next or the previous moment worth seeing.
fn jump(ls: &mut LessonScreen, forward: bool, lang: Lang) -> StatusLine {
    ls.playing = false;
    let len = ls.run.trace().len();
    let found = if forward {
        let Some(future) = ls.run.future(LOOKAHEAD_STEPS) else {
            return StatusLine::Refused(Msg::SLiveCannotStep.get(lang).into());
        };
        moments(&future).into_iter().find(|m| m.seq >= len)
    } else {
        // At a moment, the one before it; elsewhere, the last one behind.
        let before = match ls.at_moment {
            Some((seq, at_len)) if at_len == len => seq,
            _ => len.saturating_sub(1),
        };
        moments(ls.run.trace())
            .into_iter()
            .rev()
            .find(|m| m.seq < before)
    };
    let Some(m) = found else {
        return StatusLine::Info(
            if forward {
                Msg::SNoMomentAhead
            } else {
                Msg::SNoMomentBefore
            }
            .get(lang)
            .into(),
        );
    };
    if let Outcome::Refused(why) = ls.run.go_to_event(m.seq) {
        return StatusLine::Refused(why);
    }
    ls.at_moment = Some((m.seq, ls.run.trace().len()));
    // The interleaving shows the moment as its newest row.
    ls.scroll.set(Panel::Interleaving, 0);
    let who = ls
        .run
        .program()
        .actors
        .get(m.actor as usize)
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let what = match m.kind {
        MomentKind::OverwrittenWrite => Msg::MOverwrote,
        MomentKind::Waits => Msg::MWaits,
        MomentKind::Deadlock => Msg::MDeadlock,
        MomentKind::Ended => Msg::MEnded,
        MomentKind::Raised => Msg::MRaised,
        MomentKind::Started => Msg::MStarted,
        MomentKind::Exited => Msg::MExited,
        MomentKind::TaskReused => Msg::MTaskReused,
    }
    .fill(lang, &[&who]);
    StatusLine::Info(Msg::SMoment.fill(lang, &[&steps_of(ls), &what]))
}

fn previous(kind: &KnobKind, v: &KnobValue) -> KnobValue {
    match (kind, v) {
        (KnobKind::Bool { .. }, KnobValue::Bool(b)) => KnobValue::Bool(!b),
        (KnobKind::Int { min, max, .. }, KnobValue::Int(i)) => {
            KnobValue::Int((i / 2).clamp(*min, *max))
        }
        (KnobKind::Choice { options, .. }, KnobValue::Choice(c)) => {
            let i = options.iter().position(|o| o == c).unwrap_or(0);
            KnobValue::Choice(options[(i + options.len() - 1) % options.len()].clone())
        }
        (_, v) => v.clone(),
    }
}

/// Flips a knob the lesson may have (`lock`, `gil`, `granularity`).
/// Home: back to the start of a stepped run.
fn go_home(ls: &mut LessonScreen) -> Option<StatusLine> {
    ls.playing = false;
    outcome_status(ls.run.go_to_step(0))
}

/// r: the same seed, from the start.
fn reset(ls: &mut LessonScreen, lang: Lang) -> StatusLine {
    ls.playing = false;
    ls.run.command(Command::Reset);
    StatusLine::Info(Msg::SReset.get(lang).into())
}

/// What tells a key that changed the run from one that only moved the view.
fn run_mark(ls: &LessonScreen) -> (u64, usize, String, bool) {
    (
        ls.run.version(),
        ls.run.trace().total_len(),
        ls.run.knobs().summary(),
        ls.run.mode() == Mode::Stepped,
    )
}

/// The tour key a terminal key is, if the tour can name it.
fn tour_key_of(code: KeyCode) -> Option<TourKey> {
    Some(match code {
        KeyCode::Char(c) => TourKey::Char(c),
        KeyCode::Enter => TourKey::Enter,
        KeyCode::Home => TourKey::Home,
        KeyCode::End => TourKey::End,
        KeyCode::Tab => TourKey::Tab,
        _ => return None,
    })
}

/// Brings the screen's derived state up to date and moves the tour on if its
/// step is done. Returns the step just done (1-based).
fn observe_tour(ls: &mut LessonScreen, moved: Option<TourKey>) -> Option<usize> {
    if !ls.tour.on || ls.tour.done(&ls.lesson) {
        return None;
    }
    let mut t = std::mem::take(&mut ls.tour);
    let done = t.observe(ls, moved);
    ls.tour = t;
    done
}

fn toggle_knob(ls: &mut LessonScreen, name: &str, lang: Lang) -> StatusLine {
    let Some(spec) = ls.lesson.knob(name).cloned() else {
        return StatusLine::Refused(Msg::SNoKnob.fill(lang, &[&name]));
    };
    let cur = ls
        .run
        .knobs()
        .get(name)
        .cloned()
        .unwrap_or_else(|| spec.default_value());
    let v = spec.next(&cur);
    let mut knobs = ls.run.knobs().clone();
    knobs.put(name, v.clone());
    rerun(ls, knobs, &format!("{name}={v}"), lang)
}

/// Starts again from the beginning with new knobs, in the same mode.
fn rerun(ls: &mut LessonScreen, knobs: Knobs, what: &str, lang: Lang) -> StatusLine {
    let start = match (ls.run.cpython(), ls.run.origin()) {
        (Some(c), origin) => Start::Cpython {
            python: c.spec.python.clone(),
            free: c.free(),
            origin: match origin {
                Some(Origin::Seed(s)) => Origin::Seed(*s),
                _ => Origin::Seed(0),
            },
        },
        (None, origin) => match origin {
            Some(Origin::Seed(s)) => Start::Stepped(Origin::Seed(*s)),
            // A schedule was made for the old program; the new one gets the seed-0 scheduler.
            Some(Origin::Schedule(_)) => Start::Stepped(Origin::Seed(0)),
            None => Start::Live {
                speed: ls.live_speed,
            },
        },
    };
    match restart(ls, knobs, start) {
        Ok(()) => StatusLine::Info(Msg::SRerun.fill(lang, &[&what])),
        Err(e) => StatusLine::Refused(e),
    }
}

/// What the status line says when a lesson starts on CPython: which one, and
/// what tracing costs.
fn cpython_on(ls: &LessonScreen, lang: Lang) -> String {
    let version = ls.run.cpython().map_or(String::new(), |c| {
        format!("{} {}", c.rec.version, c.spec.python.display())
    });
    format!(
        "{} · {}",
        Msg::SCpyOn.fill(lang, &[&version]),
        Msg::CpyCostNote.get(lang)
    )
}

fn restart(ls: &mut LessonScreen, knobs: Knobs, start: Start) -> Result<(), String> {
    let run = Run::new(&ls.lesson, knobs.clone(), start).map_err(|e| e.to_string())?;
    // A parked stepped run was for other knobs or another start: it is gone.
    ls.parked = None;
    // The old run (and any live threads) stops when it is dropped here.
    ls.run = run;
    ls.code = ls.lesson.code(&knobs);
    ls.playing = false;
    let text_scroll = ls.scroll.get(Panel::Lesson);
    ls.scroll = Scroll::default();
    ls.selected_actor = ls
        .selected_actor
        .min(ls.run.program().actors.len().saturating_sub(1));
    // The text is the same lesson's: a re-run keeps the reader's place.
    ls.scroll.set(Panel::Lesson, text_scroll);
    ls.code_scrolled = false;
    ls.pan = 0;
    ls.zoom.set(0);
    Ok(())
}
