//! Every outcome of a lesson: many seeded runs in parallel, or every interleaving
//! (dynamic partial-order reduction with preemption bounding), each outcome with a
//! schedule string that replays it.
//!
//! An *outcome* is what a student sees at the end of a run: the final shared
//! variables (as `interleave run` reports them), the printed output, and whether
//! the run deadlocked.

mod access;
pub mod cli;
mod dpor;
pub mod replay;
mod report;
mod sample;
mod states;

pub use access::{Access, Obj, Objects, step_access};
pub use report::{text as text_report, write_jsonl};
pub use states::{enumerate_all, enumerate_tree};

use crate::program::{ActorId, EngineConfig, Program, Value};
use crate::sim::{Ending, Schedule, Sim};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What a student sees at the end of one run.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutcomeKey {
    /// Every shared variable of the main process, with its name, in program order.
    pub vars: Vec<(String, Value)>,
    /// The printed lines, in order.
    pub output: Vec<String>,
    pub deadlock: bool,
}

impl OutcomeKey {
    /// The outcome of a run that has ended.
    pub fn of(sim: &Sim) -> OutcomeKey {
        let p = sim.program();
        OutcomeKey {
            vars: p
                .vars
                .iter()
                .map(|v| v.name.clone())
                .zip(sim.vars().iter().copied())
                .collect(),
            output: sim.trace().output.iter().map(|o| o.text.clone()).collect(),
            deadlock: sim.ending() == Ending::Deadlock,
        }
    }
}

/// One outcome and the run that shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub key: OutcomeKey,
    /// How many of the runs (sampled) or explored interleavings (exhaustive) ended so.
    pub count: u64,
    /// A schedule that replays it: `interleave run LESSON --schedule S`.
    pub schedule: Schedule,
    /// Sampled mode: the seed of the witness (`interleave run LESSON --seed N`).
    pub seed: Option<u64>,
    /// Preemptions in the witness: switches away from a thread that could have
    /// gone on. The fewest of any run seen (exact when `minimal` holds).
    pub preemptions: u32,
}

/// Why a search stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every run asked for was made (sampled) or every interleaving explored.
    Complete,
    /// The execution budget ran out.
    Budget(u64),
    /// The time budget ran out.
    Time(Duration),
    /// The preemption bound cut this many branches off.
    PreemptionBound {
        bound: u32,
        pruned: u64,
    },
    Cancelled,
    /// The program is beyond what the search takes.
    Unsupported(String),
}

impl Stop {
    pub fn is_complete(&self) -> bool {
        *self == Stop::Complete
    }

    /// In words, for the summary line.
    pub fn describe(&self) -> String {
        match self {
            Stop::Complete => "complete".into(),
            Stop::Budget(n) => format!("incomplete: stopped after {n} executions (--budget)"),
            Stop::Time(d) => format!(
                "incomplete: stopped after {:.1} s (--time-limit)",
                d.as_secs_f64()
            ),
            Stop::PreemptionBound { bound, pruned } => format!(
                "incomplete: at most {bound} preemption{} per run; {pruned} branch{} with more \
                 were not explored",
                if *bound == 1 { "" } else { "s" },
                if *pruned == 1 { "" } else { "es" }
            ),
            Stop::Cancelled => "incomplete: cancelled".into(),
            Stop::Unsupported(why) => format!("not searched: {why}"),
        }
    }

    /// [`Stop::describe`] in `lang`; in Chinese without the "incomplete" the
    /// screen already says around it.
    pub fn describe_in(&self, lang: crate::lesson::Lang) -> String {
        use crate::i18n::Msg;
        if lang == crate::lesson::Lang::En {
            return self.describe();
        }
        match self {
            Stop::Complete => Msg::XComplete.get(lang).into(),
            Stop::Budget(n) => Msg::XStopBudget.fill(lang, &[n]),
            Stop::Time(d) => Msg::XStopTime.fill(lang, &[&format!("{:.1}", d.as_secs_f64())]),
            Stop::PreemptionBound { bound, pruned } => Msg::XStopBound.fill(lang, &[bound, pruned]),
            Stop::Cancelled => Msg::XCancelled.get(lang).into(),
            Stop::Unsupported(why) => Msg::XStopUnsupported.fill(lang, &[why]),
        }
    }
}

