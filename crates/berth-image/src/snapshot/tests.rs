//! Snapshot tests: a two-layer image with a whiteout and an opaque directory seen through a real
//! overlay mount and through a vfs copy, `read_file` without mounting, driver selection.

use std::path::Path;

use super::*;
use crate::store::testkit::{image_of, names, store};
use crate::testutil::TarBuilder;

fn base() -> Vec<u8> {
    TarBuilder::new()
        .file("etc/passwd", b"root:x:0:0:base\n")
        .file("etc/group", b"root:x:0:\n")
        .file("etc/hosts-base", b"base")
        .file("gone/file", b"x")
        .file("opq/old", b"old")
        .symlink("lnk", "/etc")
        .symlink("rel", "etc/../etc/group")
        .finish()
}

fn top() -> Vec<u8> {
    TarBuilder::new()
        .file(".wh.gone", b"")
        .dir("etc/")
        .file("etc/.wh.hosts-base", b"")
        .file("etc/passwd", b"root:x:0:0:top\n")
        .dir("opq/")
        .file("opq/.wh..wh..opq", b"")
        .file("opq/new", b"new")
        .finish()
}

/// Checks the merged view of the two layers at `root`.
fn assert_view(root: &Path) {
    assert_eq!(
        std::fs::read(root.join("etc/passwd")).unwrap(),
        b"root:x:0:0:top\n"
    );
    assert_eq!(std::fs::read(root.join("etc/group")).unwrap(), b"root:x:0:\n");
    assert!(!root.join("etc/hosts-base").exists());
    assert!(!root.join("gone").exists());
    assert_eq!(names(&root.join("opq")), ["new"]);
}

fn assert_read_file(rw: &RwLayer) {
    assert_eq!(
        read_file(rw, "/etc/passwd").unwrap().unwrap(),
        b"root:x:0:0:top\n"
    );
    assert_eq!(read_file(rw, "/lnk/group").unwrap().unwrap(), b"root:x:0:\n");
    assert_eq!(read_file(rw, "rel").unwrap().unwrap(), b"root:x:0:\n");
    assert_eq!(
        read_file(rw, "/etc/../lnk/../etc/passwd").unwrap().unwrap(),
        b"root:x:0:0:top\n"
    );
    for missing in [
        "/etc/hosts-base",
        "/gone/file",
        "/opq/old",
        "/nope",
        "/etc",
        "/etc/passwd/x",
    ] {
        assert_eq!(read_file(rw, missing).unwrap(), None, "{missing}");
    }
}

/// Unmounts on drop, so a failing assertion does not leave a mount behind.
struct Mounted<'a>(&'a Path);

impl Drop for Mounted<'_> {
    fn drop(&mut self) {
        let _ = unmount(self.0);
    }
}

#[test]
fn overlay_two_layers_mounted_view() {
    let (t, s) = store(DriverChoice::Overlay);
    assert_eq!(s.driver(), Driver::Overlay);
    let id = image_of(&s, &[&base(), &top()], "two:layers");
    let rw = s.create_rw_layer("c1", &id).unwrap();
    let RwLayer::Overlay {
        lower, upper, merged, ..
    } = &rw
    else {
        panic!("expected overlay")
    };
    assert_eq!(lower.len(), 2);
    assert!(lower[0].ends_with("diff") && lower[0] != lower[1]);
    assert_read_file(&rw);
    {
        let _m = Mounted(merged);
        mount_rw(&rw, merged).unwrap();
        assert_view(merged);
        std::fs::write(merged.join("etc/group"), b"changed").unwrap();
        std::fs::remove_file(merged.join("etc/passwd")).unwrap();
    }
    assert_eq!(std::fs::read(upper.join("etc/group")).unwrap(), b"changed");
    assert_eq!(read_file(&rw, "/etc/group").unwrap().unwrap(), b"changed");
    assert_eq!(read_file(&rw, "/etc/passwd").unwrap(), None);
    let diff = crate::diff::write_layer_tar(upper, crate::diff::TreeKind::OverlayUpper, Vec::new()).unwrap();
    let mut a = tar::Archive::new(&diff[..]);
    let paths: Vec<String> = a
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(paths, ["etc/", "etc/group", "etc/.wh.passwd"]);
    let gd = s.graph_driver_data(&rw);
    assert_eq!(gd.name, "overlay2");
    assert_eq!(gd.data["LowerDir"].split(':').count(), 2);
    assert_eq!(s.rw_layer("c1").unwrap(), rw);
    assert!(matches!(
        s.create_rw_layer("c1", &id),
        Err(crate::Error::Conflict(_))
    ));
    s.remove_rw_layer("c1").unwrap();
    assert!(matches!(s.rw_layer("c1"), Err(crate::Error::NotFound(_))));
    assert_eq!(names(&t.path().join("overlay/rw")), Vec::<String>::new());
}

