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

/// The panel's lines: one write of a process's stdout buffer (the buffering
/// lesson) may hold several lines, and each is a line of the panel.
pub fn panel_lines(out: &[crate::trace::OutputLine]) -> usize {
    out.iter().map(|o| 1 + o.text.matches('\n').count()).sum()
}

/// What the program printed, each line in its actor's colour, newest at the bottom.
pub fn draw(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme, lang: Lang) {
    let focused = ls.focus.get() == Panel::Output;
    let out = &ls.run.trace().output;
    // Only the lines shown are made.
    let total = panel_lines(out);
    let inner_h = area.height.saturating_sub(2) as usize;
    let up = ls
        .scroll
        .clamp(Panel::Output, total.saturating_sub(inner_h));
    let end = total - up;
    let start = end.saturating_sub(inner_h);
    let mut lines: Vec<Line> = Vec::with_capacity(end - start);
    let mut at = total;
    for o in out.iter().rev() {
        if at <= start {
            break;
        }
        let style = th.actor(o.actor as usize);
        for l in o.text.rsplit('\n') {
            at -= 1;
            if (start..end).contains(&at) {
                lines.push(Line::styled(l.to_string(), style));
            }
        }
    }
    lines.reverse();
    f.render_widget(
        Paragraph::new(lines).block(panel_block(Msg::OutputTitle.get(lang).into(), focused, th)),
        area,
    );
}
