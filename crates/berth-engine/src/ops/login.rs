//! `login`: credentials checked against a registry, as dockerd answers `POST /auth` (the client stores them).

use berth_registry::credentials::DOCKER_HUB_KEY;
use berth_registry::endpoint::DOCKER_HUB;
use berth_registry::{AuthConfig, Client, server_key};

use crate::engine::Engine;
use crate::error::Result;

/// What a successful login gives back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Login {
    /// A token the client may store instead of the password (registries with an OAuth token service).
    pub identity_token: Option<String>,
}

impl Engine {
    /// Checks `auth` against the registry `server` names.
    pub fn login(&self, auth: &AuthConfig, server: &str) -> Result<Login> {
        let key = server_key(server);
        let registry = if key == DOCKER_HUB_KEY { DOCKER_HUB } else { &key };
        let endpoint = self.opts.registry.endpoint(registry);
        let client = Client::new(endpoint, Some(auth.clone()));
        Ok(Login {
            identity_token: client.check_login()?,
        })
    }
}
