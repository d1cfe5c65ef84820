//! The ticket sale: buyer processes read and rewrite a JSON file, with or without a Lock.

use crate::lesson::{Knobs, Lesson};
use crate::program::{ActorKind, BinOp, Instr, Program, ProgramBuilder};

/// The tutorial's delays: the network (0.1 s) and the write (0.2 s).
const NETWORK_US: u32 = 100_000;
const WRITE_US: u32 = 200_000;

pub fn build(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    if knobs.bool("as-written")? {
        return as_written(lesson, knobs);
    }
    let locked = knobs.bool("lock")?;
    let tickets = knobs.int("tickets")?;
    let buyers = u16::try_from(knobs.int("buyers")?)
        .ok()
        .filter(|n| (1..=32).contains(n))
        .ok_or_else(|| "buyers must be between 1 and 32".to_string())?;
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let file = b.shared_var("ticket.json", 0);
    b.expect_final(file, (tickets - buyers as i64).max(0));
    let lock = b.lock("lock");
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let procs: Vec<_> = (1..=buyers)
        .map(|i| b.declare_process(&format!("Process-{i}"), i))
        .collect();

    let run = b.string("run");
    let search = b.string("search");
    let buy = b.string("buy");
    let sees = b.string("buyer {} sees {} ticket(s) left");
    let got = b.string("buyer {} got a ticket");
    let sold_out = b.string("buyer {}: sold out");
    let search_call = b.line("search(i)")?;
    let search_read = b.line("count = json.load(f)['count']")?;
    let search_print = b.line("print('buyer %s sees %s ticket(s) left' % (i, count))")?;
    let buy_call = b.line("buy(i)")?;
    let buy_read = b.line("data = json.load(f)")?;
    let network = b.line("time.sleep(0.1)  # the network is slow")?;
    let check = b.line("if data['count'] > 0:")?;
    let decrement = b.line("data['count'] -= 1")?;
    let slow_write = b.line("time.sleep(0.2)  # so is the disk")?;
    let dump = b.line("json.dump(data, f)")?;
    let got_line = b.line("print('buyer %s got a ticket' % i)")?;
    let out_line = b.line("print('buyer %s: sold out' % i)")?;
    let lock_lines = if locked {
        Some((b.line("lock.acquire()")?, b.line("lock.release()")?))
    } else {
        None
    };
    let def_run = b.line("def run(i, lock):")?;
    for (n, &p) in procs.iter().enumerate() {
        let mut a = b.code(p);
        let i = a.local("i", n as i64);
        let count = a.local("count", 0);
        let data = a.local("data", 0);
        a.at(def_run).emit(Instr::Call(run));
        a.at(search_call).emit(Instr::Call(search));
        a.at(search_read)
            .emit(Instr::FileRead(file))
            .emit(Instr::StoreFast(count));
        a.at(search_print)
            .emit(Instr::LoadFast(i))
            .emit(Instr::LoadFast(count))
            .print(sees, 2)
            .emit(Instr::Return);
        if let Some((acquire, _)) = lock_lines {
            a.at(acquire).emit(Instr::Acquire(lock));
        }
        a.at(buy_call).emit(Instr::Call(buy));
        a.at(buy_read)
            .emit(Instr::FileRead(file))
            .emit(Instr::StoreFast(data));
        a.at(network).emit(Instr::Sleep(NETWORK_US));
        let sold_out_branch = a.label();
        a.at(check)
            .emit(Instr::LoadFast(data))
            .emit(Instr::LoadConst(0))
            .emit(Instr::BinaryOp(BinOp::Gt))
            .pop_jump_if_false(sold_out_branch);
        a.at(decrement)
            .emit(Instr::LoadFast(data))
            .emit(Instr::LoadConst(1))
            .emit(Instr::BinaryOp(BinOp::ISub))
            .emit(Instr::StoreFast(data));
        a.at(slow_write).emit(Instr::Sleep(WRITE_US));
        a.at(dump)
            .emit(Instr::LoadFast(data))
            .emit(Instr::FileWrite(file));
        a.at(got_line)
            .emit(Instr::LoadFast(i))
            .print(got, 1)
            .emit(Instr::Return);
        // Each branch ends the process on its own, so no forward jump is needed.
        if let Some((_, release)) = lock_lines {
            a.at(release).emit(Instr::Release(lock));
        }
        a.emit(Instr::Exit(0));
        a.place(sold_out_branch);
        a.at(out_line)
            .emit(Instr::LoadFast(i))
            .print(sold_out, 1)
            .emit(Instr::Return);
        if let Some((_, release)) = lock_lines {
            a.at(release).emit(Instr::Release(lock));
        }
        a.emit(Instr::Exit(0));
        b.finish(a)?;
    }

    let mut m = b.code(main);
    m.at(b.line(&format!("json.dump({{'count': {tickets}}}, f)"))?)
        .emit(Instr::LoadConst(tickets))
        .emit(Instr::FileWrite(file));
    let ctor = b.string("Process(target=run)");
    let ctor_line = b.line("p = Process(target=run, args=(i, lock))")?;
    let start = b.line("p.start()")?;
    for &p in &procs {
        m.at(ctor_line).emit(Instr::Nop(ctor));
        m.at(start).emit(Instr::Start(p));
    }
    m.emit(Instr::Exit(0));
    b.build_with(m)
}

