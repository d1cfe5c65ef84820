//! A CPython run as the trace every view reads. The program is not known before the
//! run: it grows as the tracer shows threads, opcodes, globals and locks. Each actor is
//! a thread of the real program, each instruction one place of its code (a line and an
//! opcode, or a library call there), and each event one step it took.

use super::Ending;
use crate::program::{
    Actor, ActorId, ActorKind, Instr, Lock, LockId, Pc, Program, StrId, Value, Var, VarId,
};
use crate::trace::{Event, EventKind, OutputLine, Trace};
use std::collections::HashMap;
use std::sync::Arc;

/// Events a CPython run keeps at most (24 bytes each); past them it counts only.
pub const MAX_EVENTS: usize = 4_000_000;

/// One place of an actor's code, as the program's instruction there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Place {
    Op(StrId),
    Load(VarId),
    Store(VarId),
    Acquire(LockId),
    Release(LockId),
    Start(ActorId),
    Join(ActorId),
    Print,
    Exit,
}

impl Place {
    fn instr(self, print_fmt: StrId) -> Instr {
        match self {
            Place::Op(s) => Instr::Opcode(s),
            Place::Load(v) => Instr::LoadGlobal(v),
            Place::Store(v) => Instr::StoreGlobal(v),
            Place::Acquire(l) => Instr::Acquire(l),
            Place::Release(l) => Instr::Release(l),
            Place::Start(t) => Instr::Start(t),
            Place::Join(t) => Instr::Join(t),
            Place::Print => Instr::Print {
                fmt: print_fmt,
                nargs: 0,
            },
            Place::Exit => Instr::Exit(0),
        }
    }
}

/// What an actor did last: the step it stands before, the event of its last opcode.
#[derive(Clone, Debug, Default)]
struct Thread {
    line: u32,
    /// The step it stands before, waiting for `go` (controlled runs).
    standing: Option<(Pc, String, String)>,
    /// Its last opcode's event, with the opcode and the global it names.
    last: Option<(usize, String, String)>,
    /// Printed text not yet ended by a newline.
    out: String,
    /// The place it is blocked at, if it is.
    blocked: Option<Pc>,
}

/// Builds the program and the trace of a CPython run from the tracer's lines.
pub struct Recorder {
    program: Program,
    pub trace: Trace,
    places: HashMap<(ActorId, u32, Place), Pc>,
    vars: HashMap<String, VarId>,
    locks: HashMap<String, LockId>,
    strings: HashMap<String, StrId>,
    threads: Vec<Thread>,
    /// The newest time the tracer gave, ns since it started.
    now: u64,
    free: bool,
    /// The program changed since the trace's copy was made.
    grown: bool,
    /// Events not kept because the run passed [`MAX_EVENTS`].
    pub dropped: usize,
    pub version: String,
    pub pid: u32,
    /// The first actor of each child process, with its real PID.
    pub pids: Vec<(ActorId, u32)>,
    pub finals: Vec<(String, String)>,
    pub exit: Option<i32>,
    /// The schedule so far: who was let go, in order (controlled runs).
    pub picks: Vec<u16>,
    pub refused: Option<String>,
    /// Each variable's newest value seen, read or written.
    values: Vec<Value>,
}

impl Recorder {
    /// `dis_minor`: the CPython 3.x the bytecode view is labelled for.
    pub fn new(free: bool, dis_minor: u8) -> Recorder {
        let program = Program {
            dis_minor,
            ..Program::default()
        };
        let trace = Trace::new(Arc::new(program.clone()));
        let mut r = Recorder {
            program,
            trace,
            places: HashMap::new(),
            vars: HashMap::new(),
            locks: HashMap::new(),
            strings: HashMap::new(),
            threads: Vec::new(),
            now: 0,
            free,
            grown: true,
            dropped: 0,
            version: String::new(),
            pid: 0,
            pids: Vec::new(),
            finals: Vec::new(),
            exit: None,
            picks: Vec::new(),
            refused: None,
            values: Vec::new(),
        };
        r.actor(0);
        r.publish();
        r
    }

    /// The trace's copy of the program is brought up to date (after a batch).
    pub fn publish(&mut self) {
        if self.grown {
            self.trace.program = Arc::new(self.program.clone());
            self.grown = false;
        }
    }

