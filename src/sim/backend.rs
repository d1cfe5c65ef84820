//! The simulator as a backend of the one interpreter (src/interp/): virtual time,
//! and an actor that would block is marked blocked, for the scheduler to pass over
//! until something wakes it and it runs the instruction again.

use super::{INSTR_NS, PRINT_NS, RunState, Sim, WORK_UNIT_NS, sim_pid};
use crate::interp::{Backend, Cost, Flow, Frame, Take};
use crate::program::{
    ActorId, ConnId, Instr, LockId, Pc, Program, QueueId, Stdout, StrId, Value, VarId,
};

/// One actor of the simulator, running one instruction.
pub(super) struct SimActor<'s> {
    pub(super) sim: &'s mut Sim,
    pub(super) a: ActorId,
}

impl SimActor<'_> {
    /// The actor waits (recorded as a block on `on`); the scheduler retries it
    /// once it is woken.
    fn block(&mut self, on: Value) -> Flow {
        self.sim.block(self.a, on);
        Flow::Stop
    }
}

/// Simulated `threading.get_ident()` values are this plus the actor's number: a
/// stand-in, since a simulated thread has no `pthread_self()`. Real idents are
/// large numbers (addresses) that change from run to run.
pub const SIM_IDENT_BASE: Value = 7000;

/// The `threading.get_ident()` the simulator gives actor `a`.
pub fn sim_ident(a: ActorId) -> Value {
    SIM_IDENT_BASE + a as Value
}

