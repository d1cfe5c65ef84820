//! The interleaving as the tutorials draw it: one row per step, in global order,
//! with the values each row read and wrote.

use super::{Event, EventKind, LostScan, Prefix, Trace};
use crate::i18n::Msg;
use crate::lesson::Lang;
use crate::program::pytext::value_text;
use crate::program::{ActorId, Granularity, Instr, NONE, Program, Value};
use std::ops::Range;

/// One row of the interleaving table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The row's number in the whole run, from 1: the screen and the CLI both show it.
    pub number: usize,
    /// The events the row stands for.
    pub events: Range<usize>,
    pub actor: ActorId,
    pub line: u32,
    /// The Python line or the instruction, then a comment with the values:
    /// `balance = balance + n  # 0 + 5 = 5, balance = 5`.
    pub text: String,
    /// This row's store wiped out another thread's update.
    pub lost_update: bool,
}

/// Builds rows for `events[range]` of a trace. At `Line` granularity, the
/// consecutive events of one actor on one Python line make one row; at `Bytecode`,
/// every event is a row. GIL hand-overs are left to the timeline.
pub fn rows(trace: &Trace, granularity: Granularity, code: &str, range: Range<usize>) -> Vec<Row> {
    rows_in(trace, granularity, code, range, Lang::En)
}

/// [`rows`], with the notes in `lang` (the code and the names stay as written).
pub fn rows_in(
    trace: &Trace,
    granularity: Granularity,
    code: &str,
    range: Range<usize>,
    lang: Lang,
) -> Vec<Row> {
    let p = &trace.program;
    // A trace that dropped its oldest events goes on from what they added up to,
    // so its rows keep their numbers, operands and `!` in the whole run.
    let mut tally =
        super::Tally::resume(p, granularity, trace.prefix.as_deref()).starting_at(trace.base);
    let mut out: Vec<Row> = Vec::new();
    let end = range.end.min(trace.events.len());
    let start = range.start.min(end);
    let base = trace.base;
    // Operand stacks are rebuilt from the start so the first row shows its operands,
    // and rows are counted so that every row keeps its number in any window: by a
    // tally (one look-up per event) up to the window, then row by row.
    for e in &trace.events[..start] {
        tally.feed(p, e);
    }
    let mut stream = RowStream::new(p, granularity, code)
        .in_lang(lang)
        .rewound(&tally);
    for (i, e) in trace.events[start..end].iter().enumerate() {
        stream.feed(p, base + start + i, e, true, &mut out);
    }
    for row in &mut out {
        row.events = row.events.start - base..row.events.end - base;
    }
    out
}

/// Where the rows stand after the events a trace dropped (its prefix): how
/// many there are at each granularity, the open row, and the operand stacks.
#[derive(Clone, Debug)]
pub struct RowsAt {
    line: Joiner,
    bytecode: Joiner,
    pub(super) stacks: Vec<Vec<Value>>,
}

impl RowsAt {
    /// The rows at `g` and the operand stacks.
    pub(super) fn parts(&self, g: Granularity) -> (&Joiner, &[Vec<Value>]) {
        let joiner = match g {
            Granularity::Line => &self.line,
            Granularity::Bytecode => &self.bytecode,
        };
        (joiner, &self.stacks)
    }

    pub fn new(p: &Program) -> Self {
        RowsAt {
            line: Joiner::default(),
            bytecode: Joiner::default(),
            stacks: vec![Vec::new(); p.actors.len()],
        }
    }

    /// Takes in event number `seq` of the run.
    pub fn absorb(&mut self, p: &Program, seq: usize, e: &Event) {
        if is_gil(e) {
            return;
        }
        let _ = note(p, &mut self.stacks, e, false, Lang::En);
        self.line.next(p, Granularity::Line, seq, e);
        self.bytecode.next(p, Granularity::Bytecode, seq, e);
    }
}

/// [`rows`] one event at a time, for a run too long to keep (the headless
/// report): the operand stacks, the row count and the overwritten writes carry
/// on from event to event, so a row made late in a run keeps its number, its
/// operands and its `!` without the events before it.
pub struct RowStream {
    /// The code's lines, trimmed.
    lines: Vec<String>,
    granularity: Granularity,
    stacks: Vec<Vec<Value>>,
    joiner: Joiner,
    lost: LostScan,
    /// Only counts rows and finds overwritten writes: no operand stacks, no text.
    counting: bool,
    /// The language of the notes.
    lang: Lang,
}

