//! The engine's error type: one variant per kind of failure a user or API client must tell apart, each mapping to a
//! Docker exit code (CLI) and HTTP status (API).

/// Result alias for engine operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in words a Docker user recognises.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A container, image or exec instance does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with current state: name in use, container running, image in use (409).
    #[error("{0}")]
    Conflict(String),
    /// The request is refused: a predefined network, a network with active endpoints (403).
    #[error("{0}")]
    Forbidden(String),
    /// The request itself is invalid: bad flag value, bad name, bad user spec (400).
    #[error("{0}")]
    InvalidArgument(String),
    /// The container's command could not be found (exit 127).
    #[error("{0}")]
    CommandNotFound(String),
    /// The container's command could not be invoked (exit 126).
    #[error("{0}")]
    CannotInvoke(String),
    /// An error from the image store.
    #[error(transparent)]
    Image(#[from] berth_image::Error),
    /// An error talking to a registry (pull).
    #[error(transparent)]
    Registry(#[from] berth_registry::Error),
    /// A failure while setting up or running a container in the runtime.
    #[error("{0}")]
    Runtime(String),
    /// An I/O failure on engine state, with what was being done.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Stored state that cannot be parsed.
    #[error("corrupt state {path}: {message}")]
    Corrupt { path: String, message: String },
}

impl Error {
    /// Builds an [`Error::Io`] with a context such as "write container config".
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Docker's CLI exit code for this error: 125 for engine errors, 126 and 127 for commands that cannot run.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::CommandNotFound(_) => 127,
            Error::CannotInvoke(_) => 126,
            _ => 125,
        }
    }

    /// The HTTP status the Docker Engine API uses for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            Error::NotFound(_) => 404,
            Error::Conflict(_) => 409,
            Error::Forbidden(_) => 403,
            Error::InvalidArgument(_) => 400,
            Error::Image(e) => match e.kind() {
                berth_image::ErrorKind::NotFound => 404,
                berth_image::ErrorKind::Conflict => 409,
                berth_image::ErrorKind::InvalidArgument => 400,
                _ => 500,
            },
            Error::Registry(e) => match e.kind() {
                berth_registry::ErrorKind::NotFound => 404,
                // As dockerd: a 401 would make the docker CLI prompt for a login.
                berth_registry::ErrorKind::Unauthorized => 500,
                berth_registry::ErrorKind::InvalidArgument => 400,
                berth_registry::ErrorKind::Internal => 500,
            },
            _ => 500,
        }
    }
}

/// Adds context to I/O results.
pub(crate) trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(context(), e))
    }
}
