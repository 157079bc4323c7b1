//! seccomp: Docker's default profile, compiling OCI seccomp profiles to BPF (cached), installing them.
//!
//! The flow at container start: [`docker_default`] (or [`parse_docker_profile`] for
//! `--security-opt seccomp=FILE`) gives an OCI [`LinuxSeccomp`](oci_spec::runtime::LinuxSeccomp);
//! [`compile_cached`] turns it into a [`Program`] (classic BPF, x86_64), and the container's child calls
//! [`install`] right before `execve`.

mod cache;
mod compile;
mod docker_default;
mod docker_profile;
mod program;
mod syscall_table;

#[cfg(test)]
mod bpf_interp;
#[cfg(test)]
mod tests_live;

pub use cache::compile_cached;
pub use compile::compile;
pub use docker_default::docker_default;
pub use docker_profile::parse_docker_profile;
pub use program::{Program, install};
pub use syscall_table::syscall_number;

use std::io;
use std::path::PathBuf;

/// Errors of profile parsing, compilation, caching and installation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The profile JSON does not parse.
    #[error("seccomp: invalid profile: {0}")]
    Json(#[from] serde_json::Error),
    /// The profile parses but is inconsistent.
    #[error("seccomp: invalid profile: {0}")]
    Invalid(String),
    /// The profile asks for something this runtime does not implement.
    #[error("seccomp: {0} is not supported")]
    Unsupported(String),
    /// The compiled filter is longer than the kernel accepts.
    #[error("seccomp: filter has {0} instructions, more than the kernel limit of 4096")]
    TooLarge(usize),
    /// seccompiler rejected a rule.
    #[error("seccomp: compile rule for {syscall}: {source}")]
    Rule {
        syscall: String,
        source: seccompiler::BackendError,
    },
    /// Bytes given to [`Program::from_bytes`] are not a program written by [`Program::to_bytes`].
    #[error("seccomp: invalid compiled program")]
    BadProgram,
    /// A cache file operation failed.
    #[error("seccomp: {op} {}: {}", path.display(), crate::cgroups::errno_text(source))]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// The seccomp(2) call failed.
    #[error("seccomp: install filter: {}", crate::cgroups::errno_text(.0))]
    Install(io::Error),
}

/// Result of this module's operations.
pub type Result<T> = std::result::Result<T, Error>;
