//! Device access rules: OCI `LinuxDeviceCgroup` entries normalised, written as v1 `devices.allow` /
//! `devices.deny` lines, or compiled into the eBPF `BPF_PROG_TYPE_CGROUP_DEVICE` program that enforces
//! them on cgroup v2. Everything not allowed is denied; a later rule overrides earlier ones.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::error::{Error, Result};

/// `BPF_DEVCG_ACC_*` access bits, as the kernel passes them to the program.
const ACC_MKNOD: u8 = 1;
const ACC_READ: u8 = 2;
const ACC_WRITE: u8 = 4;
const ACC_ALL: u8 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// Device kinds a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DevType {
    All,
    Block,
    Char,
}

impl DevType {
    /// `BPF_DEVCG_DEV_*` value.
    fn bpf(self) -> i32 {
        match self {
            DevType::All => 0,
            DevType::Block => 1,
            DevType::Char => 2,
        }
    }
}

/// One normalised rule: `None` numbers match any device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct DeviceRule {
    pub allow: bool,
    pub dev_type: DevType,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

/// Normalises OCI rules: no type means all; `u` is a character device; `p` (FIFO) rules are dropped
/// as no device controller checks FIFOs; no access means `rwm`; -1 numbers mean any.
pub(super) fn normalize(rules: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceRule>> {
    let mut out = Vec::with_capacity(rules.len());
    for rule in rules {
        let dev_type = match rule.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => DevType::All,
            LinuxDeviceType::B => DevType::Block,
            LinuxDeviceType::C | LinuxDeviceType::U => DevType::Char,
            LinuxDeviceType::P => continue,
        };
        let number = |n: Option<i64>| match n {
            None | Some(-1) => Ok(None),
            // Linux device numbers are at most 20 bits; keeping them below 2^31 lets the program compare
            // them with sign-extended immediates.
            Some(n) => i32::try_from(n)
                .ok()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| Error::DeviceRule(rule.to_string())),
        };
        let access = match rule.access().as_deref() {
            None | Some("") => ACC_ALL,
            Some(text) => text.chars().try_fold(0, |acc, c| match c {
                'r' => Ok(acc | ACC_READ),
                'w' => Ok(acc | ACC_WRITE),
                'm' => Ok(acc | ACC_MKNOD),
                _ => Err(Error::DeviceRule(rule.to_string())),
            })?,
        };
        out.push(DeviceRule {
            allow: rule.allow(),
            dev_type,
            major: number(rule.major())?,
            minor: number(rule.minor())?,
            access,
        });
    }
    Ok(out)
}

impl DeviceRule {
    /// The rule as written to v1 `devices.allow` / `devices.deny`, e.g. `c 1:3 rwm`.
    pub fn v1_line(&self) -> String {
        let kind = match self.dev_type {
            DevType::All => 'a',
            DevType::Block => 'b',
            DevType::Char => 'c',
        };
        let number = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        let access: String = [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')]
            .iter()
            .filter(|(bit, _)| self.access & bit != 0)
            .map(|(_, c)| c)
            .collect();
        format!("{kind} {}:{} {access}", number(self.major), number(self.minor))
    }
}

/// An eBPF instruction, laid out as the kernel's `struct bpf_insn`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Insn {
    pub code: u8,
    /// Destination register in the low nibble, source register in the high nibble.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

pub(super) const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
pub(super) const MOV_X: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
pub(super) const MOV_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
pub(super) const AND_K: u8 = 0x57; // BPF_ALU64 | BPF_AND | BPF_K
pub(super) const RSH_K: u8 = 0x77; // BPF_ALU64 | BPF_RSH | BPF_K
pub(super) const JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
pub(super) const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
pub(super) const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// The device program: r2 = device type, r3 = requested access, r4 = major, r5 = minor (from
/// `struct bpf_cgroup_dev_ctx` in r1); the rules are checked last to first, the first match returns
/// 1 (allow) or 0 (deny), and no match denies.
pub(super) fn program(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut out = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(MOV_X, 3, 2, 0, 0),
        insn(AND_K, 2, 0, 0, 0xffff),
        insn(RSH_K, 3, 0, 0, 16),
        insn(LDX_W, 4, 1, 4, 0),
        insn(LDX_W, 5, 1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        let block = rule_block(rule);
        // A rule matching every request ends the program: the verifier rejects unreachable code.
        let matches_all = block.len() == 2;
        out.extend(block);
        if matches_all {
            return out;
        }
    }
    out.extend([insn(MOV_K, 0, 0, 0, 0), insn(EXIT, 0, 0, 0, 0)]);
    out
}

/// Instructions returning the rule's verdict when the request matches, falling through otherwise.
/// An allow rule matches when the request asks only for access it grants; a deny rule matches when the
/// request asks for any access it denies.
fn rule_block(rule: &DeviceRule) -> Vec<Insn> {
    // Jumps to the end of the block are filled in once its length is known.
    const SKIP: i16 = i16::MIN;
    let mut block = Vec::new();
    if rule.dev_type != DevType::All {
        block.push(insn(JNE_K, 2, 0, SKIP, rule.dev_type.bpf()));
    }
    if rule.access != ACC_ALL {
        block.push(insn(MOV_X, 6, 3, 0, 0));
        if rule.allow {
            block.push(insn(AND_K, 6, 0, 0, i32::from(!rule.access & ACC_ALL)));
            block.push(insn(JNE_K, 6, 0, SKIP, 0));
        } else {
            block.push(insn(AND_K, 6, 0, 0, i32::from(rule.access)));
            block.push(insn(JEQ_K, 6, 0, SKIP, 0));
        }
    }
    for (reg, number) in [(4, rule.major), (5, rule.minor)] {
        if let Some(n) = number {
            block.push(insn(JNE_K, reg, 0, SKIP, n as i32));
        }
    }
    block.push(insn(MOV_K, 0, 0, 0, i32::from(rule.allow)));
    block.push(insn(EXIT, 0, 0, 0, 0));
    let len = block.len();
    for (i, ins) in block.iter_mut().enumerate() {
        if ins.off == SKIP {
            ins.off = (len - i - 1) as i16;
        }
    }
    block
}

#[cfg(test)]
#[path = "devices_tests.rs"]
mod tests;
