//! A compiled filter: the classic-BPF program the kernel runs and the seccomp() flags it is
//! installed with. It is plain data so that it can be cached on disk and installed without
//! libseccomp.

/// One BPF instruction, laid out as the kernel's `struct sock_filter`.
pub type Insn = libc::sock_filter;

/// The classic-BPF pieces the stubs minirun writes itself are made of (enosys.rs, ranges.rs).
pub(super) const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub(super) const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub(super) const LD_W_ABS: u16 = 0x20;
pub(super) const JMP_JA: u16 = 0x05;
pub(super) const JMP_JGE_K: u16 = 0x35;
pub(super) const JMP_JGT_K: u16 = 0x25;
pub(super) const JMP_JEQ_K: u16 = 0x15;
pub(super) const RET_K: u16 = 0x06;
/// Offsets of the syscall number and the architecture token in struct seccomp_data.
pub(super) const OFF_NR: u32 = 0;
pub(super) const OFF_ARCH: u32 = 4;

pub const FLAG_TSYNC: u32 = 1;
pub const FLAG_LOG: u32 = 1 << 1;
pub const FLAG_SPEC_ALLOW: u32 = 1 << 2;
pub const FLAG_NEW_LISTENER: u32 = 1 << 3;
/// With TSYNC and NEW_LISTENER together the kernel can only report a thread that failed to sync
/// as ESRCH (the return value is the listener fd).
pub const FLAG_TSYNC_ESRCH: u32 = 1 << 4;
pub const FLAG_WAIT_KILLABLE_RECV: u32 = 1 << 5;

#[derive(Clone, PartialEq, Eq)]
pub struct Filter {
    pub program: Vec<Insn>,
    /// SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER), NEW_LISTENER included when
    /// the profile notifies.
    pub flags: u32,
}

impl Filter {
    /// Whether installing returns a listener fd (some rule or the default action notifies).
    pub fn notifies(&self) -> bool {
        self.flags & FLAG_NEW_LISTENER != 0
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.program.len() * 8);
        for i in &self.program {
            out.extend_from_slice(&i.code.to_ne_bytes());
            out.push(i.jt);
            out.push(i.jf);
            out.extend_from_slice(&i.k.to_ne_bytes());
        }
        out
    }

    /// The inverse of to_bytes (libseccomp's export format too); None unless whole instructions.
    pub fn program_from_bytes(bytes: &[u8]) -> Option<Vec<Insn>> {
        if !bytes.len().is_multiple_of(8) {
            return None;
        }
        Some(
            bytes
                .chunks_exact(8)
                .map(|c| Insn {
                    code: u16::from_ne_bytes([c[0], c[1]]),
                    jt: c[2],
                    jf: c[3],
                    k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
                })
                .collect(),
        )
    }
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Filter {{ {} instructions, flags {:#x} }}",
            self.program.len(),
            self.flags
        )
    }
}
