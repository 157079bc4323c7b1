//! Signals as the engine needs them: parsing names the way Docker accepts them ("SIGTERM", "TERM", "15",
//! "SIGRTMIN+3") and sending one to a pid or a pidfd.

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::error::Error;

const NAMES: [(&str, libc::c_int); 34] = [
    ("ABRT", libc::SIGABRT),
    ("ALRM", libc::SIGALRM),
    ("BUS", libc::SIGBUS),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("FPE", libc::SIGFPE),
    ("HUP", libc::SIGHUP),
    ("ILL", libc::SIGILL),
    ("INT", libc::SIGINT),
    ("IO", libc::SIGIO),
    ("IOT", libc::SIGIOT),
    ("KILL", libc::SIGKILL),
    ("PIPE", libc::SIGPIPE),
    ("POLL", libc::SIGPOLL),
    ("PROF", libc::SIGPROF),
    ("PWR", libc::SIGPWR),
    ("QUIT", libc::SIGQUIT),
    ("SEGV", libc::SIGSEGV),
    ("STKFLT", libc::SIGSTKFLT),
    ("STOP", libc::SIGSTOP),
    ("SYS", libc::SIGSYS),
    ("TERM", libc::SIGTERM),
    ("TRAP", libc::SIGTRAP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("VTALRM", libc::SIGVTALRM),
    ("WINCH", libc::SIGWINCH),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
];

/// A signal number from a name ("SIGTERM", "TERM", "term"), a number ("15") or a real-time offset
/// ("SIGRTMIN+3", "RTMAX-1").
pub fn signal_from_name(name: &str) -> Result<i32, Error> {
    let invalid = || Error::InvalidSignal(name.to_string());
    if let Ok(n) = name.parse::<i32>() {
        return if (1..=libc::SIGRTMAX()).contains(&n) {
            Ok(n)
        } else {
            Err(invalid())
        };
    }
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(&(_, n)) = NAMES.iter().find(|(s, _)| *s == bare) {
        return Ok(n);
    }
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    let rt = if let Some(rest) = bare.strip_prefix("RTMIN") {
        realtime(min, rest)
    } else if let Some(rest) = bare.strip_prefix("RTMAX") {
        realtime(max, rest)
    } else {
        None
    };
    rt.filter(|n| (min..=max).contains(n)).ok_or_else(invalid)
}

fn realtime(base: i32, rest: &str) -> Option<i32> {
    if rest.is_empty() {
        return Some(base);
    }
    let (sign, digits) = rest.split_at(1);
    let offset: i32 = digits.parse().ok()?;
    match sign {
        "+" => Some(base + offset),
        "-" => Some(base - offset),
        _ => None,
    }
}

/// Whom to signal.
#[derive(Debug, Clone, Copy)]
pub enum KillTarget<'a> {
    Pid(i32),
    /// A pidfd: immune to pid reuse.
    Pidfd(BorrowedFd<'a>),
}

/// Sends `signal` to the target.
pub fn kill(target: KillTarget<'_>, signal: i32) -> Result<(), Error> {
    // SAFETY: kill / pidfd_send_signal with integer arguments and a null siginfo.
    let rc = unsafe {
        match target {
            KillTarget::Pid(pid) => libc::kill(pid, signal) as libc::c_long,
            KillTarget::Pidfd(fd) => libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            ),
        }
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::Kill {
            signal,
            source: std::io::Error::last_os_error(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_realtime_offsets() {
        assert_eq!(signal_from_name("SIGTERM").unwrap(), 15);
        assert_eq!(signal_from_name("TERM").unwrap(), 15);
        assert_eq!(signal_from_name("term").unwrap(), 15);
        assert_eq!(signal_from_name("9").unwrap(), 9);
        assert_eq!(signal_from_name("SIGRTMIN+3").unwrap(), libc::SIGRTMIN() + 3);
        assert_eq!(signal_from_name("RTMAX-1").unwrap(), libc::SIGRTMAX() - 1);
        assert_eq!(signal_from_name("SIGRTMIN").unwrap(), libc::SIGRTMIN());
        for bad in ["", "SIGFOO", "0", "65", "RTMIN+99", "RTMIN*2", "-1"] {
            assert!(signal_from_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kill_reaches_a_process_by_pid_and_pidfd() {
        let mut child = std::process::Command::new("sleep").arg("10").spawn().unwrap();
        let pid = child.id() as i32;
        kill(KillTarget::Pid(pid), 0).unwrap();
        let pidfd = rustix::process::pidfd_open(
            rustix::process::Pid::from_raw(pid).unwrap(),
            rustix::process::PidfdFlags::empty(),
        )
        .unwrap();
        kill(KillTarget::Pidfd(std::os::fd::AsFd::as_fd(&pidfd)), libc::SIGKILL).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL)
        );
        assert!(kill(KillTarget::Pidfd(std::os::fd::AsFd::as_fd(&pidfd)), libc::SIGKILL).is_err());
    }
}