impl RowStream {
    pub fn new(p: &Program, granularity: Granularity, code: &str) -> Self {
        RowStream {
            lines: code.lines().map(|l| l.trim().to_string()).collect(),
            granularity,
            stacks: vec![Vec::new(); p.actors.len()],
            joiner: Joiner::default(),
            lost: LostScan::new(p),
            counting: false,
            lang: Lang::En,
        }
    }

    /// The same stream, its notes in `lang` (the code and the names stay as written).
    pub fn in_lang(mut self, lang: Lang) -> Self {
        self.lang = lang;
        self
    }

    /// A stream that goes on after the events `pre` adds up to.
    pub fn resume(p: &Program, granularity: Granularity, code: &str, pre: &Prefix) -> Self {
        let mut s = RowStream::new(p, granularity, code);
        s.lost = pre.lost.clone();
        if let Some(rows) = &pre.rows {
            s.stacks = rows.stacks.clone();
            s.joiner = match granularity {
                Granularity::Line => rows.line.clone(),
                Granularity::Bytecode => rows.bytecode.clone(),
            };
        }
        s
    }

    /// This stream (its code, granularity and language) as it stands after the
    /// events a tally that counts rows at its granularity took in.
    pub fn rewound(&self, tally: &super::Tally) -> Self {
        let (stacks, joiner, lost) = tally.row_parts();
        RowStream {
            lines: self.lines.clone(),
            granularity: self.granularity,
            stacks: stacks.to_vec(),
            joiner: joiner.clone(),
            lost: lost.clone(),
            counting: self.counting,
            lang: self.lang,
        }
    }

    /// A stream that only counts rows and finds overwritten writes: it never
    /// describes a row.
    pub fn counter(p: &Program, granularity: Granularity) -> Self {
        RowStream {
            counting: true,
            ..RowStream::new(p, granularity, "")
        }
    }

    /// Rows begun so far.
    pub fn rows_begun(&self) -> usize {
        self.joiner.rows
    }

    /// Whether event `seq` would begin a new row (false for a GIL hand-over,
    /// which makes none).
    pub fn begins_row(&self, p: &Program, seq: usize, e: &Event) -> bool {
        !is_gil(e) && !self.joiner.joins(p, self.granularity, seq, e)
    }

    /// Takes in event number `seq` of the run. When `describe`, the row it
    /// makes is pushed on `out`, or the row it joins (`out`'s last) grows.
    /// True when the event is an overwritten write (its row's `!`).
    pub fn feed(
        &mut self,
        p: &Program,
        seq: usize,
        e: &Event,
        describe: bool,
        out: &mut Vec<Row>,
    ) -> bool {
        let is_lost = self.lost.feed(p, seq, e).is_some();
        self.feed_known(p, seq, e, describe, out, is_lost)
    }

    /// Counts event number `seq` in: whether it begins a row, and whether it is
    /// an overwritten write (what [`RowStream::begins_row`] and a counting
    /// stream's [`RowStream::feed`] give, in one look at the event).
    pub fn count(&mut self, p: &Program, seq: usize, e: &Event) -> (bool, bool) {
        let is_lost = self.lost.feed(p, seq, e).is_some();
        if is_gil(e) {
            return (false, is_lost);
        }
        (!self.joiner.next(p, self.granularity, seq, e), is_lost)
    }

