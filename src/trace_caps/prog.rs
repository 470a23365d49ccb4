//! The tracer's three eBPF programs, written by hand as the device program is (pure: maps are
//! given as fds, the container's cgroup as its id and level).
//!
//! Every program starts with the same filter: the current task's cgroup v2 ancestor at the
//! container's level must be the container's cgroup, so a process elsewhere costs one helper
//! call and a compare and is never recorded. Nothing is recorded before the container's first
//! execve (`armed`), so minirun's own setup in the container (mounts, pivot_root, capset) does
//! not show as the workload's checks.
//!
//! - `sys_enter`: remembers the syscall in progress per thread; an execve arms the tracer.
//! - `cap_capable`: one `Event` per capability check, into the ring buffer.
//! - `sys_exit`: one `Event` per syscall that failed with EPERM, EACCES, EAGAIN or EROFS (the
//!   refusals the summary attributes), and forgets the thread's syscall.
//! - `device_access`: one `Event` per device access, for the device rules' refusals.

use crate::cgroups::bpf::{Insn, insn};

// Opcodes (class | op | source), from linux/bpf.h and bpf_common.h.
const MOV64_K: u8 = 0xb7;
const MOV64_X: u8 = 0xbf;
const AND64_K: u8 = 0x57;
const RSH64_K: u8 = 0x77;
const ADD64_K: u8 = 0x07;
const LDX_DW: u8 = 0x79;
const LDX_W: u8 = 0x61;
const STX_DW: u8 = 0x7b;
const STX_W: u8 = 0x63;
const ST_DW: u8 = 0x7a;
const ST_W: u8 = 0x62;
const LD_IMM64: u8 = 0x18;
const JEQ_K: u8 = 0x15;
const JNE_K: u8 = 0x55;
const JNE_X: u8 = 0x5d;
const JA: u8 = 0x05;
/// BPF_STX | BPF_DW | BPF_ATOMIC, imm BPF_ADD: `*(u64 *)(dst + off) += src`, atomically.
const ATOMIC_ADD_DW: u8 = 0xdb;
const CALL: u8 = 0x85;
const EXIT: u8 = 0x95;

/// ld_imm64's src register for "imm is a map fd".
const PSEUDO_MAP_FD: u8 = 1;

// Helper function ids (enum bpf_func_id).
const MAP_LOOKUP_ELEM: i32 = 1;
const MAP_UPDATE_ELEM: i32 = 2;
const MAP_DELETE_ELEM: i32 = 3;
const KTIME_GET_NS: i32 = 5;
const GET_CURRENT_PID_TGID: i32 = 14;
const GET_CURRENT_COMM: i32 = 16;
const PROBE_READ_KERNEL: i32 = 113;
const GET_CURRENT_ANCESTOR_CGROUP_ID: i32 = 123;
const RINGBUF_RESERVE: i32 = 131;
const RINGBUF_SUBMIT: i32 = 132;

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R6: u8 = 6;
const R7: u8 = 7;
const R8: u8 = 8;
const R9: u8 = 9;
const FP: u8 = 10;

/// `offsetof(struct pt_regs, orig_ax)` on x86_64: the syscall number at sys_exit.
const PT_REGS_ORIG_AX: i32 = 15 * 8;

/// x86_64 syscall numbers that arm the tracer.
const NR_EXECVE: i32 = 59;
const NR_EXECVEAT: i32 = 322;

/// The errnos whose failures are reported (negated, as sys_exit sees them).
pub const EPERM: i32 = 1;
pub const EAGAIN: i32 = 11;
pub const EACCES: i32 = 13;
pub const EROFS: i32 = 30;

/// `Event::kind`.
pub const KIND_CAP: u32 = 1;
pub const KIND_FAILED: u32 = 2;
/// A device access the device rules decide: 40 type u32 (1 block, 2 char), 48 major u32,
/// 52 minor u32, 56 access u32 (1 mknod, 2 read, 4 write); syscall and entry time as a check's.
pub const KIND_DEVICE: u32 = 3;

/// The ring buffer record both programs write (little-endian, see `Event::parse`):
/// 0 kind u32, 4 syscall i32 (-1: none known), 8 time ns (CLOCK_MONOTONIC), 16 pid_tgid,
/// 24 comm [16], 40 cap i32 (KIND_FAILED: 1 if the call reached sys_enter, 0 if the seccomp
/// filter refused it first), 44 ret i32, 48 target_ns, 56 cred_ns, 64 target level u32,
/// 68 cred level u32 (u32::MAX: unknown), 72 when the syscall in progress entered (ns, 0: none),
/// 80 the checked credentials' address (KIND_CAP; 0 otherwise): overlayfs checks its mounter's
/// credentials during the container's calls (`--volatile`), which harnesses tell apart by it.
pub const EVENT_SIZE: i32 = 88;

