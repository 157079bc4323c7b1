//! Name-resolution flags of `run`/`create`: `--dns` (an IP address), `--dns-search` (a domain, or `.`) and
//! `--add-host` (`HOST:IP`, `HOST=IP`, `HOST:host-gateway`), checked and normalised as Docker's CLI does.

use std::net::IpAddr;

use super::Error;

/// `--dns`: an IP address, in its canonical form.
pub fn parse_ip(value: &str) -> Result<String, Error> {
    value
        .trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| Error::Host(format!("IP address is not correctly formatted: {value}")))
}

/// One label of a domain: letters, digits and inner hyphens.
fn valid_label(label: &str) -> bool {
    let b = label.as_bytes();
    !b.is_empty()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `--dns-search`: a domain (without a trailing dot), or `.` for none.
pub fn parse_dns_search(value: &str) -> Result<String, Error> {
    let value = value.trim_matches(' ');
    if value == "." {
        return Ok(value.to_string());
    }
    let bad = || Error::Host(format!("{value} is not a valid domain"));
    let domain = value.trim_end_matches([' ', '\t', '\n', '\r']);
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if !domain.bytes().any(|c| c.is_ascii_alphabetic()) || domain.len() >= 255 {
        return Err(bad());
    }
    if !domain.split('.').all(valid_label) {
        return Err(bad());
    }
    Ok(domain.to_string())
}

/// `--add-host`: returns `HOST:IP` as the Engine API takes it.
pub fn parse_extra_host(value: &str) -> Result<String, Error> {
    let (host, addr) = value
        .split_once('=')
        .or_else(|| value.split_once(':'))
        .filter(|(h, _)| !h.is_empty() && !h.contains(':'))
        .ok_or_else(|| Error::Host(format!("bad format for add-host: {value:?}")))?;
    if addr != "host-gateway" {
        let bare = addr
            .strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .filter(|a| !a.is_empty())
            .unwrap_or(addr);
        if bare.trim().parse::<IpAddr>().is_err() {
            return Err(Error::Host(format!("invalid IP address in add-host: {bare:?}")));
        }
        return Ok(format!("{host}:{bare}"));
    }
    Ok(format!("{host}:{addr}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_servers() {
        assert_eq!(parse_ip("1.1.1.1").unwrap(), "1.1.1.1");
        assert_eq!(parse_ip(" 0:0:0:0:0:0:0:1").unwrap(), "::1");
        assert_eq!(
            parse_ip("one").unwrap_err().to_string(),
            "IP address is not correctly formatted: one"
        );
    }

    #[test]
    fn search_domains() {
        assert_eq!(parse_dns_search("example.com").unwrap(), "example.com");
        assert_eq!(parse_dns_search("example.com.").unwrap(), "example.com");
        assert_eq!(parse_dns_search(".").unwrap(), ".");
        assert_eq!(parse_dns_search("a-b.c1").unwrap(), "a-b.c1");
        for bad in ["123", "-a.com", "a..com", "a_b.com", ""] {
            assert_eq!(
                parse_dns_search(bad).unwrap_err().to_string(),
                format!("{bad} is not a valid domain")
            );
        }
    }

    #[test]
    fn extra_hosts() {
        assert_eq!(parse_extra_host("db:10.0.0.2").unwrap(), "db:10.0.0.2");
        assert_eq!(parse_extra_host("db=10.0.0.2").unwrap(), "db:10.0.0.2");
        assert_eq!(parse_extra_host("v6:::1").unwrap(), "v6:::1");
        assert_eq!(parse_extra_host("v6=[::1]").unwrap(), "v6:::1");
        assert_eq!(parse_extra_host("gw:host-gateway").unwrap(), "gw:host-gateway");
        assert_eq!(
            parse_extra_host("nohost").unwrap_err().to_string(),
            "bad format for add-host: \"nohost\""
        );
        assert_eq!(
            parse_extra_host(":1.2.3.4").unwrap_err().to_string(),
            "bad format for add-host: \":1.2.3.4\""
        );
        assert_eq!(
            parse_extra_host("db:nope").unwrap_err().to_string(),
            "invalid IP address in add-host: \"nope\""
        );
    }
}
