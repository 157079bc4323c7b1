//! A layer's original tar stream (`docker push`, `docker save`), rebuilt byte for byte from the
//! unpacked layer and its layout record. The stream holds the shared gc lock, so garbage collection
//! leaves the layer alone while it is read, and reports its end only when the bytes rebuilt have the
//! layer's diff id (a read error otherwise).

use std::fmt;
use std::io::{self, Read};

use super::{ImageStore, LayerInfo};
use crate::error::{Error, Result};
use crate::lock::FileLock;
use crate::tarsplit::{self, Rebuilt};

/// The uncompressed tar stream of one layer; owns everything it needs, so it can move to another
/// thread and outlive the borrow of the store that opened it.
pub struct LayerTar {
    stream: Rebuilt,
    len: u64,
    _gc: FileLock,
}

impl LayerTar {
    /// The length of the whole stream in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Read for LayerTar {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
}

impl fmt::Debug for LayerTar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayerTar").field("len", &self.len).finish()
    }
}

impl ImageStore {
    /// Opens the original tar stream of `layer`, whose digest is its diff id.
    pub fn layer_tar(&self, layer: &LayerInfo) -> Result<LayerTar> {
        let gc = FileLock::shared(&self.gc_lock_path())?;
        let chain = &layer.chain_id;
        let present = self
            .meta
            .read_layer(chain)?
            .is_some_and(|m| m.diff_id == layer.diff_id)
            && self.snapshots.has_layer(chain);
        if !present {
            return Err(Error::NotFound(format!("layer {} not found", layer.diff_id)));
        }
        let record = self.meta.layout_path(chain);
        if !record.exists() {
            return Err(Error::NotFound(format!(
                "layer {} cannot be exported: its tar layout was not recorded",
                layer.diff_id
            )));
        }
        let content = self.snapshots.layer_content(chain);
        Ok(LayerTar {
            len: tarsplit::stream_len(&record)?,
            stream: Rebuilt::open(&record, &content, layer.diff_id.clone())?,
            _gc: gc,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{image_of, rootfs_tar, store, unused};
    use super::*;
    use crate::digest::Digest;
    use crate::snapshot::DriverChoice;
    use crate::testutil::TarBuilder;

    fn read_all(mut t: LayerTar) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        t.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn rebuilds_each_layer_exactly_on_another_thread() {
        for driver in [DriverChoice::Overlay, DriverChoice::Vfs] {
            let (_t, s) = store(driver);
            let big: Vec<u8> = (0..500_000u32).map(|i| (i % 241) as u8).collect();
            let top = TarBuilder::new()
                .dir("data/")
                .file("data/big", &big)
                .file("bin/busybox", b"replaced")
                .finish();
            let layers = [rootfs_tar("x"), top];
            image_of(&s, &[&layers[0], &layers[1]], "x");
            let image = s.get("x").unwrap();
            for (info, tar) in image.layers.iter().zip(&layers) {
                let stream = s.layer_tar(info).unwrap();
                assert_eq!(stream.len(), tar.len() as u64);
                assert!(!stream.is_empty());
                let got = std::thread::spawn(move || read_all(stream))
                    .join()
                    .unwrap()
                    .unwrap();
                assert_eq!(&got, tar);
                assert_eq!(Digest::of(&got), info.diff_id);
            }
        }
    }

    #[test]
    fn changed_content_is_a_read_error() {
        let (_t, s) = store(DriverChoice::Vfs);
        image_of(&s, &[&rootfs_tar("y")], "y");
        let info = s.get("y").unwrap().layers[0].clone();
        let passwd = s.snapshots.layer_content(&info.chain_id).join("etc/passwd");
        let mut changed = std::fs::read(&passwd).unwrap();
        changed[0] ^= 0x20;
        std::fs::write(&passwd, &changed).unwrap();
        let err = read_all(s.layer_tar(&info).unwrap()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("has digest"), "{err}");
    }

    #[test]
    fn holds_off_garbage_collection() {
        let (_t, s) = store(DriverChoice::Vfs);
        image_of(&s, &[&rootfs_tar("z")], "z");
        let info = s.get("z").unwrap().layers[0].clone();
        let stream = s.layer_tar(&info).unwrap();
        s.remove("z", false, &unused).unwrap();
        // The image is gone, but its layer stays readable while the stream is open.
        let got = read_all(stream).unwrap();
        assert_eq!(Digest::of(&got), info.diff_id);
        // The next collection, with no stream open, deletes it.
        image_of(&s, &[&rootfs_tar("other")], "other");
        s.remove("other", false, &unused).unwrap();
        assert!(!s.snapshots.layer_content(&info.chain_id).exists());
        let err = s.layer_tar(&info).unwrap_err();
        assert_eq!(err.to_string(), format!("layer {} not found", info.diff_id));
    }
}
