//! Looking images up: `docker images` rows and name-or-id resolution with Docker's rules (full or
//! familiar references, `sha256:<id>`, full hex ids, unique id prefixes).

use super::repositories::Repositories;
use super::{Image, ImageStore, ImageSummary, LayerInfo};
use crate::config::ImageConfig;
use crate::digest::{Digest, ImageId, is_lower_hex};
use crate::error::{Error, Result};
use crate::reference::Reference;

impl ImageStore {
    /// All images, newest first.
    pub fn list(&self) -> Result<Vec<ImageSummary>> {
        let repos = Repositories::load(&self.image_dir)?;
        let mut out = Vec::new();
        for id in self.meta.image_ids()? {
            // An image removed meanwhile by another process is skipped.
            let Some(meta) = self.meta.read_image(&id)? else {
                continue;
            };
            let (config, _) = match self.config(&id) {
                Err(Error::NotFound(_)) => continue,
                r => r?,
            };
            let (repo_tags, repo_digests) = split_refs(&repos, &id);
            out.push(ImageSummary {
                created: config.created_unix(),
                labels: config.labels(),
                id,
                repo_tags,
                repo_digests,
                size: meta.size,
                parent: meta.parent,
            });
        }
        out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// An image by reference, id or unique id prefix.
    pub fn get(&self, name_or_id: &str) -> Result<Image> {
        let repos = Repositories::load(&self.image_dir)?;
        let id = self.resolve(&repos, name_or_id)?;
        self.image_of(&repos, &id)
    }

    fn config(&self, id: &ImageId) -> Result<(ImageConfig, Vec<u8>)> {
        let raw = self.blobs.get(id.digest())?;
        let config =
            serde_json::from_slice(&raw).map_err(|e| Error::Corrupt(format!("config of image {id}: {e}")))?;
        Ok((config, raw))
    }

    pub(super) fn image_of(&self, repos: &Repositories, id: &ImageId) -> Result<Image> {
        let meta = self
            .meta
            .read_image(id)?
            .ok_or_else(|| Error::NoSuchImage(id.to_string()))?;
        let (config, raw_config) = match self.config(id) {
            // Deleted by another process since the record was read.
            Err(Error::NotFound(_)) => return Err(Error::NoSuchImage(id.to_string())),
            r => r?,
        };
        let mut layers = Vec::with_capacity(meta.layers.len());
        for chain in &meta.layers {
            let l = self
                .meta
                .read_layer(chain)?
                .ok_or_else(|| Error::Corrupt(format!("layer {chain} is missing")))?;
            layers.push(LayerInfo {
                chain_id: l.chain_id,
                diff_id: l.diff_id,
                size: l.size,
            });
        }
        let (repo_tags, repo_digests) = split_refs(repos, id);
        Ok(Image {
            id: id.clone(),
            config,
            raw_config,
            repo_tags,
            repo_digests,
            layers,
            size: meta.size,
            parent: meta.parent,
            recorded: meta.created,
        })
    }

    fn exists(&self, id: &ImageId) -> Result<bool> {
        Ok(self.meta.read_image(id)?.is_some())
    }

    /// Docker's `GetImage`: digest/id forms first, then the reference store, then id prefixes.
    pub(super) fn resolve(&self, repos: &Repositories, s: &str) -> Result<ImageId> {
        let hex = s.strip_prefix("sha256:").unwrap_or(s);
        if hex.len() == 64 && is_lower_hex(hex) {
            let id = ImageId::from(Digest::from_hex(hex)?);
            return if self.exists(&id)? {
                Ok(id)
            } else {
                Err(Error::NoSuchImage(id.to_string()))
            };
        }
        let named = Reference::parse_normalized(s)?.with_default_tag();
        if let Some(id) = repos.get(&named)
            && self.exists(id)?
        {
            return Ok(id.clone());
        }
        if !hex.is_empty() && is_lower_hex(hex) {
            let mut found = self
                .meta
                .image_ids()?
                .into_iter()
                .filter(|id| id.hex().starts_with(hex));
            if let (Some(id), None) = (found.next(), found.next()) {
                return Ok(id);
            }
        }
        Err(Error::NoSuchImage(named.familiar()))
    }
}

/// Familiar tag and digest references of an image.
fn split_refs(repos: &Repositories, id: &ImageId) -> (Vec<String>, Vec<String>) {
    let (mut tags, mut digests) = (Vec::new(), Vec::new());
    for r in repos.refs_of(id) {
        if r.digest().is_some() {
            digests.push(r.familiar())
        } else {
            tags.push(r.familiar())
        }
    }
    (tags, digests)
}
