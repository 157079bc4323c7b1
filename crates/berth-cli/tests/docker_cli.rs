//! The stock `docker` CLI against `berth daemon`: the verbs a Docker user runs, checked for the output and exit
//! codes Docker gives.

mod common;

use common::daemon::Daemon;

#[test]
fn version_and_info_negotiate_1_41() {
    let d = Daemon::start();
    assert_eq!(
        d.docker(&["version", "--format", "{{.Server.APIVersion}}"]).ok(),
        "1.41"
    );
    let info = d
        .docker(&["info", "--format", "{{.Images}} {{.OSType}} {{.LoggingDriver}}"])
        .ok();
    assert_eq!(info, "1 linux json-file");
}

#[test]
fn run_attached_gives_output_and_exit_code() {
    let d = Daemon::start();
    let r = d.docker(&["run", "--rm", "busybox", "echo", "hello"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "hello\n"), "{}", r.stderr);
    let r = d.docker(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(r.code, 7);
    assert_eq!(r.stdout, "out\n");
    assert_eq!(r.stderr, "err\n");
    // --rm removed both.
    assert_eq!(d.docker(&["ps", "-aq"]).ok(), "");
}

#[test]
fn run_options_reach_the_container() {
    let d = Daemon::start();
    let host_dir = d.env.dir.path().join("shared");
    std::fs::create_dir(&host_dir).unwrap();
    std::fs::write(host_dir.join("f"), "from-host").unwrap();
    let bind = format!("{}:/mnt", host_dir.display());
    let out = d
        .docker(&[
            "run",
            "--rm",
            "-e",
            "GREETING=hi",
            "-w",
            "/tmp",
            "-u",
            "65534",
            "-v",
            &bind,
            "busybox",
            "sh",
            "-c",
            "echo $GREETING; pwd; id -u; cat /mnt/f",
        ])
        .ok();
    assert_eq!(out, "hi\n/tmp\n65534\nfrom-host");
}

#[test]
fn run_with_stdin() {
    let d = Daemon::start();
    let r = d.docker_stdin(
        &["run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done"],
        b"line1\nline2\n",
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "line1\nline2\ndone\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn missing_image_and_command_errors() {
    let d = Daemon::start();
    let r = d.docker(&["run", "--rm", "busybox", "/nonexistent"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    // The CLI pulls a missing image: from a loopback port where nothing listens.
    let r = d.docker(&["run", "--rm", "127.0.0.1:1/nosuchimage:1"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("nosuchimage"), "{}", r.stderr);
    let r = d.docker(&["inspect", "nosuchcontainer"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("No such object") || r.stderr.contains("No such container"),
        "{}",
        r.stderr
    );
}

#[test]
fn detached_lifecycle() {
    let d = Daemon::start();
    let id = d
        .docker(&[
            "run",
            "-d",
            "--name",
            "web",
            "busybox",
            "sh",
            "-c",
            "echo started; trap 'exit 3' TERM; while :; do sleep 0.1; done",
        ])
        .ok();
    assert_eq!(id.len(), 64);
    let ps = d
        .docker(&["ps", "--format", "{{.Names}} {{.Image}} {{.State}}"])
        .ok();
    assert_eq!(ps, "web busybox running");
    // Logs, followed until the container exits.
    let follower = d
        .docker_cmd(&["logs", "-f", "web"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(d.docker(&["top", "web"]).ok().contains("sleep"));
    d.docker(&["pause", "web"]).ok();
    assert_eq!(
        d.docker(&["inspect", "-f", "{{.State.Status}}", "web"]).ok(),
        "paused"
    );
    d.docker(&["unpause", "web"]).ok();
    d.docker(&["rename", "web", "web2"]).ok();
    assert_eq!(d.docker(&["stop", "web2"]).ok(), "web2");
    assert_eq!(d.docker(&["wait", "web2"]).ok(), "3");
    let out = follower.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "started\n");
    d.docker(&["restart", "web2"]).ok();
    assert_eq!(
        d.docker(&["inspect", "-f", "{{.State.Running}}", "web2"]).ok(),
        "true"
    );
    d.docker(&["kill", "web2"]).ok();
    assert_eq!(d.docker(&["wait", "web2"]).ok(), "137");
    assert_eq!(d.docker(&["rm", "web2"]).ok(), "web2");
    assert_eq!(d.docker(&["ps", "-aq"]).ok(), "");
}

#[test]
fn rm_force_and_conflicts() {
    let d = Daemon::start();
    d.docker(&["run", "-d", "--name", "sl", "busybox", "sleep", "100"])
        .ok();
    let r = d.docker(&["rm", "sl"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("cannot remove a running container"),
        "{}",
        r.stderr
    );
    let r = d.docker(&["run", "-d", "--name", "sl", "busybox", "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("is already in use"), "{}", r.stderr);
    assert_eq!(d.docker(&["rm", "-f", "sl"]).ok(), "sl");
}

#[test]
fn exec_output_exit_code_and_stdin() {
    let d = Daemon::start();
    d.docker(&["run", "-d", "--name", "box", "busybox", "sleep", "100"])
        .ok();
    assert_eq!(d.docker(&["exec", "box", "echo", "hi"]).ok(), "hi");
    assert_eq!(d.docker(&["exec", "box", "sh", "-c", "exit 4"]).code, 4);
    assert_eq!(
        d.docker(&[
            "exec",
            "-u",
            "65534",
            "-w",
            "/tmp",
            "-e",
            "X=y",
            "box",
            "sh",
            "-c",
            "id -u; pwd; echo $X"
        ])
        .ok(),
        "65534\n/tmp\ny"
    );
    let r = d.docker_stdin(&["exec", "-i", "box", "cat"], b"piped");
    assert_eq!((r.code, r.stdout.as_str()), (0, "piped"));
    // As Docker: a process that cannot start is exit code 126, its reason in the output.
    let r = d.docker(&["exec", "box", "nosuchcmd"]);
    assert_eq!(r.code, 126, "{} {}", r.stdout, r.stderr);
    assert!(r.stdout.contains("nosuchcmd"), "{}", r.stdout);
    d.docker(&["exec", "-d", "box", "touch", "/tmp/detached"]).ok();
    let mut found = false;
    for _ in 0..50 {
        if d.docker(&["exec", "box", "ls", "/tmp/detached"]).code == 0 {
            found = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(found, "detached exec did not run");
    d.docker(&["rm", "-f", "box"]).ok();
}

#[test]
fn tty_session_through_a_terminal() {
    let d = Daemon::start();
    // `script` gives the docker CLI a real terminal; the container's shell reads what we type.
    let cmd = format!(
        "DOCKER_HOST={} DOCKER_CONFIG={} docker run -it --rm busybox sh",
        d.host(),
        d.env.dir.path().join("docker-config").display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
        stdin.write_all(b"tty; echo sum-$((40+2))\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        stdin.write_all(b"exit 5\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("sum-42"), "{stdout}");
    assert!(stdout.contains("/dev/pts/0"), "{stdout}");
    assert_eq!(out.status.code(), Some(5), "{stdout}");

    // The tty has the terminal's size from its first instant (ConsoleSize at create), not only after a resize.
    for cli in ["docker", env!("CARGO_BIN_EXE_berth")] {
        let cmd = format!(
            "stty rows 33 cols 97; DOCKER_HOST={host} BERTH_HOST={host} DOCKER_CONFIG={} {cli} run -t --rm busybox stty size",
            d.env.dir.path().join("docker-config").display(),
            host = d.host(),
        );
        let out = std::process::Command::new("script")
            .args(["-q", "-e", "-c", &cmd, "/dev/null"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("33 97"), "{cli}: {stdout}");
    }
}

#[test]
fn images_import_tag_rmi() {
    let d = Daemon::start();
    let tar = d.env.dir.path().join("rootfs.tar");
    std::fs::write(&tar, tar_of_one_file()).unwrap();
    let id = d.docker(&["import", tar.to_str().unwrap(), "mini:1"]).ok();
    assert!(id.starts_with("sha256:"), "{id}");
    d.docker(&["tag", "mini:1", "mini:2"]).ok();
    let listed = d
        .docker(&["images", "--format", "{{.Repository}}:{{.Tag}}", "mini"])
        .ok();
    let mut listed: Vec<&str> = listed.lines().collect();
    listed.sort();
    assert_eq!(listed, ["mini:1", "mini:2"]);
    assert_eq!(d.docker(&["rmi", "mini:2"]).ok(), "Untagged: mini:2");
    let out = d.docker(&["rmi", "mini:1"]).ok();
    assert!(
        out.contains("Untagged: mini:1") && out.contains("Deleted: sha256:"),
        "{out}"
    );
    assert_eq!(
        d.docker(&["image", "inspect", "-f", "{{.Os}}", "busybox"]).ok(),
        "linux"
    );
}

/// A tar holding one regular file.
fn tar_of_one_file() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    b.append_data(&mut h, "hello.txt", &b"hi"[..]).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn events_record_the_lifecycle() {
    let d = Daemon::start();
    d.docker(&["run", "--rm", "--name", "ev", "busybox", "true"]).ok();
    let until = common::unix_now_plus(1);
    let out = d
        .docker(&[
            "events",
            "--since",
            "0",
            "--until",
            &until,
            "--filter",
            "container=ev",
            "--format",
            "{{.Action}}",
        ])
        .ok();
    let actions: Vec<&str> = out.lines().collect();
    for want in ["create", "attach", "start", "die", "destroy"] {
        assert!(actions.contains(&want), "{want} missing from {actions:?}");
    }
}

#[test]
fn save_load_and_history() {
    let d = Daemon::start();
    let archive = d.env.dir.path().join("busybox.tar");
    let id = d.docker(&["image", "inspect", "-f", "{{.Id}}", "busybox"]).ok();
    d.docker(&["save", "-o", archive.to_str().unwrap(), "busybox"])
        .ok();
    d.docker(&["rmi", "busybox"]).ok();
    assert_eq!(d.docker(&["images", "-q"]).ok(), "");
    let out = d.docker(&["load", "-i", archive.to_str().unwrap()]).ok();
    assert_eq!(out, "Loaded image: busybox:latest");
    assert_eq!(
        d.docker(&["image", "inspect", "-f", "{{.Id}}", "busybox"]).ok(),
        id
    );
    let history = d
        .docker(&["history", "--format", "{{.ID}} {{.CreatedBy}}", "busybox"])
        .ok();
    assert!(history.starts_with(&id[7..19]), "{history}");
    // The loaded image runs.
    assert_eq!(
        d.docker(&["run", "--rm", "busybox", "echo", "loaded"]).ok(),
        "loaded"
    );
}

#[test]
fn cp_both_ways_diff_and_export() {
    let d = Daemon::start();
    d.docker(&["run", "-d", "--name", "files", "busybox", "sleep", "100"])
        .ok();
    let dir = d.env.dir.path();
    std::fs::write(dir.join("in.txt"), "into the container").unwrap();
    d.docker(&["cp", dir.join("in.txt").to_str().unwrap(), "files:/tmp/"])
        .ok();
    assert_eq!(
        d.docker(&["exec", "files", "cat", "/tmp/in.txt"]).ok(),
        "into the container"
    );
    d.docker(&["exec", "files", "sh", "-c", "echo out > /root/out.txt"])
        .ok();
    let dest = dir.join("copied");
    d.docker(&["cp", "files:/root/out.txt", dest.to_str().unwrap()])
        .ok();
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "out\n");
    // A missing path is Docker's error.
    let r = d.docker(&["cp", "files:/nope", dir.to_str().unwrap()]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("Could not find the file /nope"), "{}", r.stderr);
    let diff = d.docker(&["diff", "files"]).ok();
    assert!(diff.lines().any(|l| l == "A /tmp/in.txt"), "{diff}");
    assert!(diff.lines().any(|l| l == "A /root/out.txt"), "{diff}");
    let export = dir.join("export.tar");
    d.docker(&["export", "-o", export.to_str().unwrap(), "files"])
        .ok();
    let mut archive = tar::Archive::new(std::fs::File::open(&export).unwrap());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.trim_start_matches("./") == "bin/busybox"),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.trim_start_matches("./") == "tmp/in.txt"),
        "{names:?}"
    );
    // Into a stopped container too.
    d.docker(&["stop", "-t", "0", "files"]).ok();
    d.docker(&[
        "cp",
        dir.join("in.txt").to_str().unwrap(),
        "files:/in-stopped.txt",
    ])
    .ok();
    d.docker(&["start", "files"]).ok();
    assert_eq!(
        d.docker(&["exec", "files", "cat", "/in-stopped.txt"]).ok(),
        "into the container"
    );
    d.docker(&["rm", "-f", "files"]).ok();
}

#[test]
fn stats_update_and_prune() {
    let d = Daemon::start();
    d.docker(&[
        "run",
        "-d",
        "--name",
        "busy",
        "-m",
        "64m",
        "busybox",
        "sh",
        "-c",
        "while :; do :; done",
    ])
    .ok();
    let out = d
        .docker(&[
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.CPUPerc}} {{.MemUsage}}",
            "busy",
        ])
        .ok();
    assert!(out.starts_with("busy "), "{out}");
    assert!(out.contains("64MiB"), "{out}");
    let cpu: f64 = out
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!(cpu > 10.0, "a spinning container should use CPU: {out}");
    d.docker(&["update", "-m", "96m", "--memory-swap", "192m", "busy"])
        .ok();
    assert_eq!(
        d.docker(&["inspect", "-f", "{{.HostConfig.Memory}}", "busy"])
            .ok(),
        (96 << 20).to_string()
    );
    d.docker(&["create", "--name", "idle", "busybox", "true"]).ok();
    let pruned = d.docker(&["container", "prune", "-f"]).ok();
    assert!(pruned.contains("Deleted Containers:"), "{pruned}");
    let names = d.docker(&["ps", "-a", "--format", "{{.Names}}"]).ok();
    assert_eq!(names, "busy");
    d.docker(&["rm", "-f", "busy"]).ok();
}

#[test]
fn attach_to_a_running_container() {
    let d = Daemon::start();
    d.docker(&[
        "run",
        "-d",
        "--name",
        "talker",
        "busybox",
        "sh",
        "-c",
        "sleep 1; echo one; echo two >&2; exit 6",
    ])
    .ok();
    let r = d.docker(&["attach", "talker"]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert_eq!(r.stdout, "one\n");
    assert_eq!(r.stderr, "two\n");
    d.docker(&["rm", "talker"]).ok();
}
