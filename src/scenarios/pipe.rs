//! `Pipe()`: two processes send and receive over a duplex pipe; EOFError at the end.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorKind, Instr, Program, ProgramBuilder};

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let close_in_parent = knobs.bool("close")?;
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let (parent_conn, child_conn) = b.pipe("parent_conn", "child_conn");
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let p = b.declare_process("Process-1", 1);

    let call = b.string("f");
    let mut c = b.code(p);
    c.at(b.line("def f(conn):")?).emit(Instr::Call(call));
    c.at(b.line("conn.send(42)")?)
        .emit(Instr::LoadConst(42))
        .emit(Instr::PipeSend(child_conn));
    let fmt = b.string("child got {}");
    // The child never sees EOF here: the parent always sends first.
    let never = c.label();
    c.at(b.line("print('child got', conn.recv())")?)
        .pipe_recv(child_conn, never)
        .print(fmt, 1);
    c.at(b.line("conn.close()")?)
        .emit(Instr::PipeClose(child_conn))
        .emit(Instr::Return)
        .emit(Instr::Exit(0));
    c.place(never);
    let eof = b.string("EOFError");
    c.emit(Instr::Raise(eof));
    b.finish(c)?;

    let mut m = b.code(main);
    let ctor = b.string("Pipe");
    m.at(b.line("parent_conn, child_conn = Pipe()")?)
        .emit(Instr::Nop(ctor));
    let ctor = b.string("Process(target=f)");
    m.at(b.line("p = Process(target=f, args=(child_conn,))")?)
        .emit(Instr::Nop(ctor));
    m.at(b.line("p.start()")?).emit(Instr::Start(p));
    if close_in_parent {
        m.at(b.line("child_conn.close()")?)
            .emit(Instr::PipeClose(child_conn));
    }
    let got = b.string("parent got {}");
    let first = m.label();
    m.at(b.line("print('parent got', parent_conn.recv())")?)
        .pipe_recv(parent_conn, first)
        .print(got, 1);
    m.at(b.line("parent_conn.send(43)")?)
        .emit(Instr::LoadConst(43))
        .emit(Instr::PipeSend(parent_conn));
    let handler = m.label();
    let try_line = b.line("try:")?;
    m.at(try_line).emit(Instr::Nop(b.string("try")));
    m.at(b.line("print('parent got', parent_conn.recv())  # a second time")?)
        .pipe_recv(parent_conn, handler)
        .print(got, 1);
    let join = b.line("p.join()")?;
    // No EOF: skip the handler by running the rest here, then end.
    m.at(join).emit(Instr::Join(p)).emit(Instr::Exit(0));
    m.place(handler);
    let eof_fmt = b.string("EOFError: the child closed its end");
    m.at(b.line("print('EOFError: the child closed its end')")?)
        .print(eof_fmt, 0);
    m.at(join).emit(Instr::Join(p)).emit(Instr::Exit(0));
    m.place(first);
    let eof = b.string("EOFError");
    m.emit(Instr::Raise(eof));
    b.build_with(m)
}
