//! What live processes share: the worker's job, the framed event pipe, the shared
//! memory mapping (multiprocessing Values and Locks) and the monotonic clock.

use crate::program::{ActorId, Program, Value};
use crate::trace::{Event, EventKind};
use serde::{Deserialize, Serialize};
use std::io::{self, Read};
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64};

/// The environment variable that tells a worker its parent's PID, so that it can
/// notice a parent that died before `PR_SET_PDEATHSIG` was in place.
pub const PARENT_ENV: &str = "INTERLEAVE_PARENT";
/// Overrides the worker binary (tests and benchmarks whose own binary is not ours).
pub const WORKER_EXE_ENV: &str = "INTERLEAVE_WORKER_EXE";

/// Everything a worker needs to run one process of a program.
#[derive(Serialize, Deserialize)]
pub struct Job {
    pub program: Program,
    /// The process's first actor.
    pub actor: ActorId,
    /// The run's start, as a raw `CLOCK_MONOTONIC` reading shared by all processes.
    pub t0: u64,
    pub speed: f64,
    /// The file every process maps for shared variables and locks.
    pub shm: PathBuf,
    /// The process's copy of its parent's (non-shared) variables.
    pub vars: Vec<Value>,
    /// Each queue's pipe (read end, write end), inherited from the main process;
    /// empty until the main process has made them.
    #[serde(default)]
    pub queue_fds: Vec<[i32; 2]>,
    /// Each pipe end's socket in this process (-1 once closed here), made by the
    /// main process; a child inherits the ends its parent still holds.
    #[serde(default)]
    pub conn_fds: Vec<i32>,
    /// The GIL model and switch interval for the threads of this process.
    pub gil: crate::program::GilModel,
    pub switch_interval_ns: u64,
    /// The real file every process has as stdout (see `live::terminal`), as
    /// inherited from the playground: its descriptor here.
    #[serde(default)]
    pub terminal_fd: Option<i32>,
}

/// Nanoseconds of `CLOCK_MONOTONIC`: one time base for every process of a run.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Frame tags on the event pipe.
const EVENTS: u8 = 1;
const OUTPUT: u8 = 2;
const LABEL: u8 = 3;
/// An output whose write did not end its line (see `OutputLine::open`).
const OUTPUT_OPEN: u8 = 4;
/// A frame no larger than `PIPE_BUF` is written atomically, so frames of several
/// processes writing to one pipe never mix.
pub const MAX_FRAME: usize = 4096;
const HEADER: usize = 5;
const EVENT_BYTES: usize = 24;
/// Events that fit in one frame.
pub const EVENTS_PER_FRAME: usize = (MAX_FRAME - HEADER) / EVENT_BYTES;

/// One message from a worker.
#[derive(Debug, PartialEq)]
pub enum Frame {
    Events(Vec<Event>),
    Output {
        actor: ActorId,
        index: u64,
        text: String,
        /// The write did not end its line (`OutputLine::open`).
        open: bool,
    },
    /// A process actor's real PID, for its timeline label.
    Label {
        actor: ActorId,
        pid: i32,
    },
}

fn kind_from(b: u8) -> EventKind {
    match b {
        0 => EventKind::Exec,
        1 => EventKind::Block,
        2 => EventKind::Wake,
        3 => EventKind::GilTake,
        4 => EventKind::GilDrop,
        5 => EventKind::Deadlock,
        _ => EventKind::Ended,
    }
}

