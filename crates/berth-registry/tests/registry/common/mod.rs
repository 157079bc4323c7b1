//! The registry this crate's tests run against: the shared launcher of `berth-testkit` (Debian's
//! `docker-registry` on 127.0.0.1, open, htpasswd or token auth), and clients of it.

use berth_registry::{AuthConfig, Client, Endpoint, RegistryOptions};
pub use berth_testkit::Registry;

/// Clients of a test registry.
pub trait Clients {
    /// A client of this registry with credentials (none when `user` is empty).
    fn client(&self, user: &str, password: &str) -> Client;
}

impl Clients for Registry {
    fn client(&self, user: &str, password: &str) -> Client {
        let creds = (!user.is_empty()).then(|| AuthConfig {
            username: user.into(),
            password: password.into(),
            ..Default::default()
        });
        Client::new(Endpoint::resolve(&self.host, &RegistryOptions::default()), creds)
    }
}
