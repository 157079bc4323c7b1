//! `-v`/`--volume` specs (`/host:/ctr[:opts]`, `name:/ctr`, `/ctr`) checked as Docker's CLI
//! and its Linux mount parser check them, and the [`MountSpec`] shared with `--mount`.

use std::collections::BTreeMap;
use std::path::Path;

use super::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MountKind {
    Bind,
    #[default]
    Volume,
    Tmpfs,
}

impl MountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
        }
    }
}

/// Mount propagation of a bind mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Private,
    Rprivate,
    Shared,
    Rshared,
    Slave,
    Rslave,
}

impl Propagation {
    pub fn parse(s: &str) -> Option<Propagation> {
        Some(match s {
            "private" => Propagation::Private,
            "rprivate" => Propagation::Rprivate,
            "shared" => Propagation::Shared,
            "rshared" => Propagation::Rshared,
            "slave" => Propagation::Slave,
            "rslave" => Propagation::Rslave,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Private => "private",
            Propagation::Rprivate => "rprivate",
            Propagation::Shared => "shared",
            Propagation::Rshared => "rshared",
            Propagation::Slave => "slave",
            Propagation::Rslave => "rslave",
        }
    }
}

/// `--mount …,bind-recursive=…` (and the older `bind-nonrecursive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BindRecursive {
    /// Submounts are bound too; read-only applies recursively where the kernel allows.
    #[default]
    Enabled,
    /// Submounts are not bound.
    Disabled,
    /// Read-only is not applied to submounts.
    Writable,
    /// Read-only must apply to submounts, or the mount fails.
    Readonly,
}

/// A mount requested by `-v`, `--mount` or `--tmpfs`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MountSpec {
    pub kind: MountKind,
    /// Host path (bind) or volume name; empty for an anonymous volume or tmpfs.
    pub source: String,
    /// Absolute, cleaned path in the container.
    pub target: String,
    pub read_only: bool,
    /// The `-v` option string as given (Docker reports it as the mount's `Mode`).
    pub mode: String,
    pub propagation: Option<Propagation>,
    /// SELinux relabelling: `z` (shared) or `Z` (private).
    pub relabel: Option<char>,
    /// Do not copy the image's content into a new volume.
    pub nocopy: bool,
    pub consistency: Option<String>,
    pub bind_recursive: BindRecursive,
    pub volume_subpath: Option<String>,
    pub volume_driver: Option<String>,
    pub volume_labels: BTreeMap<String, String>,
    pub volume_options: BTreeMap<String, String>,
    pub tmpfs_size: Option<i64>,
    pub tmpfs_mode: Option<u32>,
}

/// Go's path.Clean for slash-separated paths.
pub(super) fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Go's filepath.Abs: `cwd` joined and cleaned.
pub(super) fn absolute(p: &str, cwd: &Path) -> String {
    if p.starts_with('/') {
        return clean_path(p);
    }
    clean_path(&format!("{}/{p}", cwd.display()))
}

/// Docker's checks on a container path: not `/`, absolute.
pub(super) fn check_target(target: &str) -> Result<(), String> {
    if clean_path(target) == "/" {
        return Err("invalid specification: destination can't be '/'".into());
    }
    if !target.starts_with('/') {
        return Err(format!(
            "invalid mount path: '{target}' mount path must be absolute"
        ));
    }
    Ok(())
}

/// Local volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub(super) fn check_volume_name(name: &str) -> Result<(), Error> {
    let b = name.as_bytes();
    let ok = b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::VolumeName(name.to_string()))
    }
}

/// The CLI's first pass: split into source and target, refusing empty sections and extra colons.
fn cli_split(spec: &str) -> Result<(String, String), Error> {
    if spec.len() <= 2 {
        return Ok((String::new(), spec.to_string()));
    }
    let syntax = |what: &str| Error::VolumeSyntax(format!("invalid spec: {spec}: {what}"));
    let mut fields = spec.split(':').peekable();
    let (mut source, mut target) = (None, None);
    while let Some(field) = fields.next() {
        let last = fields.peek().is_none();
        if field.is_empty() {
            return Err(syntax("empty section between colons"));
        }
        match (&source, &target) {
            (None, _) if last => target = Some(field),
            (None, _) => source = Some(field),
            (Some(_), None) => target = Some(field),
            _ if !last => return Err(syntax("too many colons")),
            _ => {}
        }
    }
    Ok((
        source.unwrap_or_default().to_string(),
        target.unwrap_or_default().to_string(),
    ))
}

/// Docker's Linux mount modes: at most one of each of rw/ro, z/Z, a propagation, nocopy and a
/// consistency.
fn valid_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let mut counts = [0u8; 5];
    for o in mode.split(',') {
        let class = match o {
            "rw" | "ro" => 0,
            "z" | "Z" => 1,
            "nocopy" => 3,
            "consistent" | "cached" | "delegated" => 4,
            _ if Propagation::parse(o).is_some() => 2,
            _ => return false,
        };
        counts[class] += 1;
    }
    counts.iter().all(|&c| c <= 1)
}

/// Parses a `-v` value, resolving relative host paths (`./data`) against the current directory.
pub fn parse_volume(spec: &str) -> Result<MountSpec, Error> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    parse_volume_in(spec, &cwd)
}

