//! `multiprocessing.Process`: start, join, name, pid, is_alive, exitcode, terminate.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorKind, Instr, Program, ProgramBuilder};

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let terminate = knobs.bool("terminate");
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let p = b.declare_process("Process-1", 1);
    let q = terminate.then(|| b.declare_process("Process-2", 2));

    let def_line = b.line("def run_proc(name):")?;
    let run_line = b.line("print('Run child process %s (%s)...' % (name, os.getpid()))")?;
    let call = b.string("run_proc");
    let mut c = b.code(p);
    c.at(def_line).emit(Instr::Call(call));
    let run_fmt = b.string("Run child process test ({})...");
    c.at(run_line)
        .emit(Instr::GetPid)
        .emit(Instr::Print {
            fmt: run_fmt,
            nargs: 1,
        })
        .emit(Instr::Return)
        .emit(Instr::Exit(0));
    b.finish(c)?;

    let mut m = b.code(main);
    let parent_fmt = b.string("Parent process {}.");
    m.at(b.line("print('Parent process %s.' % os.getpid())")?)
        .emit(Instr::GetPid)
        .emit(Instr::Print {
            fmt: parent_fmt,
            nargs: 1,
        });
    let ctor = b.string("Process(target=run_proc)");
    m.at(b.line("p = Process(target=run_proc, args=('test',))")?)
        .emit(Instr::Nop(ctor));
    let will_start = b.string("Child process will start.");
    m.at(b.line("print('Child process will start.')")?)
        .emit(Instr::Print {
            fmt: will_start,
            nargs: 0,
        });
    m.at(b.line("p.start()")?).emit(Instr::Start(p));
    m.at(b.line("p.join()")?).emit(Instr::Join(p));
    let end = b.string("Child process end.");
    m.at(b.line("print('Child process end.')")?)
        .emit(Instr::Print { fmt: end, nargs: 0 });
    let attrs = b.string("Process-1 {} {bool} {}");
    m.at(b.line("print(p.name, p.pid, p.is_alive(), p.exitcode)")?)
        .emit(Instr::ProcPid(p))
        .emit(Instr::ProcAlive(p))
        .emit(Instr::ProcExitCode(p))
        .emit(Instr::Print {
            fmt: attrs,
            nargs: 3,
        });
    if let Some(q) = q {
        let ctor = b.string("Process(target=time.sleep)");
        m.at(b.line("q = Process(target=time.sleep, args=(10,))")?)
            .emit(Instr::Nop(ctor));
        m.at(b.line("q.start()")?).emit(Instr::Start(q));
        m.at(b.line("q.terminate()")?).emit(Instr::Terminate(q));
        let alive = b.string("{bool}");
        m.at(b.line("print(q.is_alive())")?)
            .emit(Instr::ProcAlive(q))
            .emit(Instr::Print {
                fmt: alive,
                nargs: 1,
            });
        m.at(b.line("q.join()")?).emit(Instr::Join(q));
        let after = b.string("Process-2 {bool} {}");
        m.at(b.line("print(q.name, q.is_alive(), q.exitcode)")?)
            .emit(Instr::ProcAlive(q))
            .emit(Instr::ProcExitCode(q))
            .emit(Instr::Print {
                fmt: after,
                nargs: 2,
            });

        let sleep = b.string("time.sleep");
        let mut s = b.code(q);
        s.at(b.line("q = Process(target=time.sleep, args=(10,))")?)
            .emit(Instr::Call(sleep))
            .emit(Instr::Sleep(10_000_000))
            .emit(Instr::Exit(0));
        b.finish(s)?;
    }
    m.emit(Instr::Exit(0));
    b.finish(m)?;
    b.build()
}
