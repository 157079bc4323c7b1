//! Tests of the server over real sockets on 127.0.0.1 (ephemeral ports): a client socket asks, a socket in the
//! test plays the host's resolver, and the server is driven by a poll loop like the shim's.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use super::testing::{Decoded, decode, encode_query};
use super::wire::{self, RCODE_NOERROR, RCODE_SERVFAIL, TYPE_A, TYPE_AAAA, TYPE_PTR};
use super::{Record, Server, Table, forward, write_table};

fn socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.set_nonblocking(true).expect("nonblocking");
    socket
}

fn addr(socket: &UdpSocket) -> SocketAddr {
    socket.local_addr().expect("local addr")
}

fn record(names: &[&str], ip: [u8; 4]) -> Record {
    Record {
        names: names.iter().map(|n| n.to_string()).collect(),
        ipv4: Ipv4Addr::from(ip),
    }
}

fn write(path: &Path, records: Vec<Record>) {
    write_table(path, &Table { records }).expect("write table");
}

/// One datagram waiting on `socket`, if any.
fn take(socket: &UdpSocket) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = [0u8; 4096];
    socket
        .recv_from(&mut buf)
        .ok()
        .map(|(len, from)| (buf[..len].to_vec(), from))
}

/// Polls and drives the server as the shim does until `done` yields something or `limit` passes.
fn drive<T>(server: &mut Server, limit: Duration, mut done: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = done() {
            return Some(value);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        let wait = server
            .next_timeout()
            .unwrap_or(Duration::MAX)
            .min(deadline - now)
            .min(Duration::from_millis(20));
        let timeout = Timespec::try_from(wait).expect("timespec");
        let [listen, upstream] = server.fds();
        let mut fds = [
            PollFd::new(&listen, PollFlags::IN),
            PollFd::new(&upstream, PollFlags::IN),
        ];
        rustix::event::poll(&mut fds, Some(&timeout)).expect("poll");
        server.on_readable();
    }
}

struct Setup {
    server: Server,
    client: UdpSocket,
    listen: SocketAddr,
    /// The test's stand-ins for the host's resolvers.
    resolvers: Vec<UdpSocket>,
    names: PathBuf,
    _dir: tempfile::TempDir,
}

impl Setup {
    fn new(resolvers: usize) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let names = dir.path().join("net1.json");
        write(
            &names,
            vec![record(&["web", "web.net1", "3f2a9c1e0b7d"], [10, 89, 1, 2])],
        );
        let resolvers: Vec<UdpSocket> = (0..resolvers).map(|_| socket()).collect();
        let (listen, client) = (socket(), socket());
        let listen_addr = addr(&listen);
        let upstreams = resolvers.iter().map(addr).collect();
        let server = Server::new(
            listen,
            socket(),
            vec![names.clone(), dir.path().join("net2.json")],
            upstreams,
        );
        Setup {
            server,
            client,
            listen: listen_addr,
            resolvers,
            names,
            _dir: dir,
        }
    }

    fn send(&self, packet: &[u8]) {
        self.client.send_to(packet, self.listen).expect("send query");
    }

    /// Sends a query and waits for the response.
    fn ask(&mut self, id: u16, name: &str, qtype: u16) -> Decoded {
        self.send(&encode_query(id, name, qtype));
        let client = &self.client;
        let (packet, from) =
            drive(&mut self.server, Duration::from_secs(3), || take(client)).expect("response");
        assert_eq!(from, self.listen);
        decode(&packet)
    }

    /// Waits for the query forwarded to resolver `index`: its bytes and where it came from.
    fn forwarded(&mut self, index: usize) -> (Vec<u8>, SocketAddr) {
        let resolver = &self.resolvers[index];
        drive(&mut self.server, Duration::from_secs(3), || take(resolver)).expect("forwarded query")
    }

    fn quiet_for(&mut self, limit: Duration) -> bool {
        let client = &self.client;
        drive(&mut self.server, limit, || take(client)).is_none()
    }
}

