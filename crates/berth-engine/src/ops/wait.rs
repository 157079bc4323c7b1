//! `wait`: block until a container exits and give its exit code, by subscribing to its shim's exit frame (or reading
//! the record when there is no shim to ask).

use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::attach::{self, Kind};
use crate::engine::Engine;
use crate::error::Result;
use crate::model::Status;

impl Engine {
    /// Connects to a running container's shim as a wait-only client; `None` if no shim answers.
    pub fn subscribe_exit(&self, id: &str) -> Option<UnixStream> {
        let mut s = attach::connect(&self.opts.paths.attach_socket(id)).ok()?;
        attach::write_frame(&mut s, Kind::Hello, &[0]).ok()?;
        Some(s)
    }

    /// Reads frames until the exit frame; `None` if the shim went away first or `timeout` passed.
    pub(crate) fn await_exit(s: &mut UnixStream, timeout: Option<Duration>) -> Option<i32> {
        let _ = s.set_read_timeout(timeout);
        loop {
            match attach::read_frame(s) {
                Ok(Some((Kind::Exit, payload))) => return attach::parse_exit(&payload).map(|(code, _)| code),
                Ok(Some(_)) => continue,
                _ => return None,
            }
        }
    }

    /// Waits for container `reference` to stop running and returns its exit code.
    pub fn wait(&self, reference: &str) -> Result<i32> {
        let id = self.containers.resolve(reference)?;
        loop {
            let c = self.reconcile(self.containers.load(&id)?)?;
            if !matches!(c.state.status, Status::Running | Status::Paused) {
                return Ok(c.state.exit_code);
            }
            match self.subscribe_exit(&id) {
                Some(mut s) => {
                    if let Some(code) = Self::await_exit(&mut s, None) {
                        return Ok(code);
                    }
                }
                // No shim (it was killed): poll the record, which reconcile keeps honest.
                None => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}
