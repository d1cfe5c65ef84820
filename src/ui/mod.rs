//! The playground screen: the lesson browser and the lesson screen, on ratatui.

mod app;
mod cache;
mod code_panel;
mod compare;
pub mod explore_view;
mod footer;
mod goto_prompt;
mod guide;
mod header;
mod help;
mod highlight;
mod interleaving;
mod jobs;
pub mod keymap;
mod knob_editor;
mod lesson_text;
mod output;
pub mod progress;
mod prose;
mod state_panel;
mod theme;
mod timeline;
mod tour;
mod view;

pub use app::{App, AppOptions, Effect, Overlay, Panel, Screen, StatusLine};
pub use cache::{Axis, TimelineSummary, ViewCache, summarise};
pub use theme::Theme;
pub use view::{HELP, MIN_HEIGHT, MIN_WIDTH, draw};

use crate::catalog::Catalog;
use crate::lesson::Lang;
use crate::record::{Recorder, Tee};
use crossbeam::channel::{self, Receiver};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// How the playground looks when it opens.
#[derive(Clone, Debug)]
pub struct Look {
    pub lang: Lang,
    /// Presenter mode (`--present`).
    pub present: bool,
    /// The interpreter the cpython engine uses (`--python PATH`).
    pub python: Option<std::path::PathBuf>,
}

/// A prepared run to open a lesson on: its knobs, and a seed, a schedule or live.
pub type Prepared = (crate::lesson::Knobs, crate::run::Start);

/// The terminal the playground draws on: stdout, through a writer that copies
/// everything into the `--record` file when there is one.
type Term = ratatui::Terminal<ratatui::backend::CrosstermBackend<Tee<std::io::Stdout>>>;

/// Opens the playground on the lesson browser, or on a lesson (on a prepared run
/// when one is given, as `interleave LESSON --seed 7` asks). Returns the exit
/// code: 0, or 128 + the signal that ended it. With a recorder, everything
/// written to the terminal, every key and every resize is recorded.
pub fn run_playground(
    catalog: &Catalog,
    open: Option<(&str, Option<Prepared>)>,
    look: Look,
    record: Option<Recorder>,
) -> anyhow::Result<u8> {
    let mut app = App::new(
        catalog.clone(),
        look.lang,
        AppOptions {
            theme: Theme::from_env(),
            seed: fresh_seed(),
            state_file: state_file(),
            predict: true,
        },
    );
    // Set before a lesson opens: the lesson screen takes it from the app.
    app.present = look.present;
    app.set_python(look.python.clone());
    match open {
        Some((id, None)) => app.open(id).map_err(anyhow::Error::msg)?,
        Some((id, Some((knobs, start)))) => {
            app.open_at(id, knobs, start).map_err(anyhow::Error::msg)?
        }
        None => {}
    }
    let signals = signal_channel()?;
    // Mouse capture is ours to undo; ratatui's hook (installed by init, which
    // chains to this one) restores the rest.
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
        prev(info);
    }));
    let mut terminal = init_terminal(record.clone())?;
    // Opening the lesson may have noted it as seen.
    let opened = app.take_effect();
    perform(terminal.backend_mut(), &app, opened);
    let result = event_loop(&mut terminal, &mut app, &signals, record.as_ref());
    let _ = crossterm::execute!(
        terminal.backend_mut(),
        DisableMouseCapture,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = terminal.backend_mut().flush();
    // Dropping the app stops a live run, joins its threads, reaps its workers and
    // removes its temporary folder.
    drop(app);
    Ok(match result? {
        Some(sig) => 128u8.saturating_add(sig as u8),
        None => 0,
    })
}

/// What `ratatui::init` does (raw mode, the alternate screen, a panic hook that
/// restores both), on our writer, with mouse capture.
fn init_terminal(record: Option<Recorder>) -> anyhow::Result<Term> {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        ratatui::restore();
        prev(info);
    }));
    crossterm::terminal::enable_raw_mode()?;
    let mut out = Tee::new(std::io::stdout(), record);
    let term = crossterm::execute!(
        out,
        crossterm::terminal::EnterAlternateScreen,
        EnableMouseCapture
    )
    .and_then(|_| ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(out)));
    if term.is_err() {
        ratatui::restore();
    }
    Ok(term?)
}

