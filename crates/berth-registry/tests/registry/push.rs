//! Pushing to a real registry (Debian's docker-registry on 127.0.0.1): monolithic, streamed and chunked blob
//! uploads read back verified, existence checks, cross-repository mounts, manifests, cancelled sessions.

use std::io::Read;

use crate::common::{Clients, Registry};
use berth_registry::manifest::{OCI_MANIFEST, sha256_digest};
use berth_registry::{Descriptor, Document, Error, Repository};

/// Bytes that do not compress or repeat (xorshift).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn descriptor(data: &[u8]) -> Descriptor {
    Descriptor {
        media_type: "application/octet-stream".into(),
        digest: sha256_digest(data),
        size: data.len() as u64,
        platform: None,
    }
}

/// The blob read back from the registry, verified.
fn pulled(repo: &Repository<'_>, data: &[u8]) -> Vec<u8> {
    repo.blob_bytes(&descriptor(data), "blob", 64 << 20).unwrap()
}

#[test]
fn uploads_of_every_kind_read_back() {
    let reg = Registry::start();
    let client = reg.client("", "");
    let repo = client.repository_for_push("test/uploads", "test/uploads");

    let mono = noise(300_000, 1);
    assert!(!repo.blob_exists(&descriptor(&mono)).unwrap());
    repo.upload_bytes(&mono, &sha256_digest(&mono)).unwrap();
    assert!(repo.blob_exists(&descriptor(&mono)).unwrap());
    let mut wrong_size = descriptor(&mono);
    wrong_size.size += 1;
    assert!(!repo.blob_exists(&wrong_size).unwrap());
    assert_eq!(pulled(&repo, &mono), mono);

    let streamed = noise(1_500_000, 2);
    let (digest, size) = repo.upload_stream(&mut &streamed[..]).unwrap();
    assert_eq!((digest, size), (sha256_digest(&streamed), streamed.len() as u64));
    assert_eq!(pulled(&repo, &streamed), streamed);

    // A tail chunk, an exact multiple of the chunk size, and the empty blob.
    for (len, chunk) in [(200_000, 65_536), (131_072, 65_536), (0, 1024)] {
        let data = noise(len, len as u64 + 3);
        let (digest, size) = repo.upload_chunks(&mut &data[..], chunk).unwrap();
        assert_eq!((digest, size), (sha256_digest(&data), len as u64));
        assert_eq!(pulled(&repo, &data), data);
    }
    let (digest, size) = repo.upload_stream(&mut &b""[..]).unwrap();
    assert_eq!((digest.as_str(), size), (sha256_digest(b"").as_str(), 0));
    assert!(reg.open_uploads("test/uploads").is_empty());
}

#[test]
fn mounts_and_their_fallback() {
    let reg = Registry::start();
    let client = reg.client("", "");
    let src = client.repository_for_push("lib/source", "lib/source");
    let blob = noise(50_000, 9);
    let digest = sha256_digest(&blob);
    src.upload_bytes(&blob, &digest).unwrap();

    let dst = client.repository_for_push("other/target", "other/target");
    assert!(!dst.blob_exists(&descriptor(&blob)).unwrap());
    assert!(dst.mount_blob(&digest, "lib/source").unwrap());
    assert!(dst.blob_exists(&descriptor(&blob)).unwrap());
    assert_eq!(
        pulled(&client.repository("other/target", "other/target"), &blob),
        blob
    );

    // The source lacks this one: the registry opens an upload instead (202), which is cancelled.
    let missing = sha256_digest(b"not there");
    assert!(!dst.mount_blob(&missing, "lib/source").unwrap());
    assert!(reg.open_uploads("other/target").is_empty());
}

#[test]
fn manifests_put_and_fetched() {
    let reg = Registry::start();
    let client = reg.client("", "");
    let repo = client.repository_for_push("app", "app");
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer = noise(10_000, 4);
    repo.upload_bytes(config, &sha256_digest(config)).unwrap();
    repo.upload_bytes(&layer, &sha256_digest(&layer)).unwrap();
    let manifest = serde_json::to_vec_pretty(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256_digest(config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256_digest(&layer), "size": layer.len()}],
    }))
    .unwrap();
    let digest = repo.put_manifest("v1", OCI_MANIFEST, &manifest).unwrap();
    assert_eq!(digest, sha256_digest(&manifest));

    let pull = client.repository("app", "app");
    for reference in ["v1", digest.as_str()] {
        let got = pull.manifest(reference, "app:v1").unwrap();
        assert_eq!(
            (got.raw.as_slice(), got.digest.as_str()),
            (manifest.as_slice(), digest.as_str())
        );
        let Document::Image(m) = got.document else {
            panic!("an image manifest")
        };
        assert_eq!(m.layers[0].digest, sha256_digest(&layer));
    }
    assert_eq!(pull.tags().unwrap(), vec!["v1".to_string()]);
    // By digest too (how indexes' entries are pushed).
    assert_eq!(
        repo.put_manifest(&digest, OCI_MANIFEST, &manifest).unwrap(),
        digest
    );

    let dangling = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256_digest(b"gone"), "size": 4},
        "layers": [],
    }))
    .unwrap();
    let e = repo.put_manifest("v2", OCI_MANIFEST, &dangling).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("manifest blob unknown: blob unknown to registry")
    );
}

/// A source that fails after some bytes.
struct Broken(usize);

impl Read for Broken {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0 == 0 {
            return Err(std::io::Error::other("layer file vanished"));
        }
        let n = self.0.min(buf.len());
        buf[..n].fill(7);
        self.0 -= n;
        Ok(n)
    }
}

#[test]
fn failed_uploads_are_cancelled() {
    let reg = Registry::start();
    let client = reg.client("", "");
    let repo = client.repository_for_push("cancel/me", "cancel/me");
    let data = noise(20_000, 5);
    let e = repo
        .upload_bytes(&data, &sha256_digest(b"something else"))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("digest invalid: provided digest sha256:"),
        "{e}"
    );

    // Chunks went through, then the source failed: the session (at its latest state) is cancelled.
    let e = repo.upload_chunks(&mut Broken(100_000), 32_768).unwrap_err();
    assert!(matches!(e, Error::Source(_)), "{e:?}");
    assert_eq!(e.to_string(), "read blob content: layer file vanished");
    let e = repo.upload_stream(&mut Broken(0)).unwrap_err();
    assert_eq!(e.to_string(), "read blob content: layer file vanished");
    assert!(reg.open_uploads("cancel/me").is_empty());
    // A stream failing midway is reported as the source's failure too (distribution keeps that session: its
    // state moved on with the bytes it took, and it refuses to cancel it with the state it handed out).
    let e = repo.upload_stream(&mut Broken(100_000)).unwrap_err();
    assert_eq!(e.to_string(), "read blob content: layer file vanished");
}
