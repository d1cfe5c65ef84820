//! What a run's events add up to, taken in one pass with one look-up per event:
//! the headless report reads millions of events and formats a few dozen rows.
//!
//! [`Prefix::absorb`] and [`RowStream`] look each event's instruction up and
//! match on it several times over; a [`Tally`] looks up a precomputed [`Op`]
//! per instruction once and does the same work (a test holds them equal).

use super::rows::{Joiner, StackOp};
use super::state::touches_state;
use super::{Event, EventKind, LostScan, Prefix, StateReplay, analysis::home};
use crate::program::{Granularity, Program, Value, VarId};
use std::sync::Arc;

/// What the readers of a trace need of one instruction.
#[derive(Clone, Copy, Debug, Default)]
struct Op {
    line: u32,
    /// Where the variable a store writes lives ([`home`]).
    home: u32,
    /// The variable a load reads or a store writes.
    var: VarId,
    access: Access,
    /// A store that the main process's variables see ([`super::stored_var`]).
    main_store: bool,
    /// [`StateReplay::apply`] has to look at it (or it is no instruction).
    state: bool,
    stack: StackOp,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Access {
    #[default]
    None,
    Load,
    Store,
}

/// The [`Op`] of every instruction of a program.
#[derive(Debug)]
struct OpTable {
    /// Per actor: where its ops start in `ops`, and how many it has.
    spans: Vec<(usize, usize)>,
    ops: Vec<Op>,
}

impl OpTable {
    fn new(p: &Program) -> OpTable {
        let mut spans = Vec::with_capacity(p.actors.len());
        let mut ops = Vec::new();
        for (a, actor) in p.actors.iter().enumerate() {
            let a = a as crate::program::ActorId;
            spans.push((ops.len(), actor.code.len()));
            for (pc, &i) in actor.code.iter().enumerate() {
                let (access, var) = match super::var_op(i) {
                    super::VarOp::Load(v) => (Access::Load, v),
                    super::VarOp::Store(v) => (Access::Store, v),
                    super::VarOp::None => (Access::None, 0),
                };
                let probe = Event {
                    t_ns: 0,
                    value: 0,
                    pc: pc as crate::program::Pc,
                    actor: a,
                    kind: EventKind::Exec,
                };
                ops.push(Op {
                    line: p.line(a, pc as crate::program::Pc),
                    home: if access == Access::Store {
                        home(p, a, var) as u32
                    } else {
                        0
                    },
                    var,
                    access,
                    main_store: super::stored_var(p, &probe).is_some(),
                    state: touches_state(i),
                    stack: StackOp::of(i),
                });
            }
        }
        OpTable { spans, ops }
    }

    /// The op of an event's instruction; an event with no instruction gets one
    /// that every reader looks at the slow way (or ignores, as they do).
    #[inline(always)]
    fn get(&self, e: &Event) -> Op {
        match self.spans.get(e.actor as usize) {
            Some(&(start, len)) if (e.pc as usize) < len => self.ops[start + e.pc as usize],
            _ => Op {
                state: true,
                ..Op::default()
            },
        }
    }
}

/// Everything the events so far add up to: the variables, the actors' states
/// and the overwritten writes (a trace's [`Prefix`]), and, when it counts rows,
/// the operand stacks and the rows at one granularity. Cheap to clone: a
/// snapshot of it is where a row can be formatted again from.
#[derive(Clone, Debug)]
pub struct Tally {
    ops: Arc<OpTable>,
    vars: Vec<Value>,
    state: StateReplay,
    lost: LostScan,
    /// `Some` when the tally counts rows at this granularity.
    granularity: Option<Granularity>,
    stacks: Vec<Vec<Value>>,
    joiner: Joiner,
    /// The next event's number in the run.
    seq: usize,
}

impl Tally {
    /// The tally at the start of a run; with `rows`, it counts rows at that
    /// granularity and keeps the operand stacks.
    pub fn new(p: &Program, rows: Option<Granularity>) -> Tally {
        let start = Prefix::new(p);
        Tally {
            ops: Arc::new(OpTable::new(p)),
            vars: start.vars,
            state: start.state,
            lost: start.lost,
            granularity: rows,
            stacks: vec![Vec::new(); if rows.is_some() { p.actors.len() } else { 0 }],
            joiner: Joiner::default(),
            seq: 0,
        }
    }

    /// A tally that counts rows at `g`, going on after the events `pre` adds up
    /// to (a trace's prefix; none: the start). A prefix without rows gives
    /// rows counted from there, as [`super::RowStream::resume`] does.
    pub fn resume(p: &Program, g: Granularity, pre: Option<&Prefix>) -> Tally {
        let mut t = Tally::new(p, Some(g));
        if let Some(pre) = pre {
            t.vars.clone_from(&pre.vars);
            t.state = pre.state.clone();
            t.lost = pre.lost.clone();
            if let Some(rows) = &pre.rows {
                let (joiner, stacks) = rows.parts(g);
                t.joiner = joiner.clone();
                t.stacks = stacks.to_vec();
            }
        }
        t
    }

