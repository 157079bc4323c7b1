//! Docker's default seccomp profile (moby `profiles/seccomp/default_linux.go`) as Rust data: an allowlist
//! with EPERM for everything else, argument rules for `socket`, `personality` and `clone`, and groups
//! allowed only with a capability, on an architecture or from a kernel version on.

use oci_spec::runtime::{
    Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompOperator, LinuxSyscall,
};

use super::docker_profile::{Condition, Profile, Rule, host_kernel};

/// Docker's default profile resolved for a container whose bounding capability set is `caps`.
pub fn docker_default(caps: &[Capability]) -> LinuxSeccomp {
    default_profile().resolve(caps, host_kernel())
}

/// Syscalls every container may make (Docker's first, unconditional group). Names that x86_64 lacks
/// (32-bit and other architectures' calls) stay in the list, as in Docker's; the compiler skips them.
const ALLOWED: &str = "\
    accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32 \
    clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 \
    clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 \
    dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait \
    epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 \
    fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat \
    fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 \
    fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait \
    futex_waitv futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid \
    geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid \
    getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list \
    getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 \
    getxattr getxattrat inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl \
    io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit \
    ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr \
    link linkat listen listmount listxattr listxattrat llistxattr _llseek lremovexattr lseek lsetxattr \
    lstat lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat \
    mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open \
    mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal \
    msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat \
    _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free \
    pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease \
    pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv \
    recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr removexattrat rename \
    renameat renameat2 restart_syscall riscv_hwprobe rmdir rseq rt_sigaction rt_sigpending \
    rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 \
    rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max \
    sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 \
    sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl \
    semget semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid \
    setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority \
    setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit \
    set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32 setxattr \
    setxattrat shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn \
    socketcall socketpair splice stat stat64 statfs statfs64 statmount statx symlink symlinkat sync \
    sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun \
    timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime \
    timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit \
    umask uname unlink unlinkat uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4 \
    waitid waitpid write writev";

/// When a group of syscalls is allowed.
enum When {
    /// On a kernel of at least this version.
    Kernel(u32, u32),
    /// On one of these architectures (Docker's names).
    Arch(&'static [&'static str]),
    /// When the container holds this capability.
    Cap(&'static str),
}

/// Groups of syscalls allowed under a condition, in Docker's order.
const GROUPS: &[(&str, When)] = &[
    ("process_vm_readv process_vm_writev ptrace", When::Kernel(4, 8)),
    ("sync_file_range2 swapcontext", When::Arch(&["ppc64le"])),
    (
        "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
        When::Arch(&["arm", "arm64"]),
    ),
    ("arch_prctl", When::Arch(&["amd64", "x32"])),
    ("modify_ldt", When::Arch(&["amd64", "x32", "x86"])),
    (
        "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr",
        When::Arch(&["s390", "s390x"]),
    ),
    ("riscv_flush_icache", When::Arch(&["riscv64"])),
    ("open_by_handle_at", When::Cap("CAP_DAC_READ_SEARCH")),
    (
        "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie lsm_get_self_attr \
         lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount open_tree perf_event_open quotactl \
         quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare",
        When::Cap("CAP_SYS_ADMIN"),
    ),
    ("reboot", When::Cap("CAP_SYS_BOOT")),
    ("chroot", When::Cap("CAP_SYS_CHROOT")),
    (
        "delete_module init_module finit_module",
        When::Cap("CAP_SYS_MODULE"),
    ),
    ("acct", When::Cap("CAP_SYS_PACCT")),
    (
        "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
        When::Cap("CAP_SYS_PTRACE"),
    ),
    ("iopl ioperm", When::Cap("CAP_SYS_RAWIO")),
    (
        "settimeofday stime clock_settime clock_settime64",
        When::Cap("CAP_SYS_TIME"),
    ),
    ("vhangup", When::Cap("CAP_SYS_TTY_CONFIG")),
    (
        "get_mempolicy mbind set_mempolicy set_mempolicy_home_node",
        When::Cap("CAP_SYS_NICE"),
    ),
    ("syslog", When::Cap("CAP_SYSLOG")),
    ("bpf", When::Cap("CAP_BPF")),
    ("perf_event_open", When::Cap("CAP_PERFMON")),
];

