//! The pieces of Docker's reference grammar: domains, path components, tags and digests.

use crate::digest::Digest;
use crate::error::{Error, Result};

/// `domain-component ('.' domain-component)* (':' port)?`, or an IPv4 address, or `[ipv6](:port)?`.
pub(super) fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let Some(end) = rest.find(']') else { return false };
        let (v6, after) = (&rest[..end], &rest[end + 1..]);
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => return valid_port(port),
                None => return false,
            },
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if let Some(p) = port
        && !valid_port(p)
    {
        return false;
    }
    !host.is_empty() && host.split('.').all(valid_domain_component)
}

fn valid_port(p: &str) -> bool {
    !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
}

fn valid_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
}

/// `[a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*`
pub(super) fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `[\w][\w.-]{0,127}`
pub(super) fn valid_tag(t: &str) -> bool {
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    let b = t.as_bytes();
    !b.is_empty() && b.len() <= 128 && word(b[0]) && b[1..].iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

/// A digest inside a reference: the grammar first (`invalid reference format`), then Docker's digest checks.
pub(super) fn parse_digest(s: &str) -> Result<Digest> {
    let invalid = || Error::InvalidReference("invalid reference format".into());
    let (algo, hex) = s.split_once(':').ok_or_else(invalid)?;
    let algo_ok = algo.split(['-', '_', '+', '.']).all(|part| {
        let b = part.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(|x| x.is_ascii_alphanumeric())
    });
    if !algo_ok || hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    Digest::parse(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_components() {
        for ok in ["a", "busybox", "a.b", "a_b", "a__b", "a---b", "0abc", "a-b.c_d"] {
            assert!(valid_path_component(ok), "{ok}");
        }
        for bad in ["", "A", "a..b", "a___b", "-a", "a-", "a._b", "a b", "a/b", "a:b"] {
            assert!(!valid_path_component(bad), "{bad}");
        }
    }

    #[test]
    fn domains() {
        for ok in [
            "localhost",
            "localhost:5000",
            "a.b.c",
            "Reg-1.example.com:443",
            "[::1]",
            "[::1]:5000",
            "1.2.3.4",
        ] {
            assert!(valid_domain(ok), "{ok}");
        }
        for bad in ["", "a..b", "-a.b", "a:", "a:x", "[zz]", "[::1", "a_b.com"] {
            assert!(!valid_domain(bad), "{bad}");
        }
    }

    #[test]
    fn tags() {
        assert!(valid_tag("latest"));
        assert!(valid_tag("V1.2-rc_3"));
        assert!(valid_tag(&"a".repeat(128)));
        assert!(!valid_tag(&"a".repeat(129)));
        assert!(!valid_tag(".a"));
        assert!(!valid_tag("-a"));
        assert!(!valid_tag(""));
        assert!(!valid_tag("a+b"));
    }
}
