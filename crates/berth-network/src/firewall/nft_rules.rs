//! The nftables rule set of one network, built as `nft -j` batches: the table `inet berth-<bridge>` with a
//! guard chain on prerouting (nothing from the bridge to 127.0.0.0/8), a filter chain on the forward hook, nat chains on prerouting, output and postrouting, and the regular chain
//! `ports` holding one DNAT rule per published port (commented with its owner).

use std::borrow::Cow;
use std::net::Ipv4Addr;

use nftables::batch::Batch;
use nftables::expr::{CT, PayloadField, Prefix};
use nftables::expr::{Expression, Fib, FibFlag, FibResult, Meta, MetaKey, NamedExpression, Payload};
use nftables::schema::{Chain, FlushObject, NfCmd, NfListObject, Nftables, Rule, Table};
use nftables::stmt::{JumpTarget, Match, NAT, NATFamily, Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};

use super::{BRIDGE_GROUP, NetworkRules, PortMapping};

/// The chain holding the DNAT rules of published ports.
pub(super) const PORTS_CHAIN: &str = "ports";

const FORWARD_CHAIN: &str = "forward";
const GUARD_CHAIN: &str = "guard";
const PREROUTING_CHAIN: &str = "prerouting";
const OUTPUT_CHAIN: &str = "output";
const POSTROUTING_CHAIN: &str = "postrouting";

/// Priorities of the base chains: Docker's (and iptables') filter, dstnat and srcnat priorities, and raw's (before
/// connection tracking undoes NAT on replies).
const RAW_PRIO: i32 = -300;
const FILTER_PRIO: i32 = 0;
const DSTNAT_PRIO: i32 = -100;
const SRCNAT_PRIO: i32 = 100;

/// The name of the network's table (in the inet family).
pub(super) fn table_name(net: &NetworkRules) -> String {
    format!("berth-{}", net.bridge)
}

/// The batch that creates the table and its chains if missing and (re)fills the base chains, leaving the
/// published ports in place, atomically.
pub(super) fn setup_batch(net: &NetworkRules) -> Nftables<'static> {
    let table = table_name(net);
    let mut batch = Batch::new();
    batch.add(NfListObject::Table(Table {
        family: NfFamily::INet,
        name: table.clone().into(),
        handle: None,
    }));
    let base = [
        (GUARD_CHAIN, NfChainType::Filter, NfHook::Prerouting, RAW_PRIO),
        (FORWARD_CHAIN, NfChainType::Filter, NfHook::Forward, FILTER_PRIO),
        (
            PREROUTING_CHAIN,
            NfChainType::NAT,
            NfHook::Prerouting,
            DSTNAT_PRIO,
        ),
        (OUTPUT_CHAIN, NfChainType::NAT, NfHook::Output, DSTNAT_PRIO),
        (
            POSTROUTING_CHAIN,
            NfChainType::NAT,
            NfHook::Postrouting,
            SRCNAT_PRIO,
        ),
    ];
    for (name, kind, hook, prio) in base {
        let chain = Chain {
            family: NfFamily::INet,
            table: table.clone().into(),
            name: name.into(),
            _type: Some(kind),
            hook: Some(hook),
            prio: Some(prio),
            policy: Some(NfChainPolicy::Accept),
            ..Chain::default()
        };
        batch.add(NfListObject::Chain(chain.clone()));
        batch.add_cmd(NfCmd::Flush(FlushObject::Chain(chain)));
    }
    batch.add(NfListObject::Chain(Chain {
        family: NfFamily::INet,
        table: table.clone().into(),
        name: PORTS_CHAIN.into(),
        ..Chain::default()
    }));
    let rule = |chain: &'static str, expr: Vec<Statement<'static>>| {
        NfListObject::Rule(Rule {
            family: NfFamily::INet,
            table: table.clone().into(),
            chain: chain.into(),
            expr: expr.into(),
            ..Rule::default()
        })
    };
    // The bridge has route_localnet (for published ports on the host's 127.0.0.1), which would also let containers
    // reach the host's loopback-only services: nothing from the bridge may be addressed to 127.0.0.0/8. (Replies
    // of the loopback DNAT are addressed to the gateway until conntrack undoes the NAT, after this chain.)
    batch.add(rule(
        GUARD_CHAIN,
        vec![
            is(meta(MetaKey::Iifname), text(&net.bridge)),
            is(payload("ip", "daddr"), prefix(Ipv4Addr::new(127, 0, 0, 0), 8)),
            drop(),
        ],
    ));
    for expr in forward_rules(net) {
        batch.add(rule(FORWARD_CHAIN, expr));
    }
    for chain in [PREROUTING_CHAIN, OUTPUT_CHAIN] {
        let local = Expression::Named(NamedExpression::Fib(Fib {
            result: FibResult::Type,
            flags: [FibFlag::Daddr].into(),
        }));
        let jump = Statement::Jump(JumpTarget {
            target: PORTS_CHAIN.into(),
        });
        batch.add(rule(chain, vec![is(local, text("local")), jump]));
    }
    for expr in postrouting_rules(net) {
        batch.add(rule(POSTROUTING_CHAIN, expr));
    }
    batch.to_nftables()
}

