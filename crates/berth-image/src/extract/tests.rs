//! Extraction tests: entry kinds, metadata, replacement, containment of hostile paths, whiteouts in
//! both modes and the device policy.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::*;
use crate::testutil::TarBuilder;

fn sandbox() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir(&root).unwrap();
    (t, root)
}

fn opts(whiteouts: WhiteoutMode) -> ExtractOptions {
    ExtractOptions {
        whiteouts,
        devices: DevicePolicy::Create,
        same_owner: true,
        workers: 0,
    }
}

/// Everything about a tree that extraction sets: per path, type, mode, owner, size, content, link target,
/// device, mtime, link count and xattrs.
fn describe(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let p = root.join(&rel);
        let m = std::fs::symlink_metadata(&p).unwrap();
        let content = if m.is_file() {
            std::fs::read(&p).unwrap()
        } else {
            Vec::new()
        };
        let target = std::fs::read_link(&p).ok();
        // Only files and directories are opened (a fifo would block).
        let xattrs = if !m.is_file() && !m.is_dir() {
            Vec::new()
        } else {
            let f = std::fs::File::open(&p).unwrap();
            crate::xattr::list_fd(std::os::fd::AsFd::as_fd(&f)).unwrap()
        };
        out.push(format!(
            "{rel:?} {:o} {}:{} {} {content:?} {target:?} {} {} {} {xattrs:?}",
            m.mode(),
            m.uid(),
            m.gid(),
            m.len(),
            m.rdev(),
            m.mtime(),
            if m.is_dir() { 0 } else { m.nlink() },
        ));
        if m.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(rel.join(e.unwrap().file_name()));
            }
        }
    }
    out.sort();
    out
}

/// Applies `tar` to `root` with `o` (sequentially), and to a copy of `root` as it was with file-creation workers:
/// both must end the same (result and tree).
fn apply(root: &Path, tar: &[u8], o: ExtractOptions) -> Result<ExtractStats> {
    let twin = tempfile::tempdir().unwrap();
    crate::copy::copy_tree(root, twin.path()).unwrap();
    let sequential = apply_layer(root, tar, &o);
    let parallel = apply_layer(twin.path(), tar, &ExtractOptions { workers: 3, ..o });
    assert_eq!(
        sequential.as_ref().map_err(|e| e.to_string()),
        parallel.as_ref().map_err(|e| e.to_string()),
        "sequential and parallel extraction differ"
    );
    if sequential.is_ok() {
        assert_eq!(
            describe(root),
            describe(twin.path()),
            "sequential and parallel trees differ"
        );
    }
    sequential
}

#[test]
fn many_files_with_workers_in_order() {
    // Enough files to keep every worker busy, with entries that must wait for them: a file written twice, a
    // hardlink to a file just handed out, a directory replaced by a file, a whiteout of a file in flight.
    let (_t, root) = sandbox();
    let mut b = TarBuilder::new();
    for i in 0..300 {
        b.file(&format!("d{}/f{i}", i % 7), format!("content {i}").as_bytes());
    }
    let tar = b
        .file("d1/f1", b"second write")
        .hardlink("d2/link", "d2/f2")
        .file("d3", b"not a directory any more")
        .file("d4/gone", b"x")
        .file("d4/.wh.gone", b"")
        .file("big", &vec![7u8; 3 << 20])
        .finish();
    let stats = apply(&root, &tar, opts(WhiteoutMode::Vfs)).unwrap();
    assert_eq!(std::fs::read(root.join("d1/f1")).unwrap(), b"second write");
    assert_eq!(std::fs::metadata(root.join("d2/f2")).unwrap().nlink(), 2);
    assert!(root.join("d3").is_file());
    assert!(!root.join("d4/gone").exists());
    assert_eq!(std::fs::metadata(root.join("big")).unwrap().len(), 3 << 20);
    assert!(stats.entries > 300);
}

