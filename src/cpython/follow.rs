//! The simulator against the real thing: a stepped run's choices of who runs next,
//! replayed on a real CPython, and the two runs compared.
//!
//! The simulator's instructions are not a version's bytecode (its steps start at
//! `t1 = …`, CPython's at `import threading`, and every version compiles a line
//! differently), so a run is not followed step by step. It is followed by its
//! *shared* steps: the reads and writes of shared globals (and of files every
//! process opens, compared by their text), lock acquisitions and releases (a
//! `multiprocessing.Lock`'s too), printed lines (a traceback is looked for on
//! stderr instead), thread starts and ends, in the order the simulator took
//! them, each with the value it read, wrote or printed. Between two of them every
//! thread only touches its own locals, which commute with everything, so two runs
//! with the same shared steps in the same order end the same way. The controller
//! first lets MainThread run the module's set-up (imports, `def`s, the globals'
//! first values) up to the simulator's first line; then, for each shared step, lets
//! the thread the simulator picked go, one opcode at a time, until it takes that
//! step. A thread that takes another shared step first, or cannot go when the
//! simulator's thread could, is a disagreement, named with its line.

use super::{Drive, Ending as PyEnding, Granularity, Outcome, Session, SessionError, Step};
use crate::lesson::{Knobs, Lesson};
use crate::program::pytext::{file_text, value_text};
use crate::program::{Instr, Program};
use crate::run::{Command, Origin, Run, Start};
use crate::trace::{EventKind, Trace};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// A step that touches what threads share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A shared global read, and its value (as `repr` writes it).
    Read(String, String),
    Write(String, String),
    Acquire,
    Release,
    /// One printed line.
    Print(String),
    /// Started a thread: the simulator's actor, or CPython's thread index.
    Start(u16),
    /// The thread's function returned or raised.
    Exit,
    /// A step that may let a waiting thread go: an Event's `set()`, a Semaphore's
    /// `release()`, a Condition's `notify()`, the arrival that trips a Barrier or
    /// its `abort()`.
    Signal,
    /// Arrived at a barrier (`barrier.wait()`, the arrival that trips it too).
    Arrive,
    /// Left a barrier's `wait()` (tripped, broken or timed out): the barrier drains.
    Leave,
    /// The program's `put` on one of its own `multiprocessing.Queue`s returned or
    /// raised `queue.Full` (`queue_steps`).
    Put,
    /// The program's `get` on one of its own queues returned or raised `queue.Empty`.
    Get,
    /// A `multiprocessing.Pool` worker took its next task, or the pool's None that
    /// ends it, from the pool's task queue (`pool_step`).
    Take,
    /// A `multiprocessing.Pool` worker sent a task's outcome back to the parent on
    /// the pool's result queue (`pool_step`).
    Give,
}

impl std::fmt::Display for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::Read(n, v) => write!(f, "reads {n} = {v}"),
            Effect::Write(n, v) => write!(f, "writes {n} = {v}"),
            Effect::Acquire => f.write_str("acquires a lock"),
            Effect::Release => f.write_str("releases a lock"),
            Effect::Print(t) => write!(f, "prints {t:?}"),
            Effect::Start(_) => f.write_str("starts a thread"),
            Effect::Exit => f.write_str("ends"),
            Effect::Signal => f.write_str("signals waiting threads (set, release, notify)"),
            Effect::Arrive => f.write_str("arrives at a barrier"),
            Effect::Leave => f.write_str("leaves a barrier"),
            Effect::Put => f.write_str("puts to a queue (or finds it full)"),
            Effect::Get => f.write_str("gets from a queue (or finds it empty)"),
            Effect::Take => f.write_str("takes a task from the pool's queue"),
            Effect::Give => f.write_str("sends a task's outcome back to the pool"),
        }
    }
}

/// One shared step of the simulator's run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub actor: u16,
    pub line: u32,
    pub effect: Effect,
    /// The simulator's step (its sequence number) that took it.
    pub seq: u64,
}

/// The shared steps of a stepped run, in its order.
pub fn anchors(trace: &Trace) -> Vec<Anchor> {
    let p: &Program = &trace.program;
    let mut printed = trace.output.iter().peekable();
    let mut out = Vec::new();
    for (i, e) in trace.events.iter().enumerate() {
        let seq = (trace.base + i) as u64;
        let Some(instr) = p.actors[e.actor as usize].code.get(e.pc as usize) else {
            continue;
        };
        let effect = match e.kind {
            // `subprocess.call` starts the program, then waits: its first step blocks.
            EventKind::Block => process_step(instr, None, &out),
            EventKind::Exec => {
                while printed.peek().is_some_and(|o| o.seq < seq) {
                    printed.next();
                }
                let text = printed.peek().filter(|o| o.seq == seq).map(|o| &o.text);
                match *instr {
                    // os.fork starts the child process's actor, as `start()` starts a
                    // thread's (and a Process's); its other side (`ForkChild`) is no
                    // shared step.
                    Instr::Fork(child) => Some(Effect::Start(child)),
                    _ => process_step(instr, text, &out)
                        .or_else(|| file_step(trace, instr, e.value))
                        .or_else(|| thread_step(trace, i, instr, e.value))
                        .or_else(|| pool_step(p, e.actor, instr))
                        .or_else(|| plain_step(p, instr, e.value, text)),
                }
            }
            _ => None,
        };
        if let Some(effect) = effect {
            out.push(Anchor {
                actor: e.actor,
                line: trace.line(e),
                effect,
                seq,
            });
        }
    }
    lines(out)
}

