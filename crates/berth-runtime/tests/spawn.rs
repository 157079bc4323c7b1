//! Real containers from a busybox rootfs: output, exit status, namespaces, users, read-only root, command errors,
//! terminals of the container's own devpts, cgroup membership before exec, overlay roots and the spawn latency.

mod common;

use std::path::PathBuf;

use berth_runtime::{ProcessIo, RootfsSource, SpawnError, SpawnRequest};
use common::{Rootfs, docker_spec, isolated, run};
use oci_spec::runtime::{
    LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxNamespaceType, LinuxPidsBuilder, LinuxResourcesBuilder,
    UserBuilder,
};

fn args(spec: &mut oci_spec::runtime::Spec, args: &[&str]) {
    let p = spec.process_mut().as_mut().expect("process");
    p.set_args(Some(args.iter().map(|a| a.to_string()).collect()));
}

#[test]
fn runs_a_command_as_pid_one_with_its_own_hostname() {
    let rootfs = Rootfs::new();
    let spec = docker_spec(
        &rootfs.path(),
        &["sh", "-c", "echo hello; echo $$; hostname; echo err >&2; exit 3"],
    );
    let out = isolated(|| format!("{:?}", run(&spec, RootfsSource::Ready, false).expect("spawn")));
    assert!(out.contains("code: 3"), "{out}");
    assert!(out.contains(r#"stdout: "hello\n1\nberth-test\n""#), "{out}");
    assert!(out.contains(r#"stderr: "err\n""#), "{out}");
}

#[test]
fn container_sees_docker_like_mounts_devices_and_limits() {
    let rootfs = Rootfs::new();
    let script = "ls /dev; grep -v ':/$' /proc/self/cgroup || echo cgroup-root; grep -E '^(Cap(Eff|Bnd)|NoNewPrivs|Seccomp):' /proc/self/status; \
                  test -c /proc/keys && echo keys-masked; echo 1 2>/dev/null >/proc/sys/kernel/shm_rmid_forced || echo sys-ro; \
                  ls /sys/fs/cgroup; echo lo $(cat /sys/class/net/lo/flags)";
    let mut spec = docker_spec(&rootfs.path(), &["sh", "-c", script]);
    let proc_ = spec.process_mut().as_mut().expect("process");
    proc_.set_no_new_privileges(Some(true));
    let out = isolated(|| run(&spec, RootfsSource::Ready, false).expect("spawn").stdout);
    for dev in [
        "null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "mqueue", "fd", "stdin",
    ] {
        assert!(out.lines().any(|l| l == dev), "/dev/{dev} missing: {out}");
    }
    // A private cgroup namespace: the container's cgroup is its root.
    assert!(out.contains("cgroup-root\n"), "{out}");
    // Docker's default capabilities (0xa80425fb) in the effective and bounding sets, no new privileges.
    assert!(out.contains("CapEff:\t00000000a80425fb"), "{out}");
    assert!(out.contains("CapBnd:\t00000000a80425fb"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    assert!(
        out.contains("memory") && out.contains("pids"),
        "cgroup controllers mounted: {out}"
    );
    assert!(
        out.contains("keys-masked\nsys-ro\n"),
        "masked and read-only paths: {out}"
    );
    assert!(out.contains("lo 0x9\n"), "loopback up: {out}");
}

#[test]
fn user_groups_and_working_directory_apply() {
    let rootfs = Rootfs::new();
    let mut spec = docker_spec(&rootfs.path(), &["sh", "-c", "id; pwd; umask"]);
    let p = spec.process_mut().as_mut().expect("process");
    p.set_user(
        UserBuilder::default()
            .uid(1000u32)
            .gid(1001u32)
            .additional_gids(vec![10u32])
            .umask(0o027u32)
            .build()
            .expect("user"),
    );
    p.set_cwd(PathBuf::from("/tmp"));
    let out = isolated(|| run(&spec, RootfsSource::Ready, false).expect("spawn").stdout);
    assert!(out.starts_with("uid=1000 gid=1001 groups=10(wheel)"), "{out}");
    assert!(out.contains("\n/tmp\n0027\n"), "{out}");
}

#[test]
fn readonly_root_refuses_writes() {
    let rootfs = Rootfs::new();
    let mut spec = docker_spec(&rootfs.path(), &["touch", "/newfile"]);
    spec.root_mut().as_mut().expect("root").set_readonly(Some(true));
    let out = isolated(|| format!("{:?}", run(&spec, RootfsSource::Ready, false).expect("spawn")));
    assert!(out.contains("code: 1"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(!rootfs.path().join("newfile").exists());
}

#[test]
fn missing_and_non_executable_commands_fail_like_docker() {
    let rootfs = Rootfs::new();
    common::write_file(&rootfs.path().join("bin/notexec"), "#!/bin/sh\n");
    let missing = docker_spec(&rootfs.path(), &["nosuchcmd"]);
    let out = isolated(|| match run(&missing, RootfsSource::Ready, false) {
        Err(e @ SpawnError::NotFound(_)) => format!("{} {e}", e.exit_code()),
        other => format!("unexpected {other:?}"),
    });
    assert_eq!(out, "127 exec: \"nosuchcmd\": executable file not found in $PATH");

    let mut spec = docker_spec(&rootfs.path(), &["/bin/notexec"]);
    let out = isolated(|| match run(&spec, RootfsSource::Ready, false) {
        Err(e @ SpawnError::PermissionDenied(_)) => format!("{} {e}", e.exit_code()),
        other => format!("unexpected {other:?}"),
    });
    assert_eq!(out, "126 exec: \"/bin/notexec\": permission denied");

    args(&mut spec, &["sh"]);
    spec.process_mut()
        .as_mut()
        .expect("process")
        .set_cwd(PathBuf::from("/nonexistent"));
    let out = isolated(|| match run(&spec, RootfsSource::Ready, false) {
        Err(e @ SpawnError::Container(_)) => format!("{} {e}", e.exit_code()),
        other => format!("unexpected {other:?}"),
    });
    assert!(out.starts_with("125 chdir to cwd (\"/nonexistent\")"), "{out}");
}

#[test]
fn terminal_comes_from_the_containers_own_devpts() {
    let rootfs = Rootfs::new();
    let script = "tty; for fd in 0 1 2; do test -t $fd && echo tty$fd; done; stty size; \
                  echo console $(stat -c %t:%T /dev/console) tty $(stat -c %t:%T $(tty)); read line; echo got:$line";
    for init in [false, true] {
        let mut spec = docker_spec(&rootfs.path(), &["sh", "-c", script]);
        spec.process_mut()
            .as_mut()
            .expect("process")
            .set_terminal(Some(true));
        let out = isolated(|| {
            let cache = tempfile::tempdir().expect("cache");
            let req = SpawnRequest {
                spec: &spec,
                io: ProcessIo::Terminal {
                    size: Some((33, 101)),
                },
                rootfs: RootfsSource::Ready,
                init,
                seccomp_cache: cache.path(),
            };
            let spawned = berth_runtime::spawn(req).expect("spawn");
            let master = spawned.console.expect("the terminal's master");
            // Typed into the master, read by the shell from its stdin.
            rustix::io::write(&master, b"hello\n").expect("write to the terminal");
            let output = common::read_terminal(&master);
            let code = common::wait(spawned.pid);
            assert!(common::destroy_cgroup(&spec));
            format!("{code}\n{output}")
        });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "0", "init={init}: {out}");
        for want in ["/dev/pts/0", "tty0", "tty1", "tty2", "33 101", "got:hello"] {
            assert!(lines.contains(&want), "init={init}: {want} missing: {out}");
        }
        // /dev/console is the same pty slave (major 136 = 0x88).
        assert!(lines.contains(&"console 88:0 tty 88:0"), "init={init}: {out}");
    }
}

#[test]
fn terminal_requests_must_agree_with_the_spec() {
    let rootfs = Rootfs::new();
    let spec = docker_spec(&rootfs.path(), &["true"]);
    let mut terminal_spec = spec.clone();
    terminal_spec
        .process_mut()
        .as_mut()
        .expect("process")
        .set_terminal(Some(true));
    let out = isolated(|| {
        let cache = tempfile::tempdir().expect("cache");
        let attempt = |spec, io| {
            let req = SpawnRequest {
                spec,
                io,
                rootfs: RootfsSource::Ready,
                init: false,
                seccomp_cache: cache.path(),
            };
            match berth_runtime::spawn(req) {
                Err(e @ SpawnError::InvalidSpec(_)) => e.to_string(),
                other => format!("unexpected {other:?}"),
            }
        };
        let a = attempt(&spec, ProcessIo::Terminal { size: None });
        let b = attempt(&terminal_spec, ProcessIo::Pipes(common::null_stdio()));
        assert!(
            !common::destroy_cgroup(&spec),
            "no cgroup is made for a refused request"
        );
        format!("{a}|{b}")
    });
    assert_eq!(
        out,
        "invalid spec: a terminal was requested but process.terminal is not set|\
         invalid spec: process.terminal is set but no terminal was requested"
    );
}

#[test]
fn process_is_in_its_cgroup_before_exec_with_and_without_a_cgroup_namespace() {
    let rootfs = Rootfs::new();
    let script = "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids/cgroup.procs; \
                  (exec 3>/dev/full) 2>/dev/null && echo full-open || echo full-denied; \
                  (exec 3>/dev/null) && echo null-open; ls /sys/fs/cgroup";
    for cgroup_ns in [true, false] {
        let mut spec = docker_spec(&rootfs.path(), &["sh", "-c", script]);
        let linux = spec.linux_mut().as_mut().expect("linux");
        let allow_all = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .access("rwm")
            .build()
            .expect("rule");
        let deny_full = LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .typ(LinuxDeviceType::C)
            .major(1)
            .minor(7)
            .access("rwm")
            .build()
            .expect("rule");
        let resources = LinuxResourcesBuilder::default()
            .pids(LinuxPidsBuilder::default().limit(42).build().expect("pids"))
            .devices(vec![allow_all, deny_full])
            .build()
            .expect("resources");
        linux.set_resources(Some(resources));
        if !cgroup_ns {
            let namespaces = linux.namespaces().clone().expect("namespaces");
            let without = namespaces
                .into_iter()
                .filter(|ns| ns.typ() != LinuxNamespaceType::Cgroup)
                .collect();
            linux.set_namespaces(Some(without));
        }
        let out = isolated(|| run(&spec, RootfsSource::Ready, false).expect("spawn").stdout);
        let lines: Vec<&str> = out.lines().collect();
        // The container's own pids cgroup (limit 42) holds the shell as pid 1: it joined before exec.
        assert_eq!(lines[0], "42", "cgroup_ns={cgroup_ns}: {out}");
        assert_eq!(lines[1], "1", "cgroup_ns={cgroup_ns}: {out}");
        assert!(
            lines.contains(&"full-denied") && lines.contains(&"null-open"),
            "{out}"
        );
        for hierarchy in ["memory", "pids", "devices", "systemd"] {
            assert!(
                lines.contains(&hierarchy),
                "cgroup_ns={cgroup_ns}: {hierarchy} missing: {out}"
            );
        }
    }
}

#[test]
fn overlay_root_leaves_no_mount_on_the_host() {
    let rootfs = Rootfs::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let (upper, work, mnt) = (
        dir.path().join("upper"),
        dir.path().join("work"),
        dir.path().join("merged"),
    );
    for d in [&upper, &work, &mnt] {
        std::fs::create_dir(d).expect("mkdir");
    }
    let spec = docker_spec(
        &mnt,
        &["sh", "-c", "echo data > /newfile; cat /newfile; ls /bin/busybox"],
    );
    let source = RootfsSource::Overlay {
        lower: vec![rootfs.path()],
        upper: upper.clone(),
        work,
    };
    let out = isolated(|| format!("{:?}", run(&spec, source, false).expect("spawn")));
    assert!(out.contains(r#"stdout: "data\n/bin/busybox\n""#), "{out}");
    assert_eq!(
        std::fs::read_to_string(upper.join("newfile")).expect("upper holds the write"),
        "data\n"
    );
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !mountinfo.contains(mnt.to_str().expect("utf-8")),
        "overlay leaked to the host"
    );
    assert_eq!(std::fs::read_dir(&mnt).expect("read merged").count(), 0);
}

#[test]
fn spawn_to_exit_latency_of_true() {
    let rootfs = Rootfs::new();
    let spec = docker_spec(&rootfs.path(), &["true"]);
    let out = isolated(|| {
        let mut times = Vec::new();
        for _ in 0..20 {
            // After a quiet spell, as a real start comes: on cgroup v1 the first join then waits for a grace period.
            std::thread::sleep(std::time::Duration::from_millis(300));
            let start = std::time::Instant::now();
            let r = run(&spec, RootfsSource::Ready, false).expect("spawn");
            times.push(start.elapsed());
            assert_eq!(r.code, 0);
        }
        times.sort();
        format!("median {:?} min {:?} max {:?}", times[10], times[0], times[19])
    });
    println!("spawn-to-exit latency of `true` (incl. cgroup create/remove): {out}");
}

#[test]
fn docker_seccomp_profile_applies_with_and_without_no_new_privileges() {
    let rootfs = Rootfs::new();
    for (nnp, uid) in [(false, 0u32), (false, 1000), (true, 1000)] {
        let script = "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; id -u";
        let mut spec = docker_spec(&rootfs.path(), &["sh", "-c", script]);
        let profile = berth_runtime::seccomp::docker_default(&common::docker_caps());
        spec.linux_mut()
            .as_mut()
            .expect("linux")
            .set_seccomp(Some(profile));
        let p = spec.process_mut().as_mut().expect("process");
        p.set_no_new_privileges(Some(nnp));
        p.set_user(UserBuilder::default().uid(uid).gid(uid).build().expect("user"));
        let out = isolated(|| run(&spec, RootfsSource::Ready, false).expect("spawn").stdout);
        // A non-root user keeps no effective capabilities after execve, as with Docker.
        let caps = if uid == 0 {
            "00000000a80425fb"
        } else {
            "0000000000000000"
        };
        let want = format!(
            "CapEff:\t{caps}\nNoNewPrivs:\t{}\nSeccomp:\t2\n{uid}\n",
            nnp as u8
        );
        assert_eq!(out, want, "nnp={nnp} uid={uid}");
    }
}
