//! IPv4 interface addresses: adding one to a link and listing all of them (used to find subnets in use).

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::Netlink;
use super::transport::Request;
use crate::error::Result;

/// An IPv4 address configured on an interface, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// The interface's index.
    pub index: u32,
    /// The interface's own address (not masked to the network).
    pub address: Ipv4Addr,
    /// The prefix length of the attached network.
    pub prefix: u8,
}

impl Netlink {
    /// Adds `addr/prefix` (with the subnet's broadcast address) to the interface `index`.
    pub fn add_address(&mut self, index: u32, addr: Ipv4Addr, prefix: u8) -> Result<()> {
        self.execute(vec![add_request(index, addr, prefix, &index.to_string())])
    }

    /// Every IPv4 address of every interface in this namespace.
    pub fn addresses_v4(&mut self) -> Result<Vec<InterfaceAddress>> {
        let mut query = AddressMessage::default();
        query.header.family = AddressFamily::Inet;
        let replies = self.dump("list addresses", RouteNetlinkMessage::GetAddress(query))?;
        Ok(replies
            .iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewAddress(message) => interface_address(message),
                _ => None,
            })
            .collect())
    }
}

/// The request adding `addr/prefix` to interface `index`; `link` names the interface in errors.
pub(super) fn add_request(index: u32, addr: Ipv4Addr, prefix: u8, link: &str) -> Request {
    let mut message = AddressMessage::default();
    message.header.family = AddressFamily::Inet;
    message.header.prefix_len = prefix;
    message.header.index = index;
    message.attributes = vec![
        AddressAttribute::Local(IpAddr::V4(addr)),
        AddressAttribute::Address(IpAddr::V4(addr)),
    ];
    if prefix < 31 {
        let host_bits = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
        message
            .attributes
            .push(AddressAttribute::Broadcast(Ipv4Addr::from(
                u32::from(addr) | host_bits,
            )));
    }
    Request {
        op: format!("add address {addr}/{prefix} to {link}"),
        message: RouteNetlinkMessage::NewAddress(message),
        flags: NLM_F_CREATE | NLM_F_EXCL,
    }
}

/// The address of an `RTM_NEWADDR` reply: `IFA_LOCAL` (the interface's own address), else `IFA_ADDRESS`.
fn interface_address(message: &AddressMessage) -> Option<InterfaceAddress> {
    let find = |local: bool| {
        message.attributes.iter().find_map(|attr| match attr {
            AddressAttribute::Local(IpAddr::V4(ip)) if local => Some(*ip),
            AddressAttribute::Address(IpAddr::V4(ip)) if !local => Some(*ip),
            _ => None,
        })
    };
    let address = find(true).or_else(|| find(false))?;
    Some(InterfaceAddress {
        index: message.header.index,
        address,
        prefix: message.header.prefix_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_message(request: Request) -> AddressMessage {
        match request.message {
            RouteNetlinkMessage::NewAddress(message) => message,
            other => panic!("not an address message: {other:?}"),
        }
    }

    #[test]
    fn add_request_carries_the_broadcast_address() {
        let request = add_request(4, Ipv4Addr::new(10, 231, 3, 1), 24, "br0");
        assert_eq!(request.op, "add address 10.231.3.1/24 to br0");
        let message = request_message(request);
        assert_eq!((message.header.index, message.header.prefix_len), (4, 24));
        assert!(
            message
                .attributes
                .contains(&AddressAttribute::Broadcast(Ipv4Addr::new(10, 231, 3, 255)))
        );
        let point_to_point = request_message(add_request(4, Ipv4Addr::new(10, 0, 0, 1), 31, "x"));
        assert!(
            !point_to_point
                .attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::Broadcast(_)))
        );
    }

    #[test]
    fn reported_address_prefers_the_local_attribute() {
        let mut message = AddressMessage::default();
        message.header.index = 3;
        message.header.prefix_len = 32;
        message.attributes = vec![
            AddressAttribute::Address(IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9))),
            AddressAttribute::Local(IpAddr::V4(Ipv4Addr::new(10, 1, 1, 1))),
        ];
        let expected = InterfaceAddress {
            index: 3,
            address: Ipv4Addr::new(10, 1, 1, 1),
            prefix: 32,
        };
        assert_eq!(interface_address(&message), Some(expected));
        message.attributes.remove(1);
        assert_eq!(
            interface_address(&message).map(|a| a.address),
            Some(Ipv4Addr::new(10, 9, 9, 9))
        );
        message.attributes.clear();
        assert_eq!(interface_address(&message), None);
    }
}
