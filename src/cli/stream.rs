//! `interleave run` of a stepped run, written while it runs: the events go to
//! the report a stretch at a time and are dropped (the trace's prefix keeps what
//! they add up to), so a run at any knob value takes the same memory, and only
//! the rows the text report prints are formatted.

use super::{Fail, Format, Usage, exit};
use crate::export::{
    JsonlStream, MAX_SCHEDULE_CHARS, PerfettoWriter, Replay, Report, ScheduleKeeper, TextStream,
};
use crate::lesson::{Knobs, Lang, Lesson};
use crate::program::{ActorId, EngineConfig, Program};
use crate::run::{Origin, seeded};
use crate::sim::{Ending, Schedule, Seeded, Sim};
use crate::trace::{Mode, Prefix, Tally, Trace};
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Instant;

/// Events a run takes at a time before the ones written are dropped.
const CHUNK: usize = 1 << 16;
/// Steps a run keeps for its schedule string; a longer run's report gives its
/// seed, or the schedule given, which replays it.
const SCHEDULE_STEPS: usize = 16 << 20;

/// Longest schedule string the jsonl summary carries (its runs take at most
/// 8 bytes per 2 characters while the run goes).
const SCHEDULE_CHARS: usize = 16 << 20;

/// Where a stepped run's picks come from.
pub(super) enum Picks {
    /// The seeded scheduler.
    Seed(u64),
    /// A schedule string (`ACTORxCOUNT` tokens), then seed 0's picks.
    Given(Vec<(ActorId, u64)>),
}

/// A schedule string's tokens as the report repeats them.
fn given_text(tokens: &[(ActorId, u64)]) -> String {
    let words: Vec<String> = tokens
        .iter()
        .map(|&(a, n)| match n {
            1 => a.to_string(),
            _ => format!("{a}x{n}"),
        })
        .collect();
    words.join(" ")
}

/// The picks of one run, one step at a time.
struct Steps {
    tokens: Vec<(ActorId, u64)>,
    /// The token being followed and the steps of it taken.
    at: usize,
    done: u64,
    /// The lesson's own scheduler (timed unless its `scheduler` knob says
    /// uniform): the seed's, or seed 0's after a schedule given.
    sched: Seeded,
}

impl Steps {
    fn new(picks: &Picks, knobs: &Knobs, cfg: EngineConfig) -> Steps {
        let (tokens, origin) = match picks {
            Picks::Seed(s) => (Vec::new(), Origin::Seed(*s)),
            Picks::Given(t) => (t.clone(), Origin::Schedule(crate::run::Runs::default())),
        };
        Steps {
            tokens,
            at: 0,
            done: 0,
            sched: seeded(knobs, cfg, &origin),
        }
    }

    /// Steps until the trace keeps `limit` events or the run ends; with
    /// `given_only`, also where the schedule given ends. True when the scheduler
    /// found nobody to pick although the run had not ended.
    fn run(&mut self, sim: &mut Sim, limit: usize, given_only: bool) -> Result<bool, Fail> {
        while let Some(&(a, count)) = self.tokens.get(self.at) {
            if sim.trace().events.len() >= limit {
                return Ok(false);
            }
            if let Err(why) = sim.step(a) {
                return Err(Usage(format!(
                    "the schedule cannot be followed at token {} (`{a}x{count}`), step {} of it: {why}",
                    self.at + 1,
                    self.done + 1
                )));
            }
            self.done += 1;
            if self.done == count {
                self.at += 1;
                self.done = 0;
            }
        }
        if given_only {
            return Ok(false);
        }
        Ok(sim.run_seeded_until(&mut self.sched, limit))
    }

    /// Drops what the report has written and the scheduler has read (the timed
    /// one reads every event and pick; the uniform one none): at most `n` events.
    /// The sink says what the events dropped add up to.
    fn drop_written(&mut self, sim: &mut Sim, n: usize, sink: &mut Sink) {
        // The scheduler takes in the steps taken so far (those of a schedule
        // given, which it did not pick), so that it may let their events go.
        self.sched.catch_up(sim);
        let n = n.min(self.sched.seen_events(sim));
        let steps = self.sched.seen_steps(sim);
        let prefix = sink.prefix(sim.trace(), n);
        sim.forget(n, Box::new(prefix), steps);
        self.sched.forget_events(n);
    }

    fn given_left(&self) -> bool {
        self.at < self.tokens.len()
    }
}

/// What the events a trace dropped and its first `n` kept ones add up to,
/// without rows (the report formats its own, `TextStream`).
fn absorbed(t: &Trace, n: usize) -> Prefix {
    let mut prefix = t.prefix_or_start();
    prefix.rows = None;
    t.absorb_into(&mut prefix, 0, n);
    prefix
}

/// [`absorbed`] by a tally that took in every event the trace dropped: only
/// the `n` events are read.
fn tallied(tally: &mut Tally, t: &Trace, n: usize) -> Prefix {
    if tally.seq() != t.base {
        return absorbed(t, n);
    }
    for e in &t.events[..n.min(t.events.len())] {
        tally.feed(&t.program, e);
    }
    tally.prefix()
}

