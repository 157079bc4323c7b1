//! Root tests of `cp` on real containers, created and running: round trips, Docker's names and errors, hostile
//! archives (nothing may land outside the container), and a PUT racing a start.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use berth_image::DriverChoice;
use tar::EntryType;

use super::*;
use crate::model::HostConfig;
use crate::ops::start::StartOptions;
use crate::testkit::{Entry, Env, Tar, entries};

fn put(env: &Env, c: &str, path: &str, tar: &[u8]) -> Result<()> {
    env.engine
        .archive_put(c, path, &mut &tar[..], PutOptions::default())
}

fn get(env: &Env, c: &str, path: &str) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    env.engine.archive_get(c, path, &mut out)?;
    Ok(entries(&out))
}

fn content(env: &Env, c: &str, path: &str) -> Vec<u8> {
    get(env, c, path).unwrap().remove(0).3
}

#[test]
fn cp_round_trips_on_created_and_running_containers() {
    let env = Env::new(DriverChoice::Overlay);
    env.create("created", &["sleep", "1000"], HostConfig::default());
    let running = env.run("running", &["sleep", "1000"], HostConfig::default());
    let tar = Tar::default()
        .dir("d/")
        .file("d/f", b"hello")
        .hardlink("d/h", "d/f")
        .symlink("d/s", "f")
        .file("d/.wh.x", b"")
        .finish();
    for c in ["created", "running"] {
        put(&env, c, "/tmp", &tar).unwrap();
        let got: Vec<(String, EntryType, String)> = get(&env, c, "/tmp/d")
            .unwrap()
            .into_iter()
            .map(|(n, k, l, _)| (n, k, l))
            .collect();
        let want = [
            ("d/", EntryType::Directory, ""),
            ("d/.wh.x", EntryType::Regular, ""),
            ("d/f", EntryType::Regular, ""),
            ("d/h", EntryType::Link, "d/f"),
            ("d/s", EntryType::Symlink, "f"),
        ];
        let want: Vec<(String, EntryType, String)> = want
            .iter()
            .map(|(n, k, l)| (n.to_string(), *k, l.to_string()))
            .collect();
        assert_eq!(got, want, "{c}");
        let st = env.engine.archive_stat(c, "/tmp/d/f").unwrap();
        assert_eq!((st.name.as_str(), st.size, st.mode), ("f", 5, 0o640), "{c}");
        assert_eq!(st.mtime, "2020-09-13T12:26:40Z");
        assert_eq!(
            env.engine.archive_stat(c, "/tmp/d/s").unwrap().link_target,
            "/tmp/d/f"
        );
    }
    // The running container sees the files in its own mount namespace.
    let pid = env.engine.inspect(&running).unwrap().state.pid;
    assert_eq!(
        std::fs::read(format!("/proc/{pid}/root/tmp/d/f")).unwrap(),
        b"hello"
    );
    // A GET answer is a PUT body: copy the created container's /etc contents into the running one.
    let mut etc = Vec::new();
    env.engine.archive_get("created", "/etc/.", &mut etc).unwrap();
    assert!(entries(&etc).iter().any(|e| e.0 == "./passwd"));
    put(&env, "running", "/tmp/d", &etc).unwrap();
    assert_eq!(
        content(&env, "running", "/tmp/d/passwd"),
        content(&env, "created", "/etc/passwd")
    );
    // Paused containers are read the same way.
    env.engine.pause("running").unwrap();
    assert_eq!(content(&env, "running", "/tmp/d/f"), b"hello");
    env.engine.unpause("running").unwrap();
    // The root of a running container: kernel filesystems mounted in it are empty directories.
    let all = get(&env, "running", "/").unwrap();
    assert!(all.iter().any(|e| e.0 == "/bin/busybox"));
    assert!(all.iter().any(|e| e.0 == "/proc/"));
    assert!(
        !all.iter()
            .any(|e| e.0.starts_with("/proc/1") || e.0.starts_with("/sys/kernel"))
    );
}

#[test]
fn cp_errors_are_dockers() {
    let env = Env::new(DriverChoice::Overlay);
    env.create("cc", &["true"], HostConfig::default());
    let e = env.engine.archive_stat("cc", "/nope").unwrap_err();
    assert_eq!(
        (e.to_string().as_str(), e.http_status()),
        ("Could not find the file /nope in container cc", 404)
    );
    let mut out = Vec::new();
    assert!(env.engine.archive_get("cc", "/etc/nope", &mut out).is_err());
    assert!(out.is_empty());
    let tar = Tar::default().file("x", b"x").finish();
    let e = put(&env, "cc", "/etc/passwd", &tar).unwrap_err();
    assert_eq!(
        (e.to_string().as_str(), e.http_status()),
        ("extraction point is not a directory", 400)
    );
    let e = put(&env, "cc", "/nope", &tar).unwrap_err();
    assert_eq!(e.http_status(), 404);
    let e = env.engine.archive_stat("ghost", "/").unwrap_err();
    assert_eq!(e.to_string(), "No such container: ghost");
    // A read-only root filesystem refuses writes, as Docker does.
    let hc = HostConfig {
        readonly_rootfs: true,
        ..Default::default()
    };
    env.create("ro", &["true"], hc);
    let e = put(&env, "ro", "/tmp", &tar).unwrap_err();
    assert_eq!(e.to_string(), "container rootfs is marked read-only");
    // Owners from the container's user with copyUIDGID.
    let hc = HostConfig::default();
    let id = env.create("nobody", &["true"], hc);
    env.engine
        .containers
        .update(&id, |c| {
            c.config.user = "nobody".into();
            Ok(())
        })
        .unwrap();
    let opts = PutOptions {
        copy_uid_gid: true,
        ..Default::default()
    };
    env.engine
        .archive_put("nobody", "/tmp", &mut &tar[..], opts)
        .unwrap();
    let mut out = Vec::new();
    env.engine.archive_get("nobody", "/tmp/x", &mut out).unwrap();
    let h = tar::Archive::new(&out[..])
        .entries()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .header()
        .clone();
    assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (65534, 65534));
}