#[test]
fn kinds_modes_owners_times_xattrs() {
    let (_t, root) = sandbox();
    let tar = TarBuilder::new()
        .dir("bin/")
        .file_mode("bin/tool", 0o4755, (1000, 1001), b"#!/bin/sh\n")
        .pax(&[("SCHILY.xattr.user.note", b"hello"), ("mtime", b"1500000000.25")])
        .file("etc/conf", b"a=b\n")
        .symlink("bin/sh", "tool")
        .hardlink("bin/tool2", "bin/tool")
        .fifo("run/fifo")
        .char_dev("dev/null", 1, 3)
        .file_mode("data/f666", 0o666, (0, 0), b"x")
        .finish();
    let stats = apply(&root, &tar, opts(WhiteoutMode::Vfs)).unwrap();
    assert_eq!(stats.entries, 8);
    assert_eq!(stats.size, 10 + 4 + 1);
    let tool = std::fs::metadata(root.join("bin/tool")).unwrap();
    assert_eq!(tool.permissions().mode() & 0o7777, 0o4755);
    assert_eq!((tool.uid(), tool.gid()), (1000, 1001));
    assert_eq!(tool.mtime(), 1_600_000_000);
    assert_eq!(tool.nlink(), 2);
    let conf = std::fs::metadata(root.join("etc/conf")).unwrap();
    assert_eq!((conf.mtime(), conf.mtime_nsec()), (1_500_000_000, 250_000_000));
    let fd = std::fs::File::open(root.join("etc/conf")).unwrap();
    assert_eq!(
        crate::xattr::get_fd(std::os::fd::AsFd::as_fd(&fd), c"user.note")
            .unwrap()
            .unwrap(),
        b"hello"
    );
    assert_eq!(
        std::fs::read_link(root.join("bin/sh")).unwrap(),
        Path::new("tool")
    );
    assert!(
        std::fs::symlink_metadata(root.join("run/fifo"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    let null = std::fs::symlink_metadata(root.join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), rustix::fs::makedev(1, 3));
    assert_eq!(
        std::fs::metadata(root.join("data/f666"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o666
    );
    // Directory times are set after their content was written.
    assert_eq!(
        std::fs::metadata(root.join("bin")).unwrap().mtime(),
        1_600_000_000
    );
}

#[test]
fn later_entries_replace_earlier_ones() {
    let (_t, root) = sandbox();
    let tar = TarBuilder::new()
        .file("a", b"file")
        .dir("a/")
        .file("a/inner", b"x")
        .file("a", b"file again")
        .symlink("s", "a")
        .file("s", b"plain")
        .dir("d/")
        .dir("d/")
        .finish();
    apply(&root, &tar, opts(WhiteoutMode::Vfs)).unwrap();
    assert_eq!(std::fs::read(root.join("a")).unwrap(), b"file again");
    assert!(std::fs::symlink_metadata(root.join("s")).unwrap().is_file());
    assert!(root.join("d").is_dir());
}

#[test]
fn hostile_paths_stay_inside() {
    let (t, root) = sandbox();
    let outside = t.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let abs = outside.to_str().unwrap().to_string();
    let tar = TarBuilder::new()
        .file("../../dotdot", b"1")
        .file("/abs/file", b"2")
        .symlink("up", "../..")
        .file("up/via-relative", b"3")
        .symlink("host", &abs)
        .file("host/via-absolute", b"4")
        .dir("hostdir")
        .symlink("hostdir/x", "/")
        .file("hostdir/x/etc-probe", b"5")
        .finish();
    apply(&root, &tar, opts(WhiteoutMode::Overlay)).unwrap();
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    assert_eq!(std::fs::read(root.join("dotdot")).unwrap(), b"1");
    assert_eq!(std::fs::read(root.join("abs/file")).unwrap(), b"2");
    assert_eq!(std::fs::read(root.join("via-relative")).unwrap(), b"3");
    let contained = root.join(abs.trim_start_matches('/')).join("via-absolute");
    assert_eq!(std::fs::read(contained).unwrap(), b"4");
    assert_eq!(std::fs::read(root.join("etc-probe")).unwrap(), b"5");
    assert!(!Path::new("/etc-probe").exists());
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 2);
}

#[test]
fn hardlink_escapes_are_refused() {
    let (t, root) = sandbox();
    let secret = t.path().join("secret");
    std::fs::write(&secret, b"s").unwrap();
    let err = |tar: Vec<u8>| apply(&root, &tar, opts(WhiteoutMode::Vfs)).unwrap_err();
    let e = err(TarBuilder::new().hardlink("h", "../secret").finish());
    assert!(matches!(e, Error::UnsafeArchive(_)), "{e}");
    let e = err(TarBuilder::new().hardlink("h", "missing").finish());
    assert!(e.to_string().contains("not extracted"), "{e}");
    let abs = t.path().to_str().unwrap();
    let e = err(TarBuilder::new()
        .symlink("s", abs)
        .hardlink("h", "s/secret")
        .finish());
    assert!(matches!(e, Error::UnsafeArchive(_)), "{e}");
    assert_eq!(std::fs::metadata(&secret).unwrap().nlink(), 1);
    assert!(!root.join("h").exists());
}

#[test]
fn overlay_whiteouts() {
    let (_t, root) = sandbox();
    let tar = TarBuilder::new()
        .dir("etc/")
        .file("etc/.wh.gone", b"")
        .dir("opq/")
        .file("opq/.wh..wh..opq", b"")
        .file("opq/new", b"n")
        .file(".wh.top", b"")
        .finish();
    apply(&root, &tar, opts(WhiteoutMode::Overlay)).unwrap();
    for wh in ["etc/gone", "top"] {
        let m = std::fs::symlink_metadata(root.join(wh)).unwrap();
        assert!(m.file_type().is_char_device() && m.rdev() == 0, "{wh}");
    }
    let fd = std::fs::File::open(root.join("opq")).unwrap();
    let v = crate::xattr::get_fd(std::os::fd::AsFd::as_fd(&fd), whiteout::OPAQUE_XATTR).unwrap();
    assert_eq!(v.as_deref(), Some(&b"y"[..]));
    assert!(!root.join("opq/.wh..wh..opq").exists());
}

#[test]
fn vfs_whiteouts_delete() {
    let (_t, root) = sandbox();
    let lower = TarBuilder::new()
        .file("etc/gone", b"")
        .file("etc/kept", b"")
        .file("opq/old", b"")
        .file("opq/sub/old", b"")
        .finish();
    apply(&root, &lower, opts(WhiteoutMode::Vfs)).unwrap();
    let upper = TarBuilder::new()
        .file("etc/.wh.gone", b"")
        .file("opq/new", b"n")
        .file("opq/sub/new", b"n")
        .file("opq/.wh..wh..opq", b"")
        .file(".wh.missing", b"")
        .finish();
    apply(&root, &upper, opts(WhiteoutMode::Vfs)).unwrap();
    assert!(!root.join("etc/gone").exists());
    assert!(root.join("etc/kept").exists());
    assert!(!root.join("opq/old").exists());
    assert!(!root.join("opq/sub/old").exists());
    assert!(root.join("opq/new").exists());
    assert!(root.join("opq/sub/new").exists());
}

#[test]
fn device_policy() {
    let (_t, root) = sandbox();
    let tar = TarBuilder::new()
        .char_dev("dev/tty", 5, 0)
        .fifo("dev/fifo")
        .finish();
    let mut o = opts(WhiteoutMode::Vfs);
    o.devices = DevicePolicy::Reject;
    let e = apply(&root, &tar, o).unwrap_err();
    assert_eq!(
        e.to_string(),
        "device node /dev/tty is not allowed by the device policy"
    );
    o.devices = DevicePolicy::Skip;
    apply(&root, &tar, o).unwrap();
    assert!(!root.join("dev/tty").exists());
    assert!(root.join("dev/fifo").exists());
    // Overlay whiteouts are 0/0 character devices and are always allowed.
    o.whiteouts = WhiteoutMode::Overlay;
    o.devices = DevicePolicy::Reject;
    apply(&root, &TarBuilder::new().char_dev("wh", 0, 0).finish(), o).unwrap();
}

#[test]
fn garbage_is_an_invalid_archive() {
    let (_t, root) = sandbox();
    let e = apply(&root, &[0x42u8; 1024], opts(WhiteoutMode::Vfs)).unwrap_err();
    assert!(e.to_string().starts_with("invalid tar archive"), "{e}");
    assert_eq!(
        apply(&root, b"", opts(WhiteoutMode::Vfs)).unwrap(),
        ExtractStats::default()
    );
}

#[test]
fn pax_times() {
    assert_eq!(
        parse_pax_time("12.5").map(|t| (t.tv_sec, t.tv_nsec)),
        Some((12, 500_000_000))
    );
    assert_eq!(
        parse_pax_time("-1.25").map(|t| (t.tv_sec, t.tv_nsec)),
        Some((-2, 750_000_000))
    );
    assert_eq!(parse_pax_time("7").map(|t| (t.tv_sec, t.tv_nsec)), Some((7, 0)));
    assert!(parse_pax_time("x").is_none());
}
