//! A live thread as a backend of the one interpreter (src/interp/): a real OS
//! thread, shared variables as atomics loaded and stored in separate steps, real
//! locks, the process's real GIL; it blocks in the OS and records what a stepped
//! replay needs (record.rs).

use super::gil::{Gil, Taken};
use super::{
    LiveMsg, POLL, Recorder, Shared, WORK_SLICE, process_cpu_ns, record, say, send, spawn, spin,
    stopping, watchdog,
};
use crate::interp::barrier::BarrierState;
use crate::interp::{Backend, Cost, Flow, Frame, Take};
use crate::program::{
    ActorId, ConnId, Instr, LockId, Pc, Program, QueueId, Stdout, StrId, Value, VarId,
};
use crate::trace::EventKind;
use parking_lot::RawMutex;
use parking_lot::lock_api::{RawMutex as _, RawMutexTimed as _};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What proves this thread holds a lock: a lesson's lock is acquired and released
/// by separate instructions, so it cannot live in a scoped guard.
type Token = <RawMutex as parking_lot::lock_api::RawMutex>::Guard;

/// One live thread running its actor.
struct Thread<'a> {
    sh: &'a Arc<Shared>,
    a: ActorId,
    gil: Option<&'a Gil>,
    r: Recorder<'a>,
    log: record::ThreadLog,
    stack: Vec<Value>,
    locals: Vec<Value>,
    tls: Vec<(StrId, Value)>,
    held: Vec<Option<Token>>,
}

/// Runs actor `a` on this OS thread to its end (or until the run stops).
pub(super) fn run_actor(sh: &Arc<Shared>, a: ActorId) {
    let actor = &sh.program.actors[a as usize];
    let mut t = Thread {
        sh,
        a,
        gil: sh
            .cfg
            .gil
            .has_gil()
            .then(|| &sh.gils[actor.process as usize]),
        r: Recorder::new(sh, a),
        log: record::ThreadLog::default(),
        stack: Vec::with_capacity(8),
        locals: actor.locals.clone(),
        tls: Vec::new(),
        held: sh.locks.iter().map(|_| None).collect(),
    };
    let mut pc: Pc = 0;
    if t.take(pc) {
        while !stopping(sh) {
            let Some(&ins) = actor.code.get(pc as usize) else {
                break;
            };
            match crate::interp::exec(&mut t, ins, pc) {
                Flow::Next(n) => pc = n,
                Flow::Stop | Flow::End(_) => break,
            }
        }
    }
    t.finish(pc);
}

