//! `docker diff`: the paths a container's writable layer added, changed or deleted against its image, read from
//! the layer's directories (nothing is mounted), running or not.

use crate::engine::Engine;
use crate::error::Result;

pub use berth_image::fsarchive::Change;

impl Engine {
    /// The changes of container `reference`'s filesystem against its image, sorted by path.
    pub fn changes(&self, reference: &str) -> Result<Vec<Change>> {
        let id = self.containers.resolve(reference)?;
        Ok(self.images.rw_changes(&id)?)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use berth_image::DriverChoice;

    use crate::model::HostConfig;
    use crate::ops::archive::PutOptions;
    use crate::testkit::{Env, Tar};

    fn diff(env: &Env, c: &str) -> Vec<String> {
        let kinds = ["C", "A", "D"];
        let changes = env.engine.changes(c).unwrap();
        changes
            .iter()
            .map(|c| format!("{} {}", kinds[c.kind as usize], c.path))
            .collect()
    }

    #[test]
    fn diff_reports_what_a_container_changed() {
        for driver in [DriverChoice::Overlay, DriverChoice::Vfs] {
            let env = Env::new(driver);
            env.create("created", &["true"], HostConfig::default());
            assert!(diff(&env, "created").is_empty(), "{driver:?}");
            let tar = Tar::default().file("added", b"a").finish();
            env.engine
                .archive_put("created", "/tmp", &mut &tar[..], PutOptions::default())
                .unwrap();
            assert_eq!(diff(&env, "created"), ["C /tmp", "A /tmp/added"], "{driver:?}");

            let script = "rm /etc/group && echo changed > /etc/passwd && mkdir -p /new/sub && touch /new/sub/f \
                          && touch /ready && sleep 1000";
            env.run("cc", &["sh", "-c", script], HostConfig::default());
            let deadline = Instant::now() + Duration::from_secs(10);
            while env.engine.archive_stat("cc", "/ready").is_err() {
                assert!(Instant::now() < deadline, "the container never got ready");
                std::thread::sleep(Duration::from_millis(20));
            }
            let want = [
                "C /etc",
                "D /etc/group",
                "C /etc/passwd",
                "A /new",
                "A /new/sub",
                "A /new/sub/f",
                "A /ready",
            ];
            assert_eq!(diff(&env, "cc"), want, "{driver:?}");
            let e = env.engine.changes("ghost").unwrap_err();
            assert_eq!(e.http_status(), 404);
        }
    }
}
