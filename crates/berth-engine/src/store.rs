//! The container store: one directory per container under `<data-root>/containers/<id>` holding `container.json`, and
//! one symlink per name under `<data-root>/names` (creating the link reserves the name atomically, so two CLIs racing
//! for one name cannot both win). Record updates are read-modify-write under an exclusive `flock` on the container's
//! directory, so the CLI, a shim and a daemon can change one container concurrently without losing updates.

use std::fs::{self, File};
use std::os::fd::AsFd;
use std::path::PathBuf;

use rustix::fs::{FlockOperation, flock};

use crate::error::{Error, IoContext, Result};
use crate::fsutil::{Durability, write_atomic};
use crate::ids;
use crate::model::Container;
use crate::paths::Paths;

const RECORD: &str = "container.json";

/// How long a name reservation may exist without its container record before it counts as abandoned (its creator
/// was killed between reserving the name and writing the record).
const RESERVATION_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

fn is_stale(link: &std::path::Path) -> bool {
    fs::symlink_metadata(link)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > RESERVATION_GRACE))
}

/// Access to stored containers.
#[derive(Debug, Clone)]
pub struct ContainerStore {
    paths: Paths,
}

/// An exclusive lock on one container's record, released on drop.
pub struct RecordLock {
    _dir: File,
}

impl ContainerStore {
    /// Opens (creating if needed) the store under the data root.
    pub fn open(paths: &Paths) -> Result<Self> {
        for dir in [paths.containers(), paths.names()] {
            fs::create_dir_all(&dir).ctx(|| format!("create {}", dir.display()))?;
        }
        Ok(ContainerStore { paths: paths.clone() })
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.paths.container_dir(id).join(RECORD)
    }

    /// Reads a container's record.
    pub fn load(&self, id: &str) -> Result<Container> {
        let path = self.record_path(id);
        let bytes = fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(format!("No such container: {id}")),
            _ => Error::io(format!("read {}", path.display()), e),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Writes a container's record atomically. Records of `--rm` containers skip fsync: they are meant to vanish.
    pub fn save(&self, c: &Container) -> Result<()> {
        let durability = if c.host_config.auto_remove {
            Durability::Volatile
        } else {
            Durability::Durable
        };
        let bytes = serde_json::to_vec(c).map_err(|e| Error::Runtime(format!("encode container: {e}")))?;
        write_atomic(&self.record_path(&c.id), &bytes, durability)
            .ctx(|| format!("write container {}", ids::short(&c.id)))
    }

    /// Takes the exclusive lock on a container's record.
    pub fn lock(&self, id: &str) -> Result<RecordLock> {
        let dir = self.paths.container_dir(id);
        let f = File::open(&dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(format!("No such container: {id}")),
            _ => Error::io(format!("open {}", dir.display()), e),
        })?;
        flock(f.as_fd(), FlockOperation::LockExclusive).map_err(|e| Error::io("lock container", e.into()))?;
        Ok(RecordLock { _dir: f })
    }

