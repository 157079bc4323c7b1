//! `rm`: refuse a running container unless forced (then kill it and wait), and remove the writable layer, the record,
//! the name and the runtime directory.

use berth_image::{DriverChoice, ImageStore};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::Status;
use crate::paths::Paths;
use crate::store::ContainerStore;

impl Engine {
    /// Removes container `reference`; `force` kills it first if it runs.
    pub fn remove(&self, reference: &str, force: bool) -> Result<()> {
        let id = self.containers.resolve(reference)?;
        let c = self.reconcile(self.containers.load(&id)?)?;
        if matches!(c.state.status, Status::Running | Status::Paused) {
            if !force {
                let what = if c.state.paused { "paused" } else { "running" };
                return Err(Error::Conflict(format!(
                    "You cannot remove a {what} container {id}. Stop the container before attempting removal or force remove"
                )));
            }
            let sub = self.subscribe_exit(&id);
            let _ = self.signal(&c, libc::SIGKILL);
            if c.state.paused {
                self.thaw(&c);
            }
            match sub {
                Some(mut s) => {
                    Self::await_exit(&mut s, None);
                }
                None => {
                    self.wait(&id)?;
                }
            }
            // A --rm container is removed by its shim; it may be gone already.
            if c.host_config.auto_remove && self.containers.load(&id).is_err() {
                return Ok(());
            }
        }
        remove_with(&self.opts.paths, &self.containers, &self.images, &id)
    }
}

fn remove_with(paths: &Paths, store: &ContainerStore, images: &ImageStore, id: &str) -> Result<()> {
    let c = match store.load(id) {
        Ok(c) => c,
        Err(Error::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    images.remove_rw_layer(id)?;
    store.delete(id)?;
    store.release_name(c.bare_name(), id);
    let _ = std::fs::remove_dir_all(paths.runtime_dir(id));
    Ok(())
}

/// Removes a container that is known to be stopped (used by the shim for `--rm`); errors are not reported because
/// there is nobody left to tell.
pub(crate) fn remove_stopped(paths: &Paths, store: &ContainerStore, id: &str) {
    if let Ok(images) = ImageStore::open(&paths.data_root, DriverChoice::Auto) {
        let _ = remove_with(paths, store, &images, id);
    }
}
