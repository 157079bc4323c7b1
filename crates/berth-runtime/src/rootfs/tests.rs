//! Mount planning checked against the recording `Syscalls` double.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Linux, LinuxBuilder, Mount, MountBuilder, get_default_mounts};

use super::mounts::{CgroupLayout, Options};
use super::*;
use crate::syscalls::FileKind;
use crate::syscalls::recording::{Call, Recording};

const HYBRID: &str = "9:name=systemd:/\n8:pids:/c1\n2:cpu,cpuacct:/c1\n4:memory:/c1\n0::/\n";

fn plan<'a>(
    source: &'a RootfsSource,
    mounts: &'a [Mount],
    linux: &'a Linux,
    cg: &'a CgroupLayout,
) -> RootfsPlan<'a> {
    RootfsPlan {
        source,
        mounts,
        linux,
        cgroups: Some(cg),
        cgroup_ns: true,
    }
}

fn bind(dest: &str, src: &str, opts: &[&str]) -> Mount {
    let opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
    MountBuilder::default()
        .destination(dest)
        .source(src)
        .typ("bind")
        .options(opts)
        .build()
        .unwrap()
}

#[test]
fn options_split_into_flags_propagation_and_data() {
    let o = Options::parse(&[
        "nosuid", "ro", "rw", "noexec", "rbind", "rslave", "mode=755", "size=64k",
    ]);
    assert_eq!(o.flags, libc::MS_NOSUID | libc::MS_NOEXEC);
    assert_eq!(o.propagation, libc::MS_SLAVE | libc::MS_REC);
    assert!(o.bind && o.recursive);
    assert_eq!(o.data().as_deref(), Some("mode=755,size=64k"));
    assert_eq!(Options::parse::<&str>(&[]).data(), None);
}

#[test]
fn cgroup_layout_parses_v1_hybrid_and_v2() {
    let CgroupLayout::V1(h) = CgroupLayout::parse(HYBRID) else {
        panic!("expected v1")
    };
    assert_eq!(h.len(), 4);
    assert_eq!((h[1].controllers.as_str(), h[1].path.as_str()), ("pids", "/c1"));
    assert_eq!(
        CgroupLayout::parse("0::/docker/abc\n"),
        CgroupLayout::V2("/docker/abc".into())
    );
}

