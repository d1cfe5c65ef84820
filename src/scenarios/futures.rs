//! The `futures` lesson: `concurrent.futures` with a `ThreadPoolExecutor` or a
//! `ProcessPoolExecutor` of two workers. `part=api`: `submit`/`result`,
//! `as_completed`, `map`, and an exception carried by a future; `part=cpu`: two
//! countdowns, which take turns on one GIL as threads and run at once as
//! processes.
//!
//! How the model carries a future: the executor's work queue holds work items,
//! each written as its future's number (1 for the first `submit`, in submit
//! order). A worker takes one, runs the function and puts the outcome on the
//! queue that stands for the future's result: `f`, one queue that
//! `as_completed` reads in the order the results come (CPython's waiter), and
//! `map[0]`, `map[1]`, one per place of a `map`, read in order. A task that
//! raised puts `-x` instead of its value: the `ValueError('no x, please')` that
//! `result()` raises again in the caller. The executor's own threads
//! (ProcessPoolExecutor's manager thread, the queue feeder) are left out: nothing
//! of them shows in the program.

use crate::lesson::{Knobs, Lesson};
use crate::program::{
    ActorBuilder, ActorId, ActorKind, BinOp, Instr, LocalId, NONE, Program, ProgramBuilder, QueueId,
};

/// `time.sleep(0.3 if x == 1 else 0.1)`, in µs.
const SLOW_US: u32 = 300_000;
const QUICK_US: u32 = 100_000;
/// Countdown turns per `Work` instruction (as in the `gil` lesson): about 1 ms
/// of virtual time, so that the loop's back-edge lets the GIL change hands.
const CHUNK: u32 = 25_000;

/// A work item: its future's number, the argument, and the queue its outcome
/// goes to.
#[derive(Clone, Copy)]
struct Item {
    future: i64,
    x: i64,
    place: QueueId,
}

/// The function the workers run.
#[derive(Clone, Copy)]
enum Task {
    Square,
    Count(u32),
}

/// The queues of the api part.
struct Places {
    work: QueueId,
    f: QueueId,
    done: QueueId,
    map: [QueueId; 2],
}

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let processes = knobs.option("executor")? == "process";
    let cpu = knobs.option("part")? == "cpu";
    let n = u32::try_from(knobs.int("n")?).map_err(|_| "n must be from 0 to 4294967295")?;
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let work = b.queue("work items", 0);
    let places = Places {
        work,
        f: b.queue("f", 0),
        done: b.queue("as_completed", 0),
        map: [b.queue("map[0]", 0), b.queue("map[1]", 0)],
    };
    let main_name = if processes {
        "MainProcess"
    } else {
        "MainThread"
    };
    let main = b.declare(main_name, ActorKind::Main, 0);
    let workers: Vec<ActorId> = (0..2u16)
        .map(|i| {
            if processes {
                b.declare_process(&format!("ForkProcess-{}", i + 1), i + 1)
            } else {
                b.declare(&format!("ThreadPoolExecutor-0_{i}"), ActorKind::Thread, 0)
            }
        })
        .collect();
    let item = |future: i64, x: i64, place: QueueId| Item { future, x, place };
    let (items, task) = if cpu {
        let [m0, m1] = places.map;
        (vec![item(1, 0, m0), item(2, 0, m1)], Task::Count(n))
    } else {
        let [m0, m1] = places.map;
        let (f, d) = (places.f, places.done);
        let items = vec![
            item(1, 2, f),
            item(2, 1, d),
            item(3, 2, d),
            item(4, 3, d),
            item(5, 1, m0),
            item(6, 2, m1),
            item(7, 1, m0),
            item(8, 3, m1),
        ];
        (items, Task::Square)
    };
    for &w in &workers {
        worker_code(&mut b, w, work, &items, task)?;
    }

    let mut m = b.code(main);
    let executor = b.string(if processes {
        "ProcessPoolExecutor"
    } else {
        "ThreadPoolExecutor"
    });
    let with_line = b.line(&format!(
        "with concurrent.futures.{}(max_workers=2) as ex:",
        if processes {
            "ProcessPoolExecutor"
        } else {
            "ThreadPoolExecutor"
        }
    ))?;
    m.at(with_line).emit(Instr::Nop(executor));
    let start = Starts {
        workers: &workers,
        processes,
    };
    if cpu {
        cpu_main(&mut b, &mut m, &places, start, n)?;
    } else {
        api_main(&mut b, &mut m, &places, start)?;
    }
    // Leaving the block: `ex.shutdown(wait=True)`, a None for each worker, then
    // the workers are joined.
    m.at(with_line);
    for _ in &workers {
        submit(&mut m, work, NONE);
    }
    for &w in &workers {
        m.emit(Instr::Join(w));
    }
    let done = b.string("done");
    m.at(b.line("print('done')")?)
        .print(done, 0)
        .emit(Instr::Exit(0));
    b.build_with(m)
}

