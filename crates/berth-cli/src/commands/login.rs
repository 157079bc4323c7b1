//! `berth login [-u USER] [-p PASS | --password-stdin] [SERVER]` and `berth logout [SERVER]`, as Docker's CLI: the
//! engine checks the credentials against the registry (`POST /auth`), the CLI stores them in Docker's
//! `config.json` (or its credential helper) under the server's key; logout removes them without asking anyone.
//! Without a username and password the stored credentials are tried, then a terminal prompt; without a terminal
//! that is an error rather than a hang.

use std::io::{BufRead, Read, Write};

use berth_api::Method;
use berth_api::client::{Body, Client};
use berth_registry::{AuthConfig, CredentialStore, DockerConfig, Kept, server_key};
use clap::Args;
use serde_json::Value;

use crate::error::{CmdResult, Failure};

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Username
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    /// The registry (default: Docker Hub)
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry (default: Docker Hub)
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

fn fail(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        code: 1,
    }
}

/// The directory of Docker's `config.json`.
fn config_dir() -> Result<std::path::PathBuf, Failure> {
    DockerConfig::default_dir()
        .ok_or_else(|| fail("cannot find the Docker configuration directory: set $DOCKER_CONFIG or $HOME"))
}

pub fn login(c: &Client, a: LoginArgs) -> CmdResult {
    if a.password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    if a.password_stdin {
        if a.password.is_some() {
            return Err(fail("--password and --password-stdin are mutually exclusive"));
        }
        if a.username.is_none() {
            return Err(fail("Must provide --username with --password-stdin"));
        }
    }
    let key = server_key(a.server.as_deref().unwrap_or_default());
    let dir = config_dir()?;
    let mut password = a.password.clone().unwrap_or_default();
    if a.password_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| fail(format!("read the password from stdin: {e}")))?;
        password = s.trim_end_matches(['\n', '\r']).to_string();
    }
    if a.username.is_none() && a.password.is_none() {
        // As Docker's CLI: stored credentials first, when they still work.
        let config = DockerConfig::load(&dir).map_err(|e| fail(e.to_string()))?;
        if let Ok(Some(stored)) = config.lookup(&key)
            && !stored.username.is_empty()
        {
            println!(
                "Authenticating with existing credentials... [Username: {}]",
                stored.username
            );
            if authenticate(c, &stored, &key).is_ok() {
                println!("Login Succeeded");
                return Ok(0);
            }
        }
    }
    let username = match a.username {
        Some(u) => u,
        None => prompt("Username: ", true)?,
    };
    if username.trim().is_empty() {
        return Err(fail("Error: Non-null Username Required"));
    }
    if password.is_empty() {
        password = prompt("Password: ", false)?;
    }
    if password.is_empty() {
        return Err(fail("Error: Password Required"));
    }
    let mut auth = AuthConfig {
        username: username.trim().to_string(),
        password,
        ..Default::default()
    };
    if let Some(token) = authenticate(c, &auth, &key)? {
        auth.password.clear();
        auth.identity_token = token;
    }
    let kept = CredentialStore::new(&dir)
        .store(&key, &auth)
        .map_err(|e| fail(e.to_string()))?;
    if let Kept::File(path) = kept {
        eprintln!(
            "\nWARNING! Your credentials are stored unencrypted in '{}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n",
            path.display()
        );
    }
    println!("Login Succeeded");
    Ok(0)
}

/// Asks the engine to check `auth` against the registry; the identity token it may hand back.
fn authenticate(c: &Client, auth: &AuthConfig, key: &str) -> Result<Option<String>, Failure> {
    let answer: Value = c.json(Method::POST, "/auth", Body::json(&auth.to_json(key)))?;
    Ok(answer["IdentityToken"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_string))
}

/// Reads a line from the terminal (`echo`: shown as typed). Without a terminal there is nobody to ask.
fn prompt(label: &str, echo: bool) -> Result<String, Failure> {
    let stdin = std::io::stdin();
    if !rustix::termios::isatty(&stdin) {
        return Err(fail(
            "Error: Cannot perform an interactive login from a non TTY device",
        ));
    }
    // On stdout, as Docker's CLI prompts.
    print!("{label}");
    let _ = std::io::stdout().flush();
    let saved = (!echo).then(|| rustix::termios::tcgetattr(&stdin).ok()).flatten();
    if let Some(t) = &saved {
        let mut quiet = t.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        let _ = rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &quiet);
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(t) = &saved {
        let _ = rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, t);
        println!();
    }
    read.map_err(|e| fail(format!("read {}: {e}", label.trim_end_matches([':', ' ']))))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

pub fn logout(a: LogoutArgs) -> CmdResult {
    let key = server_key(a.server.as_deref().unwrap_or_default());
    let dir = config_dir()?;
    // As Docker's CLI: the removal is announced whether or not there was anything to remove, and a store that
    // cannot erase is a warning.
    println!("Removing login credentials for {key}");
    if let Err(e) = CredentialStore::new(&dir).erase(&key) {
        eprintln!("WARNING: could not erase credentials: {key}: {e}");
    }
    Ok(0)
}