/// The forward chain: bridge to bridge is accepted, this bridge to any other berth bridge is dropped; an
/// internal network drops everything else in and out, others accept replies, published ports and outgoing
/// traffic and drop other new connections into the bridge.
fn forward_rules(net: &NetworkRules) -> Vec<Vec<Statement<'static>>> {
    let iif = || is(meta(MetaKey::Iifname), text(&net.bridge));
    let oif = || is(meta(MetaKey::Oifname), text(&net.bridge));
    let mut rules = vec![
        vec![iif(), oif(), accept()],
        vec![
            iif(),
            is(meta(MetaKey::Oifgroup), Expression::Number(BRIDGE_GROUP)),
            drop(),
        ],
    ];
    if net.internal {
        rules.push(vec![iif(), drop()]);
        rules.push(vec![oif(), drop()]);
    } else {
        let states = Expression::List(vec![text("established"), text("related")]);
        rules.push(vec![oif(), matches(Operator::IN, ct("state"), states), accept()]);
        rules.push(vec![
            oif(),
            matches(Operator::IN, ct("status"), text("dnat")),
            accept(),
        ]);
        rules.push(vec![oif(), drop()]);
        rules.push(vec![iif(), accept()]);
    }
    rules
}

/// The postrouting chain: masquerade the subnet leaving the bridge (unless internal or turned off), hairpin
/// traffic DNAT'ed back into the bridge, and host loopback traffic DNAT'ed into the bridge.
fn postrouting_rules(net: &NetworkRules) -> Vec<Vec<Statement<'static>>> {
    let from_subnet = || is(payload("ip", "saddr"), prefix(net.subnet, net.prefix));
    let oif = || is(meta(MetaKey::Oifname), text(&net.bridge));
    let mut rules = Vec::with_capacity(3);
    if net.masquerade && !net.internal {
        let not_oif = matches(Operator::NEQ, meta(MetaKey::Oifname), text(&net.bridge));
        rules.push(vec![from_subnet(), not_oif, masquerade()]);
    }
    rules.push(vec![
        from_subnet(),
        oif(),
        matches(Operator::IN, ct("status"), text("dnat")),
        masquerade(),
    ]);
    rules.push(vec![
        is(payload("ip", "saddr"), prefix(Ipv4Addr::new(127, 0, 0, 0), 8)),
        oif(),
        masquerade(),
    ]);
    rules
}

/// The batch adding one DNAT rule per port to the ports chain, each commented with `owner`.
pub(super) fn add_ports_batch(net: &NetworkRules, owner: &str, ports: &[PortMapping]) -> Nftables<'static> {
    let table = table_name(net);
    let mut batch = Batch::new();
    for port in ports {
        let mut expr = Vec::with_capacity(3);
        if let Some(host_ip) = port.host_ip {
            expr.push(is(payload("ip", "daddr"), text(&host_ip.to_string())));
        }
        expr.push(is(
            payload(port.proto.as_str(), "dport"),
            Expression::Number(port.host_port.into()),
        ));
        expr.push(Statement::DNAT(Some(NAT {
            addr: Some(text(&port.container_ip.to_string())),
            family: Some(NATFamily::IP),
            port: Some(Expression::Number(port.container_port.into())),
            flags: None,
        })));
        batch.add(NfListObject::Rule(Rule {
            family: NfFamily::INet,
            table: table.clone().into(),
            chain: PORTS_CHAIN.into(),
            expr: expr.into(),
            comment: Some(owner.to_string().into()),
            ..Rule::default()
        }));
    }
    batch.to_nftables()
}

/// The handles of the rules commented `owner` in a `nft -j list chain` answer for the ports chain.
pub(super) fn owner_handles(listing: &Nftables, owner: &str) -> Vec<u32> {
    listing
        .objects
        .iter()
        .filter_map(|obj| match obj {
            nftables::schema::NfObject::ListObject(NfListObject::Rule(rule))
                if rule.chain == PORTS_CHAIN && rule.comment.as_deref() == Some(owner) =>
            {
                rule.handle
            }
            _ => None,
        })
        .collect()
}

/// The batch deleting the given rules of the ports chain.
pub(super) fn delete_rules_batch(net: &NetworkRules, handles: &[u32]) -> Nftables<'static> {
    let table = table_name(net);
    let mut batch = Batch::new();
    for &handle in handles {
        batch.delete(NfListObject::Rule(Rule {
            family: NfFamily::INet,
            table: table.clone().into(),
            chain: PORTS_CHAIN.into(),
            handle: Some(handle),
            ..Rule::default()
        }));
    }
    batch.to_nftables()
}

/// The batch removing the network's table whether or not it exists (adding an existing table is a no-op).
pub(super) fn teardown_batch(net: &NetworkRules) -> Nftables<'static> {
    let table = Table {
        family: NfFamily::INet,
        name: table_name(net).into(),
        handle: None,
    };
    let mut batch = Batch::new();
    batch.add(NfListObject::Table(table.clone()));
    batch.delete(NfListObject::Table(table));
    batch.to_nftables()
}

fn text(s: &str) -> Expression<'static> {
    Expression::String(Cow::Owned(s.to_string()))
}

fn meta(key: MetaKey) -> Expression<'static> {
    Expression::Named(NamedExpression::Meta(Meta { key }))
}

fn ct(key: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::CT(CT {
        key: key.into(),
        family: None,
        dir: None,
    }))
}

fn payload(protocol: &'static str, field: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(PayloadField {
        protocol: protocol.into(),
        field: field.into(),
    })))
}

fn prefix(addr: Ipv4Addr, len: u8) -> Expression<'static> {
    Expression::Named(NamedExpression::Prefix(Prefix {
        addr: Box::new(text(&addr.to_string())),
        len: len.into(),
    }))
}

fn matches(op: Operator, left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(Match { left, right, op })
}

fn is(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    matches(Operator::EQ, left, right)
}

fn accept() -> Statement<'static> {
    Statement::Accept(None)
}

fn drop() -> Statement<'static> {
    Statement::Drop(None)
}

fn masquerade() -> Statement<'static> {
    Statement::Masquerade(None)
}
