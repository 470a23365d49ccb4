//! The calls a profile allows outright, allowed by a search over runs of numbers in front of
//! libseccomp's program.
//!
//! Docker's profile allows about 370 calls with no condition. libseccomp compares each one in each
//! architecture's section, 1264 instructions for x86_64, x32 and i386 together, and the kernel
//! checks, converts and JIT-compiles the whole program at every launch. Those calls' numbers fall
//! into a few dozen runs per architecture, so a binary search with one comparison per run
//! boundary allows them (294 instructions), and libseccomp compiles only the rest of the profile:
//! conditional rules, other actions, the default, the architecture checks, and the calls it must
//! keep (below): 210. A call the search does not allow goes on to libseccomp's program, which
//! decides it as it would have alone; the tests check that call by call.
//!
//! Kept with libseccomp: socketcall and ipc, and every call libseccomp gives a pseudo number on
//! i386 (the socket and SysV IPC calls, which it also allows through those multiplexers). Taken
//! only for x86_64, x32 and i386 (the architectures the tests judge), a default other than allow,
//! and, with i386 in, socketcall and ipc allowed outright. Otherwise `split` gives None and
//! libseccomp compiles the whole profile.

use std::collections::BTreeSet;

use libseccomp::{ScmpArch, ScmpSyscall};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction};

use super::filter::{
    AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, Insn, JMP_JEQ_K, JMP_JGE_K, LD_W_ABS, OFF_ARCH, OFF_NR,
    RET_K,
};

const RET_ALLOW: u32 = 0x7fff_0000;

/// The profile without its outright allows, and the instructions that allow them.
pub struct Split {
    pub rest: LinuxSeccomp,
    pub prefix: Vec<Insn>,
}

/// `spec` split for a filter over `arches` (the native one is always in), or None where the
/// search could decide differently from libseccomp (module doc).
pub fn split(spec: &LinuxSeccomp, arches: &[ScmpArch]) -> Option<Split> {
    if spec.default_action() == LinuxSeccompAction::ScmpActAllow {
        return None;
    }
    let mut all = arches.to_vec();
    all.push(ScmpArch::native());
    if !all
        .iter()
        .all(|a| matches!(a, ScmpArch::X8664 | ScmpArch::X32 | ScmpArch::X86))
    {
        return None;
    }
    let outright = outright(spec);
    if all.contains(&ScmpArch::X86)
        && !(outright.contains("socketcall") && outright.contains("ipc"))
    {
        return None;
    }
    // On i386 libseccomp gives socket and SysV IPC calls pseudo numbers (below zero), standing
    // for the call and its multiplexed form both: such a name stays with libseccomp. x86_64 and
    // x32 multiplex nothing, so there a pseudo number only says the call does not exist.
    // The multiplexers themselves stay too: how libseccomp compiles a conditional socket rule on
    // i386 depends on whether socketcall is in its filter.
    let direct = |n: &String| -> Option<Vec<(ScmpArch, u32)>> {
        if n == "socketcall" || n == "ipc" {
            return None;
        }
        let mut nrs = Vec::new();
        for &a in &all {
            let nr = ScmpSyscall::from_name_by_arch(n, a)
                .ok()
                .and_then(|nr| u32::try_from(i32::from(nr)).ok());
            match (nr, a) {
                (Some(nr), _) => nrs.push((a, nr)),
                (None, ScmpArch::X86) => return None,
                (None, _) => {}
            }
        }
        (!nrs.is_empty()).then_some(nrs)
    };
    let resolved: Vec<(String, Vec<(ScmpArch, u32)>)> = outright
        .into_iter()
        .filter_map(|n| direct(&n).map(|nrs| (n, nrs)))
        .collect();
    let numbers = |on: &[ScmpArch]| -> Vec<u32> {
        resolved
            .iter()
            .flat_map(|(_, nrs)| nrs.iter())
            .filter(|(a, _)| on.contains(a))
            .map(|&(_, nr)| nr)
            .collect()
    };
    let mut prefix = group(
        AUDIT_ARCH_X86_64,
        numbers(&[ScmpArch::X8664, ScmpArch::X32]),
    )?;
    prefix.extend(group(AUDIT_ARCH_I386, numbers(&[ScmpArch::X86]))?);
    let taken: BTreeSet<String> = resolved.into_iter().map(|(n, _)| n).collect();
    Some(Split {
        rest: without(spec, &taken),
        prefix,
    })
}

