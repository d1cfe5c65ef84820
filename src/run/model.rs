//! What the screen draws of a run, derived from its trace and kept by [`Run`]:
//! every actor's state and instruction, the lock and GIL holders, the
//! variables, the overwritten writes and the schedule so far.
//!
//! Brought up to date when read ([`Run::model`]): an append costs one pass over
//! the new events only (a step at the end of a long run costs what the step
//! added); a new [`Run::version`] (a step back, a reset, a rebuilt CPython trace)
//! starts again from the trace's start.

use super::Run;
use crate::program::{ActorId, Pc, Program, Value};
use crate::trace::{ActorState, Event, Mode, Prefix, StateOps, StateReplay, Trace};
use std::sync::Arc;

/// The derived state of one moment of a run (read-only: [`Run::model`]).
#[derive(Default)]
pub struct Model {
    /// The run version and the events of the run (dropped ones included) it
    /// stands for.
    version: u64,
    len: usize,
    /// The trace's first kept event number when it was brought up to date.
    base: usize,
    program: Option<Arc<Program>>,
    ops: Option<StateOps>,
    /// Up to the events that cannot move any more (all of them, but for the
    /// newest of a live run, which a late batch may still reorder).
    settled: Option<Fold>,
    /// The settled part plus the newest events, while some are not settled.
    tail: Option<Fold>,
    /// The instruction each actor is shown at (started and not done).
    pcs: Vec<Option<Pc>>,
    /// The variables as the state panel shows them.
    vars: Vec<Value>,
    schedule: ScheduleText,
}

/// What the events up to one point add up to.
#[derive(Clone)]
struct Fold {
    /// Events of the run taken in (an absolute count).
    at: usize,
    sum: Prefix,
    /// Each overwritten write from the trace's first kept event on: (absolute
    /// event number, actor).
    lost_at: Vec<(usize, ActorId)>,
    /// The last event taken in, to tell that the trace only grew since.
    last: Option<Event>,
}

impl Fold {
    /// What the dropped events of `trace` add up to.
    fn start(trace: &Trace) -> Fold {
        let mut sum = trace.prefix_or_start();
        // Nobody draws rows from here.
        sum.rows = None;
        Fold {
            at: trace.base,
            sum,
            lost_at: Vec::new(),
            last: None,
        }
    }

    /// Whether `trace` is this fold's trace, grown: nothing it took in was
    /// replaced (nor dropped before it took it in).
    fn goes_on_in(&self, trace: &Trace) -> bool {
        if self.at < trace.base || self.at > trace.total_len() {
            return false;
        }
        match (self.at.checked_sub(trace.base + 1), self.last) {
            (Some(i), Some(last)) => trace.events.get(i) == Some(&last),
            // The last event taken in was dropped since (a long run): it was kept
            // as it was, events never change once dropped.
            _ => true,
        }
    }

    /// Takes in the kept events up to event number `to`.
    fn take(&mut self, ops: &StateOps, trace: &Trace, to: usize) {
        let p = &trace.program;
        let (from, to) = (self.at - trace.base, to - trace.base);
        for (i, e) in trace.events[from..to].iter().enumerate() {
            let seq = self.at + i;
            if let Some(l) = self.sum.take(ops, p, seq, e) {
                self.lost_at.push((seq, l.actor));
            }
        }
        if to > from {
            self.last = trace.events.get(to - 1).copied();
        }
        self.at = trace.base + to;
    }

    /// Forgets the marks of events no longer kept.
    fn forget_before(&mut self, base: usize) {
        let keep = self.lost_at.partition_point(|&(seq, _)| seq < base);
        self.lost_at.drain(..keep);
    }
}

