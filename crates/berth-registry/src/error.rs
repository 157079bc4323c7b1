//! The crate's error type: one enum with one-line, Docker-like messages, and a coarse [`ErrorKind`] the engine
//! maps to HTTP statuses.

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Coarse classification of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Unknown repository, tag, digest or platform (404).
    NotFound,
    /// Missing or refused credentials (401).
    Unauthorized,
    /// A bad argument from the caller (400).
    InvalidArgument,
    /// Everything else: the registry is down, answered nonsense, or sent content that does not verify (500).
    Internal,
}

/// Errors of the registry client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The registry does not have the repository, tag or blob (Docker's wording: `manifest for x not found: …`).
    #[error("{0}")]
    NotFound(String),
    /// No manifest of an index matches the wanted platform.
    #[error("{0}")]
    NoMatchingPlatform(String),
    /// Authentication failed or is missing.
    #[error("{0}")]
    Unauthorized(String),
    /// The registry could not be reached (connection refused, DNS, TLS, timeout).
    #[error("{0}")]
    Unreachable(String),
    /// The registry answered with something this client cannot use: malformed JSON, an unknown media type,
    /// an unexpected status.
    #[error("{0}")]
    InvalidResponse(String),
    /// Content that does not match its digest or size.
    #[error("{0}")]
    Verification(String),
    /// A bad argument: a platform or digest that does not parse.
    #[error("{0}")]
    InvalidArgument(String),
    /// Reading or writing credentials failed (config.json, a credential helper).
    #[error("{0}")]
    Credentials(String),
    /// The content being pushed could not be read from its source.
    #[error("{0}")]
    Source(String),
}

impl Error {
    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound(_) | Error::NoMatchingPlatform(_) => ErrorKind::NotFound,
            Error::Unauthorized(_) => ErrorKind::Unauthorized,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            _ => ErrorKind::Internal,
        }
    }
}
