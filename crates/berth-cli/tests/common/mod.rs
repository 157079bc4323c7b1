//! Integration-test harness: each test gets its own data root, exec root and cgroup parent, a busybox image made from
//! the host's busybox-static, and on drop everything is torn down and checked: containers, processes, cgroups,
//! mounts and directories.

#![allow(dead_code)]

pub mod daemon;
pub mod registry;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The busybox rootfs tarball, built once and shared by every test process (nextest runs each test in its own): it
/// lives in cargo's per-target temp dir and is replaced atomically when the script that makes it changes.
fn busybox_tarball() -> &'static Path {
    static TARBALL: OnceLock<PathBuf> = OnceLock::new();
    TARBALL.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("busybox-rootfs.tar.gz");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make-busybox-rootfs.sh");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        if modified(&out).is_some_and(|t| Some(t) >= modified(&script)) {
            return out;
        }
        let tmp = out.with_extension(format!("tmp{}", std::process::id()));
        let status = Command::new("bash")
            .arg(script)
            .arg(&tmp)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "make-busybox-rootfs.sh failed");
        std::fs::rename(&tmp, &out).unwrap();
        out
    })
}

/// Unix seconds `secs` from now, as `events --until` takes them.
pub fn unix_now_plus(secs: u64) -> String {
    (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + secs)
        .to_string()
}

/// A loopback TCP port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private berth installation for one test.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub cgroup_parent: String,
    /// This test's default bridge interface, and its address (`--bridge`, `--bip`): tests run in parallel, so each
    /// gets its own bridge and subnet (10.128.0.0/10 carved by pid), never 172.17.0.0/16.
    pub bridge: String,
    pub bip: String,
}

/// A bridge name and subnet no other test process running now uses.
fn own_bridge() -> (String, String) {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pid = std::process::id();
    let slot = pid.wrapping_mul(4).wrapping_add(n % 4);
    let bip = format!("10.{}.{}.1/24", 128 + (slot >> 8) % 64, slot % 256);
    (format!("bt{pid:x}x{n}"), bip)
}

/// A finished berth command.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Runs `cmd` to completion with `input` on its stdin.
    pub fn with_stdin(mut cmd: Command, input: &[u8]) -> Run {
        use std::io::Write;
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A command that fails before reading its input closes the pipe early; that is its answer, not ours.
        let _ = child.stdin.take().unwrap().write_all(input);
        Run::from(child.wait_with_output().unwrap())
    }

    /// Asserts success and returns trimmed stdout.
    #[track_caller]
    pub fn ok(&self) -> String {
        assert_eq!(self.code, 0, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        self.stdout.trim_end().to_string()
    }
}

impl Env {
    /// A fresh installation with busybox:latest imported.
    pub fn new() -> Env {
        let env = Env::empty();
        env.berth(&["import", busybox_tarball().to_str().unwrap(), "busybox:latest"])
            .ok();
        env
    }

    /// A fresh installation with no images.
    pub fn empty() -> Env {
        let dir = tempfile::Builder::new().prefix("berth-it-").tempdir().unwrap();
        let name = dir.path().file_name().unwrap().to_string_lossy().into_owned();
        let (bridge, bip) = own_bridge();
        Env {
            dir,
            cgroup_parent: format!("/{name}"),
            bridge,
            bip,
        }
    }

    pub fn data_root(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn exec_root(&self) -> PathBuf {
        self.dir.path().join("exec")
    }

    /// A `berth` command with this installation's global options.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
        c.arg("--data-root")
            .arg(self.data_root())
            .arg("--exec-root")
            .arg(self.exec_root())
            .arg("--cgroup-parent")
            .arg(&self.cgroup_parent)
            .arg("--bridge")
            .arg(&self.bridge)
            .arg("--bip")
            .arg(&self.bip)
            .args(args)
            .env_remove("BERTH_HOST")
            .stdin(Stdio::null());
        c
    }

    /// Runs berth to completion.
    pub fn berth(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().unwrap())
    }

    /// Runs berth with `input` on stdin.
    pub fn berth_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        Run::with_stdin(self.cmd(args), input)
    }

    /// `inspect -f TEMPLATE NAME`, trimmed.
    pub fn inspect(&self, name: &str, template: &str) -> String {
        self.berth(&["inspect", "-f", template, name]).ok()
    }

    /// Cgroup directories of this test still present in any hierarchy.
    pub fn leftover_cgroups(&self) -> Vec<PathBuf> {
        let mut left = Vec::new();
        for h in [
            "cpu", "memory", "pids", "freezer", "devices", "cpuset", "blkio", "unified",
        ] {
            let dir = Path::new("/sys/fs/cgroup")
                .join(h)
                .join(self.cgroup_parent.trim_start_matches('/'));
            if let Ok(entries) = std::fs::read_dir(&dir) {
                left.extend(entries.flatten().filter(|e| e.path().is_dir()).map(|e| e.path()));
            }
        }
        left
    }

    /// Mounts under this test's directory still present in the host's mount table.
    pub fn leftover_mounts(&self) -> Vec<String> {
        let dir = self.dir.path().to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&dir))
            .map(String::from)
            .collect()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let ids = self.berth(&["ps", "-aq", "--no-trunc"]).stdout;
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids);
            self.berth(&args);
        }
        let cgroups = self.leftover_cgroups();
        // The namespace directory is a private mount of itself for as long as the exec root lives (as Docker's
        // netns directory is); a namespace still mounted in it is a leak.
        let netns_dir = self.exec_root().join("netns");
        let ns_prefix = format!("{}/", netns_dir.display());
        let leaked_netns: Vec<String> = self
            .leftover_mounts()
            .into_iter()
            .filter(|m| m.contains(&ns_prefix))
            .collect();
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&netns_dir)
            .stderr(Stdio::null())
            .status();
        let mounts = self.leftover_mounts();
        // The default bridge and its rules outlive containers (as docker0 does): take this test's down.
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", &format!("berth-{}", self.bridge)])
            .stderr(Stdio::null())
            .status();
        // Remove the per-test parent cgroups (empty once every container is gone).
        for h in [
            "cpu", "cpuacct", "memory", "pids", "freezer", "devices", "cpuset", "blkio", "systemd", "unified",
        ] {
            let _ = std::fs::remove_dir(
                Path::new("/sys/fs/cgroup")
                    .join(h)
                    .join(self.cgroup_parent.trim_start_matches('/')),
            );
        }
        if !std::thread::panicking() {
            assert!(cgroups.is_empty(), "cgroups left behind: {cgroups:?}");
            assert!(mounts.is_empty(), "mounts left behind: {mounts:?}");
            assert!(
                leaked_netns.is_empty(),
                "network namespaces left behind: {leaked_netns:?}"
            );
        }
    }
}
