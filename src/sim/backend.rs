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
        self.timed_wait(pc, q, timeout_us, room)
    }
    fn queue_get_within(&mut self, pc: Pc, q: QueueId, timeout_us: u32) -> Result<Take, Flow> {
        let any = !self.sim.queues[q as usize].is_empty();
        if !self.timed_wait(pc, q, timeout_us, any)? {
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
}

impl SimActor<'_> {
    /// A queue call that waits at most `timeout_us` µs for `ready` (room for a
    /// put, an item for a get): `Ok(true)` goes ahead, `Ok(false)` times out.
    /// The actor waits asleep until its deadline; a get or a put on the queue
    /// wakes it early, and it looks again.
    fn timed_wait(
        &mut self,
        pc: Pc,
        q: QueueId,
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
        self.sim.wait_timed(self.a, q as Value, until, ins);
        Err(Flow::Stop)
    }
}
