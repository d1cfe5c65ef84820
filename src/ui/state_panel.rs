//! The state panel: shared variables, locks, and every actor grouped by process
//! with its GIL. Focusable and scrollable; Enter steps the selected actor.

use super::app::{LessonScreen, Panel};
use super::theme::Theme;
use super::view::{panel_block, scroll_marks};
use crate::i18n::Msg;
use crate::lesson::Lang;
use crate::program::pytext::value_text;
use crate::program::{ActorId, GilModel, Instr, Program};
use crate::trace::{ActorState, BlockedOn};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// How many rows the panel would like: everything it has to say.
pub fn rows_wanted(program: &Program, has_gil: bool) -> u16 {
    let nproc = program.process_count().max(1);
    let threaded = (0..nproc)
        .filter(|&p| {
            program
                .actors
                .iter()
                .filter(|a| a.process as usize == p)
                .count()
                > 1
        })
        .count();
    let heads = if nproc == 1 {
        usize::from(has_gil)
    } else {
        threaded + usize::from(has_gil && threaded > 0)
    };
    // The verdict and the missing effect take two more once the run is over.
    (program.var_rows().len() + 3 + program.locks.len() + heads + program.actors.len()) as u16
}

pub fn draw(f: &mut Frame, area: Rect, ls: &LessonScreen, th: &Theme, lang: Lang) {
    let focused = ls.focus.get() == Panel::State;
    // The verdict is worked out once per trace length, not every frame.
    let key = (ls.run.version(), ls.run.trace().len(), lang);
    if ls.verdict.borrow().as_ref().map(|v| v.0) != Some(key) {
        let over = ls.run.is_over();
        let vd = over.then(|| ls.run.verdict(lang)).flatten();
        *ls.verdict.borrow_mut() = Some((key, vd));
    }
    let (lines, selected_row) = lines(ls, th, lang, focused);
    let title = if focused {
        format!(
            " {} · ↑↓ {} · Enter {} ",
            Msg::StatePanel.get(lang),
            Msg::Choose.get(lang),
            Msg::StepIt.get(lang)
        )
    } else {
        format!(" {} ", Msg::StatePanel.get(lang))
    };
    let block = panel_block(title, focused, th);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let h = inner.height as usize;
    let max_top = lines.len().saturating_sub(h);
    // The selected actor stays in view.
    if let Some(r) = selected_row {
        let now = ls.scroll.get(Panel::State);
        if r < now {
            ls.scroll.set(Panel::State, r);
        } else if h > 0 && r >= now + h {
            ls.scroll.set(Panel::State, r + 1 - h);
        }
    }
    let top = ls.scroll.clamp(Panel::State, max_top);
    let shown: Vec<Line> = lines.into_iter().skip(top).take(h).collect();
    f.render_widget(Paragraph::new(shown), inner);
    scroll_marks(f, inner, top, max_top, th);
}

