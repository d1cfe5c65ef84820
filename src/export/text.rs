//! The text report of `interleave run`: output, the interleaving table, the final
//! shared state, and how to replay the run.

use super::{Replay, Report};
use crate::lesson::Lang;
use crate::program::Granularity;
use crate::trace::{
    EventKind, Row, StateReplay, Trace, lost_updates, missing_explained, overwrite_legend,
    overwritten_explained, rows,
};
use std::fmt::Write as _;

/// Rows shown before and after the elided middle of a long table.
const HEAD_ROWS: usize = 30;
const TAIL_ROWS: usize = 20;
/// Rows shown on each side of the first lost update.
const AROUND_LOST: usize = 6;
/// Longest schedule string printed in the text report.
const MAX_SCHEDULE_CHARS: usize = 4000;

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

/// Renders the whole report.
pub fn text_report(r: &Report) -> String {
    let t = r.trace;
    let p = &t.program;
    let lang = r.lang;
    let mut out = String::new();
    let cfg = r.knobs.engine();
    let _ = writeln!(
        out,
        "== {} — {} ({}, {}) ==",
        r.lesson.id,
        r.lesson.title.get(lang),
        r.mode.name(),
        r.knobs.summary()
    );

    let _ = writeln!(out, "\n== {} ==", heading(lang, "output"));
    if t.output.is_empty() {
        let _ = writeln!(out, "(nothing printed)");
    }
    for o in &t.output {
        let _ = writeln!(out, "{}", o.text);
    }

    let code = r.lesson.code(r.knobs);
    let lost = lost_updates(p, &t.events);
    let first_lost = lost.first().map(|l| l.seq);
    let shape = TableShape::of(t, cfg.granularity, &code, first_lost);
    let _ = writeln!(
        out,
        "\n== {} ({} events, {} rows, {} steps) ==",
        heading(lang, "interleaving"),
        t.events.len(),
        shape.rows,
        cfg.granularity.name()
    );
    let shown = chosen(shape.rows, shape.first_lost_row);
    let windows = shape.windows(t, cfg.granularity, &code, &shown);
    table(&mut out, &t.actor_labels, &windows, !lost.is_empty(), lang);

    let _ = writeln!(out, "\n== {} ==", heading(lang, "shared state"));
    let verdict = r.verdict();
    for (name, v) in t.final_vars() {
        let mut line = format!("{name} = {v}");
        let expected = verdict
            .as_ref()
            .and_then(|vd| vd.expected.iter().find(|(n, _)| *n == name));
        if let Some((_, e)) = expected {
            line.push_str(&format!("   (a correct run gives {e})"));
        }
        let _ = writeln!(out, "{line}");
    }
    if let Some(vd) = &verdict {
        verdict_lines(&mut out, vd, lang);
    }
    thread_locals(&mut out, r);
    deadlock(&mut out, r);
    if !r.finished {
        let _ = writeln!(out, "the run did not end in time and was stopped");
    }

    let _ = writeln!(out, "\n== {} ==", heading(lang, "replay"));
    match &r.replay {
        Replay::Seed(seed, _) => {
            let _ = writeln!(out, "seed: {seed}");
        }
        Replay::Schedule(_) => {}
        Replay::Recorded(rec) => {
            let _ = writeln!(
                out,
                "live run on real threads: {:.1} ms wall time",
                r.wall_ms
            );
            if let Some(n) = rec.lost_updates {
                let _ = writeln!(out, "lost updates, from which write each read saw: {n}");
            }
            match &rec.schedule {
                Ok(_) => {
                    let _ = writeln!(
                        out,
                        "replay it stepped (the same reads, writes and lost updates): \
                         interleave run {}{} --schedule S, with S the schedule below",
                        r.lesson.id,
                        r.knob_args(&rec.sets)
                    );
                }
                Err(why) => {
                    let _ = writeln!(out, "replay unavailable: {why}");
                }
            }
        }
        Replay::Live => {
            // A process lesson runs on worker processes (real PIDs), not threads.
            let on = if t.program.uses_processes() {
                "real processes"
            } else {
                "real threads"
            };
            let _ = writeln!(
                out,
                "live run on {on}: {:.1} ms wall time; a live run is not replayable, \
                 its trace is what happened",
                r.wall_ms
            );
        }
    }
    if let Some(s) = r.schedule() {
        let s = s.to_string();
        if s.len() <= MAX_SCHEDULE_CHARS {
            let _ = writeln!(out, "schedule: {s}");
        } else {
            let _ = writeln!(
                out,
                "schedule: {} characters long; `--format jsonl` carries it whole",
                s.len()
            );
        }
    }
    let _ = writeln!(out, "again: {}", r.command_line());
    out
}