#[test]
fn docker_default_mounts_on_a_ready_rootfs() {
    let linux = LinuxBuilder::default().build().unwrap();
    let mounts = get_default_mounts();
    let cg = CgroupLayout::parse(HYBRID);
    let mut sys = Recording::with_dirs(&["/proc", "/sys", "/dev"]);
    prepare(&mut sys, &plan(&RootfsSource::Ready, &mounts, &linux, &cg)).unwrap();
    pivot(&mut sys, None).unwrap();

    assert_eq!(sys.calls[0], Call::RootPropagation(libc::MS_SLAVE | libc::MS_REC));
    assert_eq!(sys.calls[1], Call::BindRootfs);
    let m = sys.mounts();
    let find = |t: &str| m.iter().find(|(target, ..)| target == t).cloned().unwrap();
    assert_eq!(find("/proc"), ("/proc".into(), Some("proc".into()), 0));
    assert_eq!(find("/dev").2, libc::MS_NOSUID | libc::MS_STRICTATIME);
    assert_eq!(
        find("/sys").2,
        libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV | libc::MS_RDONLY
    );
    assert!(
        sys.calls.contains(&Call::Mkdir("/dev/pts".into())),
        "missing targets are created"
    );
    assert!(sys.calls.iter().any(|c| matches!(c, Call::Mount { target, data, .. }
        if target == Path::new("/dev/pts") && data.as_deref() == Some("newinstance,ptmxmode=0666,mode=0620,gid=5"))));

    // cgroup v1: a tmpfs, one cgroup filesystem per hierarchy, symlinks for combined controllers, then read-only.
    let cgroup_mounts: Vec<_> = m
        .iter()
        .filter(|(t, ..)| t.starts_with("/sys/fs/cgroup"))
        .cloned()
        .collect();
    assert_eq!(cgroup_mounts[0].1.as_deref(), Some("tmpfs"));
    assert_eq!(cgroup_mounts[0].2 & libc::MS_RDONLY, 0);
    assert!(
        sys.calls
            .iter()
            .any(|c| matches!(c, Call::Mount { target, fstype, data, flags, .. }
        if target == Path::new("/sys/fs/cgroup/cpu,cpuacct") && fstype.as_deref() == Some("cgroup")
            && data.as_deref() == Some("cpu,cpuacct") && flags & libc::MS_RDONLY != 0))
    );
    assert!(
        sys.calls
            .iter()
            .any(|c| matches!(c, Call::Mount { target, data, .. }
        if target == Path::new("/sys/fs/cgroup/systemd") && data.as_deref() == Some("name=systemd")))
    );
    assert!(sys.calls.contains(&Call::Symlink {
        target: "cpu,cpuacct".into(),
        link: "/sys/fs/cgroup/cpuacct".into()
    }));
    let last_cg = cgroup_mounts.last().unwrap();
    assert_eq!(
        (last_cg.0.as_str(), last_cg.2 & libc::MS_REMOUNT != 0),
        ("/sys/fs/cgroup", true)
    );

    // Devices, symlinks, then pivot_root last.
    let null = libc::makedev(1, 3);
    assert!(sys.calls.contains(&Call::Mknod {
        path: "/dev/null".into(),
        mode: libc::S_IFCHR | 0o666,
        dev: null
    }));
    assert_eq!(
        sys.calls
            .iter()
            .filter(|c| matches!(c, Call::Mknod { .. }))
            .count(),
        6
    );
    assert!(sys.calls.contains(&Call::Symlink {
        target: "pts/ptmx".into(),
        link: "/dev/ptmx".into()
    }));
    assert!(sys.calls.contains(&Call::Symlink {
        target: "/proc/self/fd".into(),
        link: "/dev/fd".into()
    }));
    assert_eq!(sys.calls.last(), Some(&Call::PivotRoot));
}

#[test]
fn cgroup_without_namespace_binds_own_cgroup_dirs() {
    let linux = LinuxBuilder::default().build().unwrap();
    let mounts = vec![
        MountBuilder::default()
            .destination("/sys/fs/cgroup")
            .typ("cgroup")
            .options(vec!["ro".to_string()])
            .build()
            .unwrap(),
    ];
    let cg = CgroupLayout::parse(HYBRID);
    let mut sys = Recording::with_dirs(&[]);
    let mut p = plan(&RootfsSource::Ready, &mounts, &linux, &cg);
    p.cgroup_ns = false;
    prepare(&mut sys, &p).unwrap();
    assert!(
        sys.calls
            .iter()
            .any(|c| matches!(c, Call::Mount { source: Some(s), target, .. }
        if s == Path::new("/sys/fs/cgroup/pids/c1") && target == Path::new("/sys/fs/cgroup/pids")))
    );

    let v2 = CgroupLayout::V2("/c2".into());
    let mut sys = Recording::with_dirs(&[]);
    prepare(&mut sys, &plan(&RootfsSource::Ready, &mounts, &linux, &v2)).unwrap();
    assert!(sys.mounts().iter().any(|(t, ty, f)| t == "/sys/fs/cgroup"
        && ty.as_deref() == Some("cgroup2")
        && f & libc::MS_RDONLY != 0));
}

