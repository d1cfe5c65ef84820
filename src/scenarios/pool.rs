//! `Pool(n)`: n worker processes take tasks from one queue; close, join, and the
//! two mistakes CPython refuses.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorKind, BinOp, Instr, NONE, Program, ProgramBuilder};

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let size_knob = knobs.choice("size").unwrap_or("4").to_string();
    let size: u16 = if size_knob == "cores" {
        // Pool() asks the OS: os.process_cpu_count() on 3.13, os.cpu_count()
        // before; a seeded replay then depends on the machine, which the lesson says.
        crate::sim::PyVersion::parse(knobs.choice("python").unwrap_or("3.13"))
            .unwrap_or(crate::sim::PyVersion::V3_13)
            .pool_default_size()
    } else {
        size_knob
            .parse()
            .ok()
            .filter(|n| (1..=16).contains(n))
            .ok_or_else(|| format!("pool size must be `cores` or 1 to 16, not {size_knob}"))?
    };
    let tasks =
        u32::try_from(knobs.int("tasks", 5)).map_err(|_| "tasks must be 0 or more".to_string())?;
    let seconds = knobs.choice("seconds").unwrap_or("0.5").to_string();
    let sleep_us = seconds
        .parse::<f64>()
        .ok()
        .filter(|s| (0.0..=60.0).contains(s))
        .map(|s| (s * 1e6) as u32)
        .ok_or_else(|| format!("seconds must be from 0 to 60, not {seconds}"))?;
    let mistake = knobs.choice("mistake").unwrap_or("none").to_string();

    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let taskq = b.queue("pool tasks", 0);
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let workers: Vec<_> = (1..=size)
        .map(|i| b.declare_process(&format!("ForkPoolWorker-{i}"), i))
        .collect();

    let def_line = b.line("def long_time_task(name):")?;
    let run_line = b.line("print('Run task %s (%s)...' % (name, os.getpid()))")?;
    let sleep_line = b.line(&format!("time.sleep({seconds})"))?;
    let done_line = b.line("print('Task %s done.' % name)")?;
    let call = b.string("long_time_task");
    let run_fmt = b.string("Run task {} ({})...");
    let done_fmt = b.string("Task {} done.");
    for &w in &workers {
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
            .emit(Instr::Return)
            .emit(Instr::JumpBackward(head));
        // The worker ends in the pool's loop (it got None), not in a print.
        a.at(def_line).place(exit).emit(Instr::Exit(0));
        b.finish(a)?;
    }

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
    // out, multiprocessing terminates the pool's (daemonic) workers.
    let fail = |m: &mut crate::program::ActorBuilder, msg, line| {
        m.at(line).print(msg, 0);
        for &w in &workers {
            m.emit(Instr::Terminate(w));
        }
        m.emit(Instr::Exit(1));
    };
    if mistake == "join-before-close" {
        let msg =
            b.string("Traceback (most recent call last): … ValueError: Pool is still running");
        let line = b.line("p.join()  # before close()")?;
        fail(&mut m, msg, line);
        b.finish(m)?;
        return b.build();
    }
    let close = b.line("p.close()")?;
    for _ in &workers {
        // close(): every worker gets None, CPython's "no more tasks" sentinel.
        m.at(close)
            .emit(Instr::LoadConst(NONE))
            .emit(Instr::QueuePut {
                q: taskq,
                block: true,
            });
    }
    if mistake == "apply-after-close" {
        let msg = b.string("Traceback (most recent call last): … ValueError: Pool not running");
        let line = b.line("p.apply_async(long_time_task, args=(99,))  # after close()")?;
        fail(&mut m, msg, line);
        b.finish(m)?;
        return b.build();
    }
    let join = b.line("p.join()")?;
    for &w in &workers {
        m.at(join).emit(Instr::Join(w));
    }
    let done = b.string("All subprocesses done.");
    m.at(b.line("print('All subprocesses done.')")?)
        .print(done, 0)
        .emit(Instr::Exit(0));
    b.build_with(m)
}