impl Frame {
    /// The frame's bytes: length (u32 LE, of tag and payload), tag, payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 4];
        match self {
            Frame::Events(evs) => {
                b.push(EVENTS);
                for e in evs.iter().take(EVENTS_PER_FRAME) {
                    b.extend_from_slice(&e.t_ns.to_le_bytes());
                    b.extend_from_slice(&e.value.to_le_bytes());
                    b.extend_from_slice(&e.pc.to_le_bytes());
                    b.extend_from_slice(&e.actor.to_le_bytes());
                    b.push(e.kind as u8);
                    b.push(0);
                }
            }
            Frame::Output {
                actor,
                index,
                text,
                open,
            } => {
                b.push(if *open { OUTPUT_OPEN } else { OUTPUT });
                b.extend_from_slice(&actor.to_le_bytes());
                b.extend_from_slice(&index.to_le_bytes());
                let room = MAX_FRAME - b.len();
                let mut cut = text.len().min(room);
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                b.extend_from_slice(&text.as_bytes()[..cut]);
            }
            Frame::Label { actor, pid } => {
                b.push(LABEL);
                b.extend_from_slice(&actor.to_le_bytes());
                b.extend_from_slice(&pid.to_le_bytes());
            }
        }
        let n = (b.len() - 4) as u32;
        b[..4].copy_from_slice(&n.to_le_bytes());
        b
    }

    /// Reads one frame; `None` at the end of the pipe.
    pub fn read(r: &mut impl Read) -> io::Result<Option<Frame>> {
        let mut len = [0u8; 4];
        match r.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let n = u32::from_le_bytes(len) as usize;
        if n == 0 || n > MAX_FRAME {
            return Err(io::Error::other(format!("bad frame length {n}")));
        }
        let mut body = vec![0u8; n];
        r.read_exact(&mut body)?;
        let p = &body[1..];
        let u16_at = |i: usize| u16::from_le_bytes([p[i], p[i + 1]]);
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&p[i..i + 8]);
            u64::from_le_bytes(a)
        };
        let short = || io::Error::other("short frame");
        Ok(Some(match body[0] {
            EVENTS => Frame::Events(
                p.chunks_exact(EVENT_BYTES)
                    .map(|c| {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(&c[0..8]);
                        let t_ns = u64::from_le_bytes(a);
                        a.copy_from_slice(&c[8..16]);
                        let value = i64::from_le_bytes(a);
                        Event {
                            t_ns,
                            value,
                            pc: u32::from_le_bytes([c[16], c[17], c[18], c[19]]),
                            actor: u16::from_le_bytes([c[20], c[21]]),
                            kind: kind_from(c[22]),
                        }
                    })
                    .collect(),
            ),
            tag @ (OUTPUT | OUTPUT_OPEN) if p.len() >= 10 => Frame::Output {
                actor: u16_at(0),
                index: u64_at(2),
                text: String::from_utf8_lossy(&p[10..]).into_owned(),
                open: tag == OUTPUT_OPEN,
            },
            LABEL if p.len() >= 6 => Frame::Label {
                actor: u16_at(0),
                pid: i32::from_le_bytes([p[2], p[3], p[4], p[5]]),
            },
            _ => return Err(short()),
        }))
    }
}

