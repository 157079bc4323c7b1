//! The request/reply machinery of the rtnetlink client: sequence numbers, batches of acknowledged requests sent in one
//! datagram, single-reply requests, multipart dumps, and mapping of kernel error replies (with their extended-ack
//! text) to `io::Error`s that name the operation.

use std::io;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR,
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NlasIterator,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::Netlink;
use crate::error::{Error, Result};

/// Receive buffer size: the kernel caps one dump datagram at 32 KiB, and acks and single replies are smaller.
pub(super) const RECV_BUFFER: usize = 32 * 1024;
/// Size of a netlink message header (`struct nlmsghdr`).
const HEADER_LEN: usize = 16;
/// Extended-ack attribute carrying the kernel's error text (`NLMSGERR_ATTR_MSG`).
const NLMSGERR_ATTR_MSG: u16 = 1;
/// How often an interrupted dump (the table changed while it was read) is retried before giving up.
const DUMP_ATTEMPTS: usize = 5;

/// One request of a batch: the operation's name (for errors), the message, and its extra `NLM_F_*` flags.
pub(super) struct Request {
    pub op: String,
    pub message: RouteNetlinkMessage,
    pub flags: u16,
}

impl Netlink {
    /// Sends `requests` in one datagram, each with `NLM_F_ACK`, and waits for every acknowledgement. The kernel
    /// handles them in order; the first refused request's error is returned.
    pub(super) fn execute(&mut self, requests: Vec<Request>) -> Result<()> {
        let mut out = Vec::with_capacity(256 * requests.len());
        let mut pending = Vec::with_capacity(requests.len());
        for request in requests {
            let seq = self.encode(
                &mut out,
                request.message,
                NLM_F_REQUEST | NLM_F_ACK | request.flags,
            );
            pending.push((seq, request.op));
        }
        let op = |pending: &[(u32, String)]| pending.first().map(|(_, op)| op.clone()).unwrap_or_default();
        self.send(&out).map_err(|source| Error::Netlink {
            op: op(&pending),
            source,
        })?;
        while !pending.is_empty() {
            let len = self.receive().map_err(|source| Error::Netlink {
                op: op(&pending),
                source,
            })?;
            for (offset, msg_len) in messages(&self.buf[..len]) {
                let raw = &self.buf[offset..offset + msg_len];
                let header = NetlinkBuffer::new(raw);
                let Some(at) = pending
                    .iter()
                    .position(|(seq, _)| *seq == header.sequence_number())
                else {
                    continue;
                };
                if header.message_type() != NLMSG_ERROR {
                    continue;
                }
                let (_, op) = pending.remove(at);
                if let Some(source) = error_reply(raw) {
                    return Err(Error::Netlink {
                        op: with_kernel_text(op, raw),
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    /// Sends one request without `NLM_F_ACK` and decodes its single reply's payload (the bytes after the netlink
    /// header) with `decode`.
    pub(super) fn get<T>(
        &mut self,
        op: &str,
        message: RouteNetlinkMessage,
        decode: impl FnOnce(&[u8]) -> io::Result<T>,
    ) -> Result<T> {
        let mut out = Vec::with_capacity(128);
        let seq = self.encode(&mut out, message, NLM_F_REQUEST);
        let fail = |source| Error::Netlink {
            op: op.to_string(),
            source,
        };
        self.send(&out).map_err(fail)?;
        loop {
            let len = self.receive().map_err(fail)?;
            for (offset, msg_len) in messages(&self.buf[..len]) {
                let raw = &self.buf[offset..offset + msg_len];
                if NetlinkBuffer::new(raw).sequence_number() != seq {
                    continue;
                }
                if let Some(source) = error_reply(raw) {
                    return Err(Error::Netlink {
                        op: with_kernel_text(op.to_string(), raw),
                        source,
                    });
                }
                return decode(&raw[HEADER_LEN..]).map_err(fail);
            }
        }
    }

    /// Dumps a table: sends `message` with `NLM_F_DUMP` and collects every reply until `NLMSG_DONE`. A dump the kernel
    /// marks as interrupted (the table changed meanwhile) is started again.
    pub(super) fn dump(
        &mut self,
        op: &str,
        message: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        let fail = |source| Error::Netlink {
            op: op.to_string(),
            source,
        };
        for _ in 0..DUMP_ATTEMPTS {
            let mut out = Vec::with_capacity(128);
            let seq = self.encode(&mut out, message.clone(), NLM_F_REQUEST | NLM_F_DUMP);
            self.send(&out).map_err(fail)?;
            let mut replies = Vec::new();
            let mut interrupted = false;
            'receive: loop {
                let len = self.receive().map_err(fail)?;
                for (offset, msg_len) in messages(&self.buf[..len]) {
                    let raw = &self.buf[offset..offset + msg_len];
                    let header = NetlinkBuffer::new(raw);
                    if header.sequence_number() != seq {
                        continue;
                    }
                    interrupted |= header.flags() & NLM_F_DUMP_INTR != 0;
                    match header.message_type() {
                        NLMSG_DONE => break 'receive,
                        NLMSG_ERROR => {
                            let source =
                                error_reply(raw).unwrap_or_else(|| io::Error::other("unexpected ack"));
                            return Err(Error::Netlink {
                                op: with_kernel_text(op.to_string(), raw),
                                source,
                            });
                        }
                        _ => replies.push(decode_route_message(raw).map_err(fail)?),
                    }
                }
            }
            if !interrupted {
                return Ok(replies);
            }
        }
        Err(fail(io::Error::new(
            io::ErrorKind::Interrupted,
            "dump kept changing while it was read",
        )))
    }

    /// Appends `message` with a fresh sequence number to `out` and returns that number.
    fn encode(&mut self, out: &mut Vec<u8>, message: RouteNetlinkMessage, flags: u16) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(message));
        packet.finalize();
        let start = out.len();
        out.resize(start + align(packet.buffer_len()), 0);
        packet.serialize(&mut out[start..]);
        self.seq
    }

    fn send(&self, data: &[u8]) -> io::Result<()> {
        loop {
            match self.socket.send(data, 0) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
                Ok(_) => return Ok(()),
            }
        }
    }

    /// Reads one datagram into the receive buffer and returns its length.
    fn receive(&mut self) -> io::Result<usize> {
        loop {
            let mut window: &mut [u8] = &mut self.buf[..];
            match self.socket.recv(&mut window, libc::MSG_TRUNC) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
                Ok(len) if len > self.buf.len() => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "netlink reply truncated",
                    ));
                }
                Ok(len) => return Ok(len),
            }
        }
    }
}

