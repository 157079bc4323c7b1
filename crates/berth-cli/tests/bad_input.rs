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
        "invalid size: '12q'",
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
    fails(&env, &["run", "nosuchimage"], 125, "No such image");
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

#[test]
fn hostile_import_writes_nothing_outside() {
    let env = Env::empty();
    let outside = env.dir.path().join("outside");
    let mut b = tar::Builder::new(Vec::new());
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    link.set_mode(0o777);
    b.append_link(&mut link, "escape", &outside).unwrap();
    let mut file = tar::Header::new_gnu();
    file.set_size(5);
    file.set_mode(0o644);
    file.set_cksum();
    b.append_data(&mut file, "escape/pwned", &b"owned"[..]).unwrap();
    let mut dotdot = tar::Header::new_gnu();
    dotdot.set_size(5);
    dotdot.set_mode(0o644);
    {
        let name = b"../../../../../../tmp/berth-dotdot-pwned";
        let gnu = dotdot.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name);
    }
    dotdot.set_cksum();
    b.append(&dotdot, &b"owned"[..]).unwrap();
    let tarball = b.into_inner().unwrap();
    let _ = env.berth_stdin(&["import", "-", "hostile"], &tarball);
    assert!(
        !outside.exists(),
        "a write went through a symlink out of the layer"
    );
    assert!(
        !std::path::Path::new("/tmp/berth-dotdot-pwned").exists(),
        "a .. path escaped the layer"
    );
}
