//! A small builder that scenarios use to write programs against a lesson's Python code.

use super::{
    Actor, ActorId, ActorKind, BinOp, Instr, LocalId, LockId, Pc, Program, StrId, Value, Var, VarId,
};

/// Builds a [`Program`], finding Python lines by their text so that a scenario stays
/// in step with the code its lesson shows.
pub struct ProgramBuilder {
    program: Program,
    source: Vec<String>,
    pending: Vec<Option<Actor>>,
}

/// A position in an actor's code that a jump can name before it is known.
#[derive(Clone, Copy, Debug)]
pub struct Label(usize);

impl ProgramBuilder {
    /// `source` is the Python code exactly as the student sees it.
    pub fn new(source: &str) -> Self {
        ProgramBuilder {
            program: Program {
                dis_minor: super::dis_minor(None, None),
                ..Program::default()
            },
            source: source.lines().map(str::to_string).collect(),
            pending: Vec::new(),
        }
    }

    /// The 1-based number of the one line whose trimmed text is `text`.
    pub fn line(&self, text: &str) -> Result<u32, String> {
        self.nth_line(text, 0)
    }

    /// The 1-based number of the `n`th (0-based) line whose trimmed text is `text`.
    pub fn nth_line(&self, text: &str, n: usize) -> Result<u32, String> {
        self.source
            .iter()
            .enumerate()
            .filter(|(_, l)| l.trim() == text.trim())
            .nth(n)
            .map(|(i, _)| i as u32 + 1)
            .ok_or_else(|| {
                format!(
                    "the lesson's code has no line `{}` (occurrence {})",
                    text.trim(),
                    n + 1
                )
            })
    }

    pub fn var(&mut self, name: &str, init: Value) -> VarId {
        self.program.vars.push(Var {
            name: name.to_string(),
            init,
            shared: false,
        });
        (self.program.vars.len() - 1) as VarId
    }

    /// A variable in memory all processes share (`multiprocessing.Value`).
    pub fn shared_var(&mut self, name: &str, init: Value) -> VarId {
        let v = self.var(name, init);
        self.program.vars[v as usize].shared = true;
        v
    }

    /// Whether variable `g` starts as a list ([`super::pytext::list_pack`]).
    pub fn program_var_is_list(&self, g: VarId) -> bool {
        self.program
            .vars
            .get(g as usize)
            .is_some_and(|v| super::pytext::list_items(v.init).is_some())
    }

    pub fn lock(&mut self, name: &str) -> LockId {
        self.program.locks.push(super::Lock {
            name: name.to_string(),
        });
        (self.program.locks.len() - 1) as LockId
    }

    /// A `multiprocessing.Queue(maxsize)` (0: unbounded).
    pub fn queue(&mut self, name: &str, maxsize: u32) -> super::QueueId {
        self.program.queues.push(super::Queue {
            name: name.to_string(),
            maxsize,
            empty_class: "_queue.Empty".to_string(),
        });
        (self.program.queues.len() - 1) as super::QueueId
    }

    /// The class name an empty queue's `get_nowait()` raises (it depends on the
    /// CPython version).
    pub fn queue_empty_class(&mut self, q: super::QueueId, class: &str) {
        if let Some(queue) = self.program.queues.get_mut(q as usize) {
            queue.empty_class = class.to_string();
        }
    }

    /// `a, b = Pipe()`: returns the two ends.
    pub fn pipe(&mut self, a: &str, b: &str) -> (super::ConnId, super::ConnId) {
        self.program.pipes.push([a.to_string(), b.to_string()]);
        let k = (self.program.pipes.len() - 1) as super::ConnId;
        (2 * k, 2 * k + 1)
    }

    /// The actors are the tasks of one asyncio event loop ([`Program::event_loop`]).
    pub fn event_loop(&mut self) {
        self.program.event_loop = true;
    }

    /// The scheduler decides when each sleep ends
    /// ([`Program::sleeps_end_by_scheduler`]).
    pub fn sleeps_end_by_scheduler(&mut self) {
        self.program.sleeps_end_by_scheduler = true;
    }

    pub fn string(&mut self, s: &str) -> StrId {
        if let Some(i) = self.program.strings.iter().position(|x| x == s) {
            return i as StrId;
        }
        self.program.strings.push(s.to_string());
        (self.program.strings.len() - 1) as StrId
    }

    /// A `str` constant: the value that stands for `s` ([`super::STR_BASE`]),
    /// for a `LoadConst`.
    pub fn str_const(&mut self, s: &str) -> super::Value {
        super::str_value(self.string(s))
    }