    /// [`RowStream::feed`] of an event whose `!` is known already (a stream
    /// ahead of this one scanned it): the stream's own scan is left alone.
    pub fn feed_known(
        &mut self,
        p: &Program,
        seq: usize,
        e: &Event,
        describe: bool,
        out: &mut Vec<Row>,
        is_lost: bool,
    ) -> bool {
        if is_gil(e) {
            return is_lost;
        }
        if self.counting {
            self.joiner.next(p, self.granularity, seq, e);
            return is_lost;
        }
        let lang = self.lang;
        let comment = note(p, &mut self.stacks, e, describe, lang);
        let joins = self.joiner.next(p, self.granularity, seq, e);
        if !describe {
            return is_lost;
        }
        if joins
            && let Some(last) = out.last_mut()
            && last.events.end == seq
        {
            last.events.end = seq + 1;
            if let Some(c) = comment {
                push_comment(&mut last.text, &c, lang);
            }
            last.lost_update |= is_lost;
            return is_lost;
        }
        let line = p.line(e.actor, e.pc);
        // An actor's end is not its last line run again (a worker's exit is not
        // another `print`): it shows as the end alone.
        let ends = matches!(p.instr(e.actor, e.pc), Some(Instr::Exit(_)));
        let head = match (e.kind, self.granularity) {
            (EventKind::Exec, Granularity::Line) if ends => String::new(),
            (EventKind::Exec, Granularity::Line) => self
                .lines
                .get(line.saturating_sub(1) as usize)
                .cloned()
                .unwrap_or_default(),
            (EventKind::Exec, Granularity::Bytecode) => p
                .instr(e.actor, e.pc)
                .map(|i| p.dis(e.actor, i))
                .unwrap_or_default(),
            // Its note says it all (`event_note`).
            (
                EventKind::Block
                | EventKind::Wake
                | EventKind::GilTake
                | EventKind::GilDrop
                | EventKind::Deadlock
                | EventKind::Ended,
                _,
            ) => String::new(),
        };
        let mut text = head;
        if let Some(c) = comment {
            push_comment(&mut text, &c, lang);
        }
        out.push(Row {
            number: self.joiner.rows,
            events: seq..seq + 1,
            actor: e.actor,
            line,
            text,
            lost_update: is_lost,
        });
        is_lost
    }
}

fn is_gil(e: &Event) -> bool {
    matches!(e.kind, EventKind::GilTake | EventKind::GilDrop)
}

/// Decides which events make one row, and counts the rows.
#[derive(Clone, Debug, Default)]
pub(super) struct Joiner {
    /// The open row: its actor, line, the event after its last, and whether it
    /// is a row of executed code (a blocked or woken note stands alone).
    last: Option<(ActorId, u32, usize, bool)>,
    pub(super) rows: usize,
}

impl Joiner {
    /// Whether event `seq` (not a GIL hand-over) would join the open row.
    fn joins(&self, p: &Program, g: Granularity, seq: usize, e: &Event) -> bool {
        self.joins_at(g, seq, e, p.line(e.actor, e.pc))
    }

    /// [`Joiner::joins`] of an event whose Python line is known.
    #[inline(always)]
    fn joins_at(&self, g: Granularity, seq: usize, e: &Event, line: u32) -> bool {
        g == Granularity::Line
            && e.kind == EventKind::Exec
            && self
                .last
                .is_some_and(|(a, l, end, code)| a == e.actor && l == line && end == seq && code)
    }

    /// Takes event `seq` in; true when it joins the open row, false when it starts
    /// a new one.
    fn next(&mut self, p: &Program, g: Granularity, seq: usize, e: &Event) -> bool {
        self.next_at(g, seq, e, p.line(e.actor, e.pc))
    }

    /// [`Joiner::next`] of an event whose Python line is known.
    #[inline(always)]
    pub(super) fn next_at(&mut self, g: Granularity, seq: usize, e: &Event, line: u32) -> bool {
        let joins = self.joins_at(g, seq, e, line);
        if !joins {
            self.rows += 1;
        }
        self.last = Some((e.actor, line, seq + 1, e.kind == EventKind::Exec));
        joins
    }
}

/// What an executed instruction does to its actor's operand stack, as
/// [`note`] applies it: pops `pops` values, then pushes the event's value
/// (`Push`), or pushes it unless it is `None` (`PushSome`: a `recv` that met
/// the end of the pipe pushes nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct StackOp {
    pub(super) pops: u8,
    pub(super) push: Push,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Push {
    #[default]
    No,
    Yes,
    Some,
}

