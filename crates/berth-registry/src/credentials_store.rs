//! Writing credentials as `docker login` / `docker logout` do: to the credential helper `config.json` names for
//! the server (`credHelpers[server]`, else `credsStore`) with an empty `auths[server]` entry left in the file
//! (Docker's native store does that), or into `auths[server]` itself (`auth` = base64 `user:password`, an
//! identity token as `identitytoken`). Every other part of the file is kept as it was read (it goes through a
//! JSON value, so only key order may change); the file is written atomically (temp file, fsync, rename) with
//! mode 0600, its directory created 0700 when missing. Servers are keyed as Docker keys them: Docker Hub as
//! `https://index.docker.io/v1/`, others as `host[:port]`, scheme and path dropped.

use std::ffi::OsString;
use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::cred_helper::Helper;
use crate::credentials::{AuthConfig, DOCKER_HUB_KEY, config_key, encode_auth, normalize_key};
use crate::error::{Error, Result};

/// Distinguishes the temp files of concurrent writes of one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The key credentials for `server` (as given to `docker login`) are stored under.
/// An empty server is Docker Hub, as `docker login` without one.
pub fn server_key(server: &str) -> String {
    match normalize_key(server.trim()) {
        "" => DOCKER_HUB_KEY.to_string(),
        host => config_key(host),
    }
}

/// Where stored credentials went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// To the credential helper `docker-credential-<name>`.
    Helper(String),
    /// Into this `config.json`, unencrypted.
    File(PathBuf),
}

/// Writes credentials into a Docker client configuration directory.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    dir: PathBuf,
    helper_path: Option<OsString>,
}

impl CredentialStore {
    /// The store of the configuration directory `dir` (`~/.docker`).
    pub fn new(dir: impl Into<PathBuf>) -> CredentialStore {
        CredentialStore {
            dir: dir.into(),
            helper_path: None,
        }
    }

    /// Looks credential helpers up on `path` (a `PATH`-like list of directories) instead of `PATH`.
    pub fn with_helper_path(mut self, path: impl Into<OsString>) -> CredentialStore {
        self.helper_path = Some(path.into());
        self
    }

    fn file(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// Stores `auth` for `server`; says where.
    pub fn store(&self, server: &str, auth: &AuthConfig) -> Result<Kept> {
        let key = server_key(server);
        let mut cfg = self.read()?;
        let (entry, kept) = match self.helper(&cfg, &key) {
            Some(name) => {
                Helper::new(&name, self.helper_path.as_deref()).store(&key, auth)?;
                (Map::new(), Kept::Helper(name))
            }
            None => (file_entry(auth), Kept::File(self.file())),
        };
        let mut auths = take_auths(&mut cfg);
        auths.insert(key, Value::Object(entry));
        cfg.insert("auths".into(), Value::Object(auths));
        self.write(&cfg)
            .map_err(|e| Error::Credentials(format!("error saving credentials: {e}")))?;
        Ok(kept)
    }

    /// Forgets the credentials of `server`; returns whether there were any.
    pub fn erase(&self, server: &str) -> Result<bool> {
        let key = server_key(server);
        let mut cfg = self.read()?;
        let in_helper = match self.helper(&cfg, &key) {
            Some(name) => Helper::new(&name, self.helper_path.as_deref()).erase(&key)?,
            None => false,
        };
        let mut auths = take_auths(&mut cfg);
        let before = auths.len();
        // Docker's logout also removes legacy entries naming the server with a scheme or a path.
        auths.retain(|k, _| !(k == &key || (key != DOCKER_HUB_KEY && normalize_key(k) == key)));
        let in_file = auths.len() != before;
        cfg.insert("auths".into(), Value::Object(auths));
        if in_file {
            self.write(&cfg)
                .map_err(|e| Error::Credentials(format!("could not erase credentials: {e}")))?;
        }
        Ok(in_helper || in_file)
    }

    /// The helper configured for `key`, if any.
    fn helper(&self, cfg: &Map<String, Value>, key: &str) -> Option<String> {
        let named = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        named(cfg.get("credHelpers").and_then(|h| h.get(key))).or_else(|| named(cfg.get("credsStore")))
    }

    /// The configuration file as a JSON object (empty when missing).
    fn read(&self) -> Result<Map<String, Value>> {
        let path = self.file();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Map::new()),
            Err(e) => return Err(Error::Credentials(format!("read {}: {e}", path.display()))),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(Error::Credentials(format!(
                "loading config file {}: not a JSON object",
                path.display()
            ))),
            Err(e) => Err(Error::Credentials(format!(
                "loading config file {}: {e}",
                path.display()
            ))),
        }
    }

    /// Writes the configuration atomically, tab-indented as Docker writes it.
    fn write(&self, cfg: &Map<String, Value>) -> io::Result<()> {
        DirBuilder::new().recursive(true).mode(0o700).create(&self.dir)?;
        let mut path = self.file();
        // A symlinked config.json (dotfile managers) is updated where it points.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            path = std::fs::canonicalize(&path)?;
        }
        let mut bytes = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(
            &mut bytes,
            serde_json::ser::PrettyFormatter::with_indent(b"\t"),
        );
        cfg.serialize(&mut ser).map_err(io::Error::other)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let written = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            // The file keeps its owner: `sudo berth login` must not take a user's config.json away from them.
            if let Ok(old) = std::fs::metadata(&path) {
                std::os::unix::fs::fchown(&f, Some(old.uid()), Some(old.gid()))?;
            }
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&temp, &path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written?;
        std::fs::File::open(dir)?.sync_all()
    }
}

