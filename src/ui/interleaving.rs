//! The interleaving panel: the run as the tutorials draw it, a column per actor
//! and a row per step, a lost update's row in red.

use super::app::{LessonScreen, Panel};
use super::theme::Theme;
use super::view::panel_block;
use crate::i18n::Msg;
use crate::lesson::Lang;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

/// The tutorials' table: a column per actor, a row per step in global order.
pub fn draw(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme, lang: Lang) {
    let focused = ls.focus.get() == Panel::Interleaving;
    let g = ls.run.config().granularity;
    let steps = match g {
        crate::program::Granularity::Bytecode => Msg::BytecodeSteps,
        crate::program::Granularity::Line => Msg::LineSteps,
    };
    // A long run keeps a window of its newest events: the title says so.
    let dropped = ls.run.trace().base;
    let title = if dropped > 0 {
        let long = Msg::InterleavingTitleDropped.fill(lang, &[&steps.get(lang), &dropped]);
        // A narrow panel keeps the count and drops the explanation.
        if super::view::display_width(&long) + 2 <= area.width as usize {
            long
        } else {
            Msg::InterleavingTitleDroppedShort.fill(lang, &[&dropped])
        }
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
    let want = visible + ls.scroll.get(Panel::Interleaving);
    let trace = ls.run.trace();
    let mut cache = ls.cache.borrow_mut();
    let moment = (ls.run.version(), ls.run.model().len());
    cache.refresh_rows(moment, trace, g, &ls.code, want, lang);
    let rows = &cache.rows;
    let up = ls
        .scroll
        .clamp(Panel::Interleaving, rows.len().saturating_sub(visible));
    let end = rows.len() - up;
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

#[cfg(test)]
mod tests {
    use super::fit_name;

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
