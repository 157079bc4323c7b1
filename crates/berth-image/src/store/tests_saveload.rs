//! Save/load tests: round trips between two stores (both drivers), the archive's layout, shared and
//! repeated layers, the OCI layout of Docker 25+, tag moves, and refusal of tampered or hostile
//! archives with the target store left unchanged.

use std::collections::BTreeMap;
use std::io::Write;

use tar::EntryType;

use super::testkit::{names, rootfs_tar, store};
use super::*;
use crate::config::{History, RootFs};
use crate::reference::Reference;
use crate::snapshot::DriverChoice;
use crate::testutil::TarBuilder;

/// An archive member: type, content, link target.
type Members = BTreeMap<String, (EntryType, Vec<u8>, String)>;

fn members(archive: &[u8]) -> Members {
    let mut a = tar::Archive::new(archive);
    let mut out = BTreeMap::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = String::from_utf8(e.path_bytes().to_vec()).unwrap();
        let link = e
            .link_name_bytes()
            .map(|l| String::from_utf8(l.to_vec()).unwrap())
            .unwrap_or_default();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        out.insert(name, (e.header().entry_type(), data, link));
    }
    out
}

/// An archive of `members` in order (raw names, so hostile ones too).
fn archive(members: &[(&str, EntryType, &[u8], &str)]) -> Vec<u8> {
    let mut b = TarBuilder::new();
    for (name, kind, data, link) in members {
        b.raw(*kind, name, link, 0o644, (0, 0), (0, 0), data);
    }
    b.finish()
}

fn rebuilt(m: &Members) -> Vec<u8> {
    let list: Vec<(&str, EntryType, &[u8], &str)> = m
        .iter()
        .map(|(n, (k, d, l))| (n.as_str(), *k, d.as_slice(), l.as_str()))
        .collect();
    archive(&list)
}

fn layer(marker: &str) -> Vec<u8> {
    TarBuilder::new()
        .dir("data/")
        .file(&format!("data/{marker}"), marker.as_bytes())
        .finish()
}

/// A config for these layers with one history entry per layer, plus an empty one on top when
/// `comment` is not empty (so an image without one can be the parent of one with the same layers).
fn config(diff_ids: &[Digest], comment: &str) -> Vec<u8> {
    let mut history: Vec<History> = (0..diff_ids.len())
        .map(|i| History {
            created: Some(format!("2024-01-0{}T00:00:00Z", i + 1)),
            created_by: format!("/bin/sh -c make layer {i} && true"),
            ..Default::default()
        })
        .collect();
    if !comment.is_empty() {
        history.push(History {
            created: Some("2024-02-01T00:00:00Z".into()),
            created_by: "/bin/sh -c #(nop)  CMD [\"sh\"]".into(),
            comment: comment.into(),
            empty_layer: true,
            ..Default::default()
        });
    }
    let c = ImageConfig {
        architecture: "amd64".into(),
        os: "linux".into(),
        created: Some("2024-02-01T00:00:00Z".into()),
        config: Some(crate::config::ContainerConfig {
            cmd: Some(vec!["sh".into()]),
            ..Default::default()
        }),
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids: diff_ids.to_vec(),
        },
        history,
        ..Default::default()
    };
    serde_json::to_vec(&c).unwrap()
}

fn commit(
    s: &ImageStore,
    layers: &[&[u8]],
    comment: &str,
    tags: &[&str],
    parent: Option<&ImageId>,
) -> ImageId {
    let mut w = s.writer().unwrap();
    let diffs: Vec<Digest> = layers
        .iter()
        .map(|l| w.add_layer(*l, None).unwrap().diff_id)
        .collect();
    let refs: Vec<Reference> = tags.iter().map(|t| Reference::parse(t).unwrap()).collect();
    w.commit(&config(&diffs, comment), &refs, parent).unwrap()
}

fn save(s: &ImageStore, names: &[&str]) -> Vec<u8> {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut out = Vec::new();
    s.save(&names, &mut out).unwrap();
    out
}

