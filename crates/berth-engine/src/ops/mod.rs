//! The engine's operations, one file per lifecycle verb.

pub mod archive;
pub mod changes;
pub mod create;
pub mod exec;
pub mod exec_session;
pub mod export;
pub mod image_archive;
pub mod images;
pub mod inspect;
pub mod kill;
pub mod list;
pub mod logs;
pub mod network_connect;
pub mod networks;
pub mod pause;
pub mod prune;
pub mod pull;
pub mod remove;
pub mod rename;
pub mod resize;
pub mod start;
pub mod stats;
pub mod stop;
pub mod top;
pub mod update;
pub mod wait;
