//! What a search (src/explore/) asks of the simulator thousands of times a
//! second: copying one state into another without allocating (`clone` would
//! allocate a dozen vectors each time), and hashing a state fast.

use super::{ActorRt, Sim};

/// A fast hasher of good quality for state fingerprints and the tables keyed by
/// them: each word is mixed in with a 128-bit multiply folded to 64 bits (as
/// foldhash and wyhash do), and the result is finished with splitmix64's mixer.
/// SipHash, the standard one, cost half of a search's time.
#[derive(Clone, Copy, Debug)]
pub struct StateHasher(u64);

const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

impl Default for StateHasher {
    fn default() -> Self {
        StateHasher(0x243F_6A88_85A3_08D3)
    }
}

impl StateHasher {
    #[inline(always)]
    fn word(&mut self, w: u64) {
        // Both operands depend on the input, so no word wipes out the history
        // (unless it equals an arbitrary constant).
        let p = ((w ^ 0x6A09_E667_F3BC_C909) as u128).wrapping_mul((self.0 ^ MIX) as u128);
        self.0 = (p as u64) ^ ((p >> 64) as u64);
    }
}

impl std::hash::Hasher for StateHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.word(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.word(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.word(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.word(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.word(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.word(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        let mut z = self.0.wrapping_add(MIX);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A `HashMap`/`HashSet` builder with [`StateHasher`].
pub type BuildStateHasher = std::hash::BuildHasherDefault<StateHasher>;

impl ActorRt {
    fn copy_from(&mut self, src: &ActorRt) {
        self.pc = src.pc;
        self.stack.clone_from(&src.stack);
        self.locals.clone_from(&src.locals);
        self.status = src.status;
        self.last = src.last;
        self.tls.clone_from(&src.tls);
        self.wait_until = src.wait_until;
    }
}

impl Sim {
    /// Makes `self` the same state as `src` (a copy of the same program's run),
    /// reusing `self`'s memory: the same as `*self = src.clone()`, without the
    /// allocations when the two are alike in size.
    pub fn copy_from(&mut self, src: &Sim) {
        if !std::sync::Arc::ptr_eq(&self.program, &src.program)
            || self.actors.len() != src.actors.len()
        {
            *self = src.clone();
            return;
        }
        // Every field by name, so that a field added to `Sim` must be added here.
        let Sim {
            program: _,
            cfg,
            actors,
            process,
            vars,
            locks,
            gil,
            gil_since,
            now,
            sleepers,
            cpu_ns,
            own_clock,
            clocked,
            open_write,
            gil_busy,
            lock_clock,
            ending,
            trace,
            schedule,
            steps_base,
            procs,
            queues,
            conns,
            pending_wakes,
            cond_waiters,
            barriers,
            #[cfg(test)]
            exec_only,
        } = src;
        for (d, s) in self.actors.iter_mut().zip(actors) {
            d.copy_from(s);
        }
        self.cfg = *cfg;
        self.process.clone_from(process);
        self.vars.clone_from(vars);
        self.locks.clone_from(locks);
        self.gil.clone_from(gil);
        self.gil_since.clone_from(gil_since);
        self.now = *now;
        self.sleepers = *sleepers;
        self.cpu_ns = *cpu_ns;
        self.own_clock.clone_from(own_clock);
        self.clocked = *clocked;
        self.open_write = *open_write;
        self.gil_busy.clone_from(gil_busy);
        self.lock_clock.clone_from(lock_clock);
        self.ending = *ending;
        self.trace.events.clone_from(&trace.events);
        if self.trace.output != trace.output {
            self.trace.output.clone_from(&trace.output);
        }
        if self.trace.actor_labels != trace.actor_labels {
            self.trace.actor_labels.clone_from(&trace.actor_labels);
        }
        self.schedule.clone_from(schedule);
        self.steps_base = *steps_base;
        self.trace.base = trace.base;
        if trace.prefix.is_some() || self.trace.prefix.is_some() {
            self.trace.prefix.clone_from(&trace.prefix);
        }
        self.procs.clone_from(procs);
        self.queues.clone_from(queues);
        self.conns.clone_from(conns);
        self.pending_wakes.clone_from(pending_wakes);
        self.cond_waiters.clone_from(cond_waiters);
        self.barriers.clone_from(barriers);
        #[cfg(test)]
        {
            self.exec_only = *exec_only;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StateHasher;
    use std::hash::{Hash, Hasher};

    /// Different small states hash apart: every pair of short vectors of small
    /// values (what a program's variables and stacks are) gets its own hash.
    #[test]
    fn small_states_hash_apart() {
        let mut seen = std::collections::HashSet::new();
        let mut n = 0;
        for a in -8i64..8 {
            for b in -8i64..8 {
                for c in 0u32..8 {
                    for len in 0..3usize {
                        let v: Vec<i64> = [a, b].into_iter().take(len).collect();
                        let mut h = StateHasher::default();
                        v.hash(&mut h);
                        c.hash(&mut h);
                        n += 1;
                        seen.insert((h.finish(), v, c));
                    }
                }
            }
        }
        let hashes: std::collections::HashSet<u64> = seen.iter().map(|x| x.0).collect();
        assert_eq!(hashes.len(), seen.len(), "{n} inputs");
    }

    use crate::catalog::Catalog;
    use crate::sim::Sim;
    use std::sync::Arc;

    /// A copy made with `copy_from` over a state that ran elsewhere goes on exactly
    /// as a clone does: same schedule, events, output and variables.
    #[test]
    fn copy_from_goes_on_as_a_clone_does() {
        let cat = Catalog::embedded().expect("lessons");
        for (lesson, sets) in [
            ("balance-race", vec!["iterations=2", "gil=free"]),
            ("deadlock", vec![]),
            ("thread-local", vec![]),
            ("queue", vec![]),
        ] {
            let Ok(l) = cat.find(lesson) else { continue };
            let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            let knobs = crate::cli::knobs_from(l, &sets).expect("knobs");
            let p = Arc::new(crate::scenarios::build(l, &knobs).expect("builds"));
            let cfg = knobs.engine();
            let mut a = Sim::new(p.clone(), cfg);
            let mut b = Sim::new(p.clone(), cfg);
            let mut rng = 7u64;
            let mut pick = |sim: &Sim| {
                let live: Vec<_> = (0..sim.actor_count() as u16)
                    .filter(|&x| sim.can_step(x))
                    .collect();
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (!live.is_empty()).then(|| live[(rng >> 33) as usize % live.len()])
            };
            // b wanders off on its own, then takes a's state.
            for _ in 0..40 {
                if let Some(x) = pick(&a) {
                    a.step_unchecked(x);
                }
                if let Some(x) = pick(&b) {
                    b.step_unchecked(x);
                }
            }
            b.copy_from(&a);
            let mut c = a.clone();
            while let Some(x) = pick(&c) {
                c.step_unchecked(x);
                b.step_unchecked(x);
            }
            assert_eq!(b.schedule(), c.schedule(), "{lesson}");
            assert_eq!(b.vars(), c.vars(), "{lesson}");
            assert_eq!(b.trace().events, c.trace().events, "{lesson}");
            assert_eq!(b.trace().output, c.trace().output, "{lesson}");
            assert_eq!(b.ending(), c.ending(), "{lesson}");
            assert_eq!(
                b.fingerprint(true),
                c.fingerprint(true),
                "{lesson}: the copy is the same state"
            );
        }
    }
}