#[test]
fn hostile_archives_never_write_outside() {
    let env = Env::new(DriverChoice::Overlay);
    let outside = env.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let host = outside.to_str().unwrap().to_string();
    env.create("stopped", &["sleep", "1000"], HostConfig::default());
    env.run("running", &["sleep", "1000"], HostConfig::default());
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(env.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = listing();
    for c in ["stopped", "running"] {
        let refused = [
            Tar::default().file("../../../../escape", b"x").finish(),
            Tar::default().hardlink("h", "../../../../etc/shadow").finish(),
            Tar::default()
                .raw(EntryType::Char, "null", "", 0o666, b"")
                .finish(),
            Tar::default()
                .symlink("s", "/")
                .hardlink("h", "s/etc/shadow")
                .finish(),
        ];
        for tar in &refused {
            let e = put(&env, c, "/tmp", tar).unwrap_err();
            assert_eq!(e.http_status(), 400, "{c}: {e}");
        }
        let contained = Tar::default()
            .file("/abs", b"1")
            .symlink("up", "../../../../../../..")
            .file("up/via-up", b"2")
            .symlink("hostdir", &host)
            .file("hostdir/via-host", b"3")
            .finish();
        put(&env, c, "/tmp", &contained).unwrap();
        assert_eq!(content(&env, c, "/tmp/abs"), b"1");
        assert_eq!(content(&env, c, "/via-up"), b"2");
        assert_eq!(content(&env, c, &format!("{host}/via-host")), b"3");
        assert!(get(&env, c, "/tmp/null").is_err());
    }
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    assert_eq!(listing(), before);
    assert!(!Path::new("/via-up").exists() && !Path::new("/escape").exists());
}

#[test]
fn a_stopped_containers_volumes_are_attached_for_cp() {
    let env = Env::new(DriverChoice::Overlay);
    let (rw, ro) = (env.dir.path().join("rw"), env.dir.path().join("ro"));
    std::fs::create_dir(&rw).unwrap();
    std::fs::create_dir(&ro).unwrap();
    std::fs::write(ro.join("file"), b"from the host").unwrap();
    let hc = HostConfig {
        binds: Some(vec![
            format!("{}:/data", rw.display()),
            format!("{}:/srv/ro:ro", ro.display()),
        ]),
        ..Default::default()
    };
    let id = env.create("vol", &["sleep", "1000"], hc);
    put(&env, "vol", "/data", &Tar::default().file("x", b"x").finish()).unwrap();
    assert_eq!(std::fs::read(rw.join("x")).unwrap(), b"x");
    assert_eq!(content(&env, "vol", "/srv/ro/file"), b"from the host");
    let e = put(&env, "vol", "/srv/ro", &Tar::default().file("y", b"y").finish()).unwrap_err();
    assert_eq!(e.to_string(), "mounted volume is marked read-only");
    // The read-only bind is read-only in the mount itself too.
    let root = env.engine.container_root("vol", root::View::WithMounts).unwrap();
    let dir = fsarchive::resolve_extract_dir(root.fd(), "/srv/ro").unwrap();
    let tar = Tar::default().file("y", b"y").finish();
    let e = fsarchive::extract_into(root.fd(), &dir, &mut &tar[..], ExtractRules::default()).unwrap_err();
    assert!(e.to_string().contains("Read-only file system"), "{e}");
    drop(root);
    assert_eq!(std::fs::read_dir(&ro).unwrap().count(), 1);
    env.engine.start(&id, StartOptions::default()).unwrap();
    assert_eq!(content(&env, "vol", "/data/x"), b"x");
}

/// A tar body that arrives slowly and tells when all but its end-of-archive blocks (which a reader may not ask
/// for) has been read.
struct Slow {
    data: Vec<u8>,
    pos: usize,
    done: Arc<AtomicBool>,
}

impl Read for Slow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::thread::sleep(Duration::from_millis(15));
        let n = buf.len().min(self.data.len() - self.pos).min(256 * 1024);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos + 1024 >= self.data.len() {
            self.done.store(true, Ordering::SeqCst);
        }
        Ok(n)
    }
}

#[test]
fn a_start_waits_for_a_put_into_the_stopped_container() {
    let env = Env::new(DriverChoice::Overlay);
    env.create("cc", &["sleep", "1000"], HostConfig::default());
    let done = Arc::new(AtomicBool::new(false));
    let mut body = Slow {
        data: Tar::default().file("big", &vec![7u8; 4 << 20]).finish(),
        pos: 0,
        done: done.clone(),
    };
    std::thread::scope(|s| {
        let putting = s.spawn(|| {
            env.engine
                .archive_put("cc", "/tmp", &mut body, PutOptions::default())
        });
        std::thread::sleep(Duration::from_millis(60));
        assert!(!done.load(Ordering::SeqCst));
        env.engine.start("cc", StartOptions::default()).unwrap();
        assert!(
            done.load(Ordering::SeqCst),
            "the start did not wait for the extraction"
        );
        putting.join().unwrap().unwrap();
    });
    assert_eq!(env.engine.archive_stat("cc", "/tmp/big").unwrap().size, 4 << 20);
}
