//! Test helpers: an encoder for queries and a decoder for responses written independently of the server's own
//! wire code, so tests check real bytes on the wire rather than the code against itself.

/// A query with one question of `qtype`, class IN, recursion desired.
pub(super) fn encode_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut packet = id.to_be_bytes().to_vec();
    packet.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        packet.push(label.len() as u8);
        packet.extend_from_slice(label.as_bytes());
    }
    packet.push(0);
    packet.extend_from_slice(&qtype.to_be_bytes());
    packet.extend_from_slice(&1u16.to_be_bytes());
    packet
}

/// One answer record.
pub(super) struct Answer {
    pub(super) name: String,
    pub(super) rtype: u16,
    pub(super) ttl: u32,
    pub(super) rdata: Vec<u8>,
    /// The record data read as a name (PTR targets), when it is one.
    pub(super) target: Option<String>,
}

/// A decoded response.
pub(super) struct Decoded {
    pub(super) id: u16,
    pub(super) authoritative: bool,
    pub(super) truncated: bool,
    pub(super) recursion_available: bool,
    pub(super) rcode: u8,
    pub(super) question: String,
    pub(super) answers: Vec<Answer>,
}

impl Decoded {
    pub(super) fn a_records(&self) -> Vec<String> {
        let a = self.answers.iter().filter(|a| a.rtype == 1);
        a.map(|a| format!("{}.{}.{}.{}", a.rdata[0], a.rdata[1], a.rdata[2], a.rdata[3]))
            .collect()
    }

    pub(super) fn ptr_records(&self) -> Vec<String> {
        let ptr = self.answers.iter().filter(|a| a.rtype == 12);
        ptr.filter_map(|a| a.target.clone()).collect()
    }
}

/// Reads a name at `pos`, following compression pointers; returns it and the offset after it in place.
fn read_name(packet: &[u8], mut pos: usize) -> (String, usize) {
    let mut labels = Vec::new();
    let mut end = None;
    for _ in 0..128 {
        let len = packet[pos] as usize;
        if len & 0xC0 == 0xC0 {
            end.get_or_insert(pos + 2);
            pos = ((len & 0x3F) << 8) | packet[pos + 1] as usize;
            continue;
        }
        if len == 0 {
            return (labels.join("."), end.unwrap_or(pos + 1));
        }
        labels.push(String::from_utf8_lossy(&packet[pos + 1..pos + 1 + len]).into_owned());
        pos += 1 + len;
    }
    panic!("name loop in {packet:?}");
}

fn be16(packet: &[u8], pos: usize) -> u16 {
    u16::from_be_bytes([packet[pos], packet[pos + 1]])
}

/// Decodes a response with one question; panics on anything malformed (the test fails).
pub(super) fn decode(packet: &[u8]) -> Decoded {
    assert!(packet[2] & 0x80 != 0, "not a response: {packet:?}");
    assert_eq!(be16(packet, 4), 1, "question count");
    let (question, mut pos) = read_name(packet, 12);
    pos += 4;
    let mut answers = Vec::new();
    for _ in 0..be16(packet, 6) {
        let (name, after) = read_name(packet, pos);
        let rtype = be16(packet, after);
        let ttl = u32::from_be_bytes([
            packet[after + 4],
            packet[after + 5],
            packet[after + 6],
            packet[after + 7],
        ]);
        let rdlen = be16(packet, after + 8) as usize;
        let start = after + 10;
        let rdata = packet[start..start + rdlen].to_vec();
        let target = (rtype == 12).then(|| read_name(packet, start).0);
        answers.push(Answer {
            name,
            rtype,
            ttl,
            rdata,
            target,
        });
        pos = start + rdlen;
    }
    Decoded {
        id: be16(packet, 0),
        authoritative: packet[2] & 0x04 != 0,
        truncated: packet[2] & 0x02 != 0,
        recursion_available: packet[3] & 0x80 != 0,
        rcode: packet[3] & 0x0F,
        question,
        answers,
    }
}
