//! Error types: `SpawnError` for starting a container or exec process (with Docker's exit codes), `Error` for the
//! smaller helpers (signals, pty).

use std::io;

/// Why a container process or exec process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The command does not exist (Docker exit code 127).
    #[error("{}", not_found_message(.0))]
    NotFound(String),
    /// The command exists but cannot be executed (Docker exit code 126).
    #[error("exec: \"{0}\": permission denied")]
    PermissionDenied(String),
    /// The spec asks for something this runtime cannot do.
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    /// A setup step failed inside the container process (reported over the error pipe).
    #[error("{0}")]
    Container(String),
    /// Creating or joining the container's cgroup failed.
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::Error),
    /// Compiling the seccomp profile failed.
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::Error),
    /// A system call failed.
    #[error("{what}: {}", crate::cgroups::errno_text(source))]
    Sys { what: String, source: io::Error },
}

impl SpawnError {
    /// The exit code Docker reports for this failure: 127 command not found, 126 not executable, 125 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            SpawnError::NotFound(_) => 127,
            SpawnError::PermissionDenied(_) => 126,
            _ => 125,
        }
    }
}

fn not_found_message(cmd: &str) -> String {
    if cmd.contains('/') {
        format!("exec: \"{cmd}\": stat {cmd}: no such file or directory")
    } else {
        format!("exec: \"{cmd}\": executable file not found in $PATH")
    }
}

/// Attaches a description of the failed step to an `io::Error`.
pub(crate) trait Context<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, SpawnError>;
}

impl<T> Context<T> for io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, SpawnError> {
        self.map_err(|source| SpawnError::Sys { what: what(), source })
    }
}

impl<T> Context<T> for rustix::io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, SpawnError> {
        self.map_err(|e| SpawnError::Sys {
            what: what(),
            source: e.into(),
        })
    }
}

/// Errors of the signal and pty helpers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid signal: {0}")]
    InvalidSignal(String),
    #[error("cannot send signal {signal}: {source}")]
    Kill { signal: i32, source: io::Error },
    #[error("pty: {0}")]
    Pty(io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_messages_match_docker() {
        let e = SpawnError::NotFound("foo".into());
        assert_eq!(e.exit_code(), 127);
        assert_eq!(e.to_string(), "exec: \"foo\": executable file not found in $PATH");
        let e = SpawnError::NotFound("/bin/foo".into());
        assert_eq!(
            e.to_string(),
            "exec: \"/bin/foo\": stat /bin/foo: no such file or directory"
        );
        let e = SpawnError::PermissionDenied("/etc/passwd".into());
        assert_eq!(e.exit_code(), 126);
        assert_eq!(e.to_string(), "exec: \"/etc/passwd\": permission denied");
        assert_eq!(SpawnError::Container("mount proc: busy".into()).exit_code(), 125);
        let e = SpawnError::Sys {
            what: "mount /proc".into(),
            source: io::Error::from_raw_os_error(libc::EPERM),
        };
        assert_eq!(e.to_string(), "mount /proc: operation not permitted");
    }
}
