//! print() on a terminal versus a pipe: each process's `sys.stdout` buffer,
//! copied by `os.fork()`, flushed by `Process.start()` and at exit, lost when
//! `terminate()` kills the process.

use crate::lesson::{Knobs, Lesson};
use crate::program::{
    ActorBuilder, ActorId, ActorKind, BinOp, FlushBy, Instr, NONE, Program, ProgramBuilder, Stdout,
    StrId, Terminal,
};

/// How every print of the program writes: where stdout goes and the fix chosen.
#[derive(Clone, Copy)]
struct Out {
    stdout: Stdout,
    flush: bool,
    /// `python -u`: the empty format of a print's second write, its end.
    split: Option<StrId>,
}

impl Out {
    /// The line as the code shows it: `flush=True` added under the flush fix.
    fn line(self, b: &ProgramBuilder, call: &str) -> Result<u32, String> {
        match self.flush {
            true => {
                let open = call.strip_suffix(')').unwrap_or(call);
                let comma = if open.ends_with('(') { "" } else { ", " };
                b.line(&format!("{open}{comma}flush=True)"))
            }
            false => b.line(call),
        }
    }

    /// One `print`: one write of text and end into the buffer; under `python -u`
    /// two writes, the text, then the end (`print()` alone: only the end), as
    /// CPython's print makes one `file.write` of each and an unbuffered stdout
    /// makes each one `write(2)` (RESULTS §19.4, §19.6).
    fn print(self, c: &mut ActorBuilder, fmt: StrId, nargs: u8, space_end: bool) {
        let write = |fmt, nargs, end| Instr::BufPrint {
            fmt,
            nargs,
            stdout: self.stdout,
            space_end,
            flush: self.flush,
            end,
        };
        match self.split {
            None => c.emit(write(fmt, nargs, true)),
            Some(empty) if fmt == empty && nargs == 0 => c.emit(write(empty, 0, true)),
            Some(empty) => c.emit(write(fmt, nargs, false)).emit(write(empty, 0, true)),
        };
    }
}

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let fix = knobs.option("fix")?;
    let out = Out {
        stdout: match (knobs.option("stdout")?, fix) {
            (_, "unbuffered") => Stdout::Unbuffered,
            ("tty", _) => Stdout::Tty,
            _ => Stdout::Pipe,
        },
        flush: fix == "flush",
        split: None,
    };
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let out = Out {
        split: (out.stdout == Stdout::Unbuffered).then(|| b.string("")),
        ..out
    };
    // Live, every process's stdout is a real terminal or a real pipe.
    b.terminal(match knobs.option("stdout")? {
        "tty" => Terminal::Tty,
        _ => Terminal::Pipe,
    });
    match knobs.option("show")? {
        "process" => process(&mut b, out)?,
        "terminate" => terminate(&mut b, out)?,
        "end" => end_space(&mut b, out)?,
        "pool" => pool(&mut b, out)?,
        _ => fork(&mut b, out)?,
    }
    b.build()
}

/// The interpreter's flush as the process ends normally, then its end.
fn exit(c: &mut ActorBuilder) {
    c.emit(Instr::Flush(FlushBy::Exit)).emit(Instr::Exit(0));
}

/// The tutorial's `os.fork()` example, the parent waiting for its child.
fn fork(b: &mut ProgramBuilder, out: Out) -> Result<(), String> {
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let child = b.declare_process("fork child", 1);
    let start_line = out.line(b, "print('Process (%s) start...' % os.getpid())")?;
    let fork_line = b.line("pid = os.fork()")?;
    let if_line = b.line("if pid == 0:")?;
    let child_line = out.line(
        b,
        "print('I am child process (%s) and my parent is %s.' % (os.getpid(), os.getppid()))",
    )?;
    let parent_line = out.line(
        b,
        "print('I (%s) just created a child process (%s).' % (os.getpid(), pid))",
    )?;
    let wait_line = b.line("os.waitpid(pid, 0)")?;
    let start_fmt = b.string("Process ({}) start...");
    let child_fmt = b.string("I am child process ({}) and my parent is {}.");
    let parent_fmt = b.string("I ({}) just created a child process ({}).");

    let mut m = b.code(main);
    let pid = m.local("pid", 0);
    m.at(start_line).emit(Instr::GetPid);
    out.print(&mut m, start_fmt, 1, false);
    m.at(fork_line)
        .emit(Instr::Fork(child))
        .emit(Instr::StoreFast(pid));
    m.at(if_line).emit(Instr::LoadFast(pid));
    m.at(parent_line)
        .emit(Instr::GetPid)
        .emit(Instr::LoadFast(pid));
    out.print(&mut m, parent_fmt, 2, false);
    m.at(wait_line).emit(Instr::Join(child));
    exit(&mut m);
    b.finish(m)?;

    let mut c = b.code(child);
    let pid = c.local("pid", 0);
    c.at(fork_line)
        .emit(Instr::ForkChild)
        .emit(Instr::StoreFast(pid));
    c.at(if_line).emit(Instr::LoadFast(pid));
    c.at(child_line).emit(Instr::GetPid).emit(Instr::GetPpid);
    out.print(&mut c, child_fmt, 2, false);
    exit(&mut c);
    b.finish(c)
}

