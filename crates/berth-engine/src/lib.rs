//! Berth's engine: containers and their lifecycle (create, start, stop, kill, wait, remove, exec, logs, …), built on
//! the image store and the runtime. The CLI runs it in-process; the daemon serves it over the Docker Engine API.
//! All state lives on disk (data root: durable; exec root: runtime), so any number of processes can share it.

pub mod attach;
mod engine;
pub mod error;
pub mod exec_helper;
mod fsutil;
pub mod ids;
pub mod logs;
pub mod model;
pub mod network;
mod ops;
pub mod paths;
mod registry;
pub mod shim;
pub mod spec;
pub mod stats;
mod store;
#[cfg(test)]
pub(crate) mod testkit;
pub mod timefmt;
pub mod user;

pub use berth_image::{HistoryItem, LoadedImage};
pub use berth_registry::{AuthConfig, ErrorKind as RegistryErrorKind, RegistryOptions};
pub use engine::{Engine, EngineOptions};
pub use error::{Error, Result};
pub use ops::archive::{PathStat, PutOptions};
pub use ops::changes::Change;
pub use ops::create::{CreateRequest, CreateResponse};
pub use ops::exec::ExecRequest;
pub use ops::exec_session::{ExecSession, ExecSessionOptions};
pub use ops::kill::parse_signal;
pub use ops::login::Login;
pub use ops::networks::{AttachedContainer, NetworkView};
pub use ops::progress::{Progress, PushedManifest};
pub use ops::prune::ContainerPruneReport;
pub use ops::pull::{PullOptions, Pulled};
pub use ops::push::PushOptions;
pub use ops::search::{SearchOptions, SearchResult};
pub use ops::start::StartOptions;
pub use ops::top::Top;
pub use ops::update::UpdateRequest;
pub use registry::RegistrySettings;
pub use stats::StatsSample;
