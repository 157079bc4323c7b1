//! The image store under `<data-root>/image/`: `repositories.json` (references), config blobs,
//! image and layer records, and the snapshot driver's layers and container read-write layers.
//! Mutations hold an exclusive `flock` on `image/.lock`; every file is replaced atomically, so
//! readers never see partial state and a store killed at any moment still loads. Layer unpacking
//! happens in temp directories under a shared `image/.gc.lock`, which keeps garbage collection from
//! deleting layers a writer is about to reference, or a layer whose tar stream is being read.

mod gc;
mod history;
mod import;
mod layer_sources;
mod layer_tar;
mod load;
mod meta;
mod query;
mod remove;
mod repositories;
mod save;
mod spool;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests_import;
#[cfg(test)]
mod tests_kill;
#[cfg(test)]
mod tests_remove;
#[cfg(test)]
mod tests_saveload;
#[cfg(test)]
mod tests_writer;
mod v1;
mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::blobs::BlobStore;
use crate::config::ImageConfig;
use crate::digest::{Digest, ImageId};
use crate::error::{Error, Result};
use crate::extract::DevicePolicy;
use crate::lock::FileLock;
use crate::snapshot::{self, Driver, DriverChoice, GraphDriverData, RwLayer, RwRecord, Snapshots};

pub use history::HistoryItem;
pub use import::ImportOptions;
pub use layer_sources::LayerSource;
pub use layer_tar::LayerTar;
pub use load::LoadedImage;
use meta::MetaDirs;
pub use writer::{ImageWriter, Unpacked};

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    pub chain_id: Digest,
    pub diff_id: Digest,
    /// Unpacked size (bytes of regular file content).
    pub size: u64,
}

/// An image with its parsed and raw config.
#[derive(Debug, Clone)]
pub struct Image {
    pub id: ImageId,
    pub config: ImageConfig,
    /// The exact config bytes; `id` is their digest.
    pub raw_config: Vec<u8>,
    /// Familiar `name:tag` references.
    pub repo_tags: Vec<String>,
    /// Familiar `name@digest` references.
    pub repo_digests: Vec<String>,
    /// Layers, bottom first.
    pub layers: Vec<LayerInfo>,
    /// Sum of the layer sizes.
    pub size: u64,
    pub parent: Option<ImageId>,
    /// When this store recorded the image (RFC 3339).
    pub recorded: String,
}

/// One row of `docker images`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    pub id: ImageId,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    /// Creation time from the config, seconds since the epoch.
    pub created: i64,
    pub size: u64,
    pub labels: BTreeMap<String, String>,
    pub parent: Option<ImageId>,
}

/// How containers use an image (the engine answers for its containers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usage {
    Unused,
    /// Only stopped containers use it; one of them.
    Stopped(String),
    /// A running container uses it.
    Running(String),
}

/// One line of `docker rmi` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveEvent {
    /// A reference removed (familiar form).
    Untagged(String),
    /// An image id or layer chain id deleted.
    Deleted(Digest),
}

/// Result of `docker image prune`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub deleted: Vec<RemoveEvent>,
    pub space_reclaimed: u64,
}

/// The image store of one data root.
#[derive(Debug)]
pub struct ImageStore {
    data_root: PathBuf,
    image_dir: PathBuf,
    blobs: BlobStore,
    meta: MetaDirs,
    snapshots: Snapshots,
    devices: DevicePolicy,
}

impl ImageStore {
    /// Opens (creating if needed) the store under `data_root` with the given driver choice.
    pub fn open(data_root: &Path, driver: DriverChoice) -> Result<ImageStore> {
        let image_dir = data_root.join("image");
        let driver = snapshot::select_driver(data_root, &image_dir, driver)?;
        let store = ImageStore {
            data_root: data_root.to_path_buf(),
            blobs: BlobStore::new(&image_dir),
            meta: MetaDirs::new(&image_dir),
            snapshots: Snapshots::new(data_root, driver),
            image_dir,
            devices: DevicePolicy::default(),
        };
        store.blobs.init()?;
        store.meta.init()?;
        store.snapshots.init()?;
        Ok(store)
    }

    /// Sets what extraction does with device nodes (default: create when root).
    pub fn set_device_policy(&mut self, policy: DevicePolicy) {
        self.devices = policy;
    }

    pub fn driver(&self) -> Driver {
        self.snapshots.driver
    }

    pub fn data_root(&self) -> &Path {
        &self.data_root
    }

    /// Blocks until this process holds the store's mutation lock.
    fn lock(&self) -> Result<FileLock> {
        FileLock::exclusive(&self.image_dir.join(".lock"))
    }

    fn gc_lock_path(&self) -> PathBuf {
        self.image_dir.join(".gc.lock")
    }

    /// Creates the read-write layer of a container on top of `image`. Nothing is mounted.
    pub fn create_rw_layer(&self, container_id: &str, image: &ImageId) -> Result<RwLayer> {
        let _writer = FileLock::shared(&self.gc_lock_path())?;
        let meta = self
            .meta
            .read_image(image)?
            .ok_or_else(|| Error::NoSuchImage(image.to_string()))?;
        let layers: Vec<Digest> = meta.layers.iter().rev().cloned().collect();
        if let Some(missing) = layers.iter().find(|c| !self.snapshots.has_layer(c)) {
            return Err(Error::Corrupt(format!(
                "layer {missing} of image {image} is missing"
            )));
        }
        self.snapshots.create_rw(&RwRecord {
            container: container_id.to_string(),
            image: image.clone(),
            layers,
        })
    }

    /// The read-write layer of a container.
    pub fn rw_layer(&self, container_id: &str) -> Result<RwLayer> {
        Ok(self.snapshots.rw_layer(container_id)?.1)
    }

    /// Removes a container's read-write layer; if its image was already deleted, the layers only
    /// it kept are collected.
    pub fn remove_rw_layer(&self, container_id: &str) -> Result<()> {
        let (record, _) = self.snapshots.rw_layer(container_id)?;
        self.snapshots.remove_rw(container_id)?;
        if self.meta.read_image(&record.image)?.is_none() {
            let lock = self.lock()?;
            let collected = self.collect_garbage(&lock)?;
            drop(lock);
            collected.remove_trash();
        }
        Ok(())
    }

    /// `GraphDriver` of `docker inspect` for a container.
    pub fn graph_driver_data(&self, rw: &RwLayer) -> GraphDriverData {
        self.snapshots.graph_driver_data(rw)
    }

    /// `GraphDriver` of `docker image inspect`.
    pub fn image_graph_driver_data(&self, image: &Image) -> GraphDriverData {
        let chains: Vec<Digest> = image.layers.iter().map(|l| l.chain_id.clone()).collect();
        self.snapshots.image_graph_driver_data(&chains)
    }
}
