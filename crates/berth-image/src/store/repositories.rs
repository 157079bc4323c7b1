//! `image/repositories.json`, Docker's reference store: repository (familiar name) -> reference
//! (familiar string) -> image id. A reference with both tag and digest is stored by digest.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::digest::ImageId;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::reference::Reference;

const FILE: &str = "repositories.json";

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Repositories {
    #[serde(rename = "Repositories", default)]
    repos: BTreeMap<String, BTreeMap<String, ImageId>>,
}

/// The stored form of a reference: `name@digest` when it has a digest, else `name:tag`.
fn stored(r: &Reference) -> Reference {
    match r.digest() {
        Some(d) => r.with_digest(d.clone()),
        None => r.clone().with_default_tag(),
    }
}

impl Repositories {
    pub(crate) fn load(image_dir: &Path) -> Result<Repositories> {
        let path = image_dir.join(FILE);
        match fsutil::read_optional(&path)? {
            None => Ok(Repositories::default()),
            Some(b) => {
                serde_json::from_slice(&b).map_err(|e| Error::Corrupt(format!("{}: {e}", path.display())))
            }
        }
    }

    pub(crate) fn save(&self, image_dir: &Path) -> Result<()> {
        let bytes = serde_json::to_vec(self).map_err(|e| Error::Corrupt(format!("encode {FILE}: {e}")))?;
        fsutil::write_atomic(image_dir, FILE, &bytes)
    }

    /// The image a reference points at.
    pub(crate) fn get(&self, r: &Reference) -> Option<&ImageId> {
        let r = stored(r);
        self.repos.get(&r.familiar_name())?.get(&r.familiar())
    }

    /// Every stored reference with its image.
    pub(crate) fn all(&self) -> impl Iterator<Item = (Reference, &ImageId)> {
        self.repos
            .values()
            .flat_map(|m| m.iter())
            .filter_map(|(k, id)| Reference::parse_normalized(k).ok().map(|r| (r, id)))
    }

    /// The references to `id`, sorted.
    pub(crate) fn refs_of(&self, id: &ImageId) -> Vec<Reference> {
        let mut v: Vec<Reference> = self.all().filter(|(_, i)| *i == id).map(|(r, _)| r).collect();
        v.sort();
        v
    }

    /// Points `r` at `id`, replacing a tag; a digest reference cannot move to another image.
    pub(crate) fn add(&mut self, r: &Reference, id: &ImageId) -> Result<()> {
        self.add_with(r, id, false)
    }

    /// [`Repositories::add`]; with `move_digest`, a digest reference moves too (a pull of another platform of
    /// the same index, as Docker does).
    pub(crate) fn add_with(&mut self, r: &Reference, id: &ImageId, move_digest: bool) -> Result<()> {
        let r = stored(r);
        let name = r.familiar_name();
        if name == "sha256" {
            return Err(Error::InvalidArgument(
                "refusing to create an ambiguous tag using digest algorithm as name".into(),
            ));
        }
        let repo = self.repos.entry(name).or_default();
        let key = r.familiar();
        if let (Some(d), Some(old)) = (r.digest(), repo.get(&key))
            && old != id
            && !move_digest
        {
            return Err(Error::Conflict(format!("Cannot overwrite digest {d}")));
        }
        repo.insert(key, id.clone());
        Ok(())
    }

    /// Removes a reference; returns whether it existed.
    pub(crate) fn remove(&mut self, r: &Reference) -> bool {
        let r = stored(r);
        let name = r.familiar_name();
        let Some(repo) = self.repos.get_mut(&name) else {
            return false;
        };
        let existed = repo.remove(&r.familiar()).is_some();
        if repo.is_empty() {
            self.repos.remove(&name);
        }
        existed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;

    fn id(s: &str) -> ImageId {
        ImageId::of_config(s.as_bytes())
    }

    #[test]
    fn docker_layout_and_lookup() {
        let t = tempfile::tempdir().unwrap();
        let mut r = Repositories::default();
        let a = id("a");
        r.add(&Reference::parse("busybox").unwrap(), &a).unwrap();
        r.add(&Reference::parse("localhost:5000/x:1").unwrap(), &a)
            .unwrap();
        let d = Digest::of(b"m");
        let canonical = Reference::parse(&format!("busybox:1@{d}")).unwrap();
        r.add(&canonical, &a).unwrap();
        r.save(t.path()).unwrap();
        let text = std::fs::read_to_string(t.path().join(FILE)).unwrap();
        assert!(
            text.starts_with(r#"{"Repositories":{"busybox":{"busybox:latest":"sha256:"#),
            "{text}"
        );
        assert!(text.contains(&format!(r#""busybox@{d}""#)), "{text}");
        let r = Repositories::load(t.path()).unwrap();
        assert_eq!(
            r.get(&Reference::parse("docker.io/library/busybox:latest").unwrap()),
            Some(&a)
        );
        assert_eq!(r.get(&canonical), Some(&a));
        assert_eq!(r.refs_of(&a).len(), 3);
        let mut r = r;
        assert!(
            r.add(&Reference::parse(&format!("busybox@{d}")).unwrap(), &id("b"))
                .is_err()
        );
        assert!(r.add(&Reference::parse("sha256:abc").unwrap(), &a).is_err());
        assert!(r.remove(&Reference::parse("localhost:5000/x:1").unwrap()));
        assert!(!r.remove(&Reference::parse("localhost:5000/x:1").unwrap()));
        assert_eq!(r.refs_of(&a).len(), 2);
    }
}
