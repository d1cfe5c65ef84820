//! The `semaphore` lesson: workers share a pool of two connections guarded by a
//! `threading.Semaphore(2)` (or a `BoundedSemaphore`, or a
//! `multiprocessing.Semaphore` between processes); a lock-guarded count of
//! connections in use and its highest value show the limit holding, and one
//! release too many shows what each kind of semaphore does about it.
//!
//! The semaphore's counter (CPython's `sem._value`) is the variable `sem`: the
//! state panel shows it go down as workers get in and up as they leave.

use crate::lesson::{Knobs, Lesson};
use crate::program::{
    ActorBuilder, ActorId, ActorKind, BinOp, Instr, Label, LockId, ProgramBuilder, StrId, VarId,
};

/// CPython's message when a `threading.BoundedSemaphore` is released above its
/// start value (3.6–3.13, tools/measure/semaphore.py).
const THREADING_OVER: &str = "ValueError: Semaphore released too many times";
/// The same for `multiprocessing.BoundedSemaphore` (3.6–3.13).
const MULTIPROCESSING_OVER: &str = "ValueError: semaphore or lock released too many times";
/// How many connections the pool has: `Semaphore(2)`.
const SLOTS: i64 = 2;

/// What a worker's code refers to.
struct Names {
    sem: VarId,
    lock: LockId,
    inside: VarId,
    most: VarId,
    /// `BoundedSemaphore`'s bound (0: a plain Semaphore).
    bound: u16,
    over: StrId,
    /// The variables are `multiprocessing.Value`s (`inside.value`).
    processes: bool,
    twice: bool,
}

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<crate::program::Program, String> {
    let bounded = knobs.option("kind")? == "BoundedSemaphore";
    let twice = knobs.option("release")? == "twice";
    let processes = knobs.option("across")? == "processes";
    let workers = u16::try_from(knobs.int("workers")?)
        .ok()
        .filter(|n| (1..=64).contains(n))
        .ok_or("workers must be between 1 and 64")?;
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let (sem, inside, most) = match processes {
        true => (
            b.shared_var("sem", SLOTS),
            b.shared_var("inside.value", 0),
            b.shared_var("most.value", 0),
        ),
        false => (b.var("sem", SLOTS), b.var("inside", 0), b.var("most", 0)),
    };
    let lock = b.lock("lock");
    let over = b.string(if processes {
        MULTIPROCESSING_OVER
    } else {
        THREADING_OVER
    });
    let names = Names {
        sem,
        lock,
        inside,
        most,
        bound: if bounded { SLOTS as u16 } else { 0 },
        over,
        processes,
        twice,
    };
    let main = match processes {
        true => b.declare("MainProcess", ActorKind::Main, 0),
        false => b.declare("MainThread", ActorKind::Main, 0),
    };
    let ws: Vec<ActorId> = (1..=workers)
        .map(|n| {
            let name = format!("worker-{n}");
            match processes {
                true => b.declare_process(&name, n),
                false => b.declare(&name, ActorKind::Thread, 0),
            }
        })
        .collect();
    for (n, &w) in (1..).zip(&ws) {
        worker_code(&mut b, w, n, &names)?;
    }
    main_code(b, main, &ws, &names)
}