/// The tutorial's `Process` example: multiprocessing flushes before it forks.
fn process(b: &mut ProgramBuilder, out: Out) -> Result<(), String> {
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let p = b.declare_process("Process-1", 1);
    let call = b.string("run_proc");
    let run_fmt = b.string("Run child process test ({})...");
    let mut c = b.code(p);
    c.at(b.line("def run_proc(name):")?).emit(Instr::Call(call));
    c.at(out.line(
        b,
        "print('Run child process %s (%s)...' % (name, os.getpid()))",
    )?)
    .emit(Instr::GetPid);
    out.print(&mut c, run_fmt, 1, false);
    c.emit(Instr::Return);
    exit(&mut c);
    b.finish(c)?;

    let mut m = b.code(main);
    let parent_fmt = b.string("Parent process {}.");
    m.at(out.line(b, "print('Parent process %s.' % os.getpid())")?)
        .emit(Instr::GetPid);
    out.print(&mut m, parent_fmt, 1, false);
    let ctor = b.string("Process(target=run_proc)");
    m.at(b.line("p = Process(target=run_proc, args=('test',))")?)
        .emit(Instr::Nop(ctor));
    start(b, &mut m, p)?;
    m.at(b.line("p.join()")?).emit(Instr::Join(p));
    let end = b.string("Child process end.");
    m.at(out.line(b, "print('Child process end.')")?);
    out.print(&mut m, end, 0, false);
    exit(&mut m);
    b.finish(m)
}

/// `p.start()`: multiprocessing flushes stdout (and stderr) before it forks.
fn start(b: &ProgramBuilder, m: &mut ActorBuilder, p: ActorId) -> Result<(), String> {
    m.at(b.line("p.start()")?)
        .emit(Instr::Flush(FlushBy::Start))
        .emit(Instr::Start(p));
    Ok(())
}

/// A child killed by `terminate()` while its line waits in its buffer.
fn terminate(b: &mut ProgramBuilder, out: Out) -> Result<(), String> {
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let p = b.declare_process("Process-1", 1);
    let call = b.string("child");
    let line = b.string("child: this line is in my buffer");
    let mut c = b.code(p);
    c.at(b.line("def child():")?).emit(Instr::Call(call));
    c.at(out.line(b, "print('child: this line is in my buffer')")?);
    out.print(&mut c, line, 0, false);
    c.at(b.line("time.sleep(5)")?).emit(Instr::Sleep(5_000_000));
    c.emit(Instr::Return);
    exit(&mut c);
    b.finish(c)?;

    let mut m = b.code(main);
    let ctor = b.string("Process(target=child)");
    m.at(b.line("p = Process(target=child)")?)
        .emit(Instr::Nop(ctor));
    start(b, &mut m, p)?;
    m.at(b.line("time.sleep(0.5)")?).emit(Instr::Sleep(500_000));
    m.at(b.line("p.terminate()")?).emit(Instr::Terminate(p));
    m.at(b.line("p.join()")?).emit(Instr::Join(p));
    let code = b.string("parent: exitcode {}");
    m.at(out.line(b, "print('parent: exitcode', p.exitcode)")?)
        .emit(Instr::ProcExitCode(p));
    out.print(&mut m, code, 1, false);
    exit(&mut m);
    b.finish(m)
}

