//! SIGINT, SIGTERM and SIGHUP in the headless CLI.
//!
//! Outside a live run a signal ends the process at once with 128 + the signal
//! (nothing to clean up: no child, no temporary file). During a live run the signal
//! is handed to the run's loop, which kills and reaps every worker and removes the
//! run's temporary folder before exiting with the same code.

use crossbeam::channel::{self, Receiver};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static DEFER: AtomicBool = AtomicBool::new(false);
static PIPE_W: AtomicI32 = AtomicI32::new(-1);
const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = PIPE_W.load(Ordering::Relaxed);
    if DEFER.load(Ordering::Relaxed) && fd >= 0 {
        let b = [sig as u8];
        // SAFETY: write(2) is async-signal-safe; `b` lives through the call.
        unsafe { libc::write(fd, b.as_ptr().cast(), 1) };
    } else {
        // SAFETY: _exit(2) is async-signal-safe.
        unsafe { libc::_exit(128 + sig) };
    }
}

fn install() -> io::Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in SIGNALS {
        let sig = Signal::try_from(sig).map_err(io::Error::other)?;
        // SAFETY: the handler only calls async-signal-safe functions.
        unsafe { sigaction(sig, &action) }.map_err(io::Error::other)?;
    }
    Ok(())
}

/// From now on a signal is delivered on the returned channel (as its number)
/// instead of ending the process.
pub fn catch() -> io::Result<Receiver<i32>> {
    static RX: std::sync::OnceLock<Receiver<i32>> = std::sync::OnceLock::new();
    if let Some(rx) = RX.get() {
        DEFER.store(true, Ordering::SeqCst);
        return Ok(rx.clone());
    }
    let (r, w) = nix::unistd::pipe().map_err(io::Error::other)?;
    use std::os::fd::IntoRawFd;
    PIPE_W.store(w.into_raw_fd(), Ordering::SeqCst);
    let (tx, rx) = channel::unbounded();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let file = std::fs::File::from(r);
            let mut b = [0u8; 1];
            while let Ok(1) = io::Read::read(&mut &file, &mut b) {
                if tx.send(b[0] as i32).is_err() {
                    return;
                }
            }
        })?;
    let rx = RX.get_or_init(|| rx).clone();
    install()?;
    DEFER.store(true, Ordering::SeqCst);
    Ok(rx)
}

/// A signal ends the process at once again (128 + the signal).
pub fn immediate() {
    DEFER.store(false, Ordering::SeqCst);
}

/// Installs the handlers in immediate mode, so that a signal is always the
/// documented exit code, never a death by signal.
pub fn exit_codes() -> io::Result<()> {
    DEFER.store(false, Ordering::SeqCst);
    install()
}

/// Ends the process as the contract says for signal `sig`.
pub fn exit_after(sig: i32) -> ! {
    std::process::exit(128 + sig)
}
