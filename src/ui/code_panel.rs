//! The code panel: the lesson's Python with each actor's marker on its current
//! line, or the `dis`-style listing of every actor's instructions.

use super::app::{LessonScreen, Panel};
use super::highlight::python_line;
use super::theme::Theme;
use super::view::panel_block;
use crate::i18n::Msg;
use crate::lesson::Lang;
use crate::program::{ActorId, Program};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Each actor's current instruction, if it has one to show (started, not done).
fn current_pcs(ls: &LessonScreen) -> Vec<Option<u32>> {
    let model = ls.run.model();
    (0..ls.run.program().actors.len())
        .map(|a| model.pc(a as ActorId))
        .collect()
}

/// The actor that ran last, whose place the code panel follows.
fn last_actor(ls: &LessonScreen) -> Option<ActorId> {
    ls.run.trace().events.last().map(|e| e.actor)
}

fn marker_spans(th: &Theme, nactors: usize, here: &[usize]) -> Vec<Span<'static>> {
    let slots = nactors.min(10);
    (0..slots)
        .map(|a| {
            if here.contains(&a) {
                Span::styled(format!("{a}"), th.marker(a))
            } else {
                Span::raw(" ")
            }
        })
        .collect()
}

/// The Python code with a marker per actor on its line, or the bytecode (`d`).
pub fn draw(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme, lang: Lang) {
    let program = ls.run.program().clone();
    let pcs = current_pcs(ls);
    let n = program.actors.len();
    let focused = ls.focus.get() == Panel::Code;
    let inner_h = area.height.saturating_sub(2) as usize;
    let (title, lines, follow) = if ls.dis_view {
        let (lines, follow) = dis_lines(&program, &pcs, th, last_actor(ls));
        (Msg::DisTitle.get(lang).to_string(), lines, follow)
    } else {
        let cur_lines: Vec<Option<u32>> = (0..n)
            .map(|a| pcs[a].map(|pc| program.line(a as ActorId, pc)))
            .collect();
        let follow = last_actor(ls)
            .and_then(|a| cur_lines.get(a as usize).copied().flatten())
            .unwrap_or(1) as usize;
        let lines: Vec<Line> = ls
            .code
            .lines()
            .enumerate()
            .map(|(i, text)| {
                let no = i as u32 + 1;
                let here: Vec<usize> = (0..n).filter(|&a| cur_lines[a] == Some(no)).collect();
                let mut spans = vec![Span::styled(format!("{no:>3}"), th.dim()), Span::raw(" ")];
                spans.extend(marker_spans(th, n, &here));
                spans.push(Span::raw(" "));
                spans.extend(python_line(text, th));
                Line::from(spans)
            })
            .collect();
        (
            Msg::CodeTitle.get(lang).to_string(),
            lines,
            follow.saturating_sub(1),
        )
    };
    let max_top = lines.len().saturating_sub(inner_h);
    let top = if ls.code_scrolled {
        ls.scroll.clamp(Panel::Code, max_top)
    } else {
        follow.saturating_sub(inner_h / 2).min(max_top)
    };
    let shown: Vec<Line> = lines.into_iter().skip(top).take(inner_h).collect();
    f.render_widget(
        Paragraph::new(shown).block(panel_block(title, focused, th)),
        area,
    );
}

/// `dis`-style listing, one section per distinct code; actors with the same code
/// share a section so that their markers meet.
fn dis_lines(
    program: &Program,
    pcs: &[Option<u32>],
    th: &Theme,
    follow_actor: Option<ActorId>,
) -> (Vec<Line<'static>>, usize) {
    let n = program.actors.len();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for a in 0..n {
        let same = groups.iter_mut().find(|g| {
            let b = &program.actors[g[0]];
            b.code == program.actors[a].code && b.lines == program.actors[a].lines
        });
        match same {
            Some(g) => g.push(a),
            None => groups.push(vec![a]),
        }
    }
    let mut out = Vec::new();
    let mut follow = 0;
    for g in groups {
        let names: Vec<&str> = g.iter().map(|&a| program.actors[a].name.as_str()).collect();
        out.push(Line::styled(
            format!("── {} ──", names.join(", ")),
            th.title(),
        ));
        let first = g[0];
        let actor = &program.actors[first];
        let mut prev_line = 0;
        for (pc, ins) in actor.code.iter().enumerate() {
            let here: Vec<usize> = g
                .iter()
                .copied()
                .filter(|&a| pcs[a] == Some(pc as u32))
                .collect();
            if follow_actor.is_some_and(|f| here.contains(&(f as usize))) {
                follow = out.len();
            }
            let line = actor.lines[pc];
            let lno = if line != prev_line {
                format!("{line:>3}")
            } else {
                "   ".to_string()
            };
            prev_line = line;
            let mut spans = vec![Span::styled(lno, th.dim()), Span::raw(" ")];
            spans.extend(marker_spans(th, n, &here));
            spans.push(Span::styled(format!(" {pc:>3} "), th.dim()));
            spans.push(Span::raw(program.dis(first as ActorId, *ins)));
            out.push(Line::from(spans));
        }
    }
    (out, follow)
}