fn load(s: &ImageStore, archive: &[u8]) -> Result<Vec<LoadedImage>> {
    s.load(&mut &archive[..])
}

/// Everything under a data root except lock files, for "unchanged" checks.
fn tree(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for name in names(&dir) {
            let p = dir.join(&name);
            if name.ends_with(".lock") {
                continue;
            }
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn round_trip_between_stores() {
    for driver in [DriverChoice::Overlay, DriverChoice::Vfs] {
        let (_a, src) = store(driver);
        let (base, top) = (rootfs_tar("base"), layer("top"));
        let parent = commit(&src, &[&base], "", &["base:1"], None);
        let app = commit(&src, &[&base, &top], "app", &["app:1", "app:2"], Some(&parent));
        let saved = save(&src, &["app", "base:1"]);
        let m = members(&saved);
        let manifest: serde_json::Value = serde_json::from_slice(&m["manifest.json"].1).unwrap();
        assert_eq!(manifest[0]["Config"], format!("{}.json", app.hex()));
        assert_eq!(manifest[0]["RepoTags"], serde_json::json!(["app:1", "app:2"]));
        assert_eq!(manifest[0]["Parent"], parent.as_str());
        assert_eq!(manifest[1]["RepoTags"], serde_json::json!(["base:1"]));
        let image = src.get("app:1").unwrap();
        assert_eq!(m[&format!("{}.json", app.hex())].1, image.raw_config);
        let layers = manifest[0]["Layers"].as_array().unwrap();
        assert_eq!(layers.len(), 2);
        // The base layer is the parent's top layer: another v1 directory, its layer.tar a link.
        let base_dir = manifest[1]["Layers"][0].as_str().unwrap();
        assert_ne!(layers[0].as_str().unwrap(), base_dir);
        assert_eq!(m[base_dir].0, EntryType::Symlink);
        assert_eq!(m[base_dir].2, format!("../{}", layers[0].as_str().unwrap()));
        for (l, info) in layers.iter().zip(&image.layers) {
            let data = &m[l.as_str().unwrap()].1;
            assert_eq!(Digest::of(data), info.diff_id);
            let dir = l.as_str().unwrap().strip_suffix("/layer.tar").unwrap();
            assert_eq!(m[&format!("{dir}/VERSION")].1, b"1.0");
            let json: serde_json::Value = serde_json::from_slice(&m[&format!("{dir}/json")].1).unwrap();
            assert_eq!(json["id"], dir);
        }
        assert_eq!(Digest::of(&m[layers[0].as_str().unwrap()].1), Digest::of(&base));
        let repos: serde_json::Value = serde_json::from_slice(&m["repositories"].1).unwrap();
        let top_dir = layers[1].as_str().unwrap().strip_suffix("/layer.tar").unwrap();
        assert_eq!(repos["app"]["2"], top_dir);

        let (_b, dst) = store(driver);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&saved).unwrap();
        let loaded = load(&dst, &gz.finish().unwrap()).unwrap();
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[0].id, app);
        assert_eq!(
            loaded[0].messages(),
            ["Loaded image: app:1", "Loaded image: app:2"]
        );
        assert_eq!(loaded[1].id, parent);
        let copy = dst.get("app:2").unwrap();
        assert_eq!(copy.raw_config, image.raw_config);
        assert_eq!(copy.layers, image.layers);
        assert_eq!(copy.parent.as_ref(), Some(&parent));
        assert_eq!(dst.history("app:1").unwrap(), src.history("app:1").unwrap());
        // The loaded store saves the same archive again.
        assert_eq!(save(&dst, &["app", "base:1"]), saved);
    }
}

