//! A pull killed midway (`kill -9` while a layer unpacks) leaves no image, and the next pull starts over cleanly:
//! it succeeds, and the staging directory the killed one left behind is gone.

mod common;

use std::time::{Duration, Instant};

use common::registry::{Compression, ImageUpload, Layer, Registry, busybox_tar, files_tar};
use common::{Env, Run};

/// Staging directories (`.tmp-…`) under the snapshot driver's directories.
fn staged(env: &Env) -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["overlay", "vfs"] {
        if let Ok(rd) = std::fs::read_dir(env.data_root().join(dir)) {
            out.extend(
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(".tmp-")),
            );
        }
    }
    out
}

#[test]
fn killed_pull_restarts_cleanly() {
    let reg = Registry::start();
    // Many small files: unpacking takes long enough to be caught in the middle.
    let names: Vec<String> = (0..20_000).map(|i| format!("many/f{i:05}")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let layers = [
        Layer::new(busybox_tar(), Compression::Gzip, false),
        Layer::new(files_tar(&files), Compression::None, false),
    ];
    reg.push_image("slow", "latest", &layers, false, "linux/amd64");
    let env = Env::empty();
    let name = format!("{}/slow", reg.host);
    let mut child = env.cmd(&["pull", &name]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while staged(&env).is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the pull ended before it could be interrupted"
        );
        assert!(Instant::now() < deadline, "no layer was staged");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!staged(&env).is_empty());
    assert_eq!(env.berth(&["images", "-q"]).ok(), "");
    let r: Run = env.berth(&["pull", &name]);
    r.ok();
    assert!(staged(&env).is_empty(), "{:?}", staged(&env));
    assert_eq!(
        env.berth(&["run", "--rm", "--network", "none", &name, "ls", "/many/f19999"])
            .ok(),
        "/many/f19999"
    );
}
