//! The DNS wire format (RFC 1035 §4), only as far as the embedded server needs it: the header and single question
//! of a query, and responses that echo that question and carry A or PTR answers within the 512 bytes of a plain
//! UDP message. Forwarded traffic is never decoded past its header.

use std::net::Ipv4Addr;

pub(super) const HEADER_LEN: usize = 12;
/// The size limit of a UDP message without EDNS (RFC 1035 §4.2.1).
pub(super) const UDP_LIMIT: usize = 512;
pub(super) const TYPE_A: u16 = 1;
pub(super) const TYPE_PTR: u16 = 12;
pub(super) const TYPE_AAAA: u16 = 28;
pub(super) const CLASS_IN: u16 = 1;
pub(super) const OPCODE_QUERY: u8 = 0;
pub(super) const RCODE_NOERROR: u8 = 0;
pub(super) const RCODE_SERVFAIL: u8 = 2;

/// Longest name on the wire, length octets and root label included.
const MAX_NAME: usize = 255;
/// Longest label; length octets above it are compression pointers or extended label types.
const MAX_LABEL: usize = 63;
const FLAG_QR: u8 = 0x80;
const FLAG_AA: u8 = 0x04;
const FLAG_TC: u8 = 0x02;
const FLAG_RD: u8 = 0x01;
const FLAG_RA: u8 = 0x80;
/// A compression pointer to the question's name, which always starts right after the header.
const QUESTION_NAME_POINTER: [u8; 2] = [0xC0, HEADER_LEN as u8];

/// A query name in dotted text form (`web.example`), without the root's trailing dot.
pub(super) struct Name {
    text: [u8; MAX_NAME],
    len: usize,
    /// False when a label itself holds a dot, so the dotted text would name something else.
    plain: bool,
}

impl Name {
    /// The dotted text, or `None` when it would be ambiguous (a label containing a dot).
    pub(super) fn dotted(&self) -> Option<&[u8]> {
        self.plain.then_some(&self.text[..self.len])
    }

    fn push_label(&mut self, label: &[u8]) -> Option<()> {
        let dot = usize::from(self.len > 0);
        let end = self.len + dot + label.len();
        let room = self.text.get_mut(self.len..end)?;
        room[dot..].copy_from_slice(label);
        if dot == 1 {
            room[0] = b'.';
        }
        self.plain &= !label.contains(&b'.');
        self.len = end;
        Some(())
    }
}

/// A parsed query: the header fields a response needs and its one question.
pub(super) struct Query<'a> {
    pub(super) id: u16,
    pub(super) opcode: u8,
    pub(super) name: Name,
    pub(super) qtype: u16,
    pub(super) qclass: u16,
    recursion_desired: bool,
    /// The question as it came (name, type, class), echoed verbatim in the response.
    question: &'a [u8],
}

/// Parses a query with exactly one question; `None` for anything else (responses, truncated or malformed packets).
/// Sections after the question (an EDNS OPT record, say) are not looked at.
pub(super) fn parse_query(packet: &[u8]) -> Option<Query<'_>> {
    let header = packet.get(..HEADER_LEN)?;
    if header[2] & FLAG_QR != 0 || u16::from_be_bytes([header[4], header[5]]) != 1 {
        return None;
    }
    let (name, name_end) = parse_name(packet, HEADER_LEN)?;
    let fixed = packet.get(name_end..name_end + 4)?;
    Some(Query {
        id: u16::from_be_bytes([header[0], header[1]]),
        opcode: (header[2] >> 3) & 0x0F,
        recursion_desired: header[2] & FLAG_RD != 0,
        name,
        qtype: u16::from_be_bytes([fixed[0], fixed[1]]),
        qclass: u16::from_be_bytes([fixed[2], fixed[3]]),
        question: &packet[HEADER_LEN..name_end + 4],
    })
}

