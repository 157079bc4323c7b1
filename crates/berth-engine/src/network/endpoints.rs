//! A container's endpoints as chosen at create time: the network its mode names (with the aliases and static
//! address asked for it) and the checks Docker makes on combinations of network options.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Mode;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::{EndpointSettings, HostConfig};

/// `NetworkingConfig` of a create request: per-network endpoint settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkingConfig {
    pub endpoints_config: BTreeMap<String, EndpointSettings>,
}

impl Engine {
    /// Checks the network options of a new container and returns its endpoints (keyed by network name), with
    /// `hc.network_mode` normalised (`default` when empty).
    pub(crate) fn create_endpoints(
        &self,
        hc: &mut HostConfig,
        networking: &NetworkingConfig,
        hostname_given: bool,
    ) -> Result<BTreeMap<String, EndpointSettings>> {
        if hc.network_mode.is_empty() {
            hc.network_mode = "default".into();
        }
        let asked = &networking.endpoints_config;
        if asked.len() > 1 {
            let names: Vec<&str> = asked.keys().map(String::as_str).collect();
            return Err(Error::InvalidArgument(format!(
                "Container cannot be connected to network endpoints: {}",
                names.join(", ")
            )));
        }
        let conflicting =
            |what: &str| Error::InvalidArgument(format!("conflicting options: {what} and the network mode"));
        // `--add-host` entries are checked now (`host-gateway` needs a bridge network's gateway).
        let bridged = matches!(Mode::parse(&hc.network_mode), Mode::Network(_));
        super::files::extra_host_lines(
            hc.extra_hosts.as_deref().unwrap_or(&[]),
            bridged.then_some(std::net::Ipv4Addr::UNSPECIFIED),
        )?;
        let name = match Mode::parse(&hc.network_mode) {
            Mode::Container(other) => {
                self.containers.resolve(other)?;
                if !hc.port_bindings.is_empty() || hc.publish_all_ports {
                    return Err(Error::InvalidArgument(
                        "conflicting options: port publishing and the container type network mode".into(),
                    ));
                }
                if hostname_given {
                    return Err(conflicting("hostname"));
                }
                if !hc.dns.is_empty() || !hc.dns_search.is_empty() || !hc.dns_options.is_empty() {
                    return Err(conflicting("dns"));
                }
                if hc.extra_hosts.as_ref().is_some_and(|h| !h.is_empty()) {
                    return Err(conflicting("custom host-to-IP mapping"));
                }
                return Ok(BTreeMap::new());
            }
            Mode::None => "none",
            Mode::Host => {
                hc.port_bindings.clear();
                hc.publish_all_ports = false;
                "host"
            }
            Mode::Network(name) => name,
        };
        let net = self.networks.get(name)?;
        // The docker CLI names the network as the user gave it (`default` for no --network).
        let names_it = |k: &str| k == name || k == net.id || k == hc.network_mode;
        let mut ep = asked
            .iter()
            .find(|(k, _)| names_it(k))
            .map(|(_, e)| e.clone())
            .unwrap_or_default();
        if let Some((other, _)) = asked.iter().find(|(k, _)| !names_it(k)) {
            return Err(Error::InvalidArgument(format!(
                "Container cannot be connected to network endpoints: {name}, {other}"
            )));
        }
        let static_ip = ep
            .ipam_config
            .as_ref()
            .is_some_and(|i| !i.ipv4_address.is_empty());
        let user_network = net.is_bridge() && !net.is_default_bridge();
        if static_ip && !user_network {
            return Err(Error::InvalidArgument(
                "user specified IP address is supported on user defined networks only".into(),
            ));
        }
        if ep.aliases.as_ref().is_some_and(|a| !a.is_empty()) && !user_network {
            return Err(Error::InvalidArgument(
                "network-scoped alias is supported only for containers in user defined networks".into(),
            ));
        }
        if let Some(ip) = ep
            .ipam_config
            .as_ref()
            .map(|i| i.ipv4_address.as_str())
            .filter(|s| !s.is_empty())
            && ip.parse::<std::net::Ipv4Addr>().is_err()
        {
            return Err(Error::InvalidArgument(format!("invalid IPv4 address: {ip}")));
        }
        ep.network_id = net.id.clone();
        ep.clear_runtime();
        if matches!(Mode::parse(&hc.network_mode), Mode::Network(_)) && name != "bridge" && name != net.name {
            // Named by id or id prefix: the endpoint is keyed by the network's name, and so is the mode.
            hc.network_mode = net.name.clone();
        }
        Ok(BTreeMap::from([(net.name.clone(), ep)]))
    }
}
