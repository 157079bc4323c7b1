//! The lifecycle verbs on real containers: detached runs, logs, ps, stop/kill/restart, pause, rename, wait, rm, top,
//! exec, and state that survives the CLI.

mod common;

use std::time::{Duration, Instant};

use common::Env;

#[test]
fn detached_container_outlives_cli_and_records_exit() {
    let env = Env::new();
    let id = env
        .berth(&[
            "run",
            "-d",
            "--name",
            "bg",
            "busybox",
            "sh",
            "-c",
            "echo started; sleep 1; exit 7",
        ])
        .ok();
    assert_eq!(id.len(), 64);
    assert_eq!(env.inspect("bg", "{{.State.Status}}"), "running");
    assert_eq!(env.berth(&["wait", "bg"]).ok(), "7");
    assert_eq!(
        env.inspect("bg", "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}"),
        "exited 7 false"
    );
    assert_eq!(env.berth(&["logs", "bg"]).ok(), "started");
    let finished = env.inspect("bg", "{{.State.FinishedAt}}");
    assert!(finished.starts_with("20"), "{finished}");
}

#[test]
fn ps_lists_filters_and_formats() {
    let env = Env::new();
    env.berth(&[
        "create",
        "--name",
        "made",
        "--label",
        "role=test",
        "busybox",
        "true",
    ])
    .ok();
    let run_id = env
        .berth(&["run", "-d", "--name", "runner", "busybox", "sleep", "1000"])
        .ok();
    let running = env.berth(&["ps", "--format", "{{.Names}}"]).ok();
    assert_eq!(running, "runner");
    let all = env
        .berth(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
        .ok();
    assert!(all.contains("made Created") && all.contains("runner Up"), "{all}");
    assert_eq!(
        env.berth(&[
            "ps",
            "-aq",
            "--filter",
            "label=role=test",
            "--format",
            "{{.Names}}"
        ])
        .ok()
        .len(),
        12
    );
    assert_eq!(
        env.berth(&["ps", "-a", "--filter", "status=created", "--format", "{{.Names}}"])
            .ok(),
        "made"
    );
    assert_eq!(env.berth(&["ps", "-q", "--no-trunc"]).ok(), run_id);
    let table = env.berth(&["ps"]).ok();
    let header = table.lines().next().unwrap();
    assert!(header.starts_with("CONTAINER ID   IMAGE     COMMAND"), "{header}");
    assert!(header.ends_with("NAMES"), "{header}");
    let r = env.berth(&["ps", "--filter", "colour=red"]);
    assert_ne!(r.code, 0);
}

#[test]
fn stop_kill_restart_and_signals() {
    let env = Env::new();
    env.berth(&["run", "-d", "--name", "ss", "busybox", "sleep", "1000"])
        .ok();
    let t = Instant::now();
    env.berth(&["stop", "-t", "1", "ss"]).ok();
    // sleep as pid 1 ignores SIGTERM: stop must fall back to SIGKILL after the grace period.
    assert!(t.elapsed() >= Duration::from_millis(900), "{:?}", t.elapsed());
    assert_eq!(env.inspect("ss", "{{.State.ExitCode}}"), "137");
    env.berth(&["start", "ss"]).ok();
    assert_eq!(env.inspect("ss", "{{.State.Status}}"), "running");
    env.berth(&["restart", "-t", "0", "ss"]).ok();
    assert_eq!(env.inspect("ss", "{{.State.Status}}"), "running");
    env.berth(&["kill", "-s", "KILL", "ss"]).ok();
    assert_eq!(env.berth(&["wait", "ss"]).ok(), "137");
    let r = env.berth(&["kill", "ss"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is not running"), "{}", r.stderr);
    // A shell that traps TERM exits by itself with the code it chooses.
    env.berth(&[
        "run",
        "-d",
        "--name",
        "tt",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 42' TERM; while true; do sleep 0.1; done",
    ])
    .ok();
    std::thread::sleep(Duration::from_millis(300));
    env.berth(&["stop", "tt"]).ok();
    assert_eq!(env.inspect("tt", "{{.State.ExitCode}}"), "42");
}

#[test]
fn pause_unpause_rename_top() {
    let env = Env::new();
    env.berth(&["run", "-d", "--name", "pp", "busybox", "sleep", "1000"])
        .ok();
    env.berth(&["pause", "pp"]).ok();
    assert_eq!(
        env.inspect("pp", "{{.State.Status}} {{.State.Paused}}"),
        "paused true"
    );
    assert!(
        env.berth(&["ps", "--format", "{{.Status}}"])
            .ok()
            .ends_with("(Paused)")
    );
    env.berth(&["unpause", "pp"]).ok();
    assert_eq!(env.inspect("pp", "{{.State.Status}}"), "running");
    env.berth(&["rename", "pp", "qq"]).ok();
    assert_eq!(env.inspect("qq", "{{.Name}}"), "/qq");
    assert_ne!(env.berth(&["inspect", "pp"]).code, 0);
    let top = env.berth(&["top", "qq"]).ok();
    assert!(top.lines().next().unwrap().starts_with("UID"), "{top}");
    assert!(top.contains("sleep 1000"), "{top}");
}

#[test]
fn rm_refuses_running_unless_forced() {
    let env = Env::new();
    env.berth(&["run", "-d", "--name", "rr", "busybox", "sleep", "1000"])
        .ok();
    let r = env.berth(&["rm", "rr"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("You cannot remove a running container"),
        "{}",
        r.stderr
    );
    env.berth(&["rm", "-f", "rr"]).ok();
    assert_eq!(env.berth(&["ps", "-aq"]).ok(), "");
    // The name is free again.
    env.berth(&["create", "--name", "rr", "busybox", "true"]).ok();
}

#[test]
fn exec_joins_the_container() {
    let env = Env::new();
    env.berth(&[
        "run", "-d", "--name", "xx", "-h", "inside", "-e", "BASE=1", "busybox", "sleep", "1000",
    ])
    .ok();
    let out = env
        .berth(&[
            "exec",
            "xx",
            "sh",
            "-c",
            "hostname; echo $BASE; ps -o comm | grep -c sleep",
        ])
        .ok();
    assert_eq!(out, "inside\n1\n1");
    assert_eq!(
        env.berth(&["exec", "-u", "nobody", "xx", "id", "-u"]).ok(),
        "65534"
    );
    assert_eq!(
        env.berth(&[
            "exec",
            "-w",
            "/tmp",
            "-e",
            "E=2",
            "xx",
            "sh",
            "-c",
            "pwd; echo $E"
        ])
        .ok(),
        "/tmp\n2"
    );
    assert_eq!(env.berth(&["exec", "xx", "sh", "-c", "exit 5"]).code, 5);
    let r = env.berth_stdin(&["exec", "-i", "xx", "cat"], b"piped\n");
    assert_eq!(r.ok(), "piped");
    // As Docker: a process that cannot start gives 126.
    assert_eq!(env.berth(&["exec", "xx", "nope"]).code, 126);
    // exec keeps the container's security: no CAP_SYS_ADMIN, so mounting fails.
    assert_ne!(
        env.berth(&["exec", "xx", "mount", "-t", "tmpfs", "tt", "/mnt"])
            .code,
        0
    );
    env.berth(&["stop", "-t", "0", "xx"]).ok();
    assert_ne!(env.berth(&["exec", "xx", "true"]).code, 0);
}

#[test]
fn logs_tail_timestamps_and_follow() {
    let env = Env::new();
    env.berth(&[
        "run",
        "--name",
        "ll",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3 4; do echo line$i; done",
    ])
    .ok();
    assert_eq!(env.berth(&["logs", "--tail", "2", "ll"]).ok(), "line3\nline4");
    let ts = env.berth(&["logs", "-t", "--tail", "1", "ll"]).ok();
    assert!(ts.starts_with("20") && ts.ends_with("Z line4"), "{ts}");
    env.berth(&[
        "run",
        "-d",
        "--name",
        "ff",
        "busybox",
        "sh",
        "-c",
        "echo a; sleep 1; echo b",
    ])
    .ok();
    let t = Instant::now();
    assert_eq!(env.berth(&["logs", "-f", "ff"]).ok(), "a\nb");
    assert!(
        t.elapsed() >= Duration::from_millis(500),
        "follow must wait for the exit"
    );
}

#[test]
fn create_then_start_attached() {
    let env = Env::new();
    env.berth(&["create", "--name", "cc", "busybox", "echo", "attached"])
        .ok();
    assert_eq!(env.inspect("cc", "{{.State.Status}}"), "created");
    assert_eq!(env.berth(&["start", "-a", "cc"]).ok(), "attached");
    assert_eq!(env.inspect("cc", "{{.State.Status}}"), "exited");
}

#[test]
fn foreground_run_forwards_signals() {
    let env = Env::new();
    let child = env
        .cmd(&[
            "run",
            "--rm",
            "--name",
            "fg",
            "busybox",
            "sh",
            "-c",
            "trap 'echo got-term; exit 9' TERM; while true; do sleep 0.1; done",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while env.berth(&["ps", "-q"]).stdout.trim().is_empty() {
        assert!(Instant::now() < deadline, "container never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(9));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got-term\n");
}

#[test]
fn killing_the_cli_leaves_the_container_supervised() {
    let env = Env::new();
    let mut child = env
        .cmd(&[
            "run",
            "--name",
            "orphan",
            "busybox",
            "sh",
            "-c",
            "sleep 1; echo done; exit 4",
        ])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while env.berth(&["ps", "-q"]).stdout.trim().is_empty() {
        assert!(Instant::now() < deadline, "container never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(env.berth(&["wait", "orphan"]).ok(), "4");
    assert_eq!(env.berth(&["logs", "orphan"]).ok(), "done");
}

/// The parent pid of `pid`, from /proc.
fn ppid(pid: &str) -> i32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_killed_shim_leaves_a_usable_container_and_an_honest_record() {
    let env = Env::new();
    env.berth(&["run", "-d", "--name", "lost", "busybox", "sleep", "1000"])
        .ok();
    let pid = env.inspect("lost", "{{.State.Pid}}");
    let shim = ppid(&pid);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(shim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    // The container runs on without its shim, and the lifecycle verbs still reach it.
    assert_eq!(env.inspect("lost", "{{.State.Status}}"), "running");
    assert_eq!(
        env.berth(&["exec", "lost", "echo", "still here"]).ok(),
        "still here"
    );
    env.berth(&["stop", "-t", "1", "lost"]).ok();
    // Nobody saw the exit code, so it is recorded as Docker's "unknown" once the process is gone.
    assert_eq!(
        env.inspect("lost", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 255"
    );
    env.berth(&["rm", "lost"]).ok();
}