#[test]
fn ids_repeated_layers_and_untagged() {
    let (_a, src) = store(DriverChoice::Overlay);
    let same = layer("same");
    let id = commit(&src, &[&rootfs_tar("x"), &same, &same], "rep", &[], None);
    let saved = save(&src, &[id.short()]);
    assert_eq!(save(&src, &[id.as_str()]), saved);
    let m = members(&saved);
    let manifest: serde_json::Value = serde_json::from_slice(&m["manifest.json"].1).unwrap();
    assert!(manifest[0]["RepoTags"].is_null());
    assert!(!m.contains_key("repositories"));
    let third = manifest[0]["Layers"][2].as_str().unwrap();
    let second = manifest[0]["Layers"][1].as_str().unwrap();
    assert_eq!(m[third].0, EntryType::Symlink);
    assert_eq!(m[third].2, format!("../{second}"));
    let (_b, dst) = store(DriverChoice::Overlay);
    let loaded = load(&dst, &saved).unwrap();
    assert_eq!(loaded[0].messages(), [format!("Loaded image ID: {id}")]);
    assert_eq!(dst.get(id.as_str()).unwrap().layers.len(), 3);
    // Loading again reuses everything.
    assert_eq!(load(&dst, &saved).unwrap()[0].id, id);
}

#[test]
fn save_errors() {
    let (_a, s) = store(DriverChoice::Overlay);
    commit(&s, &[&layer("a")], "a", &["a:1"], None);
    let mut out = Vec::new();
    for (name, msg) in [
        ("a:2", "No such image: a:2"),
        ("nosuch", "No such image: nosuch:latest"),
        ("sha256:0123", "No such image: sha256:0123"),
    ] {
        let e = s.save(&[name.to_string()], &mut out).unwrap_err();
        assert_eq!(e.to_string(), msg);
        assert_eq!(e.kind(), crate::ErrorKind::NotFound);
    }
    assert!(out.is_empty());
}

#[test]
fn tags_move_like_docker() {
    let (_a, src) = store(DriverChoice::Overlay);
    let new = commit(&src, &[&layer("new")], "new", &["app:1"], None);
    let saved = save(&src, &["app:1"]);
    let (_b, dst) = store(DriverChoice::Overlay);
    let old = commit(&dst, &[&layer("old")], "old", &["app:1", "app:old"], None);
    let loaded = load(&dst, &saved).unwrap();
    assert_eq!(loaded[0].moved, vec![("app:1".to_string(), old.clone())]);
    assert_eq!(
        loaded[0].messages(),
        [
            format!("The image app:1 already exists, renaming the old one with ID {old} to empty string"),
            "Loaded image: app:1".to_string(),
        ]
    );
    assert_eq!(dst.get("app:1").unwrap().id, new);
    assert_eq!(dst.get("app:old").unwrap().id, old);
}

/// The layout Docker 25+ writes: blobs named by digest, `manifest.json` pointing at them.
#[test]
fn loads_oci_layout_with_compressed_layers() {
    let base = rootfs_tar("oci");
    let top = layer("oci-top");
    let diffs = [Digest::of(&base), Digest::of(&top)];
    let cfg = config(&diffs, "oci");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&top).unwrap();
    let gz = gz.finish().unwrap();
    let blob = |d: &[u8]| format!("blobs/sha256/{}", Digest::of(d).hex());
    let manifest = serde_json::json!([{
        "Config": blob(&cfg), "RepoTags": ["localhost:5000/oci:v1"], "Layers": [blob(&base), blob(&gz)]
    }]);
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let (b, c, z) = (blob(&base), blob(&cfg), blob(&gz));
    let arch = archive(&[
        ("blobs/", EntryType::Directory, b"", ""),
        ("blobs/sha256/", EntryType::Directory, b"", ""),
        (&b, EntryType::Regular, &base, ""),
        (&c, EntryType::Regular, &cfg, ""),
        (&z, EntryType::Regular, &gz, ""),
        (
            "index.json",
            EntryType::Regular,
            b"{\"schemaVersion\":2,\"manifests\":[]}",
            "",
        ),
        ("manifest.json", EntryType::Regular, &manifest, ""),
        (
            "oci-layout",
            EntryType::Regular,
            b"{\"imageLayoutVersion\":\"1.0.0\"}",
            "",
        ),
    ]);
    let (_d, s) = store(DriverChoice::Overlay);
    let loaded = load(&s, &arch).unwrap();
    assert_eq!(loaded[0].id, ImageId::of_config(&cfg));
    assert_eq!(loaded[0].tags, ["localhost:5000/oci:v1"]);
    let image = s.get("localhost:5000/oci:v1").unwrap();
    assert_eq!(image.layers.len(), 2);
    // Saved again in the legacy format, the gzip layer comes out as its plain tar.
    let m = members(&save(&s, &["localhost:5000/oci:v1"]));
    let manifest: serde_json::Value = serde_json::from_slice(&m["manifest.json"].1).unwrap();
    assert_eq!(m[manifest[0]["Layers"][1].as_str().unwrap()].1, top);
}

