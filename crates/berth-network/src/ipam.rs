//! IP address management of one network: which addresses of its subnet are given to which endpoint. Addresses are
//! handed out in order from the one after the last given (as Docker's allocator does), so a released address is not
//! reused at once; requested static addresses are honoured when free.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::subnet::Subnet;

/// Why an address could not be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    #[error("no available IPv4 addresses on this network's address pools: {0}")]
    Exhausted(Subnet),
    #[error("Address already in use")]
    InUse(Ipv4Addr),
    #[error("invalid address {ip}: it does not belong to the network's subnet {subnet}")]
    OutOfRange { ip: Ipv4Addr, subnet: Subnet },
}

/// The allocation state of one network's subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocations {
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    /// The address given last; the search for a free one starts after it.
    #[serde(default)]
    pub last: Option<Ipv4Addr>,
    /// Address -> owning endpoint (a container id).
    #[serde(default)]
    pub used: BTreeMap<Ipv4Addr, String>,
}

impl Allocations {
    pub fn new(subnet: Subnet, gateway: Ipv4Addr) -> Allocations {
        Allocations {
            subnet,
            gateway,
            last: None,
            used: BTreeMap::new(),
        }
    }

    /// The address of `owner`, if it has one.
    pub fn of(&self, owner: &str) -> Option<Ipv4Addr> {
        self.used.iter().find(|(_, o)| *o == owner).map(|(ip, _)| *ip)
    }

    fn free(&self, ip: Ipv4Addr) -> bool {
        self.subnet.is_host(ip) && ip != self.gateway && !self.used.contains_key(&ip)
    }

    /// Gives `owner` an address: `want` if given (it must be free), else the next free one. An owner that already has
    /// an address keeps it.
    pub fn allocate(&mut self, owner: &str, want: Option<Ipv4Addr>) -> Result<Ipv4Addr, IpamError> {
        if let Some(ip) = self.of(owner)
            && want.is_none_or(|w| w == ip)
        {
            return Ok(ip);
        }
        let ip = match want {
            Some(ip) if !self.subnet.contains(ip) => {
                return Err(IpamError::OutOfRange {
                    ip,
                    subnet: self.subnet,
                });
            }
            Some(ip) if !self.free(ip) => return Err(IpamError::InUse(ip)),
            Some(ip) => ip,
            None => self.next_free().ok_or(IpamError::Exhausted(self.subnet))?,
        };
        self.release(owner);
        self.used.insert(ip, owner.to_string());
        if want.is_none() {
            self.last = Some(ip);
        }
        Ok(ip)
    }

    fn next_free(&self) -> Option<Ipv4Addr> {
        let base = u32::from(self.subnet.addr());
        let size = 1u64 << (32 - u32::from(self.subnet.prefix()));
        let start = self.last.map_or(0, |l| u64::from(u32::from(l) - base) + 1);
        (0..size)
            .map(|i| Ipv4Addr::from(base + ((start + i) % size) as u32))
            .find(|ip| self.free(*ip))
    }

    /// Takes back every address of `owner`; whether it had one.
    pub fn release(&mut self, owner: &str) -> bool {
        let before = self.used.len();
        self.used.retain(|_, o| o != owner);
        self.used.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net() -> Allocations {
        Allocations::new("10.50.0.0/29".parse().unwrap(), Ipv4Addr::new(10, 50, 0, 1))
    }

    #[test]
    fn hands_out_in_order_skipping_gateway_and_not_reusing_at_once() {
        let mut a = net();
        assert_eq!(a.allocate("a", None).unwrap(), Ipv4Addr::new(10, 50, 0, 2));
        assert_eq!(a.allocate("b", None).unwrap(), Ipv4Addr::new(10, 50, 0, 3));
        assert_eq!(
            a.allocate("a", None).unwrap(),
            Ipv4Addr::new(10, 50, 0, 2),
            "an owner keeps its address"
        );
        assert!(a.release("a"));
        assert!(!a.release("a"));
        assert_eq!(a.allocate("c", None).unwrap(), Ipv4Addr::new(10, 50, 0, 4));
        for owner in ["d", "e", "f"] {
            a.allocate(owner, None).unwrap();
        }
        // .2 was released; .5 .6 given; the broadcast .7 and the network .0 never are.
        assert_eq!(a.of("f"), Some(Ipv4Addr::new(10, 50, 0, 2)));
        assert_eq!(a.allocate("g", None), Err(IpamError::Exhausted(a.subnet)));
    }

    #[test]
    fn static_addresses_must_be_free_and_inside() {
        let mut a = net();
        let want = Ipv4Addr::new(10, 50, 0, 5);
        assert_eq!(a.allocate("a", Some(want)).unwrap(), want);
        assert_eq!(a.allocate("b", Some(want)), Err(IpamError::InUse(want)));
        assert_eq!(a.allocate("b", Some(a.gateway)), Err(IpamError::InUse(a.gateway)));
        let outside = Ipv4Addr::new(10, 51, 0, 5);
        assert!(matches!(
            a.allocate("b", Some(outside)),
            Err(IpamError::OutOfRange { .. })
        ));
        assert_eq!(a.allocate("b", None).unwrap(), Ipv4Addr::new(10, 50, 0, 2));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Allocations>(&json).unwrap(), a);
    }
}
