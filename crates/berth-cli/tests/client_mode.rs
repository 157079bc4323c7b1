//! The `berth` CLI as a client: of the daemon named by `-H`, of a daemon on the exec root's default socket, and of
//! no daemon (the engine in process) — one state seen the same way by all three.

mod common;

use common::daemon::Daemon;

#[test]
fn explicit_host_is_used_and_must_answer() {
    let d = Daemon::start();
    let host = d.host();
    let out = d
        .env
        .berth(&["-H", &host, "run", "--rm", "busybox", "echo", "via-daemon"])
        .ok();
    assert_eq!(out, "via-daemon");
    d.env
        .berth(&[
            "-H", &host, "run", "-d", "--name", "kept", "busybox", "sleep", "100",
        ])
        .ok();
    // The daemon knows it: it made it (and published its events).
    let names = d.docker(&["ps", "--format", "{{.Names}}"]).ok();
    assert_eq!(names, "kept");
    let events = d
        .docker(&[
            "events",
            "--since",
            "0",
            "--until",
            &common::unix_now_plus(1),
            "--filter",
            "container=kept",
            "--format",
            "{{.Action}}",
        ])
        .ok();
    assert!(events.lines().any(|l| l == "start"), "{events}");
    assert_eq!(
        d.env.berth(&["-H", &host, "exec", "kept", "echo", "hi"]).ok(),
        "hi"
    );
    d.env.berth(&["-H", &host, "rm", "-f", "kept"]).ok();
    // An address that does not answer is an error, never a fallback to the in-process engine.
    let missing = format!("unix://{}/nobody.sock", d.env.dir.path().display());
    let r = d.env.berth(&["-H", &missing, "ps"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Cannot connect to the Berth daemon"),
        "{}",
        r.stderr
    );
    let r = d.env.cmd(&["ps"]).env("BERTH_HOST", &missing).output().unwrap();
    assert_ne!(r.status.code(), Some(0));
}

#[test]
fn default_socket_is_found_and_state_is_shared() {
    let env = common::Env::new();
    // Daemonless first: a container made in process…
    env.berth(&["run", "-d", "--name", "early", "busybox", "sleep", "100"])
        .ok();
    // …then a daemon on the exec root's default socket, which the CLI finds without -H.
    let socket = env.exec_root().join("berth.sock");
    let mut daemon = env
        .cmd(&["daemon"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(std::time::Instant::now() < deadline, "daemon did not come up");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The daemon adopted the daemonless container; a wait through it sees its exit.
    let waiter = env
        .cmd(&["wait", "early"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    env.berth(&["kill", "early"]).ok();
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "137");
    // The same state, asked of the daemon explicitly.
    let host = format!("unix://{}", socket.display());
    let listed = env
        .berth(&["-H", &host, "ps", "-a", "--format", "{{.Names}} {{.State}}"])
        .ok();
    assert_eq!(listed, "early exited");
    env.berth(&["rm", "early"]).ok();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    daemon.wait().unwrap();
    assert!(!socket.exists(), "the daemon removes its socket");
    // Without the daemon the CLI runs in process again.
    assert_eq!(
        env.berth(&["run", "--rm", "busybox", "echo", "alone"]).ok(),
        "alone"
    );
}
