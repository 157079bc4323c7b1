//! Manifests: Docker schema 2 and OCI image manifests, Docker manifest lists and OCI indexes, told apart by
//! media type (the `Content-Type` or the document's own `mediaType`, or its shape for OCI documents without
//! one), with the descriptors checked (sha256 digests, known layer and config types).

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::platform::Platform;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_SCHEMA1: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];
const CONFIG_TYPES: [&str; 2] = [
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.oci.image.config.v1+json",
];
const LAYER_TYPES: [&str; 9] = [
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
];

/// The `Accept` header of manifest requests.
pub fn accept_header() -> String {
    [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(", ")
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
}

impl Descriptor {
    /// Docker's short id of this blob (12 hex digits), as pull progress names layers.
    pub fn short_id(&self) -> &str {
        let hex = self.digest.strip_prefix("sha256:").unwrap_or(&self.digest);
        &hex[..hex.len().min(12)]
    }
}

/// An image manifest: a config and its layers, bottom first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageManifest {
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// A parsed manifest document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Image(ImageManifest),
    /// A manifest list or OCI index: the entries, each for one platform.
    Index(Vec<Descriptor>),
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<u32>,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// Whether `d` is a `sha256:` digest of 64 lowercase hex digits (the only algorithm this client verifies).
pub fn valid_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn check(d: &Descriptor, what: &str) -> Result<()> {
    if !valid_digest(&d.digest) {
        return Err(Error::InvalidResponse(format!(
            "invalid {what} digest {:?} in manifest",
            d.digest
        )));
    }
    Ok(())
}

/// Parses a manifest document whose `Content-Type` was `content_type`.
pub fn parse(bytes: &[u8], content_type: &str) -> Result<Document> {
    let raw: Raw = serde_json::from_slice(bytes)
        .map_err(|e| Error::InvalidResponse(format!("invalid manifest: {e}")))?;
    let header = content_type.split(';').next().unwrap_or("").trim();
    let declared = raw.media_type.as_deref().filter(|m| !m.is_empty());
    let kind = match declared.unwrap_or(header) {
        t if DOCKER_SCHEMA1.contains(&t) || raw.schema_version == Some(1) => {
            return Err(Error::InvalidResponse(
                "unsupported manifest format: Docker schema 1 manifests are no longer supported".into(),
            ));
        }
        t @ (DOCKER_MANIFEST | DOCKER_MANIFEST_LIST | OCI_MANIFEST | OCI_INDEX) => t,
        // OCI documents may leave out their media type; tell them apart by shape.
        _ if raw.manifests.is_some() => OCI_INDEX,
        _ if raw.config.is_some() => OCI_MANIFEST,
        other => {
            return Err(Error::InvalidResponse(format!(
                "unsupported manifest media type {other:?}"
            )));
        }
    };
    if raw.schema_version != Some(2) {
        return Err(Error::InvalidResponse(
            "invalid manifest: schemaVersion must be 2".into(),
        ));
    }
    if kind == OCI_INDEX || kind == DOCKER_MANIFEST_LIST {
        let entries = raw
            .manifests
            .ok_or_else(|| Error::InvalidResponse("invalid manifest list: no manifests".into()))?;
        for e in &entries {
            check(e, "manifest")?;
        }
        return Ok(Document::Index(entries));
    }
    let config = raw
        .config
        .ok_or_else(|| Error::InvalidResponse("invalid manifest: no config".into()))?;
    check(&config, "config")?;
    if !config.media_type.is_empty() && !CONFIG_TYPES.contains(&config.media_type.as_str()) {
        return Err(Error::InvalidResponse(format!(
            "unsupported image config media type {:?} (not a container image)",
            config.media_type
        )));
    }
    let layers = raw.layers.unwrap_or_default();
    for l in &layers {
        check(l, "layer")?;
        if !LAYER_TYPES.contains(&l.media_type.as_str()) {
            return Err(Error::InvalidResponse(format!(
                "unsupported layer media type {:?}",
                l.media_type
            )));
        }
    }
    Ok(Document::Image(ImageManifest { config, layers }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn image_manifests() {
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"{}","digest":"{}","size":3}},
               "layers":[{{"mediaType":"{}","digest":"{}","size":10}}]}}"#,
            CONFIG_TYPES[0],
            d('a'),
            LAYER_TYPES[0],
            d('b')
        );
        let Document::Image(img) = parse(m.as_bytes(), "").unwrap() else {
            panic!()
        };
        assert_eq!(img.layers[0].short_id(), "bbbbbbbbbbbb");
        assert_eq!(img.config.size, 3);
        // OCI without mediaType, recognised by shape; zstd layers.
        let m = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{}","digest":"{}","size":3}},
               "layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"{}","size":1}}]}}"#,
            CONFIG_TYPES[1],
            d('a'),
            d('c')
        );
        assert!(matches!(
            parse(m.as_bytes(), "application/json").unwrap(),
            Document::Image(_)
        ));
    }

    #[test]
    fn indexes_and_refusals() {
        let idx = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":5,
               "platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}]}}"#,
            d('e')
        );
        let Document::Index(e) = parse(idx.as_bytes(), OCI_INDEX).unwrap() else {
            panic!()
        };
        assert_eq!(e[0].platform.as_ref().unwrap().to_string(), "linux/arm64/v8");
        let err = |s: &str, ct: &str| parse(s.as_bytes(), ct).unwrap_err().to_string();
        assert!(err("{", "").starts_with("invalid manifest: "));
        assert!(err(r#"{"schemaVersion":1,"fsLayers":[]}"#, "").contains("schema 1"));
        assert!(
            err(r#"{"schemaVersion":2,"mediaType":"text/plain"}"#, "")
                .contains("unsupported manifest media type")
        );
        let bad_digest = r#"{"schemaVersion":2,"config":{"digest":"sha256:xyz","size":1},"layers":[]}"#;
        assert!(err(bad_digest, "").contains("invalid config digest"));
        let helm = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"{}","size":1}},"layers":[]}}"#,
            d('a')
        );
        assert!(err(&helm, "").contains("not a container image"));
        let odd_layer = format!(
            r#"{{"schemaVersion":2,"config":{{"digest":"{}","size":1}},"layers":[{{"mediaType":"x/y","digest":"{}","size":1}}]}}"#,
            d('a'),
            d('b')
        );
        assert!(err(&odd_layer, "").contains("unsupported layer media type"));
        assert!(valid_digest(&sha256_digest(b"")));
        assert!(!valid_digest("sha512:00"));
    }
}
