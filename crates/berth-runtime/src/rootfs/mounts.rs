//! Spec mounts: parsing mount options into flags, propagation and data, and mounting each entry (filesystems,
//! bind mounts with their remounts, and the cgroup filesystem for v1 and v2).

use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;

use super::paths::clean;
use crate::syscalls::{FileKind, MountFlags, Syscalls};

/// Flags that a bind mount only gets through a second, remounting call.
const REMOUNT_FLAGS: MountFlags = libc::MS_RDONLY
    | libc::MS_NOSUID
    | libc::MS_NODEV
    | libc::MS_NOEXEC
    | libc::MS_NOATIME
    | libc::MS_NODIRATIME
    | libc::MS_RELATIME
    | libc::MS_STRICTATIME;

/// Mount options split into what mount(2) takes.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) flags: MountFlags,
    pub(crate) propagation: MountFlags,
    pub(crate) data: Vec<String>,
    pub(crate) bind: bool,
    pub(crate) recursive: bool,
}

impl Options {
    pub(crate) fn parse<S: AsRef<str>>(options: &[S]) -> Options {
        let mut o = Options::default();
        for opt in options {
            let opt = opt.as_ref();
            if let Some((set, flag)) = flag_option(opt) {
                if set { o.flags |= flag } else { o.flags &= !flag }
            } else if let Some(p) = propagation_option(opt) {
                o.propagation = p;
            } else if opt == "bind" {
                o.bind = true;
            } else if opt == "rbind" {
                o.bind = true;
                o.recursive = true;
            } else if !opt.is_empty() {
                o.data.push(opt.to_string());
            }
        }
        o
    }

    pub(crate) fn data(&self) -> Option<String> {
        (!self.data.is_empty()).then(|| self.data.join(","))
    }
}

/// `(set?, flag)` for options that toggle a mount flag.
fn flag_option(opt: &str) -> Option<(bool, MountFlags)> {
    Some(match opt {
        "ro" => (true, libc::MS_RDONLY),
        "rw" => (false, libc::MS_RDONLY),
        "nosuid" => (true, libc::MS_NOSUID),
        "suid" => (false, libc::MS_NOSUID),
        "nodev" => (true, libc::MS_NODEV),
        "dev" => (false, libc::MS_NODEV),
        "noexec" => (true, libc::MS_NOEXEC),
        "exec" => (false, libc::MS_NOEXEC),
        "sync" => (true, libc::MS_SYNCHRONOUS),
        "async" => (false, libc::MS_SYNCHRONOUS),
        "dirsync" => (true, libc::MS_DIRSYNC),
        "remount" => (true, libc::MS_REMOUNT),
        "mand" => (true, libc::MS_MANDLOCK),
        "nomand" => (false, libc::MS_MANDLOCK),
        "atime" => (false, libc::MS_NOATIME),
        "noatime" => (true, libc::MS_NOATIME),
        "diratime" => (false, libc::MS_NODIRATIME),
        "nodiratime" => (true, libc::MS_NODIRATIME),
        "relatime" => (true, libc::MS_RELATIME),
        "norelatime" => (false, libc::MS_RELATIME),
        "strictatime" => (true, libc::MS_STRICTATIME),
        "nostrictatime" => (false, libc::MS_STRICTATIME),
        _ => return None,
    })
}

pub(crate) fn propagation_option(opt: &str) -> Option<MountFlags> {
    Some(match opt {
        "private" => libc::MS_PRIVATE,
        "rprivate" => libc::MS_PRIVATE | libc::MS_REC,
        "shared" => libc::MS_SHARED,
        "rshared" => libc::MS_SHARED | libc::MS_REC,
        "slave" => libc::MS_SLAVE,
        "rslave" => libc::MS_SLAVE | libc::MS_REC,
        "unbindable" => libc::MS_UNBINDABLE,
        "runbindable" => libc::MS_UNBINDABLE | libc::MS_REC,
        _ => return None,
    })
}

/// One cgroup v1 hierarchy this process is in, from /proc/self/cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupHierarchy {
    /// Comma-separated controllers, e.g. "cpu,cpuacct" or "name=systemd".
    pub(crate) controllers: String,
    /// This process's cgroup in it.
    pub(crate) path: String,
}

/// The cgroup layout this process sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CgroupLayout {
    /// cgroup v1 (the hybrid's empty unified hierarchy is left out, as Docker does).
    V1(Vec<CgroupHierarchy>),
    /// cgroup v2 only, with this process's cgroup path.
    V2(String),
}

impl CgroupLayout {
    /// Parses the contents of /proc/self/cgroup.
    pub(crate) fn parse(text: &str) -> CgroupLayout {
        let mut v1 = Vec::new();
        let mut unified = String::from("/");
        for line in text.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            if ctrls.is_empty() {
                unified = path.to_string();
            } else {
                v1.push(CgroupHierarchy {
                    controllers: ctrls.to_string(),
                    path: path.to_string(),
                });
            }
        }
        if v1.is_empty() {
            CgroupLayout::V2(unified)
        } else {
            CgroupLayout::V1(v1)
        }
    }
}

impl CgroupHierarchy {
    /// The directory name the hierarchy is mounted under (e.g. "cpu,cpuacct", "systemd").
    fn dir_name(&self) -> &str {
        self.controllers
            .strip_prefix("name=")
            .unwrap_or(&self.controllers)
    }
}

