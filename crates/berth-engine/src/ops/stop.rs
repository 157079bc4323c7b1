//! `stop` and `restart`: the stop signal (the image's STOPSIGNAL or SIGTERM), a grace period, then SIGKILL.

use std::time::Duration;

use crate::engine::Engine;
use crate::error::Result;
use crate::model::Status;
use crate::ops::kill::parse_signal;

/// Whether process `pid` is gone within `timeout` (forever when `None`), watched through a pidfd.
fn process_exits_within(pid: i32, timeout: Option<Duration>) -> bool {
    let Some(pid) = rustix::process::Pid::from_raw(pid) else {
        return true;
    };
    let Ok(pidfd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) else {
        return true;
    };
    let mut fds = [rustix::event::PollFd::new(&pidfd, rustix::event::PollFlags::IN)];
    let timeout = timeout.map(|t| rustix::event::Timespec {
        tv_sec: t.as_secs() as i64,
        tv_nsec: i64::from(t.subsec_nanos()),
    });
    rustix::event::poll(&mut fds, timeout.as_ref()).is_ok_and(|n| n > 0)
}

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
        let exited = match &mut sub {
            Some(s) => Self::await_exit(s, grace).is_some(),
            // No shim to tell us (it was killed): watch the process itself.
            None => process_exits_within(c.state.pid, grace),
        };
        if exited {
            return self.wait(&id).map(|_| ());
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