/// The answer a resolver would give to `query`: the same message turned into a response with one A record.
fn resolver_answer(query: &[u8], ip: [u8; 4]) -> Vec<u8> {
    let mut answer = query.to_vec();
    answer[2] |= 0x80;
    answer[3] = 0x80;
    answer[7] = 1;
    answer.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4]);
    answer.extend_from_slice(&ip);
    answer
}

#[test]
fn answers_known_names_over_udp() {
    let mut setup = Setup::new(0);
    let a = setup.ask(0x1111, "WEB.", TYPE_A);
    assert_eq!(
        (a.id, a.rcode, a.question.as_str()),
        (0x1111, RCODE_NOERROR, "WEB")
    );
    assert_eq!(a.a_records(), ["10.89.1.2"]);
    assert_eq!(setup.ask(2, "3f2a9c1e0b7d", TYPE_A).a_records(), ["10.89.1.2"]);

    let aaaa = setup.ask(3, "web.net1", TYPE_AAAA);
    assert_eq!((aaaa.rcode, aaaa.answers.len()), (RCODE_NOERROR, 0));

    let ptr = setup.ask(4, "2.1.89.10.in-addr.arpa", TYPE_PTR);
    assert_eq!(ptr.ptr_records(), ["web"]);
}

#[test]
fn fails_unknown_names_without_resolvers() {
    let mut setup = Setup::new(0);
    let unknown = setup.ask(5, "example.com", TYPE_A);
    assert_eq!(
        (unknown.id, unknown.rcode, unknown.answers.len()),
        (5, RCODE_SERVFAIL, 0)
    );
    assert!(!unknown.recursion_available);
    assert_eq!(setup.server.next_timeout(), None);
}

#[test]
fn sees_containers_that_join_later_on_any_network() {
    let mut setup = Setup::new(0);
    assert_eq!(setup.ask(1, "db", TYPE_A).rcode, RCODE_SERVFAIL);
    let names = setup.names.clone();
    write(
        &names,
        vec![record(&["web"], [10, 89, 1, 2]), record(&["db"], [10, 89, 1, 3])],
    );
    assert_eq!(setup.ask(2, "db", TYPE_A).a_records(), ["10.89.1.3"]);
    write(
        &names.with_file_name("net2.json"),
        vec![record(&["cache"], [10, 90, 0, 5])],
    );
    assert_eq!(setup.ask(3, "cache", TYPE_A).a_records(), ["10.90.0.5"]);
}

#[test]
fn drops_garbage_and_keeps_serving() {
    let mut setup = Setup::new(0);
    let mut response = encode_query(1, "web", TYPE_A);
    response[2] |= 0x80;
    let mut pointer_loop = encode_query(1, "web", TYPE_A);
    pointer_loop[12] = 0xC0;
    pointer_loop[13] = 12;
    for garbage in [
        &b""[..],
        b"\x00",
        &[0xFF; 11],
        &[0xFF; 300],
        &response,
        &pointer_loop,
        &[0; 4096],
        &[7; 5000],
    ] {
        setup.send(garbage);
    }
    assert!(
        setup.quiet_for(Duration::from_millis(200)),
        "garbage was answered"
    );
    assert_eq!(setup.ask(9, "web", TYPE_A).a_records(), ["10.89.1.2"]);
}

