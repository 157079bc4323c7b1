//! Errors of cgroup operations, one line each, naming the file or directory involved.

use std::io;

/// A cgroup operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation on a cgroup file or directory failed.
    #[error("cgroup: {op} {file}: {}", errno_text(source))]
    Io {
        op: &'static str,
        file: String,
        source: io::Error,
    },
    /// No usable cgroup filesystem was found.
    #[error("cgroup: cannot detect cgroup version: {0}")]
    Detect(String),
    /// The cgroup path is empty or leaves the hierarchy.
    #[error("cgroup: invalid cgroup path {0:?}")]
    InvalidPath(String),
    /// [`Hierarchy::open`](super::Hierarchy::open) of a cgroup that does not exist.
    #[error("cgroup: {0} does not exist")]
    NotFound(String),
    /// A cgroup file did not hold what the kernel writes there.
    #[error("cgroup: unexpected content in {file}: {content:?}")]
    Parse { file: String, content: String },
    /// A swap limit was requested on a host without swap accounting.
    #[error("cgroup: swap limit requested but swap accounting is disabled on this host")]
    SwapUnsupported,
    /// The memory+swap limit is below the memory limit, or set without a memory limit.
    #[error(
        "cgroup: invalid memory+swap limit {swap}: it must be -1 or at least the memory limit ({memory})"
    )]
    InvalidSwap { swap: i64, memory: i64 },
    /// The cgroup did not reach the frozen state in time.
    #[error("cgroup: timed out freezing {0}")]
    FreezeTimeout(String),
    /// A resource needs a v1 controller that is not mounted.
    #[error("cgroup: the {0} controller is not mounted")]
    NoController(&'static str),
    /// A resource has no equivalent in cgroup v2.
    #[error("cgroup: {0} is not supported on cgroup v2")]
    NotOnV2(&'static str),
    /// `unified` resources were given on a cgroup v1 host.
    #[error("cgroup: unified resources need cgroup v2")]
    UnifiedOnV1,
    /// Loading or attaching the v2 device filter failed.
    #[error("cgroup: device filter: {op}: {}", errno_text(source))]
    Bpf { op: &'static str, source: io::Error },
    /// A device rule cannot be expressed.
    #[error("cgroup: invalid device rule: {0}")]
    DeviceRule(String),
}

/// Result of cgroup operations.
pub type Result<T> = std::result::Result<T, Error>;

/// An OS error as Docker prints it: `strerror` text in lower case, without Rust's "(os error N)".
pub(crate) fn errno_text(err: &io::Error) -> String {
    let text = err.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An [`Error::Io`] for operation `op` on `file`.
pub(super) fn io_err(op: &'static str, file: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Io {
        op,
        file: file.into(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_lowercase_line() {
        let e = Error::Io {
            op: "write",
            file: "memory.max".into(),
            source: io::Error::from_raw_os_error(22),
        };
        assert_eq!(e.to_string(), "cgroup: write memory.max: invalid argument");
        let e = io_err("rmdir", "/sys/fs/cgroup/x")(io::Error::from_raw_os_error(libc::EBUSY));
        assert_eq!(
            e.to_string(),
            "cgroup: rmdir /sys/fs/cgroup/x: device or resource busy"
        );
        assert_eq!(errno_text(&io::Error::other("Custom")), "custom");
    }
}
