//! `docker save`: images as a tar in the format Docker 20.10 writes — `manifest.json`,
//! `repositories`, each config as `<id-hex>.json` (its exact stored bytes) and one directory per
//! layer (`VERSION`, legacy `json`, `layer.tar`). Each `layer.tar` is the layer's original tar stream,
//! rebuilt byte for byte from the unpacked layer and its layout record, so its digest is the diff id.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufWriter, Write};

use serde::Serialize;
use tar::{EntryType, Header};

use super::repositories::Repositories;
use super::v1::{self, V1Layer, go_json};
use super::{Image, ImageStore, LayerInfo};
use crate::digest::{Digest, ImageId, is_lower_hex};
use crate::error::{Error, IoContext, Result};
use crate::lock::FileLock;
use crate::reference::Reference;

/// One image of `manifest.json` (Docker's `manifestItem`).
#[derive(Debug, Serialize)]
struct ManifestItem {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags")]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
    #[serde(rename = "Parent", skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
}

/// An image chosen for saving with the tags to save it under.
struct Selected {
    id: ImageId,
    tags: Vec<Reference>,
}

/// The images named, in first-named order, as Docker's `parseNames` picks them.
fn select(store: &ImageStore, repos: &Repositories, names: &[String]) -> Result<Vec<Selected>> {
    let mut out: Vec<Selected> = Vec::new();
    let mut add = |id: ImageId, tag: Option<Reference>| {
        let i = match out.iter().position(|s| s.id == id) {
            Some(i) => i,
            None => {
                out.push(Selected { id, tags: Vec::new() });
                out.len() - 1
            }
        };
        if let Some(t) = tag
            && !out[i].tags.contains(&t)
        {
            out[i].tags.push(t);
        }
    };
    for name in names {
        let hex = name.strip_prefix("sha256:").unwrap_or(name);
        if hex.len() == 64 && is_lower_hex(hex) {
            add(store.resolve(repos, name)?, None);
            continue;
        }
        let r = Reference::parse_normalized(name)?;
        if r.familiar_name() == "sha256" {
            add(store.resolve(repos, name)?, None);
        } else if r.tag().is_none() && r.digest().is_none() {
            let mut found = false;
            for (other, id) in repos.all() {
                if other.familiar_name() == r.familiar_name() && store.meta.read_image(id)?.is_some() {
                    found = true;
                    let tag = other.digest().is_none().then_some(other);
                    add(id.clone(), tag);
                }
            }
            if !found {
                add(store.resolve(repos, name)?, None);
            }
        } else {
            let id = match repos.get(&r) {
                Some(id) if store.meta.read_image(id)?.is_some() => id.clone(),
                _ => return Err(Error::NoSuchImage(r.familiar())),
            };
            let tag = r.digest().is_none().then_some(r);
            add(id, tag);
        }
    }
    Ok(out)
}

/// A tar header for a member of the saved archive.
fn header(kind: EntryType, mode: u32, size: u64, mtime: u64) -> Header {
    let mut h = Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(size);
    h.set_mtime(mtime);
    h
}

/// Writes the archive's members.
struct ArchiveWriter<'s, W: Write> {
    store: &'s ImageStore,
    b: tar::Builder<W>,
    /// Layer directories written.
    dirs: HashSet<String>,
    /// The directory whose `layer.tar` holds each diff id written.
    by_diff: HashMap<Digest, String>,
}

