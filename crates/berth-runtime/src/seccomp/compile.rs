//! Compiling an OCI seccomp profile into a classic BPF program for x86_64.
//!
//! seccompiler compiles each rule's argument conditions; this module lays the program out: an
//! architecture check, a binary search over the syscall numbers that have rules, and per syscall its
//! rules in profile order (first match wins, rules with conditions before an unconditional one), each
//! returning its own action. Syscalls without rules get the default action.

use std::collections::BTreeMap;

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};
use seccompiler::{BpfProgram, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule, sock_filter};

use super::program::Program;
use super::syscall_table::syscall_number;
use super::{Error, Result};

/// `AUDIT_ARCH_X86_64` from linux/audit.h: EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE.
const AUDIT_ARCH_X86_64: u32 = 62 | 0x8000_0000 | 0x4000_0000;
/// x32 syscalls arrive with the x86_64 audit arch and this bit set in the number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// Offsets in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
/// Syscalls per leaf of the search tree, compared one by one.
const LEAF: usize = 4;

const LD_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Compiles `profile` for x86_64. Syscall names x86_64 does not have are skipped. Other architectures
/// in the profile's list (x86, x32) are not compiled: their syscalls kill the process, as libseccomp
/// does for architectures missing from a filter.
pub fn compile(profile: &LinuxSeccomp) -> Result<Program> {
    let default = action_value(profile.default_action(), profile.default_errno_ret())?;
    let mut table: BTreeMap<u32, SyscallRules> = BTreeMap::new();
    for syscall in profile.syscalls().iter().flatten() {
        let ret = action_value(syscall.action(), syscall.errno_ret())?;
        let label = syscall.names().first().map(String::as_str).unwrap_or("");
        let rule = match syscall.args().as_deref() {
            None | Some([]) => None,
            Some(args) => match rule_for(args, label)? {
                Some(rule) => Some(rule),
                None => continue,
            },
        };
        for name in syscall.names() {
            let Some(nr) = syscall_number(name).and_then(|n| u32::try_from(n).ok()) else {
                continue;
            };
            let entry = table.entry(nr).or_default();
            match &rule {
                Some(rule) => entry.conditional.push((rule.clone(), ret)),
                None => {
                    entry.unconditional.get_or_insert(ret);
                }
            }
        }
    }
    let entries: Vec<(u32, Vec<sock_filter>)> = table
        .into_iter()
        .filter(|(_, rules)| !rules.always_returns(default))
        .map(|(nr, rules)| (nr, rules.into_bpf(default)))
        .collect();

    let mut insns = vec![
        stmt(LD_ABS, DATA_ARCH),
        jump(JEQ, AUDIT_ARCH_X86_64, 1, 0),
        stmt(RET, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(LD_ABS, DATA_NR),
        jump(JGE, X32_SYSCALL_BIT, 0, 1),
        stmt(RET, libc::SECCOMP_RET_KILL_PROCESS),
    ];
    insns.extend(search_tree(&entries, default));
    if insns.len() > libc::BPF_MAXINSNS as usize {
        return Err(Error::TooLarge(insns.len()));
    }
    Ok(Program::new(insns, filter_flags(profile)))
}

/// The rules of one syscall number.
#[derive(Default)]
struct SyscallRules {
    conditional: Vec<(SeccompRule, u32)>,
    unconditional: Option<u32>,
}

impl SyscallRules {
    /// Whether every path returns `default`, so the syscall needs no code at all.
    fn always_returns(&self, default: u32) -> bool {
        self.unconditional.unwrap_or(default) == default
            && self.conditional.iter().all(|(_, r)| *r == default)
    }

    /// Each conditional rule followed by its action (seccompiler's rule code jumps past that one
    /// instruction when a condition fails), then the unconditional or default action.
    fn into_bpf(self, default: u32) -> Vec<sock_filter> {
        let mut out = Vec::new();
        for (rule, ret) in self.conditional {
            out.extend(BpfProgram::from(rule));
            out.push(stmt(RET, ret));
        }
        out.push(stmt(RET, self.unconditional.unwrap_or(default)));
        out
    }
}

/// Binary search over `entries` (sorted by number, the number loaded in A). Every path ends in a RET.
fn search_tree(entries: &[(u32, Vec<sock_filter>)], default: u32) -> Vec<sock_filter> {
    if entries.len() <= LEAF {
        let mut out = Vec::new();
        for (nr, body) in entries {
            match u8::try_from(body.len()) {
                Ok(skip) => out.push(jump(JEQ, *nr, 0, skip)),
                Err(_) => out.extend([jump(JEQ, *nr, 1, 0), stmt(JA, body.len() as u32)]),
            }
            out.extend_from_slice(body);
        }
        out.push(stmt(RET, default));
        return out;
    }
    let mid = entries.len() / 2;
    let low = search_tree(&entries[..mid], default);
    let high = search_tree(&entries[mid..], default);
    let mut out = Vec::with_capacity(low.len() + high.len() + 2);
    out.push(jump(JGE, entries[mid].0, 0, 1));
    out.push(stmt(JA, low.len() as u32));
    out.extend(low);
    out.extend(high);
    out
}

/// The seccomp return value of an OCI action; ERRNO and TRACE default to EPERM like runc.
fn action_value(action: LinuxSeccompAction, errno: Option<u32>) -> Result<u32> {
    let data = errno.unwrap_or(libc::EPERM as u32) & libc::SECCOMP_RET_DATA;
    Ok(match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            libc::SECCOMP_RET_KILL_THREAD
        }
        LinuxSeccompAction::ScmpActKillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        LinuxSeccompAction::ScmpActTrap => libc::SECCOMP_RET_TRAP,
        LinuxSeccompAction::ScmpActErrno => libc::SECCOMP_RET_ERRNO | data,
        LinuxSeccompAction::ScmpActTrace => libc::SECCOMP_RET_TRACE | data,
        LinuxSeccompAction::ScmpActLog => libc::SECCOMP_RET_LOG,
        LinuxSeccompAction::ScmpActAllow => libc::SECCOMP_RET_ALLOW,
        LinuxSeccompAction::ScmpActNotify => return Err(Error::Unsupported("action SCMP_ACT_NOTIFY".into())),
    })
}

