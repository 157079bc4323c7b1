//! The iptables backend: each operation reads the current rules with one `iptables-save` (when it needs to
//! know what exists) and applies its changes with one `iptables-restore -w --noflush` script, which is atomic
//! per table. Operations are serialised within the process so two read-then-write sequences never interleave.

use std::sync::{Mutex, PoisonError};

use super::iptables_rules::{self, Chains, Saved, Script};
use super::{Firewall, NetworkRules, PortMapping, Result, check_network, check_owner, exec};

const SAVE: &str = "iptables-save";
const RESTORE: &str = "iptables-restore";

/// Serialises this process's iptables changes (the xtables lock taken by `-w` only covers one command).
static LOCK: Mutex<()> = Mutex::new(());

/// The iptables backend (drives `iptables-save` and `iptables-restore`, either of their nft or legacy kinds).
#[derive(Debug, Default, Clone, Copy)]
pub struct Iptables;

fn save() -> Result<String> {
    exec::run(SAVE, &[], None)
}

fn restore(script: Option<String>) -> Result<()> {
    match script {
        Some(script) => exec::run(RESTORE, &["-w", "--noflush"], Some(script.as_bytes())).map(drop),
        None => Ok(()),
    }
}

impl Firewall for Iptables {
    fn name(&self) -> &'static str {
        "iptables"
    }

    fn setup_network(&self, net: &NetworkRules) -> Result<()> {
        check_network(net)?;
        let _lock = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        let saved = save()?;
        restore(iptables_rules::setup_script(net, &Saved::parse(&saved)))
    }

    fn teardown_network(&self, net: &NetworkRules) -> Result<()> {
        check_network(net)?;
        let _lock = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        let saved = save()?;
        restore(iptables_rules::teardown_script(net, &Saved::parse(&saved)))
    }

    fn add_ports(&self, net: &NetworkRules, owner: &str, ports: &[PortMapping]) -> Result<()> {
        check_network(net)?;
        check_owner(owner)?;
        if net.internal {
            return Ok(());
        }
        let chain = Chains::of(net).ports;
        let rules: Vec<String> = ports
            .iter()
            .map(|p| iptables_rules::port_rule(&chain, owner, p))
            .collect();
        let mut script = Script::default();
        script.table("nat", &rules);
        let _lock = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        restore(script.finish())
    }

    fn remove_ports(&self, net: &NetworkRules, owner: &str) -> Result<()> {
        check_network(net)?;
        check_owner(owner)?;
        let chain = Chains::of(net).ports;
        let _lock = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        let saved = save()?;
        let saved = Saved::parse(&saved);
        let deletes: Vec<String> = saved
            .rules_of("nat", &chain)
            .filter(|l| iptables_rules::has_comment(l, owner))
            .map(iptables_rules::delete_of)
            .collect();
        let mut script = Script::default();
        script.table("nat", &deletes);
        restore(script.finish())
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::firewall::testnet::{TableGuard, reserve_tcp_port, reserve_udp_port, unique_name};
    use crate::firewall::{BRIDGE_GROUP, Proto};

    /// `iptables -S` of one table, or of one chain of it.
    fn listing(table: &str, chain: Option<&str>) -> String {
        let mut args = vec!["-w", "-t", table, "-S"];
        args.extend(chain);
        exec::run("iptables", &args, None).unwrap_or_default()
    }

    /// The lines of both tables that mention the network's chains or bridge.
    fn leftovers(net: &NetworkRules) -> Vec<String> {
        let prefix = format!("BERTH-{}-", net.bridge);
        let bridge = format!(" {} ", net.bridge);
        ["filter", "nat"]
            .iter()
            .flat_map(|t| listing(t, None).lines().map(str::to_string).collect::<Vec<_>>())
            .filter(|l| l.contains(&prefix) || format!("{l} ").contains(&bridge))
            .collect()
    }

    fn network(internal: bool) -> NetworkRules {
        NetworkRules {
            bridge: unique_name("bfi"),
            subnet: Ipv4Addr::new(10, 232, 251, 0),
            prefix: 24,
            internal,
            masquerade: true,
        }
    }

    #[test]
    fn firewall_iptables_network_round_trip() {
        let net = network(false);
        let _guard = TableGuard::new(Box::new(Iptables), &net);
        let (_tcp, tcp_port) = reserve_tcp_port();
        let (_udp, udp_port) = reserve_udp_port();
        let fw = Iptables;
        let c = Chains::of(&net);
        fw.setup_network(&net).unwrap();
        fw.setup_network(&net).unwrap(); // idempotent
        let ports = [
            PortMapping {
                proto: Proto::Tcp,
                host_ip: None,
                host_port: tcp_port,
                container_ip: Ipv4Addr::new(10, 232, 251, 2),
                container_port: 80,
            },
            PortMapping {
                proto: Proto::Udp,
                host_ip: Some(Ipv4Addr::new(198, 51, 100, 1)),
                host_port: udp_port,
                container_ip: Ipv4Addr::new(10, 232, 251, 3),
                container_port: 53,
            },
        ];
        fw.add_ports(&net, "owner-a", &ports[..1]).unwrap();
        fw.add_ports(&net, "owner-b", &ports[1..]).unwrap();
        fw.setup_network(&net).unwrap(); // keeps the ports, adds no second jump
        let filter = listing("filter", None);
        let nat = listing("nat", None);
        let br = &net.bridge;
        assert_eq!(
            filter.matches(&format!("-A FORWARD -j {}\n", c.fwd)).count(),
            1,
            "{filter}"
        );
        for expected in [
            format!("-A {} -i {br} -o {br} -j ACCEPT", c.fwd),
            format!(
                "-A {} -i {br} -m devgroup --dst-group {BRIDGE_GROUP:#x} -j DROP",
                c.fwd
            ),
            format!("-A {} -o {br} -j DROP", c.fwd),
        ] {
            assert_eq!(
                filter.matches(&format!("{expected}\n")).count(),
                1,
                "{expected:?} in\n{filter}"
            );
        }
        for expected in [
            format!("-A PREROUTING -m addrtype --dst-type LOCAL -j {}", c.ports),
            format!("-A OUTPUT -m addrtype --dst-type LOCAL -j {}", c.ports),
            format!("-A POSTROUTING -j {}", c.post),
            format!("-A {} -s 10.232.251.0/24 ! -o {br} -j MASQUERADE", c.post),
            format!("-A {} -s 127.0.0.0/8 -o {br} -j MASQUERADE", c.post),
            format!(
                "-A {} -p tcp -m tcp --dport {tcp_port} -m comment --comment owner-a -j DNAT --to-destination \
                 10.232.251.2:80",
                c.ports
            ),
            format!(
                "-A {} -d 198.51.100.1/32 -p udp -m udp --dport {udp_port} -m comment --comment owner-b -j DNAT \
                 --to-destination 10.232.251.3:53",
                c.ports
            ),
        ] {
            assert_eq!(
                nat.matches(&format!("{expected}\n")).count(),
                1,
                "{expected:?} in\n{nat}"
            );
        }

        let unmasqueraded = NetworkRules {
            masquerade: false,
            ..net.clone()
        };
        fw.setup_network(&unmasqueraded).unwrap();
        let post = listing("nat", Some(&c.post));
        assert!(
            !post.contains("! -o") && post.matches("MASQUERADE").count() == 2,
            "{post}"
        );
        assert_eq!(listing("nat", Some(&c.ports)).matches("--comment").count(), 2);

        fw.remove_ports(&net, "owner-a").unwrap();
        let ports_chain = listing("nat", Some(&c.ports));
        assert!(
            !ports_chain.contains("owner-a") && ports_chain.contains("owner-b"),
            "{ports_chain}"
        );
        fw.remove_ports(&net, "owner-a").unwrap(); // none left: still Ok
        fw.remove_ports(&net, "owner-b").unwrap();
        assert!(!listing("nat", Some(&c.ports)).contains("--comment"));

        fw.teardown_network(&net).unwrap();
        assert_eq!(leftovers(&net), Vec::<String>::new());
        fw.teardown_network(&net).unwrap(); // absent: still Ok
        fw.remove_ports(&net, "owner-b").unwrap(); // absent chains: Ok
        assert!(
            fw.add_ports(&net, "owner-a", &ports).is_err(),
            "ports need the network's chains"
        );
    }

    #[test]
    fn firewall_iptables_internal_network() {
        let net = network(true);
        let _guard = TableGuard::new(Box::new(Iptables), &net);
        let (_tcp, tcp_port) = reserve_tcp_port();
        let fw = Iptables;
        let c = Chains::of(&net);
        fw.setup_network(&net).unwrap();
        let port = PortMapping {
            proto: Proto::Tcp,
            host_ip: None,
            host_port: tcp_port,
            container_ip: Ipv4Addr::new(10, 232, 251, 2),
            container_port: 80,
        };
        fw.add_ports(&net, "owner-a", &[port]).unwrap();
        let fwd = listing("filter", Some(&c.fwd));
        let br = &net.bridge;
        assert!(fwd.contains(&format!("-A {} -i {br} -j DROP\n", c.fwd)), "{fwd}");
        assert!(fwd.contains(&format!("-A {} -o {br} -j DROP\n", c.fwd)), "{fwd}");
        assert!(
            !fwd.contains("RELATED"),
            "internal networks accept no replies from outside:\n{fwd}"
        );
        let post = listing("nat", Some(&c.post));
        assert!(
            !post.contains("! -o"),
            "internal networks are not masqueraded:\n{post}"
        );
        assert!(
            !listing("nat", Some(&c.ports)).contains("--comment"),
            "internal networks publish no ports"
        );
        fw.teardown_network(&net).unwrap();
        assert_eq!(leftovers(&net), Vec::<String>::new());
    }
}
