//! The output panel: the program's printed lines.

use super::app::{LessonScreen, Panel};
use super::theme::Theme;
use super::view::panel_block;
use crate::i18n::Msg;
use crate::lesson::Lang;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

/// What the program printed, each line in its actor's colour, newest at the bottom.
pub fn draw(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme, lang: Lang) {
    let focused = ls.focus.get() == Panel::Output;
    let out = &ls.run.trace().output;
    let inner_h = area.height.saturating_sub(2) as usize;
    let up = ls
        .scroll
        .clamp(Panel::Output, out.len().saturating_sub(inner_h));
    let end = out.len() - up;
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
