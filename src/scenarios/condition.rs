//! The `condition` lesson: one producer and two consumers share a bounded buffer
//! under a `threading.Condition`; the consumers look at the buffer with `while`,
//! `if` or not at all before they wait, and wake others with `notify_all()` or
//! `notify()`.
//!
//! The list `items` is kept as its length (the variable `items`): every use of it
//! in the program is `len(items)`, `not items`, an append or a pop, all under the
//! condition's lock, so its length is all the program can tell apart.

use crate::lesson::{Knobs, Lesson};
use crate::program::{
    ActorBuilder, ActorId, ActorKind, BinOp, Instr, Label, LockId, Program, ProgramBuilder, StrId,
    VarId,
};

/// What CPython prints for `[].pop(0)` (3.6–3.13, tools/measure/condition.py).
const EMPTY_POP: &str = "IndexError: pop from empty list";

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let check = knobs.option("check")?;
    let notify_all = knobs.option("notify")? == "all";
    let rounds = u32::try_from(knobs.int("rounds")?)
        .ok()
        .filter(|r| (1..=1000).contains(r))
        .ok_or("rounds must be between 1 and 1000")?;
    let size = knobs.int("size")?;
    if !(1..=1000).contains(&size) {
        return Err("size must be between 1 and 1000".into());
    }
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let items = b.var("items", 0);
    b.expect_final(items, 0);
    let cond = b.lock("cond");
    let main = b.declare("MainThread", ActorKind::Main, 0);
    let consumers = [
        b.declare("consumer-1", ActorKind::Thread, 0),
        b.declare("consumer-2", ActorKind::Thread, 0),
    ];
    let producer = b.declare("producer", ActorKind::Thread, 0);
    let notify = Instr::CondNotify {
        cond,
        all: notify_all,
    };
    let notify_line = if notify_all {
        "cond.notify_all()"
    } else {
        "cond.notify()"
    };

    producer_code(&mut b, producer, rounds, size, items, notify, notify_line)?;

    // The consumers: look (or not), wait, pop, say so, wake the others.
    let took = b.string("{thread} took one, {} left");
    let empty_pop = b.string(EMPTY_POP);
    for &c in &consumers {
        let mut a = b.code(c);
        let n = a.local("_", 0);
        let for_line = b.line(&format!("for _ in range({rounds}):"))?;
        let with_c = b.nth_line("with cond:", 1)?;
        let done = a.label();
        a.at(for_line);
        let head = a.for_range(n, rounds, done);
        a.at(with_c).emit(Instr::Acquire(cond));
        match check {
            "while" | "if" => {
                let line = b.line(&format!("{check} not items:"))?;
                let has_items = a.label();
                a.at(line);
                let test = a.here();
                // `not items` is `1 > len(items)` for a length.
                a.emit(Instr::LoadConst(1))
                    .emit(Instr::LoadGlobal(items))
                    .emit(Instr::BinaryOp(BinOp::Gt))
                    .pop_jump_if_false(has_items);
                wait(&mut a, b.nth_line("cond.wait()", 1)?, cond);
                if check == "while" {
                    a.at(line).emit(Instr::JumpBackward(test));
                }
                a.place(has_items);
            }
            _ => wait(&mut a, b.nth_line("cond.wait()", 1)?, cond),
        }
        let pop_line = b.line("items.pop(0)")?;
        let raise = pop(&mut a, pop_line, items);
        a.at(b.line("print(f'{threading.current_thread().name} took one, {len(items)} left')")?)
            .emit(Instr::LoadGlobal(items))
            .print(took, 1);
        a.at(b.nth_line(notify_line, 1)?).emit(notify);
        a.at(with_c).emit(Instr::Release(cond));
        a.at(for_line).end_loop(head, done).emit(Instr::Exit(0));
        raise_empty_pop(&mut a, pop_line, raise, cond, empty_pop);
        b.finish(a)?;
    }

    let thread_call = b.string("threading.Thread");
    let left = b.string("left in the buffer: {}");
    let mut m = b.code(main);
    for (var, target, name) in [
        ("c1", "consumer", "consumer-1"),
        ("c2", "consumer", "consumer-2"),
        ("p", "producer", "producer"),
    ] {
        m.at(b.line(&format!(
            "{var} = threading.Thread(target={target}, name='{name}')"
        ))?)
        .emit(Instr::Nop(thread_call));
    }
    let order = [("c1", consumers[0]), ("c2", consumers[1]), ("p", producer)];
    for (var, t) in order {
        m.at(b.line(&format!("{var}.start()"))?)
            .emit(Instr::Start(t));
    }
    for (var, t) in order {
        m.at(b.line(&format!("{var}.join()"))?).emit(Instr::Join(t));
    }
    m.at(b.line("print(f'left in the buffer: {len(items)}')")?)
        .emit(Instr::LoadGlobal(items))
        .print(left, 1)
        .emit(Instr::Exit(0));
    b.build_with(m)
}

