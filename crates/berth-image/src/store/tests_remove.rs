//! Store tests: `rmi` semantics (untag, conflicts with stopped and running containers, force),
//! prune, layer garbage collection, and loading a store left behind by a killed process.

use super::testkit::{image_of, layer_dirs, names, rootfs_tar, store, unused};
use super::*;
use crate::snapshot::DriverChoice;
use crate::testutil::TarBuilder;

const CID: &str = "c0ffee00c0ffee00c0ffee00c0ffee00";

fn untagged(s: &str) -> RemoveEvent {
    RemoveEvent::Untagged(s.into())
}

#[test]
fn untag_then_delete_with_layers() {
    let (t, s) = store(DriverChoice::Overlay);
    let id = image_of(&s, &[&rootfs_tar("a")], "a");
    s.tag("a", "b:2").unwrap();
    let chain = s.get("a").unwrap().layers[0].chain_id.clone();
    assert_eq!(s.remove("a", false, &unused).unwrap(), [untagged("a:latest")]);
    let events = s.remove("b:2", false, &unused).unwrap();
    assert_eq!(
        events,
        [
            untagged("b:2"),
            RemoveEvent::Deleted(id.digest().clone()),
            RemoveEvent::Deleted(chain)
        ]
    );
    assert!(s.list().unwrap().is_empty());
    assert!(layer_dirs(t.path(), "overlay").is_empty());
    assert!(names(&t.path().join("image/blobs/sha256")).is_empty());
    assert!(names(&t.path().join("image/layers")).is_empty());
    assert_eq!(
        s.remove("a", false, &unused).unwrap_err().to_string(),
        "No such image: a:latest"
    );
}

#[test]
fn stopped_container_blocks_until_forced_and_keeps_layers() {
    let (t, s) = store(DriverChoice::Vfs);
    let id = image_of(&s, &[&rootfs_tar("a")], "busybox");
    s.create_rw_layer(CID, &id).unwrap();
    let stopped = |_: &ImageId| Usage::Stopped(CID.into());
    let e = s.remove("busybox", false, &stopped).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "conflict: unable to remove repository reference \"busybox\" (must force) - container {} is using its referenced image {}",
            &CID[..12],
            id.short()
        )
    );
    assert_eq!(e.kind(), crate::ErrorKind::Conflict);
    let e = s.remove(id.hex(), false, &stopped).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "conflict: unable to delete {} (must be forced) - image is being used by stopped container {}",
            id.short(),
            &CID[..12]
        )
    );
    let events = s.remove("busybox", true, &stopped).unwrap();
    assert_eq!(
        events,
        [
            untagged("busybox:latest"),
            RemoveEvent::Deleted(id.digest().clone())
        ]
    );
    assert_eq!(
        layer_dirs(t.path(), "vfs").len(),
        1,
        "the container still uses the layer"
    );
    assert!(s.rw_layer(CID).is_ok());
    s.remove_rw_layer(CID).unwrap();
    assert!(layer_dirs(t.path(), "vfs").is_empty(), "the last user is gone");
}

#[test]
fn running_container_cannot_be_forced() {
    let (_t, s) = store(DriverChoice::Vfs);
    let id = image_of(&s, &[&rootfs_tar("a")], "busybox");
    let running = |_: &ImageId| Usage::Running(CID.into());
    let e = s.remove(&id.hex()[..4], true, &running).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "conflict: unable to delete {} (cannot be forced) - image is being used by running container {}",
            id.short(),
            &CID[..12]
        )
    );
    // Forcing by name only untags; the image stays, dangling.
    assert_eq!(
        s.remove("busybox", true, &running).unwrap(),
        [untagged("busybox:latest")]
    );
    let list = s.list().unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].repo_tags.is_empty());
}

#[test]
fn id_with_several_repositories_needs_force() {
    let (_t, s) = store(DriverChoice::Vfs);
    let id = image_of(&s, &[&rootfs_tar("a")], "a");
    s.tag("a", "b").unwrap();
    let e = s.remove(id.as_str(), false, &unused).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
            id.short()
        )
    );
    let events = s.remove(id.as_str(), true, &unused).unwrap();
    assert_eq!(
        &events[..3],
        [
            untagged("a:latest"),
            untagged("b:latest"),
            RemoveEvent::Deleted(id.digest().clone())
        ]
    );
}

#[test]
fn child_images_block_parent_deletion() {
    let (_t, s) = store(DriverChoice::Vfs);
    let parent = image_of(&s, &[&rootfs_tar("a")], "p");
    let mut w = s.writer().unwrap();
    let l = w
        .add_existing_layer(&crate::Digest::of(&rootfs_tar("a")))
        .unwrap();
    w.commit(
        &super::testkit::config_for(&[l.diff_id], "child"),
        &[],
        Some(&parent),
    )
    .unwrap();
    let e = s.remove(parent.as_str(), true, &unused).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "conflict: unable to delete {} (cannot be forced) - image has dependent child images",
            parent.short()
        )
    );
    // By name, the tag goes and the parent stays for its child.
    assert_eq!(s.remove("p", false, &unused).unwrap(), [untagged("p:latest")]);
    assert_eq!(s.list().unwrap().len(), 2);
}