/// The panel's lines, and the row of the selected actor.
fn lines(
    ls: &LessonScreen,
    th: &Theme,
    lang: Lang,
    focused: bool,
) -> (Vec<Line<'static>>, Option<usize>) {
    let program = ls.run.program().clone();
    let program = program.as_ref();
    let model = ls.run.model();
    let mut lines = shared_lines(ls, program, th, lang);
    let replay = model.replay();
    let states: Vec<ActorState> = (0..program.actors.len())
        .map(|a| model.state(a as ActorId))
        .collect();
    let name = |a: usize| actor_name(program, a);
    lines.extend(lock_lines(program, replay, &states, th, lang));
    lines.extend(sync_lines(program, &states, th, lang));
    let gil = ls.run.config().gil;
    let nproc = program.process_count();
    let uses_tls = program.actors.iter().any(|x| {
        x.code
            .iter()
            .any(|i| matches!(i, Instr::TlsSet { .. } | Instr::TlsGet(_)))
    });
    let buffered = program
        .actors
        .iter()
        .any(|x| x.code.iter().any(|i| matches!(i, Instr::BufPrint { .. })));
    let mut selected_row = None;
    for p in 0..nproc.max(1) {
        let members: Vec<usize> = (0..program.actors.len())
            .filter(|&a| program.actors[a].process as usize == p)
            .collect();
        if members.is_empty() {
            continue;
        }
        // A process with several threads gets a line of its own, with its GIL;
        // a single-threaded one is just its actor (its GIL is never contended).
        let grouped = nproc > 1 && members.len() > 1;
        let mut head: Vec<Span<'static>> = Vec::new();
        if grouped {
            head.push(Span::styled(
                Msg::ProcessGroup.fill(lang, &[&p, &name(members[0])]),
                th.title(),
            ));
        }
        if gil.has_gil() && (nproc <= 1 || grouped) {
            let holder = replay.and_then(|r| r.gil_holder(p as u16));
            if !head.is_empty() {
                head.push(Span::raw(" · "));
            }
            // An asyncio program's event loop is held as a GIL is (src/sim/aio.rs).
            let title = match program.event_loop {
                true => Msg::LoopTitle.get(lang),
                false => "GIL ",
            };
            head.push(Span::styled(title, th.title()));
            match holder {
                Some(h) => head.push(Span::styled(name(h as usize), th.actor(h as usize))),
                None => head.push(Span::raw(Msg::GilNotHeld.get(lang))),
            }
            if nproc <= 1 {
                let words = match program.event_loop {
                    true => Msg::LoopWords.get(lang),
                    false => model_words(gil, lang),
                };
                head.push(Span::styled(format!("  ({words})"), th.dim()));
            }
        }
        if !head.is_empty() {
            lines.push(Line::from(head));
        }
        let indent = if grouped { "  " } else { "" };
        for a in members {
            if focused && a == ls.selected_actor {
                selected_row = Some(lines.len());
            }
            let mut line = actor_line(program, &states, a, th, lang, indent);
            // A thread-local lesson shows each thread's own `local()` dictionary.
            if uses_tls && let Some(r) = replay {
                line.spans.push(Span::styled(
                    format!("  local {}", r.tls_text(program, a as ActorId)),
                    th.title(),
                ));
            }
            // The buffering lesson shows what waits in each process's stdout
            // buffer, on its first actor's line.
            if buffered
                && program.actors[a].kind == crate::program::ActorKind::Main
                && let Some(buf) = ls.run.stdout_buffer(p as u16)
            {
                line.spans.push(Span::styled(
                    format!(
                        "  {} '{}'",
                        Msg::StdoutBuffer.get(lang),
                        buf.replace('\n', "\\n")
                    ),
                    th.title(),
                ));
            }
            if focused && a == ls.selected_actor {
                line = line.style(th.selected());
            }
            lines.push(line);
        }
    }
    if gil.has_gil() && nproc > 1 && program.actors.len() > nproc {
        lines.push(Line::styled(
            format!("({})", model_words(gil, lang)),
            th.dim(),
        ));
    }
    (lines, selected_row)
}

/// The shared variables with what a correct run gives, the verdict once the run
/// is over, and the count of overwritten writes.
fn shared_lines(
    ls: &LessonScreen,
    program: &Program,
    th: &Theme,
    lang: Lang,
) -> Vec<Line<'static>> {
    let model = ls.run.model();
    let over = ls.run.is_over();
    let mut lines: Vec<Line<'static>> = Vec::new();
    for (g, in_proc) in program.var_rows() {
        let (i, v) = (g as usize, &program.vars[g as usize]);
        if let Some(p) = in_proc {
            lines.push(copy_line(ls, program, g, p, th, lang));
            continue;
        }
        let now = model.var(i).unwrap_or(v.init);
        let expected = program
            .expected
            .iter()
            .find(|(id, _)| *id as usize == i)
            .map(|x| x.1);
        let mut spans = vec![
            Span::styled(format!("{} ", v.name), th.title()),
            Span::styled(
                value_text(now),
                match expected {
                    Some(e) if over && e != now => th.bad(),
                    Some(e) if over && e == now => th.good(),
                    _ => th.title(),
                },
            ),
        ];
        if let Some(e) = expected {
            spans.push(Span::styled(
                format!("   {}", Msg::CorrectRunGives.fill(lang, &[&e])),
                th.dim(),
            ));
        }
        lines.push(Line::from(spans));
    }
    // The lesson's verdict once the run is over: green or red, with the reason.
    if let Some((_, Some(vd))) = &*ls.verdict.borrow() {
        lines.push(Line::styled(
            format!(
                "{}: {}",
                if vd.correct {
                    Msg::VerdictRight
                } else {
                    Msg::VerdictWrong
                }
                .get(lang),
                vd.why
            ),
            if vd.correct { th.good() } else { th.bad() },
        ));
        if let Some(m) = vd.missing.as_ref().filter(|m| m.value != 0) {
            lines.push(Line::styled(
                Msg::MissingEffect.fill(lang, &[&m.value, &m.unit]),
                th.bad(),
            ));
        }
    }
    lines.push(Line::from(vec![
        Span::raw(format!("{}: ", Msg::LostUpdates.get(lang))),
        Span::styled(
            model.lost().to_string(),
            if model.lost() > 0 {
                th.bad()
            } else {
                Style::new()
            },
        ),
    ]));
    lines
}

