//! Test support for the engine's root tests on real containers: [`Env`], a private engine (data root, exec root,
//! cgroup parent) with a busybox image made from the host's busybox-static, whose containers, cgroups, mounts and
//! directories are removed and checked on drop; [`__shim`], which lets this test binary serve as the containers'
//! shim; and [`Tar`] and [`entries`] to write and read the archives of `cp`, `export` and `diff` tests.

use std::io::Read;
use std::path::{Path, PathBuf};

use berth_image::config::ContainerConfig;
use berth_image::{DriverChoice, ImportOptions};
use tar::{EntryType, Header};

use crate::engine::{Engine, EngineOptions};
use crate::model::HostConfig;
use crate::ops::create::CreateRequest;
use crate::ops::start::StartOptions;
use crate::paths::Paths;

/// The shim of every container a test starts. The engine starts a shim by re-executing its own binary as
/// `/proc/self/exe __shim <data-root> <exec-root> <id> <launch JSON>`; in a unit test that binary is this test
/// harness, which reads every free argument as a test name filter and runs the tests whose full name contains any
/// of them. Only this test's name (`testkit::__shim`) contains `__shim`, so the re-executed harness runs it alone,
/// and it hands the arguments to the shim's entry point and exits with its code. In an ordinary run (`args[1]` is
/// not `__shim`) it does nothing. It must stay a `#[test]` named `__shim`, and no other test's name may contain
/// `__shim`. A start with attached clients adds `--attach N`, an option the harness rejects, so unit tests start
/// containers detached only.
#[test]
fn __shim() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(crate::shim::COMMAND) {
        std::process::exit(crate::shim::main(&args[2..]));
    }
}

/// Every cgroup hierarchy of the host (v1 controllers, systemd's named one, the unified one) an engine may use.
const HIERARCHIES: [&str; 10] = [
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "unified",
];

/// A private engine with busybox:latest imported, in a temporary directory whose name is also its cgroup parent.
pub(crate) struct Env {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) engine: Engine,
    cgroup_parent: String,
}

