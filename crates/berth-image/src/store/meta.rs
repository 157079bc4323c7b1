//! Small JSON records of the store: one per image (`image/images/<hex>.json`: record time, parent,
//! layer chain, size) and one per layer (`image/layers/<chain-hex>.json`: chain id, diff id,
//! parent, size), written atomically; beside the latter, the layer's tar layout record
//! (`<chain-hex>.tar-split`, see `tarsplit`), moved into place before the JSON record.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::digest::{Digest, ImageId};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;

const LAYOUT_SUFFIX: &str = "tar-split";

/// The store's record of an image (the config blob holds the rest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ImageMeta {
    /// When this store recorded the image (RFC 3339).
    pub(crate) created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) parent: Option<ImageId>,
    /// Chain ids of the layers, bottom first.
    pub(crate) layers: Vec<Digest>,
    /// Sum of the unpacked layer sizes.
    pub(crate) size: u64,
}

/// The store's record of an unpacked layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LayerMeta {
    pub(crate) chain_id: Digest,
    pub(crate) diff_id: Digest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) parent: Option<Digest>,
    pub(crate) size: u64,
}

/// The two record directories.
#[derive(Debug, Clone)]
pub(crate) struct MetaDirs {
    images: PathBuf,
    layers: PathBuf,
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match fsutil::read_optional(path)? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::Corrupt(format!("{}: {e}", path.display()))),
    }
}

fn write_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| Error::Corrupt(format!("encode {name}: {e}")))?;
    fsutil::write_atomic(dir, name, &bytes)
}

fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io(format!("remove {}", path.display()), e))
        }
        _ => Ok(()),
    }
}

/// Digests named by `<hex>.json` files in `dir` (temp files and strays skipped).
fn list(dir: &Path) -> Result<Vec<Digest>> {
    let rd = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        r => r.ctx(|| format!("read {}", dir.display()))?,
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.ctx(|| format!("read {}", dir.display()))?;
        let name = entry.file_name();
        if let Some(d) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|h| Digest::from_hex(h).ok())
        {
            out.push(d);
        }
    }
    out.sort();
    Ok(out)
}

impl MetaDirs {
    pub(crate) fn new(image_dir: &Path) -> MetaDirs {
        MetaDirs {
            images: image_dir.join("images"),
            layers: image_dir.join("layers"),
        }
    }

    pub(crate) fn init(&self) -> Result<()> {
        for d in [&self.images, &self.layers] {
            std::fs::create_dir_all(d).ctx(|| format!("create {}", d.display()))?;
        }
        Ok(())
    }

    fn image_path(&self, id: &ImageId) -> PathBuf {
        self.images.join(format!("{}.json", id.hex()))
    }

    pub(crate) fn read_image(&self, id: &ImageId) -> Result<Option<ImageMeta>> {
        read_json(&self.image_path(id))
    }

    pub(crate) fn write_image(&self, id: &ImageId, meta: &ImageMeta) -> Result<()> {
        write_json(&self.images, &format!("{}.json", id.hex()), meta)
    }

    pub(crate) fn delete_image(&self, id: &ImageId) -> Result<()> {
        remove(&self.image_path(id))
    }

    pub(crate) fn image_ids(&self) -> Result<Vec<ImageId>> {
        Ok(list(&self.images)?.into_iter().map(ImageId::from).collect())
    }

    pub(crate) fn read_layer(&self, chain: &Digest) -> Result<Option<LayerMeta>> {
        read_json(&self.layers.join(format!("{}.json", chain.hex())))
    }

    pub(crate) fn write_layer(&self, meta: &LayerMeta) -> Result<()> {
        write_json(&self.layers, &format!("{}.json", meta.chain_id.hex()), meta)
    }

    pub(crate) fn delete_layer(&self, chain: &Digest) -> Result<()> {
        remove(&self.layers.join(format!("{}.json", chain.hex())))?;
        remove(&self.layout_path(chain))
    }

    /// The tar layout record of a layer (`<chain-hex>.tar-split`), from which its exact tar stream
    /// is rebuilt.
    pub(crate) fn layout_path(&self, chain: &Digest) -> PathBuf {
        self.layers.join(format!("{}.{LAYOUT_SUFFIX}", chain.hex()))
    }

    /// Moves a finished layout record into place for `chain` (before the layer's record is written).
    pub(crate) fn install_layout(&self, chain: &Digest, from: &Path) -> Result<()> {
        let to = self.layout_path(chain);
        std::fs::rename(from, &to).ctx(|| format!("install {}", to.display()))
    }

    pub(crate) fn layer_ids(&self) -> Result<Vec<Digest>> {
        list(&self.layers)
    }

    /// Removes temp files of interrupted writes, and layout records whose layer record was never
    /// written. Only call with the store lock held.
    pub(crate) fn clean_temp(&self) -> Result<()> {
        for dir in [&self.images, &self.layers] {
            let Ok(rd) = std::fs::read_dir(dir) else { continue };
            for entry in rd.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                let orphan = name
                    .strip_suffix(LAYOUT_SUFFIX)
                    .and_then(|n| n.strip_suffix('.'))
                    .is_some_and(|hex| !dir.join(format!("{hex}.json")).exists());
                if fsutil::is_tmp(name) || orphan {
                    fsutil::remove_tree(&entry.path())?;
                }
            }
        }
        Ok(())
    }
}