/// Rounds a message length up to the 4-byte netlink alignment.
fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// The (offset, length) of each well-formed netlink message in a datagram.
fn messages(data: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut offset = 0;
    std::iter::from_fn(move || {
        let rest = data.get(offset..)?;
        let len = NetlinkBuffer::new_checked(rest).ok()?.length() as usize;
        let found = (offset, len);
        offset += align(len);
        Some(found)
    })
}

fn decode_route_message(raw: &[u8]) -> io::Result<RouteNetlinkMessage> {
    let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(raw)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    match message.payload {
        NetlinkPayload::InnerMessage(inner) => Ok(inner),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unexpected reply {other:?}"),
        )),
    }
}

/// The error carried by an `NLMSG_ERROR` reply, or `None` for an acknowledgement (error code 0) or another message.
fn error_reply(raw: &[u8]) -> Option<io::Error> {
    if NetlinkBuffer::new(raw).message_type() != NLMSG_ERROR {
        return None;
    }
    let code = raw.get(HEADER_LEN..HEADER_LEN + 4)?;
    let code = i32::from_ne_bytes([code[0], code[1], code[2], code[3]]);
    (code != 0).then(|| io::Error::from_raw_os_error(code.wrapping_neg()))
}

/// Appends the kernel's extended-ack text (e.g. "Nexthop has invalid gateway") to `op` when the reply has one.
/// The socket asks for capped acks, so the echoed request is only its header and the attributes follow it.
fn with_kernel_text(op: String, raw: &[u8]) -> String {
    let flags = NetlinkBuffer::new(raw).flags();
    let attributes = raw.get(HEADER_LEN + 4 + HEADER_LEN..).unwrap_or_default();
    if flags & NLM_F_ACK_TLVS == 0 {
        return op;
    }
    let text = NlasIterator::new(attributes)
        .filter_map(|nla| nla.ok())
        .find(|nla| nla.kind() == NLMSGERR_ATTR_MSG)
        .map(|nla| {
            String::from_utf8_lossy(nla.value())
                .trim_end_matches('\0')
                .to_string()
        });
    match text {
        Some(text) if !text.is_empty() => format!("{op} ({text})"),
        _ => op,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds an `NLMSG_ERROR` reply the way the kernel does with `NETLINK_CAP_ACK` and `NETLINK_EXT_ACK` set.
    fn error_message(seq: u32, errno: i32, text: Option<&str>) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&(-errno).to_ne_bytes());
        body.extend_from_slice(&[0u8; HEADER_LEN]);
        if let Some(text) = text {
            let value = format!("{text}\0");
            let len = 4 + value.len();
            body.extend_from_slice(&(len as u16).to_ne_bytes());
            body.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
            body.extend_from_slice(value.as_bytes());
            body.resize(align(body.len()), 0);
        }
        let mut raw = Vec::new();
        raw.extend_from_slice(&((HEADER_LEN + body.len()) as u32).to_ne_bytes());
        raw.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        let flags = if text.is_some() { NLM_F_ACK_TLVS } else { 0 };
        raw.extend_from_slice(&flags.to_ne_bytes());
        raw.extend_from_slice(&seq.to_ne_bytes());
        raw.extend_from_slice(&0u32.to_ne_bytes());
        raw.extend_from_slice(&body);
        raw
    }

    #[test]
    fn error_reply_maps_errno_and_ack() {
        let nack = error_message(7, libc::EEXIST, None);
        assert_eq!(
            error_reply(&nack).and_then(|e| e.raw_os_error()),
            Some(libc::EEXIST)
        );
        assert!(error_reply(&error_message(7, 0, None)).is_none());
        let mut not_an_error = nack.clone();
        not_an_error[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes());
        assert!(error_reply(&not_an_error).is_none());
    }

    #[test]
    fn kernel_text_is_appended_to_the_operation() {
        let raw = error_message(3, libc::ENETUNREACH, Some("Nexthop has invalid gateway"));
        assert_eq!(
            with_kernel_text("add route".into(), &raw),
            "add route (Nexthop has invalid gateway)"
        );
        let plain = error_message(3, libc::ENETUNREACH, None);
        assert_eq!(with_kernel_text("add route".into(), &plain), "add route");
    }

    #[test]
    fn datagram_is_split_into_aligned_messages() {
        let mut datagram = error_message(1, libc::ENODEV, Some("abc"));
        let first = datagram.len();
        datagram.extend(error_message(2, 0, None));
        let found: Vec<_> = messages(&datagram).collect();
        assert_eq!(found, vec![(0, first), (first, HEADER_LEN + 4 + HEADER_LEN)]);
        let seqs: Vec<_> = found
            .iter()
            .map(|(o, l)| NetlinkBuffer::new(&datagram[*o..o + l]).sequence_number())
            .collect();
        assert_eq!(seqs, vec![1, 2]);
    }

    #[test]
    fn encoded_requests_carry_increasing_sequence_numbers() {
        let mut nl = Netlink::open().expect("netlink socket");
        let mut out = Vec::new();
        let first = nl.encode(
            &mut out,
            RouteNetlinkMessage::GetLink(Default::default()),
            NLM_F_REQUEST,
        );
        let split = out.len();
        let second = nl.encode(
            &mut out,
            RouteNetlinkMessage::GetLink(Default::default()),
            NLM_F_REQUEST,
        );
        assert_eq!(second, first + 1);
        let found: Vec<_> = messages(&out).collect();
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].0, split);
        assert_eq!(NetlinkBuffer::new(&out[split..]).sequence_number(), second);
    }
}