impl Env {
    pub(crate) fn new(driver: DriverChoice) -> Env {
        let dir = tempfile::Builder::new()
            .prefix("berth-engine-")
            .tempdir()
            .unwrap();
        let name = dir.path().file_name().unwrap().to_string_lossy().into_owned();
        let cgroup_parent = format!("/{name}");
        let engine = Engine::open(EngineOptions {
            paths: Paths::new(dir.path().join("data"), dir.path().join("exec")),
            storage_driver: driver,
            cgroup_parent: cgroup_parent.clone(),
            network: Default::default(),
            registry: Default::default(),
        })
        .unwrap();
        let tarball = dir.path().join("busybox.tar.gz");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make-busybox-rootfs.sh");
        let status = std::process::Command::new("bash")
            .arg(script)
            .arg(&tarball)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "make-busybox-rootfs.sh failed");
        let reader = std::io::BufReader::new(std::fs::File::open(&tarball).unwrap());
        let opts = ImportOptions {
            reference: Some("busybox:latest".into()),
            ..Default::default()
        };
        engine.images().import(reader, opts).unwrap();
        Env {
            dir,
            engine,
            cgroup_parent,
        }
    }

    /// Creates a busybox container running `cmd`.
    pub(crate) fn create(&self, name: &str, cmd: &[&str], host_config: HostConfig) -> String {
        self.create_labelled(name, cmd, host_config, &[])
    }

    /// Creates a busybox container running `cmd`, with `labels`.
    pub(crate) fn create_labelled(
        &self,
        name: &str,
        cmd: &[&str],
        mut host_config: HostConfig,
        labels: &[(&str, &str)],
    ) -> String {
        // The engine's unit tests leave networking to the integration tests (which give each test its own bridge).
        if host_config.network_mode.is_empty() {
            host_config.network_mode = "none".into();
        }
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let req = CreateRequest {
            name: Some(name.into()),
            config: ContainerConfig {
                image: "busybox".into(),
                cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                labels: Some(labels),
                ..Default::default()
            },
            host_config,
            networking_config: Default::default(),
        };
        self.engine.create(req).unwrap().id
    }

    /// Creates and starts a busybox container running `cmd`.
    pub(crate) fn run(&self, name: &str, cmd: &[&str], host_config: HostConfig) -> String {
        let id = self.create(name, cmd, host_config);
        self.engine.start(&id, StartOptions::default()).unwrap();
        id
    }

    /// The trimmed content of a file of the container's cgroup in v1 hierarchy `controller`.
    pub(crate) fn cgroup_file(&self, controller: &str, id: &str, file: &str) -> String {
        let p = format!("/sys/fs/cgroup/{controller}{}/{id}/{file}", self.cgroup_parent);
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .trim()
            .to_string()
    }

    fn leftover_cgroups(&self) -> Vec<PathBuf> {
        HIERARCHIES
            .iter()
            .map(|h| Path::new("/sys/fs/cgroup").join(h).join(&self.cgroup_parent[1..]))
            .filter_map(|dir| std::fs::read_dir(dir).ok())
            .flat_map(|entries| entries.flatten().filter(|e| e.path().is_dir()).map(|e| e.path()))
            .collect()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for c in self.engine.list(true).unwrap_or_default() {
            let _ = self.engine.remove(&c.id, true);
        }
        let cgroups = self.leftover_cgroups();
        for h in HIERARCHIES {
            let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(h).join(&self.cgroup_parent[1..]));
        }
        let dir = self.dir.path().to_string_lossy().into_owned();
        let mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&dir))
            .map(String::from)
            .collect();
        if !std::thread::panicking() {
            assert!(cgroups.is_empty(), "cgroups left behind: {cgroups:?}");
            assert!(mounts.is_empty(), "mounts left behind: {mounts:?}");
        }
    }
}

/// One archive entry: name, type, link target and content.
pub(crate) type Entry = (String, EntryType, String, Vec<u8>);

/// The entries of a tar.
pub(crate) fn entries(tar: &[u8]) -> Vec<Entry> {
    tar::Archive::new(tar)
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let link = e
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            let kind = e.header().entry_type();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (name, kind, link, data)
        })
        .collect()
}

/// Builds tars entry by entry, with raw names the `tar` crate's checked setters refuse.
#[derive(Default)]
pub(crate) struct Tar {
    b: Vec<u8>,
}

impl Tar {
    pub(crate) fn raw(mut self, kind: EntryType, name: &str, link: &str, mode: u32, data: &[u8]) -> Tar {
        let mut h = Header::new_gnu();
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(1234);
        h.set_gid(5678);
        h.set_mtime(1_600_000_000);
        h.set_size(data.len() as u64);
        if kind == EntryType::Char {
            h.set_device_major(1).unwrap();
            h.set_device_minor(3).unwrap();
        }
        h.set_cksum();
        self.b.extend_from_slice(h.as_bytes());
        self.b.extend_from_slice(data);
        self.b.resize(self.b.len().next_multiple_of(512), 0);
        self
    }

    pub(crate) fn file(self, name: &str, data: &[u8]) -> Tar {
        self.raw(EntryType::Regular, name, "", 0o640, data)
    }

    pub(crate) fn dir(self, name: &str) -> Tar {
        self.raw(EntryType::Directory, name, "", 0o750, b"")
    }

    pub(crate) fn symlink(self, name: &str, target: &str) -> Tar {
        self.raw(EntryType::Symlink, name, target, 0o777, b"")
    }

    pub(crate) fn hardlink(self, name: &str, target: &str) -> Tar {
        self.raw(EntryType::Link, name, target, 0o640, b"")
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.b.extend_from_slice(&[0u8; 1024]);
        self.b
    }
}
