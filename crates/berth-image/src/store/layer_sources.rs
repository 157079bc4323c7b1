//! Layer sources (Docker's "v2 metadata"): where a layer, known by its diff id, was seen as a
//! compressed blob in a registry, so a push can skip a blob the registry already has or mount it from
//! another repository instead of uploading it. One JSON list per diff id,
//! `image/distribution/<diff-hex>.json`, newest first, one entry per (digest, repository), at most
//! 16. Lists are rewritten atomically under `image/distribution/.lock`, so concurrent
//! writers in any process never lose each other's entries; readers take no lock.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ImageStore;
use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::lock::FileLock;

/// Entries kept per layer.
const MAX_SOURCES: usize = 16;

/// A compressed blob of a layer in a registry repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerSource {
    /// Digest of the compressed blob.
    pub digest: Digest,
    /// Size of the compressed blob.
    pub size: u64,
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// Registry domain and repository path (`127.0.0.1:5000/library/x`).
    pub repository: String,
}

impl ImageStore {
    fn sources_dir(&self) -> PathBuf {
        self.image_dir.join("distribution")
    }

    /// Records that the layer `diff_id` is the blob `source` describes. Call it once the layer is
    /// in the store (or while the [`super::ImageWriter`] holding it is alive): the sources of layers
    /// no image holds are deleted by garbage collection.
    pub fn add_layer_source(&self, diff_id: &Digest, source: LayerSource) -> Result<()> {
        let dir = self.sources_dir();
        std::fs::create_dir_all(&dir).ctx(|| format!("create {}", dir.display()))?;
        let _lock = FileLock::exclusive(&dir.join(".lock"))?;
        let mut list = self.layer_sources(diff_id)?;
        if list.first() == Some(&source) {
            return Ok(());
        }
        list.retain(|s| s.digest != source.digest || s.repository != source.repository);
        list.insert(0, source);
        list.truncate(MAX_SOURCES);
        let json =
            serde_json::to_vec(&list).map_err(|e| Error::Corrupt(format!("encode layer sources: {e}")))?;
        fsutil::write_atomic(&dir, &format!("{}.json", diff_id.hex()), &json)
    }

    /// Where the layer `diff_id` was seen, newest first; empty when unknown or when the list does
    /// not parse.
    pub fn layer_sources(&self, diff_id: &Digest) -> Result<Vec<LayerSource>> {
        let path = self.sources_dir().join(format!("{}.json", diff_id.hex()));
        Ok(fsutil::read_optional(&path)?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default())
    }

