//! Compiled filters judged two ways: by a BPF interpreter of our own (every syscall number, every
//! architecture, without root) and by the kernel itself (a thread installs the filter and calls).

use std::collections::BTreeMap;

use libseccomp::{ScmpArch, ScmpSyscall};
use oci_spec::runtime::LinuxSeccomp;

use super::*;
use crate::capability::policy::DOCKER_DEFAULTS;

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
const X32_BIT: i32 = 0x4000_0000;

const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_NOTIFY: u32 = 0x7fc0_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

const SYS_ADMIN: u8 = 21;
const KERNEL: (u32, u32) = (6, 18);

/// The kernel's seccomp_data, as the filter sees it.
#[derive(Debug, Clone, Copy)]
struct Data {
    nr: i32,
    arch: u32,
    args: [u64; 6],
}

impl Data {
    fn word(&self, off: u32) -> u32 {
        let lo = |v: u64| v as u32;
        let hi = |v: u64| (v >> 32) as u32;
        match off {
            0 => self.nr as u32,
            4 => self.arch,
            // instruction_pointer: not used by any profile here.
            8 | 12 => 0,
            o if (16..64).contains(&o) && o % 4 == 0 => {
                let a = self.args[(o as usize - 16) / 8];
                if o % 8 == 0 { lo(a) } else { hi(a) }
            }
            o => panic!("load at offset {o} outside seccomp_data"),
        }
    }
}

/// Classic BPF as the kernel's seccomp checker admits it (loads of seccomp_data, scratch memory,
/// ALU, jumps, returns). Panics on anything else: the filter would be rejected by the kernel too.
fn run(prog: &[Insn], d: &Data) -> u32 {
    let (mut a, mut x, mut mem, mut pc) = (0u32, 0u32, [0u32; 16], 0usize);
    loop {
        let i = prog[pc];
        pc += 1;
        let src = if i.code & 0x08 != 0 { x } else { i.k };
        match i.code {
            0x20 => a = d.word(i.k),
            0x00 => a = i.k,
            0x01 => x = i.k,
            0x60 => a = mem[i.k as usize],
            0x61 => x = mem[i.k as usize],
            0x02 => mem[i.k as usize] = a,
            0x03 => mem[i.k as usize] = x,
            0x07 => x = a,
            0x87 => a = x,
            0x04 | 0x0c => a = a.wrapping_add(src),
            0x14 | 0x1c => a = a.wrapping_sub(src),
            0x44 | 0x4c => a |= src,
            0x54 | 0x5c => a &= src,
            0xa4 | 0xac => a ^= src,
            0x64 | 0x6c => a = a.checked_shl(src).unwrap_or(0),
            0x74 | 0x7c => a = a.checked_shr(src).unwrap_or(0),
            0x05 => pc += i.k as usize,
            0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d | 0x45 | 0x4d => {
                let taken = match i.code & 0xf0 {
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    _ => a & src != 0,
                };
                pc += if taken { i.jt } else { i.jf } as usize;
            }
            0x06 => return i.k,
            0x16 => return a,
            c => panic!("BPF opcode {c:#x} at {} not interpreted", pc - 1),
        }
    }
}

fn filter_for(spec: &LinuxSeccomp) -> Filter {
    compile(spec).expect("compiles")
}

fn call(f: &Filter, arch: u32, nr: i32, args: [u64; 6]) -> u32 {
    run(&f.program, &Data { nr, arch, args })
}

fn nr(name: &str, arch: ScmpArch) -> i32 {
    ScmpSyscall::from_name_by_arch(name, arch)
        .unwrap_or_else(|_| panic!("{name} on {arch:?}"))
        .as_raw_syscall()
}

fn name(arch: u32, nr: i32) -> String {
    let a = match arch {
        AUDIT_ARCH_I386 => ScmpArch::X86,
        _ if nr & X32_BIT != 0 => ScmpArch::X32,
        _ => ScmpArch::X8664,
    };
    ScmpSyscall::from_raw_syscall(nr)
        .get_name_by_arch(a)
        .unwrap_or_else(|_| format!("#{nr}"))
}

/// The argument vectors that reach every argument condition in Docker's and podman's profiles:
/// socket families (AF_NETLINK, AF_ALG..AF_VSOCK), NETLINK_AUDIT, personality values, clone
/// flags with and without namespace bits.
fn arg_vectors() -> Vec<[u64; 6]> {
    let mut v = vec![[0; 6]];
    for a0 in [
        1,
        2,
        8,
        16,
        37,
        38,
        39,
        40,
        41,
        0x20000,
        0x20008,
        0xffff_ffff,
        0x1_0000_0000,
        0x11,
        0x1000_0011,
        0x0002_0011,
        0x7e02_0000,
    ] {
        v.push([a0, 0, 0, 0, 0, 0]);
        v.push([a0, 3, 9, 0, 0, 0]);
    }
    v
}

type Decisions = BTreeMap<(u32, i32, usize), u32>;

