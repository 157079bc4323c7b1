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

/// What is left of a retired container: its record directory (moved aside) and its writable layer.
pub(crate) struct Retired {
    data_root: std::path::PathBuf,
    record_dir: std::path::PathBuf,
    id: String,
}

/// Takes a stopped `--rm` container out of sight — record moved aside, name released, runtime files removed — so its
/// exit can be reported at once; the slow deletions are left to [`Retired::delete`]. `None` if it is already gone.
/// Errors are not reported: the shim calling this has nobody left to tell.
pub(crate) fn retire(paths: &Paths, store: &ContainerStore, id: &str) -> Option<Retired> {
    let c = store.load(id).ok()?;
    let record_dir = store.retire(id).ok()?;
    store.release_name(c.bare_name(), id);
    let _ = std::fs::remove_dir_all(paths.runtime_dir(id));
    Some(Retired {
        data_root: paths.data_root.clone(),
        record_dir,
        id: id.to_string(),
    })
}

impl Retired {
    /// Deletes the writable layer and the retired record directory.
    pub(crate) fn delete(self) {
        if let Ok(images) = ImageStore::open(&self.data_root, DriverChoice::Auto) {
            let _ = images.remove_rw_layer(&self.id);
        }
        let _ = std::fs::remove_dir_all(&self.record_dir);
    }
}
