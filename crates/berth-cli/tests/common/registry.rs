//! Images in a real registry for the CLI's tests: layers and busybox images built here, and a minimal uploader
//! ([`ImageUpload`]: monolithic blob uploads, manifest PUTs) that places them in a [`Registry`] (the shared
//! launcher of `berth-testkit`) byte for byte: Docker schema 2 or OCI manifests, indexes, gzip / zstd /
//! uncompressed layers. Also the checks the pull tests share.

use std::io::{Read, Write};
use std::sync::OnceLock;

pub use berth_testkit::Registry;
use serde_json::{Value, json};
use sha2::Digest as _;

use super::{Env, Run};

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// How a layer is stored in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    None,
}

/// A layer: its tar and the blob that carries it.
#[derive(Debug, Clone)]
pub struct Layer {
    pub tar: Vec<u8>,
    pub blob: Vec<u8>,
    pub media_type: &'static str,
}

impl Layer {
    pub fn new(tar: Vec<u8>, c: Compression, oci: bool) -> Layer {
        let (blob, media_type) = match (c, oci) {
            (Compression::Gzip, false) => (gzip(&tar), DOCKER_LAYER),
            (Compression::Gzip, true) => (gzip(&tar), "application/vnd.oci.image.layer.v1.tar+gzip"),
            (Compression::Zstd, _) => (
                zstd::encode_all(&tar[..], 3).unwrap(),
                "application/vnd.oci.image.layer.v1.tar+zstd",
            ),
            (Compression::None, _) => (tar.clone(), "application/vnd.oci.image.layer.v1.tar"),
        };
        Layer {
            tar,
            blob,
            media_type,
        }
    }

    pub fn digest(&self) -> String {
        sha256(&self.blob)
    }

    pub fn diff_id(&self) -> String {
        sha256(&self.tar)
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The busybox root filesystem as an uncompressed layer tar.
pub fn busybox_tar() -> Vec<u8> {
    let mut out = Vec::new();
    let f = std::fs::File::open(super::busybox_tarball()).unwrap();
    flate2::read::GzDecoder::new(f).read_to_end(&mut out).unwrap();
    out
}

/// A layer tar holding the given files (path, content), mode 0644, mtime fixed.
pub fn files_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// busybox plus a layer with `/hello.txt` saying `greeting`.
pub fn busybox_image(greeting: &str, c: Compression, oci: bool) -> Vec<Layer> {
    vec![
        Layer::new(busybox_tar(), c, oci),
        Layer::new(files_tar(&[("hello.txt", greeting.as_bytes())]), c, oci),
    ]
}

/// Lines of output that are not progress bars.
pub fn lines(r: &Run) -> Vec<String> {
    r.stdout.lines().map(str::to_string).collect()
}

#[track_caller]
pub fn fails(r: &Run, code: i32, needle: &str) {
    assert_eq!(r.code, code, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(needle),
        "wanted {needle:?} in stderr: {}",
        r.stderr
    );
    assert_eq!(r.stderr.trim().lines().count(), 1, "one line: {}", r.stderr);
}

/// Nothing of a failed pull is left: no image, no staged layer directory.
#[track_caller]
pub fn nothing_registered(env: &Env) {
    assert_eq!(env.berth(&["images", "-q"]).ok(), "");
    for dir in ["overlay", "vfs"] {
        let Ok(rd) = std::fs::read_dir(env.data_root().join(dir)) else {
            continue;
        };
        let left: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "rw")
            .collect();
        assert!(left.is_empty(), "left in {dir}: {left:?}");
    }
}

/// An image placed in the registry.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// Digest of the manifest (or index) the tag points at.
    pub digest: String,
    /// The image id (config digest) of the image manifest.
    pub config_digest: String,
    pub manifest: Vec<u8>,
    pub media_type: &'static str,
}

/// The agent of uploads: HTTP errors are answers the helpers check, not failures.
fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent()
    })
}

fn url(reg: &Registry, path: &str) -> String {
    format!("http://{}{path}", reg.host)
}

fn authorize<B>(reg: &Registry, repo: &str, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
    match reg.write_authorization(repo) {
        Some(header) => req.header("Authorization", header),
        None => req,
    }
}

