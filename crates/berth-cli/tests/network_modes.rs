//! The network modes on the default bridge and what a container's network goes through in its life: an address,
//! route, MAC and /etc files on the bridge; none, host and container:NAME; a port taken twice; stop/start and
//! removal giving everything back; a daemon killed with -9 finding the network state consistent when it comes back.
//!
//! Each test's default bridge and subnet are its own (the harness's `--bridge`/`--bip`); traffic goes only to the
//! containers the test made and to 127.0.0.1.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::Env;
use common::daemon::Daemon;

/// The first three octets of the test's default bridge subnet ("10.140.7").
fn subnet_prefix(env: &Env) -> String {
    env.bip.rsplit_once('.').unwrap().0.to_string()
}

fn sh(env: &Env, args: &[&str], script: &str) -> String {
    let mut all = vec!["run", "--rm"];
    all.extend(args);
    all.extend(["busybox", "sh", "-c", script]);
    env.berth(&all).ok()
}

/// Waits until `check` holds (the kernel removes a dead namespace's interfaces in the background).
fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn host_links() -> String {
    String::from_utf8(Command::new("ip").args(["-o", "link"]).output().unwrap().stdout).unwrap()
}

/// The addresses the network store has given out on the default bridge.
fn allocations(env: &Env) -> String {
    let dir = env.data_root().join("network");
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let ipam = entry.path().join("ipam.json");
        if let Ok(s) = std::fs::read_to_string(ipam) {
            out.push_str(&s);
        }
    }
    out
}

