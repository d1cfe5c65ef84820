//! The real binary in a pseudo-terminal, read the way a person reads the screen:
//! a reader thread feeds everything the playground writes into a vt100 terminal,
//! and the tests type keys and wait for text. Shared by the pty test files
//! (`#[path = "common/pty.rs"] mod pty;`); each uses part of it.
#![allow(dead_code)]

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Long enough for a slow CI machine; a pass takes well under a second per step.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("a size above zero")
}

pub fn size(rows: u16, cols: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

/// The playground's own binary with `args`, a colour terminal, and `home` as
/// both HOME and XDG_STATE_HOME, so the real progress file is never touched.
pub fn command<S: AsRef<std::ffi::OsStr>>(args: &[S], home: &Path) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_interleave"));
    for a in args {
        cmd.arg(a);
    }
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", home);
    cmd.env("XDG_STATE_HOME", home);
    cmd
}

/// A running playground and the terminal it draws on.
pub struct Pty {
    pub child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    pump: JoinHandle<()>,
}

impl Pty {
    /// Starts `cmd` in a `rows`×`cols` pseudo-terminal.
    pub fn spawn(cmd: CommandBuilder, rows: u16, cols: u16) -> Pty {
        let pair = native_pty_system()
            .openpty(size(rows, cols))
            .expect("a pseudo-terminal");
        let child = pair.slave.spawn_command(cmd).expect("starts");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(nz(rows), nz(cols), 0)));
        let feed = parser.clone();
        let pump = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut p) = feed.lock() {
                    p.process(&buf[..n]);
                }
            }
        });
        Pty {
            child,
            master: pair.master,
            writer,
            parser,
            pump,
        }
    }

    /// The screen's text, as a person reads it.
    pub fn text(&self) -> String {
        self.parser
            .lock()
            .map(|p| p.screen().contents())
            .unwrap_or_default()
    }

    /// The screen with its colours and attributes, to compare two screens exactly.
    pub fn formatted(&self) -> String {
        self.parser
            .lock()
            .map(|p| p.screen().contents_formatted())
            .unwrap_or_default()
    }

    /// Waits until the screen shows `what`; fails with the screen if it never does.
    pub fn wait_for(&self, what: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.text();
            if s.contains(what) {
                return s;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "the screen never showed `{what}`:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until nothing has changed for half a second, and returns the screen.
    pub fn settled(&self) -> String {
        let start = Instant::now();
        let mut last = self.formatted();
        let mut since = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let now = self.formatted();
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() > Duration::from_millis(500) {
                return last;
            }
            assert!(start.elapsed() < PATIENCE, "the screen never settled");
        }
    }

    /// Types `keys` as a person would (one write, as a fast typist's burst).
    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("types");
        self.writer.flush().expect("flushes");
    }

    /// Resizes the terminal, as a window being dragged does.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        self.master.resize(size(rows, cols)).expect("resizes");
        if let Ok(mut p) = self.parser.lock() {
            p.screen_mut().set_size(nz(rows), nz(cols));
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.process_id().expect("a pid") as i32
    }

    /// Waits for the playground to end; fails if it does not within PATIENCE.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().expect("waits") {
                return st;
            }
            assert!(start.elapsed() < PATIENCE, "the playground did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// After the playground ended: closes the terminal, reads what was left in
    /// it, and gives back the terminal's final state.
    pub fn finish(self) -> vt100::Parser {
        drop(self.writer);
        drop(self.master);
        let _ = self.pump.join();
        let Ok(parser) = Arc::try_unwrap(self.parser) else {
            panic!("the reader thread still holds the terminal");
        };
        parser.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}
