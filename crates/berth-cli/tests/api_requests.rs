//! Raw Engine API requests against `berth daemon`: version negotiation, malformed and hostile input, clients that
//! vanish, and many concurrent requests — answered with Docker's codes, never a crash, nothing leaked.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::daemon::Daemon;

/// Sends one HTTP/1.1 request and returns (status, headers, body).
fn request(d: &Daemon, method: &str, path: &str, body: &[u8]) -> (u16, String, String) {
    let mut s = UnixStream::connect(d.socket()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

#[test]
fn negotiation_and_routing() {
    let d = Daemon::start();
    let (status, head, body) = request(&d, "GET", "/_ping", b"");
    assert_eq!((status, body.as_str()), (200, "OK"));
    assert!(
        head.contains("Api-Version: 1.41") || head.contains("api-version: 1.41"),
        "{head}"
    );
    assert_eq!(request(&d, "HEAD", "/_ping", b"").0, 200);
    assert_eq!(request(&d, "GET", "/v1.41/version", b"").0, 200);
    assert_eq!(request(&d, "GET", "/v1.24/containers/json", b"").0, 200);
    let (status, _, body) = request(&d, "GET", "/v1.99/version", b"");
    assert_eq!(status, 400);
    assert!(body.contains("too new"), "{body}");
    assert_eq!(request(&d, "GET", "/v1.12/version", b"").0, 400);
    let (status, _, body) = request(&d, "GET", "/nowhere", b"");
    assert_eq!(status, 404);
    assert!(body.contains("\"message\""), "{body}");
}

#[test]
fn malformed_requests_are_400s() {
    let d = Daemon::start();
    for body in [
        &b"{not json"[..],
        b"[1,2]",
        br#"{"Image": 5}"#,
        br#"{"Image":"busybox","HostConfig":{"Memory":"lots"}}"#,
    ] {
        let (status, _, text) = request(&d, "POST", "/containers/create", body);
        assert_eq!(status, 400, "{}: {text}", String::from_utf8_lossy(body));
        assert!(text.contains("\"message\""), "{text}");
    }
    // Unknown fields are ignored, as Docker's decoder does; nulls mean "not given".
    let (status, _, text) = request(
        &d,
        "POST",
        "/containers/create?name=ok1",
        br#"{"Image":"busybox","Cmd":["true"],"Frobnicate":1,"Env":null,"HostConfig":{"Dns":null,"Binds":null}}"#,
    );
    assert_eq!(status, 201, "{text}");
    let (status, _, text) = request(
        &d,
        "POST",
        "/containers/create?name=bad%2Fname",
        br#"{"Image":"busybox","Cmd":["true"]}"#,
    );
    assert_eq!(status, 400, "{text}");
    let (status, _, _) = request(
        &d,
        "POST",
        "/containers/create",
        br#"{"Image":"nosuch","Cmd":["true"]}"#,
    );
    assert_eq!(status, 404);
    let (status, _, _) = request(&d, "GET", "/containers/json?filters=%7Bbad", b"");
    assert_eq!(status, 400);
    let (status, _, _) = request(
        &d,
        "GET",
        "/containers/json?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D",
        b"",
    );
    assert_eq!(status, 400);
    let (status, _, _) = request(&d, "POST", "/containers/ok1/wait?condition=whenever", b"");
    assert_eq!(status, 400);
    let (status, _, _) = request(&d, "POST", "/containers/ok1/kill?signal=SIGNOPE", b"");
    assert!(status == 400 || status == 409, "{status}");
    // An oversized body is refused without being buffered whole.
    let big = vec![b' '; 5 << 20];
    let (status, _, _) = request(&d, "POST", "/containers/create", &big);
    assert_eq!(status, 400);
    // The daemon is still fine, and the good container is there.
    let (status, _, body) = request(&d, "GET", "/containers/json?all=1", b"");
    assert_eq!(status, 200);
    assert!(body.contains("/ok1"), "{body}");
}

#[test]
fn vanishing_clients_do_not_hurt() {
    let d = Daemon::start();
    d.docker(&[
        "run",
        "-d",
        "--name",
        "chatty",
        "busybox",
        "sh",
        "-c",
        "while :; do echo lots of output; done",
    ])
    .ok();
    for path in [
        "/containers/chatty/logs?follow=1&stdout=1",
        "/events",
        "/containers/chatty/wait",
    ] {
        let mut s = UnixStream::connect(d.socket()).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: d\r\n\r\n").unwrap();
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf);
        drop(s);
    }
    // Half a request, then gone.
    let mut s = UnixStream::connect(d.socket()).unwrap();
    s.write_all(b"POST /containers/create HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"Ima")
        .unwrap();
    drop(s);
    assert_eq!(request(&d, "GET", "/_ping", b"").0, 200);
    d.docker(&["rm", "-f", "chatty"]).ok();

    // Followers of a quiet log that go away do not keep a thread each: the daemon's thread count comes back.
    d.docker(&["run", "-d", "--name", "quiet", "busybox", "sleep", "100"])
        .ok();
    let threads = || {
        std::fs::read_dir(format!("/proc/{}/task", d.pid()))
            .unwrap()
            .count()
    };
    std::thread::sleep(Duration::from_secs(3)); // idle worker threads of the start above end after 2 s
    let before = threads();
    for _ in 0..5 {
        let mut s = UnixStream::connect(d.socket()).unwrap();
        write!(
            s,
            "GET /containers/quiet/logs?follow=1&stdout=1 HTTP/1.1\r\nHost: d\r\n\r\n"
        )
        .unwrap();
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf);
        drop(s);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while threads() > before {
        assert!(
            std::time::Instant::now() < deadline,
            "{} threads, {before} before the followers",
            threads()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    d.docker(&["rm", "-f", "quiet"]).ok();
}

#[test]
fn many_concurrent_create_start_remove() {
    let d = Daemon::start();
    let d = &d;
    std::thread::scope(|scope| {
        for i in 0..100 {
            scope.spawn(move || {
                let name = format!("c{i}");
                let (status, _, body) = request(
                    d,
                    "POST",
                    &format!("/containers/create?name={name}"),
                    br#"{"Image":"busybox","Cmd":["sleep","30"]}"#,
                );
                assert_eq!(status, 201, "{body}");
                let (status, _, body) = request(d, "POST", &format!("/containers/{name}/start"), b"");
                assert_eq!(status, 204, "{body}");
                let (status, _, body) = request(d, "DELETE", &format!("/containers/{name}?force=1"), b"");
                assert_eq!(status, 204, "{body}");
            });
        }
    });
    let (_, _, body) = request(d, "GET", "/containers/json?all=1", b"");
    assert_eq!(body.trim(), "[]");
}

#[test]
fn concurrent_starts_of_one_container_start_it_once() {
    let d = Daemon::start();
    d.docker(&["create", "--name", "once", "busybox", "sleep", "30"])
        .ok();
    let since = common::unix_now_plus(0);
    let d = &d;
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let starts: Vec<_> = (0..6)
            .map(|_| scope.spawn(move || request(d, "POST", "/containers/once/start", b"").0))
            .collect();
        starts.into_iter().map(|s| s.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 204).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 204 || *s == 304), "{statuses:?}");
    assert_eq!(
        d.docker(&["inspect", "-f", "{{.State.Running}}", "once"]).ok(),
        "true"
    );
    d.docker(&["kill", "once"]).ok();
    d.docker(&["wait", "once"]).ok();
    let until = common::unix_now_plus(1);
    let events = d
        .docker(&[
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--filter",
            "container=once",
            "--format",
            "{{.Action}}",
        ])
        .ok();
    let count = |action: &str| events.lines().filter(|l| *l == action).count();
    assert_eq!(
        (count("start"), count("die")),
        (1, 1),
        "one start, one death: {events}"
    );
}

#[test]
fn attach_with_logs_replays_the_output_so_far() {
    let d = Daemon::start();
    d.docker(&[
        "run",
        "-d",
        "--name",
        "talker",
        "busybox",
        "sh",
        "-c",
        "echo one; echo two >&2; sleep 100",
    ])
    .ok();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !d.docker(&["logs", "talker"]).stdout.contains("one") {
        assert!(std::time::Instant::now() < deadline, "no output logged");
        std::thread::sleep(Duration::from_millis(50));
    }
    // logs=1 without stream=1: the replay, then the end of the stream.
    let mut s = UnixStream::connect(d.socket()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /containers/talker/attach?logs=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let at = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(
        out.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    let mut frames = &out[at..];
    let mut got = Vec::new();
    while frames.len() >= 8 {
        let len = u32::from_be_bytes(frames[4..8].try_into().unwrap()) as usize;
        got.push((
            frames[0],
            String::from_utf8_lossy(&frames[8..8 + len]).into_owned(),
        ));
        frames = &frames[8 + len..];
    }
    assert_eq!(got, [(1, "one\n".to_string()), (2, "two\n".to_string())]);
    d.docker(&["rm", "-f", "talker"]).ok();
}
