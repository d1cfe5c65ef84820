//! The knob editor overlay.

use super::app::LessonScreen;
use super::footer::keys_line;
use super::keymap;
use super::theme::Theme;
use super::view::{centered, clear_under};
use crate::i18n::Msg;
use crate::lesson::Lang;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

/// The knob editor (`k`): every knob with its value, the selected one's help.
pub fn draw(
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
    // The editor's keys, from its keymap.
    let owned = keymap::footer(keymap::KNOB_EDITOR, &keymap::FooterState::default());
    let keys: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, what)| (k.as_str(), what.get(lang)))
        .collect();
    lines.push(keys_line(th, &keys, r.width.saturating_sub(2)));
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title(Msg::KnobsTitle.get(lang))
                .border_style(th.focus_border()),
        ),
        r,
    );
}
