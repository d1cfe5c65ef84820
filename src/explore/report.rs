//! `interleave explore` output: a histogram of outcomes with a replayable witness
//! each, as text or JSON lines.

use super::{Exploration, Found, Method};
use crate::lesson::{Knobs, Lesson};
use serde_json::{Map, Value as Json, json};
use std::fmt::Write as _;

/// Widest bar of the histogram, in cells.
const BAR: usize = 24;
/// Longest output shown on an outcome's line before it is cut.
const OUTPUT_CHARS: usize = 60;

fn knob_args(knobs: &Knobs) -> String {
    knobs
        .iter()
        .map(|(n, v)| format!(" --set {n}={v}"))
        .collect()
}

/// What a student sees of an outcome: the variables, the output, a deadlock.
fn describe(f: &Found) -> String {
    let mut parts: Vec<String> = f
        .key
        .vars
        .iter()
        .map(|(n, v)| format!("{n} = {}", crate::program::pytext::value_text(*v)))
        .collect();
    if !f.key.output.is_empty() {
        let out = f.key.output.join(" / ");
        let shown: String = if out.chars().count() > OUTPUT_CHARS {
            let mut s: String = out.chars().take(OUTPUT_CHARS - 1).collect();
            s.push('…');
            s
        } else {
            out
        };
        parts.push(format!("prints {shown}"));
    }
    if f.key.deadlock {
        parts.push("DEADLOCK".into());
    }
    if parts.is_empty() {
        parts.push("(no shared variables, nothing printed)".into());
    }
    parts.join(" · ")
}

fn bar(share: f64) -> String {
    let eighths = (share * (BAR * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(['▏', '▎', '▍', '▌', '▋', '▊', '▉'][eighths % 8 - 1]);
    }
    s
}

/// The text report.
pub fn text(lesson: &Lesson, knobs: &Knobs, ex: &Exploration) -> String {
    let mut out = String::new();
    let method = match ex.method {
        Method::Sampled => "sampled seeds",
        Method::Exhaustive => "every interleaving (DPOR)",
    };
    let _ = writeln!(
        out,
        "== {} — outcomes, {method} ({}) ==\n",
        lesson.id,
        knobs.summary()
    );
    let total = ex.executions.max(1) as f64;
    let runs = match ex.method {
        Method::Sampled => "runs",
        Method::Exhaustive => "interleavings explored",
    };
    for (i, f) in ex.outcomes.iter().enumerate() {
        let share = f.count as f64 / total;
        let _ = writeln!(out, "{:>3}. {}", i + 1, describe(f));
        let _ = writeln!(
            out,
            "     {:>9} {:>6.2}%  {}",
            f.count,
            share * 100.0,
            bar(share)
        );
        let fewest = if ex.minimal {
            "the fewest possible"
        } else {
            "fewest seen"
        };
        let replay = match f.seed {
            Some(s) => format!(
                "interleave run {}{} --seed {s}",
                lesson.id,
                knob_args(knobs)
            ),
            None => format!(
                "interleave run {}{} --schedule '{}'",
                lesson.id,
                knob_args(knobs),
                f.schedule
            ),
        };
        let _ = writeln!(
            out,
            "     {} preemption{} ({fewest}): {replay}",
            f.preemptions,
            if f.preemptions == 1 { "" } else { "s" }
        );
        if f.seed.is_some() {
            let _ = writeln!(out, "     schedule: {}", f.schedule);
        }
    }
    let bound = match ex.max_preemptions {
        Some(k) => format!(
            " of runs with at most {k} preemption{}",
            if k == 1 { "" } else { "s" }
        ),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "\n{} distinct outcome{}{bound}, {}; {} {runs}, {:.3} s",
        ex.outcomes.len(),
        if ex.outcomes.len() == 1 { "" } else { "s" },
        ex.stop.describe(),
        ex.executions,
        ex.elapsed.as_secs_f64(),
    );
    if ex.counts != ex.stop {
        let _ = writeln!(
            out,
            "the counts are {}; the outcome set is complete (every reachable state was visited)",
            ex.counts.describe()
        );
    }
    if ex.method == Method::Exhaustive {
        let _ = writeln!(
            out,
            "count: interleavings that end so, one per class of runs that differ only in the \
             order of steps touching nothing in common"
        );
    }
    out
}

/// One line per outcome, then a summary line.
pub fn write_jsonl(
    lesson: &Lesson,
    knobs: &Knobs,
    ex: &Exploration,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let total = ex.executions.max(1) as f64;
    for f in &ex.outcomes {
        let fin: Map<String, Json> = f
            .key
            .vars
            .iter()
            .map(|(n, v)| (n.clone(), json!(v)))
            .collect();
        let mut line = json!({
            "kind": "outcome",
            "final": fin,
            "output": f.key.output,
            "deadlock": f.key.deadlock,
            "count": f.count,
            "share": f.count as f64 / total,
            "schedule": f.schedule.to_string(),
            "preemptions": f.preemptions,
        });
        if let Some(s) = f.seed {
            line["seed"] = json!(s);
        }
        writeln!(w, "{line}")?;
    }
    let knob_map: Map<String, Json> = knobs
        .iter()
        .map(|(n, v)| (n.to_string(), json!(v.to_string())))
        .collect();
    let summary = json!({
        "kind": "summary",
        "lesson": lesson.id,
        "knobs": knob_map,
        "method": match ex.method { Method::Sampled => "sampled", Method::Exhaustive => "exhaustive" },
        "executions": ex.executions,
        "distinct": ex.outcomes.len(),
        "elapsed_ms": ex.elapsed.as_secs_f64() * 1e3,
        "complete": ex.stop.is_complete(),
        "stop": ex.stop.describe(),
        "counts_complete": ex.counts.is_complete(),
        "counts_stop": ex.counts.describe(),
        "max_preemptions": ex.max_preemptions,
        "fewest_preemptions_proven": ex.minimal,
    });
    writeln!(w, "{summary}")
}
