//! The `gil` lab: N CPU-bound countdowns as threads (with or without a GIL) or as
//! processes, timed against running them one after another, with an optional I/O
//! thread that measures how late it wakes up.

use crate::lesson::{Knobs, Lesson};

/// Lessons name this scenario `gil`.
pub const ID: &str = "gil";
use crate::program::{
    ActorBuilder, ActorId, ActorKind, BinOp, Instr, LocalId, Program, ProgramBuilder,
};

/// Countdown turns per CPU_WORK instruction: about 1 ms of virtual time, so that a
/// stepped run can switch threads inside a long countdown (the loop's back-edge is a
/// switch point), while live runs look at the GIL's drop request far more often.
pub const CHUNK: u32 = 25_000;
/// How many times the I/O thread sleeps 1 ms.
pub const PROBES: u32 = 10;

/// Where the countdown's lines are.
#[derive(Clone, Copy)]
struct CountLines {
    call: u32,
    while_: u32,
    body: u32,
}

/// `count(n)` inlined into an actor: `while n > 0: n -= 1` as chunks of CPU work.
fn count(a: &mut ActorBuilder, l: &CountLines, call: u16, chunks: LocalId, n: u32) {
    a.at(l.call).emit(Instr::Call(call));
    a.at(l.while_)
        .emit(Instr::LoadConst(0))
        .emit(Instr::StoreFast(chunks));
    let exit = a.label();
    let head = a.for_range(chunks, n / CHUNK, exit);
    a.at(l.body).emit(Instr::Work(CHUNK));
    a.at(l.while_).end_loop(head, exit);
    if !n.is_multiple_of(CHUNK) {
        a.at(l.body).emit(Instr::Work(n % CHUNK));
    }
    a.at(l.while_).emit(Instr::Return);
}

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let workers = u16::try_from(knobs.int("workers")?)
        .ok()
        .filter(|w| (1..=64).contains(w))
        .ok_or("workers must be from 1 to 64")?;
    let n = u32::try_from(knobs.int("n")?).map_err(|_| "n must fit in 32 bits")?;
    let processes = knobs.option("run-as")? == "processes";
    let probe = knobs.bool("probe")?;
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let main = b.declare("MainThread", ActorKind::Main, 0);
    // Unnamed threads are named as the CPython the GIL model stands for names them:
    // `Thread-1` up to 3.9 (gil-classic), `Thread-1 (count)` from 3.10.
    let python = match knobs.choice("gil") {
        Some("gil-classic") => "3.6-3.9",
        _ => "3.10-3.13",
    };
    let (ws, io) = declare_workers(&mut b, workers, processes, probe, python);
    let lines = CountLines {
        call: 0,
        while_: b.line("while n > 0:")?,
        body: b.line("n -= 1")?,
    };
    let count_name = b.string("count");
    for &w in &ws {
        let mut a = b.code(w);
        let chunks = a.local("_chunk", 0);
        let entry = CountLines {
            call: b.line("def count(n):")?,
            ..lines
        };
        count(&mut a, &entry, count_name, chunks, n);
        a.emit(Instr::Exit(0));
        b.finish(a)?;
    }

    if let Some(io) = io {
        io_probe(&mut b, io)?;
    }

    let mut m = b.code(main);
    let t0 = m.local("t0", 0);
    let c0 = m.local("c0", 0);
    let i = m.local("i", 0);
    let chunks = m.local("_chunk", 0);
    let seq = m.local("one_after_another", 0);
    let wall = m.local("wall", 0);
    let used = m.local("used", 0);
    m.at(b.line("t0 = time.perf_counter()")?)
        .emit(Instr::Clock { cpu: false })
        .emit(Instr::StoreFast(t0));
    let for_line = b.line(&format!("for i in range({workers}):"))?;
    let exit = m.label();
    m.at(for_line);
    let head = m.for_range(i, u32::from(workers), exit);
    let seq_lines = CountLines {
        call: b.line(&format!("count({n})"))?,
        ..lines
    };
    count(&mut m, &seq_lines, count_name, chunks, n);
    m.at(for_line).end_loop(head, exit);
    m.at(b.line("one_after_another = time.perf_counter() - t0")?)
        .emit(Instr::Clock { cpu: false })
        .emit(Instr::LoadFast(t0))
        .emit(Instr::BinaryOp(BinOp::Sub))
        .emit(Instr::StoreFast(seq));
    let (make_line, make_call) = workers_line(processes, n, workers);
    let make_call = b.string(make_call);
    m.at(b.line(&make_line)?).emit(Instr::Nop(make_call));
    if let Some(io) = io {
        let thread_call = b.string("threading.Thread");
        m.at(b.line("io = threading.Thread(target=probe)")?)
            .emit(Instr::Nop(thread_call));
        m.at(b.line("io.start()")?).emit(Instr::Start(io));
    }
    m.at(b.line("t0, c0 = time.perf_counter(), cpu()")?)
        .emit(Instr::Clock { cpu: false })
        .emit(Instr::StoreFast(t0))
        .emit(Instr::Clock { cpu: true })
        .emit(Instr::StoreFast(c0));
    m.at(b.line("w.start()")?);
    for &w in &ws {
        m.emit(Instr::Start(w));
    }
    m.at(b.line("w.join()")?);
    for &w in &ws {
        m.emit(Instr::Join(w));
    }
    m.at(b.line("wall, used = time.perf_counter() - t0, cpu() - c0")?)
        .emit(Instr::Clock { cpu: false })
        .emit(Instr::LoadFast(t0))
        .emit(Instr::BinaryOp(BinOp::Sub))
        .emit(Instr::StoreFast(wall))
        .emit(Instr::Clock { cpu: true })
        .emit(Instr::LoadFast(c0))
        .emit(Instr::BinaryOp(BinOp::Sub))
        .emit(Instr::StoreFast(used));
    if let Some(io) = io {
        m.at(b.line("io.join()")?).emit(Instr::Join(io));
    }
    report(&mut b, &mut m, seq, wall, used)?;
    b.build_with(m)
}

