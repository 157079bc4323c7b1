//! Store tests: import (plain, gzip, zstd, changes, errors), list, get by every name form, tag,
//! writers (shared layers, digest checks), concurrency.

use std::io::Write;

use super::testkit::{PASSWD, config_for, image_of, layer_dirs, names, rootfs_tar, store};
use super::*;
use crate::reference::Reference;
use crate::snapshot::DriverChoice;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn import(s: &ImageStore, data: &[u8], name: Option<&str>) -> ImageId {
    let opts = ImportOptions {
        reference: name.map(str::to_string),
        ..Default::default()
    };
    s.import(data, opts).unwrap()
}

#[test]
fn import_plain_gzip_zstd_share_one_layer() {
    let (t, s) = store(DriverChoice::Overlay);
    let tar = rootfs_tar("a");
    let a = import(&s, &tar, Some("plain"));
    let b = import(&s, &gzip(&tar), Some("gz:1"));
    let c = import(
        &s,
        &zstd::encode_all(&tar[..], 3).unwrap(),
        Some("localhost:5000/zst"),
    );
    let images: Vec<Image> = [&a, &b, &c]
        .iter()
        .map(|id| s.get(id.as_str()).unwrap())
        .collect();
    assert!(
        images
            .iter()
            .all(|i| i.layers.len() == 1 && i.layers[0] == images[0].layers[0])
    );
    assert_eq!(images[0].layers[0].diff_id, crate::digest::Digest::of(&tar));
    let dirs = layer_dirs(t.path(), "overlay");
    assert_eq!(dirs.len(), 1, "one layer unpacked once");
    let diff = dirs[0].join("diff");
    assert_eq!(std::fs::read(diff.join("bin/busybox")).unwrap(), b"busybox a");
    assert_eq!(
        std::fs::read_link(diff.join("bin/sh")).unwrap().to_str(),
        Some("busybox")
    );
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(diff.join("bin/ls")).unwrap().ino(),
        std::fs::metadata(diff.join("bin/busybox")).unwrap().ino()
    );
    let size = images[0].size;
    assert_eq!(size, ("busybox a".len() + PASSWD.len()) as u64);
    let list = s.list().unwrap();
    assert_eq!(list.len(), 3);
    let tags: Vec<Vec<String>> = {
        let mut v: Vec<Vec<String>> = list.iter().map(|i| i.repo_tags.clone()).collect();
        v.sort();
        v
    };
    assert_eq!(
        tags,
        [
            vec!["gz:1".to_string()],
            vec!["localhost:5000/zst:latest".into()],
            vec!["plain:latest".into()]
        ]
    );
    assert!(list.iter().all(|i| i.size == size && i.created > 1_700_000_000));
}

