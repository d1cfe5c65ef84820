//! The timeline panel: each actor's states across the run, one cell a column
//! (summarised per column by `cache::summarise`), with the lost updates marked.

use super::app::{LessonScreen, Panel};
use super::cache::Axis;
use super::interleaving::fit_name;
use super::theme::Theme;
use super::view::panel_block;
use crate::i18n::Msg;
use crate::lesson::Lang;
use crate::trace::Mode;
use ratatui::Frame;
use ratatui::layout::Rect;

/// A row per actor, a colour per state, on a step or a time axis.
pub fn draw(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme, lang: Lang) {
    let focused = ls.focus.get() == Panel::Timeline;
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
    let zoom_max = super::cache::max_zoom(trace, bar_w, axis);
    ls.zoom_max.set(zoom_max);
    ls.zoom.set(ls.zoom.get().min(zoom_max));
    let zoom = ls.zoom.get();
    let title = Msg::TimelineTitle.fill(
        lang,
        &[
            &if live { Msg::AxisTime } else { Msg::AxisEvents }.get(lang),
            &if zoom > 0 {
                format!(" ×{}", 1u64 << zoom)
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
    let mut cache = ls.cache.borrow_mut();
    let model = ls.run.model();
    let moment = (ls.run.version(), model.len());
    cache.refresh_timeline(moment, trace, bar_w, zoom, ls.pan, axis);
    let cache = &*cache;
    let sum = &cache.timeline;
    let buf = f.buffer_mut();
    let room = (inner.height - 1) as usize;
    // More actors than rows: the last row says how many are not drawn.
    let rows = if labels.len() > room {
        room.saturating_sub(1)
    } else {
        room
    };
    if rows < labels.len() && room > 0 {
        let more = Msg::TimelineMore.fill(lang, &[&(labels.len() - rows)]);
        let y = inner.y + rows as u16;
        buf.set_stringn(inner.x, y, &more, inner.width as usize, th.dim());
    }
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
    for (seq, actor) in model.lost_at() {
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

/// A timeline label (`Process-1 (pid 1001, simulated)`) in `width` columns:
/// whole; without `, simulated` (the panel's title says it); with the name
/// elided before its PID; or the name alone. Never a torn PID.
pub(super) fn fit_label(label: &str, width: usize) -> std::borrow::Cow<'_, str> {
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

#[cfg(test)]
mod tests {
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
}
