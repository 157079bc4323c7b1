//! `push`: an image's layers, config and manifest uploaded to a registry, as dockerd does it. Layers the registry
//! already holds in the target repository are skipped, those it holds in another repository of the same registry
//! are mounted from there (the image store remembers where each layer was seen as a blob), the others are rebuilt
//! from the store, compressed and streamed up ([`layers`]); then the config blob and a Docker schema 2 manifest
//! under the tag. A reference without a tag pushes every tag of the repository. The pushed manifest's digest
//! becomes a `name@digest` reference of the image.

mod layers;
mod manifest;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use berth_image::{Digest, Image, Reference};
use berth_registry::{AuthConfig, Client, Repository};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::progress::{Progress, PushedManifest};

/// Options of [`Engine::push`].
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Credentials that came with the request (`X-Registry-Auth`).
    pub auth: Option<AuthConfig>,
    /// Raised to stop the push (the client went away): no manifest is put.
    pub cancel: Arc<AtomicBool>,
}

/// Where a push goes.
pub(crate) struct Target<'c> {
    repo: Repository<'c>,
    /// The registry as references name it (`127.0.0.1:5000`).
    registry: String,
    /// `registry/path`, as layer sources record repositories.
    repository: String,
}

impl Engine {
    /// `push`: uploads the image `reference` names (`host:5000/x:tag`), or every tag of a bare repository name,
    /// calling `progress` with each message.
    pub fn push(
        &self,
        reference: &str,
        opts: &PushOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<()> {
        let named = Reference::parse_normalized(reference)?;
        if named.digest().is_some() {
            return Err(Error::InvalidArgument(format!(
                "cannot push a digest reference: {}",
                named.familiar()
            )));
        }
        progress(Progress::message(format!(
            "The push refers to repository [{}]",
            named.name()
        )));
        let tags = self.tags_to_push(&named)?;
        let creds = opts.auth.clone().filter(|a| !a.is_empty());
        let client = Client::new(self.opts.registry.endpoint(named.domain()), creds);
        let target = Target {
            repo: client.repository_for_push(named.path(), &named.familiar_name()),
            registry: named.domain().to_string(),
            repository: named.name(),
        };
        for (tag, image) in &tags {
            self.push_tag(&target, &named, tag, image, &opts.cancel, progress)?;
        }
        Ok(())
    }

    /// The tags to push with their images: the one `named` names, or every tag of its repository.
    fn tags_to_push(&self, named: &Reference) -> Result<Vec<(String, Image)>> {
        let mut all = Vec::new();
        for summary in self.images.list()? {
            for t in &summary.repo_tags {
                if let Ok(r) = Reference::parse_normalized(t)
                    && r.name() == named.name()
                    && let Some(tag) = r.tag()
                {
                    all.push((tag.to_string(), summary.id.clone()));
                }
            }
        }
        let any = !all.is_empty();
        all.retain(|(tag, _)| named.tag().is_none_or(|wanted| wanted == tag));
        if all.is_empty() {
            // dockerd's words: a repository without any tag here, or just not this one.
            return Err(Error::NotFound(if any {
                format!("tag does not exist: {}", named.familiar())
            } else {
                format!(
                    "An image does not exist locally with the tag: {}",
                    named.familiar_name()
                )
            }));
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all.into_iter()
            .map(|(tag, id)| Ok((tag, self.images.get(id.as_str())?)))
            .collect()
    }

    /// Pushes one tag: layers, config, manifest; then records the manifest's digest as a reference.
    fn push_tag(
        &self,
        target: &Target<'_>,
        named: &Reference,
        tag: &str,
        image: &Image,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<()> {
        let blobs = layers::push(&self.images, target, &image.layers, cancel, progress)?;
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Runtime("push cancelled".into()));
        }
        let config = manifest::config_descriptor(&image.raw_config);
        if !target.repo.blob_exists(&config)? {
            target.repo.upload_bytes(&image.raw_config, &config.digest)?;
        }
        let raw = manifest::schema2(&config, &blobs)?;
        let digest = target.repo.put_manifest(tag, manifest::MEDIA_TYPE, &raw)?;
        progress(Progress::message(format!(
            "{tag}: digest: {digest} size: {}",
            raw.len()
        )));
        progress(Progress {
            aux: Some(PushedManifest {
                tag: tag.to_string(),
                digest: digest.clone(),
                size: raw.len() as u64,
            }),
            ..Progress::message(String::new())
        });
        let by_digest = named.with_digest(Digest::parse(&digest)?);
        self.images.add_digest_reference(&image.id, &by_digest)?;
        Ok(())
    }
}