/// When the workers start: a ProcessPoolExecutor starts every process at the
/// first `submit` (CPython 3.8–3.13 with fork); a ThreadPoolExecutor starts a
/// thread at a `submit` that finds no idle one, after putting the work item.
#[derive(Clone, Copy)]
struct Starts<'a> {
    workers: &'a [ActorId],
    processes: bool,
}

/// `ex.submit(fn, x)`: the work item goes on the executor's queue.
fn submit(m: &mut ActorBuilder, work: QueueId, future: i64) {
    m.emit(Instr::LoadConst(future)).emit(Instr::QueuePut {
        q: work,
        block: true,
    });
}

fn get(q: QueueId) -> Instr {
    Instr::QueueGet { q, block: true }
}

/// Prints the outcome kept in `v`: the value with `ok`, or the exception with
/// `raised` (a format with one `{}` for x). Both prints are on `line`, or the
/// exception's on `except_line`.
fn print_outcome(
    m: &mut ActorBuilder,
    v: LocalId,
    ok: u16,
    raised: (u32, u16),
) -> &mut ActorBuilder {
    let (was_raised, after) = (m.label(), m.label());
    m.emit(Instr::LoadFast(v))
        .emit(Instr::LoadConst(-1))
        .emit(Instr::BinaryOp(BinOp::Gt))
        .pop_jump_if_false(was_raised)
        .emit(Instr::LoadFast(v))
        .print(ok, 1)
        .emit(Instr::LoadConst(0))
        .pop_jump_if_false(after);
    m.at(raised.0).place(was_raised);
    negated(m, v).print(raised.1, 1).place(after)
}

/// Pushes `-v`: the x of the exception a negative outcome stands for.
fn negated(m: &mut ActorBuilder, v: LocalId) -> &mut ActorBuilder {
    m.emit(Instr::LoadConst(0))
        .emit(Instr::LoadFast(v))
        .emit(Instr::BinaryOp(BinOp::Sub))
}

