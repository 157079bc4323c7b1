//! `Engine::spawn_exec` on real containers: this test process plays the multi-threaded daemon, calling the engine
//! directly, and the exec helper is the real `berth` binary (`berth __exec`). Output and exit codes, stdin with a
//! half-close, a terminal with resizes, start failures, a killed process, detached execs that run to completion, and
//! no helper process left behind.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_engine::attach::{self, Kind};
use berth_engine::paths::Paths;
use berth_engine::{Engine, EngineOptions, Error, ExecRequest, ExecSession, ExecSessionOptions};
use berth_image::DriverChoice;
use common::Env;

fn engine(env: &Env) -> Engine {
    Engine::open(EngineOptions {
        paths: Paths::new(env.data_root(), env.exec_root()),
        storage_driver: DriverChoice::Auto,
        cgroup_parent: env.cgroup_parent.clone(),
        network: Default::default(),
        registry: Default::default(),
    })
    .unwrap()
}

fn berth_binary() -> Option<PathBuf> {
    Some(PathBuf::from(env!("CARGO_BIN_EXE_berth")))
}

fn request(cmd: &[&str]) -> ExecRequest {
    ExecRequest {
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn options(stdin: bool) -> ExecSessionOptions {
    ExecSessionOptions {
        stdin,
        console_size: None,
        program: berth_binary(),
    }
}

/// A running container `ctr` (`sleep 1000`).
fn env_with_container() -> Env {
    let env = Env::new();
    env.berth(&["run", "-d", "--name", "ctr", "busybox", "sleep", "1000"])
        .ok();
    env
}

#[derive(Debug, Default)]
struct Outcome {
    stdout: String,
    stderr: String,
    exit: Option<i32>,
}

/// Reads a session to its end: output frames, then the exit frame, then end of stream (the helper has closed its
/// end, i.e. exited).
fn finish(s: &mut ExecSession) -> Outcome {
    s.stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut out = Outcome::default();
    while let Some((kind, payload)) = attach::read_frame(&mut s.stream).unwrap() {
        assert!(out.exit.is_none(), "a {kind:?} frame after the exit frame");
        match kind {
            Kind::Stdout => out.stdout.push_str(&String::from_utf8_lossy(&payload)),
            Kind::Stderr => out.stderr.push_str(&String::from_utf8_lossy(&payload)),
            Kind::Exit => out.exit = attach::parse_exit(&payload).map(|(code, _)| code),
            other => panic!("unexpected {other:?} frame"),
        }
    }
    out
}

/// (pid, parent pid) of this test's exec helpers still running.
fn helpers(env: &Env) -> Vec<(i32, i32)> {
    let root = env.data_root().to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.get(1).map(String::as_str) == Some("__exec") && args.get(2) == Some(&root) {
            let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
            let ppid = status
                .lines()
                .find_map(|l| l.strip_prefix("PPid:"))
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or(0);
            found.push((pid, ppid));
        }
    }
    found
}

#[track_caller]
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[track_caller]
fn assert_no_helpers_left(env: &Env) {
    wait_for("the exec helpers to exit", || helpers(env).is_empty());
}

fn container_file(env: &Env, path: &str) -> PathBuf {
    let pid = env.inspect("ctr", "{{.State.Pid}}");
    Path::new("/proc")
        .join(pid)
        .join("root")
        .join(path.trim_start_matches('/'))
}

#[test]
fn output_and_exit_code_from_concurrent_sessions() {
    let env = env_with_container();
    let e = engine(&env);
    let script = "echo out $0; echo err $0 >&2; exit 3";
    // Several threads at once, as the daemon's blocking pool would.
    let outcomes: Vec<(i32, Outcome)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let e = &e;
                scope.spawn(move || {
                    let n = i.to_string();
                    let mut s = e
                        .spawn_exec("ctr", &request(&["sh", "-c", script, &n]), options(false))
                        .unwrap();
                    assert!(s.pid > 0);
                    (i, finish(&mut s))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, o) in outcomes {
        assert_eq!(o.stdout, format!("out {i}\n"));
        assert_eq!(o.stderr, format!("err {i}\n"));
        assert_eq!(o.exit, Some(3));
    }
    assert_no_helpers_left(&env);
}

#[test]
fn stdin_frames_then_half_close() {
    let env = env_with_container();
    let mut s = engine(&env)
        .spawn_exec("ctr", &request(&["cat"]), options(true))
        .unwrap();
    attach::write_frame(&mut s.stream, Kind::Stdin, b"hello ").unwrap();
    attach::write_frame(&mut s.stream, Kind::Stdin, b"world\n").unwrap();
    attach::write_frame(&mut s.stream, Kind::CloseStdin, &[]).unwrap();
    let o = finish(&mut s);
    assert_eq!((o.stdout.as_str(), o.exit), ("hello world\n", Some(0)));
    // Without stdin the process reads /dev/null, whatever the client sends.
    let mut s = engine(&env)
        .spawn_exec("ctr", &request(&["cat"]), options(false))
        .unwrap();
    let _ = attach::write_frame(&mut s.stream, Kind::Stdin, b"ignored\n");
    let o = finish(&mut s);
    assert_eq!((o.stdout.as_str(), o.exit), ("", Some(0)));
    assert_no_helpers_left(&env);
}

#[test]
fn terminal_with_initial_size_and_resize() {
    let env = env_with_container();
    let mut req = request(&[
        "sh",
        "-c",
        "stty size; read x; stty size; tty; echo to-stderr >&2",
    ]);
    req.tty = true;
    let opts = ExecSessionOptions {
        stdin: true,
        console_size: Some((30, 100)),
        program: berth_binary(),
    };
    let mut s = engine(&env).spawn_exec("ctr", &req, opts).unwrap();
    s.stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut seen = String::new();
    while !seen.contains("30 100") {
        let (kind, payload) = attach::read_frame(&mut s.stream).unwrap().unwrap();
        assert_eq!(kind, Kind::Stdout);
        seen.push_str(&String::from_utf8_lossy(&payload));
    }
    attach::write_frame(&mut s.stream, Kind::Resize, &attach::resize_payload(40, 120)).unwrap();
    attach::write_frame(&mut s.stream, Kind::Stdin, b"go\n").unwrap();
    let o = finish(&mut s);
    assert!(o.stdout.contains("40 120"), "{:?}", o.stdout);
    assert!(o.stdout.contains("/dev/pts/"), "{:?}", o.stdout);
    // With a terminal everything is stdout.
    assert!(o.stdout.contains("to-stderr"), "{:?}", o.stdout);
    assert_eq!((o.stderr.as_str(), o.exit), ("", Some(0)));
    assert_no_helpers_left(&env);
}

#[test]
fn commands_that_cannot_run_are_start_errors() {
    let env = env_with_container();
    let e = engine(&env);
    let err = e
        .spawn_exec("ctr", &request(&["no-such-command"]), options(false))
        .unwrap_err();
    assert!(matches!(err, Error::CommandNotFound(_)), "{err:?}");
    assert_eq!(err.exit_code(), 127);
    let err = e
        .spawn_exec("ctr", &request(&["/etc"]), options(false))
        .unwrap_err();
    assert!(matches!(err, Error::CannotInvoke(_)), "{err:?}");
    assert_eq!(err.exit_code(), 126);
    assert_no_helpers_left(&env);
}

#[test]
fn stopped_unknown_and_empty_are_refused_before_any_helper_starts() {
    let env = Env::new();
    env.berth(&["run", "--name", "done", "busybox", "true"]).ok();
    let e = engine(&env);
    // A helper program that cannot start: these errors come from the caller's own checks.
    let opts = ExecSessionOptions {
        program: Some(PathBuf::from("/nonexistent/berth")),
        ..Default::default()
    };
    let err = e
        .spawn_exec("done", &request(&["true"]), opts.clone())
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let err = e
        .spawn_exec("nosuch", &request(&["true"]), opts.clone())
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    env.berth(&["run", "-d", "--name", "ctr", "busybox", "sleep", "1000"])
        .ok();
    let err = e.spawn_exec("ctr", &request(&[]), opts.clone()).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    // The same helper program for a running container fails only at the spawn.
    let err = e.spawn_exec("ctr", &request(&["true"]), opts).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

#[test]
fn killed_process_exits_137_and_the_helper_is_not_our_child() {
    let env = env_with_container();
    let mut s = engine(&env)
        .spawn_exec("ctr", &request(&["sleep", "1000"]), options(false))
        .unwrap();
    // The helper was re-parented away from this process: nothing here to reap.
    let running = helpers(&env);
    assert_eq!(running.len(), 1, "{running:?}");
    assert_ne!(running[0].1, std::process::id() as i32);
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(s.pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    let o = finish(&mut s);
    assert_eq!(o.exit, Some(137));
    assert_no_helpers_left(&env);
}

#[test]
fn detached_sessions_run_to_completion() {
    let env = env_with_container();
    let e = engine(&env);
    // Output well beyond a pipe's buffer after the client has gone: it is drained and dropped, not blocking.
    let s = e
        .spawn_exec(
            "ctr",
            &request(&["sh", "-c", "sleep 0.2; seq 1 200000; touch /tmp/done"]),
            options(false),
        )
        .unwrap();
    drop(s);
    // A process reading its stdin gets end of file once its only client has gone.
    let s = e
        .spawn_exec(
            "ctr",
            &request(&["sh", "-c", "cat >/dev/null; touch /tmp/cat-done"]),
            options(true),
        )
        .unwrap();
    drop(s);
    let done = container_file(&env, "/tmp/done");
    let cat_done = container_file(&env, "/tmp/cat-done");
    wait_for("the detached commands", || done.exists() && cat_done.exists());
    assert_no_helpers_left(&env);
}

#[test]
fn a_large_environment_travels_on_the_socket_not_in_argv() {
    let env = env_with_container();
    // 300 KB in all: more than a socket buffer holds, and each variable near argv's per-string limit.
    let mut req = request(&["sh", "-c", "echo $((${#A} + ${#B} + ${#C})); cat"]);
    req.env = ["A", "B", "C"]
        .iter()
        .map(|name| format!("{name}={}", "x".repeat(100_000)))
        .collect();
    let mut s = engine(&env).spawn_exec("ctr", &req, options(true)).unwrap();
    let running = helpers(&env);
    assert_eq!(running.len(), 1, "{running:?}");
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", running[0].0)).unwrap();
    assert!(cmdline.len() < 4096, "the request leaked into argv");
    attach::write_frame(&mut s.stream, Kind::CloseStdin, &[]).unwrap();
    let o = finish(&mut s);
    assert_eq!((o.stdout.as_str(), o.exit), ("300000\n", Some(0)));
    assert_no_helpers_left(&env);
}
