//! Reading an untrusted image archive (`docker load` input) into a scratch directory: member names
//! are checked (no absolute paths, no `..`), files are stored under numbered names and hashed on
//! the way, symlinks and hardlinks between members are resolved by name and never created, and
//! metadata files are size-capped.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;

use sha2::{Digest as _, Sha256};
use tar::EntryType;

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::snapshot::Staged;

/// Largest metadata file read into memory (`manifest.json`, `index.json`, `repositories`, configs).
pub(super) const META_LIMIT: u64 = 8 << 20;
/// Metadata files refused as soon as their header announces more than [`META_LIMIT`].
const META_NAMES: [&str; 4] = ["manifest.json", "index.json", "repositories", "oci-layout"];
const MAX_LINK_HOPS: usize = 16;

/// A member's content, stored in the scratch directory.
#[derive(Debug)]
pub(super) struct Spooled {
    pub(super) path: PathBuf,
    pub(super) size: u64,
    /// SHA-256 of the content as stored in the archive.
    pub(super) digest: Digest,
}

#[derive(Debug)]
enum Member {
    File(Spooled),
    /// A symlink or hardlink, resolved to the member name it points at.
    Link(String),
}

/// The files of an archive, by member name.
#[derive(Debug)]
pub(super) struct Spool {
    dir: Staged,
    members: HashMap<String, Member>,
    /// Files stored so far (names the next one).
    stored: usize,
}

fn unsafe_archive(msg: String) -> Error {
    Error::UnsafeArchive(format!("invalid archive: {msg}"))
}

/// A member name in normal form (`a/b`): relative, no `.` or `..`, UTF-8; empty for the root.
pub(super) fn clean_name(raw: &[u8]) -> Result<String> {
    let shown = || String::from_utf8_lossy(raw).into_owned();
    let s = std::str::from_utf8(raw)
        .map_err(|_| unsafe_archive(format!("member name {:?} is not UTF-8", shown())))?;
    if s.starts_with('/') {
        return Err(unsafe_archive(format!("absolute member name {s:?}")));
    }
    let mut parts = Vec::new();
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(unsafe_archive(format!("member name {s:?} contains \"..\""))),
            c if c.contains('\0') => return Err(unsafe_archive(format!("member name {s:?} contains NUL"))),
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

/// The member a symlink named `name` with target `target` points at, resolved lexically inside the
/// archive.
fn symlink_target(name: &str, target: &[u8]) -> Result<String> {
    let t = std::str::from_utf8(target)
        .map_err(|_| unsafe_archive(format!("symlink {name} has a non-UTF-8 target")))?;
    if t.starts_with('/') {
        return Err(unsafe_archive(format!(
            "symlink {name} points to the absolute path {t:?}"
        )));
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    parts.pop();
    for c in t.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(unsafe_archive(format!(
                        "symlink {name} points outside the archive: {t:?}"
                    )));
                }
            }
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

impl Spool {
    /// Reads the whole archive `input` into `dir`.
    pub(super) fn read(dir: Staged, input: &mut dyn Read) -> Result<Spool> {
        let mut spool = Spool {
            dir,
            members: HashMap::new(),
            stored: 0,
        };
        let mut archive = tar::Archive::new(input);
        let bad = |e: std::io::Error| unsafe_archive(format!("{e}"));
        let mut buf = vec![0u8; 256 * 1024];
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            let name = clean_name(&entry.path_bytes())?;
            if name.is_empty() {
                continue;
            }
            let member = match entry.header().entry_type() {
                EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                    if META_NAMES.contains(&name.as_str()) && entry.size() > META_LIMIT {
                        return Err(unsafe_archive(format!(
                            "{name} is too large ({} bytes, limit {META_LIMIT})",
                            entry.size()
                        )));
                    }
                    Member::File(spool.store(&name, &mut entry, &mut buf)?)
                }
                EntryType::Symlink => {
                    let target = entry.link_name_bytes().unwrap_or_default();
                    Member::Link(symlink_target(&name, &target)?)
                }
                EntryType::Link => {
                    let target = entry.link_name_bytes().unwrap_or_default();
                    Member::Link(clean_name(&target)?)
                }
                _ => continue,
            };
            spool.members.insert(name, member);
        }
        Ok(spool)
    }

    fn store(&mut self, name: &str, data: &mut dyn Read, buf: &mut [u8]) -> Result<Spooled> {
        let path = self.dir.content.join(self.stored.to_string());
        self.stored += 1;
        let ctx = || format!("spool archive member {name}");
        let mut file = File::create(&path).ctx(ctx)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        loop {
            let n = match data.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(unsafe_archive(format!("read {name}: {e}"))),
            };
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).ctx(ctx)?;
            size += n as u64;
        }
        Ok(Spooled {
            path,
            size,
            digest: Digest::from_hasher(hasher),
        })
    }

    /// The file a member name (from the archive's metadata, so untrusted) refers to, following
    /// links; `None` when the archive has no such file.
    pub(super) fn get(&self, name: &str) -> Result<Option<&Spooled>> {
        let mut name = clean_name(name.as_bytes())?;
        for _ in 0..MAX_LINK_HOPS {
            match self.members.get(&name) {
                None => return Ok(None),
                Some(Member::File(f)) => return Ok(Some(f)),
                Some(Member::Link(to)) => name = to.clone(),
            }
        }
        Err(unsafe_archive(format!("too many levels of links at {name}")))
    }

    /// The file `name`, which must exist.
    pub(super) fn require(&self, name: &str) -> Result<&Spooled> {
        self.get(name)?
            .ok_or_else(|| unsafe_archive(format!("{name} not found in the archive")))
    }

    /// The content of a metadata file, at most [`META_LIMIT`] bytes; `None` when absent.
    pub(super) fn read_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let Some(f) = self.get(name)? else {
            return Ok(None);
        };
        if f.size > META_LIMIT {
            return Err(unsafe_archive(format!(
                "{name} is too large ({} bytes, limit {META_LIMIT})",
                f.size
            )));
        }
        std::fs::read(&f.path)
            .ctx(|| format!("read {name} from the archive"))
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names() {
        assert_eq!(clean_name(b"./a//b/./c").unwrap(), "a/b/c");
        assert_eq!(clean_name(b"./").unwrap(), "");
        for bad in [&b"/etc/passwd"[..], b"a/../../x", b"..", b"\xff"] {
            let e = clean_name(bad).unwrap_err();
            assert!(e.to_string().starts_with("invalid archive: "), "{e}");
        }
        assert_eq!(
            symlink_target("a/layer.tar", b"../b/layer.tar").unwrap(),
            "b/layer.tar"
        );
        assert_eq!(symlink_target("a/x", b"./y").unwrap(), "a/y");
        assert!(symlink_target("a/x", b"../../y").is_err());
        assert!(symlink_target("a/x", b"/etc/passwd").is_err());
    }
}
