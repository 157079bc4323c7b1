//! Parsers for `docker` flag values (`--memory`, `--cpus`, `--ulimit`, `-e`/`--env-file`, `-l`,
//! `-v`, `--mount`, `--tmpfs`, `-u`, `--restart`, `--filter`, `--since`, `-p`, `--expose`, `--dns`,
//! `--dns-search`, `--add-host`), each returning a typed value or an [`Error`] worded as Docker
//! words it. Messages are the core text: the caller adds Docker's `invalid argument "…" for
//! "--flag" flag: ` prefix where Docker's flag layer does.

mod bytes;
mod cpus;
mod env;
mod filter;
mod goparse;
mod hosts;
mod mount;
mod ports;
mod restart;
mod since;
mod ulimit;
mod user;
mod volume;

pub use bytes::{parse_bytes, parse_memory_swap};
pub use cpus::parse_cpus;
pub use env::{parse_env, parse_env_file, parse_label, parse_label_file};
pub use filter::{parse_filter, parse_filters};
pub use hosts::{parse_dns_search, parse_extra_host, parse_ip};
pub use mount::{parse_mount, parse_tmpfs};
pub use ports::{parse_expose, parse_publish};
pub use restart::{RestartPolicyName, parse_restart};
pub use since::parse_since;
pub use ulimit::parse_ulimit;
pub use user::parse_user;
pub use volume::{MountKind, MountSpec, parse_volume};

/// A flag value Docker would refuse, with Docker's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Go strconv failures, e.g. `strconv.ParseInt: parsing "x": invalid syntax`.
    #[error("strconv.{func}: parsing {input:?}: {reason}")]
    Number {
        func: &'static str,
        input: String,
        reason: &'static str,
    },
    #[error("invalid size: '{0}'")]
    Size(String),
    #[error("invalid suffix: '{0}'")]
    SizeSuffix(String),
    #[error("failed to parse {0} as a rational number")]
    Rational(String),
    #[error("value is too precise")]
    TooPrecise,
    #[error("{0}")]
    Ulimit(String),
    #[error("invalid environment variable: {0}")]
    Env(String),
    /// A file that cannot be opened, as Go's os.Open reports it.
    #[error("open {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("invalid env file ({path}): {reason}")]
    EnvFile { path: String, reason: String },
    #[error("{0}")]
    Label(String),
    /// `-v` syntax errors found before the mount is interpreted.
    #[error("{0}")]
    VolumeSyntax(String),
    #[error("invalid volume specification: '{spec}'{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    VolumeSpec { spec: String, reason: Option<String> },
    #[error("invalid mode: {0}")]
    VolumeMode(String),
    /// A mount that is well-formed but invalid (Docker's daemon-side check).
    #[error("invalid mount config for type \"{kind}\": {reason}")]
    MountConfig { kind: String, reason: String },
    /// `--mount` syntax errors.
    #[error("{0}")]
    Mount(String),
    #[error(
        "create {0}: \"{0}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
    )]
    VolumeName(String),
    /// `--tmpfs` destinations.
    #[error("{0}")]
    Tmpfs(String),
    #[error("{0}")]
    User(String),
    #[error("{0}")]
    Restart(String),
    #[error("{0}")]
    Filter(String),
    #[error("{0}")]
    Time(String),
    /// `-p`/`--expose` values.
    #[error("{0}")]
    Port(String),
    /// `--dns`, `--dns-search`, `--add-host` values.
    #[error("{0}")]
    Host(String),
}
