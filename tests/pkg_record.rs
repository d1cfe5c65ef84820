//! `interleave LESSON --record FILE.cast`: a session in a pseudo-terminal is
//! written as asciicast v2, and replaying the file's output reproduces what the
//! terminal showed, before the student quit and after.

#[path = "common/pty.rs"]
mod pty;

use portable_pty::native_pty_system;
use pty::{PATIENCE, Pty, nz, size};
use std::io::Read;
use std::time::{Duration, Instant};

/// One event of the recording: time, kind, data.
type Event = (f64, String, String);

fn read_cast(path: &std::path::Path) -> (serde_json::Value, Vec<Event>) {
    let text = std::fs::read_to_string(path).expect("the recording exists");
    let mut lines = text.lines();
    let header: serde_json::Value =
        serde_json::from_str(lines.next().expect("a header line")).expect("the header is JSON");
    let events = lines
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("each line is JSON");
            let a = v.as_array().expect("each event is an array");
            assert_eq!(a.len(), 3, "an event is [time, kind, data]: {l}");
            (
                a[0].as_f64().expect("the time is a number"),
                a[1].as_str().expect("the kind is a string").to_string(),
                a[2].as_str().expect("the data is a string").to_string(),
            )
        })
        .collect();
    (header, events)
}

/// Plays events into a terminal of the header's size, as asciinema does: output
/// is written, a resize resizes.
fn replay(header: &serde_json::Value, events: &[Event]) -> vt100::Parser {
    let w = header["width"].as_u64().expect("width") as u16;
    let h = header["height"].as_u64().expect("height") as u16;
    let mut p = vt100::Parser::new(nz(h), nz(w), 0);
    for (_, kind, data) in events {
        match kind.as_str() {
            "o" => p.process(data.as_bytes()),
            "r" => {
                let (c, r) = data.split_once('x').expect("a resize is COLSxROWS");
                p.screen_mut()
                    .set_size(nz(r.parse().expect("rows")), nz(c.parse().expect("cols")));
            }
            _ => {}
        }
    }
    p
}

#[test]
fn a_recorded_session_replays_to_the_screens_the_terminal_showed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cast = dir.path().join("lesson.cast");
    let mut args: Vec<std::ffi::OsString> = [
        "balance-race",
        "--set",
        "iterations=1",
        "--schedule",
        "0x4 1x5 2x6 1x5 2x4 1x4 2x4 0x5",
        "--record",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.push(cast.clone().into());
    let cmd = pty::command(&args, dir.path());
    let mut screen = Pty::spawn(cmd, 30, 100);
    let mut keys = Vec::new();
    let mut send = |screen: &mut Pty, s: &str| {
        screen.send(s);
        keys.push(s.to_string());
    };
    screen.wait_for("pasted schedule");
    // The lesson asks for a prediction before the first run: the student answers.
    screen.wait_for("predict, then run");
    screen.settled();
    send(&mut screen, "2");
    screen.settled();
    send(&mut screen, "s");
    screen.settled();
    send(&mut screen, "s");
    screen.settled();
    // The classroom's projector is wider: the terminal is resized mid-session.
    screen.resize(32, 110);
    screen.settled();
    send(&mut screen, "e");
    screen.wait_for("finished");
    let finished = screen.settled();
    // `q` leaves the lesson for the list, and `q` there quits.
    send(&mut screen, "q");
    screen.wait_for("lessons (");
    let before_quit = screen.settled();
    send(&mut screen, "q");
    let status = screen.wait_exit();
    assert!(status.success(), "{status:?}");
    let after_quit = screen.finish().screen().contents_formatted();

    let (header, events) = read_cast(&cast);
    assert_eq!(header["version"], 2, "{header}");
    assert_eq!(header["width"], 100, "{header}");
    assert_eq!(header["height"], 30, "{header}");
    assert!(
        header["timestamp"]
            .as_u64()
            .is_some_and(|t| t > 1_600_000_000)
    );
    let mut t = 0.0;
    for (time, kind, _) in &events {
        assert!(*time >= t, "times go forward: {time} after {t}");
        t = *time;
        assert!(["o", "i", "r"].contains(&kind.as_str()), "kind {kind}");
    }
    // The keys, in order, exactly as they were typed; the one resize.
    let typed: Vec<&str> = events
        .iter()
        .filter(|e| e.1 == "i")
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(typed, keys);
    let resizes: Vec<&str> = events
        .iter()
        .filter(|e| e.1 == "r")
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(resizes, ["110x32"]);

    // Everything up to the last `q` reproduces the last screen the playground
    // showed, colours and all; the whole file reproduces the terminal as it was
    // left.
    let q = events
        .iter()
        .rposition(|e| e.1 == "i")
        .expect("the q is recorded");
    let lesson = replay(&header, &events[..q]);
    assert!(lesson.screen().alternate_screen());
    assert_eq!(lesson.screen().size(), (nz(32), nz(110)));
    assert!(
        lesson.screen().contents().contains("lessons ("),
        "{}",
        lesson.screen().contents()
    );
    assert!(
        lesson.screen().contents_formatted() == before_quit,
        "replayed:\n{}\nthe terminal showed:\n{}",
        lesson.screen().contents(),
        before_quit
    );
    // And up to the first `q`, the lesson's last screen, at the new size.
    let first_q = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.1 == "i")
        .map(|(i, _)| i)
        .nth(4)
        .expect("five keys");
    let ran = replay(&header, &events[..first_q]);
    assert!(
        ran.screen().contents_formatted() == finished,
        "replayed:\n{}\nthe terminal showed:\n{finished}",
        ran.screen().contents()
    );
    let end = replay(&header, &events);
    assert!(
        !end.screen().alternate_screen(),
        "the recording ends where the terminal was given back"
    );
    assert!(end.screen().contents_formatted() == after_quit);
}

#[test]
fn a_recording_that_cannot_be_created_is_refused_before_the_screen_opens() {
    let pty = native_pty_system();
    let pair = pty.openpty(size(24, 80)).expect("a pseudo-terminal");
    let mut cmd = portable_pty::CommandBuilder::new(env!("CARGO_BIN_EXE_interleave"));
    for a in ["balance-race", "--record", "/nonexistent-dir/x.cast"] {
        cmd.arg(a);
    }
    cmd.env("TERM", "xterm-256color");
    let mut child = pair.slave.spawn_command(cmd).expect("starts");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let out = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = reader.read_to_end(&mut all);
        all
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("waits") {
            break st;
        }
        assert!(start.elapsed() < PATIENCE, "did not end");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(pair.master);
    let out = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
    assert_eq!(status.exit_code(), 2, "{out}");
    assert!(out.contains("cannot write the recording"), "{out}");
    assert!(
        !out.contains("\x1b[?1049h"),
        "the screen was opened: {out:?}"
    );
}
