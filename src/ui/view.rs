//! Drawing: the browser, the lesson screen's panels, the overlays, the too-small note.

use super::app::{App, LessonScreen, Overlay, Panel, PanelAreas, Screen, Status};
use super::cache::Axis;
use super::highlight::python_line;
use super::theme::Theme;
use crate::lesson::Lang;
use crate::program::{ActorId, GilModel, Instr, Program};
use crate::sim::Ending;
use crate::trace::{ActorState, BlockedOn, Mode};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// The smallest terminal the screens are laid out for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draws the whole app into a frame.
pub fn draw(app: &mut App, f: &mut Frame) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(f.buffer_mut(), area, &app.theme);
        return;
    }
    match &mut app.screen {
        Screen::Browser => browser(f, area, app_view(app)),
        Screen::Lesson(ls) => {
            let th = app.theme;
            lesson(f, area, ls, &th, app.status.as_ref(), app.lang);
        }
    }
    match app.overlay.clone() {
        Overlay::None => {}
        Overlay::Help => help(f, area, app),
        Overlay::Knobs { selected, typing } => {
            if let Screen::Lesson(ls) = &app.screen {
                knobs(f, area, ls, selected, &typing, &app.theme, app.lang);
            }
        }
    }
}

struct BrowserView<'a> {
    app: &'a App,
}

fn app_view(app: &App) -> BrowserView<'_> {
    BrowserView { app }
}

/// One line, cut to fit: never garbage, never a panic, at any size.
fn too_small(buf: &mut Buffer, area: Rect, th: &Theme) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let msg = format!(
        "enlarge the terminal to at least {MIN_WIDTH}×{MIN_HEIGHT} (now {}×{})",
        area.width, area.height
    );
    let y = area.y + area.height / 2;
    buf.set_stringn(area.x, y, &msg, area.width as usize, th.warn());
}

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
            let len = k.chars().count() + label.chars().count() + 3;
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

fn keys_line<'a>(th: &Theme, keys: &[(&'a str, &'a str)], width: u16) -> Line<'a> {
    let mut spans = Vec::new();
    let mut used = 0usize;
    // `? help` is always shown, so a person can find the rest.
    let help_len = "? help".len() + 2;
    for (i, (k, label)) in keys.iter().enumerate() {
        let len = k.chars().count() + label.chars().count() + 3;
        let last = i + 1 == keys.len();
        if used + len + if last { 0 } else { help_len } > width as usize && *k != "?" {
            continue;
        }
        spans.push(Span::styled(format!(" {k}"), th.key()));
        spans.push(Span::raw(format!(" {label} ")));
        used += len;
    }
    Line::from(spans)
}

