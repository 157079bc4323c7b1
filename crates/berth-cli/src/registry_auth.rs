//! The registry credentials the CLI sends with pulls and pushes, as Docker's CLI does: looked up in Docker's
//! `config.json` (`$DOCKER_CONFIG`, else `~/.docker`; credential helpers run here, on the client) and sent as the
//! `X-Registry-Auth` header, so a daemon never reads its own user's credentials for a client. A configuration file
//! that does not parse is passed over, as Docker's CLI does; a credential helper that fails is an error.

use berth_registry::credentials::config_key;
use berth_registry::{AuthConfig, DockerConfig};

use crate::error::Failure;

/// The credentials stored for `registry` (a reference's domain), if any.
pub fn credentials(registry: &str) -> Result<Option<AuthConfig>, Failure> {
    let Some(config) = DockerConfig::default_dir().and_then(|dir| DockerConfig::load(&dir).ok()) else {
        return Ok(None);
    };
    config.lookup(registry).map_err(|e| Failure {
        message: e.to_string(),
        code: 1,
    })
}

/// The request headers carrying the credentials for `registry`, none when there are none.
pub fn headers(registry: &str) -> Result<Vec<(&'static str, String)>, Failure> {
    Ok(credentials(registry)?
        .map(|a| vec![("X-Registry-Auth", a.to_header(&config_key(registry)))])
        .unwrap_or_default())
}
