//! Naming helpers: MAC addresses derived from IPv4 addresses (as Docker does) and stable host-side veth names, plus
//! the kernel's rules for interface names.

use std::net::Ipv4Addr;

use crate::error::{Error, Result};

/// Longest interface name the kernel accepts (`IFNAMSIZ` minus the terminating NUL).
const MAX_NAME: usize = 15;

/// Docker's container MAC for `ip`: the locally administered prefix `02:42` followed by the four address bytes.
pub fn mac_from_ip(ip: Ipv4Addr) -> [u8; 6] {
    let [a, b, c, d] = ip.octets();
    [0x02, 0x42, a, b, c, d]
}

/// The host-side veth name of a container's `index`-th network interface: `vb` and 13 hex digits of a 64-bit FNV-1a
/// hash of the id and index. The same inputs give the same name in every process and version, so a leftover
/// interface of a crashed start can be found again; 52 bits make collisions between containers negligible.
pub fn veth_name(container_id: &str, index: usize) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let index = index.to_string();
    for byte in container_id.bytes().chain([b'/']).chain(index.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("vb{:013x}", hash >> 12)
}

/// Checks `name` against the kernel's rules for interface names (`dev_valid_name`): 1 to 15 bytes, not `.` or `..`,
/// no `/`, `:` or whitespace. Names are also used in `/proc/sys` paths, which these rules keep safe.
pub(super) fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0);
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_embeds_the_address() {
        assert_eq!(
            mac_from_ip(Ipv4Addr::new(172, 17, 0, 2)),
            [0x02, 0x42, 172, 17, 0, 2]
        );
    }

    #[test]
    fn veth_names_are_stable_short_and_distinct() {
        let id = "3f4e9a0c1b2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f";
        let name = veth_name(id, 0);
        assert_eq!(name, veth_name(id, 0));
        assert_eq!(name.len(), 15);
        assert!(name.starts_with("vb") && name[2..].bytes().all(|b| b.is_ascii_hexdigit()));
        check_name(&name).expect("valid interface name");
        assert_ne!(name, veth_name(id, 1));
        assert_ne!(name, veth_name(&id[..63], 0));
        // The separator keeps ("a1", 0) and ("a", 10) apart.
        assert_ne!(veth_name("a1", 0), veth_name("a", 10));
    }

    #[test]
    fn interface_name_rules() {
        for good in ["eth0", "br-0123456789ab", "x"] {
            check_name(good).expect(good);
        }
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "0123456789abcdef"] {
            assert!(matches!(check_name(bad), Err(Error::InvalidName(_))), "{bad:?}");
        }
    }
}
