//! `multiprocessing.Process`: target or subclass, start, join, name, pid, is_alive,
//! exitcode, terminate, daemon; and the tutorial's four processes, joined each,
//! with a timeout, or not at all.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorBuilder, ActorId, ActorKind, Instr, Program, ProgramBuilder};

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let join = knobs.option("join")?;
    if join != "one" {
        return four(lesson, knobs, join);
    }
    let terminate = knobs.bool("terminate")?;
    let daemon = knobs.bool("daemon")?;
    let subclass = knobs.option("style")? == "subclass";
    // CPython names a process after its class and a counter shared by all classes.
    let p_name = if subclass { "Worker-1" } else { "Process-1" };
    // `grandchild`: the daemon is named by `name='Daemon'`.
    let grandchild = daemon && knobs.bool("grandchild")?;
    let d_name = match (grandchild, terminate) {
        (true, _) => "Daemon",
        (false, true) => "Process-3",
        (false, false) => "Process-2",
    };
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let p = b.declare_process(p_name, 1);
    let q = terminate.then(|| b.declare_process("Process-2", 2));
    let d = daemon.then(|| b.declare_process(d_name, if terminate { 3 } else { 2 }));

    let (def_line, run_line, call, run_fmt) = if subclass {
        (
            b.line("def run(self):")?,
            b.line("print('Run child process %s (%s)...' % (self.name, os.getpid()))")?,
            "Worker.run",
            "Run child process Worker-1 ({})...",
        )
    } else {
        (
            b.line("def run_proc(name):")?,
            b.line("print('Run child process %s (%s)...' % (name, os.getpid()))")?,
            "run_proc",
            "Run child process test ({})...",
        )
    };
    let call = b.string(call);
    let mut c = b.code(p);
    c.at(def_line).emit(Instr::Call(call));
    let run_fmt = b.string(run_fmt);
    c.at(run_line)
        .emit(Instr::GetPid)
        .print(run_fmt, 1)
        .emit(Instr::Return)
        .emit(Instr::Exit(0));
    b.finish(c)?;

    let mut m = b.code(main);
    let parent_fmt = b.string("Parent process {}.");
    m.at(b.line("print('Parent process %s.' % os.getpid())")?)
        .emit(Instr::GetPid)
        .print(parent_fmt, 1);
    let (ctor, ctor_line) = if subclass {
        ("Worker()", "p = Worker()")
    } else {
        (
            "Process(target=run_proc)",
            "p = Process(target=run_proc, args=('test',))",
        )
    };
    let ctor = b.string(ctor);
    m.at(b.line(ctor_line)?).emit(Instr::Nop(ctor));
    let will_start = b.string("Child process will start.");
    m.at(b.line("print('Child process will start.')")?)
        .print(will_start, 0);
    m.at(b.line("p.start()")?).emit(Instr::Start(p));
    m.at(b.line("p.join()")?).emit(Instr::Join(p));
    let end = b.string("Child process end.");
    m.at(b.line("print('Child process end.')")?).print(end, 0);
    let attrs = b.string(&format!("{p_name} {{}} {{bool}} {{}}"));
    m.at(b.line("print(p.name, p.pid, p.is_alive(), p.exitcode)")?)
        .emit(Instr::ProcPid(p))
        .emit(Instr::ProcAlive(p))
        .emit(Instr::ProcExitCode(p))
        .print(attrs, 3);
    if let Some(q) = q {
        terminated_child(&mut b, &mut m, q)?;
    }
    if let Some(d) = d {
        daemon_child(&mut b, &mut m, d, d_name, grandchild)?;
    }
    m.emit(Instr::Exit(0));
    b.build_with(m)
}