/// One process's own copy of a variable (`numbers in Process-1: [1, 2, 3, 4]`),
/// or that the process has not started, so it has no copy yet.
fn copy_line(
    ls: &LessonScreen,
    program: &Program,
    g: crate::program::VarId,
    p: u16,
    th: &Theme,
    lang: Lang,
) -> Line<'static> {
    let now = ls.run.var_in_process(g, p);
    let name = &program.vars[g as usize].name;
    let label = Msg::VarInProcess.fill(lang, &[name, &program.process_name(p)]);
    Line::from(vec![
        Span::styled(format!("{label} "), th.title()),
        match now {
            Some(v) => Span::styled(value_text(v), th.title()),
            None => Span::styled(Msg::StNotStarted.get(lang).to_string(), th.dim()),
        },
    ])
}

/// Each lock: who holds it and who waits for it.
fn lock_lines(
    program: &Program,
    replay: Option<&crate::trace::StateReplay>,
    states: &[ActorState],
    th: &Theme,
    lang: Lang,
) -> Vec<Line<'static>> {
    let name = |a: usize| actor_name(program, a);
    let mut out = Vec::new();
    for (l, lock) in program.locks.iter().enumerate() {
        let holder = replay.and_then(|r| r.lock_holder(l as u16));
        let waiters: Vec<String> = states
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == ActorState::Blocked(BlockedOn::Lock(l as u16)))
            .map(|(a, _)| name(a))
            .collect();
        let mut spans = vec![Span::styled(format!("{} ", lock.name), th.title())];
        // A barrier is named by a lock nobody holds: who waits at it instead.
        if let Some(parties) = program.barrier_parties(l as u16) {
            let at: Vec<String> = states
                .iter()
                .enumerate()
                .filter(|(_, s)| **s == ActorState::Blocked(BlockedOn::Barrier(l as u16)))
                .map(|(a, _)| name(a))
                .collect();
            spans.push(Span::raw(format!("Barrier({parties})")));
            if !at.is_empty() {
                spans.push(Span::styled(
                    format!(" · {}: {}", Msg::InBarrier.get(lang), at.join(", ")),
                    th.warn(),
                ));
            }
            out.push(Line::from(spans));
            continue;
        }
        match holder {
            Some(h) => {
                spans.push(Span::raw(format!("{} ", Msg::HeldBy.get(lang))));
                spans.push(Span::styled(name(h as usize), th.actor(h as usize)));
            }
            None => spans.push(Span::raw(Msg::LockFree.get(lang))),
        }
        if !waiters.is_empty() {
            spans.push(Span::styled(
                format!(" · {}: {}", Msg::Waiting.get(lang), waiters.join(", ")),
                th.warn(),
            ));
        }
        // A Condition's lock: who sleeps in its wait(), not notified yet.
        let sleepers: Vec<String> = states
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == ActorState::Blocked(BlockedOn::Notify(l as u16)))
            .map(|(a, _)| name(a))
            .collect();
        if !sleepers.is_empty() {
            spans.push(Span::styled(
                format!(" · {}: {}", Msg::InWait.get(lang), sleepers.join(", ")),
                th.warn(),
            ));
        }
        out.push(Line::from(spans));
    }
    out
}

/// Each semaphore and event somebody waits on: who waits in its `acquire()`
/// or `wait()` (its counter or flag is a variable, shown above).
fn sync_lines(
    program: &Program,
    states: &[ActorState],
    th: &Theme,
    lang: Lang,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (g, var) in program.vars.iter().enumerate() {
        let g = g as u16;
        let (sem, ev) = (BlockedOn::Semaphore(g), BlockedOn::Event(g));
        let waiters: Vec<String> = states
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, ActorState::Blocked(b) if *b == sem || *b == ev))
            .map(|(a, _)| actor_name(program, a))
            .collect();
        if waiters.is_empty() {
            continue;
        }
        let what = if states.contains(&ActorState::Blocked(sem)) {
            Msg::InAcquire
        } else {
            Msg::InWait
        };
        out.push(Line::from(vec![
            Span::styled(format!("{} ", var.name), th.title()),
            Span::styled(
                format!("· {}: {}", what.get(lang), waiters.join(", ")),
                th.warn(),
            ),
        ]));
    }
    out
}

