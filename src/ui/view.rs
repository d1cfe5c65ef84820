//! Drawing: the browser, the lesson screen's panels, the overlays, the too-small note.

use super::app::{App, LessonScreen, Overlay, Panel, PanelAreas, Screen, StatusLine, panel_index};
use super::cache::Axis;
use super::highlight::python_line;
use super::keymap;
use super::theme::Theme;
use crate::i18n::Msg;
use crate::lesson::Lang;
use crate::program::{ActorId, Program};
use crate::run::Ending;
use crate::trace::{ActorState, Mode};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// The smallest terminal the screens are laid out for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draws the whole app into a frame.
pub fn draw(app: &mut App, f: &mut Frame) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(f.buffer_mut(), area, &app.theme, app.lang);
        return;
    }
    match &mut app.screen {
        Screen::Browser => browser(f, area, app_view(app)),
        Screen::Lesson(ls) => {
            let th = app.theme;
            ls.present = app.present;
            lesson(f, area, ls, &th, app.status.as_ref(), app.lang);
        }
    }
    match app.overlay.clone() {
        Overlay::None => {}
        Overlay::Help => help(f, area, app),
        Overlay::GoTo { typing } => {
            let th = &app.theme;
            let r = centered(area, 44, 3);
            clear_under(f, r);
            let line = Line::from(vec![
                Span::styled(Msg::GoToStep.get(app.lang), th.title()),
                Span::styled(format!("{typing}▏"), th.key()),
                Span::styled(Msg::GoToKeys.get(app.lang), th.dim()),
            ]);
            f.render_widget(
                Paragraph::new(line).block(Block::bordered().border_style(th.focus_border())),
                r,
            );
        }
        Overlay::Knobs { selected, typing } => {
            if let Screen::Lesson(ls) = &app.screen {
                knobs(f, area, ls, selected, &typing, &app.theme, app.lang);
            }
        }
        Overlay::Predict => {
            if let Screen::Lesson(ls) = &app.screen {
                super::guide::predict_overlay(f, area, ls, &app.theme, app.lang);
            }
        }
    }
    if let Some(v) = &app.explore {
        super::explore_view::draw(f, area, v, &app.theme, app.lang);
    }
}

struct BrowserView<'a> {
    app: &'a App,
}

fn app_view(app: &App) -> BrowserView<'_> {
    BrowserView { app }
}

/// A lesson's tour and prediction as the list shows them: `tour 3/8 · ✓ 2 `.
fn list_progress(app: &App, l: &crate::lesson::Lesson) -> String {
    let Some(p) = app.progress.lesson(&l.id) else {
        return String::new();
    };
    let mut out = String::new();
    if !l.tour.is_empty() && !p.tour_done.is_empty() {
        let n = if p.tour_complete {
            l.tour.len()
        } else {
            p.tour_done.len()
        };
        out.push_str(&Msg::ListTour.fill(app.lang, &[&n, &l.tour.len()]));
        out.push_str("  ");
    }
    if let Some(pr) = &p.prediction
        && let (Some(c), Some(m)) = (pr.choice, pr.matched)
    {
        // The answer given and whether the run showed it: `✓2`, `✗1`.
        out.push_str(&format!("{}{c}  ", if m { "✓" } else { "✗" }));
    }
    out
}

/// One line, cut to fit: never garbage, never a panic, at any size.
fn too_small(buf: &mut Buffer, area: Rect, th: &Theme, lang: Lang) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let msg = Msg::TooSmall.fill(lang, &[&MIN_WIDTH, &MIN_HEIGHT, &area.width, &area.height]);
    let y = area.y + area.height / 2;
    buf.set_stringn(area.x, y, &msg, area.width as usize, th.warn());
}

/// Keys over as many rows as `area` has, in order, each row filled before the next.
fn keys_lines<'a>(th: &Theme, keys: &[(&'a str, &'a str)], area: Rect) -> Vec<Line<'a>> {
    let mut out = Vec::new();
    let mut rest = keys;
    for row in 0..area.height {
        if row + 1 == area.height {
            out.push(keys_line(th, rest, area.width));
            break;
        }
        let mut used = 0usize;
        let mut n = 0;
        for (k, label) in rest {
            let len = display_width(k) + display_width(label) + 3;
            if used + len > area.width as usize {
                break;
            }
            used += len;
            n += 1;
        }
        out.push(keys_line(th, &rest[..n], area.width));
        rest = &rest[n..];
    }
    out
}

/// Columns a text takes on screen: two for a CJK character.
pub(super) fn display_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

fn keys_line<'a>(th: &Theme, keys: &[(&'a str, &'a str)], width: u16) -> Line<'a> {
    let len = |(k, label): &(&str, &str)| display_width(k) + display_width(label) + 3;
    // `?` (help) and `q` (back, quit) are always shown: from them a person finds
    // the rest and gets out. Other keys fill what room is left, in order.
    let essential = |k: &str| k == "?" || k == "q";
    let mut room = (width as usize).saturating_sub(
        keys.iter()
            .filter(|(k, _)| essential(k))
            .map(len)
            .sum::<usize>(),
    );
    let mut spans = Vec::new();
    for key in keys {
        if !essential(key.0) {
            if len(key) > room {
                continue;
            }
            room -= len(key);
        }
        spans.push(Span::styled(format!(" {}", key.0), th.key()));
        spans.push(Span::raw(format!(" {} ", key.1)));
    }
    Line::from(spans)
}

