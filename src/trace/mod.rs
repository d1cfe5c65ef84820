//! The one event model both engines write and every view reads.

mod analysis;
mod moments;
mod rows;
mod state;
mod tally;
mod verdict;

pub use analysis::{LostScan, LostUpdate, VarOp, lost_updates, var_op};
pub use moments::{Moment, MomentKind, moments};
pub use rows::{Row, RowStream, RowsAt, forever, forever_in, rows, rows_in};
pub use state::{ActorState, BlockedOn, StateOps, StateReplay};
pub use tally::Tally;
pub use verdict::{
    Missing, Verdict, missing_explained, overwrite_legend, overwritten_explained, verdict,
};

use crate::program::{ActorId, Instr, Pc, Program, Value, VarId};
use std::sync::Arc;

/// What happened in one event. The instruction itself is not stored: it is
/// `program.actors[actor].code[pc]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EventKind {
    /// The actor executed the instruction at `pc`. `value` is what it read, computed
    /// or wrote (see [`Event::value`]).
    Exec = 0,
    /// The actor tried the instruction at `pc` and must wait; `value` names what it
    /// waits for (a lock id for an acquire, an actor id for a join).
    Block = 1,
    /// A blocked or sleeping actor may run again; `value` is the actor that woke it
    /// (−1 for time passing).
    Wake = 2,
    /// The actor took its process's GIL; `value` is the previous holder or −1.
    GilTake = 3,
    /// The actor let go of its process's GIL; `value` is 1 when another thread forced
    /// the switch, 0 when the actor blocked, slept or ended.
    GilDrop = 4,
    /// The actor is part of a cycle of waits that can never end.
    Deadlock = 5,
    /// The actor's process ended before reaching its end: a signal (`value` is the
    /// exit code Python reports, −15 for SIGTERM, −9 for SIGKILL) or an uncaught
    /// exception raised by a library call (`value` 1).
    Ended = 6,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Exec => "exec",
            EventKind::Block => "block",
            EventKind::Wake => "wake",
            EventKind::GilTake => "gil_take",
            EventKind::GilDrop => "gil_drop",
            EventKind::Deadlock => "deadlock",
            EventKind::Ended => "ended",
        }
    }
}

/// One recorded event: 24 bytes, so a million of them take 24 MB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// Nanoseconds since the run started: virtual in the simulator, monotonic in live runs.
    pub t_ns: u64,
    /// For `Exec`: a load's value, a store's value, an operation's result, a loop's
    /// counter, the lock or actor a call names, the index of a printed line.
    pub value: Value,
    pub pc: Pc,
    pub actor: ActorId,
    pub kind: EventKind,
}

/// One line the program printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputLine {
    /// Index of the event that printed it.
    pub seq: u64,
    pub actor: ActorId,
    pub text: String,
    /// The last write to it did not end the line: a terminal's cursor is still
    /// on it, and the next write, from any process, goes on after it.
    pub open: bool,
    /// Another actor's write went on after this line's first one (on a terminal,
    /// before its end): two writers' text joined on one line.
    pub joined: bool,
}

/// Adds one write to `output` as a terminal shows it: after an open line, on
/// that line (which keeps its first writer and event); else as a new line.
/// Gives the index of the line it went to.
pub fn write_line(output: &mut Vec<OutputLine>, line: OutputLine) -> usize {
    if let Some(last) = output.last_mut().filter(|l| l.open) {
        last.joined |= last.actor != line.actor;
        last.text.push_str(&line.text);
        last.open = line.open;
        return output.len() - 1;
    }
    output.push(line);
    output.len() - 1
}

/// Which engine wrote a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Stepped,
    Live,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Stepped => "stepped",
            Mode::Live => "live",
        }
    }
}

/// An append-only record of one run. Events are in global order; their index is
/// their sequence number.
///
/// A long run keeps only a window of its newest events: `events[0]` is event
/// number `base` of the run, and what the events before it add up to (the
/// variables, the actors' states, the overwritten writes) is kept in `prefix`.
/// Only a stepped run in the playground drops events (`Trace::evict`); `base` is
/// 0 everywhere else.
#[derive(Clone, Debug)]
pub struct Trace {
    pub program: Arc<Program>,
    pub events: Vec<Event>,
    pub output: Vec<OutputLine>,
    /// What each actor is called on screen (live process actors add their PID).
    pub actor_labels: Vec<String>,
    /// The run's number of the first event kept.
    pub base: usize,
    /// What the dropped events before `base` add up to.
    pub prefix: Option<Box<Prefix>>,
}

/// The sum of a trace's dropped events: enough to go on as if they were there.
#[derive(Clone, Debug)]
pub struct Prefix {
    /// Every variable as the last store left it (see [`Trace::final_vars`]).
    pub vars: Vec<Value>,
    pub state: StateReplay,
    pub lost: LostScan,
    /// Where the rows stand, so that row numbers and operands go on from here
    /// (`None` where nobody draws rows of the window: the headless report
    /// keeps its own).
    pub rows: Option<RowsAt>,
}