/// Every syscall number of x86_64, x32 and i386, with every argument vector.
fn decisions(f: &Filter) -> Decisions {
    let mut out = BTreeMap::new();
    let vectors = arg_vectors();
    for (arch, base) in [
        (AUDIT_ARCH_X86_64, 0),
        (AUDIT_ARCH_X86_64, X32_BIT),
        (AUDIT_ARCH_I386, 0),
    ] {
        for n in 0..600 {
            for (vi, args) in vectors.iter().enumerate() {
                out.insert((arch, base | n, vi), call(f, arch, base | n, *args));
            }
        }
    }
    out
}

fn ours(caps: CapSet) -> Filter {
    filter_for(&docker_default(caps, KERNEL))
}

fn podmans(caps: CapSet) -> Filter {
    filter_for(&podman_profile(caps))
}

fn podman_profile(caps: CapSet) -> LinuxSeccomp {
    let text = std::fs::read_to_string("/usr/share/containers/seccomp.json")
        .expect("/usr/share/containers/seccomp.json (package golang-github-containers-common)");
    Profile::from_json(&text)
        .unwrap()
        .resolve(Host {
            caps,
            kernel: KERNEL,
        })
        .unwrap()
}

/// Where one filter allows and the other does not, over x86_64, x32 and i386 together: `+name`
/// when only `a` allows, `-name` when only `b` does; the bare name when that holds for every
/// argument vector on every architecture that has the call, `name(a0,a1,a2)` otherwise.
fn differences(a: &Filter, b: &Filter) -> Vec<String> {
    let (da, db) = (decisions(a), decisions(b));
    let vectors = arg_vectors();
    let mut per_call: BTreeMap<String, std::collections::BTreeSet<usize>> = BTreeMap::new();
    for (k, &ra) in &da {
        let (arch, n, vi) = *k;
        let (a_allows, b_allows) = (ra == RET_ALLOW, db[k] == RET_ALLOW);
        if a_allows != b_allows {
            let sign = if a_allows { '+' } else { '-' };
            per_call
                .entry(format!("{sign}{}", name(arch, n)))
                .or_default()
                .insert(vi);
        }
    }
    let mut out = Vec::new();
    for (call, vis) in per_call {
        if vis.len() == vectors.len() {
            out.push(call);
        } else {
            for vi in vis {
                let a = vectors[vi];
                out.push(format!("{call}({:#x},{},{})", a[0], a[1], a[2]));
            }
        }
    }
    out.sort();
    out
}

// Podman's variant (containers-common, Debian 12) forked from an older Docker profile and made
// its own choices since. Every allow/deny difference is listed below with its reason; anything
// else is a defect in our table, our resolution or our compiler. `+`: only Docker's profile
// allows the call; `-`: only podman's does.

/// Calls Docker allowed after podman's copy was taken (futex2, cachestat, fchmodat2, shadow
/// stacks, the time64 io_pgetevents), and two podman explicitly denies: io_pgetevents and
/// vmsplice (its EPERM list).
const DOCKER_NEWER: &[&str] = &[
    "+cachestat",
    "+fchmodat2",
    "+futex_requeue",
    "+futex_wait",
    "+futex_waitv",
    "+futex_wake",
    "+io_pgetevents",
    "+io_pgetevents_time64",
    "+map_shadow_stack",
    "+vmsplice",
];
/// Calls podman allows whatever the capabilities and Docker does not: keyctl (Docker: keys are
/// not namespaced), pivot_root and reboot (podman: harmless in a container), the NUMA policy
/// calls (Docker: CAP_SYS_NICE only), pidfd_getfd (Docker: CAP_SYS_PTRACE only), sockets of
/// AF_ALG (38) and AF_VSOCK (40) (Docker shut these families), and i386's obsolete signal and
/// readdir calls (kept in podman's list, dropped from Docker's).
const PODMAN_ALWAYS: &[&str] = &[
    "-get_mempolicy",
    "-keyctl",
    "-mbind",
    "-pidfd_getfd",
    "-pivot_root",
    "-readdir",
    "-reboot",
    "-set_mempolicy",
    "-sigaction",
    "-signal",
    "-sigpending",
    "-sigsuspend",
    "-socket(0x26,0,0)",
    "-socket(0x26,3,9)",
    "-socket(0x28,0,0)",
    "-socket(0x28,3,9)",
];
/// Without CAP_SYS_ADMIN Docker shuts mount, namespace and new-mount-API calls, syslog, clone
/// with namespace flags, and clone3 (ENOSYS); podman leaves them to the kernel's capability
/// checks so that nested (rootless) containers work.
const PODMAN_WITHOUT_SYS_ADMIN: &[&str] = &[
    "-clone(0x20000,0,0)",
    "-clone(0x20000,3,9)",
    "-clone(0x20008,0,0)",
    "-clone(0x20008,3,9)",
    "-clone(0xffffffff,0,0)",
    "-clone(0xffffffff,3,9)",
    "-clone(0x10000011,0,0)",
    "-clone(0x10000011,3,9)",
    "-clone(0x20011,0,0)",
    "-clone(0x20011,3,9)",
    "-clone(0x7e020000,0,0)",
    "-clone(0x7e020000,3,9)",
    "-clone3",
    "-fsconfig",
    "-fsmount",
    "-fsopen",
    "-fspick",
    "-mount",
    "-mount_setattr",
    "-move_mount",
    "-open_tree",
    "-setns",
    "-syslog",
    "-umount",
    "-umount2",
    "-unshare",
];

