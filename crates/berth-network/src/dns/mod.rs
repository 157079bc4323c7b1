//! The embedded DNS server of user-defined networks (Docker's 127.0.0.11): each container's shim runs one, answering
//! container names from the networks' names files and forwarding everything else to the host's resolvers. UDP only.

mod answer;
mod forward;
mod resolv_conf;
mod server;
mod table;
#[cfg(test)]
mod testing;
mod wire;

#[cfg(test)]
mod server_tests;

use std::path::PathBuf;

pub use resolv_conf::upstreams_from_resolv_conf;
pub use server::Server;
pub use table::{Record, Table, read_table, write_table};

/// Errors reading or writing names files (the server itself never fails: it drops what it cannot handle).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("read dns names file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("parse dns names file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("write dns names file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}
