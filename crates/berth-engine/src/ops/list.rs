//! `ps`: every container, newest first, with records of containers whose supervisor vanished corrected on the way.

use crate::engine::Engine;
use crate::error::Result;
use crate::model::{Container, Status};
use crate::timefmt;

impl Engine {
    /// All containers (or only running ones), newest first.
    pub fn list(&self, all: bool) -> Result<Vec<Container>> {
        let mut out = Vec::new();
        for c in self.containers.list()? {
            let c = self.reconcile(c)?;
            if all
                || matches!(
                    c.state.status,
                    Status::Running | Status::Paused | Status::Restarting
                )
            {
                out.push(c);
            }
        }
        out.sort_by(|a, b| b.created.cmp(&a.created));
        Ok(out)
    }

    /// A record that says running while its process is gone (its shim was killed with -9 and the container exited
    /// unobserved) is marked exited with code 255, Docker's "unknown".
    pub(crate) fn reconcile(&self, c: Container) -> Result<Container> {
        if !matches!(c.state.status, Status::Running | Status::Paused) || self.is_alive(&c) {
            return Ok(c);
        }
        // Without its shim nobody else releases the container's cgroup and runtime files.
        if let Ok(cg) = self.cgroup(&c) {
            let _ = cg.destroy();
        }
        let _ = std::fs::remove_file(self.opts.paths.attach_socket(&c.id));
        self.containers.update(&c.id, |c| {
            if matches!(c.state.status, Status::Running | Status::Paused) && !self.is_alive(c) {
                // Under the record's lock, from the record as it is now: a start that raced this keeps its network.
                crate::network::teardown::release(
                    &self.opts.paths,
                    &self.networks,
                    &c.id,
                    &c.network_settings,
                );
                crate::network::teardown::clear_settings(&mut c.network_settings);
                c.state.status = Status::Exited;
                c.state.running = false;
                c.state.paused = false;
                c.state.pid = 0;
                c.state.shim_pid = 0;
                c.state.exit_code = 255;
                c.state.finished_at = timefmt::now();
            }
            Ok(())
        })
    }
}
