//! Link operations: looking interfaces up by name, creating and reconciling bridges, creating veth pairs whose peer
//! lands directly in a container's namespace, bringing links up, and deleting them.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};

use super::Netlink;
use super::link_state::{self, LinkState};
use super::names::{check_name, mac_from_ip};
use super::transport::Request;
use crate::error::{Error, Result};

impl Netlink {
    /// The index of the interface called `name`, or `None` when there is none.
    pub fn link_index(&mut self, name: &str) -> Result<Option<u32>> {
        Ok(self.find_link(name)?.map(|link| link.index))
    }

    /// Makes sure a bridge `name` exists with interface group `group` (and `mtu` when given), carries `addr/prefix`
    /// and is up; returns its index. Idempotent, and safe when another process creates the same bridge at the same
    /// time. A new bridge gets the fixed MAC `mac_from_ip(addr)`, so its address does not change as ports come and go.
    pub fn ensure_bridge(
        &mut self,
        name: &str,
        addr: Ipv4Addr,
        prefix: u8,
        group: u32,
        mtu: Option<u32>,
    ) -> Result<u32> {
        let link = match self.find_link(name)? {
            Some(link) => link,
            None => {
                let create = Request {
                    op: format!("create bridge {name}"),
                    message: RouteNetlinkMessage::NewLink(new_bridge(name, mac_from_ip(addr), group, mtu)),
                    flags: NLM_F_CREATE | NLM_F_EXCL,
                };
                match self.execute(vec![create]) {
                    Err(e) if e.raw_os_error() != Some(libc::EEXIST) => return Err(e),
                    _ => {}
                }
                self.find_link(name)?
                    .ok_or_else(|| Error::LinkNotFound(name.to_string()))?
            }
        };
        if link.kind.as_deref() != Some("bridge") {
            return Err(Error::NotABridge(name.to_string()));
        }
        let index = link.index;
        if let Some(change) = bridge_changes(&link, group, mtu) {
            let op = format!("configure bridge {name}");
            self.execute(vec![Request {
                op,
                message: RouteNetlinkMessage::SetLink(change),
                flags: 0,
            }])?;
        }
        match self.execute(vec![super::address::add_request(index, addr, prefix, name)]) {
            Err(e) if e.raw_os_error() != Some(libc::EEXIST) => Err(e),
            _ => Ok(index),
        }
    }

    /// Creates a veth pair in one request: the host end `host_name` enslaved to `bridge_index` and up, the peer
    /// created directly inside the namespace `peer_netns` as `peer_name` with MAC `peer_mac`. The peer is down: the
    /// kernel cannot bring a veth end up while creating the pair; [`Netlink::set_up`] it from inside the namespace.
    pub fn create_veth(
        &mut self,
        host_name: &str,
        bridge_index: u32,
        peer_name: &str,
        peer_netns: BorrowedFd<'_>,
        peer_mac: [u8; 6],
        mtu: Option<u32>,
    ) -> Result<()> {
        check_name(host_name)?;
        check_name(peer_name)?;
        let message = new_veth(host_name, bridge_index, peer_name, peer_netns, peer_mac, mtu);
        self.execute(vec![Request {
            op: format!("create veth {host_name}"),
            message: RouteNetlinkMessage::NewLink(message),
            flags: NLM_F_CREATE | NLM_F_EXCL,
        }])
    }

    /// Deletes the interface `name` (for a veth, both ends go); a missing interface is not an error.
    pub fn delete_link(&mut self, name: &str) -> Result<()> {
        check_name(name)?;
        let mut link = LinkMessage::default();
        link.attributes.push(LinkAttribute::IfName(name.to_string()));
        let request = Request {
            op: format!("delete link {name}"),
            message: RouteNetlinkMessage::DelLink(link),
            flags: 0,
        };
        match self.execute(vec![request]) {
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(()),
            other => other,
        }
    }

    /// Brings the interface with index `index` up.
    pub fn set_up(&mut self, index: u32) -> Result<()> {
        self.execute(vec![up_request(index)])
    }

    /// The state of the interface called `name`, or `None` when there is none.
    pub(super) fn find_link(&mut self, name: &str) -> Result<Option<LinkState>> {
        check_name(name)?;
        let mut query = LinkMessage::default();
        query.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.get(
            &format!("get link {name}"),
            RouteNetlinkMessage::GetLink(query),
            link_state::parse,
        ) {
            Ok(link) => Ok(Some(link)),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The request bringing the interface `index` up.
pub(super) fn up_request(index: u32) -> Request {
    let mut link = LinkMessage::default();
    link.header.index = index;
    up_header(&mut link);
    Request {
        op: format!("set link {index} up"),
        message: RouteNetlinkMessage::SetLink(link),
        flags: 0,
    }
}

fn up_header(link: &mut LinkMessage) {
    link.header.flags = LinkFlags::Up;
    link.header.change_mask = LinkFlags::Up;
}

/// `RTM_NEWLINK` for a bridge that is created up, in `group`, with a fixed MAC.
fn new_bridge(name: &str, mac: [u8; 6], group: u32, mtu: Option<u32>) -> LinkMessage {
    let mut link = LinkMessage::default();
    up_header(&mut link);
    link.attributes = vec![
        LinkAttribute::IfName(name.to_string()),
        LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Bridge)]),
        LinkAttribute::Group(group),
        LinkAttribute::Address(mac.to_vec()),
    ];
    link.attributes.extend(mtu.map(LinkAttribute::Mtu));
    link
}