fn expect(groups: &[&[&str]]) -> Vec<String> {
    let mut v: Vec<String> = groups
        .iter()
        .flat_map(|g| g.iter().map(|s| s.to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn interpreter_agrees_with_known_programs() {
    // ld arch; jeq x86_64 ? next : kill; ld nr; jeq 39 ? errno(1) : allow
    let prog = [
        Insn {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 4,
        },
        Insn {
            code: 0x15,
            jt: 1,
            jf: 0,
            k: AUDIT_ARCH_X86_64,
        },
        Insn {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: RET_KILL_THREAD,
        },
        Insn {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 0,
        },
        Insn {
            code: 0x15,
            jt: 0,
            jf: 1,
            k: 39,
        },
        Insn {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: RET_ERRNO | 1,
        },
        Insn {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: RET_ALLOW,
        },
    ];
    let d = |nr, arch| Data {
        nr,
        arch,
        args: [0; 6],
    };
    assert_eq!(run(&prog, &d(39, AUDIT_ARCH_X86_64)), RET_ERRNO | 1);
    assert_eq!(run(&prog, &d(40, AUDIT_ARCH_X86_64)), RET_ALLOW);
    assert_eq!(run(&prog, &d(39, AUDIT_ARCH_I386)), RET_KILL_THREAD);
}

#[test]
fn docker_default_decides_like_dockers_profile() {
    let f = ours(DOCKER_DEFAULTS);
    let x64 = |n: &str, args: [u64; 6]| call(&f, AUDIT_ARCH_X86_64, nr(n, ScmpArch::X8664), args);
    let eperm = RET_ERRNO | libc::EPERM as u32;
    for n in [
        "read",
        "write",
        "getpid",
        "execve",
        "ptrace",
        "arch_prctl",
        "chroot",
        "setuid",
    ] {
        assert_eq!(x64(n, [0; 6]), RET_ALLOW, "{n}");
    }
    for n in [
        "mount",
        "umount2",
        "unshare",
        "setns",
        "keyctl",
        "add_key",
        "bpf",
        "perf_event_open",
        "init_module",
        "reboot",
        "kexec_load",
        "open_by_handle_at",
        "syslog",
        "pivot_root",
    ] {
        assert_eq!(x64(n, [0; 6]), eperm, "{n}");
    }
    // Arguments: clone without namespace flags only; socket but AF_ALG(38) and AF_VSOCK(40).
    assert_eq!(x64("clone", [0x11, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(x64("clone", [0x1000_0011, 0, 0, 0, 0, 0]), eperm);
    assert_eq!(x64("clone3", [0; 6]), RET_ERRNO | libc::ENOSYS as u32);
    for (family, want) in [
        (2, RET_ALLOW),
        (38, eperm),
        (39, RET_ALLOW),
        (40, eperm),
        (41, RET_ALLOW),
    ] {
        assert_eq!(
            x64("socket", [family, 1, 0, 0, 0, 0]),
            want,
            "family {family}"
        );
    }
    assert_eq!(x64("personality", [0x20008, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(x64("personality", [0x0040_0000, 0, 0, 0, 0, 0]), eperm);
    // The companions: i386 and x32 are filtered, not killed; another arch is killed.
    for (arch, audit, n, want) in [
        (ScmpArch::X86, AUDIT_ARCH_I386, "getpid", RET_ALLOW),
        (ScmpArch::X86, AUDIT_ARCH_I386, "mount", eperm),
        (ScmpArch::X32, AUDIT_ARCH_X86_64, "read", RET_ALLOW),
        (ScmpArch::X32, AUDIT_ARCH_X86_64, "mount", eperm),
    ] {
        assert_eq!(
            call(&f, audit, nr(n, arch), [0; 6]),
            want,
            "{n} on {arch:?}"
        );
    }
    assert_eq!(call(&f, AUDIT_ARCH_AARCH64, 63, [0; 6]), RET_KILL_THREAD);

    let admin = ours(CapSet(DOCKER_DEFAULTS.0 | 1 << SYS_ADMIN));
    let x64 = |n: &str, a| call(&admin, AUDIT_ARCH_X86_64, nr(n, ScmpArch::X8664), a);
    for n in [
        "mount",
        "unshare",
        "setns",
        "clone3",
        "bpf",
        "perf_event_open",
    ] {
        assert_eq!(x64(n, [0; 6]), RET_ALLOW, "{n} with sys_admin");
    }
    assert_eq!(x64("clone", [0x1000_0011, 0, 0, 0, 0, 0]), RET_ALLOW);

    let none = ours(CapSet::EMPTY);
    let x64 = |n: &str| call(&none, AUDIT_ARCH_X86_64, nr(n, ScmpArch::X8664), [0; 6]);
    assert_eq!(x64("chroot"), eperm);
    assert_eq!(x64("read"), RET_ALLOW);
}

#[test]
fn the_binary_tree_decides_exactly_like_the_linear_filter() {
    for caps in [
        DOCKER_DEFAULTS,
        CapSet(DOCKER_DEFAULTS.0 | 1 << SYS_ADMIN),
        CapSet::EMPTY,
    ] {
        let spec = docker_default(caps, KERNEL);
        let (linear, tree) = (
            compile_as(&spec, Layout::Linear).unwrap(),
            compile_as(&spec, Layout::Tree).unwrap(),
        );
        assert_ne!(linear.program, tree.program, "two layouts");
        assert_eq!(decisions(&linear), decisions(&tree), "caps {:#x}", caps.0);
    }
}

/// The search in front (`ranges`) against libseccomp's tree alone: every number of x86_64, x32
/// and i386 with every argument vector, and every socketcall and ipc call number in arg0 (the
/// multiplexed forms libseccomp adds on i386).
#[test]
fn the_ranges_layout_decides_exactly_like_libseccomp_alone() {
    let mut specs = Vec::new();
    for caps in [
        DOCKER_DEFAULTS,
        CapSet(DOCKER_DEFAULTS.0 | 1 << SYS_ADMIN),
        CapSet::EMPTY,
    ] {
        specs.push(("docker", caps, docker_default(caps, KERNEL)));
        specs.push(("podman", caps, podman_profile(caps)));
    }
    for (who, caps, spec) in specs {
        let what = format!("{who}'s profile, caps {:#x}", caps.0);
        let (tree, ranges) = (
            compile_as(&spec, Layout::Tree).unwrap(),
            compile_as(&spec, Layout::Ranges).unwrap(),
        );
        assert!(
            ranges.program.len() * 2 < tree.program.len(),
            "{what}: {} instructions against the tree's {}",
            ranges.program.len(),
            tree.program.len()
        );
        assert_eq!(ranges.flags, tree.flags, "{what}");
        assert_eq!(decisions(&tree), decisions(&ranges), "{what}");
        for (arch, base) in [
            (AUDIT_ARCH_X86_64, 0),
            (AUDIT_ARCH_X86_64, X32_BIT),
            (AUDIT_ARCH_I386, 0),
        ] {
            for n in 0..600 {
                for a0 in 0..=40 {
                    let args = [a0, 0, 0, 0, 0, 0];
                    assert_eq!(
                        call(&tree, arch, base | n, args),
                        call(&ranges, arch, base | n, args),
                        "{what}: {} with arg0 {a0}",
                        name(arch, base | n)
                    );
                }
            }
        }
    }
}

/// Where the search could decide otherwise (i386 without socketcall allowed outright, another
/// architecture, a default of allow), the program is libseccomp's alone.
#[test]
fn the_ranges_layout_steps_aside_where_it_is_not_certain() {
    let docker = docker_default(DOCKER_DEFAULTS, KERNEL);
    let without_socketcall = oci(r#"{"defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "syscalls": [{"names": ["read", "write", "socket", "ipc"], "action": "SCMP_ACT_ALLOW"}]}"#);
    let aarch64 = oci(r#"{"defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
        "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}"#);
    let allow = oci(r#"{"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["reboot"], "action": "SCMP_ACT_ERRNO"}]}"#);
    for spec in [without_socketcall, aarch64, allow] {
        assert_eq!(
            compile_as(&spec, Layout::Ranges).unwrap().program,
            compile_as(&spec, Layout::Tree).unwrap().program
        );
    }
    let x86_64_only = oci(r#"{"defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["read", "write", "socket"], "action": "SCMP_ACT_ALLOW"}]}"#);
    for spec in [docker, x86_64_only] {
        let (tree, ranges) = (
            compile_as(&spec, Layout::Tree).unwrap(),
            compile_as(&spec, Layout::Ranges).unwrap(),
        );
        assert_ne!(tree.program, ranges.program);
        assert_eq!(decisions(&tree), decisions(&ranges));
    }
}

#[test]
fn default_profile_matches_podmans_for_docker_defaults() {
    let d = differences(&ours(DOCKER_DEFAULTS), &podmans(DOCKER_DEFAULTS));
    assert_eq!(
        d,
        expect(&[DOCKER_NEWER, PODMAN_ALWAYS, PODMAN_WITHOUT_SYS_ADMIN])
    );
}

#[test]
fn default_profile_matches_podmans_with_sys_admin() {
    let caps = CapSet(DOCKER_DEFAULTS.0 | 1 << SYS_ADMIN);
    let d = differences(&ours(caps), &podmans(caps));
    // Docker's sys_admin rule names quotactl_fd; podman's does not.
    assert_eq!(d, expect(&[DOCKER_NEWER, PODMAN_ALWAYS, &["+quotactl_fd"]]));
}

#[test]
fn default_profile_matches_podmans_with_no_capabilities() {
    let d = differences(&ours(CapSet::EMPTY), &podmans(CapSet::EMPTY));
    // Without CAP_AUDIT_WRITE podman refuses socket(AF_NETLINK, *, NETLINK_AUDIT); Docker does not.
    let audit: &[&str] = &["+socket(0x10,3,9)"];
    assert_eq!(
        d,
        expect(&[DOCKER_NEWER, PODMAN_ALWAYS, PODMAN_WITHOUT_SYS_ADMIN, audit])
    );
}

fn oci(json: &str) -> LinuxSeccomp {
    serde_json::from_str(json).expect("valid OCI seccomp")
}

#[test]
fn every_action_and_operator_compiles_to_its_decision() {
    let spec = oci(r#"{
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "syscalls": [
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 33},
            {"names": ["getppid"], "action": "SCMP_ACT_KILL_THREAD"},
            {"names": ["gettid"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["getuid"], "action": "SCMP_ACT_TRAP"},
            {"names": ["getgid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
            {"names": ["geteuid"], "action": "SCMP_ACT_LOG"},
            {"names": ["getegid"], "action": "SCMP_ACT_NOTIFY"},
            {"names": ["no_such_syscall", "getpgrp"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["dup"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 7, "op": "SCMP_CMP_EQ"}]},
            {"names": ["dup2"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 7, "op": "SCMP_CMP_NE"}]},
            {"names": ["dup3"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 7, "op": "SCMP_CMP_LT"}]},
            {"names": ["close"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 7, "op": "SCMP_CMP_LE"}]},
            {"names": ["fsync"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 7, "op": "SCMP_CMP_GE"}]},
            {"names": ["fdatasync"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 7, "op": "SCMP_CMP_GT"}]},
            {"names": ["fchdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 240, "valueTwo": 48, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 2, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 2, "value": 2, "op": "SCMP_CMP_EQ"}]},
            {"names": ["pread64"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 3, "value": 2, "op": "SCMP_CMP_EQ"}]}
        ]}"#);
    let f = compile(&spec).unwrap();
    let x64 = |n: &str, a0: u64| {
        call(
            &f,
            AUDIT_ARCH_X86_64,
            nr(n, ScmpArch::X8664),
            [a0, 0, 0, 0, 0, 0],
        )
    };
    assert_eq!(x64("getpid", 0), RET_ERRNO | 33);
    assert_eq!(x64("getppid", 0), RET_KILL_THREAD);
    assert_eq!(x64("gettid", 0), RET_KILL_PROCESS);
    assert_eq!(x64("getuid", 0), RET_TRAP);
    assert_eq!(x64("getgid", 0), RET_TRACE | 7);
    assert_eq!(x64("geteuid", 0), RET_LOG);
    assert_eq!(x64("getegid", 0), RET_NOTIFY);
    // An unknown name is skipped, its rule's other names stay; errno defaults to EPERM.
    assert_eq!(x64("getpgrp", 0), RET_ERRNO | 1);
    let deny = RET_ERRNO | 1;
    for (n, a0, want) in [
        ("dup", 7, deny),
        ("dup", 8, RET_ALLOW),
        ("dup", 7 | 1 << 32, RET_ALLOW),
        ("dup2", 7, RET_ALLOW),
        ("dup2", 6, deny),
        ("dup3", 6, deny),
        ("dup3", 7, RET_ALLOW),
        ("close", 7, deny),
        ("close", 8, RET_ALLOW),
        ("fsync", 7, deny),
        ("fsync", 6, RET_ALLOW),
        ("fsync", 1 << 40, deny),
        ("fdatasync", 8, deny),
        ("fdatasync", 7, RET_ALLOW),
        ("fchdir", 0x3f, deny),
        ("fchdir", 0x13f, deny),
        ("fchdir", 0x4f, RET_ALLOW),
    ] {
        assert_eq!(x64(n, a0), want, "{n}({a0:#x})");
    }
    // Two conditions on one argument: either; on two arguments: both.
    let lseek = |whence| {
        call(
            &f,
            AUDIT_ARCH_X86_64,
            nr("lseek", ScmpArch::X8664),
            [3, 0, whence, 0, 0, 0],
        )
    };
    assert_eq!((lseek(0), lseek(1), lseek(2)), (RET_ALLOW, deny, deny));
    let pread = |a0, a3| {
        call(
            &f,
            AUDIT_ARCH_X86_64,
            nr("pread64", ScmpArch::X8664),
            [a0, 0, 0, a3, 0, 0],
        )
    };
    assert_eq!(
        (pread(1, 2), pread(1, 0), pread(0, 2)),
        (deny, RET_ALLOW, RET_ALLOW)
    );
    // The 32-bit companions get the same rules under their own numbers.
    assert_eq!(
        call(&f, AUDIT_ARCH_I386, nr("getpid", ScmpArch::X86), [0; 6]),
        RET_ERRNO | 33
    );
    assert_eq!(
        f.flags,
        filter::FLAG_TSYNC
            | filter::FLAG_LOG
            | filter::FLAG_SPEC_ALLOW
            | filter::FLAG_NEW_LISTENER
            | filter::FLAG_TSYNC_ESRCH
    );
}

#[test]
fn bad_profiles_are_errors_naming_the_value() {
    for (json, needle) in [
        (r#"{"defaultAction":"SCMP_ACT_FROB"}"#, "SCMP_ACT_FROB"),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"]}"#,
            "SCMP_ARCH_VAX",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO",
            "args":[{"index":0,"value":1,"op":"SCMP_CMP_FROB"}]}]}"#,
            "SCMP_CMP_FROB",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_FROB"]}"#,
            "SECCOMP_FILTER_FLAG_FROB",
        ),
    ] {
        let e = serde_json::from_str::<LinuxSeccomp>(json)
            .unwrap_err()
            .to_string();
        assert!(e.contains(needle), "{e}");
    }
    for (json, needle) in [
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO",
            "args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
            "argument index 6",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000}"#,
            "errnoRet 70000",
        ),
    ] {
        let e = crate::error_chain::one_line(&compile(&oci(json)).unwrap_err());
        assert!(e.contains(needle), "{e}");
    }
}

#[test]
fn opened_by_names_what_each_capability_unlocks() {
    let admin = opened_by(SYS_ADMIN, KERNEL);
    for n in [
        "mount",
        "umount2",
        "unshare",
        "setns",
        "clone",
        "clone3",
        "bpf",
        "perf_event_open",
    ] {
        assert!(admin.contains(&n.to_string()), "{n} in {admin:?}");
    }
    // ptrace is open on 4.8+ anyway; before, CAP_SYS_PTRACE is what opens it.
    let ptrace = opened_by(19, KERNEL);
    assert_eq!(ptrace, ["kcmp", "pidfd_getfd", "process_madvise"]);
    assert!(opened_by(19, (4, 4)).contains(&"ptrace".to_string()));
    assert_eq!(
        opened_by(16, KERNEL),
        ["delete_module", "finit_module", "init_module"]
    );
    assert!(opened_by(0, KERNEL).is_empty(), "chown opens no syscall");
}

/// Runs `probe` on a new thread that set no_new_privs and installed `filter`: seccomp filters
/// belong to a thread, so the test process itself stays unfiltered.
fn on_filtered_thread<T: Send + 'static>(
    filter: Option<Filter>,
    probe: impl FnOnce(Option<std::os::fd::OwnedFd>) -> T + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        let listener = filter.map(|f| {
            assert_eq!(
                // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes integer arguments only.
                unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) },
                0
            );
            install(&f).expect("install")
        });
        probe(listener.flatten())
    })
    .join()
    .expect("probe thread")
}

/// errno of each call (0 when it succeeded). Arguments are chosen so that without a filter the
/// kernel answers something other than EPERM even for root (bad types, paths, attrs).
fn probe_calls() -> Vec<(&'static str, i32)> {
    let errno = |r: libc::c_long| {
        if r < 0 {
            nix::errno::Errno::last_raw()
        } else {
            0
        }
    };
    // SAFETY: each call gets null or valid pointers and touches no memory of ours.
    unsafe {
        vec![
            (
                "unshare(CLONE_NEWUSER)",
                errno(libc::unshare(libc::CLONE_NEWUSER) as libc::c_long),
            ),
            (
                "mount",
                errno(libc::mount(
                    c"none".as_ptr(),
                    c"/nonexistent-minirun".as_ptr(),
                    c"tmpfs".as_ptr(),
                    0,
                    std::ptr::null(),
                ) as libc::c_long),
            ),
            (
                "keyctl",
                errno(libc::syscall(libc::SYS_keyctl, 0x7fff, 0, 0, 0, 0)),
            ),
            (
                "add_key",
                errno(libc::syscall(
                    libc::SYS_add_key,
                    c"minirun-no-such-type".as_ptr(),
                    c"x".as_ptr(),
                    std::ptr::null::<u8>(),
                    0,
                    -2,
                )),
            ),
            (
                "bpf",
                errno(libc::syscall(
                    libc::SYS_bpf,
                    9999,
                    std::ptr::null::<u8>(),
                    0,
                )),
            ),
            (
                "perf_event_open",
                errno(libc::syscall(
                    libc::SYS_perf_event_open,
                    std::ptr::null::<u8>(),
                    0,
                    -1,
                    -1,
                    0,
                )),
            ),
        ]
    }
}

#[test]
fn kernel_refuses_what_the_default_profile_denies() {
    let filter = ours(DOCKER_DEFAULTS);
    let filtered = on_filtered_thread(Some(filter), |_| {
        let mut pipe = [0; 2];
        // SAFETY: pipe writes two fds into the array; read/write use a valid 1-byte buffer.
        let io_works = unsafe {
            libc::pipe(pipe.as_mut_ptr()) == 0
                && libc::write(pipe[1], b"x".as_ptr().cast(), 1) == 1
                && libc::read(pipe[0], [0u8; 1].as_mut_ptr().cast(), 1) == 1
                && libc::close(pipe[0]) == 0
                && libc::close(pipe[1]) == 0
        };
        (probe_calls(), nix::unistd::getpid().as_raw(), io_works)
    });
    let (results, pid, io_works) = filtered;
    for (call, errno) in &results {
        assert_eq!(*errno, libc::EPERM, "{call} under the default profile");
    }
    assert_eq!(pid, std::process::id() as i32);
    assert!(io_works, "pipe/read/write under the default profile");
    // Control: the same calls on an unfiltered thread get other answers from the kernel.
    for (call, errno) in on_filtered_thread(None, |_| probe_calls()) {
        assert_ne!(
            errno,
            libc::EPERM,
            "{call} without a filter: the probe proves nothing"
        );
    }
}

/// A seccomp notification ioctl; `T` must be the struct `req` is sized for.
fn notif_ioctl<T>(fd: &std::os::fd::OwnedFd, req: libc::Ioctl, arg: &mut T) -> libc::c_int {
    use std::os::fd::AsRawFd;
    // SAFETY: the callers pass RECV with a seccomp_notif and SEND with a seccomp_notif_resp,
    // the sizes these requests encode.
    unsafe { libc::ioctl(fd.as_raw_fd(), req, arg as *mut T) }
}

#[test]
fn a_notify_profile_hands_out_a_listener_that_receives_the_call() {
    use std::os::fd::AsRawFd;
    let spec = oci(r#"{"defaultAction":"SCMP_ACT_ALLOW",
        "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_NOTIFY"}]}"#);
    let filter = compile(&spec).unwrap();
    assert!(filter.notifies());
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        on_filtered_thread(Some(filter), move |listener| {
            tx.send(listener.expect("a listener fd")).unwrap();
            // SAFETY: getppid has no arguments; here the supervisor answers it.
            unsafe { libc::syscall(libc::SYS_getppid) }
        })
    });
    let listener = rx.recv().unwrap();
    let mut pfd = libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    assert_eq!(
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 10_000) },
        1,
        "no notification within 10 s"
    );
    // SAFETY: seccomp_notif is plain data; the kernel requires it zeroed before RECV.
    let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    let r = notif_ioctl(&listener, libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req);
    assert_eq!(r, 0, "NOTIF_RECV: {}", nix::Error::last());
    assert_eq!(req.data.nr as libc::c_long, libc::SYS_getppid);
    let mut resp = libc::seccomp_notif_resp {
        id: req.id,
        val: 4242,
        error: 0,
        flags: 0,
    };
    let r = notif_ioctl(&listener, libc::SECCOMP_IOCTL_NOTIF_SEND, &mut resp);
    assert_eq!(r, 0, "NOTIF_SEND: {}", nix::Error::last());
    assert_eq!(worker.join().unwrap(), 4242);
}

