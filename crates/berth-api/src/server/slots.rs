//! What the daemon keeps per container beyond its record: attach clients waiting for the container to start, and
//! the exit watch that `wait` requests and event publishing hang on.

use std::os::fd::OwnedFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// The exits seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exits {
    /// How many times the container has exited while watched.
    pub count: u64,
    /// The last exit code.
    pub code: i32,
    /// The container has been removed.
    pub removed: bool,
}

/// Per-container daemon state.
pub struct Slot {
    /// Shim-side ends of attach connections made before the container started; the start hands them to the shim.
    /// Held locked across a start, so an attach either lands here before the start or sees the container running.
    pub pending: Mutex<Vec<OwnedFd>>,
    exits: watch::Sender<Exits>,
    /// A monitor is connected to the container's current shim.
    monitored: AtomicBool,
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            pending: Mutex::new(Vec::new()),
            exits: watch::channel(Exits::default()).0,
            monitored: AtomicBool::new(false),
        }
    }
}

impl Slot {
    /// A receiver of exit changes; read its current value before checking the record, so no exit is missed.
    pub fn subscribe(&self) -> watch::Receiver<Exits> {
        self.exits.subscribe()
    }

    /// Records an exit.
    pub fn mark_exited(&self, code: i32, removed: bool) {
        self.exits.send_modify(|e| {
            e.count += 1;
            e.code = code;
            e.removed |= removed;
        });
    }

    /// Records a removal.
    pub fn mark_removed(&self) {
        self.exits.send_modify(|e| e.removed = true);
    }

    /// Claims the monitoring of the current shim; false if a monitor already has it.
    pub fn claim_monitor(&self) -> bool {
        !self.monitored.swap(true, Ordering::AcqRel)
    }

    /// Releases the claim when the monitored shim is gone.
    pub fn release_monitor(&self) {
        self.monitored.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_see_exits_after_they_subscribed() {
        let slot = Slot::default();
        let mut rx = slot.subscribe();
        let seen = rx.borrow().count;
        slot.mark_exited(3, false);
        let e = *rx.wait_for(|e| e.count > seen).await.unwrap();
        assert_eq!(e.code, 3);
        assert!(!e.removed);
        slot.mark_removed();
        assert!(rx.wait_for(|e| e.removed).await.unwrap().removed);
        assert!(slot.claim_monitor());
        assert!(!slot.claim_monitor());
        slot.release_monitor();
        assert!(slot.claim_monitor());
    }
}