#[test]
fn import_config_and_lookups() {
    let (_t, s) = store(DriverChoice::Vfs);
    let opts = ImportOptions {
        reference: Some("user/app:1".into()),
        changes: vec!["CMD [\"/bin/sh\"]".into(), "ENV A=1".into(), "LABEL k=v".into()],
        message: Some("hello".into()),
        platform: Some("linux/arm64/v8".into()),
    };
    let id = s.import(&rootfs_tar("x")[..], opts).unwrap();
    let img = s.get("user/app:1").unwrap();
    assert_eq!(img.id, id);
    assert_eq!(ImageId::of_config(&img.raw_config), id);
    let c = &img.config;
    assert_eq!(
        (c.os.as_str(), c.architecture.as_str(), c.variant.as_str()),
        ("linux", "arm64", "v8")
    );
    assert_eq!(c.comment, "hello");
    assert_eq!(c.history[0].comment, "hello");
    let cc = c.config.as_ref().unwrap();
    assert_eq!(cc.cmd.as_deref(), Some(&["/bin/sh".to_string()][..]));
    assert_eq!(cc.env.as_deref(), Some(&["A=1".to_string()][..]));
    assert_eq!(
        s.list().unwrap()[0].labels.get("k").map(String::as_str),
        Some("v")
    );
    assert_eq!(img.repo_tags, ["user/app:1"]);
    for name in [
        "docker.io/user/app:1",
        id.as_str(),
        id.hex(),
        &id.hex()[..5],
        &format!("sha256:{}", &id.hex()[..7]),
    ] {
        assert_eq!(s.get(name).unwrap().id, id, "{name}");
    }
    let err = |n: &str| s.get(n).unwrap_err().to_string();
    assert_eq!(err("user/app"), "No such image: user/app:latest");
    assert_eq!(err("foo"), "No such image: foo:latest");
    assert_eq!(
        err(&"0".repeat(64)),
        format!("No such image: sha256:{}", "0".repeat(64))
    );
    assert_eq!(
        err("Foo_Bar"),
        "invalid reference format: repository name (library/Foo_Bar) must be lowercase"
    );
    assert_eq!(s.get("foo").unwrap_err().kind(), crate::ErrorKind::NotFound);
    let plain = import(&s, &rootfs_tar("y"), None);
    let img = s.get(plain.as_str()).unwrap();
    assert_eq!(img.config.comment, "Imported from -");
    assert!(img.repo_tags.is_empty());
    assert_eq!(
        (img.config.os.as_str(), img.config.architecture.as_str()),
        ("linux", "amd64")
    );
}

#[test]
fn failed_imports_store_nothing() {
    let (t, s) = store(DriverChoice::Overlay);
    let bad_change = ImportOptions {
        changes: vec!["RUN echo".into()],
        ..Default::default()
    };
    let e = s.import(&rootfs_tar("x")[..], bad_change).unwrap_err();
    assert_eq!(e.to_string(), "run is not a valid change command");
    assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
    let xz = [0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2, 3];
    let e = s.import(&xz[..], ImportOptions::default()).unwrap_err();
    assert_eq!(e.to_string(), "unsupported compression format: xz");
    let digest_ref = ImportOptions {
        reference: Some(format!("a@{}", crate::Digest::of(b"x"))),
        ..Default::default()
    };
    assert_eq!(
        s.import(&rootfs_tar("x")[..], digest_ref)
            .unwrap_err()
            .to_string(),
        "cannot import digest reference"
    );
    let e = s.import(&[7u8; 2048][..], ImportOptions::default()).unwrap_err();
    assert!(e.to_string().starts_with("invalid tar archive"), "{e}");
    assert!(s.list().unwrap().is_empty());
    assert!(names(&t.path().join("overlay")).iter().all(|n| n == "rw"));
    assert!(names(&t.path().join("image/layers")).is_empty());
}

#[test]
fn ambiguous_prefix_is_an_error() {
    let (_t, s) = store(DriverChoice::Vfs);
    let d = crate::Digest::of(&rootfs_tar("x"));
    let mut ids = Vec::new();
    for i in 0..17 {
        let mut w = s.writer().unwrap();
        if i == 0 {
            assert!(w.add_existing_layer(&d).is_err());
            w.add_layer(&rootfs_tar("x")[..], None).unwrap();
        } else {
            w.add_existing_layer(&d).unwrap();
        }
        ids.push(
            w.commit(&config_for(std::slice::from_ref(&d), &i.to_string()), &[], None)
                .unwrap(),
        );
    }
    let first = |id: &ImageId| id.hex().as_bytes()[0];
    let dup = ids
        .iter()
        .find(|a| ids.iter().filter(|b| first(b) == first(a)).count() > 1)
        .unwrap();
    let prefix = &dup.hex()[..1];
    assert_eq!(
        s.get(prefix).unwrap_err().to_string(),
        format!("No such image: {prefix}:latest")
    );
    assert_eq!(s.get(&dup.hex()[..20]).unwrap().id, *dup);
}

