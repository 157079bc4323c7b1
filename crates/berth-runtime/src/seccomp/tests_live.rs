//! Live tests: filters installed in a spawned child (from `pre_exec`, right before execve, as the
//! runtime does) and checked by what real syscalls and programs do under them.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

use oci_spec::runtime::{Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSyscall};

use super::{Program, compile, docker_default, install};

/// Runs `program` with `args` after installing `filter` and then running `checks` in the child.
/// `checks` returns `Err` (any errno) to fail the spawn.
fn run_filtered(
    filter: &Program,
    checks: fn() -> io::Result<()>,
    program: &str,
    args: &[&str],
) -> io::Result<Output> {
    let filter = filter.clone();
    let mut cmd = Command::new(program);
    cmd.args(args);
    // SAFETY: the closure only makes syscalls (no allocation, no locks), as a forked child must.
    unsafe {
        cmd.pre_exec(move || {
            install(&filter).map_err(|_| io::Error::from_raw_os_error(libc::ENOTRECOVERABLE))?;
            checks()
        });
    }
    cmd.output()
}

fn no_checks() -> io::Result<()> {
    Ok(())
}

/// Fails with `code` unless `ret` is -1 with errno `expected`.
fn expect_errno(ret: libc::c_long, expected: i32, code: i32) -> io::Result<()> {
    if ret == -1 && io::Error::last_os_error().raw_os_error() == Some(expected) {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(code))
    }
}

fn deny_uname() -> Program {
    let mut uname = LinuxSyscall::default();
    uname
        .set_names(vec!["uname".into()])
        .set_action(LinuxSeccompAction::ScmpActErrno);
    let mut profile = LinuxSeccomp::default();
    profile
        .set_default_action(LinuxSeccompAction::ScmpActAllow)
        .set_syscalls(Some(vec![uname]));
    compile(&profile).unwrap()
}

#[test]
fn denied_syscall_fails_with_eperm_and_others_work() {
    let filter = deny_uname();
    let out = run_filtered(&filter, no_checks, "/bin/uname", &["-s"]).unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Operation not permitted"), "stderr: {stderr}");

    let out = run_filtered(&filter, no_checks, "/bin/echo", &["still", "works"]).unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"still works\n");
    // Without the filter, uname works: the failure above came from the filter.
    assert!(
        Command::new("/bin/uname")
            .arg("-s")
            .output()
            .unwrap()
            .status
            .success()
    );
}

/// Checks, under Docker's default profile without CAP_SYS_ADMIN, the conditional rules.
fn docker_default_checks() -> io::Result<()> {
    // SAFETY: plain syscalls; the fork-like clone's child exits at once without touching memory.
    unsafe {
        let ns_clone = libc::CLONE_NEWUTS as libc::c_ulong | libc::SIGCHLD as libc::c_ulong;
        expect_errno(
            libc::syscall(libc::SYS_clone, ns_clone, 0, 0, 0, 0),
            libc::EPERM,
            libc::EXDEV,
        )?;
        expect_errno(libc::unshare(libc::CLONE_NEWNS).into(), libc::EPERM, libc::EXFULL)?;
        expect_errno(libc::syscall(libc::SYS_clone3, 0, 0), libc::ENOSYS, libc::EBADE)?;
        expect_errno(
            libc::socket(libc::AF_VSOCK, libc::SOCK_STREAM, 0).into(),
            libc::EPERM,
            libc::EBADR,
        )?;
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADRQC));
        }
        libc::close(fd);
        let pid = libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0);
        if pid == 0 {
            libc::_exit(0);
        }
        if pid < 0 || libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0) != pid as libc::pid_t {
            return Err(io::Error::from_raw_os_error(libc::EBADSLT));
        }
    }
    Ok(())
}

#[test]
fn docker_default_profile_in_a_real_child() {
    let filter = compile(&docker_default(&[Capability::Chown, Capability::Setuid])).unwrap();
    let out = run_filtered(
        &filter,
        docker_default_checks,
        "/bin/sh",
        &["-c", "echo ok; ls / >/dev/null"],
    )
    .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"ok\n");

    let out = run_filtered(&filter, no_checks, "/usr/bin/unshare", &["--uts", "true"]).unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"));
}

#[test]
fn docker_default_with_sys_admin_allows_namespaces() {
    let filter = compile(&docker_default(&[Capability::SysAdmin])).unwrap();
    let out = run_filtered(&filter, no_checks, "/usr/bin/unshare", &["--uts", "true"]).unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