impl Model {
    /// The run version this model stands for ([`Run::version`]).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Events of the run it stands for, the dropped ones included: the trace's
    /// length when it was brought up to date (a live run in flight is held at
    /// most [`LIVE_REFRESH`](super::LIVE_REFRESH) behind).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn now(&self) -> Option<&Fold> {
        self.tail.as_ref().or(self.settled.as_ref())
    }

    /// Every actor's state, the lock holders, the GIL holders and the
    /// thread-locals after the newest event (`None` before the first read).
    pub fn replay(&self) -> Option<&StateReplay> {
        self.now().map(|f| &f.sum.state)
    }

    /// What actor `a` is doing now.
    pub fn state(&self, a: ActorId) -> ActorState {
        self.replay()
            .filter(|r| (a as usize) < r.actors())
            .map_or(ActorState::NotStarted, |r| r.state(a))
    }

    /// The instruction actor `a` is shown at: a stepped run's next one, a live
    /// run's last one; `None` before it starts and once it is done.
    pub fn pc(&self, a: ActorId) -> Option<Pc> {
        self.pcs.get(a as usize).copied().flatten()
    }

    /// Shared variable `i` now: a stepped run's as the simulator holds it, a live
    /// run's as its last store left it.
    pub fn var(&self, i: usize) -> Option<Value> {
        self.vars.get(i).copied()
    }

    /// Overwritten writes in the whole run (lost updates).
    pub fn lost(&self) -> usize {
        self.now().map_or(0, |f| f.sum.lost.count)
    }

    /// Each overwritten write among the events kept: (index into the trace's
    /// events, actor), for the timeline's marks.
    pub fn lost_at(&self) -> impl Iterator<Item = (usize, ActorId)> + '_ {
        let base = self.base;
        self.now()
            .into_iter()
            .flat_map(|f| f.lost_at.iter())
            .filter(move |&&(seq, _)| seq >= base)
            .map(move |&(seq, a)| (seq - base, a))
    }

    /// The schedule so far as a string that replays it (`0x4 1 2x3`): empty
    /// for a live run.
    pub fn schedule(&self) -> &str {
        &self.schedule.text
    }

    /// Brings the trace-derived part up to date with `trace` at `version`,
    /// whose first `settled` events (an absolute count) will not move any
    /// more: one pass over what is new, or over everything kept if the trace
    /// is not the one followed so far, grown.
    pub fn follow(&mut self, version: u64, trace: &Trace, settled: usize) {
        let total = trace.total_len();
        let settled = settled.clamp(trace.base, total);
        let same_program = self
            .program
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(p, &trace.program));
        let resume = match &self.settled {
            // A long run dropped events this model had not taken in yet: it
            // starts again from what they add up to.
            Some(f) if f.at < trace.base => false,
            Some(f) if version == self.version && same_program => {
                let ok = f.goes_on_in(trace) && f.at <= settled;
                // A change that is not an append comes with a new version.
                debug_assert!(ok, "the trace changed without a new run version");
                ok
            }
            _ => false,
        };
        if !resume {
            self.settled = Some(Fold::start(trace));
            self.program = Some(trace.program.clone());
            self.ops = Some(StateOps::new(&trace.program));
        }
        let (Some(ops), Some(f)) = (&self.ops, &mut self.settled) else {
            return;
        };
        if trace.base > self.base {
            f.forget_before(trace.base);
        }
        f.take(ops, trace, settled);
        self.tail = (settled < total).then(|| {
            let mut t = f.clone();
            t.take(ops, trace, total);
            t
        });
        self.version = version;
        self.len = total;
        self.base = trace.base;
    }
}

/// The schedule string, grown a step at a time: the last token is rewritten as
/// its run gets longer, so a step costs the same at any length.
#[derive(Default)]
struct ScheduleText {
    text: String,
    /// The step number of the first pick, and how many picks the text holds.
    from: usize,
    picks: usize,
    /// The last run: its actor, its length, where its token starts.
    last: Option<(ActorId, usize, usize)>,
}

impl ScheduleText {
    /// Follows `picks`, the steps from step number `from` on; `again` starts
    /// over (a new run version).
    fn follow(&mut self, from: usize, picks: &[ActorId], again: bool) {
        if again || from != self.from || picks.len() < self.picks {
            *self = ScheduleText {
                from,
                ..ScheduleText::default()
            };
        }
        // One token written per run of one actor, however many steps it has.
        let mut new = &picks[self.picks.min(picks.len())..];
        while let Some(&a) = new.first() {
            let n = new.iter().take_while(|&&b| b == a).count();
            self.push(a, n);
            new = &new[n..];
        }
        self.picks = picks.len();
    }

    /// Appends `n` steps of actor `a`: the last token grows, or a new one starts.
    fn push(&mut self, a: ActorId, n: usize) {
        use std::fmt::Write;
        let (count, start) = match self.last {
            Some((b, count, start)) if b == a => {
                self.text.truncate(start);
                (count + n, start)
            }
            _ => {
                if !self.text.is_empty() {
                    self.text.push(' ');
                }
                (n, self.text.len())
            }
        };
        let _ = if count == 1 {
            write!(self.text, "{a}")
        } else {
            write!(self.text, "{a}x{count}")
        };
        self.last = Some((a, count, start));
    }
}