    /// The instruction actor `a` stands before, or last took.
    pub fn pc(&self, a: ActorId) -> Option<Pc> {
        let t = self.threads.get(a as usize)?;
        t.standing
            .as_ref()
            .map(|s| s.0)
            .or(t.blocked)
            .or_else(|| t.last.as_ref().map(|l| self.trace.events[l.0].pc))
    }

    /// Variable `v` as the run has last seen it (read or written).
    pub fn value(&self, v: usize) -> Option<Value> {
        self.values.get(v).copied()
    }

    fn string(&mut self, s: &str) -> StrId {
        if let Some(&id) = self.strings.get(s) {
            return id;
        }
        let id = self.program.strings.len() as StrId;
        self.program.strings.push(s.to_string());
        self.strings.insert(s.to_string(), id);
        id
    }

    /// Actor `a`, made (with any before it) if the run had not shown it yet.
    fn actor(&mut self, a: ActorId) -> ActorId {
        while self.program.actors.len() <= a as usize {
            let i = self.program.actors.len();
            let name = if i == 0 {
                "MainThread".to_string()
            } else {
                format!("Thread-{i}")
            };
            self.program.actors.push(Actor {
                name: name.clone(),
                kind: if i == 0 {
                    ActorKind::Main
                } else {
                    ActorKind::Thread
                },
                process: 0,
                autostart: i == 0,
                code: Vec::new(),
                lines: Vec::new(),
                locals: Vec::new(),
                local_names: Vec::new(),
            });
            self.trace.actor_labels.push(name);
            self.threads.push(Thread::default());
            self.grown = true;
        }
        a
    }

    fn place(&mut self, a: ActorId, line: u32, p: Place) -> Pc {
        if let Some(&pc) = self.places.get(&(a, line, p)) {
            return pc;
        }
        let fmt = self.string("{}");
        let actor = &mut self.program.actors[a as usize];
        let pc = actor.code.len() as Pc;
        actor.code.push(p.instr(fmt));
        actor.lines.push(line);
        self.places.insert((a, line, p), pc);
        self.grown = true;
        pc
    }

    fn var(&mut self, name: &str, value: Value) -> VarId {
        if let Some(&v) = self.vars.get(name) {
            return v;
        }
        let v = self.program.vars.len() as VarId;
        self.program.vars.push(Var {
            name: name.to_string(),
            init: value,
            shared: false,
        });
        self.vars.insert(name.to_string(), v);
        self.grown = true;
        v
    }

    fn lock(&mut self, id: &str) -> LockId {
        if let Some(&l) = self.locks.get(id) {
            return l;
        }
        let l = self.program.locks.len() as LockId;
        self.program.locks.push(Lock {
            name: format!("lock {id}"),
        });
        self.locks.insert(id.to_string(), l);
        self.grown = true;
        l
    }

    fn push(&mut self, actor: ActorId, pc: Pc, kind: EventKind, value: Value) -> Option<usize> {
        if self.trace.events.len() >= MAX_EVENTS {
            self.dropped += 1;
            return None;
        }
        if kind == EventKind::Exec {
            self.threads[actor as usize].blocked = None;
        }
        self.trace.events.push(Event {
            t_ns: self.now,
            value,
            pc,
            actor,
            kind,
        });
        Some(self.trace.events.len() - 1)
    }

    /// A library call of `a` at its current line.
    fn call(&mut self, a: ActorId, p: Place, kind: EventKind, value: Value) -> Option<usize> {
        let line = self.threads[a as usize].line;
        let pc = self.place(a, line, p);
        if kind == EventKind::Block {
            self.threads[a as usize].blocked = Some(pc);
        }
        self.push(a, pc, kind, value)
    }

    /// `a` takes the step it stands before.
    fn take_step(&mut self, a: ActorId) {
        let Some((pc, op, arg)) = self.threads[a as usize].standing.take() else {
            return;
        };
        let e = self.push(a, pc, EventKind::Exec, 0);
        self.threads[a as usize].last = e.map(|e| (e, op, arg));
    }