impl Prefix {
    pub fn new(p: &Program) -> Self {
        Prefix {
            vars: p.vars.iter().map(|v| v.init).collect(),
            state: StateReplay::new(p),
            lost: LostScan::new(p),
            rows: Some(RowsAt::new(p)),
        }
    }

    /// Takes in event number `seq` as [`Prefix::absorb`] does, but for the rows,
    /// with one look-up of its instruction's table entry (`ops`) and one of
    /// what it does to a variable: the lost update it makes, if it makes one
    /// (what `Run`'s model folds in on every step).
    pub fn take(
        &mut self,
        ops: &StateOps,
        p: &Program,
        seq: usize,
        e: &Event,
    ) -> Option<LostUpdate> {
        ops.apply(&mut self.state, p, e);
        if e.kind != EventKind::Exec {
            return None;
        }
        match p.instr(e.actor, e.pc).map_or(VarOp::None, var_op) {
            VarOp::Load(v) => {
                self.lost.load(seq, e.actor, v);
                None
            }
            VarOp::Store(v) => {
                if kept_in_main(p, e.actor, v) {
                    self.vars[v as usize] = e.value;
                }
                self.lost
                    .store(seq, e.actor, v, analysis::home(p, e.actor, v))
            }
            VarOp::None => None,
        }
    }

    /// Takes in event number `seq`.
    fn absorb(&mut self, p: &Program, seq: usize, e: &Event) {
        self.state.apply(p, e);
        self.lost.feed(p, seq, e);
        if let Some(rows) = &mut self.rows {
            rows.absorb(p, seq, e);
        }
        if let Some(v) = stored_var(p, e) {
            self.vars[v] = e.value;
        }
    }
}

/// The main process's variable an event stores, if it stores one.
fn stored_var(p: &Program, e: &Event) -> Option<usize> {
    if e.kind != EventKind::Exec {
        return None;
    }
    match p.instr(e.actor, e.pc).map_or(VarOp::None, var_op) {
        VarOp::Store(v) if kept_in_main(p, e.actor, v) => Some(v as usize),
        VarOp::Store(_) | VarOp::Load(_) | VarOp::None => None,
    }
}

/// Whether a store of `v` by `actor` is to the main process's variable: another
/// process's own copy of a variable is not the main one's.
fn kept_in_main(p: &Program, actor: ActorId, v: VarId) -> bool {
    p.actors[actor as usize].process == 0 || p.vars[v as usize].shared
}

/// The event buffer of one dropped trace, kept for the next run.
///
/// Writing a long run's events to fresh memory costs a page fault every 170
/// events: about a third of the default balance-race run. The playground runs
/// again and again (stepping back replays the schedule, a knob change reruns the
/// lesson), so the memory of the run just dropped is handed to the next one. Only
/// one buffer is kept, and only a large one.
static SPARE_EVENTS: parking_lot::Mutex<Vec<Event>> = parking_lot::Mutex::new(Vec::new());
/// Smaller buffers are cheap to make anew.
const SPARE_MIN_EVENTS: usize = 1 << 16;

fn spare_events() -> Vec<Event> {
    std::mem::take(&mut *SPARE_EVENTS.lock())
}

impl Drop for Trace {
    fn drop(&mut self) {
        if self.events.capacity() < SPARE_MIN_EVENTS {
            return;
        }
        let mut spare = SPARE_EVENTS.lock();
        if self.events.capacity() > spare.capacity() {
            let mut events = std::mem::take(&mut self.events);
            events.clear();
            *spare = events;
        }
    }
}

impl Trace {
    /// One write to the output, as [`write_line`] says.
    pub fn write_output(&mut self, line: OutputLine) -> usize {
        write_line(&mut self.output, line)
    }

    pub fn new(program: Arc<Program>) -> Self {
        let actor_labels = program.actors.iter().map(|a| a.name.clone()).collect();
        Trace {
            program,
            events: spare_events(),
            output: Vec::new(),
            actor_labels,
            base: 0,
            prefix: None,
        }
    }

    /// Events in the whole run, the dropped ones included.
    pub fn total_len(&self) -> usize {
        self.base + self.events.len()
    }

    /// Adds the kept events `from..to` (indices into `events`) to `pre`.
    pub fn absorb_into(&self, pre: &mut Prefix, from: usize, to: usize) {
        let to = to.min(self.events.len());
        for (i, e) in self.events[from.min(to)..to].iter().enumerate() {
            pre.absorb(&self.program, self.base + from + i, e);
        }
    }