fn browser(f: &mut Frame, area: Rect, v: BrowserView<'_>) {
    let app = v.app;
    let th = &app.theme;
    let [head, list, about, status, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(8),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    f.render_widget(
        Paragraph::new(vec![
            Line::from(vec![
                Span::styled(" interleave ", th.mode(false)),
                Span::styled(Msg::BrowserTagline.get(app.lang), th.title()),
            ]),
            Line::styled(Msg::BrowserHint.get(app.lang), th.dim()),
        ]),
        head,
    );
    let lessons = app.catalog.lessons();
    let idw = lessons.iter().map(|l| l.id.len()).max().unwrap_or(0);
    let titlew = lessons
        .iter()
        .map(|l| display_width(l.title.get(app.lang)))
        .max()
        .unwrap_or(0);
    let inner = list.height.saturating_sub(2) as usize;
    let first = app.browser_selected.saturating_sub(inner.saturating_sub(1));
    let lines: Vec<Line> = lessons
        .iter()
        .enumerate()
        .skip(first)
        .take(inner)
        .map(|(i, l)| {
            let done = app.progress.finished(&l.id);
            let mark = if done { "✓" } else { " " };
            let title = l.title.get(app.lang);
            let pad = titlew.saturating_sub(display_width(title));
            let line = Line::from(vec![
                Span::styled(format!(" {mark} "), th.good()),
                Span::styled(format!("{:<idw$}  ", l.id), th.title()),
                Span::raw(format!("{title}{}  ", " ".repeat(pad))),
                Span::styled(list_progress(app, l), th.good()),
                Span::styled(l.concepts.join(", "), th.dim()),
            ]);
            if i == app.browser_selected {
                line.style(th.selected())
            } else {
                line
            }
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(Msg::LessonsTitle.get(app.lang))
                .border_style(th.border()),
        ),
        list,
    );
    if let Some(l) = lessons.get(app.browser_selected) {
        f.render_widget(
            Paragraph::new(unwrap_paragraphs(l.summary.get(app.lang)))
                .wrap(Wrap { trim: true })
                .block(
                    Block::bordered()
                        .title(format!(" {} ", l.title.get(app.lang)))
                        .border_style(th.border()),
                ),
            about,
        );
    }
    status_line(f, status, th, app.status.as_ref());
    let owned = keymap::footer(keymap::BROWSER, &keymap::FooterState::default());
    let keys: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, what)| (k.as_str(), what.get(app.lang)))
        .collect();
    f.render_widget(Paragraph::new(keys_line(th, &keys, foot.width)), foot);
}

/// Lesson texts are hard-wrapped in their files; the screen wraps them to fit.
fn unwrap_paragraphs(text: &str) -> String {
    text.trim()
        .split("\n\n")
        .map(|p| {
            p.lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(if p.is_ascii() { " " } else { "" })
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn status_line(f: &mut Frame, area: Rect, th: &Theme, status: Option<&StatusLine>) {
    let line = match status {
        Some(StatusLine::Info(s)) => Line::styled(format!(" {s}"), th.title()),
        Some(StatusLine::Refused(s)) => Line::from(vec![
            Span::styled(" ✗ ", th.bad()),
            Span::styled(s.clone(), th.warn()),
        ]),
        None => Line::raw(""),
    };
    f.render_widget(Paragraph::new(line), area);
}

/// Where each panel goes; wide terminals get three columns.
struct Areas {
    header: Rect,
    info: Rect,
    /// The lesson text, when it is on screen.
    text: Option<Rect>,
    /// The code, unless the text took its place.
    code: Option<Rect>,
    /// No timeline and no output in presenter mode.
    timeline: Option<Rect>,
    inter: Rect,
    state: Rect,
    output: Option<Rect>,
    status: Rect,
    footer: Rect,
}

/// Below this many rows for code and text together, the text takes the code's place.
const SHARED_MIN: u16 = 20;

/// What the left column shows above the timeline: the code, the lesson text, or
/// both, the code getting what it needs up to half.
fn code_and_text(area: Rect, show_text: bool, code_lines: u16) -> (Option<Rect>, Option<Rect>) {
    if !show_text {
        return (Some(area), None);
    }
    if area.height < SHARED_MIN {
        return (None, Some(area));
    }
    let code_h = (code_lines + 2).min(area.height / 2);
    let [code, text] =
        Layout::vertical([Constraint::Length(code_h), Constraint::Min(0)]).areas(area);
    (Some(code), Some(text))
}

/// What the layout depends on besides the terminal's size.
struct Needs {
    actors: u16,
    state_rows: u16,
    show_text: bool,
    code_lines: u16,
    footer_rows: u16,
    present: bool,
}

fn layout(area: Rect, needs: Needs) -> Areas {
    let Needs {
        actors,
        state_rows,
        show_text,
        code_lines,
        footer_rows,
        present,
    } = needs;
    if present {
        return present_layout(area, state_rows, show_text, footer_rows);
    }
    let [header, info, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        // Two rows where one cannot hold every key.
        Constraint::Length(footer_rows),
    ])
    .areas(area);
    let tl_h = (actors + 3).min(body.height / 3).max(4);
    let state_h = (state_rows + 2).min(body.height / 3);
    let [left, timeline, inter, state, output] = if area.width >= 160 {
        let [top, timeline] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(tl_h)]).areas(body);
        let [left, inter, right] = Layout::horizontal([
            Constraint::Percentage(32),
            Constraint::Percentage(43),
            Constraint::Percentage(25),
        ])
        .areas(top);
        let [state, output] = Layout::vertical([
            Constraint::Length(state_h.max(right.height / 2)),
            Constraint::Min(0),
        ])
        .areas(right);
        [left, timeline, inter, state, output]
    } else {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(48), Constraint::Percentage(52)])
                .areas(body);
        let [left, timeline] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(tl_h)]).areas(left);
        let out_h = (body.height / 6).max(3);
        let [inter, state, output] = Layout::vertical([
            Constraint::Min(0),
            Constraint::Length(state_h),
            Constraint::Length(out_h),
        ])
        .areas(right);
        [left, timeline, inter, state, output]
    };
    let (code, text) = code_and_text(left, show_text, code_lines);
    Areas {
        header,
        info,
        text,
        code,
        timeline: Some(timeline),
        inter,
        state,
        output: Some(output),
        status,
        footer,
    }
}