/// The line that makes the workers, and the call it makes.
fn workers_line(processes: bool, n: u32, workers: u16) -> (String, &'static str) {
    if processes {
        (
            format!("workers = [mp.Process(target=count, args=({n},)) for i in range({workers})]"),
            "multiprocessing.Process",
        )
    } else {
        (
            format!(
                "workers = [threading.Thread(target=count, args=({n},)) for i in range({workers})]"
            ),
            "threading.Thread",
        )
    }
}

/// The I/O thread: sleeps 1 ms, `PROBES` times, and prints how late it woke up.
fn io_probe(b: &mut ProgramBuilder, io: ActorId) -> Result<(), String> {
    let mut a = b.code(io);
    let i = a.local("i", 0);
    let t = a.local("t", 0);
    let late = a.local("late", 0);
    let for_line = b.line(&format!("for i in range({PROBES}):"))?;
    let exit = a.label();
    a.at(for_line);
    let head = a.for_range(i, PROBES, exit);
    a.at(b.line("t = time.perf_counter()")?)
        .emit(Instr::Clock { cpu: false })
        .emit(Instr::StoreFast(t));
    a.at(b.line("time.sleep(0.001)")?).emit(Instr::Sleep(1000));
    a.at(b.line("late = time.perf_counter() - t - 0.001")?)
        .emit(Instr::Clock { cpu: false })
        .emit(Instr::LoadFast(t))
        .emit(Instr::BinaryOp(BinOp::Sub))
        .emit(Instr::LoadConst(1_000_000))
        .emit(Instr::BinaryOp(BinOp::Sub))
        .emit(Instr::StoreFast(late));
    let fmt = b.string("I/O thread woke up {ms} ms late");
    a.at(b.line("print('I/O thread woke up %.1f ms late' % (late * 1000))")?)
        .emit(Instr::LoadFast(late))
        .print(fmt, 1);
    a.at(for_line).end_loop(head, exit).emit(Instr::Exit(0));
    b.finish(a)
}

/// The three lines the main thread prints at the end.
fn report(
    b: &mut ProgramBuilder,
    m: &mut ActorBuilder,
    seq: LocalId,
    wall: LocalId,
    used: LocalId,
) -> Result<(), String> {
    let seq_fmt = b.string("one after another: {ms} ms");
    let par_fmt = b.string("at the same time:  {ms} ms wall, {ms} ms CPU");
    let up_fmt = b.string("speed-up: {ratio}x");
    m.at(b.line("print('one after another: %.1f ms' % (one_after_another * 1000))")?)
        .emit(Instr::LoadFast(seq))
        .print(seq_fmt, 1);
    m.at(b.line(
        "print('at the same time:  %.1f ms wall, %.1f ms CPU' % (wall * 1000, used * 1000))",
    )?)
    .emit(Instr::LoadFast(wall))
    .emit(Instr::LoadFast(used))
    .print(par_fmt, 2);
    m.at(b.line("print('speed-up: %.2fx' % (one_after_another / wall))")?)
        .emit(Instr::LoadFast(seq))
        .emit(Instr::LoadFast(wall))
        .print(up_fmt, 2)
        .emit(Instr::Exit(0));
    Ok(())
}

/// The worker threads or processes, and the I/O thread if there is one.
fn declare_workers(
    b: &mut ProgramBuilder,
    workers: u16,
    processes: bool,
    probe: bool,
    python: &str,
) -> (Vec<ActorId>, Option<ActorId>) {
    let ws: Vec<_> = (0..workers)
        .map(|i| {
            if processes {
                // Each worker process has its own interpreter, so its own GIL; live,
                // it is a real child process.
                b.declare_process(&format!("Process-{}", i + 1), i + 1)
            } else {
                let name = crate::scenarios::threads::default_thread_name(
                    python,
                    u32::from(i) + 1,
                    "count",
                );
                b.declare(&name, ActorKind::Thread, 0)
            }
        })
        .collect();
    let io = probe.then(|| {
        // CPython numbers threads, not processes: the probe is the first thread
        // made after the worker threads, if there are any.
        let made_before = if processes { 0 } else { u32::from(workers) };
        let name = crate::scenarios::threads::default_thread_name(python, made_before + 1, "probe");
        b.declare(&name, ActorKind::Thread, 0)
    });
    (ws, io)
}
