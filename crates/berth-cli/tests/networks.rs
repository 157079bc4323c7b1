//! Networks as users drive them, with `berth` (daemonless) and with the stock `docker` CLI against `berth daemon`:
//! user networks and their lifecycle, published ports answering on 127.0.0.1, names resolved within a user network
//! (not on the default bridge, not across networks), connect/disconnect, internal networks.
//!
//! Each test uses its own subnets (10.234.X.0/24) and bridge names, so tests running in parallel never meet; every
//! network a test makes is removed by it, and its bridge and firewall table are taken down even if it fails.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::daemon::Daemon;
use common::{Env, Run, free_port};

/// The bridges of the networks a test makes, taken down (with their nftables tables) when the test ends, in case it
/// failed before removing its networks.
struct Bridges(Vec<&'static str>);

impl Drop for Bridges {
    fn drop(&mut self) {
        let quiet = |cmd: &mut Command| {
            let _ = cmd.stderr(Stdio::null()).status();
        };
        for b in &self.0 {
            quiet(Command::new("ip").args(["link", "del", b]));
            quiet(Command::new("nft").args(["delete", "table", "inet", &format!("berth-{b}")]));
        }
    }
}

fn link_exists(name: &str) -> bool {
    let mut ip = Command::new("ip");
    ip.args(["link", "show", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    ip.status().unwrap().success()
}

/// The words of `line` (split on whitespace), then `tail` (arguments with spaces in them).
fn words<'a>(line: &'a str, tail: &[&'a str]) -> Vec<&'a str> {
    line.split_whitespace().chain(tail.iter().copied()).collect()
}

/// `berth LINE TAIL…`.
fn b(env: &Env, line: &str, tail: &[&str]) -> Run {
    env.berth(&words(line, tail))
}

/// `docker LINE TAIL…` against the daemon.
fn dk(d: &Daemon, line: &str, tail: &[&str]) -> Run {
    d.docker(&words(line, tail))
}

/// `network create` of `name` on `subnet` with bridge `bridge` (and `extra` flags).
fn create_line(name: &str, subnet: &str, bridge: &str, extra: &str) -> String {
    format!("network create --subnet {subnet} -o com.docker.network.bridge.name={bridge} {extra} {name}")
}

/// Runs `script` in a throwaway busybox container on `network`.
fn sh(env: &Env, network: &str, script: &str) -> Run {
    b(
        env,
        "run --rm --network",
        &[network, "busybox", "sh", "-c", script],
    )
}

/// What a server on 127.0.0.1:`port` sends before closing (retried until it answers: the container may still be
/// starting its listener).
fn fetch(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            if !out.is_empty() {
                return out;
            }
        }
        assert!(Instant::now() < deadline, "nothing answered on 127.0.0.1:{port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A busybox shell loop answering every TCP connection on port 80 with "hi".
const SERVE_HI: &str = "while true; do echo hi | nc -l -p 80; done";

#[track_caller]
fn fails_with(r: Run, code: i32, needle: &str) {
    assert_eq!(r.code, code, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains(needle), "{}", r.stderr);
}

#[test]
fn network_lifecycle_with_berth() {
    let env = Env::new();
    let _bridges = Bridges(vec!["bnt10"]);
    let create = create_line(
        "front",
        "10.234.10.0/24",
        "bnt10",
        "--gateway 10.234.10.254 --label tier=web --internal",
    );
    let id = b(&env, &create, &[]).ok();
    assert_eq!(id.len(), 64, "{id}");
    fails_with(
        b(&env, &create, &[]),
        1,
        "berth: network with name front already exists",
    );

    let ls = b(&env, "network ls", &[]).ok();
    let rows: Vec<Vec<&str>> = ls.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]);
    let names: Vec<&str> = rows[1..].iter().map(|r| r[1]).collect();
    assert_eq!(names, ["bridge", "front", "host", "none"]);
    assert!(
        ls.contains(&format!("{}   front     bridge    local", &id[..12])),
        "{ls}"
    );
    assert_eq!(b(&env, "network ls -q -f label=tier=web", &[]).ok(), &id[..12]);
    assert_eq!(b(&env, "network ls --no-trunc -q -f name=fro", &[]).ok(), id);
    let custom = b(
        &env,
        "network ls -f type=custom --format",
        &["{{.Name}} {{.Internal}} {{.Labels}}"],
    );
    assert_eq!(custom.ok(), "front true tier=web");
    assert_eq!(
        b(&env, "network ls -f driver=null --format {{.Name}}", &[]).ok(),
        "none"
    );
    fails_with(
        b(&env, "network ls -f colour=red", &[]),
        1,
        "berth: invalid filter 'colour'",
    );

    let json: serde_json::Value = serde_json::from_str(&b(&env, "network inspect front", &[]).ok()).unwrap();
    let net = &json[0];
    assert_eq!(net["Id"], id.as_str());
    assert_eq!(
        (net["Driver"].as_str(), net["Internal"].as_bool()),
        (Some("bridge"), Some(true))
    );
    assert_eq!(net["IPAM"]["Config"][0]["Subnet"], "10.234.10.0/24");
    assert_eq!(net["IPAM"]["Config"][0]["Gateway"], "10.234.10.254");
    assert_eq!(net["Labels"]["tier"], "web");
    assert_eq!(net["Options"]["com.docker.network.bridge.name"], "bnt10");
    assert_eq!(net["Containers"], serde_json::json!({}));
    let two = b(
        &env,
        "network inspect -f",
        &["{{.Name}} {{.Scope}}", &id[..6], "bridge"],
    );
    assert_eq!(two.ok(), "front local\nbridge local");
    let r = b(&env, "network inspect front mars", &[]);
    assert!(r.stdout.contains("\"Name\": \"front\""), "{}", r.stdout);
    fails_with(r, 1, "berth: network mars not found");

    // Predefined networks stay; an unknown one is an error, reported without stopping the others.
    let r = b(&env, "network rm bridge mars", &[]);
    assert!(
        r.stderr
            .contains("bridge is a pre-defined network and cannot be removed"),
        "{}",
        r.stderr
    );
    fails_with(r, 1, "network mars not found");
    assert_eq!(b(&env, "network rm -f mars", &[]).ok(), "");

    // Prune asks first; without a "y" on stdin nothing goes.
    let r = b(&env, "network prune", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "WARNING! This will remove all custom networks not used by at least one container.\n\
         Are you sure you want to continue? [y/N] "
    );
    assert_eq!(b(&env, "network prune -f --filter label=tier=db", &[]).ok(), "");
    let r = env.berth_stdin(&words("network prune --filter label=tier", &[]), b"y\n");
    assert!(r.ok().ends_with("Deleted Networks:\nfront"), "{}", r.stdout);
    assert_eq!(b(&env, "network ls -q -f type=custom", &[]).ok(), "");

    // rm prints each name it removed.
    b(&env, &create_line("a", "10.234.10.0/25", "bnt10", ""), &[]).ok();
    assert_eq!(b(&env, "network rm a", &[]).ok(), "a");
    fails_with(b(&env, "network create --ipv6 v6", &[]), 1, "IPv6");
    let bad_gateway = "network create --subnet 10.234.10.0/24 --gateway 10.9.9.9 x";
    fails_with(
        b(&env, bad_gateway, &[]),
        1,
        "berth: no matching subnet for gateway 10.9.9.9",
    );
    assert_eq!(b(&env, "network ls -q -f type=custom", &[]).ok(), "");
}

#[test]
fn published_ports_answer_on_loopback() {
    let env = Env::new();
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    b(
        &env,
        "run -d --name web --expose 443 -p",
        &[&publish, "busybox", "sh", "-c", SERVE_HI],
    )
    .ok();
    assert_eq!(fetch(port), "hi\n");
    assert_eq!(
        b(&env, "port web", &[]).ok(),
        format!("80/tcp -> 127.0.0.1:{port}")
    );
    assert_eq!(b(&env, "port web 80/tcp", &[]).ok(), format!("127.0.0.1:{port}"));
    fails_with(
        b(&env, "port web 443", &[]),
        1,
        "berth: No public port '443' published for web",
    );
    let ps = b(&env, "ps --format", &["{{.Names}}: {{.Ports}}"]).ok();
    assert_eq!(ps, format!("web: 443/tcp, 127.0.0.1:{port}->80/tcp"));
    let ps = b(&env, "ps", &[]).ok();
    assert!(
        ps.contains(&format!("443/tcp, 127.0.0.1:{port}->80/tcp   web")),
        "{ps}"
    );
    assert_eq!(b(&env, "ps -q -f", &[&format!("publish={port}")]).ok().len(), 12);
    assert_eq!(b(&env, "ps -q -f expose=443/tcp", &[]).ok().len(), 12);
    assert_eq!(b(&env, "ps -q -f publish=1", &[]).ok(), "");
    assert_eq!(
        env.inspect("web", "{{json .NetworkSettings.Ports}}"),
        format!(r#"{{"443/tcp":null,"80/tcp":[{{"HostIp":"127.0.0.1","HostPort":"{port}"}}]}}"#)
    );
    let ip = env.inspect("web", "{{.NetworkSettings.IPAddress}}");
    assert_eq!(
        env.inspect("web", "{{.NetworkSettings.Networks.bridge.IPAddress}}"),
        ip
    );
    assert_eq!(env.inspect("web", "{{.HostConfig.NetworkMode}}"), "default");
    assert!(
        ip.starts_with(env.bip.rsplit_once('.').unwrap().0),
        "{ip} not in {}",
        env.bip
    );
    b(&env, "rm -f web", &[]).ok();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still open"
    );

    // -P publishes every exposed port on a port of the host's choosing.
    b(
        &env,
        "run -d --name any -P --expose 80 busybox sh -c",
        &[SERVE_HI],
    )
    .ok();
    let mapped = b(&env, "port any 80", &[]).ok();
    let (addr, host_port) = mapped.rsplit_once(':').unwrap();
    assert_eq!(addr, "0.0.0.0");
    assert_eq!(fetch(host_port.parse().unwrap()), "hi\n");
    b(&env, "rm -f any", &[]).ok();
}

#[test]
fn names_resolve_within_a_user_network_only() {
    let env = Env::new();
    let _bridges = Bridges(vec!["bnt11", "bnt12"]);
    b(&env, &create_line("red", "10.234.11.0/24", "bnt11", ""), &[]).ok();
    b(&env, &create_line("blue", "10.234.12.0/24", "bnt12", ""), &[]).ok();
    let r1 = "run -d --name r1 --network red --network-alias alpha --ip 10.234.11.77 busybox sleep 300";
    b(&env, r1, &[]).ok();
    b(&env, "run -d --name b1 --network blue busybox sleep 300", &[]).ok();
    assert_eq!(
        env.inspect("r1", "{{.NetworkSettings.Networks.red.IPAddress}}"),
        "10.234.11.77"
    );
    assert_eq!(
        env.inspect("r1", "{{.NetworkSettings.Networks.red.Aliases}}"),
        "[alpha]"
    );
    let b1 = env.inspect("b1", "{{.NetworkSettings.Networks.blue.IPAddress}}");
    assert!(b1.starts_with("10.234.12."), "{b1}");
    assert!(link_exists("bnt11") && link_exists("bnt12"));

    let out = sh(&env, "red", "nslookup r1 && nslookup alpha && ping -c1 -W2 r1").ok();
    assert_eq!(out.matches("Address: 10.234.11.77").count(), 2, "{out}");
    assert!(out.contains("1 packets received"), "{out}");
    // Not from the other network: neither its names nor its addresses.
    let r = sh(&env, "blue", "nslookup r1");
    assert_ne!(r.code, 0, "{}", r.stdout);
    let r = sh(&env, "red", &format!("ping -c1 -W1 {b1}"));
    assert_ne!(r.code, 0, "{}", r.stdout);
    // Not on the default bridge either.
    let r = b(&env, "run --rm busybox nslookup r1", &[]);
    assert_ne!(r.code, 0, "{}", r.stdout);

    // b1 joins red with an alias: reachable by both names, and listed by the network, until it leaves.
    b(&env, "network connect --alias gamma red b1", &[]).ok();
    let out = sh(&env, "red", "nslookup gamma && ping -c1 -W2 b1").ok();
    assert!(out.contains("1 packets received"), "{out}");
    let members = b(
        &env,
        "network inspect red -f",
        &["{{range .Containers}}{{.Name}} {{end}}"],
    )
    .ok();
    let mut members: Vec<&str> = members.split_whitespace().collect();
    members.sort_unstable();
    assert_eq!(members, ["b1", "r1"]);
    assert_eq!(
        b(&env, "ps -f name=b1 --format {{.Networks}}", &[]).ok(),
        "blue,red"
    );
    fails_with(
        b(&env, "network connect red b1", &[]),
        1,
        "already exists in network red",
    );
    b(&env, "network disconnect red b1", &[]).ok();
    let r = sh(&env, "red", "nslookup gamma");
    assert_ne!(r.code, 0, "{}", r.stdout);
    let members = b(
        &env,
        "network inspect red -f",
        &["{{range .Containers}}{{.Name}}{{end}}"],
    );
    assert_eq!(members.ok(), "r1");

    // A network in use stays; once its containers are gone it goes, with its bridge and rules.
    fails_with(b(&env, "network rm red", &[]), 1, "has active endpoints");
    b(&env, "rm -f r1 b1", &[]).ok();
    assert_eq!(b(&env, "network rm red blue", &[]).ok(), "red\nblue");
    assert!(!link_exists("bnt11") && !link_exists("bnt12"));
}

#[test]
fn internal_networks_reach_only_each_other() {
    let env = Env::new();
    let _bridges = Bridges(vec!["bnt13", "bnt14"]);
    b(
        &env,
        &create_line("vault", "10.234.13.0/24", "bnt13", "--internal"),
        &[],
    )
    .ok();
    b(&env, &create_line("lobby", "10.234.14.0/24", "bnt14", ""), &[]).ok();
    b(&env, "run -d --name safe --network vault busybox sleep 300", &[]).ok();
    b(&env, "run -d --name guest --network lobby busybox sleep 300", &[]).ok();
    let guest = env.inspect("guest", "{{.NetworkSettings.Networks.lobby.IPAddress}}");
    // Inside: the peer answers; there is no default route, so nothing outside the subnet is reachable.
    let out = sh(&env, "vault", "ping -c1 -W2 safe && ip route").ok();
    assert!(out.contains("1 packets received"), "{out}");
    assert!(!out.contains("default"), "{out}");
    let r = sh(&env, "vault", &format!("ping -c1 -W1 {guest}"));
    assert_ne!(r.code, 0, "{}", r.stdout);
    // A container on a normal network has its default route through the gateway.
    let out = sh(&env, "lobby", "ip route").ok();
    assert!(out.contains("default via 10.234.14.1"), "{out}");
    b(&env, "rm -f safe guest", &[]).ok();
    assert_eq!(b(&env, "network rm vault lobby", &[]).ok(), "vault\nlobby");
}

#[test]
fn bad_network_flags_are_one_line_errors() {
    let env = Env::new();
    let fails = |line: &str, needle: &str| {
        let r = b(&env, line, &[]);
        assert_eq!(r.stderr.trim_end().lines().count(), 1, "{line}: {}", r.stderr);
        fails_with(r, 125, needle);
    };
    fails("run -p nope busybox true", "invalid containerPort: nope");
    fails("run -p 1.2.3:80:80 busybox true", "invalid IP address: 1.2.3");
    fails("run -p 8000-8002:80-81 busybox true", "invalid ranges specified");
    fails(
        "run --expose 1:2 busybox true",
        "invalid port format for --expose: 1:2",
    );
    fails(
        "run --network-alias a busybox true",
        "network-scoped aliases are only supported for user-defined networks",
    );
    fails(
        "run --dns x busybox true",
        "invalid argument \"x\" for \"--dns\" flag",
    );
    fails("create --add-host nohost busybox true", "bad format for add-host");
    fails(
        "create --dns-search -bad busybox true",
        "-bad is not a valid domain",
    );
    fails(
        "run --ip 10.1.1.1 busybox true",
        "user specified IP address is supported on user defined networks only",
    );
    fails("run --network mars busybox true", "network mars not found");
    // Nothing was left half-made.
    assert_eq!(b(&env, "ps -aq", &[]).ok(), "");

    // Valid ones reach the container.
    let flags = "run --rm --dns 10.234.17.53 --dns-search example.com --dns-option ndots:2 \
                 --add-host db:10.234.17.5 -h boat busybox sh -c";
    let out = b(
        &env,
        flags,
        &["cat /etc/resolv.conf; grep db /etc/hosts; hostname"],
    )
    .ok();
    assert!(out.contains("nameserver 10.234.17.53"), "{out}");
    assert!(out.contains("search example.com"), "{out}");
    assert!(out.contains("options ndots:2"), "{out}");
    assert!(
        out.contains("10.234.17.5\tdb") || out.contains("10.234.17.5 db"),
        "{out}"
    );
    assert!(out.ends_with("boat"), "{out}");
}

#[test]
fn docker_cli_drives_networks() {
    let d = Daemon::start();
    let _bridges = Bridges(vec!["bnt15", "bnt16"]);
    let id = dk(
        &d,
        &create_line("apps", "10.234.15.0/24", "bnt15", "--label team=a"),
        &[],
    )
    .ok();
    assert_eq!(id.len(), 64, "{id}");
    dk(&d, &create_line("spare", "10.234.16.0/24", "bnt16", ""), &[]).ok();
    let ls = dk(&d, "network ls", &[]).ok();
    assert!(
        ls.starts_with("NETWORK ID     NAME      DRIVER    SCOPE\n"),
        "{ls}"
    );
    assert!(
        ls.contains(&format!("{}   apps      bridge    local", &id[..12])),
        "{ls}"
    );
    let labelled = dk(
        &d,
        "network ls --filter label=team=a --format",
        &["{{.ID}} {{.Name}}"],
    );
    assert_eq!(labelled.ok(), format!("{} apps", &id[..12]));
    let template = "{{.Name}} {{.Driver}} {{range .IPAM.Config}}{{.Subnet}}{{end}}";
    assert_eq!(
        dk(&d, "network inspect apps -f", &[template]).ok(),
        "apps bridge 10.234.15.0/24"
    );

    // A server published on loopback, reached from the host and by its alias from the network.
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let run = "run -d --name web --network apps --network-alias www -p";
    dk(&d, run, &[&publish, "busybox", "sh", "-c", SERVE_HI]).ok();
    assert_eq!(fetch(port), "hi\n");
    assert_eq!(
        dk(&d, "port web", &[]).ok(),
        format!("80/tcp -> 127.0.0.1:{port}")
    );
    let ps = dk(&d, "ps --format", &["{{.Names}} {{.Ports}} {{.Networks}}"]).ok();
    assert_eq!(ps, format!("web 127.0.0.1:{port}->80/tcp apps"));
    let out = dk(
        &d,
        "run --rm --network apps busybox sh -c",
        &["nc -w 5 www 80 </dev/null"],
    )
    .ok();
    assert_eq!(out, "hi");
    // The default network (what `docker run` picks without --network) works, and does not know the name.
    let r = dk(&d, "run --rm busybox nslookup web", &[]);
    assert_ne!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("can't find web"), "{}{}", r.stdout, r.stderr);

    // Connect and disconnect, with their events.
    dk(&d, "network connect --alias side spare web", &[]).ok();
    let members = dk(
        &d,
        "network inspect spare -f",
        &["{{range .Containers}}{{.Name}}{{end}}"],
    );
    assert_eq!(members.ok(), "web");
    let out = dk(&d, "run --rm --network spare busybox nslookup side", &[]).ok();
    assert!(out.contains("Address: 10.234.16."), "{out}");
    dk(&d, "network disconnect spare web", &[]).ok();
    let until = common::unix_now_plus(1);
    let format = "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.container}}";
    let events = dk(
        &d,
        "events --since 0 --filter type=network --until",
        &[&until, "--format", format],
    );
    let events = events.ok();
    let web = dk(&d, "inspect -f {{.Id}} web", &[]).ok();
    let wanted = [
        "create apps <no value>".to_string(),
        "create spare <no value>".into(),
        format!("connect spare {web}"),
        format!("disconnect spare {web}"),
    ];
    // In this order (other events, such as those of throwaway containers, may come between).
    let mut rest = events.lines();
    for w in &wanted {
        assert!(
            rest.any(|e| e == w),
            "{w:?} missing or out of order in:\n{events}"
        );
    }

    // Removal: refused while used (Docker's 403 message), then done; prune takes the unused rest.
    fails_with(dk(&d, "network rm apps", &[]), 1, "has active endpoints");
    dk(&d, "rm -f web", &[]).ok();
    let r = dk(&d, "network prune", &[]);
    assert_eq!((r.code, r.stdout.ends_with("[y/N] ")), (0, true), "{}", r.stderr);
    assert_eq!(dk(&d, "network rm apps", &[]).ok(), "apps");
    assert_eq!(dk(&d, "network prune -f", &[]).ok(), "Deleted Networks:\nspare");
    assert_eq!(dk(&d, "network ls -q --filter type=custom", &[]).ok(), "");
    fails_with(dk(&d, "network inspect apps", &[]), 1, "network apps not found");
    assert!(!link_exists("bnt15") && !link_exists("bnt16"));
}
