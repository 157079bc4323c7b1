//! The registry client against real registries (Debian's docker-registry on 127.0.0.1): pushes of every kind
//! ([`push`]) and the credentials they need ([`auth`]).

mod auth;
mod common;
mod push;
