//! Tests of the seccomp compiler: programs are run through a BPF interpreter and compared with the
//! profile's meaning computed directly from the OCI data.

use super::*;
use crate::seccomp::bpf_interp::{I386, X86_64, run};
use crate::seccomp::docker_default;
use oci_spec::runtime::{Capability, LinuxSeccompArgBuilder, LinuxSyscall};
use proptest::prelude::*;

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const EPERM: u32 = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
const ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
const KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;

fn nr(name: &str) -> u32 {
    syscall_number(name).unwrap() as u32
}

fn call(program: &Program, name: &str, args: [u64; 6]) -> u32 {
    run(program.instructions(), X86_64, nr(name), args)
}

fn a0(v: u64) -> [u64; 6] {
    [v, 0, 0, 0, 0, 0]
}

fn arg(index: usize, op: LinuxSeccompOperator, value: u64, value_two: Option<u64>) -> LinuxSeccompArg {
    let builder = LinuxSeccompArgBuilder::default().index(index).op(op).value(value);
    match value_two {
        Some(v) => builder.value_two(v),
        None => builder,
    }
    .build()
    .unwrap()
}

fn syscall(
    names: &[&str],
    action: LinuxSeccompAction,
    errno: Option<u32>,
    args: Vec<LinuxSeccompArg>,
) -> LinuxSyscall {
    let mut s = LinuxSyscall::default();
    s.set_names(names.iter().map(|n| n.to_string()).collect())
        .set_action(action)
        .set_errno_ret(errno)
        .set_args((!args.is_empty()).then_some(args));
    s
}

fn profile(default: LinuxSeccompAction, syscalls: Vec<LinuxSyscall>) -> LinuxSeccomp {
    let mut p = LinuxSeccomp::default();
    p.set_default_action(default).set_syscalls(Some(syscalls));
    p
}

/// The profile's meaning: conditional rules in order (first match), then the first unconditional
/// rule, then the default action.
fn reference(p: &LinuxSeccomp, nr: u32, args: [u64; 6]) -> u32 {
    let rules: Vec<&LinuxSyscall> = p
        .syscalls()
        .iter()
        .flatten()
        .filter(|s| s.names().iter().any(|n| syscall_number(n) == Some(i64::from(nr))))
        .collect();
    let value = |s: &LinuxSyscall| action_value(s.action(), s.errno_ret()).unwrap();
    let holds = |a: &LinuxSeccompArg| {
        let (x, v) = (args[a.index()], a.value());
        match a.op() {
            LinuxSeccompOperator::ScmpCmpNe => x != v,
            LinuxSeccompOperator::ScmpCmpLt => x < v,
            LinuxSeccompOperator::ScmpCmpLe => x <= v,
            LinuxSeccompOperator::ScmpCmpEq => x == v,
            LinuxSeccompOperator::ScmpCmpGe => x >= v,
            LinuxSeccompOperator::ScmpCmpGt => x > v,
            LinuxSeccompOperator::ScmpCmpMaskedEq => x & v == a.value_two().unwrap_or(0),
        }
    };
    let conditional = rules
        .iter()
        .filter(|s| s.args().as_ref().is_some_and(|a| !a.is_empty()));
    if let Some(s) = conditional.clone().find(|s| s.args().iter().flatten().all(holds)) {
        return value(s);
    }
    if let Some(s) = rules
        .iter()
        .find(|s| s.args().as_ref().is_none_or(|a| a.is_empty()))
    {
        return value(s);
    }
    action_value(p.default_action(), p.default_errno_ret()).unwrap()
}

