//! `pull`: an image from a registry into the image store, reporting progress in the shape of Docker's JSON
//! progress messages. The manifest is resolved first (an index to the requested platform), then the image
//! config is fetched and its diff ids give every layer's chain id up front: layers the store has are skipped,
//! the others are downloaded concurrently and unpacked as they stream in ([`layers`]). Blobs are checked against
//! their digests and sizes, layers against the config's diff ids, and the image is registered under its tag and
//! `name@digest` only when all of it verified; a failure discards every layer of this pull.

mod layers;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use berth_image::{Digest, ImageConfig, ImageId, LayerSource, Reference, digest::chain_id};
use berth_registry::{AuthConfig, Client, Platform, Repository};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::progress::Progress;
use layers::Planned;

/// Largest image config accepted.
const CONFIG_LIMIT: u64 = 8 << 20;

/// Options of [`Engine::pull`].
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `os/arch[/variant]` to pull from an index; default linux/amd64.
    pub platform: Option<String>,
    /// Pull every tag of the repository (the reference must then name neither tag nor digest).
    pub all_tags: bool,
    /// Credentials that came with the request (`X-Registry-Auth`; the client reads its `config.json`).
    pub auth: Option<AuthConfig>,
    /// Raised to stop the pull (the client went away); nothing half-pulled is kept.
    pub cancel: Arc<AtomicBool>,
}

/// What a pull stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The image (the last one, with all tags).
    pub id: ImageId,
    /// The full reference pulled (`docker.io/library/busybox:latest`), as `docker pull` prints it last.
    pub reference: String,
}

/// The outcome of one reference.
struct Stored {
    id: ImageId,
    digest: String,
    /// The reference now points at a different image than before.
    updated: bool,
}

impl Engine {
    /// `pull`: stores the image `reference` names (`busybox`, `host:5000/x:tag`, `x@sha256:…`), or with
    /// `all_tags` every tag of the repository, calling `progress` with each message.
    pub fn pull(
        &self,
        reference: &str,
        opts: &PullOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Pulled> {
        let named = Reference::parse_normalized(reference)?;
        if opts.all_tags && (named.tag().is_some() || named.digest().is_some()) {
            return Err(Error::InvalidArgument(
                "tag can't be used with --all-tags/-a".into(),
            ));
        }
        let platform = match opts.platform.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => Some(Platform::parse(p)?),
            None => None,
        };
        let creds = opts.auth.clone().filter(|a| !a.is_empty());
        let settings = &self.opts.registry;
        for mirror in settings.mirrors_of(named.domain()) {
            let client = Client::new(mirror, creds.clone());
            // As dockerd: a mirror that fails is passed over for the next place, the registry itself last.
            if let Ok(pulled) = self.pull_from(&client, &named, opts, platform.as_ref(), progress) {
                return Ok(pulled);
            }
        }
        let client = Client::new(settings.endpoint(named.domain()), creds);
        self.pull_from(&client, &named, opts, platform.as_ref(), progress)
    }

