//! The engine's operations, one file per lifecycle verb.

pub mod create;
pub mod exec;
pub mod images;
pub mod inspect;
pub mod kill;
pub mod list;
pub mod logs;
pub mod pause;
pub mod remove;
pub mod rename;
pub mod start;
pub mod stop;
pub mod top;
pub mod wait;
