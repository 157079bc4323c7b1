//! A real `kill -9` test: a child process imports and removes images in a loop and is killed at
//! various moments; every time, the store must open, list, resolve and use what it lists, and a
//! final prune must leave no temp files behind.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::testkit::{names, unused};
use super::*;
use crate::snapshot::DriverChoice;
use crate::testutil::TarBuilder;

const ENV: &str = "BERTH_IMAGE_KILL_TEST_ROOT";

fn layer(i: usize) -> Vec<u8> {
    let mut b = TarBuilder::new();
    for f in 0..300 {
        b.file(
            &format!("d{}/f{f}", f % 10),
            format!("{i}-{f}").repeat(50).as_bytes(),
        );
    }
    b.finish()
}

/// The child process of `killed_writers_leave_a_loadable_store`; does nothing when run directly.
#[test]
#[ignore = "child process of killed_writers_leave_a_loadable_store"]
fn kill_child() {
    let Ok(root) = std::env::var(ENV) else { return };
    let s = ImageStore::open(std::path::Path::new(&root), DriverChoice::Auto).unwrap();
    for i in 0.. {
        let opts = ImportOptions {
            reference: Some(format!("img{}", i % 3)),
            ..Default::default()
        };
        s.import(&layer(i)[..], opts).unwrap();
        if i % 2 == 1 {
            let _ = s.remove(&format!("img{}", (i + 1) % 3), false, &unused);
        }
    }
}

#[test]
fn killed_writers_leave_a_loadable_store() {
    let t = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    for delay in [30u64, 80, 150, 250, 400, 600, 900, 1300] {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "store::tests_kill::kill_child",
                "--ignored",
                "--test-threads=1",
            ])
            .env(ENV, t.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        let s = ImageStore::open(t.path(), DriverChoice::Auto).unwrap();
        for summary in s.list().unwrap() {
            let image = s.get(summary.id.as_str()).unwrap();
            assert_eq!(ImageId::of_config(&image.raw_config), image.id);
            let rw = s.create_rw_layer("probe", &image.id).unwrap();
            let seen = crate::snapshot::read_file(&rw, "/d0/f0").unwrap();
            assert!(
                seen.is_some_and(|d| d.ends_with(b"-0")),
                "image {} reads",
                image.id
            );
            s.remove_rw_layer("probe").unwrap();
        }
    }
    let s = ImageStore::open(t.path(), DriverChoice::Auto).unwrap();
    s.prune(true, &unused).unwrap();
    assert!(s.list().unwrap().is_empty());
    let driver = if s.driver() == crate::Driver::Overlay {
        "overlay"
    } else {
        "vfs"
    };
    assert_eq!(names(&t.path().join(driver)), ["rw"]);
    for dir in ["image", "image/images", "image/layers", "image/blobs/sha256"] {
        let left: Vec<String> = names(&t.path().join(dir))
            .into_iter()
            .filter(|n| n.starts_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{dir}: {left:?}");
    }
    assert!(names(&t.path().join("image/layers")).is_empty());
}
