//! `stop` and `restart`: the stop signal (the image's STOPSIGNAL or SIGTERM), a grace period, then SIGKILL.

use std::time::Duration;

use crate::engine::Engine;
use crate::error::Result;
use crate::model::Status;
use crate::ops::kill::parse_signal;

/// Docker's default grace period.
pub const DEFAULT_STOP_TIMEOUT: i32 = 10;

impl Engine {
    /// Stops container `reference` with `signal` (default: its stop signal, else SIGTERM), waiting `timeout` seconds
    /// (default 10; negative waits forever) before SIGKILL. Stopping a stopped container succeeds.
    pub fn stop(&self, reference: &str, timeout: Option<i32>, signal: Option<&str>) -> Result<()> {
        let id = self.containers.resolve(reference)?;
        let c = self.reconcile(self.containers.load(&id)?)?;
        if !matches!(c.state.status, Status::Running | Status::Paused) {
            return Ok(());
        }
        let configured = Some(c.config.stop_signal.as_str()).filter(|s| !s.is_empty());
        let sig = parse_signal(signal.or(configured).unwrap_or("TERM"))?;
        let timeout = timeout
            .or(c.config.stop_timeout.map(|t| t as i32))
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        let mut sub = self.subscribe_exit(&id);
        if self.signal(&c, sig).is_err() {
            return Ok(()); // it exited meanwhile
        }
        if c.state.paused {
            self.thaw(&c);
        }
        let grace = (timeout >= 0).then(|| Duration::from_secs(timeout as u64).max(Duration::from_millis(1)));
        if let Some(s) = &mut sub
            && Self::await_exit(s, grace).is_some()
        {
            return Ok(());
        }
        let _ = self.signal(&c, libc::SIGKILL);
        self.wait(&id).map(|_| ())
    }

    /// Restarts container `reference`: stop (with `timeout`), then start detached.
    pub fn restart(&self, reference: &str, timeout: Option<i32>) -> Result<()> {
        self.stop(reference, timeout, None)?;
        self.start(reference, Default::default()).map(|_| ())
    }
}
