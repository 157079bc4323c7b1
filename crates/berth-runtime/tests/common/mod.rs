//! Shared pieces of the runtime's integration tests: a busybox rootfs in a temp dir, a Docker-like spec, running
//! the runtime in a forked single-threaded process (spawn's contract), and cleanup of cgroups.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use berth_runtime::cgroups::Hierarchy;
use berth_runtime::{ProcessIo, SpawnRequest, Stdio};
use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxDeviceCgroupBuilder, LinuxDeviceType,
    LinuxNamespaceBuilder, LinuxNamespaceType, LinuxResources, LinuxResourcesBuilder, ProcessBuilder,
    RootBuilder, Spec, UserBuilder, get_default_maskedpaths, get_default_mounts, get_default_readonly_paths,
};

pub const APPLETS: [&str; 16] = [
    "sh", "echo", "cat", "id", "ls", "sleep", "hostname", "true", "false", "touch", "grep", "kill", "ps",
    "tty", "stty", "stat",
];

/// A busybox root filesystem in a temp dir.
pub struct Rootfs {
    pub dir: tempfile::TempDir,
}

/// Held while files are open for writing and while forking: a forked child would otherwise keep another test's
/// half-written busybox open for writing, and exec'ing it would fail with ETXTBSY.
static FORK_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Writes a file with no descriptor left open for a concurrent fork to inherit.
pub fn write_file(path: &Path, contents: &str) {
    let _guard = FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::write(path, contents).expect("write");
}

impl Rootfs {
    pub fn new() -> Rootfs {
        let _guard = FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("rootfs");
        for d in ["bin", "proc", "sys", "dev", "tmp", "etc", "root"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("busybox-static must be installed");
        for applet in APPLETS {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).expect("symlink");
        }
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n",
        )
        .expect("passwd");
        std::fs::write(
            root.join("etc/group"),
            "root:x:0:\nwheel:x:10:\nnogroup:x:65534:\n",
        )
        .expect("group");
        Rootfs { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }
}

pub fn docker_caps() -> Vec<Capability> {
    use Capability::*;
    vec![
        Chown,
        DacOverride,
        Fsetid,
        Fowner,
        Mknod,
        NetRaw,
        Setgid,
        Setuid,
        Setfcap,
        Setpcap,
        NetBindService,
        SysChroot,
        Kill,
        AuditWrite,
    ]
}

pub fn unique_cgroup() -> String {
    format!("/berth-rt-test-{}-{}", std::process::id(), rand::random::<u32>())
}

/// A spec like the one Docker generates: all namespaces but user, Docker's mounts, masked and read-only paths,
/// default capabilities, its own cgroup with Docker's device rules.
pub fn docker_spec(root: &Path, args: &[&str]) -> Spec {
    let caps: std::collections::HashSet<Capability> = docker_caps().into_iter().collect();
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps.clone())
        .inheritable(caps)
        .ambient(std::collections::HashSet::new())
        .build()
        .expect("caps");
    let process = ProcessBuilder::default()
        .args(args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
        .env(vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            "HOME=/root".into(),
        ])
        .cwd("/")
        .user(UserBuilder::default().uid(0u32).gid(0u32).build().expect("user"))
        .capabilities(capabilities)
        .terminal(false)
        .no_new_privileges(false)
        .build()
        .expect("process");
    use LinuxNamespaceType::*;
    let namespaces = [Mount, Pid, Uts, Ipc, Network, Cgroup]
        .into_iter()
        .map(|t| LinuxNamespaceBuilder::default().typ(t).build().expect("ns"))
        .collect::<Vec<_>>();
    let linux = LinuxBuilder::default()
        .resources(docker_device_rules())
        .namespaces(namespaces)
        .cgroups_path(PathBuf::from(unique_cgroup()))
        .masked_paths(get_default_maskedpaths())
        .readonly_paths(get_default_readonly_paths())
        .build()
        .expect("linux");
    let mut spec = Spec::default();
    spec.set_root(Some(
        RootBuilder::default()
            .path(root)
            .readonly(false)
            .build()
            .expect("root"),
    ));
    spec.set_process(Some(process));
    spec.set_hostname(Some("berth-test".into()));
    spec.set_mounts(Some(get_default_mounts()));
    spec.set_linux(Some(linux));
    spec
}

