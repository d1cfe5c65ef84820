//! The `thread-local` lesson: `threading.local()`, one dictionary per thread.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorKind, Instr, Program, ProgramBuilder};

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let bind = knobs.bool("bind")?;
    let main_reads = knobs.bool("main-reads")?;
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let main = b.declare("MainThread", ActorKind::Main, 0);
    let students = [("t1", "Alice", "Thread-A"), ("t2", "Bob", "Thread-B")];
    let threads: Vec<_> = students
        .iter()
        .map(|&(_, _, thread)| b.declare(thread, ActorKind::Thread, 0))
        .collect();

    let student = b.string("student");
    let process_student = b.string("process_student");
    let hello = b.string("Hello, {s} (in {thread})");
    let get_line = b.line("std = local_school.student")?;
    let print_line =
        b.line("print('Hello, %s (in %s)' % (std, threading.current_thread().name))")?;
    let call_line = b.line("process_student()")?;
    let set_line = if bind {
        Some(b.line("local_school.student = name")?)
    } else {
        None
    };
    for (&(_, who, _), &t) in students.iter().zip(&threads) {
        let who = b.string(who);
        let mut a = b.code(t);
        let name = a.local("name", who as i64);
        let std = a.local("std", 0);
        if let Some(line) = set_line {
            a.at(line).emit(Instr::LoadFast(name)).emit(Instr::TlsSet {
                attr: student,
                value_is_str: true,
            });
        }
        a.at(call_line).emit(Instr::Call(process_student));
        a.at(get_line)
            .emit(Instr::TlsGet(student))
            .emit(Instr::StoreFast(std));
        a.at(print_line)
            .emit(Instr::LoadFast(std))
            .print(hello, 1)
            .emit(Instr::Return)
            .emit(Instr::Exit(0));
        b.finish(a)?;
    }

    let thread_call = b.string("threading.Thread");
    let show = b.string("{s}");
    let mut m = b.code(main);
    for (&(var, who, thread), _) in students.iter().zip(&threads) {
        let line = b.line(&format!(
            "{var} = threading.Thread(target=process_thread, args=('{who}',), name='{thread}')"
        ))?;
        m.at(line).emit(Instr::Nop(thread_call));
    }
    for (&(var, _, _), &t) in students.iter().zip(&threads) {
        m.at(b.line(&format!("{var}.start()"))?)
            .emit(Instr::Start(t));
    }
    for (&(var, _, _), &t) in students.iter().zip(&threads) {
        m.at(b.line(&format!("{var}.join()"))?).emit(Instr::Join(t));
    }
    if main_reads {
        m.at(b.line("print(local_school.student)")?)
            .emit(Instr::TlsGet(student))
            .print(show, 1);
    }
    m.emit(Instr::Exit(0));
    b.build_with(m)
}
