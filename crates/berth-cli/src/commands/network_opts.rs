//! The networking flags `run` and `create` share (`--network`, aliases, `--ip`, published and exposed ports, DNS,
//! extra hosts) and where Docker's CLI puts each in a create request.

use std::collections::BTreeMap;

use berth_engine::CreateRequest;
use berth_engine::model::{EndpointIpamConfig, EndpointSettings, PortBinding};
use clap::Args;

use crate::error::Failure;
use crate::opts;

/// Networking flags.
#[derive(Debug, Args, Clone, Default)]
pub struct NetworkOpts {
    /// Connect a container to a network (bridge, host, none, container:NAME, or a user network)
    #[arg(long, visible_alias = "net")]
    pub network: Option<String>,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", alias = "net-alias")]
    pub network_alias: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long)]
    pub ip: Option<String>,
    /// Publish a container's port(s) to the host
    #[arg(short, long)]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// Expose a port or a range of ports
    #[arg(long)]
    pub expose: Vec<String>,
    /// Set custom DNS servers
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long)]
    pub dns_search: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long)]
    pub add_host: Vec<String>,
}

fn bad_flag(value: &str, flag: &str, why: opts::Error) -> Failure {
    Failure::engine(format!("invalid argument \"{value}\" for \"{flag}\" flag: {why}"))
}

/// Whether Docker's CLI counts `mode` as a user-defined network (aliases and links are only for those).
fn user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

