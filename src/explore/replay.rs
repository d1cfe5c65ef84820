//! Live → stepped: from what a live run recorded (`live::record`), a schedule
//! whose stepped run reads every shared variable from the same write, writes each
//! variable in the same order, acquires each lock in the same order and prints in
//! the same order, so it ends in the same state with the same lost updates.
//!
//! Live runs of processes replay the same way: their workers record loads and
//! stores of shared memory and shared files, lock acquisitions, prints, which
//! message each queue `get` and pipe `recv` received (by its number among the
//! channel's `put`s and `send`s), and what `is_alive()` and `terminate()` found
//! (`live::record::process_support` says which programs they can, and which
//! operations are left free and why).
//!
//! The schedule is a topological order of the recorded constraints, found by
//! stepping the simulator itself: an actor may take its next step when that step
//! keeps to the record (a load when its write is the latest, a store when every
//! load of the previous write has been made, an acquisition or a print in its
//! turn). The same actor goes on while it may, so the string stays short.
//!
//! The stepped model of the replay steps by bytecode, and has no GIL where the
//! run's had one that refuses switches (gil-modern): a live thread switched where
//! it did, and the stepped gil-modern would not let it. gil-classic lets a switch
//! happen after any instruction, so it stays.

use crate::live::record::{self, Entry, NoReplay, Op, Recording};
use crate::program::{ActorId, EngineConfig, GilModel, Granularity, Instr, Program};
use crate::sim::{Ending, Schedule, Sim};
use std::collections::HashMap;
use std::sync::Arc;

/// The engine settings of a replay: the run's, with bytecode steps, and without
/// the GIL where the run's model lets a thread refuse a switch (gil-modern).
pub fn replay_config(cfg: EngineConfig) -> EngineConfig {
    EngineConfig {
        gil: if cfg.gil == GilModel::Modern {
            GilModel::Free
        } else {
            cfg.gil
        },
        granularity: Granularity::Bytecode,
        ..cfg
    }
}

/// The knobs to set, over the run's own, to follow a replay's schedule:
/// `--set K=V` for each.
pub fn replay_sets(cfg: EngineConfig) -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    if cfg.gil == GilModel::Modern {
        v.push(("gil", "free"));
    }
    if cfg.granularity != Granularity::Bytecode {
        v.push(("granularity", "bytecode"));
    }
    v
}

/// Where the replay stands against the record.
struct Follow<'a> {
    logs: Vec<&'a [Entry]>,
    /// Per actor, how many of its entries the replay has made.
    cursor: Vec<usize>,
    /// Per variable, the version of its latest store, and the loads of it made.
    version: Vec<u64>,
    reads: Vec<u32>,
    /// Loads of each (variable, version) in the record.
    readers: HashMap<(u16, u64), u32>,
    /// Per variable, whether its loads and stores are recorded: all of a
    /// program of threads; the shared memory of one of processes (a variable
    /// that is not shared is a process's own copy, `record::process_support`).
    recorded: Vec<bool>,
    /// Per lock, acquisitions so far.
    acquired: Vec<u64>,
    /// Per channel (`record::queue_channel`, `record::conn_channel`), messages
    /// put and taken so far: the simulator's queues and pipes are first in,
    /// first out, so the n-th message taken is the n-th put.
    puts: Vec<u64>,
    gets: Vec<u64>,
    /// An actor waits at an operation its record does not hold (live, it was
    /// killed first): only a SIGTERM may end that wait.
    waits_past_record: bool,
}