    /// Says what a correct run leaves in `var`.
    /// What every process's stdout is in a live run (a real terminal or pipe).
    pub fn terminal(&mut self, t: super::Terminal) {
        self.program.terminal = Some(t);
    }

    pub fn expect_final(&mut self, var: VarId, value: Value) {
        self.program.expected.push((var, value));
    }

    /// Reserves an actor id so that other actors can start or join it before its
    /// code is written.
    pub fn declare(&mut self, name: &str, kind: ActorKind, process: u16) -> ActorId {
        self.program.actors.push(Actor {
            name: name.to_string(),
            kind,
            process,
            autostart: kind == ActorKind::Main,
            code: Vec::new(),
            lines: Vec::new(),
            locals: Vec::new(),
            local_names: Vec::new(),
        });
        self.pending.push(None);
        (self.program.actors.len() - 1) as ActorId
    }

    /// Reserves a process other than the main one: its first actor, which waits
    /// for a `Start` (`p.start()`) or a `Fork`.
    pub fn declare_process(&mut self, name: &str, process: u16) -> ActorId {
        let a = self.declare(name, ActorKind::Main, process);
        self.program.actors[a as usize].autostart = false;
        a
    }

    /// Starts the code of a declared actor.
    pub fn code(&self, actor: ActorId) -> ActorBuilder {
        ActorBuilder {
            actor,
            code: Vec::new(),
            lines: Vec::new(),
            locals: Vec::new(),
            local_names: Vec::new(),
            line: 0,
            labels: Vec::new(),
            fixups: Vec::new(),
        }
    }

    /// Puts a finished actor's code in place.
    pub fn finish(&mut self, b: ActorBuilder) -> Result<(), String> {
        let a = self
            .program
            .actors
            .get_mut(b.actor as usize)
            .ok_or("finish: unknown actor")?;
        let mut code = b.code;
        for (at, label) in b.fixups {
            let target =
                b.labels.get(label).copied().flatten().ok_or_else(|| {
                    format!("actor {}: a jump names a label never placed", a.name)
                })?;
            code[at] = match code[at] {
                Instr::JumpBackward(_) => Instr::JumpBackward(target),
                Instr::PopJumpIfFalse(_) => Instr::PopJumpIfFalse(target),
                Instr::PipeRecv { conn, .. } => Instr::PipeRecv { conn, eof: target },
                Instr::ForRange { counter, limit, .. } => Instr::ForRange {
                    counter,
                    limit,
                    exit: target,
                },
                Instr::QueueTry {
                    q, put, timeout_us, ..
                } => Instr::QueueTry {
                    q,
                    put,
                    timeout_us,
                    fail: target,
                },
                Instr::BarrierWait {
                    barrier, parties, ..
                } => Instr::BarrierWait {
                    barrier,
                    parties,
                    broken: target,
                },
                Instr::BarrierSleep {
                    barrier,
                    timeout_us,
                    ..
                } => Instr::BarrierSleep {
                    barrier,
                    timeout_us,
                    broken: target,
                },
                Instr::SemRelease { sem, bound, .. } => Instr::SemRelease {
                    sem,
                    bound,
                    fail: target,
                },
                other => other,
            };
        }
        a.code = code;
        a.lines = b.lines;
        a.locals = b.locals;
        a.local_names = b.local_names;
        self.pending[b.actor as usize] = Some(a.clone());
        Ok(())
    }

    /// [`ProgramBuilder::finish`] the last actor, then [`ProgramBuilder::build`].
    pub fn build_with(mut self, last: ActorBuilder) -> Result<Program, String> {
        self.finish(last)?;
        self.build()
    }

    pub fn build(self) -> Result<Program, String> {
        for (i, p) in self.pending.iter().enumerate() {
            if p.is_none() {
                return Err(format!(
                    "actor {} was declared but has no code",
                    self.program.actors[i].name
                ));
            }
        }
        self.program.validate()?;
        Ok(self.program)
    }
}

/// Writes one actor's instructions, each tagged with the current Python line.
pub struct ActorBuilder {
    actor: ActorId,
    code: Vec<Instr>,
    lines: Vec<u32>,
    locals: Vec<Value>,
    local_names: Vec<String>,
    line: u32,
    labels: Vec<Option<Pc>>,
    fixups: Vec<(usize, usize)>,
}

