//! Getting results back from a `Pool(2)`: `apply`, `apply_async` and its
//! `AsyncResult` (`get`, `get(timeout)`, `wait`, `ready`, `successful`), callbacks,
//! `map`, `map_async`, `imap_unordered`, and `with Pool()` terminating the pool.
//!
//! How the model carries a result: each worker sends `square(x)` back on a result
//! queue (the `AsyncResult` is that queue: `r.get()` takes from it, `r.ready()`
//! asks whether it holds something). A task that raises sends back its negative
//! argument, which stands for the `ValueError('negative: x')` CPython pickles back:
//! the caller re-raises it. `map` collects every result by its index, one queue
//! per index, which is why it keeps the order; `imap_unordered` reads one queue in
//! the order the results come. Callbacks run in the parent, on the pool's
//! result-handler thread (CPython's `Thread-3 (_handle_results)`, measured in
//! tools/measure/pool_results.py); the other parts leave that thread out, because
//! nothing of it shows there.

use crate::lesson::{Knobs, Lesson};
use crate::program::{
    ActorBuilder, ActorId, ActorKind, BinOp, Instr, NONE, Program, ProgramBuilder, QueueId,
};
use crate::sim::PyVersion;

/// What `Pool(2)` does after it forked its workers (see scenarios/pool.rs).
const POOL_SETUP_NS: u32 = 3_000_000;
/// `time.sleep(0.5)` in `square`.
const TASK_US: u32 = 500_000;
/// The inputs `map` and `imap_unordered` hand out: `range(5)`.
const MAP_N: i64 = 5;

/// Where the workers send what `square` returned.
#[derive(Clone, Copy)]
enum Back {
    /// Every result to one queue.
    One(QueueId),
    /// Result `i` to queue `first + i` (`map`: `range(5)`).
    ByIndex(QueueId),
}

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let api = knobs.option("api")?.to_string();
    let python =
        PyVersion::parse(knobs.choice("python").unwrap_or("3.13")).unwrap_or(PyVersion::V3_13);
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let taskq = b.queue("pool tasks", 0);
    let back = match api.as_str() {
        "map" => {
            let first = b.queue("map result[0]", 0);
            for i in 1..MAP_N {
                b.queue(&format!("map result[{i}]"), 0);
            }
            Back::ByIndex(first)
        }
        "apply" => Back::One(b.queue("apply result", 0)),
        "callback" | "imap_unordered" => Back::One(b.queue("results", 0)),
        _ => Back::One(b.queue("r", 0)),
    };
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let workers: Vec<_> = (1..=2)
        .map(|i| b.declare_process(&format!("ForkPoolWorker-{i}"), i))
        .collect();
    // CPython starts the worker handler, the task handler and the result handler:
    // the third thread of the process.
    let handler = (api == "callback").then(|| {
        b.declare(
            &python.thread_name(3, "_handle_results"),
            ActorKind::Thread,
            0,
        )
    });
    for &w in &workers {
        worker_code(&mut b, w, taskq, back)?;
    }
    if let (Some(h), Back::One(q)) = (handler, back) {
        handler_code(&mut b, h, q)?;
    }

    let mut m = b.code(main);
    let pool_line = if api == "with" {
        b.line("with Pool(2) as p:")?
    } else {
        b.line("p = Pool(2)")?
    };
    for &w in &workers {
        m.at(pool_line).emit(Instr::Start(w));
    }
    if let Some(h) = handler {
        m.emit(Instr::Start(h));
    }
    m.emit(Instr::Work(POOL_SETUP_NS / crate::sim::WORK_UNIT_NS as u32));
    let Back::One(r) = back else {
        map_main(&mut b, &mut m, taskq, back)?;
        return finish(b, m, &workers, handler);
    };
    match api.as_str() {
        "apply" => {
            m.at(b.line("print(p.apply(square, (3,)))")?);
            submit(&mut m, taskq, 3);
            let fmt = b.string("{}");
            m.emit(get(r)).print(fmt, 1);
        }
        "async" => async_main(&mut b, &mut m, taskq, r)?,
        "timeout" => timeout_main(&mut b, &mut m, taskq, r)?,
        "error" => error_main(&mut b, &mut m, taskq, r)?,
        "callback" => {
            m.at(b.line("p.apply_async(square, (5,), callback=show)")?);
            submit(&mut m, taskq, 5);
            m.at(b.line("p.apply_async(square, (-7,), error_callback=oops)")?);
            submit(&mut m, taskq, -7);
        }
        "imap_unordered" => {
            let for_line = b.line("for x in p.imap_unordered(square, range(5)):")?;
            m.at(for_line);
            for i in 0..MAP_N {
                submit(&mut m, taskq, i);
            }
            let x = m.local("x", 0);
            let fmt = b.string("{}");
            let print_line = b.line("print(x)")?;
            for _ in 0..MAP_N {
                m.at(for_line).emit(get(r)).emit(Instr::StoreFast(x));
                m.at(print_line).emit(Instr::LoadFast(x)).print(fmt, 1);
            }
        }
        "with" => return with_main(b, m, taskq, r, &workers),
        other => {
            return Err(format!(
                "api must be one of the lesson's options, not {other}"
            ));
        }
    }
    finish(b, m, &workers, handler)
}