fn browser(f: &mut Frame, area: Rect, v: BrowserView<'_>) {
    let app = v.app;
    let th = &app.theme;
    let [head, list, about, status, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(8),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    f.render_widget(
        Paragraph::new(vec![
            Line::from(vec![
                Span::styled(" interleave ", th.mode(false)),
                Span::styled(
                    "  the classic Python concurrency lessons, run for real",
                    th.title(),
                ),
            ]),
            Line::styled(
                " Pick a lesson: it runs on real threads (LIVE) or one step at a time (STEP).",
                th.dim(),
            ),
        ]),
        head,
    );
    let lessons = app.catalog.lessons();
    let idw = lessons.iter().map(|l| l.id.len()).max().unwrap_or(0);
    let titlew = lessons
        .iter()
        .map(|l| l.title.get(app.lang).chars().count())
        .max()
        .unwrap_or(0);
    let inner = list.height.saturating_sub(2) as usize;
    let first = app.browser_selected.saturating_sub(inner.saturating_sub(1));
    let lines: Vec<Line> = lessons
        .iter()
        .enumerate()
        .skip(first)
        .take(inner)
        .map(|(i, l)| {
            let done = app.finished.contains(&l.id);
            let mark = if done { "✓" } else { " " };
            let title = l.title.get(app.lang);
            let pad = titlew.saturating_sub(title.chars().count());
            let line = Line::from(vec![
                Span::styled(format!(" {mark} "), th.good()),
                Span::styled(format!("{:<idw$}  ", l.id), th.title()),
                Span::raw(format!("{title}{}  ", " ".repeat(pad))),
                Span::styled(l.concepts.join(", "), th.dim()),
            ]);
            if i == app.browser_selected {
                line.style(th.selected())
            } else {
                line
            }
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(" lessons (✓ = finished) ")
                .border_style(th.border()),
        ),
        list,
    );
    if let Some(l) = lessons.get(app.browser_selected) {
        f.render_widget(
            Paragraph::new(unwrap_paragraphs(l.summary.get(app.lang)))
                .wrap(Wrap { trim: true })
                .block(
                    Block::bordered()
                        .title(format!(" {} ", l.title.get(app.lang)))
                        .border_style(th.border()),
                ),
            about,
        );
    }
    status_line(f, status, th, app.status.as_ref());
    let keys = [
        ("↑↓", "choose"),
        ("Enter", "open"),
        ("?", "help"),
        ("q", "quit"),
    ];
    f.render_widget(Paragraph::new(keys_line(th, &keys, foot.width)), foot);
}

/// Lesson texts are hard-wrapped in their files; the screen wraps them to fit.
fn unwrap_paragraphs(text: &str) -> String {
    text.trim()
        .split("\n\n")
        .map(|p| {
            p.lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(if p.is_ascii() { " " } else { "" })
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn status_line(f: &mut Frame, area: Rect, th: &Theme, status: Option<&Status>) {
    let line = match status {
        Some(Status::Info(s)) => Line::styled(format!(" {s}"), th.title()),
        Some(Status::Refused(s)) => Line::from(vec![
            Span::styled(" ✗ ", th.bad()),
            Span::styled(s.clone(), th.warn()),
        ]),
        None => Line::raw(""),
    };
    f.render_widget(Paragraph::new(line), area);
}

/// Where each panel goes; wide terminals get three columns.
struct Areas {
    header: Rect,
    info: Rect,
    code: Rect,
    timeline: Rect,
    inter: Rect,
    state: Rect,
    output: Rect,
    status: Rect,
    footer: Rect,
}

fn layout(area: Rect, actors: u16, state_rows: u16) -> Areas {
    let [header, info, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        // Narrow screens give the keys two rows, so every key stays in view.
        Constraint::Length(if area.width < 120 { 2 } else { 1 }),
    ])
    .areas(area);
    let tl_h = (actors + 3).min(body.height / 3).max(4);
    let state_h = (state_rows + 2).min(body.height / 3);
    let [code, timeline, inter, state, output] = if area.width >= 160 {
        let [top, timeline] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(tl_h)]).areas(body);
        let [code, inter, right] = Layout::horizontal([
            Constraint::Percentage(32),
            Constraint::Percentage(43),
            Constraint::Percentage(25),
        ])
        .areas(top);
        let [state, output] = Layout::vertical([
            Constraint::Length(state_h.max(right.height / 2)),
            Constraint::Min(0),
        ])
        .areas(right);
        [code, timeline, inter, state, output]
    } else {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(48), Constraint::Percentage(52)])
                .areas(body);
        let [code, timeline] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(tl_h)]).areas(left);
        let out_h = (body.height / 6).max(3);
        let [inter, state, output] = Layout::vertical([
            Constraint::Min(0),
            Constraint::Length(state_h),
            Constraint::Length(out_h),
        ])
        .areas(right);
        [code, timeline, inter, state, output]
    };
    Areas {
        header,
        info,
        code,
        timeline,
        inter,
        state,
        output,
        status,
        footer,
    }
}

fn panel_block<'a>(title: String, focused: bool, th: &Theme) -> Block<'a> {
    Block::bordered()
        .borders(Borders::ALL)
        .title(Span::styled(
            title,
            if focused {
                th.focus_border()
            } else {
                th.title()
            },
        ))
        .border_style(if focused {
            th.focus_border()
        } else {
            th.border()
        })
}