#[test]
fn an_empty_program_is_refused_before_the_kernel_is_asked() {
    let empty = Filter {
        program: Vec::new(),
        flags: 0,
    };
    assert!(
        install(&empty)
            .unwrap_err()
            .to_string()
            .contains("0 instructions")
    );
}

/// The highest number libseccomp names on `arch` among `range` (as `name` sees it).
fn top_named(arch: u32, range: std::ops::Range<i32>) -> i32 {
    range
        .rev()
        .find(|&n| !name(arch, n).starts_with('#'))
        .expect("libseccomp names some syscall here")
}

#[test]
fn numbers_beyond_libseccomps_table_get_enosys_and_known_ones_the_default() {
    let enosys = RET_ERRNO | libc::ENOSYS as u32;
    let eperm = RET_ERRNO | libc::EPERM as u32;
    for caps in [
        DOCKER_DEFAULTS,
        CapSet(DOCKER_DEFAULTS.0 | 1 << SYS_ADMIN),
        CapSet::EMPTY,
    ] {
        let f = ours(caps);
        // x32's block 512..=547 is known and frozen; the common table below it grows.
        for (arch, lo, hi) in [
            (AUDIT_ARCH_X86_64, 0, 2048),
            (AUDIT_ARCH_I386, 0, 2048),
            (AUDIT_ARCH_X86_64, X32_BIT, X32_BIT + 512),
            (AUDIT_ARCH_X86_64, X32_BIT + 512, X32_BIT + 2048),
        ] {
            let top = top_named(arch, lo..hi);
            for n in lo..hi {
                let got = call(&f, arch, n, [0; 6]);
                if n > top {
                    assert_eq!(got, enosys, "{n:#x} on {arch:#x}");
                } else if name(arch, n) != "clone3" {
                    // clone3 is the one call Docker's profile answers ENOSYS itself.
                    assert_ne!(got, enosys, "{} on {arch:#x}", name(arch, n));
                }
            }
        }
        // Known to libseccomp, named by no rule: the default action, on every architecture.
        for (arch, audit) in [
            (ScmpArch::X8664, AUDIT_ARCH_X86_64),
            (ScmpArch::X32, AUDIT_ARCH_X86_64),
            (ScmpArch::X86, AUDIT_ARCH_I386),
        ] {
            for n in ["reboot", "kexec_load", "open_by_handle_at"] {
                assert_eq!(call(&f, audit, nr(n, arch), [0; 6]), eperm, "{n} {arch:?}");
            }
        }
        // Far beyond: every x86 flavour, up to the sign bit on x86_64/x32, anything on i386.
        for (arch, n) in [
            (AUDIT_ARCH_X86_64, 1000),
            (AUDIT_ARCH_X86_64, X32_BIT - 1),
            (AUDIT_ARCH_X86_64, X32_BIT | 1000),
            (AUDIT_ARCH_X86_64, i32::MAX),
            (AUDIT_ARCH_I386, 1000),
            (AUDIT_ARCH_I386, -1),
        ] {
            assert_eq!(call(&f, arch, n, [0; 6]), enosys, "{n:#x} on {arch:#x}");
        }
        // Left to libseccomp: numbers with bit 31 on x86_64, a foreign architecture.
        assert_ne!(call(&f, AUDIT_ARCH_X86_64, -1, [0; 6]), enosys);
        assert_eq!(call(&f, AUDIT_ARCH_AARCH64, 1000, [0; 6]), RET_KILL_THREAD);
    }
}

