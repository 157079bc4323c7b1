//! The daemon's own life: one per data root, SIGTERM and `kill -9` leave containers running, and a restarted daemon
//! adopts them — logs, exec, wait and stop work — and reports the real exit code of ones that ended meanwhile.

mod common;

use std::time::Duration;

use common::daemon::Daemon;

fn alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn containers_outlive_daemon_restarts() {
    let mut d = Daemon::start();
    d.docker(&[
        "run",
        "-d",
        "--name",
        "long",
        "busybox",
        "sh",
        "-c",
        "echo hello; exec sleep 100",
    ])
    .ok();
    d.docker(&[
        "run",
        "-d",
        "--name",
        "short",
        "busybox",
        "sh",
        "-c",
        "sleep 1; exit 9",
    ])
    .ok();
    let pid: i32 = d
        .docker(&["inspect", "-f", "{{.State.Pid}}", "long"])
        .ok()
        .parse()
        .unwrap();

    d.stop_with(libc::SIGTERM);
    assert!(alive(pid), "container died with the daemon");
    // "short" ends while no daemon runs.
    std::thread::sleep(Duration::from_millis(1500));
    d.launch();
    assert_eq!(
        d.docker(&["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "short"])
            .ok(),
        "exited 9"
    );
    assert_eq!(
        d.docker(&["inspect", "-f", "{{.State.Pid}}", "long"]).ok(),
        pid.to_string()
    );
    assert_eq!(d.docker(&["logs", "long"]).ok(), "hello");
    assert_eq!(
        d.docker(&["exec", "long", "echo", "still-here"]).ok(),
        "still-here"
    );

    // A kill -9 of the daemon loses nothing either; a waiter on the new daemon sees the adopted container's exit.
    d.stop_with(libc::SIGKILL);
    assert!(alive(pid));
    d.launch();
    let waiter = d
        .docker_cmd(&["wait", "long"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    d.docker(&["kill", "long"]).ok();
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "137");
    let events = d
        .docker(&[
            "events",
            "--since",
            "0",
            "--until",
            &now_plus(1),
            "--filter",
            "event=die",
            "--format",
            "{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}",
        ])
        .ok();
    assert_eq!(events, "long 137");
    let ps = d.docker(&["ps", "-a", "--format", "{{.Names}}"]).ok();
    let mut names: Vec<&str> = ps.lines().collect();
    names.sort();
    assert_eq!(names, ["long", "short"]);
}

fn now_plus(secs: u64) -> String {
    (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + secs)
        .to_string()
}

#[test]
fn one_daemon_per_data_root() {
    let d = Daemon::start();
    let other = d.env.dir.path().join("other.sock");
    let r = d
        .env
        .berth(&["daemon", "-H", &format!("unix://{}", other.display())]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("another berth daemon"), "{}", r.stderr);
    // The same socket cannot be taken over either.
    assert!(std::os::unix::net::UnixStream::connect(d.socket()).is_ok());
}

#[test]
fn non_loopback_tcp_needs_tls() {
    let env = common::Env::empty();
    let r = env.berth(&["daemon", "-H", "tcp://0.0.0.0:2399"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("TLS"), "{}", r.stderr);
}
