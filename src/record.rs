//! Recordings of a playground session in asciicast v2, the format asciinema plays.
//!
//! The file is a header line (`{"version": 2, "width": …, "height": …,
//! "timestamp": …}`) and then one JSON array a line: `[seconds, "o", text]` for
//! what the playground wrote to the terminal, `[seconds, "i", text]` for a key
//! (or mouse event) it read, `[seconds, "r", "COLSxROWS"]` for a resize. Nothing
//! else is written. Output is recorded through [`Tee`], the writer the terminal
//! draws on, so the file holds exactly the bytes the terminal was sent.
//!
//! Input is recorded from the events the playground receives: crossterm decodes
//! the terminal's bytes into events, and [`input_bytes`] encodes each back into
//! the bytes a terminal sends for it in its default (xterm, SGR mouse) mode.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use parking_lot::Mutex;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// A recording being written. Clones write to the same file.
#[derive(Clone)]
pub struct Recorder {
    state: Arc<Mutex<State>>,
    path: Arc<PathBuf>,
}

struct State {
    out: BufWriter<File>,
    start: Instant,
    /// Output not yet written as an event: a frame is one event, written when the
    /// terminal is flushed, and a character split between writes waits here whole.
    pending: Vec<u8>,
    /// The first write that failed; later events are dropped and `finish` says so.
    error: Option<io::Error>,
}

