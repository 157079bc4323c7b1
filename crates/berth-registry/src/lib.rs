//! Berth's registry client: the OCI distribution API spoken synchronously (the engine pulls on plain threads).
//! References are resolved to an [`Endpoint`] (Docker Hub naming, plain HTTP for loopback and insecure
//! registries); requests authenticate anonymously, with basic credentials or with bearer tokens from the
//! registry's token service ([`auth`]), credentials coming from the `X-Registry-Auth` header or Docker's
//! `config.json` ([`credentials`]); manifests and indexes are parsed from their exact bytes ([`manifest`]), an
//! index resolved to one [`Platform`], and blobs streamed through a reader that verifies size and digest
//! ([`blob`]). The image store is not this crate's business: the engine glues the two.

mod auth;
pub mod blob;
pub mod challenge;
mod client;
pub mod credentials;
pub mod endpoint;
pub mod error;
pub mod manifest;
pub mod platform;
mod transport;

pub use blob::{BlobCheck, VerifiedBlob};
pub use client::{Client, Fetched, Repository, Resolved};
pub use credentials::{AuthConfig, DockerConfig};
pub use endpoint::{Endpoint, RegistryOptions};
pub use error::{Error, ErrorKind, Result};
pub use manifest::{Descriptor, Document, ImageManifest};
pub use platform::Platform;
