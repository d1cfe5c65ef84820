//! Chrome's Trace Event Format, which Perfetto (ui.perfetto.dev) opens: a process
//! per Python process (named, with its real PID in a live run), a track per actor,
//! a slice per run of one Python line named by the line's code, instant marks for
//! blocks, GIL hand-overs and overwritten writes, and flows from a put or a send to
//! the get or recv that takes the value.

use super::Report;
use crate::program::{Instr, Program};
use crate::trace::{EventKind, LostScan, Trace};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};

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
        // A failed try hands nothing over; the flow pairs by order anyway.
        Instr::QueueTry { q, put, .. } => Some((put, q)),
        Instr::QueueAsk { .. } => None,
        // A pipe's two ends are one channel: what one end sends the other receives.
        Instr::PipeSend(c) => Some((true, 1000 + (c ^ 1))),
        Instr::PipeRecv { conn, .. } => Some((false, 1000 + conn)),
        // `r.ready()` only looks.
        Instr::QueueReady(_)
        | crate::program::local_instr!()
        | Instr::LoadGlobal(_)
        | Instr::StoreGlobal(_)
        | Instr::ListStore { .. }
        | Instr::Acquire(_)
        | Instr::Release(_)
        | Instr::Start(_)
        | Instr::Join(_)
        | Instr::JoinFor { .. }
        | Instr::Print { .. }
        | Instr::Sleep(_)
        | Instr::Work(_)
        | Instr::TlsSet { .. }
        | Instr::TlsGet(_)
        | Instr::Clock { .. }
        | Instr::Ident(_)
        | Instr::Raise(_)
        | Instr::Exit(_)
        | Instr::Fork(_)
        | Instr::ForkChild
        | Instr::GetPid
        | Instr::GetPpid
        | Instr::ProcPid(_)
        | Instr::ProcAlive(_)
        | Instr::ProcExitCode(_)
        | Instr::Terminate(_)
        | Instr::FileRead(_)
        | Instr::FileWrite(_)
        | Instr::PipeClose(_)
        | Instr::RunProgram { .. }
        | Instr::PrintCaptured { .. }
        | Instr::BufPrint { .. }
        | Instr::Flush(_) => None,
        crate::program::cond_instr!()
        | crate::program::barrier_instr!()
        | crate::program::sync_instr!()
        | crate::program::aio_instr!() => None,
    }
}

/// The whole trace of a finished run as one JSON value (tests, small runs).
pub fn perfetto_json(r: &Report) -> Value {
    let t = r.trace;
    let mut evs: Vec<Value> = Vec::new();
    let mut stream = PerfettoStream::new(t, &r.lesson.code(r.knobs));
    let mut push = |v: Value| {
        evs.push(v);
        Ok(())
    };
    // Pushing on a vector cannot fail.
    let _ = stream
        .head(t, &mut push)
        .and_then(|_| stream.events(t, &mut push))
        .and_then(|_| stream.end(t, &mut push));
    json!({"traceEvents": evs, "displayTimeUnit": "ns"})
}

/// Trace events made while a run goes on: the slices still open, the
/// hand-overs not yet taken and the overwritten writes carry on from one
/// stretch of events to the next, so the events need not be kept.
pub struct PerfettoStream {
    /// The code's lines, trimmed.
    lines: Vec<String>,
    pid_of: Vec<i64>,
    /// Per actor: the slice open (line, start, end).
    open: Vec<Option<(u32, u64, u64)>>,
    lost: LostScan,
    /// Per channel: the puts not yet taken, as flow ids.
    pending: HashMap<u16, VecDeque<usize>>,
    /// The run's number of the next event to take.
    next: usize,
}

type Emit<'e> = dyn FnMut(Value) -> io::Result<()> + 'e;

impl PerfettoStream {
    pub fn new(t: &Trace, code: &str) -> PerfettoStream {
        let p = &t.program;
        PerfettoStream {
            lines: code.lines().map(|l| l.trim().to_string()).collect(),
            pid_of: pids(t),
            open: vec![None; p.actors.len()],
            lost: LostScan::new(p),
            pending: HashMap::new(),
            next: t.base,
        }
    }

    fn pid(&self, p: &Program, a: usize) -> i64 {
        self.pid_of[p.actors[a].process as usize]
    }

    fn text_of(&self, line: u32) -> String {
        self.lines
            .get(line.saturating_sub(1) as usize)
            .filter(|l| !l.is_empty())
            .cloned()
            .unwrap_or_else(|| format!("line {line}"))
    }

    /// The names of the processes and the actors' tracks: first.
    pub fn head(&self, t: &Trace, emit: &mut Emit) -> io::Result<()> {
        let p = &t.program;
        for (i, &n) in self.pid_of.iter().enumerate() {
            emit(
                json!({"ph":"M","name":"process_name","pid":n,"args":{"name":process_name(p, i as u16)}}),
            )?;
        }
        for (a, label) in t.actor_labels.iter().enumerate() {
            emit(
                json!({"ph":"M","name":"thread_name","pid":self.pid(p, a),"tid":a,"args":{"name":label}}),
            )?;
        }
        Ok(())
    }