/// Writes one frame to a file descriptor in a single `write`.
pub fn write_frame(fd: RawFd, f: &Frame) -> io::Result<()> {
    let b = f.encode();
    let mut done = 0;
    while done < b.len() {
        // SAFETY: the pointer and length describe the live buffer `b`.
        let n = unsafe { libc::write(fd, b[done..].as_ptr().cast(), b.len() - done) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        done += n as usize;
    }
    Ok(())
}

/// A file mapped `MAP_SHARED` by every process of a run: one 8-byte slot per
/// variable, then one per lock (0 = free, else the holder's PID), then one per
/// queue (how many more items a bounded queue takes: its semaphore).
pub struct SharedMem {
    ptr: *mut AtomicI64,
    slots: usize,
}

// SAFETY: the mapping is only reached through atomics.
unsafe impl Send for SharedMem {}
unsafe impl Sync for SharedMem {}

impl SharedMem {
    /// Creates the file with the variables' first values.
    pub fn create(path: &Path, program: &Program) -> io::Result<()> {
        let mut bytes = Vec::new();
        for v in &program.vars {
            bytes.extend_from_slice(&v.init.to_le_bytes());
        }
        bytes.resize(8 * (program.vars.len() + program.locks.len()), 0);
        for q in &program.queues {
            bytes.extend_from_slice(&(q.maxsize as i64).to_le_bytes());
        }
        bytes.resize(8 * Self::slot_count(program), 0);
        std::fs::write(path, bytes)
    }

    fn slot_count(program: &Program) -> usize {
        // One spare slot: a program that shares nothing still maps a page.
        Self::channel_base(program) + 2 * Self::channels(program) + 1
    }

    /// Where the record's slots start (record.rs), after the variables, the
    /// locks and the queues: a version per variable, a count of acquisitions
    /// per lock, then per channel (each queue, then each pipe end's inbox) its
    /// count of messages and the lock that numbers them.
    fn record_base(program: &Program) -> usize {
        program.vars.len() + program.locks.len() + program.queues.len()
    }

    fn channel_base(program: &Program) -> usize {
        Self::record_base(program) + program.vars.len() + program.locks.len()
    }

    fn channels(program: &Program) -> usize {
        program.queues.len() + 2 * program.pipes.len()
    }

    pub fn open(path: &Path, program: &Program) -> io::Result<SharedMem> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)?;
        let slots = Self::slot_count(program);
        if f.metadata()?.len() < (slots * 8) as u64 {
            return Err(io::Error::other("the shared memory file is too short"));
        }
        use std::os::fd::AsRawFd;
        // SAFETY: a fresh shared mapping of a file at least `slots * 8` bytes long.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                slots * 8,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(SharedMem {
            ptr: ptr.cast(),
            slots,
        })
    }

    /// Slot `i` (variables first, then locks).
    pub fn slot(&self, i: usize) -> &AtomicI64 {
        assert!(i < self.slots, "shared slot out of range");
        // SAFETY: in range of a page-aligned mapping that lives as long as `self`.
        unsafe { &*self.ptr.add(i) }
    }

    /// Slot `i` as a counter of the record (record.rs).
    fn counter(&self, i: usize) -> &AtomicU64 {
        assert!(i < self.slots, "shared slot out of range");
        // SAFETY: in range of the mapping, as in `slot`; AtomicU64 has the size
        // and alignment of AtomicI64, and the slot is only reached atomically.
        unsafe { &*self.ptr.add(i).cast::<AtomicU64>() }
    }

    /// The version beside variable `g` (`record::seq_load`, `record::seq_store`).
    pub fn version(&self, program: &Program, g: u16) -> &AtomicU64 {
        self.counter(Self::record_base(program) + g as usize)
    }

    /// The count of acquisitions of lock `l` (`record::bump`).
    pub fn lock_count(&self, program: &Program, l: u16) -> &AtomicU64 {
        self.counter(Self::record_base(program) + program.vars.len() + l as usize)
    }

    /// Channel `ch`'s count of messages and the lock a sender holds while it
    /// numbers and writes one (`record::queue_channel`, `record::conn_channel`).
    pub fn channel(&self, program: &Program, ch: u16) -> (&AtomicU64, &AtomicI64) {
        let at = Self::channel_base(program) + 2 * ch as usize;
        (self.counter(at), self.slot(at + 1))
    }
}

/// The bytes of one message's head on a queue's pipe or a pipe end's socket:
/// its value (or the length of the text after it) and its number on its channel.
pub(crate) const MESSAGE: usize = 16;

/// A head whose value is `TEXT_WIRE + n` says `n` bytes of UTF-8 text follow
/// it: a `str` travels as its own bytes, not as the program's number for it.
const TEXT_WIRE: i64 = i64::MIN + 1;

/// The longest text one message carries: a head and its text together are at
/// most `PIPE_BUF` (4096) bytes, which a pipe writes in one piece, so two
/// senders' messages never mix.
pub const MAX_TEXT: usize = 4096 - MESSAGE;

/// What one message carries: a number, or a `str`'s text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload<S> {
    Int(i64),
    Text(S),
}

