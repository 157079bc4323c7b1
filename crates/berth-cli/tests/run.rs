//! `run` as a user runs it: output, exit codes, environment, the container's view of itself.

mod common;

use common::Env;

#[test]
fn echo_hello_and_exit_codes() {
    let env = Env::new();
    let r = env.berth(&["run", "--rm", "busybox", "echo", "hello"]);
    assert_eq!(r.ok(), "hello");
    assert_eq!(
        env.berth(&["run", "--rm", "busybox", "sh", "-c", "exit 3"]).code,
        3
    );
    let r = env.berth(&["run", "--rm", "busybox", "no-such-command"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert!(r.stderr.contains("executable file not found"), "{}", r.stderr);
    let r = env.berth(&["run", "--rm", "busybox", "/etc/passwd"]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    // --rm removed every one of them, including those that failed to start.
    assert_eq!(env.berth(&["ps", "-aq"]).ok(), "");
}

#[test]
fn stdout_and_stderr_stay_apart() {
    let env = Env::new();
    let r = env.berth(&[
        "run",
        "--name",
        "split",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("out\n", "err\n"));
    let logs = env.cmd(&["logs", "split"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&logs.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&logs.stderr), "err\n");
}

#[test]
fn container_sees_its_own_world() {
    let env = Env::new();
    let out = env
        .berth(&[
            "run",
            "--rm",
            "-h",
            "boat",
            "-e",
            "FOO=bar",
            "-w",
            "/tmp",
            "busybox",
            "sh",
            "-c",
            "echo $$ $(hostname) $FOO $(pwd) $HOME; cat /etc/hostname; ls /proc/self/ns | wc -l",
        ])
        .ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1 boat bar /tmp /root");
    assert_eq!(lines[1], "boat");
    let env_out = env.berth(&["run", "--rm", "busybox", "env"]).ok();
    assert!(
        env_out.contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        "{env_out}"
    );
    assert!(env_out.contains("HOME=/root"), "{env_out}");
    assert!(
        env_out
            .lines()
            .any(|l| l.starts_with("HOSTNAME=") && l.len() == "HOSTNAME=".len() + 12),
        "{env_out}"
    );
}

#[test]
fn network_none_has_only_loopback() {
    let env = Env::new();
    let out = env
        .berth(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "ls",
            "/sys/class/net",
        ])
        .ok();
    assert_eq!(out, "lo");
    let up = env
        .berth(&["run", "--rm", "busybox", "cat", "/sys/class/net/lo/operstate"])
        .ok();
    assert!(up == "unknown" || up == "up", "{up}");
}

#[test]
fn stdin_is_forwarded_with_i() {
    let env = Env::new();
    let r = env.berth_stdin(
        &["run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z"],
        b"hello stdin\n",
    );
    assert_eq!(r.ok(), "HELLO STDIN");
    let r = env.berth_stdin(&["run", "--rm", "busybox", "cat"], b"ignored\n");
    assert_eq!(r.ok(), "");
}

#[test]
fn env_file_and_entrypoint() {
    let env = Env::new();
    let f = env.dir.path().join("vars");
    std::fs::write(&f, "# comment\nA=1\nB=two words\n").unwrap();
    let out = env
        .berth(&[
            "run",
            "--rm",
            "--env-file",
            f.to_str().unwrap(),
            "busybox",
            "sh",
            "-c",
            "echo $A $B",
        ])
        .ok();
    assert_eq!(out, "1 two words");
    let out = env
        .berth(&[
            "run",
            "--rm",
            "--entrypoint",
            "/bin/echo",
            "busybox",
            "via",
            "entrypoint",
        ])
        .ok();
    assert_eq!(out, "via entrypoint");
}

#[test]
fn mounts_binds_tmpfs_and_read_only() {
    let env = Env::new();
    let host = env.dir.path().join("share");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("in.txt"), "from host\n").unwrap();
    let bind = format!("{}:/share", host.display());
    let out = env
        .berth(&[
            "run",
            "--rm",
            "-v",
            &bind,
            "busybox",
            "sh",
            "-c",
            "cat /share/in.txt; echo back > /share/out.txt",
        ])
        .ok();
    assert_eq!(out, "from host");
    assert_eq!(std::fs::read_to_string(host.join("out.txt")).unwrap(), "back\n");
    let ro = format!("{}:/share:ro", host.display());
    let r = env.berth(&["run", "--rm", "-v", &ro, "busybox", "touch", "/share/x"]);
    assert_ne!(r.code, 0);
    let r = env.berth(&[
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/scratch",
        "busybox",
        "sh",
        "-c",
        "touch /scratch/ok && echo tmpfs-ok; touch /rootfile",
    ]);
    assert!(r.stdout.contains("tmpfs-ok"), "{}", r.stderr);
    assert_ne!(r.code, 0, "root must be read-only");
    let mount = format!("type=bind,source={},target=/m,readonly", host.display());
    let out = env
        .berth(&["run", "--rm", "--mount", &mount, "busybox", "cat", "/m/in.txt"])
        .ok();
    assert_eq!(out, "from host");
}

#[test]
fn users_resolve_in_the_image() {
    let env = Env::new();
    assert_eq!(
        env.berth(&["run", "--rm", "-u", "nobody", "busybox", "id", "-u"])
            .ok(),
        "65534"
    );
    assert_eq!(
        env.berth(&["run", "--rm", "-u", "1234:5678", "busybox", "id"])
            .ok(),
        "uid=1234 gid=5678"
    );
    let r = env.berth(&["run", "--rm", "-u", "ghost", "busybox", "id"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("unable to find user ghost"), "{}", r.stderr);
}

#[test]
fn init_reaps_and_forwards() {
    let env = Env::new();
    let out = env
        .berth(&[
            "run",
            "--rm",
            "--init",
            "busybox",
            "sh",
            "-c",
            "echo $$; ps -o pid,comm | head -3",
        ])
        .ok();
    assert_ne!(
        out.lines().next(),
        Some("1"),
        "with --init the command is not pid 1: {out}"
    );
    let id = env
        .berth(&["run", "-d", "--init", "busybox", "sleep", "1000"])
        .ok();
    let start = std::time::Instant::now();
    env.berth(&["stop", "-t", "20", &id]).ok();
    assert!(
        start.elapsed().as_secs() < 10,
        "SIGTERM must reach sleep through the init"
    );
}

#[test]
fn tty_gives_the_container_a_terminal() {
    let env = Env::new();
    let out = env
        .berth(&["run", "--rm", "-t", "busybox", "sh", "-c", "tty; echo $TERM"])
        .ok();
    let lines: Vec<&str> = out.lines().map(|l| l.trim_end_matches('\r')).collect();
    // The terminal comes from the container's own devpts, as with Docker.
    assert_eq!(lines[0], "/dev/pts/0", "{out:?}");
    assert_eq!(lines[1], "xterm");
    env.berth(&["run", "-d", "--name", "term", "busybox", "sleep", "1000"])
        .ok();
    let out = env.berth(&["exec", "-t", "term", "tty"]).ok();
    assert!(out.trim_end_matches('\r').starts_with("/dev/pts/"), "{out:?}");
    let out = env
        .berth(&[
            "exec",
            "-t",
            "term",
            "sh",
            "-c",
            "[ -t 0 ] && [ -t 1 ] && echo terminal",
        ])
        .ok();
    assert_eq!(out.trim_end_matches('\r'), "terminal");
    let out = env
        .berth(&["exec", "term", "sh", "-c", "[ -t 1 ] || echo pipe"])
        .ok();
    assert_eq!(out, "pipe");
}

#[test]
fn vfs_driver_runs_containers_too() {
    let env = Env::empty();
    let tarball = env.dir.path().join("bb.tar.gz");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make-busybox-rootfs.sh");
    assert!(
        std::process::Command::new("bash")
            .arg(script)
            .arg(&tarball)
            .output()
            .unwrap()
            .status
            .success()
    );
    let vfs = |args: &[&str]| {
        let mut all = vec!["--storage-driver", "vfs"];
        all.extend_from_slice(args);
        env.berth(&all)
    };
    vfs(&["import", tarball.to_str().unwrap(), "busybox"]).ok();
    let out = vfs(&[
        "run",
        "--name",
        "v1",
        "busybox",
        "sh",
        "-c",
        "echo data > /root/f; cat /root/f",
    ])
    .ok();
    assert_eq!(out, "data");
    assert_eq!(env.inspect("v1", "{{.GraphDriver.Name}}"), "vfs");
    // The container's changes stay its own: a second container does not see them.
    assert_ne!(vfs(&["run", "--rm", "busybox", "cat", "/root/f"]).code, 0);
    // A store made with one driver refuses the other.
    let r = env.berth(&["--storage-driver", "overlay2", "images"]);
    assert_ne!(r.code, 0, "{}", r.stdout);
}