/// Presenter mode, for a projector: the lesson text across the top, then the
/// code and the interleaving side by side as large as the screen allows, and a
/// short state strip; no timeline, no output panel.
fn present_layout(area: Rect, state_rows: u16, show_text: bool, footer_rows: u16) -> Areas {
    let [header, info, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(footer_rows),
    ])
    .areas(area);
    // The tour's step and what to do sit here: room for a few lines of each.
    let text_h = if show_text {
        (body.height / 3).clamp(5, 12)
    } else {
        0
    };
    let state_h = (state_rows + 2).min(body.height / 4).max(3);
    let [text, mid, state] = Layout::vertical([
        Constraint::Length(text_h),
        Constraint::Min(0),
        Constraint::Length(state_h),
    ])
    .areas(body);
    let [code, inter] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(mid);
    Areas {
        header,
        info,
        text: show_text.then_some(text),
        code: Some(code),
        timeline: None,
        inter,
        state,
        output: None,
        status,
        footer,
    }
}

pub(super) fn panel_block<'a>(title: String, focused: bool, th: &Theme) -> Block<'a> {
    // The focused panel is marked by a character too, so focus shows without colour.
    let title = if focused {
        format!("▶{}", title.strip_prefix(' ').unwrap_or(&title))
    } else {
        title
    };
    Block::bordered()
        .borders(Borders::ALL)
        .title(Span::styled(
            title,
            if focused {
                th.focus_border()
            } else {
                th.title()
            },
        ))
        .border_style(if focused {
            th.focus_border()
        } else {
            th.border()
        })
}

fn lesson(
    f: &mut Frame,
    area: Rect,
    ls: &mut LessonScreen,
    th: &Theme,
    status: Option<&StatusLine>,
    lang: Lang,
) {
    let program = ls.run.program().clone();
    let gen_ = ls.generation;
    let stepped = ls.run.mode() == Mode::Stepped;
    ls.cache.begin_frame(gen_, ls.run.live_receiver().is_some());
    ls.cache.refresh_state(gen_, ls.run.trace(), stepped);
    let nactors = program.actors.len() as u16;
    let gil = ls.run.config().gil;
    let state_rows = super::state_panel::rows_wanted(&program, gil.has_gil());
    let code_lines = ls.code.lines().count() as u16;
    let a = layout(
        area,
        Needs {
            actors: nactors,
            state_rows,
            show_text: ls.show_text,
            code_lines,
            footer_rows: footer_rows(ls, area.width, lang),
            present: ls.present,
        },
    );
    ls.text_replaces_code = a.code.is_none();
    if !ls.shown_panels().contains(&ls.focus) {
        ls.focus = Panel::Lesson;
    }
    ls.areas = PanelAreas {
        lesson: a.text.unwrap_or_default(),
        code: a.code.unwrap_or_default(),
        interleaving: a.inter,
        timeline: a.timeline.unwrap_or_default(),
        output: a.output.unwrap_or_default(),
        state: a.state,
    };
    header(f, a.header, ls, th, lang);
    info(f, a.info, ls, th, lang);
    if let Some(r) = a.code {
        code_panel(f, r, ls, th, lang);
    }
    if let Some(r) = a.text {
        text_panel(f, r, ls, th, lang);
    }
    if let Some(r) = a.timeline {
        timeline_panel(f, r, ls, th, lang);
    }
    interleaving_panel(f, a.inter, ls, th, lang);
    super::state_panel::draw(f, a.state, ls, th, lang);
    if let Some(r) = a.output {
        output_panel(f, r, ls, th, lang);
    }
    status_line(f, a.status, th, status);
    footer(f, a.footer, ls, th, lang);
}

/// The lesson's own text: what the program shows, then what was measured on CPython.
fn text_panel(f: &mut Frame, area: Rect, ls: &mut LessonScreen, th: &Theme, lang: Lang) {
    // The tour and the prediction go first, in a box of their own; in presenter
    // mode they have the whole strip.
    let area = match super::guide::guide(ls, area.width.saturating_sub(3) as usize, th, lang) {
        Some(g) => {
            let room = if ls.present || area.height < 12 {
                area.height
            } else {
                area.height * 3 / 5
            };
            let h = (g.rows() as u16 + 2).min(room);
            let [gr, rest] =
                Layout::vertical([Constraint::Length(h), Constraint::Min(0)]).areas(area);
            let block = panel_block(g.title.clone(), false, th).border_style(th.key());
            let lines = g.fit(h.saturating_sub(2) as usize);
            f.render_widget(Paragraph::new(lines).block(block), gr);
            if rest.height < 3 {
                return;
            }
            rest
        }
        None => area,
    };
    let focused = ls.focus == Panel::Lesson;
    let block = panel_block(
        format!(
            " {} · i: {} ",
            Msg::LessonPanel.get(lang),
            Msg::Hide.get(lang)
        ),
        focused,
        th,
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let cols = inner.width.saturating_sub(1) as usize;
    let mut lines = super::prose::render(ls.lesson.explanation.get(lang), cols, th);
    let notes = ls.lesson.notes.get(lang);
    if !notes.trim().is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(Msg::MeasuredHeading.get(lang), th.heading()));
        lines.extend(super::prose::render(notes, cols, th));
    }
    lines.extend(super::guide::errata_lines(&ls.lesson, cols, th, lang));
    let i = panel_index(Panel::Lesson);
    let max_top = lines.len().saturating_sub(inner.height as usize);
    ls.scroll[i] = ls.scroll[i].min(max_top);
    let top = ls.scroll[i];
    let shown: Vec<Line> = lines
        .into_iter()
        .skip(top)
        .take(inner.height as usize)
        .collect();
    f.render_widget(Paragraph::new(shown), inner);
    scroll_marks(f, inner, top, max_top, th);
}