/// `p.apply_async(square, (x,))`: the task goes on the pool's queue; nothing waits.
fn submit(m: &mut ActorBuilder, taskq: QueueId, x: i64) {
    m.emit(Instr::LoadConst(x)).emit(Instr::QueuePut {
        q: taskq,
        block: true,
    });
}

fn get(r: QueueId) -> Instr {
    Instr::QueueGet { q: r, block: true }
}

/// Pushes whether the result on top of the stack (kept in `value`) is a value and
/// not a raised exception: `successful()`.
fn successful(m: &mut ActorBuilder, value: u16) {
    m.emit(Instr::LoadFast(value))
        .emit(Instr::LoadConst(-1))
        .emit(Instr::BinaryOp(BinOp::Gt));
}

fn async_main(
    b: &mut ProgramBuilder,
    m: &mut ActorBuilder,
    taskq: QueueId,
    r: QueueId,
) -> Result<(), String> {
    m.at(b.line("r = p.apply_async(square, (4,))")?);
    submit(m, taskq, 4);
    let ready_fmt = b.string("ready? {bool}");
    m.at(b.line("print('ready?', r.ready())")?)
        .emit(Instr::QueueReady(r))
        .print(ready_fmt, 1);
    let value = m.local("r._value", NONE);
    let fmt = b.string("{}");
    m.at(b.line("print(r.get())")?)
        .emit(get(r))
        .emit(Instr::StoreFast(value))
        .emit(Instr::LoadFast(value))
        .print(fmt, 1);
    // Once get() has returned, the result is there for good: ready() is True.
    let both = b.string("ready? {bool} successful? {bool}");
    m.at(b.line("print('ready?', r.ready(), 'successful?', r.successful())")?)
        .emit(Instr::LoadConst(1));
    successful(m, value);
    m.print(both, 2);
    Ok(())
}