/// The `auths` entry Docker writes: `auth` unless user and password are both empty, and the tokens.
fn file_entry(auth: &AuthConfig) -> Map<String, Value> {
    let mut entry = Map::new();
    if !auth.username.is_empty() || !auth.password.is_empty() {
        entry.insert(
            "auth".into(),
            Value::String(encode_auth(&auth.username, &auth.password)),
        );
    }
    if !auth.identity_token.is_empty() {
        entry.insert("identitytoken".into(), Value::String(auth.identity_token.clone()));
    }
    if !auth.registry_token.is_empty() {
        entry.insert("registrytoken".into(), Value::String(auth.registry_token.clone()));
    }
    entry
}

/// The `auths` object of a configuration, taken out of it (empty when missing or not an object).
fn take_auths(cfg: &mut Map<String, Value>) -> Map<String, Value> {
    match cfg.remove("auths") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::DockerConfig;
    use std::os::unix::fs::PermissionsExt;

    fn creds(user: &str, password: &str) -> AuthConfig {
        AuthConfig {
            username: user.into(),
            password: password.into(),
            ..Default::default()
        }
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn json(p: &Path) -> Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    }

    #[test]
    fn keys_as_docker_makes_them() {
        assert_eq!(server_key("docker.io"), DOCKER_HUB_KEY);
        assert_eq!(server_key("https://index.docker.io/v1/"), DOCKER_HUB_KEY);
        assert_eq!(server_key("registry-1.docker.io"), DOCKER_HUB_KEY);
        assert_eq!(server_key("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
        assert_eq!(server_key("reg.example:443/some/path"), "reg.example:443");
        assert_eq!(server_key("localhost:5000"), "localhost:5000");
    }

    #[test]
    fn the_file_keeps_its_owner() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("config.json");
        std::fs::write(&file, "{}").unwrap();
        // A user's file, rewritten by root (`sudo berth login`).
        std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
        let kept = CredentialStore::new(t.path())
            .store("reg.example", &creds("u", "p"))
            .unwrap();
        assert_eq!(kept, Kept::File(file.clone()));
        let meta = std::fs::metadata(&file).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
        assert_eq!(mode(&file), 0o600);
    }

    #[test]
    fn file_entries_are_written_and_erased() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("fresh/.docker");
        let store = CredentialStore::new(&dir);
        store
            .store("http://127.0.0.1:5000/v2/", &creds("u", "p:w"))
            .unwrap();
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("config.json");
        assert_eq!(mode(&file), 0o600);
        assert_eq!(json(&file)["auths"]["127.0.0.1:5000"]["auth"], "dTpwOnc=");
        let found = DockerConfig::load(&dir)
            .unwrap()
            .lookup("127.0.0.1:5000")
            .unwrap()
            .unwrap();
        assert_eq!((found.username.as_str(), found.password.as_str()), ("u", "p:w"));

        // Everything else in the file survives, legacy keys of the server are erased with it.
        let before = r#"{"auths":{"other.example":{"auth":"eDp5","email":"a@b"},"http://127.0.0.1:5000/v1/":{"auth":"b2xkOm9sZA=="},
            "127.0.0.1:5000":{"auth":"dTpwOnc="}},"psFormat":"table {{.ID}}","proxies":{"default":{"httpProxy":"http://p:3128"}},
            "plugins":{"x":{"k":[1,2.5,null,true]}}}"#;
        std::fs::write(&file, before).unwrap();
        let token = AuthConfig {
            username: "u".into(),
            identity_token: "refresh".into(),
            ..Default::default()
        };
        store.store("docker.io", &token).unwrap();
        let v = json(&file);
        assert_eq!(
            v["auths"][DOCKER_HUB_KEY],
            serde_json::json!({"auth": "dTo=", "identitytoken": "refresh"})
        );
        let mut expected: Value = serde_json::from_str(before).unwrap();
        expected["auths"][DOCKER_HUB_KEY] = v["auths"][DOCKER_HUB_KEY].clone();
        assert_eq!(v, expected);
        assert!(
            std::fs::read_to_string(&file)
                .unwrap()
                .contains("\n\t\"auths\": {")
        );
        assert_eq!(
            DockerConfig::load(&dir)
                .unwrap()
                .lookup("docker.io")
                .unwrap()
                .unwrap()
                .identity_token,
            "refresh"
        );

        assert!(store.erase("127.0.0.1:5000").unwrap());
        let v = json(&file);
        assert!(v["auths"].get("127.0.0.1:5000").is_none());
        assert!(v["auths"].get("http://127.0.0.1:5000/v1/").is_none());
        assert_eq!(v["auths"]["other.example"]["email"], "a@b");
        assert_eq!(v["psFormat"], "table {{.ID}}");
        assert!(!store.erase("127.0.0.1:5000").unwrap());
        assert!(store.erase("https://index.docker.io/v1/").unwrap());
        // No temp files left behind.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config.json")]);
    }

    #[test]
    fn bad_files_are_left_alone_and_symlinks_followed() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("config.json");
        std::fs::write(&file, "{not json").unwrap();
        let store = CredentialStore::new(t.path());
        let e = store.store("reg.example", &creds("u", "p")).unwrap_err();
        assert!(e.to_string().starts_with("loading config file "), "{e}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{not json");

        let real = t.path().join("dotfiles-config.json");
        std::fs::write(&real, r#"{"detachKeys":"ctrl-x"}"#).unwrap();
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(&real, &file).unwrap();
        store.store("reg.example", &creds("u", "p")).unwrap();
        assert!(std::fs::symlink_metadata(&file).unwrap().file_type().is_symlink());
        let v = json(&real);
        assert_eq!(v["detachKeys"], "ctrl-x");
        assert_eq!(v["auths"]["reg.example"]["auth"], "dTpw");
    }

    /// A credential helper keeping one credential in a file beside itself.
    const HELPER: &str = r#"#!/bin/sh