impl Thread<'_> {
    /// Takes the GIL (if the model has one); false when the run stopped meanwhile.
    fn take(&mut self, pc: Pc) -> bool {
        if let Some(g) = self.gil {
            if g.take(self.a, &self.sh.stop) == Taken::Stopped {
                return false;
            }
            self.r.rec(EventKind::GilTake, pc, -1);
        }
        true
    }

    /// Lets the GIL go (`forced`: another thread asked for it).
    fn drop_gil(&mut self, pc: Pc, forced: bool) {
        // A thread that already let go (it blocked, then the run stopped) has no
        // GIL to drop, and must not say it did.
        if let Some(g) = self.gil
            && g.holds(self.a)
        {
            self.r.rec(EventKind::GilDrop, pc, forced as Value);
            g.release(self.a, forced, &self.sh.stop);
        }
    }

    /// Records a block on `on` for the timeline and the deadlock watchdog
    /// (`what`), and lets the GIL go.
    fn block(&mut self, pc: Pc, on: Value, what: u64) {
        self.r.rec(EventKind::Block, pc, on);
        self.sh.block_on[self.a as usize].store(what, Ordering::SeqCst);
        self.drop_gil(pc, false);
        self.r.flush();
    }

    /// The block is over: the thread wakes (`by`) and takes the GIL back.
    fn unblock(&mut self, pc: Pc, by: Value) -> Result<(), Flow> {
        self.sh.block_on[self.a as usize].store(0, Ordering::SeqCst);
        self.sh.progress.fetch_add(1, Ordering::SeqCst);
        self.r.rec(EventKind::Wake, pc, by);
        if !self.take(pc) {
            return Err(Flow::Stop);
        }
        Ok(())
    }

    /// A line printed, with its place in the run's order of lines.
    fn say(&mut self, text: String) -> Value {
        let index = say(self.sh, self.a, text);
        self.log
            .push(record::Entry::new(record::Op::Print, 0, index as u64));
        index
    }

    /// The thread's end: a stopped run's locks are given back, the GIL let go, the
    /// record handed in, and whoever joins it woken.
    fn finish(mut self, pc: Pc) {
        let (sh, a) = (self.sh, self.a);
        // A thread that ends holding a lock keeps it, as in Python; a stopped run
        // gives its locks back so that no other thread waits for them.
        for (l, t) in self.held.iter_mut().enumerate().filter(|_| stopping(sh)) {
            if let Some(t) = t.take() {
                sh.lock_holder[l].store(-1, Ordering::SeqCst);
                // SAFETY: the token comes from this thread's own acquire.
                unsafe { sh.locks[l].unlock(t) }
            }
        }
        self.drop_gil(pc, false);
        self.r.flush();
        sh.logs.lock().push((a, std::mem::take(&mut self.log)));
        {
            let _g = sh.done_lock.lock();
            sh.done[a as usize].store(true, Ordering::SeqCst);
            sh.done_cond.notify_all();
        }
        if sh.alive.fetch_sub(1, Ordering::SeqCst) == 1 {
            send(sh, LiveMsg::Finished);
        }
    }
}

