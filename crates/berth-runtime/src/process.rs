//! The last stage before the user's program runs, shared by container start and exec: session and terminal,
//! stdio, rlimits, oom score, working directory, user and groups, capabilities, no_new_privileges, seccomp, and
//! execve with exactly the spec's environment, the command looked up in the spec's PATH.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{PosixRlimitType, Process};

use crate::capabilities::{self, CapSets};
use crate::error::{Context, SpawnError};
use crate::seccomp::Program;

/// The three descriptors that become the process's stdin, stdout and stderr.
#[derive(Debug)]
pub struct Stdio {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// What the process's stdin, stdout and stderr are.
#[derive(Debug)]
pub enum ProcessIo {
    /// Descriptors of the caller's (pipes, files, /dev/null); `process.terminal` must be false.
    Pipes(Stdio),
    /// A new terminal of the container's own devpts instance, its slave the process's controlling terminal and
    /// stdio; the master is returned in `Spawned::console`. `process.terminal` must be true. `size` is the initial
    /// window size, (rows, columns).
    Terminal { size: Option<(u16, u16)> },
}

impl ProcessIo {
    /// Checks that the request agrees with `process.terminal`.
    pub(crate) fn check(&self, process: &Process) -> Result<(), SpawnError> {
        match (self, process.terminal().unwrap_or(false)) {
            (ProcessIo::Pipes(_), true) => Err(SpawnError::InvalidSpec(
                "process.terminal is set but no terminal was requested".into(),
            )),
            (ProcessIo::Terminal { .. }, false) => Err(SpawnError::InvalidSpec(
                "a terminal was requested but process.terminal is not set".into(),
            )),
            _ => Ok(()),
        }
    }
}

impl Stdio {
    /// Stdio that is the terminal `slave` three times.
    pub(crate) fn terminal(slave: OwnedFd) -> Result<Stdio, SpawnError> {
        Ok(Stdio {
            stdin: slave.try_clone().ctx(|| "dup terminal".into())?,
            stdout: slave.try_clone().ctx(|| "dup terminal".into())?,
            stderr: slave,
        })
    }
}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Resolves a command like execvp, but with the container's PATH: names with a slash are used as they are;
/// others are searched for as executable regular files in `path_var`.
pub(crate) fn lookup(cmd: &str, path_var: Option<&str>) -> Result<PathBuf, SpawnError> {
    if cmd.is_empty() {
        return Err(SpawnError::NotFound(cmd.into()));
    }
    if cmd.contains('/') {
        return Ok(PathBuf::from(cmd));
    }
    for dir in path_var.unwrap_or(DEFAULT_PATH).split(':') {
        let candidate = Path::new(if dir.is_empty() { "." } else { dir }).join(cmd);
        if let Ok(meta) = std::fs::metadata(&candidate)
            && meta.is_file()
            && meta.permissions().mode() & 0o111 != 0
        {
            return Ok(candidate);
        }
    }
    Err(SpawnError::NotFound(cmd.into()))
}

fn cstring(s: &[u8]) -> Result<CString, SpawnError> {
    CString::new(s).map_err(|_| SpawnError::InvalidSpec("argument or environment contains a NUL byte".into()))
}

fn rlimit_resource(typ: PosixRlimitType) -> libc::__rlimit_resource_t {
    match typ {
        PosixRlimitType::RlimitCpu => libc::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => libc::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => libc::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => libc::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => libc::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => libc::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => libc::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => libc::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => libc::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => libc::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => libc::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => libc::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

fn check(rc: libc::c_int, what: &str) -> Result<(), SpawnError> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error()).ctx(|| what.into())
    }
}

/// Unblocks all signals and restores default dispositions (ignored signals would survive execve).
pub(crate) fn reset_signals() {
    // SAFETY: sigset and sigaction calls on local, initialised values.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        for sig in 1..=libc::SIGRTMAX() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
    }
}

/// Moves stdio onto 0, 1 and 2 (through high duplicates, so any numbering of the inputs works).
fn install_stdio(stdio: &Stdio) -> Result<(), SpawnError> {
    let fds = [&stdio.stdin, &stdio.stdout, &stdio.stderr];
    let mut high = Vec::with_capacity(3);
    for fd in fds {
        high.push(rustix::io::fcntl_dupfd_cloexec(fd, 3).ctx(|| "dup stdio".into())?);
    }
    for (target, fd) in high.iter().enumerate() {
        // SAFETY: dup2 onto the standard descriptors, which this process owns.
        check(
            unsafe { libc::dup2(fd.as_raw_fd(), target as libc::c_int) }.min(0),
            "dup2 stdio",
        )?;
    }
    Ok(())
}

