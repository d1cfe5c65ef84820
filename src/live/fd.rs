//! The worker's file-descriptor helpers: pipes and socket pairs its children
//! inherit, and asking a descriptor whether it has data.

use crate::program::Value;
use std::time::Duration;

/// A pipe that children inherit (no close-on-exec), as `multiprocessing.Queue`
/// uses one.
pub(super) fn inheritable_pipe() -> std::io::Result<[i32; 2]> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fds)
}

/// A connected pair of Unix stream sockets that children inherit.
pub(super) fn socket_pair() -> std::io::Result<[i32; 2]> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors socketpair writes.
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fds)
}

/// Whether a read of `fd` would not block.
pub(super) fn readable(fd: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, 0) == 1 }
}

/// How many bytes wait in pipe `fd` (`FIONREAD`); 0 if the kernel will not say.
pub(super) fn pipe_bytes(fd: i32) -> Value {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    if r == 0 { n as Value } else { 0 }
}

/// Whether `fd` has data within `wait` (poll with a timeout, retried on EINTR).
pub(super) fn readable_within(fd: i32, wait: Duration) -> bool {
    let until = std::time::Instant::now() + wait;
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // Rounded up: a wait never ends before its timeout.
        let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r == 1 {
            return true;
        }
        if r == 0 {
            return false;
        }
        if r < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return false;
        }
    }
}