impl StackOp {
    /// Keep in step with [`note`].
    pub(super) fn of(i: Instr) -> StackOp {
        let (pops, push) = match i {
            Instr::LoadConst(_) | Instr::LoadFast(_) | Instr::LoadGlobal(_) => (0, Push::Yes),
            Instr::BinaryOp(_) => (2, Push::Yes),
            Instr::StoreGlobal(_)
            | Instr::StoreFast(_)
            | Instr::FileWrite(_)
            | Instr::PopJumpIfFalse(_)
            | Instr::PipeSend(_)
            | Instr::QueuePut { .. }
            | Instr::QueueTry { put: true, .. }
            | Instr::ListStore { .. }
            | Instr::TlsSet { .. } => (1, Push::No),
            Instr::Print { nargs, .. } | Instr::BufPrint { nargs, .. } => (nargs, Push::No),
            Instr::FileRead(_)
            | Instr::QueueGet { .. }
            | Instr::QueueAsk { .. }
            | Instr::QueueReady(_)
            | Instr::TlsGet(_)
            | Instr::Clock { .. }
            | Instr::Ident(_) => (0, Push::Yes),
            Instr::PipeRecv { .. } | Instr::QueueTry { put: false, .. } => (0, Push::Some),
            crate::program::pid_instr!() | Instr::RunProgram { .. } => (0, Push::Yes),
            Instr::Nop(_)
            | Instr::Opcode(_)
            | Instr::Call(_)
            | Instr::Return
            | Instr::ForRange { .. }
            | Instr::JumpBackward(_)
            | Instr::Acquire(_)
            | Instr::Release(_)
            | Instr::Start(_)
            | Instr::Join(_)
            | Instr::JoinFor { .. }
            | Instr::Sleep(_)
            | Instr::Work(_)
            | Instr::Raise(_)
            | Instr::Exit(_)
            | Instr::Terminate(_)
            | Instr::PipeClose(_)
            | Instr::PrintCaptured { .. }
            | Instr::Flush(_) => (0, Push::No),
            crate::program::cond_instr!() | Instr::BarrierAbort(_) => (0, Push::No),
            // `barrier.wait()`: the index, or NONE when it raised.
            Instr::BarrierWait { .. } => (0, Push::Some),
            Instr::BarrierSleep { .. } => (1, Push::Some),
            Instr::EventWait { .. } | Instr::EventIsSet(_) => (0, Push::Yes),
            Instr::SemAcquire(_)
            | Instr::SemRelease { .. }
            | Instr::EventSet(_)
            | Instr::EventClear(_) => (0, Push::No),
            crate::program::aio_instr!() => (0, Push::No),
        };
        StackOp { pops, push }
    }

    /// Applies the operation of an executed instruction whose event's value is `v`.
    #[inline(always)]
    pub(super) fn apply(self, st: &mut Vec<Value>, v: Value) {
        if self.pops > 0 {
            st.truncate(st.len().saturating_sub(self.pops as usize));
        }
        match self.push {
            Push::No => {}
            Push::Yes => st.push(v),
            Push::Some if v == crate::program::NONE => {}
            Push::Some => st.push(v),
        }
    }
}

/// What a deadlocked actor waits for, forever (`e` is its `Deadlock` event).
pub fn forever(p: &Program, e: &Event) -> String {
    forever_in(p, e, Lang::En)
}

/// [`forever`] in `lang`.
pub fn forever_in(p: &Program, e: &Event, lang: Lang) -> String {
    let name = |a: Value| {
        usize::try_from(a)
            .ok()
            .and_then(|a| p.actors.get(a))
            .map_or("?", |x| x.name.as_str())
    };
    match p.instr(e.actor, e.pc) {
        Some(Instr::PipeRecv { conn, .. }) => Msg::RForeverRecv.fill(lang, &[&p.conn_name(conn)]),
        Some(Instr::QueueGet { .. } | Instr::QueueTry { put: false, .. }) => {
            Msg::RForeverGet.get(lang).into()
        }
        Some(Instr::QueuePut { .. } | Instr::QueueTry { put: true, .. }) => {
            Msg::RForeverPut.get(lang).into()
        }
        Some(Instr::Join(t) | Instr::JoinFor { t, .. } | Instr::RunProgram { child: t, .. }) => {
            Msg::RForeverJoin.fill(lang, &[&name(t as Value)])
        }
        Some(Instr::CondSleep(l)) => Msg::RForeverNotify.fill(
            lang,
            &[&p.locks.get(l as usize).map_or("?", |x| x.name.as_str())],
        ),
        Some(Instr::BarrierWait { barrier: l, .. } | Instr::BarrierSleep { barrier: l, .. }) => {
            Msg::RForeverBarrier.fill(
                lang,
                &[&p.locks.get(l as usize).map_or("?", |x| x.name.as_str())],
            )
        }
        Some(Instr::SemAcquire(g)) => Msg::RForeverSem.fill(lang, &[&var_name(p, g)]),
        Some(Instr::EventWait { ev, .. }) => Msg::RForeverEvent.fill(lang, &[&var_name(p, ev)]),
        Some(Instr::Acquire(l) | Instr::AioAcquire(l)) if e.value >= 0 => Msg::RForeverLock.fill(
            lang,
            &[
                &p.locks
                    .get(l as usize)
                    .map_or(Msg::RALock.get(lang), |x| x.name.as_str()),
                &name(e.value),
            ],
        ),
        // A lock with no holder recorded; or not a blocking instruction (no
        // event of it says "for ever"), named for completeness.
        Some(Instr::Acquire(_) | Instr::AioAcquire(_))
        | None
        | Some(crate::program::never_blocks!()) => {
            if e.value >= 0 {
                Msg::RForeverFor.fill(lang, &[&name(e.value)])
            } else {
                Msg::RForever.get(lang).into()
            }
        }
    }
}