impl Backend for SimActor<'_> {
    fn program(&self) -> &Program {
        &self.sim.program
    }
    fn actor(&self) -> ActorId {
        self.a
    }
    #[inline(always)]
    fn frame(&mut self) -> Frame<'_> {
        let rt = &mut self.sim.actors[self.a as usize];
        Frame {
            stack: &mut rt.stack,
            locals: &mut rt.locals,
            tls: &mut rt.tls,
        }
    }

    fn went(&mut self, ins: Instr, _pc: Pc, value: Value, next: Pc, cost: Cost) -> Flow {
        let (s, a) = (&mut *self.sim, self.a);
        s.event(a, crate::trace::EventKind::Exec, value);
        s.flush_wakes();
        let ns = match cost {
            Cost::Instr => INSTR_NS,
            Cost::Print => PRINT_NS,
            Cost::Work(units) => units as u64 * WORK_UNIT_NS,
            // Time passes for everyone, with no CPU spent.
            Cost::Held(us) => {
                s.now += us as u64 * 1_000;
                INSTR_NS
            }
        };
        s.now += ns;
        s.cpu_ns += ns;
        let rt = &mut s.actors[a as usize];
        rt.pc = next;
        rt.last = Some(ins);
        Flow::Next(next)
    }
    fn exit(&mut self, ins: Instr, _pc: Pc, code: i32) -> Flow {
        self.sim.exit(self.a, code, ins);
        Flow::End(code)
    }
    fn uncaught(&mut self, ins: Instr, _pc: Pc, text: String) -> Flow {
        self.sim.die_uncaught(self.a, ins, text);
        Flow::End(1)
    }
    fn raise(&mut self, _ins: Instr, _pc: Pc, text: String) -> Flow {
        self.sim.raise_in_process(self.a, text);
        Flow::End(1)
    }

    fn load(&mut self, g: VarId) -> Value {
        *self.sim.var_mut(self.a, g)
    }
    fn store(&mut self, g: VarId, v: Value) {
        *self.sim.var_mut(self.a, g) = v;
    }
    fn file_read(&mut self, g: VarId) -> Result<Value, String> {
        Ok(self.load(g))
    }
    fn file_write(&mut self, g: VarId, v: Value) -> Result<(), String> {
        self.store(g, v);
        Ok(())
    }

    fn acquire(&mut self, _pc: Pc, l: LockId) -> Result<(), Flow> {
        if self.sim.locks[l as usize].is_some() {
            return Err(self.block(l as Value));
        }
        self.sim.locks[l as usize] = Some(self.a);
        Ok(())
    }
    fn release(&mut self, ins: Instr, _pc: Pc, l: LockId, next: Pc) -> Flow {
        self.sim.release(self.a, l, ins, next);
        Flow::Next(next)
    }
    fn start(&mut self, _pc: Pc, t: ActorId) {
        self.sim.start(self.a, t);
    }
    fn join(&mut self, _pc: Pc, t: ActorId) -> Result<(), Flow> {
        if !matches!(self.sim.actors[t as usize].status, RunState::Done(_)) {
            return Err(self.block(t as Value));
        }
        Ok(())
    }
    fn print(&mut self, text: String) -> Value {
        self.sim.print(self.a, text)
    }
    fn print_open(&mut self, text: String) -> Value {
        self.sim.print_open(self.a, text)
    }
    fn sleep(&mut self, ins: Instr, _pc: Pc, us: u32, next: Pc) -> Flow {
        self.sim.sleep(self.a, us, ins, next);
        Flow::Stop
    }
    fn work(&mut self, _pc: Pc, _units: u32) -> Result<(), Flow> {
        // Its time is its cost (`Cost::Work`).
        Ok(())
    }
    fn clock(&mut self, cpu: bool) -> Value {
        self.sim.clock(self.a, cpu)
    }

    fn fork(&mut self, _ins: Instr, _pc: Pc, t: ActorId) -> Result<Value, Flow> {
        Ok(self.sim.fork(self.a, t))
    }
    fn pid(&mut self) -> Value {
        sim_pid(self.sim.process[self.a as usize])
    }
    fn ident(&mut self) -> Value {
        sim_ident(self.a)
    }
    fn ppid(&mut self) -> Value {
        self.sim.ppid(self.a)
    }
    fn proc_pid(&mut self, t: ActorId) -> Value {
        self.sim.proc_pid(t)
    }
    fn proc_alive(&mut self, t: ActorId) -> Value {
        self.sim.proc_alive(t)
    }
    fn proc_exit_code(&mut self, t: ActorId) -> Value {
        self.sim.proc_exit_code(t)
    }
    fn terminate(&mut self, t: ActorId) {
        self.sim.terminate(t);
    }
    fn queue_room(&mut self, _pc: Pc, q: QueueId, block: bool) -> Result<bool, Flow> {
        let max = self.sim.program.queues[q as usize].maxsize as usize;
        if max > 0 && self.sim.queues[q as usize].len() >= max {
            return match block {
                true => Err(self.block(q as Value)),
                false => Ok(false),
            };
        }
        Ok(true)
    }
    fn queue_put(&mut self, q: QueueId, v: Value) -> Result<(), String> {
        self.sim.queue_put(self.a, q, v);
        Ok(())
    }
    fn queue_get(&mut self, _pc: Pc, q: QueueId, block: bool) -> Result<Take, Flow> {
        match self.sim.queue_get(self.a, q) {
            Some(v) => Ok(Take::Item(v)),
            None if block => Err(self.block(q as Value)),
            None => Ok(Take::Empty),
        }
    }
    fn queue_ready(&mut self, q: QueueId) -> bool {
        !self.sim.queues[q as usize].is_empty()
    }
    fn pipe_send(&mut self, c: ConnId, v: Value) -> bool {
        self.sim.pipe_send(self.a, c, v)
    }
    fn pipe_recv(&mut self, _pc: Pc, c: ConnId) -> Result<Option<Value>, Flow> {
        self.sim.pipe_recv(self.a, c).ok_or(Flow::Stop)
    }
    fn pipe_close(&mut self, c: ConnId) {
        let p = self.sim.process[self.a as usize];
        self.sim.pipe_close(p, c);
    }
    fn run_program(
        &mut self,
        _pc: Pc,
        _argv: StrId,
        _input: StrId,
        sim_output: StrId,
        child: ActorId,
    ) -> Result<Value, Flow> {
        self.sim
            .run_program(self.a, child, sim_output)
            .ok_or(Flow::Stop)
    }
    fn captured(&self) -> &str {
        let p = self.sim.process[self.a as usize] as usize;
        &self.sim.procs[p].captured
    }
    fn queue_ask(&mut self, q: QueueId, ask: crate::program::QueueAsk) -> Value {
        use crate::program::QueueAsk;
        let n = self.sim.queues[q as usize].len() as Value;
        let max = self.sim.program.queues[q as usize].maxsize as Value;
        match ask {
            QueueAsk::Size => n,
            QueueAsk::Empty => (n == 0) as Value,
            QueueAsk::Full => (max > 0 && n >= max) as Value,
        }
    }
    fn queue_room_within(&mut self, pc: Pc, q: QueueId, timeout_us: u32) -> Result<bool, Flow> {
        let max = self.sim.program.queues[q as usize].maxsize as usize;
        let room = max == 0 || self.sim.queues[q as usize].len() < max;
        self.timed_wait(pc, q as Value, timeout_us, room)
    }
    fn queue_get_within(&mut self, pc: Pc, q: QueueId, timeout_us: u32) -> Result<Take, Flow> {
        let any = !self.sim.queues[q as usize].is_empty();
        if !self.timed_wait(pc, q as Value, timeout_us, any)? {
            return Ok(Take::Empty);
        }
        Ok(self
            .sim
            .queue_get(self.a, q)
            .map_or(Take::Empty, Take::Item))
    }
    fn stdout_add(&mut self, text: &str) -> usize {
        let p = self.sim.process[self.a as usize] as usize;
        let buf = &mut self.sim.procs[p].stdout;
        buf.push_str(text);
        buf.len()
    }
    fn stdout_take(&mut self) -> String {
        let p = self.sim.process[self.a as usize] as usize;
        std::mem::take(&mut self.sim.procs[p].stdout)
    }
    fn stdout_is(&mut self, asked: Stdout) -> Stdout {
        asked
    }

    fn cond_wait(&mut self, ins: Instr, _pc: Pc, l: LockId, next: Pc) -> Flow {
        self.sim.cond_wait(self.a, l, ins, next);
        Flow::Next(next)
    }
    fn cond_sleep(&mut self, _pc: Pc, l: LockId) -> Result<(), Flow> {
        if self.sim.cond_waiting(self.a, l) {
            return Err(self.block(l as Value));
        }
        Ok(())
    }
    fn cond_notify(&mut self, l: LockId, all: bool) -> Value {
        self.sim.cond_notify(self.a, l, all)
    }

    fn barrier_arrive(&mut self, _pc: Pc, l: LockId, parties: u8) -> Result<Option<Value>, Flow> {
        if !self.sim.barrier(l).may_enter() {
            return Err(self.block(l as Value));
        }
        let index = self.sim.barrier(l).arrive(parties);
        self.sim.barrier_changed(self.a, l);
        Ok(index)
    }
    fn barrier_sleep(&mut self, pc: Pc, l: LockId, timeout_us: u32) -> Result<bool, Flow> {
        let a = self.a as usize;
        let deadline = self.sim.actors[a].wait_until.take();
        if !self.sim.barrier(l).released() {
            if timeout_us == 0 {
                return Err(self.block(l as Value));
            }
            match deadline {
                // `_wait` timed out: it breaks the barrier for every party.
                Some(d) if d <= self.sim.now => self.sim.barrier(l).break_(),
                _ => {
                    let until = deadline
                        .unwrap_or(self.sim.now + super::INSTR_NS + timeout_us as u64 * 1_000);
                    self.sim.actors[a].wait_until = Some(until);
                    let ins = self.sim.program.instr(self.a, pc);
                    self.sim.wait_timed(self.a, l as Value, until, ins);
                    return Err(Flow::Stop);
                }
            }
        }
        let passed = self.sim.barrier(l).leave();
        self.sim.barrier_changed(self.a, l);
        Ok(passed)
    }
    fn barrier_abort(&mut self, l: LockId) {
        self.sim.barrier(l).break_();
        self.sim.barrier_changed(self.a, l);
    }
    fn sem_acquire(&mut self, _pc: Pc, g: VarId) -> Result<Value, Flow> {
        let v = *self.sim.var_mut(self.a, g);
        if v <= 0 {
            return Err(self.block(g as Value));
        }
        *self.sim.var_mut(self.a, g) = v - 1;
        Ok(v - 1)
    }
    fn sem_release(&mut self, g: VarId, bound: u16) -> Result<Value, Value> {
        let v = *self.sim.var_mut(self.a, g);
        if bound > 0 && v >= bound as Value {
            return Err(v);
        }
        *self.sim.var_mut(self.a, g) = v + 1;
        self.sim.wake_var(self.a, g);
        Ok(v + 1)
    }
    fn event_set(&mut self, g: VarId, on: bool) {
        *self.sim.var_mut(self.a, g) = on as Value;
        if on {
            self.sim.wake_var(self.a, g);
        }
    }
    fn event_wait(&mut self, pc: Pc, g: VarId, timeout_us: u32) -> Result<bool, Flow> {
        let set = *self.sim.var_mut(self.a, g) != 0;
        if set || timeout_us > 0 {
            return self.timed_wait(pc, g as Value, timeout_us, set);
        }
        Err(self.block(g as Value))
    }
    fn join_within(&mut self, pc: Pc, t: ActorId, timeout_us: u32) -> Result<(), Flow> {
        let done = matches!(self.sim.actors[t as usize].status, RunState::Done(_));
        // The joiner sleeps until its deadline; `t`'s end wakes it early.
        self.timed_wait(pc, t as Value, timeout_us, done)
            .map(|_| ())
    }
    fn aio_sleep(&mut self, ins: Instr, _pc: Pc, us: u32, next: Pc) -> Flow {
        match us {
            0 => self.sim.aio_yield(self.a, ins, next),
            _ => {
                self.sim.sleep(self.a, us, ins, next);
            }
        }
        Flow::Stop
    }
    fn aio_block(&mut self, ins: Instr, pc: Pc, us: u32, next: Pc) -> Flow {
        // The event is recorded at the start; the time passes after it, the
        // task keeping the loop.
        self.went(ins, pc, us as Value, next, Cost::Held(us))
    }
    fn aio_acquire(&mut self, _pc: Pc, l: LockId) -> Result<(), Flow> {
        if self.sim.aio_take(self.a, l) {
            return Ok(());
        }
        Err(self.block(l as Value))
    }
    fn aio_release(&mut self, ins: Instr, _pc: Pc, l: LockId, next: Pc) -> Flow {
        self.sim.aio_release(self.a, l, ins, next);
        Flow::Next(next)
    }
}

impl SimActor<'_> {
    /// A queue call that waits at most `timeout_us` µs for `ready` (room for a
    /// put, an item for a get; a joined actor's end): `Ok(true)` goes ahead,
    /// `Ok(false)` times out.
    /// The actor waits asleep until its deadline; a get or a put on the queue
    /// wakes it early, and it looks again.
    fn timed_wait(
        &mut self,
        pc: Pc,
        on: Value,
        timeout_us: u32,
        ready: bool,
    ) -> Result<bool, Flow> {
        let a = self.a as usize;
        let deadline = self.sim.actors[a].wait_until.take();
        if ready || timeout_us == 0 {
            return Ok(ready);
        }
        let until = match deadline {
            Some(d) if d <= self.sim.now => return Ok(false),
            Some(d) => d,
            None => self.sim.now + super::INSTR_NS + timeout_us as u64 * 1_000,
        };
        self.sim.actors[a].wait_until = Some(until);
        let ins = self.sim.program.instr(self.a, pc);
        self.sim.wait_timed(self.a, on, until, ins);
        Err(Flow::Stop)
    }
}
