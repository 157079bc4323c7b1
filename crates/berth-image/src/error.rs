//! The crate's error type: one enum with one-line, Docker-like messages, and a coarse [`ErrorKind`]
//! the engine maps to exit codes and HTTP statuses.

use std::io;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Coarse classification of an [`Error`] (404 / 409 / 400 / 500 for the engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Conflict,
    InvalidArgument,
    Internal,
}

/// Errors of the image store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A reference, digest or id string that does not parse (`invalid reference format`, ...).
    #[error("{0}")]
    InvalidReference(String),
    /// No image matches a name or id; holds the familiar form Docker prints (`foo:latest`).
    #[error("No such image: {0}")]
    NoSuchImage(String),
    /// Something else that does not exist (a layer, a container's rw layer, a blob).
    #[error("{0}")]
    NotFound(String),
    /// The operation conflicts with the current state (image in use, tag clash, driver clash).
    #[error("{0}")]
    Conflict(String),
    /// A bad argument: unknown `--change` instruction, unsupported compression, bad option.
    #[error("{0}")]
    InvalidArgument(String),
    /// An archive that tries something unsafe or malformed (hardlink escape, refused device node).
    #[error("{0}")]
    UnsafeArchive(String),
    /// Stored data that does not verify or parse.
    #[error("{0}")]
    Corrupt(String),
    /// An I/O failure with what was being done.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NoSuchImage(_) | Error::NotFound(_) => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::InvalidReference(_) | Error::InvalidArgument(_) | Error::UnsafeArchive(_) => {
                ErrorKind::InvalidArgument
            }
            Error::Corrupt(_) | Error::Io { .. } => ErrorKind::Internal,
        }
    }

    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(context: impl Into<String>, source: impl Into<io::Error>) -> Error {
        Error::Io {
            context: context.into(),
            source: source.into(),
        }
    }
}

/// Adds context to I/O results (std and rustix errors).
pub(crate) trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::result::Result<T, io::Error> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(context(), e))
    }
}

impl<T> IoContext<T> for std::result::Result<T, rustix::io::Errno> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(context(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_messages() {
        let e = Error::NoSuchImage("foo:latest".into());
        assert_eq!(e.to_string(), "No such image: foo:latest");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(Error::Conflict("x".into()).kind(), ErrorKind::Conflict);
        assert_eq!(
            Error::UnsafeArchive("x".into()).kind(),
            ErrorKind::InvalidArgument
        );
        let io: Result<()> = Err(rustix::io::Errno::NOENT).ctx(|| "open /x".into());
        let msg = io.unwrap_err().to_string();
        assert!(msg.starts_with("open /x: "), "{msg}");
        assert!(!msg.contains('\n'));
    }
}
