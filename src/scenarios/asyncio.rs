//! The `asyncio` lesson: two tasks of one event loop, gathered by `main`, add
//! one to a global counter `rounds` times each: read it, pause, write it back.
//! The pause is `await asyncio.sleep(0)`, `await asyncio.sleep(0.1)`, a
//! blocking `time.sleep(0.1)`, or nothing; knob `lock` wraps the three lines
//! in `async with lock:` (an `asyncio.Lock`).
//!
//! The program is an event loop's ([`Program::event_loop`]): the actors are
//! the tasks `main`, `A` and `B` of one thread, and the loop passes from one to
//! another only at an `await` that is not ready at once, or when a task ends.
//! `await asyncio.gather(...)` starts both tasks and waits for each to end.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorKind, BinOp, Instr, Program, ProgramBuilder};

/// What `asyncio.sleep(0.1)` and `time.sleep(0.1)` wait, in µs.
const PAUSE_US: u32 = 100_000;

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let pause = knobs.option("pause")?;
    let locked = knobs.bool("lock")?;
    let rounds = u32::try_from(knobs.int("rounds")?)
        .ok()
        .filter(|r| (1..=100_000).contains(r))
        .ok_or("rounds must be between 1 and 100000")?;
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    b.event_loop();
    let counter = b.var("counter", 0);
    b.expect_final(counter, 2 * rounds as i64);
    let lock = b.lock("lock");
    let main = b.declare("main", ActorKind::Main, 0);
    let tasks = [
        ("A", b.declare("A", ActorKind::Thread, 0)),
        ("B", b.declare("B", ActorKind::Thread, 0)),
    ];

    let for_line = b.line(&format!("for _ in range({rounds}):"))?;
    let read_line = b.line("tmp = counter")?;
    let write_line = b.line("counter = tmp + 1")?;
    let pause_step = match pause {
        "sleep0" => Some((b.line("await asyncio.sleep(0)")?, Instr::AioSleep(0))),
        "sleep" => Some((
            b.line("await asyncio.sleep(0.1)")?,
            Instr::AioSleep(PAUSE_US),
        )),
        "blocking" => Some((b.line("time.sleep(0.1)")?, Instr::AioBlock(PAUSE_US))),
        _ => None,
    };
    let with_line = if locked {
        Some(b.line("async with lock:")?)
    } else {
        None
    };
    let done_line = b.line("print(name, 'done: counter =', counter)")?;
    for &(name, t) in &tasks {
        let done = b.string(&format!("{name} done: counter = {{}}"));
        let mut a = b.code(t);
        let i = a.local("_", 0);
        let tmp = a.local("tmp", 0);
        let exit = a.label();
        a.at(for_line);
        let head = a.for_range(i, rounds, exit);
        if let Some(line) = with_line {
            a.at(line).emit(Instr::AioAcquire(lock));
        }
        a.at(read_line)
            .emit(Instr::LoadGlobal(counter))
            .emit(Instr::StoreFast(tmp));
        if let Some((line, step)) = pause_step {
            a.at(line).emit(step);
        }
        a.at(write_line)
            .emit(Instr::LoadFast(tmp))
            .emit(Instr::LoadConst(1))
            .emit(Instr::BinaryOp(BinOp::Add))
            .emit(Instr::StoreGlobal(counter));
        if let Some(line) = with_line {
            a.at(line).emit(Instr::AioRelease(lock));
        }
        a.at(for_line).end_loop(head, exit);
        a.at(done_line)
            .emit(Instr::LoadGlobal(counter))
            .print(done, 1)
            .emit(Instr::Exit(0));
        b.finish(a)?;
    }

    let run = b.string("asyncio.run");
    let new_lock = b.string("asyncio.Lock");
    let total = b.string("counter = {}");
    let mut m = b.code(main);
    m.at(b.line("asyncio.run(main())")?).emit(Instr::Nop(run));
    m.at(b.line("lock = asyncio.Lock()")?)
        .emit(Instr::Nop(new_lock));
    let gather = b.line("await asyncio.gather(add('A', lock), add('B', lock))")?;
    m.at(gather);
    for &(_, t) in &tasks {
        m.emit(Instr::Start(t));
    }
    for &(_, t) in &tasks {
        m.emit(Instr::Join(t));
    }
    m.at(b.line("print('counter =', counter)")?)
        .emit(Instr::LoadGlobal(counter))
        .print(total, 1)
        .emit(Instr::Exit(0));
    b.build_with(m)
}