/// A shared step of an instruction no lesson family claims (`process_step`,
/// `file_step`, `thread_step`, `pool_step`): a global's read or write, a lock, a
/// thread's start or end, a printed line.
fn plain_step(
    p: &Program,
    instr: &Instr,
    value: crate::program::Value,
    text: Option<&String>,
) -> Option<Effect> {
    let var = |v: u16| p.vars[v as usize].name.clone();
    let effect = match *instr {
        // As Python writes the value: a lesson's list as `[1, 2, 3]`.
        Instr::LoadGlobal(v) => Effect::Read(var(v), value_text(value)),
        Instr::StoreGlobal(v) => Effect::Write(var(v), value_text(value)),
        Instr::Acquire(_) => Effect::Acquire,
        Instr::Release(_) => Effect::Release,
        Instr::Start(a) => Effect::Start(a),
        Instr::Exit(_) | Instr::Raise(_) => Effect::Exit,
        // A traceback goes to stderr in CPython, which is no shared step (its
        // thread's end is): `Comparison::output_differences` looks for it there.
        Instr::Print { .. } => match text {
            Some(t) if traceback_error(t).is_none() => Effect::Print(t.clone()),
            _ => return None,
        },
        // Every other instruction is no shared step of its own; one that raised
        // (`local.student` never set) ends its thread, which says so in a line
        // of output.
        Instr::Nop(_)
        | Instr::Opcode(_)
        | Instr::LoadConst(_)
        | Instr::LoadFast(_)
        | Instr::StoreFast(_)
        | Instr::BinaryOp(_)
        | Instr::ForRange { .. }
        | Instr::JumpBackward(_)
        | Instr::PopJumpIfFalse(_)
        | Instr::Call(_)
        | Instr::Return
        | Instr::Join(_)
        | Instr::JoinFor { .. }
        | Instr::Sleep(_)
        | Instr::Work(_)
        | Instr::TlsSet { .. }
        | Instr::TlsGet(_)
        | Instr::Clock { .. }
        | Instr::Ident(_)
        // A list changed by index is no shared step (`append` is a read of
        // the list: `thread_step`).
        | Instr::ListStore { .. }
        // A process's other calls (join, a queue's put and get, a pipe's
        // send and recv) show in what it prints; a condition's sleep is not
        // compared as a step of its own (its wait and notify are:
        // `thread_step`).
        | crate::program::process_instr!()
        | crate::program::cond_instr!()
        | crate::program::barrier_instr!()
        | crate::program::sync_instr!()
        // asyncio's tasks share one thread, which the tracer cannot
        // tell apart (the asyncio lesson is not followed).
        | crate::program::aio_instr!() => match text {
            Some(t) if t.starts_with("Exception in thread ") => Effect::Exit,
            _ => return None,
        },
    };
    Some(effect)
}

/// The shared step of a process lesson's own instructions, if any: a program that
/// `subprocess` runs starts its process (once, however often the caller's wait
/// retries), as `os.fork()` does; a write of a modelled stdout buffer that reached
/// the output (the print of a terminal or unbuffered stdout, a flush) prints it.
fn process_step(instr: &Instr, text: Option<&String>, so_far: &[Anchor]) -> Option<Effect> {
    match *instr {
        Instr::RunProgram { child, .. } => {
            let started = so_far.iter().any(|a| a.effect == Effect::Start(child));
            (!started).then_some(Effect::Start(child))
        }
        Instr::BufPrint { .. } | Instr::Flush(_) | Instr::PrintCaptured { .. } => {
            text.map(|t| Effect::Print(t.clone()))
        }
        _ => None,
    }
}

/// Each printed line its own shared step: one write of several lines (a flushed
/// buffer, a program's output that ends with a newline and then print's) prints
/// them in order, at its one step, as CPython's output shows them.
fn lines(anchors: Vec<Anchor>) -> Vec<Anchor> {
    let mut out = Vec::with_capacity(anchors.len());
    for a in anchors {
        match &a.effect {
            Effect::Print(t) if t.contains('\n') => {
                for l in t.split('\n') {
                    out.push(Anchor {
                        effect: Effect::Print(l.to_string()),
                        ..a.clone()
                    });
                }
            }
            _ => out.push(a),
        }
    }
    out
}

/// The variables that give the tracer's sys.stdout what the simulator models: a
/// real buffer configured as CPython configures it on a terminal, a pipe or under
/// `python -u` (`INTERLEAVE_STDOUT`, `PYTHONUNBUFFERED`). None when the program's
/// prints are not buffered by the simulator (each print is its line at once).
pub fn stdout_env(p: &Program) -> Option<[(&'static str, &'static str); 2]> {
    let stdout = p
        .actors
        .iter()
        .flat_map(|a| a.code.iter())
        .find_map(|i| match i {
            Instr::BufPrint { stdout, .. } => Some(*stdout),
            _ => None,
        })?;
    Some(match stdout {
        crate::program::Stdout::Tty => [("INTERLEAVE_STDOUT", "tty"), ("PYTHONUNBUFFERED", "")],
        crate::program::Stdout::Pipe => [("INTERLEAVE_STDOUT", "pipe"), ("PYTHONUNBUFFERED", "")],
        crate::program::Stdout::Unbuffered => {
            [("INTERLEAVE_STDOUT", "pipe"), ("PYTHONUNBUFFERED", "1")]
        }
    })
}

/// A read or write of a file every process shares (the tickets lesson's
/// `ticket.json`), as a read or write of a global named as the program names the
/// file, whose value is the file's text: what CPython's tracer reports of the files
/// the program opens (`_File`). A write is one step in the simulator; in CPython it
/// empties the file at `open(name, 'w')` and fills it at `close()`, with no shared
/// step between, so no other thread runs while the file is empty.
fn file_step(trace: &Trace, instr: &Instr, value: crate::program::Value) -> Option<Effect> {
    let name = |v: u16| trace.program.vars[v as usize].name.clone();
    match *instr {
        Instr::FileRead(v) => Some(Effect::Read(name(v), file_text(value))),
        Instr::FileWrite(v) => Some(Effect::Write(name(v), file_text(value))),
        _ => None,
    }
}

/// The simulator's shared variables that are files (read or written by
/// `FileRead`, `FileWrite`): their values compare as the text the file holds.
fn file_vars(p: &Program) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in &p.actors {
        for instr in &a.code {
            if let Instr::FileRead(v) | Instr::FileWrite(v) = *instr
                && let Some(var) = p.vars.get(v as usize)
                && !out.contains(&var.name)
            {
                out.push(var.name.clone());
            }
        }
    }
    out
}

/// A list of ints as Python writes it: `[1, 2, 3]`.
fn list_text(items: &[crate::program::Value]) -> String {
    let inner: Vec<String> = items.iter().map(|x| x.to_string()).collect();
    format!("[{}]", inner.join(", "))
}

