//! Builds the OCI runtime spec of a container from its Docker-shaped record (image config merged with the user's
//! flags), the way Docker's daemon does: default mounts, devices, capabilities, seccomp, masked paths, resources.
//! The spec is what the runtime executes, so it can equally be handed to runc for comparison.

pub mod defaults;
pub mod mounts;
pub mod resources;
pub mod security;

use std::path::Path;

use oci_spec::runtime::{LinuxSeccomp, Spec};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::model::{Container, MountPoint};
use crate::user::ResolvedUser;

/// Everything besides the container record that goes into its spec.
pub struct SpecInput<'a> {
    pub container: &'a Container,
    /// Where the container's root filesystem is (or will be mounted).
    pub root: &'a Path,
    pub user: &'a ResolvedUser,
    /// Directory holding the container's hostname, hosts and resolv.conf files.
    pub files_dir: &'a Path,
    /// Parent of the container's cgroup, e.g. `/berth`.
    pub cgroup_parent: &'a str,
    /// The network namespace to join (a bridge network's, another container's); without one the container gets a
    /// new namespace, except in host mode.
    pub netns: Option<&'a Path>,
}

/// The spec, and the mounts inspect should list.
pub struct Built {
    pub spec: Spec,
    pub mount_points: Vec<MountPoint>,
}

/// The container's hostname: the configured one or the short id.
pub fn hostname(c: &Container) -> String {
    if c.config.hostname.is_empty() {
        crate::ids::short(&c.id).to_string()
    } else {
        c.config.hostname.clone()
    }
}

/// The process environment Docker gives a container: PATH, HOSTNAME and TERM (with a tty) overridden by the
/// configured variables, then HOME from the user's passwd entry unless set.
pub fn environment(c: &Container, hostname: &str, home: &str) -> Vec<String> {
    let mut env = vec![defaults::DEFAULT_PATH.to_string(), format!("HOSTNAME={hostname}")];
    if c.config.tty {
        env.push("TERM=xterm".into());
    }
    for var in c.config.env.iter().flatten() {
        set_env(&mut env, var);
    }
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={home}"));
    }
    env
}

/// Sets `var` (`KEY=value`, or a bare `KEY`) in `env`, replacing an entry with the same key in place.
pub fn set_env(env: &mut Vec<String>, var: &str) {
    let key = var.split('=').next().unwrap_or(var);
    match env.iter_mut().find(|e| e.split('=').next() == Some(key)) {
        Some(slot) => *slot = var.to_string(),
        None => env.push(var.to_string()),
    }
}

/// The seccomp profile for a container, or `None` when unconfined.
fn seccomp(c: &Container, opts: &security::SecurityOpts, caps: &[String]) -> Result<Option<LinuxSeccomp>> {
    if c.host_config.privileged || opts.seccomp_unconfined {
        return Ok(None);
    }
    match &opts.seccomp_profile {
        Some(profile) => seccomp_profile(profile, caps).map(Some),
        None => Ok(Some(berth_runtime::seccomp::docker_default(&oci_caps(caps)))),
    }
}

fn oci_caps(caps: &[String]) -> Vec<oci_spec::runtime::Capability> {
    caps.iter()
        .filter_map(|c| c.strip_prefix("CAP_").and_then(|n| n.parse().ok()))
        .collect()
}

/// Parses a Docker-format seccomp profile (its includes/excludes resolved against the container's capabilities).
pub fn seccomp_profile(profile: &str, caps: &[String]) -> Result<LinuxSeccomp> {
    berth_runtime::seccomp::parse_docker_profile(profile.as_bytes(), &oci_caps(caps))
        .map_err(|e| Error::InvalidArgument(format!("Decoding seccomp profile failed: {e}")))
}

