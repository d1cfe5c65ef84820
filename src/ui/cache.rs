//! What the views derive from a trace for the screen (rows for a width and a
//! language, the timeline for a zoom), computed once per moment of the run and
//! reused across frames: a frame never walks every event.

use crate::lesson::Lang;
use crate::program::{ActorId, Granularity};
use crate::trace::{ActorState, EventKind, Row, StateOps, Trace, rows_in};

/// The moment a value was computed for: the run's version (anything but an
/// append takes a new one) and the events of the run its model stands for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Key {
    version: u64,
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

/// What the panels derive from the run for the screen as it is now (its size,
/// granularity, language, zoom), kept between frames. The run's own derived
/// state (actor states, variables, lost updates, the schedule) is its model
/// (`Run::model`); these are keyed on the model's version and length, so a live
/// run's panels all show the moment its model shows.
#[derive(Default)]
pub struct ViewCache {
    rows_key: Option<RowsKey>,
    pub rows: Vec<Row>,
    timeline_key: Option<TimelineKey>,
    pub timeline: TimelineSummary,
}

impl ViewCache {
    /// Rows of the interleaving table: at least `want` of the newest (fewer if the
    /// run has fewer).
    pub fn refresh_rows(
        &mut self,
        key: (u64, usize),
        trace: &Trace,
        granularity: Granularity,
        code: &str,
        want: usize,
        lang: Lang,
    ) {
        let key = RowsKey {
            key: Key {
                version: key.0,
                len: key.1,
            },
            granularity,
            want,
            lang,
        };
        if self.rows_key == Some(key) {
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
        key: (u64, usize),
        trace: &Trace,
        width: usize,
        zoom: u32,
        pan: u64,
        axis: Axis,
    ) {
        let key = TimelineKey {
            key: Key {
                version: key.0,
                len: key.1,
            },
            width,
            zoom,
            pan,
            axis,
        };
        if self.timeline_key == Some(key) {
            return;
        }
        self.timeline = summarise(trace, width, zoom, pan, axis);
        self.timeline_key = Some(key);
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