#[test]
fn forwards_unknown_names_under_fresh_ids_and_relays_answers() {
    let mut setup = Setup::new(1);
    let other_client = socket();
    let query = encode_query(0x4242, "example.com", TYPE_A);
    setup.send(&query);
    other_client
        .send_to(&encode_query(0x4242, "example.org", TYPE_A), setup.listen)
        .expect("send");
    let (first, upstream_addr) = setup.forwarded(0);
    let (second, from) = setup.forwarded(0);
    assert_eq!(from, upstream_addr);
    assert_ne!(
        wire::id(&first),
        wire::id(&second),
        "equal client IDs collide upstream"
    );
    assert_eq!(&first[2..], &query[2..], "only the ID is rewritten");

    // A forged answer from elsewhere, with the right ID, is ignored.
    let forger = socket();
    forger
        .send_to(&resolver_answer(&second, [6, 6, 6, 6]), upstream_addr)
        .expect("forge");
    assert!(setup.quiet_for(Duration::from_millis(100)));

    // Answers in reverse order reach the right clients under their own IDs.
    setup.resolvers[0]
        .send_to(&resolver_answer(&second, [2, 2, 2, 2]), upstream_addr)
        .expect("answer");
    setup.resolvers[0]
        .send_to(&resolver_answer(&first, [1, 1, 1, 1]), upstream_addr)
        .expect("answer");
    let mine = decode(
        &drive(&mut setup.server, Duration::from_secs(3), || take(&setup.client))
            .expect("answer")
            .0,
    );
    let theirs = decode(
        &drive(&mut setup.server, Duration::from_secs(3), || take(&other_client))
            .expect("answer")
            .0,
    );
    assert_eq!(
        (mine.id, mine.question.as_str(), mine.a_records()),
        (0x4242, "example.com", vec!["1.1.1.1".into()])
    );
    assert_eq!((theirs.id, theirs.question.as_str()), (0x4242, "example.org"));
    assert_eq!(theirs.a_records(), ["2.2.2.2"]);
    assert_eq!(setup.server.next_timeout(), None, "nothing pending once answered");

    // A repeated answer is not relayed twice.
    setup.resolvers[0]
        .send_to(&resolver_answer(&first, [1, 1, 1, 1]), upstream_addr)
        .expect("answer");
    assert!(setup.quiet_for(Duration::from_millis(100)));
}

#[test]
fn forwards_other_types_of_known_names() {
    let mut setup = Setup::new(1);
    setup.send(&encode_query(8, "web", 15));
    let (query, _) = setup.forwarded(0);
    assert_eq!(&query[2..], &encode_query(8, "web", 15)[2..]);
}

#[test]
fn retries_a_silent_resolver_on_the_next_one() {
    let mut setup = Setup::new(2);
    setup.send(&encode_query(0x0707, "slow.example", TYPE_A));
    let (query, from) = setup.forwarded(0);
    let timeout = setup.server.next_timeout().expect("pending");
    assert!(
        timeout <= forward::RETRY && timeout > forward::RETRY / 2,
        "{timeout:?}"
    );
    let started = Instant::now();
    let (again, _) = setup.forwarded(1);
    assert!(
        started.elapsed() >= forward::RETRY - Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(again, query, "the same query, under the same ID");
    setup.resolvers[1]
        .send_to(&resolver_answer(&again, [9, 9, 9, 9]), from)
        .expect("answer");
    let answer = decode(
        &drive(&mut setup.server, Duration::from_secs(3), || take(&setup.client))
            .expect("answer")
            .0,
    );
    assert_eq!(
        (answer.id, answer.a_records()),
        (0x0707, vec!["9.9.9.9".to_string()])
    );
}

#[test]
fn relays_oversized_answers_cut_to_their_question_with_tc() {
    let mut setup = Setup::new(1);
    setup.send(&encode_query(0x0A0A, "huge.example", TYPE_A));
    let (query, from) = setup.forwarded(0);
    let mut answer = resolver_answer(&query, [1, 2, 3, 4]);
    answer[7] = 255;
    while answer.len() < 6000 {
        answer.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 1, 2, 3, 4]);
    }
    setup.resolvers[0].send_to(&answer, from).expect("answer");
    let (packet, _) =
        drive(&mut setup.server, Duration::from_secs(3), || take(&setup.client)).expect("answer");
    let cut = decode(&packet);
    assert!(cut.truncated);
    assert_eq!(
        (cut.id, cut.question.as_str(), cut.answers.len()),
        (0x0A0A, "huge.example", 0)
    );
    assert_eq!(packet.len(), query.len());
}

