//! `docker export`: a tar of a container's root filesystem — its image with its writable layer on top, without
//! anything mounted into it — whether it runs or not.

use std::io::Write;

use berth_image::fsarchive;

use super::archive::root::View;
use crate::engine::Engine;
use crate::error::Result;

impl Engine {
    /// Writes the tar of container `reference`'s root filesystem to `out`.
    pub fn export(&self, reference: &str, out: &mut dyn Write) -> Result<()> {
        let root = self.container_root(reference, View::RootfsOnly)?;
        fsarchive::write_root_archive(root.fd(), out)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use berth_image::DriverChoice;
    use tar::EntryType;

    use crate::model::HostConfig;
    use crate::ops::archive::PutOptions;
    use crate::testkit::{Env, Tar, entries};

    fn export(env: &Env, c: &str) -> Vec<(String, EntryType, Vec<u8>)> {
        let mut out = Vec::new();
        env.engine.export(c, &mut out).unwrap();
        entries(&out).into_iter().map(|(n, k, _, d)| (n, k, d)).collect()
    }

    #[test]
    fn export_is_the_root_filesystem_alone() {
        let env = Env::new(DriverChoice::Overlay);
        env.create("created", &["true"], HostConfig::default());
        let tar = Tar::default().file("added", b"a").finish();
        env.engine
            .archive_put("created", "/tmp", &mut &tar[..], PutOptions::default())
            .unwrap();
        let got = export(&env, "created");
        let busybox = got.iter().find(|e| e.0 == "bin/busybox").unwrap();
        assert_eq!(busybox.2, std::fs::read("/bin/busybox").unwrap());
        assert!(got.iter().any(|e| e.0 == "tmp/added" && e.2 == b"a"));
        assert!(
            got.iter()
                .all(|e| !e.0.starts_with('/') && !e.0.starts_with("./"))
        );

        // A running container: its mounts (a bind, /proc, /etc/hosts) are not part of its root filesystem.
        let host = env.dir.path().join("bound");
        std::fs::create_dir(&host).unwrap();
        std::fs::write(host.join("host-file"), b"h").unwrap();
        let hc = HostConfig {
            binds: Some(vec![format!("{}:/data", host.display())]),
            ..Default::default()
        };
        let id = env.create("running", &["sleep", "1000"], hc);
        env.engine.start(&id, Default::default()).unwrap();
        env.engine
            .archive_put("running", "/tmp", &mut &tar[..], PutOptions::default())
            .unwrap();
        let got = export(&env, "running");
        assert!(got.iter().any(|e| e.0 == "bin/busybox"));
        assert!(got.iter().any(|e| e.0 == "tmp/added"));
        assert!(got.iter().any(|e| e.0 == "data/" && e.1 == EntryType::Directory));
        assert!(
            !got.iter()
                .any(|e| e.0.starts_with("data/host-file") || e.0.starts_with("proc/1"))
        );
        let hosts = got.iter().find(|e| e.0 == "etc/hosts").unwrap();
        assert!(
            hosts.2.is_empty(),
            "the bind-mounted hosts file leaked into the export"
        );
        // The same container seen by cp includes its mounts.
        let mut out = Vec::new();
        env.engine
            .archive_get("running", "/data/host-file", &mut out)
            .unwrap();
        assert_eq!(entries(&out)[0].3, b"h");
    }
}