/// `RTM_NEWLINK` for a veth pair: host end enslaved and up, peer named and addressed inside `netns`.
fn new_veth(
    host: &str,
    master: u32,
    peer: &str,
    netns: BorrowedFd<'_>,
    mac: [u8; 6],
    mtu: Option<u32>,
) -> LinkMessage {
    // The peer cannot be created up: veth refuses to open (ENOTCONN) before both ends are linked, which happens
    // after the peer is configured. It is brought up inside its namespace afterwards.
    let mut peer_link = LinkMessage::default();
    peer_link.attributes = vec![
        LinkAttribute::IfName(peer.to_string()),
        LinkAttribute::Address(mac.to_vec()),
        LinkAttribute::NetNsFd(netns.as_raw_fd()),
    ];
    peer_link.attributes.extend(mtu.map(LinkAttribute::Mtu));
    let mut link = LinkMessage::default();
    up_header(&mut link);
    link.attributes = vec![
        LinkAttribute::IfName(host.to_string()),
        LinkAttribute::Controller(master),
        LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_link))),
        ]),
    ];
    link.attributes.extend(mtu.map(LinkAttribute::Mtu));
    link
}

/// The `RTM_SETLINK` that brings an existing bridge to the wanted state, or `None` when it is already there.
fn bridge_changes(link: &LinkState, group: u32, mtu: Option<u32>) -> Option<LinkMessage> {
    let mut change = LinkMessage::default();
    change.header.index = link.index;
    if !link.up {
        up_header(&mut change);
    }
    if link.group != Some(group) {
        change.attributes.push(LinkAttribute::Group(group));
    }
    if let Some(mtu) = mtu.filter(|m| link.mtu != Some(*m)) {
        change.attributes.push(LinkAttribute::Mtu(mtu));
    }
    (change.header.change_mask != LinkFlags::empty() || !change.attributes.is_empty()).then_some(change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{NetlinkDeserializable, NetlinkHeader, NetlinkSerializable};

    /// Serializes a message the way it goes on the wire and parses it back.
    fn round_trip(message: RouteNetlinkMessage) -> RouteNetlinkMessage {
        let mut buf = vec![0; message.buffer_len()];
        message.serialize(&mut buf);
        let mut header = NetlinkHeader::default();
        header.message_type = message.message_type();
        RouteNetlinkMessage::deserialize(&header, &buf).expect("parse back")
    }

    #[test]
    fn veth_request_nests_the_peer_with_its_namespace() {
        let netns = std::fs::File::open("/proc/self/ns/net").expect("own netns");
        let fd = std::os::fd::AsFd::as_fd(&netns);
        let mac = [2, 0x42, 10, 231, 0, 2];
        let parsed = round_trip(RouteNetlinkMessage::NewLink(new_veth(
            "vbx",
            7,
            "eth0",
            fd,
            mac,
            Some(1400),
        )));
        let RouteNetlinkMessage::NewLink(link) = parsed else {
            panic!("not a link message: {parsed:?}")
        };
        assert!(link.header.flags.contains(LinkFlags::Up));
        assert!(link.attributes.contains(&LinkAttribute::Controller(7)));
        assert!(link.attributes.contains(&LinkAttribute::Mtu(1400)));
        let peer = link
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                    LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))) => Some(peer.clone()),
                    _ => None,
                }),
                _ => None,
            })
            .expect("peer attributes");
        assert!(
            peer.header.change_mask.is_empty(),
            "the peer cannot be created up"
        );
        assert!(peer.attributes.contains(&LinkAttribute::IfName("eth0".into())));
        assert!(peer.attributes.contains(&LinkAttribute::Address(mac.to_vec())));
        assert!(peer.attributes.contains(&LinkAttribute::NetNsFd(fd.as_raw_fd())));
    }

    #[test]
    fn bridge_request_is_up_grouped_and_has_fixed_mac() {
        let msg = new_bridge("bt1", mac_from_ip(Ipv4Addr::new(10, 231, 1, 1)), 0x4242, None);
        let RouteNetlinkMessage::NewLink(link) = round_trip(RouteNetlinkMessage::NewLink(msg)) else {
            panic!("not a link message")
        };
        assert!(
            link.attributes
                .contains(&LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Bridge)]))
        );
        assert!(link.header.change_mask.contains(LinkFlags::Up));
        assert!(link.attributes.contains(&LinkAttribute::Group(0x4242)));
        assert!(
            link.attributes
                .contains(&LinkAttribute::Address(vec![2, 0x42, 10, 231, 1, 1]))
        );
        assert!(!link.attributes.iter().any(|a| matches!(a, LinkAttribute::Mtu(_))));
    }

    #[test]
    fn bridge_changes_only_what_differs() {
        let mut current = LinkState {
            index: 9,
            up: true,
            kind: Some("bridge".into()),
            group: Some(5),
            mtu: Some(1500),
            ..LinkState::default()
        };
        assert_eq!(bridge_changes(&current, 5, Some(1500)), None);
        assert_eq!(bridge_changes(&current, 5, None), None);
        let change = bridge_changes(&current, 6, Some(1400)).expect("a change");
        assert_eq!(change.header.index, 9);
        assert_eq!(
            change.attributes,
            vec![LinkAttribute::Group(6), LinkAttribute::Mtu(1400)]
        );
        assert!(change.header.change_mask.is_empty());
        current.up = false;
        let change = bridge_changes(&current, 5, None).expect("bring up");
        assert!(change.header.flags.contains(LinkFlags::Up) && change.attributes.is_empty());
    }
}
