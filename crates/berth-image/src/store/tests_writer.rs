//! Writer tests for pulls: layers unpacked out of order and at once (overlay), in order (vfs), pushed in order,
//! refused on the wrong parent or diff id; digest references moved on request; the snapshot area marked as a
//! top directory on ext4.

use super::testkit::{config_for, rootfs_tar, store};
use super::*;
use crate::digest::chain_id;
use crate::reference::Reference;
use crate::snapshot::DriverChoice;
use crate::testutil::TarBuilder;

fn layers() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let top = TarBuilder::new().file("etc/motd", b"top").finish();
    let wh = TarBuilder::new()
        .file("etc/.wh.motd", b"")
        .file("third", b"3")
        .finish();
    (rootfs_tar("base"), top, wh)
}

#[test]
fn unpacked_concurrently_then_pushed_in_order() {
    for driver in [DriverChoice::Overlay, DriverChoice::Vfs] {
        let (_t, s) = store(driver);
        let (a, b, c) = layers();
        let diffs = [Digest::of(&a), Digest::of(&b), Digest::of(&c)];
        let chains = crate::digest::chain_ids(&diffs);
        let mut w = s.writer().unwrap();
        let tars = [&a, &b, &c];
        if w.unpacks_independently() {
            // Top layer first, all three at once.
            let unpacked: Vec<Unpacked> = std::thread::scope(|sc| {
                let handles: Vec<_> = (0..3usize)
                    .rev()
                    .map(|i| {
                        let (w, parent, tar, diff) =
                            (&w, i.checked_sub(1).map(|p| &chains[p]), tars[i], &diffs[i]);
                        sc.spawn(move || w.unpack(parent, &tar[..], Some(diff)).unwrap())
                    })
                    .collect();
                let mut v: Vec<Unpacked> = handles.into_iter().map(|h| h.join().unwrap()).collect();
                v.reverse();
                v
            });
            assert_eq!(unpacked[2].chain_id(), &chains[2]);
            // Out of order is refused.
            let mut it = unpacked.into_iter();
            let first = it.next().unwrap();
            let second = it.next().unwrap();
            let e = w.push(second).unwrap_err();
            assert!(e.to_string().contains("unpacked on another parent"), "{e}");
            w.push(first).unwrap();
            let again = w.unpack(Some(&chains[0]), &b[..], Some(&diffs[1])).unwrap();
            w.push(again).unwrap();
            w.push(it.next().unwrap()).unwrap();
        } else {
            // vfs: each layer starts as a copy of the one below, which must be the writer's top.
            assert!(w.unpack(Some(&chains[0]), &b[..], Some(&diffs[1])).is_err());
            for i in 0..3 {
                let u = w
                    .unpack(w.top().cloned().as_ref(), &tars[i][..], Some(&diffs[i]))
                    .unwrap();
                w.push(u).unwrap();
            }
        }
        let id = w
            .commit(
                &config_for(&diffs, "three"),
                &[Reference::parse("three").unwrap()],
                None,
            )
            .unwrap();
        let img = s.get("three").unwrap();
        assert_eq!(img.id, id);
        assert_eq!(
            img.layers.iter().map(|l| l.chain_id.clone()).collect::<Vec<_>>(),
            chains
        );
        assert!(s.has_layer(&chain_id(Some(&chains[1]), &diffs[2])).unwrap());
    }
}

#[test]
fn wrong_diff_id_is_refused_and_discarded() {
    let (t, s) = store(DriverChoice::Overlay);
    let (a, b, _) = layers();
    let w = s.writer().unwrap();
    let e = w.unpack(None, &a[..], Some(&Digest::of(&b))).unwrap_err();
    assert!(e.to_string().contains("diff id mismatch"), "{e}");
    drop(w);
    let left: Vec<_> = std::fs::read_dir(t.path().join("overlay"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != "rw")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn digest_references_move_only_when_asked() {
    let (_t, s) = store(DriverChoice::Overlay);
    let (a, b, _) = layers();
    let digest_ref = Reference::parse(&format!("x@{}", Digest::of(b"index"))).unwrap();
    let commit = |tar: &[u8], comment: &str, moving: bool| {
        let mut w = s.writer().unwrap();
        if moving {
            w.move_digest_references();
        }
        w.add_layer(tar, None).unwrap();
        w.commit(
            &config_for(&[Digest::of(tar)], comment),
            std::slice::from_ref(&digest_ref),
            None,
        )
    };
    let first = commit(&a, "one", false).unwrap();
    let e = commit(&b, "two", false).unwrap_err();
    assert!(e.to_string().starts_with("Cannot overwrite digest"), "{e}");
    let second = commit(&b, "two", true).unwrap();
    assert_ne!(first, second);
    assert_eq!(s.get(&digest_ref.to_string()).unwrap().id, second);
}

#[test]
fn snapshot_area_is_a_top_directory_on_ext4() {
    let (t, s) = store(DriverChoice::Overlay);
    let (a, _, _) = layers();
    s.writer().unwrap().add_layer(&a[..], None).unwrap();
    let area = crate::fsutil::open_dir(&t.path().join("overlay")).unwrap();
    const EXT4_SUPER_MAGIC: i64 = 0xEF53;
    if rustix::fs::fstatfs(&area).unwrap().f_type as i64 == EXT4_SUPER_MAGIC {
        assert!(
            rustix::fs::ioctl_getflags(&area)
                .unwrap()
                .contains(rustix::fs::IFlags::TOPDIR)
        );
    }
}
