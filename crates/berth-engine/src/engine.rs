//! The engine handle: the two roots, the image store and the container store, opened once per process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use berth_image::{DriverChoice, ImageStore};
use berth_network::store::NetworkStore;

use crate::error::Result;
use crate::network::NetworkOptions;
use crate::paths::Paths;
use crate::registry::RegistrySettings;
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
    /// How registries are reached.
    pub registry: RegistrySettings,
}

/// An engine over one data root.
pub struct Engine {
    pub(crate) opts: EngineOptions,
    pub(crate) images: ImageStore,
    pub(crate) containers: ContainerStore,
    pub(crate) networks: NetworkStore,
    opened: Instant,
    /// Until when (nanoseconds after `opened`) cgroup v1's attach window is to be kept open; 0: never asked.
    warm_until: Arc<AtomicU64>,
}

/// How long one call to [`Engine::warm_up_start`] keeps the attach window open: past a whole daemonless
/// `run --rm`'s create-attach-wait-start sequence.
const WARM_FOR: Duration = Duration::from_millis(60);

/// How often the keeper re-enters the window: well within one RCU grace period, so the window never closes.
const WARM_EVERY: Duration = Duration::from_millis(2);

impl Engine {
    /// Opens the stores, creating the roots on first use.
    pub fn open(opts: EngineOptions) -> Result<Engine> {
        let images = ImageStore::open(&opts.paths.data_root, opts.storage_driver)?;
        let containers = ContainerStore::open(&opts.paths)?;
        let networks = crate::network::open_store(&opts.paths, &opts.network)?;
        if opts.network.explicit {
            // While containers are on the default bridge it keeps its settings (every command, `rm` included, must
            // still work); they apply at the first command after the last of them stopped.
            let _ = crate::network::follow_options(&opts.paths, &networks);
        }
        Ok(Engine {
            opts,
            images,
            containers,
            networks,
            opened: Instant::now(),
            warm_until: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Opens cgroup v1's attach window for the container starts about to come, and keeps it open for a while (see
    /// [`berth_runtime::cgroups::prime_attach`]): the first attach after a quiet spell waits for an RCU grace period
    /// (5–20 ms), attaches inside the window pass at once. A background thread pays that wait now and re-enters
    /// the window every few milliseconds until [`WARM_FOR`] after the latest call, so the container's own attach —
    /// in its shim, after create, attach and start requests — finds it open however long those took. Calls while a
    /// keeper runs only move its deadline.
    pub fn warm_up_start(&self) {
        let until = (self.opened.elapsed() + WARM_FOR).as_nanos() as u64;
        let before = self.warm_until.swap(until, Ordering::AcqRel);
        // Read after the swap: a keeper that has not yet passed the old deadline will see the new one.
        if before > self.opened.elapsed().as_nanos() as u64 {
            return;
        }
        let (deadline, opened) = (self.warm_until.clone(), self.opened);
        std::thread::spawn(move || {
            loop {
                berth_runtime::cgroups::prime_attach();
                if opened.elapsed().as_nanos() as u64 >= deadline.load(Ordering::Acquire) {
                    return;
                }
                std::thread::sleep(WARM_EVERY);
            }
        });
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