/// An actor's name, or `?` for an id the program does not have.
fn actor_name(program: &Program, a: usize) -> String {
    program
        .actors
        .get(a)
        .map(|x| x.name.clone())
        .unwrap_or_else(|| "?".into())
}

/// A variable's name, or `?` for an id the program does not have.
fn var_name(program: &Program, g: u16) -> String {
    program
        .vars
        .get(g as usize)
        .map(|x| x.name.clone())
        .unwrap_or_else(|| "?".into())
}

fn actor_line(
    program: &Program,
    states: &[ActorState],
    a: usize,
    th: &Theme,
    lang: Lang,
    indent: &str,
) -> Line<'static> {
    let name = |a: usize| actor_name(program, a);
    let s = states[a];
    let what = match s {
        ActorState::Blocked(BlockedOn::Lock(l)) => Msg::BlockedOnLock.fill(
            lang,
            &[&program
                .locks
                .get(l as usize)
                .map(|x| x.name.as_str())
                .unwrap_or("?")],
        ),
        ActorState::Blocked(BlockedOn::Join(t)) => {
            Msg::InJoinWaitsFor.fill(lang, &[&name(t as usize)])
        }
        ActorState::Blocked(BlockedOn::Notify(l)) => Msg::RWaitNotify.fill(
            lang,
            &[&program
                .locks
                .get(l as usize)
                .map(|x| x.name.as_str())
                .unwrap_or("?")],
        ),
        ActorState::Blocked(BlockedOn::Barrier(l)) => Msg::RWaitBarrier.fill(
            lang,
            &[&program
                .locks
                .get(l as usize)
                .map(|x| x.name.as_str())
                .unwrap_or("?")],
        ),
        ActorState::Blocked(BlockedOn::Semaphore(g)) => {
            Msg::RWaitSem.fill(lang, &[&var_name(program, g)])
        }
        ActorState::Blocked(BlockedOn::Event(g)) => {
            Msg::RWaitEvent.fill(lang, &[&var_name(program, g)])
        }
        ActorState::Done(code) => Msg::DoneExit.fill(lang, &[&code]),
        other => state_words(other, lang).to_string(),
    };
    let style = match s {
        ActorState::Blocked(_) => th.bad(),
        _ => th.dim(),
    };
    Line::from(vec![
        Span::styled(format!("{indent}{a} {}", name(a)), th.actor(a)),
        Span::styled(format!(": {what}"), style),
    ])
}

/// An actor's state in words.
pub fn state_words(s: ActorState, lang: Lang) -> &'static str {
    let m = match s {
        ActorState::NotStarted => Msg::StNotStarted,
        ActorState::Running => Msg::StRunning,
        ActorState::Ready => Msg::StReady,
        ActorState::WaitingGil => Msg::StWaitingGil,
        ActorState::Blocked(BlockedOn::Lock(_)) => Msg::StBlockedLock,
        ActorState::Blocked(BlockedOn::Join(_)) => Msg::StBlockedJoin,
        ActorState::Blocked(BlockedOn::Queue(_)) => Msg::StBlockedQueue,
        ActorState::Blocked(BlockedOn::Pipe(_)) => Msg::StBlockedPipe,
        ActorState::Blocked(BlockedOn::Notify(_)) => Msg::StWaitingNotify,
        ActorState::Blocked(BlockedOn::Barrier(_)) => Msg::StWaitingBarrier,
        ActorState::Blocked(BlockedOn::Semaphore(_)) => Msg::StWaitingSem,
        ActorState::Blocked(BlockedOn::Event(_)) => Msg::StWaitingEvent,
        ActorState::Sleeping => Msg::StSleeping,
        ActorState::Done(_) => Msg::StDone,
    };
    m.get(lang)
}

fn model_words(g: GilModel, lang: Lang) -> &'static str {
    match g {
        GilModel::Classic => Msg::GilClassicWords,
        GilModel::Modern => Msg::GilModernWords,
        GilModel::Free => Msg::GilFreeWords,
    }
    .get(lang)
}
