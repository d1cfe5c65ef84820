//! The `event` lesson: workers wait for a `threading.Event` as a start signal
//! (`start.wait()`, or `start.wait(timeout)`, which returns False when the
//! time is up), then loop until a second Event, the shutdown flag, is set.
//!
//! Each event's flag is a variable of the program (`start`, `stop`): the state
//! panel shows it go from 0 to 1 when main calls `set()`.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorId, ActorKind, BinOp, Instr, Program, ProgramBuilder};

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let timeout = knobs.option("timeout")?;
    let timeout_us: u32 = match timeout {
        "None" => 0,
        t => t
            .parse::<f64>()
            .ok()
            .filter(|s| *s > 0.0 && *s <= 60.0)
            .map(|s| (s * 1e6).round() as u32)
            .ok_or("timeout must be None or a number of seconds up to 60")?,
    };
    let workers = u16::try_from(knobs.int("workers")?)
        .ok()
        .filter(|n| (1..=64).contains(n))
        .ok_or("workers must be between 1 and 64")?;
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let start = b.var("start", 0);
    let stop = b.var("stop", 0);
    let main = b.declare("MainThread", ActorKind::Main, 0);
    let ws: Vec<ActorId> = (1..=workers)
        .map(|n| b.declare(&format!("worker-{n}"), ActorKind::Thread, 0))
        .collect();
    let wait = Instr::EventWait {
        ev: start,
        timeout_us,
    };
    let wait_line = b.line(&format!("if not start.wait({timeout}):"))?;
    for (n, &w) in (1..).zip(&ws) {
        worker_code(&mut b, w, n, wait_line, wait, stop)?;
    }

    let mut m = b.code(main);
    let thread = b.string("threading.Thread");
    let make =
        b.line("workers = [threading.Thread(target=worker, args=(n,), name=f'worker-{n}')")?;
    for _ in &ws {
        m.at(make).emit(Instr::Nop(thread));
    }
    let start_line = b.line("w.start()")?;
    for &w in &ws {
        m.at(start_line).emit(Instr::Start(w));
    }
    // Main gets ready, gives the start signal, lets the workers run a while,
    // then sets the shutdown flag.
    let steps = [
        (
            "main: getting ready",
            "time.sleep(0.1)",
            Instr::Sleep(100_000),
        ),
        ("main: start!", "start.set()", Instr::EventSet(start)),
        ("main: stop!", "stop.set()", Instr::EventSet(stop)),
    ];
    for (text, line, then) in steps {
        let fmt = b.string(text);
        m.at(b.line(&format!("print('{text}')"))?).print(fmt, 0);
        m.at(b.line(line)?).emit(then);
        if then == Instr::EventSet(start) {
            m.at(b.line("time.sleep(0.05)")?).emit(Instr::Sleep(50_000));
        }
    }
    let join = b.line("w.join()")?;
    for &w in &ws {
        m.at(join).emit(Instr::Join(w));
    }
    let all = b.string("main: all stopped");
    m.at(b.line("print('main: all stopped')")?)
        .print(all, 0)
        .emit(Instr::Exit(0));
    b.build_with(m)
}

/// One worker: wait for the start signal (or give up when the wait times
/// out), then a round of 10 ms at a time until the stop flag is set.
fn worker_code(
    b: &mut ProgramBuilder,
    w: ActorId,
    n: i64,
    wait_line: u32,
    wait: Instr,
    stop: crate::program::VarId,
) -> Result<(), String> {
    let mut a = b.code(w);
    let n_local = a.local("n", n);
    let call = b.string("worker");
    a.at(b.line("def worker(n):")?).emit(Instr::Call(call));
    let started = a.label();
    // `if not x:` on a flag is `if x == 0:`.
    a.at(wait_line)
        .emit(wait)
        .emit(Instr::LoadConst(0))
        .emit(Instr::BinaryOp(BinOp::Eq))
        .pop_jump_if_false(started);
    let gave_up = b.string("worker-{}: no start signal, giving up");
    a.at(b.line("print(f'worker-{n}: no start signal, giving up')")?)
        .emit(Instr::LoadFast(n_local))
        .print(gave_up, 1);
    a.at(b.line("return")?).emit(Instr::Exit(0));
    a.place(started);
    let fmt = b.string("worker-{} started");
    a.at(b.line("print(f'worker-{n} started')")?)
        .emit(Instr::LoadFast(n_local))
        .print(fmt, 1);
    let done = a.label();
    let while_line = b.line("while not stop.is_set():")?;
    a.at(while_line);
    let head = a.here();
    a.emit(Instr::EventIsSet(stop))
        .emit(Instr::LoadConst(0))
        .emit(Instr::BinaryOp(BinOp::Eq))
        .pop_jump_if_false(done);
    a.at(b.line("time.sleep(0.01)")?).emit(Instr::Sleep(10_000));
    a.at(while_line).emit(Instr::JumpBackward(head));
    a.place(done);
    let fmt = b.string("worker-{} stopped");
    a.at(b.line("print(f'worker-{n} stopped')")?)
        .emit(Instr::LoadFast(n_local))
        .print(fmt, 1)
        .emit(Instr::Exit(0));
    b.finish(a)
}
