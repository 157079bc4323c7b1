//! clone3(2) used like fork (no new stack): new namespaces, a pidfd, and placement into a cgroup v2 directory at
//! creation. The caller must be single-threaded, since the child runs ordinary Rust code without exec.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `CLONE_INTO_CGROUP` (libc's constant is an overflowing c_int).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Which side of the clone we are on.
pub(crate) enum Cloned {
    Child,
    Parent { pid: i32, pidfd: Option<OwnedFd> },
}

/// Forks with clone3. `flags` are `CLONE_*` bits (`CLONE_PIDFD` asks for a pidfd); `cgroup`, when given, adds
/// `CLONE_INTO_CGROUP` with that directory.
///
/// # Safety
/// The calling process must be single-threaded: the child continues in a copy of this process and may use locks
/// (the allocator's included) that another thread held at the time of the clone.
pub(crate) unsafe fn clone3(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> io::Result<Cloned> {
    let mut pidfd: libc::c_int = -1;
    // SAFETY: clone_args is plain data; zero is the "unused" value of every field.
    let mut args: libc::clone_args = unsafe { std::mem::zeroed() };
    args.flags = flags;
    // With CLONE_PARENT the child gets the caller's own exit signal, and clone3 insists on 0 here.
    if flags & libc::CLONE_PARENT as u64 == 0 {
        args.exit_signal = libc::SIGCHLD as u64;
    }
    if flags & libc::CLONE_PIDFD as u64 != 0 {
        args.pidfd = &mut pidfd as *mut libc::c_int as u64;
    }
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: `args` is a valid clone_args of the size passed; with no stack given, the child resumes here on a
    // copy of this stack like fork(2).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut libc::clone_args,
            size_of::<libc::clone_args>(),
        )
    };
    match rc {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Cloned::Child),
        pid => {
            // SAFETY: the kernel stored a new descriptor we now own when CLONE_PIDFD was asked for.
            let pidfd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
            Ok(Cloned::Parent {
                pid: pid as i32,
                pidfd,
            })
        }
    }
}

/// Ends a child process without running destructors or atexit handlers that belong to the parent.
pub(crate) fn exit_child(code: i32) -> ! {
    // SAFETY: _exit is always safe to call.
    unsafe { libc::_exit(code) }
}

/// waitpid(2) for a specific child, retrying on EINTR; returns the raw status.
pub(crate) fn wait_pid(pid: i32) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: plain system call with a valid status pointer.
        if unsafe { libc::waitpid(pid, &mut status, 0) } >= 0 {
            return Ok(status);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// The exit code a shell would report for a wait status: the exit status, or 128 + the signal.
pub(crate) fn exit_code(status: i32) -> i32 {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell() {
        assert_eq!(exit_code(3 << 8), 3);
        assert_eq!(exit_code(libc::SIGKILL), 137);
        assert_eq!(exit_code(0), 0);
    }
}
