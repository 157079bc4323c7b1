//! The engine handle: the two roots, the image store and the container store, opened once per process.

use berth_image::{DriverChoice, ImageStore};

use crate::error::Result;
use crate::paths::Paths;
use crate::store::ContainerStore;

/// Options fixed for the life of an engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub paths: Paths,
    pub storage_driver: DriverChoice,
    /// Parent cgroup of every container, e.g. `/berth`.
    pub cgroup_parent: String,
}

/// An engine over one data root.
pub struct Engine {
    pub(crate) opts: EngineOptions,
    pub(crate) images: ImageStore,
    pub(crate) containers: ContainerStore,
}

impl Engine {
    /// Opens the stores, creating the roots on first use.
    pub fn open(opts: EngineOptions) -> Result<Engine> {
        let images = ImageStore::open(&opts.paths.data_root, opts.storage_driver)?;
        let containers = ContainerStore::open(&opts.paths)?;
        Ok(Engine {
            opts,
            images,
            containers,
        })
    }

    /// Starts, on a background thread, the cgroup v1 attach wait a container start is about to need (see
    /// [`berth_runtime::cgroups::prime_attach`]); call it as early as possible before `start`.
    pub fn warm_up_start(&self) {
        std::thread::spawn(berth_runtime::cgroups::prime_attach);
    }

    /// The image store.
    pub fn images(&self) -> &ImageStore {
        &self.images
    }

    /// The roots.
    pub fn paths(&self) -> &Paths {
        &self.opts.paths
    }
}