/// Where a scrolled text goes on: an arrow in the corner, as a reader expects.
pub(super) fn scroll_marks(f: &mut Frame, inner: Rect, top: usize, max_top: usize, th: &Theme) {
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let x = inner.right() - 1;
    if top < max_top {
        f.buffer_mut()
            .set_string(x, inner.bottom() - 1, "↓", th.key());
    }
    if top > 0 {
        f.buffer_mut().set_string(x, inner.y, "↑", th.key());
    }
}

fn header(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme, lang: Lang) {
    let live = ls.run.mode() == Mode::Live;
    let mode = if live { Msg::ModeLive } else { Msg::ModeStep }.get(lang);
    let title = format!(" {} ", ls.lesson.title.get(lang));
    let room = (area.width as usize).saturating_sub(display_width(mode) + display_width(&title));
    let knobs = fit_words(&ls.run.knobs().summary(), room.saturating_sub(1));
    let line = Line::from(vec![
        Span::styled(mode, th.mode(live)),
        Span::styled(title, th.title()),
        Span::styled(format!(" {knobs}"), th.dim()),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

/// The space-separated words of `text` that fit in `width` columns, whole words only;
/// "…" marks that some were left out (the knob editor, `k`, shows them all).
fn fit_words(text: &str, width: usize) -> String {
    if display_width(text) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for word in text.split(' ') {
        let next = if out.is_empty() {
            word.to_string()
        } else {
            format!("{out} {word}")
        };
        if display_width(&next) + 2 > width {
            break;
        }
        out = next;
    }
    if out.is_empty() {
        "…".to_string()
    } else {
        format!("{out} …")
    }
}

fn info(f: &mut Frame, area: Rect, ls: &mut LessonScreen, th: &Theme, lang: Lang) {
    let trace = ls.run.trace();
    let ending = match ls.run.ending() {
        Ending::Running if ls.playing => Span::styled(Msg::Playing.get(lang), th.good()),
        Ending::Running if ls.run.mode() == Mode::Live => {
            Span::styled(Msg::Running.get(lang), th.good())
        }
        Ending::Running => Span::styled(Msg::Paused.get(lang), th.warn()),
        Ending::Finished => Span::styled(Msg::Finished.get(lang), th.title()),
        Ending::Deadlock => Span::styled(Msg::Deadlock.get(lang), th.bad()),
    };
    let mut spans = vec![Span::raw(" "), ending, Span::raw(" · ")];
    match ls.run.sim() {
        Some(sim) => {
            let origin = match ls.run.origin() {
                Some(crate::run::Origin::Seed(s)) => Msg::SeedN.fill(lang, &[s]),
                Some(crate::run::Origin::Schedule(_)) => Msg::PastedSchedule.get(lang).to_string(),
                None => String::new(),
            };
            ls.cache
                .refresh_schedule(ls.generation, trace.len(), sim.schedule());
            let sched = &ls.cache.schedule;
            spans.push(Span::raw(format!(
                "{origin} · {} · ",
                Msg::StepN.fill(lang, &[&sim.steps()])
            )));
            spans.push(Span::styled(Msg::ScheduleLabel.get(lang), th.dim()));
            let used: usize = spans.iter().map(|s| display_width(&s.content)).sum();
            let room = (area.width as usize).saturating_sub(used);
            let shown = if sched.is_empty() {
                Msg::NoneYet.get(lang).to_string()
            } else if display_width(sched) > room {
                // The newest part matters most while stepping; the start is elided.
                let tail: String = sched
                    .chars()
                    .rev()
                    .take(room.saturating_sub(1))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                format!("…{tail}")
            } else {
                sched.clone()
            };
            spans.push(Span::styled(shown, th.title()));
        }
        None => {
            let ms = trace
                .events
                .last()
                .map(|e| e.t_ns as f64 / 1e6)
                .unwrap_or(0.0);
            spans.push(Span::raw(Msg::LiveInfo.fill(
                lang,
                &[&ls.live_speed, &format!("{ms:.1}"), &trace.total_len()],
            )));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Each actor's current instruction, if it has one to show (started, not done).
fn current_pcs(ls: &LessonScreen) -> Vec<Option<u32>> {
    let program = ls.run.program();
    let replay = ls.cache.replay.as_ref();
    (0..program.actors.len())
        .map(|a| {
            let st = replay
                .map(|r| r.state(a as ActorId))
                .unwrap_or(ActorState::NotStarted);
            if matches!(st, ActorState::NotStarted | ActorState::Done(_)) {
                return None;
            }
            match ls.run.mode() {
                Mode::Stepped => super::stepped::pc(&ls.run, a as ActorId),
                Mode::Live => replay.and_then(|r| r.position(a as ActorId)),
            }
        })
        .collect()
}

/// The actor that ran last, whose place the code panel follows.
fn last_actor(ls: &LessonScreen) -> Option<ActorId> {
    ls.run.trace().events.last().map(|e| e.actor)
}

fn marker_spans(th: &Theme, nactors: usize, here: &[usize]) -> Vec<Span<'static>> {
    let slots = nactors.min(10);
    (0..slots)
        .map(|a| {
            if here.contains(&a) {
                Span::styled(format!("{a}"), th.marker(a))
            } else {
                Span::raw(" ")
            }
        })
        .collect()
}

fn code_panel(f: &mut Frame, area: Rect, ls: &mut LessonScreen, th: &Theme, lang: Lang) {
    let program = ls.run.program().clone();
    let pcs = current_pcs(ls);
    let n = program.actors.len();
    let focused = ls.focus == Panel::Code;
    let inner_h = area.height.saturating_sub(2) as usize;
    let (title, lines, follow) = if ls.dis_view {
        let (lines, follow) = dis_lines(&program, &pcs, th, last_actor(ls));
        (Msg::DisTitle.get(lang).to_string(), lines, follow)
    } else {
        let cur_lines: Vec<Option<u32>> = (0..n)
            .map(|a| pcs[a].map(|pc| program.line(a as ActorId, pc)))
            .collect();
        let follow = last_actor(ls)
            .and_then(|a| cur_lines.get(a as usize).copied().flatten())
            .unwrap_or(1) as usize;
        let lines: Vec<Line> = ls
            .code
            .lines()
            .enumerate()
            .map(|(i, text)| {
                let no = i as u32 + 1;
                let here: Vec<usize> = (0..n).filter(|&a| cur_lines[a] == Some(no)).collect();
                let mut spans = vec![Span::styled(format!("{no:>3}"), th.dim()), Span::raw(" ")];
                spans.extend(marker_spans(th, n, &here));
                spans.push(Span::raw(" "));
                spans.extend(python_line(text, th));
                Line::from(spans)
            })
            .collect();
        (
            Msg::CodeTitle.get(lang).to_string(),
            lines,
            follow.saturating_sub(1),
        )
    };
    let max_top = lines.len().saturating_sub(inner_h);
    let top = if ls.code_scrolled {
        let i = panel_index(Panel::Code);
        ls.scroll[i] = ls.scroll[i].min(max_top);
        ls.scroll[i]
    } else {
        follow.saturating_sub(inner_h / 2).min(max_top)
    };
    let shown: Vec<Line> = lines.into_iter().skip(top).take(inner_h).collect();
    f.render_widget(
        Paragraph::new(shown).block(panel_block(title, focused, th)),
        area,
    );
}

/// `dis`-style listing, one section per distinct code; actors with the same code
/// share a section so that their markers meet.
fn dis_lines(
    program: &Program,
    pcs: &[Option<u32>],
    th: &Theme,
    follow_actor: Option<ActorId>,
) -> (Vec<Line<'static>>, usize) {
    let n = program.actors.len();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for a in 0..n {
        let same = groups.iter_mut().find(|g| {
            let b = &program.actors[g[0]];
            b.code == program.actors[a].code && b.lines == program.actors[a].lines
        });
        match same {
            Some(g) => g.push(a),
            None => groups.push(vec![a]),
        }
    }
    let mut out = Vec::new();
    let mut follow = 0;
    for g in groups {
        let names: Vec<&str> = g.iter().map(|&a| program.actors[a].name.as_str()).collect();
        out.push(Line::styled(
            format!("── {} ──", names.join(", ")),
            th.title(),
        ));
        let first = g[0];
        let actor = &program.actors[first];
        let mut prev_line = 0;
        for (pc, ins) in actor.code.iter().enumerate() {
            let here: Vec<usize> = g
                .iter()
                .copied()
                .filter(|&a| pcs[a] == Some(pc as u32))
                .collect();
            if follow_actor.is_some_and(|f| here.contains(&(f as usize))) {
                follow = out.len();
            }
            let line = actor.lines[pc];
            let lno = if line != prev_line {
                format!("{line:>3}")
            } else {
                "   ".to_string()
            };
            prev_line = line;
            let mut spans = vec![Span::styled(lno, th.dim()), Span::raw(" ")];
            spans.extend(marker_spans(th, n, &here));
            spans.push(Span::styled(format!(" {pc:>3} "), th.dim()));
            spans.push(Span::raw(program.dis(first as ActorId, *ins)));
            out.push(Line::from(spans));
        }
    }
    (out, follow)
}

fn timeline_panel(f: &mut Frame, area: Rect, ls: &mut LessonScreen, th: &Theme, lang: Lang) {
    let focused = ls.focus == Panel::Timeline;
    let live = ls.run.mode() == Mode::Live;
    let axis = if live { Axis::Time } else { Axis::Steps };
    let trace = ls.run.trace();
    let labw = trace
        .actor_labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .min(area.width.saturating_sub(2) as usize / 3) as u16;
    let bar_w = area.width.saturating_sub(2 + labw + 1) as usize;
    // Zooming in stops where a column shows a single step.
    ls.zoom_max = super::cache::max_zoom(trace, bar_w, axis);
    ls.zoom = ls.zoom.min(ls.zoom_max);
    let title = Msg::TimelineTitle.fill(
        lang,
        &[
            &if live { Msg::AxisTime } else { Msg::AxisEvents }.get(lang),
            &if ls.zoom > 0 {
                format!(" ×{}", 1u64 << ls.zoom)
            } else {
                String::new()
            },
        ],
    );
    let block = panel_block(title, focused, th);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.width < 4 || inner.height < 2 {
        return;
    }
    let trace = ls.run.trace();
    let labels = &trace.actor_labels;
    let labw = labw.min(inner.width / 3);
    let bar_x = inner.x + labw + 1;
    let bar_w = inner.width.saturating_sub(labw + 1) as usize;
    ls.cache
        .refresh_timeline(ls.generation, trace, bar_w, ls.zoom, ls.pan, axis);
    let sum = &ls.cache.timeline;
    let buf = f.buffer_mut();
    let rows = (inner.height - 1) as usize;
    for (a, label) in labels.iter().enumerate().take(rows) {
        let y = inner.y + a as u16;
        buf.set_stringn(
            inner.x,
            y,
            fit_label(label, labw as usize),
            labw as usize,
            th.actor(a),
        );
        for col in 0..bar_w.min(sum.width) {
            let (ch, st) = th.state_cell(a, sum.cell(a, col));
            buf.set_string(bar_x + col as u16, y, ch, st);
        }
    }
    // The axis: where the window starts and ends, and the newest event.
    let y = inner.y + inner.height - 1;
    let fmt = |x: u64| match axis {
        Axis::Steps => format!("{x}"),
        Axis::Time => format!("{:.1}ms", x as f64 / 1e6),
    };
    let left = fmt(sum.start);
    let right = fmt(sum.end);
    buf.set_stringn(bar_x, y, &left, bar_w, th.dim());
    // The end label keeps clear of the cursor in the last column.
    let reserve = usize::from(sum.cursor.is_some_and(|c| c + 1 >= bar_w));
    let rx = (bar_x as usize + bar_w).saturating_sub(right.chars().count() + reserve) as u16;
    if rx > bar_x + left.chars().count() as u16 {
        buf.set_string(rx, y, &right, th.dim());
    }
    if let Some(c) = sum.cursor {
        buf.set_string(bar_x + c as u16, y, "▲", th.title());
    }
    // An overwritten write: `!` on its actor's row, in the column it falls in.
    let span = sum.end.saturating_sub(sum.start).max(1);
    for &(seq, actor) in &ls.cache.lost_at {
        let at = match axis {
            Axis::Steps => seq as u64,
            Axis::Time => trace.events.get(seq).map(|e| e.t_ns).unwrap_or(0),
        };
        if at < sum.start || at >= sum.end || actor as usize >= rows {
            continue;
        }
        let col = ((at - sum.start) * bar_w as u64 / span) as u16;
        buf.set_string(bar_x + col, inner.y + actor, "!", th.lost_row());
    }
}

fn interleaving_panel(f: &mut Frame, area: Rect, ls: &mut LessonScreen, th: &Theme, lang: Lang) {
    let focused = ls.focus == Panel::Interleaving;
    let g = ls.run.config().granularity;
    let steps = match g {
        crate::program::Granularity::Bytecode => Msg::BytecodeSteps,
        crate::program::Granularity::Line => Msg::LineSteps,
    };
    // A long run keeps a window of its newest events: the title says so.
    let dropped = ls.run.trace().base;
    let title = if dropped > 0 {
        Msg::InterleavingTitleDropped.fill(lang, &[&steps.get(lang), &dropped])
    } else {
        Msg::InterleavingTitle.fill(lang, &[&steps.get(lang)])
    };
    let block = panel_block(title, focused, th);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height < 2 || inner.width < 8 {
        return;
    }
    let program = ls.run.program().clone();
    let n = program.actors.len().max(1);
    let visible = (inner.height - 1) as usize;
    let si = panel_index(Panel::Interleaving);
    let want = visible + ls.scroll[si];
    let trace = ls.run.trace();
    ls.cache
        .refresh_rows(ls.generation, trace, g, &ls.code, want, lang);
    let rows = &ls.cache.rows;
    ls.scroll[si] = ls.scroll[si].min(rows.len().saturating_sub(visible));
    let end = rows.len() - ls.scroll[si];
    let start = end.saturating_sub(visible);
    let numw = rows
        .get(end.saturating_sub(1))
        .map(|r| r.number.to_string().len())
        .unwrap_or(1)
        .max(2);
    let colw = ((inner.width as usize).saturating_sub(numw + 2) / n).max(1);
    let buf = f.buffer_mut();
    let x0 = inner.x + numw as u16 + 2;
    for (a, actor) in program.actors.iter().enumerate() {
        let x = x0 + (a * colw) as u16;
        if x < inner.right() {
            let w = (inner.right() - x) as usize;
            // A space between two names, and an ellipsis where one is cut short.
            let room = if a + 1 < n { colw.saturating_sub(1) } else { w }.min(w);
            buf.set_stringn(
                x,
                inner.y,
                fit_name(&actor.name, room),
                room,
                th.actor(a).add_modifier(
                    ratatui::style::Modifier::BOLD | ratatui::style::Modifier::UNDERLINED,
                ),
            );
        }
    }
    if rows.is_empty() {
        buf.set_stringn(
            inner.x,
            inner.y + 1,
            Msg::NothingYet.get(lang),
            inner.width as usize,
            th.dim(),
        );
    }
    // The first time a marked row is on screen, the panel's last line says what it means.
    let any_lost = rows[start..end].iter().any(|r| r.lost_update);
    let legend_y = (any_lost && visible > 2).then(|| inner.bottom() - 1);
    let start = if legend_y.is_some() && end - start >= visible {
        start + 1
    } else {
        start
    };
    if let Some(y) = legend_y {
        buf.set_stringn(
            inner.x,
            y,
            Msg::RedRowLegend.get(lang),
            inner.width as usize,
            th.warn(),
        );
    }
    for (i, row) in rows[start..end].iter().enumerate() {
        let y = inner.y + 1 + i as u16;
        let a = row.actor as usize;
        let base = if row.lost_update {
            th.lost_row()
        } else {
            Style::new()
        };
        if row.lost_update {
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), base);
        }
        let mark = if row.lost_update { "!" } else { " " };
        buf.set_stringn(
            inner.x,
            y,
            format!("{:>numw$}{mark}", row.number),
            numw + 1,
            base.patch(th.dim()).patch(base),
        );
        let x = x0 + (a.min(n - 1) * colw) as u16;
        if x < inner.right() {
            let w = (inner.right() - x) as usize;
            let style = if row.lost_update { base } else { th.actor(a) };
            buf.set_stringn(x, y, &row.text, w, style);
        }
    }
}

/// A name in at most `width` columns that never cuts a number: the tail that
/// identifies it (`(pid 4242)`, `-10`) stays whole and the name before it is
/// elided.
pub(super) fn fit_name(text: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= width {
        return text.into();
    }
    let tail_start = if text.ends_with(')') && text.contains(" (pid ") {
        text.rfind(" (").unwrap_or(text.len())
    } else {
        let digits = text.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        // Keep the separator with the number: `P…-10`, not `Pr…10`.
        if digits < text.len() && text[..digits].ends_with(['-', ' ']) {
            digits - 1
        } else {
            digits
        }
    };
    let (head, tail) = text.split_at(tail_start);
    let tail_w = tail.chars().count();
    if tail.is_empty() || tail_w + 2 > width {
        return fit(text, width);
    }
    let keep = width - tail_w - 1;
    let head: String = head.chars().take(keep).collect();
    format!("{head}…{tail}").into()
}

/// A timeline label (`Process-1 (pid 1001, simulated)`) in `width` columns:
/// whole; without `, simulated` (the panel's title says it); with the name
/// elided before its PID; or the name alone. Never a torn PID.
fn fit_label(label: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if label.chars().count() <= width {
        return label.into();
    }
    let short = match (label.find(", "), label.ends_with(')')) {
        (Some(i), true) => format!("{})", &label[..i]),
        _ => label.to_string(),
    };
    let name = label.split(" (").next().unwrap_or(label);
    let tail = short.len() - name.len();
    if short.chars().count() <= width || width >= tail + 5 {
        return fit_name(&short, width).into_owned().into();
    }
    fit_name(name, width).into_owned().into()
}

/// `text` in at most `width` columns, ending in `…` when it had to be cut.
fn fit(text: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= width {
        return text.into();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        cut.push('…');
    }
    cut.into()
}

fn output_panel(f: &mut Frame, area: Rect, ls: &mut LessonScreen, th: &Theme, lang: Lang) {
    let focused = ls.focus == Panel::Output;
    let out = &ls.run.trace().output;
    let inner_h = area.height.saturating_sub(2) as usize;
    let si = panel_index(Panel::Output);
    ls.scroll[si] = ls.scroll[si].min(out.len().saturating_sub(inner_h));
    let end = out.len() - ls.scroll[si];
    let start = end.saturating_sub(inner_h);
    let lines: Vec<Line> = out[start..end]
        .iter()
        .map(|o| Line::styled(o.text.clone(), th.actor(o.actor as usize)))
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(panel_block(Msg::OutputTitle.get(lang).into(), focused, th)),
        area,
    );
}

/// The keys the footer shows for the lesson screen as it is now.
fn footer_keys(ls: &LessonScreen, lang: Lang) -> Vec<(String, &'static str)> {
    let state = keymap::FooterState {
        stepped: ls.run.mode() == Mode::Stepped,
        playing: ls.playing,
        over: ls.run.is_over(),
        has_lock: ls.lesson.knob("lock").is_some(),
        has_gil: ls.lesson.knob("gil").is_some(),
        show_text: ls.show_text,
        present: ls.present,
        actors: ls.run.program().actors.len(),
        replayable: ls.run.is_over() && ls.run.live_recording().is_some(),
    };
    keymap::footer(keymap::LESSON, &state)
        .into_iter()
        .map(|(k, what)| (k, what.get(lang)))
        .collect()
}

/// How many rows the footer needs to show every key at this width.
fn footer_rows(ls: &LessonScreen, width: u16, lang: Lang) -> u16 {
    let need: usize = footer_keys(ls, lang)
        .iter()
        .map(|(k, what)| display_width(k) + display_width(what) + 3)
        .sum();
    if need > width as usize { 2 } else { 1 }
}

fn footer(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme, lang: Lang) {
    let owned = footer_keys(ls, lang);
    let keys: Vec<(&str, &str)> = owned.iter().map(|(k, w)| (k.as_str(), *w)).collect();
    f.render_widget(Paragraph::new(keys_lines(th, &keys, area)), area);
}

/// Clears the place of an overlay. A wide character just left of it would spill
/// its second half over the overlay's border, so it goes too.
pub(super) fn clear_under(f: &mut Frame, r: Rect) {
    f.render_widget(Clear, r);
    if r.x == 0 {
        return;
    }
    let buf = f.buffer_mut();
    for y in r.top()..r.bottom() {
        let cell = &mut buf[(r.x - 1, y)];
        if display_width(cell.symbol()) > 1 {
            cell.set_symbol(" ");
        }
    }
}

pub(super) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Every key of the lesson screen, grouped, as the help lists them: the keymap's rows.
pub const HELP: &[(&str, Msg)] = &help_rows::<{ keymap::LESSON.len() }>();

const fn help_rows<const N: usize>() -> [(&'static str, Msg); N] {
    let mut out = [("", Msg::HHelp); N];
    let mut i = 0;
    while i < N {
        out[i] = (keymap::LESSON[i].label, keymap::LESSON[i].help);
        i += 1;
    }
    out
}

/// What each timeline glyph and the `!` mean, drawn with the glyphs themselves.
fn legend_line(th: &Theme, lang: Lang) -> Line<'static> {
    use crate::trace::BlockedOn;
    let mut spans = vec![Span::styled(Msg::LTimeline.get(lang), th.dim())];
    for (state, what) in [
        (ActorState::Running, Msg::LRuns),
        (ActorState::Ready, Msg::LReady),
        (ActorState::WaitingGil, Msg::LGilWait),
        (ActorState::Blocked(BlockedOn::Lock(0)), Msg::LBlocked),
        (ActorState::Sleeping, Msg::LSleeps),
    ] {
        let (ch, st) = th.state_cell(0, state);
        spans.push(Span::styled(ch.to_string(), st));
        spans.push(Span::raw(format!(" {}  ", what.get(lang))));
    }
    spans.push(Span::styled("!", th.lost_row()));
    spans.push(Span::raw(format!(" {}", Msg::LLostWrite.get(lang))));
    Line::from(spans)
}

fn help(f: &mut Frame, area: Rect, app: &mut App) {
    let th = app.theme;
    let th = &th;
    let h = HELP.len() as u16 + 5;
    let r = centered(area, 76, h);
    clear_under(f, r);
    let lang = app.lang;
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<8}"), th.key()),
                Span::raw(what.get(lang)),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(Msg::HMarkers.get(lang), th.dim()));
    lines.push(legend_line(th, lang));
    let inner_h = r.height.saturating_sub(2) as usize;
    let max_top = lines.len().saturating_sub(inner_h);
    app.help_scroll = app.help_scroll.min(max_top);
    let top = app.help_scroll;
    let title = if max_top > 0 {
        Msg::HelpTitleScroll.get(lang)
    } else {
        Msg::HelpTitle.get(lang)
    };
    let shown: Vec<Line> = lines.into_iter().skip(top).take(inner_h).collect();
    f.render_widget(
        Paragraph::new(shown).block(
            Block::bordered()
                .title(title)
                .border_style(th.focus_border()),
        ),
        r,
    );
    if top < max_top {
        f.buffer_mut()
            .set_string(r.right() - 2, r.bottom() - 2, "↓", th.key());
    }
}

