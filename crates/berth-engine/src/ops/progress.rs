//! Progress of registry transfers (pull, push) in the shape of Docker's JSON progress messages:
//! `{"status", "id", "progressDetail": {"current", "total"}}`, plus the `aux` result a push ends with.

/// The result a push reports last (Docker's `aux`: `{"Tag", "Digest", "Size"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedManifest {
    pub tag: String,
    pub digest: String,
    pub size: u64,
}

/// One progress message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub status: String,
    /// The tag or digest for `Pulling from`, a layer's short digest for layer messages.
    pub id: Option<String>,
    /// Bytes done and total, for `Downloading`, `Extracting` and `Pushing`.
    pub detail: Option<(u64, u64)>,
    /// A message about one layer (Docker sends these with a `progressDetail`, and terminals redraw their line).
    pub layer: bool,
    /// What a push stored.
    pub aux: Option<PushedManifest>,
}

impl Progress {
    pub(crate) fn message(status: String) -> Progress {
        Progress {
            status,
            id: None,
            detail: None,
            layer: false,
            aux: None,
        }
    }

    pub(crate) fn layer(id: &str, status: &str) -> Progress {
        Progress {
            id: Some(id.to_string()),
            layer: true,
            ..Progress::message(status.to_string())
        }
    }

    pub(crate) fn bytes(id: &str, status: &str, current: u64, total: u64) -> Progress {
        Progress {
            detail: Some((current, total)),
            ..Progress::layer(id, status)
        }
    }
}