impl<W: Write> ArchiveWriter<'_, W> {
    fn file(&mut self, path: &str, data: &[u8], mtime: u64) -> Result<()> {
        let mut h = header(EntryType::Regular, 0o644, data.len() as u64, mtime);
        self.b
            .append_data(&mut h, path, data)
            .ctx(|| format!("write {path} to the archive"))
    }

    fn layer(&mut self, v1: &V1Layer, layer: &LayerInfo, mtime: u64) -> Result<()> {
        if !self.dirs.insert(v1.id.clone()) {
            return Ok(());
        }
        let dir = &v1.id;
        let mut h = header(EntryType::Directory, 0o755, 0, mtime);
        self.b
            .append_data(&mut h, format!("{dir}/"), &[][..])
            .ctx(|| format!("write {dir}/ to the archive"))?;
        self.file(&format!("{dir}/VERSION"), b"1.0", mtime)?;
        self.file(&format!("{dir}/json"), &v1.json, mtime)?;
        let path = format!("{dir}/layer.tar");
        if let Some(first) = self.by_diff.get(&layer.diff_id) {
            let mut h = header(EntryType::Symlink, 0o777, 0, mtime);
            let target = format!("../{first}/layer.tar");
            return self
                .b
                .append_link(&mut h, &path, &target)
                .ctx(|| format!("write {path} to the archive"));
        }
        let mut stream = self.store.layer_tar(layer)?;
        let len = stream.len();
        let mut h = header(EntryType::Regular, 0o644, len, mtime);
        self.b
            .append_data(&mut h, &path, &mut stream)
            .ctx(|| format!("export layer {}", layer.diff_id))?;
        self.by_diff.insert(layer.diff_id.clone(), dir.clone());
        Ok(())
    }
}

impl ImageStore {
    /// `docker save`: writes the images `names` (ids, `repo:tag`, or a repository for all its tags)
    /// to `out` as a tar archive `docker load` reads.
    pub fn save(&self, names: &[String], out: &mut dyn Write) -> Result<()> {
        // Held while streaming: garbage collection leaves layers alone while any writer is active.
        let _layers = FileLock::shared(&self.gc_lock_path())?;
        let repos = Repositories::load(&self.image_dir)?;
        let selected = select(self, &repos, names)?;
        let mut images: Vec<(Image, Vec<Reference>)> = Vec::with_capacity(selected.len());
        for s in selected {
            let image = self.image_of(&repos, &s.id)?;
            if image.layers.is_empty() {
                return Err(Error::InvalidArgument("empty export - not implemented".into()));
            }
            for l in &image.layers {
                if !self.meta.layout_path(&l.chain_id).exists() {
                    return Err(Error::NotFound(format!(
                        "layer {} of image {} cannot be exported: its tar layout was not recorded",
                        l.diff_id, image.id
                    )));
                }
            }
            images.push((image, s.tags));
        }
        let saved: HashSet<&ImageId> = images.iter().map(|(i, _)| &i.id).collect();
        let mut w = ArchiveWriter {
            store: self,
            b: tar::Builder::new(BufWriter::with_capacity(256 * 1024, out)),
            dirs: HashSet::new(),
            by_diff: HashMap::new(),
        };
        let mut manifest = Vec::with_capacity(images.len());
        let mut legacy: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (image, tags) in &images {
            let mtime = u64::try_from(image.config.created_unix()).unwrap_or(0);
            let chains: Vec<Digest> = image.layers.iter().map(|l| l.chain_id.clone()).collect();
            let dirs = v1::layers(&image.config, &chains)?;
            for (v1, layer) in dirs.iter().zip(&image.layers) {
                w.layer(v1, layer, mtime)?;
            }
            let config = format!("{}.json", image.id.hex());
            w.file(&config, &image.raw_config, mtime)?;
            let top = dirs.last().map(|d| d.id.clone()).unwrap_or_default();
            for t in tags {
                legacy
                    .entry(t.familiar_name())
                    .or_default()
                    .insert(t.tag().unwrap_or_default().to_string(), top.clone());
            }
            let repo_tags: Vec<String> = tags.iter().map(Reference::familiar).collect();
            manifest.push(ManifestItem {
                config,
                repo_tags: (!repo_tags.is_empty()).then_some(repo_tags),
                layers: dirs.iter().map(|d| format!("{}/layer.tar", d.id)).collect(),
                parent: image
                    .parent
                    .as_ref()
                    .filter(|p| saved.contains(p))
                    .map(|p| p.to_string()),
            });
        }
        if !legacy.is_empty() {
            let mut json = go_json(&legacy)?;
            json.push(b'\n');
            w.file("repositories", &json, 0)?;
        }
        let mut json = go_json(&manifest)?;
        json.push(b'\n');
        w.file("manifest.json", &json, 0)?;
        let mut out = w.b.into_inner().ctx(|| "write the archive".into())?;
        out.flush().ctx(|| "write the archive".into())
    }
}
