//! The text report of `interleave run`: output, the interleaving table, the final
//! shared state, and how to replay the run.

use super::{Replay, Report};
use crate::i18n::Msg;
use crate::lesson::Lang;
use crate::program::{Granularity, Program};
use crate::trace::{
    EventKind, Row, RowStream, StateReplay, Tally, Trace, missing_explained, overwrite_legend,
    overwritten_explained,
};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Arc;

/// Rows shown before and after the elided middle of a long table.
const HEAD_ROWS: usize = 30;
const TAIL_ROWS: usize = 20;
/// Rows shown on each side of the first lost update.
const AROUND_LOST: usize = 6;
/// Longest schedule string printed in the text report.
pub const MAX_SCHEDULE_CHARS: usize = 4000;

fn heading(lang: Lang, en: &'static str) -> &'static str {
    if lang == Lang::En {
        return en;
    }
    match en {
        "output" => "输出",
        "interleaving" => "交错执行",
        "shared state" => "共享状态",
        "replay" => "重放",
        _ => en,
    }
}

/// Renders the whole report of a run whose trace holds all its events.
pub fn text_report(r: &Report) -> String {
    let mut table = TextStream::new(
        r.trace,
        r.knobs.engine().granularity,
        &r.lesson.code(r.knobs),
        r.lang,
    );
    table.events(r.trace);
    table.report(r)
}

/// The text report of a run too long to keep, made while it runs: every
/// stretch of new events goes through [`TextStream::events`], which counts the
/// rows and finds the first overwritten write in one look per event
/// ([`Tally`]), and keeps a snapshot of that count every [`SNAP_EVENTS`]
/// events. The few rows the report prints are formatted from the nearest
/// snapshot before them once they are complete; only the events from
/// [`TextStream::keep_from`] on (the oldest snapshot kept) are read again.
pub struct TextStream {
    program: Arc<Program>,
    /// Counts the rows and finds the overwritten writes, as events come.
    lead: Tally,
    /// Snapshots of the lead, oldest first: the first is at least
    /// [`LAG_ROWS`] rows behind it, and before every row still to format.
    snaps: VecDeque<Tally>,
    first_lost_row: Option<usize>,
    /// The rows waiting to be formatted (head, first overwritten write):
    /// the first and the last, once the lead has begun them all.
    pending: Option<(usize, usize)>,
    /// Formats rows: its code, granularity and language.
    describer: RowStream,
    /// The rows formatted, in order; a row's index is its number − 1.
    shown: Vec<Row>,
    /// A streamed run's schedule (it keeps no `Schedule`).
    pub schedule: Option<super::StreamedSchedule>,
}

/// How far the oldest snapshot stays behind the counting, in rows: more than
/// the rows shown before the first overwritten write and at the end.
const LAG_ROWS: usize = TAIL_ROWS + AROUND_LOST + 2;
/// Events between two snapshots of the count: a row is formatted again from
/// at most about this many events before it.
const SNAP_EVENTS: usize = 1 << 12;
/// A short table shows every row: the rows formatted before the length is known.
const SHORT_ROWS: usize = HEAD_ROWS + TAIL_ROWS + 10;

impl TextStream {
    /// A table starting at event `t.base` of the run.
    pub fn new(t: &Trace, g: Granularity, code: &str, lang: Lang) -> TextStream {
        let p = &t.program;
        let lead = Tally::new(p, Some(g)).starting_at(t.base);
        TextStream {
            program: t.program.clone(),
            snaps: VecDeque::from([lead.clone()]),
            lead,
            first_lost_row: None,
            pending: Some((0, SHORT_ROWS - 1)),
            describer: RowStream::new(p, g, code).in_lang(lang),
            shown: Vec::new(),
            schedule: None,
        }
    }

    /// Takes in the events of `t` not taken yet (the run's numbering: `t` may
    /// have dropped events up to [`TextStream::keep_from`]).
    pub fn events(&mut self, t: &Trace) {
        let program = self.program.clone();
        let p = &*program;
        let end = t.total_len();
        while self.lead.seq() < end {
            let from = self.lead.seq().max(t.base);
            let to = end.min((from / SNAP_EVENTS + 1) * SNAP_EVENTS);
            for e in &t.events[from - t.base..to - t.base] {
                let (_, lost) = self.lead.feed(p, e);
                if lost && self.first_lost_row.is_none() {
                    let f = self.lead.rows_begun().saturating_sub(1);
                    self.first_lost_row = Some(f);
                    let around = (f.saturating_sub(AROUND_LOST), f + AROUND_LOST);
                    self.pending = Some(match self.pending {
                        Some((a, b)) => (a.min(around.0), b.max(around.1)),
                        None => around,
                    });
                }
            }
            if to.is_multiple_of(SNAP_EVENTS) {
                self.snapshot();
            }
        }
        if let Some((_, last)) = self.pending
            && self.lead.rows_begun() > last + 1
        {
            self.describe(t, Some(last), None);
            self.pending = None;
        }
    }

    /// Keeps a snapshot of the lead and lets go of the ones no row needs.
    fn snapshot(&mut self) {
        self.snaps.push_back(self.lead.clone());
        let behind = self.lead.rows_begun().checked_sub(LAG_ROWS);
        let need = match (behind, self.pending) {
            (Some(b), Some((a, _))) => Some(b.min(a)),
            (Some(b), None) => Some(b),
            (None, _) => None,
        };
        let Some(need) = need else { return };
        while self.snaps.len() > 1 && self.snaps[1].rows_begun() <= need {
            self.snaps.pop_front();
        }
    }

    /// The first event of the run the stream still reads: the ones before it
    /// may be dropped.
    pub fn keep_from(&self) -> usize {
        self.snaps.front().map_or(self.lead.seq(), Tally::seq)
    }

    /// What the events before [`TextStream::keep_from`] add up to, if it is
    /// event `at` (the prefix of a trace that drops them).
    pub fn prefix_at(&self, at: usize) -> Option<crate::trace::Prefix> {
        self.snaps
            .front()
            .filter(|s| s.seq() == at)
            .map(Tally::prefix)
    }

    /// Formats the rows the report shows that are not formatted yet, from the
    /// nearest snapshot before them up to row `last` (or the trace's end);
    /// `rows` is the table's length once known.
    fn describe(&mut self, t: &Trace, last: Option<usize>, rows: Option<usize>) {
        let p = &*self.program;
        let first_lost = self.first_lost_row;
        let wanted = |r: usize| {
            r < SHORT_ROWS
                || first_lost.is_some_and(|f| r + AROUND_LOST >= f && r <= f + AROUND_LOST)
                || rows.is_some_and(|n| r + TAIL_ROWS >= n)
        };
        // The first row not formatted yet that is wanted.
        let done = self.shown.last().map_or(0, |r| r.number);
        let first = match (self.pending, rows) {
            (Some((a, _)), _) => a.max(done),
            (None, Some(n)) => n.saturating_sub(TAIL_ROWS).max(done),
            (None, None) => return,
        };
        let Some(snap) = self.snaps.iter().rev().find(|s| s.rows_begun() <= first) else {
            return;
        };
        let mut rs = self.describer.rewound(snap);
        let mut describing = false;
        for seq in snap.seq().max(t.base)..t.total_len() {
            let e = &t.events[seq - t.base];
            if rs.begins_row(p, seq, e) {
                let r = rs.rows_begun();
                if last.is_some_and(|l| r > l) {
                    break;
                }
                describing = r >= done && wanted(r);
            }
            rs.feed(p, seq, e, describing, &mut self.shown);
        }
    }

    /// The whole report, once the run is over and `r.trace` holds its last events.
    pub fn report(mut self, r: &Report) -> String {
        let (rows, windows) = self.finish(r.trace);
        render(r, &self, rows, &windows)
    }

    /// Takes in the last events of `t`: the table's length and the rows shown.
    fn finish(&mut self, t: &Trace) -> (usize, Windows) {
        self.events(t);
        let rows = self.lead.rows_begun();
        if let Some((a, _)) = self.pending {
            // Rows around an overwritten write near the end, or a short table:
            // formatted to the end together with the last rows.
            self.pending = Some((a.min(rows.saturating_sub(TAIL_ROWS)), rows));
        }
        self.describe(t, None, Some(rows));
        self.pending = None;
        // Consecutive runs of the rows shown: (index of the first, its rows).
        let mut windows: Windows = Vec::new();
        let mut formatted = std::mem::take(&mut self.shown).into_iter().peekable();
        for i in chosen(rows, self.first_lost_row) {
            while formatted.next_if(|row| row.number <= i).is_some() {}
            let Some(row) = formatted.next_if(|row| row.number == i + 1) else {
                continue;
            };
            match windows.last_mut() {
                Some((first, run)) if *first + run.len() == i => run.push(row),
                _ => windows.push((i, vec![row])),
            }
        }
        (rows, windows)
    }
}

/// Renders the report around its table.
fn render(r: &Report, table_of: &TextStream, rows: usize, windows: &Windows) -> String {
    let t = r.trace;
    let lang = r.lang;
    let mut out = String::new();
    let cfg = r.knobs.engine();
    let _ = writeln!(
        out,
        "== {} — {} ({}, {}) ==",
        r.lesson.id,
        r.lesson.title.get(lang),
        mode_name(r.mode.name(), lang),
        r.knobs.summary()
    );

    let _ = writeln!(out, "\n== {} ==", heading(lang, "output"));
    if t.output.is_empty() {
        let _ = writeln!(out, "{}", Msg::TNothingPrinted.get(lang));
    }
    for o in &t.output {
        let _ = writeln!(out, "{}", o.text);
    }

    let _ = writeln!(
        out,
        "\n== {} {} ==",
        heading(lang, "interleaving"),
        Msg::TTableSize.fill(lang, &[&t.total_len(), &rows, &cfg.granularity.name()])
    );
    if t.base > 0 && r.mode == crate::trace::Mode::Live {
        // A long live run keeps only its newest events (a stepped report streams
        // and numbers the rows in the whole run).
        let _ = writeln!(
            out,
            "{}",
            Msg::TNotKept.fill(lang, &[&t.base, &t.events.len()])
        );
    }
    let any_lost = table_of.first_lost_row.is_some();
    table(&mut out, &t.actor_labels, windows, any_lost, lang);

    let _ = writeln!(out, "\n== {} ==", heading(lang, "shared state"));
    let verdict = r.verdict();
    var_lines(&mut out, t, verdict.as_ref(), lang);
    if let Some(vd) = &verdict {
        verdict_lines(&mut out, vd, lang);
    }
    thread_locals(&mut out, r);
    deadlock(&mut out, r);
    if !r.finished {
        let _ = writeln!(out, "{}", Msg::TStopped.get(lang));
    }

    let _ = writeln!(out, "\n== {} ==", heading(lang, "replay"));
    match &r.replay {
        Replay::Seed(seed, _) => {
            let _ = writeln!(out, "{}", Msg::TSeed.fill(lang, &[seed]));
        }
        Replay::Schedule(_) | Replay::Given(_) => {}
        Replay::Recorded(rec) => {
            let on = if t.program.uses_processes() {
                Msg::TRealProcesses
            } else {
                Msg::TRealThreads
            };
            let ms = format!("{:.1}", r.wall_ms);
            let _ = writeln!(
                out,
                "{}",
                Msg::TRecLiveRun.fill(lang, &[&on.get(lang), &ms])
            );
            if let Some(n) = rec.lost_updates {
                let _ = writeln!(out, "{}", Msg::TRecLost.fill(lang, &[&n]));
            }
            let line = match &rec.schedule {
                Ok(_) => Msg::TRecReplay.fill(lang, &[&r.lesson.id, &r.knob_args(&rec.sets)]),
                Err(why) => Msg::TRecNone.fill(lang, &[&why.text(lang)]),
            };
            let _ = writeln!(out, "{line}");
        }
        Replay::Live => {
            // A process lesson runs on worker processes (real PIDs), not threads.
            let on = if t.program.uses_processes() {
                Msg::TRealProcesses
            } else {
                Msg::TRealThreads
            };
            let _ = writeln!(
                out,
                "{}",
                Msg::TLiveRun.fill(lang, &[&on.get(lang), &format!("{:.1}", r.wall_ms)])
            );
        }
    }
    match (&table_of.schedule, r.schedule()) {
        (Some(st), _) => streamed_schedule(&mut out, st, &r.replay, lang),
        (None, Some(s)) => {
            let s = s.to_string();
            if s.len() <= MAX_SCHEDULE_CHARS {
                let _ = writeln!(out, "{}", Msg::TSchedule.fill(lang, &[&s]));
            } else {
                let _ = writeln!(out, "{}", Msg::TScheduleLong.fill(lang, &[&s.len()]));
            }
        }
        (None, None) => {}
    }
    let _ = writeln!(out, "{}", Msg::TAgain.fill(lang, &[&r.command_line()]));
    out
}

/// The schedule line of a streamed run, as `Schedule`'s would read.
fn streamed_schedule(out: &mut String, st: &super::StreamedSchedule, replay: &Replay, lang: Lang) {
    let n = st.chars;
    let line = match (&st.text, replay) {
        (Some(s), _) if n <= MAX_SCHEDULE_CHARS => Msg::TSchedule.fill(lang, &[s]),
        (_, Replay::Given(_)) => Msg::TScheduleLongGiven.fill(lang, &[&n]),
        _ if st.whole => Msg::TScheduleLong.fill(lang, &[&n]),
        _ => Msg::TScheduleLongSeed.fill(lang, &[&n]),
    };
    let _ = writeln!(out, "{line}");
}

/// The verdict and the two figures, each with what it means.
/// The variables as the run left them: `name = value`, with what a correct run
/// gives; a process's own copy once per process (`numbers in Process-1 = …`).
fn var_lines(
    out: &mut String,
    t: &crate::trace::Trace,
    verdict: Option<&crate::trace::Verdict>,
    lang: Lang,
) {
    let finals = t.final_vars();
    for (g, in_proc) in t.program.var_rows() {
        let (name, v) = &finals[g as usize];
        if let Some(p) = in_proc {
            // A process's own copy (the memory lesson): one line per process.
            let label = Msg::VarInProcess.fill(lang, &[name, &t.program.process_name(p)]);
            let now = t.var_in_process(g, p).map_or_else(
                || Msg::StNotStarted.get(lang).to_string(),
                crate::program::pytext::value_text,
            );
            let _ = writeln!(out, "{label} = {now}");
            continue;
        }
        let mut line = format!("{name} = {}", crate::program::pytext::value_text(*v));
        let expected = verdict.and_then(|vd| vd.expected.iter().find(|(n, _)| n == name));
        if let Some((_, e)) = expected {
            line.push_str(&Msg::TCorrectGives.fill(lang, &[e]));
        }
        let _ = writeln!(out, "{line}");
    }
}

fn verdict_lines(out: &mut String, vd: &crate::trace::Verdict, lang: Lang) {
    let mark = match (vd.correct, lang) {
        (true, Lang::En) => "CORRECT",
        (false, Lang::En) => "WRONG",
        (true, Lang::Zh) => "正确",
        (false, Lang::Zh) => "错误",
    };
    let _ = writeln!(
        out,
        "{}",
        Msg::TVerdict.fill(lang, &[&mark, &vd.criterion, &vd.why])
    );
    if let Some(m) = &vd.missing {
        let _ = writeln!(out, "{}", missing_explained(lang, m));
    }
    if vd.overwritten > 0 || vd.missing.is_some() {
        let _ = writeln!(out, "{}", overwritten_explained(lang, vd.overwritten));
    }
}

/// The rows a table shows, as runs of consecutive rows: (number of the first row,
/// the rows).
type Windows = Vec<(usize, Vec<Row>)>;

fn table(out: &mut String, labels: &[String], windows: &Windows, any_lost: bool, lang: Lang) {
    let n = labels.len().max(1);
    let width = (108 / n).clamp(22, 48);
    let mut header = format!("{:>7}  ", "#");
    for l in labels {
        let _ = write!(header, "{:<width$}", clip(l, width - 1));
    }
    out.push_str(header.trim_end());
    out.push('\n');
    let mut last: Option<usize> = None;
    for (first, rows) in windows {
        for (k, row) in rows.iter().enumerate() {
            let i = first + k;
            if let Some(prev) = last
                && i > prev + 1
            {
                let _ = writeln!(
                    out,
                    "{:>7}  {}",
                    "",
                    Msg::TElided.fill(lang, &[&(i - prev - 1)])
                );
            }
            last = Some(i);
            let mark = if row.lost_update { "!" } else { " " };
            // A row has one actor's cell; its text may run on over the empty columns.
            let _ = writeln!(
                out,
                "{:>6}{mark}  {}{}",
                row.number,
                " ".repeat(row.actor as usize * width),
                row.text
            );
        }
    }
    if any_lost {
        let _ = writeln!(out, "{:>7}  {}", "", overwrite_legend(lang));
    }
}

/// Which rows a long table shows: the start, the first lost update, the end.
fn chosen(n: usize, first_lost: Option<usize>) -> Vec<usize> {
    if n <= HEAD_ROWS + TAIL_ROWS + 10 {
        return (0..n).collect();
    }
    let mut keep: Vec<usize> = (0..HEAD_ROWS).chain(n - TAIL_ROWS..n).collect();
    if let Some(first) = first_lost {
        keep.extend(first.saturating_sub(AROUND_LOST)..(first + AROUND_LOST + 1).min(n));
    }
    keep.sort_unstable();
    keep.dedup();
    keep
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(width.saturating_sub(1)).collect();
        c.push('…');
        c
    }
}

