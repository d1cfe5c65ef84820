//! `interleave LESSON --schedule … --set …` opens the playground on exactly that
//! run, and a signal ends it with 128 + the signal and the terminal given back.

#[path = "common/pty.rs"]
mod pty;

use pty::Pty;

#[test]
fn a_prepared_run_opens_where_the_command_line_says_and_sigterm_is_143() {
    let home = tempfile::tempdir().expect("temp home");
    // The tutorial's table: one iteration per thread, the schedule that loses 8.
    let cmd = pty::command(
        &[
            "balance-race",
            "--set",
            "iterations=1",
            "--schedule",
            "0x4 1x5 2x6 1x5 2x4 1x4 2x4 0x5",
        ],
        home.path(),
    );
    let mut term = Pty::spawn(cmd, 40, 120);
    let s = term.wait_for("pasted schedule");
    assert!(s.contains("iterations=1") || s.contains("range(1)"), "{s}");
    // A fresh home: the lesson's question comes first; Esc skips it.
    term.send("\x1b");
    term.wait_for("question skipped");
    // Run to the end: the pasted schedule is followed, and the table ends at −8.
    term.send("e");
    let s = term.wait_for("finished");
    assert!(s.contains("balance -8"), "{s}");
    assert!(s.contains("overwritten writes (rows marked !): 1"), "{s}");

    // SAFETY: signals our own child.
    unsafe { libc::kill(term.pid(), libc::SIGTERM) };
    let status = term.wait_exit();
    assert_eq!(status.exit_code(), 143, "{status:?}");
    let p = term.finish();
    assert!(
        !p.screen().alternate_screen(),
        "left in the alternate screen"
    );
    assert!(!p.screen().hide_cursor(), "the cursor was left hidden");
}