/// The shared step the `i`th event (`instr`, which left `value`) takes on a
/// Condition, Event, Semaphore or Barrier, if any: a step that may let a waiting
/// thread go (`set()`, a `release()` that did not raise, `notify()`, `abort()`), or
/// an arrival at a barrier (the last one trips it). Without these as shared steps,
/// a thread the simulator let go after one would be due in CPython before it.
///
/// Also a condition's wait, which releases its lock in its first step as CPython's
/// Condition.wait does (it takes it back with an `Acquire` of its own), and
/// `numbers.append(4)` on a global list, which CPython takes as a read of the list
/// (LOAD_GLOBAL; the list changes in place, with no STORE_GLOBAL): the event holds
/// the list after.
fn thread_step(
    trace: &Trace,
    i: usize,
    instr: &Instr,
    value: crate::program::Value,
) -> Option<Effect> {
    match *instr {
        Instr::CondWait(_) => Some(Effect::Release),
        Instr::ListStore { var, index } if index == crate::program::LIST_APPEND => {
            let mut items = crate::program::pytext::list_items(value)?;
            items.pop();
            let name = trace.program.vars[var as usize].name.clone();
            Some(Effect::Read(name, list_text(&items)))
        }
        Instr::EventSet(_) | Instr::CondNotify { .. } | Instr::BarrierAbort(_) => {
            Some(Effect::Signal)
        }
        // A broken barrier raises BrokenBarrierError instead: no arrival.
        Instr::BarrierWait { .. } => (value != crate::program::NONE).then_some(Effect::Arrive),
        // Every party leaves `wait()` (CPython's `_exit`), the last arrival too.
        Instr::BarrierSleep { .. } => Some(Effect::Leave),
        Instr::SemRelease { fail, .. } => {
            let actor = trace.events[i].actor;
            let next = trace.events[i + 1..]
                .iter()
                .find(|e| e.actor == actor && e.kind == EventKind::Exec);
            next.is_none_or(|e| e.pc != fail).then_some(Effect::Signal)
        }
        _ => None,
    }
}

/// The program's own queues: those a line of `code` makes, `q = Queue(…)` (or
/// `multiprocessing.Queue`, `mp.Queue`). The simulator's other queues stand for a
/// library's (a Pool's task queue, a future's result), which CPython runs untraced.
pub fn program_queues(program: &Program, code: &str) -> Vec<crate::program::QueueId> {
    let makes = |name: &str| {
        code.lines().any(|l| {
            let Some(rhs) = l.trim_start().strip_prefix(name) else {
                return false;
            };
            let Some(rhs) = rhs.trim_start().strip_prefix('=') else {
                return false;
            };
            let rhs = rhs.trim_start();
            ["Queue(", "multiprocessing.Queue(", "mp.Queue("]
                .iter()
                .any(|m| rhs.starts_with(m))
        })
    };
    (0..program.queues.len())
        .filter(|&q| {
            let name = &program.queues[q].name;
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && makes(name)
        })
        .map(|q| q as crate::program::QueueId)
        .collect()
}

/// The puts and gets on the program's own queues (`program_queues`) as shared steps,
/// merged into `anchors` in the run's order. A put or get that finished, or raised
/// `queue.Full` or `queue.Empty`, is one (a wait is no step). Without them a
/// `get_nowait()` due in CPython would find the queue empty where the simulator's
/// writer had put before it: a blocking get waits for the put (`ahead`), a
/// non-blocking one does not.
pub fn queue_steps(
    trace: &Trace,
    queues: &[crate::program::QueueId],
    anchors: Vec<Anchor>,
) -> Vec<Anchor> {
    if queues.is_empty() {
        return anchors;
    }
    let p: &Program = &trace.program;
    let mut out: Vec<Anchor> = Vec::new();
    // Each actor's last step was one on a program's queue.
    let mut on_queue: BTreeMap<u16, bool> = BTreeMap::new();
    for (i, e) in trace.events.iter().enumerate() {
        let seq = (trace.base + i) as u64;
        // A get_nowait() that raised queue.Empty ends its process (exit code 1): its
        // thread ends there, in CPython as in the simulator.
        if e.kind == EventKind::Ended && e.value == 1 && on_queue.get(&e.actor) == Some(&true) {
            out.push(Anchor {
                actor: e.actor,
                line: trace.line(e),
                effect: Effect::Exit,
                seq,
            });
            continue;
        }
        if e.kind != EventKind::Exec {
            continue;
        }
        let effect = match p.actors[e.actor as usize].code.get(e.pc as usize) {
            Some(Instr::QueuePut { q, .. }) if queues.contains(q) => Effect::Put,
            Some(Instr::QueueGet { q, .. }) if queues.contains(q) => Effect::Get,
            Some(Instr::QueueTry { q, put, .. }) if queues.contains(q) => match put {
                true => Effect::Put,
                false => Effect::Get,
            },
            _ => {
                on_queue.insert(e.actor, false);
                continue;
            }
        };
        on_queue.insert(e.actor, true);
        out.push(Anchor {
            actor: e.actor,
            line: trace.line(e),
            effect,
            seq,
        });
    }
    // Before another shared step of the same instruction (the end it raised).
    out.extend(anchors);
    out.sort_by_key(|a| a.seq);
    out
}
/// A pool worker's take from the pool's task queue (the queue the pool scenarios
/// name `pool tasks`): which worker gets which task is the simulator's choice, and
/// in CPython the order in which the workers call `get()` on the pool's inqueue
/// (the tracer holds each worker before that call, `_pool_takes`). A shared step,
/// so that the workers take the tasks in the simulator's order.
///
/// And a pool worker's put (a worker is an actor that takes from that queue): what
/// it puts is a task's outcome, sent back to the parent on the pool's result queue
/// (the tracer holds it before its `put()` on the outqueue, `_pool_gives`). A
/// shared step too: the parent's `get()` waits for the pool's own result-handler
/// thread, which no step controls; with the sends in the simulator's order, that
/// wait ends by itself, and the outcomes come in the simulator's order.
fn pool_step(p: &Program, actor: u16, instr: &Instr) -> Option<Effect> {
    let is_tasks = |q: crate::program::QueueId| {
        p.queues
            .get(q as usize)
            .is_some_and(|x| x.name == POOL_TASKS)
    };
    match *instr {
        Instr::QueueGet { q, .. } if is_tasks(q) => Some(Effect::Take),
        Instr::QueuePut { q, .. }
            if !is_tasks(q)
                && p.actors.get(actor as usize).is_some_and(|a| {
                    a.code
                        .iter()
                        .any(|i| matches!(*i, Instr::QueueGet { q, .. } if is_tasks(q)))
                }) =>
        {
            Some(Effect::Give)
        }
        _ => None,
    }
}

/// The name the pool scenarios give the pool's task queue.
pub const POOL_TASKS: &str = "pool tasks";

/// The simulator's actors that CPython's run does not show, and why: a declared
/// difference between the two, not a disagreement. The comparison leaves out their
/// shared steps, and a thread one of them starts is compared as started by the
/// actor that started it.
///
/// - `forkserver` (the start-methods lesson, `method=forkserver`): the simulator
///   runs the fork server as an actor that takes each `p.start()`'s request and
///   forks the child. CPython's fork server runs none of the program: the tracer
///   does not show it, and each child is announced by the `p.start()` that asked
///   for it.
pub const HIDDEN_ACTORS: &[&str] = &["forkserver"];