/// One worker: `with sem:`, count itself in under the lock, hold the
/// connection for 0.1 s, count itself out, leave; worker 1 may release twice.
fn worker_code(b: &mut ProgramBuilder, w: ActorId, n: i64, x: &Names) -> Result<(), String> {
    let v = |name: &str| match x.processes {
        true => format!("{name}.value"),
        false => name.to_string(),
    };
    let (inside, most) = (v("inside"), v("most"));
    let mut a = b.code(w);
    let n_local = a.local("n", n);
    let def = match x.processes {
        true => "def worker(n, sem, lock, inside, most):",
        false => "def worker(n):",
    };
    let call = b.string("worker");
    a.at(b.line(def)?).emit(Instr::Call(call));
    let with_sem = b.line("with sem:")?;
    let with_lock = [b.nth_line("with lock:", 0)?, b.nth_line("with lock:", 1)?];
    a.at(with_sem).emit(Instr::SemAcquire(x.sem));
    a.at(with_lock[0]).emit(Instr::Acquire(x.lock));
    a.at(b.line(&format!("{inside} += 1"))?)
        .emit(Instr::LoadGlobal(x.inside))
        .emit(Instr::LoadConst(1))
        .emit(Instr::BinaryOp(BinOp::IAdd))
        .emit(Instr::StoreGlobal(x.inside));
    let not_more = a.label();
    a.at(b.line(&format!("if {inside} > {most}:"))?)
        .emit(Instr::LoadGlobal(x.inside))
        .emit(Instr::LoadGlobal(x.most))
        .emit(Instr::BinaryOp(BinOp::Gt))
        .pop_jump_if_false(not_more);
    a.at(b.line(&format!("{most} = {inside}"))?)
        .emit(Instr::LoadGlobal(x.inside))
        .emit(Instr::StoreGlobal(x.most));
    a.place(not_more);
    let has = b.string("worker-{} has a connection, {} in use");
    a.at(b.line(&format!(
        "print(f'worker-{{n}} has a connection, {{{inside}}} in use')"
    ))?)
    .emit(Instr::LoadFast(n_local))
    .emit(Instr::LoadGlobal(x.inside))
    .print(has, 2);
    a.at(with_lock[0]).emit(Instr::Release(x.lock));
    a.at(b.line("time.sleep(0.1)")?).emit(Instr::Sleep(100_000));
    a.at(with_lock[1]).emit(Instr::Acquire(x.lock));
    let dec = b.line(&format!("{inside} -= 1"))?;
    a.at(dec)
        .emit(Instr::LoadGlobal(x.inside))
        .emit(Instr::LoadConst(1))
        .emit(Instr::BinaryOp(BinOp::ISub))
        .emit(Instr::StoreGlobal(x.inside));
    a.at(with_lock[1]).emit(Instr::Release(x.lock));
    let mut raises = vec![(with_sem, a.label())];
    a.at(with_sem).sem_release(x.sem, x.bound, raises[0].1);
    let last = if x.twice {
        let line = b.line("sem.release()  # a second release: one too many")?;
        let fail = a.label();
        raises.push((line, fail));
        extra_release(b, &mut a, n_local, line, x, fail)?;
        line
    } else {
        dec
    };
    a.at(last).emit(Instr::Exit(0));
    // A BoundedSemaphore's release past its start value raises ValueError
    // there, and nothing catches it.
    for (line, fail) in raises {
        a.place(fail).at(line).emit(Instr::Raise(x.over));
    }
    b.finish(a)
}

/// `if n == 1: sem.release()`: the bug, one release too many.
fn extra_release(
    b: &ProgramBuilder,
    a: &mut ActorBuilder,
    n: crate::program::LocalId,
    line: u32,
    x: &Names,
    fail: Label,
) -> Result<(), String> {
    let skip = a.label();
    a.at(b.line("if n == 1:")?)
        .emit(Instr::LoadFast(n))
        .emit(Instr::LoadConst(1))
        .emit(Instr::BinaryOp(BinOp::Eq))
        .pop_jump_if_false(skip);
    a.at(line).sem_release(x.sem, x.bound, fail);
    a.place(skip);
    Ok(())
}

/// The main thread (or process): make the workers, start them all, join them
/// all, print the most that were ever in at once.
fn main_code(
    mut b: ProgramBuilder,
    main: ActorId,
    ws: &[ActorId],
    x: &Names,
) -> Result<crate::program::Program, String> {
    let mut m = b.code(main);
    if x.processes {
        let kind = if x.bound > 0 {
            "BoundedSemaphore"
        } else {
            "Semaphore"
        };
        let s = b.string(&format!("multiprocessing.{kind}"));
        m.at(b.line(&format!("sem = multiprocessing.{kind}(2)"))?)
            .emit(Instr::Nop(s));
        for (line, what) in [
            ("lock = multiprocessing.Lock()", "multiprocessing.Lock"),
            (
                "inside = multiprocessing.Value('i', 0)",
                "multiprocessing.Value",
            ),
            (
                "most = multiprocessing.Value('i', 0)",
                "multiprocessing.Value",
            ),
        ] {
            let s = b.string(what);
            m.at(b.line(line)?).emit(Instr::Nop(s));
        }
    }
    let (make, what) = match x.processes {
        true => (
            "workers = [multiprocessing.Process(target=worker,",
            "multiprocessing.Process",
        ),
        false => (
            "workers = [threading.Thread(target=worker, args=(n,), name=f'worker-{n}')",
            "threading.Thread",
        ),
    };
    let s = b.string(what);
    let make = b.line(make)?;
    for _ in ws {
        m.at(make).emit(Instr::Nop(s));
    }
    let start = b.line("w.start()")?;
    for &w in ws {
        m.at(start).emit(Instr::Start(w));
    }
    let join = b.line("w.join()")?;
    for &w in ws {
        m.at(join).emit(Instr::Join(w));
    }
    let most = if x.processes { "most.value" } else { "most" };
    let fmt = b.string("at most {} in use at once");
    m.at(b.line(&format!("print(f'at most {{{most}}} in use at once')"))?)
        .emit(Instr::LoadGlobal(x.most))
        .print(fmt, 1)
        .emit(Instr::Exit(0));
    b.build_with(m)
}