fn api_main(
    b: &mut ProgramBuilder,
    m: &mut ActorBuilder,
    p: &Places,
    start: Starts,
) -> Result<(), String> {
    let v = m.local("result", 0);
    let [w0, w1] = [start.workers[0], start.workers[1]];
    m.at(b.line("f = ex.submit(square, 2)")?);
    submit(m, p.work, 1);
    m.emit(Instr::Start(w0));
    if start.processes {
        m.emit(Instr::Start(w1));
    }
    let fmt = b.string("submit(square, 2).result(): {}");
    m.at(b.line("print('submit(square, 2).result():', f.result())")?)
        .emit(get(p.f))
        .print(fmt, 1);
    // The first worker is idle again for x=1; x=2 finds none and starts the
    // second thread.
    m.at(b.line("futures = [ex.submit(square, x) for x in (1, 2, 3)]")?);
    submit(m, p.work, 2);
    submit(m, p.work, 3);
    if !start.processes {
        m.emit(Instr::Start(w1));
    }
    submit(m, p.work, 4);
    let for_line = b.line("for f in concurrent.futures.as_completed(futures):")?;
    let print_line = b.line("print('as_completed:', f.result())")?;
    let except_line = b.line("print('as_completed: result() raised', repr(e))")?;
    let ok = b.string("as_completed: {}");
    let raised = b.string("as_completed: result() raised ValueError('no {}, please')");
    for _ in 0..3 {
        m.at(for_line).emit(get(p.done)).emit(Instr::StoreFast(v));
        m.at(print_line);
        print_outcome(m, v, ok, (except_line, raised));
    }
    m.at(b.line("print('map:', list(ex.map(square, (1, 2))))")?);
    submit(m, p.work, 5);
    submit(m, p.work, 6);
    let list = b.string("map: [{}, {}]");
    m.emit(get(p.map[0])).emit(get(p.map[1])).print(list, 2);
    // map's iterator returns each result in order, and raises what a task
    // raised when it reaches it.
    let (was_raised, after) = (m.label(), m.label());
    m.at(b.line("list(ex.map(square, (1, 3)))")?);
    submit(m, p.work, 7);
    submit(m, p.work, 8);
    for place in p.map {
        m.emit(get(place))
            .emit(Instr::StoreFast(v))
            .emit(Instr::LoadFast(v))
            .emit(Instr::LoadConst(-1))
            .emit(Instr::BinaryOp(BinOp::Gt))
            .pop_jump_if_false(was_raised);
    }
    m.emit(Instr::LoadConst(0)).pop_jump_if_false(after);
    let map_raised = b.string("map raised ValueError('no {}, please')");
    m.at(b.line("print('map raised', repr(e))")?)
        .place(was_raised);
    negated(m, v).print(map_raised, 1).place(after);
    Ok(())
}

fn cpu_main(
    b: &mut ProgramBuilder,
    m: &mut ActorBuilder,
    p: &Places,
    start: Starts,
    n: u32,
) -> Result<(), String> {
    let [w0, w1] = [start.workers[0], start.workers[1]];
    m.at(b.line(&format!(
        "print('countdowns:', list(ex.map(count, [{n}] * 2)))"
    ))?);
    submit(m, p.work, 1);
    m.emit(Instr::Start(w0));
    if start.processes {
        m.emit(Instr::Start(w1));
        submit(m, p.work, 2);
    } else {
        submit(m, p.work, 2);
        m.emit(Instr::Start(w1));
    }
    let fmt = b.string("countdowns: [{}, {}]");
    m.emit(get(p.map[0])).emit(get(p.map[1])).print(fmt, 2);
    Ok(())
}

/// A worker: takes a work item (None ends it), runs the task on it and puts
/// the outcome on the item's queue. The worker's own loop (CPython's
/// `_worker` / `_process_worker`) is on the function's `def` line.
fn worker_code(
    b: &mut ProgramBuilder,
    w: ActorId,
    work: QueueId,
    items: &[Item],
    task: Task,
) -> Result<(), String> {
    let def_line = match task {
        Task::Square => b.line("def square(x):")?,
        Task::Count(_) => b.line("def count(n):")?,
    };
    let mut a = b.code(w);
    let item = a.local("_work_item", 0);
    let x = a.local(
        match task {
            Task::Square => "x",
            Task::Count(_) => "_chunk",
        },
        0,
    );
    let (exit, call, send) = (a.label(), a.label(), a.label());
    a.at(def_line);
    let head = a.here();
    a.emit(get(work))
        .emit(Instr::StoreFast(item))
        .emit(Instr::LoadFast(item))
        .emit(Instr::LoadConst(NONE))
        .emit(Instr::BinaryOp(BinOp::Gt))
        .pop_jump_if_false(exit);
    // The item's argument.
    for it in items {
        let next = a.label();
        a.emit(Instr::LoadFast(item))
            .emit(Instr::LoadConst(it.future))
            .emit(Instr::BinaryOp(BinOp::Eq))
            .pop_jump_if_false(next)
            .emit(Instr::LoadConst(it.x))
            .emit(Instr::StoreFast(x))
            .emit(Instr::LoadConst(0))
            .pop_jump_if_false(call)
            .place(next);
    }
    a.place(call);
    match task {
        Task::Square => square_code(b, &mut a, x, send)?,
        Task::Count(n) => count_code(b, &mut a, x, n)?,
    }
    // Back in the worker's loop: the outcome goes to the item's future.
    a.at(def_line).place(send);
    for it in items {
        let next = a.label();
        a.emit(Instr::LoadFast(item))
            .emit(Instr::LoadConst(it.future))
            .emit(Instr::BinaryOp(BinOp::Eq))
            .pop_jump_if_false(next)
            .emit(Instr::QueuePut {
                q: it.place,
                block: true,
            })
            .emit(Instr::JumpBackward(head))
            .place(next);
    }
    a.emit(Instr::JumpBackward(head));
    a.place(exit).emit(Instr::Exit(0));
    b.finish(a)
}

