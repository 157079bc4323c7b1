//! Adding images: an [`ImageWriter`] unpacks layers into temp directories (decompression and
//! diff-id hashing overlapping with file creation), reuses layers the store already has, and
//! commits layers, config blob, image record and references in one locked step.

use std::io::Read;

use super::meta::{ImageMeta, LayerMeta};
use super::repositories::Repositories;
use super::{ImageStore, LayerInfo};
use crate::compression::decode_in_background;
use crate::config::{ImageConfig, format_time};
use crate::digest::{Digest, ImageId, chain_id};
use crate::error::{Error, Result};
use crate::extract::{ExtractOptions, apply_layer_recorded};
use crate::lock::FileLock;
use crate::reference::Reference;
use crate::snapshot::{Driver, Staged};
use crate::tarsplit::Recorder;

/// Threads creating files while a layer unpacks, besides the one reading it (see `extract::pool`): file
/// creation is kernel work that overlaps well with decompression on two cores.
const FILE_WORKERS: usize = 3;

/// A layer unpacked by [`ImageWriter::unpack`], not yet part of the image; dropped, it is discarded.
#[derive(Debug)]
pub struct Unpacked {
    parent: Option<Digest>,
    meta: LayerMeta,
    staged: Staged,
}

impl Unpacked {
    pub fn diff_id(&self) -> &Digest {
        &self.meta.diff_id
    }

    pub fn chain_id(&self) -> &Digest {
        &self.meta.chain_id
    }
}

/// Builds one image; dropping it without [`ImageWriter::commit`] discards unpacked layers.
#[derive(Debug)]
pub struct ImageWriter<'s> {
    store: &'s ImageStore,
    _writer: FileLock,
    layers: Vec<Pending>,
    /// Digest references may move to this image (pulls).
    move_digests: bool,
}

#[derive(Debug)]
struct Pending {
    meta: LayerMeta,
    /// Unpacked here and not yet in the store.
    staged: Option<Staged>,
}

impl Pending {
    fn info(&self) -> LayerInfo {
        LayerInfo {
            chain_id: self.meta.chain_id.clone(),
            diff_id: self.meta.diff_id.clone(),
            size: self.meta.size,
        }
    }
}

impl ImageStore {
    /// Starts adding an image. Staging directories left by writers that were killed (a pull stopped by
    /// `kill -9`) are removed first, when no other writer is active.
    pub fn writer(&self) -> Result<ImageWriter<'_>> {
        if let Some(_alone) = FileLock::try_exclusive(&self.gc_lock_path())? {
            self.snapshots.clean_temp()?;
        }
        Ok(ImageWriter {
            store: self,
            _writer: FileLock::shared(&self.gc_lock_path())?,
            layers: Vec::new(),
            move_digests: false,
        })
    }

    /// Whether the layer with this chain id is in the store (a pull can skip downloading it).
    pub fn has_layer(&self, chain_id: &Digest) -> Result<bool> {
        Ok(self.meta.read_layer(chain_id)?.is_some() && self.snapshots.has_layer(chain_id))
    }
}