/// Loading `archive` fails with a message containing `msg` and leaves the store as it was.
fn refused(s: &ImageStore, root: &std::path::Path, archive: &[u8], msg: &str) {
    let before = tree(root);
    let e = load(s, archive).unwrap_err().to_string();
    assert!(e.contains(msg), "{e:?} should contain {msg:?}");
    assert!(!e.contains('\n'), "{e:?}");
    assert_eq!(tree(root), before, "store changed by a refused load ({msg})");
}

#[test]
fn tampered_archives_are_refused_and_change_nothing() {
    let (_a, src) = store(DriverChoice::Overlay);
    commit(&src, &[&rootfs_tar("t")], "one", &["one:1"], None);
    let two = commit(&src, &[&layer("t2")], "two", &["two:1"], None);
    let saved = save(&src, &["one:1", "two:1"]);
    let m = members(&saved);
    let manifest: serde_json::Value = serde_json::from_slice(&m["manifest.json"].1).unwrap();
    let (t, dst) = store(DriverChoice::Overlay);
    commit(&dst, &[&layer("keep")], "keep", &["two:1"], None);

    // A flipped byte in the second image's layer: nothing is loaded, not even the first image.
    let mut bad = m.clone();
    let path = manifest[1]["Layers"][0].as_str().unwrap();
    let data = &mut bad.get_mut(path).unwrap().1;
    let at = data.len() / 3;
    data[at] ^= 1;
    refused(&dst, t.path(), &rebuilt(&bad), "does not match its diff id");

    // A config whose name is not its digest.
    let mut bad = m.clone();
    let cfg = format!("{}.json", two.hex());
    bad.get_mut(&cfg).unwrap().1.push(b' ');
    refused(&dst, t.path(), &rebuilt(&bad), "does not match its digest");

    // A config listing more layers than the manifest.
    let mut bad = m.clone();
    let mut items: serde_json::Value = manifest.clone();
    items[1]["Layers"] = serde_json::json!([]);
    bad.get_mut("manifest.json").unwrap().1 = serde_json::to_vec(&items).unwrap();
    refused(
        &dst,
        t.path(),
        &rebuilt(&bad),
        "layers length mismatch: expected 0, got 1",
    );

    // A missing layer, a missing manifest, a bad tag.
    let mut bad = m.clone();
    bad.remove(path);
    refused(&dst, t.path(), &rebuilt(&bad), "not found in the archive");
    let mut bad = m.clone();
    bad.remove("manifest.json");
    refused(&dst, t.path(), &rebuilt(&bad), "manifest.json not found");
    let mut bad = m.clone();
    items = manifest.clone();
    items[1]["RepoTags"] = serde_json::json!(["two@sha256:".to_string() + two.hex()]);
    bad.get_mut("manifest.json").unwrap().1 = serde_json::to_vec(&items).unwrap();
    refused(&dst, t.path(), &rebuilt(&bad), "invalid tag");
    assert_eq!(dst.list().unwrap().len(), 1);
}

