//! User mounts: `-v` binds (HostConfig.Binds), `--mount` (HostConfig.Mounts) and `--tmpfs` (HostConfig.Tmpfs) turned
//! into OCI mounts and the `Mounts` list inspect shows. Named volumes arrive with the volumes work; until then they are
//! refused with a clear error.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::model::{HostConfig, MountPoint};

const PROPAGATIONS: &[&str] = &["shared", "slave", "private", "rshared", "rslave", "rprivate"];

/// A user mount, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct UserMount {
    pub kind: &'static str,
    pub source: String,
    pub destination: String,
    pub read_only: bool,
    pub propagation: String,
    /// Extra mount options (tmpfs size/mode).
    pub options: Vec<String>,
    /// Whether a missing bind source is created (`-v`) rather than refused (`--mount`).
    pub create_source: bool,
}

/// Parses one `-v` value as Docker does.
pub fn parse_bind(spec: &str) -> Result<UserMount> {
    let invalid = || Error::InvalidArgument(format!("invalid volume specification: '{spec}'"));
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, dest, mode) = match parts.as_slice() {
        [dest] => ("", *dest, ""),
        [src, dest] => (*src, *dest, ""),
        [src, dest, mode] => (*src, *dest, *mode),
        _ => return Err(invalid()),
    };
    if dest.is_empty() || !dest.starts_with('/') {
        return Err(Error::InvalidArgument(format!(
            "invalid volume specification: '{spec}': invalid mount config for type \"bind\": \
             invalid mount path: '{dest}' mount path must be absolute"
        )));
    }
    if dest == "/" {
        return Err(Error::InvalidArgument(format!(
            "invalid volume specification: '{spec}'"
        )));
    }
    if !source.starts_with('/') {
        return Err(Error::InvalidArgument(format!(
            "named and anonymous volumes are not supported yet: '{spec}' (bind a host path instead)"
        )));
    }
    let mut m = UserMount {
        kind: "bind",
        source: source.to_string(),
        destination: clean(dest),
        read_only: false,
        propagation: "rprivate".into(),
        options: Vec::new(),
        create_source: true,
    };
    for opt in mode.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "ro" => m.read_only = true,
            "rw" => m.read_only = false,
            "z" | "Z" | "nocopy" => {}
            p if PROPAGATIONS.contains(&p) => m.propagation = p.to_string(),
            _ => return Err(invalid()),
        }
    }
    Ok(m)
}

/// Converts one `--mount` entry from the API shape.
pub fn from_api(m: &crate::model::Mount) -> Result<UserMount> {
    let invalid =
        |why: &str| Error::InvalidArgument(format!("invalid mount config for type \"{}\": {why}", m.kind));
    if !m.target.starts_with('/') {
        return Err(invalid(&format!(
            "invalid mount path: '{}' mount path must be absolute",
            m.target
        )));
    }
    match m.kind.as_str() {
        "bind" => {
            if m.source.is_empty() {
                return Err(invalid("field Source must not be empty"));
            }
            let propagation = m
                .bind_options
                .as_ref()
                .map(|b| b.propagation.clone())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "rprivate".into());
            if !PROPAGATIONS.contains(&propagation.as_str()) {
                return Err(invalid(&format!("invalid propagation mode: {propagation}")));
            }
            Ok(UserMount {
                kind: "bind",
                source: m.source.clone(),
                destination: clean(&m.target),
                read_only: m.read_only,
                propagation,
                options: Vec::new(),
                create_source: false,
            })
        }
        "tmpfs" => {
            let mut options = Vec::new();
            if let Some(t) = &m.tmpfs_options {
                if t.size_bytes > 0 {
                    options.push(format!("size={}", t.size_bytes));
                }
                if t.mode != 0 {
                    options.push(format!("mode={:o}", t.mode));
                }
            }
            Ok(tmpfs(&m.target, options, m.read_only))
        }
        "volume" => Err(Error::InvalidArgument(
            "named volumes are not supported yet".into(),
        )),
        other => Err(Error::InvalidArgument(format!("mount type unknown: {other:?}"))),
    }
}

fn tmpfs(target: &str, options: Vec<String>, read_only: bool) -> UserMount {
    UserMount {
        kind: "tmpfs",
        source: "tmpfs".into(),
        destination: clean(target),
        read_only,
        propagation: String::new(),
        options,
        create_source: false,
    }
}

/// Parses a `--tmpfs` entry's options (`size=64m,mode=1777` are passed to the kernel; Docker's units are accepted by
/// tmpfs itself).
fn parse_tmpfs(target: &str, opts: &str) -> Result<UserMount> {
    if !target.starts_with('/') {
        return Err(Error::InvalidArgument(format!(
            "invalid tmpfs mount: {target}: path must be absolute"
        )));
    }
    let mut read_only = false;
    let mut options = Vec::new();
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => read_only = true,
            "rw" => read_only = false,
            _ => options.push(o.to_string()),
        }
    }
    Ok(tmpfs(target, options, read_only))
}

/// Lexically cleans an absolute container path (`/a//b/` -> `/a/b`).
fn clean(p: &str) -> String {
    let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    format!("/{}", parts.join("/"))
}

