//! The real binary in a pseudo-terminal, read the way a person reads the screen.

#[path = "common/pty.rs"]
mod pty;

use pty::Pty;

#[test]
fn a_student_steps_the_race_flips_the_lock_and_quits_cleanly() {
    let home = tempfile::tempdir().expect("temp home");
    let mut cmd = pty::command(&["balance-race"], home.path());
    cmd.env_remove("NO_COLOR");
    let mut screen = Pty::spawn(cmd, 40, 120);

    screen.wait_for("paused at the start");
    // A fresh home: the lesson's question comes first; Esc skips it.
    screen.send("\x1b");
    screen.wait_for("question skipped");
    // One iteration per thread, as the tutorials step it: knob editor, second knob.
    screen.send("k");
    screen.wait_for("knobs · a change re-runs");
    screen.send("\x1b[B");
    screen.send("1\r");
    screen.wait_for("iterations=1: re-running");
    // `k` closes the editor as it opened it (a lone Esc followed at once by
    // another key reads as Alt+key).
    screen.send("k");
    // Round the GIL models back to the classic one.
    for model in ["gil=gil-modern", "gil=free", "gil=gil-classic"] {
        screen.send("g");
        screen.wait_for(&format!("{model}: re-running"));
    }
    screen.send("0000");
    screen.wait_for("step 4 ");
    for keys in ["11111", "222222", "11111", "2222", "1111", "2222", "00000"] {
        screen.send(keys);
    }
    let s = screen.wait_for("step 37 ");
    assert!(s.contains("balance -8"), "{s}");
    assert!(s.contains("overwritten writes (rows marked !): 1"), "{s}");
    assert!(s.contains("0x4 1x5 2x6 1x5 2x4 1x4 2x4 0x5"), "{s}");

    screen.send("l");
    screen.wait_for("lock=on: re-running from the start");
    screen.send("e");
    let s = screen.wait_for("finished");
    assert!(s.contains("balance 0"), "{s}");
    assert!(s.contains("overwritten writes (rows marked !): 0"), "{s}");

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
