//! `docker import`: one tarball (plain, gzip or zstd) becomes a single-layer image whose config is
//! built from `--change` instructions, a message and a platform.

use std::io::Read;

use super::ImageStore;
use crate::changes::apply_changes;
use crate::config::{ContainerConfig, History, ImageConfig, RootFs, format_time};
use crate::digest::ImageId;
use crate::error::{Error, Result};
use crate::reference::Reference;

/// Options of [`ImageStore::import`].
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `repository[:tag]` to tag the image with.
    pub reference: Option<String>,
    /// `--change` instructions.
    pub changes: Vec<String>,
    /// `--message`; defaults to `Imported from -`.
    pub message: Option<String>,
    /// `os/arch[/variant]`; defaults to `linux/amd64`.
    pub platform: Option<String>,
}

fn platform(p: Option<&str>) -> Result<(String, String, String)> {
    let p = p.unwrap_or("linux/amd64");
    let parts: Vec<&str> = p.split('/').collect();
    let ok = (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    if !ok {
        return Err(Error::InvalidArgument(format!(
            "invalid platform {p:?}: expected os/arch[/variant]"
        )));
    }
    Ok((
        parts[0].to_lowercase(),
        parts[1].to_lowercase(),
        parts.get(2).map_or(String::new(), |v| v.to_lowercase()),
    ))
}

impl ImageStore {
    /// Imports a root filesystem tarball as a new image. Everything is validated before the stream
    /// is read; nothing is stored on error.
    pub fn import<R: Read + Send>(&self, reader: R, opts: ImportOptions) -> Result<ImageId> {
        let reference = match opts.reference.as_deref() {
            None => None,
            Some(s) => {
                let r = Reference::parse(s)?;
                if r.digest().is_some() {
                    return Err(Error::InvalidArgument("cannot import digest reference".into()));
                }
                Some(r)
            }
        };
        let (os, architecture, variant) = platform(opts.platform.as_deref())?;
        let mut container = ContainerConfig::default();
        apply_changes(&mut container, &opts.changes)?;
        let mut writer = self.writer()?;
        let layer = writer.add_layer(reader, None)?;
        let created = format_time(time::OffsetDateTime::now_utc());
        let comment = opts.message.unwrap_or_else(|| "Imported from -".into());
        let config = ImageConfig {
            architecture,
            os,
            variant,
            created: Some(created.clone()),
            comment: comment.clone(),
            config: Some(container),
            rootfs: RootFs {
                kind: "layers".into(),
                diff_ids: vec![layer.diff_id],
            },
            history: vec![History {
                created: Some(created),
                comment,
                ..Default::default()
            }],
            ..Default::default()
        };
        let bytes =
            serde_json::to_vec(&config).map_err(|e| Error::Corrupt(format!("encode image config: {e}")))?;
        writer.commit(&bytes, reference.as_slice(), None)
    }
}
