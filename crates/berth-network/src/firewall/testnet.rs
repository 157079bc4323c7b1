//! Test fixtures of the firewall: unique names and subnets, bridges, network namespaces wired like containers,
//! TCP servers and clients running inside namespaces, and guards that undo all of it on drop (even when the test
//! fails).

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use super::{BRIDGE_GROUP, Firewall, NetworkRules};

static NEXT_NAME: AtomicU32 = AtomicU32::new(0);
static NEXT_OCTET: AtomicU32 = AtomicU32::new(0);

/// A name unique to this process and call: `prefix`, the pid, a dash and a counter (at most 15 characters for
/// a 3-character prefix).
pub fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}{}-{}",
        std::process::id(),
        NEXT_NAME.fetch_add(1, Ordering::Relaxed)
    )
}

/// A third octet X such that no route of the host lies in 10.232.X.0/24, different on every call.
pub fn unique_octet() -> u8 {
    let start = std::process::id() % 23 * 10;
    loop {
        let n = start + NEXT_OCTET.fetch_add(1, Ordering::Relaxed);
        let octet = u8::try_from(n % 230 + 10).unwrap();
        let subnet = format!("10.232.{octet}.0/24");
        let routes = Command::new("ip")
            .args(["-4", "route", "show", "root", &subnet])
            .output()
            .unwrap();
        if routes.stdout.is_empty() {
            return octet;
        }
    }
}

/// A TCP port of the host held by a listener that never accepts, so no other program can serve it while the
/// test redirects it.
pub fn reserve_tcp_port() -> (TcpListener, u16) {
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// A UDP port of the host held for the test's lifetime.
pub fn reserve_udp_port() -> (UdpSocket, u16) {
    let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// Runs a command, panicking with its stderr if it fails.
pub fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Tears the network's rules down when dropped.
pub struct TableGuard {
    fw: Box<dyn Firewall>,
    net: NetworkRules,
}

impl TableGuard {
    pub fn new(fw: Box<dyn Firewall>, net: &NetworkRules) -> TableGuard {
        TableGuard { fw, net: net.clone() }
    }
}

impl Drop for TableGuard {
    fn drop(&mut self) {
        let _ = self.fw.teardown_network(&self.net);
    }
}

/// A bridge in the berth interface group with an address and `route_localnet=1`, deleted when dropped.
pub struct Bridge {
    name: String,
}

impl Bridge {
    pub fn new(name: &str, gateway: Ipv4Addr, prefix: u8) -> Bridge {
        run("ip", &["link", "add", name, "type", "bridge"]);
        let bridge = Bridge {
            name: name.to_string(),
        };
        run("ip", &["link", "set", name, "group", &BRIDGE_GROUP.to_string()]);
        run(
            "ip",
            &["addr", "add", &format!("{gateway}/{prefix}"), "dev", name],
        );
        run("ip", &["link", "set", name, "up"]);
        std::fs::write(format!("/proc/sys/net/ipv4/conf/{name}/route_localnet"), "1").unwrap();
        bridge
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.name]).output();
    }
}

/// A network namespace, deleted when dropped (with the veth pair whose inner end it holds).
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new() -> Netns {
        let name = unique_name("bfs");
        run("ip", &["netns", "add", &name]);
        Netns { name }
    }

    /// Wires the namespace like a container: a veth pair whose host end is enslaved to `bridge` (or, with
    /// `host_addr`, given that address), `eth0` inside with `addr`, and a default route via `gateway`.
    pub fn attach(
        &self,
        bridge: Option<&str>,
        host_addr: Option<Ipv4Addr>,
        addr: Ipv4Addr,
        gateway: Ipv4Addr,
    ) {
        let host_end = unique_name("bfv");
        let ns = self.name.as_str();
        run(
            "ip",
            &[
                "link", "add", &host_end, "type", "veth", "peer", "name", "eth0", "netns", ns,
            ],
        );
        if let Some(bridge) = bridge {
            run("ip", &["link", "set", &host_end, "master", bridge]);
        }
        if let Some(host_addr) = host_addr {
            run(
                "ip",
                &["addr", "add", &format!("{host_addr}/24"), "dev", &host_end],
            );
        }
        run("ip", &["link", "set", &host_end, "up"]);
        run(
            "ip",
            &["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", "eth0"],
        );
        run("ip", &["-n", ns, "link", "set", "eth0", "up"]);
        run("ip", &["-n", ns, "link", "set", "lo", "up"]);
        run(
            "ip",
            &["-n", ns, "route", "add", "default", "via", &gateway.to_string()],
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

/// Moves the calling thread into the named network namespace.
fn enter_netns(name: &str) -> io::Result<()> {
    let ns = File::open(format!("/run/netns/{name}"))?;
    move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network)).map_err(io::Error::from)
}

/// A TCP server inside a namespace that answers every connection with the client's address as it sees it
/// (so a test learns both that it got through and how it was NATed); stopped when dropped.
pub struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn spawn(netns: &str, addr: SocketAddrV4) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (netns, flag) = (netns.to_string(), stop.clone());
        let thread = thread::spawn(move || {
            let bound = enter_netns(&netns).and_then(|()| TcpListener::bind(addr));
            let listener = match bound.and_then(|l| l.set_nonblocking(true).map(|()| l)) {
                Ok(listener) => listener,
                Err(e) => return ready_tx.send(Err(e)).unwrap_or(()),
            };
            ready_tx.send(Ok(())).unwrap_or(());
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut conn, peer)) => {
                        let _ = conn
                            .set_nonblocking(false)
                            .and_then(|()| writeln!(conn, "{}", peer.ip()));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        ready_rx.recv().unwrap().unwrap();
        Server {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Connects to `addr` from the host or from inside `netns` and returns what the server answered (a [`Server`]
/// answers the client address it saw); an error if the connection or the answer does not come within about a
/// second.
pub fn connect(netns: Option<&str>, addr: SocketAddrV4) -> io::Result<String> {
    let netns = netns.map(str::to_string);
    let client = thread::spawn(move || {
        if let Some(netns) = netns {
            enter_netns(&netns)?;
        }
        let mut conn = TcpStream::connect_timeout(&addr.into(), Duration::from_millis(800))?;
        conn.set_read_timeout(Some(Duration::from_millis(1000)))?;
        let mut answer = String::new();
        conn.read_to_string(&mut answer)?;
        Ok(answer.trim().to_string())
    });
    client
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("client thread panicked")))
}

/// Drops forwarded traffic of a bridge at the end of the iptables FORWARD chain, the way a DROP policy would
/// (without changing the host's policy for everyone else); removed when dropped.
pub struct ForwardDrop {
    rules: [Vec<String>; 2],
}

impl ForwardDrop {
    pub fn new(bridge: &str) -> ForwardDrop {
        let rule = |dir: &str| {
            ["FORWARD", dir, bridge, "-j", "DROP"]
                .map(str::to_string)
                .to_vec()
        };
        let guard = ForwardDrop {
            rules: [rule("-i"), rule("-o")],
        };
        for rule in &guard.rules {
            let args: Vec<&str> = ["-w", "-A"]
                .into_iter()
                .chain(rule.iter().map(String::as_str))
                .collect();
            run("iptables", &args);
        }
        guard
    }
}

impl Drop for ForwardDrop {
    fn drop(&mut self) {
        for rule in &self.rules {
            let _ = Command::new("iptables").args(["-w", "-D"]).args(rule).output();
        }
    }
}