/// `print(i, end=' ')`: no newline, so even a line-buffered terminal keeps it.
fn end_space(b: &mut ProgramBuilder, out: Out) -> Result<(), String> {
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let mut m = b.code(main);
    // The loop's counter runs 1 to 5, as `range(1, 6)` does.
    let i = m.local("i", 0);
    let done = m.label();
    let head = m.at(b.line("for i in range(1, 6):")?).for_range(i, 5, done);
    let digit = b.string("{}");
    m.at(out.line(b, "print(i, end=' ')")?)
        .emit(Instr::LoadFast(i));
    out.print(&mut m, digit, 1, true);
    m.at(b.line("time.sleep(0.2)")?).emit(Instr::Sleep(200_000));
    m.end_loop(head, done);
    let empty = b.string("");
    m.at(out.line(b, "print()")?);
    out.print(&mut m, empty, 0, false);
    exit(&mut m);
    b.finish(m)
}

/// How many workers `Pool(2)` starts and how many tasks the pool example sends.
const POOL_WORKERS: u16 = 2;
const POOL_TASKS: i64 = 6;

/// A `Pool(2)` whose workers print: each worker's prints wait in its own buffer
/// and, on a pipe, come out together when it exits at `p.join()` (RESULTS §15.1,
/// §15.12). Each worker forks from MainProcess, which multiprocessing flushes
/// first; the worker loop is the pool lesson's (take a task, `None` ends it).
fn pool(b: &mut ProgramBuilder, out: Out) -> Result<(), String> {
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let taskq = b.queue("pool tasks", 0);
    let workers: Vec<ActorId> = (1..=POOL_WORKERS)
        .map(|i| b.declare_process(&format!("ForkPoolWorker-{i}"), i))
        .collect();
    let def_line = b.line("def task(i):")?;
    let run_line = out.line(b, "print('Run task %s (%s)...' % (i, os.getpid()))")?;
    let sleep_line = b.line("time.sleep(0.05)")?;
    let done_line = out.line(b, "print('Task %s done (%s).' % (i, os.getpid()))")?;
    let call = b.string("task");
    let run_fmt = b.string("Run task {} ({})...");
    let done_fmt = b.string("Task {} done ({}).");
    for &w in &workers {
        let mut a = b.code(w);
        let task = a.local("i", 0);
        let exit_at = a.label();
        a.at(def_line);
        let head = a.here();
        a.emit(Instr::QueueGet {
            q: taskq,
            block: true,
        })
        .emit(Instr::StoreFast(task))
        .emit(Instr::LoadFast(task))
        .emit(Instr::LoadConst(NONE))
        .emit(Instr::BinaryOp(BinOp::Gt))
        .pop_jump_if_false(exit_at)
        .emit(Instr::Call(call));
        a.at(run_line)
            .emit(Instr::LoadFast(task))
            .emit(Instr::GetPid);
        out.print(&mut a, run_fmt, 2, false);
        a.at(sleep_line).emit(Instr::Sleep(50_000));
        a.at(done_line)
            .emit(Instr::LoadFast(task))
            .emit(Instr::GetPid);
        out.print(&mut a, done_fmt, 2, false);
        a.emit(Instr::Return).emit(Instr::JumpBackward(head));
        // The worker got None: it leaves the pool's loop and the process ends,
        // and only then does its buffer go out.
        a.at(def_line).place(exit_at);
        exit(&mut a);
        b.finish(a)?;
    }

    let mut m = b.code(main);
    let pool_line = b.line(&format!("p = Pool({POOL_WORKERS})"))?;
    for &w in &workers {
        m.at(pool_line)
            .emit(Instr::Flush(FlushBy::Start))
            .emit(Instr::Start(w));
    }
    let apply = b.line("p.apply_async(task, args=(i,))")?;
    for i in 0..POOL_TASKS {
        m.at(apply).emit(Instr::LoadConst(i)).emit(Instr::QueuePut {
            q: taskq,
            block: true,
        });
    }
    let close = b.line("p.close()")?;
    for _ in &workers {
        m.at(close)
            .emit(Instr::LoadConst(NONE))
            .emit(Instr::QueuePut {
                q: taskq,
                block: true,
            });
    }
    let join = b.line("p.join()")?;
    for &w in &workers {
        m.at(join).emit(Instr::Join(w));
    }
    let done = b.string("All subprocesses done.");
    m.at(out.line(b, "print('All subprocesses done.')")?);
    out.print(&mut m, done, 0, false);
    exit(&mut m);
    b.finish(m)
}
