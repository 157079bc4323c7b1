//! The Docker Engine API, version 1.41: the daemon's HTTP server over the engine ([`server`]), the client the CLI
//! uses ([`client`]), and the version rules both ends share ([`version`]).

#![recursion_limit = "256"]

pub mod client;
pub mod error;
pub mod events;
pub mod server;
pub mod units;
pub mod version;

pub use axum::http::Method;
pub use error::{Error, Result};
