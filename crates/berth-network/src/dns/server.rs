//! The embedded DNS server of one container (Docker's 127.0.0.11), driven by its shim's poll loop: it owns a
//! listening socket made inside the container's network namespace and an upstream socket in the host's, answers
//! what the names files know and relays the rest to the host's resolvers, without ever blocking.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags};

use super::answer::Answerer;
use super::forward::{Due, Pending};
use super::table::Tables;
use super::wire::{self, Query, Response};

/// Receive buffer: room for any answer a client would ask a resolver for over UDP.
const RECV_BUF: usize = 4096;
/// Most datagrams taken from one socket per call, so a flood from the container cannot keep the shim from its
/// other descriptors (poll reports the socket readable again at once).
const BURST: usize = 256;

/// One container's embedded DNS server.
pub struct Server {
    buf: Box<[u8]>,
    core: Core,
}

/// Everything but the receive buffer, so a packet borrowed from the buffer can be handled by `&mut self` methods.
struct Core {
    listen: UdpSocket,
    upstream: UdpSocket,
    /// The host's resolvers as the upstream socket addresses them (IPv4 ones v4-mapped on an IPv6 socket).
    upstreams: Vec<SocketAddr>,
    tables: Tables,
    /// Whether the names files were checked for changes in the current [`Server::on_readable`] call.
    tables_fresh: bool,
    answerer: Answerer,
    pending: Pending,
    /// Reused response buffer.
    out: Vec<u8>,
}

impl Server {
    /// `listen`: bound UDP socket inside the container's namespace (127.0.0.11:53). `upstream`: UDP socket in the
    /// host namespace, unbound or bound to an ephemeral port, used to forward: an IPv4 one reaches only IPv4
    /// resolvers (IPv6 ones are skipped), a dual-stack IPv6 one reaches both. Every receive and send passes
    /// MSG_DONTWAIT, so the sockets need not be non-blocking. `table`: the names files of the container's
    /// networks, consulted in order. `upstreams`: the host's resolvers (see
    /// [`super::upstreams_from_resolv_conf`]); with none, names the files do not know get SERVFAIL.
    pub fn new(
        listen: UdpSocket,
        upstream: UdpSocket,
        table: Vec<PathBuf>,
        upstreams: Vec<SocketAddr>,
    ) -> Server {
        let ipv6 = matches!(upstream.local_addr(), Ok(SocketAddr::V6(_)));
        let upstreams = upstreams
            .into_iter()
            .filter_map(|addr| reachable_form(addr, ipv6))
            .collect();
        Server {
            buf: vec![0; RECV_BUF].into_boxed_slice(),
            core: Core {
                listen,
                upstream,
                upstreams,
                tables: Tables::new(table),
                tables_fresh: false,
                answerer: Answerer::new(),
                pending: Pending::new(),
                out: Vec::with_capacity(wire::UDP_LIMIT),
            },
        }
    }

    /// The listening and the upstream socket, to poll for readability.
    pub fn fds(&self) -> [BorrowedFd<'_>; 2] {
        [self.core.listen.as_fd(), self.core.upstream.as_fd()]
    }

    /// Handles whatever is due: queries waiting on the listening socket (answered or forwarded), answers waiting on
    /// the upstream socket (relayed to their clients), then re-sends and expiries of forwarded queries. Call it when
    /// either socket is readable and when [`Server::next_timeout`] has passed. Never blocks; garbage is dropped.
    pub fn on_readable(&mut self) {
        let now = Instant::now();
        let core = &mut self.core;
        core.tables_fresh = false;
        for _ in 0..BURST {
            let Some((len, client)) = receive(&core.listen, &mut self.buf) else {
                break;
            };
            if let Some(packet) = self.buf.get_mut(..len) {
                core.on_query(packet, client, now);
            }
        }
        for _ in 0..BURST {
            let Some((len, source)) = receive(&core.upstream, &mut self.buf) else {
                break;
            };
            core.on_answer(&mut self.buf, len, source);
        }
        core.on_timer(now);
    }

    /// Replaces the names files consulted (a container connected to or disconnected from a user network); they are
    /// read at the next query.
    pub fn set_tables(&mut self, tables: Vec<PathBuf>) {
        self.core.tables = Tables::new(tables);
        self.core.tables_fresh = false;
    }

