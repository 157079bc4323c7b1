//! Root tests against the kernel: bridges, veth attachment into a namespace, traffic between host and namespace,
//! failures and cleanup. Each test uses its own bridge name and a 10.231.x.0/24 subnet, and removes all it made.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::*;
use crate::netns;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A test's resources: namespaces in a temp dir, one bridge, veths; all deleted on drop, even after a failure.
struct Fixture {
    dir: tempfile::TempDir,
    bridge: String,
    veths: Vec<String>,
    namespaces: Vec<PathBuf>,
    /// The third octet of this test's subnet 10.231.x.0/24.
    net: u8,
}

impl Fixture {
    fn new() -> Fixture {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
            bridge: format!("bt{}x{n}", pid % 1_000_000),
            veths: Vec::new(),
            namespaces: Vec::new(),
            net: ((pid % 200) + n) as u8,
        }
    }

    fn ip(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 231, self.net, host)
    }

    fn namespace(&mut self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        netns::create(&path).expect("create namespace");
        self.namespaces.push(path.clone());
        path
    }

    fn ensure_bridge(&self, nl: &mut Netlink) -> u32 {
        nl.ensure_bridge(&self.bridge, self.ip(1), 24, 0x6265_7274, None)
            .expect("ensure bridge")
    }

    /// Attaches `ns` to the bridge as `eth<index>` with address .`host`.
    fn attach(&mut self, ns: &Path, index: usize, host: u8, gateway: Option<Ipv4Addr>) -> Result<String> {
        let host_if = veth_name(&format!("{}-{}", self.bridge, ns.display()), index);
        self.veths.push(host_if.clone());
        let ns_if = format!("eth{index}");
        let ip = self.ip(host);
        let attachment = Attachment {
            bridge: &self.bridge,
            host_if: &host_if,
            ns_if: &ns_if,
            mac: mac_from_ip(ip),
            ip,
            prefix: 24,
            gateway,
            mtu: Some(1400),
        };
        attach_container(ns, &attachment).map(|()| host_if)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Ok(mut nl) = Netlink::open() {
            for veth in &self.veths {
                let _ = nl.delete_link(veth);
            }
            let _ = nl.delete_link(&self.bridge);
        }
        for ns in &self.namespaces {
            let _ = netns::remove(ns);
        }
        // `netns::create` made the directory a private self-bind mount; the temp dir can only go once it is undone.
        let _ = rustix::mount::unmount(self.dir.path(), rustix::mount::UnmountFlags::DETACH);
    }
}

#[test]
fn bridge_is_created_once_grouped_addressed_and_up() {
    let f = Fixture::new();
    let mut nl = Netlink::open().expect("netlink");
    let indexes: Vec<u32> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..3)
            .map(|_| s.spawn(|| f.ensure_bridge(&mut Netlink::open().expect("netlink"))))
            .collect();
        racers.into_iter().map(|r| r.join().expect("racer")).collect()
    });
    assert!(
        indexes.iter().all(|i| *i == indexes[0]),
        "racing creators agree: {indexes:?}"
    );
    assert_eq!(f.ensure_bridge(&mut nl), indexes[0], "idempotent");
    let link = nl.find_link(&f.bridge).expect("get").expect("bridge exists");
    assert!(link.up);
    assert_eq!(link.group, Some(0x6265_7274));
    assert_eq!(link.mac, Some(mac_from_ip(f.ip(1)).to_vec()));
    let expected = InterfaceAddress {
        index: indexes[0],
        address: f.ip(1),
        prefix: 24,
    };
    let addresses = nl.addresses_v4().expect("addresses");
    assert_eq!(
        addresses.iter().filter(|a| **a == expected).count(),
        1,
        "{addresses:?}"
    );
    assert!(
        nl.routes_v4().expect("routes").contains(&(f.ip(0), 24)),
        "the bridge's subnet is routed"
    );
    assert!(matches!(
        nl.ensure_bridge("lo", f.ip(1), 24, 1, None),
        Err(Error::NotABridge(_))
    ));
}