/// `anchors` without the shared steps of the actors in [`HIDDEN_ACTORS`]; a start
/// of theirs becomes one of the actor that started them.
pub fn without_hidden(program: &Program, anchors: Vec<Anchor>) -> Vec<Anchor> {
    let hidden = |a: u16| {
        program
            .actors
            .get(a as usize)
            .is_some_and(|x| x.process != 0 && HIDDEN_ACTORS.contains(&x.name.as_str()))
    };
    let mut starter: BTreeMap<u16, u16> = BTreeMap::new();
    let mut out = Vec::with_capacity(anchors.len());
    for mut a in anchors {
        if let Effect::Start(c) = a.effect
            && hidden(c)
        {
            starter.insert(c, a.actor);
            continue;
        }
        if hidden(a.actor) {
            match (a.effect.clone(), starter.get(&a.actor)) {
                (Effect::Start(_), Some(&by)) => a.actor = by,
                _ => continue,
            }
        }
        out.push(a);
    }
    out
}

/// For each anchor, the actors the simulator ran ahead of where CPython stands when
/// that anchor is due: those that took steps of their own (no shared step) since
/// their last shared step, in the order of the first of those steps. CPython holds
/// each thread right after its last shared step, so what these steps did (a pipe's
/// `send`, a queue's `put`) is not done yet there; when the due thread waits for
/// it, these threads are let go first (`Follower::pick`).
pub fn ahead(trace: &Trace, anchors: &[Anchor]) -> Vec<Vec<u16>> {
    // Actor → the sequence number of its first step since its last shared step.
    since_shared(
        trace,
        anchors,
        |since: &BTreeMap<u16, u64>, actor| {
            let mut order: Vec<(u64, u16)> = since
                .iter()
                .filter(|&(&b, _)| b != actor)
                .map(|(&b, &s)| (s, b))
                .collect();
            order.sort_unstable();
            order.into_iter().map(|(_, b)| b).collect()
        },
        |since, seq, e, took| {
            // A program started by a step that then blocks (`communicate` feeding
            // tr's stdin) has, in CPython, the rest of that call still to run: the
            // thread counts as run ahead until its next shared step.
            if (!took && e.kind == EventKind::Exec) || (took && e.kind == EventKind::Block) {
                since.entry(e.actor).or_insert(seq);
            }
        },
    )
}

/// For each anchor, the lines on which the simulator's actors (but the anchor's
/// own) took steps of their own since their last shared step, each as (actor,
/// line): where CPython's thread of that actor may stand and still be behind the
/// simulator (`Follower::pool_helper`). A step that blocked counts: the thread
/// stands on its line.
pub fn ahead_lines(trace: &Trace, anchors: &[Anchor]) -> Vec<Vec<(u16, u32)>> {
    since_shared(
        trace,
        anchors,
        |since: &BTreeMap<u16, Vec<u32>>, actor| {
            since
                .iter()
                .filter(|&(&b, _)| b != actor)
                .flat_map(|(&b, ls)| ls.iter().map(move |&l| (b, l)))
                .collect()
        },
        |since, _, e, took| {
            if !took && matches!(e.kind, EventKind::Exec | EventKind::Block) {
                let lines = since.entry(e.actor).or_default();
                let line = trace.line(e);
                if !lines.contains(&line) {
                    lines.push(line);
                }
            }
        },
    )
}

/// Walks a stepped run against its anchors, keeping for each actor what it did
/// since its last shared step (`note`, after each event, told whether the event took
/// shared steps): at each anchor, `record` says what the other actors did, and the
/// anchor's own actor starts afresh. One step may take several shared steps (the
/// lines of one write), a program's start is the step that blocks in
/// `subprocess.call`, and a process's end by an error is an anchor too
/// (`queue_steps`).
fn since_shared<T, V: Clone + Default>(
    trace: &Trace,
    anchors: &[Anchor],
    record: impl Fn(&BTreeMap<u16, T>, u16) -> V,
    mut note: impl FnMut(&mut BTreeMap<u16, T>, u64, &crate::trace::Event, bool),
) -> Vec<V> {
    let mut since: BTreeMap<u16, T> = BTreeMap::new();
    let mut next = anchors.iter().peekable();
    let mut out = Vec::with_capacity(anchors.len());
    for (i, e) in trace.events.iter().enumerate() {
        let seq = (trace.base + i) as u64;
        let mut took = false;
        while let Some(actor) = next.peek().filter(|a| a.seq == seq).map(|a| a.actor) {
            out.push(record(&since, actor));
            since.remove(&actor);
            next.next();
            took = true;
        }
        note(&mut since, seq, e, took);
    }
    out.resize(anchors.len(), V::default());
    out
}

/// The actors another one ended with `terminate()`: CPython's thread of such an
/// actor ends when the signal lands, which no step of the program orders, so that
/// end is no shared step (the simulator's actor has none either).
pub fn terminated(trace: &Trace) -> Vec<u16> {
    let p: &Program = &trace.program;
    let mut out = Vec::new();
    for e in &trace.events {
        if e.kind != EventKind::Exec {
            continue;
        }
        if let Some(Instr::Terminate(t)) = p.actors[e.actor as usize].code.get(e.pc as usize)
            && !out.contains(t)
        {
            out.push(*t);
        }
    }
    out
}

/// How many steps the threads the simulator ran ahead may take for one shared step
/// before the due thread's wait is called a disagreement: a wait that their steps
/// do not end is one.
const HELP_LIMIT: u32 = 20_000;

/// The controller's side of following: picks the thread that takes the next shared
/// step, and checks every shared step CPython takes against the simulator's.
pub(super) struct Follower {
    anchors: Vec<Anchor>,
    names: Vec<String>,
    /// How many of the anchors CPython has taken.
    at: usize,
    /// The simulator's actor → CPython's thread index (MainThread is 0 in both).
    threads: BTreeMap<u16, u16>,
    /// MainThread runs the module's set-up until it stands on this line.
    prologue: Option<u32>,
    /// The globals the simulator shares: CPython's reads and writes of any other
    /// (a loop counter at module level) are the thread's own business.
    shared: Vec<String>,
    disagreement: Option<String>,
    /// Each simulated actor's process; the simulated PID of each process.
    process_of: Vec<u16>,
    sim_pids: BTreeMap<u16, u32>,
    /// CPython's actors' real PIDs, as the tracer reports them.
    real_pids: BTreeMap<u16, u32>,
    /// For each anchor, the simulator's actors that ran ahead of it (`ahead`), and
    /// how many steps they took in CPython for the current one.
    ahead: Vec<Vec<u16>>,
    /// For each anchor, where those actors took their steps (`ahead_lines`).
    ahead_lines: Vec<Vec<(u16, u32)>>,
    helped: u32,
    /// The simulator's actors ended by `terminate()` (`terminated`).
    terminated: Vec<u16>,
}

