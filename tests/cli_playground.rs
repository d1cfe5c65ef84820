//! `interleave LESSON --schedule … --set …` opens the playground on exactly that
//! run, and a signal ends it with 128 + the signal and the terminal given back.

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(30);

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("a size above zero")
}

#[test]
fn a_prepared_run_opens_where_the_command_line_says_and_sigterm_is_143() {
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
    // The tutorial's table: one iteration per thread, the schedule that loses 8.
    for a in [
        "balance-race",
        "--set",
        "iterations=1",
        "--schedule",
        "0x4 1x5 2x6 1x5 2x4 1x4 2x4 0x5",
    ] {
        cmd.arg(a);
    }
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", home.path());
    cmd.env("XDG_STATE_HOME", home.path());
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
    let text = || {
        parser
            .lock()
            .map(|p| p.screen().contents())
            .unwrap_or_default()
    };
    let wait_for = |what: &str| {
        let start = Instant::now();
        loop {
            let s = text();
            if s.contains(what) {
                return s;
            }
            assert!(start.elapsed() < PATIENCE, "never showed `{what}`:\n{s}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let s = wait_for("pasted schedule");
    assert!(s.contains("iterations=1") || s.contains("range(1)"), "{s}");
    // A fresh home: the lesson's question comes first; Esc skips it.
    writer.write_all(b"\x1b").expect("types");
    writer.flush().expect("flushes");
    wait_for("question skipped");
    // Run to the end: the pasted schedule is followed, and the table ends at −8.
    writer.write_all(b"e").expect("types");
    writer.flush().expect("flushes");
    let s = wait_for("finished");
    assert!(s.contains("balance -8"), "{s}");
    assert!(s.contains("overwritten writes (rows marked !): 1"), "{s}");

    let pid = child.process_id().expect("a pid") as i32;
    // SAFETY: signals our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("waits") {
            break st;
        }
        assert!(start.elapsed() < PATIENCE, "the playground did not end");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.exit_code(), 143, "{status:?}");
    drop(writer);
    drop(pair.master);
    let _ = pump.join();
    let p = parser.lock().expect("parser");
    assert!(
        !p.screen().alternate_screen(),
        "left in the alternate screen"
    );
    assert!(!p.screen().hide_cursor(), "the cursor was left hidden");
}