impl NetworkOpts {
    /// Fills the network parts of `req`: ports, DNS and hosts, the network mode, and the endpoint (aliases, `--ip`)
    /// under the name the network was given by — or "default" without `--network`, as Docker's CLI sends it.
    pub fn apply(&self, req: &mut CreateRequest) -> Result<(), Failure> {
        let hc = &mut req.host_config;
        let mut exposed = req.config.exposed_ports.take().unwrap_or_default();
        for spec in &self.publish {
            for m in opts::parse_publish(spec).map_err(|e| Failure::engine(e.to_string()))? {
                exposed.entry(m.port.clone()).or_default();
                hc.port_bindings
                    .entry(m.port)
                    .or_insert_with(|| Some(Vec::new()))
                    .get_or_insert_with(Vec::new)
                    .push(PortBinding {
                        host_ip: m.host_ip,
                        host_port: m.host_port,
                    });
            }
        }
        for spec in &self.expose {
            for port in opts::parse_expose(spec).map_err(|e| Failure::engine(e.to_string()))? {
                exposed.entry(port).or_default();
            }
        }
        req.config.exposed_ports = (!exposed.is_empty()).then_some(exposed);
        hc.publish_all_ports = self.publish_all;
        for d in &self.dns {
            hc.dns
                .push(opts::parse_ip(d).map_err(|e| bad_flag(d, "--dns", e))?);
        }
        for s in &self.dns_search {
            hc.dns_search
                .push(opts::parse_dns_search(s).map_err(|e| bad_flag(s, "--dns-search", e))?);
        }
        hc.dns_options.extend(self.dns_option.iter().cloned());
        let mut hosts = Vec::new();
        for h in &self.add_host {
            hosts.push(opts::parse_extra_host(h).map_err(|e| bad_flag(h, "--add-host", e))?);
        }
        hc.extra_hosts = (!hosts.is_empty()).then_some(hosts);
        let network = self.network.clone().unwrap_or_default();
        if network.trim().is_empty() && self.network.is_some() {
            return Err(Failure::engine("no name set for network"));
        }
        let target = if network.is_empty() {
            "default"
        } else {
            network.as_str()
        };
        if !self.network_alias.is_empty() && !user_defined(target) {
            return Err(Failure::engine(
                "network-scoped aliases are only supported for user-defined networks",
            ));
        }
        let endpoint = EndpointSettings {
            aliases: (!self.network_alias.is_empty()).then(|| self.network_alias.clone()),
            ipam_config: self.ip.as_ref().map(|ip| EndpointIpamConfig {
                ipv4_address: ip.clone(),
                ..Default::default()
            }),
            ..Default::default()
        };
        if endpoint != EndpointSettings::default() {
            req.networking_config.endpoints_config = BTreeMap::from([(target.to_string(), endpoint)]);
        }
        hc.network_mode = network;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(opts: NetworkOpts) -> Result<CreateRequest, Failure> {
        let mut req = CreateRequest::default();
        opts.apply(&mut req)?;
        Ok(req)
    }

    #[test]
    fn ports_are_published_and_exposed() {
        let req = request(NetworkOpts {
            publish: vec!["127.0.0.1:8080:80".into(), "8443:443".into(), "9000:80".into()],
            expose: vec!["53/udp".into()],
            publish_all: true,
            ..Default::default()
        })
        .unwrap();
        let bindings = &req.host_config.port_bindings;
        let b80 = bindings["80/tcp"].as_ref().unwrap();
        assert_eq!(
            (b80[0].host_ip.as_str(), b80[0].host_port.as_str()),
            ("127.0.0.1", "8080")
        );
        assert_eq!(b80[1].host_port, "9000");
        assert_eq!(bindings["443/tcp"].as_ref().unwrap()[0].host_port, "8443");
        let exposed: Vec<&String> = req.config.exposed_ports.as_ref().unwrap().keys().collect();
        assert_eq!(exposed, ["443/tcp", "53/udp", "80/tcp"]);
        assert!(req.host_config.publish_all_ports);
        assert!(req.networking_config.endpoints_config.is_empty());
        let e = request(NetworkOpts {
            publish: vec!["80:nope".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (125, "invalid containerPort: nope"));
    }

    #[test]
    fn endpoint_goes_under_the_network_given() {
        let req = request(NetworkOpts {
            network: Some("backend".into()),
            network_alias: vec!["db".into(), "store".into()],
            ip: Some("10.9.0.9".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(req.host_config.network_mode, "backend");
        let ep = &req.networking_config.endpoints_config["backend"];
        assert_eq!(ep.aliases.as_deref().unwrap(), ["db", "store"]);
        assert_eq!(ep.ipam_config.as_ref().unwrap().ipv4_address, "10.9.0.9");
        let req = request(NetworkOpts {
            ip: Some("10.9.0.9".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(req.networking_config.endpoints_config.contains_key("default"));
        for network in [None, Some("bridge"), Some("host")] {
            let e = request(NetworkOpts {
                network: network.map(String::from),
                network_alias: vec!["a".into()],
                ..Default::default()
            })
            .unwrap_err();
            assert_eq!(
                e.message,
                "network-scoped aliases are only supported for user-defined networks"
            );
        }
    }

    #[test]
    fn dns_and_hosts() {
        let req = request(NetworkOpts {
            dns: vec!["9.9.9.9".into()],
            dns_search: vec!["example.com.".into()],
            dns_option: vec!["ndots:2".into()],
            add_host: vec!["db=10.0.0.2".into()],
            ..Default::default()
        })
        .unwrap();
        let hc = &req.host_config;
        assert_eq!(
            (hc.dns.as_slice(), hc.dns_search.as_slice()),
            (&["9.9.9.9".to_string()][..], &["example.com".to_string()][..])
        );
        assert_eq!(hc.dns_options, ["ndots:2"]);
        assert_eq!(hc.extra_hosts.as_deref().unwrap(), ["db:10.0.0.2"]);
        let e = request(NetworkOpts {
            dns: vec!["x".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.message,
            "invalid argument \"x\" for \"--dns\" flag: IP address is not correctly formatted: x"
        );
        let e = request(NetworkOpts {
            add_host: vec!["h".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.message,
            "invalid argument \"h\" for \"--add-host\" flag: bad format for add-host: \"h\""
        );
    }
}