/// The tutorial's `random.randint(1, 3)` seconds, stepped: its middle. What the
/// buyers print does not depend on the draw (each sleeps with the lock held, or,
/// without it, long after every buyer has read the count).
const RANDINT_US: u32 = 2_000_000;

/// The tutorial's program as it is written: `work(filename, lock)` buys under
/// `with lock:` (read, check, sleep, write, print its PID), and the main process
/// keeps its processes in `p_l`, joins them all and prints `主线程`.
fn as_written(lesson: &Lesson, knobs: &Knobs) -> Result<Program, String> {
    let locked = knobs.bool("lock")?;
    let tickets = knobs.int("tickets")?;
    let buyers = u16::try_from(knobs.int("buyers")?)
        .ok()
        .filter(|n| (1..=32).contains(n))
        .ok_or_else(|| "buyers must be between 1 and 32".to_string())?;
    let mut b = ProgramBuilder::new(&lesson.code(knobs));
    let file = b.shared_var("ticket.json", 0);
    b.expect_final(file, (tickets - buyers as i64).max(0));
    let lock = b.lock("lock");
    let main = b.declare("MainProcess", ActorKind::Main, 0);
    let procs: Vec<_> = (1..=buyers)
        .map(|i| b.declare_process(&format!("Process-{i}"), i))
        .collect();
    let work = b.string("work");
    let got = b.string("{} 购票成功");
    let failed = b.string("{} 购票失败");
    let def_line = b.line("def work(filename, lock):  # buy a ticket")?;
    let with_lock = if locked {
        Some(b.line("with lock:")?)
    } else {
        None
    };
    let read = b.line("dic = json.loads(f.read())")?;
    let check = b.line("if dic['count'] > 0:")?;
    let decrement = b.line("dic['count'] -= 1")?;
    let nap = b.line("time.sleep(random.randint(1, 3))  # the network is slow")?;
    let write = b.line("f.write(json.dumps(dic))")?;
    let got_line = b.line("print('%s 购票成功' % os.getpid())")?;
    let failed_line = b.line("print('%s 购票失败' % os.getpid())")?;
    for &p in &procs {
        let mut a = b.code(p);
        let dic = a.local("dic", 0);
        a.at(def_line).emit(Instr::Call(work));
        if let Some(l) = with_lock {
            a.at(l).emit(Instr::Acquire(lock));
        }
        a.at(read)
            .emit(Instr::FileRead(file))
            .emit(Instr::StoreFast(dic));
        let sold_out = a.label();
        a.at(check)
            .emit(Instr::LoadFast(dic))
            .emit(Instr::LoadConst(0))
            .emit(Instr::BinaryOp(BinOp::Gt))
            .pop_jump_if_false(sold_out);
        a.at(decrement)
            .emit(Instr::LoadFast(dic))
            .emit(Instr::LoadConst(1))
            .emit(Instr::BinaryOp(BinOp::ISub))
            .emit(Instr::StoreFast(dic));
        a.at(nap).emit(Instr::Sleep(RANDINT_US));
        a.at(write)
            .emit(Instr::LoadFast(dic))
            .emit(Instr::FileWrite(file));
        a.at(got_line).emit(Instr::GetPid).print(got, 1);
        // Leaving `with lock:` releases it; each branch ends the process.
        if let Some(l) = with_lock {
            a.at(l).emit(Instr::Release(lock));
        }
        a.emit(Instr::Return).emit(Instr::Exit(0));
        a.place(sold_out);
        a.at(failed_line).emit(Instr::GetPid).print(failed, 1);
        if let Some(l) = with_lock {
            a.at(l).emit(Instr::Release(lock));
        }
        a.emit(Instr::Return).emit(Instr::Exit(0));
        b.finish(a)?;
    }

    let mut m = b.code(main);
    m.at(b.line(&format!("f.write(json.dumps({{'count': {tickets}}}))"))?)
        .emit(Instr::LoadConst(tickets))
        .emit(Instr::FileWrite(file));
    let ctor = b.string("Process(target=work)");
    let ctor_line = b.line("p = Process(target=work, args=('ticket.json', lock))")?;
    let start = b.line("p.start()")?;
    for &p in &procs {
        m.at(ctor_line).emit(Instr::Nop(ctor));
        m.at(start).emit(Instr::Start(p));
    }
    let join = b.line("p.join()")?;
    for &p in &procs {
        m.at(join).emit(Instr::Join(p));
    }
    let done = b.string("主线程");
    m.at(b.line("print('主线程')")?).print(done, 0);
    m.emit(Instr::Exit(0));
    b.build_with(m)
}
