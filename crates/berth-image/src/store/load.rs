//! `docker load`: image archives in Docker's legacy format (`manifest.json` naming `<id>.json`
//! configs and `<dir>/layer.tar` layers) and in the OCI layout Docker 25+ writes (`manifest.json`
//! naming `blobs/sha256/<hex>` files beside `index.json`). The archive and its layers may be plain,
//! gzip or zstd tars.
//! Everything is checked before anything is stored — configs and blobs against the digests their
//! names give, layers against the configs' diff ids, tags — then each image is stored atomically,
//! reusing the layers the store already has, and its tags are moved to it.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use serde::Deserialize;

use super::ImageStore;
use super::repositories::Repositories;
use super::spool::{Spool, Spooled};
use crate::compression::{Compression, decompressed, detect};
use crate::config::{History, ImageConfig};
use crate::digest::{Digest, HashingReader, ImageId, chain_id};
use crate::error::{Error, IoContext, Result};
use crate::lock::FileLock;
use crate::reference::Reference;

/// One image of `manifest.json`.
#[derive(Debug, Deserialize)]
struct ManifestItem {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Option<Vec<String>>,
    #[serde(rename = "Parent", default)]
    parent: Option<String>,
}

/// One image stored by [`ImageStore::load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    pub id: ImageId,
    /// The tags applied to it (familiar form), in archive order.
    pub tags: Vec<String>,
    /// Tags that were moved here from another image, with that image's id.
    pub moved: Vec<(String, ImageId)>,
}

impl LoadedImage {
    /// The lines `docker load` prints for this image.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for tag in &self.tags {
            if let Some((_, old)) = self.moved.iter().find(|(t, _)| t == tag) {
                out.push(format!(
                    "The image {tag} already exists, renaming the old one with ID {old} to empty string"
                ));
            }
            out.push(format!("Loaded image: {tag}"));
        }
        if self.tags.is_empty() {
            out.push(format!("Loaded image ID: {}", self.id));
        }
        out
    }
}

/// An image checked and ready to be stored.
struct Plan {
    id: ImageId,
    config: Vec<u8>,
    history: Vec<History>,
    /// Diff id and spooled file of each layer, bottom first.
    layers: Vec<(Digest, PathBuf)>,
    tags: Vec<Reference>,
    parent: Option<ImageId>,
}

fn invalid(msg: String) -> Error {
    Error::InvalidArgument(format!("invalid archive: {msg}"))
}

/// The digest a member's name states: `blobs/sha256/<hex>` or `<hex>.json`.
fn named_digest(name: &str) -> Option<Digest> {
    let name = name.trim_start_matches("./");
    name.strip_prefix("blobs/sha256/")
        .or_else(|| name.strip_suffix(".json").filter(|h| !h.contains('/')))
        .and_then(|hex| Digest::from_hex(hex).ok())
}

/// Checks a member against the digest its name states.
fn check_named(name: &str, f: &Spooled) -> Result<()> {
    match named_digest(name) {
        Some(d) if d != f.digest => Err(invalid(format!(
            "{name} does not match its digest (content is {})",
            f.digest
        ))),
        _ => Ok(()),
    }
}

/// Checks that a layer file (plain or compressed) unpacks to the tar with digest `diff_id`.
fn check_layer(name: &str, f: &Spooled, diff_id: &Digest) -> Result<()> {
    let ctx = || format!("read {name} from the archive");
    let mut head = Vec::with_capacity(8);
    File::open(&f.path)
        .ctx(ctx)?
        .take(8)
        .read_to_end(&mut head)
        .ctx(ctx)?;
    let got = match detect(&head)? {
        Compression::None => f.digest.clone(),
        Compression::Gzip | Compression::Zstd => {
            let file = File::open(&f.path).ctx(ctx)?;
            HashingReader::new(decompressed(file)?)
                .finish()
                .map_err(|e| invalid(format!("decompress {name}: {e}")))?
                .0
        }
    };
    if &got != diff_id {
        return Err(invalid(format!(
            "layer {name} does not match its diff id {diff_id} (its tar digest is {got})"
        )));
    }
    Ok(())
}

/// A `RepoTags` entry: a `name:tag` reference without digest.
fn parse_tag(s: &str) -> Result<Reference> {
    match Reference::parse_normalized(s) {
        Ok(r) if r.tag().is_some() && r.digest().is_none() => Ok(r),
        _ => Err(Error::InvalidArgument(format!("invalid tag {s:?}"))),
    }
}

