//! Docker's default confinement, and the flags that change it: capabilities, seccomp, no-new-privileges, masked and
//! read-only paths, devices, privileged mode, rlimits.

mod common;

use common::Env;

/// The effective capability mask of the container's process.
fn cap_eff(env: &Env, extra: &[&str]) -> u64 {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(extra);
    args.extend(["busybox", "sh", "-c", "grep CapEff /proc/self/status"]);
    let out = env.berth(&args).ok();
    u64::from_str_radix(out.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[test]
fn default_capabilities_match_docker() {
    let env = Env::new();
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD
    // AUDIT_WRITE SETFCAP: Docker's default set.
    assert_eq!(cap_eff(&env, &[]), 0x00000000a80425fb);
    let dropped = cap_eff(&env, &["--cap-drop", "CHOWN", "--cap-add", "NET_ADMIN"]);
    assert_eq!(dropped & 1, 0);
    assert_ne!(dropped & (1 << 12), 0);
    assert_eq!(cap_eff(&env, &["--cap-drop", "ALL"]), 0);
}

#[test]
fn privileged_gets_everything_the_host_has() {
    let env = Env::new();
    let host = std::fs::read_to_string("/proc/self/status").unwrap();
    let bnd = host
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(
        cap_eff(&env, &["--privileged"]),
        u64::from_str_radix(&bnd, 16).unwrap()
    );
    let out = env
        .berth(&[
            "run",
            "--rm",
            "--privileged",
            "busybox",
            "sh",
            "-c",
            "mount -t tmpfs t /tmp && echo mounted",
        ])
        .ok();
    assert_eq!(out, "mounted");
}

#[test]
fn seccomp_default_blocks_and_unconfined_allows() {
    let env = Env::new();
    // With CAP_SYS_ADMIN but the default profile, unshare of a mount namespace is refused by seccomp?
    // No: Docker's profile allows unshare with CAP_SYS_ADMIN. Without it, the profile refuses namespace flags.
    let r = env.berth(&["run", "--rm", "busybox", "unshare", "-U", "true"]);
    assert_ne!(
        r.code, 0,
        "user namespaces are blocked by the default seccomp profile: {}",
        r.stderr
    );
    let r = env.berth(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=unconfined",
        "busybox",
        "unshare",
        "-U",
        "true",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let seccomp = env
        .berth(&["run", "--rm", "busybox", "grep", "Seccomp:", "/proc/self/status"])
        .ok();
    assert!(seccomp.ends_with('2'), "{seccomp}");
    let profile = env.dir.path().join("deny-mkdir.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let r = env.berth(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "mkdir",
        "/tmp/x",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("Operation not permitted"), "{}", r.stderr);
}

#[test]
fn no_new_privileges_and_masked_paths() {
    let env = Env::new();
    let out = env
        .berth(&[
            "run",
            "--rm",
            "--security-opt",
            "no-new-privileges",
            "busybox",
            "grep",
            "NoNewPrivs",
            "/proc/self/status",
        ])
        .ok();
    assert!(out.ends_with('1'), "{out}");
    let out = env
        .berth(&[
            "run",
            "--rm",
            "busybox",
            "grep",
            "NoNewPrivs",
            "/proc/self/status",
        ])
        .ok();
    assert!(out.ends_with('0'), "{out}");
    assert_eq!(
        env.berth(&["run", "--rm", "busybox", "sh", "-c", "wc -c < /proc/keys"])
            .ok(),
        "0"
    );
    let r = env.berth(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo 1 > /proc/sys/kernel/domainname",
    ]);
    assert_ne!(r.code, 0, "/proc/sys must be read-only");
    let r = env.berth(&["run", "--rm", "busybox", "touch", "/sys/x"]);
    assert_ne!(r.code, 0, "/sys must be read-only");
}

#[test]
fn devices_are_the_standard_set() {
    let env = Env::new();
    let out = env.berth(&["run", "--rm", "busybox", "ls", "/dev"]).ok();
    for dev in [
        "null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue", "ptmx", "fd",
    ] {
        assert!(
            out.split_whitespace().any(|d| d == dev),
            "missing /dev/{dev}: {out}"
        );
    }
    assert_eq!(
        env.berth(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "head -c 4 /dev/zero | wc -c"
        ])
        .ok(),
        "4"
    );
    // mknod is allowed (CAP_MKNOD) but using a disk device is not (device cgroup).
    let r = env.berth(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "mknod /tmp/sda b 8 0 && head -c 1 /tmp/sda",
    ]);
    assert_ne!(r.code, 0);
}

#[test]
fn ulimits_apply() {
    let env = Env::new();
    let out = env
        .berth(&[
            "run",
            "--rm",
            "--ulimit",
            "nofile=512:1024",
            "busybox",
            "sh",
            "-c",
            "ulimit -n; ulimit -Hn",
        ])
        .ok();
    assert_eq!(out, "512\n1024");
}