impl Backend for Thread<'_> {
    fn program(&self) -> &Program {
        &self.sh.program
    }
    fn actor(&self) -> ActorId {
        self.a
    }
    #[inline(always)]
    fn frame(&mut self) -> Frame<'_> {
        Frame {
            stack: &mut self.stack,
            locals: &mut self.locals,
            tls: &mut self.tls,
        }
    }

    #[inline(always)]
    fn went(&mut self, ins: Instr, pc: Pc, value: Value, next: Pc, _cost: Cost) -> Flow {
        self.r.rec(EventKind::Exec, pc, value);
        if let Some(g) = self.gil
            && g.drop_requested()
            && self.sh.cfg.gil.may_switch_after(ins)
        {
            self.drop_gil(next, true);
            if !self.take(next) {
                return Flow::Stop;
            }
        }
        Flow::Next(next)
    }
    fn exit(&mut self, _ins: Instr, pc: Pc, code: i32) -> Flow {
        self.r.rec(EventKind::Exec, pc, code as Value);
        Flow::End(code)
    }
    fn uncaught(&mut self, _ins: Instr, pc: Pc, text: String) -> Flow {
        let index = self.say(text);
        self.r.rec(EventKind::Exec, pc, index);
        Flow::End(1)
    }
    fn raise(&mut self, ins: Instr, pc: Pc, text: String) -> Flow {
        // Never here (processes run on workers); ends the thread as an exception would.
        self.uncaught(ins, pc, text)
    }

    #[inline(always)]
    fn load(&mut self, g: VarId) -> Value {
        // A real read of shared memory; the write is a separate step.
        let (v, ver) = self.sh.versions[g as usize].load(&self.sh.vars[g as usize]);
        self.log.push(record::Entry::new(record::Op::Load, g, ver));
        v
    }
    #[inline(always)]
    fn store(&mut self, g: VarId, v: Value) {
        let ver = self.sh.versions[g as usize].store(&self.sh.vars[g as usize], v);
        self.log.push(record::Entry::new(record::Op::Store, g, ver));
    }
    fn file_read(&mut self, g: VarId) -> Result<Value, String> {
        // Programs with files run on workers; here a file is its variable.
        Ok(self.load(g))
    }
    fn file_write(&mut self, g: VarId, v: Value) -> Result<(), String> {
        self.store(g, v);
        Ok(())
    }

    fn acquire(&mut self, pc: Pc, l: LockId) -> Result<(), Flow> {
        let sh = self.sh;
        let lock = &sh.locks[l as usize];
        if let Some(t) = lock.try_lock() {
            self.held[l as usize] = Some(t);
        } else {
            self.block(pc, l as Value, watchdog::on_lock(l, pc));
            self.held[l as usize] = loop {
                if let Some(t) = lock.try_lock_for(POLL) {
                    // A stopped run's threads give their locks back; the waiter
                    // that gets one then must not run on with it.
                    if stopping(sh) {
                        // SAFETY: the token comes from the try_lock above.
                        unsafe { lock.unlock(t) }
                        return Err(Flow::Stop);
                    }
                    break Some(t);
                }
                if stopping(sh) {
                    return Err(Flow::Stop);
                }
            };
            sh.lock_holder[l as usize].store(self.a as i32, Ordering::SeqCst);
            self.unblock(pc, -1)?;
        }
        sh.lock_holder[l as usize].store(self.a as i32, Ordering::SeqCst);
        let n = sh.lock_counts[l as usize].bump();
        self.log.push(record::Entry::new(record::Op::Acquire, l, n));
        Ok(())
    }
    fn release(&mut self, _ins: Instr, pc: Pc, l: LockId, next: Pc) -> Flow {
        self.r.rec(EventKind::Exec, pc, l as Value);
        if let Some(t) = self.held[l as usize].take() {
            self.sh.lock_holder[l as usize].store(-1, Ordering::SeqCst);
            // SAFETY: the token comes from this thread's own acquire.
            unsafe { self.sh.locks[l as usize].unlock(t) }
        }
        Flow::Next(next)
    }
    fn start(&mut self, _pc: Pc, t: ActorId) {
        spawn(self.sh, t);
    }
    fn join(&mut self, pc: Pc, t: ActorId) -> Result<(), Flow> {
        let sh = self.sh;
        if sh.done[t as usize].load(Ordering::SeqCst) {
            return Ok(());
        }
        self.block(pc, t as Value, watchdog::on_join(t, pc));
        let mut g = sh.done_lock.lock();
        while !sh.done[t as usize].load(Ordering::SeqCst) {
            if stopping(sh) {
                return Err(Flow::Stop);
            }
            sh.done_cond.wait_for(&mut g, POLL);
        }
        drop(g);
        if stopping(sh) {
            return Err(Flow::Stop);
        }
        self.unblock(pc, t as Value)
    }
    fn print(&mut self, text: String) -> Value {
        self.say(text)
    }
    // Never here: a program with a stdout buffer runs on worker processes.
    fn print_open(&mut self, text: String) -> Value {
        self.say(text)
    }
    fn sleep(&mut self, _ins: Instr, pc: Pc, us: u32, next: Pc) -> Flow {
        self.r.rec(EventKind::Exec, pc, us as Value);
        self.drop_gil(pc, false);
        self.r.flush();
        let until = Instant::now() + Duration::from_secs_f64(us as f64 / 1e6 / self.sh.speed);
        while Instant::now() < until {
            if stopping(self.sh) {
                return Flow::Stop;
            }
            std::thread::sleep(until.saturating_duration_since(Instant::now()).min(POLL));
        }
        self.r.rec(EventKind::Wake, pc, -1);
        match self.take(pc) {
            true => Flow::Next(next),
            false => Flow::Stop,
        }
    }
    fn work(&mut self, pc: Pc, units: u32) -> Result<(), Flow> {
        let mut left = units;
        while left > 0 {
            let n = left.min(WORK_SLICE);
            spin(n);
            left -= n;
            if stopping(self.sh) {
                return Err(Flow::Stop);
            }
            // The countdown loop's back-edges are switch points in every model.
            if let Some(g) = self.gil
                && g.drop_requested()
            {
                self.drop_gil(pc, true);
                if !self.take(pc) {
                    return Err(Flow::Stop);
                }
            }
        }
        Ok(())
    }
    fn clock(&mut self, cpu: bool) -> Value {
        (if cpu {
            process_cpu_ns()
        } else {
            self.sh.t0.elapsed().as_nanos() as u64
        }) as Value
    }

    // A program with processes runs on worker processes (process.rs, worker.rs),
    // never on these threads: `Program::uses_processes` sends every program with
    // a process operation there. These answers are never asked for.
    fn fork(&mut self, _ins: Instr, _pc: Pc, _t: ActorId) -> Result<Value, Flow> {
        Ok(0)
    }
    fn pid(&mut self) -> Value {
        std::process::id() as Value
    }
    fn ident(&mut self) -> Value {
        super::real_ident()
    }
    fn ppid(&mut self) -> Value {
        0
    }
    fn proc_pid(&mut self, _t: ActorId) -> Value {
        crate::program::NONE
    }
    fn proc_alive(&mut self, _t: ActorId) -> Value {
        0
    }
    fn proc_exit_code(&mut self, _t: ActorId) -> Value {
        crate::program::NONE
    }
    fn terminate(&mut self, _t: ActorId) {}
    fn queue_room(&mut self, _pc: Pc, _q: QueueId, _block: bool) -> Result<bool, Flow> {
        Ok(true)
    }
    fn queue_put(&mut self, _q: QueueId, _v: Value) -> Result<(), String> {
        Ok(())
    }
    fn queue_get(&mut self, _pc: Pc, _q: QueueId, _block: bool) -> Result<Take, Flow> {
        Ok(Take::Closed)
    }
    fn queue_ready(&mut self, _q: QueueId) -> bool {
        false
    }
    fn pipe_send(&mut self, _c: ConnId, _v: Value) -> bool {
        false
    }
    fn pipe_recv(&mut self, _pc: Pc, _c: ConnId) -> Result<Option<Value>, Flow> {
        Ok(None)
    }
    fn pipe_close(&mut self, _c: ConnId) {}
    fn run_program(
        &mut self,
        _pc: Pc,
        _argv: StrId,
        _input: StrId,
        _sim_output: StrId,
        _child: ActorId,
    ) -> Result<Value, Flow> {
        Ok(127)
    }
    fn captured(&self) -> &str {
        ""
    }
    // Queues are between processes: such programs run on worker processes.
    fn queue_ask(&mut self, _q: QueueId, _ask: crate::program::QueueAsk) -> Value {
        0
    }
    fn queue_room_within(&mut self, _pc: Pc, _q: QueueId, _us: u32) -> Result<bool, Flow> {
        Ok(true)
    }
    fn queue_get_within(&mut self, _pc: Pc, _q: QueueId, _us: u32) -> Result<Take, Flow> {
        Ok(Take::Closed)
    }
    // Never here: a program with a stdout buffer runs on worker processes.
    fn stdout_add(&mut self, text: &str) -> usize {
        text.len()
    }
    fn stdout_take(&mut self) -> String {
        String::new()
    }
    fn stdout_is(&mut self, asked: Stdout) -> Stdout {
        asked
    }

    fn cond_wait(&mut self, ins: Instr, pc: Pc, l: LockId, next: Pc) -> Flow {
        // On the waiters before the lock goes: a notify made as soon as another
        // thread takes the lock finds this one (CPython appends its waiter lock
        // before `_release_save`).
        self.sh.cond_waiters.lock()[l as usize].push_back(self.a);
        self.release(ins, pc, l, next)
    }
    fn cond_sleep(&mut self, pc: Pc, l: LockId) -> Result<(), Flow> {
        let (sh, me) = (self.sh, self.a);
        let waiting = |w: &Vec<std::collections::VecDeque<ActorId>>| w[l as usize].contains(&me);
        if !waiting(&sh.cond_waiters.lock()) {
            return Ok(());
        }
        self.block(pc, l as Value, watchdog::on_cond(l, pc));
        let mut g = sh.cond_waiters.lock();
        while waiting(&g) {
            if stopping(sh) {
                return Err(Flow::Stop);
            }
            sh.cond_changed.wait_for(&mut g, POLL);
        }
        drop(g);
        self.unblock(pc, -1)
    }
    fn cond_notify(&mut self, l: LockId, all: bool) -> Value {
        let mut g = self.sh.cond_waiters.lock();
        let waiters = &mut g[l as usize];
        let n = if all {
            waiters.len()
        } else {
            waiters.len().min(1)
        };
        waiters.drain(..n);
        drop(g);
        if n > 0 {
            self.sh.cond_changed.notify_all();
        }
        n as Value
    }

    fn barrier_arrive(&mut self, pc: Pc, l: LockId, parties: u8) -> Result<Option<Value>, Flow> {
        let sh = self.sh;
        let may_enter = |g: &Vec<BarrierState>| g[l as usize].may_enter();
        if !may_enter(&sh.barriers.lock()) {
            self.block(pc, l as Value, watchdog::on_cond(l, pc));
            let mut g = sh.barriers.lock();
            while !may_enter(&g) {
                if stopping(sh) {
                    return Err(Flow::Stop);
                }
                sh.barrier_changed.wait_for(&mut g, POLL);
            }
            drop(g);
            self.unblock(pc, -1)?;
        }
        // Another thread may have tripped the barrier since: look again under
        // the lock, as `_enter` does.
        let mut g = sh.barriers.lock();
        if !may_enter(&g) {
            drop(g);
            return self.barrier_arrive(pc, l, parties);
        }
        let index = g[l as usize].arrive(parties);
        drop(g);
        sh.barrier_changed.notify_all();
        Ok(index)
    }
    fn barrier_sleep(&mut self, pc: Pc, l: LockId, timeout_us: u32) -> Result<bool, Flow> {
        let sh = self.sh;
        let released = |g: &Vec<BarrierState>| g[l as usize].released();
        if !released(&sh.barriers.lock()) {
            // A timed wait always ends: the watchdog does not count it as stuck.
            let what = match timeout_us {
                0 => watchdog::on_cond(l, pc),
                _ => 0,
            };
            self.block(pc, l as Value, what);
            let until = (timeout_us > 0).then(|| {
                Instant::now() + Duration::from_secs_f64(timeout_us as f64 / 1e6 / sh.speed)
            });
            let mut g = sh.barriers.lock();
            while !released(&g) {
                if stopping(sh) {
                    return Err(Flow::Stop);
                }
                if until.is_some_and(|u| Instant::now() >= u) {
                    // `_wait` timed out: it breaks the barrier for every party.
                    g[l as usize].break_();
                    break;
                }
                let left = until.map_or(POLL, |u| u.saturating_duration_since(Instant::now()));
                sh.barrier_changed.wait_for(&mut g, left.min(POLL));
            }
            drop(g);
            self.unblock(pc, -1)?;
        }
        let passed = sh.barriers.lock()[l as usize].leave();
        sh.barrier_changed.notify_all();
        Ok(passed)
    }
    fn barrier_abort(&mut self, l: LockId) {
        self.sh.barriers.lock()[l as usize].break_();
        self.sh.barrier_changed.notify_all();
    }
    fn sem_acquire(&mut self, pc: Pc, g: VarId) -> Result<Value, Flow> {
        let sh = self.sh;
        let cell = &sh.vars[g as usize];
        // One atomic step: a counter above 0 loses one.
        let take = || {
            cell.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
                (v > 0).then(|| v - 1)
            })
            .ok()
            .map(|v| v - 1)
        };
        if let Some(v) = take() {
            return Ok(v);
        }
        self.block(pc, g as Value, watchdog::on_var(g, pc));
        let v = self.wait_var(take)?;
        self.unblock(pc, -1)?;
        Ok(v)
    }
    fn sem_release(&mut self, g: VarId, bound: u16) -> Result<Value, Value> {
        let cell = &self.sh.vars[g as usize];
        let v = cell.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
            (bound == 0 || v < bound as Value).then_some(v + 1)
        })?;
        self.var_changed();
        Ok(v + 1)
    }
    fn event_set(&mut self, g: VarId, on: bool) {
        self.sh.vars[g as usize].store(on as Value, Ordering::SeqCst);
        if on {
            self.var_changed();
        }
    }
    fn event_wait(&mut self, pc: Pc, g: VarId, timeout_us: u32) -> Result<bool, Flow> {
        let sh = self.sh;
        let set = || (sh.vars[g as usize].load(Ordering::SeqCst) != 0).then_some(true);
        if set().is_some() {
            return Ok(true);
        }
        let until = (timeout_us > 0)
            .then(|| Instant::now() + Duration::from_secs_f64(timeout_us as f64 / 1e6 / sh.speed));
        // A timed wait ends by itself: the watchdog counts it as a sleeper.
        let what = if until.is_some() {
            0
        } else {
            watchdog::on_var(g, pc)
        };
        self.block(pc, g as Value, what);
        let got = self.wait_var(|| match (set(), until) {
            (Some(_), _) => Some(true),
            (None, Some(u)) if Instant::now() >= u => Some(false),
            (None, _) => None,
        })?;
        self.unblock(pc, -1)?;
        Ok(got)
    }
    fn join_within(&mut self, pc: Pc, t: ActorId, timeout_us: u32) -> Result<(), Flow> {
        let sh = self.sh;
        if sh.done[t as usize].load(Ordering::SeqCst) {
            return Ok(());
        }
        let wait = Duration::from_secs_f64(timeout_us as f64 / 1e6 / sh.speed);
        let until = Instant::now() + wait;
        // A wait with a deadline never lasts for ever: the watchdog is not told (0).
        self.block(pc, t as Value, 0);
        let mut g = sh.done_lock.lock();
        while !sh.done[t as usize].load(Ordering::SeqCst) {
            let left = until.saturating_duration_since(Instant::now());
            if stopping(sh) || left.is_zero() {
                break;
            }
            sh.done_cond.wait_for(&mut g, POLL.min(left));
        }
        drop(g);
        if stopping(sh) {
            return Err(Flow::Stop);
        }
        // Woken by `t`'s end, or by the clock (-1: "wakes up").
        let ended = sh.done[t as usize].load(Ordering::SeqCst);
        self.unblock(pc, if ended { t as Value } else { -1 })
    }
    // An asyncio program runs on one OS thread, its tasks on the event loop
    // of src/live/aio.rs, never here. Asked anyway, a thread answers as the
    // calls they stand for would on threads.
    fn aio_sleep(&mut self, ins: Instr, pc: Pc, us: u32, next: Pc) -> Flow {
        self.sleep(ins, pc, us, next)
    }
    fn aio_block(&mut self, ins: Instr, pc: Pc, us: u32, next: Pc) -> Flow {
        std::thread::sleep(Duration::from_secs_f64(us as f64 / 1e6 / self.sh.speed));
        self.went(ins, pc, us as Value, next, Cost::Instr)
    }
    fn aio_acquire(&mut self, pc: Pc, l: LockId) -> Result<(), Flow> {
        self.acquire(pc, l)
    }
    fn aio_release(&mut self, ins: Instr, pc: Pc, l: LockId, next: Pc) -> Flow {
        self.release(ins, pc, l, next)
    }
}

impl Thread<'_> {
    /// Waits, without the GIL, until `ready` gives a value; a change of a
    /// semaphore's counter or an event's flag wakes it, and it looks again at
    /// least every [`POLL`].
    fn wait_var<T>(&self, ready: impl Fn() -> Option<T>) -> Result<T, Flow> {
        let sh = self.sh;
        let mut g = sh.cond_waiters.lock();
        loop {
            if let Some(v) = ready() {
                return Ok(v);
            }
            if stopping(sh) {
                return Err(Flow::Stop);
            }
            sh.cond_changed.wait_for(&mut g, POLL);
        }
    }

    /// Wakes the threads in [`Thread::wait_var`]: taking the mutex first means
    /// none of them is between its look and its wait.
    fn var_changed(&self) {
        let g = self.sh.cond_waiters.lock();
        self.sh.cond_changed.notify_all();
        drop(g);
    }
}