#[test]
fn the_enosys_stub_keeps_the_architecture_checks() {
    let enosys = RET_ERRNO | libc::ENOSYS as u32;
    // x86_64 alone: x32 and i386 calls stay foreign (killed), even numbers beyond the table.
    let f = compile(&oci(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
        "syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    ))
    .unwrap();
    assert_eq!(call(&f, AUDIT_ARCH_X86_64, 1000, [0; 6]), enosys);
    assert_eq!(
        call(&f, AUDIT_ARCH_X86_64, nr("getpid", ScmpArch::X8664), [0; 6]),
        RET_ALLOW
    );
    for (arch, n) in [
        (AUDIT_ARCH_X86_64, X32_BIT | 1000),
        (AUDIT_ARCH_X86_64, nr("getpid", ScmpArch::X32)),
        (AUDIT_ARCH_I386, 1000),
    ] {
        assert_eq!(
            call(&f, arch, n, [0; 6]),
            RET_KILL_THREAD,
            "{n:#x} on {arch:#x}"
        );
    }
    // x32 alone next to the native x86_64 (always in): its calls are filtered, not killed.
    let f = compile(&oci(
        r#"{"defaultAction":"SCMP_ACT_KILL_PROCESS","architectures":["SCMP_ARCH_X32"]}"#,
    ))
    .unwrap();
    assert_eq!(call(&f, AUDIT_ARCH_X86_64, X32_BIT | 1000, [0; 6]), enosys);
    assert_eq!(call(&f, AUDIT_ARCH_X86_64, 1000, [0; 6]), enosys);
    assert_eq!(
        call(&f, AUDIT_ARCH_X86_64, nr("getpid", ScmpArch::X32), [0; 6]),
        RET_KILL_PROCESS
    );
    // A default that lets unknown calls run gets no stub.
    let f = compile(&oci(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],
        "syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ERRNO"}]}"#,
    ))
    .unwrap();
    assert_eq!(call(&f, AUDIT_ARCH_X86_64, 1000, [0; 6]), RET_ALLOW);
    assert_eq!(call(&f, AUDIT_ARCH_I386, 1000, [0; 6]), RET_ALLOW);
}

#[test]
fn kernel_answers_enosys_beyond_the_table_and_eperm_within() {
    // statmount (457) is newer than libseccomp 2.5.4 and allowed by Docker's profile; 1000 is no
    // syscall at all; reboot (with a bad magic) is known and named by no rule.
    let probes = || {
        let errno = |r: libc::c_long| {
            if r < 0 {
                nix::errno::Errno::last_raw()
            } else {
                0
            }
        };
        // SAFETY: null pointers and a bad magic: the kernel checks and touches no memory of ours.
        unsafe {
            [
                errno(libc::syscall(457, 0, 0, 0, 0)),
                errno(libc::syscall(1000)),
                errno(libc::syscall(libc::SYS_reboot, 0, 0, 0, 0)),
            ]
        }
    };
    let filtered = on_filtered_thread(Some(ours(DOCKER_DEFAULTS)), move |_| probes());
    assert_eq!(filtered, [libc::ENOSYS, libc::ENOSYS, libc::EPERM]);
    // Control: the kernel knows statmount, and reboot with a bad magic is EINVAL, not EPERM.
    let plain = on_filtered_thread(None, move |_| probes());
    assert_eq!(plain, [libc::EFAULT, libc::ENOSYS, libc::EINVAL]);
}
