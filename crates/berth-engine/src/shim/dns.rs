//! The embedded DNS server a shim runs for a container on user networks, with the list of names files it consults
//! kept current: the list is `dns-tables.json` in the container's runtime directory, written at start and rewritten
//! by `network connect`/`disconnect`; the server picks a new list up at its next wake-up (one stat).

use std::fs;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use berth_network::dns::Server;

/// File name of the list in the runtime directory.
pub const TABLES_FILE: &str = "dns-tables.json";

/// A DNS server and the list file it follows.
pub struct Dns {
    server: Server,
    list: PathBuf,
    seen: Option<SystemTime>,
}

/// Reads a list of names files; `None` if it cannot be read.
pub fn read_list(path: &Path) -> Option<Vec<PathBuf>> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

/// Writes a list of names files atomically.
pub fn write_list(path: &Path, tables: &[PathBuf]) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(tables).map_err(std::io::Error::other)?;
    crate::fsutil::write_atomic(path, &bytes, crate::fsutil::Durability::Volatile)
}

impl Dns {
    pub fn new(server: Server, list: PathBuf) -> Dns {
        let seen = fs::metadata(&list).and_then(|m| m.modified()).ok();
        Dns { server, list, seen }
    }

    pub fn fds(&self) -> [BorrowedFd<'_>; 2] {
        self.server.fds()
    }

    pub fn next_timeout(&self) -> Option<Duration> {
        self.server.next_timeout()
    }

    /// Serves what arrived (and expires forwarded queries), with the current list of names files.
    pub fn on_readable(&mut self) {
        let now = fs::metadata(&self.list).and_then(|m| m.modified()).ok();
        if now != self.seen {
            self.seen = now;
            if let Some(tables) = read_list(&self.list) {
                self.server.set_tables(tables);
            }
        }
        self.server.on_readable();
    }
}