/// Names every rule of which allows them with no condition (and which libseccomp knows).
fn outright(spec: &LinuxSeccomp) -> BTreeSet<String> {
    let mut plain = BTreeSet::new();
    let mut other = BTreeSet::new();
    for r in spec.syscalls().iter().flatten() {
        let unconditional = r.args().as_deref().unwrap_or_default().is_empty();
        let set = if unconditional && r.action() == LinuxSeccompAction::ScmpActAllow {
            &mut plain
        } else {
            &mut other
        };
        set.extend(r.names().iter().cloned());
    }
    plain
        .into_iter()
        .filter(|n| !other.contains(n) && ScmpSyscall::from_name(n).is_ok())
        .collect()
}

fn without(spec: &LinuxSeccomp, names: &BTreeSet<String>) -> LinuxSeccomp {
    let rules = spec
        .syscalls()
        .iter()
        .flatten()
        .filter_map(|r| {
            let kept: Vec<String> = r
                .names()
                .iter()
                .filter(|n| !names.contains(*n))
                .cloned()
                .collect();
            (!kept.is_empty()).then(|| {
                let mut r = r.clone();
                r.set_names(kept);
                r
            })
        })
        .collect();
    let mut rest = spec.clone();
    rest.set_syscalls(Some(rules));
    rest
}

/// Where a jump goes, before the group is laid out.
#[derive(Clone, Copy)]
enum To {
    Next,
    At(usize),
    Allow,
    Out,
}

/// For one architecture token: load it, compare, load the number, search the run boundaries,
/// allow; every miss leaves the group (to the next group's architecture check, or to
/// libseccomp's program after the last). Empty when no number is allowed; None when a jump would
/// not fit BPF's 8-bit offsets.
fn group(token: u32, mut numbers: Vec<u32>) -> Option<Vec<Insn>> {
    numbers.sort_unstable();
    numbers.dedup();
    if numbers.is_empty() {
        return Some(Vec::new());
    }
    // Run boundaries: a number is allowed when an odd count of them is ≤ it.
    let mut bounds = Vec::new();
    for (i, &n) in numbers.iter().enumerate() {
        if i == 0 || numbers[i - 1] + 1 != n {
            bounds.push(n);
        }
        if numbers.get(i + 1) != Some(&(n + 1)) {
            bounds.push(n.checked_add(1)?);
        }
    }
    let mut ops: Vec<(u16, u32, To, To)> = vec![
        (LD_W_ABS, OFF_ARCH, To::Next, To::Next),
        (JMP_JEQ_K, token, To::Next, To::Out),
        (LD_W_ABS, OFF_NR, To::Next, To::Next),
    ];
    search(&bounds, 0, bounds.len(), &mut ops);
    ops.push((RET_K, RET_ALLOW, To::Next, To::Next));
    let allow = ops.len() - 1;
    let out = ops.len();
    ops.iter()
        .enumerate()
        .map(|(i, &(code, k, jt, jf))| {
            let offset = |t: To| -> Option<u8> {
                let target = match t {
                    To::Next => i + 1,
                    To::At(j) => j,
                    To::Allow => allow,
                    To::Out => out,
                };
                u8::try_from(target - i - 1).ok()
            };
            let jumps = code & 0x07 == 0x05;
            Some(Insn {
                code,
                jt: if jumps { offset(jt)? } else { 0 },
                jf: if jumps { offset(jf)? } else { 0 },
                k,
            })
        })
        .collect()
}

/// A binary search over `bounds[l..r]`, knowing `bounds[l-1] ≤ nr < bounds[r]`: one
/// `jge` per boundary, every jump forward. Returns where the search for this span starts.
fn search(bounds: &[u32], l: usize, r: usize, ops: &mut Vec<(u16, u32, To, To)>) -> To {
    if l == r {
        return if l % 2 == 1 { To::Allow } else { To::Out };
    }
    let mid = (l + r) / 2;
    let at = ops.len();
    ops.push((JMP_JGE_K, bounds[mid], To::Next, To::Next));
    ops[at].3 = search(bounds, l, mid, ops);
    ops[at].2 = search(bounds, mid + 1, r, ops);
    To::At(at)
}