#[test]
fn hostile_archives_are_refused() {
    let (t, s) = store(DriverChoice::Overlay);
    let outside = t.path().parent().unwrap().join("evil");
    let ok_manifest = br#"[{"Config":"c.json","RepoTags":null,"Layers":["l/layer.tar"]}]"#;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            archive(&[("../evil", EntryType::Regular, b"x", "")]),
            "contains \"..\"",
        ),
        (
            archive(&[("/evil", EntryType::Regular, b"x", "")]),
            "absolute member name",
        ),
        (
            archive(&[
                ("l/layer.tar", EntryType::Symlink, b"", "/etc/passwd"),
                ("manifest.json", EntryType::Regular, ok_manifest, ""),
            ]),
            "points to the absolute path",
        ),
        (
            archive(&[("l/layer.tar", EntryType::Symlink, b"", "../../x")]),
            "points outside the archive",
        ),
        (
            archive(&[
                ("a", EntryType::Symlink, b"", "b"),
                ("b", EntryType::Symlink, b"", "a"),
                ("manifest.json", EntryType::Symlink, b"", "a"),
            ]),
            "too many levels of links",
        ),
        (
            archive(&[("manifest.json", EntryType::Regular, b"{not json", "")]),
            "invalid archive: manifest.json:",
        ),
        (
            archive(&[(
                "manifest.json",
                EntryType::Regular,
                br#"[{"Config":"../../etc/passwd","Layers":[]}]"#,
                "",
            )]),
            "contains \"..\"",
        ),
        (
            b"this is not a tar archive at all, just some bytes".repeat(20),
            "invalid archive",
        ),
    ];
    for (arch, msg) in cases {
        refused(&s, t.path(), &arch, msg);
    }
    assert!(!outside.exists());
    // A huge manifest.json is refused from its header, before its content is read.
    let mut huge = archive(&[(
        "manifest.json",
        EntryType::Regular,
        &vec![b' '; (9 << 20) as usize],
        "",
    )]);
    huge.truncate(1024);
    refused(&s, t.path(), &huge, "manifest.json is too large");
}

#[test]
fn history_like_docker() {
    let (_a, s) = store(DriverChoice::Overlay);
    let base = rootfs_tar("h");
    let parent = commit(&s, &[&base], "", &["hp:1"], None);
    let child = commit(&s, &[&base, &layer("hc")], "c", &["hc:1", "hc:2"], Some(&parent));
    let h = s.history("hc:2").unwrap();
    let shown: Vec<(&str, i64, &str, Vec<String>, i64)> = h
        .iter()
        .map(|i| {
            (
                i.id.as_str(),
                i.created,
                i.created_by.as_str(),
                i.tags.clone(),
                i.size,
            )
        })
        .collect();
    let tags = |v: &[&str]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    let image = s.get(child.as_str()).unwrap();
    assert_eq!(
        shown,
        vec![
            (
                child.as_str(),
                1_706_745_600,
                "/bin/sh -c #(nop)  CMD [\"sh\"]",
                tags(&["hc:1", "hc:2"]),
                0
            ),
            (
                parent.as_str(),
                1_704_153_600,
                "/bin/sh -c make layer 1 && true",
                tags(&["hp:1"]),
                image.layers[1].size as i64
            ),
            (
                "<missing>",
                1_704_067_200,
                "/bin/sh -c make layer 0 && true",
                vec![],
                image.layers[0].size as i64
            ),
        ]
    );
    assert_eq!(h[0].comment, "c");
    let json = serde_json::to_value(&h[2]).unwrap();
    assert_eq!(json["Tags"], serde_json::Value::Null);
    assert_eq!(json["Id"], "<missing>");
    assert_eq!(serde_json::from_value::<HistoryItem>(json).unwrap(), h[2]);
    assert_eq!(
        s.history("nosuch").unwrap_err().to_string(),
        "No such image: nosuch:latest"
    );
}
