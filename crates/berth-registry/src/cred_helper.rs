//! Docker credential helpers (`docker-credential-<name>`, the docker-credential-helpers protocol): `get` (stdin
//! the server URL; stdout `{"ServerURL","Username","Secret"}`), `store` (stdin that JSON) and `erase` (stdin the
//! server URL). A `<token>` user means the secret is an identity token. The program is looked up on a search
//! path given explicitly, else on the process's `PATH`; failures are worded as Docker's helper client words
//! them (`error storing credentials - err: exit status 1, out: `…``).

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde::{Deserialize, Serialize};

use crate::credentials::AuthConfig;
use crate::error::{Error, Result};

/// The user name helpers store identity tokens under.
const TOKEN_USER: &str = "<token>";

/// One credential helper.
pub(crate) struct Helper<'a> {
    name: &'a str,
    search_path: Option<&'a OsStr>,
}

/// What `get` prints and `store` reads.
#[derive(Serialize, Deserialize)]
struct Credentials {
    #[serde(rename = "ServerURL", default)]
    server_url: String,
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Whether a helper's output says it has nothing for the server.
fn not_found(out: &str) -> bool {
    out.contains("credentials not found")
}

impl<'a> Helper<'a> {
    /// The helper `docker-credential-<name>`, looked up on `search_path` (else `PATH`).
    pub(crate) fn new(name: &'a str, search_path: Option<&'a OsStr>) -> Helper<'a> {
        Helper { name, search_path }
    }

    /// Runs `docker-credential-<name> <verb>` with `input` on stdin; a failure to start it, or its failure
    /// status, is an error worded with `doing` (`getting`, `storing`, `erasing`) unless the helper said it
    /// had no credentials for the server (then `Ok(None)`).
    fn run(&self, verb: &str, doing: &str, input: &[u8]) -> Result<Option<Output>> {
        let program = format!("docker-credential-{}", self.name);
        let fail = |msg: String| Error::Credentials(format!("error {doing} credentials - err: {msg}"));
        let path = self
            .search_path
            .map(OsString::from)
            .or_else(|| std::env::var_os("PATH"));
        let found = path.as_deref().and_then(|p| find(&program, p)).ok_or_else(|| {
            fail(format!(
                "exec: \"{program}\": executable file not found in $PATH, out: ``"
            ))
        })?;
        let spawn = || {
            Command::new(&found)
                .arg(verb)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
        };
        // A helper just written (or being replaced) may be busy for an instant: another thread's fork can
        // hold its write descriptor until that child execs.
        let mut child = spawn()
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    spawn()
                }
                _ => Err(e),
            })
            .map_err(|e| fail(format!("exec: \"{program}\": {e}, out: ``")))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading its input answers through its exit status.
            let _ = stdin.write_all(input);
        }
        let out = child
            .wait_with_output()
            .map_err(|e| fail(format!("{program}: {e}, out: ``")))?;
        if out.status.success() {
            return Ok(Some(out));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        if not_found(&stdout) {
            return Ok(None);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let said = if stdout.trim().is_empty() {
            stderr.trim()
        } else {
            stdout.trim()
        };
        let status = match out.status.code() {
            Some(c) => format!("exit status {c}"),
            None => out.status.to_string(),
        };
        Err(fail(format!("{status}, out: `{said}`")))
    }

    /// The credentials the helper holds for `server`.
    pub(crate) fn get(&self, server: &str) -> Result<Option<AuthConfig>> {
        let Some(out) = self.run("get", "getting", server.as_bytes())? else {
            return Ok(None);
        };
        let c: Credentials = serde_json::from_slice(&out.stdout).map_err(|e| {
            Error::Credentials(format!(
                "error getting credentials - err: docker-credential-{}: bad answer: {e}",
                self.name
            ))
        })?;
        let auth = if c.username == TOKEN_USER {
            AuthConfig {
                identity_token: c.secret,
                ..Default::default()
            }
        } else {
            AuthConfig {
                username: c.username,
                password: c.secret,
                ..Default::default()
            }
        };
        Ok((!auth.is_empty()).then_some(auth))
    }

    /// Has the helper keep `auth` for `server` (an identity token under the `<token>` user).
    pub(crate) fn store(&self, server: &str, auth: &AuthConfig) -> Result<()> {
        let c = if auth.identity_token.is_empty() {
            Credentials {
                server_url: server.to_string(),
                username: auth.username.clone(),
                secret: auth.password.clone(),
            }
        } else {
            Credentials {
                server_url: server.to_string(),
                username: TOKEN_USER.to_string(),
                secret: auth.identity_token.clone(),
            }
        };
        let input = serde_json::to_vec(&c)
            .map_err(|e| Error::Credentials(format!("error storing credentials - err: {e}")))?;
        match self.run("store", "storing", &input)? {
            Some(_) => Ok(()),
            None => Err(Error::Credentials(format!(
                "error storing credentials - err: docker-credential-{} refused to store them",
                self.name
            ))),
        }
    }

    /// Has the helper forget `server`; returns whether it held credentials for it.
    pub(crate) fn erase(&self, server: &str) -> Result<bool> {
        Ok(self.run("erase", "erasing", server.as_bytes())?.is_some())
    }
}

/// The executable file `program` in one of the directories of `path`.
fn find(program: &str, path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}
