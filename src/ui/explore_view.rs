//! The explore view (`x`): every outcome of the open lesson at its knobs, as a
//! histogram with each outcome's share and a run that shows it; Enter opens that
//! run stepped, at the step where it leaves the most common one. The search runs
//! on a thread of its own, with progress; Esc cancels it.

use super::app::{App, LessonScreen, Screen, StatusLine};
use super::keymap::Action;
use super::theme::Theme;
use crate::explore::{self, Control, Exploration, Found, Limits, Stop};
use crate::i18n::Msg;
use crate::lesson::{Knobs, Lang};
use crate::program::{EngineConfig, Program};
use crate::run::Schedule;
use crate::run::{Origin, Start};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the view searches before it shows what it has, marked incomplete.
const TIME_LIMIT: Duration = Duration::from_secs(20);
/// Seeds the view samples when the program is beyond the exhaustive search.
const SAMPLED_RUNS: u64 = 2_000;
/// Widest bar of the histogram, in cells.
const BAR: usize = 16;

/// The view's state: the search in flight, or its result.
pub struct ExploreView {
    pub lesson: String,
    pub knobs: Knobs,
    ctl: Arc<Control>,
    job: Option<JoinHandle<Exploration>>,
    pub result: Option<Exploration>,
    pub selected: usize,
}

impl ExploreView {
    /// Starts searching every outcome of `program` on a thread.
    pub fn start(program: Arc<Program>, cfg: EngineConfig, lesson: &str, knobs: Knobs) -> Self {
        let ctl = Arc::new(Control::default());
        let job = {
            let ctl = ctl.clone();
            let knobs = knobs.clone();
            std::thread::Builder::new()
                .name("explore".into())
                .spawn(move || search(&program, cfg, &knobs, &ctl))
                .ok()
        };
        ExploreView {
            lesson: lesson.to_string(),
            knobs,
            ctl,
            job,
            result: None,
            selected: 0,
        }
    }

    /// A view of a search already made (tests, and a search on the key path).
    pub fn finished(lesson: &str, knobs: Knobs, ex: Exploration) -> Self {
        ExploreView {
            lesson: lesson.to_string(),
            knobs,
            ctl: Arc::new(Control::default()),
            job: None,
            result: Some(ex),
            selected: 0,
        }
    }

    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// Takes the search's result once it is done; true while the screen should
    /// change (progress, or the result arriving).
    pub fn poll(&mut self) -> bool {
        match &self.job {
            Some(h) if h.is_finished() => {
                if let Some(h) = self.job.take() {
                    self.result = h.join().ok();
                }
                true
            }
            Some(_) => true,
            None => false,
        }
    }

    /// Waits for the search to end (tests, and closing the view).
    pub fn wait(&mut self) {
        if let Some(h) = self.job.take() {
            self.result = h.join().ok();
        }
    }

    fn cancel(&mut self) {
        self.ctl.cancel.store(true, Ordering::Relaxed);
    }

    fn outcomes(&self) -> &[Found] {
        self.result.as_ref().map_or(&[], |r| &r.outcomes)
    }
}

impl Drop for ExploreView {
    fn drop(&mut self) {
        self.cancel();
        self.wait();
    }
}

/// Every interleaving when the search takes the program; seeds otherwise.
fn search(program: &Arc<Program>, cfg: EngineConfig, knobs: &Knobs, ctl: &Control) -> Exploration {
    let limits = Limits {
        max_time: TIME_LIMIT,
        ..Limits::default()
    };
    let ex = explore::exhaustive(program, cfg, &limits, ctl);
    if matches!(ex.stop, Stop::Unsupported(_)) {
        return explore::sample(program, cfg, knobs, 0..SAMPLED_RUNS, ctl);
    }
    ex
}

/// The first step at which two runs part (the shorter's length if one is the
/// other's start).
pub fn first_difference(a: &Schedule, b: &Schedule) -> usize {
    a.0.iter()
        .zip(&b.0)
        .position(|(x, y)| x != y)
        .unwrap_or(a.0.len().min(b.0.len()))
}

/// `x` on the lesson screen: opens the view and starts the search.
pub fn open(app: &mut App) {
    let Screen::Lesson(ls) = &app.screen else {
        return;
    };
    let program = ls.run.program().clone();
    let knobs = ls.run.knobs().clone();
    let cfg = knobs.engine();
    app.explore = Some(Box::new(ExploreView::start(
        program,
        cfg,
        &ls.lesson.id,
        knobs,
    )));
}

