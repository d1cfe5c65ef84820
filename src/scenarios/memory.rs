//! A global list changed in a child process (the parent keeps its own copy) or
//! in a thread (one list, seen by both); then the ways to share between
//! processes: `multiprocessing.Value`, `Array` and `Manager().list()`.

use crate::lesson::{Knobs, Lesson};
use crate::program::pytext::list_pack;
use crate::program::{
    ActorBuilder, ActorId, ActorKind, BinOp, ConnId, Instr, LIST_APPEND, Program, ProgramBuilder,
    VarId,
};

/// What the list holds before the worker appends (the Array keeps a fourth slot).
const NUMBERS: [i64; 3] = [1, 2, 3];
/// What the worker adds.
const N: i64 = 4;
/// The manager's protocol, one value per request on its connection: an item
/// `>= 0` is `append(item)`, these two are `str(numbers)` and `shutdown()`.
const ASK_STR: i64 = -1;
const ASK_SHUTDOWN: i64 = -2;
/// The server's answer to `append` and `shutdown` (CPython's `('#RETURN',
/// None)`): 0, because a `None` read from a pipe is how the trace marks its end.
const DONE: i64 = 0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Share {
    None,
    Value,
    Array,
    Manager,
}

/// Where the shared thing lives, as the worker and the main process use it.
#[derive(Clone, Copy)]
enum Home {
    /// A variable (each process's own copy, or one in shared memory).
    Var(VarId),
    /// A list in the manager's server process, reached through `proxy`.
    Manager { proxy: ConnId },
}

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let thread = knobs.option("run-in")? == "thread";
    let share = match knobs.option("share")? {
        "none" => Share::None,
        "value" => Share::Value,
        "array" => Share::Array,
        "manager" => Share::Manager,
        other => {
            return Err(format!(
                "share must be none, value, array or manager, not {other}"
            ));
        }
    };
    let python = crate::sim::PyVersion::parse(knobs.choice("python").unwrap_or("3.13"))
        .unwrap_or(crate::sim::PyVersion::V3_13);
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let pack = |items: &[i64]| list_pack(items).ok_or("the list does not fit".to_string());
    let main_name = if thread { "MainThread" } else { "MainProcess" };
    let main = b.declare(main_name, ActorKind::Main, 0);
    // The manager's server is a process of its own, started first: CPython
    // names it after its class, and the worker is then the second process.
    let server = (share == Share::Manager).then(|| b.declare_process("SyncManager-1", 1));
    let worker = if thread {
        b.declare(&python.thread_name(1, "add"), ActorKind::Thread, 0)
    } else if server.is_some() {
        b.declare_process("Process-2", 2)
    } else {
        b.declare_process("Process-1", 1)
    };
    let home = match share {
        Share::None => Home::Var(b.var("numbers", pack(&NUMBERS)?)),
        Share::Value => Home::Var(b.shared_var("total.value", NUMBERS.iter().sum())),
        Share::Array => Home::Var(b.shared_var("numbers", pack(&[1, 2, 3, 0])?)),
        Share::Manager => {
            let list = b.var("numbers", pack(&NUMBERS)?);
            let (proxy, conn) = b.pipe("proxy", "server");
            if let Some(s) = server {
                serve(&mut b, s, list, conn)?;
            }
            Home::Manager { proxy }
        }
    };
    worker_code(&mut b, worker, share, home)?;

    let mut m = b.code(main);
    let ctor_line = match share {
        Share::Value => Some(("total = Value('i', 6)", "Value('i', 6)")),
        Share::Array => Some((
            "numbers = Array('i', [1, 2, 3, 0])",
            "Array('i', [1, 2, 3, 0])",
        )),
        Share::None | Share::Manager => None,
    };
    if let Some((line, label)) = ctor_line {
        let label = b.string(label);
        m.at(b.line(line)?).emit(Instr::Nop(label));
    }
    if let Some(s) = server {
        m.at(b.line("manager = Manager()")?).emit(Instr::Start(s));
        let label = b.string("manager.list([1, 2, 3])");
        m.at(b.line("numbers = manager.list([1, 2, 3])")?)
            .emit(Instr::Nop(label));
    }
    let kind = if thread { "Thread" } else { "Process" };
    let args = match share {
        Share::None => "(4,)",
        Share::Value => "(total, 4)",
        Share::Array | Share::Manager => "(numbers, 4)",
    };
    let ctor = b.string(&format!("{kind}(target=add)"));
    m.at(b.line(&format!("w = {kind}(target=add, args={args})"))?)
        .emit(Instr::Nop(ctor));
    m.at(b.line("w.start()")?).emit(Instr::Start(worker));
    m.at(b.line("w.join()")?).emit(Instr::Join(worker));
    let seen = seen_expr(share);
    m.at(b.line(&format!("print('main', os.getpid(), 'sees', {seen})"))?);
    print_seen(&mut b, &mut m, "main", home)?;
    if let (Some(s), Home::Manager { proxy }) = (server, home) {
        m.at(b.line("manager.shutdown()")?);
        call_manager(&mut m, proxy, ASK_SHUTDOWN);
        m.emit(Instr::Join(s));
    }
    m.emit(Instr::Exit(0));
    b.build_with(m)
}