/// Uploads a blob (monolithic: POST an upload, PUT its content with the digest); returns the digest.
fn put_blob(reg: &Registry, repo: &str, data: &[u8]) -> String {
    let digest = sha256(data);
    let resp = authorize(
        reg,
        repo,
        agent().post(url(reg, &format!("/v2/{repo}/blobs/uploads/"))),
    )
    .send_empty()
    .unwrap();
    assert_eq!(resp.status().as_u16(), 202, "start upload");
    let location = resp
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let location = if location.starts_with("http") {
        location
    } else {
        url(reg, &location)
    };
    let sep = if location.contains('?') { '&' } else { '?' };
    let resp = authorize(reg, repo, agent().put(format!("{location}{sep}digest={digest}")))
        .header("Content-Type", "application/octet-stream")
        .send(data)
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201, "finish upload");
    digest
}

/// Stores a manifest under `reference` (a tag or its digest); returns its digest.
fn put_manifest(reg: &Registry, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) -> String {
    let mut resp = authorize(
        reg,
        repo,
        agent().put(url(reg, &format!("/v2/{repo}/manifests/{reference}"))),
    )
    .header("Content-Type", media_type)
    .send(bytes)
    .unwrap();
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    assert_eq!(status, 201, "put manifest: {body}");
    sha256(bytes)
}

/// Places images in a test registry byte for byte, authorized as its [`Registry::write_authorization`] says.
pub trait ImageUpload {
    /// Places an image: its layers, a config for `platform` (`os/arch`) with `Cmd ["sh"]`, and a schema 2 (or
    /// OCI with `oci`) manifest, tagged `tag` unless it is empty (then only stored by digest).
    fn push_image(&self, repo: &str, tag: &str, layers: &[Layer], oci: bool, platform: &str) -> Pushed;
    /// Like [`ImageUpload::push_image`] with the given config bytes.
    fn push_with_config(&self, repo: &str, tag: &str, layers: &[Layer], oci: bool, config: &[u8]) -> Pushed;
    /// Stores an OCI index of `entries` (pushed image, `os/arch[/variant]`) under `tag`.
    fn push_index(&self, repo: &str, tag: &str, entries: &[(&Pushed, &str)]) -> Pushed;
}

impl ImageUpload for Registry {
    fn push_image(&self, repo: &str, tag: &str, layers: &[Layer], oci: bool, platform: &str) -> Pushed {
        let (os, arch) = platform.split_once('/').unwrap();
        let diff_ids: Vec<String> = layers.iter().map(Layer::diff_id).collect();
        let config = json!({
            "architecture": arch,
            "os": os,
            "created": "2024-01-01T00:00:00Z",
            "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": layers.iter().map(|_| json!({"created": "2024-01-01T00:00:00Z", "created_by": "test"})).collect::<Vec<_>>(),
        });
        let config = serde_json::to_vec(&config).unwrap();
        self.push_with_config(repo, tag, layers, oci, &config)
    }

    fn push_with_config(&self, repo: &str, tag: &str, layers: &[Layer], oci: bool, config: &[u8]) -> Pushed {
        let config_digest = put_blob(self, repo, config);
        let descriptors: Vec<Value> = layers
            .iter()
            .map(|l| json!({"mediaType": l.media_type, "digest": put_blob(self, repo, &l.blob), "size": l.blob.len()}))
            .collect();
        let media_type = if oci { OCI_MANIFEST } else { DOCKER_MANIFEST };
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": if oci { OCI_CONFIG } else { DOCKER_CONFIG }, "digest": config_digest, "size": config.len()},
            "layers": descriptors,
        });
        // Pretty-printed, as many registries serve them: digests must come from these exact bytes.
        let manifest = serde_json::to_vec_pretty(&manifest).unwrap();
        let digest = sha256(&manifest);
        let reference = if tag.is_empty() {
            digest.clone()
        } else {
            tag.to_string()
        };
        put_manifest(self, repo, &reference, media_type, &manifest);
        Pushed {
            digest,
            config_digest,
            manifest,
            media_type,
        }
    }

    fn push_index(&self, repo: &str, tag: &str, entries: &[(&Pushed, &str)]) -> Pushed {
        let manifests: Vec<Value> = entries
            .iter()
            .map(|(p, platform)| {
                let parts: Vec<&str> = platform.split('/').collect();
                let mut plat = json!({"os": parts[0], "architecture": parts[1]});
                if let Some(v) = parts.get(2) {
                    plat["variant"] = json!(v);
                }
                json!({"mediaType": p.media_type, "digest": p.digest, "size": p.manifest.len(), "platform": plat})
            })
            .collect();
        let index =
            serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}))
                .unwrap();
        let digest = put_manifest(self, repo, tag, OCI_INDEX, &index);
        Pushed {
            digest,
            config_digest: String::new(),
            manifest: index,
            media_type: OCI_INDEX,
        }
    }
}