/// A message's bytes: the head (value or text length, number), then the text.
fn encode(v: &Payload<&str>, n: u64) -> io::Result<Vec<u8>> {
    let (head, text) = match *v {
        Payload::Int(v) if (TEXT_WIRE..=TEXT_WIRE + MAX_TEXT as i64).contains(&v) => {
            return Err(io::Error::other(format!(
                "{v} cannot be sent: it marks a text"
            )));
        }
        Payload::Int(v) => (v, &[][..]),
        Payload::Text(t) if t.len() > MAX_TEXT => {
            return Err(io::Error::other(format!(
                "a str of {} bytes cannot be sent (at most {MAX_TEXT})",
                t.len()
            )));
        }
        Payload::Text(t) => (TEXT_WIRE + t.len() as i64, t.as_bytes()),
    };
    let mut b = Vec::with_capacity(MESSAGE + text.len());
    b.extend_from_slice(&head.to_le_bytes());
    b.extend_from_slice(&n.to_le_bytes());
    b.extend_from_slice(text);
    Ok(b)
}

/// Sends one message: numbers it and writes its bytes in one `write` (or
/// `send`, on a socket), both under the channel's lock, so that the numbers
/// follow the order of the messages in the pipe however many senders it has
/// (CPython's `Queue` writes under a lock of its own too). A lock whose holder
/// died is taken over. Gives the message's number.
pub fn send_message(
    fd: RawFd,
    (count, lock): (&AtomicU64, &AtomicI64),
    v: Payload<&str>,
    socket: bool,
) -> io::Result<u64> {
    use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
    let me = std::process::id() as i64;
    let mut spins = 0u32;
    loop {
        match lock.compare_exchange(0, me, Acquire, Relaxed) {
            Ok(_) => break,
            Err(holder) => {
                spins += 1;
                // SAFETY: signal 0 only asks whether the process exists.
                if spins.is_multiple_of(64) && unsafe { libc::kill(holder as i32, 0) } != 0 {
                    let _ = lock.compare_exchange(holder, 0, Relaxed, Relaxed);
                }
                std::thread::sleep(std::time::Duration::from_micros(5));
            }
        }
    }
    let n = count.load(Relaxed);
    let sent = encode(&v, n).and_then(|b| write_whole(fd, &b, socket).map(|()| n));
    if sent.is_ok() {
        count.store(n + 1, Relaxed);
    }
    lock.store(0, Release);
    sent
}

/// Writes a message in one call (at most `PIPE_BUF` bytes: never cut short on
/// a pipe; on a socket a short write is an error, as it was before texts).
fn write_whole(fd: RawFd, b: &[u8], socket: bool) -> io::Result<()> {
    loop {
        // SAFETY: writes the live buffer `b`, within its length.
        let w = unsafe {
            if socket {
                libc::send(fd, b.as_ptr().cast(), b.len(), libc::MSG_NOSIGNAL)
            } else {
                libc::write(fd, b.as_ptr().cast(), b.len())
            }
        };
        let e = io::Error::last_os_error();
        match w {
            w if w >= 0 && w as usize == b.len() => return Ok(()),
            w if w < 0 && e.kind() == io::ErrorKind::Interrupted => continue,
            w if w < 0 => return Err(e),
            w => {
                return Err(io::Error::other(format!(
                    "a message was cut short ({w} of {} bytes)",
                    b.len()
                )));
            }
        }
    }
}

/// Reads exactly `b.len()` bytes; `false` at the end of the pipe (or an error).
fn read_exact(fd: RawFd, b: &mut [u8]) -> bool {
    let mut got = 0;
    while got < b.len() {
        // SAFETY: reads into the live buffer `b`, within its length.
        let n = unsafe { libc::read(fd, b[got..].as_mut_ptr().cast(), b.len() - got) };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return false;
        }
        got += n as usize;
    }
    true
}

