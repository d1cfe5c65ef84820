//! The go-to prompt (`:` then a step number).

use super::theme::Theme;
use super::view::{centered, clear_under};
use crate::i18n::Msg;
use crate::lesson::Lang;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

/// The prompt, with what has been typed so far.
pub fn draw(f: &mut Frame, area: Rect, typing: &str, th: &Theme, lang: Lang) {
    let r = centered(area, 44, 3);
    clear_under(f, r);
    let line = Line::from(vec![
        Span::styled(Msg::GoToStep.get(lang), th.title()),
        Span::styled(format!("{typing}▏"), th.key()),
        Span::styled(Msg::GoToKeys.get(lang), th.dim()),
    ]);
    f.render_widget(
        Paragraph::new(line).block(Block::bordered().border_style(th.focus_border())),
        r,
    );
}