/// The producer: `while len(items) >= SIZE: cond.wait()`, then an append, a
/// print and the notify.
fn producer_code(
    b: &mut ProgramBuilder,
    producer: ActorId,
    rounds: u32,
    size: i64,
    items: VarId,
    notify: Instr,
    notify_line: &str,
) -> Result<(), String> {
    let Instr::CondNotify { cond, .. } = notify else {
        return Err("the notify must be a CondNotify".into());
    };
    let mut p = b.code(producer);
    let i = p.local("i", 0);
    let for_line = b.line(&format!("for i in range(1, 2 * {rounds} + 1):"))?;
    let with_p = b.nth_line("with cond:", 0)?;
    let done = p.label();
    p.at(for_line);
    let head = p.for_range(i, 2 * rounds, done);
    p.at(with_p).emit(Instr::Acquire(cond));
    let full = p.label();
    p.at(b.line("while len(items) >= SIZE:")?);
    let test = p.here();
    // `len(items) >= SIZE` is `len(items) > SIZE - 1` for whole numbers.
    p.emit(Instr::LoadGlobal(items))
        .emit(Instr::LoadConst(size - 1))
        .emit(Instr::BinaryOp(BinOp::Gt))
        .pop_jump_if_false(full);
    wait(&mut p, b.nth_line("cond.wait()", 0)?, cond);
    p.at(b.line("while len(items) >= SIZE:")?)
        .emit(Instr::JumpBackward(test))
        .place(full);
    p.at(b.line("items.append(i)")?)
        .emit(Instr::LoadGlobal(items))
        .emit(Instr::LoadConst(1))
        .emit(Instr::BinaryOp(BinOp::Add))
        .emit(Instr::StoreGlobal(items));
    let put = b.string("producer put {}, {} in the buffer");
    p.at(b.line("print(f'producer put {i}, {len(items)} in the buffer')")?)
        .emit(Instr::LoadFast(i))
        .emit(Instr::LoadGlobal(items))
        .print(put, 2);
    p.at(b.nth_line(notify_line, 0)?).emit(notify);
    p.at(with_p).emit(Instr::Release(cond));
    p.at(for_line).end_loop(head, done).emit(Instr::Exit(0));
    b.finish(p)
}

/// `cond.wait()`: joins the waiters and releases the lock, sleeps until
/// notified, takes the lock back.
fn wait(a: &mut ActorBuilder, line: u32, cond: LockId) {
    a.at(line)
        .emit(Instr::CondWait(cond))
        .emit(Instr::CondSleep(cond))
        .emit(Instr::Acquire(cond));
}

/// `items.pop(0)`: on an empty list it jumps to the label, where the caller
/// puts [`raise_empty_pop`].
fn pop(a: &mut ActorBuilder, line: u32, items: VarId) -> Label {
    let raise = a.label();
    a.at(line)
        .emit(Instr::LoadGlobal(items))
        .pop_jump_if_false(raise)
        .emit(Instr::LoadGlobal(items))
        .emit(Instr::LoadConst(1))
        .emit(Instr::BinaryOp(BinOp::Sub))
        .emit(Instr::StoreGlobal(items));
    raise
}

/// The pop's `IndexError`: the `with` block lets the lock go as the exception
/// leaves it, and the thread ends with CPython's message.
fn raise_empty_pop(a: &mut ActorBuilder, line: u32, raise: Label, cond: LockId, msg: StrId) {
    a.place(raise)
        .at(line)
        .emit(Instr::Release(cond))
        .emit(Instr::Raise(msg));
}
