//! Test support only, never shipped: the fixtures several crates' test suites share. A real registry process
//! ([`Registry`]: Debian's `docker-registry` on a free 127.0.0.1 port, open, behind htpasswd basic auth, or
//! trusting a token service) and a bearer token service shaped like Docker Hub's ([`TokenService`], with its
//! [`Signer`] and request log). Helpers panic with a message on failure, as tests want.

mod registry;
mod signer;
mod token;

pub use registry::Registry;
pub use signer::Signer;
pub use token::{Anonymous, ISSUER, REFRESH_TOKEN, SERVICE, TokenRequest, TokenService};
