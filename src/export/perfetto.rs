//! Chrome's Trace Event Format, which Perfetto (ui.perfetto.dev) opens: a process
//! per Python process (named, with its real PID in a live run), a track per actor,
//! a slice per run of one Python line named by the line's code, instant marks for
//! blocks, GIL hand-overs and overwritten writes, and flows from a put or a send to
//! the get or recv that takes the value.

use super::Report;
use crate::program::{Instr, Program};
use crate::trace::{EventKind, Trace, lost_updates};
use serde_json::{Value, json};

/// The PID a process shows in Perfetto: the one in its label (real in a live run,
/// simulated in a stepped one), otherwise its number.
fn pids(t: &Trace) -> Vec<i64> {
    let p = &t.program;
    (0..p.process_count() as u16)
        .map(|proc_| {
            p.actors
                .iter()
                .position(|a| a.process == proc_)
                .and_then(|a| label_pid(&t.actor_labels[a]))
                .unwrap_or(proc_ as i64)
        })
        .collect()
}

/// `MainProcess (pid 4242)` or `… (pid 1000, simulated)` → the number.
fn label_pid(label: &str) -> Option<i64> {
    let rest = &label[label.find("(pid ")? + 5..];
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

fn process_name(p: &Program, proc_: u16) -> String {
    p.actors
        .iter()
        .find(|a| a.process == proc_)
        .map(|a| a.name.clone())
        .unwrap_or_else(|| format!("process {proc_}"))
}

/// Whether an instruction hands a value to another process (`put`, `send`), or
/// takes one (`get`, `recv`): the two ends of a flow.
fn hand_over(ins: Option<Instr>) -> Option<(bool, u16)> {
    match ins? {
        Instr::QueuePut { q, .. } => Some((true, q)),
        Instr::QueueGet { q, .. } => Some((false, q)),
        // A pipe's two ends are one channel: what one end sends the other receives.
        Instr::PipeSend(c) => Some((true, 1000 + (c ^ 1))),
        Instr::PipeRecv { conn, .. } => Some((false, 1000 + conn)),
        _ => None,
    }
}

pub fn perfetto_json(r: &Report) -> Value {
    let t = r.trace;
    let p = &t.program;
    let code = r.lesson.code(r.knobs);
    let lines: Vec<&str> = code.lines().collect();
    let pid_of = pids(t);
    let pid = |a: usize| pid_of[p.actors[a].process as usize];
    let mut evs: Vec<Value> = Vec::new();
    for (i, &n) in pid_of.iter().enumerate() {
        evs.push(json!({"ph":"M","name":"process_name","pid":n,"args":{"name":process_name(p, i as u16)}}));
    }
    for (a, label) in t.actor_labels.iter().enumerate() {
        evs.push(json!({"ph":"M","name":"thread_name","pid":pid(a),"tid":a,"args":{"name":label}}));
    }
    let us = |ns: u64| ns as f64 / 1000.0;
    let text_of = |line: u32| {
        lines
            .get(line.saturating_sub(1) as usize)
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| format!("line {line}"))
    };
    // Consecutive executions of one line by one actor become one slice.
    let mut open: Vec<Option<(u32, u64, u64)>> = vec![None; p.actors.len()];
    let close = |evs: &mut Vec<Value>, a: usize, slot: (u32, u64, u64)| {
        let (line, start, end) = slot;
        evs.push(
            json!({"ph":"X","name":text_of(line),"cat":"line","pid":pid(a),"tid":a,
            "ts":us(start),"dur":us(end.saturating_sub(start)).max(0.001),"args":{"line":line}}),
        );
    };
    let lost: Vec<usize> = lost_updates(p, &t.events).iter().map(|l| l.seq).collect();
    // Per channel: the puts not yet taken, as flow ids.
    let mut pending: std::collections::HashMap<u16, std::collections::VecDeque<usize>> =
        Default::default();
    for (seq, e) in t.events.iter().enumerate() {
        let a = e.actor as usize;
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
                if lost.binary_search(&seq).is_ok() {
                    evs.push(json!({"ph":"i","s":"p","name":"overwritten write","cat":"race",
                        "pid":pid(a),"tid":a,"ts":us(e.t_ns),
                        "args":{"wrote":e.value,"means":"this write wiped out another's write it never read"}}));
                }
                match hand_over(p.instr(e.actor, e.pc)) {
                    Some((true, ch)) => {
                        pending.entry(ch).or_default().push_back(seq);
                        evs.push(json!({"ph":"s","id":seq,"name":"hand-over","cat":"flow",
                            "pid":pid(a),"tid":a,"ts":us(e.t_ns)}));
                    }
                    Some((false, ch)) => {
                        if let Some(from) = pending.get_mut(&ch).and_then(|q| q.pop_front()) {
                            evs.push(json!({"ph":"f","bp":"e","id":from,"name":"hand-over",
                                "cat":"flow","pid":pid(a),"tid":a,"ts":us(e.t_ns)}));
                        }
                    }
                    None => {}
                }
            }
            k => {
                if let Some(slot) = open[a].take() {
                    close(&mut evs, a, slot);
                }
                evs.push(json!({"ph":"i","s":"t","name":k.name(),"pid":pid(a),"tid":a,"ts":us(e.t_ns),"args":{"value":e.value}}));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_gives_its_pid() {
        assert_eq!(label_pid("MainProcess (pid 4242)"), Some(4242));
        assert_eq!(label_pid("Process-1 (pid 1001, simulated)"), Some(1001));
        assert_eq!(label_pid("t1"), None);
    }
}
