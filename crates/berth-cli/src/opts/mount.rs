//! `--mount type=…,source=…,target=…` (CSV fields, as Docker's CLI reads them, then the daemon's
//! checks that need no filesystem) and `--tmpfs /path[:options]`.

use std::path::Path;

use super::Error;
use super::bytes::parse_bytes;
use super::goparse::{parse_bool, parse_u32};
use super::volume::{
    BindRecursive, MountKind, MountSpec, Propagation, absolute, check_target, check_volume_name,
};

/// Splits one CSV record as Go's encoding/csv reads it (quotes, `""` escapes).
fn csv_fields(value: &str) -> Result<Vec<String>, Error> {
    let parse_error =
        |col: usize, what: &str| Error::Mount(format!("parse error on line 1, column {col}: {what}"));
    let chars: Vec<char> = value.chars().collect();
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let mut field = String::new();
        if chars.get(i) == Some(&'"') {
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(parse_error(i + 1, "extraneous or missing \" in quoted-field")),
                    Some('"') if chars.get(i + 1) == Some(&'"') => {
                        field.push('"');
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        field.push(c);
                        i += 1;
                    }
                }
            }
            if !matches!(chars.get(i), None | Some(',')) {
                // Go points at the closing quote.
                return Err(parse_error(i, "extraneous or missing \" in quoted-field"));
            }
        } else {
            while let Some(&c) = chars.get(i).filter(|c| **c != ',') {
                if c == '"' {
                    return Err(parse_error(i + 1, "bare \" in non-quoted-field"));
                }
                field.push(c);
                i += 1;
            }
        }
        fields.push(field);
        if chars.get(i).is_none() {
            return Ok(fields);
        }
        i += 1;
    }
}

/// Parses a `--mount` value, resolving `./` sources against the current directory.
pub fn parse_mount(value: &str) -> Result<MountSpec, Error> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    parse_mount_in(value, &cwd)
}

