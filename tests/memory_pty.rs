//! Run-to-end on the knob's largest run, in the real binary in a pseudo-terminal:
//! progress in the status line, Esc stops it, and `q` is answered in the middle.

#[path = "common/pty.rs"]
mod pty;

use pty::Pty;

#[test]
fn a_long_run_to_the_end_shows_progress_stops_on_esc_and_q_still_quits() {
    let home = tempfile::tempdir().expect("temp home");
    // The knob's largest value: 240 M steps, far more than this test waits for.
    let mut cmd = pty::command(
        &[
            "balance-race",
            "--seed",
            "1",
            "--set",
            "iterations=10000000",
        ],
        home.path(),
    );
    cmd.env_remove("NO_COLOR");
    let mut screen = Pty::spawn(cmd, 40, 120);

    screen.wait_for("paused at the start");
    // A fresh home: the lesson's question comes first; Esc skips it.
    screen.send("\x1b");
    screen.wait_for("question skipped");
    screen.send("e");
    let s = screen.wait_for("running to the end:");
    assert!(s.contains("events/s") && s.contains("(Esc stops)"), "{s}");
    // Esc stops it where it is, somewhere short of the end.
    screen.send("\x1b");
    let s = screen.wait_for("stopped at step");
    assert!(!s.contains("finished"), "{s}");
    // Again, and `q` in the middle of it: back to the lesson list, then out.
    screen.send("e");
    screen.wait_for("running to the end:");
    screen.send("q");
    screen.wait_for("lessons (✓ = finished)");
    screen.send("q");
    let status = screen.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    let p = screen.finish();
    assert!(
        !p.screen().alternate_screen(),
        "left in the alternate screen"
    );
    assert!(!p.screen().hide_cursor(), "the cursor was left hidden");
}
