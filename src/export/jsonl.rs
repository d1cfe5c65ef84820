//! JSON lines: one object per event, then a summary line.

use super::{Replay, Report};
use crate::trace::Trace;
use serde_json::{Map, Value, json};
use std::io::{self, Write};

/// Writes every event, then `{"kind":"summary", …}`.
pub fn write_jsonl(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut s = JsonlStream::new(out);
    s.events(r.trace)?;
    s.summary(r)
}

/// JSON lines written while the run goes on: [`JsonlStream::events`] after each
/// stretch of the run writes what is new, so the events need not be kept.
pub struct JsonlStream<'a> {
    out: io::BufWriter<&'a mut dyn Write>,
    /// The run's number of the next event to write.
    next: usize,
    /// A streamed run's schedule (it keeps no `Schedule`).
    pub schedule: Option<super::StreamedSchedule>,
    next_output: usize,
}

impl<'a> JsonlStream<'a> {
    pub fn new(out: &'a mut dyn Write) -> Self {
        JsonlStream {
            out: io::BufWriter::new(out),
            next: 0,
            next_output: 0,
            schedule: None,
        }
    }

    /// Writes the events of `t` not written yet (the run's numbering: a trace
    /// that dropped written events goes on where it was).
    pub fn events(&mut self, t: &Trace) -> io::Result<()> {
        let p = &t.program;
        let out = &mut self.out;
        for seq in self.next.max(t.base)..t.total_len() {
            let e = &t.events[seq - t.base];
            let mut o = Map::new();
            o.insert("seq".into(), json!(seq));
            o.insert("t_ns".into(), json!(e.t_ns));
            o.insert("actor".into(), json!(t.actor_labels[e.actor as usize]));
            o.insert("kind".into(), json!(e.kind.name()));
            o.insert("line".into(), json!(p.line(e.actor, e.pc)));
            if let Some(i) = p.instr(e.actor, e.pc) {
                o.insert("instr".into(), json!(p.dis(e.actor, i)));
                // Whatever printed it (print, an exception, a captured
                // program's output): the line the event wrote, by its number.
                while t
                    .output
                    .get(self.next_output)
                    .is_some_and(|line| line.seq < seq as u64)
                {
                    self.next_output += 1;
                }
                if let Some(line) = t.output.get(self.next_output)
                    && line.seq == seq as u64
                {
                    o.insert("text".into(), json!(line.text));
                    self.next_output += 1;
                }
            }
            o.insert("value".into(), json!(e.value));
            serde_json::to_writer(&mut *out, &Value::Object(o))?;
            out.write_all(b"\n")?;
        }
        self.next = self.next.max(t.total_len());
        Ok(())
    }

    /// The summary line, after the last events.
    pub fn summary(mut self, r: &Report) -> io::Result<()> {
        let t = r.trace;
        let out = &mut self.out;
        let finals: Map<String, Value> = t
            .final_vars()
            .into_iter()
            .map(|(k, v)| match crate::program::pytext::list_items(v) {
                // A list (the memory lesson) as Python prints it.
                Some(_) => (k, json!(crate::program::pytext::value_text(v))),
                None => (k, json!(v)),
            })
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
            "events": t.total_len(),
            "overwritten_writes": t.lost_total(),
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
            Replay::Seed(seed, _) if self.schedule.is_some() => {
                s["seed"] = json!(seed);
                // A run too long to keep its schedule string is replayed by its seed.
                if let Some(text) = self.schedule.as_ref().and_then(|st| st.text.as_ref()) {
                    s["schedule"] = json!(text);
                }
            }
            Replay::Seed(seed, sch) => {
                s["seed"] = json!(seed);
                // A run too long to keep its schedule string is replayed by its seed.
                if !sch.0.is_empty() || t.total_len() == 0 {
                    s["schedule"] = json!(sch.to_string());
                }
            }
            Replay::Schedule(sch) => s["schedule"] = json!(sch.to_string()),
            Replay::Given(sch) => s["schedule"] = json!(sch),
            Replay::Live => {}
            Replay::Recorded(rec) => {
                match &rec.schedule {
                    Ok(sch) => {
                        s["schedule"] = json!(sch.to_string());
                        let sets: Map<String, Value> = rec
                            .sets
                            .iter()
                            .map(|(k, v)| (k.to_string(), json!(v)))
                            .collect();
                        s["schedule_knobs"] = Value::Object(sets);
                    }
                    Err(why) => s["replay_unavailable"] = json!(why.to_string()),
                }
                // Which write each read saw is known: the count is exact, where
                // the trace's order of timestamps can be off by a few.
                if let Some(n) = rec.lost_updates {
                    s["overwritten_writes"] = json!(n);
                }
            }
        }
        serde_json::to_writer(&mut *out, &s)?;
        out.write_all(b"\n")?;
        out.flush()
    }
}