/// A variable's name as the rows show it.
fn var_name(p: &Program, g: crate::program::VarId) -> &str {
    p.vars.get(g as usize).map_or("?", |x| x.name.as_str())
}

/// The interleaving's note for a queue call (put, get; the queue-api lesson's
/// `qsize`, `empty`, `full` and the puts and gets an `except` catches), as
/// [`note`] gives it.
fn queue_note(
    p: &Program,
    e: &Event,
    st: &mut Vec<Value>,
    describe: bool,
    lang: Lang,
) -> Option<String> {
    let v = e.value;
    match p.instr(e.actor, e.pc)? {
        Instr::QueuePut { .. } => {
            st.pop();
            describe.then(|| Msg::RPut.fill(lang, &[&show(p, v, lang)]))
        }
        Instr::QueueGet { .. } => {
            st.push(v);
            describe.then(|| Msg::RGot.fill(lang, &[&show(p, v, lang)]))
        }
        Instr::QueueAsk { ask, .. } => {
            st.push(v);
            let v = match (ask, v) {
                (crate::program::QueueAsk::Size, v) => v.to_string(),
                (_, 0) => "False".to_string(),
                _ => "True".to_string(),
            };
            describe.then(|| format!("{}() → {v}", ask.method()))
        }
        // A failed try records NONE: the except branch runs.
        Instr::QueueTry { put, .. } if v == crate::program::NONE => {
            if put {
                st.pop();
            }
            describe.then(|| if put { "queue.Full" } else { "queue.Empty" }.to_string())
        }
        Instr::QueueTry { put: true, .. } => {
            st.pop();
            describe.then(|| Msg::RPut.fill(lang, &[&show(p, v, lang)]))
        }
        Instr::QueueTry { put: false, .. } => {
            st.push(v);
            describe.then(|| Msg::RGot.fill(lang, &[&show(p, v, lang)]))
        }
        crate::program::local_instr!()
        | crate::program::thread_instr!()
        | crate::program::pid_instr!()
        | Instr::Terminate(_)
        | Instr::FileRead(_)
        | Instr::FileWrite(_)
        | Instr::PipeSend(_)
        | Instr::PipeRecv { .. }
        | Instr::PipeClose(_)
        | Instr::RunProgram { .. }
        | Instr::PrintCaptured { .. }
        | Instr::BufPrint { .. }
        | Instr::Flush(_)
        | Instr::QueueReady(_) => None,
    }
}

/// What a step of `barrier.wait()` or `barrier.abort()` did: the arrival's index
/// stays on the stack between the two steps of `wait()`; NONE: it raised.
fn barrier_note(
    p: &Program,
    ins: Instr,
    st: &mut Vec<Value>,
    v: Value,
    describe: bool,
    lang: Lang,
) -> Option<String> {
    match ins {
        Instr::BarrierWait { .. } | Instr::BarrierSleep { .. } if v == NONE => {
            if matches!(ins, Instr::BarrierSleep { .. }) {
                st.pop();
            }
            describe.then(|| Msg::RBarrierBroken.get(lang).into())
        }
        Instr::BarrierWait { .. } => {
            st.push(v);
            describe.then(|| Msg::RBarrierArrived.fill(lang, &[&v]))
        }
        Instr::BarrierSleep { .. } => describe.then(|| Msg::RBarrierPassed.get(lang).into()),
        Instr::BarrierAbort(l) => describe.then(|| {
            let name = p.locks.get(l as usize).map_or("?", |x| x.name.as_str());
            Msg::RBarrierAborted.fill(lang, &[&name])
        }),
        crate::program::local_instr!()
        | crate::program::process_instr!()
        | Instr::LoadGlobal(_)
        | Instr::StoreGlobal(_)
        | Instr::Acquire(_)
        | Instr::Release(_)
        | Instr::Start(_)
        | Instr::Join(_)
        | Instr::Print { .. }
        | Instr::Sleep(_)
        | Instr::Work(_)
        | Instr::TlsSet { .. }
        | Instr::TlsGet(_)
        | Instr::Clock { .. }
        | Instr::Ident(_)
        | Instr::Raise(_)
        | Instr::Exit(_)
        | Instr::ListStore { .. }
        | Instr::JoinFor { .. }
        | crate::program::sync_instr!()
        | crate::program::aio_instr!()
        | crate::program::cond_instr!() => None,
    }
}

