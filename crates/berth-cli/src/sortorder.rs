//! Natural string order, as Docker's CLI sorts network names and port mappings (runs of digits compare by value:
//! "net2" before "net10").

use std::cmp::Ordering;

/// Splits off the leading run of digits or of other characters.
fn chunk(s: &str) -> (&str, &str) {
    let digits = s.starts_with(|c: char| c.is_ascii_digit());
    let end = s.find(|c: char| c.is_ascii_digit() != digits).unwrap_or(s.len());
    s.split_at(end)
}

/// Compares `a` and `b` chunk by chunk: digit runs by value (then by length, so "01" follows "1"), the rest
/// byte-wise.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    while !a.is_empty() && !b.is_empty() {
        let ((ca, ra), (cb, rb)) = (chunk(a), chunk(b));
        let numeric =
            ca.starts_with(|c: char| c.is_ascii_digit()) && cb.starts_with(|c: char| c.is_ascii_digit());
        let order = if numeric {
            let (ta, tb) = (ca.trim_start_matches('0'), cb.trim_start_matches('0'));
            ta.len()
                .cmp(&tb.len())
                .then(ta.cmp(tb))
                .then(ca.len().cmp(&cb.len()))
        } else {
            ca.cmp(cb)
        };
        if order != Ordering::Equal {
            return order;
        }
        (a, b) = (ra, rb);
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_by_value() {
        let mut v = vec!["net10", "net2", "bridge", "net1", "host", "none", "a01", "a1"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            ["a1", "a01", "bridge", "host", "net1", "net2", "net10", "none"]
        );
        let mut ports = [
            "8080/tcp -> 0.0.0.0:1",
            "443/tcp -> 0.0.0.0:2",
            "80/tcp -> 0.0.0.0:3",
        ];
        ports.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(ports[0], "80/tcp -> 0.0.0.0:3");
        assert_eq!(ports[2], "8080/tcp -> 0.0.0.0:1");
        assert_eq!(natural_cmp("abc", "abc"), Ordering::Equal);
        assert_eq!(natural_cmp("ab", "abc"), Ordering::Less);
    }
}
