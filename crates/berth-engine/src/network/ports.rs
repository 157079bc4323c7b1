//! Published ports: the host ports a container asks for (`PortBindings`, and every exposed port with
//! `PublishAllPorts`), and the `Ports` map inspect shows once they are given.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use berth_network::firewall::PortMapping;
use berth_network::store::{PortRequest, Proto, Published};

use crate::error::{Error, Result};
use crate::model::{Container, PortBinding};

/// Splits a port key (`80/tcp`, `53/udp`, `80`) into its port and protocol.
pub(crate) fn parse_port_key(key: &str) -> Result<(u16, Proto)> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let bad = || Error::InvalidArgument(format!("invalid port specification: \"{key}\""));
    let port: u16 = port.parse().map_err(|_| bad())?;
    if port == 0 {
        return Err(bad());
    }
    Ok((port, proto.parse().map_err(|_| bad())?))
}

/// The ports container `c` publishes.
pub(crate) fn requests(c: &Container) -> Result<Vec<PortRequest>> {
    let hc = &c.host_config;
    let mut out = Vec::new();
    for (key, bindings) in &hc.port_bindings {
        let (container_port, proto) = parse_port_key(key)?;
        for b in bindings.iter().flatten() {
            let host_ip = match b.host_ip.as_str() {
                "" | "0.0.0.0" => None,
                ip => Some(ip.parse::<Ipv4Addr>().map_err(|_| {
                    Error::InvalidArgument(format!("invalid host IP {ip} for published port {key}"))
                })?),
            };
            let host_port = match b.host_port.as_str() {
                "" | "0" => None,
                p if p.contains('-') => {
                    return Err(Error::InvalidArgument(format!(
                        "host port ranges are not supported: {p}"
                    )));
                }
                p => Some(
                    p.parse::<u16>()
                        .map_err(|_| Error::InvalidArgument(format!("invalid host port {p}")))?,
                ),
            };
            out.push(PortRequest {
                proto,
                container_port,
                host_ip,
                host_port,
            });
        }
    }
    if hc.publish_all_ports {
        for key in c.config.exposed_ports.iter().flat_map(|p| p.keys()) {
            let (container_port, proto) = parse_port_key(key)?;
            let bound = out
                .iter()
                .any(|r| r.container_port == container_port && r.proto == proto);
            if !bound {
                out.push(PortRequest {
                    proto,
                    container_port,
                    host_ip: None,
                    host_port: None,
                });
            }
        }
    }
    Ok(out)
}

/// Inspect's `Ports`: every exposed or published port, with the host ports it got (`None` when not published).
pub(crate) fn ports_map(
    c: &Container,
    published: &[Published],
) -> BTreeMap<String, Option<Vec<PortBinding>>> {
    let mut map: BTreeMap<String, Option<Vec<PortBinding>>> = BTreeMap::new();
    for key in c.config.exposed_ports.iter().flat_map(|p| p.keys()) {
        if let Ok((port, proto)) = parse_port_key(key) {
            map.insert(format!("{port}/{proto}"), None);
        }
    }
    for p in published {
        map.entry(format!("{}/{}", p.container_port, p.proto))
            .or_insert(None)
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: p.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string(),
                host_port: p.host_port.to_string(),
            });
    }
    map
}

/// The firewall's port mappings of a running container's published ports (inspect's `Ports`), to `ip`.
pub(crate) fn mappings(ports: &BTreeMap<String, Option<Vec<PortBinding>>>, ip: Ipv4Addr) -> Vec<PortMapping> {
    let mut out = Vec::new();
    for (key, bindings) in ports {
        let Ok((container_port, proto)) = parse_port_key(key) else {
            continue;
        };
        for b in bindings.iter().flatten() {
            let Ok(host_port) = b.host_port.parse::<u16>() else {
                continue;
            };
            out.push(PortMapping {
                proto: proto.into(),
                host_ip: b.host_ip.parse::<Ipv4Addr>().ok().filter(|a| !a.is_unspecified()),
                host_port,
                container_ip: ip,
                container_port,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_and_publish_all() {
        let mut c = Container::default();
        c.host_config.port_bindings.insert(
            "80/tcp".into(),
            Some(vec![PortBinding {
                host_ip: "127.0.0.1".into(),
                host_port: "8080".into(),
            }]),
        );
        c.host_config
            .port_bindings
            .insert("53/udp".into(), Some(vec![PortBinding::default()]));
        c.config.exposed_ports = Some(
            [
                ("80/tcp".to_string(), Default::default()),
                ("443".to_string(), Default::default()),
            ]
            .into(),
        );
        c.host_config.publish_all_ports = true;
        let reqs = requests(&c).unwrap();
        assert_eq!(reqs.len(), 3, "{reqs:?}");
        assert!(reqs.contains(&PortRequest {
            proto: Proto::Tcp,
            container_port: 80,
            host_ip: Some(Ipv4Addr::LOCALHOST),
            host_port: Some(8080)
        }));
        assert!(reqs.contains(&PortRequest {
            proto: Proto::Udp,
            container_port: 53,
            host_ip: None,
            host_port: None
        }));
        assert!(
            reqs.iter()
                .any(|r| r.container_port == 443 && r.host_port.is_none())
        );
        let published = vec![Published {
            proto: Proto::Tcp,
            host_ip: None,
            host_port: 49200,
            container_port: 443,
            owner: "x".into(),
        }];
        let map = ports_map(&c, &published);
        assert_eq!(map["80/tcp"], None);
        assert_eq!(map["443/tcp"].as_ref().unwrap()[0].host_port, "49200");
        assert_eq!(map["443/tcp"].as_ref().unwrap()[0].host_ip, "0.0.0.0");
    }

    #[test]
    fn bad_specs() {
        for key in ["x/tcp", "0/tcp", "80/sctp", "70000"] {
            assert!(parse_port_key(key).is_err(), "{key}");
        }
        let mut c = Container::default();
        c.host_config.port_bindings.insert(
            "80".into(),
            Some(vec![PortBinding {
                host_ip: String::new(),
                host_port: "nope".into(),
            }]),
        );
        assert!(requests(&c).is_err());
    }
}
