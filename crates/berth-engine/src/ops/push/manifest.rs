//! The manifest a push uploads: Docker's image manifest schema 2, serialised as dockerd does (fields in its order,
//! three-space indentation), so registries and clients see what a Docker push would have given them.

use berth_registry::Descriptor;
use serde::Serialize;

use crate::error::{Error, Result};

/// Media type of the manifest.
pub(super) const MEDIA_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Media type of the image config blob.
const CONFIG_MEDIA_TYPE: &str = "application/vnd.docker.container.image.v1+json";
/// Media type of a gzip-compressed layer.
pub(super) const LAYER_MEDIA_TYPE: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

#[derive(Serialize)]
struct Manifest<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    config: Blob<'a>,
    layers: Vec<Blob<'a>>,
}

#[derive(Serialize)]
struct Blob<'a> {
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    size: u64,
    digest: &'a str,
}

impl<'a> From<&'a Descriptor> for Blob<'a> {
    fn from(d: &'a Descriptor) -> Blob<'a> {
        Blob {
            media_type: &d.media_type,
            size: d.size,
            digest: &d.digest,
        }
    }
}

/// The descriptor of an image's config blob (`raw`: its exact bytes).
pub(super) fn config_descriptor(raw: &[u8]) -> Descriptor {
    Descriptor {
        media_type: CONFIG_MEDIA_TYPE.to_string(),
        digest: berth_registry::manifest::sha256_digest(raw),
        size: raw.len() as u64,
        platform: None,
    }
}

/// The manifest's bytes for a config and layers (bottom first).
pub(super) fn schema2(config: &Descriptor, layers: &[Descriptor]) -> Result<Vec<u8>> {
    let m = Manifest {
        schema_version: 2,
        media_type: MEDIA_TYPE,
        config: config.into(),
        layers: layers.iter().map(Blob::from).collect(),
    };
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"   ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    m.serialize(&mut ser)
        .map_err(|e| Error::Runtime(format!("encode manifest: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerd_layout() {
        let config = config_descriptor(b"{}");
        let layer = Descriptor {
            media_type: LAYER_MEDIA_TYPE.into(),
            digest: format!("sha256:{}", "a".repeat(64)),
            size: 42,
            platform: None,
        };
        let raw = String::from_utf8(schema2(&config, &[layer]).unwrap()).unwrap();
        let want = format!(
            r#"{{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {{
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 2,
      "digest": "{}"
   }},
   "layers": [
      {{
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 42,
         "digest": "sha256:{}"
      }}
   ]
}}"#,
            config.digest,
            "a".repeat(64)
        );
        assert_eq!(raw, want);
        let parsed = berth_registry::manifest::parse(raw.as_bytes(), MEDIA_TYPE).unwrap();
        assert!(matches!(parsed, berth_registry::Document::Image(_)));
    }
}