#[test]
fn default_bridge_gives_address_route_mac_and_files() {
    let env = Env::new();
    let net = subnet_prefix(&env);
    let out = sh(
        &env,
        &["--name", "web", "--hostname", "box", "--add-host", "db:10.9.8.7"],
        "ip -o -4 addr show eth0; ip route; cat /sys/class/net/eth0/address; cat /etc/hosts; hostname",
    );
    assert!(out.contains(&format!("inet {net}.2/24")), "{out}");
    assert!(out.contains(&format!("default via {net}.1 dev eth0")), "{out}");
    let last: u8 = 2;
    let octets: Vec<u8> = net.split('.').map(|o| o.parse().unwrap()).collect();
    let mac = format!(
        "02:42:{:02x}:{:02x}:{:02x}:{last:02x}",
        octets[0], octets[1], octets[2]
    );
    assert!(out.contains(&mac), "MAC derived from the IP: {out}");
    assert!(out.contains("10.9.8.7\tdb\n"), "{out}");
    assert!(
        out.contains(&format!("{net}.2\tbox web\n")),
        "own address, hostname and name: {out}"
    );
    assert!(out.trim_end().ends_with("box"), "{out}");

    // Two containers on the default bridge reach each other by address, not by name (as in Docker); the host
    // reaches them through the bridge.
    let serve = "while true; do echo hi | nc -l -p 7000; done";
    env.berth(&["run", "-d", "--name", "peer", "busybox", "sh", "-c", serve])
        .ok();
    let ip = env.inspect("peer", "{{.NetworkSettings.IPAddress}}");
    assert!(ip.starts_with(&net), "{ip}");
    assert_eq!(
        env.inspect("peer", "{{.NetworkSettings.Gateway}}"),
        format!("{net}.1")
    );
    assert_eq!(
        env.inspect("peer", "{{.NetworkSettings.Networks.bridge.IPAddress}}"),
        ip
    );
    sh(&env, &[], &format!("ping -c1 -W2 {ip}"));
    assert_ne!(
        env.berth(&["run", "--rm", "busybox", "ping", "-c1", "-W1", "peer"])
            .code,
        0
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut conn = loop {
        // The container's listener may not be up yet.
        match std::net::TcpStream::connect((ip.as_str(), 7000)) {
            Ok(c) => break c,
            Err(e) if Instant::now() > deadline => panic!("host -> container: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let mut got = String::new();
    std::io::Read::read_to_string(&mut conn, &mut got).unwrap();
    assert_eq!(got.trim(), "hi");

    // Stop gives the address back (inspect shows none), start takes one again.
    env.berth(&["stop", "-t", "0", "peer"]).ok();
    assert_eq!(env.inspect("peer", "{{.NetworkSettings.IPAddress}}"), "");
    assert!(
        !allocations(&env).contains(&format!("\"{ip}\": ")),
        "{}",
        allocations(&env)
    );
    env.berth(&["start", "peer"]).ok();
    let again = env.inspect("peer", "{{.NetworkSettings.IPAddress}}");
    assert!(again.starts_with(&net), "{again}");

    // Removal takes the interface and the address with it.
    let sandbox = env.inspect("peer", "{{.NetworkSettings.SandboxKey}}");
    assert!(Path::new(&sandbox).exists());
    env.berth(&["rm", "-f", "peer"]).ok();
    assert!(!Path::new(&sandbox).exists(), "namespace file removed");
    assert!(!allocations(&env).contains(&format!("\"{again}\": ")));
    eventually("no veth left on the bridge", || {
        !host_links().contains(&format!("master {}", env.bridge))
    });
}

#[test]
fn none_host_and_container_modes() {
    let env = Env::new();
    let out = sh(
        &env,
        &["--network", "none"],
        "ip -o link | wc -l; cat /etc/resolv.conf",
    );
    assert!(out.starts_with('1'), "loopback only: {out}");

    // Host mode sees the host's interfaces (this test's bridge among them) and its hostname.
    env.berth(&["run", "--rm", "busybox", "true"]).ok(); // makes the bridge
    let out = sh(&env, &["--network", "host"], "ip -o link; hostname");
    assert!(out.contains(&env.bridge), "{out}");
    let host = String::from_utf8(Command::new("hostname").output().unwrap().stdout).unwrap();
    assert!(out.trim_end().ends_with(host.trim()), "{out}");

    // container:NAME shares the namespace: same address, and the joiner reaches the other's loopback services.
    env.berth(&[
        "run",
        "-d",
        "--name",
        "base",
        "busybox",
        "sh",
        "-c",
        "while true; do echo hi | nc -l -p 7000; done",
    ])
    .ok();
    let ip = env.inspect("base", "{{.NetworkSettings.IPAddress}}");
    let out = sh(
        &env,
        &["--network", "container:base"],
        "ip -o -4 addr show eth0; sleep 0.3; nc 127.0.0.1 7000",
    );
    assert!(out.contains(&format!("inet {ip}/")), "{out}");
    assert!(out.trim_end().ends_with("hi"), "{out}");
    let r = env.berth(&[
        "run",
        "--rm",
        "--network",
        "container:base",
        "-p",
        "80",
        "busybox",
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("conflicting options: port publishing"),
        "{}",
        r.stderr
    );
    // When the owner stops, a container still in its namespace loses the interfaces (their address is free).
    env.berth(&[
        "run",
        "-d",
        "--name",
        "rider",
        "--network",
        "container:base",
        "busybox",
        "sleep",
        "100",
    ])
    .ok();
    env.berth(&["stop", "-t", "0", "base"]).ok();
    let left = env.berth(&["exec", "rider", "ip", "-o", "link"]).ok();
    assert!(!left.contains("eth0"), "{left}");
    env.berth(&["rm", "-f", "rider"]).ok();
    let r = env.berth(&["run", "--rm", "--network", "container:base", "busybox", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("cannot join network of a non running container: base"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_port_taken_twice_is_refused_and_leaves_nothing() {
    let env = Env::new();
    let port = common::free_port().to_string();
    let publish = format!("127.0.0.1:{port}:80");
    env.berth(&[
        "run", "-d", "--name", "first", "-p", &publish, "busybox", "sleep", "100",
    ])
    .ok();
    let r = env.berth(&[
        "run", "-d", "--name", "second", "-p", &publish, "busybox", "sleep", "100",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "Bind for 127.0.0.1:{port} failed: port is already allocated"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim_end().lines().count(), 1, "{}", r.stderr);
    assert_eq!(env.inspect("second", "{{.State.Running}}"), "false");
    let second = env.inspect("second", "{{.Id}}");
    assert!(
        !allocations(&env).contains(&second),
        "the failed start gave its address back"
    );
    assert!(!env.exec_root().join("netns").join(&second).exists());
    // A host process holding the port is a conflict too.
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = format!("127.0.0.1:{}:80", held.local_addr().unwrap().port());
    let r = env.berth(&["run", "--rm", "-p", &taken, "busybox", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("port is already allocated"), "{}", r.stderr);
}

#[test]
fn daemon_killed_and_restarted_finds_networks_consistent() {
    let mut d = Daemon::start();
    let port = common::free_port();
    let publish = format!("127.0.0.1:{port}:80");
    d.docker(&[
        "run",
        "-d",
        "--name",
        "srv",
        "-p",
        &publish,
        "busybox",
        "sh",
        "-c",
        "while true; do echo hi | nc -l -p 80; done",
    ])
    .ok();
    d.docker(&["run", "-d", "--name", "doomed", "busybox", "sleep", "100"])
        .ok();
    let doomed_ip = d
        .docker(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "doomed"])
        .ok();
    let doomed_id = d.docker(&["inspect", "-f", "{{.Id}}", "doomed"]).ok();
    let doomed_pid = d.docker(&["inspect", "-f", "{{.State.Pid}}", "doomed"]).ok();
    d.stop_with(9);
    // While no daemon runs, the container dies with its shim: nobody releases its network.
    let shim = Command::new("pgrep")
        .args(["-f", &format!("__shim .*{doomed_id}")])
        .output()
        .unwrap();
    let shim = String::from_utf8(shim.stdout).unwrap();
    assert!(!shim.trim().is_empty(), "the shim of doomed");
    for pid in shim.split_whitespace().chain([doomed_pid.as_str()]) {
        Command::new("kill").args(["-9", pid]).status().unwrap();
    }
    eventually("doomed container gone", || {
        !Path::new(&format!("/proc/{doomed_pid}")).exists()
    });
    d.launch();
    // (A request waits for the daemon to finish adopting what is on disk.)
    assert_eq!(
        d.docker(&["inspect", "-f", "{{.State.Status}}", "doomed"]).ok(),
        "exited"
    );
    assert_eq!(
        d.docker(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "doomed"])
            .ok(),
        ""
    );
    assert!(
        !allocations(&d.env).contains(&format!("\"{doomed_ip}\": ")),
        "{}",
        allocations(&d.env)
    );
    // The published port survived the daemon.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut got = String::new();
    std::io::Read::read_to_string(&mut s, &mut got).unwrap();
    assert_eq!(got.trim(), "hi");
    d.docker(&["start", "doomed"]).ok();
    d.docker(&["rm", "-f", "srv", "doomed"]).ok();
    let rules = String::from_utf8(
        Command::new("nft")
            .args([
                "list",
                "chain",
                "inet",
                &format!("berth-{}", d.env.bridge),
                "ports",
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(!rules.contains("dnat"), "no port rule left: {rules}");
}

/// The rules of this test's default bridge that publish ports.
fn dnat_rules(env: &Env) -> String {
    let out = Command::new("nft")
        .args(["list", "chain", "inet", &format!("berth-{}", env.bridge), "ports"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.contains("dnat"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn published_ports_go_with_the_container_and_its_network() {
    let env = Env::new();
    let port = common::free_port().to_string();
    let publish = format!("127.0.0.1:{port}:80");
    // Back to back on one host port: each run's port and rule are gone when it returns.
    for _ in 0..4 {
        env.berth(&["run", "--rm", "-p", &publish, "busybox", "true"])
            .ok();
        assert_eq!(dnat_rules(&env), "");
    }
    // Disconnecting the network the ports are published on takes their rules; removal leaves none either.
    let all = format!("{port}:80");
    let serve = "while true; do echo hi | nc -l -p 80; done";
    env.berth(&[
        "run", "-d", "--name", "pp", "-p", &all, "busybox", "sh", "-c", serve,
    ])
    .ok();
    assert!(
        dnat_rules(&env).contains(&format!("dport {port}")),
        "{}",
        dnat_rules(&env)
    );
    // The container reaches its own published port through the gateway (hairpin).
    let gateway = env.inspect("pp", "{{.NetworkSettings.Gateway}}");
    let own = format!("for i in $(seq 50); do nc -w 2 {gateway} {port} && break; sleep 0.1; done");
    assert_eq!(env.berth(&["exec", "pp", "sh", "-c", &own]).ok(), "hi");
    env.berth(&["network", "disconnect", "bridge", "pp"]).ok();
    assert_eq!(dnat_rules(&env), "");
    env.berth(&["rm", "-f", "pp"]).ok();
    env.berth(&["run", "--rm", "-p", &publish, "busybox", "true"])
        .ok();
}

#[test]
fn renamed_containers_answer_to_their_new_name() {
    let env = Env::new();
    let bridge = format!("bnm{:x}", std::process::id());
    let subnet = format!("10.237.{}.0/24", std::process::id() % 250);
    let opt = format!("com.docker.network.bridge.name={bridge}");
    env.berth(&["network", "create", "--subnet", &subnet, "-o", &opt, "renames"])
        .ok();
    env.berth(&[
        "run",
        "-d",
        "--name",
        "before",
        "--network",
        "renames",
        "busybox",
        "sleep",
        "100",
    ])
    .ok();
    let lookup = |name: &str| {
        env.berth(&["run", "--rm", "--network", "renames", "busybox", "nslookup", name])
            .code
            == 0
    };
    assert!(lookup("before"));
    env.berth(&["rename", "before", "after"]).ok();
    assert!(lookup("after"), "the new name resolves");
    assert!(!lookup("before"), "the old name does not");
    env.berth(&["rm", "-f", "after"]).ok();
    env.berth(&["network", "rm", "renames"]).ok();
    assert!(
        !host_links().contains(&format!(" {bridge}:")),
        "bridge removed with its network"
    );
}

#[test]
fn a_container_connected_while_running_resolves_names_of_the_new_network() {
    let env = Env::new();
    let pid = std::process::id();
    let mut made = Vec::new();
    for (i, name) in ["left", "right"].iter().enumerate() {
        let opt = format!("com.docker.network.bridge.name=bc{pid:x}{i}");
        let subnet = format!("10.238.{}.0/24", (pid % 120) * 2 + i as u32);
        env.berth(&["network", "create", "--subnet", &subnet, "-o", &opt, name])
            .ok();
        made.push(format!("bc{pid:x}{i}"));
    }
    env.berth(&[
        "run",
        "-d",
        "--name",
        "walker",
        "--network",
        "left",
        "busybox",
        "sleep",
        "100",
    ])
    .ok();
    env.berth(&[
        "run",
        "-d",
        "--name",
        "target",
        "--network",
        "right",
        "busybox",
        "sleep",
        "100",
    ])
    .ok();
    let resolves = || env.berth(&["exec", "walker", "nslookup", "target"]).code == 0;
    assert!(!resolves(), "not on the same network yet");
    env.berth(&["network", "connect", "right", "walker"]).ok();
    assert!(
        resolves(),
        "connected: the embedded DNS knows the new network's names"
    );
    let ip = env.inspect("target", "{{.NetworkSettings.Networks.right.IPAddress}}");
    env.berth(&["exec", "walker", "ping", "-c1", "-W2", &ip]).ok();
    env.berth(&["network", "disconnect", "right", "walker"]).ok();
    assert!(!resolves(), "disconnected: no longer");
    env.berth(&["rm", "-f", "walker", "target"]).ok();
    env.berth(&["network", "rm", "left", "right"]).ok();
    for b in made {
        assert!(!host_links().contains(&format!(" {b}:")), "{b} removed");
    }
}

#[test]
fn bip_given_later_moves_the_default_bridge_when_nothing_is_on_it() {
    let env = Env::new();
    env.berth(&["run", "--rm", "busybox", "true"]).ok(); // the default bridge, made on the harness's --bip
    let other = format!("10.239.{}.1/24", std::process::id() % 250);
    let with_other = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
        c.arg("--data-root")
            .arg(env.data_root())
            .arg("--exec-root")
            .arg(env.exec_root())
            .arg("--cgroup-parent")
            .arg(&env.cgroup_parent)
            .args(["--bridge", &env.bridge, "--bip", &other])
            .args(args)
            .env_remove("BERTH_HOST");
        common::Run::from(c.output().unwrap())
    };
    let prefix = |bip: &str| format!("{}.", bip.rsplit_once('.').unwrap().0);
    let eth0 = ["run", "--rm", "busybox", "ip", "-o", "-4", "addr", "show", "eth0"];
    let out = with_other(&eth0).ok();
    assert!(out.contains(&format!("inet {}", prefix(&other))), "{out}");
    // While a container holds an address the bridge keeps its settings, and commands with other flags still work.
    with_other(&["run", "-d", "--name", "holder", "busybox", "sleep", "100"]).ok();
    let ip = env.inspect("holder", "{{.NetworkSettings.IPAddress}}");
    assert!(ip.starts_with(&prefix(&other)), "{ip}");
    env.berth(&["rm", "-f", "holder"]).ok();
    // Then the harness's --bip applies again.
    let out = env.berth(&eth0).ok();
    assert!(out.contains(&format!("inet {}", prefix(&env.bip))), "{out}");
}