    /// Deletes the lists of diff ids no recorded layer has, and temp files of interrupted writes.
    /// Only call during garbage collection, with no writer active.
    pub(super) fn collect_layer_sources(&self) -> Result<()> {
        let dir = self.sources_dir();
        let names: Vec<String> = match std::fs::read_dir(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            rd => rd
                .ctx(|| format!("read {}", dir.display()))?
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n != ".lock")
                .collect(),
        };
        if names.is_empty() {
            return Ok(());
        }
        let _lock = FileLock::exclusive(&dir.join(".lock"))?;
        let mut live = HashSet::new();
        for chain in self.meta.layer_ids()? {
            if let Some(m) = self.meta.read_layer(&chain)? {
                live.insert(m.diff_id);
            }
        }
        for name in names {
            let diff = name.strip_suffix(".json").and_then(|h| Digest::from_hex(h).ok());
            if fsutil::is_tmp(&name) || diff.is_some_and(|d| !live.contains(&d)) {
                fsutil::remove_tree(&dir.join(&name))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{image_of, rootfs_tar, store, unused};
    use super::*;
    use crate::snapshot::DriverChoice;

    fn source(n: u32, repo: &str) -> LayerSource {
        LayerSource {
            digest: Digest::of(&n.to_le_bytes()),
            size: u64::from(n) * 100,
            media_type: "application/vnd.docker.image.rootfs.diff.tar.gzip".into(),
            repository: repo.into(),
        }
    }

    #[test]
    fn newest_first_deduplicated_and_capped() {
        let (t, s) = store(DriverChoice::Vfs);
        let diff = Digest::of(b"layer");
        assert!(s.layer_sources(&diff).unwrap().is_empty());
        s.add_layer_source(&diff, source(1, "127.0.0.1:5000/a")).unwrap();
        s.add_layer_source(&diff, source(1, "127.0.0.1:5000/b")).unwrap();
        s.add_layer_source(&diff, source(2, "127.0.0.1:5000/a")).unwrap();
        s.add_layer_source(&diff, source(1, "127.0.0.1:5000/a")).unwrap();
        let got = s.layer_sources(&diff).unwrap();
        assert_eq!(
            got,
            [
                source(1, "127.0.0.1:5000/a"),
                source(2, "127.0.0.1:5000/a"),
                source(1, "127.0.0.1:5000/b")
            ]
        );
        let file = t
            .path()
            .join("image/distribution")
            .join(format!("{}.json", diff.hex()));
        let json = std::fs::read_to_string(&file).unwrap();
        assert!(json.starts_with(r#"[{"digest":"sha256:"#), "{json}");
        assert!(json.contains(r#""mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip""#));
        for n in 10..40 {
            s.add_layer_source(&diff, source(n, "docker.io/library/x"))
                .unwrap();
        }
        let got = s.layer_sources(&diff).unwrap();
        assert_eq!(got.len(), MAX_SOURCES);
        assert_eq!(got[0], source(39, "docker.io/library/x"));
        assert_eq!(got[MAX_SOURCES - 1], source(24, "docker.io/library/x"));
    }

    #[test]
    fn corrupt_list_reads_as_empty_and_is_replaced() {
        let (t, s) = store(DriverChoice::Vfs);
        let diff = Digest::of(b"layer");
        s.add_layer_source(&diff, source(1, "r/a")).unwrap();
        let file = t
            .path()
            .join("image/distribution")
            .join(format!("{}.json", diff.hex()));
        std::fs::write(&file, b"[{\"digest\":\"md5:zz\"").unwrap();
        assert!(s.layer_sources(&diff).unwrap().is_empty());
        s.add_layer_source(&diff, source(2, "r/a")).unwrap();
        assert_eq!(s.layer_sources(&diff).unwrap(), [source(2, "r/a")]);
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let (_t, s) = store(DriverChoice::Vfs);
        let shared = Digest::of(b"shared");
        let own = |i: u32| Digest::of(&i.to_le_bytes());
        std::thread::scope(|scope| {
            for i in 0..4u32 {
                let (s, shared) = (&s, &shared);
                scope.spawn(move || {
                    for j in 0..4u32 {
                        s.add_layer_source(shared, source(i * 10 + j, "r/shared"))
                            .unwrap();
                        s.add_layer_source(&own(i), source(j, &format!("r/{i}"))).unwrap();
                    }
                });
            }
        });
        let mut got: Vec<u64> = s.layer_sources(&shared).unwrap().iter().map(|s| s.size).collect();
        got.sort();
        let want: Vec<u64> = (0..4u64)
            .flat_map(|i| (0..4).map(move |j| (i * 10 + j) * 100))
            .collect();
        assert_eq!(got, want);
        for i in 0..4 {
            assert_eq!(s.layer_sources(&own(i)).unwrap().len(), 4);
        }
    }

    #[test]
    fn garbage_collection_drops_sources_of_deleted_layers() {
        let (t, s) = store(DriverChoice::Vfs);
        image_of(&s, &[&rootfs_tar("keep")], "keep");
        image_of(&s, &[&rootfs_tar("gone")], "gone");
        let kept = s.get("keep").unwrap().layers[0].diff_id.clone();
        let gone = s.get("gone").unwrap().layers[0].diff_id.clone();
        for d in [&kept, &gone] {
            s.add_layer_source(d, source(1, "r/x")).unwrap();
        }
        let dir = t.path().join("image/distribution");
        std::fs::write(dir.join(fsutil::tmp_name("x.json")), b"").unwrap();
        s.remove("gone", false, &unused).unwrap();
        assert_eq!(s.layer_sources(&kept).unwrap(), [source(1, "r/x")]);
        assert!(s.layer_sources(&gone).unwrap().is_empty());
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, [".lock".to_string(), format!("{}.json", kept.hex())]);
    }
}
