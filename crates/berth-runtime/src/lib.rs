//! Berth's native runtime (the role libcontainer plays for Docker): takes an OCI runtime spec and makes it a running
//! Linux process in its own namespaces, cgroup, root filesystem and security context; joins running containers for exec.
//!
//! `spawn` and `exec` fork without exec'ing a helper binary, so their caller must be single-threaded (the engine
//! runs them in a per-container monitor process or a single-threaded helper).

pub mod cgroups;
pub mod seccomp;

mod capabilities;
mod child;
mod clone;
mod error;
mod exec;
mod fdpass;
mod init;
mod namespaces;
mod network;
mod process;
pub mod pty;
mod report;
mod rootfs;
pub mod signal;
mod spawn;
mod syscalls;

pub use error::{Error, SpawnError};
pub use exec::{ExecRequest, exec};
pub use process::{ProcessIo, Stdio};
pub use rootfs::RootfsSource;
pub use signal::{KillTarget, kill, signal_from_name};
pub use spawn::{SpawnRequest, Spawned, spawn};
