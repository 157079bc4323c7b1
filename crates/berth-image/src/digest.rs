//! SHA-256 digests (`sha256:<64 hex>`), image ids, layer chain ids, and a reader that hashes and counts
//! the bytes passing through it.

use std::fmt;
use std::io::{self, Read};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

const PREFIX: &str = "sha256:";

/// A validated `sha256:<64 lowercase hex>` digest.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<hex>` with Docker's error texts.
    pub fn parse(s: &str) -> Result<Digest> {
        let Some((algo, hex)) = s.split_once(':') else {
            return Err(Error::InvalidReference("invalid checksum digest format".into()));
        };
        if algo != "sha256" {
            let known = algo.bytes().all(|b| b.is_ascii_alphanumeric()) && !algo.is_empty();
            let msg = if known {
                "unsupported digest algorithm"
            } else {
                "invalid checksum digest format"
            };
            return Err(Error::InvalidReference(msg.into()));
        }
        Digest::from_hex(hex)
    }

    /// Builds a digest from its 64 hex characters.
    pub fn from_hex(hex: &str) -> Result<Digest> {
        if hex.len() != 64 {
            return Err(Error::InvalidReference("invalid checksum digest length".into()));
        }
        if !is_lower_hex(hex) {
            return Err(Error::InvalidReference("invalid checksum digest format".into()));
        }
        Ok(Digest(format!("{PREFIX}{hex}")))
    }

    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Digest {
        Digest::from_hasher(Sha256::new_with_prefix(data))
    }

    pub(crate) fn from_hasher(h: Sha256) -> Digest {
        Digest(format!("{PREFIX}{}", hex::encode(h.finalize())))
    }

    /// The full `sha256:<hex>` form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex characters.
    pub fn hex(&self) -> &str {
        &self.0[PREFIX.len()..]
    }

    /// The first 12 hex characters, as Docker prints ids.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }
}

/// True when `s` is made of lowercase hex digits only.
pub(crate) fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An image id: the digest of the image's exact config bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ImageId(Digest);

impl ImageId {
    /// The id of an image whose config is `config`.
    pub fn of_config(config: &[u8]) -> ImageId {
        ImageId(Digest::of(config))
    }

    /// The id as a digest.
    pub fn digest(&self) -> &Digest {
        &self.0
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The 64 hex characters.
    pub fn hex(&self) -> &str {
        self.0.hex()
    }

    /// The 12-character short id.
    pub fn short(&self) -> &str {
        self.0.short()
    }
}

impl From<Digest> for ImageId {
    fn from(d: Digest) -> ImageId {
        ImageId(d)
    }
}

impl From<ImageId> for Digest {
    fn from(id: ImageId) -> Digest {
        id.0
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The chain id of a layer: its diff id for a base layer, else `sha256(parent_chain + " " + diff_id)`.
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(p) => Digest::of(format!("{p} {diff_id}").as_bytes()),
    }
}

/// The chain ids of a list of diff ids (bottom layer first).
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = chain_id(out.last(), d);
        out.push(next);
    }
    out
}

/// A reader that hashes (SHA-256) and counts everything read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Reads the rest of the stream (so the digest covers all of it) and returns digest and length.
    pub fn finish(mut self) -> io::Result<(Digest, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((Digest::from_hasher(self.hasher), self.count))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parse_and_format() {
        let d = Digest::parse(&format!("sha256:{EMPTY}")).unwrap();
        assert_eq!(d, Digest::of(b""));
        assert_eq!(d.hex(), EMPTY);
        assert_eq!(d.short(), &EMPTY[..12]);
        assert_eq!(
            Digest::parse("sha256:abc").unwrap_err().to_string(),
            "invalid checksum digest length"
        );
        let upper = format!("sha256:{}", EMPTY.to_uppercase());
        assert_eq!(
            Digest::parse(&upper).unwrap_err().to_string(),
            "invalid checksum digest format"
        );
        assert_eq!(
            Digest::parse("md5:abc").unwrap_err().to_string(),
            "unsupported digest algorithm"
        );
        assert_eq!(
            Digest::parse(EMPTY).unwrap_err().to_string(),
            "invalid checksum digest format"
        );
    }

    #[test]
    fn serde_validates() {
        let d: Digest = serde_json::from_str(&format!("\"sha256:{EMPTY}\"")).unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"sha256:{EMPTY}\""));
        assert!(serde_json::from_str::<Digest>("\"sha256:zz\"").is_err());
    }

    #[test]
    fn chain_ids_follow_docker() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let ids = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(ids[0], a);
        assert_eq!(ids[1], Digest::of(format!("{a} {b}").as_bytes()));
    }

    #[test]
    fn hashing_reader_counts_everything() {
        let data = vec![7u8; 100_000];
        let mut r = HashingReader::new(&data[..]);
        let mut first = [0u8; 10];
        r.read_exact(&mut first).unwrap();
        let (d, n) = r.finish().unwrap();
        assert_eq!(n, 100_000);
        assert_eq!(d, Digest::of(&data));
    }
}