    /// A read or write of global `name` by `a`'s last step: the step becomes the
    /// load or the store of that variable (a value that is not a whole number stays
    /// the opcode it was: the state panel shows numbers).
    fn global(&mut self, a: ActorId, name: &str, value: &str, store: bool) {
        let value = match value {
            "True" => 1,
            "False" => 0,
            v => match v.parse::<Value>() {
                Ok(v) => v,
                Err(_) => return,
            },
        };
        let Some((e, op, arg)) = self.threads[a as usize].last.clone() else {
            return;
        };
        let fits = arg == name
            && if store {
                op.starts_with("STORE_")
            } else {
                op.starts_with("LOAD_")
            };
        if !fits {
            return;
        }
        let v = self.var(name, value);
        if self.values.len() <= v as usize {
            self.values.resize(v as usize + 1, value);
        }
        self.values[v as usize] = value;
        let line = self.program.actors[a as usize].lines[self.trace.events[e].pc as usize];
        let pc = self.place(
            a,
            line,
            if store {
                Place::Store(v)
            } else {
                Place::Load(v)
            },
        );
        let ev = &mut self.trace.events[e];
        ev.pc = pc;
        ev.value = value;
    }

    /// Takes in one line of the tracer (or the controller's `go T`). Err: the
    /// interpreter refused the program.
    pub fn take(&mut self, line: &str) -> Result<(), String> {
        let f: Vec<String> = line.split('\t').map(super::session::unescape).collect();
        if f[0] != "go"
            && let Some(ns) = f.last().and_then(|s| s.parse::<u64>().ok())
        {
            self.now = self.now.max(ns);
        }
        let num = |i: usize| f.get(i).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
        let text = |i: usize| f.get(i).cloned().unwrap_or_default();
        let thread = |i: usize| num(i).clamp(0, 4096) as ActorId;
        match f[0].as_str() {
            "hello" => {
                self.version = text(1);
                self.pid = num(2) as u32;
            }
            "thread" => {
                let t = self.actor(thread(1));
                let name = text(2);
                self.trace.actor_labels[t as usize] = name.clone();
                self.program.actors[t as usize].name = name;
                self.grown = true;
            }
            "new" => {
                let t = self.actor(thread(1));
                let by = self.actor(thread(2));
                self.call(by, Place::Start(t), EventKind::Exec, 0);
            }
            "at" => {
                let t = self.actor(thread(1));
                let line = num(2).max(0) as u32;
                let (op, arg) = (text(3), text(4));
                let label = match (op.is_empty(), arg.is_empty()) {
                    (true, _) => format!("line {line}"),
                    (false, true) => op.clone(),
                    (false, false) => format!("{op} {arg}"),
                };
                let s = self.string(&label);
                let pc = self.place(t, line, Place::Op(s));
                self.threads[t as usize].line = line;
                self.threads[t as usize].standing = Some((pc, op, arg));
                if self.free {
                    self.take_step(t);
                }
            }
            "go" => {
                let t = self.actor(thread(1));
                self.picks.push(t);
                self.take_step(t);
            }
            "read" | "wrote" => {
                let t = self.actor(thread(1));
                self.global(t, &text(2), &text(3), f[0] == "wrote");
            }
            "out" => {
                let t = self.actor(thread(1));
                self.threads[t as usize].out.push_str(&text(2));
                self.print_lines(t);
            }
            "blocked" => {
                let t = self.actor(thread(1));
                let how = f.get(2).map(String::as_str);
                if how == Some("lock") {
                    let l = self.lock(&text(3));
                    self.call(t, Place::Acquire(l), EventKind::Block, l as Value);
                } else if how == Some("wait") {
                    // A condition's wait (an Event's, a Barrier's, a Semaphore's).
                    let s = self.string("Condition.wait");
                    self.call(t, Place::Op(s), EventKind::Block, 0);
                } else if how == Some("io") || how == Some("poll") {
                    // A library call that waits for another process: shown as the
                    // call it is, blocked until the thread's next step.
                    let s = self.string(&text(3));
                    self.call(t, Place::Op(s), EventKind::Block, 0);
                } else {
                    let u = self.actor(thread(3));
                    self.call(t, Place::Join(u), EventKind::Block, u as Value);
                }
            }
            "acquired" => {
                let t = self.actor(thread(1));
                let l = self.lock(&text(2));
                self.call(t, Place::Acquire(l), EventKind::Exec, l as Value);
            }
            "released" => {
                let t = self.actor(thread(1));
                let l = self.lock(&text(2));
                self.call(t, Place::Release(l), EventKind::Exec, l as Value);
            }
            "done" => {
                let t = self.actor(thread(1));
                let rest = std::mem::take(&mut self.threads[t as usize].out);
                if !rest.is_empty() {
                    self.threads[t as usize].out = rest + "\n";
                    self.print_lines(t);
                }
                self.threads[t as usize].standing = None;
                self.call(t, Place::Exit, EventKind::Exec, 0);
            }
            // Actor `a` is the first thread of process Q, whose PID is this.
            "process" => {
                let t = self.actor(thread(1));
                let q = num(2).clamp(0, u16::MAX as i64) as u16;
                let actor = &mut self.program.actors[t as usize];
                actor.process = q;
                actor.kind = ActorKind::Main;
                self.pids.push((t, num(3) as u32));
                self.grown = true;
            }
            "final" => self.finals.push((text(1), text(2))),
            "exit" => self.exit = Some(num(1) as i32),
            "refuse" => return Err(text(1)),
            _ => {}
        }
        Ok(())
    }

