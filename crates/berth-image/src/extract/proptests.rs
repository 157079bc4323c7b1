//! Property tests: random sequences of hostile entries (`..`, absolute paths, symlinks then writes
//! through them, hardlink escapes, device nodes) never change anything outside the layer root.

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use proptest::prelude::*;

use super::*;
use crate::testutil::TarBuilder;

#[derive(Debug, Clone)]
enum Op {
    File(String),
    Dir(String),
    Symlink(String, String),
    Hardlink(String, String),
    Fifo(String),
    Device(String),
    Whiteout(String),
}

fn path() -> impl Strategy<Value = String> {
    let comp = prop::sample::select(vec!["a", "b", "..", ".", "link", "x", ".wh..wh..opq"]);
    (any::<bool>(), prop::collection::vec(comp, 1..4)).prop_map(|(abs, c)| {
        let p = c.join("/");
        if abs { format!("/{p}") } else { p }
    })
}

/// `OUT` stands for the absolute path of the directory next to the root that must stay untouched.
fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "/",
            "..",
            "../..",
            "OUT",
            "OUT/canary",
            "../outside",
            "../outside/canary",
            "a"
        ])
        .prop_map(str::to_string),
        path(),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        path().prop_map(Op::File),
        path().prop_map(Op::Dir),
        (path(), target()).prop_map(|(p, t)| Op::Symlink(p, t)),
        (path(), target()).prop_map(|(p, t)| Op::Hardlink(p, t)),
        path().prop_map(Op::Fifo),
        path().prop_map(Op::Device),
        path().prop_map(Op::Whiteout),
    ]
}

fn build(ops: &[Op], out: &str) -> Vec<u8> {
    let mut b = TarBuilder::new();
    let sub = |s: &str| s.replace("OUT", out);
    for op in ops {
        match op {
            Op::File(p) => b.file(p, b"data"),
            Op::Dir(p) => b.dir(p),
            Op::Symlink(p, t) => b.symlink(p, &sub(t)),
            Op::Hardlink(p, t) => b.hardlink(p, &sub(t)),
            Op::Fifo(p) => b.fifo(p),
            Op::Device(p) => b.char_dev(p, 1, 3),
            Op::Whiteout(p) => b.file(&format!("{p}/.wh.x"), b""),
        };
    }
    b.finish()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]
    #[test]
    fn nothing_escapes_the_root(
        ops in prop::collection::vec(op(), 1..12),
        overlay in any::<bool>(),
        reject in any::<bool>(),
        workers in prop::sample::select(vec![0usize, 2]),
    ) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let outside = t.path().join("outside");
        std::fs::create_dir(&root).unwrap();
        std::fs::create_dir(&outside).unwrap();
        let canary = outside.join("canary");
        std::fs::write(&canary, b"canary").unwrap();
        let before = std::fs::metadata(&canary).unwrap();
        let tar = build(&ops, outside.to_str().unwrap());
        let o = ExtractOptions {
            whiteouts: if overlay { WhiteoutMode::Overlay } else { WhiteoutMode::Vfs },
            devices: if reject { DevicePolicy::Reject } else { DevicePolicy::Create },
            same_owner: true,
            workers,
        };
        let result = apply_layer(&root, &tar[..], &o);
        if reject {
            // Refused device nodes are never created, whatever else happened.
            prop_assert!(!walk(&root).iter().any(|m| m.file_type().is_char_device() && m.rdev() != 0));
        }
        if ops.iter().all(|o| matches!(o, Op::Dir(_))) {
            prop_assert!(result.is_ok(), "{:?}", result);
        }
        let mut names: Vec<String> = std::fs::read_dir(t.path()).unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        prop_assert_eq!(names, vec!["outside".to_string(), "root".to_string()]);
        let inside: Vec<String> = std::fs::read_dir(&outside).unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        prop_assert_eq!(inside, vec!["canary".to_string()]);
        let after = std::fs::metadata(&canary).unwrap();
        prop_assert_eq!(std::fs::read(&canary).unwrap(), b"canary");
        prop_assert_eq!(after.nlink(), 1);
        prop_assert_eq!((after.mode(), after.uid(), after.mtime()), (before.mode(), before.uid(), before.mtime()));
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::fs::Metadata> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let m = e.metadata().unwrap();
        if m.is_dir() {
            out.extend(walk(&e.path()));
        }
        out.push(m);
    }
    out
}
