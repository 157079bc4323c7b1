//! Docker's defaults for a container's OCI spec: capabilities, masked and read-only paths, system mounts, device
//! nodes and the device cgroup allowlist.

use serde_json::{Value, json};

/// The capabilities Docker grants by default.
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Capability names by bit number, as the kernel numbers them.
pub const CAPS_BY_BIT: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Paths Docker hides from unprivileged containers.
pub const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths Docker makes read-only in unprivileged containers.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Docker's default PATH.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Default /dev/shm size (64 MiB).
pub const DEFAULT_SHM_SIZE: i64 = 64 << 20;

/// The system mounts every container gets: /proc, /dev, /dev/pts, /sys, /sys/fs/cgroup, /dev/mqueue, /dev/shm.
pub fn system_mounts(privileged: bool, shm_size: i64) -> Vec<Value> {
    let ro = if privileged { "rw" } else { "ro" };
    vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
               "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", ro]}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["nosuid", "noexec", "nodev", "relatime", ro]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
               "options": ["nosuid", "noexec", "nodev", "mode=1777", format!("size={shm_size}")]}),
    ]
}

/// The device nodes created in every container's /dev: (path, type, major, minor).
pub const DEFAULT_DEVICES: &[(&str, &str, i64, i64)] = &[
    ("/dev/null", "c", 1, 3),
    ("/dev/zero", "c", 1, 5),
    ("/dev/full", "c", 1, 7),
    ("/dev/random", "c", 1, 8),
    ("/dev/urandom", "c", 1, 9),
    ("/dev/tty", "c", 5, 0),
];

/// The device nodes of [`DEFAULT_DEVICES`] as OCI `linux.devices` entries.
pub fn devices() -> Vec<Value> {
    DEFAULT_DEVICES
        .iter()
        .map(|(path, kind, major, minor)| {
            json!({"path": path, "type": kind, "major": major, "minor": minor, "fileMode": 0o666, "uid": 0, "gid": 0})
        })
        .collect()
}

/// Docker's device cgroup rules: deny everything, then allow mknod of anything and access to the standard nodes.
pub fn device_rules(privileged: bool) -> Vec<Value> {
    if privileged {
        return vec![json!({"allow": true, "access": "rwm"})];
    }
    let mut rules = vec![json!({"allow": false, "access": "rwm"})];
    let allow = |kind: &str, major: Option<i64>, minor: Option<i64>, access: &str| json!({"allow": true, "type": kind, "major": major, "minor": minor, "access": access});
    rules.push(allow("c", None, None, "m"));
    rules.push(allow("b", None, None, "m"));
    for (_, kind, major, minor) in DEFAULT_DEVICES {
        rules.push(allow(kind, Some(*major), Some(*minor), "rwm"));
    }
    rules.push(allow("c", Some(5), Some(1), "rwm")); // /dev/console
    rules.push(allow("c", Some(136), None, "rwm")); // /dev/pts/*
    rules.push(allow("c", Some(5), Some(2), "rwm")); // /dev/ptmx
    rules.push(allow("c", Some(10), Some(200), "rwm")); // /dev/net/tun
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_table_is_in_kernel_order() {
        assert_eq!(CAPS_BY_BIT[21], "CAP_SYS_ADMIN");
        assert_eq!(CAPS_BY_BIT[40], "CAP_CHECKPOINT_RESTORE");
        for cap in DEFAULT_CAPS {
            assert!(CAPS_BY_BIT.contains(cap), "{cap}");
        }
    }

    #[test]
    fn unprivileged_device_rules_start_with_deny_all() {
        let rules = device_rules(false);
        assert_eq!(rules[0]["allow"], false);
        assert!(rules.iter().any(|r| r["major"] == 136));
        assert_eq!(device_rules(true).len(), 1);
    }
}
