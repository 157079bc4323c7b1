//! Bad input gets a clear one-line error, Docker's exit code, and leaves nothing half-made.

mod common;

use common::Env;

#[track_caller]
fn fails(env: &Env, args: &[&str], code: i32, needle: &str) {
    let r = env.berth(args);
    assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
    assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
    assert_eq!(
        r.stderr.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {}",
        r.stderr
    );
}

#[test]
fn bad_flags_and_values() {
    let env = Env::new();
    fails(
        &env,
        &["run", "-m", "12q", "busybox", "true"],
        125,
        "invalid argument \"12q\" for \"-m, --memory\" flag",
    );
    fails(&env, &["run", "--cpus", "lots", "busybox", "true"], 125, "--cpus");
    fails(
        &env,
        &["run", "--ulimit", "bogus=1", "busybox", "true"],
        125,
        "--ulimit",
    );
    fails(
        &env,
        &["run", "--cap-add", "FLY", "busybox", "true"],
        125,
        "unknown capability",
    );
    fails(
        &env,
        &["run", "--security-opt", "nonsense", "busybox", "true"],
        125,
        "security-opt",
    );
    fails(&env, &["run", "-v", "relative:dir", "busybox", "true"], 125, "");
    fails(
        &env,
        &["run", "--network", "mars", "busybox", "true"],
        125,
        "network mars not found",
    );
    fails(
        &env,
        &["run", "-m", "1k", "busybox", "true"],
        125,
        "Minimum memory limit",
    );
    fails(
        &env,
        &["run", "--name", "bad name", "busybox", "true"],
        125,
        "Invalid container name",
    );
    let r = env.berth(&["run", "--no-such-flag", "busybox"]);
    assert_eq!(r.code, 125);
    assert_eq!(
        env.berth(&["ps", "-aq"]).ok(),
        "",
        "no container may be left by a failed run"
    );
}

#[test]
fn unknown_things() {
    let env = Env::new();
    // An image id is never pulled (a name would be: see registry.rs).
    fails(
        &env,
        &["run", &format!("sha256:{}", "0".repeat(64))],
        125,
        "No such image",
    );
    fails(&env, &["start", "ghost"], 125, "No such container: ghost");
    fails(&env, &["stop", "ghost"], 1, "No such container: ghost");
    fails(&env, &["rm", "ghost"], 1, "No such container: ghost");
    fails(&env, &["logs", "ghost"], 1, "No such container: ghost");
    fails(&env, &["rmi", "ghost"], 1, "No such image");
    fails(&env, &["run", "Busybox"], 125, "must be lowercase");
    let r = env.berth(&["inspect", "ghost"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout.trim(), "[]");
}

#[test]
fn name_conflicts_are_clear_and_concurrency_safe() {
    let env = Env::new();
    env.berth(&["create", "--name", "dup", "busybox", "true"]).ok();
    fails(
        &env,
        &["create", "--name", "dup", "busybox", "true"],
        125,
        "is already in use",
    );
    // Eight CLIs racing for one name: exactly one wins.
    let children: Vec<_> = (0..8)
        .map(|_| {
            env.cmd(&["create", "--name", "race", "busybox", "true"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let wins = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .filter(|o| o.status.success())
        .count();
    assert_eq!(wins, 1);
    assert_eq!(
        env.berth(&["ps", "-a", "--filter", "name=race", "--format", "{{.Names}}"])
            .ok(),
        "race"
    );
}

/// A well-formed header (owner, time, mode set) of `kind` and `size`.
fn header(kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o755);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

#[test]
fn hostile_import_writes_nothing_outside() {
    let env = Env::new();
    let outside = env.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let busybox = std::fs::read("/bin/busybox").unwrap();
    let mut b = tar::Builder::new(Vec::new());
    // A real program, so the imported image can be run and looked at.
    let mut h = header(tar::EntryType::Regular, busybox.len() as u64);
    b.append_data(&mut h, "bin/busybox", &busybox[..]).unwrap();
    // A symlink to a host directory, then a file written "through" it.
    let mut h = header(tar::EntryType::Symlink, 0);
    b.append_link(&mut h, "escape", &outside).unwrap();
    let mut h = header(tar::EntryType::Regular, 5);
    b.append_data(&mut h, "escape/pwned", &b"owned"[..]).unwrap();
    // A name climbing out with `..`, written into the raw header (the tar crate refuses to build one).
    let mut h = header(tar::EntryType::Regular, 5);
    let name = b"../../../../../../tmp/berth-dotdot-pwned";
    h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
    h.set_cksum();
    b.append(&h, &b"owned"[..]).unwrap();
    // A hardlink to a host file.
    let mut h = header(tar::EntryType::Link, 0);
    b.append_link(&mut h, "passwd-link", "/etc/passwd").unwrap();
    let tarball = b.into_inner().unwrap();
    let r = env.berth_stdin(&["import", "-", "hostile"], &tarball);
    assert!(
        std::fs::read_dir(&outside).unwrap().next().is_none(),
        "a write went through a symlink out of the layer"
    );
    assert!(
        !std::path::Path::new("/tmp/berth-dotdot-pwned").exists(),
        "a .. path escaped the layer"
    );
    if r.code == 0 {
        // Where the import was accepted, what the entries became lies inside the image.
        let seen = env.berth(&[
            "run",
            "--rm",
            "hostile",
            "/bin/busybox",
            "find",
            "/",
            "-name",
            "*pwned*",
            "-xdev",
        ]);
        assert!(seen.stdout.contains("pwned"), "{} {}", seen.stdout, seen.stderr);
    } else {
        assert_eq!(r.stderr.trim_end().lines().count(), 1, "{}", r.stderr);
    }
}
