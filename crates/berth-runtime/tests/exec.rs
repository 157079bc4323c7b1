//! exec into running containers (with pipes or a terminal), and `--init` mode: signal forwarding, zombie reaping,
//! exit statuses.

mod common;

use berth_runtime::{ExecRequest, KillTarget, ProcessIo, RootfsSource, SpawnRequest, Stdio, kill};
use common::{Rootfs, dev_null, docker_spec, isolated, pipe, read_all, run, wait};
use std::os::fd::AsFd;

#[test]
fn exec_joins_the_containers_namespaces() {
    let rootfs = Rootfs::new();
    let spec = docker_spec(&rootfs.path(), &["sleep", "30"]);
    let out = isolated(|| {
        let cache = tempfile::tempdir().expect("cache");
        let stdio = Stdio {
            stdin: dev_null(),
            stdout: dev_null(),
            stderr: dev_null(),
        };
        let req = SpawnRequest {
            spec: &spec,
            io: ProcessIo::Pipes(stdio),
            rootfs: RootfsSource::Ready,
            init: false,
            seccomp_cache: cache.path(),
        };
        let container = berth_runtime::spawn(req).expect("spawn");

        // The container is stopped and its cgroup removed before any assertion.
        let checks =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exec_twice(&spec, container.pid)));
        kill(KillTarget::Pidfd(container.pidfd.as_fd()), libc::SIGKILL).expect("kill");
        let container_code = wait(container.pid);
        assert!(common::destroy_cgroup(&spec));
        let checks = checks.unwrap_or_else(|_| "exec panicked".into());
        format!("{checks}|{container_code}")
    });
    assert_eq!(
        out, "0|berth-test\nsleep\u{0}30\u{0}\ncgroup-root\n/tmp\n|Err(127)|137",
        "{out:?}"
    );
}

/// Runs a shell that reports what it sees, then a missing command; returns "code|output|missing".
fn exec_twice(spec: &oci_spec::runtime::Spec, container_pid: i32) -> String {
    let cache = tempfile::tempdir().expect("cache");
    let mut process = spec.process().clone().expect("process");
    let script =
        "hostname; cat /proc/1/cmdline; echo; grep -v ':/$' /proc/self/cgroup || echo cgroup-root; echo $PWD";
    process.set_args(Some(["sh", "-c", script].iter().map(|s| s.to_string()).collect()));
    process.set_cwd("/tmp".into());
    let (out_r, out_w) = pipe();
    let stdio = Stdio {
        stdin: dev_null(),
        stdout: out_w,
        stderr: dev_null(),
    };
    let req = ExecRequest {
        container_pid,
        spec,
        process: &process,
        io: ProcessIo::Pipes(stdio),
        seccomp_cache: cache.path(),
    };
    let execd = berth_runtime::exec(req).expect("exec");
    let output = read_all(out_r);
    let code = wait(execd.pid);

    // A missing command is reported like on spawn.
    process.set_args(Some(vec!["nosuchcmd".into()]));
    let stdio = Stdio {
        stdin: dev_null(),
        stdout: dev_null(),
        stderr: dev_null(),
    };
    let req = ExecRequest {
        container_pid,
        spec,
        process: &process,
        io: ProcessIo::Pipes(stdio),
        seccomp_cache: cache.path(),
    };
    let missing = berth_runtime::exec(req).map(|s| s.pid).map_err(|e| e.exit_code());
    format!("{code}|{output}|{missing:?}")
}

#[test]
fn exec_with_a_terminal_gets_a_pty_of_the_containers_devpts() {
    let rootfs = Rootfs::new();
    let spec = docker_spec(&rootfs.path(), &["sleep", "30"]);
    let out = isolated(|| {
        let cache = tempfile::tempdir().expect("cache");
        let req = SpawnRequest {
            spec: &spec,
            io: ProcessIo::Pipes(common::null_stdio()),
            rootfs: RootfsSource::Ready,
            init: false,
            seccomp_cache: cache.path(),
        };
        let container = berth_runtime::spawn(req).expect("spawn");
        let checks = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            exec_on_a_terminal(&spec, container.pid, cache.path())
        }));
        kill(KillTarget::Pidfd(container.pidfd.as_fd()), libc::SIGKILL).expect("kill");
        wait(container.pid);
        assert!(common::destroy_cgroup(&spec));
        checks.unwrap_or_else(|_| "exec panicked".into())
    });
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0", "{out}");
    // The echo of the typed line may come anywhere in the output.
    assert!(lines.iter().any(|l| l.starts_with("/dev/pts/")), "{out}");
    for want in ["tty0", "tty1", "tty2", "24 100", "got:ping"] {
        assert!(lines.contains(&want), "{want} missing: {out}");
    }
    assert_eq!(
        lines.last(),
        Some(&"invalid spec: process.terminal is set but no terminal was requested"),
        "{out}"
    );
}

