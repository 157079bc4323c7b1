//! `kill`: deliver a signal to a running container's init, through a pidfd checked against the record so a recycled
//! pid is never signalled.

use rustix::process::{Pid, Signal, pidfd_open, pidfd_send_signal};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::{Container, Status};

/// Parses a signal given as a name (`TERM`, `SIGTERM`) or a number.
pub fn parse_signal(s: &str) -> Result<i32> {
    berth_runtime::signal_from_name(s).map_err(|_| Error::InvalidArgument(format!("Invalid signal: {s}")))
}

impl Engine {
    /// Sends `signal` (a name or number; default SIGKILL) to container `reference`.
    pub fn kill(&self, reference: &str, signal: Option<&str>) -> Result<()> {
        let sig = parse_signal(signal.unwrap_or("KILL"))?;
        let id = self.containers.resolve(reference)?;
        let c = self.containers.load(&id)?;
        if c.state.paused && sig != libc::SIGKILL {
            return Err(Error::Conflict(format!(
                "Cannot kill container: {reference}: Container {id} is paused. Unpause the container before stopping or killing"
            )));
        }
        self.signal(&c, sig)?;
        if c.state.paused {
            self.thaw(&c);
        }
        Ok(())
    }

    /// Signals a container's init if it is running.
    pub(crate) fn signal(&self, c: &Container, sig: i32) -> Result<()> {
        let not_running = || {
            Error::Conflict(format!(
                "Cannot kill container: {}: Container {} is not running",
                c.bare_name(),
                c.id
            ))
        };
        if !matches!(c.state.status, Status::Running | Status::Paused) || c.state.pid <= 0 {
            return Err(not_running());
        }
        let pid = Pid::from_raw(c.state.pid).ok_or_else(not_running)?;
        let pidfd = pidfd_open(pid, rustix::process::PidfdFlags::empty()).map_err(|_| not_running())?;
        // The shim records the exit before it reaps, so a record still naming this pid proves the pidfd is ours.
        let now = self.containers.load(&c.id)?;
        if now.state.pid != c.state.pid || !now.state.running {
            return Err(not_running());
        }
        // SAFETY: Signal values come from parse_signal, a real signal number.
        let signal = unsafe { Signal::from_raw_unchecked(sig) };
        pidfd_send_signal(&pidfd, signal).map_err(|e| Error::Runtime(format!("signal container: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse() {
        assert_eq!(parse_signal("TERM").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("SIGKILL").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert!(parse_signal("NOPE").is_err());
    }
}