/// A key while the view is open.
pub fn key(app: &mut App, action: Action) {
    let Some(v) = app.explore.as_mut() else {
        return;
    };
    let n = v.outcomes().len();
    // The keys are in the keymap (`keymap::EXPLORE`).
    match action {
        Action::Close if v.running() => {
            v.cancel();
            v.wait();
        }
        Action::Close => app.explore = None,
        Action::Choose { up: true } => v.selected = v.selected.saturating_sub(1),
        Action::Choose { up: false } if v.selected + 1 < n => v.selected += 1,
        Action::First => v.selected = 0,
        Action::Last => v.selected = n.saturating_sub(1),
        Action::Open if !v.running() && n > 0 => open_outcome(app),
        _ => {}
    }
}

/// Opens the selected outcome's run stepped, at the step where it leaves the
/// most common outcome's run.
fn open_outcome(app: &mut App) {
    let Some(v) = app.explore.take() else {
        return;
    };
    let outs = v.outcomes();
    let i = v.selected.min(outs.len().saturating_sub(1));
    let (Some(chosen), Some(common)) = (outs.get(i), outs.first()) else {
        return;
    };
    let at = first_difference(&chosen.schedule, &common.schedule);
    let start = Start::Stepped(Origin::Schedule((&chosen.schedule).into()));
    let lang = app.lang;
    if let Err(e) = app.open_at(&v.lesson, v.knobs.clone(), start) {
        app.status = Some(StatusLine::Refused(e));
        return;
    }
    if let Screen::Lesson(ls) = &mut app.screen {
        ls.run.go_to_step(at);
        ls.generation += 1;
    }
    app.status = Some(StatusLine::Info(Msg::XOpened.fill(lang, &[&(i + 1), &at])));
}

/// What a student sees of an outcome: the variables, the output, a deadlock.
fn describe(f: &Found, lang: Lang) -> String {
    let mut parts: Vec<String> = f
        .key
        .vars
        .iter()
        .map(|(n, v)| format!("{n} = {}", crate::program::pytext::value_text(*v)))
        .collect();
    if !f.key.output.is_empty() {
        parts.push(Msg::XPrints.fill(lang, &[&f.key.output.join(" / ")]));
    }
    if f.key.deadlock {
        parts.push(Msg::XDeadlock.get(lang).into());
    }
    if parts.is_empty() {
        parts.push(Msg::XNothing.get(lang).into());
    }
    parts.join(" · ")
}

fn bar(share: f64) -> String {
    let eighths = (share * (BAR * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(['▏', '▎', '▍', '▌', '▋', '▊', '▉'][eighths % 8 - 1]);
    }
    format!("{s:<BAR$}")
}

/// Cuts `s` to `w` cells of the terminal (Chinese characters take two), with an
/// ellipsis where it was cut.
fn cut(s: &str, w: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    if unicode_width::UnicodeWidthStr::width(s) <= w {
        return s.to_string();
    }
    let mut t = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        used += cw;
        t.push(c);
    }
    t.push('…');
    t
}

/// The summary line under the title: progress, or how the search ended.
fn summary(v: &ExploreView, lang: Lang) -> String {
    let Some(ex) = &v.result else {
        let n = v.ctl.executions.load(Ordering::Relaxed);
        return Msg::XRunning.fill(lang, &[&n]);
    };
    let head = Msg::XSummary.fill(lang, &[&ex.outcomes.len(), &ex.executions]);
    let how = match &ex.stop {
        Stop::Complete => Msg::XComplete.get(lang).to_string(),
        Stop::Cancelled => Msg::XCancelled.get(lang).to_string(),
        other => Msg::XIncomplete.fill(lang, &[&other.describe_in(lang)]),
    };
    format!("{head} · {how}")
}

/// Draws the view over the lesson screen.
pub fn draw(f: &mut Frame, area: Rect, v: &ExploreView, th: &Theme, lang: Lang) {
    let w = area.width.saturating_sub(4).min(110);
    let h = area.height.saturating_sub(2);
    let r = Rect::new(area.x + (area.width - w) / 2, area.y + 1, w, h);
    f.render_widget(Clear, r);
    let inner = r.width.saturating_sub(2) as usize;
    let mut lines = vec![
        Line::styled(cut(&summary(v, lang), inner), th.dim()),
        Line::raw(""),
    ];
    let outs = v.outcomes();
    let total = v.result.as_ref().map_or(1, |r| r.executions.max(1)) as f64;
    // Two lines an outcome; the selected one is kept in sight.
    let room = (r.height as usize).saturating_sub(6) / 2;
    let top = v.selected.saturating_sub(room.saturating_sub(1));
    for (i, o) in outs.iter().enumerate().skip(top).take(room.max(1)) {
        let share = o.count as f64 / total;
        let sel = i == v.selected;
        let head = format!(
            "{}{:>3}. {} {:>7} {:>5.1}%  ",
            if sel { "▶" } else { " " },
            i + 1,
            bar(share),
            o.count,
            share * 100.0
        );
        let room_left = inner.saturating_sub(unicode_width::UnicodeWidthStr::width(head.as_str()));
        let style = if sel { th.selected() } else { th.title() };
        lines.push(Line::from(vec![
            Span::styled(head, style),
            Span::styled(cut(&describe(o, lang), room_left), style),
        ]));
        let witness = match o.seed {
            Some(seed) => Msg::XSeed.fill(lang, &[&seed, &o.preemptions]),
            None => Msg::XWitness.fill(lang, &[&o.schedule, &o.preemptions]),
        };
        lines.push(Line::styled(
            cut(&format!("        {witness}"), inner),
            th.dim(),
        ));
    }
    if outs.is_empty() && v.result.is_some() {
        lines.push(Line::raw(Msg::XNone.get(lang)));
    }
    let keys = if v.running() {
        Msg::XKeysRunning.get(lang)
    } else {
        Msg::XKeys.get(lang)
    };
    let body_h = (r.height as usize).saturating_sub(3);
    lines.truncate(body_h);
    while lines.len() < body_h {
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled(cut(keys, inner), th.key()));
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(Msg::XTitle.fill(lang, &[&v.lesson, &v.knobs.summary()]))
                .border_style(th.focus_border()),
        ),
        r,
    );
}

