//! The tutorials' `balance` race: two threads add and subtract, with or without a Lock.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorKind, BinOp, Instr, Program, ProgramBuilder};

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let locked = knobs.bool("lock")?;
    let iterations = u32::try_from(knobs.int("iterations")?)
        .map_err(|_| "iterations must fit in 32 bits".to_string())?;
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let balance = b.var("balance", 0);
    b.expect_final(balance, 0);
    let lock = b.lock("lock");

    let main = b.declare("MainThread", ActorKind::Main, 0);
    let workers =
        [("t1", 5), ("t2", 8)].map(|(name, n)| (b.declare(name, ActorKind::Thread, 0), n));

    let for_line = b.line(&format!("for i in range({iterations}):"))?;
    let call_line = b.line("change_it(n)")?;
    let add_line = b.line("balance = balance + n")?;
    let sub_line = b.line("balance = balance - n")?;
    let lock_lines = if locked {
        Some((b.line("lock.acquire()")?, b.line("lock.release()")?))
    } else {
        None
    };
    let change_it = b.string("change_it");
    for &(t, n) in &workers {
        let mut a = b.code(t);
        let n_local = a.local("n", n);
        let i = a.local("i", 0);
        let exit = a.label();
        a.at(for_line);
        let head = a.for_range(i, iterations, exit);
        if let Some((acquire, _)) = lock_lines {
            a.at(acquire).emit(Instr::Acquire(lock));
        }
        a.at(call_line).emit(Instr::Call(change_it));
        a.at(add_line).update_global(balance, BinOp::Add, n_local);
        a.at(sub_line)
            .update_global(balance, BinOp::Sub, n_local)
            .emit(Instr::Return);
        if let Some((_, release)) = lock_lines {
            a.at(release).emit(Instr::Release(lock));
        }
        a.at(for_line).end_loop(head, exit).emit(Instr::Exit(0));
        b.finish(a)?;
    }

    let thread_call = b.string("threading.Thread");
    let print_fmt = b.string("{}");
    let mut m = b.code(main);
    let names = ["t1", "t2"];
    for (name, &(_, n)) in names.iter().zip(&workers) {
        let line = b.line(&format!(
            "{name} = threading.Thread(target=run_thread, args=({n},))"
        ))?;
        m.at(line).emit(Instr::Nop(thread_call));
    }
    for (name, &(t, _)) in names.iter().zip(&workers) {
        m.at(b.line(&format!("{name}.start()"))?)
            .emit(Instr::Start(t));
    }
    for (name, &(t, _)) in names.iter().zip(&workers) {
        m.at(b.line(&format!("{name}.join()"))?)
            .emit(Instr::Join(t));
    }
    m.at(b.line("print(balance)")?)
        .emit(Instr::LoadGlobal(balance))
        .print(print_fmt, 1)
        .emit(Instr::Exit(0));
    b.build_with(m)
}
