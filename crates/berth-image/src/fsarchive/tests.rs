//! Tests of path archives and extraction on plain directories standing for a container root: Docker's entry
//! naming, metadata and hardlinks round trips, long names, and hostile archives that must stay inside.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tar::EntryType;

use super::*;
use crate::error::Error;
use crate::testutil::TarBuilder;

/// A temp dir holding `root` (the container) and `outside` (the host next to it).
fn sandbox() -> (tempfile::TempDir, PathBuf, OwnedFd) {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir(t.path().join("outside")).unwrap();
    let fd = crate::fsutil::open_dir(&root).unwrap();
    (t, root, fd)
}

fn entries(tar: &[u8]) -> Vec<(String, EntryType, String)> {
    tar::Archive::new(tar)
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let link = e
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned());
            (
                String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                e.header().entry_type(),
                link.unwrap_or_default(),
            )
        })
        .collect()
}

fn names(tar: &[u8]) -> Vec<String> {
    entries(tar).into_iter().map(|e| e.0).collect()
}

fn get(root: &OwnedFd, path: &str) -> Result<(PathStat, Vec<u8>), Error> {
    let mut out = Vec::new();
    let st = write_path_archive(root.as_fd(), path, &mut out)?;
    Ok((st, out))
}

fn put(root: &OwnedFd, path: &str, tar: &[u8], rules: ExtractRules) -> Result<(), Error> {
    let dir = resolve_extract_dir(root.as_fd(), path)?;
    extract_into(root.as_fd(), &dir, &mut &tar[..], rules)
}

#[test]
fn archive_names_follow_docker() {
    let (_t, root, fd) = sandbox();
    std::fs::write(root.join("etc/passwd"), b"root\n").unwrap();
    std::fs::create_dir(root.join("etc/sub")).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("etclink")).unwrap();
    assert_eq!(
        names(&get(&fd, "/etc").unwrap().1),
        ["etc/", "etc/passwd", "etc/sub/"]
    );
    assert_eq!(
        names(&get(&fd, "etc/").unwrap().1),
        ["etc/", "etc/passwd", "etc/sub/"]
    );
    assert_eq!(
        names(&get(&fd, "/etc/.").unwrap().1),
        ["./", "./passwd", "./sub/"]
    );
    assert_eq!(names(&get(&fd, "/etc/passwd").unwrap().1), ["passwd"]);
    // A symlink is archived as itself; with a trailing slash its directory is, under the link's name.
    let (st, tar) = get(&fd, "/etclink").unwrap();
    assert_eq!(
        entries(&tar),
        [("etclink".into(), EntryType::Symlink, "/etc".into())]
    );
    assert_eq!(st.link_target, "/etc");
    assert_eq!(
        names(&get(&fd, "/etclink/").unwrap().1),
        ["etclink/", "etclink/passwd", "etclink/sub/"]
    );
    let all = names(&get(&fd, "/").unwrap().1);
    assert_eq!(all[..3], ["/", "/etc/", "/etc/passwd"]);
    assert!(matches!(get(&fd, "/nope"), Err(Error::NotFound(_))));
}

#[test]
fn metadata_hardlinks_and_long_names_round_trip() {
    let (t, root, fd) = sandbox();
    let long = format!("etc/{}/{}", "d".repeat(120), "f".repeat(140));
    let tar = TarBuilder::new()
        .file_mode("etc/tool", 0o4750, (1000, 1001), b"#!/bin/sh\n")
        .hardlink("etc/tool2", "etc/tool")
        .fifo("etc/fifo")
        .symlink("etc/sh", "tool")
        .finish();
    crate::extract::apply_layer(
        &root,
        &tar[..],
        &crate::ExtractOptions::new(crate::WhiteoutMode::Vfs),
    )
    .unwrap();
    std::fs::create_dir_all(root.join(&long).parent().unwrap()).unwrap();
    std::fs::write(root.join(&long), b"long").unwrap();
    std::fs::hard_link(root.join(&long), root.join("etc/longlink")).unwrap();
    let far = format!("/{}", "t".repeat(150));
    std::os::unix::fs::symlink(&far, root.join("etc/far")).unwrap();
    let (_, archive) = get(&fd, "/etc").unwrap();
    let got = entries(&archive);
    assert!(
        got.contains(&("etc/tool2".into(), EntryType::Link, "etc/tool".into())),
        "{got:?}"
    );
    assert!(got.iter().any(|e| e.0 == long), "{got:?}");
    // Extracting the archive elsewhere gives back the same tree.
    let copy = t.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    let cfd = crate::fsutil::open_dir(&copy).unwrap();
    put(&cfd, "/", &archive, ExtractRules::default()).unwrap();
    let tool = std::fs::metadata(copy.join("etc/tool")).unwrap();
    assert_eq!(tool.permissions().mode() & 0o7777, 0o4750);
    assert_eq!((tool.uid(), tool.gid(), tool.nlink()), (1000, 1001, 2));
    assert_eq!(tool.mtime(), 1_600_000_000);
    assert_eq!(
        std::fs::read_link(copy.join("etc/sh")).unwrap(),
        Path::new("tool")
    );
    assert_eq!(std::fs::read(copy.join(&long)).unwrap(), b"long");
    assert_eq!(std::fs::metadata(copy.join("etc/longlink")).unwrap().nlink(), 2);
    assert_eq!(std::fs::read_link(copy.join("etc/far")).unwrap(), Path::new(&far));
}

#[test]
fn export_has_no_root_entry() {
    let (_t, root, fd) = sandbox();
    std::fs::write(root.join("etc/passwd"), b"x").unwrap();
    let mut out = Vec::new();
    write_root_archive(fd.as_fd(), &mut out).unwrap();
    assert_eq!(names(&out), ["etc/", "etc/passwd"]);
}

