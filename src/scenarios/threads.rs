//! The `threads` lesson: one `LoopThread` (or an unnamed thread) next to the main thread;
//! with `ident`, each prints its PID and `threading.get_ident()`; with `api=_thread`,
//! the thread comes from `_thread.start_new_thread` and main waits by sleeping.

use crate::lesson::{Knobs, Lesson};
use crate::program::{
    ActorBuilder, ActorKind, BinOp, IdentOf, Instr, Program, ProgramBuilder, StrId,
};

/// The name CPython gives the `n`th unnamed `Thread(target=...)` on the `python`
/// knob's version (one, like `3.9`, or a range, like `3.6-3.9`): 3.10 added the
/// target's name in brackets (measured on 3.6–3.13, see the lesson's notes).
pub fn default_thread_name(python: &str, n: u32, target: &str) -> String {
    crate::sim::PyVersion::parse(python)
        .unwrap_or(crate::sim::PyVersion::V3_13)
        .thread_name(n, target)
}

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let loops = u32::try_from(knobs.int("loops")?).map_err(|_| "loops must be positive")?;
    let sleep_ms = u32::try_from(knobs.int("sleep")?).map_err(|_| "sleep must be positive")?;
    let low_level = knobs.choice("api") == Some("_thread");
    let ident = knobs.bool("ident")?;
    // A thread that threading did not start gets a `_DummyThread` from
    // current_thread(), named Dummy-1 on 3.8–3.13 (tools/measure/thread_ident.py).
    let name = if low_level {
        "Dummy-1".to_string()
    } else if knobs.bool("named")? {
        "LoopThread".to_string()
    } else {
        default_thread_name(knobs.choice("python").unwrap_or("3.10-3.13"), 1, "loop")
    };
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let main = b.declare("MainThread", ActorKind::Main, 0);
    let t = b.declare(&name, ActorKind::Thread, 0);

    let running = if ident {
        "print('thread %s is running... pid %s, ident %s' % (threading.current_thread().name, os.getpid(), threading.get_ident()))"
    } else {
        "print('thread %s is running...' % threading.current_thread().name)"
    };
    let ended = "print('thread %s ended.' % threading.current_thread().name)";
    let running_fmt = b.string(if ident {
        "thread {thread} is running... pid {}, ident {}"
    } else {
        "thread {thread} is running..."
    });
    let ended_fmt = b.string("thread {thread} ended.");
    let step_fmt = b.string("thread {thread} >>> {}");

    let mut a = b.code(t);
    let n = a.local("n", 0);
    let turn = a.local("_turn", 0);
    a.at(b.nth_line(running, 0)?);
    print_running(&mut a, running_fmt, ident);
    a.at(b.line("n = 0")?)
        .emit(Instr::LoadConst(0))
        .emit(Instr::StoreFast(n));
    let while_line = b.line(&format!("while n < {loops}:"))?;
    let exit = a.label();
    a.at(while_line);
    // `while n < loops` runs its body `loops` times; a hidden counter stands for
    // the comparison, the body's own `n = n + 1` is shown as CPython runs it.
    let head = a.for_range(turn, loops, exit);
    a.at(b.line("n = n + 1")?)
        .emit(Instr::LoadFast(n))
        .emit(Instr::LoadConst(1))
        .emit(Instr::BinaryOp(BinOp::Add))
        .emit(Instr::StoreFast(n));
    a.at(b.line("print('thread %s >>> %s' % (threading.current_thread().name, n))")?)
        .emit(Instr::LoadFast(n))
        .print(step_fmt, 1);
    a.at(b.line(&format!("time.sleep({sleep_ms} / 1000)"))?)
        .emit(Instr::Sleep(sleep_ms.saturating_mul(1000)));
    a.at(while_line).end_loop(head, exit);
    a.at(b.nth_line(ended, 0)?)
        .print(ended_fmt, 0)
        .emit(Instr::Exit(0));
    b.finish(a)?;

    let thread_call = b.string("threading.Thread");
    let mut m = b.code(main);
    m.at(b.nth_line(running, 1)?);
    print_running(&mut m, running_fmt, ident);
    if low_level {
        let start_new = b.string("_thread.start_new_thread");
        m.at(b.line("_thread.start_new_thread(loop, ())")?)
            .emit(Instr::Nop(start_new))
            .emit(Instr::Start(t));
        // `_thread` has no join: without this sleep the process would exit and
        // kill the thread (measured, RESULTS §15.11).
        let wait_us = (u64::from(loops) * u64::from(sleep_ms) + 1000).saturating_mul(1000);
        let wait_us = u32::try_from(wait_us).map_err(|_| "loops × sleep is too long")?;
        m.at(b.line(&format!(
            "time.sleep({loops} * {sleep_ms} / 1000 + 1)  # _thread has no join(): main waits by sleeping"
        ))?)
        .emit(Instr::Sleep(wait_us));
    } else {
        let make = if knobs.bool("named")? {
            "t = threading.Thread(target=loop, name='LoopThread')"
        } else {
            "t = threading.Thread(target=loop)"
        };
        m.at(b.line(make)?).emit(Instr::Nop(thread_call));
        m.at(b.line("t.start()")?).emit(Instr::Start(t));
        m.at(b.line("t.join()")?).emit(Instr::Join(t));
    }
    m.at(b.nth_line(ended, 1)?)
        .print(ended_fmt, 0)
        .emit(Instr::Exit(0));
    b.build_with(m)
}

/// The first line of a thread: its name, and with `ident` its PID (the same for
/// both threads) and `threading.get_ident()` (one per thread).
fn print_running(a: &mut ActorBuilder, fmt: StrId, ident: bool) {
    if ident {
        a.emit(Instr::Ident(IdentOf::Process))
            .emit(Instr::Ident(IdentOf::Thread))
            .print(fmt, 2);
    } else {
        a.print(fmt, 0);
    }
}