/// Follows a schedule string's tokens to their end, keeping no more than a
/// stretch of events: a step the run cannot take is refused (bad input) before
/// anything is written or the screen opens.
pub(super) fn check_given(
    program: &Arc<Program>,
    knobs: &Knobs,
    tokens: &[(ActorId, u64)],
) -> Result<(), Fail> {
    let cfg = knobs.engine();
    let mut sim = Sim::new(program.clone(), cfg);
    let mut steps = Steps::new(&Picks::Given(tokens.to_vec()), knobs, cfg);
    let mut tally = Tally::new(program, None);
    while steps.given_left() {
        steps.run(&mut sim, CHUNK, true)?;
        let (n, all) = (sim.trace().len(), sim.steps());
        let prefix = tallied(&mut tally, sim.trace(), n);
        sim.forget(n, Box::new(prefix), all);
    }
    Ok(())
}

/// What writes the report; the formats that read each event once keep a
/// tally of the events they let go.
enum Sink<'a> {
    Text(Box<TextStream>),
    Jsonl(JsonlStream<'a>, Box<Tally>),
    Perfetto(PerfettoWriter<'a>, Box<Tally>),
}

impl Sink<'_> {
    fn events(&mut self, t: &Trace) -> io::Result<()> {
        match self {
            Sink::Text(s) => {
                s.events(t);
                Ok(())
            }
            Sink::Jsonl(s, _) => s.events(t),
            Sink::Perfetto(s, _) => s.events(t),
        }
    }

    /// The first event of the run the sink still reads.
    fn keep_from(&self, t: &Trace) -> usize {
        match self {
            Sink::Text(s) => s.keep_from(),
            Sink::Jsonl(..) | Sink::Perfetto(..) => t.total_len(),
        }
    }

    /// What the trace's dropped events and its first `n` kept ones add up to.
    fn prefix(&mut self, t: &Trace, n: usize) -> Prefix {
        match self {
            Sink::Text(s) => s.prefix_at(t.base + n).unwrap_or_else(|| absorbed(t, n)),
            Sink::Jsonl(_, tally) | Sink::Perfetto(_, tally) => tallied(tally, t, n),
        }
    }
}

/// Runs a stepped run to its end and writes its report in `format` while it
/// runs. A schedule given must have passed [`check_given`].
pub(super) fn run(
    lesson: &Lesson,
    knobs: &Knobs,
    program: Arc<Program>,
    picks: Picks,
    format: Format,
    lang: Lang,
) -> Result<u8, Fail> {
    let t0 = Instant::now();
    let cfg = knobs.engine();
    let code = lesson.code(knobs);
    let mut sim = Sim::new(program, cfg);
    let stdout = io::stdout();
    let mut lock = stdout.lock();
    let mut sink = match format {
        Format::Text => Sink::Text(Box::new(TextStream::new(
            sim.trace(),
            cfg.granularity,
            &code,
            lang,
        ))),
        Format::Jsonl => Sink::Jsonl(
            JsonlStream::new(&mut lock),
            Box::new(Tally::new(&sim.trace().program, None)),
        ),
        Format::Perfetto => match PerfettoWriter::new(&mut lock, sim.trace(), &code) {
            Ok(w) => Sink::Perfetto(w, Box::new(Tally::new(&sim.trace().program, None))),
            Err(e) => return written(Err(e)).map(|_| exit::FINISHED),
        },
    };
    let mut steps = Steps::new(&picks, knobs, cfg);
    // Each format keeps as much of the schedule as it writes: the text report
    // prints a short one, jsonl carries one of up to SCHEDULE_STEPS steps and
    // SCHEDULE_CHARS characters.
    let mut keeper = match format {
        Format::Text => ScheduleKeeper::new(usize::MAX, MAX_SCHEDULE_CHARS),
        Format::Jsonl => ScheduleKeeper::new(SCHEDULE_STEPS, SCHEDULE_CHARS),
        Format::Perfetto => ScheduleKeeper::new(0, 0),
    };
    let out = loop {
        let limit = sim.trace().len() + CHUNK;
        let stuck = steps.run(&mut sim, limit, false)?;
        keeper.extend(sim.schedule());
        let out = sink.events(sim.trace());
        if out.is_err() || stuck || sim.ending() != Ending::Running {
            break out;
        }
        let t = sim.trace();
        let n = sink.keep_from(t).saturating_sub(t.base);
        steps.drop_written(&mut sim, n, &mut sink);
    };
    let deadlock = sim.ending() == Ending::Deadlock;
    let schedule = keeper.report(SCHEDULE_STEPS);
    let replay = match picks {
        Picks::Seed(s) => Replay::Seed(s, Schedule(Vec::new())),
        Picks::Given(tokens) => Replay::Given(match &schedule.text {
            Some(whole) => whole.clone(),
            None => given_text(&tokens),
        }),
    };
    let report = Report {
        lesson,
        knobs,
        trace: sim.trace(),
        mode: Mode::Stepped,
        replay,
        wall_ms: t0.elapsed().as_secs_f64() * 1e3,
        lang,
        finished: true,
    };
    let out = out.and_then(|_| match sink {
        Sink::Text(mut s) => {
            s.schedule = Some(schedule);
            io::stdout().write_all(s.report(&report).as_bytes())
        }
        Sink::Jsonl(mut s, _) => {
            s.schedule = Some(schedule);
            s.summary(&report)
        }
        Sink::Perfetto(w, _) => w.finish(sim.trace()),
    });
    written(out.and_then(|_| lock.flush()))?;
    Ok(if deadlock {
        exit::DEADLOCK
    } else {
        exit::FINISHED
    })
}

/// A closed pipe (`| head`) is not an error of ours.
fn written(r: io::Result<()>) -> Result<(), Fail> {
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Fail::Internal(format!("cannot write the report: {e}"))),
    }
}
