//! What the views derive from a trace, computed once per trace length and reused
//! across frames: a frame never walks every event.

use crate::lesson::Lang;
use crate::program::{ActorId, Granularity, Value};
use crate::trace::{ActorState, EventKind, LostScan, Row, StateOps, StateReplay, Trace, rows_in};
use std::time::{Duration, Instant};

/// The key a derived value was computed for: a new run bumps the generation, and
/// the trace only ever grows within one (a step back starts a shorter one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Key {
    generation: u64,
    len: usize,
}

/// How the timeline's columns map to the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Columns are spans of event indices.
    Steps,
    /// Columns are spans of nanoseconds (live runs).
    Time,
}

/// The timeline reduced to one state per actor per screen column.
#[derive(Clone, Debug, Default)]
pub struct TimelineSummary {
    pub width: usize,
    pub actors: usize,
    /// `cells[actor * width + column]`.
    pub cells: Vec<ActorState>,
    /// The window shown, in events or nanoseconds.
    pub start: u64,
    pub end: u64,
    /// The column of the newest event, if it is in the window.
    pub cursor: Option<usize>,
}

impl TimelineSummary {
    pub fn cell(&self, actor: usize, col: usize) -> ActorState {
        self.cells
            .get(actor * self.width + col)
            .copied()
            .unwrap_or(ActorState::NotStarted)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TimelineKey {
    key: Key,
    width: usize,
    zoom: u32,
    pan: u64,
    axis: Axis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RowsKey {
    key: Key,
    granularity: Granularity,
    want: usize,
    lang: Lang,
}

/// Derived values of one lesson screen's trace.
#[derive(Default)]
pub struct ViewCache {
    state_key: Option<Key>,
    /// Every actor's state, the lock holders and the GIL after the last event.
    pub replay: Option<StateReplay>,
    pub lost: usize,
    /// Each overwritten write: (event index, actor), for the timeline's marks.
    pub lost_at: Vec<(usize, ActorId)>,
    pub vars: Vec<(String, Value)>,
    /// The overwritten-write scans, as far as the state replay went.
    scans: Option<Scans>,
    rows_key: Option<RowsKey>,
    pub rows: Vec<Row>,
    timeline_key: Option<TimelineKey>,
    pub timeline: TimelineSummary,
    schedule_key: Option<Key>,
    pub schedule: String,
    /// While a live run streams in, derived values are refreshed at most this
    /// often, so that input stays responsive while a million events arrive.
    hold_until: Option<Instant>,
    hold: bool,
}

/// The overwritten writes found so far: among the events the scan began with and
/// after (`kept`, for the timeline's marks, by absolute event number), and over the
/// whole run (`whole`, for the count).
#[derive(Clone, Debug)]
struct Scans {
    kept: LostScan,
    whole: LostScan,
    lost_abs: Vec<(usize, ActorId)>,
}

/// How stale the panels may get while a live run is in flight.
const LIVE_REFRESH: Duration = Duration::from_millis(250);

impl ViewCache {
    /// Called once per frame: decides whether this frame may reuse the values of
    /// an earlier trace length (only while a live run is still sending events).
    pub fn begin_frame(&mut self, generation: u64, live_in_flight: bool) {
        let same_run = self.state_key.is_some_and(|k| k.generation == generation);
        let now = Instant::now();
        self.hold = live_in_flight && same_run && self.hold_until.is_some_and(|t| now < t);
        if live_in_flight && !self.hold {
            self.hold_until = Some(now + LIVE_REFRESH);
        }
    }

    /// Brings the per-trace values up to date (once per trace length).
    pub fn refresh_state(&mut self, generation: u64, trace: &Trace, append_only: bool) {
        let key = Key {
            generation,
            len: trace.total_len(),
        };
        if self.state_key == Some(key) || self.hold {
            return;
        }
        let p = &trace.program;
        // Stepped traces only grow within a generation, so the replay can go on
        // from where it stopped; anything else replays from the start.
        let resume = match (self.state_key, &self.replay) {
            // (A long run drops its oldest events: resume only if none unseen went.)
            (Some(k), Some(_))
                if append_only
                    && k.generation == generation
                    && k.len <= key.len
                    && k.len >= trace.base =>
            {
                Some(k.len - trace.base)
            }
            _ => None,
        };
        let from = match resume {
            Some(n) if self.scans.is_some() => n,
            _ => {
                self.replay = Some(trace.state_at_base());
                self.scans = Some(Scans {
                    kept: LostScan::new(p),
                    // The whole run's count: a long run's dropped events are in its prefix.
                    whole: trace.lost_scan_at_base(),
                    lost_abs: Vec::new(),
                });
                0
            }
        };
        // One pass over the new events only: a step at the end of a long run costs
        // what the step added, not the window.
        if let (Some(r), Some(sc)) = (&mut self.replay, &mut self.scans) {
            for (i, e) in trace.events[from..].iter().enumerate() {
                let abs = trace.base + from + i;
                r.apply(p, e);
                if let Some(l) = sc.kept.feed(p, abs, e) {
                    sc.lost_abs.push((abs, l.actor));
                }
                sc.whole.feed(p, abs, e);
            }
            self.lost = sc.whole.count;
            sc.lost_abs.retain(|&(abs, _)| abs >= trace.base);
            self.lost_at = sc
                .lost_abs
                .iter()
                .map(|&(abs, actor)| (abs - trace.base, actor))
                .collect();
        }
        // A stepped run's variables come from the simulator itself.
        if !append_only {
            self.vars = trace.final_vars();
        }
        self.state_key = Some(key);
    }

    /// Rows of the interleaving table: at least `want` of the newest (fewer if the
    /// run has fewer).
    pub fn refresh_rows(
        &mut self,
        generation: u64,
        trace: &Trace,
        granularity: Granularity,
        code: &str,
        want: usize,
        lang: Lang,
    ) {
        let key = RowsKey {
            key: Key {
                generation,
                len: trace.total_len(),
            },
            granularity,
            want,
            lang,
        };
        let held = self.hold
            && self.rows_key.is_some_and(|k| {
                k.key.generation == generation
                    && k.want == want
                    && k.granularity == granularity
                    && k.lang == lang
            });
        if self.rows_key == Some(key) || held {
            return;
        }
        let len = trace.len();
        // A row is one event or one line's run of events; widen the window until
        // it holds enough rows.
        let mut span = want.saturating_mul(4).saturating_add(16);
        loop {
            let start = len.saturating_sub(span);
            self.rows = rows_in(trace, granularity, code, start..len, lang);
            if self.rows.len() >= want || start == 0 {
                break;
            }
            span = span.saturating_mul(4);
        }
        self.rows_key = Some(key);
    }

    /// The timeline summary for a panel `width` columns wide.
    pub fn refresh_timeline(
        &mut self,
        generation: u64,
        trace: &Trace,
        width: usize,
        zoom: u32,
        pan: u64,
        axis: Axis,
    ) {
        let key = TimelineKey {
            key: Key {
                generation,
                len: trace.total_len(),
            },
            width,
            zoom,
            pan,
            axis,
        };
        let held = self.hold
            && self.timeline_key.is_some_and(|k| {
                k.key.generation == generation
                    && (k.width, k.zoom, k.pan, k.axis) == (width, zoom, pan, axis)
            });
        if self.timeline_key == Some(key) || held {
            return;
        }
        self.timeline = summarise(trace, width, zoom, pan, axis);
        self.timeline_key = Some(key);
    }

    /// The schedule string so far (stepped runs).
    pub fn refresh_schedule(&mut self, generation: u64, len: usize, steps: &[ActorId]) {
        let key = Key { generation, len };
        if self.schedule_key == Some(key) {
            return;
        }
        self.schedule = crate::run::Schedule(steps.to_vec()).to_string();
        self.schedule_key = Some(key);
    }
}

/// The deepest zoom at which a column still covers at least one step (or 100 ns
/// of a live run).
pub fn max_zoom(trace: &Trace, width: usize, axis: Axis) -> u32 {
    let total: u64 = match axis {
        Axis::Steps => trace.events.len() as u64,
        Axis::Time => trace.events.last().map(|e| e.t_ns + 1).unwrap_or(0),
    };
    let min_window = match axis {
        Axis::Steps => width as u64,
        Axis::Time => width as u64 * 100,
    }
    .max(1);
    if total <= min_window {
        0
    } else {
        (total / min_window).ilog2().min(62)
    }
}

/// One pass over the events up to the window's end: replay the states and keep,
/// per column, "ran here" or the state the column ends in.
pub fn summarise(trace: &Trace, width: usize, zoom: u32, pan: u64, axis: Axis) -> TimelineSummary {
    let p = &trace.program;
    let nactors = p.actors.len();
    let mut out = TimelineSummary {
        width,
        actors: nactors,
        cells: vec![ActorState::NotStarted; nactors * width],
        ..Default::default()
    };
    if width == 0 {
        return out;
    }
    let events = &trace.events;
    let total: u64 = match axis {
        Axis::Steps => events.len() as u64,
        Axis::Time => events.last().map(|e| e.t_ns + 1).unwrap_or(0),
    };
    // A column never covers less than one unit, so zooming in stops at 1:1.
    let min_window = match axis {
        Axis::Steps => width as u64,
        Axis::Time => width as u64 * 100,
    };
    let shown = (total >> zoom.min(63)).max(min_window.min(total)).max(1);
    let back = pan
        .saturating_mul(shown / 8)
        .min(total.saturating_sub(shown));
    let end = total.saturating_sub(back).max(shown.min(total));
    let start = end.saturating_sub(shown);
    out.start = start;
    out.end = end;
    let position = |i: usize| match axis {
        Axis::Steps => i as u64,
        Axis::Time => events[i].t_ns,
    };
    // Index of the first event at or after a position on the axis.
    let index_of = |x: u64| match axis {
        Axis::Steps => (x as usize).min(events.len()),
        Axis::Time => events.partition_point(|e| e.t_ns < x),
    };
    let mut replay = trace.state_at_base();
    // One look-up per event, not a match on its instruction: a cold frame
    // replays every event up to the window's end.
    let ops = StateOps::new(p);
    let first = index_of(start);
    for e in &events[..first] {
        ops.apply(&mut replay, p, e);
    }
    let mut i = first;
    let mut ran = vec![false; nactors];
    let span = end - start;
    for col in 0..width {
        let col_end = start + span * (col as u64 + 1) / width as u64;
        let stop = index_of(col_end);
        ran.iter_mut().for_each(|r| *r = false);
        while i < stop {
            let e = &events[i];
            ops.apply(&mut replay, p, e);
            // Ending by a signal is a step the process takes too (the kernel
            // delivers it while the process runs): a process terminated before it
            // reached its code still shows where it ran.
            if matches!(e.kind, EventKind::Exec | EventKind::Ended)
                && let Some(r) = ran.get_mut(e.actor as usize)
            {
                *r = true;
            }
            i += 1;
        }
        for (a, &ran_here) in ran.iter().enumerate() {
            out.cells[a * width + col] = if ran_here {
                ActorState::Running
            } else {
                replay.state(a as ActorId)
            };
        }
    }
    if let Some(last) = events.len().checked_sub(1) {
        let x = position(last);
        if x >= start && x < end.max(start + 1) {
            let col = ((x - start) * width as u64 / span.max(1)) as usize;
            out.cursor = Some(col.min(width - 1));
        }
    }
    out
}
