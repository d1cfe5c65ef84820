//! `Pool(n)`: n worker processes take tasks from one queue; close, join, and the
//! two mistakes CPython refuses.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorId, ActorKind, BinOp, Instr, NONE, Program, ProgramBuilder, QueueId};
use crate::sim::PyVersion;

/// What `Pool(n)` does after it forked its workers (starting its handler threads),
/// in virtual ns: long enough that the last worker waits for tasks when it returns.
const POOL_SETUP_NS: u32 = 3_000_000;

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let size_knob = knobs.option("size")?.to_string();
    let python =
        PyVersion::parse(knobs.choice("python").unwrap_or("3.13")).unwrap_or(PyVersion::V3_13);
    let size: u16 = if size_knob == "cores" {
        // Pool() asks the OS: os.process_cpu_count() on 3.13, os.cpu_count()
        // before; a seeded replay then depends on the machine, which the lesson says.
        python.pool_default_size()
    } else {
        size_knob
            .parse()
            .ok()
            .filter(|n| (1..=16).contains(n))
            .ok_or_else(|| format!("pool size must be `cores` or 1 to 16, not {size_knob}"))?
    };
    let tasks =
        u32::try_from(knobs.int("tasks")?).map_err(|_| "tasks must be 0 or more".to_string())?;
    let seconds = knobs.option("seconds")?.to_string();
    let sleep_us = seconds
        .parse::<f64>()
        .ok()
        .filter(|s| (0.0..=60.0).contains(s))
        .map(|s| (s * 1e6) as u32)
        .ok_or_else(|| format!("seconds must be from 0 to 60, not {seconds}"))?;
    let mistake = knobs.option("mistake")?.to_string();

    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let taskq = b.queue("pool tasks", 0);
    let results = b.queue("pool results", 0);
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let workers: Vec<_> = (1..=size)
        .map(|i| b.declare_process(&format!("ForkPoolWorker-{i}"), i))
        .collect();

    worker_code(&mut b, &workers, (taskq, results), &seconds, sleep_us)?;

    let mut m = b.code(main);
    let parent_fmt = b.string("Parent process {}.");
    m.at(b.line("print('Parent process %s.' % os.getpid())")?)
        .emit(Instr::GetPid)
        .print(parent_fmt, 1);
    let pool_line = if size_knob == "cores" {
        b.line("p = Pool()")?
    } else {
        b.line(&format!("p = Pool({size})"))?
    };
    for &w in &workers {
        m.at(pool_line).emit(Instr::Start(w));
    }
    // The rest of Pool(): it starts its three handler threads. Measured, Pool(4)
    // returned after all four workers were waiting for tasks in 11 of 12 runs
    // (tools/measure/pool_startup.py), so the tasks find them all waiting and
    // race for them, as in CPython.
    m.emit(Instr::Work(POOL_SETUP_NS / crate::sim::WORK_UNIT_NS as u32));
    let apply = b.line("p.apply_async(long_time_task, args=(i,))")?;
    for i in 0..tasks {
        m.at(apply)
            .emit(Instr::LoadConst(i as i64))
            .emit(Instr::QueuePut {
                q: taskq,
                block: true,
            });
    }
    let waiting = b.string("Waiting for all subprocesses done...");
    m.at(b.line("print('Waiting for all subprocesses done...')")?)
        .print(waiting, 0);
    // An uncaught ValueError ends the main process with exit code 1; on its way
    // out, multiprocessing's exit handler terminates the pool's (daemonic) workers,
    // but only after it has stopped the pool's handler threads: the workers
    // meanwhile take their tasks and print `Run task`. The wait comes before the
    // traceback here, so that, as in CPython's output, the ValueError is the last
    // line and the `Run task` lines come before it.
    let fail = |m: &mut crate::program::ActorBuilder, msg, line| {
        m.at(line)
            .emit(Instr::Sleep(python.pool_exit_terminate_us()))
            .print(msg, 0);
        for &w in &workers {
            m.emit(Instr::Terminate(w));
        }
        m.emit(Instr::Exit(1));
    };
    if mistake == "join-before-close" {
        // 3.6 checked the order with an `assert` (tools/measure/mp_pool.py).
        let msg = b.string(if python == PyVersion::V3_6 {
            "Traceback (most recent call last): … AssertionError"
        } else {
            "Traceback (most recent call last): … ValueError: Pool is still running"
        });
        let line = b.line("p.join()  # before close()")?;
        fail(&mut m, msg, line);
        b.finish(m)?;
        return b.build();
    }
    // close() only marks the pool closed: no worker is told to stop yet.
    let close = b.string("p.close()");
    m.at(b.line("p.close()")?).emit(Instr::Nop(close));
    if mistake == "apply-after-close" {
        let msg = b.string("Traceback (most recent call last): … ValueError: Pool not running");
        let line = b.line("p.apply_async(long_time_task, args=(99,))  # after close()")?;
        fail(&mut m, msg, line);
        b.finish(m)?;
        return b.build();
    }
    // CPython's pool sends each worker its None ("no more tasks") only once every
    // task's result is back: its worker handler waits until the cache of pending
    // results is empty, then the task handler puts one None per worker
    // (multiprocessing/pool.py, _handle_workers and _handle_tasks, 3.8 to 3.13; 3.6
    // and 3.7 poll the cache every 0.1 s). Measured, no worker ended before the last
    // result on 3.6.15 to 3.13.0 (tools/measure/pool_worker_exit.py). The handler
    // threads are not actors here: join(), which waits for them, takes the results
    // and sends the sentinels in their place, then waits for the workers.
    join_code(&mut b, &mut m, (taskq, results), tasks, &workers)?;
    let done = b.string("All subprocesses done.");
    m.at(b.line("print('All subprocesses done.')")?)
        .print(done, 0)
        .emit(Instr::Exit(0));
    b.build_with(m)
}