/// Runs a shell on a terminal in the container; returns its exit code and what the terminal showed, then the
/// error of an exec that asks for pipes where the process wants a terminal.
fn exec_on_a_terminal(spec: &oci_spec::runtime::Spec, container_pid: i32, cache: &std::path::Path) -> String {
    let mut process = spec.process().clone().expect("process");
    let script =
        "tty; for fd in 0 1 2; do test -t $fd && echo tty$fd; done; stty size; read line; echo got:$line";
    process.set_args(Some(["sh", "-c", script].iter().map(|s| s.to_string()).collect()));
    process.set_terminal(Some(true));
    let req = ExecRequest {
        container_pid,
        spec,
        process: &process,
        io: ProcessIo::Terminal {
            size: Some((24, 100)),
        },
        seccomp_cache: cache,
    };
    let execd = berth_runtime::exec(req).expect("exec");
    let master = execd.console.expect("the terminal's master");
    rustix::io::write(&master, b"ping\n").expect("write to the terminal");
    let output = common::read_terminal(&master);
    let code = wait(execd.pid);
    let req = ExecRequest {
        container_pid,
        spec,
        process: &process,
        io: ProcessIo::Pipes(common::null_stdio()),
        seccomp_cache: cache,
    };
    let refused = match berth_runtime::exec(req) {
        Err(e) => e.to_string(),
        Ok(s) => format!("unexpected success {}", s.pid),
    };
    format!("{code}\n{output}{refused}")
}

#[test]
fn init_forwards_signals_and_reaps_orphans() {
    let rootfs = Rootfs::new();
    // The orphaned sleep is re-parented to pid 1, which must reap it; then SIGTERM must reach the command.
    let script = "trap 'echo term; exit 7' TERM; (sleep 0.05 &); sleep 0.3; \
                  echo pid $$; grep -l ' Z ' /proc/[0-9]*/stat || echo no-zombies; echo ready; \
                  while true; do sleep 0.02; done";
    let spec = docker_spec(&rootfs.path(), &["sh", "-c", script]);
    let out = isolated(|| {
        let (out_r, out_w) = pipe();
        let cache = tempfile::tempdir().expect("cache");
        let stdio = Stdio {
            stdin: dev_null(),
            stdout: out_w,
            stderr: dev_null(),
        };
        let req = SpawnRequest {
            spec: &spec,
            io: ProcessIo::Pipes(stdio),
            rootfs: RootfsSource::Ready,
            init: true,
            seccomp_cache: cache.path(),
        };
        let spawned = berth_runtime::spawn(req).expect("spawn");
        let mut out = std::fs::File::from(out_r);
        let mut seen = String::new();
        let mut buf = [0u8; 256];
        while !seen.contains("ready") {
            let n = std::io::Read::read(&mut out, &mut buf).expect("read");
            assert!(n > 0, "container ended early: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        kill(KillTarget::Pid(spawned.pid), libc::SIGTERM).expect("kill");
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).expect("read");
        let code = wait(spawned.pid);
        assert!(common::destroy_cgroup(&spec));
        format!("{code}|{seen}{rest}")
    });
    assert_eq!(out, "7|pid 2\nno-zombies\nready\nterm\n", "{out}");
}

#[test]
fn init_reports_a_killed_command_as_128_plus_signal() {
    let rootfs = Rootfs::new();
    let spec = docker_spec(&rootfs.path(), &["sh", "-c", "kill -9 $$"]);
    let out = isolated(|| format!("{}", run(&spec, RootfsSource::Ready, true).expect("spawn").code));
    assert_eq!(out, "137");
    let spec = docker_spec(&rootfs.path(), &["nosuchcmd"]);
    let out = isolated(|| {
        format!(
            "{:?}",
            run(&spec, RootfsSource::Ready, true)
                .map(|r| r.code)
                .map_err(|e| e.exit_code())
        )
    });
    assert_eq!(out, "Err(127)");
}

#[test]
fn spawn_joins_namespaces_given_by_path() {
    let rootfs = Rootfs::new();
    let first = docker_spec(&rootfs.path(), &["sleep", "30"]);
    let out = isolated(|| {
        let cache = tempfile::tempdir().expect("cache");
        let stdio = Stdio {
            stdin: dev_null(),
            stdout: dev_null(),
            stderr: dev_null(),
        };
        let req = SpawnRequest {
            spec: &first,
            io: ProcessIo::Pipes(stdio),
            rootfs: RootfsSource::Ready,
            init: false,
            seccomp_cache: cache.path(),
        };
        let container = berth_runtime::spawn(req).expect("spawn");

        // A second container in the first one's pid, network and uts namespaces (like `--pid container:X`).
        let mut second = docker_spec(
            &rootfs.path(),
            &["sh", "-c", "cat /proc/1/cmdline; echo; hostname"],
        );
        second.set_hostname(None);
        let linux = second.linux_mut().as_mut().expect("linux");
        let mut namespaces = linux.namespaces().clone().expect("namespaces");
        for ns in &mut namespaces {
            let name = match ns.typ() {
                oci_spec::runtime::LinuxNamespaceType::Pid => "pid",
                oci_spec::runtime::LinuxNamespaceType::Network => "net",
                oci_spec::runtime::LinuxNamespaceType::Uts => "uts",
                _ => continue,
            };
            ns.set_path(Some(format!("/proc/{}/ns/{name}", container.pid).into()));
        }
        linux.set_namespaces(Some(namespaces));
        let result =
            std::panic::catch_unwind(|| run(&second, RootfsSource::Ready, false).expect("spawn").stdout);

        kill(KillTarget::Pidfd(container.pidfd.as_fd()), libc::SIGKILL).expect("kill");
        wait(container.pid);
        assert!(common::destroy_cgroup(&first));
        result.unwrap_or_else(|_| "second container failed".into())
    });
    assert_eq!(out, "sleep\u{0}30\u{0}\nberth-test\n", "{out:?}");
}