/// Reads an uncompressed name starting at `start`; returns it with the offset just past it.
fn parse_name(packet: &[u8], start: usize) -> Option<(Name, usize)> {
    let mut name = Name {
        text: [0; MAX_NAME],
        len: 0,
        plain: true,
    };
    let mut pos = start;
    let mut wire_len = 1;
    loop {
        let len = usize::from(*packet.get(pos)?);
        pos += 1;
        if len == 0 {
            return Some((name, pos));
        }
        wire_len += 1 + len;
        if len > MAX_LABEL || wire_len > MAX_NAME {
            return None;
        }
        name.push_label(packet.get(pos..pos + len)?)?;
        pos += len;
    }
}

/// The ID of a message, if it is long enough to have a header.
pub(super) fn id(packet: &[u8]) -> Option<u16> {
    packet.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// Overwrites the ID of a message (no-op on a packet shorter than an ID).
pub(super) fn set_id(packet: &mut [u8], id: u16) {
    if let Some(b) = packet.get_mut(..2) {
        b.copy_from_slice(&id.to_be_bytes());
    }
}

/// Whether `packet` has a full header with the QR (response) bit set.
pub(super) fn is_response(packet: &[u8]) -> bool {
    packet.len() >= HEADER_LEN && packet[2] & FLAG_QR != 0
}

/// Cuts a response that did not fit the receive buffer down to its header and question with the TC bit set, so
/// the client knows it got less than the whole answer; returns the new length (the header alone when the question
/// cannot be read).
pub(super) fn truncate_to_question(packet: &mut [u8]) -> usize {
    if packet.len() < HEADER_LEN {
        return 0;
    }
    let question_end = match u16::from_be_bytes([packet[4], packet[5]]) {
        1 => parse_name(packet, HEADER_LEN)
            .map(|(_, end)| end + 4)
            .filter(|end| *end <= packet.len()),
        _ => None,
    };
    packet[2] |= FLAG_TC;
    packet[6..HEADER_LEN].fill(0);
    match question_end {
        Some(end) => end,
        None => {
            packet[4..6].fill(0);
            HEADER_LEN
        }
    }
}

/// Encodes dotted text (an optional trailing dot allowed) as a wire name into `out`; returns its length, or `None`
/// when a label is empty or too long or the name does not fit.
fn encode_name(text: &str, out: &mut [u8; MAX_NAME]) -> Option<usize> {
    let text = text.strip_suffix('.').unwrap_or(text);
    let mut pos = 0;
    if !text.is_empty() {
        for label in text.split('.') {
            if label.is_empty() || label.len() > MAX_LABEL {
                return None;
            }
            let slot = out.get_mut(pos..pos + 1 + label.len())?;
            slot[0] = label.len() as u8;
            slot[1..].copy_from_slice(label.as_bytes());
            pos += slot.len();
        }
    }
    *out.get_mut(pos)? = 0;
    Some(pos + 1)
}

/// A response being written into a reused buffer: header, the query's question, then answers while they fit in
/// [`UDP_LIMIT`] bytes (the TC bit is set once one does not).
pub(super) struct Response<'o> {
    out: &'o mut Vec<u8>,
    answers: u16,
    truncated: bool,
}

