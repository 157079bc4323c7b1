//! Berth's registry client: the OCI distribution API spoken synchronously (the engine pulls and pushes on plain
//! threads). References are resolved to an [`Endpoint`] (Docker Hub naming, plain HTTP for loopback and
//! insecure registries); requests authenticate anonymously, with basic credentials or with bearer tokens from
//! the registry's token service (`auth`), credentials coming from the `X-Registry-Auth` header or Docker's
//! `config.json` ([`credentials`], written by [`credentials_store`]); manifests and indexes are parsed from their
//! exact bytes ([`manifest`]), an index resolved to one [`Platform`], and blobs streamed through a reader that
//! verifies size and digest ([`blob`]). Pushing checks, mounts and uploads blobs (`push`, `upload`) and
//! puts manifests; `login` checks credentials as `docker login` does and [`search`](mod@search) queries an index's v1
//! search API. The image store is not this crate's business: the engine glues the two.

mod auth;
pub mod blob;
pub mod challenge;
mod client;
mod cred_helper;
pub mod credentials;
pub mod credentials_store;
pub mod endpoint;
pub mod error;
mod login;
pub mod manifest;
pub mod platform;
mod push;
mod refusal;
pub mod search;
#[cfg(test)]
mod test_http;
mod transport;
mod upload;

pub use blob::{BlobCheck, VerifiedBlob};
pub use client::{Client, Fetched, Repository, Resolved};
pub use credentials::{AuthConfig, DockerConfig};
pub use credentials_store::{CredentialStore, Kept, server_key};
pub use endpoint::{Endpoint, RegistryOptions};
pub use error::{Error, ErrorKind, Result};
pub use manifest::{Descriptor, Document, ImageManifest};
pub use platform::Platform;
pub use search::{SearchIndex, SearchResult, search, search_index, search_term};