impl ImageStore {
    /// `docker load`: stores the images of the archive `input` (plain, gzip or zstd).
    pub fn load(&self, input: &mut dyn Read) -> Result<Vec<LoadedImage>> {
        // Held throughout: layers seen as present stay present, the scratch directory stays.
        let _layers = FileLock::shared(&self.gc_lock_path())?;
        let mut input = decompressed(input)?;
        let spool = Spool::read(self.snapshots.scratch()?, &mut input)?;
        let manifest = match spool.read_meta("manifest.json")? {
            Some(m) => m,
            None if spool.get("index.json")?.is_some() => {
                return Err(invalid(
                    "OCI layouts without manifest.json are not supported".into(),
                ));
            }
            None => return Err(invalid("manifest.json not found".into())),
        };
        let items: Vec<ManifestItem> =
            serde_json::from_slice(&manifest).map_err(|e| invalid(format!("manifest.json: {e}")))?;
        let mut plans = Vec::with_capacity(items.len());
        for item in &items {
            plans.push(self.plan(&spool, item)?);
        }
        link_parents(&mut plans, &items);
        let mut loaded = Vec::with_capacity(plans.len());
        for plan in plans {
            loaded.push(self.store_plan(plan)?);
        }
        Ok(loaded)
    }

    /// Reads and checks one image of the archive.
    fn plan(&self, spool: &Spool, item: &ManifestItem) -> Result<Plan> {
        check_named(&item.config, spool.require(&item.config)?)?;
        let config = spool.read_meta(&item.config)?.unwrap_or_default();
        let parsed: ImageConfig = serde_json::from_slice(&config)
            .map_err(|e| invalid(format!("image config {}: {e}", item.config)))?;
        let names = item.layers.as_deref().unwrap_or_default();
        let diff_ids = parsed.rootfs.diff_ids;
        if names.len() != diff_ids.len() {
            return Err(Error::InvalidArgument(format!(
                "invalid manifest, layers length mismatch: expected {}, got {}",
                names.len(),
                diff_ids.len()
            )));
        }
        let mut layers = Vec::with_capacity(names.len());
        let mut chain: Option<Digest> = None;
        for (name, diff_id) in names.iter().zip(diff_ids) {
            let f = spool.require(name)?;
            check_named(name, f)?;
            let next = chain_id(chain.as_ref(), &diff_id);
            if !self.has_layer(&next)? {
                check_layer(name, f, &diff_id)?;
            }
            chain = Some(next);
            layers.push((diff_id, f.path.clone()));
        }
        let tags = item
            .repo_tags
            .iter()
            .flatten()
            .map(|t| parse_tag(t))
            .collect::<Result<Vec<_>>>()?;
        Ok(Plan {
            id: ImageId::of_config(&config),
            config,
            history: parsed.history,
            layers,
            tags,
            parent: None,
        })
    }

    /// Stores one checked image and moves its tags to it.
    fn store_plan(&self, plan: Plan) -> Result<LoadedImage> {
        let mut w = self.writer()?;
        for (diff_id, path) in &plan.layers {
            if self.has_layer(&chain_id(w.top(), diff_id))? {
                w.add_existing_layer(diff_id)?;
            } else {
                let file = File::open(path).ctx(|| format!("open {}", path.display()))?;
                w.add_layer(file, Some(diff_id))?;
            }
        }
        let repos = Repositories::load(&self.image_dir)?;
        let moved = plan
            .tags
            .iter()
            .filter_map(|t| match repos.get(t) {
                Some(old) if old != &plan.id => Some((t.familiar(), old.clone())),
                _ => None,
            })
            .collect();
        let id = w.commit(&plan.config, &plan.tags, plan.parent.as_ref())?;
        Ok(LoadedImage {
            id,
            tags: plan.tags.iter().map(Reference::familiar).collect(),
            moved,
        })
    }
}

/// Sets the parents `manifest.json` names when, as Docker requires, the parent is an image of the
/// same archive whose history the child's extends.
fn link_parents(plans: &mut [Plan], items: &[ManifestItem]) {
    let histories: HashMap<ImageId, Vec<History>> =
        plans.iter().map(|p| (p.id.clone(), p.history.clone())).collect();
    for (plan, item) in plans.iter_mut().zip(items) {
        let Some(parent) = item
            .parent
            .as_deref()
            .and_then(|p| Digest::parse(p).ok())
            .map(ImageId::from)
        else {
            continue;
        };
        let valid = parent != plan.id
            && histories
                .get(&parent)
                .is_some_and(|h| h.len() <= plan.history.len() && plan.history.starts_with(h));
        if valid {
            plan.parent = Some(parent);
        }
    }
}
