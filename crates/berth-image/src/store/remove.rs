//! `docker tag`, `docker rmi` and `docker image prune` with Docker's semantics: untag first, refuse
//! while containers use an image (running ones even with force), delete the image when its last
//! reference goes, then collect the layers nothing references any more.

use super::repositories::Repositories;
use super::{ImageStore, PruneReport, RemoveEvent, Usage};
use crate::digest::ImageId;
use crate::error::{Error, Result};
use crate::reference::Reference;

/// Docker's `stringid.TruncateID`.
fn short(id: &str) -> &str {
    let id = id.rsplit_once(':').map_or(id, |(_, h)| h);
    &id[..id.len().min(12)]
}

/// Docker's `isSingleReference`: all references are in one repository (tag plus its digests).
fn single_reference(refs: &[Reference]) -> bool {
    if refs.len() <= 1 {
        return refs.len() == 1;
    }
    let tags: Vec<&Reference> = refs.iter().filter(|r| r.digest().is_none()).collect();
    if tags.len() > 1 {
        return false;
    }
    let name = tags.first().copied().unwrap_or(&refs[0]).name();
    let digest_repos: std::collections::BTreeSet<String> = refs
        .iter()
        .filter(|r| r.digest().is_some())
        .map(Reference::name)
        .collect();
    digest_repos.len() == 1 && digest_repos.contains(&name)
}

/// A reason an image cannot be deleted.
struct Conflict {
    hard: bool,
    /// A container uses the image.
    used: bool,
    /// Other images build on it.
    children: bool,
    message: String,
}

impl Conflict {
    fn error(self, id: &ImageId) -> Error {
        let force = if self.hard {
            "cannot be forced"
        } else {
            "must be forced"
        };
        Error::Conflict(format!(
            "conflict: unable to delete {} ({force}) - {}",
            id.short(),
            self.message
        ))
    }
}

/// Which conflicts to look for.
#[derive(Clone, Copy)]
struct Checks {
    soft: bool,
    active_reference: bool,
}

impl ImageStore {
    /// Points `target` at the image `source` resolves to.
    pub fn tag(&self, source: &str, target: &str) -> Result<()> {
        let target = Reference::parse_normalized(target)?;
        if target.digest().is_some() {
            return Err(Error::InvalidArgument(
                "refusing to create a tag with a digest reference".into(),
            ));
        }
        let target = target.with_default_tag();
        let _lock = self.lock()?;
        let mut repos = Repositories::load(&self.image_dir)?;
        let id = self.resolve(&repos, source)?;
        repos.add(&target, &id)?;
        repos.save(&self.image_dir)
    }

    /// Points the digest reference `reference` (`name@sha256:…`, a pushed manifest's digest) at image `id`.
    pub fn add_digest_reference(&self, id: &ImageId, reference: &Reference) -> Result<()> {
        if reference.digest().is_none() {
            return Err(Error::InvalidArgument(format!(
                "not a digest reference: {}",
                reference.familiar()
            )));
        }
        let _lock = self.lock()?;
        let mut repos = Repositories::load(&self.image_dir)?;
        repos.add_with(reference, id, true)?;
        repos.save(&self.image_dir)
    }

    fn conflict(
        &self,
        id: &ImageId,
        repos: &Repositories,
        usage: &Usage,
        checks: Checks,
    ) -> Result<Option<Conflict>> {
        let mut child = false;
        for other in self.meta.image_ids()? {
            child |= self
                .meta
                .read_image(&other)?
                .is_some_and(|m| m.parent.as_ref() == Some(id));
        }
        let c = |hard, used, message: String| {
            Ok(Some(Conflict {
                hard,
                used,
                children: child,
                message,
            }))
        };
        if child {
            return c(true, false, "image has dependent child images".into());
        }
        if let Usage::Running(cid) = usage {
            return c(
                true,
                true,
                format!("image is being used by running container {}", short(cid)),
            );
        }
        if checks.soft && checks.active_reference && !repos.refs_of(id).is_empty() {
            return c(
                false,
                false,
                "image is referenced in multiple repositories".into(),
            );
        }
        if let (true, Usage::Stopped(cid)) = (checks.soft, usage) {
            return c(
                false,
                true,
                format!("image is being used by stopped container {}", short(cid)),
            );
        }
        Ok(None)
    }

