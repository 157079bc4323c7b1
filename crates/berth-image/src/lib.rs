//! Berth image store ("graph"): Docker references, image configs, a content-addressed blob store,
//! safe layer extraction, layer snapshots (overlay, vfs) and the image store built on them.

pub mod blobs;
pub mod changes;
pub mod compression;
pub mod config;
mod copy;
pub mod diff;
pub mod digest;
pub mod error;
pub mod extract;
pub mod fsarchive;
mod fsutil;
mod lock;
pub mod reference;
pub mod snapshot;
pub mod store;
mod tarsplit;
mod xattr;

pub use changes::apply_changes;
pub use compression::{GzipOptions, gzip_parallel};
pub use config::{ContainerConfig, Empty, HealthConfig, History, ImageConfig, RootFs};
pub use diff::{TreeKind, write_layer_tar};
pub use digest::{Digest, ImageId};
pub use error::{Error, ErrorKind, Result};
pub use extract::{DevicePolicy, ExtractOptions, ExtractStats, WhiteoutMode, apply_layer};
pub use reference::Reference;
pub use snapshot::{
    Driver, DriverChoice, GraphDriverData, RwLayer, mount_rw, overlay_mount, read_file, unmount,
};
pub use store::{HistoryItem, LoadedImage};
pub use store::{
    Image, ImageStore, ImageSummary, ImageWriter, ImportOptions, LayerInfo, LayerSource, LayerTar,
    PruneReport, RemoveEvent, Unpacked, Usage,
};
#[cfg(test)]
mod testutil;