d=$(dirname "$0")
case "$1" in
store) cat > "$d/stored.json" ;;
get) read -r s; if [ -f "$d/stored.json" ]; then cat "$d/stored.json"; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) read -r s; if [ -f "$d/stored.json" ]; then rm "$d/stored.json"; echo "$s" > "$d/erased"; else echo "credentials not found in native keychain"; exit 1; fi ;;
esac
"#;

    #[test]
    fn helpers_store_and_erase() {
        let t = tempfile::tempdir().unwrap();
        let bin = t.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        for (name, script) in [("test", HELPER), ("broken", "#!/bin/sh\necho boom\nexit 3\n")] {
            let p = bin.join(format!("docker-credential-{name}"));
            std::fs::write(&p, script).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let dir = t.path().join("cfg");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(
            dir.join("config.json"),
            r#"{"credHelpers":{"reg.example":"test","bad.example":"broken","gone.example":"nope"}}"#,
        )
        .unwrap();
        let store = CredentialStore::new(&dir).with_helper_path(&bin);
        store
            .store("https://reg.example/v2/", &creds("hu", "hs"))
            .unwrap();
        let stored = json(&bin.join("stored.json"));
        assert_eq!(
            stored,
            serde_json::json!({"ServerURL": "reg.example", "Username": "hu", "Secret": "hs"})
        );
        let v = json(&dir.join("config.json"));
        assert_eq!(v["auths"]["reg.example"], serde_json::json!({}));
        assert_eq!(v["credHelpers"]["bad.example"], "broken");
        let cfg = DockerConfig::load(&dir).unwrap().with_helper_path(&bin);
        let found = cfg.lookup("reg.example").unwrap().unwrap();
        assert_eq!((found.username.as_str(), found.password.as_str()), ("hu", "hs"));

        assert!(store.erase("reg.example").unwrap());
        assert_eq!(
            std::fs::read_to_string(bin.join("erased")).unwrap().trim(),
            "reg.example"
        );
        assert!(
            json(&dir.join("config.json"))["auths"]
                .get("reg.example")
                .is_none()
        );
        assert!(!store.erase("reg.example").unwrap());

        let e = store.store("bad.example", &creds("u", "p")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "error storing credentials - err: exit status 3, out: `boom`"
        );
        let e = store.erase("gone.example").unwrap_err();
        assert_eq!(
            e.to_string(),
            "error erasing credentials - err: exec: \"docker-credential-nope\": executable file not found \
             in $PATH, out: ``"
        );
    }
}
