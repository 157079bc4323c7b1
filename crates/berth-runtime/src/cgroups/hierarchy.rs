//! Finding the cgroup hierarchy of the host: the unified v2 tree, or the v1 controllers' mount points
//! (from one read of /proc/self/mountinfo), and naming cgroups inside it.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::error::{Error, Result};
use super::{Cgroup, v1, v2};

/// A v1 controller this runtime places containers in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Controller {
    Cpu,
    Cpuacct,
    Cpuset,
    Memory,
    Devices,
    Freezer,
    Blkio,
    Pids,
    /// The named `name=systemd` hierarchy (no resources; keeps process tracking consistent).
    Systemd,
}

impl Controller {
    const ALL: [Controller; 9] = [
        Controller::Cpu,
        Controller::Cpuacct,
        Controller::Cpuset,
        Controller::Memory,
        Controller::Devices,
        Controller::Freezer,
        Controller::Blkio,
        Controller::Pids,
        Controller::Systemd,
    ];

    /// The name in mount options and /proc/self/cgroup.
    pub fn name(self) -> &'static str {
        match self {
            Controller::Cpu => "cpu",
            Controller::Cpuacct => "cpuacct",
            Controller::Cpuset => "cpuset",
            Controller::Memory => "memory",
            Controller::Devices => "devices",
            Controller::Freezer => "freezer",
            Controller::Blkio => "blkio",
            Controller::Pids => "pids",
            Controller::Systemd => "name=systemd",
        }
    }

    fn from_name(name: &str) -> Option<Controller> {
        Controller::ALL.into_iter().find(|c| c.name() == name)
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// A v1 hierarchy: a mount point and the controllers mounted there (several when co-mounted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct V1Mount {
    controllers: u16,
    pub path: PathBuf,
}

impl V1Mount {
    pub fn has(&self, c: Controller) -> bool {
        self.controllers & c.bit() != 0
    }
}

/// The host's cgroup hierarchy, v1 or v2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchy {
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    V1(Vec<V1Mount>),
    V2(PathBuf),
}

impl Hierarchy {
    /// Detects the host's hierarchy: a statfs of /sys/fs/cgroup, and on v1 one read of
    /// /proc/self/mountinfo for the controllers' mount points.
    pub fn detect() -> Result<Self> {
        let root = Path::new("/sys/fs/cgroup");
        let stat =
            rustix::fs::statfs(root).map_err(|e| Error::Detect(format!("statfs {}: {e}", root.display())))?;
        match stat.f_type {
            libc::CGROUP2_SUPER_MAGIC => Ok(Self::v2_at(root)),
            libc::TMPFS_MAGIC | libc::CGROUP_SUPER_MAGIC => {
                let info = fs::read_to_string("/proc/self/mountinfo")
                    .map_err(|e| Error::Detect(format!("read /proc/self/mountinfo: {e}")))?;
                let mounts = parse_mountinfo(&info);
                if mounts.is_empty() {
                    return Err(Error::Detect("no cgroup v1 controller is mounted".into()));
                }
                Ok(Self {
                    kind: Kind::V1(mounts),
                })
            }
            other => Err(Error::Detect(format!(
                "unexpected filesystem type {other:#x} at {}",
                root.display()
            ))),
        }
    }

    /// A v2 hierarchy mounted at `root`.
    pub fn v2_at(root: impl Into<PathBuf>) -> Self {
        Self {
            kind: Kind::V2(root.into()),
        }
    }

    /// A v1 hierarchy from controller names and their mount points; co-mounted controllers are given
    /// either as one name (`"cpu,cpuacct"`) or as separate names with the same path. Unknown controller
    /// names are ignored.
    pub fn v1_at<'a>(mounts: impl IntoIterator<Item = (&'a str, PathBuf)>) -> Result<Self> {
        let mut out: Vec<V1Mount> = Vec::new();
        for (names, path) in mounts {
            let bits = names
                .split(',')
                .filter_map(Controller::from_name)
                .fold(0, |b, c| b | c.bit());
            add_mount(&mut out, bits, path);
        }
        if out.is_empty() {
            return Err(Error::Detect("no cgroup v1 controller given".into()));
        }
        Ok(Self { kind: Kind::V1(out) })
    }

    /// Whether this is the unified (v2) hierarchy.
    pub fn is_v2(&self) -> bool {
        matches!(self.kind, Kind::V2(_))
    }

    /// Creates the cgroup at `path` (OCI `cgroupsPath`, e.g. "/berth/<id>", relative to the hierarchy
    /// root; an existing one is reused) and applies `resources`. On failure nothing it made is left.
    pub fn create(&self, path: &str, resources: Option<&LinuxResources>) -> Result<Cgroup> {
        let parts = components(path)?;
        let (cgroup, created) = match &self.kind {
            Kind::V1(mounts) => {
                v1::create(mounts, &parts).map(|(cg, made)| (Cgroup::from_v1(path, cg), made))?
            }
            Kind::V2(root) => v2::create(root, &parts).map(|(cg, made)| (Cgroup::from_v2(path, cg), made))?,
        };
        if let Some(resources) = resources
            && let Err(e) = cgroup.apply(resources, true)
        {
            if created {
                let _ = cgroup.destroy();
            }
            return Err(e);
        }
        Ok(cgroup)
    }

    /// The existing cgroup at `path`.
    pub fn open(&self, path: &str) -> Result<Cgroup> {
        let parts = components(path)?;
        let cgroup = match &self.kind {
            Kind::V1(mounts) => Cgroup::from_v1(path, v1::open(mounts, &parts)),
            Kind::V2(root) => Cgroup::from_v2(path, v2::open(root, &parts)),
        };
        if !cgroup.exists() {
            return Err(Error::NotFound(path.to_string()));
        }
        Ok(cgroup)
    }
}

