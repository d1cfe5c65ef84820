//! A real GIL, shaped like CPython's (Python/ceval_gil.c since 3.2): a waiting
//! thread waits one switch interval, then sets a drop request; the holder drops the
//! GIL at its next allowed switch point and does not take it back before another
//! thread has had it.

use crate::program::ActorId;
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
struct State {
    holder: Option<ActorId>,
    /// Counts hand-overs, so a waiter can tell whether anyone got the GIL meanwhile.
    switches: u64,
}

/// One process's GIL.
#[derive(Debug)]
pub struct Gil {
    state: Mutex<State>,
    cond: Condvar,
    drop_request: AtomicBool,
    interval: Duration,
}

/// How a `take` ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    Yes,
    /// The run is being stopped.
    Stopped,
}

impl Gil {
    pub fn new(interval: Duration) -> Self {
        Gil {
            state: Mutex::new(State::default()),
            cond: Condvar::new(),
            drop_request: AtomicBool::new(false),
            interval,
        }
    }

    /// Whether some waiting thread asks the holder to let go. Cheap: the holder
    /// reads it at every allowed switch point.
    #[inline]
    pub fn drop_requested(&self) -> bool {
        self.drop_request.load(Ordering::Relaxed)
    }

    /// Whether `me` holds the GIL now.
    pub fn holds(&self, me: ActorId) -> bool {
        self.state.lock().holder == Some(me)
    }

    /// Blocks until `me` holds the GIL or `stop` is set.
    pub fn take(&self, me: ActorId, stop: &AtomicBool) -> Taken {
        let mut st = self.state.lock();
        while st.holder.is_some() {
            if stop.load(Ordering::Relaxed) {
                return Taken::Stopped;
            }
            let seen = st.switches;
            let timed_out = self.cond.wait_for(&mut st, self.interval).timed_out();
            if timed_out && st.holder.is_some() && st.switches == seen {
                // A whole interval passed and nobody got the GIL: ask for it.
                self.drop_request.store(true, Ordering::Relaxed);
            }
        }
        st.holder = Some(me);
        st.switches += 1;
        self.drop_request.store(false, Ordering::Relaxed);
        // A forced holder waits to see the hand-over happen.
        self.cond.notify_all();
        Taken::Yes
    }

    /// Lets go of the GIL. With `forced`, waits until another thread has taken it,
    /// as CPython does, so the one that asked really gets its turn.
    pub fn release(&self, me: ActorId, forced: bool, stop: &AtomicBool) {
        let mut st = self.state.lock();
        if st.holder != Some(me) {
            return;
        }
        st.holder = None;
        let mine = st.switches;
        self.cond.notify_all();
        if forced {
            while st.switches == mine && !stop.load(Ordering::Relaxed) {
                self.cond.wait_for(&mut st, Duration::from_millis(1));
            }
        }
    }

    /// Wakes every waiter so that it notices a stop.
    pub fn wake_all(&self) {
        let _st = self.state.lock();
        self.cond.notify_all();
    }
}
