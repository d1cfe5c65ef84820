//! Start methods: the same two children started by `fork`, `spawn` or
//! `forkserver`, with and without the `if __name__ == '__main__':` guard.
//!
//! - fork: `p.start()` forks the parent; the child goes straight to `f` with a
//!   copy of the parent's memory: the top level never runs again.
//! - spawn: `p.start()` starts a new interpreter (live: the playground's own binary,
//!   re-executed as a worker, given its program and actor explicitly); it imports
//!   the module as `__mp_main__`, so the top level runs again in every child.
//! - forkserver: the first `p.start()` starts a server process, which forks every
//!   child on request (a queue here); each child imports the module again, like a
//!   spawned one (tools/measure/start_methods_lesson.py: the `__mp_main__` lines are
//!   printed by the children, whose parent is the server). The parent is not the
//!   children's OS parent: the server waits for them and sends each exit code back.
//!
//! Without the guard, a spawned or forkserver child reaches `p.start()` while it is
//! still importing, and CPython refuses (RESULTS.md §15.2): the child ends with
//! exit code 1, the parent goes on.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorBuilder, ActorId, ActorKind, Instr, NONE, Program, ProgramBuilder};

/// The children the program starts, by the name `f` prints.
const CHILDREN: [&str; 2] = ["A", "B"];

/// CPython's error, as its last lines read on 3.6 to 3.13 (the message is one
/// sentence over two lines there).
const BOOTSTRAP: &str = "Traceback (most recent call last): … RuntimeError: An attempt has been made to start a new process before the current process has finished its bootstrapping phase.";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Fork,
    Spawn,
    ForkServer,
}

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let method = match knobs.option("method")? {
        "fork" => Method::Fork,
        "spawn" => Method::Spawn,
        "forkserver" => Method::ForkServer,
        other => {
            return Err(format!(
                "method must be fork, spawn or forkserver, not {other}"
            ));
        }
    };
    let guard = knobs.option("guard")? == "on";
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let children: Vec<ActorId> = (1..=CHILDREN.len() as u16)
        .map(|i| b.declare_process(&format!("Process-{i}"), i))
        .collect();
    let server = (method == Method::ForkServer)
        .then(|| b.declare_process("forkserver", CHILDREN.len() as u16 + 1));
    let requests = b.queue("forkserver requests", 0);
    let statuses: Vec<_> = CHILDREN
        .iter()
        .map(|n| b.queue(&format!("exit code of {n}"), 0))
        .collect();

    for (&c, name) in children.iter().zip(CHILDREN) {
        child_code(&mut b, c, name, method, guard)?;
    }
    if let Some(s) = server {
        let start = b.line("p.start()")?;
        let mut a = b.code(s);
        let pid = a.local("pid", 0);
        // The server waits for a request, forks the child, and goes back to wait.
        for &c in &children {
            a.at(start)
                .emit(Instr::QueueGet {
                    q: requests,
                    block: true,
                })
                .emit(Instr::StoreFast(pid))
                .emit(Instr::Fork(c))
                .emit(Instr::StoreFast(pid));
        }
        // It is their parent: it waits for each and tells the main process.
        let join = b.line("p.join()")?;
        for (&c, &q) in children.iter().zip(&statuses) {
            a.at(join)
                .emit(Instr::Join(c))
                .emit(Instr::ProcExitCode(c))
                .emit(Instr::QueuePut { q, block: true });
        }
        a.emit(Instr::Exit(0));
        b.finish(a)?;
    }

    let mut m = b.code(main);
    top_level(&mut b, &mut m, "__main__")?;
    let set_line = if guard {
        format!("mp.set_start_method('{}')", method_name(method))
    } else {
        format!("mp.set_start_method('{}', force=True)", method_name(method))
    };
    let set = b.string("mp.set_start_method");
    m.at(b.line(&set_line)?).emit(Instr::Nop(set));
    let make = b.string("mp.Process");
    m.at(b.line("ps = [mp.Process(target=f, args=(n,)) for n in 'AB']")?)
        .emit(Instr::Nop(make));
    let start = b.line("p.start()")?;
    let pid = m.local("pid", NONE);
    for (i, &c) in children.iter().enumerate() {
        m.at(start);
        match method {
            Method::Fork => {
                m.emit(Instr::Fork(c)).emit(Instr::StoreFast(pid));
            }
            Method::Spawn => {
                m.emit(Instr::Start(c));
            }
            Method::ForkServer => {
                if let (0, Some(s)) = (i, server) {
                    m.emit(Instr::Start(s));
                }
                m.emit(Instr::LoadConst(i as i64)).emit(Instr::QueuePut {
                    q: requests,
                    block: true,
                });
            }
        }
    }
    let join = b.line("p.join()")?;
    let codes: Vec<_> = CHILDREN
        .iter()
        .map(|n| m.local(&format!("exitcode {n}"), NONE))
        .collect();
    for ((&c, &q), &code) in children.iter().zip(&statuses).zip(&codes) {
        m.at(join);
        match method {
            Method::ForkServer => m.emit(Instr::QueueGet { q, block: true }),
            Method::Fork | Method::Spawn => m.emit(Instr::Join(c)).emit(Instr::ProcExitCode(c)),
        }
        .emit(Instr::StoreFast(code));
    }
    let done = b.string("parent done, exit codes [{}, {}]");
    m.at(b.line("print('parent done, exit codes', [p.exitcode for p in ps])")?);
    for &code in &codes {
        m.emit(Instr::LoadFast(code));
    }
    m.print(done, codes.len() as u8).emit(Instr::Exit(0));
    b.build_with(m)
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Fork => "fork",
        Method::Spawn => "spawn",
        Method::ForkServer => "forkserver",
    }
}

/// The module's top level: its print, run as `__main__` in the parent and as
/// `__mp_main__` in a child that imports the module again.
fn top_level(b: &mut ProgramBuilder, a: &mut ActorBuilder, name: &str) -> Result<(), String> {
    let line = b.line("print('top level: __name__ is %s' % __name__)")?;
    let text = b.string(&format!("top level: __name__ is {name}"));
    a.at(line).print(text, 0);
    Ok(())
}

/// A child: under spawn and forkserver it imports the module first (the top level
/// again, and without the guard `p.start()` again, which CPython refuses); then
/// it runs `f(name)`.
fn child_code(
    b: &mut ProgramBuilder,
    c: ActorId,
    name: &str,
    method: Method,
    guard: bool,
) -> Result<(), String> {
    let mut a = b.code(c);
    if method != Method::Fork {
        top_level(b, &mut a, "__mp_main__")?;
        if !guard {
            let set_line = format!("mp.set_start_method('{}', force=True)", method_name(method));
            let set = b.string("mp.set_start_method");
            a.at(b.line(&set_line)?).emit(Instr::Nop(set));
            let make = b.string("mp.Process");
            a.at(b.line("ps = [mp.Process(target=f, args=(n,)) for n in 'AB']")?)
                .emit(Instr::Nop(make));
            let error = b.string(BOOTSTRAP);
            a.at(b.line("p.start()")?)
                .print(error, 0)
                .emit(Instr::Exit(1));
            return b.finish(a);
        }
    }
    let call = b.string("f");
    a.at(b.line("def f(name):")?).emit(Instr::Call(call));
    let text = b.string(&format!("child {name} runs f"));
    a.at(b.line("print('child %s runs f' % name)")?)
        .print(text, 0)
        .emit(Instr::Exit(0));
    b.finish(a)
}
