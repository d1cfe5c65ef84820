//! The bottom of a screen: the status line and the footer of keys (from the keymap).

use super::app::{LessonScreen, StatusLine};
use super::keymap;
use super::theme::Theme;
use super::view::display_width;
use crate::lesson::Lang;
use crate::trace::Mode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

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

pub(super) fn keys_line<'a>(th: &Theme, keys: &[(&'a str, &'a str)], width: u16) -> Line<'a> {
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

pub(super) fn status_line(f: &mut Frame, area: Rect, th: &Theme, status: Option<&StatusLine>) {
    f.render_widget(
        Paragraph::new(status_text(th, status)).wrap(Wrap { trim: false }),
        area,
    );
}

/// How many rows the status needs at `width`: a long one (a comparison with
/// CPython and its declared differences) wraps, up to four rows.
pub(super) fn status_rows(status: Option<&StatusLine>, width: u16) -> u16 {
    let w = status_text(&Theme::plain(), status).width();
    u16::try_from(w.div_ceil(usize::from(width.max(1))))
        .unwrap_or(u16::MAX)
        .clamp(1, 4)
}

fn status_text(th: &Theme, status: Option<&StatusLine>) -> Line<'static> {
    match status {
        Some(StatusLine::Info(s)) => Line::styled(format!(" {s}"), th.title()),
        Some(StatusLine::Refused(s)) => Line::from(vec![
            Span::styled(" ✗ ", th.bad()),
            Span::styled(s.clone(), th.warn()),
        ]),
        None => Line::raw(""),
    }
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
pub(super) fn footer_rows(ls: &LessonScreen, width: u16, lang: Lang) -> u16 {
    let need: usize = footer_keys(ls, lang)
        .iter()
        .map(|(k, what)| display_width(k) + display_width(what) + 3)
        .sum();
    if need > width as usize { 2 } else { 1 }
}

/// The lesson screen's keys, from the keymap, on one or two rows.
pub(super) fn footer(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme, lang: Lang) {
    let owned = footer_keys(ls, lang);
    let keys: Vec<(&str, &str)> = owned.iter().map(|(k, w)| (k.as_str(), *w)).collect();
    f.render_widget(Paragraph::new(keys_lines(th, &keys, area)), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_status_wraps_onto_up_to_four_rows() {
        assert_eq!(status_rows(None, 80), 1);
        let short = StatusLine::Info("reset: same seed".into());
        assert_eq!(status_rows(Some(&short), 80), 1);
        // " " and 100 characters: two rows at 80 columns.
        let long = StatusLine::Info("x".repeat(100));
        assert_eq!(status_rows(Some(&long), 80), 2);
        // Wide characters count twice: 60 of them are 120 columns.
        let zh = StatusLine::Refused("声".repeat(60));
        assert_eq!(status_rows(Some(&zh), 80), 2);
        let huge = StatusLine::Info("y".repeat(1000));
        assert_eq!(status_rows(Some(&huge), 80), 4);
    }
}