/// How the outcomes were found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Sampled,
    Exhaustive,
}

/// The result of a search.
#[derive(Clone, Debug)]
pub struct Exploration {
    pub method: Method,
    /// Most common first; ties in outcome order.
    pub outcomes: Vec<Found>,
    /// Runs made (sampled) or complete interleavings explored (exhaustive).
    pub executions: u64,
    pub elapsed: Duration,
    pub stop: Stop,
    /// Whether the counts are complete: every run made (sampled), every
    /// interleaving class explored (exhaustive).
    pub counts: Stop,
    /// The preemption bound of an exhaustive search: outcomes are those of runs
    /// with at most this many preemptions.
    pub max_preemptions: Option<u32>,
    /// Whether every witness has the fewest preemptions any run of the program
    /// needs for its outcome (a state-caching search checked it).
    pub minimal: bool,
}

/// Progress and cancellation, so a search can run off the screen's key path.
#[derive(Debug, Default)]
pub struct Control {
    /// Set it to stop the search; it returns what it found, marked cancelled.
    pub cancel: AtomicBool,
    /// Executions so far, updated as the search goes.
    pub executions: AtomicU64,
}

impl Control {
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Limits of an exhaustive search.
#[derive(Clone, Debug)]
pub struct Limits {
    /// At most this many preemptions per run (CHESS's bound); `None`: no bound.
    pub max_preemptions: Option<u32>,
    /// Stop after this many executions.
    pub max_executions: u64,
    /// Stop after this long.
    pub max_time: Duration,
    /// After DPOR, search the cached states for the fewest preemptions each
    /// outcome needs (and so prove every witness minimal).
    pub fewest: bool,
    /// States the witness pass may cache before it gives up on proving the
    /// witnesses minimal.
    pub max_states: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_preemptions: None,
            max_executions: 10_000_000,
            max_time: Duration::from_secs(60),
            fewest: true,
            max_states: 2_000_000,
        }
    }
}

/// Runs seeds `seeds` of the seeded scheduler, in parallel on every core; the
/// outcome of seed `s` is the outcome of `interleave run --seed s`.
pub fn sample(
    program: &Arc<Program>,
    cfg: EngineConfig,
    knobs: &crate::lesson::Knobs,
    seeds: std::ops::Range<u64>,
    ctl: &Control,
) -> Exploration {
    sample::run(program, cfg, knobs, seeds, ctl)
}

/// Every outcome of every interleaving, with at most `limits.max_preemptions`
/// preemptions if given.
///
/// Two searches, each a check on the other. First, state caching: every state
/// the program can reach is visited once, in order of the preemptions needed to
/// reach it (a 0-1 breadth-first search), which gives the outcome set and, for
/// each outcome, a witness with the fewest preemptions. Then DPOR explores the
/// interleavings one per equivalence class (steps that touch nothing in common
/// reordered are the same run), which gives the counts. The outcome set is
/// complete when either search finishes.
pub fn exhaustive(
    program: &Arc<Program>,
    cfg: EngineConfig,
    limits: &Limits,
    ctl: &Control,
) -> Exploration {
    let t0 = Instant::now();
    // The state search gets half the time at most, so that one too big for it
    // cannot leave DPOR none: DPOR stops as soon as it has explored every class.
    let best = if limits.fewest {
        states::fewest_preemptions(program, cfg, limits.max_states, limits.max_time / 2, ctl)
    } else {
        None
    };
    let mut ex = dpor::run(program, cfg, limits, ctl, t0);
    ex.counts = ex.stop.clone();
    ex.max_preemptions = limits.max_preemptions;
    if let Some(best) = best {
        merge_fewest(&mut ex, best, limits.max_preemptions);
    }
    ex.elapsed = t0.elapsed();
    ex
}