#[test]
fn vfs_two_layers_same_view() {
    let (t, s) = store(DriverChoice::Vfs);
    let id = image_of(&s, &[&base(), &top()], "two:layers");
    let rw = s.create_rw_layer("c1", &id).unwrap();
    let RwLayer::Dir { path } = &rw else {
        panic!("expected a directory")
    };
    assert_view(path);
    assert_read_file(&rw);
    // The container's copy is private.
    std::fs::write(path.join("etc/group"), b"mine").unwrap();
    let image = s.get("two:layers").unwrap();
    let top_dir = t.path().join("vfs").join(image.layers[1].chain_id.hex());
    assert_eq!(std::fs::read(top_dir.join("etc/group")).unwrap(), b"root:x:0:\n");
    assert_view(&top_dir);
    let target = t.path().join("mnt");
    std::fs::create_dir(&target).unwrap();
    {
        let _m = Mounted(&target);
        mount_rw(&rw, &target).unwrap();
        assert_eq!(std::fs::read(target.join("etc/group")).unwrap(), b"mine");
    }
    assert!(!target.join("etc").exists());
    assert_eq!(s.graph_driver_data(&rw).name, "vfs");
    s.remove_rw_layer("c1").unwrap();
}

#[test]
fn driver_is_recorded_and_enforced() {
    let (t, s) = store(DriverChoice::Auto);
    assert_eq!(
        s.driver(),
        Driver::Overlay,
        "overlay works on this machine's filesystem"
    );
    assert_eq!(
        std::fs::read_to_string(t.path().join("image/driver")).unwrap(),
        "overlay2\n"
    );
    let again = crate::ImageStore::open(t.path(), DriverChoice::Auto).unwrap();
    assert_eq!(again.driver(), Driver::Overlay);
    let e = crate::ImageStore::open(t.path(), DriverChoice::Vfs).unwrap_err();
    assert!(
        e.to_string().contains("already uses the overlay2 storage driver"),
        "{e}"
    );
    assert_eq!("overlay2".parse::<DriverChoice>().unwrap(), DriverChoice::Overlay);
    assert!("zfs".parse::<DriverChoice>().is_err());
    // No probe leftovers.
    assert!(
        names(&t.path().join("image"))
            .iter()
            .all(|n| !n.starts_with(".tmp"))
    );
}

#[test]
fn empty_image_gets_an_empty_lower() {
    let (_t, s) = store(DriverChoice::Overlay);
    let w = s.writer().unwrap();
    let id = w
        .commit(&crate::store::testkit::config_for(&[], "empty"), &[], None)
        .unwrap();
    let rw = s.create_rw_layer("c", &id).unwrap();
    let RwLayer::Overlay { lower, merged, .. } = &rw else {
        panic!()
    };
    assert_eq!(lower.len(), 1);
    let _m = Mounted(merged);
    mount_rw(&rw, merged).unwrap();
    assert!(names(merged).is_empty());
}

#[test]
fn container_ids_are_checked() {
    let (_t, s) = store(DriverChoice::Vfs);
    let id = image_of(&s, &[&base()], "b");
    for bad in ["", "../x", "a/b", ".hidden"] {
        assert!(
            matches!(s.create_rw_layer(bad, &id), Err(crate::Error::InvalidArgument(_))),
            "{bad}"
        );
    }
}
