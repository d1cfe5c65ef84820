//! `subprocess.call` and `Popen(...).communicate(input)` with programs every Linux
//! machine has.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorKind, Instr, Program, ProgramBuilder};

/// Words of an argv, as [`Instr::RunProgram`] takes them.
fn argv(words: &[&str]) -> String {
    words.join("\u{1f}")
}

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let command = knobs.option("command")?.to_string();
    // What the program is, how the lesson shows it, and what it does.
    let (words, shown, call_line, out, code): (&[&str], &str, &str, &str, i8) =
        match command.as_str() {
            "echo" => (
                &["echo", "hello, world"],
                "$ echo hello, world",
                "r = subprocess.call(['echo', 'hello, world'])",
                "hello, world",
                0,
            ),
            "false" => (
                &["false"],
                "$ false",
                "r = subprocess.call(['false'])",
                "",
                1,
            ),
            "kill" => (
                &["sh", "-c", "kill -TERM $$"],
                "$ sh -c 'kill -TERM $$'",
                "r = subprocess.call(['sh', '-c', 'kill -TERM $$'])",
                "",
                -15,
            ),
            other => {
                return Err(format!(
                    "unknown command `{other}`; use echo, false or kill"
                ));
            }
        };
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    // The programs are processes of their own, named after the program.
    let called = b.declare_process(words[0], 1);
    let tr_actor = b.declare_process("tr", 2);
    let mut m = b.code(main);

    let shown_fmt = b.string(shown);
    m.at(b.line(&format!("print(\"{shown}\")"))?)
        .print(shown_fmt, 0);
    let r = m.local("r", 0);
    let (argv_s, none, out_s) = (b.string(&argv(words)), b.string(""), b.string(out));
    let call_line = b.line(call_line)?;
    m.at(call_line)
        .emit(Instr::RunProgram {
            argv: argv_s,
            input: none,
            sim_output: out_s,
            sim_code: code,
            child: called,
        })
        .emit(Instr::StoreFast(r));
    // call() lets the program write to the terminal Python writes to: the
    // program's own row prints it.
    program_code(
        &mut b,
        called,
        call_line,
        words,
        (!out.is_empty()).then_some(out_s),
        code,
    )?;
    let exit_fmt = b.string("Exit code: {}");
    m.at(b.line("print('Exit code:', r)")?)
        .emit(Instr::LoadFast(r))
        .print(exit_fmt, 1);

    let tr_fmt = b.string("$ tr a-z A-Z");
    m.at(b.line("print('$ tr a-z A-Z')")?).print(tr_fmt, 0);
    let ctor = b.string("subprocess.Popen");
    m.at(b.line(
        "p = subprocess.Popen(['tr', 'a-z', 'A-Z'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)",
    )?)
    .emit(Instr::Nop(ctor));
    let rc = m.local("p.returncode", 0);
    let (tr, input, upper) = (
        b.string(&argv(&["tr", "a-z", "A-Z"])),
        b.string("hello from python\n"),
        // tr's output ends with the newline of its input, and print() adds its
        // own: CPython shows a blank line after it.
        b.string("HELLO FROM PYTHON\n"),
    );
    let communicate = b.line("output, err = p.communicate(b'hello from python\\n')")?;
    m.at(communicate)
        .emit(Instr::RunProgram {
            argv: tr,
            input,
            sim_output: upper,
            sim_code: 0,
            child: tr_actor,
        })
        .emit(Instr::StoreFast(rc));
    // tr writes into the pipe Python reads: nothing of its own on the terminal.
    program_code(
        &mut b,
        tr_actor,
        communicate,
        &["tr", "a-z", "A-Z"],
        None,
        0,
    )?;
    m.at(b.line("print(output.decode('utf-8'))")?)
        .emit(Instr::PrintCaptured { skip_empty: false });
    m.at(b.line("print('Exit code:', p.returncode)")?)
        .emit(Instr::LoadFast(rc))
        .print(exit_fmt, 1)
        .emit(Instr::Exit(0));
    b.build_with(m)
}

/// The rows of an external program's process: it execs the program, prints
/// (`terminal`: what it writes to the shared terminal), and ends with `code`
/// (−N: killed by signal N).
fn program_code(
    b: &mut ProgramBuilder,
    actor: crate::program::ActorId,
    line: u32,
    words: &[&str],
    terminal: Option<crate::program::StrId>,
    code: i8,
) -> Result<(), String> {
    let exec = b.string(&format!("os.execvp {}", words.join(" ")));
    let mut c = b.code(actor);
    c.at(line).emit(Instr::Nop(exec));
    if let Some(text) = terminal {
        c.print(text, 0);
    }
    c.emit(Instr::Exit(code as i32));
    b.finish(c)
}
