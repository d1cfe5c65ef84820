//! Two writer processes fill a bounded `multiprocessing.Queue`; the main process
//! asks it `empty()`, `full()` and `qsize()`, tries `put_nowait`, gets every item
//! and waits for one more with a timeout.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorKind, Instr, Program, ProgramBuilder, QueueAsk};

/// What each writer puts, in its order.
const WRITERS: [[char; 3]; 2] = [['A', 'B', 'C'], ['X', 'Y', 'Z']];

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let maxsize = u32::try_from(knobs.int("maxsize")?)
        .ok()
        .filter(|m| (1..=3).contains(m))
        .ok_or_else(|| "maxsize must be 1, 2 or 3".to_string())?;
    let timeout = knobs.option("timeout")?.to_string();
    let timeout_us = timeout
        .parse::<f64>()
        .ok()
        .filter(|s| (0.001..=60.0).contains(s))
        .map(|s| (s * 1e6) as u32)
        .ok_or_else(|| format!("timeout must be seconds from 0.001 to 60, not {timeout}"))?;
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let q = b.queue("q", maxsize);
    let python = crate::sim::PyVersion::parse(knobs.choice("python").unwrap_or("3.13"))
        .unwrap_or(crate::sim::PyVersion::V3_13);
    b.queue_empty_class(q, python.queue_empty());
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let writers = [
        b.declare_process("Process-1", 1),
        b.declare_process("Process-2", 2),
    ];

    let call_write = b.string("write");
    for (w, letters) in writers.into_iter().zip(WRITERS) {
        let mut c = b.code(w);
        c.at(b.line("def write(q, letters):")?)
            .emit(Instr::Call(call_write));
        let for_line = b.line("for value in letters:")?;
        let hint = c.local("hint", 0);
        for l in letters {
            c.at(for_line).emit(Instr::LoadConst(l as i64));
            c.at(b.line("hint = q.full()   # only a hint")?)
                .emit(Instr::QueueAsk {
                    q,
                    ask: QueueAsk::Full,
                })
                .emit(Instr::StoreFast(hint));
            c.at(b.line("q.put(value)")?)
                .emit(Instr::LoadConst(l as i64))
                .emit(Instr::QueuePut { q, block: true });
        }
        c.at(for_line).emit(Instr::Return).emit(Instr::Exit(0));
        b.finish(c)?;
    }

    let mut m = b.code(main);
    let ctor = b.string("Queue");
    m.at(b.line(&format!("q = Queue({maxsize})"))?)
        .emit(Instr::Nop(ctor));
    let ask_line = "print('empty: %s, full: %s, qsize: %s' % (q.empty(), q.full(), q.qsize()))";
    let ask_fmt = b.string("empty: {bool}, full: {bool}, qsize: {}");
    let ask = |m: &mut crate::program::ActorBuilder| {
        for ask in [QueueAsk::Empty, QueueAsk::Full, QueueAsk::Size] {
            m.emit(Instr::QueueAsk { q, ask });
        }
        m.print(ask_fmt, 3);
    };
    m.at(b.nth_line(ask_line, 0)?);
    ask(&mut m);
    for i in 0..WRITERS.len() {
        let text = format!("Process(target=write, args=(q, '{}'))", letters(i));
        let ctor = b.string(&text);
        m.at(b.line(&format!("pw{} = {text}", i + 1))?)
            .emit(Instr::Nop(ctor));
    }
    for (i, w) in writers.into_iter().enumerate() {
        m.at(b.line(&format!("pw{}.start()", i + 1))?)
            .emit(Instr::Start(w));
    }
    m.at(b.line("time.sleep(0.5)")?).emit(Instr::Sleep(500_000));
    m.at(b.nth_line(ask_line, 1)?);
    ask(&mut m);
    // The except bodies sit after the main line's end, as CPython 3.11+ puts its
    // handlers out of line; each jumps back to the line after its try.
    let (full, empty) = (m.label(), m.label());
    m.at(b.line("q.put_nowait('!')")?)
        .emit(Instr::LoadConst('!' as i64))
        .queue_try(q, true, 0, full);
    let after_put = m.here();
    let i = m.local("i", 0);
    let done = m.label();
    let head = m.at(b.line("for i in range(6):")?).for_range(i, 6, done);
    let get_fmt = b.string("Get {chr} from queue.");
    m.at(b.line("print('Get %s from queue.' % q.get())")?)
        .emit(Instr::QueueGet { q, block: true })
        .print(get_fmt, 1);
    m.at(b.line("for i in range(6):")?).end_loop(head, done);
    m.at(b.line(&format!("q.get(True, {timeout})"))?)
        .queue_try(q, false, timeout_us, empty);
    let after_get = m.here();
    for (i, w) in writers.into_iter().enumerate() {
        m.at(b.line(&format!("pw{}.join()", i + 1))?)
            .emit(Instr::Join(w));
    }
    m.emit(Instr::Exit(0));
    let full_text = b.string("put_nowait: queue.Full");
    m.place(full)
        .at(b.line("print('put_nowait: queue.Full')")?)
        .print(full_text, 0)
        .emit(Instr::JumpBackward(after_put));
    let empty_text = b.string(&format!("get(True, {timeout}): queue.Empty"));
    m.place(empty)
        .at(b.line(&format!("print('get(True, {timeout}): queue.Empty')"))?)
        .print(empty_text, 0)
        .emit(Instr::JumpBackward(after_get));
    b.build_with(m)
}

/// Writer `i`'s letters as the code writes them ('ABC').
fn letters(i: usize) -> String {
    WRITERS[i].iter().collect()
}