/// The actors' states after the trace's last event.
fn state_at_end(t: &Trace) -> StateReplay {
    let mut state = t.state_at_base();
    for e in &t.events {
        state.apply(&t.program, e);
    }
    state
}

/// Each thread's own `threading.local()` dictionary, for programs that use one.
fn thread_locals(out: &mut String, r: &Report) {
    let t = r.trace;
    let p = &t.program;
    let uses_tls = p.actors.iter().any(|a| {
        a.code
            .iter()
            .any(|i| matches!(i, crate::program::Instr::TlsSet { .. }))
    });
    if !uses_tls {
        return;
    }
    let state = state_at_end(t);
    let _ = writeln!(out, "{}", Msg::TThreadLocals.get(r.lang));
    for a in 0..p.actors.len() as u16 {
        let _ = writeln!(
            out,
            "  {:<12} {}",
            t.actor_labels[a as usize],
            state.tls_text(p, a)
        );
    }
}

/// Names the cycle of a deadlocked run: who holds what and waits for whom.
fn deadlock(out: &mut String, r: &Report) {
    let t = r.trace;
    let p = &t.program;
    let dl = t.deadlock();
    if dl.is_empty() {
        return;
    }
    let state = state_at_end(t);
    let lang = r.lang;
    let _ = writeln!(out, "{}", Msg::TDeadlock.get(lang));
    for e in dl {
        debug_assert_eq!(e.kind, EventKind::Deadlock);
        let me = &t.actor_labels[e.actor as usize];
        let held: Vec<&str> = (0..p.locks.len() as u16)
            .filter(|&l| state.lock_holder(l) == Some(e.actor))
            .map(|l| p.locks[l as usize].name.as_str())
            .collect();
        let waits = match p.instr(e.actor, e.pc) {
            Some(crate::program::Instr::Acquire(l)) => {
                Msg::TWaitsFor.fill(lang, &[&p.locks[l as usize].name])
            }
            Some(crate::program::Instr::Join(a)) => {
                Msg::TWaitsJoin.fill(lang, &[&t.actor_labels[a as usize]])
            }
            Some(
                crate::program::Instr::QueuePut { .. }
                | crate::program::Instr::QueueGet { .. }
                | crate::program::Instr::QueueTry { .. }
                | crate::program::Instr::PipeRecv { .. }
                | crate::program::Instr::RunProgram { .. }
                | crate::program::Instr::CondSleep(_),
            )
            | None
            | Some(crate::program::never_blocks!()) => crate::trace::forever_in(p, e, lang),
        };
        let is_join = matches!(p.instr(e.actor, e.pc), Some(crate::program::Instr::Join(_)));
        let by = if e.value >= 0 && !is_join {
            Msg::THeldBy.fill(lang, &[&t.actor_labels[e.value as usize]])
        } else {
            String::new()
        };
        let holds = if held.is_empty() {
            String::new()
        } else {
            Msg::THolds.fill(lang, &[&held.join(Msg::TAnd.get(lang))])
        };
        let _ = writeln!(out, "  {me} {holds}{waits}{by}");
    }
}