impl ActorBuilder {
    /// Following instructions belong to Python line `line`.
    pub fn at(&mut self, line: u32) -> &mut Self {
        self.line = line;
        self
    }

    pub fn local(&mut self, name: &str, init: Value) -> LocalId {
        self.locals.push(init);
        self.local_names.push(name.to_string());
        (self.locals.len() - 1) as LocalId
    }

    pub fn emit(&mut self, i: Instr) -> &mut Self {
        self.code.push(i);
        self.lines.push(self.line);
        self
    }

    pub fn here(&self) -> Pc {
        self.code.len() as Pc
    }

    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    pub fn place(&mut self, l: Label) -> &mut Self {
        self.labels[l.0] = Some(self.here());
        self
    }

    /// `for _ in range(limit):` — the caller places `exit` after the loop body's
    /// `JUMP_BACKWARD` (see [`ActorBuilder::end_loop`]).
    pub fn for_range(&mut self, counter: LocalId, limit: u32, exit: Label) -> Pc {
        let at = self.here();
        self.fixups.push((self.code.len(), exit.0));
        self.emit(Instr::ForRange {
            counter,
            limit,
            exit: 0,
        });
        at
    }

    /// `conn.recv()`, going to `eof` (placed later) on `EOFError`.
    pub fn pipe_recv(&mut self, conn: super::ConnId, eof: Label) -> &mut Self {
        self.fixups.push((self.code.len(), eof.0));
        self.emit(Instr::PipeRecv { conn, eof: 0 })
    }

    /// `if x:` — jumps to `to` (placed later) when the value on the stack is false.
    pub fn pop_jump_if_false(&mut self, to: Label) -> &mut Self {
        self.fixups.push((self.code.len(), to.0));
        self.emit(Instr::PopJumpIfFalse(0))
    }

    /// Closes a loop opened by [`ActorBuilder::for_range`] at `head`.
    pub fn end_loop(&mut self, head: Pc, exit: Label) -> &mut Self {
        self.emit(Instr::JumpBackward(head));
        self.place(exit)
    }

    /// A put (`put`) or get on queue `q` that waits at most `timeout_us` µs (0:
    /// the nowait call) and goes to `fail` (placed later) on `queue.Full` /
    /// `queue.Empty`.
    pub fn queue_try(
        &mut self,
        q: super::QueueId,
        put: bool,
        timeout_us: u32,
        fail: Label,
    ) -> &mut Self {
        self.fixups.push((self.code.len(), fail.0));
        self.emit(Instr::QueueTry {
            q,
            put,
            timeout_us,
            fail: 0,
        })
    }

    /// `barrier.wait()` (`barrier.wait(timeout=…)` when `timeout_us` > 0) of a
    /// `threading.Barrier(parties)`: its two steps, leaving the index it returns
    /// on the stack, or going to `broken` (placed later) on `BrokenBarrierError`.
    pub fn barrier_wait(
        &mut self,
        barrier: LockId,
        parties: u8,
        timeout_us: u32,
        broken: Label,
    ) -> &mut Self {
        self.fixups.push((self.code.len(), broken.0));
        self.emit(Instr::BarrierWait {
            barrier,
            parties,
            broken: 0,
        });
        self.fixups.push((self.code.len(), broken.0));
        self.emit(Instr::BarrierSleep {
            barrier,
            timeout_us,
            broken: 0,
        })
    }

    /// `sem.release()` of the semaphore whose counter is `sem`; `bound` > 0 (a
    /// BoundedSemaphore) goes to `fail` (placed later, where the program
    /// raises `ValueError`) instead of going above `bound`.
    pub fn sem_release(&mut self, sem: VarId, bound: u16, fail: Label) -> &mut Self {
        self.fixups.push((self.code.len(), fail.0));
        self.emit(Instr::SemRelease {
            sem,
            bound,
            fail: 0,
        })
    }

    /// `print(...)` of the `nargs` values on the stack, formatted by `fmt`.
    pub fn print(&mut self, fmt: StrId, nargs: u8) -> &mut Self {
        self.emit(Instr::Print { fmt, nargs })
    }

    /// `var = var <op> local` as CPython compiles it: load, load, op, store.
    pub fn update_global(&mut self, var: VarId, op: BinOp, by: LocalId) -> &mut Self {
        self.emit(Instr::LoadGlobal(var))
            .emit(Instr::LoadFast(by))
            .emit(Instr::BinaryOp(op))
            .emit(Instr::StoreGlobal(var))
    }
}