impl ImageWriter<'_> {
    /// Lets [`ImageWriter::commit`] move digest references from another image to this one, as a pull does
    /// when another platform of the same index was pulled before.
    pub fn move_digest_references(&mut self) {
        self.move_digests = true;
    }

    /// The chain id the next layer builds on.
    pub fn top(&self) -> Option<&Digest> {
        self.layers.last().map(|l| &l.meta.chain_id)
    }

    /// Appends a layer the store already has (found by its diff id on top of the current chain).
    pub fn add_existing_layer(&mut self, diff_id: &Digest) -> Result<LayerInfo> {
        let chain = chain_id(self.top(), diff_id);
        let meta = match self.store.meta.read_layer(&chain)? {
            Some(m) if self.store.snapshots.has_layer(&chain) => m,
            _ => return Err(Error::NotFound(format!("layer {chain} not found"))),
        };
        self.layers.push(Pending { meta, staged: None });
        Ok(self.layers[self.layers.len() - 1].info())
    }

    /// Unpacks a layer stream (plain, gzip or zstd tar) on top of the current chain. With
    /// `expected_diff_id`, a stream whose uncompressed digest differs is refused.
    pub fn add_layer<R: Read + Send>(
        &mut self,
        reader: R,
        expected_diff_id: Option<&Digest>,
    ) -> Result<LayerInfo> {
        let top = self.top().cloned();
        let layer = self.unpack(top.as_ref(), reader, expected_diff_id)?;
        self.push(layer)
    }

    /// Whether [`ImageWriter::unpack`] can unpack a layer before the layers below it are unpacked (overlay:
    /// each layer is a directory of its own; vfs starts each layer as a copy of its parent).
    pub fn unpacks_independently(&self) -> bool {
        self.store.snapshots.driver == Driver::Overlay
    }

    /// Unpacks a layer stream (plain, gzip or zstd tar) meant to go on top of the chain `parent`, checking its
    /// uncompressed digest against `expected_diff_id`. Several may run at once (`&self`); for vfs `parent` must be
    /// the writer's top or a layer in the store. Add the result with [`ImageWriter::push`], in order.
    pub fn unpack<R: Read + Send>(
        &self,
        parent: Option<&Digest>,
        reader: R,
        expected_diff_id: Option<&Digest>,
    ) -> Result<Unpacked> {
        let store = self.store;
        let parent_content = match (store.snapshots.driver, parent) {
            (Driver::Vfs, Some(p)) => {
                let staged = self
                    .layers
                    .last()
                    .filter(|l| &l.meta.chain_id == p)
                    .and_then(|l| l.staged.as_ref());
                if staged.is_none() && !store.snapshots.has_layer(p) {
                    return Err(Error::NotFound(format!("layer {p} not found")));
                }
                Some(store.snapshots.content_of(p, staged))
            }
            _ => None,
        };
        let staged = store.snapshots.stage(parent_content.as_deref())?;
        let opts = ExtractOptions {
            whiteouts: store.snapshots.driver.whiteouts(),
            devices: store.devices,
            same_owner: rustix::process::geteuid().is_root(),
            workers: FILE_WORKERS,
        };
        let recorder = Recorder::create(&staged.layout)?;
        let (stats, diff_id, _) = decode_in_background(reader, |r| {
            apply_layer_recorded(&staged.content, r, &opts, &recorder)
        })?;
        recorder.finish()?;
        if let Some(expected) = expected_diff_id
            && expected != &diff_id
        {
            return Err(Error::Corrupt(format!(
                "layer diff id mismatch: expected {expected}, got {diff_id}"
            )));
        }
        Ok(Unpacked {
            parent: parent.cloned(),
            meta: LayerMeta {
                chain_id: chain_id(parent, &diff_id),
                diff_id,
                parent: parent.cloned(),
                size: stats.size,
            },
            staged,
        })
    }

    /// Appends an unpacked layer; it must have been unpacked on top of the current chain.
    pub fn push(&mut self, layer: Unpacked) -> Result<LayerInfo> {
        if layer.parent.as_ref() != self.top() {
            return Err(Error::InvalidArgument(format!(
                "layer {} was unpacked on another parent",
                layer.meta.diff_id
            )));
        }
        let store = self.store;
        let chain = &layer.meta.chain_id;
        let pending = match store.meta.read_layer(chain)? {
            Some(meta) if store.snapshots.has_layer(chain) => Pending { meta, staged: None },
            _ => Pending {
                meta: layer.meta,
                staged: Some(layer.staged),
            },
        };
        self.layers.push(pending);
        Ok(self.layers[self.layers.len() - 1].info())
    }

    /// Stores the image: its exact `config` bytes (whose `rootfs.diff_ids` must match the layers),
    /// the layers, and the references (tags move, digests must not).
    pub fn commit(
        self,
        config: &[u8],
        references: &[Reference],
        parent: Option<&ImageId>,
    ) -> Result<ImageId> {
        let parsed: ImageConfig = serde_json::from_slice(config)
            .map_err(|e| Error::InvalidArgument(format!("invalid image config: {e}")))?;
        let diff_ids: Vec<&Digest> = self.layers.iter().map(|l| &l.meta.diff_id).collect();
        if parsed.rootfs.diff_ids.iter().collect::<Vec<_>>() != diff_ids {
            return Err(Error::InvalidArgument(
                "image config rootfs.diff_ids does not match its layers".into(),
            ));
        }
        let store = self.store;
        let id = ImageId::of_config(config);
        let _lock = store.lock()?;
        let mut size = 0;
        let mut chains = Vec::with_capacity(self.layers.len());
        for layer in self.layers {
            if let Some(staged) = layer.staged
                && store.meta.read_layer(&layer.meta.chain_id)?.is_none()
            {
                store.meta.install_layout(&layer.meta.chain_id, &staged.layout)?;
                store.snapshots.commit(staged, &layer.meta.chain_id)?;
                store.meta.write_layer(&layer.meta)?;
            }
            size += layer.meta.size;
            chains.push(layer.meta.chain_id);
        }
        store.blobs.put_verified(id.digest(), config)?;
        if store.meta.read_image(&id)?.is_none() {
            let created = format_time(time::OffsetDateTime::now_utc());
            store.meta.write_image(
                &id,
                &ImageMeta {
                    created,
                    parent: parent.cloned(),
                    layers: chains,
                    size,
                },
            )?;
        }
        if !references.is_empty() {
            let mut repos = Repositories::load(&store.image_dir)?;
            for r in references {
                repos.add_with(r, &id, self.move_digests)?;
            }
            repos.save(&store.image_dir)?;
        }
        Ok(id)
    }
}