/// A KIND_FAILED record is longer: 88..152 holds bytes 56..120 of the call's `struct pt_regs`
/// (r10 r9 r8 ax cx dx si di), so its six arguments (di si dx r10 r8 r9) are known even when the
/// seccomp filter refused the call before sys_enter; the filter's rules test them.
pub const FAILED_SIZE: i32 = EVENT_SIZE + 64;
/// `offsetof(struct pt_regs, r10)`: the first byte copied.
const PT_REGS_R10: i32 = 7 * 8;

/// What the programs are built for.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub cgroup_id: u64,
    pub cgroup_level: u32,
    /// `offsetof(struct user_namespace, level)` from the kernel's BTF, if known.
    pub userns_level_offset: Option<u32>,
}

/// The maps' fds.
#[derive(Debug, Clone, Copy)]
pub struct Maps {
    /// BPF_MAP_TYPE_ARRAY, one u64: nonzero once the workload has exec'd.
    pub armed: i32,
    /// BPF_MAP_TYPE_LRU_HASH, tid (u32) → syscall number (u64), when it entered (u64 ns).
    pub syscalls: i32,
    /// BPF_MAP_TYPE_RINGBUF of `Event`s.
    pub ring: i32,
    /// BPF_MAP_TYPE_ARRAY of `LOST_SLOTS` u64s: the events of each kind (index kind - 1) that
    /// found the ring buffer full and were dropped, so the report can say its counts are short.
    pub lost: i32,
}

/// The lost-event counters: one per `Event::kind`.
pub const LOST_SLOTS: u32 = 3;

