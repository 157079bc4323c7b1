//! The iptables rule set of one network as `iptables-restore --noflush` scripts, and the reading of
//! `iptables-save` output the scripts are computed from.
//!
//! Chains: `BERTH-<bridge>-GUARD` in raw (jumped to from PREROUTING), `BERTH-<bridge>-FWD` in filter (jumped to
//! from FORWARD), `BERTH-<bridge>-PORTS` in nat (jumped to from
//! PREROUTING and OUTPUT for local destinations) and `BERTH-<bridge>-POST` in nat (jumped to from POSTROUTING).
//! The names are at most 27 characters (iptables allows 28). Each chain only matches its own bridge, and its
//! ACCEPT rules never accept traffic coming from another berth bridge, so the order of the networks' jumps in
//! the built-in chains does not matter.

use std::fmt::Write;

use super::{BRIDGE_GROUP, NetworkRules, PortMapping};

/// The names of a network's chains.
pub(super) struct Chains {
    pub guard: String,
    pub fwd: String,
    pub ports: String,
    pub post: String,
}

impl Chains {
    pub fn of(net: &NetworkRules) -> Chains {
        let chain = |suffix: &str| format!("BERTH-{}-{suffix}", net.bridge);
        Chains {
            guard: chain("GUARD"),
            fwd: chain("FWD"),
            ports: chain("PORTS"),
            post: chain("POST"),
        }
    }
}

/// The rules of the filter chain: bridge to bridge is accepted, this bridge to any other berth bridge is
/// dropped; an internal network drops everything else in and out, others accept replies, published ports
/// (unless from another berth bridge) and outgoing traffic and drop other new connections into the bridge.
fn forward_rules(net: &NetworkRules, chain: &str) -> Vec<String> {
    let br = &net.bridge;
    let mut rules = vec![
        format!("-A {chain} -i {br} -o {br} -j ACCEPT"),
        format!("-A {chain} -i {br} -m devgroup --dst-group {BRIDGE_GROUP:#x} -j DROP"),
    ];
    if net.internal {
        rules.push(format!("-A {chain} -i {br} -j DROP"));
        rules.push(format!("-A {chain} -o {br} -j DROP"));
    } else {
        rules.push(format!(
            "-A {chain} -o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        ));
        rules.push(format!(
            "-A {chain} -o {br} -m conntrack --ctstate DNAT -m devgroup ! --src-group {BRIDGE_GROUP:#x} -j ACCEPT"
        ));
        rules.push(format!("-A {chain} -o {br} -j DROP"));
        rules.push(format!("-A {chain} -i {br} -j ACCEPT"));
    }
    rules
}

/// The rules of the postrouting chain: masquerade the subnet leaving the bridge (unless internal or turned
/// off), hairpin traffic DNAT'ed back into the bridge, and host loopback traffic DNAT'ed into the bridge.
fn postrouting_rules(net: &NetworkRules, chain: &str) -> Vec<String> {
    let br = &net.bridge;
    let subnet = format!("{}/{}", net.subnet, net.prefix);
    let mut rules = Vec::with_capacity(3);
    if net.masquerade && !net.internal {
        rules.push(format!("-A {chain} -s {subnet} ! -o {br} -j MASQUERADE"));
    }
    rules.push(format!(
        "-A {chain} -s {subnet} -o {br} -m conntrack --ctstate DNAT -j MASQUERADE"
    ));
    rules.push(format!("-A {chain} -s 127.0.0.0/8 -o {br} -j MASQUERADE"));
    rules
}

/// The DNAT rule of one published port, commented with its owner.
pub(super) fn port_rule(chain: &str, owner: &str, port: &PortMapping) -> String {
    let mut rule = format!("-A {chain} -p {}", port.proto.as_str());
    if let Some(host_ip) = port.host_ip {
        let _ = write!(rule, " -d {host_ip}/32");
    }
    let _ = write!(
        rule,
        " -m {proto} --dport {} -m comment --comment {owner} -j DNAT --to-destination {}:{}",
        port.host_port,
        port.container_ip,
        port.container_port,
        proto = port.proto.as_str(),
    );
    rule
}

/// The output of `iptables-save`, split by table.
pub(super) struct Saved<'a> {
    tables: Vec<(&'a str, Vec<&'a str>)>,
}

impl<'a> Saved<'a> {
    pub fn parse(text: &'a str) -> Saved<'a> {
        let mut tables: Vec<(&str, Vec<&str>)> = Vec::new();
        for line in text.lines() {
            if let Some(name) = line.strip_prefix('*') {
                tables.push((name.trim(), Vec::new()));
            } else if let Some((_, lines)) = tables.last_mut()
                && (line.starts_with(':') || line.starts_with("-A "))
            {
                lines.push(line);
            }
        }
        Saved { tables }
    }

    fn lines<'s>(&'s self, table: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.tables
            .iter()
            .filter(move |(name, _)| *name == table)
            .flat_map(|(_, lines)| lines.iter().copied())
    }

    /// Whether `table` has a chain named `chain`.
    pub fn has_chain(&self, table: &str, chain: &str) -> bool {
        self.lines(table)
            .any(|l| l.strip_prefix(':').and_then(|l| l.split(' ').next()) == Some(chain))
    }

    /// The `-A` lines of `table` whose chain is `chain`.
    pub fn rules_of<'s>(&'s self, table: &'s str, chain: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.lines(table)
            .filter(move |l| l.split(' ').nth(1) == Some(chain) && l.starts_with("-A "))
    }

    /// The `-A` lines of `table` that jump to one of `targets` from a chain that is not one of them.
    pub fn jumps_to<'s>(
        &'s self,
        table: &'s str,
        targets: &'s [&'s str],
    ) -> impl Iterator<Item = &'a str> + 's {
        self.lines(table).filter(move |l| {
            let mut words = l.split(' ');
            let from = words.nth(1).unwrap_or_default();
            let to = words.skip_while(|w| *w != "-j").nth(1).unwrap_or_default();
            l.starts_with("-A ") && targets.contains(&to) && !targets.contains(&from)
        })
    }
}

