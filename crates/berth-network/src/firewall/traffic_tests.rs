//! End-to-end tests of both backends with real traffic: bridges, namespaces wired like containers and an
//! "outside" namespace behind a plain veth, TCP connections through the rules, and the cost of each operation.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use super::testnet::{
    Bridge, ForwardDrop, Netns, Server, TableGuard, connect, reserve_tcp_port, unique_name, unique_octet,
};
use super::{Firewall, NetworkRules, PortMapping, Proto, by_name};

/// A berth network under test: its bridge and its rules, both removed when dropped.
struct TestNetwork {
    fw: Box<dyn Firewall>,
    net: NetworkRules,
    octet: u8,
    _rules: TableGuard,
    _bridge: Bridge,
}

impl TestNetwork {
    fn new(backend: &str, internal: bool) -> TestNetwork {
        let octet = unique_octet();
        let net = NetworkRules {
            bridge: unique_name("bft"),
            subnet: Ipv4Addr::new(10, 232, octet, 0),
            prefix: 24,
            internal,
            masquerade: true,
        };
        let bridge = Bridge::new(&net.bridge, Ipv4Addr::new(10, 232, octet, 1), net.prefix);
        let rules = TableGuard::new(by_name(backend).unwrap(), &net);
        let fw = by_name(backend).unwrap();
        fw.setup_network(&net).unwrap();
        TestNetwork {
            fw,
            net,
            octet,
            _rules: rules,
            _bridge: bridge,
        }
    }

    fn ip(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 232, self.octet, host)
    }

    fn gateway(&self) -> Ipv4Addr {
        self.ip(1)
    }

    /// A namespace on the bridge with address `.host`.
    fn container(&self, host: u8) -> Netns {
        let ns = Netns::new();
        ns.attach(Some(&self.net.bridge), None, self.ip(host), self.gateway());
        ns
    }

    /// Publishes `host_ip:host_port` (tcp) to port 8080 of the container at `.host`.
    fn publish(&self, owner: &str, host_ip: Option<Ipv4Addr>, host_port: u16, host: u8) {
        let port = PortMapping {
            proto: Proto::Tcp,
            host_ip,
            host_port,
            container_ip: self.ip(host),
            container_port: 8080,
        };
        self.fw.add_ports(&self.net, owner, &[port]).unwrap();
    }
}

/// A namespace outside berth's networks, reached from the host through a plain veth: the host end has `host`,
/// the namespace `addr`, and its default route goes through the host.
struct Outside {
    ns: Netns,
    host: Ipv4Addr,
    addr: Ipv4Addr,
}

impl Outside {
    fn new() -> Outside {
        let octet = unique_octet();
        let (host, addr) = (Ipv4Addr::new(10, 232, octet, 1), Ipv4Addr::new(10, 232, octet, 2));
        let ns = Netns::new();
        ns.attach(None, Some(host), addr, host);
        Outside { ns, host, addr }
    }
}