/// `R` after a live run: opens its stepped replay (the same reads and writes,
/// `explore::replay`), at the step that makes its first lost update.
pub fn replay_live(app: &mut App) {
    let lang = app.lang;
    let Screen::Lesson(ls) = &app.screen else {
        return;
    };
    let Some(rec) = ls.run.live_recording() else {
        app.status = Some(StatusLine::Info(Msg::RReplayNotYet.get(lang).into()));
        return;
    };
    let (program, cfg) = (ls.run.program().clone(), ls.run.config());
    let schedule = match explore::replay::schedule(&program, cfg, rec) {
        Ok(s) => s,
        Err(why) => {
            app.status = Some(StatusLine::Refused(
                Msg::RReplayNone.fill(lang, &[&why.text(lang)]),
            ));
            return;
        }
    };
    let sets = explore::replay::replay_sets(cfg);
    let mut knobs = ls.run.knobs().clone();
    for (k, v) in &sets {
        if let Err(e) = knobs.set(&ls.lesson.knobs, k, v) {
            app.status = Some(StatusLine::Refused(Msg::RReplayNone.fill(lang, &[&e])));
            return;
        }
    }
    let at =
        crate::run::first_lost_update(&program, explore::replay::replay_config(cfg), &schedule);
    let id = ls.lesson.id.clone();
    if let Err(e) = app.open_at(
        &id,
        knobs,
        Start::Stepped(Origin::Schedule(schedule.into())),
    ) {
        app.status = Some(StatusLine::Refused(e));
        return;
    }
    if let Screen::Lesson(ls) = &mut app.screen
        && let Some(at) = at
    {
        ls.run.go_to_step(at);
        ls.generation += 1;
    }
    let gil = if sets.contains(&("gil", "free")) {
        Msg::RReplayGilFree.get(lang)
    } else {
        ""
    };
    app.status = Some(StatusLine::Info(match at {
        Some(at) => Msg::RReplayLost.fill(lang, &[&gil, &at]),
        None => Msg::RReplayClean.fill(lang, &[&gil]),
    }));
}

/// How long the search behind a tour's end box may take before the box shows
/// nothing: the lessons it is for finish in well under a second.
const TOUR_BUDGET: Duration = Duration::from_secs(3);
/// Outcomes the tour's end box lists at most.
const TOUR_SHOWN: usize = 12;

/// The searches behind tours' end boxes, by lesson and knobs: on a thread until
/// done, then every outcome (or `None`: not feasible at these knobs).
enum TourSlot {
    Pending(JoinHandle<Option<Vec<Found>>>),
    Done(Option<Vec<Found>>),
}

static TOUR_OUTCOMES: std::sync::Mutex<Vec<(String, TourSlot)>> = std::sync::Mutex::new(Vec::new());

fn tour_key(ls: &LessonScreen) -> String {
    format!("{} {}", ls.lesson.id, ls.run.knobs().summary())
}

fn tour_ended(ls: &LessonScreen) -> bool {
    ls.tour.on && !ls.lesson.tour.is_empty() && ls.tour.step >= ls.lesson.tour.len()
}

/// After a change: once the tour has ended, starts the search for every outcome
/// at the run's knobs (once per lesson and knobs), off the key path.
pub fn tour_outcomes_start(ls: &LessonScreen) {
    if !tour_ended(ls) {
        return;
    }
    let key = tour_key(ls);
    let Ok(mut slots) = TOUR_OUTCOMES.lock() else {
        return;
    };
    if slots.iter().any(|(k, _)| *k == key) {
        return;
    }
    let (lesson, knobs) = (ls.lesson.clone(), ls.run.knobs().clone());
    let spawned = std::thread::Builder::new()
        .name("tour outcomes".into())
        .spawn(move || explore::all_outcomes(&lesson, &knobs, TOUR_BUDGET));
    let slot = match spawned {
        Ok(h) => TourSlot::Pending(h),
        Err(_) => TourSlot::Done(None),
    };
    slots.push((key, slot));
}

