//! Credentials: the `X-Registry-Auth` header's JSON, and reading Docker's `config.json` (`auths` with base64
//! `auth` or an identity token, `credHelpers` / `credsStore` through `docker-credential-<name> get`). Writing
//! them is [`crate::credentials_store`]'s job.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

use crate::cred_helper::Helper;
use crate::endpoint::DOCKER_HUB;
use crate::error::{Error, Result};

/// The key Docker stores Docker Hub credentials under.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// Credentials for one registry.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuthConfig {
    pub username: String,
    pub password: String,
    /// An OAuth refresh token (`docker login` with a token; helpers' `<token>` user).
    pub identity_token: String,
    /// A bearer token to send as is.
    pub registry_token: String,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl AuthConfig {
    /// Whether there is nothing to authenticate with.
    pub fn is_empty(&self) -> bool {
        self.username.is_empty()
            && self.password.is_empty()
            && self.identity_token.is_empty()
            && self.registry_token.is_empty()
    }

    /// These credentials for `server` as Docker's API carries them (`POST /auth`'s body; `X-Registry-Auth`).
    pub fn to_json(&self, server: &str) -> serde_json::Value {
        serde_json::json!({
            "username": self.username,
            "password": self.password,
            "serveraddress": server,
            "identitytoken": self.identity_token,
            "registrytoken": self.registry_token,
        })
    }

    /// Encodes these credentials for `server` as the Docker API's `X-Registry-Auth` header (base64url JSON), as
    /// Docker's CLI sends them.
    pub fn to_header(&self, server: &str) -> String {
        base64::engine::general_purpose::URL_SAFE.encode(self.to_json(server).to_string())
    }

    /// Decodes Docker's JSON form of credentials ([`AuthConfig::to_json`]; `auth` may carry base64
    /// `user:password`); returns them with the server address. `what` names the source in errors.
    pub fn from_json(bytes: &[u8], what: &str) -> Result<(AuthConfig, String)> {
        let h: HeaderAuth = serde_json::from_slice(bytes)
            .map_err(|e| Error::InvalidArgument(format!("invalid {what}: {e}")))?;
        let mut auth = AuthConfig {
            username: h.username,
            password: h.password,
            identity_token: h.identitytoken,
            registry_token: h.registrytoken,
        };
        if auth.username.is_empty() && !h.auth.is_empty() {
            (auth.username, auth.password) = decode_auth(&h.auth)?;
        }
        Ok((auth, h.serveraddress))
    }

    /// Decodes the Docker API's `X-Registry-Auth` header (base64url JSON; padding optional). An empty header or
    /// `{}` gives empty credentials.
    pub fn from_header(value: &str) -> Result<AuthConfig> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(AuthConfig::default());
        }
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let bytes = e
            .decode(value.trim_end_matches('='))
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(value))
            .map_err(|_| Error::InvalidArgument("invalid X-Registry-Auth header: not base64".into()))?;
        Ok(AuthConfig::from_json(&bytes, "X-Registry-Auth header")?.0)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HeaderAuth {
    username: String,
    password: String,
    serveraddress: String,
    auth: String,
    identitytoken: String,
    registrytoken: String,
}

/// `base64("user:password")`: config.json's `auth` and the value of a `Basic` authorization.
pub(crate) fn encode_auth(username: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
}

/// Decodes [`encode_auth`]'s form.
pub(crate) fn decode_auth(b64: &str) -> Result<(String, String)> {
    let bad = || Error::Credentials("invalid auth configuration file: bad base64 auth".into());
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    let (u, p) = s.split_once(':').ok_or_else(bad)?;
    Ok((u.to_string(), p.trim_end_matches('\0').to_string()))
}

/// One `auths` entry.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct AuthEntry {
    auth: String,
    username: String,
    password: String,
    identitytoken: String,
    registrytoken: String,
}

/// Docker's client configuration file.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct DockerConfig {
    auths: HashMap<String, AuthEntry>,
    #[serde(rename = "credsStore")]
    creds_store: String,
    #[serde(rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
    /// Where credential helpers are looked up instead of `PATH`.
    #[serde(skip)]
    helper_path: Option<OsString>,
}

impl std::fmt::Debug for DockerConfig {
    /// Names the registries, never their secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerConfig")
            .field("auths", &self.auths.keys().collect::<Vec<_>>())
            .field("creds_store", &self.creds_store)
            .field("cred_helpers", &self.cred_helpers)
            .finish()
    }
}

/// The key a registry's credentials are stored under.
pub fn config_key(registry: &str) -> String {
    if registry == DOCKER_HUB || registry == "index.docker.io" || registry == "registry-1.docker.io" {
        DOCKER_HUB_KEY.to_string()
    } else {
        registry.to_string()
    }
}