fn at(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

/// The host reaches a port published on 127.0.0.1 (DNAT in the output hook plus the loopback masquerade), and
/// no longer after the port is removed.
fn loopback_publish(backend: &str) {
    let n = TestNetwork::new(backend, false);
    let c = n.container(2);
    let _server = Server::spawn(&c.name, at(n.ip(2), 8080));
    let (_held, host_port) = reserve_tcp_port();
    let published = at(Ipv4Addr::LOCALHOST, host_port);
    assert!(connect(None, published).is_err(), "the held port does not answer");
    n.publish("c1", Some(Ipv4Addr::LOCALHOST), host_port, 2);
    assert_eq!(connect(None, published).unwrap(), n.gateway().to_string());
    n.fw.remove_ports(&n.net, "c1").unwrap();
    assert!(
        connect(None, published).is_err(),
        "the port is no longer published"
    );
}

/// A container reaches the outside masqueraded; the outside reaches a published port (keeping its own
/// address) but not an unpublished one.
fn outside_traffic(backend: &str, drop_policy: bool) {
    let n = TestNetwork::new(backend, false);
    let c = n.container(2);
    let out = Outside::new();
    let _drop = drop_policy.then(|| ForwardDrop::new(&n.net.bridge));
    let _outside_server = Server::spawn(&out.ns.name, at(out.addr, 9000));
    let _server = Server::spawn(&c.name, at(n.ip(2), 8080));
    let (_held, host_port) = reserve_tcp_port();
    n.publish("c1", None, host_port, 2);
    assert_eq!(
        connect(Some(&c.name), at(out.addr, 9000)).unwrap(),
        out.host.to_string()
    );
    assert_eq!(
        connect(Some(&out.ns.name), at(out.host, host_port)).unwrap(),
        out.addr.to_string()
    );
    assert!(
        connect(Some(&out.ns.name), at(n.ip(2), 8080)).is_err(),
        "unpublished ports are not reachable"
    );
}

/// A container reaches a sibling's published port through the bridge address, masqueraded so the reply
/// comes back through the host.
fn hairpin(backend: &str) {
    let n = TestNetwork::new(backend, false);
    let (client, server) = (n.container(2), n.container(3));
    let _server = Server::spawn(&server.name, at(n.ip(3), 8080));
    let (_held, host_port) = reserve_tcp_port();
    n.publish("c3", None, host_port, 3);
    assert_eq!(
        connect(Some(&client.name), at(n.gateway(), host_port)).unwrap(),
        n.gateway().to_string()
    );
}

/// Two networks cannot reach each other, directly or through the other's published port.
fn isolation(backend: &str) {
    let (a, b) = (TestNetwork::new(backend, false), TestNetwork::new(backend, false));
    let (ca, cb) = (a.container(2), b.container(2));
    let _server_a = Server::spawn(&ca.name, at(a.ip(2), 8080));
    let _server_b = Server::spawn(&cb.name, at(b.ip(2), 8080));
    let (_held, host_port) = reserve_tcp_port();
    b.publish("cb", None, host_port, 2);
    assert_eq!(
        connect(None, at(b.gateway(), host_port)).unwrap(),
        b.gateway().to_string(),
        "published"
    );
    assert!(
        connect(Some(&ca.name), at(b.gateway(), host_port)).is_err(),
        "a reached b's published port"
    );
    assert!(connect(Some(&ca.name), at(b.ip(2), 8080)).is_err(), "a reached b");
    assert!(connect(Some(&cb.name), at(a.ip(2), 8080)).is_err(), "b reached a");
}

/// An internal network forwards between its containers only.
fn internal(backend: &str) {
    let n = TestNetwork::new(backend, true);
    let (c1, c2) = (n.container(2), n.container(3));
    let out = Outside::new();
    let _server = Server::spawn(&c2.name, at(n.ip(3), 8080));
    let _outside_server = Server::spawn(&out.ns.name, at(out.addr, 9000));
    assert_eq!(
        connect(Some(&c1.name), at(n.ip(3), 8080)).unwrap(),
        n.ip(2).to_string()
    );
    assert!(
        connect(Some(&c1.name), at(out.addr, 9000)).is_err(),
        "an internal container reached out"
    );
    assert!(
        connect(Some(&out.ns.name), at(n.ip(3), 8080)).is_err(),
        "the outside reached in"
    );
}

#[test]
fn firewall_nft_loopback_publish() {
    loopback_publish("nftables");
}

#[test]
fn firewall_iptables_loopback_publish() {
    loopback_publish("iptables");
}

#[test]
fn firewall_nft_outside_traffic() {
    outside_traffic("nftables", false);
}

#[test]
fn firewall_iptables_outside_traffic_under_a_drop_policy() {
    outside_traffic("iptables", true);
}

#[test]
fn firewall_nft_hairpin() {
    hairpin("nftables");
}

#[test]
fn firewall_iptables_hairpin() {
    hairpin("iptables");
}

#[test]
fn firewall_nft_isolation() {
    isolation("nftables");
}

#[test]
fn firewall_iptables_isolation() {
    isolation("iptables");
}

#[test]
fn firewall_nft_internal() {
    internal("nftables");
}

#[test]
fn firewall_iptables_internal() {
    internal("iptables");
}

/// The median cost of each operation of a backend, over `rounds` rounds on a fresh network.
fn timings(backend: &str, rounds: usize) -> [(&'static str, Duration); 4] {
    let fw = by_name(backend).unwrap();
    let mut samples: [(&str, Vec<Duration>); 4] = [
        ("setup_network", vec![]),
        ("add_ports", vec![]),
        ("remove_ports", vec![]),
        ("teardown_network", vec![]),
    ];
    let (_held, host_port) = reserve_tcp_port();
    for _ in 0..rounds {
        let net = NetworkRules {
            bridge: unique_name("bfb"),
            subnet: Ipv4Addr::new(10, 232, 252, 0),
            prefix: 24,
            internal: false,
            masquerade: true,
        };
        let _guard = TableGuard::new(by_name(backend).unwrap(), &net);
        let port = PortMapping {
            proto: Proto::Tcp,
            host_ip: Some(Ipv4Addr::LOCALHOST),
            host_port,
            container_ip: Ipv4Addr::new(10, 232, 252, 2),
            container_port: 80,
        };
        let ops: [&dyn Fn() -> super::Result<()>; 4] = [
            &|| fw.setup_network(&net),
            &|| fw.add_ports(&net, "owner", &[port]),
            &|| fw.remove_ports(&net, "owner"),
            &|| fw.teardown_network(&net),
        ];
        for (op, (_, times)) in ops.iter().zip(samples.iter_mut()) {
            let start = Instant::now();
            op().unwrap();
            times.push(start.elapsed());
        }
    }
    samples.map(|(name, mut times)| {
        times.sort();
        (name, times[times.len() / 2])
    })
}

/// Measures both backends (run with `--ignored --nocapture`; the figures vary with the host's load).
#[test]
#[ignore = "a measurement, not a check"]
fn firewall_timings() {
    for backend in ["nftables", "iptables"] {
        for (op, median) in timings(backend, 30) {
            println!("{backend} {op}: median {:.2} ms", median.as_secs_f64() * 1000.0);
        }
    }
}