/// Runs every step of the process setup and execs the command; returns only the error of a failed step.
pub(crate) fn exec(process: &Process, stdio: &Stdio, seccomp: Option<&Program>) -> SpawnError {
    match setup_and_exec(process, stdio, seccomp) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

fn setup_and_exec(
    process: &Process,
    stdio: &Stdio,
    seccomp: Option<&Program>,
) -> Result<std::convert::Infallible, SpawnError> {
    reset_signals();
    rustix::process::setsid().ctx(|| "setsid".into())?;
    install_stdio(stdio)?;
    if process.terminal().unwrap_or(false) {
        rustix::process::ioctl_tiocsctty(std::io::stdin().as_fd())
            .ctx(|| "set controlling terminal".into())?;
    }
    for rl in process.rlimits().as_deref().unwrap_or_default() {
        let lim = libc::rlimit {
            rlim_cur: rl.soft(),
            rlim_max: rl.hard(),
        };
        // SAFETY: setrlimit with a valid rlimit struct.
        check(
            unsafe { libc::setrlimit(rlimit_resource(rl.typ()), &lim) },
            "setrlimit",
        )?;
    }
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string()).ctx(|| "set oom_score_adj".into())?;
    }
    let cwd = process.cwd();
    rustix::process::chdir(cwd).ctx(|| format!("chdir to cwd ({:?}) set in config.json", cwd.display()))?;

    let args = process.args().as_deref().unwrap_or_default();
    let arg0 = args
        .first()
        .ok_or_else(|| SpawnError::InvalidSpec("no command specified".into()))?;
    let env = process.env().as_deref().unwrap_or_default();
    let path_var = env.iter().rev().find_map(|e| e.strip_prefix("PATH="));
    let program = cstring(lookup(arg0, path_var)?.as_os_str().as_bytes())?;
    let argv = args
        .iter()
        .map(|a| cstring(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let envp = env
        .iter()
        .map(|e| cstring(e.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;

    let caps = match process.capabilities() {
        Some(c) => CapSets::from_spec(c)?,
        None => current_caps()?,
    };
    let nnp = process.no_new_privileges().unwrap_or(false);
    capabilities::drop_bounding(caps.bounding).ctx(|| "drop bounding capabilities".into())?;
    capabilities::keep_caps().ctx(|| "keep capabilities".into())?;
    set_user(process)?;
    if let Some(umask) = process.user().umask() {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(umask & 0o777));
    } else {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    }
    // Without no_new_privileges, installing a filter needs CAP_SYS_ADMIN: hold it until the filter is in; only
    // capset, prctl and execve run under the filter.
    let admin = if seccomp.is_some() && !nnp {
        capabilities::CAP_SYS_ADMIN
    } else {
        0
    };
    capabilities::capset(caps.effective | admin, caps.permitted | admin, caps.inheritable)
        .ctx(|| "set capabilities".into())?;
    if nnp {
        rustix::thread::set_no_new_privs(true).ctx(|| "set no_new_privileges".into())?;
    }
    // SAFETY: close_range only marks descriptors close-on-exec.
    unsafe { libc::close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as libc::c_int) };
    if let Some(program) = seccomp {
        crate::seccomp::install(program)?;
    }
    if admin != 0 {
        capabilities::capset(caps.effective, caps.permitted, caps.inheritable)
            .ctx(|| "set capabilities".into())?;
    }
    capabilities::raise_ambient(caps.ambient).ctx(|| "raise ambient capabilities".into())?;
    Err(execve(&program, &argv, &envp, arg0))
}

fn current_caps() -> Result<CapSets, SpawnError> {
    let read = |set| {
        caps::read(None, set)
            .map(|s| s.iter().fold(0u64, |acc, c| acc | c.bitmask()))
            .map_err(|e| SpawnError::Container(format!("read capabilities: {e}")))
    };
    Ok(CapSets {
        bounding: read(caps::CapSet::Bounding)?,
        effective: read(caps::CapSet::Effective)?,
        permitted: read(caps::CapSet::Permitted)?,
        inheritable: read(caps::CapSet::Inheritable)?,
        ambient: read(caps::CapSet::Ambient)?,
    })
}

fn set_user(process: &Process) -> Result<(), SpawnError> {
    let user = process.user();
    let groups: Vec<libc::gid_t> = user.additional_gids().clone().unwrap_or_default();
    // SAFETY: setgroups reads `groups.len()` entries from a live vector; setgid/setuid take integers.
    unsafe {
        check(libc::setgroups(groups.len(), groups.as_ptr()), "setgroups")?;
        check(libc::setgid(user.gid()), "setgid")?;
        check(libc::setuid(user.uid()), "setuid")?;
    }
    Ok(())
}

fn execve(program: &CString, argv: &[CString], envp: &[CString], arg0: &str) -> SpawnError {
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut envp_ptrs: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envp_ptrs.push(std::ptr::null());
    // SAFETY: NUL-terminated strings in null-terminated arrays that outlive the call.
    unsafe { libc::execve(program.as_ptr(), argv_ptrs.as_ptr(), envp_ptrs.as_ptr()) };
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENOENT) => SpawnError::NotFound(arg0.into()),
        Some(libc::EACCES) => SpawnError::PermissionDenied(arg0.into()),
        _ => SpawnError::Container(format!("exec: \"{arg0}\": {}", crate::cgroups::errno_text(&err))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_searches_the_given_path_only() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("tool"), "").unwrap(); // not executable: skipped
        std::fs::write(b.join("tool"), "").unwrap();
        std::fs::set_permissions(b.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(a.join("dir")).unwrap();
        let path = format!("{}:{}", a.display(), b.display());
        assert_eq!(lookup("tool", Some(&path)).unwrap(), b.join("tool"));
        assert!(matches!(lookup("dir", Some(&path)), Err(SpawnError::NotFound(c)) if c == "dir"));
        assert!(matches!(lookup("sh", Some(&path)), Err(SpawnError::NotFound(_))));
        assert_eq!(lookup("./x/y", Some(&path)).unwrap(), PathBuf::from("./x/y"));
        assert!(matches!(lookup("", None), Err(SpawnError::NotFound(_))));
    }
}
