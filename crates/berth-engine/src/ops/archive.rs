//! `docker cp`: the stat of a container path (`HEAD …/archive`), a tar of a path (`GET …/archive`) and the
//! extraction of a tar into a directory (`PUT …/archive`), for running and stopped containers alike (see [`root`]
//! for how their files are reached). Paths are resolved inside the container only.

pub(crate) mod root;
#[cfg(test)]
mod tests;

use std::io::{Read, Write};

use berth_image::fsarchive::{self, ExtractRules};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::Container;
use crate::user;
use root::{ContainerRoot, View};

pub use berth_image::fsarchive::PathStat;

/// Options of [`Engine::archive_put`] (the query parameters of `PUT …/archive`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// Refuse to replace a directory with a non-directory and the reverse (`noOverwriteDirNonDir`).
    pub no_overwrite_dir_non_dir: bool,
    /// Give the extracted files the container user's uid and gid (`copyUIDGID`).
    pub copy_uid_gid: bool,
}

/// Docker's words for a path that is not in the container.
fn file_not_found(e: berth_image::Error, path: &str, reference: &str) -> Error {
    match e {
        berth_image::Error::NotFound(_) => {
            Error::NotFound(format!("Could not find the file {path} in container {reference}"))
        }
        e => e.into(),
    }
}

impl Engine {
    /// The stat of `path` in container `reference` (for the `X-Docker-Container-Path-Stat` header).
    pub fn archive_stat(&self, reference: &str, path: &str) -> Result<PathStat> {
        let root = self.container_root(reference, View::WithMounts)?;
        fsarchive::stat_path(root.fd(), path).map_err(|e| file_not_found(e, path, reference))
    }

    /// Writes the tar of `path` in container `reference` to `out` (entries named from the path's base name, `./…`
    /// for a path ending in `/.`) and returns the path's stat. Nothing is written when the path is not found.
    pub fn archive_get(&self, reference: &str, path: &str, out: &mut dyn Write) -> Result<PathStat> {
        let root = self.container_root(reference, View::WithMounts)?;
        fsarchive::write_path_archive(root.fd(), path, out).map_err(|e| file_not_found(e, path, reference))
    }

    /// Extracts `tar` into the directory `path` of container `reference`.
    pub fn archive_put(
        &self,
        reference: &str,
        path: &str,
        tar: &mut dyn Read,
        opts: PutOptions,
    ) -> Result<()> {
        let root = self.container_root(reference, View::WithMounts)?;
        let dir = fsarchive::resolve_extract_dir(root.fd(), path)
            .map_err(|e| file_not_found(e, path, reference))?;
        check_writable(&root.container, &dir.container_path())?;
        let owner = if opts.copy_uid_gid {
            container_user(&root)?
        } else {
            None
        };
        let rules = ExtractRules {
            no_overwrite_dir_non_dir: opts.no_overwrite_dir_non_dir,
            owner,
        };
        fsarchive::extract_into(root.fd(), &dir, tar, rules)?;
        Ok(())
    }
}

/// Refuses writes below a read-only mount, or outside any mount of a container with a read-only root (the mount
/// holding `dest` is the one with the longest destination above it).
fn check_writable(c: &Container, dest: &str) -> Result<()> {
    let under = |mount: &str| {
        let m = mount.trim_end_matches('/');
        dest == m || dest.starts_with(&format!("{m}/"))
    };
    let holder = c
        .mounts
        .iter()
        .filter(|m| under(&m.destination))
        .max_by_key(|m| m.destination.trim_end_matches('/').len());
    match holder {
        Some(m) if !m.rw => Err(Error::InvalidArgument(
            "mounted volume is marked read-only".into(),
        )),
        None if c.host_config.readonly_rootfs => Err(Error::InvalidArgument(
            "container rootfs is marked read-only".into(),
        )),
        _ => Ok(()),
    }
}

/// The uid and gid of the container's configured user, from its own passwd and group files; `None` without one
/// (the archive's owners are kept, as Docker does).
fn container_user(root: &ContainerRoot) -> Result<Option<(u32, u32)>> {
    let spec = &root.container.config.user;
    if spec.is_empty() {
        return Ok(None);
    }
    let read = |path: &str| -> Result<Option<String>> {
        let data = fsarchive::read_file_in(root.fd(), path)?;
        Ok(data.map(|d| String::from_utf8_lossy(&d).into_owned()))
    };
    let u = user::resolve(
        spec,
        read("/etc/passwd")?.as_deref(),
        read("/etc/group")?.as_deref(),
        &[],
    )?;
    Ok(Some((u.uid, u.gid)))
}
