//! The crate's error type: one open enum whose variants name the failed operation; messages are one lowercase line.

use std::io;
use std::path::PathBuf;

/// Why a network operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A netlink request was refused by the kernel or the reply could not be read; `op` names the request.
    #[error("{op}: {source}")]
    Netlink { op: String, source: io::Error },
    /// Creating, entering or removing a persistent network namespace failed.
    #[error("network namespace {}: {op}: {source}", path.display())]
    Namespace {
        path: PathBuf,
        op: &'static str,
        source: io::Error,
    },
    /// A file or thread operation failed.
    #[error("{ctx}: {source}")]
    Io { ctx: String, source: io::Error },
    /// A network interface the operation needs does not exist.
    #[error("network interface {0} not found")]
    LinkNotFound(String),
    /// An interface with the bridge's name exists but is another kind of link.
    #[error("network interface {0} exists and is not a bridge")]
    NotABridge(String),
    /// A name cannot be used as a network interface name or a sysctl path component.
    #[error("invalid interface name {0:?}")]
    InvalidName(String),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The OS error number behind this error, if any (e.g. `EEXIST` for a link that already exists).
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Netlink { source, .. } | Error::Namespace { source, .. } | Error::Io { source, .. } => {
                source.raw_os_error()
            }
            _ => None,
        }
    }
}
