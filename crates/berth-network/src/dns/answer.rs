//! Answers from the names files, as Docker's embedded server gives them: A records with every address of a
//! container name (rotated from one answer to the next, so clients spread over containers sharing an alias), an
//! empty NOERROR answer to AAAA for the same names (containers have no IPv6 here), and PTR records for the
//! in-addr.arpa names of their addresses. Everything else is left to the host's resolvers.

use std::net::Ipv4Addr;

use super::table::Tables;
use super::wire::{self, Query, Response};

/// TTL of local answers, Docker's.
pub(super) const TTL: u32 = 600;

/// Writes local answers, keeping the rotation and a reused address list between queries.
pub(super) struct Answerer {
    rotation: usize,
    addresses: Vec<Ipv4Addr>,
}

impl Answerer {
    pub(super) fn new() -> Answerer {
        Answerer {
            rotation: 0,
            addresses: Vec::new(),
        }
    }

    /// Whether `query` is one the names files may answer (so they are worth a freshness check first).
    pub(super) fn is_local_kind(query: &Query<'_>) -> bool {
        query.opcode == wire::OPCODE_QUERY
            && query.qclass == wire::CLASS_IN
            && matches!(query.qtype, wire::TYPE_A | wire::TYPE_AAAA | wire::TYPE_PTR)
    }

    /// Writes the answer to `query` into `out` and returns it, or `None` when the tables do not know the name
    /// or address (the query is then for the host's resolvers). `forwarding` tells clients recursion is available.
    pub(super) fn answer<'o>(
        &mut self,
        query: &Query<'_>,
        tables: &Tables,
        out: &'o mut Vec<u8>,
        forwarding: bool,
    ) -> Option<&'o [u8]> {
        if !Answerer::is_local_kind(query) {
            return None;
        }
        let name = query.name.dotted()?;
        if query.qtype == wire::TYPE_PTR {
            let target = tables.name_of(reverse_v4(name)?)?;
            let mut response = Response::new(out, query, wire::RCODE_NOERROR, true, forwarding);
            return response.push_ptr(target, TTL).then(|| response.finish());
        }
        self.addresses.clear();
        tables.addresses(name, &mut self.addresses);
        if self.addresses.is_empty() {
            return None;
        }
        let mut response = Response::new(out, query, wire::RCODE_NOERROR, true, forwarding);
        if query.qtype == wire::TYPE_A {
            self.rotation = self.rotation.wrapping_add(1);
            let start = self.rotation % self.addresses.len();
            self.addresses.rotate_left(start);
            for address in &self.addresses {
                if !response.push_a(*address, TTL) {
                    break;
                }
            }
        }
        Some(response.finish())
    }
}

