//! What guides a student on the lesson screen, drawn above the lesson's text:
//! the tour's current step, and the prediction with what the run showed; the
//! question itself as an overlay; and the tutorials' errata under the notes.

use super::app::LessonScreen;
use super::progress::Prediction;
use super::prose::render;
use super::theme::Theme;
use crate::i18n::Msg;
use crate::lesson::{Lang, Lesson};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthStr;

/// What the guide box shows: a title, then lines that may be cut short when
/// the box is small (`head`), then lines that should stay (`tail`: what to do,
/// the hint), then the tour's keys, which stay whatever the size.
pub struct Guide {
    pub title: String,
    pub head: Vec<Line<'static>>,
    pub tail: Vec<Line<'static>>,
    pub keys: Vec<Line<'static>>,
}

impl Guide {
    /// The lines for a box with `rows` inner rows: the keys first, then as much
    /// of the tail as fits, the head cut to the rest.
    pub fn fit(self, rows: usize) -> Vec<Line<'static>> {
        let keys_n = self.keys.len().min(rows);
        let tail_n = self.tail.len().min(rows - keys_n);
        let head_n = rows - keys_n - tail_n;
        let mut out: Vec<Line<'static>> = self.head.into_iter().take(head_n).collect();
        out.extend(self.tail.into_iter().take(tail_n));
        out.extend(self.keys.into_iter().take(keys_n));
        out
    }

    pub fn rows(&self) -> usize {
        self.head.len() + self.tail.len() + self.keys.len()
    }
}

/// The guide box, or nothing when there is nothing to show.
pub fn guide(ls: &LessonScreen, cols: usize, th: &Theme, lang: Lang) -> Option<Guide> {
    let mut lines = prediction_lines(ls, cols, th, lang);
    let tour = &ls.lesson.tour;
    if !ls.tour.on || tour.is_empty() {
        if lines.is_empty() {
            return None;
        }
        return Some(Guide {
            title: format!(" {} ", Msg::PredictTitle.get(lang)),
            head: lines,
            tail: Vec::new(),
            keys: Vec::new(),
        });
    }
    let mut tail = Vec::new();
    if !lines.is_empty() {
        lines.push(Line::raw(""));
    }
    let title = match tour.get(ls.tour.step) {
        Some(step) => {
            lines.extend(render(step.text.get(lang), cols, th));
            let todo = format!("{}{}", Msg::TourDo.get(lang), step.todo.get(lang));
            tail.extend(
                render(&todo, cols, th)
                    .into_iter()
                    .map(|l| l.patch_style(th.key())),
            );
            if ls.tour.hint {
                let hint = format!("{}{}", Msg::TourHint.get(lang), step.hint.get(lang));
                tail.extend(
                    render(&hint, cols, th)
                        .into_iter()
                        .map(|l| l.patch_style(th.warn())),
                );
            }
            Msg::TourTitle.fill(lang, &[&(ls.tour.step + 1), &tour.len()])
        }
        None => {
            lines.push(Line::styled(Msg::TourSeen.get(lang), th.heading()));
            lines.extend(render(ls.lesson.tour_end.get(lang), cols, th));
            for l in super::explore_view::tour_outcome_lines(ls, lang) {
                lines.extend(render(&l, cols, th));
            }
            Msg::TourDoneTitle.get(lang).to_string()
        }
    };
    // A narrow box shows every key: the list wraps between its items.
    let keys = pack_items(Msg::TourKeys.get(lang), cols)
        .into_iter()
        .map(|l| Line::styled(l, th.dim()))
        .collect();
    Some(Guide {
        title: format!(" {title} "),
        head: lines,
        tail,
        keys,
    })
}