#[test]
fn extraction_lands_below_the_resolved_destination() {
    let (_t, root, fd) = sandbox();
    std::fs::create_dir_all(root.join("var/tmp")).unwrap();
    std::os::unix::fs::symlink("/var/tmp", root.join("tmp")).unwrap();
    let tar = TarBuilder::new()
        .dir("./")
        .file("a", b"a")
        .file(".wh.b", b"")
        .file_mode("owned", 0o600, (5, 6), b"o")
        .hardlink("a2", "a")
        .finish();
    let dir = resolve_extract_dir(fd.as_fd(), "/tmp").unwrap();
    assert_eq!(dir.container_path(), "/var/tmp");
    let before = std::fs::metadata(root.join("var/tmp"))
        .unwrap()
        .permissions()
        .mode();
    let rules = ExtractRules {
        owner: Some((7, 8)),
        ..Default::default()
    };
    extract_into(fd.as_fd(), &dir, &mut &tar[..], rules).unwrap();
    assert_eq!(std::fs::read(root.join("var/tmp/a")).unwrap(), b"a");
    assert!(root.join("var/tmp/.wh.b").is_file());
    let owned = std::fs::metadata(root.join("var/tmp/owned")).unwrap();
    assert_eq!((owned.uid(), owned.gid()), (7, 8));
    assert_eq!(std::fs::metadata(root.join("var/tmp/a2")).unwrap().nlink(), 2);
    // The "./" entry does not change the destination itself.
    assert_eq!(
        std::fs::metadata(root.join("var/tmp"))
            .unwrap()
            .permissions()
            .mode(),
        before
    );
    std::fs::write(root.join("etc/file"), b"").unwrap();
    let e = resolve_extract_dir(fd.as_fd(), "/etc/file").unwrap_err();
    assert_eq!(e.to_string(), "extraction point is not a directory");
    assert!(
        matches!(resolve_extract_dir(fd.as_fd(), "/missing"), Err(Error::NotFound(p)) if p == "/missing")
    );
}

#[test]
fn no_overwrite_dir_non_dir() {
    let (_t, root, fd) = sandbox();
    std::fs::create_dir(root.join("etc/d")).unwrap();
    std::fs::write(root.join("etc/f"), b"").unwrap();
    let rules = ExtractRules {
        no_overwrite_dir_non_dir: true,
        ..Default::default()
    };
    let e = put(&fd, "/etc", &TarBuilder::new().file("d", b"x").finish(), rules).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"cannot overwrite directory "/etc/d" with non-directory "/etc""#
    );
    let e = put(&fd, "/etc", &TarBuilder::new().dir("f/").finish(), rules).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"cannot overwrite non-directory "/etc/f" with directory "/etc""#
    );
    put(
        &fd,
        "/etc",
        &TarBuilder::new().file("d", b"x").finish(),
        ExtractRules::default(),
    )
    .unwrap();
    assert!(root.join("etc/d").is_file());
}

#[test]
fn hostile_archives_stay_inside() {
    let (t, root, fd) = sandbox();
    let outside = t.path().join("outside");
    let host = outside.to_str().unwrap();
    let refused = [
        TarBuilder::new().file("../escape", b"x").finish(),
        TarBuilder::new().file("a/../../escape", b"x").finish(),
        TarBuilder::new().hardlink("h", "../../outside/x").finish(),
        TarBuilder::new().char_dev("null", 1, 3).finish(),
        TarBuilder::new().char_dev("wh", 0, 0).finish(),
        TarBuilder::new().symlink("s", host).hardlink("h", "s/x").finish(),
    ];
    for tar in &refused {
        let e = put(&fd, "/etc", tar, ExtractRules::default()).unwrap_err();
        assert!(matches!(e, Error::UnsafeArchive(_)), "{e}");
    }
    // Contained: absolute names, symlinks to the host's paths and up the tree are resolved inside the root.
    let tar = TarBuilder::new()
        .file("/abs", b"1")
        .symlink("up", "../../../..")
        .file("up/via-up", b"2")
        .symlink("hostdir", host)
        .file("hostdir/via-abs", b"3")
        .finish();
    put(&fd, "/etc", &tar, ExtractRules::default()).unwrap();
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    assert_eq!(std::fs::read(root.join("etc/abs")).unwrap(), b"1");
    assert_eq!(std::fs::read(root.join("via-up")).unwrap(), b"2");
    assert_eq!(
        std::fs::read(root.join(host.trim_start_matches('/')).join("via-abs")).unwrap(),
        b"3"
    );
    // A destination symlinked to the host's directory is resolved inside the root too.
    std::os::unix::fs::symlink(host, root.join("dest")).unwrap();
    put(
        &fd,
        "/dest",
        &TarBuilder::new().file("x", b"x").finish(),
        ExtractRules::default(),
    )
    .unwrap();
    assert_eq!(
        std::fs::read(root.join(host.trim_start_matches('/')).join("x")).unwrap(),
        b"x"
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 2);
}

#[test]
fn files_are_read_inside_the_root_only() {
    let (t, root, fd) = sandbox();
    std::fs::write(t.path().join("outside/secret"), b"s").unwrap();
    std::fs::write(root.join("etc/passwd"), b"p").unwrap();
    let secret = t.path().join("outside/secret");
    std::os::unix::fs::symlink(&secret, root.join("etc/link")).unwrap();
    assert_eq!(read_file_in(fd.as_fd(), "/etc/passwd").unwrap().unwrap(), b"p");
    assert_eq!(read_file_in(fd.as_fd(), "/etc/link").unwrap(), None);
    assert_eq!(read_file_in(fd.as_fd(), "/etc").unwrap(), None);
}
