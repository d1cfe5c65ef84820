//! The lesson screen's two top lines: the header (mode, title, knobs) and the
//! info line (how the run stands, its seed and schedule).

use super::app::LessonScreen;
use super::theme::Theme;
use super::view::display_width;
use crate::i18n::Msg;
use crate::lesson::Lang;
use crate::run::Ending;
use crate::trace::Mode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The top line: stepped or live, the lesson's title, its knobs.
pub fn draw(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme, lang: Lang) {
    let live = ls.run.mode() == Mode::Live;
    let mode = if live { Msg::ModeLive } else { Msg::ModeStep }.get(lang);
    let title = format!(" {} ", ls.lesson.title.get(lang));
    // On CPython, which one, and that tracing changes what it measures (issue 17).
    let engine = ls.run.cpython().map(|c| {
        format!(
            " {} · {} ",
            Msg::HeadCpython.fill(lang, &[&c.rec.version]),
            Msg::CpyCostShort.get(lang)
        )
    });
    let engine = engine.unwrap_or_default();
    let room = (area.width as usize)
        .saturating_sub(display_width(mode) + display_width(&engine) + display_width(&title));
    let knobs = fit_words(&ls.run.knobs().summary(), room.saturating_sub(1));
    let line = Line::from(vec![
        Span::styled(mode, th.mode(live)),
        Span::styled(engine, th.warn()),
        Span::styled(title, th.title()),
        Span::styled(format!(" {knobs}"), th.dim()),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

/// The space-separated words of `text` that fit in `width` columns, whole words only;
/// "…" marks that some were left out (the knob editor, `k`, shows them all).
fn fit_words(text: &str, width: usize) -> String {
    if display_width(text) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for word in text.split(' ') {
        let next = if out.is_empty() {
            word.to_string()
        } else {
            format!("{out} {word}")
        };
        if display_width(&next) + 2 > width {
            break;
        }
        out = next;
    }
    if out.is_empty() {
        "…".to_string()
    } else {
        format!("{out} …")
    }
}

/// The second line: playing, paused or over; the seed, the step and the schedule
/// so far (stepped), or the speed, the time and the events (live).
pub fn draw_info(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme, lang: Lang) {
    let trace = ls.run.trace();
    let ending = match ls.run.ending() {
        Ending::Running if ls.playing => Span::styled(Msg::Playing.get(lang), th.good()),
        Ending::Running if ls.run.mode() == Mode::Live => {
            Span::styled(Msg::Running.get(lang), th.good())
        }
        Ending::Running => Span::styled(Msg::Paused.get(lang), th.warn()),
        Ending::Finished => Span::styled(Msg::Finished.get(lang), th.title()),
        Ending::Deadlock => Span::styled(Msg::Deadlock.get(lang), th.bad()),
    };
    let mut spans = vec![Span::raw(" "), ending, Span::raw(" · ")];
    match ls.run.picks() {
        Some(_) => {
            let origin = match ls.run.origin() {
                Some(crate::run::Origin::Seed(s)) => Msg::SeedN.fill(lang, &[s]),
                Some(crate::run::Origin::Schedule(_)) => Msg::PastedSchedule.get(lang).to_string(),
                None => String::new(),
            };
            let model = ls.run.model();
            let sched = model.schedule();
            spans.push(Span::raw(format!(
                "{origin} · {} · ",
                Msg::StepN.fill(lang, &[&ls.run.steps()])
            )));
            spans.push(Span::styled(Msg::ScheduleLabel.get(lang), th.dim()));
            let used: usize = spans.iter().map(|s| display_width(&s.content)).sum();
            let room = (area.width as usize).saturating_sub(used);
            let shown = if sched.is_empty() {
                Msg::NoneYet.get(lang).to_string()
            } else if display_width(sched) > room {
                // The newest part matters most while stepping; the start is elided.
                let tail: String = sched
                    .chars()
                    .rev()
                    .take(room.saturating_sub(1))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                format!("…{tail}")
            } else {
                sched.to_string()
            };
            spans.push(Span::styled(shown, th.title()));
        }
        None => {
            let ms = trace
                .events
                .last()
                .map(|e| e.t_ns as f64 / 1e6)
                .unwrap_or(0.0);
            spans.push(Span::raw(Msg::LiveInfo.fill(
                lang,
                &[&ls.live_speed, &format!("{ms:.1}"), &trace.total_len()],
            )));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_header_cuts_knobs_whole() {
        use super::fit_words;
        let k = "lock=off iterations=100000 gil=gil-classic scheduler=timed";
        assert_eq!(fit_words(k, 80), k);
        assert_eq!(
            fit_words(k, 44),
            "lock=off iterations=100000 gil=gil-classic …"
        );
        assert_eq!(fit_words(k, 43), "lock=off iterations=100000 …");
        assert_eq!(fit_words(k, 5), "…");
    }
}
