//! The host's resolvers as read from its resolv.conf: the embedded server forwards what it cannot answer to them.

use std::ffi::CString;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

/// As many resolvers as glibc uses (MAXNS); Docker's embedded server keeps the same number.
const MAX_UPSTREAMS: usize = 3;
const DNS_PORT: u16 = 53;

/// The `nameserver` addresses of a resolv.conf, port 53, in order, duplicates dropped, at most three. Loopback
/// addresses are kept (the server forwards from the host's namespace, where 127.0.0.53 and the like answer); an
/// IPv6 zone (`fe80::1%eth0`, `%2`) becomes the scope id, and an address whose zone names no interface is skipped.
pub fn upstreams_from_resolv_conf(text: &str) -> Vec<SocketAddr> {
    let mut upstreams = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        let Some(address) = words.next().and_then(parse_address) else {
            continue;
        };
        if !upstreams.contains(&address) {
            upstreams.push(address);
        }
        if upstreams.len() == MAX_UPSTREAMS {
            break;
        }
    }
    upstreams
}

fn parse_address(word: &str) -> Option<SocketAddr> {
    let Some((address, zone)) = word.split_once('%') else {
        return word
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, DNS_PORT));
    };
    let address: Ipv6Addr = address.parse().ok()?;
    let scope = zone.parse::<u32>().ok().or_else(|| interface_index(zone))?;
    Some(SocketAddr::V6(SocketAddrV6::new(address, DNS_PORT, 0, scope)))
}

fn interface_index(name: &str) -> Option<u32> {
    let name = CString::new(name).ok()?;
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nameserver_lines() {
        let text = "# generated\nsearch example.com\nnameserver 127.0.0.53\n  nameserver\t1.1.1.1  # cf\n\
                    ; nameserver 9.9.9.9\nnameserver 2001:4860:4860::8888\noptions edns0 trust-ad\n";
        let expected: Vec<SocketAddr> = ["127.0.0.53:53", "1.1.1.1:53", "[2001:4860:4860::8888]:53"]
            .iter()
            .map(|a| a.parse().expect("address"))
            .collect();
        assert_eq!(upstreams_from_resolv_conf(text), expected);
    }

    #[test]
    fn skips_junk_and_duplicates_and_keeps_three() {
        let text = "nameserver\nnameserver not-an-ip\nnameservers 8.8.8.8\nnameserver 10.0.0.1\n\
                    nameserver 10.0.0.1\nnameserver ::1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n";
        let got = upstreams_from_resolv_conf(text);
        let expected: Vec<SocketAddr> = ["10.0.0.1:53", "[::1]:53", "10.0.0.2:53"]
            .iter()
            .map(|a| a.parse().expect("address"))
            .collect();
        assert_eq!(got, expected);
        assert!(upstreams_from_resolv_conf("").is_empty());
    }

    #[test]
    fn turns_zones_into_scope_ids() {
        let got = upstreams_from_resolv_conf(
            "nameserver fe80::1%lo\nnameserver fe80::2%7\nnameserver fe80::3%nope0\n",
        );
        let scopes: Vec<u32> = got
            .iter()
            .map(|a| match a {
                SocketAddr::V6(v6) => v6.scope_id(),
                SocketAddr::V4(_) => u32::MAX,
            })
            .collect();
        assert_eq!(scopes, [interface_index("lo").expect("lo exists"), 7]);
    }
}