#[test]
fn overlay_root_and_bind_mounts_with_remounts() {
    let linux = LinuxBuilder::default()
        .rootfs_propagation("rshared")
        .build()
        .unwrap();
    let mounts = vec![
        bind("/etc/hosts", "/host/hosts", &["rbind", "ro", "rprivate"]),
        bind("/data", "/host/data", &["bind"]),
    ];
    let source = RootfsSource::Overlay {
        lower: vec![PathBuf::from("/l/top"), PathBuf::from("/l/base")],
        upper: "/u".into(),
        work: "/w".into(),
    };
    let cg = CgroupLayout::V2("/".into());
    let mut sys = Recording::with_dirs(&["/etc"]);
    sys.host.insert("/host/hosts".into(), FileKind::File);
    sys.host.insert("/host/data".into(), FileKind::Dir);
    prepare(&mut sys, &plan(&source, &mounts, &linux, &cg)).unwrap();

    // A shared root propagation is deferred: mounting happens under rslave.
    assert_eq!(sys.calls[0], Call::RootPropagation(libc::MS_SLAVE | libc::MS_REC));
    assert!(matches!(&sys.calls[1], Call::Overlay { lower, .. } if lower[0] == Path::new("/l/top")));
    assert!(sys.calls.contains(&Call::CreateFile("/etc/hosts".into())));
    assert!(sys.calls.contains(&Call::Mkdir("/data".into())));
    let hosts: Vec<_> = sys
        .mounts()
        .into_iter()
        .filter(|(t, ..)| t == "/etc/hosts")
        .map(|m| m.2)
        .collect();
    assert_eq!(
        hosts,
        vec![
            libc::MS_BIND | libc::MS_REC,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_REC | libc::MS_RDONLY,
            libc::MS_PRIVATE | libc::MS_REC,
        ]
    );
    let data: Vec<_> = sys
        .mounts()
        .into_iter()
        .filter(|(t, ..)| t == "/data")
        .map(|m| m.2)
        .collect();
    assert_eq!(data, vec![libc::MS_BIND], "a plain rw bind needs no remount");

    let mut after = Recording::with_dirs(&[]);
    finish(&mut after, &linux, false).unwrap();
    assert_eq!(
        after.mounts(),
        vec![("/".into(), None, libc::MS_SHARED | libc::MS_REC)]
    );
}

#[test]
fn mknod_refused_falls_back_to_binding_the_host_node() {
    let linux = LinuxBuilder::default().build().unwrap();
    let cg = CgroupLayout::V2("/".into());
    let mut sys = Recording::with_dirs(&["/dev"]);
    sys.mknod_error = Some(libc::EPERM);
    prepare(&mut sys, &plan(&RootfsSource::Ready, &[], &linux, &cg)).unwrap();
    assert!(sys.calls.contains(&Call::CreateFile("/dev/tty".into())));
    assert!(sys.calls.contains(&Call::Mount {
        source: Some("/dev/tty".into()),
        target: "/dev/tty".into(),
        fstype: None,
        flags: libc::MS_BIND,
        data: None
    }));
}

#[test]
fn console_is_bound_from_the_terminal_before_pivot_root() {
    let mut sys = Recording::with_dirs(&["/dev"]);
    let slave = PathBuf::from("/proc/self/fd/7");
    pivot(&mut sys, Some(&slave)).unwrap();
    assert_eq!(
        sys.calls,
        vec![
            Call::CreateFile("/dev/console".into()),
            Call::Mount {
                source: Some(slave),
                target: "/dev/console".into(),
                fstype: None,
                flags: libc::MS_BIND,
                data: None
            },
            Call::PivotRoot
        ]
    );
}

#[test]
fn finish_masks_and_locks_paths() {
    let linux = LinuxBuilder::default()
        .masked_paths(vec![
            "/proc/kcore".to_string(),
            "/proc/acpi".to_string(),
            "/proc/missing".to_string(),
        ])
        .readonly_paths(vec!["/proc/sys".to_string(), "/proc/nothere".to_string()])
        .build()
        .unwrap();
    let mut sys = Recording::with_dirs(&["/proc", "/proc/acpi", "/proc/sys"]);
    sys.files.insert("/proc/kcore".into(), FileKind::File);
    sys.flags.insert(
        "/proc/sys".into(),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
    );
    sys.flags.insert("/".into(), libc::MS_RELATIME);
    finish(&mut sys, &linux, true).unwrap();
    assert_eq!(sys.calls[0], Call::BindSelf("/proc/sys".into()));
    let base = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
    assert_eq!(
        sys.mounts(),
        vec![
            (
                "/proc/sys".into(),
                None,
                base | libc::MS_REC | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC
            ),
            ("/proc/kcore".into(), None, libc::MS_BIND),
            ("/proc/acpi".into(), Some("tmpfs".into()), libc::MS_RDONLY),
            ("/".into(), None, base | libc::MS_RELATIME),
        ]
    );
}
