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
            &common::unix_now_plus(1),
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

/// Makes a CA, a server certificate for 127.0.0.1 and a client certificate in `dir` with openssl.
fn make_certs(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=berth-test-ca",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for who in ["server", "client"] {
        run(&[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                &format!("{who}-key.pem"),
                "-out",
                &format!("{who}.csr"),
                "-subj",
                &format!("/CN={who}"),
            ],
        ]
        .concat());
        run(&[
            "x509",
            "-req",
            "-in",
            &format!("{who}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            &format!("{who}-cert.pem"),
            "-days",
            "1",
            "-extfile",
            &format!("{who}.ext"),
        ]);
    }
}

#[test]
fn tcp_with_tls_client_verification() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let port = common::free_port();
    let tcp = format!("tcp://127.0.0.1:{port}");
    let p = |f: &str| certs.path().join(f).display().to_string();
    let d = Daemon::start_with(&[
        "-H",
        &tcp,
        "--tlsverify",
        "--tlscacert",
        &p("ca.pem"),
        "--tlscert",
        &p("server-cert.pem"),
        "--tlskey",
        &p("server-key.pem"),
    ]);
    let docker = |args: &[&str]| {
        let out = std::process::Command::new("docker")
            .args(["-H", &tcp])
            .args(args)
            .env("DOCKER_CONFIG", d.env.dir.path().join("docker-config"))
            .env_remove("DOCKER_HOST")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let with_cert = [
        "--tlsverify",
        "--tlscacert",
        &p("ca.pem"),
        "--tlscert",
        &p("client-cert.pem"),
        "--tlskey",
        &p("client-key.pem"),
    ];
    let (code, out, err) =
        docker(&[&with_cert[..], &["run", "--rm", "busybox", "echo", "over-tls"]].concat());
    assert_eq!((code, out.as_str()), (Some(0), "over-tls"), "{err}");
    // Without a client certificate the handshake is refused.
    let (code, _, _) = docker(&["--tlsverify", "--tlscacert", &p("ca.pem"), "version"]);
    assert_ne!(code, Some(0));
    // And plain HTTP gets nowhere.
    let (code, _, _) = docker(&["version"]);
    assert_ne!(code, Some(0));

    // berth's own CLI as a TLS client: plain output, a hijacked stream with stdin and its half-close (relayed through
    // the TLS session), and the same refusals.
    let berth = |args: &[&str], input: &[u8]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(["-H", &tcp]).args(args).env_remove("BERTH_HOST");
        common::Run::with_stdin(cmd, input)
    };
    let run = berth(
        &[&with_cert[..], &["run", "--rm", "busybox", "echo", "over-tls"]].concat(),
        b"",
    );
    assert_eq!(run.ok(), "over-tls");
    let run = berth(
        &[
            &with_cert[..],
            &[
                "run",
                "--rm",
                "-i",
                "busybox",
                "sh",
                "-c",
                "tr a-z A-Z; echo done",
            ],
        ]
        .concat(),
        b"piped in\n",
    );
    assert_eq!(run.ok(), "PIPED IN\ndone");
    let without_verify = [
        "--tls",
        "--tlscert",
        &p("client-cert.pem"),
        "--tlskey",
        &p("client-key.pem"),
    ];
    assert_eq!(berth(&[&without_verify[..], &["ps", "-q"]].concat(), b"").code, 0);
    let run = berth(&["--tlsverify", "--tlscacert", &p("ca.pem"), "ps"], b"");
    assert_ne!(run.code, 0, "no client certificate: {}", run.stdout);
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    assert_ne!(berth(&["ps"], b"").code, 0, "plain HTTP to a TLS listener");
}
