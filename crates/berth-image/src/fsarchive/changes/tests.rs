//! `docker diff` tests: an overlay upper directory made by the kernel (changes done through a real, detached
//! overlay mount), lower-layer whiteouts and opaque directories, and a vfs copy compared in full.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use rustix::fs::{CWD, Mode, XattrFlags};

use super::*;

fn changes(list: &[Change]) -> Vec<String> {
    list.iter()
        .map(|c| format!("{} {}", ["C", "A", "D"][c.kind as usize], c.path))
        .collect()
}

fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

fn whiteout(path: &Path) {
    rustix::fs::mknodat(CWD, path, FileType::CharacterDevice, Mode::empty(), 0).unwrap();
}

/// A two-layer image: `l1` at the bottom, `l2` on top (which deletes `etc/group` and hides `opq/` below).
fn image(t: &Path) -> (PathBuf, PathBuf) {
    let (l1, l2) = (t.join("l1"), t.join("l2"));
    for f in [
        "etc/passwd",
        "etc/group",
        "home/user/.profile",
        "bin/sh",
        "data/old1",
        "data/old2",
        "keep/same",
    ] {
        write(&l1.join(f), f.as_bytes());
    }
    write(&l1.join("opq/hidden"), b"h");
    std::fs::create_dir_all(l2.join("etc")).unwrap();
    whiteout(&l2.join("etc/group"));
    write(&l2.join("opq/shown"), b"s");
    rustix::fs::setxattr(l2.join("opq"), OPAQUE_XATTR, b"y", XattrFlags::empty()).unwrap();
    (l1, l2)
}

#[test]
fn overlay_changes_made_by_the_kernel() {
    let t = tempfile::tempdir().unwrap();
    let (l1, l2) = image(t.path());
    let (upper, work) = (t.path().join("upper"), t.path().join("work"));
    std::fs::create_dir(&upper).unwrap();
    std::fs::create_dir(&work).unwrap();
    let rw = RwLayer::Overlay {
        lower: vec![l2.clone(), l1.clone()],
        upper: upper.clone(),
        work,
        merged: t.path().join("merged"),
    };
    // A detached mount: gone when its descriptor is closed, whatever happens.
    let mount = crate::snapshot::overlay_mount(&rw).unwrap();
    let m = PathBuf::from(format!("/proc/self/fd/{}", mount.as_raw_fd()));
    std::fs::write(m.join("etc/passwd"), b"changed").unwrap();
    std::fs::write(m.join("etc/group"), b"back").unwrap();
    std::fs::remove_dir_all(m.join("home/user")).unwrap();
    write(&m.join("tmp/new"), b"n");
    std::fs::remove_dir_all(m.join("data")).unwrap();
    write(&m.join("data/new"), b"n");
    std::fs::set_permissions(
        m.join("bin/sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    std::fs::remove_file(m.join("opq/shown")).unwrap();
    // Mount points the runtime makes are not changes; nor is a file rewritten with the same size and time.
    write(&m.join("etc/hosts"), b"");
    std::fs::create_dir(m.join("proc")).unwrap();
    let same = std::fs::metadata(m.join("keep/same"))
        .unwrap()
        .modified()
        .unwrap();
    std::fs::write(m.join("keep/same"), b"keep/same").unwrap();
    std::fs::File::options()
        .write(true)
        .open(m.join("keep/same"))
        .unwrap()
        .set_modified(same)
        .unwrap();
    drop(mount);
    let got = changes(&tree_changes(&upper, &[&l2, &l1], true).unwrap());
    let want = [
        "C /bin",
        "C /bin/sh",
        "C /data",
        "A /data/new",
        "D /data/old1",
        "D /data/old2",
        "C /etc",
        "A /etc/group",
        "C /etc/passwd",
        "C /home",
        "D /home/user",
        "C /opq",
        "D /opq/shown",
        "A /tmp",
        "A /tmp/new",
    ];
    assert_eq!(got, want);
}

#[test]
fn vfs_copies_are_compared_in_full() {
    let t = tempfile::tempdir().unwrap();
    let image = t.path().join("image");
    for f in ["etc/passwd", "etc/group", "usr/bin/tool", "var/old/x"] {
        write(&image.join(f), f.as_bytes());
    }
    let rootfs = t.path().join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    crate::copy::copy_tree(&image, &rootfs).unwrap();
    assert!(tree_changes(&rootfs, &[&image], false).unwrap().is_empty());
    std::fs::write(rootfs.join("etc/passwd"), b"changed!").unwrap();
    std::fs::remove_dir_all(rootfs.join("var/old")).unwrap();
    write(&rootfs.join("srv/new/file"), b"n");
    write(&rootfs.join("etc/resolv.conf"), b"");
    std::fs::create_dir(rootfs.join("sys")).unwrap();
    std::os::unix::fs::chown(rootfs.join("usr/bin/tool"), Some(1), Some(1)).unwrap();
    let got = changes(&tree_changes(&rootfs, &[&image], false).unwrap());
    let want = [
        "C /etc",
        "C /etc/passwd",
        "A /srv",
        "A /srv/new",
        "A /srv/new/file",
        "C /usr",
        "C /usr/bin",
        "C /usr/bin/tool",
        "C /var",
        "D /var/old",
    ];
    assert_eq!(got, want);
}

#[test]
fn changes_serialise_as_docker() {
    let c = Change {
        path: "/etc".into(),
        kind: Change::ADDED,
    };
    assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"Path":"/etc","Kind":1}"#);
}
