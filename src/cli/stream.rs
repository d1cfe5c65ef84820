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
use crate::trace::{Mode, Trace};
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
    fn drop_written(&mut self, sim: &mut Sim, n: usize) {
        // The scheduler takes in the steps taken so far (those of a schedule
        // given, which it did not pick), so that it may let their events go.
        self.sched.catch_up(sim);
        let n = n.min(self.sched.seen_events(sim));
        let steps = self.sched.seen_steps(sim);
        drop_front(sim, n, steps);
        self.sched.forget_events(n);
    }

    fn given_left(&self) -> bool {
        self.at < self.tokens.len()
    }
}

/// Drops the `n` oldest events the simulator keeps and every step it keeps;
/// the trace's prefix takes in what the events add up to.
fn drop_front(sim: &mut Sim, n: usize, steps: usize) {
    let t = sim.trace();
    let mut prefix = t.prefix_or_start();
    // The report formats its own rows (`TextStream`).
    prefix.rows = None;
    t.absorb_into(&mut prefix, 0, n);
    sim.forget(n, Box::new(prefix), steps);
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
    while steps.given_left() {
        steps.run(&mut sim, CHUNK, true)?;
        let (n, all) = (sim.trace().len(), sim.steps());
        drop_front(&mut sim, n, all);
    }
    Ok(())
}

/// What writes the report.
enum Sink<'a> {
    Text(Box<TextStream>),
    Jsonl(JsonlStream<'a>),
    Perfetto(PerfettoWriter<'a>),
}

impl Sink<'_> {
    fn events(&mut self, t: &Trace) -> io::Result<()> {
        match self {
            Sink::Text(s) => {
                s.events(t);
                Ok(())
            }
            Sink::Jsonl(s) => s.events(t),
            Sink::Perfetto(s) => s.events(t),
        }
    }

    /// The first event of the run the sink still reads.
    fn keep_from(&self, t: &Trace) -> usize {
        match self {
            Sink::Text(s) => s.keep_from(),
            Sink::Jsonl(_) | Sink::Perfetto(_) => t.total_len(),
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
        Format::Jsonl => Sink::Jsonl(JsonlStream::new(&mut lock)),
        Format::Perfetto => match PerfettoWriter::new(&mut lock, sim.trace(), &code) {
            Ok(w) => Sink::Perfetto(w),
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
        steps.drop_written(&mut sim, n);
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
        Sink::Jsonl(mut s) => {
            s.schedule = Some(schedule);
            s.summary(&report)
        }
        Sink::Perfetto(w) => w.finish(sim.trace()),
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