    /// How long until forwarded queries need re-sending or expire (the shim bounds its poll timeout by it);
    /// `None` when nothing is pending.
    pub fn next_timeout(&self) -> Option<Duration> {
        let deadline = self.core.pending.next_deadline()?;
        Some(deadline.saturating_duration_since(Instant::now()))
    }
}

impl Core {
    /// Answers a query from the names files, or forwards it; malformed packets are dropped.
    fn on_query(&mut self, packet: &mut [u8], client: SocketAddr, now: Instant) {
        let Some(query) = wire::parse_query(packet) else {
            return;
        };
        let forwarding = !self.upstreams.is_empty();
        if Answerer::is_local_kind(&query) {
            if !self.tables_fresh {
                self.tables.refresh();
                self.tables_fresh = true;
            }
            if let Some(answer) = self
                .answerer
                .answer(&query, &self.tables, &mut self.out, forwarding)
            {
                send(&self.listen, answer, client);
                return;
            }
        }
        let Some(&resolver) = self.upstreams.first() else {
            self.servfail(&query, client);
            return;
        };
        if self.pending.start(packet, client, now) {
            send(&self.upstream, packet, resolver);
        } else if let Some(query) = wire::parse_query(packet) {
            // Too many queries in flight: fail this one rather than grow.
            self.servfail(&query, client);
        }
    }

    /// Relays an answer from a resolver to the client that asked; `len` is the datagram's full length, which may
    /// exceed the buffer.
    fn on_answer(&mut self, buf: &mut [u8], len: usize, source: SocketAddr) {
        let from_upstream = self
            .upstreams
            .iter()
            .any(|u| u.ip() == source.ip() && u.port() == source.port());
        let received = len.min(buf.len());
        let packet = &mut buf[..received];
        if !from_upstream || !wire::is_response(packet) {
            return;
        }
        let Some(client) = self.pending.finish(packet) else {
            return;
        };
        let len = if len > packet.len() {
            wire::truncate_to_question(packet)
        } else {
            len
        };
        send(&self.listen, &packet[..len], client);
    }

    /// Re-sends queries whose resolver is silent and fails those nobody answered.
    fn on_timer(&mut self, now: Instant) {
        let (listen, upstream, upstreams, out) =
            (&self.listen, &self.upstream, &self.upstreams, &mut self.out);
        self.pending.on_timer(now, upstreams.len(), |due| match due {
            Due::Resend {
                upstream: index,
                query,
            } => {
                if let Some(addr) = upstreams.get(index) {
                    send(upstream, query, *addr);
                }
            }
            Due::Expired { client, query } => {
                if let Some(query) = wire::parse_query(query) {
                    let response = Response::new(out, &query, wire::RCODE_SERVFAIL, false, true);
                    send(listen, response.finish(), client);
                }
            }
        });
    }

    fn servfail(&mut self, query: &Query<'_>, client: SocketAddr) {
        let forwarding = !self.upstreams.is_empty();
        let response = Response::new(&mut self.out, query, wire::RCODE_SERVFAIL, false, forwarding);
        send(&self.listen, response.finish(), client);
    }
}

/// `addr` as a socket of the given family sends to it: IPv4 resolvers v4-mapped on an IPv6 socket, IPv6 resolvers
/// dropped on an IPv4 one.
fn reachable_form(addr: SocketAddr, ipv6_socket: bool) -> Option<SocketAddr> {
    match (addr, ipv6_socket) {
        (SocketAddr::V4(v4), true) => Some(SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())),
        (SocketAddr::V6(_), false) => None,
        _ => Some(addr),
    }
}

/// Takes one datagram: its full length (which may exceed `buf`) and sender; `None` when nothing is waiting (or on
/// an error, which a UDP socket only reports for a datagram that is gone anyway). Never blocks, whatever the
/// socket's mode.
fn receive(socket: &UdpSocket, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
    loop {
        match rustix::net::recvfrom(socket, &mut *buf, RecvFlags::TRUNC | RecvFlags::DONTWAIT) {
            Ok((_, len, Some(from))) => return SocketAddr::try_from(from).ok().map(|from| (len, from)),
            Ok((_, _, None)) | Err(Errno::INTR) => continue,
            Err(_) => return None,
        }
    }
}

/// Sends one datagram, best effort and without blocking: a full socket buffer or an unreachable peer loses it, as
/// UDP would anyway, and the client asks again.
fn send(socket: &UdpSocket, packet: &[u8], to: SocketAddr) {
    while let Err(Errno::INTR) = rustix::net::sendto(socket, packet, SendFlags::DONTWAIT, &to) {}
}