/// Mounts one spec mount. `cgroups` is the layout to use for a "cgroup" mount, `cgroup_ns` whether the container
/// has its own cgroup namespace (then cgroup filesystems are mounted; otherwise the container's own cgroup
/// directories are bind-mounted from the host).
pub(crate) fn mount_entry(
    sys: &mut dyn Syscalls,
    m: &Mount,
    cgroups: Option<&CgroupLayout>,
    cgroup_ns: bool,
) -> io::Result<()> {
    let dest = clean(m.destination());
    let opts = Options::parse(m.options().as_deref().unwrap_or_default());
    let typ = m.typ().as_deref().unwrap_or("none");
    if opts.bind || typ == "bind" {
        let source = m
            .source()
            .as_deref()
            .ok_or_else(|| io::Error::other("bind mount without a source"))?;
        return bind(sys, source, &dest, &opts);
    }
    if typ == "cgroup" || typ == "cgroup2" {
        let layout = cgroups.ok_or_else(|| io::Error::other("cgroup layout unknown"))?;
        return mount_cgroup(sys, &dest, &opts, layout, cgroup_ns);
    }
    ensure_target(sys, &dest, FileKind::Dir)?;
    let source = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
    let data = opts.data();
    sys.mount(Some(&source), &dest, Some(typ), opts.flags, data.as_deref())?;
    if opts.propagation != 0 {
        sys.mount(None, &dest, None, opts.propagation, None)?;
    }
    Ok(())
}

/// Makes sure a mount target exists, creating a directory or an empty file.
pub(crate) fn ensure_target(sys: &mut dyn Syscalls, path: &Path, kind: FileKind) -> io::Result<()> {
    if sys.kind(path)?.is_some() {
        return Ok(());
    }
    match kind {
        FileKind::Dir => sys.create_dir_all(path),
        FileKind::File => sys.create_file(path),
    }
}

fn bind(sys: &mut dyn Syscalls, source: &Path, dest: &Path, opts: &Options) -> io::Result<()> {
    let kind = sys.host_kind(source)?;
    ensure_target(sys, dest, kind)?;
    let rec = if opts.recursive { libc::MS_REC } else { 0 };
    sys.mount(Some(source), dest, None, libc::MS_BIND | rec, None)?;
    if opts.flags & REMOUNT_FLAGS != 0 {
        let flags = libc::MS_BIND | libc::MS_REMOUNT | rec | (opts.flags & REMOUNT_FLAGS);
        sys.mount(None, dest, None, flags, None)?;
    }
    if opts.propagation != 0 {
        sys.mount(None, dest, None, opts.propagation, None)?;
    }
    Ok(())
}

fn mount_cgroup(
    sys: &mut dyn Syscalls,
    dest: &Path,
    opts: &Options,
    layout: &CgroupLayout,
    cgroup_ns: bool,
) -> io::Result<()> {
    ensure_target(sys, dest, FileKind::Dir)?;
    let flags = opts.flags & !libc::MS_REMOUNT;
    match layout {
        CgroupLayout::V2(path) => mount_hierarchy(sys, "cgroup2", None, dest, path, flags, cgroup_ns),
        CgroupLayout::V1(hierarchies) => {
            let base = flags & !libc::MS_RDONLY;
            sys.mount(
                Some(Path::new("tmpfs")),
                dest,
                Some("tmpfs"),
                base,
                Some("mode=755"),
            )?;
            for h in hierarchies {
                let dir = dest.join(h.dir_name());
                ensure_target(sys, &dir, FileKind::Dir)?;
                mount_hierarchy(sys, "cgroup", Some(h), &dir, &h.path, flags, cgroup_ns)?;
                for ctrl in h
                    .controllers
                    .split(',')
                    .filter(|c| *c != h.controllers && !c.contains('='))
                {
                    match sys.symlink(&h.controllers, &dest.join(ctrl)) {
                        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                        _ => {}
                    }
                }
            }
            if flags & libc::MS_RDONLY != 0 {
                sys.mount(None, dest, None, libc::MS_BIND | libc::MS_REMOUNT | flags, None)?;
            }
            Ok(())
        }
    }
}

/// Mounts one cgroup hierarchy at `dir`: the filesystem itself in a cgroup namespace, else a bind of the host's
/// directory for this process's cgroup (in the standard /sys/fs/cgroup layout).
fn mount_hierarchy(
    sys: &mut dyn Syscalls,
    fstype: &str,
    v1: Option<&CgroupHierarchy>,
    dir: &Path,
    own_path: &str,
    flags: MountFlags,
    cgroup_ns: bool,
) -> io::Result<()> {
    if cgroup_ns {
        let data = v1.map(|h| h.controllers.as_str());
        return sys.mount(Some(Path::new(fstype)), dir, Some(fstype), flags, data);
    }
    let mut source = PathBuf::from("/sys/fs/cgroup");
    if let Some(h) = v1 {
        source.push(h.dir_name());
    }
    source.push(own_path.trim_start_matches('/'));
    sys.mount(Some(&source), dir, None, libc::MS_BIND | libc::MS_REC, None)?;
    sys.mount(None, dir, None, libc::MS_BIND | libc::MS_REMOUNT | flags, None)
}
