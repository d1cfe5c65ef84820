//! The text report of `interleave run`: output, the interleaving table, the final
//! shared state, and how to replay the run.

use super::{Replay, Report};
use crate::lesson::Lang;
use crate::trace::{
    EventKind, Row, StateReplay, missing_explained, overwrite_legend, overwritten_explained, rows,
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
    let all = rows(t, cfg.granularity, &code, 0..t.events.len());
    let _ = writeln!(
        out,
        "\n== {} ({} events, {} rows, {} steps) ==",
        heading(lang, "interleaving"),
        t.events.len(),
        all.len(),
        cfg.granularity.name()
    );
    table(&mut out, &t.actor_labels, &all, lang);

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
        Replay::Live => {
            let _ = writeln!(
                out,
                "live run on real threads: {:.1} ms wall time; a live run is not replayable, \
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

fn table(out: &mut String, labels: &[String], rows: &[Row], lang: Lang) {
    let n = labels.len().max(1);
    let width = (108 / n).clamp(22, 48);
    let mut header = format!("{:>7}  ", "#");
    for l in labels {
        let _ = write!(header, "{:<width$}", clip(l, width - 1));
    }
    out.push_str(header.trim_end());
    out.push('\n');
    let shown = chosen(rows);
    let mut last: Option<usize> = None;
    for i in shown {
        if let Some(prev) = last
            && i > prev + 1
        {
            let _ = writeln!(out, "{:>7}  … {} rows elided …", "", i - prev - 1);
        }
        last = Some(i);
        let row = &rows[i];
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
    if rows.iter().any(|r| r.lost_update) {
        let _ = writeln!(out, "{:>7}  {}", "", overwrite_legend(lang));
    }
}

/// Which rows a long table shows: the start, the first lost update, the end.
fn chosen(rows: &[Row]) -> Vec<usize> {
    let n = rows.len();
    if n <= HEAD_ROWS + TAIL_ROWS + 10 {
        return (0..n).collect();
    }
    let mut keep: Vec<usize> = (0..HEAD_ROWS).chain(n - TAIL_ROWS..n).collect();
    if let Some(first) = rows.iter().position(|r| r.lost_update) {
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
