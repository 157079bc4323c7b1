//! Where the engine keeps things: durable state under the data root, runtime state (sockets, bundles, caches) under
//! the exec root.

use std::path::PathBuf;

/// Default durable state directory.
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/berth";
/// Default runtime state directory.
pub const DEFAULT_EXEC_ROOT: &str = "/run/berth";

/// File name of a shim's attach socket inside the container's runtime directory.
pub const ATTACH_SOCKET: &str = "attach.sock";

/// The two roots and the paths derived from them.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
}

impl Paths {
    pub fn new(data_root: impl Into<PathBuf>, exec_root: impl Into<PathBuf>) -> Self {
        Paths {
            data_root: data_root.into(),
            exec_root: exec_root.into(),
        }
    }

    /// `<data-root>/containers`: one directory per container holding its record and logs.
    pub fn containers(&self) -> PathBuf {
        self.data_root.join("containers")
    }

    /// `<data-root>/containers/<id>`.
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.containers().join(id)
    }

    /// `<data-root>/names`: one symlink per container name pointing at the container id.
    pub fn names(&self) -> PathBuf {
        self.data_root.join("names")
    }

    /// `<exec-root>/containers/<id>`: the OCI bundle, attach socket and shim pid of a started container.
    pub fn runtime_dir(&self, id: &str) -> PathBuf {
        self.exec_root.join("containers").join(id)
    }

    /// `<exec-root>/seccomp`: compiled seccomp filters.
    pub fn seccomp_cache(&self) -> PathBuf {
        self.exec_root.join("seccomp")
    }

    /// The attach socket of a running container's shim.
    pub fn attach_socket(&self, id: &str) -> PathBuf {
        self.runtime_dir(id).join(ATTACH_SOCKET)
    }

    /// The json-file log of a container.
    pub fn log_path(&self, id: &str) -> PathBuf {
        self.container_dir(id).join(format!("{id}-json.log"))
    }
}