/// The run's mode as the header names it.
fn mode_name(name: &'static str, lang: Lang) -> &'static str {
    match name {
        "stepped" => Msg::TStepped.get(lang),
        "live" => Msg::TLive.get(lang),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::run::{Origin, Run, Start};
    use crate::trace::{Prefix, rows};

    /// The rows the report prints are the rows the whole table has at those
    /// places, for every lesson, at both granularities, when the events come a
    /// stretch at a time and the ones the report no longer reads are dropped.
    #[test]
    fn printed_rows_are_the_whole_tables_rows() {
        let catalog = Catalog::embedded().expect("lessons load");
        let mut dropped = 0;
        for l in catalog.lessons() {
            for g in ["line", "bytecode"] {
                let mut sets = vec![format!("granularity={g}")];
                if l.knob("iterations").is_some() {
                    // balance-race long enough to drop events at both granularities.
                    let n = if l.id == "balance-race" { 1000 } else { 300 };
                    sets.push(format!("iterations={n}"));
                }
                let Ok(knobs) = crate::cli::knobs_from(l, &sets) else {
                    continue;
                };
                for seed in [1, 7] {
                    let run = Run::new(l, knobs.clone(), Start::Stepped(Origin::Seed(seed)))
                        .expect("builds");
                    let t = run.finish_stepped().expect("ends");
                    let gran = knobs.engine().granularity;
                    let code = l.code(&knobs);
                    let all = rows(&t, gran, &code, 0..t.events.len());
                    let first_lost = all.iter().position(|r| r.lost_update);
                    let want: Vec<(usize, Row)> = chosen(all.len(), first_lost)
                        .into_iter()
                        .map(|i| (i, all[i].clone()))
                        .collect();
                    for stretch in [97, 1 << 20] {
                        let mut table = TextStream::new(&t, gran, &code, Lang::En);
                        let (mut from, mut to) = (0, 0);
                        let window = |from: usize, to: usize| {
                            let mut w = t.copy_from(from, Box::new(Prefix::new(&t.program)));
                            w.events.truncate(to - from);
                            w
                        };
                        while to < t.len() {
                            to = (to + stretch).min(t.len());
                            table.events(&window(from, to));
                            from = table.keep_from();
                        }
                        let (n, windows) = table.finish(&window(from, to));
                        assert_eq!(n, all.len(), "{} {g} seed {seed}", l.id);
                        let got: Vec<(usize, Row)> = windows
                            .into_iter()
                            .flat_map(|(first, rs)| {
                                rs.into_iter().enumerate().map(move |(k, r)| (first + k, r))
                            })
                            .collect();
                        assert_eq!(got, want, "{} {g} seed {seed} stretch {stretch}", l.id);
                        if stretch == 97 && t.len() > 3 * SNAP_EVENTS {
                            assert!(from > 0, "{}: the report kept every event", l.id);
                            dropped += 1;
                        }
                    }
                }
            }
        }
        assert!(
            dropped >= 4,
            "only {dropped} runs were long enough to drop events"
        );
    }
}