impl Run {
    /// Brings `m` up to date with the run now.
    pub(super) fn sync_model(&self, m: &mut Model) {
        let again = m.version != self.version;
        let trace = self.trace();
        m.follow(self.version, trace, trace.base + self.settled_events());
        let n = trace.program.actors.len();
        let stepped = self.mode() == Mode::Stepped;
        m.pcs = (0..n as ActorId)
            .map(|a| match m.state(a) {
                ActorState::NotStarted | ActorState::Done(_) => None,
                _ if stepped => self.pc(a),
                _ => m.replay().and_then(|r| r.position(a)),
            })
            .collect();
        let folded = m.now().map(|f| f.sum.vars.as_slice()).unwrap_or_default();
        let vars = trace.program.vars.iter().enumerate().map(|(i, v)| {
            if stepped {
                self.var(i)
            } else {
                folded.get(i).copied()
            }
            .unwrap_or(v.init)
        });
        m.vars = vars.collect();
        let from = self.sim().map_or(0, |s| s.steps_base());
        m.schedule
            .follow(from, self.picks().unwrap_or_default(), again);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::run::{Command, Origin, Outcome, Schedule, Start};

    fn run(id: &str, sets: &[(&str, &str)], seed: u64) -> Run {
        let cat = Catalog::embedded().expect("lessons");
        let l = cat.find(id).expect("lesson").clone();
        let mut k = l.default_knobs();
        for (n, v) in sets {
            k.set(&l.knobs, n, v).expect("knob");
        }
        Run::new(&l, k, Start::Stepped(Origin::Seed(seed))).expect("builds")
    }

    /// What a model says, to compare two.
    fn seen(m: &Model, actors: usize) -> (Vec<ActorState>, Vec<Option<ActorId>>, usize) {
        let states = (0..actors as ActorId).map(|a| m.state(a)).collect();
        let holders = (0..4)
            .map(|l| m.replay().and_then(|r| r.lock_holder(l)))
            .collect();
        (states, holders, m.lost())
    }

    /// The model of `trace` built at once, from its start.
    fn at_once(trace: &Trace) -> Model {
        let mut m = Model::default();
        m.follow(u64::MAX, trace, trace.total_len());
        m
    }

    #[test]
    fn a_model_kept_step_by_step_is_the_one_built_at_once() {
        for (id, sets) in [
            ("balance-race", &[("gil", "free"), ("iterations", "3")][..]),
            ("deadlock", &[][..]),
            ("condition", &[("check", "if")][..]),
            ("pipe", &[][..]),
        ] {
            for seed in 1..4 {
                let mut r = run(id, sets, seed);
                let n = r.program().actors.len();
                let mut steps = 0;
                while !r.is_over() && steps < 400 {
                    r.command(Command::Step);
                    steps += 1;
                    let m = r.model();
                    let t = r.trace();
                    let fresh = at_once(t);
                    assert_eq!(
                        seen(&m, n),
                        seen(&fresh, n),
                        "{id} seed {seed} step {steps}"
                    );
                    let marks: Vec<_> = m.lost_at().collect();
                    assert_eq!(
                        marks,
                        fresh.lost_at().collect::<Vec<_>>(),
                        "{id} {seed} {steps}"
                    );
                    let picks = r.picks().expect("a stepped run has picks");
                    assert_eq!(m.schedule(), Schedule(picks.to_vec()).to_string());
                    for a in 0..n as ActorId {
                        let shown = match m.state(a) {
                            ActorState::NotStarted | ActorState::Done(_) => None,
                            _ => r.pc(a),
                        };
                        assert_eq!(m.pc(a), shown, "{id} {seed} {steps} actor {a}");
                    }
                    for i in 0..r.program().vars.len() {
                        assert_eq!(m.var(i), r.var(i), "{id} {seed} {steps} var {i}");
                    }
                }
            }
        }
    }

    /// A step back replays a shorter trace: the run takes a new version and the
    /// model is the shorter trace's, also when the next step makes the trace as
    /// long as before (issue 9's stale screen).
    #[test]
    fn a_step_back_gives_a_new_version_and_the_shorter_runs_model() {
        let mut r = run("balance-race", &[("gil", "free"), ("iterations", "2")], 5);
        // The main thread starts both threads.
        while r.model().state(2) == ActorState::NotStarted {
            assert_eq!(r.command(Command::StepActor(0)), Outcome::Done);
        }
        let main = r.steps();
        assert_eq!(r.command(Command::StepActor(1)), Outcome::Done);
        let (v, len) = (r.version(), r.model().len());
        let sched = |r: &Run| Schedule(r.picks().unwrap_or_default().to_vec()).to_string();
        assert_eq!(r.model().schedule(), sched(&r));
        assert!(sched(&r).ends_with(" 1"), "{}", sched(&r));
        r.command(Command::StepBack);
        assert_ne!(r.version(), v, "a step back is not an append");
        assert_eq!(r.command(Command::StepActor(2)), Outcome::Done);
        let m = r.model();
        assert_eq!(m.len(), len, "the trace is as long as before the step back");
        assert_eq!(m.schedule(), sched(&r));
        assert!(m.schedule().ends_with(" 2"));
        assert_eq!(r.steps(), main + 1);
        assert_eq!(m.state(2), ActorState::Running);
        assert_eq!(m.state(1), ActorState::Ready);
        assert_eq!(seen(&m, 3), seen(&at_once(r.trace()), 3));
        drop(m);
        // An append keeps the version.
        let v = r.version();
        r.command(Command::Step);
        assert_eq!(r.version(), v);
    }

    /// A live run's newest events may still move: the model folds them in on a
    /// copy, and goes on from the settled point as if it had never seen them.
    #[test]
    fn events_not_settled_are_folded_in_on_a_copy() {
        let mut r = run("balance-race", &[("gil", "free"), ("iterations", "20")], 3);
        r.command(Command::RunToEnd);
        let full = r.trace().clone();
        let n = full.program.actors.len();
        let mut m = Model::default();
        for len in (0..=full.len()).step_by(7).chain([full.len()]) {
            let mut t = full.clone();
            t.events.truncate(len);
            // Half of what arrived has settled.
            m.follow(1, &t, len / 2);
            assert_eq!(seen(&m, n), seen(&at_once(&t), n), "at {len} events");
            assert_eq!(
                m.lost_at().collect::<Vec<_>>(),
                at_once(&t).lost_at().collect::<Vec<_>>()
            );
        }
    }
}