/// `p.join()`: every task's result, then one None per worker, then each worker.
fn join_code(
    b: &mut ProgramBuilder,
    m: &mut crate::program::ActorBuilder,
    (taskq, results): (QueueId, QueueId),
    tasks: u32,
    workers: &[ActorId],
) -> Result<(), String> {
    let join = b.line("p.join()")?;
    m.at(join);
    let result = m.local("result", NONE);
    for _ in 0..tasks {
        m.emit(Instr::QueueGet {
            q: results,
            block: true,
        })
        .emit(Instr::StoreFast(result));
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
    Ok(())
}

/// Each worker's loop: CPython's pool worker takes a task (None ends it), runs
/// `long_time_task` on it and sends back its result.
fn worker_code(
    b: &mut ProgramBuilder,
    workers: &[ActorId],
    (taskq, results): (QueueId, QueueId),
    seconds: &str,
    sleep_us: u32,
) -> Result<(), String> {
    let def_line = b.line("def long_time_task(name):")?;
    let run_line = b.line("print('Run task %s (%s)...' % (name, os.getpid()))")?;
    let sleep_line = b.line(&format!("time.sleep({seconds})"))?;
    let done_line = b.line("print('Task %s done.' % name)")?;
    let call = b.string("long_time_task");
    let run_fmt = b.string("Run task {} ({})...");
    let done_fmt = b.string("Task {} done.");
    for &w in workers {
        let mut a = b.code(w);
        let task = a.local("name", 0);
        let exit = a.label();
        // The pool's own loop (not in the lesson's code): take a task, run it.
        a.at(def_line);
        let head = a.here();
        a.emit(Instr::QueueGet {
            q: taskq,
            block: true,
        })
        .emit(Instr::StoreFast(task))
        .emit(Instr::LoadFast(task))
        // `if task is None: break`, as CPython's worker loop does.
        .emit(Instr::LoadConst(NONE))
        .emit(Instr::BinaryOp(BinOp::Gt))
        .pop_jump_if_false(exit)
        .emit(Instr::Call(call));
        a.at(run_line)
            .emit(Instr::LoadFast(task))
            .emit(Instr::GetPid)
            .print(run_fmt, 2);
        a.at(sleep_line).emit(Instr::Sleep(sleep_us));
        a.at(done_line)
            .emit(Instr::LoadFast(task))
            .print(done_fmt, 1)
            .emit(Instr::Return);
        // Back in the pool's loop: the worker sends the task's outcome back to the
        // parent, then takes the next task. CPython sends `(job, i, (True, None))`;
        // here the task's number stands for it (a None would read as the pool's
        // stop signal).
        a.at(def_line)
            .emit(Instr::LoadFast(task))
            .emit(Instr::QueuePut {
                q: results,
                block: true,
            })
            .emit(Instr::JumpBackward(head));
        // The worker ends in the pool's loop (it got None), not in a print.
        a.at(def_line).place(exit).emit(Instr::Exit(0));
        b.finish(a)?;
    }
    Ok(())
}