#[test]
fn docker_default_without_sys_admin() {
    let p = compile(&docker_default(&[Capability::Chown])).unwrap();
    assert!(p.instructions().len() < 4096);
    assert_eq!(call(&p, "read", a0(0)), ALLOW);
    assert_eq!(call(&p, "getcwd", a0(0)), ALLOW);
    assert_eq!(call(&p, "mount", a0(0)), EPERM);
    assert_eq!(call(&p, "unshare", a0(0)), EPERM);
    assert_eq!(call(&p, "reboot", a0(0)), EPERM);
    let thread_flags = (libc::CLONE_VM | libc::CLONE_FS | libc::CLONE_FILES | libc::CLONE_THREAD) as u64;
    assert_eq!(call(&p, "clone", a0(thread_flags)), ALLOW);
    assert_eq!(call(&p, "clone", a0(libc::SIGCHLD as u64)), ALLOW);
    assert_eq!(
        call(&p, "clone", a0(libc::CLONE_NEWNS as u64 | libc::SIGCHLD as u64)),
        EPERM
    );
    assert_eq!(call(&p, "clone", a0(libc::CLONE_NEWUSER as u64)), EPERM);
    assert_eq!(call(&p, "clone3", a0(0)), ENOSYS);
    for (family, expected) in [
        (1, ALLOW),
        (2, ALLOW),
        (37, ALLOW),
        (38, EPERM),
        (39, ALLOW),
        (40, EPERM),
        (41, ALLOW),
    ] {
        assert_eq!(call(&p, "socket", a0(family)), expected, "socket family {family}");
    }
    for (persona, expected) in [
        (0, ALLOW),
        (8, ALLOW),
        (0x20008, ALLOW),
        (0xffff_ffff, ALLOW),
        (1, EPERM),
    ] {
        assert_eq!(
            call(&p, "personality", a0(persona)),
            expected,
            "personality {persona:#x}"
        );
    }
    // Numbers no rule names get the default; other architectures and x32 numbers are killed.
    assert_eq!(run(p.instructions(), X86_64, 1000, a0(0)), EPERM);
    assert_eq!(run(p.instructions(), I386, 3, a0(0)), KILL_PROCESS);
    assert_eq!(
        run(p.instructions(), X86_64, X32_SYSCALL_BIT | 1, a0(0)),
        KILL_PROCESS
    );
}

#[test]
fn docker_default_with_sys_admin() {
    let p = compile(&docker_default(&[Capability::SysAdmin])).unwrap();
    assert_eq!(call(&p, "mount", a0(0)), ALLOW);
    assert_eq!(call(&p, "clone", a0(libc::CLONE_NEWNS as u64)), ALLOW);
    assert_eq!(call(&p, "clone3", a0(0)), ALLOW);
    assert_eq!(call(&p, "reboot", a0(0)), EPERM);
}

#[test]
fn compiled_program_matches_the_profile_for_every_syscall() {
    let profile = docker_default(&[Capability::NetRaw]);
    let p = compile(&profile).unwrap();
    for n in 0..520 {
        for args in [a0(0), a0(libc::CLONE_NEWNET as u64), a0(40), a0(8), a0(u64::MAX)] {
            assert_eq!(
                run(p.instructions(), X86_64, n, args),
                reference(&profile, n, args),
                "syscall {n}"
            );
        }
    }
}

#[test]
fn unknown_and_foreign_names_are_skipped() {
    let p = profile(
        LinuxSeccompAction::ScmpActErrno,
        vec![syscall(
            &["chown32", "no_such_call", "getpid", "arm_fadvise64_64"],
            LinuxSeccompAction::ScmpActAllow,
            None,
            vec![],
        )],
    );
    let program = compile(&p).unwrap();
    assert_eq!(call(&program, "getpid", a0(0)), ALLOW);
    assert_eq!(call(&program, "getppid", a0(0)), EPERM);
}

#[test]
fn actions_map_to_seccomp_return_values() {
    use LinuxSeccompAction::*;
    let cases = [
        ("getpid", ScmpActKill, None, libc::SECCOMP_RET_KILL_THREAD),
        ("getppid", ScmpActKillThread, None, libc::SECCOMP_RET_KILL_THREAD),
        ("gettid", ScmpActKillProcess, None, KILL_PROCESS),
        ("getuid", ScmpActTrap, None, libc::SECCOMP_RET_TRAP),
        ("getgid", ScmpActErrno, Some(13), libc::SECCOMP_RET_ERRNO | 13),
        ("geteuid", ScmpActErrno, None, EPERM),
        ("getegid", ScmpActTrace, Some(7), libc::SECCOMP_RET_TRACE | 7),
        ("getpgrp", ScmpActLog, None, libc::SECCOMP_RET_LOG),
    ];
    let rules = cases
        .iter()
        .map(|(n, a, e, _)| syscall(&[n], *a, *e, vec![]))
        .collect();
    let p = compile(&profile(ScmpActAllow, rules)).unwrap();
    for (name, _, _, expected) in cases {
        assert_eq!(call(&p, name, a0(0)), expected, "{name}");
    }
    assert_eq!(call(&p, "read", a0(0)), ALLOW);
    let notify = profile(
        ScmpActAllow,
        vec![syscall(&["getpid"], ScmpActNotify, None, vec![])],
    );
    assert_eq!(
        compile(&notify).unwrap_err().to_string(),
        "seccomp: action SCMP_ACT_NOTIFY is not supported"
    );
}