impl<'a> Follow<'a> {
    fn new(program: &Program, rec: &'a Recording) -> Follow<'a> {
        let mut readers = HashMap::new();
        for log in &rec.logs {
            for e in log.entries.iter().filter(|e| e.op() == Op::Load) {
                *readers.entry((e.obj(), e.version())).or_insert(0) += 1;
            }
        }
        let n = program.actors.len();
        let channels = program.queues.len() + 2 * program.pipes.len();
        Follow {
            logs: (0..n)
                .map(|a| rec.logs.get(a).map_or(&[][..], |l| &l.entries[..]))
                .collect(),
            cursor: vec![0; n],
            version: vec![0; program.vars.len()],
            reads: vec![0; program.vars.len()],
            readers,
            recorded: program
                .vars
                .iter()
                .map(|v| v.shared || !program.uses_processes())
                .collect(),
            acquired: vec![0; program.locks.len()],
            puts: vec![0; channels],
            gets: vec![0; channels],
            waits_past_record: false,
        }
    }

    /// The entry actor `a`'s next instruction must make, if it makes one.
    fn expects(&self, sim: &Sim, a: ActorId) -> Option<(Op, u16)> {
        let program = sim.program();
        if program.uses_processes() && sim.kill_pending(a) {
            // Its next step ends it (SIGTERM): it makes nothing.
            return None;
        }
        match program.instr(a, sim.pc(a))? {
            Instr::LoadGlobal(g) | Instr::FileRead(g) if self.recorded[g as usize] => {
                Some((Op::Load, g))
            }
            Instr::StoreGlobal(g) | Instr::FileWrite(g) if self.recorded[g as usize] => {
                Some((Op::Store, g))
            }
            Instr::Acquire(l) => Some((Op::Acquire, l)),
            Instr::Print { .. } | Instr::Raise(_) => Some((Op::Print, 0)),
            Instr::PrintCaptured { skip_empty } if sim.prints_captured(a, skip_empty) => {
                Some((Op::Print, 0))
            }
            Instr::TlsGet(attr) if !sim.tls(a).iter().any(|(k, _)| *k == attr) => {
                Some((Op::Print, 0))
            }
            Instr::QueuePut { q, .. } => Some((Op::Put, record::queue_channel(q))),
            Instr::QueueGet { q, .. } => Some((Op::Get, record::queue_channel(q))),
            // Not recorded (record::replayable refuses such a program).
            Instr::QueueAsk { .. }
            | Instr::QueueTry { .. }
            | Instr::ListStore { .. }
            | Instr::JoinFor { .. } => None,
            Instr::PipeSend(c) => Some((Op::Put, record::conn_channel(program, c ^ 1))),
            Instr::PipeRecv { conn, .. } => Some((Op::Get, record::conn_channel(program, conn))),
            Instr::ProcAlive(t) | Instr::Terminate(t) => Some((Op::Alive, t)),
            // Not recorded: what only this actor sees, a variable the record
            // does not follow, a print that prints nothing, a thread-local that
            // is there; and what the simulator decides itself (starts, joins,
            // sleeps, PIDs, exits), which the record's order of prints and
            // hand-offs pins.
            Instr::LoadGlobal(_)
            | Instr::FileRead(_)
            | Instr::StoreGlobal(_)
            | Instr::FileWrite(_)
            | Instr::QueueReady(_)
            | Instr::PrintCaptured { .. }
            | Instr::BufPrint { .. }
            | Instr::Flush(_)
            | Instr::TlsGet(_)
            | crate::program::local_instr!()
            | Instr::Release(_)
            | Instr::Start(_)
            | Instr::Join(_)
            | Instr::Sleep(_)
            | Instr::Work(_)
            | Instr::TlsSet { .. }
            | Instr::Clock { .. }
            | Instr::Ident(_)
            | Instr::Exit(_)
            | Instr::Fork(_)
            | Instr::ForkChild
            | Instr::GetPid
            | Instr::GetPpid
            | Instr::ProcPid(_)
            | Instr::ProcExitCode(_)
            | Instr::PipeClose(_)
            | Instr::RunProgram { .. }
            // A condition's waits and notifies: the simulator decides which
            // waiter a notify wakes (the longest waiting), and the order of
            // the acquires around them is recorded.
            | crate::program::cond_instr!()
            | crate::program::barrier_instr!()
            // A semaphore's takes and an event's waits are not recorded live.
            | crate::program::sync_instr!() => None,
            // asyncio programs run live on their own event loop, which keeps
            // no record (record::replayable refuses them).
            | crate::program::aio_instr!() => None,
        }
    }

    /// Whether the line a raising operation of `a` prints (its traceback, the
    /// entry after the operation's) comes in its turn.
    fn raise_line_in_turn(&self, sim: &Sim, a: usize) -> bool {
        match self.logs[a].get(self.cursor[a] + 1) {
            Some(p) if p.op() == Op::Print => sim.trace().output.len() as u64 == p.version(),
            _ => true,
        }
    }

    /// Whether `a` may step now and keep to the record.
    fn may_step(&mut self, sim: &Sim, a: ActorId) -> Result<bool, NoReplay> {
        if !sim.can_step(a) {
            return Ok(false);
        }
        let Some((op, obj)) = self.expects(sim, a) else {
            return Ok(true);
        };
        let ai = a as usize;
        let Some(&e) = self.logs[ai].get(self.cursor[ai]) else {
            // Live, it waited here until the run ended (a deadlock, or a queue
            // that stayed empty until it was killed): it may wait here too,
            // never get past.
            let c = obj as usize;
            return Ok(match op {
                Op::Acquire => sim.lock_holder(obj).is_some(),
                Op::Get => self.puts[c] == self.gets[c],
                Op::Load | Op::Store | Op::Print | Op::Put | Op::Alive => {
                    self.waits_past_record = true;
                    false
                }
            });
        };
        if e.op() != op || (op != Op::Print && e.obj() != obj) {
            return Err(NoReplay::OtherPath);
        }
        let (o, v) = (obj as usize, e.version());
        Ok(match op {
            Op::Load => self.version[o] == v,
            Op::Store => {
                let before = v.wrapping_sub(1);
                self.version[o] == before
                    && self.reads[o] >= self.readers.get(&(obj, before)).copied().unwrap_or(0)
            }
            // Its turn: it takes the lock. Not its turn and the lock is held:
            // it may wait for it (a release wakes every waiter), so that a
            // holder that sleeps can go on.
            Op::Acquire => match sim.lock_holder(obj) {
                None => self.acquired[o] == v,
                Some(_) => true,
            },
            Op::Print => sim.trace().output.len() as u64 == v,
            Op::Put if v == record::RAISED => self.raise_line_in_turn(sim, ai),
            Op::Put => self.puts[o] == v,
            Op::Get if v == record::RAISED => {
                self.gets[o] == self.puts[o] && self.raise_line_in_turn(sim, ai)
            }
            Op::Get if v == record::NOTHING => self.gets[o] == self.puts[o],
            // Its message is next: it takes it, or waits for it (blocked, the
            // only reader of the channel that may, so the put wakes it).
            Op::Get => self.gets[o] == v,
            Op::Alive => {
                let ended_all = |t: usize| self.cursor[t] == self.logs[t].len();
                let kills = matches!(sim.program().instr(a, sim.pc(a)), Some(Instr::Terminate(_)));
                sim.running(obj) == (v == 1) && (v == 0 || !kills || ended_all(o))
            }
        })
    }

    /// Counts the step `a` just took, which made `made` (if anything).
    fn took(&mut self, a: ActorId, made: Option<(Op, u16)>) {
        let Some((op, obj)) = made else {
            return;
        };
        let (o, ai) = (obj as usize, a as usize);
        let v = self.logs[ai]
            .get(self.cursor[ai])
            .map_or(0, |e| e.version());
        match op {
            Op::Load => self.reads[o] += 1,
            Op::Store => {
                self.version[o] += 1;
                self.reads[o] = 0;
            }
            Op::Acquire => self.acquired[o] += 1,
            Op::Put if v != record::RAISED => self.puts[o] += 1,
            Op::Get if v != record::RAISED && v != record::NOTHING => self.gets[o] += 1,
            Op::Print | Op::Put | Op::Get | Op::Alive => {}
        }
        self.cursor[ai] += 1;
        // A call that raised printed its traceback in the same step.
        let raised = matches!(op, Op::Put | Op::Get) && v == record::RAISED;
        if raised
            && self.logs[ai]
                .get(self.cursor[ai])
                .is_some_and(|p| p.op() == Op::Print)
        {
            self.cursor[ai] += 1;
        }
    }
}

/// A schedule that replays the recorded live run stepped (with [`replay_config`]),
/// or why there is none.
pub fn schedule(
    program: &Arc<Program>,
    cfg: EngineConfig,
    rec: &Recording,
) -> Result<Schedule, NoReplay> {
    if let Some(why) = rec.unavailable() {
        return Err(why);
    }
    let mut sim = Sim::new(program.clone(), replay_config(cfg));
    let mut f = Follow::new(program, rec);
    let n = sim.actor_count() as ActorId;
    let mut prev: ActorId = 0;
    while sim.ending() == Ending::Running {
        let mut pick = None;
        for a in std::iter::once(prev).chain(0..n) {
            if f.may_step(&sim, a)? {
                pick = Some(a);
                break;
            }
        }
        let Some(a) = pick else {
            let sleeps = (0..n).any(|b| sim.sleeping(b));
            return Err(match (f.waits_past_record, sleeps) {
                (true, _) => NoReplay::DidMore,
                (false, true) => NoReplay::SleepOrder,
                (false, false) => NoReplay::CannotFollow,
            });
        };
        f.waits_past_record = false;
        let made = f.expects(&sim, a);
        let pc = sim.pc(a);
        sim.step_unchecked(a);
        sim.clear_events();
        // An operation that blocked (an acquisition, a get from an empty queue)
        // stays on its instruction and made nothing yet; one that raised ended
        // the actor there.
        f.took(a, made.filter(|_| sim.pc(a) != pc || !sim.running(a)));
        prev = a;
        if sim.steps() as u64 > crate::cli::MAX_SCHEDULE_STEPS {
            return Err(NoReplay::ReplayTooLong);
        }
    }
    if (0..n as usize).any(|a| f.cursor[a] != f.logs[a].len()) {
        return Err(NoReplay::EndedEarly);
    }
    Ok(Schedule(sim.schedule().to_vec()))
}
