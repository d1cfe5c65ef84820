//! The real binary in a pseudo-terminal, read the way a person reads the screen.

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Long enough for a slow CI machine; a pass takes well under a second per step.
const PATIENCE: Duration = Duration::from_secs(30);

struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser
            .lock()
            .map(|p| p.screen().contents())
            .unwrap_or_default()
    }

    /// Waits until the screen shows `what`; fails with the screen if it never does.
    fn wait_for(&self, what: &str) -> String {
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
}

#[test]
fn a_student_steps_the_race_flips_the_lock_and_quits_cleanly() {
    let pty = native_pty_system();
    let pair = pty
        .openpty(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pseudo-terminal");
    let home = tempfile::tempdir().expect("temp home");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_interleave"));
    cmd.arg("balance-race");
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", home.path());
    cmd.env("XDG_STATE_HOME", home.path());
    cmd.env_remove("NO_COLOR");
    let mut child = pair.slave.spawn_command(cmd).expect("starts");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let mut writer = pair.master.take_writer().expect("writer");
    let parser = Arc::new(Mutex::new(vt100::Parser::new(nz(40), nz(120), 0)));
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
    let screen = Screen { parser };
    let mut send = |s: &str| {
        writer.write_all(s.as_bytes()).expect("types");
        writer.flush().expect("flushes");
    };

    screen.wait_for("paused at the start");
    // A fresh home: the lesson's question comes first; Esc skips it.
    send("\x1b");
    screen.wait_for("question skipped");
    // One iteration per thread, as the tutorials step it: knob editor, second knob.
    send("k");
    screen.wait_for("knobs · a change re-runs");
    send("\x1b[B");
    send("1\r");
    screen.wait_for("iterations=1: re-running");
    // `k` closes the editor as it opened it (a lone Esc followed at once by
    // another key reads as Alt+key).
    send("k");
    // Round the GIL models back to the classic one.
    for model in ["gil=gil-modern", "gil=free", "gil=gil-classic"] {
        send("g");
        screen.wait_for(&format!("{model}: re-running"));
    }
    send("0000");
    screen.wait_for("step 4 ");
    for keys in ["11111", "222222", "11111", "2222", "1111", "2222", "00000"] {
        send(keys);
    }
    let s = screen.wait_for("step 37 ");
    assert!(s.contains("balance -8"), "{s}");
    assert!(s.contains("overwritten writes (rows marked !): 1"), "{s}");
    assert!(s.contains("0x4 1x5 2x6 1x5 2x4 1x4 2x4 0x5"), "{s}");

    send("l");
    screen.wait_for("lock=on: re-running from the start");
    send("e");
    let s = screen.wait_for("finished");
    assert!(s.contains("balance 0"), "{s}");
    assert!(s.contains("overwritten writes (rows marked !): 0"), "{s}");

    send("q");
    screen.wait_for("lessons (✓ = finished)");
    send("q");
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("waits") {
            break st;
        }
        assert!(start.elapsed() < PATIENCE, "the playground did not quit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status:?}");
    drop(pair.master);
    let _ = pump.join();
    let p = screen.parser.lock().expect("parser");
    assert!(
        !p.screen().alternate_screen(),
        "left in the alternate screen"
    );
    assert!(!p.screen().hide_cursor(), "the cursor was left hidden");
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("a size above zero")
}
