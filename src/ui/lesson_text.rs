//! The lesson's own text panel, under the tour's or the prediction's box.

use super::app::{LessonScreen, Panel};
use super::theme::Theme;
use super::view::{panel_block, scroll_marks};
use crate::i18n::Msg;
use crate::lesson::Lang;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

/// The lesson's own text: what the program shows, then what was measured on CPython.
pub fn draw(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme, lang: Lang) {
    // The tour and the prediction go first, in a box of their own; in presenter
    // mode they have the whole strip.
    let area = match super::guide::guide(ls, area.width.saturating_sub(3) as usize, th, lang) {
        Some(g) => {
            // A hint is what the student needs now: the lesson's text gives way.
            let room = if ls.present || ls.tour.hint || area.height < 12 {
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
    let focused = ls.focus.get() == Panel::Lesson;
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
    let max_top = lines.len().saturating_sub(inner.height as usize);
    let top = ls.scroll.clamp(Panel::Lesson, max_top);
    let shown: Vec<Line> = lines
        .into_iter()
        .skip(top)
        .take(inner.height as usize)
        .collect();
    f.render_widget(Paragraph::new(shown), inner);
    scroll_marks(f, inner, top, max_top, th);
}