/// Takes in the searches that have ended; true if one has (the box changed).
pub fn tour_outcomes_poll() -> bool {
    let Ok(mut slots) = TOUR_OUTCOMES.lock() else {
        return false;
    };
    let mut changed = false;
    for (_, slot) in slots.iter_mut() {
        if matches!(slot, TourSlot::Pending(h) if h.is_finished()) {
            let TourSlot::Pending(h) = std::mem::replace(slot, TourSlot::Done(None)) else {
                continue;
            };
            *slot = TourSlot::Done(h.join().ok().flatten());
            changed = true;
        }
    }
    changed
}

/// Whether a search for a tour's end box is under way (the screen ticks).
pub fn tour_outcomes_pending() -> bool {
    TOUR_OUTCOMES
        .lock()
        .is_ok_and(|s| s.iter().any(|(_, x)| matches!(x, TourSlot::Pending(_))))
}

/// The lines the tour's end box adds: every outcome of the program at these
/// knobs, or that they are being found; nothing where the search is not feasible.
pub fn tour_outcome_lines(ls: &LessonScreen, lang: Lang) -> Vec<String> {
    if !tour_ended(ls) {
        return Vec::new();
    }
    let key = tour_key(ls);
    let Ok(slots) = TOUR_OUTCOMES.lock() else {
        return Vec::new();
    };
    match slots.iter().find(|(k, _)| *k == key).map(|(_, s)| s) {
        Some(TourSlot::Pending(_)) => vec![Msg::TourAllPending.get(lang).into()],
        Some(TourSlot::Done(Some(outs))) if !outs.is_empty() => {
            // One paragraph, so that a small box still shows most of them.
            let mut all: Vec<String> = outs
                .iter()
                .take(TOUR_SHOWN)
                .map(|f| format!("• {}", describe(f, lang)))
                .collect();
            if outs.len() > TOUR_SHOWN {
                all.push(Msg::TourAllMore.fill(lang, &[&(outs.len() - TOUR_SHOWN)]));
            }
            vec![
                Msg::TourAllOutcomes.fill(lang, &[&outs.len()]),
                all.join("   "),
            ]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn balance(sets: &[&str]) -> (Arc<Program>, EngineConfig, Knobs) {
        let cat = Catalog::embedded().expect("lessons");
        let l = cat.find("balance-race").expect("balance-race");
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let knobs = crate::cli::knobs_from(l, &sets).expect("knobs");
        let p = Arc::new(crate::scenarios::build(l, &knobs).expect("builds"));
        (p, knobs.engine(), knobs)
    }

    fn screen(v: &ExploreView, lang: Lang) -> Terminal<TestBackend> {
        let mut t = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
        t.draw(|f| draw(f, f.area(), v, &Theme::plain(), lang))
            .expect("draw");
        t
    }

    /// The seven balances of the unlocked race, most common first, each with a
    /// share, a schedule and its fewest preemptions.
    #[test]
    fn the_view_lists_every_outcome_with_its_witness() {
        let (p, cfg, knobs) = balance(&["iterations=1", "gil=free", "lock=off"]);
        let mut v = ExploreView::start(p, cfg, "balance-race", knobs);
        v.wait();
        assert_eq!(v.outcomes().len(), 7);
        let t = screen(&v, Lang::En);
        insta::assert_snapshot!("explore_view_balance_race", t.backend());
        let t = screen(&v, Lang::Zh);
        insta::assert_snapshot!("explore_view_balance_race_zh", t.backend());
    }

    /// With the lock on, the view shows one outcome: balance = 0.
    #[test]
    fn with_the_lock_one_outcome_remains() {
        let (p, cfg, knobs) = balance(&["iterations=1", "gil=free", "lock=on"]);
        let mut v = ExploreView::start(p, cfg, "balance-race", knobs);
        v.wait();
        let outs = v.outcomes();
        assert_eq!(outs.len(), 1);
        assert_eq!(outs[0].key.vars, vec![("balance".to_string(), 0)]);
    }

    #[test]
    fn runs_part_at_their_first_different_step() {
        let a = Schedule(vec![0, 1, 1, 2, 1]);
        assert_eq!(first_difference(&a, &Schedule(vec![0, 1, 2])), 2);
        assert_eq!(first_difference(&a, &a.clone()), 5);
        assert_eq!(first_difference(&a, &Schedule(vec![0, 1])), 2);
    }
}