/// `square(x)`: sleeps, raises for 3 (the outcome `-x`, then on to `send`),
/// returns `x * x`.
fn square_code(
    b: &mut ProgramBuilder,
    a: &mut ActorBuilder,
    x: LocalId,
    send: crate::program::Label,
) -> Result<(), String> {
    let call = b.string("square");
    a.emit(Instr::Call(call));
    let (quick, slept) = (a.label(), a.label());
    a.at(b.line("time.sleep(0.3 if x == 1 else 0.1)  # 1 is the slow one")?)
        .emit(Instr::LoadFast(x))
        .emit(Instr::LoadConst(1))
        .emit(Instr::BinaryOp(BinOp::Eq))
        .pop_jump_if_false(quick)
        .emit(Instr::Sleep(SLOW_US))
        .emit(Instr::LoadConst(0))
        .pop_jump_if_false(slept)
        .place(quick)
        .emit(Instr::Sleep(QUICK_US))
        .place(slept);
    let returns = a.label();
    a.at(b.line("if x == 3:")?)
        .emit(Instr::LoadFast(x))
        .emit(Instr::LoadConst(3))
        .emit(Instr::BinaryOp(BinOp::Eq))
        .pop_jump_if_false(returns);
    a.at(b.line("raise ValueError(f'no {x}, please')")?);
    negated(a, x)
        .emit(Instr::LoadConst(0))
        .pop_jump_if_false(send);
    a.at(b.line("return x * x")?)
        .place(returns)
        .emit(Instr::LoadFast(x))
        .emit(Instr::LoadFast(x))
        .emit(Instr::BinaryOp(BinOp::Mul))
        .emit(Instr::Return);
    Ok(())
}

/// `count(n)`: `while n > 0: n -= 1` as chunks of CPU work, done holding the
/// GIL; returns 0.
fn count_code(
    b: &mut ProgramBuilder,
    a: &mut ActorBuilder,
    chunks: LocalId,
    n: u32,
) -> Result<(), String> {
    let call = b.string("count");
    a.emit(Instr::Call(call));
    let while_line = b.line("while n > 0:")?;
    let body = b.line("n -= 1")?;
    a.at(while_line)
        .emit(Instr::LoadConst(0))
        .emit(Instr::StoreFast(chunks));
    let exit = a.label();
    let head = a.for_range(chunks, n / CHUNK, exit);
    a.at(body).emit(Instr::Work(CHUNK));
    a.at(while_line).end_loop(head, exit);
    if !n.is_multiple_of(CHUNK) {
        a.at(body).emit(Instr::Work(n % CHUNK));
    }
    a.at(b.line("return n")?)
        .emit(Instr::LoadConst(0))
        .emit(Instr::Return);
    Ok(())
}