    /// `docker rmi`: removes a reference, or the image with all its references.
    pub fn remove(
        &self,
        name_or_id: &str,
        force: bool,
        usage: &dyn Fn(&ImageId) -> Usage,
    ) -> Result<Vec<RemoveEvent>> {
        let lock = self.lock()?;
        let mut repos = Repositories::load(&self.image_dir)?;
        let id = self.resolve(&repos, name_or_id)?;
        let used = usage(&id);
        let mut events = Vec::new();
        let mut refs = repos.refs_of(&id);
        let by_id = id
            .hex()
            .starts_with(name_or_id.strip_prefix("sha256:").unwrap_or(name_or_id));
        let mut quiet = false;
        if !by_id {
            if !force
                && single_reference(&refs)
                && let Usage::Running(c) | Usage::Stopped(c) = &used
            {
                return Err(Error::Conflict(format!(
                    "conflict: unable to remove repository reference \"{name_or_id}\" (must force) - container {} is using its referenced image {}",
                    short(c),
                    id.short()
                )));
            }
            let named = Reference::parse(name_or_id)?;
            repos.remove(&named);
            events.push(RemoveEvent::Untagged(named.familiar()));
            refs = repos.refs_of(&id);
            // Removing the last tag of a repository also removes its digest references.
            if named.digest().is_none()
                && !refs
                    .iter()
                    .any(|r| r.digest().is_none() && r.name() == named.name())
            {
                for r in refs
                    .iter()
                    .filter(|r| r.digest().is_some() && r.name() == named.name())
                {
                    repos.remove(r);
                    events.push(RemoveEvent::Untagged(r.familiar()));
                }
                refs = repos.refs_of(&id);
            }
            if !refs.is_empty() {
                repos.save(&self.image_dir)?;
                return Ok(events);
            }
            quiet = true;
        } else if single_reference(&refs) {
            let checks = Checks {
                soft: !force,
                active_reference: false,
            };
            if let Some(c) = self.conflict(&id, &repos, &used, checks)? {
                return Err(c.error(&id));
            }
            for r in &refs {
                repos.remove(r);
                events.push(RemoveEvent::Untagged(r.familiar()));
            }
        }
        let checks = Checks {
            soft: !force,
            active_reference: true,
        };
        if let Some(c) = self.conflict(&id, &repos, &used, checks)? {
            let dangling = repos.refs_of(&id).is_empty() && !c.children;
            if quiet && (!dangling || c.used) {
                repos.save(&self.image_dir)?;
                return Ok(events);
            }
            return Err(c.error(&id));
        }
        Self::untag_all(&mut repos, &id, &mut events);
        repos.save(&self.image_dir)?;
        self.delete_records(&id, &mut events)?;
        let collected = self.collect_garbage(&lock)?;
        events.extend(
            collected
                .layers
                .iter()
                .map(|(c, _)| RemoveEvent::Deleted(c.clone())),
        );
        drop(lock);
        collected.remove_trash();
        Ok(events)
    }

    /// Drops every reference to `id` (in `repos`, saved by the caller before the records go).
    fn untag_all(repos: &mut Repositories, id: &ImageId, events: &mut Vec<RemoveEvent>) {
        for r in repos.refs_of(id) {
            repos.remove(&r);
            events.push(RemoveEvent::Untagged(r.familiar()));
        }
    }

    /// Deletes the records of an image whose references are gone (layers are left to garbage
    /// collection). References go first, so a crash in between leaves a dangling image, never a
    /// reference to nothing.
    fn delete_records(&self, id: &ImageId, events: &mut Vec<RemoveEvent>) -> Result<()> {
        self.meta.delete_image(id)?;
        self.blobs.delete(id.digest())?;
        events.push(RemoveEvent::Deleted(id.digest().clone()));
        Ok(())
    }

    /// `docker image prune`: unused images without tags (all unused images with `all`).
    pub fn prune(&self, all: bool, usage: &dyn Fn(&ImageId) -> Usage) -> Result<PruneReport> {
        let lock = self.lock()?;
        let mut repos = Repositories::load(&self.image_dir)?;
        let mut report = PruneReport::default();
        let mut doomed = Vec::new();
        for id in self.meta.image_ids()? {
            let used = usage(&id);
            if used != Usage::Unused {
                continue;
            }
            let tagged = repos.refs_of(&id).iter().any(|r| r.digest().is_none());
            if tagged && !all {
                continue;
            }
            let checks = Checks {
                soft: false,
                active_reference: false,
            };
            if self.conflict(&id, &repos, &used, checks)?.is_some() {
                continue;
            }
            let mut events = Vec::new();
            Self::untag_all(&mut repos, &id, &mut events);
            doomed.push((id, events));
        }
        repos.save(&self.image_dir)?;
        for (id, events) in doomed {
            report.deleted.extend(events);
            self.delete_records(&id, &mut report.deleted)?;
        }
        let collected = self.collect_garbage(&lock)?;
        report.space_reclaimed = collected.reclaimed();
        report.deleted.extend(
            collected
                .layers
                .iter()
                .map(|(c, _)| RemoveEvent::Deleted(c.clone())),
        );
        drop(lock);
        collected.remove_trash();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_reference_rules() {
        let r = |s: &str| Reference::parse(s).unwrap();
        let d = format!("@{}", crate::digest::Digest::of(b"x"));
        assert!(!single_reference(&[]));
        assert!(single_reference(&[r("a")]));
        assert!(!single_reference(&[r("a"), r("b")]));
        assert!(single_reference(&[r("a"), r(&format!("a{d}"))]));
        assert!(!single_reference(&[r("a"), r(&format!("b{d}"))]));
        assert!(!single_reference(&[r("a:1"), r("a:2")]));
        assert_eq!(short("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short("abc"), "abc");
    }
}
