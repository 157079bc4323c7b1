//! `pause` and `unpause`: freeze and thaw every process of a container through its cgroup's freezer.

use berth_runtime::cgroups::{Cgroup, Hierarchy};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::{Container, Status};

impl Engine {
    pub(crate) fn cgroup(&self, c: &Container) -> Result<Cgroup> {
        let path = format!("{}/{}", self.opts.cgroup_parent.trim_end_matches('/'), c.id);
        let h = Hierarchy::detect().map_err(|e| Error::Runtime(e.to_string()))?;
        h.open(&path).map_err(|e| Error::Runtime(e.to_string()))
    }

    /// Freezes container `reference`.
    pub fn pause(&self, reference: &str) -> Result<()> {
        let id = self.containers.resolve(reference)?;
        let c = self.reconcile(self.containers.load(&id)?)?;
        match c.state.status {
            Status::Running => {}
            Status::Paused => return Err(Error::Conflict(format!("Container {id} is already paused"))),
            _ => return Err(Error::Conflict(format!("Container {id} is not running"))),
        }
        self.cgroup(&c)?
            .freeze()
            .map_err(|e| Error::Runtime(e.to_string()))?;
        self.containers.update(&id, |c| {
            c.state.status = Status::Paused;
            c.state.paused = true;
            Ok(())
        })?;
        Ok(())
    }

    /// Thaws container `reference`.
    pub fn unpause(&self, reference: &str) -> Result<()> {
        let id = self.containers.resolve(reference)?;
        let c = self.containers.load(&id)?;
        if c.state.status != Status::Paused {
            return Err(Error::Conflict(format!("Container {id} is not paused")));
        }
        self.cgroup(&c)?
            .thaw()
            .map_err(|e| Error::Runtime(e.to_string()))?;
        self.containers.update(&id, |c| {
            if c.state.status == Status::Paused {
                c.state.status = Status::Running;
            }
            c.state.paused = false;
            Ok(())
        })?;
        Ok(())
    }

    /// Thaws a paused container so a signal sent to it can act (best effort).
    pub(crate) fn thaw(&self, c: &Container) {
        if let Ok(cg) = self.cgroup(c) {
            let _ = cg.thaw();
        }
        let _ = self.containers.update(&c.id, |c| {
            if c.state.status == Status::Paused {
                c.state.status = Status::Running;
            }
            c.state.paused = false;
            Ok(())
        });
    }
}
