//! The security settings of a container: capability set from Docker's defaults and `--cap-add`/`--cap-drop`/
//! `--privileged`, and the `--security-opt` values (seccomp, no-new-privileges, apparmor/label accepted as no-ops on
//! hosts without those LSMs).

use std::collections::BTreeSet;

use super::defaults::{CAPS_BY_BIT, DEFAULT_CAPS};
use crate::error::{Error, Result};
use crate::model::HostConfig;

/// What `--security-opt` asked for.
#[derive(Debug, Default, PartialEq)]
pub struct SecurityOpts {
    /// `seccomp=unconfined`.
    pub seccomp_unconfined: bool,
    /// `seccomp=<profile JSON>` (the CLI reads the file and sends its content, as Docker's does).
    pub seccomp_profile: Option<String>,
    pub no_new_privileges: bool,
}

/// Parses `--security-opt` values.
pub fn parse_security_opts(opts: &[String]) -> Result<SecurityOpts> {
    let mut out = SecurityOpts::default();
    for opt in opts {
        let (key, value) = opt.split_once(['=', ':']).unwrap_or((opt.as_str(), ""));
        match key {
            "seccomp" if value == "unconfined" => out.seccomp_unconfined = true,
            "seccomp" if !value.is_empty() => out.seccomp_profile = Some(value.to_string()),
            "no-new-privileges" => {
                out.no_new_privileges = match value {
                    "" | "true" => true,
                    "false" => false,
                    _ => return Err(invalid(opt)),
                }
            }
            // No AppArmor or SELinux on this engine's hosts: accept the values Docker users pass for them.
            "apparmor" | "label" if !value.is_empty() => {}
            _ => return Err(invalid(opt)),
        }
    }
    Ok(out)
}

fn invalid(opt: &str) -> Error {
    Error::InvalidArgument(format!("invalid --security-opt: {opt:?}"))
}

/// Normalises a capability name: case-insensitive, `CAP_` prefix optional.
fn normalize_cap(name: &str) -> Result<String> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if CAPS_BY_BIT.contains(&full.as_str()) {
        Ok(full)
    } else {
        Err(Error::InvalidArgument(format!(
            "invalid capability: unknown capability: {name:?}"
        )))
    }
}

/// The capabilities in the host's bounding set (what `--privileged` grants).
pub fn host_bounding_caps() -> Vec<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    CAPS_BY_BIT
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1u64 << bit) != 0)
        .map(|(_, name)| name.to_string())
        .collect()
}

/// The capability set a host config asks for (see [`capabilities`]).
pub fn host_capabilities(hc: &HostConfig) -> Result<Vec<String>> {
    capabilities(
        hc.privileged,
        hc.cap_add.as_deref().unwrap_or(&[]),
        hc.cap_drop.as_deref().unwrap_or(&[]),
    )
}

/// The container's capability set: Docker's defaults, then `--cap-add`, then `--cap-drop` (`ALL` works in both);
/// privileged containers get the host's whole bounding set.
pub fn capabilities(privileged: bool, add: &[String], drop: &[String]) -> Result<Vec<String>> {
    if privileged {
        return Ok(host_bounding_caps());
    }
    let mut set: BTreeSet<String> = DEFAULT_CAPS.iter().map(|s| s.to_string()).collect();
    let is_all = |c: &String| c.eq_ignore_ascii_case("ALL") || c.eq_ignore_ascii_case("CAP_ALL");
    if drop.iter().any(is_all) {
        set.clear();
    }
    if add.iter().any(is_all) {
        set.extend(host_bounding_caps());
    }
    for cap in add.iter().filter(|c| !is_all(c)) {
        set.insert(normalize_cap(cap)?);
    }
    for cap in drop.iter().filter(|c| !is_all(c)) {
        set.remove(&normalize_cap(cap)?);
    }
    // Keep kernel order, as Docker lists them.
    Ok(CAPS_BY_BIT
        .iter()
        .filter(|c| set.contains(**c))
        .map(|c| c.to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn default_caps_and_changes() {
        let caps = capabilities(false, &[], &[]).unwrap();
        assert_eq!(caps.len(), DEFAULT_CAPS.len());
        let caps = capabilities(false, &s(&["net_admin"]), &s(&["CAP_CHOWN", "kill"])).unwrap();
        assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!caps.contains(&"CAP_CHOWN".to_string()));
        assert!(!caps.contains(&"CAP_KILL".to_string()));
        let caps = capabilities(false, &s(&["SYS_PTRACE"]), &s(&["ALL"])).unwrap();
        assert_eq!(caps, vec!["CAP_SYS_PTRACE".to_string()]);
    }

    #[test]
    fn unknown_caps_are_errors() {
        let e = capabilities(false, &s(&["FLY"]), &[]).unwrap_err().to_string();
        assert!(e.contains("unknown capability: \"FLY\""), "{e}");
    }

    #[test]
    fn privileged_gets_the_bounding_set() {
        let caps = capabilities(true, &[], &[]).unwrap();
        assert_eq!(caps, host_bounding_caps());
        assert!(!caps.is_empty());
    }

    #[test]
    fn security_opts_parse() {
        let o = parse_security_opts(&s(&[
            "seccomp=unconfined",
            "no-new-privileges",
            "apparmor=unconfined",
        ]))
        .unwrap();
        assert!(o.seccomp_unconfined && o.no_new_privileges);
        let o = parse_security_opts(&s(&["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"])).unwrap();
        assert!(o.seccomp_profile.unwrap().starts_with('{'));
        assert!(parse_security_opts(&s(&["bogus"])).is_err());
        assert!(parse_security_opts(&s(&["no-new-privileges=maybe"])).is_err());
    }
}
