//! The `barrier` lesson: three workers meet at a `threading.Barrier(3)` after each
//! phase of their work; with `fail=timeout` the last one is late for a
//! `wait(timeout=0.5)`, with `fail=abort` it gives up and calls `abort()`, and
//! the others get `BrokenBarrierError`.
//!
//! `n == 3` and `phase == 2` are written with `>` (the instruction set has no
//! `==`): `n > 2` for a worker numbered 1 to 3, `phase > 1 and not phase > 2`.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorBuilder, ActorId, ActorKind, BinOp, Instr, Label, LocalId};
use crate::program::{LockId, Program, ProgramBuilder};

const PARTIES: u8 = 3;
/// `time.sleep(0.1 * n)`: a phase's work, in µs per worker number.
const WORK_US: u32 = 100_000;
/// `time.sleep(1)`: how late worker-3 is with `fail=timeout`.
const LATE_US: u32 = 1_000_000;
/// `barrier.wait(timeout=0.5)`.
const TIMEOUT_US: u32 = 500_000;

/// What the knobs ask of the workers.
#[derive(Clone, Copy)]
struct Plan {
    phases: u32,
    staggered: bool,
    fail: Fail,
    barrier: LockId,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fail {
    None,
    Timeout,
    Abort,
}

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let phases = u32::try_from(knobs.int("phases")?)
        .ok()
        .filter(|p| (1..=1000).contains(p))
        .ok_or("phases must be between 1 and 1000")?;
    let fail = match knobs.option("fail")? {
        "timeout" => Fail::Timeout,
        "abort" => Fail::Abort,
        _ => Fail::None,
    };
    let staggered = knobs.option("work")? == "staggered";
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let barrier = b.lock("barrier");
    let main = b.declare("MainThread", ActorKind::Main, 0);
    let workers: Vec<ActorId> = (1..=PARTIES)
        .map(|n| b.declare(&format!("worker-{n}"), ActorKind::Thread, 0))
        .collect();
    let plan = Plan {
        phases,
        staggered,
        fail,
        barrier,
    };
    for (i, &w) in workers.iter().enumerate() {
        worker_code(&mut b, w, i as i64 + 1, plan)?;
    }

    let thread_call = b.string("threading.Thread");
    let back = b.string("all workers are back");
    let mut m = b.code(main);
    m.at(b.line("workers = [threading.Thread(target=worker, args=(n,), name=f'worker-{n}')")?);
    for _ in &workers {
        m.emit(Instr::Nop(thread_call));
    }
    m.at(b.line("    w.start()")?);
    for &w in &workers {
        m.emit(Instr::Start(w));
    }
    m.at(b.line("    w.join()")?);
    for &w in &workers {
        m.emit(Instr::Join(w));
    }
    m.at(b.line("print('all workers are back')")?)
        .print(back, 0)
        .emit(Instr::Exit(0));
    b.build_with(m)
}

/// One worker: its phases, each ending at the barrier.
fn worker_code(b: &mut ProgramBuilder, w: ActorId, n: i64, plan: Plan) -> Result<(), String> {
    let current = b.string("threading.current_thread");
    let finished = b.string("{thread} finished phase {}");
    let passed = b.string(&format!("--- all {PARTIES} passed barrier {{}} ---"));
    let broken_fmt = b.string("{thread}: BrokenBarrierError in phase {}");
    let done_fmt = b.string("{thread} is done");
    let mut a = b.code(w);
    let n_local = a.local("n", n);
    let phase = a.local("phase", 0);
    let index = a.local("i", 0);
    let (done, broken) = (a.label(), a.label());
    a.at(b.line("me = threading.current_thread().name")?)
        .emit(Instr::Nop(current));
    let for_line = b.line(&format!("for phase in range(1, {} + 1):", plan.phases))?;
    a.at(for_line);
    let head = a.for_range(phase, plan.phases, done);
    if plan.staggered {
        a.at(b.line("time.sleep(0.1 * n)  # this phase's work")?)
            .emit(Instr::Sleep(WORK_US * n as u32));
    }
    if plan.fail != Fail::None {
        late_or_abort(b, &mut a, n_local, phase, plan)?;
    }
    a.at(b.line("print(f'{me} finished phase {phase}')")?)
        .emit(Instr::LoadFast(phase))
        .print(finished, 1);
    let (wait_line, timeout) = match plan.fail {
        Fail::Timeout => ("i = barrier.wait(timeout=0.5)", TIMEOUT_US),
        Fail::None | Fail::Abort => ("i = barrier.wait()", 0),
    };
    a.at(b.line(wait_line)?)
        .barrier_wait(plan.barrier, PARTIES, timeout, broken)
        .emit(Instr::StoreFast(index));
    // `if i == 0:` is `1 > i` for an index.
    let not_first = a.label();
    a.at(b.line("if i == 0:")?)
        .emit(Instr::LoadConst(1))
        .emit(Instr::LoadFast(index))
        .emit(Instr::BinaryOp(BinOp::Gt))
        .pop_jump_if_false(not_first);
    a.at(b.line("print(f'--- all {barrier.parties} passed barrier {phase} ---')")?)
        .emit(Instr::LoadFast(phase))
        .print(passed, 1)
        .place(not_first);
    a.at(for_line).end_loop(head, done);
    a.at(b.line("print(f'{me} is done')")?)
        .print(done_fmt, 0)
        .emit(Instr::Exit(0));
    // `except threading.BrokenBarrierError:` and its `return`.
    a.place(broken)
        .at(b.line("print(f'{me}: BrokenBarrierError in phase {phase}')")?)
        .emit(Instr::LoadFast(phase))
        .print(broken_fmt, 1)
        .at(b.nth_line("return", (plan.fail == Fail::Abort) as usize)?)
        .emit(Instr::Exit(0));
    b.finish(a)
}

/// `if n == 3 and phase == 2:` and what worker-3 does then: sleeps past the
/// others' timeout, or aborts the barrier and returns.
fn late_or_abort(
    b: &mut ProgramBuilder,
    a: &mut ActorBuilder,
    n: LocalId,
    phase: LocalId,
    plan: Plan,
) -> Result<(), String> {
    let skip: Label = a.label();
    a.at(b.line("if n == 3 and phase == 2:")?)
        .emit(Instr::LoadFast(n))
        .emit(Instr::LoadConst(2))
        .emit(Instr::BinaryOp(BinOp::Gt))
        .pop_jump_if_false(skip)
        .emit(Instr::LoadFast(phase))
        .emit(Instr::LoadConst(1))
        .emit(Instr::BinaryOp(BinOp::Gt))
        .pop_jump_if_false(skip)
        .emit(Instr::LoadConst(3))
        .emit(Instr::LoadFast(phase))
        .emit(Instr::BinaryOp(BinOp::Gt))
        .pop_jump_if_false(skip);
    if plan.fail == Fail::Timeout {
        a.at(b.line("time.sleep(1)  # worker-3 is late")?)
            .emit(Instr::Sleep(LATE_US));
    } else {
        let gives_up = b.string("{thread} gives up and aborts the barrier");
        a.at(b.line("print(f'{me} gives up and aborts the barrier')")?)
            .print(gives_up, 0)
            .at(b.line("barrier.abort()")?)
            .emit(Instr::BarrierAbort(plan.barrier))
            .at(b.nth_line("return", 0)?)
            .emit(Instr::Exit(0));
    }
    a.place(skip);
    Ok(())
}
