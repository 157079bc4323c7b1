//! Live tests on this host's cgroups: a real cgroup under a unique name, real child processes, real
//! limits, freezing, device control and removal. A guard kills the children and removes every cgroup
//! even when an assertion fails.

use std::fs;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use nix::sys::signal::Signal;
use oci_spec::runtime::{
    LinuxCpu, LinuxDeviceCgroup, LinuxDeviceType, LinuxMemory, LinuxPids, LinuxResources,
};

use super::{Cgroup, Hierarchy, Kind, bpf};

/// Kills the children and removes the test cgroups when dropped.
struct Scratch {
    h: Hierarchy,
    parent: String,
    leaf: String,
    children: Vec<Child>,
}

impl Scratch {
    fn new(h: Hierarchy) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let parent = format!(
            "berth-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let leaf = format!("/{parent}/c");
        Self {
            h,
            parent,
            leaf,
            children: Vec::new(),
        }
    }

    /// Spawns `cmd` moved into `cg` by `join_self` right before exec.
    fn spawn_in(&mut self, cg: &Arc<Cgroup>, cmd: &mut Command) -> u32 {
        let cg = Arc::clone(cg);
        // SAFETY: join_self only makes syscalls on prepared paths, as a forked child must.
        unsafe {
            cmd.pre_exec(move || cg.join_self().map_err(std::io::Error::from));
        }
        let child = cmd.spawn().unwrap();
        let pid = child.id();
        self.children.push(child);
        pid
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for path in [&self.leaf, &format!("/{}", self.parent)] {
            if let Ok(cg) = self.h.open(path) {
                let _ = cg.kill_all(Signal::SIGKILL);
                let _ = cg.destroy();
            }
        }
    }
}

fn dirs(cg: &Cgroup) -> Vec<PathBuf> {
    match &cg.kind {
        Kind::V1(v) => v.dirs().map(Path::to_path_buf).collect(),
        Kind::V2(v) => vec![v.dir().to_path_buf()],
    }
}

fn device(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
) -> LinuxDeviceCgroup {
    let mut d = LinuxDeviceCgroup::default();
    d.set_allow(allow)
        .set_typ(typ)
        .set_major(major)
        .set_minor(minor)
        .set_access(Some("rwm".into()));
    d
}

/// Deny everything but /dev/null and /dev/zero.
fn null_and_zero() -> Vec<LinuxDeviceCgroup> {
    vec![
        device(false, None, None, None),
        device(true, Some(LinuxDeviceType::C), Some(1), Some(3)),
        device(true, Some(LinuxDeviceType::C), Some(1), Some(5)),
    ]
}

/// A shell that reads /dev/zero, then opens /dev/kmsg (which the rules deny).
fn device_probe() -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.args([
        "-c",
        "head -c1 /dev/zero >/dev/null && echo zero-ok; exec 3</dev/kmsg",
    ]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

fn probe_output(s: &mut Scratch) -> (String, String, bool) {
    let child = s.children.pop().unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
        out.status.success(),
    )
}

fn sleeper() -> Command {
    let mut cmd = Command::new("/bin/sleep");
    cmd.arg("30");
    cmd
}

fn limits() -> LinuxResources {
    let mut memory = LinuxMemory::default();
    memory.set_limit(Some(64 << 20));
    let mut cpu = LinuxCpu::default();
    cpu.set_shares(Some(512))
        .set_quota(Some(20_000))
        .set_period(Some(100_000))
        .set_cpus(Some("0".into()));
    let mut pids = LinuxPids::default();
    pids.set_limit(32);
    let mut r = LinuxResources::default();
    r.set_memory(Some(memory))
        .set_cpu(Some(cpu))
        .set_pids(Some(pids))
        .set_devices(Some(null_and_zero()));
    r
}

fn read(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file)).unwrap().trim().to_string()
}