#[test]
fn many_rules_on_one_syscall_use_a_long_jump() {
    let rules = (0..60)
        .map(|i| {
            syscall(
                &["ioctl"],
                LinuxSeccompAction::ScmpActErrno,
                Some(i + 1),
                vec![arg(1, LinuxSeccompOperator::ScmpCmpEq, u64::from(i) << 33, None)],
            )
        })
        .chain([syscall(
            &["read"],
            LinuxSeccompAction::ScmpActErrno,
            Some(99),
            vec![],
        )])
        .collect();
    let p = profile(LinuxSeccompAction::ScmpActAllow, rules);
    let program = compile(&p).unwrap();
    for i in 0..62u64 {
        let args = [0, i << 33, 0, 0, 0, 0];
        assert_eq!(call(&program, "ioctl", args), reference(&p, nr("ioctl"), args));
    }
    assert_eq!(call(&program, "read", a0(0)), libc::SECCOMP_RET_ERRNO | 99);
    assert_eq!(call(&program, "write", a0(0)), ALLOW);
}

#[test]
fn impossible_masked_rule_is_dropped() {
    let masked = arg(0, LinuxSeccompOperator::ScmpCmpMaskedEq, 0xf0, Some(0x0f));
    let p = profile(
        LinuxSeccompAction::ScmpActAllow,
        vec![syscall(
            &["kill"],
            LinuxSeccompAction::ScmpActErrno,
            None,
            vec![masked],
        )],
    );
    let program = compile(&p).unwrap();
    for v in [0, 0x0f, 0xff] {
        assert_eq!(call(&program, "kill", a0(v)), ALLOW);
    }
}

#[test]
fn filter_flags_are_passed_on() {
    let mut p = profile(LinuxSeccompAction::ScmpActAllow, vec![]);
    p.set_flags(Some(vec![
        LinuxSeccompFilterFlag::SeccompFilterFlagLog,
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow,
    ]));
    let program = compile(&p).unwrap();
    assert_eq!(
        program.flags(),
        (libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW) as u32
    );
    assert_eq!(call(&program, "reboot", a0(0)), ALLOW);
}

fn operator() -> impl Strategy<Value = LinuxSeccompOperator> {
    use LinuxSeccompOperator::*;
    prop::sample::select(vec![
        ScmpCmpNe,
        ScmpCmpLt,
        ScmpCmpLe,
        ScmpCmpEq,
        ScmpCmpGe,
        ScmpCmpGt,
        ScmpCmpMaskedEq,
    ])
}

/// Values near interesting 64-bit boundaries, so that both halves of comparisons get exercised.
fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..4,
        Just(u64::MAX),
        Just(1u64 << 32),
        Just((1u64 << 32) - 1),
        any::<u64>()
    ]
}

proptest! {
    #[test]
    fn random_conditions_match_the_reference(
        conds in prop::collection::vec((0usize..3, operator(), value(), value()), 1..4),
        errno in 1u32..100,
        calls in prop::collection::vec([value(), value(), value()], 1..20),
    ) {
        let args = conds.into_iter().map(|(i, op, v, v2)| {
            let two = if op == LinuxSeccompOperator::ScmpCmpMaskedEq { Some(v2 & v) } else { None };
            arg(i, op, v, two)
        }).collect();
        let p = profile(LinuxSeccompAction::ScmpActAllow, vec![
            syscall(&["fcntl"], LinuxSeccompAction::ScmpActErrno, Some(errno), args),
            syscall(&["fcntl"], LinuxSeccompAction::ScmpActLog, None, vec![]),
        ]);
        let program = compile(&p).unwrap();
        for [x, y, z] in calls {
            let args = [x, y, z, 0, 0, 0];
            prop_assert_eq!(call(&program, "fcntl", args), reference(&p, nr("fcntl"), args));
        }
    }
}
