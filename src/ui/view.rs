//! Drawing: lays out the browser and the lesson screen, and puts each panel's
//! widget (one file each: header, footer, lesson_text, code_panel, timeline,
//! interleaving, state_panel, output, help, knob_editor, goto_prompt) in its place.
//!
//! The draw reads the app (`&App`): what it derives is kept in the view cache
//! (a `RefCell`), and what it settles from the terminal's size (scroll limits,
//! the deepest zoom, where each panel went) in `Cell`s.

use super::app::{App, LessonScreen, Overlay, PanelAreas, Screen};
use super::footer::{footer, footer_rows, keys_line, status_line, status_rows};
use super::keymap;
use super::theme::Theme;
use crate::i18n::Msg;
use crate::lesson::Lang;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

pub use super::help::HELP;

/// The smallest terminal the screens are laid out for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draws the whole app into a frame.
pub fn draw(app: &App, f: &mut Frame) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(f.buffer_mut(), area, &app.theme, app.lang);
        return;
    }
    match &app.screen {
        Screen::Browser => browser(f, area, app_view(app)),
        Screen::Lesson(ls) => lesson(f, area, ls, app),
    }
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help => super::help::draw(f, area, app),
        Overlay::GoTo { typing } => super::goto_prompt::draw(f, area, typing, &app.theme, app.lang),
        Overlay::Knobs { selected, typing } => {
            if let Screen::Lesson(ls) = &app.screen {
                super::knob_editor::draw(f, area, ls, *selected, typing, &app.theme, app.lang);
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

/// Columns a text takes on screen: two for a CJK character.
pub(super) fn display_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
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
    /// Output lines to make room for.
    output_lines: u16,
    /// Rows of the status line.
    status_rows: u16,
}

fn layout(area: Rect, needs: Needs) -> Areas {
    let Needs {
        actors,
        state_rows,
        show_text,
        code_lines,
        footer_rows,
        present,
        output_lines,
        status_rows,
    } = needs;
    if present {
        return present_layout(area, state_rows, show_text, footer_rows, status_rows);
    }
    let [header, info, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(status_rows),
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
        let out_h = (output_lines + 2)
            .max(body.height / 6)
            .min(body.height / 3)
            .max(3);
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
fn present_layout(
    area: Rect,
    state_rows: u16,
    show_text: bool,
    footer_rows: u16,
    status_rows: u16,
) -> Areas {
    let [header, info, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(status_rows),
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

fn lesson(f: &mut Frame, area: Rect, ls: &LessonScreen, app: &App) {
    let (th, lang) = (&app.theme, app.lang);
    let program = ls.run.program().clone();
    // Brings the run's model up to date once, before any panel reads it.
    drop(ls.run.model());
    let nactors = program.actors.len() as u16;
    let gil = ls.run.config().gil;
    let state_rows = super::state_panel::rows_wanted(&program, gil.has_gil());
    let code_lines = ls.code.lines().count() as u16;
    let shown = super::output::panel_lines(&ls.run.trace().output);
    let shown = u16::try_from(shown).unwrap_or(u16::MAX);
    ls.output_rows.set(ls.output_rows.get().max(shown));
    let a = layout(
        area,
        Needs {
            actors: nactors,
            state_rows,
            show_text: ls.show_text,
            code_lines,
            footer_rows: footer_rows(ls, area.width, lang),
            present: ls.present,
            output_lines: ls.output_rows.get(),
            status_rows: status_rows(app.status.as_ref(), area.width),
        },
    );
    ls.text_replaces_code.set(a.code.is_none());
    if !ls.shown_panels().contains(&ls.focus.get()) {
        ls.focus.set(super::app::Panel::Lesson);
    }
    ls.areas.set(PanelAreas {
        lesson: a.text.unwrap_or_default(),
        code: a.code.unwrap_or_default(),
        interleaving: a.inter,
        timeline: a.timeline.unwrap_or_default(),
        output: a.output.unwrap_or_default(),
        state: a.state,
    });
    super::header::draw(f, a.header, ls, th, lang);
    super::header::draw_info(f, a.info, ls, th, lang);
    if let Some(r) = a.code {
        super::code_panel::draw(f, r, ls, th, lang);
    }
    if let Some(r) = a.text {
        super::lesson_text::draw(f, r, ls, th, lang);
    }
    if let Some(r) = a.timeline {
        super::timeline::draw(f, r, ls, th, lang);
    }
    super::interleaving::draw(f, a.inter, ls, th, lang);
    super::state_panel::draw(f, a.state, ls, th, lang);
    if let Some(r) = a.output {
        super::output::draw(f, r, ls, th, lang);
    }
    status_line(f, a.status, th, app.status.as_ref());
    footer(f, a.footer, ls, th, lang);
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
