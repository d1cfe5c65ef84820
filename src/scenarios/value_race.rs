//! A `multiprocessing.Value` incremented by many processes, with and without a Lock.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorKind, BinOp, Instr, Program, ProgramBuilder};

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let locked = knobs.bool("lock")?;
    // The tutorial's `time.sleep(0.01)` before each increment.
    let sleeps = knobs.bool("sleep")?;
    let nprocs = u16::try_from(knobs.int("processes")?)
        .ok()
        .filter(|n| (1..=64).contains(n))
        .ok_or_else(|| "processes must be between 1 and 64".to_string())?;
    let iterations = u32::try_from(knobs.int("iterations")?)
        .map_err(|_| "iterations must fit in 32 bits".to_string())?;
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    if sleeps {
        // Ten sleeps of 10 ms end microseconds apart in an order the OS picks.
        b.sleeps_end_by_scheduler();
    }
    let counter = b.shared_var("counter.value", 0);
    b.expect_final(counter, nprocs as i64 * iterations as i64);
    let lock = b.lock("lock");
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let procs: Vec<_> = (1..=nprocs)
        .map(|i| b.declare_process(&format!("Process-{i}"), i))
        .collect();

    let for_line = b.line(&format!("for i in range({iterations}):"))?;
    let inc_line = b.line("counter.value += 1")?;
    let sleep_line = if sleeps {
        Some(b.line("time.sleep(0.01)")?)
    } else {
        None
    };
    let with_line = if locked {
        Some(b.line("with lock:")?)
    } else {
        None
    };
    let call = b.string("add");
    for &p in &procs {
        let mut a = b.code(p);
        let i = a.local("i", 0);
        a.at(b.line("def add(counter, lock):")?)
            .emit(Instr::Call(call));
        let exit = a.label();
        a.at(for_line);
        let head = a.for_range(i, iterations, exit);
        if let Some(s) = sleep_line {
            a.at(s).emit(Instr::Sleep(10_000));
        }
        if let Some(w) = with_line {
            a.at(w).emit(Instr::Acquire(lock));
        }
        // `counter.value += 1`: the 1 is a constant, as in CPython's dis.
        a.at(inc_line)
            .emit(Instr::LoadGlobal(counter))
            .emit(Instr::LoadConst(1))
            .emit(Instr::BinaryOp(BinOp::IAdd))
            .emit(Instr::StoreGlobal(counter));
        if let Some(w) = with_line {
            a.at(w).emit(Instr::Release(lock));
        }
        a.at(for_line).end_loop(head, exit).emit(Instr::Exit(0));
        b.finish(a)?;
    }
    let mut m = b.code(main);
    let value = b.string("Value('i', 0)");
    m.at(b.line("counter = Value('i', 0)")?)
        .emit(Instr::Nop(value));
    let ctor = b.string("Process(target=add)");
    m.at(b.line(&format!(
        "procs = [Process(target=add, args=(counter, lock)) for i in range({nprocs})]"
    ))?)
    .emit(Instr::Nop(ctor));
    let start = b.line("p.start()")?;
    for &p in &procs {
        m.at(start).emit(Instr::Start(p));
    }
    let join = b.line("p.join()")?;
    for &p in &procs {
        m.at(join).emit(Instr::Join(p));
    }
    let fmt = b.string("{}");
    m.at(b.line("print(counter.value)")?)
        .emit(Instr::LoadGlobal(counter))
        .print(fmt, 1)
        .emit(Instr::Exit(0));
    b.build_with(m)
}