fn push_comment(text: &mut String, c: &str, lang: Lang) {
    if text.contains("  # ") {
        text.push_str(Msg::RAnd.get(lang));
    } else if text.is_empty() {
        // A row that is only a note (blocked, woken, deadlock).
    } else {
        text.push_str("  # ");
    }
    text.push_str(c);
}

/// What a row of an event that is not an executed instruction says: blocked,
/// woken, deadlocked, ended.
fn event_note(p: &Program, e: &Event, lang: Lang) -> Option<String> {
    let name = |a: ActorId| {
        p.actors
            .get(a as usize)
            .map(|x| x.name.as_str())
            .unwrap_or("?")
    };
    Some(match e.kind {
        EventKind::Block => match p.instr(e.actor, e.pc) {
            Some(
                Instr::Join(t) | Instr::JoinFor { t, .. } | Instr::RunProgram { child: t, .. },
            ) => Msg::RBlockedJoin.fill(lang, &[&name(t)]),
            Some(Instr::QueueGet { .. } | Instr::QueueTry { put: false, .. }) => {
                Msg::RBlockedEmpty.get(lang).into()
            }
            Some(Instr::PipeRecv { .. }) => Msg::RBlockedRecv.get(lang).into(),
            Some(Instr::QueuePut { .. } | Instr::QueueTry { put: true, .. }) => {
                Msg::RBlockedFull.get(lang).into()
            }
            Some(Instr::CondSleep(l)) => Msg::RWaitNotify.fill(
                lang,
                &[&p.locks.get(l as usize).map_or("?", |x| x.name.as_str())],
            ),
            Some(Instr::BarrierWait { barrier: l, .. }) => Msg::RBarrierDrains.fill(
                lang,
                &[&p.locks.get(l as usize).map_or("?", |x| x.name.as_str())],
            ),
            Some(Instr::BarrierSleep { barrier: l, .. }) => Msg::RWaitBarrier.fill(
                lang,
                &[&p.locks.get(l as usize).map_or("?", |x| x.name.as_str())],
            ),
            Some(Instr::SemAcquire(g)) => Msg::RWaitSem.fill(lang, &[&var_name(p, g)]),
            Some(Instr::EventWait { ev, .. }) => Msg::RWaitEvent.fill(lang, &[&var_name(p, ev)]),
            Some(Instr::Acquire(l) | Instr::AioAcquire(l)) => Msg::RBlockedLock.fill(
                lang,
                &[&p.locks
                    .get(l as usize)
                    .map(|l| l.name.as_str())
                    .unwrap_or("lock")],
            ),
            None | Some(crate::program::never_blocks!()) => Msg::RBlocked.get(lang).into(),
        },
        EventKind::Wake if e.value >= 0 => Msg::RWokenBy.fill(lang, &[&name(e.value as ActorId)]),
        EventKind::Wake => Msg::RWakes.get(lang).into(),
        EventKind::Deadlock => Msg::RDeadlock.fill(lang, &[&forever_in(p, e, lang)]),
        EventKind::Exec | EventKind::GilTake | EventKind::GilDrop => return None,
        EventKind::Ended if e.value < 0 => Msg::RKilled.fill(lang, &[&e.value]),
        EventKind::Ended => Msg::RException.fill(lang, &[&e.value]),
    })
}