fn lesson(
    f: &mut Frame,
    area: Rect,
    ls: &mut LessonScreen,
    th: &Theme,
    status: Option<&Status>,
    lang: Lang,
) {
    let program = ls.run.program().clone();
    let gen_ = ls.generation;
    let stepped = ls.run.mode() == Mode::Stepped;
    ls.cache.begin_frame(gen_, ls.run.live_receiver().is_some());
    ls.cache.refresh_state(gen_, ls.run.trace(), stepped);
    let nactors = program.actors.len() as u16;
    let gil = ls.run.config().gil;
    let state_rows = program.vars.len() as u16
        + 1
        + program.locks.len() as u16
        + if gil.has_gil() { 1 } else { 0 }
        + nactors;
    let a = layout(area, nactors, state_rows);
    ls.areas = PanelAreas {
        code: a.code,
        interleaving: a.inter,
        timeline: a.timeline,
        output: a.output,
    };
    header(f, a.header, ls, th, lang);
    info(f, a.info, ls, th);
    code_panel(f, a.code, ls, th);
    timeline_panel(f, a.timeline, ls, th);
    interleaving_panel(f, a.inter, ls, th);
    state_panel(f, a.state, ls, th);
    output_panel(f, a.output, ls, th);
    status_line(f, a.status, th, status);
    footer(f, a.footer, ls, th);
}

