//! A container's ports as `GET /containers/json` lists them (one entry per published binding, one without a host
//! side per exposed port), and the `publish`/`expose` list filters over them.

use berth_engine::model::Container;
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// Splits a port key (`80/tcp`, `80`) into its number and protocol.
fn split_key(key: &str) -> Option<(u16, &str)> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    Some((port.parse().ok()?, proto))
}

/// Docker's `Ports` of a list entry, from the container's live `NetworkSettings.Ports`.
pub(crate) fn ports(c: &Container) -> Vec<Value> {
    let mut out = Vec::new();
    for (key, bindings) in &c.network_settings.ports {
        let Some((port, proto)) = split_key(key) else {
            continue;
        };
        match bindings.as_deref() {
            None | Some([]) => out.push(json!({"PrivatePort": port, "Type": proto})),
            Some(bindings) => {
                for b in bindings {
                    let mut entry = json!({"PrivatePort": port, "Type": proto});
                    if !b.host_ip.is_empty() {
                        entry["IP"] = json!(b.host_ip);
                    }
                    if let Ok(public) = b.host_port.parse::<u16>() {
                        entry["PublicPort"] = json!(public);
                    }
                    out.push(entry);
                }
            }
        }
    }
    out
}

/// A `publish`/`expose` filter value: `PORT[-END][/PROTO]`.
#[derive(Debug, PartialEq)]
pub(crate) struct PortFilter {
    first: u16,
    last: u16,
    proto: String,
}

impl PortFilter {
    pub(crate) fn parse(key: &str, value: &str) -> Result<PortFilter> {
        let bad = || Error::bad_request(format!("invalid filter '{key}={value}'"));
        let (range, proto) = value.split_once('/').unwrap_or((value, "tcp"));
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let first: u16 = first.parse().map_err(|_| bad())?;
        let last: u16 = last.parse().map_err(|_| bad())?;
        if last < first || proto.is_empty() {
            return Err(bad());
        }
        Ok(PortFilter {
            first,
            last,
            proto: proto.to_ascii_lowercase(),
        })
    }

    fn covers(&self, port: u16, proto: &str) -> bool {
        (self.first..=self.last).contains(&port) && self.proto == proto
    }

    /// `publish`: a host port the container publishes.
    pub(crate) fn published_by(&self, c: &Container) -> bool {
        c.network_settings.ports.iter().any(|(key, bindings)| {
            split_key(key).is_some_and(|(_, proto)| {
                bindings
                    .iter()
                    .flatten()
                    .any(|b| b.host_port.parse().is_ok_and(|p| self.covers(p, proto)))
            })
        })
    }

    /// `expose`: a container port it exposes (or publishes).
    pub(crate) fn exposed_by(&self, c: &Container) -> bool {
        let exposed = c.config.exposed_ports.iter().flat_map(|p| p.keys());
        let bound = c.host_config.port_bindings.keys();
        exposed
            .chain(bound)
            .chain(c.network_settings.ports.keys())
            .any(|key| split_key(key).is_some_and(|(port, proto)| self.covers(port, proto)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::model::PortBinding;

    fn web() -> Container {
        let mut c = Container::default();
        let ports = &mut c.network_settings.ports;
        ports.insert(
            "80/tcp".into(),
            Some(vec![PortBinding {
                host_ip: "0.0.0.0".into(),
                host_port: "8080".into(),
            }]),
        );
        ports.insert("443/tcp".into(), None);
        ports.insert("53/udp".into(), Some(vec![]));
        c
    }

    #[test]
    fn list_shape() {
        let p = ports(&web());
        assert_eq!(p.len(), 3);
        assert!(p.contains(&json!({"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"})));
        assert!(p.contains(&json!({"PrivatePort": 443, "Type": "tcp"})));
        assert!(p.contains(&json!({"PrivatePort": 53, "Type": "udp"})));
        assert!(ports(&Container::default()).is_empty());
    }

    #[test]
    fn filters() {
        let c = web();
        let f = |v: &str| PortFilter::parse("publish", v).unwrap();
        assert!(f("8080").published_by(&c));
        assert!(f("8000-8100/tcp").published_by(&c));
        assert!(!f("8080/udp").published_by(&c));
        assert!(!f("80").published_by(&c));
        assert!(f("80").exposed_by(&c) && f("443/tcp").exposed_by(&c) && f("53/udp").exposed_by(&c));
        assert!(!f("81").exposed_by(&c));
        for bad in ["x", "90-80", "80/", ""] {
            assert_eq!(
                PortFilter::parse("expose", bad).unwrap_err().message,
                format!("invalid filter 'expose={bad}'")
            );
        }
    }
}