/// `q`: a child started on `time.sleep(10)`, terminated at once, then joined.
fn terminated_child(
    b: &mut ProgramBuilder,
    m: &mut ActorBuilder,
    q: ActorId,
) -> Result<(), String> {
    let ctor = b.string("Process(target=time.sleep)");
    m.at(b.line("q = Process(target=time.sleep, args=(10,))")?)
        .emit(Instr::Nop(ctor));
    m.at(b.line("q.start()")?).emit(Instr::Start(q));
    m.at(b.line("q.terminate()")?).emit(Instr::Terminate(q));
    let alive = b.string("{bool}");
    m.at(b.line("print(q.is_alive())")?)
        .emit(Instr::ProcAlive(q))
        .print(alive, 1);
    m.at(b.line("q.join()")?).emit(Instr::Join(q));
    let after = b.string("Process-2 {bool} {}");
    m.at(b.line("print(q.name, q.is_alive(), q.exitcode)")?)
        .emit(Instr::ProcAlive(q))
        .emit(Instr::ProcExitCode(q))
        .print(after, 2);

    let sleep = b.string("time.sleep");
    let mut s = b.code(q);
    s.at(b.line("q = Process(target=time.sleep, args=(10,))")?)
        .emit(Instr::Call(sleep))
        .emit(Instr::Sleep(10_000_000))
        .emit(Instr::Exit(0));
    b.finish(s)
}

/// `d`: a daemonic child that the parent's exit terminates before its last line;
/// with `grandchild`, made with `name=` and `kwargs=`, it raises CPython's
/// AssertionError when it starts a child of its own (3.6–3.13, the same text).
fn daemon_child(
    b: &mut ProgramBuilder,
    m: &mut ActorBuilder,
    d: ActorId,
    d_name: &str,
    grandchild: bool,
) -> Result<(), String> {
    let (ctor, ctor_line) = if grandchild {
        (
            "Process(target=run_daemon, name='Daemon', args=(10,), kwargs={'greeting': 'Hello'})",
            "d = Process(target=run_daemon, name='Daemon', args=(10,), kwargs={'greeting': 'Hello'})",
        )
    } else {
        (
            "Process(target=run_daemon)",
            "d = Process(target=run_daemon)",
        )
    };
    let ctor = b.string(ctor);
    m.at(b.line(ctor_line)?).emit(Instr::Nop(ctor));
    let flag = b.string("d.daemon = True");
    m.at(b.line("d.daemon = True")?).emit(Instr::Nop(flag));
    m.at(b.line("d.start()")?).emit(Instr::Start(d));
    m.at(b.line("time.sleep(1)")?).emit(Instr::Sleep(1_000_000));
    let ends = b.string(&format!("Parent process ends. {d_name} {{bool}}"));
    m.at(b.line("print('Parent process ends.', d.name, d.is_alive())")?)
        .emit(Instr::ProcAlive(d))
        .print(ends, 1);
    // multiprocessing's atexit handler: SIGTERM to every daemonic child still
    // alive, then a join, so the daemon never reaches its last line.
    m.at(b.line("# on exit, multiprocessing terminates daemonic children, then joins them")?)
        .emit(Instr::Terminate(d))
        .emit(Instr::Join(d));

    let call = b.string("run_daemon");
    let done = b.string("Daemon child ends.");
    let mut s = b.code(d);
    if grandchild {
        s.at(b.line("def run_daemon(seconds, greeting):")?)
            .emit(Instr::Call(call));
        let hello = b.string("Hello from Daemon ({})...");
        s.at(b.line(
            "print('%s from %s (%s)...' % (greeting, current_process().name, os.getpid()))",
        )?)
        .emit(Instr::GetPid)
        .print(hello, 1);
        // Process.start() asserts first: the grandchild never exists.
        let refused =
            b.string("AssertionError: daemonic processes are not allowed to have children");
        s.at(b.line("Process(target=time.sleep, args=(seconds,)).start()")?)
            .emit(Instr::Raise(refused));
        s.at(b.line("time.sleep(seconds)")?)
            .emit(Instr::Sleep(10_000_000));
    } else {
        s.at(b.line("def run_daemon():")?).emit(Instr::Call(call));
        let starts = b.string("Daemon child starts ({})...");
        s.at(b.line("print('Daemon child starts (%s)...' % os.getpid())")?)
            .emit(Instr::GetPid)
            .print(starts, 1);
        s.at(b.line("time.sleep(10)")?)
            .emit(Instr::Sleep(10_000_000));
    }
    s.at(b.line("print('Daemon child ends.')")?)
        .print(done, 0)
        .emit(Instr::Return)
        .emit(Instr::Exit(0));
    b.finish(s)
}

