//! `resize`: set the terminal size of a running container with a tty, through its shim (which owns the pty master).

use crate::attach::{self, Kind};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::Status;

impl Engine {
    /// Resizes the terminal of container `reference` to `rows` x `cols`.
    pub fn resize(&self, reference: &str, rows: u16, cols: u16) -> Result<()> {
        let id = self.containers.resolve(reference)?;
        let c = self.containers.load(&id)?;
        if !matches!(c.state.status, Status::Running | Status::Paused) {
            return Err(Error::Conflict(format!("Container {id} is not running")));
        }
        let mut s = attach::connect(&self.opts.paths.attach_socket(&id))
            .map_err(|e| Error::io("connect to container shim", e))?;
        attach::write_frame(&mut s, Kind::Hello, &[0])
            .and_then(|()| attach::write_frame(&mut s, Kind::Resize, &attach::resize_payload(rows, cols)))
            .map_err(|e| Error::io("resize container terminal", e))
    }
}