/// Takes the state search's outcomes and witnesses into DPOR's result: its set
/// is complete, and its witnesses have the fewest preemptions.
fn merge_fewest(
    ex: &mut Exploration,
    best: HashMap<OutcomeKey, (Schedule, u32)>,
    bound: Option<u32>,
) {
    let mut all = true;
    for f in &mut ex.outcomes {
        match best.get(&f.key) {
            Some((s, k)) => {
                f.schedule = s.clone();
                f.preemptions = *k;
            }
            None => all = false,
        }
    }
    for (key, (schedule, k)) in best {
        if bound.is_some_and(|b| k > b) || ex.outcomes.iter().any(|f| f.key == key) {
            continue;
        }
        // An outcome the DPOR search did not reach before its limit.
        ex.outcomes.push(Found {
            key,
            count: 0,
            schedule,
            seed: None,
            preemptions: k,
        });
    }
    ex.outcomes
        .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    ex.minimal = all;
    ex.stop = Stop::Complete;
}

/// Preemptions a schedule makes: steps that switch away from an actor that could
/// have gone on. `None` if the schedule cannot be followed.
pub fn count_preemptions(program: &Arc<Program>, cfg: EngineConfig, s: &[ActorId]) -> Option<u32> {
    let mut sim = Sim::new(program.clone(), cfg);
    let mut n = 0;
    let mut prev: Option<ActorId> = None;
    for &a in s {
        if let Some(q) = prev
            && q != a
            && sim.can_step(q)
        {
            n += 1;
        }
        sim.step(a).ok()?;
        prev = Some(a);
    }
    Some(n)
}

/// Folds finished runs into outcomes.
#[derive(Default)]
pub(crate) struct Tally {
    found: Vec<Found>,
    /// A hash of each outcome, so that a run that ends as an earlier one costs no
    /// allocation.
    index: HashMap<u64, usize, crate::sim::BuildStateHasher>,
}

/// A hash of what [`OutcomeKey::of`] would give, without building it.
fn outcome_hash(sim: &Sim) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = crate::sim::StateHasher::default();
    sim.vars().hash(&mut h);
    for o in &sim.trace().output {
        o.text.hash(&mut h);
    }
    (sim.ending() == Ending::Deadlock).hash(&mut h);
    h.finish()
}

impl Tally {
    /// Counts one run; its witness is kept if it has fewer preemptions (then the
    /// lower seed) than the one so far.
    pub fn add(&mut self, sim: &Sim, seed: Option<u64>, preemptions: u32) {
        let h = outcome_hash(sim);
        match self.index.get(&h) {
            Some(&i) => {
                let f = &mut self.found[i];
                f.count += 1;
                if (preemptions, seed) < (f.preemptions, f.seed) {
                    f.preemptions = preemptions;
                    f.seed = seed;
                    f.schedule = Schedule(sim.schedule().to_vec());
                }
            }
            None => {
                self.index.insert(h, self.found.len());
                self.found.push(Found {
                    key: OutcomeKey::of(sim),
                    count: 1,
                    schedule: Schedule(sim.schedule().to_vec()),
                    seed,
                    preemptions,
                });
            }
        }
    }

    pub fn merge(&mut self, other: Tally) {
        for f in other.found {
            match self.found.iter_mut().find(|g| g.key == f.key) {
                Some(g) => {
                    g.count += f.count;
                    if (f.preemptions, f.seed) < (g.preemptions, g.seed) {
                        g.preemptions = f.preemptions;
                        g.seed = f.seed;
                        g.schedule = f.schedule;
                    }
                }
                None => self.found.push(f),
            }
        }
        self.index.clear();
    }

    /// Most common first, then in outcome order.
    pub fn into_sorted(self) -> Vec<Found> {
        let mut v = self.found;
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        v
    }
}

/// Every outcome a lesson's program can end in at these knobs, each with a
/// fewest-preemption witness, most common first; `None` when the search cannot
/// finish within `budget` (or the program does not build). What a tour's last
/// step shows: "these are all the values this program can print".
pub fn all_outcomes(
    lesson: &crate::lesson::Lesson,
    knobs: &crate::lesson::Knobs,
    budget: Duration,
) -> Option<Vec<Found>> {
    let program = Arc::new(crate::scenarios::build(lesson, knobs).ok()?);
    let limits = Limits {
        max_time: budget,
        // A tour's search that cannot finish gives up before it holds much
        // memory (the state search keeps every state it has not yet expanded).
        max_states: 300_000,
        ..Limits::default()
    };
    let ex = exhaustive(&program, knobs.engine(), &limits, &Control::default());
    ex.stop.is_complete().then_some(ex.outcomes)
}