/// An instruction list with forward jumps to named labels, patched by `finish`.
#[derive(Default)]
struct Asm {
    insns: Vec<Insn>,
    jumps: Vec<(usize, &'static str)>,
    labels: Vec<(&'static str, usize)>,
}

impl Asm {
    fn op(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) -> &mut Self {
        self.insns.push(insn(code, dst, src, off, imm));
        self
    }
    fn mov_k(&mut self, dst: u8, imm: i32) -> &mut Self {
        self.op(MOV64_K, dst, 0, 0, imm)
    }
    fn mov_x(&mut self, dst: u8, src: u8) -> &mut Self {
        self.op(MOV64_X, dst, src, 0, 0)
    }
    fn ld_imm64(&mut self, dst: u8, src: u8, v: u64) -> &mut Self {
        self.op(LD_IMM64, dst, src, 0, v as u32 as i32);
        self.op(0, 0, 0, 0, (v >> 32) as u32 as i32)
    }
    fn ld_map(&mut self, dst: u8, fd: i32) -> &mut Self {
        self.ld_imm64(dst, PSEUDO_MAP_FD, fd as u32 as u64)
    }
    /// dst = fp + off: a pointer to the stack.
    fn stack_ptr(&mut self, dst: u8, off: i16) -> &mut Self {
        self.mov_x(dst, FP).op(ADD64_K, dst, 0, 0, i32::from(off))
    }
    fn call(&mut self, helper: i32) -> &mut Self {
        self.op(CALL, 0, 0, 0, helper)
    }
    fn jump(&mut self, code: u8, dst: u8, src: u8, imm: i32, to: &'static str) -> &mut Self {
        self.jumps.push((self.insns.len(), to));
        self.op(code, dst, src, 0, imm)
    }
    fn label(&mut self, name: &'static str) -> &mut Self {
        self.labels.push((name, self.insns.len()));
        self
    }
    fn finish(mut self) -> Vec<Insn> {
        for (at, to) in &self.jumps {
            let target = self
                .labels
                .iter()
                .find(|(n, _)| n == to)
                .map(|(_, pc)| *pc)
                .unwrap_or_else(|| panic!("jump to undefined label {to}"));
            self.insns[*at].off = (target as isize - *at as isize - 1) as i16;
        }
        self.insns
    }

    /// r6 = ctx; leaves for `out` unless the current task is in the container's cgroup (or
    /// below it).
    fn only_the_container(&mut self, t: &Target) -> &mut Self {
        self.mov_x(R6, R1)
            .mov_k(R1, t.cgroup_level as i32)
            .call(GET_CURRENT_ANCESTOR_CGROUP_ID)
            .ld_imm64(R1, 0, t.cgroup_id)
            .jump(JNE_X, R0, R1, 0, "out")
    }

    /// Leaves for `to` unless the workload has exec'd. Uses fp-4.
    fn only_when_armed(&mut self, m: &Maps, to: &'static str) -> &mut Self {
        self.op(ST_W, FP, 0, -4, 0)
            .ld_map(R1, m.armed)
            .stack_ptr(R2, -4)
            .call(MAP_LOOKUP_ELEM)
            .jump(JEQ_K, R0, 0, 0, to)
            .op(LDX_DW, R1, R0, 0, 0)
            .jump(JEQ_K, R1, 0, 0, to)
    }

    /// The current tid at fp-8 (the syscall map's key), the whole pid_tgid in r8.
    fn tid_at_fp8(&mut self) -> &mut Self {
        self.call(GET_CURRENT_PID_TGID)
            .op(STX_W, FP, R0, -8, 0)
            .mov_x(R8, R0)
    }

    /// `rec`+4 = the thread's syscall in progress (fp-8 holds its tid), or -1; `rec`+72 = when
    /// it entered (0: none), which ties a check to the call's failure; r0 = the map's value.
    fn syscall_into(&mut self, m: &Maps, rec: u8) -> &mut Self {
        self.ld_map(R1, m.syscalls)
            .stack_ptr(R2, -8)
            .call(MAP_LOOKUP_ELEM)
            .mov_k(R1, -1)
            .mov_k(R2, 0)
            .jump(JEQ_K, R0, 0, 0, "no_syscall")
            .op(LDX_DW, R1, R0, 0, 0)
            .op(LDX_DW, R2, R0, 8, 0)
            .label("no_syscall")
            .op(STX_W, rec, R1, 4, 0)
            .op(STX_DW, rec, R2, 72, 0)
    }

    /// Time, pid_tgid (in r8) and comm into the record at `rec`.
    fn common_fields(&mut self, rec: u8) -> &mut Self {
        self.op(STX_DW, rec, R8, 16, 0)
            .call(KTIME_GET_NS)
            .op(STX_DW, rec, R0, 8, 0)
            .mov_x(R1, rec)
            .op(ADD64_K, R1, 0, 0, 24)
            .mov_k(R2, 16)
            .call(GET_CURRENT_COMM)
    }

    /// `into` = a record of `size` bytes of `kind` in the ring buffer; when it is full, counts
    /// the loss in the `lost` map and leaves for `else_to`. Uses fp-32.
    fn reserve(
        &mut self,
        m: &Maps,
        kind: u32,
        size: i32,
        into: u8,
        else_to: &'static str,
    ) -> &mut Self {
        self.ld_map(R1, m.ring)
            .mov_k(R2, size)
            .mov_k(R3, 0)
            .call(RINGBUF_RESERVE)
            .jump(JNE_K, R0, 0, 0, "reserved")
            .op(ST_W, FP, 0, -32, kind as i32 - 1)
            .ld_map(R1, m.lost)
            .stack_ptr(R2, -32)
            .call(MAP_LOOKUP_ELEM)
            .jump(JEQ_K, R0, 0, 0, else_to)
            .mov_k(R1, 1)
            .op(ATOMIC_ADD_DW, R0, R1, 0, 0)
            .jump(JA, 0, 0, 0, else_to)
            .label("reserved")
            .mov_x(into, R0)
    }

    fn submit(&mut self, rec: u8) -> &mut Self {
        self.mov_x(R1, rec).mov_k(R2, 0).call(RINGBUF_SUBMIT)
    }

    fn exit0(&mut self) -> &mut Self {
        self.label("out").mov_k(R0, 0).op(EXIT, 0, 0, 0, 0)
    }
}

/// raw_tracepoint/sys_enter, args (struct pt_regs *regs, long id).
pub fn sys_enter(t: &Target, m: &Maps) -> Vec<Insn> {
    let mut a = Asm::default();
    a.only_the_container(t)
        .op(LDX_DW, R7, R6, 8, 0)
        .jump(JEQ_K, R7, 0, NR_EXECVE, "arm")
        .jump(JNE_K, R7, 0, NR_EXECVEAT, "remember")
        .label("arm")
        .op(ST_W, FP, 0, -4, 0)
        .ld_map(R1, m.armed)
        .stack_ptr(R2, -4)
        .call(MAP_LOOKUP_ELEM)
        .jump(JEQ_K, R0, 0, 0, "remember")
        .op(ST_DW, R0, 0, 0, 1)
        .label("remember")
        .tid_at_fp8()
        .op(STX_DW, FP, R7, -24, 0)
        .call(KTIME_GET_NS)
        .op(STX_DW, FP, R0, -16, 0)
        .ld_map(R1, m.syscalls)
        .stack_ptr(R2, -8)
        .stack_ptr(R3, -24)
        .mov_k(R4, 0)
        .call(MAP_UPDATE_ELEM)
        .exit0();
    a.finish()
}

/// raw_tracepoint/sys_exit, args (struct pt_regs *regs, long ret).
pub fn sys_exit(t: &Target, m: &Maps) -> Vec<Insn> {
    let mut a = Asm::default();
    a.only_the_container(t)
        .tid_at_fp8()
        .op(LDX_DW, R7, R6, 8, 0)
        .jump(JEQ_K, R7, 0, -EPERM, "refused")
        .jump(JEQ_K, R7, 0, -EACCES, "refused")
        .jump(JEQ_K, R7, 0, -EROFS, "refused")
        .jump(JNE_K, R7, 0, -EAGAIN, "forget")
        .label("refused")
        .only_when_armed(m, "forget")
        .reserve(m, KIND_FAILED, FAILED_SIZE, R9, "forget")
        .op(ST_W, R9, 0, 0, KIND_FAILED as i32)
        .mov_x(R1, R9)
        .op(ADD64_K, R1, 0, 0, EVENT_SIZE)
        .mov_k(R2, FAILED_SIZE - EVENT_SIZE)
        .op(LDX_DW, R3, R6, 0, 0)
        .op(ADD64_K, R3, 0, 0, PT_REGS_R10)
        .call(PROBE_READ_KERNEL)
        // The number from the registers: a call the seccomp filter refused never reached
        // sys_enter, so the map does not have it; that absence is what field 40 records.
        .mov_x(R1, R9)
        .op(ADD64_K, R1, 0, 0, 4)
        .mov_k(R2, 4)
        .op(LDX_DW, R3, R6, 0, 0)
        .op(ADD64_K, R3, 0, 0, PT_REGS_ORIG_AX)
        .call(PROBE_READ_KERNEL)
        .op(LDX_W, R7, R9, 4, 0)
        .syscall_into(m, R9)
        .op(STX_W, R9, R7, 4, 0)
        .op(ST_W, R9, 0, 40, 1)
        .jump(JNE_K, R0, 0, 0, "entered")
        .op(ST_W, R9, 0, 40, 0)
        .label("entered")
        .common_fields(R9)
        .op(LDX_DW, R7, R6, 8, 0)
        .op(STX_W, R9, R7, 44, 0)
        .op(ST_DW, R9, 0, 48, 0)
        .op(ST_DW, R9, 0, 56, 0)
        .op(ST_DW, R9, 0, 64, -1)
        .op(ST_DW, R9, 0, 80, 0)
        .submit(R9)
        .label("forget")
        .ld_map(R1, m.syscalls)
        .stack_ptr(R2, -8)
        .call(MAP_DELETE_ELEM)
        .exit0();
    a.finish()
}

/// raw_tracepoint/cap_capable, args (const struct cred *cred, struct user_namespace
/// *target_ns, const struct user_namespace *capable_ns, int cap, int ret); capable_ns is the
/// credentials' own user namespace (security/commoncap.c).
pub fn cap_capable(t: &Target, m: &Maps) -> Vec<Insn> {
    let mut a = Asm::default();
    a.only_the_container(t)
        .only_when_armed(m, "out")
        .reserve(m, KIND_CAP, EVENT_SIZE, R9, "out")
        .op(ST_W, R9, 0, 0, KIND_CAP as i32)
        .tid_at_fp8()
        .syscall_into(m, R9)
        .common_fields(R9);
    for (arg, at) in [(3, 40), (4, 44)] {
        a.op(LDX_DW, R1, R6, arg * 8, 0).op(STX_W, R9, R1, at, 0);
    }
    for (arg, at) in [(0, 80), (1, 48), (2, 56)] {
        a.op(LDX_DW, R1, R6, arg * 8, 0).op(STX_DW, R9, R1, at, 0);
    }
    a.op(ST_DW, R9, 0, 64, -1);
    if let Some(off) = t.userns_level_offset {
        // The namespaces' depth (0: the host's). The pointers are live (the kernel has just
        // used them) and the offset comes from the kernel's own BTF, so the read cannot fail.
        for (ptr_at, level_at) in [(48, 64), (56, 68)] {
            a.mov_x(R1, R9)
                .op(ADD64_K, R1, 0, 0, level_at)
                .mov_k(R2, 4)
                .op(LDX_DW, R3, R9, ptr_at, 0)
                .op(ADD64_K, R3, 0, 0, off as i32)
                .call(PROBE_READ_KERNEL);
        }
    }
    a.submit(R9).exit0();
    a.finish()
}

/// A device program (BPF_PROG_TYPE_CGROUP_DEVICE, ctx `struct bpf_cgroup_dev_ctx`:
/// access_type = access << 16 | type, major, minor) attached beside the container's own: it
/// allows everything (the cgroup's programs must all allow, so it changes no answer) and
/// records each device access of the container's processes as a `KIND_DEVICE` event. No
/// tracepoint fires when the device rules refuse, and kprobes or fexit on the device check are
/// refused on a locked-down kernel; a call that then fails with EPERM was refused by them.
pub fn device_access(m: &Maps) -> Vec<Insn> {
    let mut a = Asm::default();
    a.mov_x(R6, R1)
        .only_when_armed(m, "out")
        .reserve(m, KIND_DEVICE, EVENT_SIZE, R9, "out")
        .op(ST_W, R9, 0, 0, KIND_DEVICE as i32)
        .tid_at_fp8()
        .syscall_into(m, R9)
        .common_fields(R9)
        .op(LDX_W, R1, R6, 0, 0)
        .mov_x(R2, R1)
        .op(AND64_K, R1, 0, 0, 0xffff)
        .op(STX_W, R9, R1, 40, 0)
        .op(RSH64_K, R2, 0, 0, 16)
        .op(STX_W, R9, R2, 56, 0)
        .op(LDX_W, R1, R6, 4, 0)
        .op(STX_W, R9, R1, 48, 0)
        .op(LDX_W, R1, R6, 8, 0)
        .op(STX_W, R9, R1, 52, 0)
        .op(ST_W, R9, 0, 44, 0)
        .op(ST_W, R9, 0, 60, 0)
        .op(ST_DW, R9, 0, 64, 0)
        .op(ST_DW, R9, 0, 80, 0)
        .submit(R9)
        .label("out")
        .mov_k(R0, 1)
        .op(EXIT, 0, 0, 0, 0);
    a.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            cgroup_id: 0x1_0000_0042,
            cgroup_level: 2,
            userns_level_offset: Some(0x98),
        }
    }
    const MAPS: Maps = Maps {
        armed: 3,
        syscalls: 4,
        ring: 5,
        lost: 6,
    };