/// Reads one message (see [`send_message`]): what it carries and its number;
/// `None` at the end of the pipe, or when a text is not UTF-8.
pub fn recv_message(fd: RawFd) -> Option<(Payload<String>, u64)> {
    let mut b = [0u8; MESSAGE];
    if !read_exact(fd, &mut b) {
        return None;
    }
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    let v = i64::from_le_bytes(w);
    w.copy_from_slice(&b[8..]);
    let n = u64::from_le_bytes(w);
    let len = v.wrapping_sub(TEXT_WIRE);
    if !(0..=MAX_TEXT as i64).contains(&len) {
        return Some((Payload::Int(v), n));
    }
    let mut text = vec![0u8; len as usize];
    if !read_exact(fd, &mut text) {
        return None;
    }
    String::from_utf8(text).ok().map(|t| (Payload::Text(t), n))
}

impl Drop for SharedMem {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `open` mapped.
        unsafe { libc::munmap(self.ptr.cast(), self.slots * 8) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_numbers_cross_a_real_pipe_and_a_socket_as_they_went() {
        for socket in [false, true] {
            let mut fds = [0i32; 2];
            // SAFETY: `fds` has room for the two descriptors either call writes.
            let made = unsafe {
                if socket {
                    libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr())
                } else {
                    libc::pipe(fds.as_mut_ptr())
                }
            };
            assert_eq!(made, 0);
            let (count, lock) = (AtomicU64::new(0), AtomicI64::new(0));
            let sent = [
                Payload::Text("Hello shiyanlou"),
                Payload::Int(42),
                Payload::Text(""),
                Payload::Int(i64::MIN),
                Payload::Text("你好"),
            ];
            for v in &sent {
                send_message(fds[1], (&count, &lock), v.clone(), socket).expect("sent");
            }
            for (n, v) in sent.iter().enumerate() {
                let (got, number) = recv_message(fds[0]).expect("a message");
                let want = match v {
                    Payload::Int(i) => Payload::Int(*i),
                    Payload::Text(t) => Payload::Text(t.to_string()),
                };
                assert_eq!((got, number), (want, n as u64), "socket={socket}");
            }
            // What cannot be sent is refused, and nothing is written.
            let long = "x".repeat(MAX_TEXT + 1);
            assert!(send_message(fds[1], (&count, &lock), Payload::Text(&long), socket).is_err());
            assert!(
                send_message(fds[1], (&count, &lock), Payload::Int(TEXT_WIRE), socket).is_err()
            );
            assert_eq!(count.load(std::sync::atomic::Ordering::Relaxed), 5);
            // SAFETY: closes the two descriptors made above.
            unsafe {
                libc::close(fds[1]);
            }
            assert!(recv_message(fds[0]).is_none(), "the end of the pipe");
            // SAFETY: as above.
            unsafe {
                libc::close(fds[0]);
            }
        }
    }

    #[test]
    fn frames_come_back_as_they_went() {
        let evs: Vec<Event> = (0..EVENTS_PER_FRAME as u64)
            .map(|i| Event {
                t_ns: i * 7,
                value: -(i as i64),
                pc: i as u32,
                actor: 3,
                kind: EventKind::Ended,
            })
            .collect();
        let frames = [
            Frame::Events(evs),
            Frame::Output {
                actor: 2,
                index: 9,
                text: "Run child process test (4242)...".into(),
                open: false,
            },
            Frame::Output {
                actor: 1,
                index: 10,
                text: "I (4241) just created a child process (4242).".into(),
                open: true,
            },
            Frame::Label { actor: 1, pid: 77 },
        ];
        let mut bytes = Vec::new();
        for f in &frames {
            let b = f.encode();
            assert!(b.len() <= MAX_FRAME);
            bytes.extend(b);
        }
        let mut r = &bytes[..];
        for f in &frames {
            assert_eq!(Frame::read(&mut r).unwrap().as_ref(), Some(f));
        }
        assert_eq!(Frame::read(&mut r).unwrap(), None);
    }
}