#[test]
fn truncates_long_local_answers_with_tc() {
    let mut setup = Setup::new(0);
    let many = (1..=60).map(|i| record(&["svc"], [10, 89, 2, i])).collect();
    let names = setup.names.clone();
    write(&names, many);
    let answer = setup.ask(1, "svc", TYPE_A);
    assert!(answer.truncated);
    assert!(!answer.answers.is_empty() && answer.answers.len() < 60);
    assert!(answer.answers.iter().all(|a| a.ttl == 600 && a.name == "svc"));
}

#[test]
fn reaches_ipv4_resolvers_through_a_dual_stack_upstream_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (listen, client, resolver) = (socket(), socket(), socket());
    let upstream = UdpSocket::bind("[::]:0").expect("bind dual-stack");
    let listen_addr = addr(&listen);
    let ipv6_only: SocketAddr = "[2001:db8::53]:53".parse().expect("address");
    let mut server = Server::new(
        listen,
        upstream,
        vec![dir.path().join("none.json")],
        vec![addr(&resolver)],
    );
    client
        .send_to(&encode_query(0x0606, "example.net", TYPE_A), listen_addr)
        .expect("send");
    let (query, from) = drive(&mut server, Duration::from_secs(3), || take(&resolver)).expect("forwarded");
    resolver
        .send_to(&resolver_answer(&query, [4, 3, 2, 1]), from)
        .expect("answer");
    let (packet, _) = drive(&mut server, Duration::from_secs(3), || take(&client)).expect("answer");
    assert_eq!(decode(&packet).a_records(), ["4.3.2.1"]);

    // An IPv4 upstream socket cannot reach an IPv6 resolver: with only that one, unknown names fail at once.
    let (listen, client) = (socket(), socket());
    let listen_addr = addr(&listen);
    let mut server = Server::new(listen, socket(), vec![], vec![ipv6_only]);
    client
        .send_to(&encode_query(1, "example.net", TYPE_A), listen_addr)
        .expect("send");
    let (packet, _) = drive(&mut server, Duration::from_secs(3), || take(&client)).expect("answer");
    assert_eq!(decode(&packet).rcode, RCODE_SERVFAIL);
}

#[test]
fn never_blocks_on_blocking_sockets() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let listen = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let (client, listen_addr) = (socket(), addr(&listen));
        let upstream = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let mut server = Server::new(listen, upstream, vec![], vec![]);
        server.on_readable();
        client
            .send_to(&encode_query(3, "web", TYPE_A), listen_addr)
            .expect("send");
        let answer = drive(&mut server, Duration::from_secs(3), || take(&client));
        done_tx.send(answer.map(|(packet, _)| decode(&packet).rcode)).ok();
    });
    let rcode = done_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("on_readable blocked");
    assert_eq!(rcode, Some(RCODE_SERVFAIL));
}

#[test]
fn fails_queries_beyond_the_pending_cap() {
    let mut setup = Setup::new(1);
    let extra = 40;
    for i in 0..forward::MAX_PENDING + extra {
        setup.send(&encode_query(i as u16, "flood.example", TYPE_A));
        setup.server.on_readable();
    }
    let mut failed = 0;
    let client = &setup.client;
    while let Some((packet, _)) = drive(&mut setup.server, Duration::from_millis(200), || take(client)) {
        let answer = decode(&packet);
        assert_eq!(answer.rcode, RCODE_SERVFAIL);
        assert!(
            usize::from(answer.id) >= forward::MAX_PENDING,
            "a query within the cap failed"
        );
        failed += 1;
    }
    assert_eq!(failed, extra);
    let timeout = setup.server.next_timeout().expect("queries pending");
    assert!(timeout <= forward::RETRY);
}