    fn print_lines(&mut self, t: ActorId) {
        while let Some(i) = self.threads[t as usize].out.find('\n') {
            let line: String = self.threads[t as usize].out.drain(..=i).collect();
            let index = self.trace.output.len() as Value;
            let Some(e) = self.call(t, Place::Print, EventKind::Exec, index) else {
                continue;
            };
            self.trace.output.push(OutputLine {
                seq: e as u64,
                actor: t,
                text: line.trim_end_matches('\n').to_string(),
                open: false,
                joined: false,
            });
        }
    }

    /// The run is over: a deadlock marks every blocked thread.
    pub fn end(&mut self, ending: &Ending) {
        if *ending == Ending::Deadlock {
            for a in 0..self.threads.len() {
                if let Some(pc) = self.threads[a].blocked {
                    self.push(a as ActorId, pc, EventKind::Deadlock, 0);
                }
            }
        }
        self.publish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(r: &mut Recorder, lines: &[&str]) {
        for l in lines {
            r.take(l).unwrap();
        }
        r.publish();
    }

    #[test]
    fn a_controlled_step_becomes_a_load_with_its_value() {
        let mut r = Recorder::new(false, 12);
        feed(
            &mut r,
            &[
                "hello\t3.12.1\t77\t0",
                "thread\t0\tMainThread\t5",
                "at\t0\t3\tLOAD_GLOBAL\tbalance\t9",
                "go\t0",
                "read\t0\tbalance\t5\t10",
                "at\t0\t3\tSTORE_GLOBAL\tbalance\t11",
                "go\t0",
                "wrote\t0\tbalance\t8\t12",
                "at\t0\t4\tLOAD_CONST\t\t13",
            ],
        );
        let p = r.trace.program.clone();
        let shown: Vec<String> = r
            .trace
            .events
            .iter()
            .map(|e| {
                format!(
                    "{} = {}",
                    p.dis(0, p.actors[0].code[e.pc as usize]),
                    e.value
                )
            })
            .collect();
        assert_eq!(
            shown,
            ["LOAD_GLOBAL balance = 5", "STORE_GLOBAL balance = 8"]
        );
        // The next step is not taken until it is let go: MainThread stands at line 4.
        assert_eq!(p.actors[0].lines[r.pc(0).unwrap() as usize], 4);
        assert_eq!(r.picks, [0, 0]);
    }

    #[test]
    fn a_blocked_thread_is_blocked_and_a_deadlock_marks_it() {
        let mut r = Recorder::new(false, 12);
        feed(
            &mut r,
            &[
                "thread\t0\tMainThread\t0",
                "new\t1\t0\t1",
                "thread\t1\tt1\t2",
                "acquired\t1\tL1\t3",
                "blocked\t0\tlock\tL1\t4",
            ],
        );
        r.end(&Ending::Deadlock);
        let kinds: Vec<EventKind> = r.trace.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::Exec,
                EventKind::Exec,
                EventKind::Block,
                EventKind::Deadlock
            ]
        );
        assert_eq!(r.trace.actor_labels, ["MainThread", "t1"]);
        let stuck: Vec<ActorId> = r.trace.deadlock().iter().map(|e| e.actor).collect();
        assert_eq!(stuck, [0]);
    }
}
