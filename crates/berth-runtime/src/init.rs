//! Docker's `--init` without a binary in the container: pid 1 stays in our code, forks the command, forwards
//! every catchable signal to it, reaps all zombies, and exits with the command's status (128 + signal if killed).

use std::io;

use crate::clone::{Cloned, clone3, exit_child, exit_code};

/// Signals that are about the init process itself (faults) or job control on a terminal: not forwarded.
const NOT_FORWARDED: [libc::c_int; 10] = [
    libc::SIGCHLD,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
    libc::SIGTTIN,
    libc::SIGTTOU,
];

fn full_set() -> libc::sigset_t {
    // SAFETY: initialising a local sigset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        set
    }
}

/// Runs as pid 1: forks `command` (which must not return on success; its error becomes the child's exit code),
/// then supervises it and never returns. Only when the fork itself fails is an error returned.
pub(crate) fn run(command: impl FnOnce() -> i32) -> io::Result<std::convert::Infallible> {
    let all = full_set();
    // An ignored SIGCHLD would let the kernel reap the command before we see its status.
    // SAFETY: resetting a disposition to its default.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
    // Block everything first so that no signal is lost between fork and the wait loop.
    // SAFETY: sigprocmask with a valid set.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut()) };
    // SAFETY: the caller is single-threaded (documented on spawn).
    let child = match unsafe { clone3(0, None) }? {
        Cloned::Child => exit_child(command()),
        Cloned::Parent { pid, .. } => pid,
    };
    // pid 1 keeps no descriptors: the error pipe and stdio belong to the command now.
    // SAFETY: closing descriptors this process no longer uses.
    unsafe { libc::close_range(3, u32::MAX, 0) };
    // Orphans must come to us also when the container shares the host's pid namespace.
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) };
    supervise(child, &all)
}

fn supervise(child: i32, set: &libc::sigset_t) -> ! {
    loop {
        // SAFETY: sigwaitinfo with a valid set and info buffer.
        let sig = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::sigwaitinfo(set, &mut info)
        };
        if sig < 0 {
            continue;
        }
        if sig == libc::SIGCHLD {
            if let Some(code) = reap(child) {
                exit_child(code);
            }
        } else if !NOT_FORWARDED.contains(&sig) {
            // SAFETY: kill with integer arguments.
            unsafe { libc::kill(child, sig) };
        }
    }
}

/// Reaps every exited child; the command's exit code once it is among them.
fn reap(command: i32) -> Option<i32> {
    let mut result = None;
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid status pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return result;
        }
        if pid == command {
            result = Some(exit_code(status));
        }
    }
}