/// Adds controllers `bits` at `path`, merging with a mount already at that path; a controller already
/// placed elsewhere keeps its first mount.
fn add_mount(mounts: &mut Vec<V1Mount>, bits: u16, path: PathBuf) {
    let taken = mounts.iter().fold(0, |b, m| b | m.controllers);
    let bits = bits & !taken;
    if bits == 0 {
        return;
    }
    match mounts.iter_mut().find(|m| m.path == path) {
        Some(m) => m.controllers |= bits,
        None => mounts.push(V1Mount {
            controllers: bits,
            path,
        }),
    }
}

/// The v1 controllers' mount points from /proc/self/mountinfo content.
fn parse_mountinfo(info: &str) -> Vec<V1Mount> {
    let mut mounts = Vec::new();
    for line in info.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut fs_fields = right.split(' ');
        if fs_fields.next() != Some("cgroup") {
            continue;
        }
        let Some(super_opts) = fs_fields.nth(1) else {
            continue;
        };
        let Some(mount_point) = left.split(' ').nth(4) else {
            continue;
        };
        let bits = super_opts
            .split(',')
            .filter_map(Controller::from_name)
            .fold(0, |b, c| b | c.bit());
        add_mount(&mut mounts, bits, PathBuf::from(unescape(mount_point)));
    }
    mounts
}

/// Undoes mountinfo's octal escapes (`\040` for a space, ...).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The components of a cgroup path; it must name a cgroup below the root and not leave it.
fn components(path: &str) -> Result<Vec<&str>> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.is_empty() || parts.contains(&"..") {
        return Err(Error::InvalidPath(path.to_string()));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
23 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children
35 31 0:32 / /sys/fs/cgroup/mem\\040ory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/net_cls rw,relatime - cgroup cgroup rw,net_cls,net_prio
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 23 0:35 / /mnt/again rw,relatime - cgroup cgroup rw,memory
";

    #[test]
    fn parses_v1_mounts_with_comounts_and_escapes() {
        let mounts = parse_mountinfo(MOUNTINFO);
        let paths: Vec<&str> = mounts.iter().map(|m| m.path.to_str().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "/sys/fs/cgroup/cpu,cpuacct",
                "/sys/fs/cgroup/cpuset",
                "/sys/fs/cgroup/mem ory",
                "/sys/fs/cgroup/systemd"
            ]
        );
        assert!(mounts[0].has(Controller::Cpu) && mounts[0].has(Controller::Cpuacct));
        assert!(!mounts[0].has(Controller::Memory));
        assert!(mounts[3].has(Controller::Systemd));
    }

    #[test]
    fn v1_at_merges_controllers_at_one_path() {
        let h = Hierarchy::v1_at([
            ("cpu", "/a".into()),
            ("cpuacct", "/a".into()),
            ("memory", "/m".into()),
        ])
        .unwrap();
        let Kind::V1(mounts) = &h.kind else {
            panic!("not v1")
        };
        assert_eq!(mounts.len(), 2);
        assert!(mounts[0].has(Controller::Cpu) && mounts[0].has(Controller::Cpuacct));
        assert!(!h.is_v2());
        assert!(Hierarchy::v1_at([("net_cls", PathBuf::from("/n"))]).is_err());
    }

    #[test]
    fn detects_this_host() {
        let h = Hierarchy::detect().unwrap();
        let on_v2 = rustix::fs::statfs("/sys/fs/cgroup").unwrap().f_type == libc::CGROUP2_SUPER_MAGIC;
        assert_eq!(h.is_v2(), on_v2);
        if let Kind::V1(mounts) = &h.kind {
            assert!(
                mounts
                    .iter()
                    .any(|m| m.has(Controller::Memory) && m.path.join("memory.limit_in_bytes").exists())
            );
        }
    }

    #[test]
    fn cgroup_paths_stay_inside_the_hierarchy() {
        assert_eq!(components("/berth/abc").unwrap(), ["berth", "abc"]);
        assert_eq!(components("berth//./abc/").unwrap(), ["berth", "abc"]);
        for bad in ["", "/", "/berth/../../etc", ".."] {
            assert_eq!(
                components(bad).unwrap_err().to_string(),
                format!("cgroup: invalid cgroup path {bad:?}")
            );
        }
    }
}