    /// The same tally, numbering the next event `seq` (a trace that starts
    /// late: a live run's window).
    pub fn starting_at(mut self, seq: usize) -> Tally {
        self.seq = seq;
        self
    }

    /// The number of the next event it takes.
    pub fn seq(&self) -> usize {
        self.seq
    }

    /// Rows begun so far (0 when it counts none).
    pub fn rows_begun(&self) -> usize {
        self.joiner.rows
    }

    /// Overwritten writes so far.
    pub fn lost_count(&self) -> usize {
        self.lost.count
    }

    /// What the events so far add up to, as a trace keeps it for its dropped
    /// events (no rows: the headless report keeps its own).
    pub fn prefix(&self) -> Prefix {
        Prefix {
            vars: self.vars.clone(),
            state: self.state.clone(),
            lost: self.lost.clone(),
            rows: None,
        }
    }

    /// The operand stacks, the rows and the overwritten-write scan, to format
    /// rows from here ([`super::RowStream`]).
    pub(super) fn row_parts(&self) -> (&[Vec<Value>], &Joiner, &LostScan) {
        (&self.stacks, &self.joiner, &self.lost)
    }

    /// Takes in the next event (number [`Tally::seq`]) of a run of `p` (the
    /// program it was made for): whether it begins a row, and whether it is an
    /// overwritten write.
    #[inline(always)]
    pub fn feed(&mut self, p: &Program, e: &Event) -> (bool, bool) {
        let seq = self.seq;
        self.seq += 1;
        let op = self.ops.get(e);
        let mut lost = false;
        if e.kind == EventKind::Exec {
            match op.access {
                Access::None => {}
                Access::Load => self.lost.load(seq, e.actor, op.var),
                Access::Store => {
                    lost = self
                        .lost
                        .store(seq, e.actor, op.var, op.home as usize)
                        .is_some();
                    if op.main_store
                        && let Some(v) = self.vars.get_mut(op.var as usize)
                    {
                        *v = e.value;
                    }
                }
            }
            if op.state {
                self.state.apply(p, e);
            } else {
                self.state.apply_plain(e);
            }
        } else {
            self.state.apply(p, e);
        }
        let Some(g) = self.granularity else {
            return (false, lost);
        };
        if matches!(e.kind, EventKind::GilTake | EventKind::GilDrop) {
            return (false, lost);
        }
        if e.kind == EventKind::Exec
            && let Some(st) = self.stacks.get_mut(e.actor as usize)
        {
            op.stack.apply(st, e.value);
        }
        (!self.joiner.next_at(g, seq, e, op.line), lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::run::{Origin, Run, Start};
    use crate::trace::RowStream;

    /// A tally of every lesson's run, at both granularities, is what the
    /// readers that look every instruction up make of the same events: the
    /// prefix a trace keeps, the rows and overwritten writes the report counts,
    /// and the operand stacks the rows are formatted with.
    #[test]
    fn a_tally_adds_up_what_the_event_by_event_readers_do() {
        let catalog = Catalog::embedded().expect("lessons load");
        for l in catalog.lessons() {
            for g in ["line", "bytecode"] {
                let mut sets = vec![format!("granularity={g}")];
                if l.knob("iterations").is_some() {
                    sets.push("iterations=300".into());
                }
                let Ok(knobs) = crate::cli::knobs_from(l, &sets) else {
                    continue;
                };
                for seed in [1, 7] {
                    let run = Run::new(l, knobs.clone(), Start::Stepped(Origin::Seed(seed)))
                        .expect("builds");
                    let t = run.finish_stepped().expect("ends");
                    let p = &t.program;
                    let gran = knobs.engine().granularity;
                    let mut tally = Tally::new(p, Some(gran));
                    let mut plain = Tally::new(p, None);
                    let mut pre = Prefix::new(p);
                    let mut rows = RowStream::counter(p, gran);
                    let at = |seq: usize| format!("{} {g} seed {seed} event {seq}", l.id);
                    for (seq, e) in t.events.iter().enumerate() {
                        assert_eq!(tally.feed(p, e), rows.count(p, seq, e), "{}", at(seq));
                        assert_eq!(plain.feed(p, e).1, tally.lost.count > pre.lost.count);
                        pre.absorb(p, seq, e);
                        assert_eq!(tally.vars, pre.vars, "{}", at(seq));
                        assert_eq!(plain.lost_count(), pre.lost.count, "{}", at(seq));
                        if seq % 61 == 0 || seq + 1 == t.events.len() {
                            for mine in [&tally, &plain] {
                                let got = mine.prefix();
                                assert_eq!(got.vars, pre.vars);
                                let (a, b) = (&got.state, &pre.state);
                                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{}", at(seq));
                                let (a, b) = (&got.lost, &pre.lost);
                                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{}", at(seq));
                            }
                            let stacks = pre.rows.as_ref().map(|r| r.stacks.clone());
                            assert_eq!(Some(tally.stacks.clone()), stacks, "{}", at(seq));
                        }
                    }
                    assert_eq!(tally.rows_begun(), rows.rows_begun());
                    assert!(!t.events.is_empty(), "{}: no events", l.id);
                }
            }
        }
    }
}