/// A " · "-separated list as lines at most `cols` wide, breaking only between
/// items (an item wider than a line gets a line of its own).
fn pack_items(text: &str, cols: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for item in text.split(" · ") {
        let joined = if line.is_empty() {
            item.to_string()
        } else {
            format!("{line} · {item}")
        };
        if line.is_empty() || UnicodeWidthStr::width(joined.as_str()) <= cols {
            line = joined;
        } else {
            out.push(std::mem::replace(&mut line, item.to_string()));
        }
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

/// What the student predicted and, once the run is over, what it showed.
fn prediction_lines(ls: &LessonScreen, cols: usize, th: &Theme, lang: Lang) -> Vec<Line<'static>> {
    let (Some(predict), Some(pr)) = (&ls.lesson.predict, &ls.prediction) else {
        return Vec::new();
    };
    let Some(choice) = pr.choice.and_then(|c| predict.choices.get(c - 1)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Some(matched) = pr.matched else {
        let wait = Msg::PredictWait.fill(lang, &[&choice.text.get(lang)]);
        out.extend(render(&wait, cols, th));
        return out;
    };
    let shown: Vec<String> = pr.shown.iter().map(|i| i.to_string()).collect();
    let shown = if shown.is_empty() {
        Msg::PredictNoneShown.get(lang).to_string()
    } else {
        shown.join(", ")
    };
    let (mark, verdict, style) = if matched {
        ("✓ ", Msg::PredictMatch, th.good())
    } else {
        ("✗ ", Msg::PredictMiss, th.bad())
    };
    let head = format!(
        "{mark}{} · {}",
        verdict.get(lang),
        Msg::PredictShown.fill(lang, &[&shown])
    );
    out.extend(
        render(&head, cols, th)
            .into_iter()
            .map(|l| l.patch_style(style)),
    );
    let you = Msg::PredictYou.fill(lang, &[&choice.text.get(lang)]);
    out.extend(render(&you, cols, th));
    // The why, kept short: the tour's step must still fit under it.
    let why = render(choice.explain.get(lang), cols, th);
    let cut = why.len() > 3;
    out.extend(why.into_iter().take(3));
    if cut && let Some(last) = out.last_mut() {
        last.spans.push(Span::raw("…"));
    }
    out
}

/// The tutorials' errata, for the end of the lesson text.
pub fn errata_lines(lesson: &Lesson, cols: usize, th: &Theme, lang: Lang) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if lesson.errata.is_empty() {
        return out;
    }
    out.push(Line::raw(""));
    out.push(Line::styled(Msg::ErrataHeading.get(lang), th.heading()));
    for e in &lesson.errata {
        let said = format!(
            "- {}{}",
            Msg::ErrataTutorial.get(lang),
            e.tutorial.get(lang)
        );
        out.extend(
            render(&said, cols, th)
                .into_iter()
                .map(|l| l.patch_style(th.dim())),
        );
        let does = format!("  {}{}", Msg::ErrataCpython.get(lang), e.cpython.get(lang));
        out.extend(render(&does, cols, th));
    }
    out
}

/// The question before the first run, over the lesson screen.
pub fn predict_overlay(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme, lang: Lang) {
    let Some(p) = &ls.lesson.predict else {
        return;
    };
    let w = area.width.saturating_sub(4).min(78);
    let cols = w.saturating_sub(3) as usize;
    let mut lines = render(p.question.get(lang), cols, th);
    lines.push(Line::raw(""));
    for (i, c) in p.choices.iter().enumerate() {
        let mut first = true;
        for l in render(c.text.get(lang), cols.saturating_sub(4), th) {
            let lead = if first {
                format!(" {} ", i + 1)
            } else {
                "    ".into()
            };
            let mut spans = vec![Span::styled(lead, th.key())];
            if first {
                spans.push(Span::raw(" "));
            }
            spans.extend(l.spans);
            lines.push(Line::from(spans));
            first = false;
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        Msg::PredictKeys.fill(lang, &[&p.choices.len()]),
        th.dim(),
    ));
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = super::view::centered(area, w, h);
    super::view::clear_under(f, r);
    let block = Block::bordered()
        .title(Span::styled(
            format!(" {} ", Msg::PredictTitle.get(lang)),
            th.title(),
        ))
        .border_style(th.focus_border());
    f.render_widget(Paragraph::new(lines).block(block), r);
}

/// Keeps the screen's copy of the prediction in step with the progress record.
pub fn sync(ls: &mut LessonScreen, pr: Option<&Prediction>) {
    ls.prediction = pr.cloned();
}

#[cfg(test)]
mod tests {
    use super::pack_items;

    #[test]
    fn a_key_list_breaks_between_items_only() {
        let text = "D do it for me · U back a step · T hide the tour";
        assert_eq!(pack_items(text, 80), vec![text.to_string()]);
        assert_eq!(
            pack_items(text, 34),
            vec!["D do it for me · U back a step", "T hide the tour"]
        );
        assert_eq!(
            pack_items("D 替我做 · U 退回一步", 12),
            vec!["D 替我做", "U 退回一步"]
        );
    }
}