fn parse_mount_in(value: &str, cwd: &Path) -> Result<MountSpec, Error> {
    let mut m = MountSpec::default();
    let mut kind = "volume".to_string();
    let (mut volume_opts, mut bind_opts, mut tmpfs_opts) = (false, false, false);
    let mut propagation: Option<String> = None;
    let invalid = |key: &str, val: &str| Error::Mount(format!("invalid value for {key}: {val}"));
    for field in csv_fields(value)? {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), v),
            None => {
                match field.to_lowercase().as_str() {
                    "readonly" | "ro" => m.read_only = true,
                    "volume-nocopy" => (m.nocopy, volume_opts) = (true, true),
                    "bind-nonrecursive" => (m.bind_recursive, bind_opts) = (BindRecursive::Disabled, true),
                    _ => {
                        return Err(Error::Mount(format!(
                            "invalid field '{field}' must be a key=value pair"
                        )));
                    }
                }
                continue;
            }
        };
        let flag = |v: &str| parse_bool(v).ok_or_else(|| invalid(&key, v));
        match key.as_str() {
            "type" => kind = val.to_lowercase(),
            "source" | "src" => {
                m.source = if val == "." || val.starts_with("./") {
                    absolute(val, cwd)
                } else {
                    val.to_string()
                }
            }
            "target" | "dst" | "destination" => m.target = val.to_string(),
            "readonly" | "ro" => m.read_only = flag(val)?,
            "consistency" => m.consistency = Some(val.to_lowercase()),
            "bind-propagation" => (propagation, bind_opts) = (Some(val.to_lowercase()), true),
            "bind-nonrecursive" => {
                bind_opts = true;
                if flag(val)? {
                    m.bind_recursive = BindRecursive::Disabled;
                }
            }
            "bind-recursive" => {
                bind_opts = true;
                m.bind_recursive = match val {
                    "enabled" => BindRecursive::Enabled,
                    "disabled" => BindRecursive::Disabled,
                    "writable" => BindRecursive::Writable,
                    "readonly" => BindRecursive::Readonly,
                    _ => {
                        return Err(Error::Mount(format!(
                            "invalid value for {key}: {val} (must be \"enabled\", \"disabled\", \"writable\", or \"readonly\")"
                        )));
                    }
                };
            }
            "volume-subpath" => (m.volume_subpath, volume_opts) = (Some(val.to_string()), true),
            "volume-nocopy" => {
                volume_opts = true;
                m.nocopy = parse_bool(val).ok_or_else(|| invalid("volume-nocopy", val))?;
            }
            "volume-label" | "volume-opt" => {
                volume_opts = true;
                let (k, v) = val.split_once('=').unwrap_or((val, ""));
                if !k.is_empty() {
                    let map = if key == "volume-label" {
                        &mut m.volume_labels
                    } else {
                        &mut m.volume_options
                    };
                    map.insert(k.to_string(), v.to_string());
                }
            }
            "volume-driver" => (m.volume_driver, volume_opts) = (Some(val.to_string()), true),
            "tmpfs-size" => {
                tmpfs_opts = true;
                m.tmpfs_size = Some(parse_bytes(val).map_err(|_| invalid(&key, val))?);
            }
            "tmpfs-mode" => {
                tmpfs_opts = true;
                m.tmpfs_mode = Some(parse_u32(val, 8).map_err(|_| invalid(&key, val))?);
            }
            _ => return Err(Error::Mount(format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    if kind.is_empty() {
        return Err(Error::Mount("type is required".into()));
    }
    if m.target.is_empty() {
        return Err(Error::Mount("target is required".into()));
    }
    for (used, family, expected) in [
        (volume_opts, "volume", "volume"),
        (bind_opts, "bind", "bind"),
        (tmpfs_opts, "tmpfs", "tmpfs"),
    ] {
        if used && kind != expected {
            return Err(Error::Mount(format!(
                "cannot mix '{family}-*' options with mount type '{kind}'"
            )));
        }
    }
    m.propagation = propagation.as_deref().map(Propagation::parse).unwrap_or(None);
    if m.bind_recursive == BindRecursive::Writable && !m.read_only {
        return Err(Error::Mount(
            "option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction".into(),
        ));
    }
    if m.bind_recursive == BindRecursive::Readonly {
        if !m.read_only {
            return Err(Error::Mount(
                "option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction".into(),
            ));
        }
        if m.propagation != Some(Propagation::Rprivate) {
            return Err(Error::Mount(
                "option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction"
                    .into(),
            ));
        }
    }
    if let Some(p) = propagation.filter(|_| m.propagation.is_none()) {
        return Err(Error::MountConfig {
            kind,
            reason: format!("invalid propagation mode: {p}"),
        });
    }
    validate(m, &kind)
}

/// The daemon's checks that need no filesystem access.
fn validate(mut m: MountSpec, kind: &str) -> Result<MountSpec, Error> {
    let config = |reason: &str| Error::MountConfig {
        kind: kind.to_string(),
        reason: reason.to_string(),
    };
    check_target(&m.target).map_err(|r| config(&r))?;
    m.kind = match kind {
        "bind" => MountKind::Bind,
        "volume" => MountKind::Volume,
        "tmpfs" => MountKind::Tmpfs,
        _ => return Err(config("mount type unknown")),
    };
    match m.kind {
        MountKind::Bind if m.source.is_empty() => return Err(config("field Source must not be empty")),
        MountKind::Bind => check_target(&m.source).map_err(|r| config(&r))?,
        MountKind::Volume if m.source.is_empty() && m.read_only => {
            return Err(config("must not set ReadOnly mode when using anonymous volumes"));
        }
        MountKind::Volume if !m.source.is_empty() => check_volume_name(&m.source)?,
        MountKind::Tmpfs if !m.source.is_empty() => return Err(config("field Source must not be specified")),
        _ => {}
    }
    m.target = super::volume::clean_path(&m.target);
    if m.kind == MountKind::Bind {
        m.source = super::volume::clean_path(&m.source);
    }
    Ok(m)
}

/// Parses `--tmpfs /run:size=64m,mode=1777` into the target and its option string.
pub fn parse_tmpfs(value: &str) -> Result<(String, String), Error> {
    let (target, options) = value.split_once(':').unwrap_or((value, ""));
    check_target(target).map_err(Error::Tmpfs)?;
    Ok((target.to_string(), options.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Result<MountSpec, Error> {
        parse_mount_in(v, Path::new("/w"))
    }

    #[test]
    fn mounts() {
        let m = parse("type=bind,source=/a,target=/b,readonly,bind-propagation=rslave").unwrap();
        assert_eq!(
            (m.kind, m.source.as_str(), m.target.as_str(), m.read_only),
            (MountKind::Bind, "/a", "/b", true)
        );
        assert_eq!(m.propagation, Some(Propagation::Rslave));
        let m = parse("type=bind,src=./data,dst=/d,ro=false").unwrap();
        assert_eq!(
            (m.kind, m.source.as_str(), m.read_only),
            (MountKind::Bind, "/w/data", false)
        );
        // The default type is volume, even for a path.
        assert_eq!(
            parse("src=./data,dst=/d"),
            Err(Error::VolumeName("/w/data".into()))
        );
        let m = parse("type=volume,src=vol,dst=/v,volume-nocopy,volume-label=a=b,volume-opt=o=1").unwrap();
        assert_eq!(
            (m.kind, m.nocopy, m.volume_labels["a"].as_str()),
            (MountKind::Volume, true, "b")
        );
        assert_eq!(m.volume_options["o"], "1");
        let m = parse("type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1777").unwrap();
        assert_eq!(
            (m.kind, m.tmpfs_size, m.tmpfs_mode),
            (MountKind::Tmpfs, Some(64 << 20), Some(0o1777))
        );
        let m = parse("type=BIND,src=/x,dst=/y,bind-propagation=SHARED,ro=1").unwrap();
        assert_eq!((m.propagation, m.read_only), (Some(Propagation::Shared), true));
        let m = parse(r#"type=bind,"src=/a,b",dst=/c"#).unwrap();
        assert_eq!(m.source, "/a,b");
        let m =
            parse("type=bind,src=/x,dst=/y,ro,bind-recursive=readonly,bind-propagation=rprivate").unwrap();
        assert_eq!(m.bind_recursive, BindRecursive::Readonly);
    }

    #[test]
    fn errors_like_docker() {
        let err = |s: &str| parse(s).unwrap_err().to_string();
        assert_eq!(err("src=/x"), "target is required");
        assert_eq!(err("type=,dst=/x"), "type is required");
        assert_eq!(err("type=bind,dst=/x,foo=1"), "unexpected key 'foo' in 'foo=1'");
        assert_eq!(
            err("type=bind,dst=/x,foo"),
            "invalid field 'foo' must be a key=value pair"
        );
        assert_eq!(err("type=bind,dst=/x,ro=maybe"), "invalid value for ro: maybe");
        assert_eq!(
            err("type=tmpfs,dst=/x,tmpfs-size=1q"),
            "invalid value for tmpfs-size: 1q"
        );
        assert_eq!(
            err("type=tmpfs,dst=/x,tmpfs-mode=9"),
            "invalid value for tmpfs-mode: 9"
        );
        assert_eq!(
            err("type=bind,dst=/x,volume-nocopy"),
            "cannot mix 'volume-*' options with mount type 'bind'"
        );
        assert_eq!(
            err("type=volume,dst=/x,bind-propagation=shared"),
            "cannot mix 'bind-*' options with mount type 'volume'"
        );
        assert_eq!(
            err("type=volume,dst=/x,tmpfs-size=1m"),
            "cannot mix 'tmpfs-*' options with mount type 'volume'"
        );
        assert_eq!(
            err("type=bind,dst=/x,volume-nocopy=maybe"),
            "invalid value for volume-nocopy: maybe"
        );
        assert_eq!(
            err("type=bind,dst=/x,bind-nonrecursive=x"),
            "invalid value for bind-nonrecursive: x"
        );
        assert_eq!(
            err(r#"type=bind,a"b"#),
            "parse error on line 1, column 12: bare \" in non-quoted-field"
        );
        assert_eq!(
            err(r#"type=bind,"dst=/a,b"#),
            "parse error on line 1, column 20: extraneous or missing \" in quoted-field"
        );
        assert_eq!(
            err(r#"type=bind,"src=/a"b,dst=/x"#),
            "parse error on line 1, column 18: extraneous or missing \" in quoted-field"
        );
        assert_eq!(
            err("type=bind,src=/x,dst=/y,bind-recursive=readonly"),
            "option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction"
        );
        assert_eq!(
            err("type=bind,dst=/x,bind-recursive=x"),
            "invalid value for bind-recursive: x (must be \"enabled\", \"disabled\", \"writable\", or \"readonly\")"
        );
        assert_eq!(
            err("type=bind,dst=/x"),
            "invalid mount config for type \"bind\": field Source must not be empty"
        );
        assert_eq!(
            err("type=bind,src=rel,dst=/x"),
            "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"
        );
        assert_eq!(
            err("type=volume,dst=x"),
            "invalid mount config for type \"volume\": invalid mount path: 'x' mount path must be absolute"
        );
        assert_eq!(
            err("type=volume,dst=/x,ro"),
            "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes"
        );
        assert_eq!(
            err("type=tmpfs,src=/a,dst=/x"),
            "invalid mount config for type \"tmpfs\": field Source must not be specified"
        );
        assert_eq!(
            err("type=foo,dst=/x"),
            "invalid mount config for type \"foo\": mount type unknown"
        );
        assert_eq!(
            err("type=bind,src=/a,dst=/x,bind-propagation=up"),
            "invalid mount config for type \"bind\": invalid propagation mode: up"
        );
    }

    #[test]
    fn tmpfs() {
        assert_eq!(
            parse_tmpfs("/run:size=64m,mode=1777"),
            Ok(("/run".into(), "size=64m,mode=1777".into()))
        );
        assert_eq!(parse_tmpfs("/run"), Ok(("/run".into(), String::new())));
        assert_eq!(
            parse_tmpfs("run").unwrap_err().to_string(),
            "invalid mount path: 'run' mount path must be absolute"
        );
        assert_eq!(
            parse_tmpfs("/").unwrap_err().to_string(),
            "invalid specification: destination can't be '/'"
        );
    }
}
