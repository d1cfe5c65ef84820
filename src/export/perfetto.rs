//! Chrome's Trace Event Format, which Perfetto (ui.perfetto.dev) opens: one track
//! per actor, a slice per Python line, instant marks for blocks and GIL hand-overs.

use crate::trace::{EventKind, Trace};
use serde_json::{Value, json};

pub fn perfetto_json(t: &Trace) -> Value {
    let p = &t.program;
    let mut evs: Vec<Value> = Vec::new();
    for (a, label) in t.actor_labels.iter().enumerate() {
        let actor = &p.actors[a];
        evs.push(json!({"ph":"M","name":"thread_name","pid":actor.process,"tid":a,"args":{"name":label}}));
    }
    let us = |ns: u64| ns as f64 / 1000.0;
    // Consecutive executions of one line by one actor become one slice.
    let mut open: Vec<Option<(u32, u64, u64)>> = vec![None; p.actors.len()];
    let close = |evs: &mut Vec<Value>, a: usize, slot: (u32, u64, u64)| {
        let (line, start, end) = slot;
        evs.push(
            json!({"ph":"X","name":format!("line {line}"),"pid":p.actors[a].process,"tid":a,
            "ts":us(start),"dur":us(end.saturating_sub(start)).max(0.001)}),
        );
    };
    for e in &t.events {
        let a = e.actor as usize;
        let pid = p.actors[a].process;
        match e.kind {
            EventKind::Exec => {
                let line = p.line(e.actor, e.pc);
                match open[a] {
                    Some((l, s, _)) if l == line => open[a] = Some((l, s, e.t_ns + 1)),
                    other => {
                        if let Some(slot) = other {
                            close(&mut evs, a, slot);
                        }
                        open[a] = Some((line, e.t_ns, e.t_ns + 1));
                    }
                }
            }
            k => {
                if let Some(slot) = open[a].take() {
                    close(&mut evs, a, slot);
                }
                evs.push(json!({"ph":"i","s":"t","name":k.name(),"pid":pid,"tid":a,"ts":us(e.t_ns),"args":{"value":e.value}}));
            }
        }
    }
    for (a, slot) in open.iter_mut().enumerate() {
        if let Some(slot) = slot.take() {
            close(&mut evs, a, slot);
        }
    }
    json!({"traceEvents": evs, "displayTimeUnit": "ns"})
}
