//! Garbage collection: layers referenced by no image and no container read-write layer, the layer
//! sources of diff ids no layer has, blobs of no image, and temp files left by interrupted work. Runs
//! under the store lock and only when no writer is unpacking; directories are renamed away under the
//! lock and deleted after it.

use std::collections::HashSet;
use std::path::PathBuf;

use super::ImageStore;
use crate::digest::Digest;
use crate::error::Result;
use crate::fsutil;
use crate::lock::FileLock;

/// What a collection removed.
#[derive(Debug, Default)]
pub(super) struct Collected {
    /// Deleted layers with their sizes.
    pub(super) layers: Vec<(Digest, u64)>,
    /// Renamed-away directories still to delete.
    trash: Vec<PathBuf>,
}

impl Collected {
    pub(super) fn reclaimed(&self) -> u64 {
        self.layers.iter().map(|(_, s)| s).sum()
    }

    /// Deletes the renamed-away directories (call after releasing the store lock).
    pub(super) fn remove_trash(self) {
        for t in self.trash {
            // Leftovers are retried by the next collection.
            let _ = fsutil::remove_tree(&t);
        }
    }
}

impl ImageStore {
    /// Collects garbage; `_lock` proves the store lock is held. Does nothing about layers while a
    /// writer is active (its new layers are not referenced yet).
    pub(super) fn collect_garbage(&self, _lock: &FileLock) -> Result<Collected> {
        let mut out = Collected::default();
        self.blobs.clean_temp()?;
        self.meta.clean_temp()?;
        clean_image_dir_temp(&self.image_dir)?;
        let Some(_no_writers) = FileLock::try_exclusive(&self.gc_lock_path())? else {
            return Ok(out);
        };
        self.snapshots.clean_temp()?;
        let mut keep: HashSet<Digest> = HashSet::new();
        let mut configs: HashSet<Digest> = HashSet::new();
        for id in self.meta.image_ids()? {
            if let Some(m) = self.meta.read_image(&id)? {
                keep.extend(m.layers);
                configs.insert(id.digest().clone());
            }
        }
        for r in self.snapshots.list_rw()? {
            keep.extend(r.layers);
        }
        let recorded = self.meta.layer_ids()?;
        for chain in &recorded {
            if keep.contains(chain) {
                continue;
            }
            let size = self.meta.read_layer(chain)?.map_or(0, |m| m.size);
            // The record goes first: a layer directory without a record is an orphan, removed below
            // by a later collection, never a layer that looks present but is not.
            self.meta.delete_layer(chain)?;
            out.trash.extend(self.snapshots.trash_layer(chain)?);
            out.layers.push((chain.clone(), size));
        }
        let recorded: HashSet<Digest> = recorded.into_iter().collect();
        for chain in self.snapshots.layer_dirs()? {
            if !recorded.contains(&chain) && !keep.contains(&chain) {
                out.trash.extend(self.snapshots.trash_layer(&chain)?);
            }
        }
        self.collect_layer_sources()?;
        for blob in self.blobs.list()? {
            if !configs.contains(&blob) {
                self.blobs.delete(&blob)?;
            }
        }
        Ok(out)
    }
}

fn clean_image_dir_temp(dir: &std::path::Path) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in rd.flatten() {
        if entry.file_name().to_str().is_some_and(fsutil::is_tmp) {
            fsutil::remove_tree(&entry.path())?;
        }
    }
    Ok(())
}
