//! The `deadlock` lesson: two threads take two locks, in opposite or in the same order.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorKind, Instr, Program, ProgramBuilder};

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let consistent = knobs.bool("consistent-order")?;
    let nap = knobs.bool("nap")?;
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let lock_a = b.lock("lock_a");
    let lock_b = b.lock("lock_b");
    let main = b.declare("MainThread", ActorKind::Main, 0);
    let t1 = b.declare("t1", ActorKind::Thread, 0);
    let t2 = b.declare("t2", ActorKind::Thread, 0);

    // Per thread: the lock it takes first, the one it takes second, and the lines it
    // prints holding one and both. Each function's lines are its own occurrence
    // (worker_1's come first in the code).
    let (first2, second2, first_name2) = if consistent {
        (lock_a, lock_b, "lock_a")
    } else {
        (lock_b, lock_a, "lock_b")
    };
    let plans = [
        (
            t1,
            lock_a,
            lock_b,
            "print('t1 holds lock_a')".to_string(),
            "print('t1 holds lock_a and lock_b')",
        ),
        (
            t2,
            first2,
            second2,
            format!("print('t2 holds {first_name2}')"),
            "print('t2 holds both locks')",
        ),
    ];
    let name = |l| if l == lock_a { "lock_a" } else { "lock_b" };
    for (occ, (t, first, second, holds_one, holds_both)) in plans.into_iter().enumerate() {
        let one_fmt = b.string(
            holds_one
                .trim_start_matches("print('")
                .trim_end_matches("')"),
        );
        let both_fmt = b.string(
            holds_both
                .trim_start_matches("print('")
                .trim_end_matches("')"),
        );
        let mut a = b.code(t);
        a.at(b.nth_line(&format!("{}.acquire()", name(first)), occ)?)
            .emit(Instr::Acquire(first));
        a.at(b.line(&holds_one)?).print(one_fmt, 0);
        if nap {
            // Both functions have the same nap line; each thread's is its own
            // occurrence of it.
            a.at(b.nth_line("time.sleep(0.1)", occ)?)
                .emit(Instr::Sleep(100_000));
        }
        a.at(b.nth_line(&format!("{}.acquire()", name(second)), occ)?)
            .emit(Instr::Acquire(second));
        a.at(b.line(holds_both)?).print(both_fmt, 0);
        a.at(b.nth_line(&format!("{}.release()", name(second)), occ)?)
            .emit(Instr::Release(second));
        a.at(b.nth_line(&format!("{}.release()", name(first)), occ)?)
            .emit(Instr::Release(first))
            .emit(Instr::Exit(0));
        b.finish(a)?;
    }

    let thread_call = b.string("threading.Thread");
    let done = b.string("both threads finished");
    let mut m = b.code(main);
    for (var, target) in [("t1", "worker_1"), ("t2", "worker_2")] {
        m.at(b.line(&format!(
            "{var} = threading.Thread(target={target}, name='{var}')"
        ))?)
        .emit(Instr::Nop(thread_call));
    }
    for (var, t) in [("t1", t1), ("t2", t2)] {
        m.at(b.line(&format!("{var}.start()"))?)
            .emit(Instr::Start(t));
    }
    for (var, t) in [("t1", t1), ("t2", t2)] {
        m.at(b.line(&format!("{var}.join()"))?).emit(Instr::Join(t));
    }
    m.at(b.line("print('both threads finished')")?)
        .print(done, 0)
        .emit(Instr::Exit(0));
    b.build_with(m)
}