/// Address families Docker keeps from `socket(2)`: AF_ALG (38) and AF_VSOCK (40).
const AF_ALG: u64 = libc::AF_ALG as u64;
const AF_VSOCK: u64 = libc::AF_VSOCK as u64;

/// `personality(2)` values Docker allows: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the
/// query 0xffffffff.
const PERSONALITIES: [u64; 5] = [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// `clone(2)` flags that create namespaces; without CAP_SYS_ADMIN, clone is allowed only without them.
const CLONE_NAMESPACE_FLAGS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u64;

/// The whole default profile before its conditions are resolved for a container.
fn default_profile() -> Profile {
    let mut rules = vec![allow(ALLOWED, &[], Condition::default(), Condition::default())];
    let socket = |op, value| {
        allow(
            "socket",
            &[arg(0, op, value, None)],
            Condition::default(),
            Condition::default(),
        )
    };
    rules.push(socket(LinuxSeccompOperator::ScmpCmpLt, AF_ALG));
    rules.push(socket(LinuxSeccompOperator::ScmpCmpEq, AF_ALG + 1));
    rules.push(socket(LinuxSeccompOperator::ScmpCmpGt, AF_VSOCK));
    for value in PERSONALITIES {
        let args = [arg(0, LinuxSeccompOperator::ScmpCmpEq, value, None)];
        rules.push(allow(
            "personality",
            &args,
            Condition::default(),
            Condition::default(),
        ));
    }
    for (names, when) in GROUPS {
        let includes = match when {
            When::Kernel(v, m) => Condition {
                min_kernel: Some((*v, *m)),
                ..Condition::default()
            },
            When::Arch(arches) => Condition {
                arches: strings(arches),
                ..Condition::default()
            },
            When::Cap(cap) => Condition {
                caps: vec![cap.to_string()],
                ..Condition::default()
            },
        };
        rules.push(allow(names, &[], includes, Condition::default()));
    }
    rules.extend(no_sys_admin_rules());
    Profile {
        default_action: LinuxSeccompAction::ScmpActErrno,
        default_errno_ret: Some(libc::EPERM as u32),
        architectures: vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32],
        flags: None,
        listener_path: None,
        listener_metadata: None,
        rules,
    }
}

/// What a container without CAP_SYS_ADMIN gets instead of free `clone`/`clone3`: clone without namespace
/// flags (the flags are argument 1 on s390), and ENOSYS from clone3 so that libcs fall back to clone,
/// whose flags a filter can see.
fn no_sys_admin_rules() -> [Rule; 3] {
    let no_admin = || Condition {
        caps: vec!["CAP_SYS_ADMIN".into()],
        ..Condition::default()
    };
    let masked = |index| {
        [arg(
            index,
            LinuxSeccompOperator::ScmpCmpMaskedEq,
            CLONE_NAMESPACE_FLAGS,
            Some(0),
        )]
    };
    let s390 = || strings(&["s390", "s390x"]);
    let mut clone3 = LinuxSyscall::default();
    clone3
        .set_names(vec!["clone3".into()])
        .set_action(LinuxSeccompAction::ScmpActErrno)
        .set_errno_ret(Some(libc::ENOSYS as u32));
    [
        allow(
            "clone",
            &masked(0),
            Condition::default(),
            Condition {
                arches: s390(),
                ..no_admin()
            },
        ),
        allow(
            "clone",
            &masked(1),
            Condition {
                arches: s390(),
                ..Condition::default()
            },
            no_admin(),
        ),
        Rule {
            syscall: clone3,
            includes: Condition::default(),
            excludes: no_admin(),
        },
    ]
}

