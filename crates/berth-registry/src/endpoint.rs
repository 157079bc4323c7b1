//! Where a repository lives: the registry a reference names mapped to its API base URL. Docker Hub (`docker.io`)
//! is served at `registry-1.docker.io`; registries on loopback addresses (127.0.0.0/8, ::1, localhost) and those
//! listed as insecure are spoken to over plain HTTP, all others over HTTPS, as Docker does.

use std::net::{IpAddr, Ipv4Addr};

/// The registry references name when they name none.
pub const DOCKER_HUB: &str = "docker.io";
/// The host serving Docker Hub's registry API.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// Registry settings of an engine.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Registries spoken to over plain HTTP besides loopback ones (`--insecure-registry`): `host[:port]`, or an
    /// IPv4 CIDR such as `10.0.0.0/8`.
    pub insecure: Vec<String>,
}

/// A registry's API location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The registry as references name it (`docker.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// Base URL of the API without a trailing slash (`https://registry-1.docker.io`).
    pub base: String,
}

impl Endpoint {
    /// The endpoint of `registry` (a reference's domain).
    pub fn resolve(registry: &str, opts: &RegistryOptions) -> Endpoint {
        let host = if registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            registry
        };
        let scheme = if is_insecure(registry, opts) {
            "http"
        } else {
            "https"
        };
        Endpoint {
            registry: registry.to_string(),
            base: format!("{scheme}://{host}"),
        }
    }

    /// Whether requests go over plain HTTP.
    pub fn is_plain_http(&self) -> bool {
        self.base.starts_with("http://")
    }

    /// The URL of an API path (`/v2/…`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The host part of `host[:port]` / `[v6]:port`.
fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry.rsplit_once(':').map_or(registry, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            registry
        }
    })
}

pub(crate) fn is_insecure(registry: &str, opts: &RegistryOptions) -> bool {
    let host = host_of(registry);
    let ip: Option<IpAddr> = host.parse().ok();
    if host == "localhost" || ip.is_some_and(|ip| ip.is_loopback()) {
        return true;
    }
    opts.insecure.iter().any(|entry| {
        let entry = entry
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .trim_end_matches('/');
        if entry == registry || entry == host {
            return true;
        }
        match (ip, entry.split_once('/')) {
            (Some(IpAddr::V4(ip)), Some((net, len))) => in_cidr(ip, net, len),
            _ => false,
        }
    })
}

fn in_cidr(ip: Ipv4Addr, net: &str, len: &str) -> bool {
    let (Ok(net), Ok(len)) = (net.parse::<Ipv4Addr>(), len.parse::<u32>()) else {
        return false;
    };
    if len > 32 {
        return false;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    u32::from(ip) & mask == u32::from(net) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_loopback_and_insecure() {
        let none = RegistryOptions::default();
        assert_eq!(
            Endpoint::resolve("docker.io", &none).base,
            "https://registry-1.docker.io"
        );
        assert_eq!(
            Endpoint::resolve("127.0.0.1:5000", &none).base,
            "http://127.0.0.1:5000"
        );
        assert_eq!(Endpoint::resolve("127.3.4.5", &none).base, "http://127.3.4.5");
        assert_eq!(Endpoint::resolve("[::1]:5000", &none).base, "http://[::1]:5000");
        assert_eq!(
            Endpoint::resolve("localhost:5000", &none).base,
            "http://localhost:5000"
        );
        assert_eq!(Endpoint::resolve("quay.io", &none).base, "https://quay.io");
        assert_eq!(
            Endpoint::resolve("10.1.2.3:5000", &none).base,
            "https://10.1.2.3:5000"
        );
        let opts = RegistryOptions {
            insecure: vec![
                "10.0.0.0/8".into(),
                "reg.example:5000".into(),
                "http://other.example/".into(),
            ],
        };
        assert!(Endpoint::resolve("10.1.2.3:5000", &opts).is_plain_http());
        assert!(Endpoint::resolve("reg.example:5000", &opts).is_plain_http());
        assert!(!Endpoint::resolve("reg.example:6000", &opts).is_plain_http());
        assert!(Endpoint::resolve("other.example", &opts).is_plain_http());
        assert!(!Endpoint::resolve("11.0.0.1", &opts).is_plain_http());
        assert_eq!(
            Endpoint::resolve("127.0.0.1:5000", &none).url("/v2/"),
            "http://127.0.0.1:5000/v2/"
        );
    }
}