#[test]
fn tags_move_and_digest_tags_are_refused() {
    let (_t, s) = store(DriverChoice::Vfs);
    let a = import(&s, &rootfs_tar("a"), Some("busybox"));
    let b = import(&s, &rootfs_tar("b"), Some("other"));
    s.tag("busybox", "mine:1").unwrap();
    s.tag(&a.hex()[..12], "localhost:5000/mine").unwrap();
    assert_eq!(
        s.get("mine:1").unwrap().repo_tags,
        ["busybox:latest", "mine:1", "localhost:5000/mine:latest"]
    );
    s.tag("other", "mine:1").unwrap();
    assert_eq!(s.get("mine:1").unwrap().id, b);
    let e = s
        .tag("busybox", &format!("x@{}", crate::Digest::of(b"q")))
        .unwrap_err();
    assert_eq!(e.to_string(), "refusing to create a tag with a digest reference");
    assert_eq!(
        s.tag("nope", "x").unwrap_err().to_string(),
        "No such image: nope:latest"
    );
    assert!(s.tag("busybox", "Bad").is_err());
}

#[test]
fn writer_checks_and_existing_layers() {
    let (t, s) = store(DriverChoice::Vfs);
    let base = rootfs_tar("base");
    let mut w = s.writer().unwrap();
    let wrong = crate::Digest::of(b"not it");
    assert!(matches!(
        w.add_layer(&base[..], Some(&wrong)),
        Err(crate::Error::Corrupt(_))
    ));
    let l = w.add_layer(&base[..], Some(&crate::Digest::of(&base))).unwrap();
    assert!(
        w.commit(&config_for(&[], "x"), &[], None).is_err(),
        "rootfs must match the layers"
    );
    let one = image_of(&s, &[&base], "one");
    assert!(s.has_layer(&l.chain_id).unwrap());
    let mut w = s.writer().unwrap();
    w.add_existing_layer(&l.diff_id).unwrap();
    let top = crate::testutil::TarBuilder::new().file("top", b"t").finish();
    let l2 = w.add_layer(&top[..], None).unwrap();
    let two = w
        .commit(
            &config_for(&[l.diff_id.clone(), l2.diff_id], "two"),
            &[Reference::parse("two").unwrap()],
            Some(&one),
        )
        .unwrap();
    assert_eq!(
        layer_dirs(t.path(), "vfs").len(),
        2,
        "the shared base is unpacked once"
    );
    let two = s.get(two.as_str()).unwrap();
    assert_eq!(two.parent.as_ref(), Some(&one));
    // vfs layers hold the full tree.
    let top_dir = t.path().join("vfs").join(two.layers[1].chain_id.hex());
    assert!(top_dir.join("bin/busybox").exists() && top_dir.join("top").exists());
    let gd = s.image_graph_driver_data(&two);
    assert_eq!(gd.name, "vfs");
}

#[test]
fn concurrent_imports_and_reads() {
    let (t, s) = store(DriverChoice::Overlay);
    let tars: Vec<Vec<u8>> = (0..4).map(|i| rootfs_tar(&format!("{}", i % 2))).collect();
    std::thread::scope(|scope| {
        for (i, tar) in tars.iter().enumerate() {
            let s = &s;
            scope.spawn(move || {
                let opts = ImportOptions {
                    reference: Some(format!("img{i}")),
                    ..Default::default()
                };
                s.import(&gzip(tar)[..], opts).unwrap();
            });
        }
        let other = ImageStore::open(t.path(), DriverChoice::Auto).unwrap();
        for _ in 0..20 {
            for img in other.list().unwrap() {
                assert_eq!(img.size, ("busybox 0".len() + PASSWD.len()) as u64);
            }
        }
    });
    assert_eq!(s.list().unwrap().len(), 4);
    assert_eq!(layer_dirs(t.path(), "overlay").len(), 2);
    assert!(
        names(&t.path().join("overlay"))
            .iter()
            .all(|n| !n.starts_with(".tmp"))
    );
}