/// `text` with each whole number in `pids` written as the process it is the PID of:
/// a simulated PID and a real one compare equal when they name the same process.
fn mask_pids(text: &str, pids: &[(u32, u16)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        let n: Option<u32> = digits.parse().ok();
        match n.and_then(|n| pids.iter().find(|(p, _)| *p == n)) {
            Some((_, q)) => out.push_str(&format!("<pid of process {q}>")),
            None => out.push_str(digits),
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

/// The simulated PID in an actor's label, `MainProcess (pid 1000, simulated)`.
fn label_pid(label: &str) -> Option<u32> {
    let rest = label.rsplit_once("(pid ")?.1;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

impl Follower {
    /// Follows a run with processes: each printed PID stands for its process, the
    /// simulator's (from `labels`) and CPython's alike.
    pub(super) fn with_processes(mut self, process_of: Vec<u16>, labels: &[String]) -> Self {
        for (a, label) in labels.iter().enumerate() {
            if let (Some(&q), Some(pid)) = (process_of.get(a), label_pid(label)) {
                self.sim_pids.entry(q).or_insert(pid);
            }
        }
        self.process_of = process_of;
        let pids: Vec<(u32, u16)> = self.sim_pids.iter().map(|(&q, &p)| (p, q)).collect();
        for a in &mut self.anchors {
            if let Effect::Print(t) = &mut a.effect {
                *t = mask_pids(t, &pids);
            }
        }
        self
    }

    /// CPython's actor `t` runs in a process whose real PID is `pid`.
    pub(super) fn pid(&mut self, t: u16, pid: u32) {
        self.real_pids.insert(t, pid);
    }

    /// A line CPython printed, each real PID written as its process.
    pub(super) fn masked(&self, line: &str) -> String {
        if self.sim_pids.is_empty() {
            return line.to_string();
        }
        mask_pids(line, &self.real_pid_names())
    }

    /// A line the simulator printed, each simulated PID written as its process.
    fn masked_sim(&self, line: &str) -> String {
        let pids: Vec<(u32, u16)> = self.sim_pids.iter().map(|(&q, &p)| (p, q)).collect();
        mask_pids(line, &pids)
    }

    /// The real PIDs of the processes whose actors are mapped to the simulator's.
    fn real_pid_names(&self) -> Vec<(u32, u16)> {
        self.threads
            .iter()
            .filter_map(|(sim, py)| {
                let pid = *self.real_pids.get(py)?;
                Some((pid, *self.process_of.get(*sim as usize)?))
            })
            .collect()
    }

    pub(super) fn new(
        anchors: Vec<Anchor>,
        names: Vec<String>,
        shared: Vec<String>,
        first_main_line: u32,
    ) -> Self {
        Follower {
            anchors,
            names,
            shared,
            at: 0,
            threads: BTreeMap::from([(0, 0)]),
            prologue: Some(first_main_line),
            disagreement: None,
            process_of: Vec::new(),
            sim_pids: BTreeMap::new(),
            real_pids: BTreeMap::new(),
            ahead: Vec::new(),
            ahead_lines: Vec::new(),
            helped: 0,
            terminated: Vec::new(),
        }
    }

    /// Follows a run where these actors are ended by another's `terminate()`.
    pub(super) fn with_terminated(mut self, terminated: Vec<u16>) -> Self {
        self.terminated = terminated;
        self
    }

    /// CPython's thread `t` ends because another process terminated it, where the
    /// simulator's actor has no end of its own still to come.
    pub(super) fn killed(&self, t: u16) -> bool {
        let Some((&sim, _)) = self.threads.iter().find(|&(_, &py)| py == t) else {
            return false;
        };
        self.terminated.contains(&sim)
            && !self.anchors[self.at.min(self.anchors.len())..]
                .iter()
                .any(|a| a.actor == sim && a.effect == Effect::Exit)
    }

    /// Follows with the lines those actors ran them on (`ahead_lines`).
    pub(super) fn with_ahead_lines(mut self, lines: Vec<Vec<(u16, u32)>>) -> Self {
        self.ahead_lines = lines;
        self
    }

    /// Follows with the actors that ran ahead of each anchor (`ahead`).
    pub(super) fn with_ahead(mut self, ahead: Vec<Vec<u16>>) -> Self {
        self.ahead = ahead;
        self
    }

    /// The due thread cannot go: one of the threads the simulator ran before this
    /// shared step (after their own last one) takes a step instead, if one can. A
    /// shared step it takes out of the simulator's order is still caught by
    /// `observe`.
    fn helper(&mut self, ready: &[u16]) -> Option<u16> {
        if self.helped >= HELP_LIMIT {
            return None;
        }
        let t = self
            .ahead
            .get(self.at)?
            .iter()
            .filter_map(|a| self.threads.get(a))
            .find(|t| ready.contains(t))
            .copied()?;
        self.helped += 1;
        Some(t)
    }

    /// Whether one of the threads the simulator ran before the next shared step
    /// can take a step now (`helper` would pick it).
    pub(super) fn may_help(&self, ready: &[u16]) -> bool {
        self.helped < HELP_LIMIT
            && self.ahead.get(self.at).is_some_and(|a| {
                a.iter()
                    .filter_map(|b| self.threads.get(b))
                    .any(|t| ready.contains(t))
            })
    }

    /// `helper` for a pool worker that waits for its next task: among the parent's
    /// threads (its `close()` lets the pool send the stop signals) and the workers
    /// whose next shared step is a take (the steps before it send their last
    /// result, which the stop signals wait for), not one standing before its take
    /// (`at_take`). A worker whose next shared step is a print is never let go out
    /// of the simulator's order for a wait that may be only the pipe's; nor is a
    /// parent thread that stands (`line_of`) on the line of its own next shared
    /// step, unless the simulator ran it on that line before this step
    /// (`ahead_lines`): at `print(x)` after `for x in p.imap_unordered(…)`, whose
    /// result is there, it would print before the simulator's worker takes its
    /// task.
    pub(super) fn pool_helper(
        &mut self,
        ready: &[u16],
        at_take: impl Fn(u16) -> bool,
        line_of: impl Fn(u16) -> Option<u32>,
    ) -> Option<u16> {
        let rest = &self.anchors[self.at.min(self.anchors.len())..];
        let next_is_take = |sim: u16| {
            rest.iter()
                .find(|a| a.actor == sim)
                .is_some_and(|a| a.effect == Effect::Take)
        };
        // Not on the line of its next shared step, unless the simulator ran it
        // there before this one (`map` hands out the tasks on its print's line).
        let lines = self.ahead_lines.get(self.at);
        let behind = |sim: u16, t: u16| {
            let Some(here) = line_of(t) else {
                return false;
            };
            let next = rest.iter().find(|a| a.actor == sim).map(|a| a.line);
            next != Some(here) || lines.is_some_and(|ls| ls.contains(&(sim, here)))
        };
        let may: Vec<u16> = ready
            .iter()
            .copied()
            .filter(|&t| !at_take(t))
            .filter(|&t| {
                self.threads.iter().any(|(&sim, &py)| {
                    py == t
                        && ((self.process_of.get(sim as usize) == Some(&0) && behind(sim, t))
                            || next_is_take(sim))
                })
            })
            .collect();
        self.helper(&may)
    }

    fn actor(&self, a: u16) -> &str {
        self.names.get(a as usize).map_or("?", |s| s.as_str())
    }

    /// CPython's thread `t` took `effect` in its last step.
    pub(super) fn observe(&mut self, t: u16, effect: Effect) {
        if self.prologue.is_some() || self.disagreement.is_some() {
            return;
        }
        if let Effect::Read(n, _) | Effect::Write(n, _) = &effect
            && !self.shared.contains(n)
        {
            return;
        }
        if effect == Effect::Exit && self.killed(t) {
            return;
        }
        let effect = match effect {
            Effect::Print(t) if !self.sim_pids.is_empty() => {
                Effect::Print(mask_pids(&t, &self.real_pid_names()))
            }
            e => e,
        };
        let Some(a) = self.anchors.get(self.at) else {
            self.disagreement = Some(format!(
                "after the simulator's last shared step, CPython's thread {t} {effect}"
            ));
            return;
        };
        let expected = self.threads.get(&a.actor).copied();
        let same = match (&a.effect, &effect) {
            (Effect::Start(_), Effect::Start(_)) => true,
            (x, y) => x == y,
        };
        if expected == Some(t) && same {
            if let (Effect::Start(sim), Effect::Start(py)) = (&a.effect, &effect) {
                self.threads.insert(*sim, *py);
            }
            self.at += 1;
            self.helped = 0;
            return;
        }
        self.disagreement = Some(format!(
            "shared step {} of {}: the simulator's {} {} (line {}), but CPython's thread {t} {effect}",
            self.at + 1,
            self.anchors.len(),
            self.actor(a.actor),
            a.effect,
            a.line
        ));
    }

    /// The CPython thread that must take the next step: MainThread while it runs
    /// the module's set-up, then the one that takes the next shared step. None
    /// once the runs have parted or the simulator's steps are all taken.
    pub(super) fn due(&self) -> Option<u16> {
        if self.prologue.is_some() {
            return Some(0);
        }
        if self.disagreement.is_some() {
            return None;
        }
        let a = self.anchors.get(self.at)?;
        self.threads.get(&a.actor).copied()
    }

    /// Who goes next. `ready` is sorted and not empty.
    pub(super) fn pick(
        &mut self,
        ready: &[u16],
        standing: &BTreeMap<u16, Step>,
        why_not: impl Fn(u16) -> String,
    ) -> u16 {
        if let Some(line) = self.prologue {
            let main_at = standing.get(&0).map(|s| s.line);
            if main_at != Some(line) && ready.contains(&0) {
                return 0;
            }
            self.prologue = None;
            if main_at != Some(line) {
                self.disagreement = Some(format!(
                    "MainThread never stood on line {line}, where the simulator starts"
                ));
            }
        }
        if self.disagreement.is_some() {
            return ready[0];
        }
        let Some(a) = self.anchors.get(self.at).cloned() else {
            // Past the last shared step: not a thread another process terminated,
            // whose connection may be closing as it is told to go.
            return ready
                .iter()
                .copied()
                .find(|&t| !self.killed(t))
                .unwrap_or(ready[0]);
        };
        match self.threads.get(&a.actor).copied() {
            Some(t) if ready.contains(&t) => t,
            Some(t) => {
                if let Some(h) = self.helper(ready) {
                    return h;
                }
                let helped = if self.helped > 0 {
                    format!(
                        "; the threads the simulator ran before it took {} steps and did not end the wait",
                        self.helped
                    )
                } else {
                    String::new()
                };
                self.disagreement = Some(format!(
                    "shared step {} of {}: the simulator's {} {} (line {}), but in CPython thread {t} cannot go ({}{helped})",
                    self.at + 1,
                    self.anchors.len(),
                    self.actor(a.actor),
                    a.effect,
                    a.line,
                    why_not(t)
                ));
                ready[0]
            }
            None => {
                self.disagreement = Some(format!(
                    "shared step {} of {}: the simulator's {} {} (line {}), a thread CPython has not started",
                    self.at + 1,
                    self.anchors.len(),
                    self.actor(a.actor),
                    a.effect,
                    a.line
                ));
                ready[0]
            }
        }
    }

    /// The first disagreement, or one for shared steps CPython never took.
    pub(super) fn verdict(&self) -> (usize, Option<String>) {
        if let Some(d) = &self.disagreement {
            return (self.at, Some(d.clone()));
        }
        let left = self.anchors.get(self.at).map(|a| {
            format!(
                "CPython's run ended before the simulator's {} {} (line {}), shared step {} of {}",
                self.actor(a.actor),
                a.effect,
                a.line,
                self.at + 1,
                self.anchors.len()
            )
        });
        (self.at, left)
    }
}

/// How the simulator writes a traceback, on one line of its output:
/// `[Process NAME: ]Traceback (most recent call last): … ERROR`.
const TRACEBACK: &str = "Traceback (most recent call last): … ";

/// The error a line of the simulator's output ends a traceback with, if the line
/// is one: CPython writes such a traceback to stderr, not stdout, over several
/// lines, and the error's message may itself span lines (start-methods' RuntimeError).
pub fn traceback_error(line: &str) -> Option<&str> {
    line.split_once(TRACEBACK).map(|(_, error)| error)
}

/// How many times CPython's stderr ends a traceback with `error`, the two compared
/// with their whitespace collapsed (CPython indents a long message's lines).
fn tracebacks_in(stderr: &str, error: &str) -> usize {
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let (stderr, error) = (words(stderr), words(error));
    if error.is_empty() {
        return 0;
    }
    stderr.matches(error.as_str()).count()
}

/// How a stepped run and its replay on CPython compare.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The interpreter's version.
    pub version: String,
    /// The simulator's run as a schedule string (empty once it forgot its first
    /// steps), and CPython's.
    pub sim_schedule: String,
    pub cpython_schedule: String,
    /// Shared steps: the simulator's, and how many of them CPython took in order.
    pub shared_steps: usize,
    pub followed: usize,
    /// The first shared step where the two runs parted, if they did.
    pub disagreement: Option<String>,
    pub sim_output: Vec<String>,
    pub cpython_output: Vec<String>,
    pub cpython_stderr: String,
    /// The shared globals at the end: the simulator's, and CPython's (those it
    /// reported: a run that deadlocked reports none).
    pub sim_finals: Vec<(String, String)>,
    pub cpython_finals: Vec<(String, String)>,
    pub sim_deadlock: bool,
    pub cpython_deadlock: bool,
    pub cpython_timed_out: bool,
    /// The lesson's declared differences that this comparison left out
    /// (`[[differs]]`): shown as "declared: …".
    pub declared: Vec<crate::lesson::Difference>,
}

/// A line the simulator prints when a process's target raises
/// (`pytext::process_raise_text`): the process's name and the error.
fn process_raised(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("Process ")?;
    let (process, error) = rest.split_once(": Traceback (most recent call last): … ")?;
    Some((process, error))
}

impl Comparison {
    /// The lines each side printed that the other did not, as `(what, line)`.
    /// An uncaught exception in a thread is one line of the simulator's output,
    /// `Exception in thread NAME: ERROR`; CPython writes it to stderr as a header,
    /// a traceback and the error: that is where it is looked for.
    pub fn output_differences(&self) -> Vec<String> {
        let mut diffs = Vec::new();
        let (raised, printed): (Vec<&String>, Vec<&String>) = self
            .sim_output
            .iter()
            .partition(|l| l.starts_with("Exception in thread ") || process_raised(l).is_some());
        // Any other one-line traceback (the parent's, or a child's that is not a
        // target's) is looked for on stderr as often as the simulator wrote it.
        let (tracebacks, printed): (Vec<&String>, Vec<&String>) = printed
            .into_iter()
            .partition(|l| traceback_error(l).is_some());
        diffs.extend(self.traceback_differences(&tracebacks));
        // An entry of the simulator's output panel is one write, which may hold
        // several lines (a flushed buffer); CPython's are lines.
        let printed: Vec<&str> = printed.iter().flat_map(|s| s.split('\n')).collect();
        let real: Vec<&str> = self.cpython_output.iter().map(|s| s.as_str()).collect();
        if printed != real {
            diffs.push(format!(
                "stdout: the simulator printed {printed:?}, CPython {real:?}"
            ));
        }
        for r in raised {
            // A process's target raised: CPython's child writes `Process NAME:`, the
            // traceback and the error to its stderr.
            if let Some((process, error)) = process_raised(r) {
                let header = format!("Process {process}:");
                let found = self.cpython_stderr.lines().any(|l| l == header)
                    && self.cpython_stderr.lines().any(|l| l.trim() == error);
                if !found {
                    diffs.push(format!("stderr: CPython did not report {r:?}"));
                }
                continue;
            }
            let rest = &r["Exception in thread ".len()..];
            let (thread, error) = rest.split_once(": ").unwrap_or((rest, ""));
            let header = format!("Exception in thread {thread}");
            let found = self.cpython_stderr.lines().any(|l| l.starts_with(&header))
                && self.cpython_stderr.lines().any(|l| l.trim() == error);
            if !found {
                diffs.push(format!("stderr: CPython did not report {r:?}"));
            }
        }
        diffs
    }

    /// The simulator's one-line tracebacks (`traceback_error`) that CPython's stderr
    /// does not hold as often, each error once: stdout and stderr are two streams,
    /// so their order against the printed lines is not compared (the thread's end
    /// that follows the traceback is a shared step, and is).
    fn traceback_differences(&self, tracebacks: &[&String]) -> Vec<String> {
        let mut errors: Vec<&str> = tracebacks
            .iter()
            .filter_map(|l| traceback_error(l))
            .collect();
        errors.sort_unstable();
        errors.dedup();
        let mut diffs = Vec::new();
        for error in errors {
            let want = tracebacks
                .iter()
                .filter(|l| traceback_error(l) == Some(error))
                .count();
            let got = tracebacks_in(&self.cpython_stderr, error);
            if got != want {
                diffs.push(format!(
                    "stderr: the simulator wrote {want} traceback(s) ending {error:?}, CPython's stderr {got}"
                ));
            }
        }
        diffs
    }

    /// Whether both runs took the same shared steps and ended the same way: the
    /// same output, the same globals, both deadlocked or neither.
    pub fn agrees(&self) -> bool {
        self.disagreement.is_none()
            && !self.cpython_timed_out
            && self.output_differences().is_empty()
            && self.sim_deadlock == self.cpython_deadlock
            && (self.cpython_deadlock || self.sim_finals == self.cpython_finals)
    }

    /// The declared differences this comparison left out, as the playground and
    /// the tests say them: `declared: sem (why); …`. Empty when none applied.
    pub fn declared_text(&self, lang: crate::lesson::Lang) -> String {
        if self.declared.is_empty() {
            return String::new();
        }
        let each: Vec<String> = self.declared.iter().map(|d| d.label(lang)).collect();
        crate::i18n::Msg::SCmpDeclared.fill(lang, &[&each.join("; ")])
    }

    /// What differed, one line each (empty when the runs agree).
    pub fn differences(&self) -> Vec<String> {
        let mut d: Vec<String> = self.disagreement.iter().cloned().collect();
        if self.cpython_timed_out {
            d.push("CPython's run did not end in time".into());
        }
        d.extend(self.output_differences());
        if self.sim_deadlock != self.cpython_deadlock {
            d.push(format!(
                "deadlock: the simulator {}, CPython {}",
                self.sim_deadlock, self.cpython_deadlock
            ));
        }
        if !self.cpython_deadlock && self.sim_finals != self.cpython_finals {
            d.push(format!(
                "globals at the end: the simulator {:?}, CPython {:?}",
                self.sim_finals, self.cpython_finals
            ));
        }
        d
    }
}

/// Runs the lesson stepped from `origin` to its end, then replays its shared steps
/// on `python` (the lesson's own code, stepped by opcodes) and compares the two.
pub fn compare(
    lesson: &Lesson,
    knobs: &Knobs,
    origin: Origin,
    python: &Path,
    limit: Duration,
) -> Result<Comparison, SessionError> {
    let (trace, schedule) = stepped(lesson, knobs, origin)?;
    let mut c = compare_trace(lesson, knobs, &trace, python, limit)?;
    c.sim_schedule = schedule;
    Ok(c)
}

/// The lesson's stepped run from `origin` to its end, and its schedule string
/// (empty once a long run forgot its first steps).
pub fn stepped(
    lesson: &Lesson,
    knobs: &Knobs,
    origin: Origin,
) -> Result<(Trace, String), SessionError> {
    let usage = |m: String| SessionError::Usage(m);
    let mut run = Run::new(lesson, knobs.clone(), Start::Stepped(origin))
        .map_err(|e| usage(e.to_string()))?;
    if let crate::run::Outcome::Refused(why) = run.command(Command::RunToEnd) {
        return Err(usage(why));
    }
    let schedule = run.schedule().map(|s| s.to_string()).unwrap_or_default();
    let trace = run.finish_stepped().map_err(usage)?;
    Ok((trace, schedule))
}

/// Replays a finished stepped run's shared steps on `python` and compares. A
/// lesson that declares itself not compared (`[[differs]] whole = true`) is
/// refused with its reason, `declared: …`.
pub fn compare_trace(
    lesson: &Lesson,
    knobs: &Knobs,
    trace: &Trace,
    python: &Path,
    limit: Duration,
) -> Result<Comparison, SessionError> {
    if let Some(d) = not_compared(lesson, knobs, trace) {
        return Err(SessionError::Usage(crate::i18n::Msg::SCmpDeclared.fill(
            crate::lesson::Lang::En,
            &[&d.label(crate::lesson::Lang::En)],
        )));
    }
    let p = &trace.program;
    let first_main_line = trace
        .events
        .iter()
        .find(|e| e.actor == 0)
        .map(|e| trace.line(e))
        .unwrap_or(0);
    let names: Vec<String> = p.actors.iter().map(|a| a.name.clone()).collect();
    // A global the lesson declares CPython has no value for is no shared step.
    let shared: Vec<String> = p
        .vars
        .iter()
        .map(|v| v.name.clone())
        .filter(|n| !declared_global(lesson, knobs, n))
        .collect();
    let mut anchors = anchors(trace);
    anchors.retain(|a| match &a.effect {
        Effect::Read(n, _) | Effect::Write(n, _) => !declared_global(lesson, knobs, n),
        _ => true,
    });
    let code = lesson.code(knobs);
    let anchors = queue_steps(trace, &program_queues(p, &code), anchors);
    let anchors = without_hidden(p, anchors);
    let ahead = ahead(trace, &anchors);
    let lines = ahead_lines(trace, &anchors);
    let mut follower = Follower::new(anchors, names, shared, first_main_line)
        .with_ahead(ahead)
        .with_ahead_lines(lines)
        .with_terminated(terminated(trace));
    // A thread lesson that prints os.getpid() prints the simulated PID: compared as
    // the process it names, as in the process lessons.
    let prints_pids = code.contains("os.getpid()");
    if prints_pids || p.actors.iter().any(|a| a.process != 0) {
        let process_of = p.actors.iter().map(|a| a.process).collect();
        follower = follower.with_processes(process_of, &trace.actor_labels);
    }
    let shared_steps = follower.anchors.len();
    let drive = Drive::Schedule(Vec::new());
    let env = stdout_env(p);
    let session = Session::start_env(
        python,
        &code,
        &drive,
        Granularity::Bytecode,
        env.as_ref().map_or(&[][..], |e| &e[..]),
    )?;
    let sim_output: Vec<String> = trace
        .output
        .iter()
        .map(|l| follower.masked_sim(&l.text))
        .collect();
    let (outcome, followed, disagreement, printed) = session.follow(follower, limit)?;
    let mut c = comparison(trace, outcome, shared_steps, followed, disagreement);
    // With processes, a PID is compared as the process it names.
    c.sim_output = sim_output;
    c.cpython_output = printed;
    apply_declared(lesson, knobs, &mut c);
    Ok(c)
}

/// The lesson's declared difference that leaves this run out of the comparison, if
/// any: the whole lesson (`[[differs]] whole`), or a run that joined two writers'
/// text on one line where CPython's controller cannot (`joined`).
pub fn not_compared<'a>(
    lesson: &'a Lesson,
    knobs: &Knobs,
    trace: &Trace,
) -> Option<&'a crate::lesson::Difference> {
    let joined = trace.output.iter().any(|l| l.joined);
    lesson
        .differs
        .iter()
        .find(|d| (d.whole() || (joined && d.joined())) && d.applies(knobs))
}

/// Whether the lesson declares that its simulator keeps `name` as a shared
/// variable where CPython has no global value (`[[differs]] global`).
fn declared_global(lesson: &Lesson, knobs: &Knobs, name: &str) -> bool {
    lesson
        .differs
        .iter()
        .any(|d| d.global() == Some(name) && d.applies(knobs))
}

/// Leaves out of `c` what the lesson declares the simulator models differently
/// (`[[differs]]`), and lists each declaration that applied in `c.declared`.
fn apply_declared(lesson: &Lesson, knobs: &Knobs, c: &mut Comparison) {
    for d in lesson.differs.iter().filter(|d| d.applies(knobs)) {
        let Some(g) = d.global() else { continue };
        if c.sim_finals.iter().any(|(n, _)| n == g) {
            c.sim_finals.retain(|(n, _)| n != g);
            c.cpython_finals.retain(|(n, _)| n != g);
            c.declared.push(d.clone());
        }
    }
}

fn comparison(
    trace: &Trace,
    o: Outcome,
    shared_steps: usize,
    followed: usize,
    disagreement: Option<String>,
) -> Comparison {
    let files = file_vars(&trace.program);
    let sim_finals: Vec<(String, String)> = trace
        .final_vars()
        .into_iter()
        .map(|(n, v)| {
            let text = if files.contains(&n) {
                file_text(v)
            } else {
                value_text(v)
            };
            (n, text)
        })
        .collect();
    let cpython_finals = sim_finals
        .iter()
        .filter_map(|(n, _)| o.finals.iter().find(|(m, _)| m == n).cloned())
        .collect();
    Comparison {
        version: o.version,
        sim_schedule: String::new(),
        cpython_schedule: super::schedule_string(&o.schedule),
        shared_steps,
        followed,
        disagreement,
        sim_output: trace.output.iter().map(|l| l.text.clone()).collect(),
        cpython_output: o.output.into_iter().map(|(_, l)| l).collect(),
        cpython_stderr: o.stderr,
        sim_finals,
        cpython_finals,
        sim_deadlock: !trace.deadlock().is_empty(),
        cpython_deadlock: o.ending == PyEnding::Deadlock,
        cpython_timed_out: o.ending == PyEnding::TimedOut,
        declared: Vec::new(),
    }
}