/// Builds the spec.
pub fn build(input: &SpecInput<'_>) -> Result<Built> {
    let c = input.container;
    let hc = &c.host_config;
    let sec = security::parse_security_opts(hc.security_opt.as_deref().unwrap_or(&[]))?;
    let caps = security::host_capabilities(hc)?;
    let hostname = hostname(c);
    let user_mounts = mounts::user_mounts(hc)?;
    let shm = if hc.shm_size > 0 {
        hc.shm_size
    } else {
        defaults::DEFAULT_SHM_SIZE
    };

    let mut oci_mounts = defaults::system_mounts(hc.privileged, shm);
    let file_opts = |ro: bool| {
        if ro {
            json!(["rbind", "rprivate", "ro"])
        } else {
            json!(["rbind", "rprivate"])
        }
    };
    let taken = |dest: &str| user_mounts.iter().any(|m| m.destination == dest);
    for (file, dest) in [
        ("resolv.conf", "/etc/resolv.conf"),
        ("hostname", "/etc/hostname"),
        ("hosts", "/etc/hosts"),
    ] {
        if !taken(dest) {
            oci_mounts.push(json!({"destination": dest, "type": "bind",
                "source": input.files_dir.join(file), "options": file_opts(hc.readonly_rootfs)}));
        }
    }
    oci_mounts.extend(user_mounts.iter().map(mounts::oci_mount));

    let mut args: Vec<String> = vec![c.path.clone()];
    args.extend(c.args.iter().cloned());
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
        json!({"type": "cgroup"}),
    ];
    match input.netns {
        Some(path) => namespaces.push(json!({"type": "network", "path": path})),
        None if hc.network_mode != "host" => namespaces.push(json!({"type": "network"})),
        None => {}
    }
    let mut resources = resources::resources(hc)?;
    resources.insert(
        "devices".into(),
        Value::Array(defaults::device_rules(hc.privileged)),
    );
    let seccomp = seccomp(c, &sec, &caps)?;
    let mut linux = json!({
        "namespaces": namespaces,
        "cgroupsPath": format!("{}/{}", input.cgroup_parent.trim_end_matches('/'), c.id),
        "resources": resources,
        "devices": defaults::devices(),
        "rootfsPropagation": "rprivate",
    });
    if !hc.privileged {
        linux["maskedPaths"] = json!(
            hc.masked_paths
                .clone()
                .unwrap_or_else(|| owned(defaults::MASKED_PATHS))
        );
        linux["readonlyPaths"] = json!(
            hc.readonly_paths
                .clone()
                .unwrap_or_else(|| owned(defaults::READONLY_PATHS))
        );
    }
    if let Some(profile) = seccomp {
        linux["seccomp"] = serde_json::to_value(profile).map_err(|e| Error::Runtime(e.to_string()))?;
    }
    let cwd = if c.config.working_dir.is_empty() {
        "/".to_string()
    } else {
        c.config.working_dir.clone()
    };
    let mut process = json!({
        "terminal": c.config.tty,
        "user": {"uid": input.user.uid, "gid": input.user.gid, "additionalGids": input.user.additional_gids},
        "args": args,
        "env": environment(c, &hostname, &input.user.home),
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": sec.no_new_privileges,
        "rlimits": resources::rlimits(hc),
    });
    if hc.oom_score_adj != 0 {
        process["oomScoreAdj"] = json!(hc.oom_score_adj);
    }
    let spec = json!({
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": input.root, "readonly": hc.readonly_rootfs},
        "hostname": hostname,
        "mounts": oci_mounts,
        "linux": linux,
    });
    let spec: Spec = serde_json::from_value(spec).map_err(|e| Error::Runtime(format!("build spec: {e}")))?;
    Ok(Built {
        spec,
        mount_points: user_mounts.iter().map(mounts::mount_point).collect(),
    })
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::HostConfig;

    fn container() -> Container {
        let mut c = Container {
            id: "0123456789abcdef".repeat(4),
            path: "echo".into(),
            ..Default::default()
        };
        c.args = vec!["hi".into()];
        c.config.env = Some(vec!["PATH=/bin".into(), "FOO=bar".into()]);
        c
    }

    fn build_for(c: &Container) -> Result<Built> {
        let user = ResolvedUser {
            uid: 1000,
            gid: 1000,
            additional_gids: vec![5],
            home: "/home/u".into(),
        };
        build(&SpecInput {
            container: c,
            root: Path::new("/r"),
            user: &user,
            files_dir: Path::new("/run/x"),
            cgroup_parent: "/berth",
            netns: None,
        })
    }

    #[test]
    fn environment_follows_docker() {
        let c = container();
        assert_eq!(
            environment(&c, "h", "/root"),
            vec!["PATH=/bin", "HOSTNAME=h", "FOO=bar", "HOME=/root"]
        );
    }

    #[test]
    fn default_spec_has_docker_defaults() {
        let b = build_for(&container()).unwrap();
        let v = serde_json::to_value(&b.spec).unwrap();
        assert_eq!(v["process"]["args"], json!(["echo", "hi"]));
        assert_eq!(v["process"]["user"]["uid"], 1000);
        assert_eq!(v["hostname"], "0123456789ab");
        assert_eq!(v["linux"]["cgroupsPath"], format!("/berth/{}", container().id));
        assert_eq!(v["linux"]["namespaces"].as_array().unwrap().len(), 6);
        assert_eq!(
            v["process"]["capabilities"]["bounding"].as_array().unwrap().len(),
            14
        );
        assert!(
            v["linux"]["seccomp"]["syscalls"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
        );
        assert!(
            v["linux"]["maskedPaths"]
                .as_array()
                .is_some_and(|m| m.contains(&json!("/proc/kcore")))
        );
        let dests: Vec<_> = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["destination"].clone())
            .collect();
        assert!(dests.contains(&json!("/etc/hosts")) && dests.contains(&json!("/dev/shm")));
    }

    #[test]
    fn privileged_and_unconfined() {
        let mut c = container();
        c.host_config = HostConfig {
            privileged: true,
            ..Default::default()
        };
        let v = serde_json::to_value(build_for(&c).unwrap().spec).unwrap();
        assert!(v["linux"]["seccomp"].is_null());
        assert!(v["linux"]["maskedPaths"].is_null());
        c.host_config = HostConfig {
            security_opt: Some(vec!["seccomp=unconfined".into()]),
            ..Default::default()
        };
        let v = serde_json::to_value(build_for(&c).unwrap().spec).unwrap();
        assert!(v["linux"]["seccomp"].is_null());
        assert!(!v["linux"]["maskedPaths"].is_null());
    }

    #[test]
    fn host_network_has_no_net_namespace() {
        let mut c = container();
        c.host_config.network_mode = "host".into();
        let v = serde_json::to_value(build_for(&c).unwrap().spec).unwrap();
        assert!(
            !v["linux"]["namespaces"]
                .as_array()
                .unwrap()
                .contains(&json!({"type": "network"}))
        );
    }
}