/// Docker's device cgroup rules: everything denied but mknod and the standard nodes, the console, ptys and tun.
pub fn docker_device_rules() -> LinuxResources {
    let rule =
        |allow: bool, typ: Option<LinuxDeviceType>, major: Option<i64>, minor: Option<i64>, access: &str| {
            let mut b = LinuxDeviceCgroupBuilder::default().allow(allow).access(access);
            if let Some(t) = typ {
                b = b.typ(t);
            }
            if let Some(m) = major {
                b = b.major(m);
            }
            if let Some(m) = minor {
                b = b.minor(m);
            }
            b.build().expect("device rule")
        };
    use LinuxDeviceType::{B, C};
    let mut rules = vec![
        rule(false, None, None, None, "rwm"),
        rule(true, Some(C), None, None, "m"),
        rule(true, Some(B), None, None, "m"),
    ];
    for (major, minor) in [
        (1, 3),
        (1, 5),
        (1, 7),
        (1, 8),
        (1, 9),
        (5, 0),
        (5, 1),
        (5, 2),
        (10, 200),
    ] {
        rules.push(rule(true, Some(C), Some(major), Some(minor), "rwm"));
    }
    rules.push(rule(true, Some(C), Some(136), None, "rwm"));
    LinuxResourcesBuilder::default()
        .devices(rules)
        .build()
        .expect("resources")
}

pub fn cgroup_path(spec: &Spec) -> String {
    spec.linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().clone())
        .expect("cgroups path")
        .display()
        .to_string()
}

/// Removes the container's cgroup; true when it existed and is gone now.
pub fn destroy_cgroup(spec: &Spec) -> bool {
    let h = Hierarchy::detect().expect("detect cgroups");
    match h.open(&cgroup_path(spec)) {
        Ok(cg) => cg.destroy().is_ok(),
        Err(_) => false,
    }
}

pub fn pipe() -> (OwnedFd, OwnedFd) {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).expect("pipe")
}

pub fn dev_null() -> OwnedFd {
    std::fs::File::open("/dev/null").expect("/dev/null").into()
}

/// Stdio that is /dev/null three times.
pub fn null_stdio() -> Stdio {
    Stdio {
        stdin: dev_null(),
        stdout: dev_null(),
        stderr: dev_null(),
    }
}

pub fn read_all(fd: OwnedFd) -> String {
    let mut s = String::new();
    std::fs::File::from(fd).read_to_string(&mut s).expect("read");
    s
}

pub fn wait(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: waitpid with a valid status pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid, "waitpid");
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

/// Reads a terminal's master until the slave side is gone (EIO), with "\r\n" turned into "\n".
pub fn read_terminal(master: &OwnedFd) -> String {
    let mut output = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = rustix::io::read(master, &mut buf) {
        output.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&output).replace("\r\n", "\n")
}

/// Outcome of one container run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Spawns the spec with stdout/stderr on pipes, waits for it, removes its cgroup.
pub fn run(
    spec: &Spec,
    rootfs: berth_runtime::RootfsSource,
    init: bool,
) -> Result<Run, berth_runtime::SpawnError> {
    let (out_r, out_w) = pipe();
    let (err_r, err_w) = pipe();
    let cache = tempfile::tempdir().expect("cache dir");
    let spawned = berth_runtime::spawn(SpawnRequest {
        spec,
        io: ProcessIo::Pipes(Stdio {
            stdin: dev_null(),
            stdout: out_w,
            stderr: err_w,
        }),
        rootfs,
        init,
        seccomp_cache: cache.path(),
    });
    let spawned = match spawned {
        Ok(s) => s,
        Err(e) => {
            assert!(!destroy_cgroup(spec), "a failed spawn must remove its cgroup");
            return Err(e);
        }
    };
    let stdout = read_all(out_r);
    let stderr = read_all(err_r);
    let code = wait(spawned.pid);
    assert!(
        destroy_cgroup(spec),
        "cgroup must exist until the test removes it"
    );
    Ok(Run { code, stdout, stderr })
}

/// Runs `f` in a forked child, as spawn and exec need a single-threaded caller (the test harness has threads);
/// returns what `f` returned, or panics with the child's panic message.
pub fn isolated(f: impl FnOnce() -> String) -> String {
    let (r, w) = pipe();
    let guard = FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: fork in the test process; the child only runs `f` and exits.
    let pid = unsafe { libc::fork() };
    drop(guard);
    assert!(pid >= 0, "fork");
    if pid == 0 {
        drop(r);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let (tag, text) = match result {
            Ok(s) => ("ok:", s),
            Err(p) => (
                "panic:",
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default(),
            ),
        };
        let mut file = std::fs::File::from(w);
        let _ = std::io::Write::write_all(&mut file, format!("{tag}{text}").as_bytes());
        drop(file);
        // SAFETY: leave the forked copy without running the harness's code.
        unsafe { libc::_exit(0) };
    }
    drop(w);
    let out = read_all(r);
    assert_eq!(wait(pid), 0, "isolated child failed: {out}");
    match out.strip_prefix("ok:") {
        Some(s) => s.to_string(),
        None => panic!("{}", out.strip_prefix("panic:").unwrap_or(&out)),
    }
}
