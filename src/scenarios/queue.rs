//! A writer and a reader process talk through a `multiprocessing.Queue`.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorKind, Instr, Program, ProgramBuilder};

/// What the writer puts, as in the tutorial.
const LETTERS: [char; 3] = ['A', 'B', 'C'];
/// What the writer puts with `payload=str`: the other tutorial's Queue strings
/// ('Hello shiyanlou'; 'zhihou' and 'charu' are its other two puts).
const WORDS: [&str; 3] = ["Hello shiyanlou", "zhihou", "charu"];

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let nowait = knobs.bool("nowait")?;
    let words = knobs.choice("payload") == Some("str");
    let maxsize = u32::try_from(knobs.int("maxsize")?)
        .map_err(|_| "maxsize must be 0 or more".to_string())?;
    let delay = knobs.option("delay")?.to_string();
    let delay_us = delay
        .parse::<f64>()
        .ok()
        .filter(|s| (0.0..=60.0).contains(s))
        .map(|s| (s * 1e6) as u32)
        .ok_or_else(|| format!("delay must be seconds from 0 to 60, not {delay}"))?;
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let q = b.queue("q", maxsize);
    let python = crate::sim::PyVersion::parse(knobs.choice("python").unwrap_or("3.13"))
        .unwrap_or(crate::sim::PyVersion::V3_13);
    b.queue_empty_class(q, python.queue_empty());
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let pw = b.declare_process("Process-1", 1);
    let pr = b.declare_process("Process-2", 2);

    let call_write = b.string("write");
    let mut w = b.code(pw);
    w.at(b.line("def write(q):")?).emit(Instr::Call(call_write));
    let fmt = b.string("Process to write: {}");
    w.at(b.line("print('Process to write: %s' % os.getpid())")?)
        .emit(Instr::GetPid)
        .print(fmt, 1);
    let for_line = b.line(if words {
        "for value in ['Hello shiyanlou', 'zhihou', 'charu']:"
    } else {
        "for value in ['A', 'B', 'C']:"
    })?;
    let put_print = b.line("print('Put %s to queue...' % value)")?;
    let put_line = b.line("q.put(value)")?;
    let sleep_line = b.line(&format!("time.sleep({delay})"))?;
    for (c, word) in LETTERS.into_iter().zip(WORDS) {
        // A letter travels as its character code; a word as a `str` value,
        // whose bytes a live queue carries (live::ipc::send_message).
        let (shown, value) = if words {
            (word.to_string(), b.str_const(word))
        } else {
            (c.to_string(), c as i64)
        };
        let fmt = b.string(&format!("Put {shown} to queue..."));
        w.at(for_line).emit(Instr::LoadConst(value));
        w.at(put_print).print(fmt, 0);
        w.at(put_line)
            .emit(Instr::LoadConst(value))
            .emit(Instr::QueuePut { q, block: true });
        w.at(sleep_line).emit(Instr::Sleep(delay_us));
    }
    w.emit(Instr::Return).emit(Instr::Exit(0));
    b.finish(w)?;

    let call_read = b.string("read");
    let mut r = b.code(pr);
    r.at(b.line("def read(q):")?).emit(Instr::Call(call_read));
    let fmt = b.string("Process to read: {}");
    r.at(b.line("print('Process to read: %s' % os.getpid())")?)
        .emit(Instr::GetPid)
        .print(fmt, 1);
    let head = r.here();
    let get_line = if nowait {
        b.line("value = q.get_nowait()")?
    } else {
        b.line("value = q.get(True)")?
    };
    let value = r.local("value", 0);
    r.at(get_line)
        .emit(Instr::QueueGet { q, block: !nowait })
        .emit(Instr::StoreFast(value));
    let fmt = b.string(if words {
        "Get {} from queue."
    } else {
        "Get {chr} from queue."
    });
    r.at(b.line("print('Get %s from queue.' % value)")?)
        .emit(Instr::LoadFast(value))
        .print(fmt, 1);
    r.at(b.line("while True:")?)
        .emit(Instr::JumpBackward(head))
        .emit(Instr::Exit(0));
    b.finish(r)?;

    let mut m = b.code(main);
    let ctor = b.string("Queue");
    m.at(b.line(&format!("q = Queue({maxsize})"))?)
        .emit(Instr::Nop(ctor));
    let ctor = b.string("Process(target=write)");
    m.at(b.line("pw = Process(target=write, args=(q,))")?)
        .emit(Instr::Nop(ctor));
    let ctor = b.string("Process(target=read)");
    m.at(b.line("pr = Process(target=read, args=(q,))")?)
        .emit(Instr::Nop(ctor));
    m.at(b.line("pw.start()")?).emit(Instr::Start(pw));
    m.at(b.line("pr.start()")?).emit(Instr::Start(pr));
    m.at(b.line("pw.join()")?).emit(Instr::Join(pw));
    m.at(b.line("pr.terminate()")?)
        .emit(Instr::Terminate(pr))
        .emit(Instr::Exit(0));
    b.build_with(m)
}