/// Whether a saved rule line carries the comment `owner`.
pub(super) fn has_comment(line: &str, owner: &str) -> bool {
    let mut words = line.split(' ');
    words.any(|w| w == "--comment") && words.next() == Some(owner)
}

/// The `-D` command deleting a saved `-A` rule.
pub(super) fn delete_of(line: &str) -> String {
    format!("-D {}", line.strip_prefix("-A ").unwrap_or(line))
}

/// An `iptables-restore --noflush` script being built, table by table.
#[derive(Default)]
pub(super) struct Script {
    text: String,
}

impl Script {
    /// Appends a table section holding `commands`; nothing if there are none.
    pub fn table(&mut self, table: &str, commands: &[String]) {
        if commands.is_empty() {
            return;
        }
        let _ = writeln!(self.text, "*{table}");
        for command in commands {
            self.text.push_str(command);
            self.text.push('\n');
        }
        self.text.push_str("COMMIT\n");
    }

    /// The script, or None when it has nothing to do.
    pub fn finish(self) -> Option<String> {
        (!self.text.is_empty()).then_some(self.text)
    }
}

/// The script that (re)creates the network's chains from the current `saved` state: chain declarations
/// create or flush the filter and postrouting chains, the ports chain is created only if missing (so its
/// ports survive), and jump rules are inserted only where missing.
pub(super) fn setup_script(net: &NetworkRules, saved: &Saved) -> Option<String> {
    let c = Chains::of(net);
    let mut filter = vec![format!(":{} - [0:0]", c.fwd)];
    filter.extend(forward_rules(net, &c.fwd));
    if saved.rules_of("filter", "FORWARD").all(|l| !jumps(l, &c.fwd)) {
        filter.push(format!("-I FORWARD 1 -j {}", c.fwd));
    }
    let mut nat = Vec::new();
    if !saved.has_chain("nat", &c.ports) {
        nat.push(format!(":{} - [0:0]", c.ports));
    }
    nat.push(format!(":{} - [0:0]", c.post));
    nat.extend(postrouting_rules(net, &c.post));
    for (from, to, matcher) in [
        ("PREROUTING", &c.ports, "-m addrtype --dst-type LOCAL "),
        ("OUTPUT", &c.ports, "-m addrtype --dst-type LOCAL "),
        ("POSTROUTING", &c.post, ""),
    ] {
        if saved.rules_of("nat", from).all(|l| !jumps(l, to)) {
            nat.push(format!("-I {from} 1 {matcher}-j {to}"));
        }
    }
    // route_localnet on the bridge would let containers reach the host's loopback-only services: nothing from the
    // bridge may be addressed to 127.0.0.0/8 (checked in raw, before conntrack undoes the loopback DNAT on replies).
    let mut raw = vec![
        format!(":{} - [0:0]", c.guard),
        format!("-A {} -i {} -d 127.0.0.0/8 -j DROP", c.guard, net.bridge),
    ];
    if saved.rules_of("raw", "PREROUTING").all(|l| !jumps(l, &c.guard)) {
        raw.push(format!("-I PREROUTING 1 -j {}", c.guard));
    }
    let mut script = Script::default();
    script.table("raw", &raw);
    script.table("filter", &filter);
    script.table("nat", &nat);
    script.finish()
}