impl<'o> Response<'o> {
    /// Starts the response to `query` with `rcode`; `authoritative` for names the server itself knows,
    /// `recursion_available` when it has resolvers to forward to.
    pub(super) fn new(
        out: &'o mut Vec<u8>,
        query: &Query<'_>,
        rcode: u8,
        authoritative: bool,
        recursion_available: bool,
    ) -> Response<'o> {
        let mut high = FLAG_QR | (query.opcode << 3);
        if authoritative {
            high |= FLAG_AA;
        }
        if query.recursion_desired {
            high |= FLAG_RD;
        }
        let low = if recursion_available { FLAG_RA } else { 0 } | (rcode & 0x0F);
        out.clear();
        out.extend_from_slice(&query.id.to_be_bytes());
        out.extend_from_slice(&[high, low, 0, 1, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(query.question);
        Response {
            out,
            answers: 0,
            truncated: false,
        }
    }

    /// Adds an A record for the question's name; false once the message is full.
    pub(super) fn push_a(&mut self, address: Ipv4Addr, ttl: u32) -> bool {
        self.push(TYPE_A, ttl, &address.octets())
    }

    /// Adds a PTR record pointing at `target`; false once the message is full or when `target` is no valid name.
    pub(super) fn push_ptr(&mut self, target: &str, ttl: u32) -> bool {
        let mut name = [0; MAX_NAME];
        match encode_name(target, &mut name) {
            Some(len) => self.push(TYPE_PTR, ttl, &name[..len]),
            None => false,
        }
    }

    fn push(&mut self, rtype: u16, ttl: u32, rdata: &[u8]) -> bool {
        let record_len = QUESTION_NAME_POINTER.len() + 10 + rdata.len();
        if self.truncated || self.out.len() + record_len > UDP_LIMIT {
            self.truncated = true;
            self.out[2] |= FLAG_TC;
            return false;
        }
        self.out.extend_from_slice(&QUESTION_NAME_POINTER);
        self.out.extend_from_slice(&rtype.to_be_bytes());
        self.out.extend_from_slice(&CLASS_IN.to_be_bytes());
        self.out.extend_from_slice(&ttl.to_be_bytes());
        self.out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        self.out.extend_from_slice(rdata);
        self.answers += 1;
        true
    }

    /// Completes the header's answer count and returns the message.
    pub(super) fn finish(self) -> &'o [u8] {
        self.out[6..8].copy_from_slice(&self.answers.to_be_bytes());
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::testing::{decode, encode_query};

    #[test]
    fn parses_a_query() {
        let packet = encode_query(0xBEEF, "Web.Example.", TYPE_A);
        let query = parse_query(&packet).expect("query");
        assert_eq!(query.id, 0xBEEF);
        assert_eq!(query.opcode, OPCODE_QUERY);
        assert_eq!((query.qtype, query.qclass), (TYPE_A, CLASS_IN));
        assert_eq!(query.name.dotted(), Some(&b"Web.Example"[..]));
        assert!(query.recursion_desired);
        assert_eq!(query.question, &packet[HEADER_LEN..]);
    }

    #[test]
    fn parses_the_root_name_and_ignores_trailing_sections() {
        let mut packet = encode_query(1, ".", TYPE_A);
        packet.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
        packet[11] = 1;
        let query = parse_query(&packet).expect("query");
        assert_eq!(query.name.dotted(), Some(&b""[..]));
        assert_eq!(query.question.len(), 5);
    }

    #[test]
    fn flags_a_label_holding_a_dot_as_ambiguous() {
        let mut packet = encode_query(1, "ab.c", TYPE_A);
        packet[HEADER_LEN + 2] = b'.';
        let query = parse_query(&packet).expect("query");
        assert!(query.name.dotted().is_none());
    }

    #[test]
    fn rejects_malformed_queries() {
        let good = encode_query(7, "web", TYPE_A);
        let mut response = good.clone();
        response[2] |= FLAG_QR;
        let mut two_questions = good.clone();
        two_questions[5] = 2;
        let mut pointer = good.clone();
        pointer[HEADER_LEN] = 0xC0;
        let mut long_label = good.clone();
        long_label[HEADER_LEN] = 64;
        let mut too_long = good[..HEADER_LEN].to_vec();
        for _ in 0..64 {
            too_long.extend_from_slice(&[3, b'a', b'b', b'c']);
        }
        too_long.extend_from_slice(&[0, 0, 1, 0, 1]);
        let cases: [&[u8]; 7] = [
            &good[..HEADER_LEN - 1],
            &good[..good.len() - 1],
            &response,
            &two_questions,
            &pointer,
            &long_label,
            &too_long,
        ];
        for case in cases {
            assert!(parse_query(case).is_none(), "{case:?}");
        }
        assert!(parse_query(&good).is_some());
    }

    #[test]
    fn survives_random_bytes() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut packet = Vec::new();
        for round in 0..20_000 {
            packet.clear();
            for _ in 0..round % 80 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                packet.push(state as u8);
            }
            if packet.len() > 5 {
                packet[2] &= !FLAG_QR;
                packet[4] = 0;
                packet[5] = 1;
            }
            let _ = parse_query(&packet);
            let _ = truncate_to_question(&mut packet.clone());
        }
    }

    #[test]
    fn builds_a_answers_pointing_at_the_question() {
        let packet = encode_query(42, "web", TYPE_A);
        let query = parse_query(&packet).expect("query");
        let mut out = Vec::new();
        let mut response = Response::new(&mut out, &query, RCODE_NOERROR, true, false);
        assert!(response.push_a(Ipv4Addr::new(10, 89, 1, 2), 600));
        assert!(response.push_a(Ipv4Addr::new(10, 89, 1, 3), 600));
        let decoded = decode(response.finish());
        assert_eq!(decoded.id, 42);
        assert!(decoded.authoritative && !decoded.truncated && !decoded.recursion_available);
        assert_eq!(decoded.rcode, RCODE_NOERROR);
        assert_eq!(decoded.a_records(), ["10.89.1.2", "10.89.1.3"]);
        assert!(decoded.answers.iter().all(|a| a.ttl == 600 && a.name == "web"));
    }

    #[test]
    fn builds_ptr_answers_and_refuses_invalid_targets() {
        let packet = encode_query(3, "2.1.89.10.in-addr.arpa", TYPE_PTR);
        let query = parse_query(&packet).expect("query");
        let mut out = Vec::new();
        let mut response = Response::new(&mut out, &query, RCODE_NOERROR, true, true);
        assert!(!response.push_ptr("bad..name", 600));
        assert!(!response.push_ptr(&"a".repeat(64), 600));
        assert!(response.push_ptr("web.mynet", 600));
        let decoded = decode(response.finish());
        assert_eq!(decoded.ptr_records(), ["web.mynet"]);
        assert!(decoded.recursion_available);
    }

    #[test]
    fn sets_tc_when_answers_overflow_512_bytes() {
        let packet = encode_query(9, "many", TYPE_A);
        let query = parse_query(&packet).expect("query");
        let mut out = Vec::new();
        let mut response = Response::new(&mut out, &query, RCODE_NOERROR, true, true);
        let fitted = (0..100)
            .take_while(|i| response.push_a(Ipv4Addr::new(10, 0, 0, *i), 600))
            .count();
        assert!(!response.push_a(Ipv4Addr::new(10, 0, 1, 1), 600));
        let message = response.finish();
        assert!(message.len() <= UDP_LIMIT);
        let decoded = decode(message);
        assert!(decoded.truncated);
        assert_eq!(decoded.answers.len(), fitted);
        assert_eq!(fitted, (UDP_LIMIT - packet.len()) / 16);
    }

    #[test]
    fn truncates_oversized_responses_to_their_question() {
        let mut packet = encode_query(5, "big.example", TYPE_A);
        packet[2] |= FLAG_QR;
        packet[7] = 200;
        let question_end = packet.len();
        packet.extend_from_slice(&[0xAB; 100]);
        assert_eq!(truncate_to_question(&mut packet), question_end);
        let decoded = decode(&packet[..question_end]);
        assert!(decoded.truncated);
        assert!(decoded.answers.is_empty());

        let mut garbled = vec![0xFF; 40];
        assert_eq!(truncate_to_question(&mut garbled), HEADER_LEN);
        assert_eq!(&garbled[4..HEADER_LEN], &[0; 8]);
    }

    #[test]
    fn reads_and_rewrites_ids() {
        let mut packet = encode_query(0x1234, "x", TYPE_A);
        assert_eq!(id(&packet), Some(0x1234));
        set_id(&mut packet, 0xABCD);
        assert_eq!(id(&packet), Some(0xABCD));
        assert_eq!(id(&[1]), None);
        set_id(&mut [1], 5);
        assert!(!is_response(&packet));
    }
}