#[test]
fn prune_dangling_then_all() {
    let (t, s) = store(DriverChoice::Overlay);
    let tagged = image_of(&s, &[&rootfs_tar("t")], "tagged");
    let dangling = image_of(&s, &[&rootfs_tar("d")], "d");
    let used = image_of(&s, &[&rootfs_tar("u")], "u");
    // Moving their tags away leaves `dangling` and `used` without references.
    s.tag("tagged", "d").unwrap();
    s.tag("tagged", "u").unwrap();
    let in_use = used.clone();
    let usage = move |id: &ImageId| {
        if *id == in_use {
            Usage::Stopped(CID.into())
        } else {
            Usage::Unused
        }
    };
    let report = s.prune(false, &usage).unwrap();
    let size = s.get("tagged").unwrap().size;
    assert_eq!(report.deleted[0], RemoveEvent::Deleted(dangling.digest().clone()));
    assert_eq!(report.deleted.len(), 2, "the image and its layer");
    assert_eq!(report.space_reclaimed, size);
    assert_eq!(s.list().unwrap().len(), 2);
    let report = s.prune(true, &usage).unwrap();
    assert_eq!(
        report.deleted[..4],
        [
            untagged("d:latest"),
            untagged("tagged:latest"),
            untagged("u:latest"),
            RemoveEvent::Deleted(tagged.digest().clone())
        ]
    );
    assert_eq!(
        s.list().unwrap().iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        [used]
    );
    assert_eq!(layer_dirs(t.path(), "overlay").len(), 1);
}

#[test]
fn shared_layers_live_until_their_last_image() {
    let (t, s) = store(DriverChoice::Overlay);
    let base = rootfs_tar("base");
    let top = TarBuilder::new().file("app", b"app").finish();
    image_of(&s, &[&base], "base");
    image_of(&s, &[&base, &top], "app");
    assert_eq!(layer_dirs(t.path(), "overlay").len(), 2);
    let events = s.remove("base", false, &unused).unwrap();
    assert_eq!(events.len(), 2, "untag and image, no layer: {events:?}");
    assert_eq!(layer_dirs(t.path(), "overlay").len(), 2);
    let events = s.remove("app", false, &unused).unwrap();
    assert_eq!(events.len(), 4, "untag, image, two layers: {events:?}");
    assert!(layer_dirs(t.path(), "overlay").is_empty());
}

#[test]
fn store_left_by_a_killed_process_loads_and_gets_cleaned() {
    let (t, s) = store(DriverChoice::Overlay);
    let id = image_of(&s, &[&rootfs_tar("a")], "keep");
    let root = t.path();
    // An interrupted unpack, an unrecorded layer, half-written records and blobs.
    std::fs::create_dir_all(root.join("overlay/.tmp-layer-1234/diff/bin")).unwrap();
    std::fs::write(root.join("overlay/.tmp-layer-1234/diff/bin/x"), b"partial").unwrap();
    let orphan = root.join("overlay").join("ab".repeat(32)).join("diff");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::create_dir_all(root.join("overlay/rw/.tmp-rw-77/upper")).unwrap();
    std::fs::write(root.join("image/images/.tmp-x.json-1"), b"{\"crea").unwrap();
    std::fs::write(root.join("image/layers/.tmp-y.json-2"), b"{").unwrap();
    std::fs::write(root.join("image/blobs/sha256/.tmp-z-3"), b"{").unwrap();
    std::fs::write(root.join("image/.tmp-repositories.json-4"), b"{\"Repo").unwrap();
    drop(s);
    let s = ImageStore::open(root, DriverChoice::Auto).unwrap();
    let list = s.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, id);
    assert_eq!(s.get("keep").unwrap().id, id);
    let report = s.prune(false, &unused).unwrap();
    assert!(report.deleted.is_empty());
    assert_eq!(
        names(&root.join("overlay")),
        [
            s.get("keep").unwrap().layers[0].chain_id.hex().to_string(),
            "rw".into()
        ]
    );
    assert!(names(&root.join("overlay/rw")).is_empty());
    for dir in ["image", "image/images", "image/layers", "image/blobs/sha256"] {
        assert!(
            names(&root.join(dir)).iter().all(|n| !n.starts_with(".tmp")),
            "{dir}"
        );
    }
    // The store still works.
    assert!(s.create_rw_layer("c", &id).is_ok());
}
