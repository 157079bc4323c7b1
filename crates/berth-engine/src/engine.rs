//! The engine handle: the two roots, the image store and the container store, opened once per process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use berth_image::{DriverChoice, ImageStore};
use berth_network::store::NetworkStore;

use crate::error::Result;
use crate::network::NetworkOptions;
use crate::paths::Paths;
use crate::store::ContainerStore;

/// Options fixed for the life of an engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub paths: Paths,
    pub storage_driver: DriverChoice,
    /// Parent cgroup of every container, e.g. `/berth`.
    pub cgroup_parent: String,
    /// How the default bridge network is made.
    pub network: NetworkOptions,
}

/// An engine over one data root.
pub struct Engine {
    pub(crate) opts: EngineOptions,
    pub(crate) images: ImageStore,
    pub(crate) containers: ContainerStore,
    pub(crate) networks: NetworkStore,
    opened: Instant,
    /// When the last attach prime began (nanoseconds after `opened`, plus one; 0: never).
    last_prime: AtomicU64,
}

/// A prime begun this recently serves the next start too; a second one would only queue behind it and open a new
/// grace period of its own.
const PRIME_SHARED_FOR: Duration = Duration::from_millis(5);

impl Engine {
    /// Opens the stores, creating the roots on first use.
    pub fn open(opts: EngineOptions) -> Result<Engine> {
        let images = ImageStore::open(&opts.paths.data_root, opts.storage_driver)?;
        let containers = ContainerStore::open(&opts.paths)?;
        let networks = crate::network::open_store(&opts.paths, &opts.network)?;
        Ok(Engine {
            opts,
            images,
            containers,
            networks,
            opened: Instant::now(),
            last_prime: AtomicU64::new(0),
        })
    }

    /// Starts, on a background thread, the cgroup v1 attach wait a container start is about to need (see
    /// [`berth_runtime::cgroups::prime_attach`]); call it as early as possible before `start`. Calls close together
    /// share one prime.
    pub fn warm_up_start(&self) {
        let now = self.opened.elapsed().as_nanos() as u64 + 1;
        let last = self.last_prime.load(Ordering::Relaxed);
        if last != 0 && now - last < PRIME_SHARED_FOR.as_nanos() as u64 {
            return;
        }
        if self
            .last_prime
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            std::thread::spawn(berth_runtime::cgroups::prime_attach);
        }
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