#[test]
fn host_cgroup_lifecycle() {
    let h = Hierarchy::detect().unwrap();
    let mut s = Scratch::new(h.clone());
    let cg = Arc::new(h.create(&s.leaf, Some(&limits())).unwrap());
    let dirs = dirs(&cg);
    let file_of = |name: &str| dirs.iter().map(|d| d.join(name)).find(|p| p.exists()).unwrap();
    if cg.is_v2() {
        assert_eq!(read(&dirs[0], "memory.max"), "67108864");
        assert_eq!(read(&dirs[0], "cpu.max"), "20000 100000");
        assert_eq!(read(&dirs[0], "pids.max"), "32");
    } else {
        assert_eq!(
            fs::read_to_string(file_of("memory.limit_in_bytes")).unwrap(),
            "67108864\n"
        );
        assert_eq!(fs::read_to_string(file_of("cpu.shares")).unwrap(), "512\n");
        assert_eq!(
            fs::read_to_string(file_of("cpu.cfs_quota_us")).unwrap(),
            "20000\n"
        );
        assert_eq!(fs::read_to_string(file_of("cpuset.cpus")).unwrap(), "0\n");
        assert_eq!(fs::read_to_string(file_of("pids.max")).unwrap(), "32\n");
        assert_eq!(
            fs::read_to_string(file_of("devices.list")).unwrap(),
            "c 1:3 rwm\nc 1:5 rwm\n"
        );
    }

    let joined = s.spawn_in(&cg, &mut sleeper()) as i32;
    let other = sleeper().spawn().unwrap();
    let added = other.id() as i32;
    cg.add_pid(added).unwrap();
    s.children.push(other);
    let mut pids = cg.pids().unwrap();
    pids.sort();
    assert_eq!(pids, {
        let mut p = vec![joined, added];
        p.sort();
        p
    });
    let own = fs::read_to_string(format!("/proc/{joined}/cgroup")).unwrap();
    let in_leaf = |controller: &str| {
        own.lines().any(|l| {
            let mut f = l.splitn(3, ':').skip(1);
            f.next().is_some_and(|c| c.split(',').any(|x| x == controller))
                && f.next() == Some(s.leaf.as_str())
        })
    };
    let controllers: &[&str] = if cg.is_v2() {
        &[""]
    } else {
        &["memory", "pids", "cpuset", "freezer", "devices", "cpu"]
    };
    for c in controllers {
        assert!(in_leaf(c), "{c} not joined: {own}");
    }

    let stats = cg.stats().unwrap();
    assert_eq!(stats.memory_limit, Some(64 << 20));
    assert_eq!(stats.pids_current, 2);
    assert!(stats.memory_usage > 0 && stats.cpu_usage_ns > 0, "{stats:?}");
    assert_eq!(cg.oom_kill_count().unwrap(), 0);

    cg.freeze().unwrap();
    assert!(cg.is_frozen().unwrap());
    cg.thaw().unwrap();
    assert!(!cg.is_frozen().unwrap());

    s.spawn_in(&cg, &mut device_probe());
    let (stdout, stderr, ok) = probe_output(&mut s);
    assert_eq!(stdout, "zero-ok\n");
    assert!(!ok && stderr.contains("Operation not permitted"), "{stderr}");

    let mut pids_only = LinuxResources::default();
    let mut p = LinuxPids::default();
    p.set_limit(0);
    pids_only.set_pids(Some(p));
    cg.update(&pids_only).unwrap();
    assert_eq!(read(file_of("pids.max").parent().unwrap(), "pids.max"), "max");

    cg.kill_all(Signal::SIGKILL).unwrap();
    for child in &mut s.children {
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    }
    s.children.clear();
    cg.destroy().unwrap();
    h.open(&format!("/{}", s.parent)).unwrap().destroy().unwrap();
    for dir in &dirs {
        assert!(
            !dir.exists() && !dir.parent().unwrap().exists(),
            "{} left behind",
            dir.display()
        );
    }
    cg.destroy().unwrap();
}

/// The cgroup2 mount to test v2 logic on: the host's hierarchy, or the unified mount of a hybrid host.
fn v2_root() -> Option<PathBuf> {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .find(|p| rustix::fs::statfs(*p).is_ok_and(|s| s.f_type == libc::CGROUP2_SUPER_MAGIC))
        .map(PathBuf::from)
}

#[test]
fn v2_device_filter_freeze_and_kill() {
    let Some(root) = v2_root() else {
        eprintln!("no cgroup2 mount on this host; skipping");
        return;
    };
    let h = Hierarchy::v2_at(&root);
    let mut s = Scratch::new(h.clone());
    let mut r = LinuxResources::default();
    r.set_devices(Some(null_and_zero()));
    let cg = Arc::new(h.create(&s.leaf, Some(&r)).unwrap());
    let dir_fd = cg.v2_dir_fd().unwrap().unwrap();
    use std::os::fd::AsFd;
    assert_eq!(bpf::attached_programs(dir_fd.as_fd()).unwrap().len(), 1);

    s.spawn_in(&cg, &mut device_probe());
    let (stdout, stderr, ok) = probe_output(&mut s);
    assert_eq!(stdout, "zero-ok\n");
    assert!(!ok && stderr.contains("Operation not permitted"), "{stderr}");

    // New rules replace the program: now /dev/kmsg may be opened too.
    let mut rules = null_and_zero();
    rules.push(device(true, Some(LinuxDeviceType::C), Some(1), Some(11)));
    r.set_devices(Some(rules));
    cg.update(&r).unwrap();
    assert_eq!(bpf::attached_programs(dir_fd.as_fd()).unwrap().len(), 1);
    s.spawn_in(&cg, &mut device_probe());
    let (stdout, stderr, ok) = probe_output(&mut s);
    assert_eq!((stdout.as_str(), ok), ("zero-ok\n", true), "{stderr}");

    let pid = s.spawn_in(&cg, &mut sleeper()) as i32;
    assert_eq!(cg.pids().unwrap(), [pid]);
    cg.freeze().unwrap();
    assert!(cg.is_frozen().unwrap());
    cg.thaw().unwrap();
    assert!(!cg.is_frozen().unwrap());
    cg.kill_all(Signal::SIGKILL).unwrap();
    assert_eq!(
        s.children.pop().unwrap().wait().unwrap().signal(),
        Some(libc::SIGKILL)
    );

    let dir = dirs(&cg).remove(0);
    cg.destroy().unwrap();
    h.open(&format!("/{}", s.parent)).unwrap().destroy().unwrap();
    assert!(!dir.exists() && !dir.parent().unwrap().exists());
}