    /// Closes actor `a`'s open slice, if any.
    fn close(&mut self, p: &Program, a: usize, emit: &mut Emit) -> io::Result<()> {
        let Some((line, start, end)) = self.open[a].take() else {
            return Ok(());
        };
        emit(
            json!({"ph":"X","name":self.text_of(line),"cat":"line","pid":self.pid(p, a),"tid":a,
            "ts":us(start),"dur":us(end.saturating_sub(start)).max(0.001),"args":{"line":line}}),
        )
    }

    /// Takes in the events of `t` not taken yet (the run's numbering: `t` may
    /// have dropped the ones taken).
    pub fn events(&mut self, t: &Trace, emit: &mut Emit) -> io::Result<()> {
        let p = &*t.program;
        for seq in self.next.max(t.base)..t.total_len() {
            let e = &t.events[seq - t.base];
            self.next = seq + 1;
            let a = e.actor as usize;
            let pid = self.pid(p, a);
            let lost = self.lost.feed(p, seq, e).is_some();
            if e.kind != EventKind::Exec {
                self.close(p, a, emit)?;
                emit(
                    json!({"ph":"i","s":"t","name":e.kind.name(),"pid":pid,"tid":a,"ts":us(e.t_ns),"args":{"value":e.value}}),
                )?;
                continue;
            }
            let line = p.line(e.actor, e.pc);
            match self.open[a] {
                Some((l, s, _)) if l == line => self.open[a] = Some((l, s, e.t_ns + 1)),
                _ => {
                    self.close(p, a, emit)?;
                    self.open[a] = Some((line, e.t_ns, e.t_ns + 1));
                }
            }
            if lost {
                emit(
                    json!({"ph":"i","s":"p","name":"overwritten write","cat":"race",
                    "pid":pid,"tid":a,"ts":us(e.t_ns),
                    "args":{"wrote":e.value,"means":"this write wiped out another's write it never read"}}),
                )?;
            }
            match hand_over(p.instr(e.actor, e.pc)) {
                Some((true, ch)) => {
                    self.pending.entry(ch).or_default().push_back(seq);
                    emit(json!({"ph":"s","id":seq,"name":"hand-over","cat":"flow",
                        "pid":pid,"tid":a,"ts":us(e.t_ns)}))?;
                }
                Some((false, ch)) => {
                    if let Some(from) = self.pending.get_mut(&ch).and_then(|q| q.pop_front()) {
                        emit(json!({"ph":"f","bp":"e","id":from,"name":"hand-over",
                            "cat":"flow","pid":pid,"tid":a,"ts":us(e.t_ns)}))?;
                    }
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Closes the slices still open: last, after the run's last events.
    pub fn end(&mut self, t: &Trace, emit: &mut Emit) -> io::Result<()> {
        for a in 0..self.open.len() {
            self.close(&t.program, a, emit)?;
        }
        Ok(())
    }
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// `{"displayTimeUnit":"ns","traceEvents":[…]}` written while a run goes on,
/// byte for byte what `serde_json` writes of [`perfetto_json`].
pub struct PerfettoWriter<'a> {
    out: io::BufWriter<&'a mut dyn Write>,
    stream: PerfettoStream,
    first: bool,
}

impl<'a> PerfettoWriter<'a> {
    /// Starts the file with the names of the processes and tracks of `t`.
    pub fn new(out: &'a mut dyn Write, t: &Trace, code: &str) -> io::Result<PerfettoWriter<'a>> {
        let mut w = PerfettoWriter {
            out: io::BufWriter::new(out),
            stream: PerfettoStream::new(t, code),
            first: true,
        };
        w.out
            .write_all(br#"{"displayTimeUnit":"ns","traceEvents":["#)?;
        let PerfettoWriter { out, stream, first } = &mut w;
        stream.head(t, &mut |v| write_one(out, first, &v))?;
        Ok(w)
    }

    /// Writes the events of `t` not written yet.
    pub fn events(&mut self, t: &Trace) -> io::Result<()> {
        let PerfettoWriter { out, stream, first } = self;
        stream.events(t, &mut |v| write_one(out, first, &v))
    }

    /// Closes what is open and the file, after the run's last events.
    pub fn finish(mut self, t: &Trace) -> io::Result<()> {
        let PerfettoWriter { out, stream, first } = &mut self;
        stream.end(t, &mut |v| write_one(out, first, &v))?;
        self.out.write_all(b"]}\n")?;
        self.out.flush()
    }
}

fn write_one(out: &mut impl Write, first: &mut bool, v: &Value) -> io::Result<()> {
    if !std::mem::take(first) {
        out.write_all(b",")?;
    }
    serde_json::to_writer(&mut *out, v).map_err(|e| match e.io_error_kind() {
        // The pipe error inside serde's error keeps its kind.
        Some(kind) => io::Error::new(kind, e),
        None => io::Error::other(e),
    })
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