/// `get(timeout=0.1)`: waits the 0.1 s, then takes the result if it is there.
/// CPython returns as soon as the result comes; here it never comes that soon (the
/// task sleeps 0.5 s), so the model waits the whole timeout, as CPython does.
fn timeout_main(
    b: &mut ProgramBuilder,
    m: &mut ActorBuilder,
    taskq: QueueId,
    r: QueueId,
) -> Result<(), String> {
    m.at(b.line("r = p.apply_async(square, (4,))")?);
    submit(m, taskq, 4);
    let value = m.local("r._value", NONE);
    let (timed_out, waited) = (m.label(), m.label());
    let fmt = b.string("{}");
    m.at(b.line("print(r.get(timeout=0.1))")?)
        .emit(Instr::Sleep(100_000))
        .emit(Instr::QueueReady(r))
        .pop_jump_if_false(timed_out)
        .emit(get(r))
        .emit(Instr::StoreFast(value))
        .emit(Instr::LoadFast(value))
        .print(fmt, 1)
        .emit(Instr::LoadConst(0))
        .pop_jump_if_false(waited);
    let msg = b.string("no result after 0.1 s");
    m.at(b.line("print('no result after 0.1 s')")?)
        .place(timed_out)
        .print(msg, 0);
    m.at(b.line("r.wait()")?)
        .emit(get(r))
        .emit(Instr::StoreFast(value));
    let ready_fmt = b.string("ready? {bool}");
    m.at(b.line("print('ready?', r.ready())")?)
        .place(waited)
        .emit(Instr::LoadConst(1))
        .print(ready_fmt, 1);
    m.at(b.line("print(r.get())")?)
        .emit(Instr::LoadFast(value))
        .print(fmt, 1);
    Ok(())
}

fn error_main(
    b: &mut ProgramBuilder,
    m: &mut ActorBuilder,
    taskq: QueueId,
    r: QueueId,
) -> Result<(), String> {
    m.at(b.line("r = p.apply_async(square, (-7,))")?);
    submit(m, taskq, -7);
    let value = m.local("r._value", NONE);
    m.at(b.line("r.wait()")?)
        .emit(get(r))
        .emit(Instr::StoreFast(value));
    let both = b.string("ready? {bool} successful? {bool}");
    m.at(b.line("print('ready?', r.ready(), 'successful?', r.successful())")?)
        .emit(Instr::LoadConst(1));
    successful(m, value);
    m.print(both, 2);
    // get() gives the value back, or raises in the parent what the task raised.
    let (raised, after) = (m.label(), m.label());
    m.at(b.line("r.get()")?);
    successful(m, value);
    m.pop_jump_if_false(raised)
        .emit(Instr::LoadConst(0))
        .pop_jump_if_false(after);
    let fmt = b.string("get() raised ValueError('negative: {}')");
    m.at(b.line("print('get() raised', repr(e))")?)
        .place(raised)
        .emit(Instr::LoadFast(value))
        .print(fmt, 1);
    m.place(after);
    Ok(())
}

/// `map` and `map_async`: every input on the queue, then result `i` from its
/// own place, in order.
fn map_main(
    b: &mut ProgramBuilder,
    m: &mut ActorBuilder,
    taskq: QueueId,
    back: Back,
) -> Result<(), String> {
    let Back::ByIndex(first) = back else {
        return Err("map needs a result place per index".to_string());
    };
    let list = b.string("[{}, {}, {}, {}, {}]");
    let collect = |m: &mut ActorBuilder| {
        for i in 0..MAP_N {
            m.emit(get(first + i as QueueId));
        }
        m.print(list, MAP_N as u8);
    };
    m.at(b.line("print(p.map(square, range(5)))")?);
    for i in 0..MAP_N {
        submit(m, taskq, i);
    }
    collect(m);
    m.at(b.line("r = p.map_async(square, range(5))")?);
    for i in 0..MAP_N {
        submit(m, taskq, i);
    }
    let returned = b.string("map_async returned");
    m.at(b.line("print('map_async returned')")?)
        .print(returned, 0);
    m.at(b.line("print(r.get())")?);
    collect(m);
    Ok(())
}