    /// Pulls `named` (every tag of its repository with `all_tags`) through `client`.
    fn pull_from(
        &self,
        client: &Client,
        named: &Reference,
        opts: &PullOptions,
        platform: Option<&Platform>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Pulled> {
        let repo = client.repository(named.path(), &named.familiar_name());
        let cancel = &opts.cancel;
        if !opts.all_tags {
            let named = named.clone().with_default_tag();
            let stored = self.pull_reference(&repo, &named, platform, cancel, progress)?;
            let verb = if stored.updated {
                "Downloaded newer image for"
            } else {
                "Image is up to date for"
            };
            progress(Progress::message(format!("Digest: {}", stored.digest)));
            progress(Progress::message(format!("Status: {verb} {}", named.familiar())));
            return Ok(Pulled {
                id: stored.id,
                reference: named.to_string(),
            });
        }
        let mut tags = repo.tags()?;
        tags.sort();
        let mut last = None;
        let mut updated = false;
        for tag in &tags {
            let tagged = named.with_tag(tag)?;
            let stored = self.pull_reference(&repo, &tagged, platform, cancel, progress)?;
            progress(Progress::message(format!("Digest: {}", stored.digest)));
            updated |= stored.updated;
            last = Some(stored.id);
        }
        let Some(id) = last else {
            return Err(Error::NotFound(format!(
                "no tags found for {}",
                named.familiar_name()
            )));
        };
        let verb = if updated {
            "Downloaded newer image for"
        } else {
            "Image is up to date for"
        };
        progress(Progress::message(format!(
            "Status: {verb} {}",
            named.familiar_name()
        )));
        Ok(Pulled {
            id,
            reference: named.name(),
        })
    }

    /// Pulls one tag or digest reference.
    fn pull_reference(
        &self,
        repo: &Repository<'_>,
        named: &Reference,
        platform: Option<&Platform>,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Stored> {
        let wanted = platform.cloned().unwrap_or_else(Platform::host);
        let shown = named.familiar();
        let tag_or_digest = match named.digest() {
            Some(d) => d.to_string(),
            None => named
                .tag()
                .unwrap_or(berth_image::reference::DEFAULT_TAG)
                .to_string(),
        };
        let resolved = repo.resolve(&tag_or_digest, &shown, &wanted)?;
        progress(Progress {
            id: Some(tag_or_digest),
            ..Progress::message(format!("Pulling from {}", named.path()))
        });
        let config_raw = repo.blob_bytes(&resolved.manifest.config, "image config", CONFIG_LIMIT)?;
        let config: ImageConfig = serde_json::from_slice(&config_raw)
            .map_err(|e| Error::InvalidArgument(format!("invalid image config of {shown}: {e}")))?;
        let actual = Platform {
            os: config.os.clone(),
            architecture: config.architecture.clone(),
            variant: config.variant.clone(),
        };
        if let Some(p) = platform
            && !p.matches(&actual)
        {
            return Err(Error::NotFound(format!(
                "image with reference {shown} was found but does not match the specified platform: wanted {p}, actual: {actual}"
            )));
        }
        let diff_ids = &config.rootfs.diff_ids;
        let layers = &resolved.manifest.layers;
        if diff_ids.len() != layers.len() {
            return Err(Error::InvalidArgument(format!(
                "invalid image {shown}: its manifest has {} layers, its config {} diff ids",
                layers.len(),
                diff_ids.len()
            )));
        }
        let id = ImageId::of_config(&config_raw);
        let before = self.images.get(&shown).ok().map(|i| i.id);
        let mut writer = self.images.writer()?;
        writer.move_digest_references();
        let exists = self.images.get(id.as_str()).is_ok();
        let mut plan = Vec::with_capacity(layers.len());
        let mut parent: Option<Digest> = None;
        for (desc, diff_id) in layers.iter().zip(diff_ids) {
            let chain = chain_id(parent.as_ref(), diff_id);
            let present = self.images.has_layer(&chain)?;
            if !exists {
                let status = if present {
                    "Already exists"
                } else {
                    "Pulling fs layer"
                };
                progress(Progress::layer(desc.short_id(), status));
            }
            plan.push(Planned {
                desc: desc.clone(),
                diff_id: diff_id.clone(),
                parent: parent.replace(chain),
                present,
            });
        }
        layers::fetch(&mut writer, repo, &plan, cancel, progress)?;
        let digest = Digest::parse(&resolved.digest)?;
        let references = [named.clone(), named.with_digest(digest)];
        let stored = writer.commit(&config_raw, &references, None)?;
        // Where each layer's blob lives, so a push to this registry can skip or mount it. Only a hint: a
        // failure to remember it costs a later push an upload, not this pull its image.
        let repository = format!("{}/{}", named.domain(), named.path());
        for (desc, diff_id) in layers.iter().zip(diff_ids) {
            if let Ok(digest) = Digest::parse(&desc.digest) {
                let source = LayerSource {
                    digest,
                    size: desc.size,
                    media_type: desc.media_type.clone(),
                    repository: repository.clone(),
                };
                let _ = self.images.add_layer_source(diff_id, source);
            }
        }
        Ok(Stored {
            updated: before.as_ref() != Some(&stored) || !exists,
            id: stored,
            digest: resolved.digest,
        })
    }
}