/// A rule allowing the space-separated `names` when `args` match.
fn allow(names: &str, args: &[LinuxSeccompArg], includes: Condition, excludes: Condition) -> Rule {
    let mut syscall = LinuxSyscall::default();
    syscall
        .set_names(names.split_whitespace().map(str::to_owned).collect())
        .set_action(LinuxSeccompAction::ScmpActAllow)
        .set_args((!args.is_empty()).then(|| args.to_vec()));
    Rule {
        syscall,
        includes,
        excludes,
    }
}

fn arg(index: usize, op: LinuxSeccompOperator, value: u64, value_two: Option<u64>) -> LinuxSeccompArg {
    let builder = LinuxSeccompArgBuilder::default().index(index).op(op).value(value);
    let builder = match value_two {
        Some(v) => builder.value_two(v),
        None => builder,
    };
    // Every field of LinuxSeccompArg has a default, so building cannot fail.
    builder.build().expect("LinuxSeccompArg fields all have defaults")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_for<'a>(p: &'a LinuxSeccomp, name: &str) -> Vec<&'a LinuxSyscall> {
        p.syscalls()
            .iter()
            .flatten()
            .filter(|s| s.names().iter().any(|n| n == name))
            .collect()
    }

    #[test]
    fn default_denies_with_eperm_and_allows_the_common_set() {
        let p = docker_default(&[]);
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(p.default_errno_ret(), Some(1));
        assert_eq!(p.architectures().as_ref().map(Vec::len), Some(3));
        for name in [
            "read",
            "write",
            "execve",
            "getcwd",
            "openat",
            "futex",
            "arch_prctl",
            "modify_ldt",
            "ptrace",
        ] {
            let rules = rules_for(&p, name);
            assert!(
                rules
                    .iter()
                    .any(|r| r.action() == LinuxSeccompAction::ScmpActAllow),
                "{name} not allowed"
            );
        }
        assert!(ALLOWED.split_whitespace().count() > 350);
    }

    #[test]
    fn without_sys_admin_clone_is_masked_and_clone3_is_enosys() {
        let p = docker_default(&[Capability::Chown, Capability::NetBindService]);
        for name in [
            "mount",
            "unshare",
            "setns",
            "bpf",
            "reboot",
            "init_module",
            "clock_settime",
        ] {
            assert!(rules_for(&p, name).is_empty(), "{name} must not be allowed");
        }
        let clone = rules_for(&p, "clone");
        assert_eq!(clone.len(), 1);
        let a = clone[0].args().as_ref().unwrap()[0];
        assert_eq!(
            (a.index(), a.value(), a.value_two()),
            (0, CLONE_NAMESPACE_FLAGS, Some(0))
        );
        let clone3 = rules_for(&p, "clone3");
        assert_eq!(clone3.len(), 1);
        assert_eq!(
            (clone3[0].action(), clone3[0].errno_ret()),
            (LinuxSeccompAction::ScmpActErrno, Some(38))
        );
        assert_eq!(rules_for(&p, "socket").len(), 3);
        assert_eq!(rules_for(&p, "personality").len(), 5);
    }

    #[test]
    fn capabilities_add_their_groups() {
        let p = docker_default(&[Capability::SysAdmin, Capability::SysPtrace, Capability::SysTime]);
        for name in ["mount", "unshare", "setns", "clone3", "kcmp", "clock_settime"] {
            assert!(!rules_for(&p, name).is_empty(), "{name} should be allowed");
        }
        let clone = rules_for(&p, "clone");
        assert!(
            clone
                .iter()
                .all(|r| r.args().is_none() && r.action() == LinuxSeccompAction::ScmpActAllow)
        );
        assert!(
            rules_for(&p, "clone3")
                .iter()
                .all(|r| r.action() == LinuxSeccompAction::ScmpActAllow)
        );
        assert!(rules_for(&p, "reboot").is_empty());
        let p = docker_default(&[
            Capability::SysBoot,
            Capability::Bpf,
            Capability::Perfmon,
            Capability::Syslog,
        ]);
        for name in ["reboot", "bpf", "perf_event_open", "syslog"] {
            assert!(!rules_for(&p, name).is_empty(), "{name} should be allowed");
        }
    }
}
