//! `container prune`: remove every container that is not running (created, exited, dead) and matches the filters,
//! reporting their ids and the bytes their writable layers held, as `POST /containers/prune` does.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use berth_image::RwLayer;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::engine::Engine;
use crate::error::Result;
use crate::model::Status;
use crate::timefmt;

/// Docker's `ContainersPruneReport`; `ContainersDeleted` is `null` when nothing was deleted, as dockerd sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerPruneReport {
    #[serde(serialize_with = "null_if_empty", deserialize_with = "empty_if_null", default)]
    pub containers_deleted: Vec<String>,
    #[serde(default)]
    pub space_reclaimed: u64,
}

fn null_if_empty<S: Serializer>(ids: &[String], s: S) -> std::result::Result<S::Ok, S::Error> {
    if ids.is_empty() {
        s.serialize_none()
    } else {
        s.collect_seq(ids)
    }
}

fn empty_if_null<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

impl Engine {
    /// Removes the containers that are not running and match the filters: `until` (unix seconds) keeps those
    /// created after it; each label filter is `(key, value, negated)` from `label=key[=value]` (all must match) or
    /// `label!=key[=value]` (a container matching all of them is kept). A container that cannot be removed (started
    /// or removed meanwhile, or failing) is skipped, as dockerd skips it.
    pub fn prune_containers(
        &self,
        until: Option<i64>,
        labels: &[(String, Option<String>, bool)],
    ) -> Result<ContainerPruneReport> {
        let until_nanos = until.map(|secs| i128::from(secs) * 1_000_000_000);
        let mut report = ContainerPruneReport::default();
        for c in self.list(true)? {
            if matches!(
                c.state.status,
                Status::Running | Status::Paused | Status::Restarting
            ) {
                continue;
            }
            let created = timefmt::parse(&c.created).unwrap_or(0);
            if until_nanos.is_some_and(|until| created > until) {
                continue;
            }
            if !labels_match(c.config.labels.as_ref(), labels) {
                continue;
            }
            let size = self.images.rw_layer(&c.id).map_or(0, |rw| writable_size(&rw));
            if self.remove(&c.id, false).is_ok() {
                report.space_reclaimed += size;
                report.containers_deleted.push(c.id);
            }
        }
        Ok(report)
    }
}

/// Docker's label filtering of prune: every `label` filter matches, and not every `label!` filter does.
fn labels_match(
    labels: Option<&BTreeMap<String, String>>,
    filters: &[(String, Option<String>, bool)],
) -> bool {
    let matches = |(key, value, _): &&(String, Option<String>, bool)| {
        labels
            .and_then(|l| l.get(key))
            .is_some_and(|have| value.as_ref().is_none_or(|v| v == have))
    };
    let (negated, required): (Vec<_>, Vec<_>) = filters.iter().partition(|(_, _, negated)| *negated);
    required.iter().all(matches) && (negated.is_empty() || !negated.iter().all(matches))
}

/// Bytes of the container's own files: the overlay upper directory, or the whole private copy of a vfs root.
fn writable_size(rw: &RwLayer) -> u64 {
    match rw {
        RwLayer::Overlay { upper, .. } => tree_size(upper),
        RwLayer::Dir { path } => tree_size(path),
    }
}

/// Sizes of the non-directory entries below `root`, each hard-linked inode counted once (Docker's
/// `directory.Size`). Entries that vanish while walking are skipped.
fn tree_size(root: &Path) -> u64 {
    let mut total = 0;
    let mut seen = HashSet::new();
    let mut dirs: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                dirs.push(entry.path());
            } else if meta.len() > 0 && seen.insert((meta.dev(), meta.ino())) {
                total += meta.len();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(key: &str, value: Option<&str>, negated: bool) -> (String, Option<String>, bool) {
        (key.into(), value.map(String::from), negated)
    }

    #[test]
    fn label_filters_as_docker_applies_them() {
        let labels: BTreeMap<String, String> = [("tier", "web"), ("env", "prod")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        let l = Some(&labels);
        assert!(labels_match(l, &[]));
        assert!(labels_match(l, &[filter("tier", None, false)]));
        assert!(labels_match(
            l,
            &[filter("tier", Some("web"), false), filter("env", None, false)]
        ));
        assert!(!labels_match(l, &[filter("tier", Some("db"), false)]));
        assert!(!labels_match(
            l,
            &[filter("tier", None, false), filter("team", None, false)]
        ));
        assert!(!labels_match(l, &[filter("env", Some("prod"), true)]));
        assert!(labels_match(l, &[filter("env", Some("dev"), true)]));
        // A container is kept only when it matches every negated filter (dockerd's rule).
        assert!(labels_match(
            l,
            &[filter("env", None, true), filter("team", None, true)]
        ));
        assert!(!labels_match(
            l,
            &[filter("env", None, true), filter("tier", None, true)]
        ));
        assert!(!labels_match(None, &[filter("env", None, false)]));
        assert!(labels_match(None, &[filter("env", None, true)]));
    }

    #[test]
    fn tree_size_counts_files_and_hard_links_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::fs::write(d.join("a/one"), vec![0u8; 1000]).unwrap();
        std::fs::write(d.join("a/b/two"), vec![0u8; 24]).unwrap();
        std::fs::write(d.join("empty"), b"").unwrap();
        std::fs::hard_link(d.join("a/one"), d.join("one-again")).unwrap();
        std::os::unix::fs::symlink("a/one", d.join("link")).unwrap();
        assert_eq!(tree_size(d), 1000 + 24 + "a/one".len() as u64);
        assert_eq!(tree_size(&d.join("missing")), 0);
    }

    #[test]
    fn report_shape() {
        let empty = serde_json::to_string(&ContainerPruneReport::default()).unwrap();
        assert_eq!(empty, r#"{"ContainersDeleted":null,"SpaceReclaimed":0}"#);
        let back: ContainerPruneReport = serde_json::from_str(&empty).unwrap();
        assert_eq!(back, ContainerPruneReport::default());
        let report = ContainerPruneReport {
            containers_deleted: vec!["abc".into()],
            space_reclaimed: 5,
        };
        let text = serde_json::to_string(&report).unwrap();
        assert_eq!(text, r#"{"ContainersDeleted":["abc"],"SpaceReclaimed":5}"#);
        assert_eq!(
            serde_json::from_str::<ContainerPruneReport>(&text).unwrap(),
            report
        );
    }
}