/// A seccompiler rule matching when all `args` match (64-bit comparisons, as libseccomp does on x86_64),
/// or `None` when the conditions can never hold (a masked comparison with bits outside the mask).
fn rule_for(args: &[LinuxSeccompArg], syscall: &str) -> Result<Option<SeccompRule>> {
    let rule_err = |source| Error::Rule {
        syscall: syscall.to_string(),
        source,
    };
    let mut conditions = Vec::with_capacity(args.len());
    for arg in args {
        let index = u8::try_from(arg.index())
            .map_err(|_| Error::Invalid(format!("argument index {} of {syscall}", arg.index())))?;
        let (op, value) = match arg.op() {
            LinuxSeccompOperator::ScmpCmpNe => (SeccompCmpOp::Ne, arg.value()),
            LinuxSeccompOperator::ScmpCmpLt => (SeccompCmpOp::Lt, arg.value()),
            LinuxSeccompOperator::ScmpCmpLe => (SeccompCmpOp::Le, arg.value()),
            LinuxSeccompOperator::ScmpCmpEq => (SeccompCmpOp::Eq, arg.value()),
            LinuxSeccompOperator::ScmpCmpGe => (SeccompCmpOp::Ge, arg.value()),
            LinuxSeccompOperator::ScmpCmpGt => (SeccompCmpOp::Gt, arg.value()),
            LinuxSeccompOperator::ScmpCmpMaskedEq => {
                let (mask, expected) = (arg.value(), arg.value_two().unwrap_or(0));
                if expected & !mask != 0 {
                    return Ok(None);
                }
                (SeccompCmpOp::MaskedEq(mask), expected)
            }
        };
        conditions.push(SeccompCondition::new(index, SeccompCmpArgLen::Qword, op, value).map_err(rule_err)?);
    }
    SeccompRule::new(conditions).map(Some).map_err(rule_err)
}

/// seccomp(2) flags for the profile's filter flags.
fn filter_flags(profile: &LinuxSeccomp) -> u32 {
    profile.flags().iter().flatten().fold(0, |flags, flag| {
        flags
            | match flag {
                LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
                LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
                LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
                // Only meaningful with a user-notification listener, which this runtime does not create.
                LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 0,
            } as u32
    })
}

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

#[cfg(test)]
#[path = "compile_tests.rs"]
mod tests;