fn parse_volume_in(spec: &str, cwd: &Path) -> Result<MountSpec, Error> {
    if spec.is_empty() {
        return Err(Error::VolumeSyntax("invalid empty volume spec".into()));
    }
    let (source, _) = cli_split(spec)?;
    // The CLI makes a relative bind source absolute before the daemon sees the spec.
    let mut raw = spec.to_string();
    if !source.is_empty()
        && source.starts_with('.')
        && let Some((host, rest)) = spec.split_once(':')
    {
        raw = format!("{}:{rest}", absolute(host, cwd));
    }
    let invalid = || Error::VolumeSpec {
        spec: raw.clone(),
        reason: None,
    };
    let parts: Vec<&str> = raw.splitn(4, ':').collect();
    if parts[0].is_empty() {
        return Err(invalid());
    }
    let (source, target, mode) = match parts.as_slice() {
        [target] => ("", *target, ""),
        [_, second] if valid_mode(second) => return Err(invalid()),
        [source, target] => (*source, *target, ""),
        [source, target, mode] => (*source, *target, *mode),
        _ => return Err(invalid()),
    };
    if !valid_mode(mode) {
        return Err(Error::VolumeMode(mode.to_string()));
    }
    let kind = if source.starts_with('/') {
        MountKind::Bind
    } else {
        MountKind::Volume
    };
    let options: Vec<&str> = mode.split(',').collect();
    let config_err = |reason: String| Error::VolumeSpec {
        spec: raw.clone(),
        reason: Some(
            Error::MountConfig {
                kind: kind.as_str().into(),
                reason,
            }
            .to_string(),
        ),
    };
    if target.is_empty() {
        return Err(config_err("field Target must not be empty".into()));
    }
    check_target(target).map_err(config_err)?;
    if kind == MountKind::Volume && !source.is_empty() {
        check_volume_name(source)?;
    }
    let propagation = options
        .iter()
        .find_map(|o| Propagation::parse(o))
        .filter(|_| kind == MountKind::Bind);
    Ok(MountSpec {
        kind,
        source: if kind == MountKind::Bind {
            clean_path(source)
        } else {
            source.to_string()
        },
        target: clean_path(target),
        read_only: options.contains(&"ro"),
        mode: mode.to_string(),
        propagation,
        relabel: options.iter().find_map(|o| match *o {
            "z" => Some('z'),
            "Z" => Some('Z'),
            _ => None,
        }),
        nocopy: options.contains(&"nocopy"),
        consistency: options
            .iter()
            .find(|o| matches!(**o, "consistent" | "cached" | "delegated"))
            .map(|o| o.to_string()),
        ..MountSpec::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &str) -> Result<MountSpec, Error> {
        parse_volume_in(spec, Path::new("/work/dir"))
    }

    #[test]
    fn binds_volumes_and_anonymous() {
        let m = parse("/host//a/:/ctr/./b:ro,Z,rslave").unwrap();
        assert_eq!(
            (m.kind, m.source.as_str(), m.target.as_str()),
            (MountKind::Bind, "/host/a", "/ctr/b")
        );
        assert!(m.read_only);
        assert_eq!(
            (m.relabel, m.propagation, m.mode.as_str()),
            (Some('Z'), Some(Propagation::Rslave), "ro,Z,rslave")
        );
        let m = parse("data:/var/lib/data:nocopy").unwrap();
        assert_eq!(
            (m.kind, m.source.as_str(), m.nocopy, m.read_only),
            (MountKind::Volume, "data", true, false)
        );
        let m = parse("/cache").unwrap();
        assert_eq!(
            (m.kind, m.source.as_str(), m.target.as_str()),
            (MountKind::Volume, "", "/cache")
        );
        let m = parse("./sub/../x:/y:rw").unwrap();
        assert_eq!((m.kind, m.source.as_str()), (MountKind::Bind, "/work/dir/x"));
    }

    #[test]
    fn errors_like_docker() {
        let err = |s: &str| parse(s).unwrap_err().to_string();
        assert_eq!(err(""), "invalid empty volume spec");
        assert_eq!(err("/a:/b:ro:x"), "invalid spec: /a:/b:ro:x: too many colons");
        assert_eq!(
            err("ab::/c"),
            "invalid spec: ab::/c: empty section between colons"
        );
        assert_eq!(err("/a:/b:rr"), "invalid mode: rr");
        assert_eq!(err("/a:/b:ro,rw"), "invalid mode: ro,rw");
        assert_eq!(err("/foo:rw"), "invalid volume specification: '/foo:rw'");
        assert_eq!(
            err("/a:b"),
            "invalid volume specification: '/a:b': invalid mount config for type \"bind\": invalid mount path: 'b' mount path must be absolute"
        );
        assert_eq!(
            err("ctr"),
            "invalid volume specification: 'ctr': invalid mount config for type \"volume\": invalid mount path: 'ctr' mount path must be absolute"
        );
        assert_eq!(
            err("/a:/"),
            "invalid volume specification: '/a:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'"
        );
        assert_eq!(
            err("~/x:/y"),
            "create ~/x: \"~/x\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        );
    }

    #[test]
    fn path_cleaning() {
        assert_eq!(clean_path("/a/../../b/./c//"), "/b/c");
        assert_eq!(clean_path("a/../.."), "..");
        assert_eq!(clean_path(""), ".");
        assert_eq!(absolute("../x", Path::new("/w/d")), "/w/x");
    }
}
