//! One frame of the lesson screen at 200×60 over a million-event trace, and the
//! time from nothing to the first frame.

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use interleave::catalog::Catalog;
use interleave::lesson::Lang;
use interleave::ui::{App, AppOptions, Axis, Screen, Theme, draw, summarise};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;

/// balance-race writes 24 events per iteration pair; this gives just over 10^6.
const ITERATIONS: &str = "41700";

fn app() -> App {
    let catalog = Catalog::embedded().expect("lessons");
    App::new(
        catalog,
        Lang::En,
        AppOptions {
            theme: Theme { color: true },
            seed: 11,
            state_file: None,
            predict: false,
        },
    )
}

fn million_event_app() -> App {
    let mut a = app();
    a.open("balance-race").expect("opens");
    a.set_knob("iterations", ITERATIONS).expect("knob");
    a.handle(Event::Key(KeyEvent::new(
        KeyCode::Char('e'),
        KeyModifiers::NONE,
    )));
    // `e` runs to the end off the key path: the loop gives the job its slices.
    while a.busy() {
        a.tick();
    }
    if let Screen::Lesson(ls) = &a.screen {
        let n = ls.run.trace().len();
        assert!(n >= 1_000_000, "the trace has {n} events");
        eprintln!("trace: {n} events");
    }
    a
}

fn key(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn frame(c: &mut Criterion) {
    let mut a = million_event_app();
    let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    // The first draw fills the caches, as the first frame after a step does.
    term.draw(|f| draw(&a, f)).expect("draw");
    c.bench_function("lesson frame 200x60, 1M events", |b| {
        b.iter(|| {
            term.draw(|f| draw(&a, f)).expect("draw");
        })
    });
    {
        let mut g = c.benchmark_group("after the trace changed");
        g.sample_size(10);
        // A new run version empties every cache: what a frame costs when the
        // trace changed (a step, or a live batch arriving).
        g.bench_function("lesson frame 200x60, 1M events, cold caches", |b| {
            b.iter(|| {
                if let Screen::Lesson(ls) = &mut a.screen {
                    ls.run.invalidate();
                }
                term.draw(|f| draw(&a, f)).expect("draw");
            })
        });
        g.finish();
    }
    {
        // A student's step back and forth at the end of a long run: `b` (untimed: it
        // replays from a checkpoint), then the timed `s` and its frame. Last, since
        // after a step back the trace keeps only the events since the checkpoint.
        let mut g = c.benchmark_group("after the trace changed");
        g.sample_size(10);
        g.bench_function("step forward and its frame, 200x60, 1M events", |b| {
            b.iter_custom(|n| {
                let mut spent = std::time::Duration::ZERO;
                for _ in 0..n {
                    a.handle(key('b'));
                    term.draw(|f| draw(&a, f)).expect("draw");
                    let t0 = std::time::Instant::now();
                    a.handle(key('s'));
                    term.draw(|f| draw(&a, f)).expect("draw");
                    spent += t0.elapsed();
                }
                spent
            })
        });
        g.finish();
    }
    if let Screen::Lesson(ls) = &a.screen {
        let trace = ls.run.trace();
        let mut g = c.benchmark_group("after the trace changed");
        g.sample_size(10);
        g.bench_function("timeline summary, 190 columns, 1M events", |b| {
            b.iter(|| black_box(summarise(trace, 190, 0, 0, Axis::Steps)))
        });
        g.finish();
    }
}

fn first_frame(c: &mut Criterion) {
    c.bench_function("start to first frame (browser, 120x40)", |b| {
        b.iter(|| {
            let a = app();
            let mut term = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
            term.draw(|f| draw(&a, f)).expect("draw");
        })
    });
    c.bench_function("start to first frame (lesson, 120x40)", |b| {
        b.iter(|| {
            let mut a = app();
            a.open("balance-race").expect("opens");
            let mut term = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
            term.draw(|f| draw(&a, f)).expect("draw");
        })
    });
}

criterion_group!(benches, frame, first_frame);
criterion_main!(benches);