/// The script that deletes every jump to the network's chains and the chains themselves.
pub(super) fn teardown_script(net: &NetworkRules, saved: &Saved) -> Option<String> {
    let c = Chains::of(net);
    let mut script = Script::default();
    for (table, chains) in [
        ("raw", vec![c.guard.as_str()]),
        ("filter", vec![c.fwd.as_str()]),
        ("nat", vec![c.ports.as_str(), c.post.as_str()]),
    ] {
        let mut commands: Vec<String> = saved.jumps_to(table, &chains).map(delete_of).collect();
        for chain in chains.iter().filter(|chain| saved.has_chain(table, chain)) {
            commands.push(format!("-F {chain}"));
            commands.push(format!("-X {chain}"));
        }
        script.table(table, &commands);
    }
    script.finish()
}

/// Whether a saved rule line jumps to `target`.
fn jumps(line: &str, target: &str) -> bool {
    line.split(' ').skip_while(|w| *w != "-j").nth(1) == Some(target)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::firewall::Proto;

    const SAVED: &str = "# Generated by iptables-nft-save\n*filter\n:FORWARD ACCEPT [0:0]\n:BERTH-br1-FWD - [0:0]\n\
        -A FORWARD -j BERTH-br1-FWD\n-A FORWARD -j BERTH-br10-FWD\n-A BERTH-br1-FWD -j BERTH-br1-FWD\nCOMMIT\n\
        *nat\n:PREROUTING ACCEPT [0:0]\n:BERTH-br1-PORTS - [0:0]\n\
        -A PREROUTING -m addrtype --dst-type LOCAL -j BERTH-br1-PORTS\n\
        -A BERTH-br1-PORTS -p tcp -m tcp --dport 80 -m comment --comment abc -j DNAT --to-destination 10.0.0.2:80\n\
        -A BERTH-br1-PORTS -p tcp -m tcp --dport 81 -m comment --comment abcd -j DNAT --to-destination 10.0.0.2:81\n\
        COMMIT\n";

    fn net() -> NetworkRules {
        NetworkRules {
            bridge: "br1".to_string(),
            subnet: Ipv4Addr::new(10, 0, 0, 0),
            prefix: 24,
            internal: false,
            masquerade: true,
        }
    }

    #[test]
    fn firewall_iptables_saved_state_is_read_per_table() {
        let saved = Saved::parse(SAVED);
        assert!(saved.has_chain("filter", "BERTH-br1-FWD"));
        assert!(!saved.has_chain("nat", "BERTH-br1-FWD"));
        assert!(!saved.has_chain("filter", "BERTH-br1"));
        let jumps: Vec<_> = saved.jumps_to("filter", &["BERTH-br1-FWD"]).collect();
        assert_eq!(jumps, ["-A FORWARD -j BERTH-br1-FWD"]);
        let owned: Vec<_> = saved
            .rules_of("nat", "BERTH-br1-PORTS")
            .filter(|l| has_comment(l, "abc"))
            .collect();
        assert_eq!(owned.len(), 1);
        assert!(delete_of(owned[0]).starts_with("-D BERTH-br1-PORTS -p tcp -m tcp --dport 80 "));
    }

    #[test]
    fn firewall_iptables_setup_adds_only_missing_jumps() {
        let script = setup_script(&net(), &Saved::parse(SAVED)).unwrap();
        assert!(!script.contains("-I FORWARD"), "{script}");
        assert!(!script.contains("-I PREROUTING 1 -m addrtype"), "{script}");
        assert!(
            script.contains("*raw\n:BERTH-br1-GUARD - [0:0]\n-A BERTH-br1-GUARD -i br1 -d 127.0.0.0/8 -j DROP\n-I PREROUTING 1 -j BERTH-br1-GUARD\n"),
            "the loopback guard: {script}"
        );
        assert!(
            !script.contains(":BERTH-br1-PORTS"),
            "the ports chain exists: {script}"
        );
        assert!(
            script.contains("-I OUTPUT 1 -m addrtype --dst-type LOCAL -j BERTH-br1-PORTS\n"),
            "{script}"
        );
        assert!(
            script.contains("-I POSTROUTING 1 -j BERTH-br1-POST\n"),
            "{script}"
        );
        assert!(script.contains(":BERTH-br1-FWD - [0:0]\n"), "{script}");
        let fresh = setup_script(&net(), &Saved::parse("")).unwrap();
        assert!(fresh.contains("-I FORWARD 1 -j BERTH-br1-FWD\n"), "{fresh}");
        assert!(fresh.contains(":BERTH-br1-PORTS - [0:0]\n"), "{fresh}");
        assert!(
            fresh.contains("-A BERTH-br1-POST -s 10.0.0.0/24 ! -o br1 -j MASQUERADE\n"),
            "{fresh}"
        );
    }

    #[test]
    fn firewall_iptables_teardown_deletes_jumps_and_existing_chains() {
        let script = teardown_script(&net(), &Saved::parse(SAVED)).unwrap();
        let expected = "*filter\n-D FORWARD -j BERTH-br1-FWD\n-F BERTH-br1-FWD\n-X BERTH-br1-FWD\nCOMMIT\n\
            *nat\n-D PREROUTING -m addrtype --dst-type LOCAL -j BERTH-br1-PORTS\n-F BERTH-br1-PORTS\n\
            -X BERTH-br1-PORTS\nCOMMIT\n";
        assert_eq!(script, expected);
        assert!(teardown_script(&net(), &Saved::parse("")).is_none());
    }

    #[test]
    fn firewall_iptables_port_rule() {
        let port = PortMapping {
            proto: Proto::Udp,
            host_ip: Some(Ipv4Addr::LOCALHOST),
            host_port: 5353,
            container_ip: Ipv4Addr::new(10, 0, 0, 2),
            container_port: 53,
        };
        assert_eq!(
            port_rule("BERTH-br1-PORTS", "abc", &port),
            "-A BERTH-br1-PORTS -p udp -d 127.0.0.1/32 -m udp --dport 5353 -m comment --comment abc \
             -j DNAT --to-destination 10.0.0.2:53"
        );
    }
}
