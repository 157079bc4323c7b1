//! Tests of device rule normalisation and of the generated eBPF program, run by a small interpreter
//! of the instructions it uses and compared with the rules' meaning.

use super::*;
use proptest::prelude::*;

/// Runs `prog` as the kernel would for a request; returns r0.
pub(crate) fn run(prog: &[Insn], dev_type: DevType, access: u8, major: u32, minor: u32) -> u64 {
    let ctx = [(u32::from(access) << 16) | dev_type.bpf() as u32, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    loop {
        let i = prog
            .get(pc)
            .unwrap_or_else(|| panic!("pc {pc} outside the program"));
        let (dst, src) = (usize::from(i.regs & 0xf), usize::from(i.regs >> 4));
        let imm = i64::from(i.imm) as u64;
        pc += 1;
        let jump = |taken: bool| if taken { i.off as isize } else { 0 };
        match i.code {
            LDX_W => {
                assert_eq!(src, 1, "loads only from the context");
                r[dst] = u64::from(ctx[i.off as usize / 4]);
            }
            MOV_X => r[dst] = r[src],
            MOV_K => r[dst] = imm,
            AND_K => r[dst] &= imm,
            RSH_K => r[dst] >>= imm,
            JEQ_K => {
                pc = pc
                    .checked_add_signed(jump(r[dst] == imm))
                    .expect("jump before start")
            }
            JNE_K => {
                pc = pc
                    .checked_add_signed(jump(r[dst] != imm))
                    .expect("jump before start")
            }
            EXIT => return r[0],
            other => panic!("unexpected opcode {other:#x}"),
        }
    }
}

/// Asserts what the kernel's verifier requires of control flow: every jump lands inside the program,
/// no path runs off its end, and every instruction is reachable.
fn assert_verifiable(prog: &[Insn]) {
    let mut seen = vec![false; prog.len()];
    let mut todo = vec![0usize];
    while let Some(pc) = todo.pop() {
        assert!(pc < prog.len(), "control reaches {pc}, past the end");
        if std::mem::replace(&mut seen[pc], true) {
            continue;
        }
        match prog[pc].code {
            EXIT => {}
            JEQ_K | JNE_K => todo.extend([pc + 1, (pc as isize + 1 + prog[pc].off as isize) as usize]),
            _ => todo.push(pc + 1),
        }
    }
    assert!(seen.iter().all(|s| *s), "unreachable instructions: {seen:?}");
}

/// The rules' meaning: the last rule matching the request decides; none denies.
fn reference(rules: &[DeviceRule], dev_type: DevType, access: u8, major: u32, minor: u32) -> u64 {
    let matches = |r: &&DeviceRule| {
        (r.dev_type == DevType::All || r.dev_type == dev_type)
            && r.major.is_none_or(|m| m == major)
            && r.minor.is_none_or(|m| m == minor)
            && if r.allow {
                access & !r.access == 0
            } else {
                access & r.access != 0
            }
    };
    rules.iter().rev().find(matches).map_or(0, |r| u64::from(r.allow))
}

fn oci(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut d = LinuxDeviceCgroup::default();
    d.set_allow(allow).set_typ(typ).set_major(major).set_minor(minor);
    d.set_access((!access.is_empty()).then(|| access.to_string()));
    d
}

/// Docker's default device rules.
fn docker_rules() -> Vec<DeviceRule> {
    use LinuxDeviceType::{B, C};
    let allow = |t, maj, min| oci(true, Some(t), maj, min, "rwm");
    let mut rules = vec![
        oci(false, None, None, None, "rwm"),
        oci(true, Some(C), None, None, "m"),
        oci(true, Some(B), None, None, "m"),
    ];
    for (maj, min) in [
        (1, 3),
        (1, 8),
        (1, 7),
        (5, 0),
        (1, 5),
        (1, 9),
        (5, 1),
        (5, 2),
        (10, 200),
    ] {
        rules.push(allow(C, Some(maj), Some(min)));
    }
    rules.push(allow(C, Some(136), None));
    normalize(&rules).unwrap()
}

const R: u8 = ACC_READ;
const W: u8 = ACC_WRITE;
const M: u8 = ACC_MKNOD;

#[test]
fn docker_default_devices() {
    let prog = program(&docker_rules());
    assert_verifiable(&prog);
    let check = |t, acc, maj, min| run(&prog, t, acc, maj, min);
    assert_eq!(check(DevType::Char, R | W, 1, 3), 1, "/dev/null");
    assert_eq!(check(DevType::Char, R, 136, 7), 1, "/dev/pts/7");
    assert_eq!(check(DevType::Char, M, 4, 1), 1, "mknod of any char device");
    assert_eq!(check(DevType::Block, M, 8, 0), 1, "mknod of any block device");
    assert_eq!(check(DevType::Block, R, 8, 0), 0, "reading /dev/sda");
    assert_eq!(check(DevType::Char, R, 1, 1), 0, "/dev/mem");
    assert_eq!(check(DevType::Char, W, 10, 237), 0, "/dev/loop-control");
}

#[test]
fn later_rules_override_earlier_ones() {
    use LinuxDeviceType::C;
    let rules = normalize(&[
        oci(true, None, None, None, ""),
        oci(false, Some(C), Some(1), Some(3), "w"),
    ])
    .unwrap();
    let prog = program(&rules);
    assert_verifiable(&prog);
    assert_eq!(run(&prog, DevType::Char, R, 1, 3), 1);
    assert_eq!(run(&prog, DevType::Char, R | W, 1, 3), 0);
    assert_eq!(run(&prog, DevType::Block, W, 1, 3), 1);
    assert_eq!(
        run(&program(&[]), DevType::Char, R, 1, 3),
        0,
        "no rules deny everything"
    );
}

#[test]
fn normalizes_oci_rules() {
    use LinuxDeviceType::{A, B, C, P, U};
    let rules = normalize(&[
        oci(false, Some(A), None, None, ""),
        oci(true, Some(U), Some(1), Some(-1), "rw"),
        oci(true, Some(P), None, None, "rwm"),
        oci(true, Some(B), Some(8), Some(16), "m"),
    ])
    .unwrap();
    let lines: Vec<String> = rules.iter().map(DeviceRule::v1_line).collect();
    assert_eq!(lines, ["a *:* rwm", "c 1:* rw", "b 8:16 m"]);
    assert!(!rules[0].allow && rules[1].allow);
    let bad_access = normalize(&[oci(true, Some(C), Some(1), Some(3), "rx")]).unwrap_err();
    assert_eq!(bad_access.to_string(), "cgroup: invalid device rule: c 1:3 rx");
    assert!(normalize(&[oci(true, Some(C), Some(-2), None, "r")]).is_err());
    assert!(normalize(&[oci(true, Some(C), Some(1 << 40), None, "r")]).is_err());
}

fn rule() -> impl Strategy<Value = DeviceRule> {
    let dev_type = prop::sample::select(vec![DevType::All, DevType::Block, DevType::Char]);
    let number = prop::option::of(0u32..4);
    (any::<bool>(), dev_type, number.clone(), number, 1u8..8).prop_map(
        |(allow, dev_type, major, minor, access)| DeviceRule {
            allow,
            dev_type,
            major,
            minor,
            access,
        },
    )
}

proptest! {
    #[test]
    fn program_matches_the_rules(rules in prop::collection::vec(rule(), 0..8)) {
        let prog = program(&rules);
        assert_verifiable(&prog);
        for dev_type in [DevType::Block, DevType::Char] {
            for access in 1u8..8 {
                for (major, minor) in [(0, 0), (1, 3), (3, 1), (2, 2), (7, 7)] {
                    prop_assert_eq!(
                        run(&prog, dev_type, access, major, minor),
                        reference(&rules, dev_type, access, major, minor),
                        "{:?} access {} {}:{}", dev_type, access, major, minor
                    );
                }
            }
        }
    }
}