fn knobs(
    f: &mut Frame,
    area: Rect,
    ls: &LessonScreen,
    selected: usize,
    typing: &str,
    th: &Theme,
    lang: Lang,
) {
    let specs = &ls.lesson.knobs;
    let h = specs.len() as u16 + 7;
    let r = centered(area, 76, h);
    clear_under(f, r);
    let namew = specs.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut lines: Vec<Line> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let v = ls
                .run
                .knobs()
                .get(&s.name)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let v = if i == selected && !typing.is_empty() {
                format!("{typing}▏")
            } else {
                v
            };
            let line = Line::from(vec![
                Span::raw(format!(" {:<namew$}  ", s.name)),
                Span::styled(v, th.title()),
            ]);
            if i == selected {
                line.style(th.selected())
            } else {
                line
            }
        })
        .collect();
    lines.push(Line::raw(""));
    if let Some(s) = specs.get(selected) {
        lines.push(Line::styled(format!(" {}", s.help.get(lang)), th.dim()));
    }
    lines.push(Line::raw(""));
    lines.push(keys_line(
        th,
        &[
            ("↑↓", Msg::KChoose.get(lang)),
            ("←→ Enter", Msg::KChange.get(lang)),
            ("digits Enter", Msg::KSetNumber.get(lang)),
            ("Esc", Msg::KClose.get(lang)),
        ],
        r.width.saturating_sub(2),
    ));
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title(Msg::KnobsTitle.get(lang))
                .border_style(th.focus_border()),
        ),
        r,
    );
}

