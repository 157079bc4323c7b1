//! What the link operations read back about an interface, decoded straight from an `RTM_NEWLINK` reply: only the
//! handful of attributes needed. (`netlink-packet-route` decodes every attribute, and for a bridge that alone costs
//! about 0.2 ms, most of it formatting error contexts that are never used.)

use std::io;

use netlink_packet_core::NlasIterator;

/// `struct ifinfomsg` length, and offsets of its index and flags.
const IFINFO_LEN: usize = 16;
const IFF_UP: u32 = 1;
const IFLA_ADDRESS: u16 = 1;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_GROUP: u16 = 27;
const IFLA_INFO_KIND: u16 = 1;
/// Attribute type bits (the top two bits are the nested and byte-order flags).
const NLA_TYPE_MASK: u16 = 0x3fff;

/// The state of one interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct LinkState {
    pub index: u32,
    pub up: bool,
    /// The link kind (`bridge`, `veth`, ...); `None` for physical devices and loopback.
    pub kind: Option<String>,
    pub group: Option<u32>,
    pub mtu: Option<u32>,
    /// The index of the bridge (or other controller) this interface is enslaved to.
    pub master: Option<u32>,
    pub mac: Option<Vec<u8>>,
}

/// Decodes the payload of an `RTM_NEWLINK` message (the bytes after the netlink header).
pub(super) fn parse(payload: &[u8]) -> io::Result<LinkState> {
    let header = payload
        .get(..IFINFO_LEN)
        .ok_or_else(|| invalid("link reply shorter than its header"))?;
    let word = |at: usize| u32::from_ne_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
    let mut state = LinkState {
        index: word(4),
        up: word(8) & IFF_UP != 0,
        ..LinkState::default()
    };
    for nla in NlasIterator::new(&payload[IFINFO_LEN..]) {
        let nla = nla.map_err(|e| invalid(&e.to_string()))?;
        let value = nla.value();
        match nla.kind() & NLA_TYPE_MASK {
            IFLA_ADDRESS => state.mac = Some(value.to_vec()),
            IFLA_MTU => state.mtu = u32_of(value),
            IFLA_MASTER => state.master = u32_of(value),
            IFLA_GROUP => state.group = u32_of(value),
            IFLA_LINKINFO => {
                state.kind = NlasIterator::new(value)
                    .filter_map(|info| info.ok())
                    .find(|info| info.kind() & NLA_TYPE_MASK == IFLA_INFO_KIND)
                    .map(|info| {
                        String::from_utf8_lossy(info.value())
                            .trim_end_matches('\0')
                            .to_string()
                    });
            }
            _ => {}
        }
    }
    Ok(state)
}

fn u32_of(value: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(value.get(..4)?.try_into().ok()?))
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;
    use netlink_packet_route::link::{
        InfoBridge, InfoData, InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
    };

    fn emitted(link: &LinkMessage) -> Vec<u8> {
        let mut buf = vec![0; link.buffer_len()];
        link.emit(&mut buf);
        buf
    }

    #[test]
    fn reads_the_attributes_links_are_managed_by() {
        let mut link = LinkMessage::default();
        link.header.index = 42;
        link.header.flags = LinkFlags::Up | LinkFlags::Broadcast;
        link.attributes = vec![
            LinkAttribute::IfName("br-x".into()),
            LinkAttribute::Mtu(1450),
            LinkAttribute::Group(0x6265),
            LinkAttribute::Controller(7),
            LinkAttribute::Address(vec![2, 0x42, 10, 0, 0, 1]),
            LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::Bridge),
                LinkInfo::Data(InfoData::Bridge(vec![InfoBridge::StpState(0)])),
            ]),
        ];
        let state = parse(&emitted(&link)).expect("parse");
        assert_eq!(
            state,
            LinkState {
                index: 42,
                up: true,
                kind: Some("bridge".into()),
                group: Some(0x6265),
                mtu: Some(1450),
                master: Some(7),
                mac: Some(vec![2, 0x42, 10, 0, 0, 1]),
            }
        );
    }

    #[test]
    fn a_bare_link_is_down_without_kind() {
        let mut link = LinkMessage::default();
        link.header.index = 1;
        let state = parse(&emitted(&link)).expect("parse");
        assert_eq!(
            state,
            LinkState {
                index: 1,
                ..LinkState::default()
            }
        );
        assert!(parse(&[0; 8]).is_err(), "truncated header");
    }
}
