//! A real registry process: Debian's `docker-registry` (distribution 2.8) on a free 127.0.0.1 port, its storage in
//! a temp dir, open or behind htpasswd basic auth (bcrypt entries from `htpasswd -B`) or trusting a
//! [`TokenService`]. It knows what authorizes a test's own writes, and where its storage keeps blobs and upload
//! sessions. Killed and its files removed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::{Signer, TokenService};

/// What lets a test write to the registry directly.
enum Writer {
    Open,
    /// The `Authorization` header of the htpasswd user.
    Basic(String),
    /// Mints pull+push tokens.
    Tokens(Signer),
}

/// A running registry.
pub struct Registry {
    child: Child,
    /// Holds `config.yml`, `registry.log` and `storage/`.
    pub dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub host: String,
    writer: Writer,
}

impl Registry {
    /// An open registry.
    pub fn start() -> Registry {
        Registry::launch(|_| String::new(), Writer::Open)
    }

    /// A registry behind htpasswd basic auth with one user.
    pub fn with_htpasswd(user: &str, password: &str) -> Registry {
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let auth = |dir: &Path| {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect("htpasswd (Debian package apache2-utils) must be installed");
            assert!(out.status.success(), "htpasswd failed");
            let file = dir.join("htpasswd");
            std::fs::write(&file, &out.stdout).expect("write the htpasswd file");
            format!(
                "auth: {{htpasswd: {{realm: berth-test, path: {}}}}}\n",
                file.display()
            )
        };
        Registry::launch(auth, Writer::Basic(basic))
    }

    /// A registry whose clients need bearer tokens from `tokens`.
    pub fn with_tokens(tokens: &TokenService) -> Registry {
        let auth = tokens.registry_config();
        Registry::launch(move |_| auth, Writer::Tokens(tokens.signer().clone()))
    }

    /// Writes the config (with the `auth:` section `auth` makes in the temp dir) and starts the registry,
    /// on another port when the one picked was taken meanwhile.
    fn launch(auth: impl FnOnce(&Path) -> String, writer: Writer) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("berth-registry-")
            .tempdir()
            .expect("create the registry's temp dir");
        let auth = auth(dir.path());
        let (config_file, log_file) = (dir.path().join("config.yml"), dir.path().join("registry.log"));
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("find a free port")
                .port();
            let config = format!(
                "version: 0.1\nlog: {{level: error}}\n\
                 storage: {{filesystem: {{rootdirectory: {}}}, delete: {{enabled: true}}}}\n\
                 http: {{addr: 127.0.0.1:{port}}}\n{auth}",
                dir.path().join("storage").display()
            );
            std::fs::write(&config_file, config).expect("write the registry config");
            let log = std::fs::File::create(&log_file).expect("create the registry log");
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config_file)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("docker-registry (Debian package docker-registry) must be installed");
            let host = format!("127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                if std::net::TcpStream::connect(&host).is_ok() {
                    return Registry {
                        child,
                        dir,
                        host,
                        writer,
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // The port was taken meanwhile, or the registry is slow: try another.
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "docker-registry did not start: {}",
            std::fs::read_to_string(&log_file).unwrap_or_default()
        );
    }

    /// The `Authorization` header that lets a test place content in `repository` itself: the htpasswd user's
    /// credentials, or a freshly minted pull+push token; none for an open registry.
    pub fn write_authorization(&self, repository: &str) -> Option<String> {
        match &self.writer {
            Writer::Open => None,
            Writer::Basic(header) => Some(header.clone()),
            Writer::Tokens(signer) => Some(format!(
                "Bearer {}",
                signer.repository_token("uploader", repository, &["pull", "push"])
            )),
        }
    }

    /// The file holding blob `digest` (`sha256:…`) in the registry's storage.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest
            .strip_prefix("sha256:")
            .unwrap_or_else(|| panic!("not a sha256 digest: {digest}"));
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// The upload sessions the registry still holds for `repository` (a cancelled session may leave an empty
    /// `hashstates` directory behind in distribution 2.8; its `startedat` marker goes with the session).
    pub fn open_uploads(&self, repository: &str) -> Vec<PathBuf> {
        let dir = self
            .dir
            .path()
            .join("storage/docker/registry/v2/repositories")
            .join(repository)
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;
    use crate::Anonymous;

    /// The status code of `method path` (no body), with an `Authorization` header when given.
    fn status(reg: &Registry, method: &str, path: &str, auth: Option<&str>) -> u16 {
        let mut conn = std::net::TcpStream::connect(&reg.host).unwrap();
        let auth = auth
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        write!(
            conn,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n",
            reg.host
        )
        .unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        answer.split(' ').nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn open_registry_answers_and_tracks_upload_sessions() {
        let reg = Registry::start();
        assert_eq!(status(&reg, "GET", "/v2/", None), 200);
        assert_eq!(reg.write_authorization("a/b"), None);
        assert!(reg.open_uploads("a/b").is_empty());
        assert_eq!(status(&reg, "POST", "/v2/a/b/blobs/uploads/", None), 202);
        assert_eq!(reg.open_uploads("a/b").len(), 1);
        assert!(
            reg.blob_file("sha256:abcdef")
                .ends_with("blobs/sha256/ab/abcdef/data")
        );
        let dir = reg.dir.path().to_path_buf();
        drop(reg);
        assert!(!dir.exists());
    }

    #[test]
    fn htpasswd_registry_takes_its_user() {
        let reg = Registry::with_htpasswd("tester", "s3cret");
        assert_eq!(status(&reg, "GET", "/v2/", None), 401);
        let auth = reg.write_authorization("x").unwrap();
        assert_eq!(auth, "Basic dGVzdGVyOnMzY3JldA==");
        assert_eq!(status(&reg, "GET", "/v2/", Some(&auth)), 200);
    }

    #[test]
    fn token_registry_takes_minted_tokens() {
        let tokens = TokenService::start("tester", "pw", Anonymous::Nothing);
        let reg = Registry::with_tokens(&tokens);
        assert_eq!(status(&reg, "POST", "/v2/team/app/blobs/uploads/", None), 401);
        let auth = reg.write_authorization("team/app").unwrap();
        assert_eq!(
            status(&reg, "POST", "/v2/team/app/blobs/uploads/", Some(&auth)),
            202
        );
        assert_eq!(
            status(&reg, "POST", "/v2/team/other/blobs/uploads/", Some(&auth)),
            401
        );
    }
}