/// The verdict and the two figures, each with what it means.
fn verdict_lines(out: &mut String, vd: &crate::trace::Verdict, lang: Lang) {
    let mark = match (vd.correct, lang) {
        (true, Lang::En) => "CORRECT",
        (false, Lang::En) => "WRONG",
        (true, Lang::Zh) => "正确",
        (false, Lang::Zh) => "错误",
    };
    let _ = writeln!(out, "verdict: {mark} ({}): {}", vd.criterion, vd.why);
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
                let _ = writeln!(out, "{:>7}  … {} rows elided …", "", i - prev - 1);
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

/// How many rows the whole table has and which row holds the first lost update,
/// found without formatting a row: a long run has millions and the report prints
/// about sixty, so only those are formatted (by `trace::rows`, on their events).
struct TableShape {
    rows: usize,
    first_lost_row: Option<usize>,
}

/// Calls `visit(row, first event)` for every row `trace::rows` would make, in
/// order, and returns how many there are. It mirrors how `rows` joins events: at
/// line granularity, an actor's consecutive events on one line make one row, unless
/// the row says "blocked".
fn walk_rows(t: &Trace, g: Granularity, code: &str, mut visit: impl FnMut(usize, usize)) -> usize {
    let p = &t.program;
    let blocked_line: Vec<bool> = code.lines().map(|l| l.contains("blocked")).collect();
    // (actor, line, end, may be joined) of the last row.
    let mut last: Option<(u16, u32, usize, bool)> = None;
    let mut n = 0;
    for (seq, e) in t.events.iter().enumerate() {
        if matches!(e.kind, EventKind::GilTake | EventKind::GilDrop) {
            continue;
        }
        let line = p.line(e.actor, e.pc);
        let joinable = g == Granularity::Line && e.kind == EventKind::Exec;
        if joinable
            && let Some((actor, l, end, open)) = &mut last
            && *actor == e.actor
            && *l == line
            && *end == seq
            && *open
        {
            *end = seq + 1;
            continue;
        }
        let says_blocked = e.kind == EventKind::Block
            || (joinable
                && blocked_line
                    .get(line.saturating_sub(1) as usize)
                    .copied()
                    .unwrap_or(false));
        last = Some((e.actor, line, seq + 1, !says_blocked));
        visit(n, seq);
        n += 1;
    }
    n
}

impl TableShape {
    fn of(t: &Trace, g: Granularity, code: &str, first_lost: Option<usize>) -> TableShape {
        let mut first_lost_row = None;
        let rows = walk_rows(t, g, code, |row, start| {
            if first_lost.is_some_and(|s| s >= start) {
                first_lost_row = Some(row);
            }
        });
        TableShape {
            rows,
            first_lost_row,
        }
    }

    /// The rows `shown` (sorted), formatted, as runs of consecutive rows.
    fn windows(&self, t: &Trace, g: Granularity, code: &str, shown: &[usize]) -> Windows {
        // Consecutive runs of shown rows: (first row, last row).
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &i in shown {
            match runs.last_mut() {
                Some((_, b)) if *b + 1 == i => *b = i,
                _ => runs.push((i, i)),
            }
        }
        // The first event of each run's first row and of the row after its last.
        let mut bounds: Vec<(Option<usize>, Option<usize>)> = vec![(None, None); runs.len()];
        walk_rows(t, g, code, |row, start| {
            for (k, &(a, b)) in runs.iter().enumerate() {
                if row == a {
                    bounds[k].0 = Some(start);
                }
                if row == b + 1 {
                    bounds[k].1 = Some(start);
                }
            }
        });
        runs.iter()
            .zip(bounds)
            .filter_map(|(&(a, _), (start, end))| {
                let range = start?..end.unwrap_or(t.events.len());
                Some((a, rows(t, g, code, range)))
            })
            .collect()
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
    let state = StateReplay::at(p, &t.events, t.events.len());
    let _ = writeln!(out, "threading.local(), one dictionary per thread:");
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
    let state = StateReplay::at(p, &t.events, t.events.len());
    let _ = writeln!(out, "DEADLOCK: no thread can ever run again");
    for e in dl {
        debug_assert_eq!(e.kind, EventKind::Deadlock);
        let me = &t.actor_labels[e.actor as usize];
        let held: Vec<&str> = (0..p.locks.len() as u16)
            .filter(|&l| state.lock_holder(l) == Some(e.actor))
            .map(|l| p.locks[l as usize].name.as_str())
            .collect();
        let waits = match p.instr(e.actor, e.pc) {
            Some(crate::program::Instr::Acquire(l)) => {
                format!("waits for {}", p.locks[l as usize].name)
            }
            Some(crate::program::Instr::Join(a)) => {
                format!("waits for {} to finish", t.actor_labels[a as usize])
            }
            _ => crate::trace::forever(p, e),
        };
        let is_join = matches!(p.instr(e.actor, e.pc), Some(crate::program::Instr::Join(_)));
        let by = if e.value >= 0 && !is_join {
            format!(" (held by {})", t.actor_labels[e.value as usize])
        } else {
            String::new()
        };
        let holds = if held.is_empty() {
            String::new()
        } else {
            format!("holds {}, ", held.join(" and "))
        };
        let _ = writeln!(out, "  {me} {holds}{waits}{by}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::run::{Origin, Run, Start};

    /// The rows the report prints are the rows the whole table has at those places,
    /// for every lesson, at both granularities.
    #[test]
    fn printed_rows_are_the_whole_tables_rows() {
        let catalog = Catalog::embedded().expect("lessons load");
        for l in catalog.lessons() {
            for g in ["line", "bytecode"] {
                let mut sets = vec![format!("granularity={g}")];
                if l.knob("iterations").is_some() {
                    sets.push("iterations=300".into());
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
                    let first_lost = lost_updates(&t.program, &t.events).first().map(|x| x.seq);
                    let shape = TableShape::of(&t, gran, &code, first_lost);
                    assert_eq!(shape.rows, all.len(), "{} {g} seed {seed}", l.id);
                    let want_first = all.iter().position(|r| r.lost_update);
                    if first_lost.is_some() {
                        assert_eq!(shape.first_lost_row, want_first, "{} {g}", l.id);
                    }
                    let shown = chosen(shape.rows, shape.first_lost_row);
                    let got: Vec<(usize, Row)> = shape
                        .windows(&t, gran, &code, &shown)
                        .into_iter()
                        .flat_map(|(first, rs)| {
                            rs.into_iter().enumerate().map(move |(k, r)| (first + k, r))
                        })
                        .collect();
                    let want: Vec<(usize, Row)> =
                        shown.iter().map(|&i| (i, all[i].clone())).collect();
                    assert_eq!(got, want, "{} {g} seed {seed}", l.id);
                }
            }
        }
    }
}