/// A queued value as the student wrote it: a letter for the lessons that send
/// letters, otherwise the number.
fn show(p: &Program, v: Value, lang: Lang) -> String {
    if v == crate::program::NONE {
        return Msg::RPoolStop.get(lang).into();
    }
    if let Some(s) = crate::program::as_str_id(v) {
        return crate::program::py_repr(p.str(s));
    }
    match u8::try_from(v) {
        Ok(c) if c.is_ascii_uppercase() => format!("'{}'", c as char),
        // A packed list (the memory lesson's manager replies with one).
        _ => value_text(v),
    }
}

/// What a print into the stdout buffer, or a flush, did (a plain print says
/// nothing): its event holds the bytes left waiting (negated), the output's
/// index once the buffer went out, or `None` for an empty buffer.
fn buffer_note(ins: Instr, describe: bool, v: Value, lang: Lang) -> Option<String> {
    if !describe || matches!(ins, Instr::Print { .. }) {
        return None;
    }
    Some(match v {
        crate::program::NONE => Msg::RBufferEmpty.get(lang).to_string(),
        v if v < 0 => Msg::RBuffered.fill(lang, &[&-v]),
        _ => Msg::RBufferOut.get(lang).to_string(),
    })
}

/// What a process call returned.
fn returned_note(ins: Instr, value: Value) -> String {
    match (ins, value) {
        // is_alive() returns a bool: Python shows True or False, not 1 or 0.
        (Instr::ProcAlive(_), 0) => "→ False".to_string(),
        (Instr::ProcAlive(_), _) => "→ True".to_string(),
        (_, crate::program::NONE) => "→ None".to_string(),
        (_, v) => format!("→ {v}"),
    }
}

/// `local.attr = value` (a string id when `value_is_str`).
fn tls_note(p: &Program, attr: u16, value_is_str: bool, value: Value, lang: Lang) -> String {
    let v = if value_is_str {
        format!("'{}'", p.str(value as u16))
    } else {
        value.to_string()
    };
    Msg::RLocal.fill(lang, &[&p.str(attr), &v])
}

/// A condition's value as the rows say it: "true" or "false".
fn true_false(v: Value, lang: Lang) -> String {
    if v == 0 { Msg::RFalse } else { Msg::RTrue }
        .get(lang)
        .to_string()
}

/// A binary operation's step: pops its two operands, pushes the result.
fn binary_note(
    op: crate::program::BinOp,
    st: &mut Vec<Value>,
    v: Value,
    describe: bool,
    lang: Lang,
) -> Option<String> {
    let rhs = st.pop().unwrap_or(0);
    let lhs = st.pop().unwrap_or(0);
    st.push(v);
    // A comparison with None is Python's `is not None` test.
    describe.then(|| match rhs {
        crate::program::NONE if v == 0 => Msg::RIsNone.get(lang).to_string(),
        crate::program::NONE => Msg::RNotNone.get(lang).to_string(),
        _ => format!("{lhs} {op} {rhs} = {v}"),
    })
}

