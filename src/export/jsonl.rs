//! JSON lines: one object per event, then a summary line.

use super::{Replay, Report};
use crate::program::Instr;
use crate::trace::lost_updates;
use serde_json::{Map, Value, json};
use std::io::{self, Write};

/// Writes every event, then `{"kind":"summary", …}`.
pub fn write_jsonl(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let t = r.trace;
    let p = &t.program;
    let mut out = io::BufWriter::new(out);
    let mut next_output = 0usize;
    for (seq, e) in t.events.iter().enumerate() {
        let mut o = Map::new();
        o.insert("seq".into(), json!(seq));
        o.insert("t_ns".into(), json!(e.t_ns));
        o.insert("actor".into(), json!(t.actor_labels[e.actor as usize]));
        o.insert("kind".into(), json!(e.kind.name()));
        o.insert("line".into(), json!(p.line(e.actor, e.pc)));
        if let Some(i) = p.instr(e.actor, e.pc) {
            o.insert("instr".into(), json!(p.dis(e.actor, i)));
            if matches!(i, Instr::Print { .. } | Instr::Raise(_))
                && let Some(line) = t.output.get(next_output)
                && line.seq == seq as u64
            {
                o.insert("text".into(), json!(line.text));
                next_output += 1;
            }
        }
        o.insert("value".into(), json!(e.value));
        serde_json::to_writer(&mut out, &Value::Object(o))?;
        out.write_all(b"\n")?;
    }
    let finals: Map<String, Value> = t
        .final_vars()
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    let knobs: Map<String, Value> = r
        .knobs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v.to_string())))
        .collect();
    let mut s = json!({
        "kind": "summary",
        "lesson": r.lesson.id,
        "mode": r.mode.name(),
        "knobs": knobs,
        "final": finals,
        "output": t.output.iter().map(|o| o.text.clone()).collect::<Vec<_>>(),
        "events": t.events.len(),
        "overwritten_writes": lost_updates(p, &t.events).len(),
        "finished": r.finished,
        "deadlock": !t.deadlock().is_empty(),
        "wall_ms": (r.wall_ms * 1000.0).round() / 1000.0,
    });
    if let Some(v) = r.verdict() {
        s["verdict"] = json!({"correct": v.correct, "why": v.why, "criterion": v.criterion});
        let expected: Map<String, Value> = v
            .expected
            .iter()
            .map(|(k, x)| (k.clone(), json!(x)))
            .collect();
        s["expected"] = Value::Object(expected);
        if let Some(m) = v.missing {
            s["missing_effect"] = json!({"value": m.value, "unit": m.unit});
        }
    }
    match &r.replay {
        Replay::Seed(seed, sch) => {
            s["seed"] = json!(seed);
            s["schedule"] = json!(sch.to_string());
        }
        Replay::Schedule(sch) => s["schedule"] = json!(sch.to_string()),
        Replay::Live => {}
    }
    serde_json::to_writer(&mut out, &s)?;
    out.write_all(b"\n")?;
    out.flush()
}