fn header(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme, lang: Lang) {
    let live = ls.run.mode() == Mode::Live;
    let mode = if live { " LIVE " } else { " STEP " };
    let line = Line::from(vec![
        Span::styled(mode, th.mode(live)),
        Span::styled(format!(" {} ", ls.lesson.title.get(lang)), th.title()),
        Span::styled(format!(" {}", ls.run.knobs().summary()), th.dim()),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

fn info(f: &mut Frame, area: Rect, ls: &mut LessonScreen, th: &Theme) {
    let trace = ls.run.trace();
    let ending = match ls.run.ending() {
        Ending::Running if ls.playing => Span::styled("playing", th.good()),
        Ending::Running if ls.run.mode() == Mode::Live => Span::styled("running", th.good()),
        Ending::Running => Span::styled("paused", th.warn()),
        Ending::Finished => Span::styled("finished", th.title()),
        Ending::Deadlock => Span::styled("DEADLOCK", th.bad()),
    };
    let mut spans = vec![Span::raw(" "), ending, Span::raw(" · ")];
    match ls.run.sim() {
        Some(sim) => {
            let origin = match ls.run.origin() {
                Some(crate::run::Origin::Seed(s)) => format!("seed {s}"),
                Some(crate::run::Origin::Schedule(_)) => "pasted schedule".to_string(),
                None => String::new(),
            };
            ls.cache
                .refresh_schedule(ls.generation, trace.len(), sim.schedule());
            let sched = &ls.cache.schedule;
            spans.push(Span::raw(format!("{origin} · step {} · ", sim.steps())));
            spans.push(Span::styled("schedule: ", th.dim()));
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            let room = (area.width as usize).saturating_sub(used);
            let shown = if sched.is_empty() {
                "(none yet)".to_string()
            } else if sched.chars().count() > room {
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
                sched.clone()
            };
            spans.push(Span::styled(shown, th.title()));
        }
        None => {
            let ms = trace
                .events
                .last()
                .map(|e| e.t_ns as f64 / 1e6)
                .unwrap_or(0.0);
            spans.push(Span::raw(format!(
                "speed ×{} · {ms:.1} ms · {} events",
                ls.live_speed,
                trace.len()
            )));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Each actor's current instruction, if it has one to show (started, not done).
fn current_pcs(ls: &LessonScreen) -> Vec<Option<u32>> {
    let program = ls.run.program();
    let replay = ls.cache.replay.as_ref();
    (0..program.actors.len())
        .map(|a| {
            let st = replay
                .map(|r| r.state(a as ActorId))
                .unwrap_or(ActorState::NotStarted);
            if matches!(st, ActorState::NotStarted | ActorState::Done(_)) {
                return None;
            }
            match ls.run.sim() {
                Some(sim) => Some(sim.pc(a as ActorId)),
                None => replay.and_then(|r| r.position(a as ActorId)),
            }
        })
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

fn code_panel(f: &mut Frame, area: Rect, ls: &mut LessonScreen, th: &Theme) {
    let program = ls.run.program().clone();
    let pcs = current_pcs(ls);
    let n = program.actors.len();
    let focused = ls.focus == Panel::Code;
    let inner_h = area.height.saturating_sub(2) as usize;
    let (title, lines, follow) = if ls.dis_view {
        let (lines, follow) = dis_lines(&program, &pcs, th, last_actor(ls));
        (" bytecode (dis) · d: python ".to_string(), lines, follow)
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
            " code · d: bytecode ".to_string(),
            lines,
            follow.saturating_sub(1),
        )
    };
    let max_top = lines.len().saturating_sub(inner_h);
    let top = if ls.code_scrolled {
        ls.scroll[0] = ls.scroll[0].min(max_top);
        ls.scroll[0]
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

fn timeline_panel(f: &mut Frame, area: Rect, ls: &mut LessonScreen, th: &Theme) {
    let focused = ls.focus == Panel::Timeline;
    let live = ls.run.mode() == Mode::Live;
    let axis = if live { Axis::Time } else { Axis::Steps };
    let title = format!(
        " timeline · {} · [ ] zoom{} ",
        if live { "time" } else { "events" },
        if ls.zoom > 0 {
            format!(" ×{}", 1u64 << ls.zoom.min(63))
        } else {
            String::new()
        }
    );
    let block = panel_block(title, focused, th);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.width < 4 || inner.height < 2 {
        return;
    }
    let trace = ls.run.trace();
    let labels = &trace.actor_labels;
    let labw = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .min(inner.width as usize / 3) as u16;
    let bar_x = inner.x + labw + 1;
    let bar_w = inner.width.saturating_sub(labw + 1) as usize;
    ls.cache
        .refresh_timeline(ls.generation, trace, bar_w, ls.zoom, ls.pan, axis);
    let sum = &ls.cache.timeline;
    let buf = f.buffer_mut();
    let rows = (inner.height - 1) as usize;
    for (a, label) in labels.iter().enumerate().take(rows) {
        let y = inner.y + a as u16;
        buf.set_stringn(inner.x, y, label, labw as usize, th.actor(a));
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
}

fn interleaving_panel(f: &mut Frame, area: Rect, ls: &mut LessonScreen, th: &Theme) {
    let focused = ls.focus == Panel::Interleaving;
    let g = ls.run.config().granularity;
    let block = panel_block(format!(" interleaving · {} steps ", g.name()), focused, th);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height < 2 || inner.width < 8 {
        return;
    }
    let program = ls.run.program().clone();
    let n = program.actors.len().max(1);
    let visible = (inner.height - 1) as usize;
    let want = visible + ls.scroll[1];
    let trace = ls.run.trace();
    ls.cache
        .refresh_rows(ls.generation, trace, g, &ls.code, want);
    let rows = &ls.cache.rows;
    ls.scroll[1] = ls.scroll[1].min(rows.len().saturating_sub(visible));
    let end = rows.len() - ls.scroll[1];
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
                fit(&actor.name, room),
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
            "nothing has run yet: s steps, 0-9 step one actor",
            inner.width as usize,
            th.dim(),
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

fn state_panel(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme) {
    let program = ls.run.program();
    let cache = &ls.cache;
    let over = ls.run.is_over();
    let mut lines: Vec<Line> = Vec::new();
    for (i, v) in program.vars.iter().enumerate() {
        let now = match ls.run.sim() {
            Some(sim) => sim.vars().get(i).copied().unwrap_or(v.init),
            None => cache.vars.get(i).map(|x| x.1).unwrap_or(v.init),
        };
        let expected = program
            .expected
            .iter()
            .find(|(id, _)| *id as usize == i)
            .map(|x| x.1);
        let mut spans = vec![
            Span::styled(format!("{} ", v.name), th.title()),
            Span::styled(
                format!("{now}"),
                match expected {
                    Some(e) if over && e != now => th.bad(),
                    Some(e) if over && e == now => th.good(),
                    _ => th.title(),
                },
            ),
        ];
        if let Some(e) = expected {
            spans.push(Span::styled(
                format!("   a correct run gives {e}"),
                th.dim(),
            ));
        }
        lines.push(Line::from(spans));
    }
    // The lesson's verdict once the run is over (trace::verdict), after the actors.
    let verdict_lines = verdict_lines(ls, over, th);
    lines.push(Line::from(vec![
        Span::raw("overwritten writes (rows marked !): "),
        Span::styled(
            cache.lost.to_string(),
            if cache.lost > 0 {
                th.bad()
            } else {
                Style::new()
            },
        ),
    ]));
    let replay = cache.replay.as_ref();
    let states: Vec<ActorState> = (0..program.actors.len())
        .map(|a| {
            replay
                .map(|r| r.state(a as ActorId))
                .unwrap_or(ActorState::NotStarted)
        })
        .collect();
    let name = |a: usize| {
        program
            .actors
            .get(a)
            .map(|x| x.name.as_str())
            .unwrap_or("?")
    };
    for (l, lock) in program.locks.iter().enumerate() {
        let holder = replay.and_then(|r| r.lock_holder(l as u16));
        let waiters: Vec<&str> = states
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == ActorState::Blocked(BlockedOn::Lock(l as u16)))
            .map(|(a, _)| name(a))
            .collect();
        let mut spans = vec![Span::styled(format!("{} ", lock.name), th.title())];
        match holder {
            Some(h) => {
                spans.push(Span::raw("held by "));
                spans.push(Span::styled(
                    name(h as usize).to_string(),
                    th.actor(h as usize),
                ));
            }
            None => spans.push(Span::raw("free")),
        }
        if !waiters.is_empty() {
            spans.push(Span::styled(
                format!(" · waiting: {}", waiters.join(", ")),
                th.warn(),
            ));
        }
        lines.push(Line::from(spans));
    }
    let gil = ls.run.config().gil;
    if gil.has_gil() {
        let nproc = program.process_count() as u16;
        for p in 0..nproc {
            let holder = replay.and_then(|r| r.gil_holder(p));
            let label = if nproc > 1 {
                format!("GIL (process {p}) ")
            } else {
                "GIL ".to_string()
            };
            let mut spans = vec![Span::styled(label, th.title())];
            match holder {
                Some(h) => spans.push(Span::styled(
                    name(h as usize).to_string(),
                    th.actor(h as usize),
                )),
                // "free" would read as the no-GIL model's name.
                None => spans.push(Span::raw("not held")),
            }
            spans.push(Span::styled(format!("  ({})", model_words(gil)), th.dim()));
            lines.push(Line::from(spans));
        }
    }
    let uses_tls = program.actors.iter().any(|x| {
        x.code
            .iter()
            .any(|i| matches!(i, Instr::TlsSet { .. } | Instr::TlsGet(_)))
    });
    for (a, s) in states.iter().enumerate() {
        let what = match s {
            ActorState::Blocked(BlockedOn::Lock(l)) => format!(
                "blocked on {}",
                program
                    .locks
                    .get(*l as usize)
                    .map(|x| x.name.as_str())
                    .unwrap_or("a lock")
            ),
            ActorState::Blocked(BlockedOn::Join(t)) => {
                format!("in join, waits for {}", name(*t as usize))
            }
            ActorState::Done(code) => format!("done (exit code {code})"),
            other => other.label().to_string(),
        };
        let style = match s {
            ActorState::Blocked(_) => th.bad(),
            _ => th.dim(),
        };
        let mut spans = vec![
            Span::styled(format!("{a} {}", name(a)), th.actor(a)),
            Span::styled(format!(": {what}"), style),
        ];
        // A thread-local lesson shows each thread's own `local()` dictionary.
        if uses_tls && let Some(r) = replay {
            spans.push(Span::styled(
                format!("  local {}", r.tls_text(program, a as ActorId)),
                th.title(),
            ));
        }
        lines.push(Line::from(spans));
    }
    lines.extend(verdict_lines);
    f.render_widget(
        Paragraph::new(lines).block(panel_block(" state ".into(), false, th)),
        area,
    );
}

/// The verdict, green or red with its reason, and the missing effect.
fn verdict_lines(ls: &LessonScreen, over: bool, th: &Theme) -> Vec<Line<'static>> {
    let Some(vd) = over
        .then(|| ls.run.verdict(crate::lesson::Lang::En))
        .flatten()
    else {
        return Vec::new();
    };
    let mut out = vec![Line::styled(
        format!(
            "{}: {}",
            if vd.correct { "correct" } else { "wrong" },
            vd.why
        ),
        if vd.correct { th.good() } else { th.bad() },
    )];
    if let Some(m) = vd.missing.as_ref().filter(|m| m.value != 0) {
        out.push(Line::styled(
            format!("missing effect: {} {}", m.value, m.unit),
            th.bad(),
        ));
    }
    out
}

fn model_words(g: GilModel) -> &'static str {
    match g {
        GilModel::Classic => "classic: may switch at any instruction",
        GilModel::Modern => "modern: switches only at calls and loop back-edges",
        GilModel::Free => "no GIL",
    }
}

fn output_panel(f: &mut Frame, area: Rect, ls: &mut LessonScreen, th: &Theme) {
    let focused = ls.focus == Panel::Output;
    let out = &ls.run.trace().output;
    let inner_h = area.height.saturating_sub(2) as usize;
    ls.scroll[3] = ls.scroll[3].min(out.len().saturating_sub(inner_h));
    let end = out.len() - ls.scroll[3];
    let start = end.saturating_sub(inner_h);
    let lines: Vec<Line> = out[start..end]
        .iter()
        .map(|o| Line::styled(o.text.clone(), th.actor(o.actor as usize)))
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(panel_block(" output ".into(), focused, th)),
        area,
    );
}

fn footer(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme) {
    let stepped = ls.run.mode() == Mode::Stepped;
    let n = ls.run.program().actors.len();
    let actors = if n > 1 {
        format!("0-{}", (n - 1).min(9))
    } else {
        "0".to_string()
    };
    let mut keys: Vec<(&str, &str)> = Vec::new();
    if stepped {
        keys.push(("space", if ls.playing { "pause" } else { "play" }));
        keys.push(("s", "step"));
        keys.push((actors.as_str(), "step actor"));
        keys.push(("b", "back"));
        keys.push(("e", "end"));
    } else if ls.run.is_over() {
        keys.push(("space", "run again"));
    }
    if ls.lesson.knob("lock").is_some() {
        keys.push(("l", "lock"));
    }
    if ls.lesson.knob("gil").is_some() {
        keys.push(("g", "GIL"));
    }
    keys.push(("m", if stepped { "live" } else { "step mode" }));
    keys.push(("k", "knobs"));
    if stepped {
        keys.push(("r", "reset"));
        keys.push(("n", "new seed"));
    }
    keys.push(("?", "help"));
    keys.push(("q", "back"));
    f.render_widget(Paragraph::new(keys_lines(th, &keys, area)), area);
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Every key, grouped; the footer shows the ones that matter most.
pub const HELP: &[(&str, &str)] = &[
    (
        "space",
        "play / pause (STEP: the scheduler steps on its own)",
    ),
    ("s  .", "step once: the scheduler picks who runs"),
    (
        "0-9",
        "step actor N (0 = MainThread); says why if it cannot run",
    ),
    ("b  ⌫", "step back one step (replays the schedule so far)"),
    ("e", "run to the end"),
    ("r", "reset: same seed, back to the start"),
    ("n", "new seed: another random schedule"),
    ("l", "toggle the lock knob (re-runs from the start)"),
    ("g", "cycle the GIL model: classic, modern, free"),
    ("t", "toggle step size: bytecode / whole Python line"),
    ("m", "switch LIVE (real threads) / STEP (you schedule)"),
    ("+  -", "speed up / slow down (play rate, or live sleeps)"),
    ("k", "knob editor: every knob of the lesson"),
    ("d", "code panel: Python / bytecode (dis)"),
    ("Tab", "focus the next panel; ↑↓ PgUp PgDn End scroll it"),
    ("[  ]", "timeline zoom out / in; ←→ pan when focused"),
    (
        "wheel",
        "scroll the panel under the mouse (Shift+drag selects text)",
    ),
    ("?", "this help; any key closes it"),
    ("q  Esc", "back to the lessons (quit from the list)"),
    ("Ctrl-C", "quit"),
];

fn help(f: &mut Frame, area: Rect, app: &App) {
    let th = &app.theme;
    let h = HELP.len() as u16 + 4;
    let r = centered(area, 76, h);
    f.render_widget(Clear, r);
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<8}"), th.key()),
                Span::raw(what.to_string()),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " Markers in the code show each actor's next step, numbered like the keys.",
        th.dim(),
    ));
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(" keys · any key closes ")
                .border_style(th.focus_border()),
        ),
        r,
    );
}

fn knobs(
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
    f.render_widget(Clear, r);
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
    lines.push(keys_line(
        th,
        &[
            ("↑↓", "choose"),
            ("←→ Enter", "change"),
            ("digits Enter", "set a number"),
            ("Esc", "close"),
        ],
        r.width.saturating_sub(2),
    ));
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title(" knobs · a change re-runs from the start ")
                .border_style(th.focus_border()),
        ),
        r,
    );
}