#[test]
fn attached_namespace_is_configured_and_exchanges_traffic_with_the_host() {
    let mut f = Fixture::new();
    let mut nl = Netlink::open().expect("netlink");
    let bridge = f.ensure_bridge(&mut nl);
    let ns = f.namespace("c1");
    let host_if = f.attach(&ns, 0, 2, Some(f.ip(1))).expect("attach");

    let host_end = nl.find_link(&host_if).expect("lookup").expect("host end exists");
    assert_eq!(
        (
            host_end.master,
            host_end.mtu,
            host_end.up,
            host_end.kind.as_deref()
        ),
        (Some(bridge), Some(1400), true, Some("veth"))
    );
    let mut inside = Netlink::open_in(&ns).expect("netlink inside");
    let peer = inside.find_link("eth0").expect("lookup").expect("eth0 inside");
    let mac = Some(mac_from_ip(f.ip(2)).to_vec());
    assert_eq!((&peer.mac, peer.up, peer.mtu), (&mac, true, Some(1400)));
    let addresses = inside.addresses_v4().expect("addresses inside");
    assert!(
        addresses.contains(&InterfaceAddress {
            index: peer.index,
            address: f.ip(2),
            prefix: 24
        }),
        "{addresses:?}"
    );
    let host_eth0 = nl.find_link("eth0").expect("lookup on host");
    assert!(
        host_eth0.is_none_or(|l| l.mac != mac),
        "the peer never appeared on the host"
    );

    // Host and namespace talk over the bridge.
    let host = UdpSocket::bind((f.ip(1), 0)).expect("bind on the bridge address");
    host.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let target = host.local_addr().expect("address");
    let container = netns::run_in(&ns, || -> io::Result<UdpSocket> {
        let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        socket.set_read_timeout(Some(Duration::from_secs(3)))?;
        socket.send_to(b"ping", target)?;
        Ok(socket)
    })
    .expect("run in namespace")
    .expect("send from the namespace");
    let mut buf = [0; 16];
    let (len, from) = host.recv_from(&mut buf).expect("host receives");
    assert_eq!((&buf[..len], from.ip()), (&b"ping"[..], f.ip(2).into()));
    host.send_to(b"pong", from).expect("host replies");
    let (len, _) = container.recv_from(&mut buf).expect("namespace receives");
    assert_eq!(&buf[..len], b"pong");

    // The default route exists: a destination off the subnet is routable from inside.
    let off_subnet = SocketAddrV4::new(Ipv4Addr::new(10, 231, f.net.wrapping_add(100), 9), 9);
    let routed = netns::run_in(&ns, || {
        UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?.connect(off_subnet)
    });
    routed.expect("run in namespace").expect("default route present");

    // Deleting the host end removes the pair.
    nl.delete_link(&host_if).expect("delete");
    assert_eq!(inside.link_index("eth0").expect("lookup"), None);
    nl.delete_link(&host_if).expect("deleting a missing link is fine");
}

#[test]
fn second_network_has_no_default_route_and_leftovers_are_replaced() {
    let mut f = Fixture::new();
    let mut nl = Netlink::open().expect("netlink");
    f.ensure_bridge(&mut nl);
    let ns = f.namespace("c2");
    f.attach(&ns, 1, 3, None).expect("attach without gateway");
    let off_subnet = SocketAddrV4::new(Ipv4Addr::new(10, 231, f.net.wrapping_add(100), 9), 9);
    let routed = netns::run_in(&ns, || {
        UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?.connect(off_subnet)
    })
    .expect("run in namespace");
    assert_eq!(routed.map_err(|e| e.raw_os_error()), Err(Some(libc::ENETUNREACH)));

    // The same host name again (a crashed start's leftover) is replaced; the old peer goes with it.
    let again = f.namespace("c2-again");
    let first = f.veths[0].clone();
    let host_if = veth_name(&format!("{}-{}", f.bridge, ns.display()), 1);
    assert_eq!(host_if, first);
    let attachment = Attachment {
        bridge: &f.bridge,
        host_if: &host_if,
        ns_if: "eth1",
        mac: mac_from_ip(f.ip(4)),
        ip: f.ip(4),
        prefix: 24,
        gateway: None,
        mtu: None,
    };
    attach_container(&again, &attachment).expect("replace leftover");
    assert!(
        Netlink::open_in(&again)
            .expect("netlink")
            .link_index("eth1")
            .expect("lookup")
            .is_some()
    );
    assert_eq!(
        Netlink::open_in(&ns)
            .expect("netlink")
            .link_index("eth1")
            .expect("lookup"),
        None
    );

    // Removing the namespace is enough to detach: the kernel deletes the pair once the namespace ends.
    netns::remove(&again).expect("remove namespace");
    let deadline = Instant::now() + Duration::from_secs(5);
    while nl.link_index(&host_if).expect("lookup").is_some() {
        assert!(Instant::now() < deadline, "veth outlived its namespace");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn failed_attachment_leaves_nothing_behind_and_names_the_step() {
    let mut f = Fixture::new();
    let mut nl = Netlink::open().expect("netlink");
    f.ensure_bridge(&mut nl);
    let ns = f.namespace("c3");
    let unreachable_gateway = Ipv4Addr::new(10, 231, f.net.wrapping_add(100), 1);
    let err = f
        .attach(&ns, 0, 5, Some(unreachable_gateway))
        .expect_err("gateway off the subnet");
    assert_eq!(err.raw_os_error(), Some(libc::ENETUNREACH), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("add default route via {unreachable_gateway}")),
        "{err}"
    );
    assert_eq!(
        nl.link_index(&f.veths[0]).expect("lookup"),
        None,
        "host end removed"
    );
    assert_eq!(
        Netlink::open_in(&ns)
            .expect("netlink")
            .link_index("eth0")
            .expect("lookup"),
        None
    );

    let missing = Attachment {
        bridge: "bt-missing",
        ..attachment_template(&f)
    };
    assert!(
        matches!(attach_container(&ns, &missing), Err(Error::LinkNotFound(name)) if name == "bt-missing")
    );
}

fn attachment_template(f: &Fixture) -> Attachment<'_> {
    Attachment {
        bridge: &f.bridge,
        host_if: "vbtemplate",
        ns_if: "eth0",
        mac: mac_from_ip(f.ip(6)),
        ip: f.ip(6),
        prefix: 24,
        gateway: None,
        mtu: None,
    }
}