/// Applies an event to the operand stacks and, when `describe`, says what it read
/// or wrote (the rows before a window only need the stacks, and formatting a
/// million notes nobody reads is most of the cost).
fn note(
    p: &Program,
    stacks: &mut [Vec<Value>],
    e: &Event,
    describe: bool,
    lang: Lang,
) -> Option<String> {
    if e.kind != EventKind::Exec {
        return describe.then(|| event_note(p, e, lang)).flatten();
    }
    let st = &mut stacks[e.actor as usize];
    let var = |v: u16| p.vars.get(v as usize).map_or("?", |x| x.name.as_str());
    match p.instr(e.actor, e.pc)? {
        Instr::LoadConst(_) | Instr::LoadFast(_) => {
            st.push(e.value);
            None
        }
        Instr::LoadGlobal(v) => {
            st.push(e.value);
            describe.then(|| Msg::RRead.fill(lang, &[&var(v), &value_text(e.value)]))
        }
        Instr::BinaryOp(op) => binary_note(op, st, e.value, describe, lang),
        Instr::StoreGlobal(v) | Instr::ListStore { var: v, .. } => {
            st.pop();
            describe.then(|| Msg::RWrote.fill(lang, &[&var(v), &value_text(e.value)]))
        }
        Instr::StoreFast(_) => st.pop().and(None),
        ins @ (Instr::Print { .. } | Instr::BufPrint { .. } | Instr::Flush(_)) => {
            st.truncate(st.len().saturating_sub(StackOp::of(ins).pops as usize));
            buffer_note(ins, describe, e.value, lang)
        }
        Instr::FileRead(v) => {
            st.push(e.value);
            describe.then(|| Msg::RRead.fill(lang, &[&var(v), &e.value]))
        }
        Instr::FileWrite(v) => {
            st.pop();
            describe.then(|| Msg::RWrote.fill(lang, &[&var(v), &e.value]))
        }
        Instr::PopJumpIfFalse(_) => {
            st.pop();
            describe.then(|| true_false(e.value, lang))
        }
        Instr::PipeSend(_) => {
            st.pop();
            describe.then(|| Msg::RSent.fill(lang, &[&show(p, e.value, lang)]))
        }
        Instr::PipeRecv { .. } if e.value == crate::program::NONE => {
            describe.then(|| Msg::REof.get(lang).into())
        }
        Instr::PipeRecv { .. } => {
            st.push(e.value);
            describe.then(|| Msg::RReceived.fill(lang, &[&show(p, e.value, lang)]))
        }
        Instr::QueuePut { .. }
        | Instr::QueueGet { .. }
        | Instr::QueueAsk { .. }
        | Instr::QueueTry { .. } => queue_note(p, e, st, describe, lang),
        Instr::QueueReady(_) => {
            st.push(e.value);
            describe.then(|| true_false(e.value, lang))
        }
        ins @ (crate::program::pid_instr!() | Instr::RunProgram { .. }) => {
            st.push(e.value);
            describe.then(|| returned_note(ins, e.value))
        }
        Instr::TlsSet { attr, value_is_str } => {
            st.pop();
            describe.then(|| tls_note(p, attr, value_is_str, e.value, lang))
        }
        Instr::TlsGet(_) | Instr::Clock { .. } | Instr::Ident(_) => {
            st.push(e.value);
            None
        }
        // A lock's (a thread's or an asyncio task's) or a `threading.Condition`'s step.
        Instr::Acquire(_) | Instr::AioAcquire(_) => {
            describe.then(|| Msg::RAcquired.get(lang).into())
        }
        Instr::Release(_) | Instr::AioRelease(_) => {
            describe.then(|| Msg::RReleased.get(lang).into())
        }
        Instr::CondWait(l) => describe.then(|| {
            let name = p.locks.get(l as usize).map_or("?", |x| x.name.as_str());
            Msg::RCondReleased.fill(lang, &[&name])
        }),
        Instr::CondNotify { .. } => describe.then(|| Msg::RNotified.fill(lang, &[&e.value])),
        // A semaphore's or an event's step (the value: the counter or the flag after it).
        Instr::SemAcquire(g) | Instr::SemRelease { sem: g, .. } => {
            describe.then(|| Msg::RSemIs.fill(lang, &[&var_name(p, g), &e.value]))
        }
        Instr::EventSet(g) => describe.then(|| Msg::REventSet.fill(lang, &[&var_name(p, g)])),
        Instr::EventClear(g) => describe.then(|| Msg::REventClear.fill(lang, &[&var_name(p, g)])),
        Instr::EventWait { .. } | Instr::EventIsSet(_) => {
            st.push(e.value);
            describe.then(|| true_false(e.value, lang))
        }
        Instr::Exit(code) => describe.then(|| Msg::REnds.fill(lang, &[&code])),
        ins @ crate::program::barrier_instr!() => barrier_note(p, ins, st, e.value, describe, lang),
        Instr::AioSleep(0) => describe.then(|| Msg::RAioYield.get(lang).into()),
        Instr::AioSleep(us) => describe.then(|| Msg::RAioSleep.fill(lang, &[&(us as f64 / 1e6)])),
        Instr::AioBlock(us) => describe.then(|| Msg::RAioBlock.fill(lang, &[&(us as f64 / 1e6)])),
        // Nothing on the operand stack, nothing to say (a new instruction says so here).
        Instr::Nop(_)
        | Instr::Opcode(_)
        | Instr::Call(_)
        | Instr::Return
        | Instr::ForRange { .. }
        | Instr::JumpBackward(_)
        | Instr::Start(_)
        | Instr::Join(_)
        | Instr::JoinFor { .. }
        | Instr::Sleep(_)
        | Instr::Work(_)
        | Instr::Raise(_)
        | Instr::Terminate(_)
        | Instr::PipeClose(_)
        | Instr::PrintCaptured { .. }
        | Instr::CondSleep(_) => None,
    }
}
