//! A real registry for this crate's tests: Debian's `docker-registry` (distribution 2.8) on a free 127.0.0.1
//! port, storage in a temp dir, optionally behind htpasswd basic auth (bcrypt entries from `htpasswd -B`) or a
//! bearer token service ([`token`]). Killed and removed on drop.

pub mod token;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_registry::{AuthConfig, Client, Endpoint, RegistryOptions};

/// A running registry.
pub struct Registry {
    child: Child,
    pub dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub host: String,
}

impl Registry {
    /// An open registry.
    pub fn start() -> Registry {
        Registry::launch(|_| String::new())
    }

    /// A registry behind htpasswd basic auth with one user.
    pub fn with_htpasswd(user: &str, password: &str) -> Registry {
        Registry::launch(|dir| {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect("htpasswd (Debian package apache2-utils) must be installed");
            assert!(out.status.success(), "htpasswd failed");
            let file = dir.join("htpasswd");
            std::fs::write(&file, &out.stdout).unwrap();
            format!("auth: {{htpasswd: {{realm: test, path: {}}}}}\n", file.display())
        })
    }

    /// A registry trusting the tokens of `tokens`.
    pub fn with_tokens(tokens: &token::TokenService) -> Registry {
        let auth = tokens.registry_config();
        Registry::launch(move |_| auth)
    }

    fn launch(auth: impl FnOnce(&std::path::Path) -> String) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("berth-registry-test-")
            .tempdir()
            .unwrap();
        let auth = auth(dir.path());
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let config = format!(
                "version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {}}}, delete: {{enabled: true}}}}\n\
                 http: {{addr: 127.0.0.1:{port}}}\n{auth}",
                dir.path().join("storage").display()
            );
            let config_file = dir.path().join("config.yml");
            std::fs::write(&config_file, config).unwrap();
            let mut child = Command::new("/usr/bin/docker-registry")
                .arg("serve")
                .arg(&config_file)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.path().join("registry.log")).unwrap())
                .spawn()
                .expect("docker-registry (Debian package docker-registry) must be installed");
            let host = format!("127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
                if std::net::TcpStream::connect(&host).is_ok() {
                    return Registry { child, dir, host };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // The port was taken meanwhile: try another.
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "docker-registry did not start: {}",
            std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
        );
    }

    /// A client of this registry with credentials (none when `user` is empty).
    pub fn client(&self, user: &str, password: &str) -> Client {
        let creds = (!user.is_empty()).then(|| AuthConfig {
            username: user.into(),
            password: password.into(),
            ..Default::default()
        });
        Client::new(Endpoint::resolve(&self.host, &RegistryOptions::default()), creds)
    }

    /// The upload sessions the registry still holds for `repo` (a cancelled session may leave an empty
    /// `hashstates` directory behind in distribution 2.8; its `startedat` marker goes with the session).
    pub fn open_uploads(&self, repo: &str) -> Vec<PathBuf> {
        let dir = self
            .dir
            .path()
            .join("storage/docker/registry/v2/repositories")
            .join(repo)
            .join("_uploads");
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.join("startedat").exists())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