    /// Every jump lands inside the program, on an instruction (not the second half of an
    /// ld_imm64), and every program ends in exit.
    #[test]
    fn jumps_land_on_instructions() {
        for prog in [
            sys_enter(&target(), &MAPS),
            sys_exit(&target(), &MAPS),
            device_access(&MAPS),
            cap_capable(&target(), &MAPS),
            cap_capable(
                &Target {
                    userns_level_offset: None,
                    ..target()
                },
                &MAPS,
            ),
        ] {
            let halves: Vec<usize> = prog
                .iter()
                .enumerate()
                .filter(|(_, i)| i.code == LD_IMM64)
                .map(|(pc, _)| pc + 1)
                .collect();
            for (pc, i) in prog.iter().enumerate() {
                if matches!(i.code, JEQ_K | JNE_K | JNE_X | JA) {
                    let to = pc as isize + 1 + i.off as isize;
                    assert!(to > pc as isize && (to as usize) < prog.len(), "pc {pc}");
                    assert!(!halves.contains(&(to as usize)), "pc {pc} into an ld_imm64");
                }
            }
            assert_eq!(prog.last().unwrap().code, EXIT);
        }
    }

    /// A full ring buffer is counted, each kind in its own slot of the `lost` map.
    #[test]
    fn every_recording_program_counts_what_the_full_ring_buffer_drops() {
        for (prog, kind) in [
            (cap_capable(&target(), &MAPS), KIND_CAP),
            (sys_exit(&target(), &MAPS), KIND_FAILED),
            (device_access(&MAPS), KIND_DEVICE),
        ] {
            let at = prog.iter().position(|i| i.code == ATOMIC_ADD_DW).unwrap();
            let map = prog[..at].iter().rposition(|i| i.code == LD_IMM64).unwrap();
            assert_eq!(prog[map].imm, MAPS.lost);
            let slot = prog[..map].iter().rposition(|i| i.code == ST_W).unwrap();
            assert_eq!((prog[slot].off, prog[slot].imm), (-32, kind as i32 - 1));
            assert!((kind - 1) < LOST_SLOTS);
        }
    }

    #[test]
    fn the_filter_compares_the_whole_64_bit_cgroup_id() {
        let p = cap_capable(&target(), &MAPS);
        let at = p.iter().position(|i| i.code == LD_IMM64).unwrap();
        assert_eq!(p[at].imm as u32, 0x42);
        assert_eq!(p[at + 1].imm as u32, 1);
        assert_eq!(p[1].imm, 2, "the ancestor at the container's level");
    }
}
