//! Registry settings of an engine (`--insecure-registry`, `--registry-mirror`) and the endpoints a registry is
//! reached at: Docker Hub through its mirrors first, as dockerd does, everything else directly.

use berth_registry::{Endpoint, RegistryOptions, endpoint::DOCKER_HUB};

use crate::error::{Error, Result};

/// How an engine reaches registries.
#[derive(Debug, Clone, Default)]
pub struct RegistrySettings {
    /// Plain-HTTP registries besides loopback ones.
    pub options: RegistryOptions,
    /// Mirrors of Docker Hub, tried in order before it (`http(s)://host[:port]`).
    pub mirrors: Vec<String>,
}

impl RegistrySettings {
    /// Settings with mirrors checked as dockerd's `ValidateMirror` does: an http or https URL naming a host,
    /// with no path, query or credentials; a trailing slash is dropped.
    pub fn new(options: RegistryOptions, mirrors: &[String]) -> Result<RegistrySettings> {
        let mirrors = mirrors
            .iter()
            .map(|m| validate_mirror(m))
            .collect::<Result<_>>()?;
        Ok(RegistrySettings { options, mirrors })
    }

    /// The mirrors to try, in order, before `registry` (a reference's domain) itself: Docker Hub's, none for
    /// other registries.
    pub(crate) fn mirrors_of(&self, registry: &str) -> Vec<Endpoint> {
        if registry != DOCKER_HUB {
            return Vec::new();
        }
        let endpoint = |base: &String| Endpoint {
            registry: registry.to_string(),
            base: base.clone(),
        };
        self.mirrors.iter().map(endpoint).collect()
    }

    /// The registry's own endpoint (pushes and logins never go to mirrors).
    pub(crate) fn endpoint(&self, registry: &str) -> Endpoint {
        Endpoint::resolve(registry, &self.options)
    }
}

fn validate_mirror(m: &str) -> Result<String> {
    let invalid = |why: &str| Err(Error::InvalidArgument(format!("invalid mirror: {why}: {m:?}")));
    let Some((scheme, rest)) = m.split_once("://") else {
        return invalid("no scheme specified");
    };
    if scheme != "http" && scheme != "https" {
        return invalid("unsupported scheme");
    }
    let host = rest.strip_suffix('/').unwrap_or(rest);
    if host.is_empty() {
        return invalid("no host specified");
    }
    if host.contains(['/', '?', '#', '@']) {
        return invalid("path, query, fragment or credentials are not allowed");
    }
    Ok(format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_serve_docker_hub_only() {
        let s = RegistrySettings::new(
            RegistryOptions::default(),
            &["http://127.0.0.1:5001/".into(), "https://m.example".into()],
        )
        .unwrap();
        let hub = s.mirrors_of("docker.io");
        let bases: Vec<_> = hub.iter().map(|e| e.base.as_str()).collect();
        assert_eq!(bases, ["http://127.0.0.1:5001", "https://m.example"]);
        assert!(hub.iter().all(|e| e.registry == "docker.io"));
        assert!(s.mirrors_of("127.0.0.1:5000").is_empty());
        assert_eq!(s.endpoint("docker.io").base, "https://registry-1.docker.io");
    }

    #[test]
    fn bad_mirrors_are_refused() {
        for bad in [
            "127.0.0.1:5000",
            "ftp://x",
            "http://",
            "http://x/path",
            "https://u:p@x",
        ] {
            let e = RegistrySettings::new(RegistryOptions::default(), &[bad.into()]).unwrap_err();
            assert!(e.to_string().starts_with("invalid mirror: "), "{bad}: {e}");
        }
    }
}