/// The tutorial's four processes (`piao`): each prints, sleeps its seconds and
/// prints again; the tutorial draws `random.randrange(1, 5)`, the lesson fixes
/// one draw (3, 1, 4, 2) so the order of the last lines is the same every run.
const PIAO: [(&str, u32); 4] = [("e", 3), ("a", 1), ("w", 4), ("y", 2)];

/// The four processes and the main process's `join` (`each`, `timeout`: only
/// `p1.join(0.5)`, `none`); what it does not join, multiprocessing's exit
/// handler joins after the main line.
fn four(lesson: &Lesson, knobs: &Knobs, join: &str) -> Result<Program, String> {
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let ps: Vec<ActorId> = (1..=PIAO.len() as u16)
        .map(|i| b.declare_process(&format!("Process-{i}"), i))
        .collect();
    let call = b.string("piao");
    for (&p, (name, seconds)) in ps.iter().zip(PIAO) {
        let mut c = b.code(p);
        c.at(b.line("def piao(name, seconds):")?)
            .emit(Instr::Call(call));
        let starts = b.string(&format!("{name} piao"));
        c.at(b.line("print('%s piao' % name)")?).print(starts, 0);
        c.at(b.line("time.sleep(seconds)  # the tutorial: random.randrange(1, 5)")?)
            .emit(Instr::Sleep(seconds * 1_000_000));
        let ends = b.string(&format!("{name} piao end"));
        c.at(b.line("print('%s piao end' % name)")?)
            .print(ends, 0)
            .emit(Instr::Return)
            .emit(Instr::Exit(0));
        b.finish(c)?;
    }

    let mut m = b.code(main);
    for (i, (name, seconds)) in PIAO.iter().enumerate() {
        let text = format!("Process(target=piao, args=('{name}', {seconds}))");
        let ctor = b.string(&text);
        m.at(b.line(&format!("p{} = {text}", i + 1))?)
            .emit(Instr::Nop(ctor));
    }
    for (i, &p) in ps.iter().enumerate() {
        m.at(b.line(&format!("p{}.start()", i + 1))?)
            .emit(Instr::Start(p));
    }
    match join {
        "each" => {
            for (i, &p) in ps.iter().enumerate() {
                m.at(b.line(&format!("p{}.join()", i + 1))?)
                    .emit(Instr::Join(p));
            }
        }
        "timeout" => {
            m.at(b.line("p1.join(0.5)")?).emit(Instr::JoinFor {
                t: ps[0],
                timeout_us: 500_000,
            });
            let attrs = b.string("Process-1 {bool} {}");
            m.at(b.line("print(p1.name, p1.is_alive(), p1.exitcode)")?)
                .emit(Instr::ProcAlive(ps[0]))
                .emit(Instr::ProcExitCode(ps[0]))
                .print(attrs, 2);
        }
        "none" => {}
        other => {
            return Err(format!(
                "join must be one, each, timeout or none, not {other}"
            ));
        }
    }
    let main_line = b.string("主线程");
    m.at(b.line("print('主线程')")?).print(main_line, 0);
    if join != "each" {
        // multiprocessing's atexit handler joins every child still running.
        m.at(b.line("# on exit, multiprocessing joins the children still running")?);
        for &p in &ps {
            m.emit(Instr::Join(p));
        }
    }
    m.emit(Instr::Exit(0));
    b.build_with(m)
}