#[test]
fn lookups_and_deletes_of_missing_links_and_bad_names() {
    let mut nl = Netlink::open().expect("netlink");
    assert_eq!(nl.link_index("lo").expect("lookup"), Some(1));
    assert_eq!(nl.link_index("bt-none-xyz").expect("lookup"), None);
    nl.delete_link("bt-none-xyz").expect("missing link");
    assert!(matches!(nl.link_index("a/b"), Err(Error::InvalidName(_))));
    let loopback = nl.addresses_v4().expect("addresses");
    assert!(loopback.contains(&InterfaceAddress {
        index: 1,
        address: Ipv4Addr::LOCALHOST,
        prefix: 8
    }));
}

#[test]
fn sysctls_and_forwarding_apply_to_the_namespace_of_the_thread() {
    let mut f = Fixture::new();
    let ns = f.namespace("sys");
    let read = |path: &'static str| netns::run_in(&ns, move || std::fs::read_to_string(path));
    let forwarding = "/proc/sys/net/ipv4/ip_forward";
    // A new namespace inherits the host's IPv4 settings (net.core.devconf_inherit_init_net = 0): switch it off there.
    netns::run_in(&ns, || std::fs::write(forwarding, "0"))
        .expect("run")
        .expect("forwarding off");
    assert_eq!(read(forwarding).expect("run").expect("read").trim(), "0");
    netns::run_in(&ns, enable_ip_forward)
        .expect("run")
        .expect("enable forwarding");
    netns::run_in(&ns, enable_ip_forward)
        .expect("run")
        .expect("already on");
    assert_eq!(read(forwarding).expect("run").expect("read").trim(), "1");
    netns::run_in(&ns, || set_sysctl("lo", "route_localnet", "1"))
        .expect("run")
        .expect("set");
    let localnet = read("/proc/sys/net/ipv4/conf/lo/route_localnet")
        .expect("run")
        .expect("read");
    assert_eq!(localnet.trim(), "1");
}

#[test]
fn kernel_refusals_carry_the_operation_and_errno() {
    let mut f = Fixture::new();
    let ns = f.namespace("err");
    let mut inside = Netlink::open_in(&ns).expect("netlink");
    let err = inside
        .add_default_route(Ipv4Addr::new(10, 231, 77, 1))
        .expect_err("no route to the gateway");
    assert_eq!(err.raw_os_error(), Some(libc::ENETUNREACH));
    assert!(
        err.to_string().starts_with("add default route via 10.231.77.1"),
        "{err}"
    );
    inside
        .add_address(1, Ipv4Addr::new(10, 231, 77, 2), 24)
        .expect("address on lo");
    let again = inside
        .add_address(1, Ipv4Addr::new(10, 231, 77, 2), 24)
        .expect_err("duplicate");
    assert_eq!(again.raw_os_error(), Some(libc::EEXIST));
    inside
        .add_default_route(Ipv4Addr::new(10, 231, 77, 1))
        .expect("gateway now on a local subnet");
}

/// Timings of the container start path. Run with `cargo test -p berth-network -- --ignored --nocapture timing`.
#[test]
#[ignore]
fn timing() {
    const RUNS: usize = 50;
    let mut f = Fixture::new();
    let mut nl = Netlink::open().expect("netlink");
    f.ensure_bridge(&mut nl);
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (mut create, mut attach, mut delete, mut remove) = (vec![], vec![], vec![], vec![]);
    for i in 0..RUNS {
        let path = f.dir.path().join(format!("t{i}"));
        let t = Instant::now();
        netns::create(&path).expect("create");
        create.push(t.elapsed());
        f.namespaces.push(path.clone());
        let t = Instant::now();
        let host_if = f.attach(&path, 0, 10 + i as u8, Some(f.ip(1))).expect("attach");
        attach.push(t.elapsed());
        let t = Instant::now();
        nl.delete_link(&host_if).expect("delete");
        delete.push(t.elapsed());
        let t = Instant::now();
        netns::remove(&path).expect("remove");
        remove.push(t.elapsed());
    }
    eprintln!(
        "median of {RUNS}: netns::create {:?}, attach_container {:?}, delete_link(veth) {:?}, netns::remove {:?}",
        median(create),
        median(attach),
        median(delete),
        median(remove)
    );
}
