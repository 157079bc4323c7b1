//! IPv4 subnets and address pools: parsing (`10.89.0.0/24`, Docker's `base=…,size=…` pools), containment, overlap,
//! and carving the next free subnet out of a pool.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An IPv4 network: its network address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subnet {
    addr: u32,
    prefix: u8,
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) }
}

impl Subnet {
    /// The subnet of `prefix` bits holding `ip` (host bits cleared).
    pub fn containing(ip: Ipv4Addr, prefix: u8) -> Subnet {
        let prefix = prefix.min(32);
        Subnet {
            addr: u32::from(ip) & mask(prefix),
            prefix,
        }
    }

    pub fn addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.addr)
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == self.addr
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        let p = self.prefix.min(other.prefix);
        self.addr & mask(p) == other.addr & mask(p)
    }

    /// The broadcast address (the last of the subnet).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.addr | !mask(self.prefix))
    }

    /// The `n`th address of the subnet (0 is the network address), if inside it.
    pub fn nth(&self, n: u32) -> Option<Ipv4Addr> {
        let size = 1u64 << (32 - self.prefix as u32);
        (u64::from(n) < size).then(|| Ipv4Addr::from(self.addr + n))
    }

    /// Addresses that may be given to hosts: all but the network and broadcast addresses (for /31 and /32, all).
    pub fn is_host(&self, ip: Ipv4Addr) -> bool {
        self.contains(ip) && (self.prefix >= 31 || (ip != self.addr() && ip != self.broadcast()))
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.prefix)
    }
}

/// Why a subnet did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubnetError {
    #[error("invalid CIDR address: {0}")]
    Invalid(String),
    #[error("invalid subnet {given}: it should be {expected}")]
    HostBitsSet { given: String, expected: String },
    #[error("invalid address pool {0}: expected base=CIDR,size=N")]
    Pool(String),
}

/// Parses `ADDR/PREFIX` without checking host bits: (address as given, prefix). `--bip` uses this form.
pub fn parse_cidr(s: &str) -> Result<(Ipv4Addr, u8), SubnetError> {
    let bad = || SubnetError::Invalid(s.to_string());
    let (ip, prefix) = s.split_once('/').ok_or_else(bad)?;
    let ip: Ipv4Addr = ip.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    if prefix > 32 {
        return Err(bad());
    }
    Ok((ip, prefix))
}

impl FromStr for Subnet {
    type Err = SubnetError;

    /// A network in CIDR form; host bits must be clear, as Docker requires of `--subnet`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ip, prefix) = parse_cidr(s)?;
        let subnet = Subnet::containing(ip, prefix);
        if subnet.addr() != ip {
            return Err(SubnetError::HostBitsSet {
                given: s.to_string(),
                expected: subnet.to_string(),
            });
        }
        Ok(subnet)
    }
}

impl Serialize for Subnet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Subnet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// A pool networks are carved from: `base` split into subnets of `size` bits (Docker's `--default-address-pool`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub base: Subnet,
    pub size: u8,
}

/// The pools used when none are configured: 10.89.0.0/16 onward in /24s, clear of Docker's 172.17.0.0/16.
pub const DEFAULT_POOLS: [Pool; 2] = [
    Pool {
        base: Subnet {
            addr: 0x0A59_0000,
            prefix: 16,
        },
        size: 24,
    },
    Pool {
        base: Subnet {
            addr: 0x0A5A_0000,
            prefix: 15,
        },
        size: 24,
    },
];

impl FromStr for Pool {
    type Err = SubnetError;

    /// `base=10.10.0.0/16,size=24`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || SubnetError::Pool(s.to_string());
        let (mut base, mut size) = (None, None);
        for part in s.split(',') {
            match part.trim().split_once('=') {
                Some(("base", v)) => base = Some(v.parse::<Subnet>()?),
                Some(("size", v)) => size = Some(v.parse::<u8>().map_err(|_| bad())?),
                _ => return Err(bad()),
            }
        }
        let (base, size) = (base.ok_or_else(bad)?, size.ok_or_else(bad)?);
        if size < base.prefix || size > 30 {
            return Err(bad());
        }
        Ok(Pool { base, size })
    }
}

impl Pool {
    /// The first subnet of the pool that overlaps none of `taken`.
    pub fn first_free(&self, taken: &[Subnet]) -> Option<Subnet> {
        let count = 1u64 << (self.size - self.base.prefix);
        let step = 1u64 << (32 - self.size as u32);
        (0..count)
            .map(|i| Subnet {
                addr: (u64::from(self.base.addr) + i * step) as u32,
                prefix: self.size,
            })
            .find(|s| !taken.iter().any(|t| t.overlaps(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks_host_bits() {
        let s: Subnet = "10.89.3.0/24".parse().unwrap();
        assert_eq!(s.to_string(), "10.89.3.0/24");
        assert_eq!(s.broadcast(), Ipv4Addr::new(10, 89, 3, 255));
        assert_eq!(
            "10.89.3.7/24".parse::<Subnet>().unwrap_err().to_string(),
            "invalid subnet 10.89.3.7/24: it should be 10.89.3.0/24"
        );
        for bad in ["10.89.3.0", "10.89.3.0/33", "x/24", "10.1/8"] {
            assert!(bad.parse::<Subnet>().is_err(), "{bad}");
        }
        assert_eq!(
            parse_cidr("10.9.0.1/16").unwrap(),
            (Ipv4Addr::new(10, 9, 0, 1), 16)
        );
    }

    #[test]
    fn containment_and_overlap() {
        let a: Subnet = "10.0.0.0/8".parse().unwrap();
        let b: Subnet = "10.3.0.0/16".parse().unwrap();
        let c: Subnet = "192.168.0.0/16".parse().unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a) && !a.overlaps(&c));
        assert!(b.contains(Ipv4Addr::new(10, 3, 200, 1)) && !b.contains(Ipv4Addr::new(10, 4, 0, 1)));
        assert!(!b.is_host(b.addr()) && !b.is_host(b.broadcast()) && b.is_host(Ipv4Addr::new(10, 3, 0, 1)));
        assert_eq!(b.nth(257), Some(Ipv4Addr::new(10, 3, 1, 1)));
        assert_eq!(b.nth(1 << 16), None);
    }

    #[test]
    fn pools_skip_taken_subnets() {
        let pool: Pool = "base=10.200.0.0/16,size=24".parse().unwrap();
        let taken: Vec<Subnet> = vec![
            "10.200.0.0/24".parse().unwrap(),
            "10.200.1.128/25".parse().unwrap(),
        ];
        assert_eq!(pool.first_free(&taken), Some("10.200.2.0/24".parse().unwrap()));
        let all: Vec<Subnet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(pool.first_free(&all), None);
        assert!("base=10.0.0.0/16,size=8".parse::<Pool>().is_err());
        assert!("size=24".parse::<Pool>().is_err());
        assert_eq!(DEFAULT_POOLS[0].base.to_string(), "10.89.0.0/16");
        assert_eq!(DEFAULT_POOLS[1].base.to_string(), "10.90.0.0/15");
    }
}
