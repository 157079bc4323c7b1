//! Test helper: runs a seccomp classic-BPF program on a `struct seccomp_data` the way the kernel does,
//! for the instructions seccompiler and our layout emit. Panics on anything else or on a jump out of
//! the program, which the kernel's checker would reject.

use seccompiler::sock_filter;

/// The x86_64 audit arch value.
pub const X86_64: u32 = 0xc000_003e;
/// The i386 audit arch value.
pub const I386: u32 = 0x4000_0003;

/// Return value of `program` for syscall `nr` on `arch` with `args`.
pub fn run(program: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, arg) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&arg.to_le_bytes());
    }
    let mut a: u32 = 0;
    let mut pc = 0usize;
    loop {
        let insn = program
            .get(pc)
            .unwrap_or_else(|| panic!("jump out of the program to {pc}"));
        let (k, jt, jf) = (insn.k, usize::from(insn.jt), usize::from(insn.jf));
        let branch = |taken: bool| if taken { jt } else { jf };
        pc += 1;
        match u32::from(insn.code) {
            c if c == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS => {
                let at = k as usize;
                a = u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"));
            }
            c if c == libc::BPF_ALU | libc::BPF_AND | libc::BPF_K => a &= k,
            c if c == libc::BPF_JMP | libc::BPF_JA => pc += k as usize,
            c if c == libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K => pc += branch(a == k),
            c if c == libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K => pc += branch(a > k),
            c if c == libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K => pc += branch(a >= k),
            c if c == libc::BPF_RET | libc::BPF_K => return k,
            other => panic!("unexpected instruction code {other:#x}"),
        }
    }
}