/// Every user mount of a host config, validated, sorted so parents mount before children.
pub fn user_mounts(hc: &HostConfig) -> Result<Vec<UserMount>> {
    let mut mounts = Vec::new();
    for b in hc.binds.iter().flatten() {
        mounts.push(parse_bind(b)?);
    }
    for m in hc.mounts.iter().flatten() {
        mounts.push(from_api(m)?);
    }
    for (target, opts) in hc.tmpfs.iter().flatten() {
        mounts.push(parse_tmpfs(target, opts)?);
    }
    let mut seen = BTreeSet::new();
    for m in &mounts {
        if !seen.insert(m.destination.clone()) {
            return Err(Error::InvalidArgument(format!(
                "Duplicate mount point: {}",
                m.destination
            )));
        }
    }
    mounts.sort_by_key(|m| m.destination.matches('/').count());
    Ok(mounts)
}

/// Checks bind sources exist (creating them for `-v`, as Docker does).
pub fn prepare_sources(mounts: &[UserMount]) -> Result<()> {
    for m in mounts.iter().filter(|m| m.kind == "bind") {
        let src = Path::new(&m.source);
        if src.exists() {
            continue;
        }
        if !m.create_source {
            return Err(Error::InvalidArgument(format!(
                "invalid mount config for type \"bind\": bind source path does not exist: {}",
                m.source
            )));
        }
        std::fs::create_dir_all(src).map_err(|e| Error::io(format!("create bind source {}", m.source), e))?;
    }
    Ok(())
}

/// The OCI mount for a user mount.
pub fn oci_mount(m: &UserMount) -> Value {
    let mut options: Vec<String> = Vec::new();
    if m.kind == "bind" {
        options.push("rbind".into());
        options.push(m.propagation.clone());
    } else {
        options.extend(["nosuid", "nodev", "noexec"].map(String::from));
    }
    options.push(if m.read_only { "ro" } else { "rw" }.into());
    options.extend(m.options.iter().cloned());
    json!({"destination": m.destination, "type": m.kind, "source": m.source, "options": options})
}

/// The inspect `Mounts` entry for a user mount.
pub fn mount_point(m: &UserMount) -> MountPoint {
    let mode = if m.kind == "bind" && m.read_only { "ro" } else { "" };
    MountPoint {
        kind: m.kind.to_string(),
        source: if m.kind == "bind" {
            m.source.clone()
        } else {
            String::new()
        },
        destination: m.destination.clone(),
        mode: mode.into(),
        rw: !m.read_only,
        propagation: m.propagation.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_parse_like_docker() {
        let m = parse_bind("/src:/dst:ro").unwrap();
        assert_eq!(
            (m.source.as_str(), m.destination.as_str(), m.read_only),
            ("/src", "/dst", true)
        );
        let m = parse_bind("/src:/dst//x/:rw,rslave").unwrap();
        assert_eq!(
            (m.destination.as_str(), m.propagation.as_str()),
            ("/dst/x", "rslave")
        );
        assert!(
            parse_bind("/src:relative")
                .unwrap_err()
                .to_string()
                .contains("must be absolute")
        );
        assert!(parse_bind("/a:/b:bogus").is_err());
        assert!(parse_bind("/a:/b:c:d").is_err());
        assert!(
            parse_bind("vol:/data")
                .unwrap_err()
                .to_string()
                .contains("not supported yet")
        );
    }

    #[test]
    fn duplicates_are_refused_and_order_is_parent_first() {
        let hc = HostConfig {
            binds: Some(vec!["/a:/x/y".into(), "/b:/x".into()]),
            tmpfs: Some([("/run".to_string(), "size=1m".to_string())].into()),
            ..Default::default()
        };
        let m = user_mounts(&hc).unwrap();
        assert_eq!(m[0].destination, "/x");
        assert_eq!(m.last().unwrap().destination, "/x/y");
        let hc = HostConfig {
            binds: Some(vec!["/a:/x".into(), "/b:/x/".into()]),
            ..Default::default()
        };
        assert!(
            user_mounts(&hc)
                .unwrap_err()
                .to_string()
                .contains("Duplicate mount point")
        );
    }

    #[test]
    fn mount_api_bind_requires_existing_source() {
        let m = crate::model::Mount {
            kind: "bind".into(),
            source: "/definitely/not/here".into(),
            target: "/t".into(),
            ..Default::default()
        };
        let um = from_api(&m).unwrap();
        let e = prepare_sources(&[um]).unwrap_err().to_string();
        assert!(e.contains("bind source path does not exist"), "{e}");
    }

    #[test]
    fn oci_options() {
        let m = parse_bind("/s:/d:ro").unwrap();
        assert_eq!(oci_mount(&m)["options"], json!(["rbind", "rprivate", "ro"]));
        let t = parse_tmpfs("/run", "size=64m,mode=1777").unwrap();
        assert_eq!(
            oci_mount(&t)["options"],
            json!(["nosuid", "nodev", "noexec", "rw", "size=64m", "mode=1777"])
        );
    }
}