#[cfg(test)]
mod tests {
    use super::fit_name;

    #[test]
    fn the_header_cuts_knobs_whole() {
        use super::fit_words;
        let k = "lock=off iterations=100000 gil=gil-classic scheduler=timed";
        assert_eq!(fit_words(k, 80), k);
        assert_eq!(
            fit_words(k, 44),
            "lock=off iterations=100000 gil=gil-classic …"
        );
        assert_eq!(fit_words(k, 43), "lock=off iterations=100000 …");
        assert_eq!(fit_words(k, 5), "…");
    }

    #[test]
    fn a_timeline_label_never_tears_a_pid() {
        use super::fit_label;
        let l = "Process-1 (pid 1001, simulated)";
        assert_eq!(fit_label(l, 40), l);
        assert_eq!(fit_label(l, 20), "Process-1 (pid 1001)");
        assert_eq!(fit_label(l, 17), "Proce… (pid 1001)");
        assert_eq!(fit_label(l, 12), "Process-1");
        assert_eq!(fit_label("MainThread", 6), "MainT…");
    }

    #[test]
    fn a_cut_name_keeps_its_number_whole() {
        assert_eq!(
            fit_name("MainProcess (pid 12345)", 17),
            "Main…(pid 12345)".replace("…(", "… (")
        );
        assert_eq!(fit_name("Process-10", 5), "P…-10");
        assert_eq!(fit_name("Process-10", 10), "Process-10");
        assert_eq!(fit_name("MainProcess", 5), "Main…");
        // No room for the number: the plain cut, never a torn number.
        assert_eq!(fit_name("Process-12345", 4), "Pro…");
    }
}
