//! Content-addressed blob store under `<data-root>/image/blobs/sha256/<hex>`: blobs are written
//! atomically and durably, checked against their digest on write and on read.

use std::path::{Path, PathBuf};

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;

/// The blob directory of one store.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

impl BlobStore {
    /// The blob store of the image directory `image_dir` (`<data-root>/image`).
    pub fn new(image_dir: &Path) -> BlobStore {
        BlobStore {
            dir: image_dir.join("blobs").join("sha256"),
        }
    }

    /// Creates the directory if needed.
    pub fn init(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).ctx(|| format!("create {}", self.dir.display()))
    }

    /// Where the blob `digest` lives.
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(digest.hex())
    }

    /// Stores `data` (if not stored yet) and returns its digest.
    pub fn put(&self, data: &[u8]) -> Result<Digest> {
        let digest = Digest::of(data);
        if !self.path(&digest).exists() {
            fsutil::write_atomic(&self.dir, digest.hex(), data)?;
        }
        Ok(digest)
    }

    /// Stores `data`, which must have the digest `expected`.
    pub fn put_verified(&self, expected: &Digest, data: &[u8]) -> Result<()> {
        let actual = Digest::of(data);
        if &actual != expected {
            return Err(Error::Corrupt(format!(
                "blob digest mismatch: expected {expected}, got {actual}"
            )));
        }
        self.put(data).map(|_| ())
    }

    /// Reads the blob `digest` and checks its content.
    pub fn get(&self, digest: &Digest) -> Result<Vec<u8>> {
        let data = fsutil::read_optional(&self.path(digest))?
            .ok_or_else(|| Error::NotFound(format!("blob {digest} not found")))?;
        if &Digest::of(&data) != digest {
            return Err(Error::Corrupt(format!("blob {digest} is corrupt")));
        }
        Ok(data)
    }

    /// Whether the blob is stored.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).exists()
    }

    /// Deletes a blob; a missing blob is fine.
    pub fn delete(&self, digest: &Digest) -> Result<()> {
        match std::fs::remove_file(self.path(digest)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io(format!("remove blob {digest}"), e))
            }
            _ => Ok(()),
        }
    }

    /// The stored blobs (temp files are skipped).
    pub fn list(&self) -> Result<Vec<Digest>> {
        let rd = match std::fs::read_dir(&self.dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            r => r.ctx(|| format!("read {}", self.dir.display()))?,
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.ctx(|| format!("read {}", self.dir.display()))?;
            if let Some(d) = entry.file_name().to_str().and_then(|n| Digest::from_hex(n).ok()) {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Removes leftover temp files of interrupted writes. Only call with the store lock held.
    pub(crate) fn clean_temp(&self) -> Result<()> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Ok(());
        };
        for entry in rd.flatten() {
            if entry.file_name().to_str().is_some_and(fsutil::is_tmp) {
                fsutil::remove_tree(&entry.path())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_verify_delete() {
        let t = tempfile::tempdir().unwrap();
        let b = BlobStore::new(t.path());
        b.init().unwrap();
        let d = b.put(b"hello").unwrap();
        assert_eq!(d, Digest::of(b"hello"));
        assert_eq!(b.get(&d).unwrap(), b"hello");
        assert!(b.put_verified(&Digest::of(b"x"), b"y").is_err());
        std::fs::write(b.path(&d), b"tampered").unwrap();
        assert!(matches!(b.get(&d), Err(Error::Corrupt(_))));
        std::fs::write(t.path().join("blobs/sha256/.tmp-x-1"), b"partial").unwrap();
        assert_eq!(b.list().unwrap(), vec![d.clone()]);
        b.clean_temp().unwrap();
        assert_eq!(
            std::fs::read_dir(t.path().join("blobs/sha256")).unwrap().count(),
            1
        );
        b.delete(&d).unwrap();
        b.delete(&d).unwrap();
        assert!(!b.contains(&d));
        assert!(matches!(b.get(&d), Err(Error::NotFound(_))));
    }
}
