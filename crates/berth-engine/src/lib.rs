//! Berth's engine: containers and their lifecycle (create, start, stop, kill, wait, remove, exec, logs, …), built on
//! the image store and the runtime. The CLI runs it in-process; the daemon serves it over the Docker Engine API.
//! All state lives on disk (data root: durable; exec root: runtime), so any number of processes can share it.

pub mod attach;
mod engine;
pub mod error;
mod fsutil;
pub mod ids;
pub mod logs;
pub mod model;
mod ops;
pub mod paths;
pub mod shim;
pub mod spec;
mod store;
pub mod timefmt;
pub mod user;

pub use engine::{Engine, EngineOptions};
pub use error::{Error, Result};
pub use ops::create::{CreateRequest, CreateResponse};
pub use ops::exec::ExecRequest;
pub use ops::start::StartOptions;
pub use ops::top::Top;
