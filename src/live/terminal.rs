//! The real file a live run gives its processes as stdout (the buffering lesson):
//! a pseudo-terminal or a pipe, made by the playground, inherited by every worker
//! process, and read by the playground until the last writer is gone.
//!
//! A worker asks the file itself whether it is a terminal (`isatty`), as CPython
//! does at start-up to choose line or block buffering, and writes each flush of
//! its `sys.stdout` buffer to it with one `write(2)`: what the file receives is
//! what a real terminal or a real `| cat` would have received.

use crate::program::Terminal;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::thread::JoinHandle;

/// What the real stdout received so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub kind: Terminal,
    /// The terminal's name (`/dev/pts/N`), or `pipe`.
    pub name: String,
    pub bytes: Vec<u8>,
    /// Every process that could write to it has closed it.
    pub closed: bool,
}

impl Received {
    /// The text as the program wrote it: a terminal turns each `\n` into `\r\n`
    /// on its way out (`onlcr`), which is undone here.
    pub fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        match self.kind {
            Terminal::Tty => text.replace("\r\n", "\n"),
            Terminal::Pipe => text.into_owned(),
        }
    }
}

#[derive(Default)]
struct Got {
    bytes: Vec<u8>,
    closed: bool,
}

/// What the real stdout has received, readable after the run is dropped.
#[derive(Clone)]
pub struct Watch {
    kind: Terminal,
    name: String,
    got: Arc<parking_lot::Mutex<Got>>,
}

impl Watch {
    pub fn received(&self) -> Received {
        let got = self.got.lock();
        Received {
            kind: self.kind,
            name: self.name.clone(),
            bytes: got.bytes.clone(),
            closed: got.closed,
        }
    }

    /// Waits until every writer has closed it, at most `limit`.
    pub fn received_all(&self, limit: std::time::Duration) -> Received {
        let until = std::time::Instant::now() + limit;
        while !self.got.lock().closed && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        self.received()
    }
}

/// The playground's end of the real stdout, and the workers' end until they have it.
pub struct Medium {
    watch: Watch,
    /// The end every worker writes to; closed here once the main worker has it.
    theirs: Option<OwnedFd>,
    /// The end the playground reads, until the reader thread takes it.
    ours: Option<OwnedFd>,
    reader: Option<JoinHandle<()>>,
}

fn cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor this process owns.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A new pseudo-terminal: (master, slave, the slave's name).
fn open_pty() -> io::Result<(OwnedFd, OwnedFd, String)> {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors; no name buffer, default settings.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just made and belong to nobody else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    cloexec(master.as_raw_fd())?;
    cloexec(slave.as_raw_fd())?;
    let mut buf = [0u8; 128];
    // SAFETY: ttyname_r writes at most `buf.len()` bytes, NUL-terminated.
    let named = unsafe { libc::ttyname_r(slave.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    let name = if named == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "a pseudo-terminal".to_string()
    };
    Ok((master, slave, name))
}

fn open_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

impl Medium {
    /// Makes the file. Both ends are close-on-exec here: only the main worker gets
    /// the writing end (see [`Medium::inherit_in_child`]).
    pub fn open(kind: Terminal) -> io::Result<Medium> {
        let (ours, theirs, name) = match kind {
            Terminal::Tty => open_pty()?,
            Terminal::Pipe => {
                let (r, w) = open_pipe()?;
                (r, w, "pipe".to_string())
            }
        };
        Ok(Medium {
            watch: Watch {
                kind,
                name,
                got: Arc::default(),
            },
            theirs: Some(theirs),
            ours: Some(ours),
            reader: None,
        })
    }

    /// The writing end's number, which the main worker inherits as it is.
    pub fn child_fd(&self) -> Option<RawFd> {
        self.theirs.as_ref().map(|f| f.as_raw_fd())
    }

    /// Run in the child between fork and exec: keeps the writing end open across
    /// the exec (the flag is the child's own; the playground's copy keeps it).
    pub fn inherit_in_child(fd: RawFd) -> io::Result<()> {
        // SAFETY: fcntl is async-signal-safe; fd is open in the forked child.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The main worker has started: closes the playground's copy of the writing
    /// end (so the end of the last worker is the end of the file) and reads.
    pub fn started(&mut self) -> io::Result<()> {
        self.theirs = None;
        let Some(fd) = self.ours.take() else {
            return Ok(());
        };
        let got = self.watch.got.clone();
        let reader = std::thread::Builder::new()
            .name("real-stdout".into())
            .spawn(move || read_all(fd, &got))?;
        self.reader = Some(reader);
        Ok(())
    }

    pub fn watch(&self) -> Watch {
        self.watch.clone()
    }
}

/// Reads until every writer has closed it: end of file on a pipe, `EIO` on a
/// pseudo-terminal's master once no slave is open.
fn read_all(fd: OwnedFd, got: &parking_lot::Mutex<Got>) {
    let mut chunk = [0u8; 8192];
    loop {
        match nix::unistd::read(&fd, &mut chunk) {
            Ok(0) => break,
            Ok(n) => got.lock().bytes.extend_from_slice(&chunk[..n]),
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => break,
        }
    }
    got.lock().closed = true;
}

/// A worker's side: whether its stdout is a terminal, and one write of a flush.
#[derive(Clone, Copy, Debug)]
pub struct Stdout {
    fd: RawFd,
    pub isatty: bool,
}

impl Stdout {
    pub fn new(fd: RawFd) -> Stdout {
        // SAFETY: isatty only reads the descriptor's state.
        let isatty = unsafe { libc::isatty(fd) } == 1;
        Stdout { fd, isatty }
    }

    /// Writes `text` out whole (a short write is continued, as CPython's
    /// `BufferedWriter` does). A write that fails (the playground went away) is
    /// dropped: the run is over for whoever would have read it.
    pub fn write(&self, text: &str) {
        let mut left = text.as_bytes();
        while !left.is_empty() {
            // SAFETY: writes from a live slice to a descriptor of this process.
            let n = unsafe { libc::write(self.fd, left.as_ptr().cast(), left.len()) };
            if n > 0 {
                left = &left[n as usize..];
            } else if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            } else {
                break;
            }
        }
    }
}

impl Drop for Medium {
    fn drop(&mut self) {
        // The reader ends once every worker is gone; the run reaps them all
        // before it drops this. (A process that is not the run's, forked by
        // another thread of ours just as the file was made, could hold it a
        // moment longer: then the reader ends on its own, unjoined.)
        self.theirs = None;
        let closed = self
            .watch
            .received_all(std::time::Duration::from_secs(1))
            .closed;
        if let Some(r) = self.reader.take()
            && closed
        {
            let _ = r.join();
        }
    }
}
