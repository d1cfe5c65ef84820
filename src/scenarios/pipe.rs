//! `Pipe()`: two processes send and receive over a duplex pipe; EOFError at the end.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorKind, Instr, Program, ProgramBuilder, py_repr};

/// The tutorial's string, sent by the child (`payload=str`).
const CHILD_SAYS: &str = "Hello shiyanlou";
/// The parent's answer (`payload=str`).
const PARENT_SAYS: &str = "Hello from the parent";

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let close_in_parent = knobs.bool("close")?;
    let text = knobs.option("payload")? == "str";
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    // What each side sends: the numbers, or the tutorial's strings, as `str`
    // values that a live pipe carries as their bytes.
    let (to_parent, to_child) = if text {
        (b.str_const(CHILD_SAYS), b.str_const(PARENT_SAYS))
    } else {
        (42, 43)
    };
    let send_line = |v: &str| format!("conn.send({v})");
    let (parent_conn, child_conn) = b.pipe("parent_conn", "child_conn");
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let p = b.declare_process("Process-1", 1);

    let call = b.string("f");
    let mut c = b.code(p);
    c.at(b.line("def f(conn):")?).emit(Instr::Call(call));
    let child_send = send_line(&if text {
        py_repr(CHILD_SAYS)
    } else {
        "42".into()
    });
    c.at(b.line(&child_send)?)
        .emit(Instr::LoadConst(to_parent))
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
    let parent_send = if text {
        py_repr(PARENT_SAYS)
    } else {
        "43".into()
    };
    m.at(b.line(&format!("parent_{}", send_line(&parent_send)))?)
        .emit(Instr::LoadConst(to_child))
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
