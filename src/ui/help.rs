//! The help overlay: the keymap's rows, and a legend of the screen's marks.

use super::app::App;
use super::keymap;
use super::theme::Theme;
use super::view::{centered, clear_under};
use crate::i18n::Msg;
use crate::lesson::Lang;
use crate::trace::ActorState;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

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

/// The help overlay (`?`): every key, the code markers, the timeline's legend.
pub fn draw(f: &mut Frame, area: Rect, app: &App) {
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
    let top = app.help_scroll.get().min(max_top);
    app.help_scroll.set(top);
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