/// `with Pool(2) as p:` calls `p.terminate()` when the block ends: the task
/// submitted inside is killed with its worker, and its result never comes.
fn with_main(
    mut b: ProgramBuilder,
    mut m: ActorBuilder,
    taskq: QueueId,
    r: QueueId,
    workers: &[ActorId],
) -> Result<Program, String> {
    m.at(b.line("r = p.apply_async(square, (6,))")?);
    submit(&mut m, taskq, 6);
    let leaving = b.string("leaving the with block");
    m.at(b.line("print('leaving the with block')")?)
        .print(leaving, 0);
    // __exit__ runs on the `with` line: terminate() kills the workers and joins them.
    m.at(b.line("with Pool(2) as p:")?);
    for &w in workers {
        m.emit(Instr::Terminate(w));
    }
    for &w in workers {
        m.emit(Instr::Join(w));
    }
    let ready_fmt = b.string("ready? {bool}");
    m.at(b.line("print('ready?', r.ready())")?)
        .emit(Instr::QueueReady(r))
        .print(ready_fmt, 1);
    let (timed_out, after) = (m.label(), m.label());
    m.at(b.line("r.get(timeout=1)")?)
        .emit(Instr::Sleep(1_000_000))
        .emit(Instr::QueueReady(r))
        .pop_jump_if_false(timed_out)
        .emit(get(r))
        .emit(Instr::LoadConst(0))
        .pop_jump_if_false(after);
    let lost = b.string("no result: the with block terminated the pool");
    m.at(b.line("print('no result: the with block terminated the pool')")?)
        .place(timed_out)
        .print(lost, 0);
    m.place(after);
    let done = b.string("done");
    m.at(b.line("print('done')")?)
        .print(done, 0)
        .emit(Instr::Exit(0));
    b.build_with(m)
}

/// `p.close()`, `p.join()`, `print('done')`.
///
/// CPython's pool sends each worker its None ("no more tasks") only once every
/// task's outcome is back: its worker handler waits until the cache of pending
/// results is empty, then the task handler puts one None per worker
/// (multiprocessing/pool.py, `_handle_workers` and `_handle_tasks`, 3.8 to 3.13;
/// measured, no worker ended before the last result on 3.6.15 to 3.13.0,
/// tools/measure/pool_worker_exit.py). An outcome leaves the cache once the result
/// handler has filed it, after its callback ran. So `close()` sends nothing, and
/// `join()`, which waits for the handler threads, sends the Nones in their place:
/// after the result handler's callbacks (`api=callback`: it is an actor here), or
/// at once when the parent has already taken every result with `get()`.
fn finish(
    mut b: ProgramBuilder,
    mut m: ActorBuilder,
    workers: &[ActorId],
    handler: Option<ActorId>,
) -> Result<Program, String> {
    let taskq: QueueId = 0;
    // close() only marks the pool closed: no worker is told to stop yet.
    let close = b.string("p.close()");
    m.at(b.line("p.close()")?).emit(Instr::Nop(close));
    let join = b.line("p.join()")?;
    m.at(join);
    if let Some(h) = handler {
        m.emit(Instr::Join(h));
    }
    for _ in workers {
        m.emit(Instr::LoadConst(NONE)).emit(Instr::QueuePut {
            q: taskq,
            block: true,
        });
    }
    for &w in workers {
        m.emit(Instr::Join(w));
    }
    let done = b.string("done");
    m.at(b.line("print('done')")?)
        .print(done, 0)
        .emit(Instr::Exit(0));
    b.build_with(m)
}