    /// Loads, changes and saves a record under its lock; returns the saved record.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut Container) -> Result<()>) -> Result<Container> {
        let _lock = self.lock(id)?;
        let mut c = self.load(id)?;
        change(&mut c)?;
        self.save(&c)?;
        Ok(c)
    }

    /// Resolves a full id, a name, or a unique id prefix to a container id, as Docker does.
    pub fn resolve(&self, reference: &str) -> Result<String> {
        let not_found = || Error::NotFound(format!("No such container: {reference}"));
        if reference.is_empty() {
            return Err(not_found());
        }
        if reference.len() == 64 && self.record_path(reference).exists() {
            return Ok(reference.to_string());
        }
        let bare = reference.strip_prefix('/').unwrap_or(reference);
        if !bare.contains('/')
            && let Ok(target) = fs::read_link(self.paths.names().join(bare))
        {
            let id = target.to_string_lossy().into_owned();
            if self.record_path(&id).exists() {
                return Ok(id);
            }
        }
        if !ids::is_hex_prefix(reference) {
            return Err(not_found());
        }
        let mut found = None;
        for id in self.ids()? {
            if id.starts_with(reference) {
                if found.is_some() {
                    return Err(Error::InvalidArgument(format!(
                        "multiple IDs found with provided prefix: {reference}"
                    )));
                }
                found = Some(id);
            }
        }
        found.ok_or_else(not_found)
    }

    /// Ids of every container with a record.
    pub fn ids(&self) -> Result<Vec<String>> {
        let dir = self.paths.containers();
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).ctx(|| format!("read {}", dir.display()))? {
            let entry = entry.ctx(|| format!("read {}", dir.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.len() == 64 && ids::is_hex_prefix(&name) && entry.path().join(RECORD).exists() {
                out.push(name);
            }
        }
        Ok(out)
    }

    /// Every stored container; records that vanish while listing (removed concurrently) are skipped.
    pub fn list(&self) -> Result<Vec<Container>> {
        let mut out = Vec::new();
        for id in self.ids()? {
            match self.load(&id) {
                Ok(c) => out.push(c),
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Reserves `name` for container `id`. A link left by a container that no longer exists is taken over.
    pub fn reserve_name(&self, name: &str, id: &str) -> Result<()> {
        let link = self.paths.names().join(name);
        for _ in 0..3 {
            match std::os::unix::fs::symlink(id, &link) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = fs::read_link(&link)
                        .map(|t| t.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if owner.is_empty() || self.record_path(&owner).exists() || !is_stale(&link) {
                        return Err(Error::Conflict(format!(
                            "Conflict. The container name \"/{name}\" is already in use by container \"{owner}\". \
                             You have to remove (or rename) that container to be able to reuse that name."
                        )));
                    }
                    // A reservation whose container was never written (its creator died): replace it.
                    let _ = fs::remove_file(&link);
                }
                Err(e) => return Err(Error::io(format!("reserve name {name}"), e)),
            }
        }
        Err(Error::Conflict(format!(
            "name \"/{name}\" is being reserved concurrently"
        )))
    }

    /// Releases `name` if it is still held by `id`.
    pub fn release_name(&self, name: &str, id: &str) {
        let link = self.paths.names().join(name);
        if fs::read_link(&link).is_ok_and(|t| t.as_os_str() == id) {
            let _ = fs::remove_file(&link);
        }
    }

    /// Reserves a generated name that is free.
    pub fn reserve_generated_name(&self, id: &str) -> Result<String> {
        for attempt in 0..20 {
            let name = ids::generate_name(attempt / 4);
            match self.reserve_name(&name, id) {
                Ok(()) => return Ok(name),
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict("could not generate a free container name".into()))
    }

    /// Creates a container's directory and writes its first record.
    pub fn create(&self, c: &Container) -> Result<()> {
        let dir = self.paths.container_dir(&c.id);
        fs::create_dir(&dir).ctx(|| format!("create {}", dir.display()))?;
        self.save(c)
    }

    /// Moves a container's directory aside (out of every lookup) for deletion later; returns where it went.
    pub fn retire(&self, id: &str) -> Result<PathBuf> {
        let to = self.paths.containers().join(format!(".removed-{id}"));
        fs::rename(self.paths.container_dir(id), &to)
            .ctx(|| format!("retire container {}", ids::short(id)))?;
        Ok(to)
    }

    /// Deletes a container's directory (record, logs, files).
    pub fn delete(&self, id: &str) -> Result<()> {
        let dir = self.paths.container_dir(id);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("remove {}", dir.display()), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ContainerStore) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path().join("data"), dir.path().join("exec"));
        let s = ContainerStore::open(&paths).unwrap();
        (dir, s)
    }

    fn container(s: &ContainerStore, name: &str) -> Container {
        let c = Container {
            id: ids::new_id(),
            name: format!("/{name}"),
            ..Default::default()
        };
        s.reserve_name(name, &c.id).unwrap();
        s.create(&c).unwrap();
        c
    }

    #[test]
    fn resolves_by_id_name_and_prefix() {
        let (_d, s) = store();
        let a = container(&s, "alpha");
        assert_eq!(s.resolve(&a.id).unwrap(), a.id);
        assert_eq!(s.resolve("alpha").unwrap(), a.id);
        assert_eq!(s.resolve("/alpha").unwrap(), a.id);
        assert_eq!(s.resolve(&a.id[..5]).unwrap(), a.id);
        assert!(matches!(s.resolve("beta"), Err(Error::NotFound(_))));
        assert!(matches!(s.resolve(""), Err(Error::NotFound(_))));
    }

    #[test]
    fn names_conflict_until_released() {
        let (_d, s) = store();
        let a = container(&s, "web");
        let err = s.reserve_name("web", &ids::new_id()).unwrap_err();
        assert!(err.to_string().contains("is already in use"), "{err}");
        s.release_name("web", &a.id);
        s.reserve_name("web", "other").unwrap();
    }

    #[test]
    fn fresh_reservations_hold_and_stale_ones_are_taken_over() {
        let (_d, s) = store();
        s.reserve_name("ghost", &ids::new_id()).unwrap();
        assert!(matches!(
            s.reserve_name("ghost", "racer"),
            Err(Error::Conflict(_))
        ));
        let link = s.paths.names().join("ghost");
        let old = std::time::SystemTime::now() - 2 * RESERVATION_GRACE;
        let times = rustix::fs::Timestamps {
            last_access: rustix::fs::Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            last_modification: rustix::fs::Timespec {
                tv_sec: old.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64,
                tv_nsec: 0,
            },
        };
        rustix::fs::utimensat(
            rustix::fs::CWD,
            &link,
            &times,
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .unwrap();
        s.reserve_name("ghost", "new-owner").unwrap();
    }

    #[test]
    fn update_is_persisted_and_list_skips_half_made_dirs() {
        let (_d, s) = store();
        let a = container(&s, "one");
        s.update(&a.id, |c| {
            c.state.exit_code = 3;
            Ok(())
        })
        .unwrap();
        fs::create_dir(s.paths.container_dir(&ids::new_id())).unwrap();
        let all = s.list().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].state.exit_code, 3);
    }

    #[test]
    fn corrupt_record_is_reported_not_panicked() {
        let (_d, s) = store();
        let a = container(&s, "bad");
        fs::write(s.record_path(&a.id), b"{not json").unwrap();
        assert!(matches!(s.load(&a.id), Err(Error::Corrupt { .. })));
    }
}