/// `https://host/v1/` → `host`, as Docker compares `auths` keys.
pub(crate) fn normalize_key(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

impl DockerConfig {
    /// The directory Docker's client uses: `$DOCKER_CONFIG`, else `~/.docker`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(d));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker"))
    }

    /// Looks credential helpers up on `path` (a `PATH`-like list of directories) instead of `PATH`.
    pub fn with_helper_path(mut self, path: impl Into<OsString>) -> DockerConfig {
        self.helper_path = Some(path.into());
        self
    }

    /// Reads `<dir>/config.json`; a missing file is an empty configuration.
    pub fn load(dir: &Path) -> Result<DockerConfig> {
        let path = dir.join("config.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::Credentials(format!("loading config file {}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DockerConfig::default()),
            Err(e) => Err(Error::Credentials(format!("read {}: {e}", path.display()))),
        }
    }

    /// The credentials stored for `registry` (a reference's domain), from its helper when one is configured.
    pub fn lookup(&self, registry: &str) -> Result<Option<AuthConfig>> {
        let key = config_key(registry);
        let helper = self
            .cred_helpers
            .get(&key)
            .or_else(|| self.cred_helpers.get(registry));
        let helper = helper
            .map(String::as_str)
            .or((!self.creds_store.is_empty()).then_some(&*self.creds_store));
        if let Some(helper) = helper {
            return Helper::new(helper, self.helper_path.as_deref()).get(&key);
        }
        let entry = self.auths.get(&key).or_else(|| {
            let want = normalize_key(&key);
            self.auths
                .iter()
                .find(|(k, _)| normalize_key(k) == want)
                .map(|(_, v)| v)
        });
        let Some(entry) = entry else { return Ok(None) };
        let mut auth = AuthConfig {
            username: entry.username.clone(),
            password: entry.password.clone(),
            identity_token: entry.identitytoken.clone(),
            registry_token: entry.registrytoken.clone(),
        };
        if !entry.auth.is_empty() {
            (auth.username, auth.password) = decode_auth(&entry.auth)?;
        }
        Ok((!auth.is_empty()).then_some(auth))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn header_forms() {
        let url = base64::engine::general_purpose::URL_SAFE;
        let h = url.encode(r#"{"username":"u","password":"p?>","serveraddress":"x"}"#);
        let a = AuthConfig::from_header(&h).unwrap();
        assert_eq!((a.username.as_str(), a.password.as_str()), ("u", "p?>"));
        let h = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!(r#"{{"auth":"{}"}}"#, b64("a:b:c")));
        let a = AuthConfig::from_header(&h).unwrap();
        assert_eq!((a.username.as_str(), a.password.as_str()), ("a", "b:c"));
        assert!(AuthConfig::from_header("e30=").unwrap().is_empty());
        assert!(AuthConfig::from_header("").unwrap().is_empty());
        assert!(AuthConfig::from_header("!!").is_err());
        assert!(format!("{a:?}").contains("\"a\"") && !format!("{a:?}").contains("b:c"));
    }

    #[test]
    fn config_file_lookup() {
        let t = tempfile::tempdir().unwrap();
        assert!(
            DockerConfig::load(t.path())
                .unwrap()
                .lookup("docker.io")
                .unwrap()
                .is_none()
        );
        let cfg = format!(
            r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{}"}},"http://127.0.0.1:5000/v2/":{{"auth":"{}"}},
                "tok.example":{{"identitytoken":"rt"}}}}}}"#,
            b64("hub:pw"),
            b64("local:secret")
        );
        std::fs::write(t.path().join("config.json"), cfg).unwrap();
        let c = DockerConfig::load(t.path()).unwrap();
        assert_eq!(c.lookup("docker.io").unwrap().unwrap().username, "hub");
        let local = c.lookup("127.0.0.1:5000").unwrap().unwrap();
        assert_eq!(
            (local.username.as_str(), local.password.as_str()),
            ("local", "secret")
        );
        assert_eq!(c.lookup("tok.example").unwrap().unwrap().identity_token, "rt");
        assert!(c.lookup("127.0.0.1:5001").unwrap().is_none());
        std::fs::write(t.path().join("config.json"), "{not json").unwrap();
        assert!(
            DockerConfig::load(t.path())
                .unwrap_err()
                .to_string()
                .starts_with("loading config file")
        );
    }

    #[test]
    fn credential_helpers() {
        let t = tempfile::tempdir().unwrap();
        // A helper on the search path is found by name; this one answers for one server and echoes what it was asked.
        let helper = t.path().join("docker-credential-berthtest");
        std::fs::write(
            &helper,
            "#!/bin/sh\nread -r server\nif [ \"$server\" = reg.example ]; then\n\
             echo '{\"ServerURL\":\"reg.example\",\"Username\":\"hu\",\"Secret\":\"hs\"}'\n\
             elif [ \"$server\" = tok.example ]; then echo '{\"Username\":\"<token>\",\"Secret\":\"ref\"}'\n\
             else echo 'credentials not found in native keychain'; exit 1; fi\n",
        )
        .unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cfg: DockerConfig = serde_json::from_str(
            r#"{"credHelpers":{"reg.example":"berthtest","tok.example":"berthtest","none.example":"berthtest",
                "bad.example":"nosuchhelper"}}"#,
        )
        .unwrap();
        let cfg = cfg.with_helper_path(t.path());
        let a = cfg.lookup("reg.example").unwrap().unwrap();
        assert_eq!((a.username.as_str(), a.password.as_str()), ("hu", "hs"));
        assert_eq!(cfg.lookup("tok.example").unwrap().unwrap().identity_token, "ref");
        assert!(cfg.lookup("none.example").unwrap().is_none());
        assert!(
            cfg.lookup("bad.example")
                .unwrap_err()
                .to_string()
                .contains("docker-credential-nosuchhelper")
        );
    }
}