/// A pool worker: takes a task (None ends it), runs `square` on it and sends back
/// what it returned, or, when it raised, the negative argument that stands for
/// the exception.
fn worker_code(
    b: &mut ProgramBuilder,
    w: ActorId,
    taskq: QueueId,
    back: Back,
) -> Result<(), String> {
    let def_line = b.line("def square(x):")?;
    let if_line = b.line("if x < 0:")?;
    let raise_line = b.line("raise ValueError('negative: %d' % x)")?;
    let sleep_line = b.line("time.sleep(0.5)")?;
    let return_line = b.line("return x * x")?;
    let call = b.string("square");
    let mut a = b.code(w);
    let x = a.local("x", 0);
    let (exit, negative) = (a.label(), a.label());
    // The pool's own loop (not in the lesson's code): take a task, run it.
    a.at(def_line);
    let head = a.here();
    a.emit(Instr::QueueGet {
        q: taskq,
        block: true,
    })
    .emit(Instr::StoreFast(x))
    .emit(Instr::LoadFast(x))
    .emit(Instr::LoadConst(NONE))
    .emit(Instr::BinaryOp(BinOp::Gt))
    .pop_jump_if_false(exit)
    .emit(Instr::Call(call));
    // `x < 0` as `x > -1` false: the values are whole numbers.
    a.at(if_line)
        .emit(Instr::LoadFast(x))
        .emit(Instr::LoadConst(-1))
        .emit(Instr::BinaryOp(BinOp::Gt))
        .pop_jump_if_false(negative);
    a.at(sleep_line).emit(Instr::Sleep(TASK_US));
    a.at(return_line)
        .emit(Instr::LoadFast(x))
        .emit(Instr::LoadFast(x))
        .emit(Instr::BinaryOp(BinOp::Mul))
        .emit(Instr::Return);
    // Back in the pool's loop: send the outcome, then take the next task.
    a.at(def_line);
    let send = a.here();
    match back {
        Back::One(q) => {
            a.emit(Instr::QueuePut { q, block: true })
                .emit(Instr::JumpBackward(head));
        }
        Back::ByIndex(first) => {
            // Result i goes to place i; the input is the index: the first i with
            // `not x > i` is x.
            let places: Vec<_> = (0..MAP_N).map(|_| a.label()).collect();
            for (i, &place) in places.iter().enumerate().take(MAP_N as usize - 1) {
                a.emit(Instr::LoadFast(x))
                    .emit(Instr::LoadConst(i as i64))
                    .emit(Instr::BinaryOp(BinOp::Gt))
                    .pop_jump_if_false(place);
            }
            for (i, &place) in places.iter().enumerate().rev() {
                a.place(place)
                    .emit(Instr::QueuePut {
                        q: first + i as QueueId,
                        block: true,
                    })
                    .emit(Instr::JumpBackward(head));
            }
        }
    }
    // A task that raised: the worker sends the exception back instead.
    a.at(raise_line)
        .place(negative)
        .emit(Instr::LoadFast(x))
        .emit(Instr::JumpBackward(send));
    a.at(def_line).place(exit).emit(Instr::Exit(0));
    b.finish(a)
}

/// CPython's result handler, a thread of the parent: it takes each outcome and
/// calls the task's callback (`show`) or error callback (`oops`).
fn handler_code(b: &mut ProgramBuilder, h: ActorId, q: QueueId) -> Result<(), String> {
    let show_line =
        b.line("print('callback got', result, 'in', threading.current_thread().name)")?;
    let oops_line =
        b.line("print('error_callback got', repr(e), 'in', threading.current_thread().name)")?;
    let show_fmt = b.string("callback got {} in {thread}");
    let oops_fmt = b.string("error_callback got ValueError('negative: {}') in {thread}");
    let (show, oops) = (b.string("show"), b.string("oops"));
    // Taking the outcome is the handler's own loop, not in the lesson's code.
    let def_show = b.line("def show(result):")?;
    let mut a = b.code(h);
    let v = a.local("result", 0);
    // One outcome per task submitted with a callback: two.
    for _ in 0..2 {
        let (error, next) = (a.label(), a.label());
        a.at(def_show).emit(get(q)).emit(Instr::StoreFast(v));
        successful(&mut a, v);
        a.pop_jump_if_false(error).emit(Instr::Call(show));
        a.at(show_line)
            .emit(Instr::LoadFast(v))
            .print(show_fmt, 1)
            .emit(Instr::LoadConst(0))
            .pop_jump_if_false(next);
        a.at(def_show).place(error).emit(Instr::Call(oops));
        a.at(oops_line).emit(Instr::LoadFast(v)).print(oops_fmt, 1);
        a.place(next);
    }
    a.emit(Instr::Exit(0));
    b.finish(a)
}
