//! The nftables backend: each operation is one atomic `nft -j -f -` batch (removing ports first lists the
//! ports chain to find the owner's rule handles).

use super::nft_rules::{self, PORTS_CHAIN};
use super::{Error, Firewall, NetworkRules, PortMapping, Result, check_network, check_owner, exec};

const NFT: &str = "nft";

/// The nftables backend (drives the `nft` binary in JSON mode).
#[derive(Debug, Default, Clone, Copy)]
pub struct Nftables;

impl Nftables {
    fn apply(batch: &nftables::schema::Nftables) -> Result<()> {
        let json = serde_json::to_vec(batch).map_err(|e| Error::Output {
            program: NFT,
            message: format!("cannot encode batch: {e}"),
        })?;
        exec::run(NFT, &["-j", "-f", "-"], Some(&json)).map(drop)
    }
}

/// Whether an nft failure says the table (or chain) it was given does not exist.
fn is_missing(err: &Error) -> bool {
    matches!(err, Error::Tool { message, .. } if message.contains("No such file or directory"))
}

impl Firewall for Nftables {
    fn name(&self) -> &'static str {
        "nftables"
    }

    fn setup_network(&self, net: &NetworkRules) -> Result<()> {
        check_network(net)?;
        Self::apply(&nft_rules::setup_batch(net))
    }

    fn teardown_network(&self, net: &NetworkRules) -> Result<()> {
        check_network(net)?;
        Self::apply(&nft_rules::teardown_batch(net))
    }

    fn add_ports(&self, net: &NetworkRules, owner: &str, ports: &[PortMapping]) -> Result<()> {
        check_network(net)?;
        check_owner(owner)?;
        if net.internal || ports.is_empty() {
            return Ok(());
        }
        Self::apply(&nft_rules::add_ports_batch(net, owner, ports))
    }

    fn remove_ports(&self, net: &NetworkRules, owner: &str) -> Result<()> {
        check_network(net)?;
        check_owner(owner)?;
        let table = nft_rules::table_name(net);
        let listing = match exec::run(NFT, &["-j", "list", "chain", "inet", &table, PORTS_CHAIN], None) {
            Ok(listing) => listing,
            Err(e) if is_missing(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        let listing: nftables::schema::Nftables =
            serde_json::from_str(&listing).map_err(|e| Error::Output {
                program: NFT,
                message: e.to_string(),
            })?;
        let handles = nft_rules::owner_handles(&listing, owner);
        if handles.is_empty() {
            return Ok(());
        }
        match Self::apply(&nft_rules::delete_rules_batch(net, &handles)) {
            Err(e) if is_missing(&e) => Ok(()), // torn down meanwhile
            done => done,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use serde_json::Value;

    use super::*;
    use crate::firewall::testnet::{TableGuard, reserve_tcp_port, reserve_udp_port, unique_name};
    use crate::firewall::{BRIDGE_GROUP, Proto};

    /// The rules of the network's table in `nft` text syntax, one per line, or None if the table is missing.
    fn table_text(net: &NetworkRules) -> Option<String> {
        let table = nft_rules::table_name(net);
        exec::run(NFT, &["list", "table", "inet", &table], None).ok()
    }

    /// The comments of the ports chain's rules, read from `nft -j`.
    fn port_comments(net: &NetworkRules) -> Vec<String> {
        let table = nft_rules::table_name(net);
        let out = exec::run(NFT, &["-j", "list", "chain", "inet", &table, PORTS_CHAIN], None).unwrap();
        let json: Value = serde_json::from_str(&out).unwrap();
        json["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o.get("rule")?.get("comment")?.as_str().map(str::to_string))
            .collect()
    }

    fn network(internal: bool) -> NetworkRules {
        NetworkRules {
            bridge: unique_name("bfn"),
            subnet: Ipv4Addr::new(10, 232, 250, 0),
            prefix: 24,
            internal,
            masquerade: true,
        }
    }

    #[test]
    fn firewall_nft_network_round_trip() {
        let net = network(false);
        let _guard = TableGuard::new(Box::new(Nftables), &net);
        let (_tcp, tcp_port) = reserve_tcp_port();
        let (_udp, udp_port) = reserve_udp_port();
        let fw = Nftables;
        fw.setup_network(&net).unwrap();
        fw.setup_network(&net).unwrap(); // idempotent
        let ports = [
            PortMapping {
                proto: Proto::Tcp,
                host_ip: None,
                host_port: tcp_port,
                container_ip: Ipv4Addr::new(10, 232, 250, 2),
                container_port: 80,
            },
            PortMapping {
                proto: Proto::Udp,
                host_ip: Some(Ipv4Addr::new(198, 51, 100, 1)),
                host_port: udp_port,
                container_ip: Ipv4Addr::new(10, 232, 250, 3),
                container_port: 53,
            },
        ];
        fw.add_ports(&net, "owner-a", &ports[..1]).unwrap();
        fw.add_ports(&net, "owner-b", &ports[1..]).unwrap();
        fw.setup_network(&net).unwrap(); // keeps the ports
        let text = table_text(&net).unwrap();
        let br = &net.bridge;
        for expected in [
            format!("iifname \"{br}\" oifname \"{br}\" accept"),
            format!("iifname \"{br}\" oifgroup {BRIDGE_GROUP} drop"),
            format!("oifname \"{br}\" ct status dnat accept"),
            format!("ip saddr 10.232.250.0/24 oifname != \"{br}\" masquerade"),
            format!("ip saddr 10.232.250.0/24 oifname \"{br}\" ct status dnat masquerade"),
            format!("ip saddr 127.0.0.0/8 oifname \"{br}\" masquerade"),
            "fib daddr type local jump ports".to_string(),
            format!("tcp dport {tcp_port} dnat ip to 10.232.250.2:80 comment \"owner-a\""),
            format!(
                "ip daddr 198.51.100.1 udp dport {udp_port} dnat ip to 10.232.250.3:53 comment \"owner-b\""
            ),
        ] {
            assert!(text.contains(&expected), "missing {expected:?} in\n{text}");
        }
        assert_eq!(
            text.matches("fib daddr type local jump ports").count(),
            2,
            "{text}"
        );
        assert_eq!(text.matches("masquerade").count(), 3, "{text}");
        assert_eq!(port_comments(&net), ["owner-a", "owner-b"]);

        let unmasqueraded = NetworkRules {
            masquerade: false,
            ..net.clone()
        };
        fw.setup_network(&unmasqueraded).unwrap();
        let text = table_text(&net).unwrap();
        assert!(!text.contains("oifname != "), "{text}");
        assert_eq!(text.matches("masquerade").count(), 2, "{text}");
        assert_eq!(port_comments(&net), ["owner-a", "owner-b"]);

        fw.remove_ports(&net, "owner-a").unwrap();
        assert_eq!(port_comments(&net), ["owner-b"]);
        fw.remove_ports(&net, "owner-a").unwrap(); // none left: still Ok
        fw.remove_ports(&net, "owner-b").unwrap();
        assert!(port_comments(&net).is_empty());

        fw.teardown_network(&net).unwrap();
        assert!(table_text(&net).is_none());
        fw.teardown_network(&net).unwrap(); // absent: still Ok
        fw.remove_ports(&net, "owner-b").unwrap(); // absent table: Ok
        assert!(
            fw.add_ports(&net, "owner-a", &ports).is_err(),
            "ports need the network's table"
        );
    }

    #[test]
    fn firewall_nft_internal_network() {
        let net = network(true);
        let _guard = TableGuard::new(Box::new(Nftables), &net);
        let (_tcp, tcp_port) = reserve_tcp_port();
        let fw = Nftables;
        fw.setup_network(&net).unwrap();
        let port = PortMapping {
            proto: Proto::Tcp,
            host_ip: None,
            host_port: tcp_port,
            container_ip: Ipv4Addr::new(10, 232, 250, 2),
            container_port: 80,
        };
        fw.add_ports(&net, "owner-a", &[port]).unwrap();
        let text = table_text(&net).unwrap();
        let br = &net.bridge;
        assert!(text.contains(&format!("iifname \"{br}\" drop")), "{text}");
        assert!(text.contains(&format!("oifname \"{br}\" drop")), "{text}");
        assert!(
            !text.contains("oifname != "),
            "internal networks are not masqueraded:\n{text}"
        );
        assert!(!text.contains("ct state"), "{text}");
        assert!(
            port_comments(&net).is_empty(),
            "internal networks publish no ports"
        );
        fw.teardown_network(&net).unwrap();
        assert!(table_text(&net).is_none());
    }

    #[test]
    fn firewall_nft_rejects_bad_names_before_running_nft() {
        let mut net = network(false);
        net.bridge = "bad name".to_string();
        assert!(matches!(
            Nftables.setup_network(&net),
            Err(Error::InvalidBridge(_))
        ));
        let net = network(false);
        assert!(matches!(
            Nftables.remove_ports(&net, "a;b"),
            Err(Error::InvalidOwner(_))
        ));
    }
}