/// Waits, without polling, on terminal input, signals, a live run's channel and a
/// frame tick that exists only while something animates, and does the I/O the
/// app's effects ask for (drawing, the clipboard, the progress file).
fn event_loop(
    terminal: &mut Term,
    app: &mut App,
    signals: &Receiver<i32>,
    record: Option<&Recorder>,
) -> anyhow::Result<Option<i32>> {
    let input = input_channel();
    let frame = Duration::from_secs_f64(1.0 / app::FPS);
    let ticker = channel::tick(frame);
    let mut dirty = true;
    let mut last_draw = std::time::Instant::now();
    // A live run's news was taken in this frame: the rest waits for the frame's end,
    // so a run that sends all the time is drawn at the frame rate, not per event.
    let mut live_held = false;
    loop {
        if dirty {
            terminal.draw(|f| draw(app, f))?;
            dirty = false;
            last_draw = std::time::Instant::now();
        }
        // Nothing ticks while nothing animates: a paused screen sleeps in select.
        // A long job (`ui/jobs.rs`) ticks at once, a slice at a time, so keys and
        // signals are answered between slices. A live run wakes the loop when it
        // sends something, and not otherwise.
        let live = app.live_receiver().filter(|_| !app.busy()).cloned();
        let tick = if app.busy() {
            channel::after(Duration::ZERO)
        } else if app.frame_ticks() {
            ticker.clone()
        } else if live.is_some() && live_held {
            channel::after(frame.saturating_sub(last_draw.elapsed()))
        } else {
            channel::never()
        };
        let live = live.filter(|_| !live_held).unwrap_or_else(channel::never);
        let mut sel = channel::Select::new();
        let from_input = sel.recv(&input);
        let from_signals = sel.recv(signals);
        let from_tick = sel.recv(&tick);
        let from_live = sel.recv(&live);
        // `ready` only says which one has news; each is taken with try_recv (the
        // live channel by the run itself, in `tick`).
        match sel.ready() {
            i if i == from_input => match input.try_recv() {
                Ok(Ok(ev)) => {
                    if let Some(r) = record {
                        r.event(&ev);
                    }
                    let e = app.handle(ev);
                    dirty |= e.redraw;
                    perform(terminal.backend_mut(), app, e);
                }
                Ok(Err(e)) => return Err(anyhow::Error::new(e).context("reading the terminal")),
                Err(channel::TryRecvError::Disconnected) => return Ok(None),
                Err(channel::TryRecvError::Empty) => {}
            },
            i if i == from_signals => match signals.try_recv() {
                Ok(sig) => return Ok(Some(sig)),
                Err(channel::TryRecvError::Disconnected) => return Ok(None),
                Err(channel::TryRecvError::Empty) => {}
            },
            i if i == from_tick && tick.try_recv().is_ok() => {
                let e = app.tick();
                let changed = e.redraw;
                perform(terminal.backend_mut(), app, e);
                // While a job runs, its progress is drawn a few times a second.
                dirty |= changed && (!app.busy() || last_draw.elapsed() >= jobs::PROGRESS_EVERY);
                live_held = changed && app.live_receiver().is_some();
            }
            i if i == from_live => {
                let e = app.tick();
                dirty |= e.redraw;
                perform(terminal.backend_mut(), app, e);
                // Held even when nothing came (a channel whose senders are gone
                // is always "ready"): at worst the loop wakes once a frame.
                live_held = true;
            }
            _ => {}
        }
        if app.quit {
            return Ok(None);
        }
    }
}

/// The I/O an update asked for, but the drawing: the clipboard and the progress file.
fn perform(out: &mut impl Write, app: &App, e: Effect) {
    if let Some(text) = e.copy {
        copy_to_clipboard(out, &text);
    }
    if e.save_progress {
        app.progress.save(app.state_file());
    }
}

/// Puts `text` on the clipboard of the terminal (and of the machine running it,
/// over ssh too) with OSC 52; terminals that do not know it ignore it.
fn copy_to_clipboard(out: &mut impl Write, text: &str) {
    let seq = format!("\x1b]52;c;{}\x07", base64(text.as_bytes()));
    let _ = out.write_all(seq.as_bytes());
    let _ = out.flush();
}

/// Standard base64 with padding, as OSC 52 wants.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One thread blocks on terminal input and forwards it; nobody polls.
fn input_channel() -> Receiver<std::io::Result<crossterm::event::Event>> {
    let (tx, rx) = channel::bounded(64);
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            loop {
                let ev = crossterm::event::read();
                let failed = ev.is_err();
                if tx.send(ev).is_err() || failed {
                    return;
                }
            }
        })
        .ok();
    rx
}

static SIGNAL_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = SIGNAL_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = [sig as u8];
        // SAFETY: write(2) is async-signal-safe; the loop does the restoring.
        unsafe {
            libc::write(fd, b.as_ptr().cast(), 1);
        }
    }
}

/// SIGTERM, SIGHUP and SIGINT end the loop like `q` does, so the terminal is
/// restored and live threads are stopped. A handler (not a blocked mask) keeps
/// child processes' signals as they were: handlers reset on exec.
fn signal_channel() -> anyhow::Result<Receiver<i32>> {
    let (r, w): (OwnedFd, OwnedFd) = nix::unistd::pipe()?;
    SIGNAL_FD.store(w.as_raw_fd(), Ordering::Relaxed);
    std::mem::forget(w);
    let action = nix::sys::signal::SigAction::new(
        nix::sys::signal::SigHandler::Handler(on_signal),
        nix::sys::signal::SaFlags::SA_RESTART,
        nix::sys::signal::SigSet::empty(),
    );
    for sig in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGHUP,
        nix::sys::signal::Signal::SIGINT,
    ] {
        unsafe { nix::sys::signal::sigaction(sig, &action) }?;
    }
    let (tx, rx) = channel::bounded(1);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut b = [0u8; 1];
            let file = std::fs::File::from(r);
            if let Ok(1) = std::io::Read::read(&mut &file, &mut b) {
                let _ = tx.send(b[0] as i32);
            }
        })?;
    Ok(rx)
}

/// Where progress is remembered between sessions.
fn state_file() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/state"))
        })?;
    Some(base.join("interleave").join("progress.json"))
}

fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    t ^ ((std::process::id() as u64) << 32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_standard_examples() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
    }
}