impl Recorder {
    /// Creates (or truncates) `path` and writes the header for a terminal of
    /// `width` × `height` cells.
    pub fn create(path: &Path, width: u16, height: u16) -> io::Result<Recorder> {
        let mut out = BufWriter::new(File::create(path)?);
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = serde_json::json!({
            "version": 2,
            "width": width,
            "height": height,
            "timestamp": timestamp,
        });
        writeln!(out, "{header}")?;
        out.flush()?;
        Ok(Recorder {
            state: Arc::new(Mutex::new(State {
                out,
                start: Instant::now(),
                pending: Vec::new(),
                error: None,
            })),
            path: Arc::new(path.to_path_buf()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes sent to the terminal; they become an `"o"` event at the next flush.
    pub fn output(&self, bytes: &[u8]) {
        self.state.lock().pending.extend_from_slice(bytes);
    }

    /// Writes the output gathered since the last flush as one `"o"` event.
    pub fn flush_output(&self) {
        let mut s = self.state.lock();
        s.flush_pending();
    }

    /// A terminal event the playground read: a key or mouse event becomes an
    /// `"i"` event, a resize an `"r"` event.
    pub fn event(&self, ev: &Event) {
        let mut s = self.state.lock();
        // Output comes before the input that follows it.
        s.flush_pending();
        match ev {
            Event::Resize(w, h) => s.event("r", &format!("{w}x{h}")),
            other => {
                if let Some(data) = input_bytes(other) {
                    s.event("i", &data);
                }
            }
        }
    }

    /// Writes what is left and says whether the whole recording was written.
    pub fn finish(&self) -> io::Result<()> {
        let mut s = self.state.lock();
        s.flush_pending();
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        s.out.flush()
    }
}

impl State {
    fn flush_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.pending);
        let (text, rest) = match std::str::from_utf8(&bytes) {
            Ok(t) => (t.to_string(), &[][..]),
            // A character cut at the end waits for its other bytes.
            Err(e) if e.error_len().is_none() => {
                let (head, tail) = bytes.split_at(e.valid_up_to());
                (String::from_utf8_lossy(head).into_owned(), tail)
            }
            // Not text at all (we never write such bytes): kept visible, replaced.
            Err(_) => (String::from_utf8_lossy(&bytes).into_owned(), &[][..]),
        };
        self.pending = rest.to_vec();
        if !text.is_empty() {
            self.event("o", &text);
        }
    }

    fn event(&mut self, kind: &str, data: &str) {
        if self.error.is_some() {
            return;
        }
        let t = self.start.elapsed().as_secs_f64();
        let line = serde_json::json!([(t * 1e6).round() / 1e6, kind, data]);
        if let Err(e) = writeln!(self.out, "{line}") {
            self.error = Some(e);
        }
    }
}

/// The terminal's writer, copying what it writes into a recording (when there is
/// one). The playground draws through it, so a recording holds what the screen
/// was sent, byte for byte.
pub struct Tee<W: Write> {
    out: W,
    rec: Option<Recorder>,
}

impl<W: Write> Tee<W> {
    pub fn new(out: W, rec: Option<Recorder>) -> Tee<W> {
        Tee { out, rec }
    }
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        if let Some(r) = &self.rec {
            r.output(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        let flushed = self.out.flush();
        if let Some(r) = &self.rec {
            r.flush_output();
        }
        flushed
    }
}

/// The bytes a terminal in its default mode sends for this event (xterm keys,
/// SGR mouse reports as `EnableMouseCapture` asks for), or None for events that
/// are not input (resizes) and keys a terminal sends nothing for.
pub fn input_bytes(ev: &Event) -> Option<String> {
    match ev {
        Event::Key(k) => key_bytes(k),
        Event::Mouse(m) => mouse_bytes(m),
        Event::Paste(text) => Some(format!("\x1b[200~{text}\x1b[201~")),
        Event::FocusGained => Some("\x1b[I".into()),
        Event::FocusLost => Some("\x1b[O".into()),
        Event::Resize(..) => None,
    }
}

/// xterm's modifier parameter: 1 + shift + 2·alt + 4·ctrl, None when plain.
fn modifier_param(m: KeyModifiers) -> Option<u8> {
    let p = 1
        + u8::from(m.contains(KeyModifiers::SHIFT))
        + 2 * u8::from(m.contains(KeyModifiers::ALT))
        + 4 * u8::from(m.contains(KeyModifiers::CONTROL));
    (p > 1).then_some(p)
}

fn key_bytes(k: &KeyEvent) -> Option<String> {
    if k.kind == KeyEventKind::Release {
        return None;
    }
    let m = modifier_param(k.modifiers);
    // `ESC [ 1 ; m X` with modifiers, `ESC [ X` without.
    let letter = |x: char| match m {
        Some(p) => format!("\x1b[1;{p}{x}"),
        None => format!("\x1b[{x}"),
    };
    let tilde = |n: u8| match m {
        Some(p) => format!("\x1b[{n};{p}~"),
        None => format!("\x1b[{n}~"),
    };
    let alt = |s: String| {
        if k.modifiers.contains(KeyModifiers::ALT) {
            format!("\x1b{s}")
        } else {
            s
        }
    };
    Some(match k.code {
        KeyCode::Char(c) if k.modifiers.contains(KeyModifiers::CONTROL) => {
            let b = match c {
                ' ' | '@' | '2' => 0,
                'a'..='z' => c as u8 - b'a' + 1,
                '[' | '3' => 0x1b,
                '\\' | '4' => 0x1c,
                ']' | '5' => 0x1d,
                '^' | '6' => 0x1e,
                '_' | '7' | '/' => 0x1f,
                '8' | '?' => 0x7f,
                _ => return Some(alt(c.to_string())),
            };
            alt(char::from(b).to_string())
        }
        KeyCode::Char(c) => alt(c.to_string()),
        KeyCode::Enter => alt("\r".into()),
        KeyCode::Tab => alt("\t".into()),
        KeyCode::BackTab => "\x1b[Z".into(),
        KeyCode::Backspace => alt("\x7f".into()),
        KeyCode::Esc => alt("\x1b".into()),
        KeyCode::Null => "\0".into(),
        KeyCode::Up => letter('A'),
        KeyCode::Down => letter('B'),
        KeyCode::Right => letter('C'),
        KeyCode::Left => letter('D'),
        KeyCode::Home => letter('H'),
        KeyCode::End => letter('F'),
        KeyCode::Insert => tilde(2),
        KeyCode::Delete => tilde(3),
        KeyCode::PageUp => tilde(5),
        KeyCode::PageDown => tilde(6),
        KeyCode::F(n @ 1..=4) => {
            let x = char::from(b'P' + n - 1);
            match m {
                Some(p) => format!("\x1b[1;{p}{x}"),
                None => format!("\x1bO{x}"),
            }
        }
        KeyCode::F(n @ 5..=12) => tilde([15, 17, 18, 19, 20, 21, 23, 24][usize::from(n - 5)]),
        _ => return None,
    })
}

fn mouse_bytes(m: &MouseEvent) -> Option<String> {
    let button = |b: MouseButton| match b {
        MouseButton::Left => 0,
        MouseButton::Middle => 1,
        MouseButton::Right => 2,
    };
    let (code, end) = match m.kind {
        MouseEventKind::Down(b) => (button(b), 'M'),
        MouseEventKind::Up(b) => (button(b), 'm'),
        MouseEventKind::Drag(b) => (button(b) + 32, 'M'),
        MouseEventKind::Moved => (35, 'M'),
        MouseEventKind::ScrollUp => (64, 'M'),
        MouseEventKind::ScrollDown => (65, 'M'),
        MouseEventKind::ScrollLeft => (66, 'M'),
        MouseEventKind::ScrollRight => (67, 'M'),
    };
    let mods = 4 * u16::from(m.modifiers.contains(KeyModifiers::SHIFT))
        + 8 * u16::from(m.modifiers.contains(KeyModifiers::ALT))
        + 16 * u16::from(m.modifiers.contains(KeyModifiers::CONTROL));
    Some(format!(
        "\x1b[<{};{};{}{end}",
        code + mods,
        u32::from(m.column) + 1,
        u32::from(m.row) + 1
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventState;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
        Event::Key(KeyEvent {
            code,
            modifiers,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        })
    }

    #[test]
    fn keys_are_the_bytes_a_terminal_sends() {
        let none = KeyModifiers::NONE;
        let cases = [
            (key(KeyCode::Char('s'), none), "s"),
            (key(KeyCode::Char('中'), none), "中"),
            (key(KeyCode::Char('c'), KeyModifiers::CONTROL), "\x03"),
            (key(KeyCode::Char('x'), KeyModifiers::ALT), "\x1bx"),
            (key(KeyCode::Enter, none), "\r"),
            (key(KeyCode::Up, none), "\x1b[A"),
            (key(KeyCode::Up, KeyModifiers::SHIFT), "\x1b[1;2A"),
            (key(KeyCode::PageDown, none), "\x1b[6~"),
            (key(KeyCode::F(1), none), "\x1bOP"),
            (key(KeyCode::F(5), none), "\x1b[15~"),
            (key(KeyCode::BackTab, KeyModifiers::SHIFT), "\x1b[Z"),
        ];
        for (ev, want) in cases {
            assert_eq!(input_bytes(&ev).as_deref(), Some(want), "{ev:?}");
        }
        assert_eq!(input_bytes(&Event::Resize(80, 24)), None);
    }

    #[test]
    fn mouse_reports_are_sgr() {
        let ev = Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 9,
            row: 4,
            modifiers: KeyModifiers::NONE,
        });
        assert_eq!(input_bytes(&ev).as_deref(), Some("\x1b[<0;10;5M"));
    }

    #[test]
    fn a_character_split_between_writes_is_one_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.cast");
        let rec = Recorder::create(&path, 80, 24).unwrap();
        let mut tee = Tee::new(Vec::new(), Some(rec.clone()));
        let bytes = "a中".as_bytes();
        tee.write_all(&bytes[..2]).unwrap();
        tee.flush().unwrap();
        tee.write_all(&bytes[2..]).unwrap();
        tee.flush().unwrap();
        rec.event(&Event::Resize(100, 30));
        rec.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["version"], 2);
        assert_eq!(lines[0]["width"], 80);
        assert_eq!(lines[1][1], "o");
        assert_eq!(lines[1][2], "a");
        assert_eq!(lines[2][2], "中");
        assert_eq!(lines[3][1], "r");
        assert_eq!(lines[3][2], "100x30");
        assert_eq!(lines.len(), 4);
        assert_eq!(tee.out, bytes);
    }
}
