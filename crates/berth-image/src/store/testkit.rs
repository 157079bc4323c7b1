//! Helpers for store and snapshot tests: temp stores, small root filesystem tars, configs.

use std::path::{Path, PathBuf};

use super::{ImageStore, Usage};
use crate::config::{ImageConfig, RootFs};
use crate::digest::{Digest, ImageId};
use crate::reference::Reference;
use crate::snapshot::DriverChoice;
use crate::testutil::TarBuilder;

pub(crate) fn store(driver: DriverChoice) -> (tempfile::TempDir, ImageStore) {
    let t = tempfile::tempdir().unwrap();
    let s = ImageStore::open(t.path(), driver).unwrap();
    (t, s)
}

/// The `/etc/passwd` of [`rootfs_tar`].
pub(crate) const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n";

/// A file, a directory, a symlink and a hardlink.
pub(crate) fn rootfs_tar(marker: &str) -> Vec<u8> {
    TarBuilder::new()
        .dir("bin/")
        .file_mode(
            "bin/busybox",
            0o755,
            (0, 0),
            format!("busybox {marker}").as_bytes(),
        )
        .symlink("bin/sh", "busybox")
        .hardlink("bin/ls", "bin/busybox")
        .file("etc/passwd", PASSWD)
        .finish()
}

pub(crate) fn unused(_: &ImageId) -> Usage {
    Usage::Unused
}

/// A minimal config for layers with these diff ids.
pub(crate) fn config_for(diff_ids: &[Digest], comment: &str) -> Vec<u8> {
    let c = ImageConfig {
        architecture: "amd64".into(),
        os: "linux".into(),
        comment: comment.into(),
        created: Some("2024-01-01T00:00:00Z".into()),
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids: diff_ids.to_vec(),
        },
        ..Default::default()
    };
    serde_json::to_vec(&c).unwrap()
}

/// Commits an image made of `layers` (tars, bottom first) tagged `name`.
pub(crate) fn image_of(s: &ImageStore, layers: &[&[u8]], name: &str) -> ImageId {
    let mut w = s.writer().unwrap();
    let diffs: Vec<Digest> = layers
        .iter()
        .map(|l| w.add_layer(*l, None).unwrap().diff_id)
        .collect();
    w.commit(
        &config_for(&diffs, name),
        &[Reference::parse(name).unwrap()],
        None,
    )
    .unwrap()
}

/// Entries of a directory, sorted.
pub(crate) fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Layer directories of a driver area (64-hex names).
pub(crate) fn layer_dirs(data_root: &Path, driver_dir: &str) -> Vec<PathBuf> {
    names(&data_root.join(driver_dir))
        .into_iter()
        .filter(|n| n.len() == 64)
        .map(|n| data_root.join(driver_dir).join(n))
        .collect()
}