/// The address an `in-addr.arpa` name stands for (`2.1.89.10.in-addr.arpa` is 10.89.1.2).
fn reverse_v4(name: &[u8]) -> Option<Ipv4Addr> {
    const SUFFIX: &[u8] = b".in-addr.arpa";
    let split = name.len().checked_sub(SUFFIX.len())?;
    if !name[split..].eq_ignore_ascii_case(SUFFIX) {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut parts = name[..split].split(|b| *b == b'.');
    for octet in octets.iter_mut().rev() {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        *octet = part
            .iter()
            .try_fold(0u8, |n, d| n.checked_mul(10)?.checked_add(d - b'0'))?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::table::{Record, Table, write_table};
    use crate::dns::testing::{decode, encode_query};

    fn tables(dir: &std::path::Path) -> Tables {
        let path = dir.join("names.json");
        let records = vec![
            Record {
                names: vec!["web".into(), "shared".into()],
                ipv4: Ipv4Addr::new(10, 89, 1, 2),
            },
            Record {
                names: vec!["db".into(), "shared".into()],
                ipv4: Ipv4Addr::new(10, 89, 1, 3),
            },
            Record {
                names: vec!["bad..name".into()],
                ipv4: Ipv4Addr::new(10, 89, 1, 9),
            },
        ];
        write_table(&path, &Table { records }).expect("write");
        let mut tables = Tables::new(vec![path]);
        tables.refresh();
        tables
    }

    fn ask(answerer: &mut Answerer, tables: &Tables, name: &str, qtype: u16) -> Option<Vec<u8>> {
        let packet = encode_query(11, name, qtype);
        let query = wire::parse_query(&packet).expect("query");
        let mut out = Vec::new();
        answerer
            .answer(&query, tables, &mut out, true)
            .map(<[u8]>::to_vec)
    }

    #[test]
    fn answers_a_for_known_names_rotating_shared_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (tables, mut answerer) = (tables(dir.path()), Answerer::new());
        let web = decode(&ask(&mut answerer, &tables, "Web", wire::TYPE_A).expect("answer"));
        assert_eq!(
            (web.id, web.rcode, web.authoritative),
            (11, wire::RCODE_NOERROR, true)
        );
        assert_eq!(web.question, "Web");
        assert_eq!(web.a_records(), ["10.89.1.2"]);
        assert_eq!(web.answers[0].ttl, TTL);

        let first = decode(&ask(&mut answerer, &tables, "shared", wire::TYPE_A).expect("answer")).a_records();
        let second =
            decode(&ask(&mut answerer, &tables, "shared", wire::TYPE_A).expect("answer")).a_records();
        assert_eq!(first.len(), 2);
        assert_eq!(
            first.iter().rev().collect::<Vec<_>>(),
            second.iter().collect::<Vec<_>>()
        );
    }

    #[test]
    fn answers_aaaa_for_known_names_with_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (tables, mut answerer) = (tables(dir.path()), Answerer::new());
        let aaaa = decode(&ask(&mut answerer, &tables, "db.", wire::TYPE_AAAA).expect("answer"));
        assert_eq!((aaaa.rcode, aaaa.answers.len()), (wire::RCODE_NOERROR, 0));
        assert!(ask(&mut answerer, &tables, "nobody", wire::TYPE_AAAA).is_none());
    }

    #[test]
    fn answers_ptr_for_known_addresses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (tables, mut answerer) = (tables(dir.path()), Answerer::new());
        let ptr =
            decode(&ask(&mut answerer, &tables, "3.1.89.10.IN-ADDR.ARPA", wire::TYPE_PTR).expect("answer"));
        assert_eq!(ptr.ptr_records(), ["db"]);
        assert!(ask(&mut answerer, &tables, "4.1.89.10.in-addr.arpa", wire::TYPE_PTR).is_none());
        assert!(
            ask(&mut answerer, &tables, "9.1.89.10.in-addr.arpa", wire::TYPE_PTR).is_none(),
            "unencodable"
        );
    }

    #[test]
    fn leaves_unknown_names_and_other_types_to_the_resolvers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (tables, mut answerer) = (tables(dir.path()), Answerer::new());
        assert!(ask(&mut answerer, &tables, "example.com", wire::TYPE_A).is_none());
        assert!(ask(&mut answerer, &tables, "web", 15).is_none(), "MX");
        let mut chaos = encode_query(1, "web", wire::TYPE_A);
        let class_at = chaos.len() - 1;
        chaos[class_at] = 3;
        let query = wire::parse_query(&chaos).expect("query");
        assert!(answerer.answer(&query, &tables, &mut Vec::new(), true).is_none());
    }

    #[test]
    fn reads_reverse_names() {
        assert_eq!(
            reverse_v4(b"2.1.89.10.in-addr.arpa"),
            Some(Ipv4Addr::new(10, 89, 1, 2))
        );
        assert_eq!(
            reverse_v4(b"255.0.0.0.in-addr.arpa"),
            Some(Ipv4Addr::new(0, 0, 0, 255))
        );
        for bad in [
            "1.89.10.in-addr.arpa",
            "5.2.1.89.10.in-addr.arpa",
            "256.1.1.1.in-addr.arpa",
            "a.1.1.1.in-addr.arpa",
        ] {
            assert_eq!(reverse_v4(bad.as_bytes()), None, "{bad}");
        }
        for bad in [
            "",
            ".in-addr.arpa",
            "1..1.1.in-addr.arpa",
            "1.1.1.1.ip6.arpa",
            "1.1.1.1.in-addr.arpa.x",
        ] {
            assert_eq!(reverse_v4(bad.as_bytes()), None, "{bad}");
        }
    }
}