/// What the program prints as the value it sees.
fn seen_expr(share: Share) -> &'static str {
    match share {
        Share::None | Share::Manager => "numbers",
        Share::Value => "total.value",
        Share::Array => "numbers[:]",
    }
}

/// `add`: the worker changes the list (or the Value), then prints what it sees.
fn worker_code(b: &mut ProgramBuilder, w: ActorId, share: Share, home: Home) -> Result<(), String> {
    let mut c = b.code(w);
    let n = c.local("n", N);
    let call = b.string("add");
    let def = match share {
        Share::None => "def add(n):",
        Share::Value => "def add(total, n):",
        Share::Array | Share::Manager => "def add(numbers, n):",
    };
    c.at(b.line(def)?).emit(Instr::Call(call));
    match (share, home) {
        (Share::Value, Home::Var(g)) => {
            c.at(b.line("total.value += n")?)
                .update_global(g, BinOp::IAdd, n);
        }
        (Share::Array, Home::Var(g)) => {
            c.at(b.line("numbers[3] = n")?)
                .emit(Instr::LoadFast(n))
                .emit(Instr::ListStore { var: g, index: 3 });
        }
        (_, Home::Var(g)) => {
            c.at(b.line("numbers.append(n)")?)
                .emit(Instr::LoadFast(n))
                .emit(Instr::ListStore {
                    var: g,
                    index: LIST_APPEND,
                });
        }
        (_, Home::Manager { proxy }) => {
            // The proxy's `append` is a request to the server and a wait for
            // its answer (CPython's `BaseProxy._callmethod`).
            c.at(b.line("numbers.append(n)")?).emit(Instr::LoadFast(n));
            send_and_wait(&mut c, proxy);
        }
    }
    let seen = seen_expr(share);
    c.at(b.line(&format!("print('worker', os.getpid(), 'sees', {seen})"))?);
    print_seen(b, &mut c, "worker", home)?;
    c.emit(Instr::Return).emit(Instr::Exit(0));
    b.finish(c)
}

/// `print(who, os.getpid(), 'sees', …)` at the current line.
fn print_seen(
    b: &mut ProgramBuilder,
    a: &mut ActorBuilder,
    who: &str,
    home: Home,
) -> Result<(), String> {
    a.emit(Instr::GetPid);
    let hole = match home {
        Home::Var(g) => {
            a.emit(Instr::LoadGlobal(g));
            // The Value holds a number; every other home a list.
            if b.program_var_is_list(g) {
                "{list}"
            } else {
                "{}"
            }
        }
        Home::Manager { proxy } => {
            // print() asks the proxy for str(numbers): one more round trip.
            call_manager(a, proxy, ASK_STR);
            "{list}"
        }
    };
    let fmt = b.string(&format!("{who} {{}} sees {hole}"));
    a.print(fmt, 2);
    Ok(())
}

/// Sends request `ask` on the proxy's connection and waits for the answer.
fn call_manager(a: &mut ActorBuilder, proxy: ConnId, ask: i64) {
    a.emit(Instr::LoadConst(ask));
    send_and_wait(a, proxy);
}

fn send_and_wait(a: &mut ActorBuilder, proxy: ConnId) {
    a.emit(Instr::PipeSend(proxy));
    let answered = a.label();
    a.pipe_recv(proxy, answered).place(answered);
}

/// The manager's server process: it owns the list and answers one request at a
/// time on its connection until it is told to shut down. (CPython serves each
/// client connection on a thread of its own; this program's calls never overlap,
/// so one loop answers them in the same order.)
fn serve(b: &mut ProgramBuilder, s: ActorId, list: VarId, conn: ConnId) -> Result<(), String> {
    let mut c = b.code(s);
    let req = c.local("request", 0);
    let label = b.string("Server.serve_forever");
    c.at(b.line("manager = Manager()")?)
        .emit(Instr::Call(label));
    let head = c.here();
    let (not_append, shutdown, gone) = (c.label(), c.label(), c.label());
    c.pipe_recv(conn, gone)
        .emit(Instr::StoreFast(req))
        .emit(Instr::LoadFast(req))
        .emit(Instr::LoadConst(ASK_STR))
        .emit(Instr::BinaryOp(BinOp::Gt))
        .pop_jump_if_false(not_append)
        .emit(Instr::LoadFast(req))
        .emit(Instr::ListStore {
            var: list,
            index: LIST_APPEND,
        })
        .emit(Instr::LoadConst(DONE))
        .emit(Instr::PipeSend(conn))
        .emit(Instr::JumpBackward(head))
        .place(not_append)
        .emit(Instr::LoadFast(req))
        .emit(Instr::LoadConst(ASK_SHUTDOWN))
        .emit(Instr::BinaryOp(BinOp::Gt))
        .pop_jump_if_false(shutdown)
        .emit(Instr::LoadGlobal(list))
        .emit(Instr::PipeSend(conn))
        .emit(Instr::JumpBackward(head))
        .place(shutdown)
        .emit(Instr::LoadConst(DONE))
        .emit(Instr::PipeSend(conn))
        .place(gone)
        .emit(Instr::Exit(0));
    b.finish(c)
}
