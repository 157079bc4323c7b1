//! Per-container read-write layers under `<driver-root>/rw/<container-id>/`: created in a temp
//! directory and renamed into place with a `layer.json` record naming the image and its layer
//! chain, which garbage collection counts as a user of those layers.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Driver, RwLayer, Snapshots};
use crate::digest::{Digest, ImageId};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;

const RECORD: &str = "layer.json";

/// What a read-write layer was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RwRecord {
    pub(crate) container: String,
    pub(crate) image: ImageId,
    /// Chain ids of the image's layers, top first.
    pub(crate) layers: Vec<Digest>,
}

fn valid_container_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!("invalid container id {id:?}")))
    }
}

impl Snapshots {
    fn rw_dir(&self, container: &str) -> Result<PathBuf> {
        valid_container_id(container)?;
        Ok(self.rw_root().join(container))
    }

    /// The directories of the read-write layer at `home` for `record`.
    fn rw_view(&self, home: PathBuf, record: &RwRecord) -> RwLayer {
        match self.driver {
            Driver::Overlay => {
                let mut lower: Vec<PathBuf> = record.layers.iter().map(|c| self.layer_content(c)).collect();
                if lower.is_empty() {
                    lower.push(home.join("empty"));
                }
                RwLayer::Overlay {
                    lower,
                    upper: home.join("upper"),
                    work: home.join("work"),
                    merged: home.join("merged"),
                }
            }
            Driver::Vfs => RwLayer::Dir {
                path: home.join("rootfs"),
            },
        }
    }

    /// Creates the read-write layer of `record.container` (an error if it already exists).
    pub(crate) fn create_rw(&self, record: &RwRecord) -> Result<RwLayer> {
        let target = self.rw_dir(&record.container)?;
        let exists = || {
            Error::Conflict(format!(
                "read-write layer of container {} already exists",
                record.container
            ))
        };
        if target.exists() {
            return Err(exists());
        }
        let tmp = self.rw_root().join(fsutil::tmp_name("rw"));
        let mut staged = StagedRw {
            path: tmp.clone(),
            armed: true,
        };
        let dirs: &[&str] = match (self.driver, record.layers.is_empty()) {
            (Driver::Overlay, false) => &["upper", "work", "merged"],
            (Driver::Overlay, true) => &["upper", "work", "merged", "empty"],
            (Driver::Vfs, _) => &["rootfs"],
        };
        for p in std::iter::once(tmp.clone()).chain(dirs.iter().map(|d| tmp.join(d))) {
            std::fs::create_dir(&p).ctx(|| format!("create {}", p.display()))?;
        }
        if let (Driver::Vfs, Some(top)) = (self.driver, record.layers.first()) {
            crate::copy::copy_tree(&self.layer_content(top), &tmp.join("rootfs"))?;
        }
        let json =
            serde_json::to_vec(record).map_err(|e| Error::Corrupt(format!("encode rw record: {e}")))?;
        // The record becomes visible with its directory's rename, so a plain write is atomic enough.
        // No fsync on this hot path: a killed process loses nothing, and a container's state does
        // not survive a power loss anyway.
        let rec = tmp.join(RECORD);
        std::fs::write(&rec, &json).ctx(|| format!("write {}", rec.display()))?;
        match std::fs::rename(&tmp, &target) {
            Ok(()) => staged.armed = false,
            Err(_) if target.exists() => return Err(exists()),
            Err(e) => return Err(Error::io(format!("create {}", target.display()), e)),
        }
        Ok(self.rw_view(target, record))
    }

    /// The read-write layer of a container and its record.
    pub(crate) fn rw_layer(&self, container: &str) -> Result<(RwRecord, RwLayer)> {
        let home = self.rw_dir(container)?;
        let record = read_record(&home)?
            .ok_or_else(|| Error::NotFound(format!("no read-write layer for container {container}")))?;
        let view = self.rw_view(home, &record);
        Ok((record, view))
    }

    /// Removes a container's read-write layer (unmounting a leftover mount of its merged dir first).
    pub(crate) fn remove_rw(&self, container: &str) -> Result<()> {
        let home = self.rw_dir(container)?;
        if !home.exists() {
            return Err(Error::NotFound(format!(
                "no read-write layer for container {container}"
            )));
        }
        if self.driver == Driver::Overlay {
            let _ = rustix::mount::unmount(home.join("merged"), rustix::mount::UnmountFlags::DETACH);
        }
        let trash = self.rw_root().join(fsutil::tmp_name("deleted"));
        std::fs::rename(&home, &trash).ctx(|| format!("remove {}", home.display()))?;
        fsutil::remove_tree(&trash)
    }

    /// The records of all read-write layers.
    pub(crate) fn list_rw(&self) -> Result<Vec<RwRecord>> {
        let root = self.rw_root();
        let rd = match std::fs::read_dir(&root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            r => r.ctx(|| format!("read {}", root.display()))?,
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.ctx(|| format!("read {}", root.display()))?;
            if entry.file_name().to_str().is_some_and(fsutil::is_tmp) {
                continue;
            }
            if let Some(r) = read_record(&entry.path())? {
                out.push(r);
            }
        }
        Ok(out)
    }
}

fn read_record(home: &std::path::Path) -> Result<Option<RwRecord>> {
    let path = home.join(RECORD);
    match fsutil::read_optional(&path)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt(format!("{}: {e}", path.display()))),
    }
}

/// Removes an unfinished read-write layer directory on drop.
struct StagedRw {
    path: PathBuf,
    armed: bool,
}

impl Drop for StagedRw {
    fn drop(&mut self) {
        if self.armed {
            let _ = fsutil::remove_tree(&self.path);
        }
    }
}