    /// Drops the oldest `n` events kept; `prefix` is what they and the ones
    /// dropped before add up to.
    pub fn drop_front(&mut self, n: usize, prefix: Box<Prefix>) {
        let n = n.min(self.events.len());
        self.events.drain(..n);
        self.base += n;
        self.prefix = Some(prefix);
    }

    /// A copy that keeps the events from `from` on (an index into `events`),
    /// `prefix` being what the events before add up to: a checkpoint's trace.
    pub fn copy_from(&self, from: usize, prefix: Box<Prefix>) -> Trace {
        let from = from.min(self.events.len());
        Trace {
            program: self.program.clone(),
            events: self.events[from..].to_vec(),
            output: self.output.clone(),
            actor_labels: self.actor_labels.clone(),
            base: self.base + from,
            prefix: Some(prefix),
        }
    }

    /// What the dropped events add up to (nothing dropped: the start).
    pub fn prefix_or_start(&self) -> Prefix {
        match &self.prefix {
            Some(pre) => (**pre).clone(),
            None => Prefix::new(&self.program),
        }
    }

    /// The actors' states before the first event kept.
    pub fn state_at_base(&self) -> StateReplay {
        match &self.prefix {
            Some(pre) => pre.state.clone(),
            None => StateReplay::new(&self.program),
        }
    }

    /// Overwritten writes in the whole run, the dropped events' included.
    /// The overwritten-write scan as it stood before the first kept event.
    pub fn lost_scan_at_base(&self) -> LostScan {
        match &self.prefix {
            Some(pre) => pre.lost.clone(),
            None => LostScan::new(&self.program),
        }
    }

    pub fn lost_total(&self) -> usize {
        let p = &self.program;
        let mut scan = match &self.prefix {
            Some(pre) => pre.lost.clone(),
            None => LostScan::new(p),
        };
        for (i, e) in self.events.iter().enumerate() {
            scan.feed(p, self.base + i, e);
        }
        scan.count
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Python line of an event.
    pub fn line(&self, e: &Event) -> u32 {
        self.program.line(e.actor, e.pc)
    }

    /// Final value of every shared variable, as the last store left it.
    pub fn final_vars(&self) -> Vec<(String, Value)> {
        let p = &self.program;
        let mut vals: Vec<Value> = match &self.prefix {
            Some(pre) => pre.vars.clone(),
            None => p.vars.iter().map(|v| v.init).collect(),
        };
        for e in &self.events {
            if let Some(v) = stored_var(p, e) {
                vals[v] = e.value;
            }
        }
        p.vars.iter().map(|v| v.name.clone()).zip(vals).collect()
    }

    /// Process `p`'s own copy of variable `g` as the events kept left it: its
    /// parent's copy when it started, then its own stores; `None` while no actor
    /// of `p` has run. (A window that dropped older events starts from the
    /// variable's first value.)
    pub fn var_in_process(&self, g: crate::program::VarId, p: u16) -> Option<Value> {
        let prog = &self.program;
        let proc_of = |a: ActorId| prog.actors.get(a as usize).map_or(0, |x| x.process);
        let init = prog.vars.get(g as usize)?.init;
        let mut vals = vec![init; prog.process_count()];
        let mut ran = vec![false; prog.process_count()];
        ran[0] = true;
        for e in &self.events {
            let here = proc_of(e.actor) as usize;
            if let Some(r) = ran.get_mut(here) {
                *r = true;
            }
            if e.kind != EventKind::Exec {
                continue;
            }
            let ins = prog.instr(e.actor, e.pc);
            if let Some(Instr::Start(t) | Instr::Fork(t)) = ins {
                let child = proc_of(t) as usize;
                if child != here && child < vals.len() {
                    vals[child] = vals[here];
                }
            }
            if let Some(VarOp::Store(v)) = ins.map(var_op)
                && v == g
            {
                vals[here] = e.value;
            }
        }
        let p = p as usize;
        ran.get(p).copied().unwrap_or(false).then(|| vals[p])
    }

    /// The actors in a cycle of waits, if the run ended in one.
    pub fn deadlock(&self) -> Vec<&Event> {
        self.events
            .iter()
            .rev()
            .take_while(|e| e.kind == EventKind::Deadlock)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_fits_in_24_bytes() {
        assert_eq!(std::mem::size_of::<Event>(), 24);
    }

    /// The memory of a dropped trace is reused, never its events.
    #[test]
    fn a_new_trace_starts_empty_after_a_long_one_is_dropped() {
        let program = Arc::new(Program::default());
        let event = Event {
            t_ns: 1,
            value: 7,
            pc: 0,
            actor: 0,
            kind: EventKind::Exec,
        };
        for _ in 0..3 {
            let mut long = Trace::new(program.clone());
            assert!(long.is_empty());
            long.events.resize(SPARE_MIN_EVENTS * 2, event);
            drop(long);
        }
        let next = Trace::new(program);
        assert!(next.is_empty());
        assert!(next.output.is_empty());
    }
}
