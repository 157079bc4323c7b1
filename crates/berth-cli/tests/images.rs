//! The image store through the CLI: import (plain, gzip, zstd, stdin, --change), images, inspect, tag, rmi, prune.

mod common;

use common::Env;

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn import_list_tag_and_remove() {
    let env = Env::new();
    let images = env.berth(&["images"]).ok();
    let mut lines = images.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("REPOSITORY   TAG       IMAGE ID       CREATED"),
        "{header}"
    );
    let row = lines.next().unwrap();
    assert!(row.starts_with("busybox      latest    "), "{row}");
    let id = env.berth(&["images", "-q"]).ok();
    assert_eq!(id.len(), 12);
    env.berth(&["tag", "busybox", "example.com/team/box:v1"]).ok();
    let names = env
        .berth(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok();
    assert!(
        names.contains("example.com/team/box:v1") && names.contains("busybox:latest"),
        "{names}"
    );
    assert_eq!(
        env.inspect("example.com/team/box:v1", "{{.Id}}"),
        env.inspect("busybox", "{{.Id}}")
    );
    let r = env.berth(&["rmi", "example.com/team/box:v1"]).ok();
    assert_eq!(r, "Untagged: example.com/team/box:v1");
    // By id prefix, and a container using the image blocks removal.
    env.berth(&["create", "--name", "user", "busybox", "true"]).ok();
    let r = env.berth(&["rmi", &id]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("conflict"), "{}", r.stderr);
    env.berth(&["rm", "user"]).ok();
    let out = env.berth(&["rmi", &id]).ok();
    assert!(
        out.contains("Untagged: busybox:latest") && out.contains("Deleted: sha256:"),
        "{out}"
    );
    assert_eq!(env.berth(&["images", "-q"]).ok(), "");
    assert_ne!(env.berth(&["run", "--rm", "busybox", "true"]).code, 0);
}

#[test]
fn import_from_stdin_with_changes_and_compression() {
    let env = Env::new();
    let busybox = std::fs::read("/bin/busybox").unwrap();
    let plain = tar_of(&[("bin/busybox", &busybox)]);
    let r = env.berth_stdin(
        &[
            "import",
            "-c",
            "CMD [\"/bin/busybox\", \"echo\", \"from-cmd\"]",
            "-c",
            "ENV GREETING=hi",
            "-c",
            "WORKDIR /bin",
            "-",
            "plain:1",
        ],
        &plain,
    );
    assert!(r.ok().starts_with("sha256:"));
    assert_eq!(env.berth(&["run", "--rm", "plain:1"]).ok(), "from-cmd");
    assert_eq!(
        env.berth(&["run", "--rm", "plain:1", "/bin/busybox", "pwd"]).ok(),
        "/bin"
    );
    assert_eq!(
        env.inspect("plain:1", "{{json .Config.Env}}"),
        "[\"GREETING=hi\"]"
    );
    let zst = zstd::encode_all(&plain[..], 3).unwrap();
    let f = env.dir.path().join("layer.tar.zst");
    std::fs::write(&f, zst).unwrap();
    env.berth(&["import", f.to_str().unwrap(), "zst"]).ok();
    assert_eq!(env.inspect("zst", "{{len .RootFS.Layers}}"), "1");
    let r = env.berth_stdin(&["import", "-c", "FROBNICATE x", "-", "bad"], &plain);
    assert_ne!(r.code, 0);
    assert_ne!(env.berth(&["image", "inspect", "bad"]).code, 0);
}

#[test]
fn image_inspect_shape_and_prune() {
    let env = Env::new();
    let v: serde_json::Value =
        serde_json::from_str(&env.berth(&["image", "inspect", "busybox"]).ok()).unwrap();
    let img = &v[0];
    assert!(img["Id"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(img["RepoTags"][0], "busybox:latest");
    assert_eq!(img["Os"], "linux");
    assert_eq!(img["RootFS"]["Type"], "layers");
    assert!(img["Size"].as_i64().unwrap() > 500_000);
    // Untag it: it becomes dangling and prune removes it.
    let id = env.inspect("busybox", "{{.Id}}");
    env.berth(&["tag", "busybox", "keep:me"]).ok();
    env.berth(&["rmi", "busybox"]).ok();
    let out = env.berth(&["image", "prune", "-f"]).ok();
    assert!(out.ends_with("Total reclaimed space: 0B"), "{out}");
    env.berth(&["rmi", "keep:me"]).ok();
    assert_ne!(env.berth(&["image", "inspect", &id]).code, 0);
}
