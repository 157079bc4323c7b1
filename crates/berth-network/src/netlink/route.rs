//! IPv4 routes: a container's default route through its gateway, and the destinations of the main routing table (used
//! to find subnets in use on the host).

use std::net::Ipv4Addr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::Netlink;
use super::transport::Request;
use crate::error::Result;

impl Netlink {
    /// Adds the default route through `gateway` (which must be on an attached subnet).
    pub fn add_default_route(&mut self, gateway: Ipv4Addr) -> Result<()> {
        self.execute(vec![default_route_request(gateway, None)])
    }

    /// The destinations `(network, prefix)` of the IPv4 routes in the main table. Default routes are left out:
    /// they overlap every subnet.
    pub fn routes_v4(&mut self) -> Result<Vec<(Ipv4Addr, u8)>> {
        let mut query = RouteMessage::default();
        query.header.address_family = AddressFamily::Inet;
        let replies = self.dump("list routes", RouteNetlinkMessage::GetRoute(query))?;
        Ok(replies
            .iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewRoute(route) => main_table_destination(route),
                _ => None,
            })
            .collect())
    }
}

/// The request adding the default route through `gateway`, bound to interface `oif` when given.
pub(super) fn default_route_request(gateway: Ipv4Addr, oif: Option<u32>) -> Request {
    let mut route = RouteMessage::default();
    route.header.address_family = AddressFamily::Inet;
    route.header.table = RouteHeader::RT_TABLE_MAIN;
    route.header.protocol = RouteProtocol::Boot;
    route.header.scope = RouteScope::Universe;
    route.header.kind = RouteType::Unicast;
    route
        .attributes
        .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
    route.attributes.extend(oif.map(RouteAttribute::Oif));
    Request {
        op: format!("add default route via {gateway}"),
        message: RouteNetlinkMessage::NewRoute(route),
        flags: NLM_F_CREATE | NLM_F_EXCL,
    }
}

/// The destination of an IPv4 route of the main table, unless it is a default route.
fn main_table_destination(route: &RouteMessage) -> Option<(Ipv4Addr, u8)> {
    let table = route
        .attributes
        .iter()
        .find_map(|attr| match attr {
            RouteAttribute::Table(table) => Some(*table),
            _ => None,
        })
        .unwrap_or(u32::from(route.header.table));
    let prefix = route.header.destination_prefix_length;
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) || prefix == 0 {
        return None;
    }
    route.attributes.iter().find_map(|attr| match attr {
        RouteAttribute::Destination(RouteAddress::Inet(dest)) => Some((*dest, prefix)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(table: u8, extra_table: Option<u32>, dest: Option<(Ipv4Addr, u8)>) -> RouteMessage {
        let mut route = RouteMessage::default();
        route.header.address_family = AddressFamily::Inet;
        route.header.table = table;
        if let Some((ip, prefix)) = dest {
            route.header.destination_prefix_length = prefix;
            route
                .attributes
                .push(RouteAttribute::Destination(RouteAddress::Inet(ip)));
        }
        route.attributes.extend(extra_table.map(RouteAttribute::Table));
        route
    }

    #[test]
    fn only_main_table_non_default_destinations_count() {
        let net = (Ipv4Addr::new(192, 168, 7, 0), 24);
        assert_eq!(main_table_destination(&route(254, None, Some(net))), Some(net));
        assert_eq!(
            main_table_destination(&route(254, Some(254), Some(net))),
            Some(net)
        );
        assert_eq!(
            main_table_destination(&route(255, None, Some(net))),
            None,
            "local table"
        );
        assert_eq!(
            main_table_destination(&route(252, Some(1000), Some(net))),
            None,
            "table above 255"
        );
        assert_eq!(
            main_table_destination(&route(254, None, None)),
            None,
            "default route"
        );
    }

    #[test]
    fn default_route_request_names_gateway_and_interface() {
        let gateway = Ipv4Addr::new(10, 231, 9, 1);
        let request = default_route_request(gateway, Some(5));
        assert_eq!(request.op, "add default route via 10.231.9.1");
        let RouteNetlinkMessage::NewRoute(route) = request.message else {
            panic!("not a route")
        };
        assert_eq!(route.header.destination_prefix_length, 0);
        assert_eq!(route.header.table, RouteHeader::RT_TABLE_MAIN);
        assert!(
            route
                .attributes
                .contains(&RouteAttribute::Gateway(RouteAddress::Inet(gateway)))
        );
        assert!(route.attributes.contains(&RouteAttribute::Oif(5)));
    }
}
