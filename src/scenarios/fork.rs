//! `os.fork()` returns twice: the parent gets the child's PID, the child gets 0.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorKind, Instr, Program, ProgramBuilder};

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let child = b.declare_process("fork child", 1);

    let start_line = b.line("print('Process (%s) start...' % os.getpid())")?;
    let fork_line = b.line("pid = os.fork()")?;
    let if_line = b.line("if pid == 0:")?;
    let child_line = b.line(
        "print('I am child process (%s) and my parent is %s.' % (os.getpid(), os.getppid()))",
    )?;
    let parent_line =
        b.line("print('I (%s) just created a child process (%s).' % (os.getpid(), pid))")?;
    let start_fmt = b.string("Process ({}) start...");
    let child_fmt = b.string("I am child process ({}) and my parent is {}.");
    let parent_fmt = b.string("I ({}) just created a child process ({}).");

    let mut m = b.code(main);
    let pid = m.local("pid", 0);
    m.at(start_line).emit(Instr::GetPid).print(start_fmt, 1);
    m.at(fork_line)
        .emit(Instr::Fork(child))
        .emit(Instr::StoreFast(pid));
    m.at(if_line).emit(Instr::LoadFast(pid));
    m.at(parent_line)
        .emit(Instr::GetPid)
        .emit(Instr::LoadFast(pid))
        .print(parent_fmt, 2)
        .emit(Instr::Exit(0));
    b.finish(m)?;

    let mut c = b.code(child);
    let pid = c.local("pid", 0);
    c.at(fork_line)
        .emit(Instr::ForkChild)
        .emit(Instr::StoreFast(pid));
    c.at(if_line).emit(Instr::LoadFast(pid));
    c.at(child_line)
        .emit(Instr::GetPid)
        .emit(Instr::GetPpid)
        .print(child_fmt, 2)
        .emit(Instr::Exit(0));
    b.build_with(c)
}
