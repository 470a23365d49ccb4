//! ENOSYS for syscalls newer than the compiler: libseccomp drops a name it does not know, so a
//! call newer than its table falls to the default action (EPERM). A program that would fall back
//! on ENOSYS (glibc's clone3 -> clone, fchmodat2 -> fchmodat, …) then fails instead. runc's
//! answer, reimplemented here: a stub before libseccomp's program returns ENOSYS, per
//! architecture, for a number above the highest one libseccomp knows there; every other call
//! goes on to the filter unchanged. A number libseccomp knows (so the profile could have named
//! it) keeps its rule or the default action.
//!
//! x86_64 and x32 share AUDIT_ARCH_X86_64: x32 numbers carry bit 30, and their table is the
//! common one (which grows) below 512 plus a frozen x32-only block 512..=547, so x32 gets two
//! ranges. Numbers with bit 31 set and the calls of an architecture the filter does not list are
//! left to the filter (libseccomp kills a foreign architecture). Only x86_64, i386, x32 and
//! aarch64 are patched: other architectures have multiplexers or private blocks (s390's
//! syscall 0, arm's 0xf0000) that a single threshold would get wrong.

use libseccomp::{ScmpArch, ScmpSyscall};
use oci_spec::runtime::LinuxSeccompAction;

use super::filter::{
    AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, Insn, JMP_JA, JMP_JEQ_K, JMP_JGE_K, JMP_JGT_K, LD_W_ABS,
    OFF_ARCH, OFF_NR, RET_K,
};

const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
const X32_BIT: u32 = 0x4000_0000;
/// x32's own block (512..=547) sits above the common table and never grows.
const X32_OWN_BLOCK: u32 = 512;
/// Every table libseccomp has for these architectures ends well below this.
const SCAN: u32 = 1024;

const RET_ERRNO_ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;

/// `program` with the ENOSYS stub in front, for a filter over `arches` (the native one is always
/// in) with `default` as its default action. Unchanged when the default already lets unknown
/// calls run (allow, log, trace: as runc, a tracer handles new calls itself).
pub fn patch(program: Vec<Insn>, arches: &[ScmpArch], default: LinuxSeccompAction) -> Vec<Insn> {
    use LinuxSeccompAction::*;
    if matches!(default, ScmpActAllow | ScmpActLog | ScmpActTrace) {
        return program;
    }
    let mut stub = stub(&groups(arches));
    stub.extend(program);
    stub
}

/// One architecture token and the syscall-number ranges (inclusive, unsigned) that get ENOSYS.
type Group = (u32, Vec<(u32, u32)>);

fn groups(arches: &[ScmpArch]) -> Vec<Group> {
    let has = |a: ScmpArch| arches.contains(&a) || ScmpArch::native() == a;
    let mut out = Vec::new();
    let mut x86_64 = Vec::new();
    if has(ScmpArch::X8664)
        && let Some(top) = highest_known(ScmpArch::X8664, 0, SCAN)
    {
        x86_64.push((top + 1, X32_BIT - 1));
    }
    if has(ScmpArch::X32)
        && let Some(common) = highest_known(ScmpArch::X32, X32_BIT, X32_OWN_BLOCK)
        && let Some(all) = highest_known(ScmpArch::X32, X32_BIT, SCAN)
    {
        if all > common {
            x86_64.push((common + 1, X32_BIT + X32_OWN_BLOCK - 1));
        }
        x86_64.push((all + 1, 0x7fff_ffff));
    }
    if !x86_64.is_empty() {
        out.push((AUDIT_ARCH_X86_64, x86_64));
    }
    for (arch, token) in [
        (ScmpArch::X86, AUDIT_ARCH_I386),
        (ScmpArch::Aarch64, AUDIT_ARCH_AARCH64),
    ] {
        if has(arch)
            && let Some(top) = highest_known(arch, 0, SCAN)
        {
            out.push((token, vec![(top + 1, u32::MAX)]));
        }
    }
    out
}

/// The highest number in base..base+len that libseccomp names on `arch`.
fn highest_known(arch: ScmpArch, base: u32, len: u32) -> Option<u32> {
    (base..base + len).rev().find(|&n| {
        ScmpSyscall::from_raw_syscall(n as i32)
            .get_name_by_arch(arch)
            .is_ok()
    })
}

/// Per group: load the arch, skip the group unless it matches, load the number, one
/// two-instruction range test each (below lo: next range; above hi: next range; else ENOSYS),
/// then jump to the filter. After the groups: jump over the ENOSYS return into the filter.
fn stub(groups: &[Group]) -> Vec<Insn> {
    let ins = |code, jt, jf, k| Insn { code, jt, jf, k };
    let len: usize = groups.iter().map(|(_, r)| 4 + 2 * r.len()).sum::<usize>() + 2;
    let enosys = len - 1;
    let mut out = Vec::with_capacity(len);
    for (token, ranges) in groups {
        out.push(ins(LD_W_ABS, 0, 0, OFF_ARCH));
        out.push(ins(JMP_JEQ_K, 0, (2 + 2 * ranges.len()) as u8, *token));
        out.push(ins(LD_W_ABS, 0, 0, OFF_NR));
        for &(lo, hi) in ranges {
            out.push(ins(JMP_JGE_K, 0, 1, lo));
            let to_enosys = enosys - (out.len() + 1);
            out.push(ins(JMP_JGT_K, 0, to_enosys as u8, hi));
        }
        out.push(ins(JMP_JA, 0, 0, (len - (out.len() + 1)) as u32));
    }
    out.push(ins(JMP_JA, 0, 0, 1));
    out.push(ins(RET_K, 0, 0, RET_ERRNO_ENOSYS));
    debug_assert_eq!(out.len(), len);
    out
}
