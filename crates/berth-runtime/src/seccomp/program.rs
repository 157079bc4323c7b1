//! A compiled seccomp filter: its BPF instructions and seccomp(2) flags, a byte form for the cache, and
//! installing it in the calling thread.

use std::io;

use seccompiler::sock_filter;

use super::{Error, Result};

/// Marks the byte form; the second half is the format version.
const MAGIC: &[u8; 8] = b"BERTHSC\x01";
/// Bytes of the header: magic, flags (u32 LE), instruction count (u32 LE).
const HEADER: usize = 16;

/// A seccomp BPF program ready for [`install`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    insns: Vec<sock_filter>,
    flags: u32,
}

impl Program {
    pub(super) fn new(insns: Vec<sock_filter>, flags: u32) -> Self {
        Self { insns, flags }
    }

    /// The BPF instructions.
    pub fn instructions(&self) -> &[sock_filter] {
        &self.insns
    }

    /// The `SECCOMP_FILTER_FLAG_*` bits passed to seccomp(2).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// The byte form read back by [`Program::from_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + 8 * self.insns.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&(self.insns.len() as u32).to_le_bytes());
        for insn in &self.insns {
            out.extend_from_slice(&insn.code.to_le_bytes());
            out.extend_from_slice(&[insn.jt, insn.jf]);
            out.extend_from_slice(&insn.k.to_le_bytes());
        }
        out
    }

    /// Reads bytes written by [`Program::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let u32_at = |at: usize| {
            bytes
                .get(at..at + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        if bytes.get(..8) != Some(MAGIC) {
            return Err(Error::BadProgram);
        }
        let (flags, count) = (
            u32_at(8).ok_or(Error::BadProgram)?,
            u32_at(12).ok_or(Error::BadProgram)?,
        );
        let body = &bytes[HEADER..];
        if count == 0 || count as usize > libc::BPF_MAXINSNS as usize || body.len() != 8 * count as usize {
            return Err(Error::BadProgram);
        }
        let insns = body
            .chunks_exact(8)
            .map(|c| sock_filter {
                code: u16::from_le_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        Ok(Self { insns, flags })
    }
}

/// Installs `program` as a seccomp filter of the calling thread (inherited across fork and execve).
///
/// Needs CAP_SYS_ADMIN or `no_new_privs` already set (this function does not set it). Makes no
/// allocation, so it may run in a forked child right before `execve`.
pub fn install(program: &Program) -> Result<()> {
    let fprog = libc::sock_fprog {
        len: program.insns.len() as u16,
        // seccompiler's sock_filter is #[repr(C)] with the kernel's field layout, like libc's.
        filter: program.insns.as_ptr().cast::<libc::sock_filter>().cast_mut(),
    };
    // SAFETY: `fprog` points at `len` valid instructions that outlive the call; the kernel copies them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::c_ulong::from(program.flags),
            &fprog as *const libc::sock_fprog,
        )
    };
    if rc != 0 {
        return Err(Error::Install(io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::{compile, docker_default};

    #[test]
    fn bytes_round_trip() {
        let program = compile(&docker_default(&[])).unwrap();
        let bytes = program.to_bytes();
        assert_eq!(bytes.len(), HEADER + 8 * program.instructions().len());
        assert_eq!(Program::from_bytes(&bytes).unwrap(), program);
    }

    #[test]
    fn rejects_foreign_or_truncated_bytes() {
        let bytes = compile(&docker_default(&[])).unwrap().to_bytes();
        assert!(Program::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(Program::from_bytes(&bytes[..HEADER]).is_err());
        assert!(Program::from_bytes(b"").is_err());
        let mut wrong_magic = bytes.clone();
        wrong_magic[7] = 2;
        assert!(Program::from_bytes(&wrong_magic).is_err());
    }
}
