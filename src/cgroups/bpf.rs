//! The cgroup v2 device controller: an eBPF `BPF_PROG_TYPE_CGROUP_DEVICE` program built from
//! the rules (pure), loaded with bpf(BPF_PROG_LOAD) and attached to the container's cgroup.
//!
//! The kernel runs the program on each open and mknod of a device node with a context of
//! `{ access_type: access << 16 | type, major, minor }` (all u32) and refuses with EPERM when it
//! returns 0. The program reads the rules last to first, as [`super::devices::decide`] does.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::Path;

use super::Result;

use super::devices::{DevType, RWM, Rule};

/// One eBPF instruction as `struct bpf_insn` lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    pub code: u8,
    /// dst register in the low nibble, src in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcodes used (class | op | source), from linux/bpf.h and bpf_common.h.
pub const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
pub const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
pub const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
pub const ALU32_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
pub const ALU32_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
pub const JMP32_JNE_K: u8 = 0x56; // BPF_JMP32 | BPF_JNE | BPF_K
pub const JMP32_JEQ_K: u8 = 0x16; // BPF_JMP32 | BPF_JEQ | BPF_K
pub const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// Registers: r1 is the context, then scratch; r2 access, r3 type, r4 major, r5 minor.
const R0: u8 = 0;
const R1: u8 = 1;
const ACCESS: u8 = 2;
const TYPE: u8 = 3;
const MAJOR: u8 = 4;
const MINOR: u8 = 5;

const BPF_DEVCG_DEV_BLOCK: i32 = 1;
const BPF_DEVCG_DEV_CHAR: i32 = 2;

pub fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// Pure: the program for `rules` (whose meaning is [`super::devices::decide`]'s).
pub fn build(rules: &[Rule]) -> Vec<Insn> {
    let mut prog = vec![
        insn(LDX_MEM_W, ACCESS, R1, 0, 0),
        insn(ALU32_MOV_X, TYPE, ACCESS, 0, 0),
        insn(ALU32_AND_K, TYPE, 0, 0, 0xffff),
        insn(ALU32_RSH_K, ACCESS, 0, 0, 16),
        insn(LDX_MEM_W, MAJOR, R1, 4, 0),
        insn(LDX_MEM_W, MINOR, R1, 8, 0),
    ];
    let ret = |allow: bool| {
        [
            insn(ALU32_MOV_K, R0, 0, 0, i32::from(allow)),
            insn(JMP_EXIT, 0, 0, 0, 0),
        ]
    };
    for rule in rules.iter().rev() {
        if rule.typ == DevType::All {
            // Resets the default: the rules before it are never reached.
            prog.extend(ret(rule.allow));
            return prog;
        }
        // Each test jumps to the block's end ("next rule") when it fails; the offsets are
        // patched once the block's length is known.
        let mut block: Vec<Insn> = Vec::new();
        let typ = if rule.typ == DevType::Char {
            BPF_DEVCG_DEV_CHAR
        } else {
            BPF_DEVCG_DEV_BLOCK
        };
        block.push(insn(JMP32_JNE_K, TYPE, 0, 0, typ));
        if let Some(major) = rule.major {
            block.push(insn(JMP32_JNE_K, MAJOR, 0, 0, major as i32));
        }
        if let Some(minor) = rule.minor {
            block.push(insn(JMP32_JNE_K, MINOR, 0, 0, minor as i32));
        }
        if rule.access != RWM {
            block.push(insn(ALU32_MOV_X, R1, ACCESS, 0, 0));
            if rule.allow {
                // Any bit asked for that the rule does not grant: not this rule.
                block.push(insn(ALU32_AND_K, R1, 0, 0, i32::from(!rule.access & RWM)));
                block.push(insn(JMP32_JNE_K, R1, 0, 0, 0));
            } else {
                // No bit in common with what the rule refuses: not this rule.
                block.push(insn(ALU32_AND_K, R1, 0, 0, i32::from(rule.access)));
                block.push(insn(JMP32_JEQ_K, R1, 0, 0, 0));
            }
        }
        block.extend(ret(rule.allow));
        let len = block.len();
        for (pc, i) in block.iter_mut().enumerate() {
            if i.code == JMP32_JNE_K || i.code == JMP32_JEQ_K {
                i.off = (len - pc - 1) as i16;
            }
        }
        prog.extend(block);
    }
    prog.extend(ret(true));
    prog
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// `union bpf_attr` for BPF_PROG_LOAD, up to the fields we set (the kernel zero-extends).
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

/// bpf(2) with `attr` as its attribute union; shared with the capability tracer.
pub(crate) fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<i32> {
    // SAFETY: attr is a live, properly laid out bpf_attr prefix of size_of::<T>() bytes, and
    // every pointer inside it points at memory that outlives the call.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r as i32)
    }
}

/// The program for `rules`: the one pinned in bpffs by an earlier launch when it is exactly
/// this program, else loaded (the verifier's log comes back in the error) and pinned for the
/// next launch. Loading verifies and JIT-compiles it, ≈ 0.3 ms at every launch; opening the
/// pinned one is two syscalls.
pub fn load(rules: &[Rule]) -> Result<OwnedFd> {
    let prog = build(rules);
    let pin = Path::new(PIN_DIR).join(pin_name(&prog));
    let dir = match pin_dir() {
        Ok(()) => true,
        Err(why) => {
            tracing::debug!("device program not pinned: {why}");
            false
        }
    };
    if dir && let Some(fd) = open_pinned(&pin, &prog) {
        tracing::debug!("device program: reused {}", pin.display());
        return Ok(fd);
    }
    let fd = load_program(
        BPF_PROG_TYPE_CGROUP_DEVICE,
        &prog,
        c"Apache",
        "minirun_devs",
        &format!("the device eBPF program ({} instructions)", prog.len()),
    )?;
    if dir {
        match save_pinned(&fd, &pin) {
            Ok(()) => tracing::debug!("device program pinned at {}", pin.display()),
            Err(why) => tracing::debug!("device program not pinned: {why}"),
        }
    }
    Ok(fd)
}

/// Where device programs are pinned: minirun's directory in the host's bpffs. minirun does not
/// mount bpffs (runc and crun pin nothing; a mount on the host is the host's to make): where
/// /sys/fs/bpf is not a bpffs, every launch loads its program. `rm -r /sys/fs/bpf/minirun`
/// removes every pin (a running container keeps its attached program).
pub const PIN_DIR: &str = "/sys/fs/bpf/minirun";
/// Part of every pin's name: a change of how programs are built or named changes it, so no
/// launch looks for another format's pin.
const PIN_FORMAT: &[u8] = b"minirun device program v1";
/// At most this many pins (distinct rule sets): beyond, programs are loaded and not pinned,
/// so that many distinct `--device` lists cannot fill kernel memory with programs.
const MAX_PINS: usize = 64;
const BPF_FS_MAGIC: i64 = 0xcafe4a11;

/// Pure: the pin's file name, `devices-` and a 64-bit FNV-1a hash of the format and the
/// program's bytes. A collision only costs a load: the pinned program is compared with ours,
/// instruction by instruction, before it is used.
pub fn pin_name(prog: &[Insn]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in PIN_FORMAT.iter().copied().chain(insn_bytes(prog)) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("devices-{h:016x}")
}

/// Pure: `prog` as the kernel stores it, 8 bytes an instruction.
fn insn_bytes(prog: &[Insn]) -> impl Iterator<Item = u8> + '_ {
    prog.iter().flat_map(|i| {
        let mut b = [0u8; 8];
        b[0] = i.code;
        b[1] = i.regs;
        b[2..4].copy_from_slice(&i.off.to_ne_bytes());
        b[4..8].copy_from_slice(&i.imm.to_ne_bytes());
        b
    })
}

/// Pure: whether `kernel`, a program's type and instructions as BPF_OBJ_GET_INFO_BY_FD gives
/// them back, is exactly `prog` as a device program.
pub fn same_program(prog_type: u32, kernel: &[u8], prog: &[Insn]) -> bool {
    prog_type == BPF_PROG_TYPE_CGROUP_DEVICE
        && kernel.len() == prog.len() * 8
        && kernel.iter().copied().eq(insn_bytes(prog))
}

/// Makes sure PIN_DIR is a directory on bpffs that only root can write to: owned by root, no
/// write bit for group or others, not a symbolic link. Anything else (someone made the directory
/// first, bpffs is not mounted, we are not root) means no pinning. Err says why.
fn pin_dir() -> std::result::Result<(), String> {
    // Not as another user: a directory it made in the host's bpffs (mode 1777) would only keep
    // root's launches from pinning.
    if !nix::unistd::geteuid().is_root() {
        return Err("not running as root".into());
    }
    let parent = Path::new(PIN_DIR).parent().unwrap_or(Path::new("/"));
    let fs = nix::sys::statfs::statfs(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    if fs.filesystem_type().0 as i64 != BPF_FS_MAGIC {
        return Err(format!("{} is not a bpffs", parent.display()));
    }
    let md = match std::fs::symlink_metadata(PIN_DIR) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match std::fs::DirBuilder::new().mode(0o700).create(PIN_DIR) {
                Ok(()) => {}
                // Another launch made it in between: checked below like any other.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("creating {PIN_DIR}: {e}")),
            }
            std::fs::symlink_metadata(PIN_DIR)
        }
        other => other,
    }
    .map_err(|e| format!("{PIN_DIR}: {e}"))?;
    if !md.is_dir() || md.uid() != 0 || md.mode() & 0o022 != 0 {
        return Err(format!(
            "{PIN_DIR} is not a directory only root can write to (uid {}, mode {:o})",
            md.uid(),
            md.mode() & 0o7777
        ));
    }
    Ok(())
}

const BPF_OBJ_PIN: libc::c_long = 6;
const BPF_OBJ_GET: libc::c_long = 7;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;

#[repr(C)]
#[derive(Default)]
struct ObjAttr {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
}

#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `struct bpf_prog_info` up to the translated instructions (the kernel fills what fits).
#[repr(C)]
#[derive(Default)]
struct ProgInfo {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
}

/// The program pinned at `pin` if it is exactly `prog`; None if there is none, or it differs
/// (a stale or foreign pin), or the kernel will not show its instructions (kptr_restrict=2).
fn open_pinned(pin: &Path, prog: &[Insn]) -> Option<OwnedFd> {
    let path = std::ffi::CString::new(pin.as_os_str().as_bytes()).ok()?;
    let mut get = ObjAttr {
        pathname: path.as_ptr() as u64,
        ..Default::default()
    };
    let fd = match bpf(BPF_OBJ_GET, &mut get) {
        // SAFETY: BPF_OBJ_GET returned a new file descriptor that nothing else owns.
        Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd) },
        Err(e) => {
            if e.raw_os_error() != Some(libc::ENOENT) {
                tracing::debug!("opening the pinned {}: {e}", pin.display());
            }
            return None;
        }
    };
    let mut insns = vec![0u8; prog.len() * 8];
    let mut info = ProgInfo {
        xlated_prog_len: insns.len() as u32,
        xlated_prog_insns: insns.as_mut_ptr() as u64,
        ..Default::default()
    };
    let mut attr = InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: std::mem::size_of::<ProgInfo>() as u32,
        info: &mut info as *mut ProgInfo as u64,
    };
    if let Err(e) = bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr) {
        tracing::debug!("reading the pinned {}: {e}", pin.display());
        return None;
    }
    // The kernel says how long the program really is, and copies no more than asked for.
    let len = info.xlated_prog_len as usize;
    if info.xlated_prog_insns == 0
        || len != insns.len()
        || !same_program(info.prog_type, &insns, prog)
    {
        tracing::debug!("the pinned {} is not this program: not used", pin.display());
        return None;
    }
    Some(fd)
}

/// Pins `fd` at `pin` (mode 0600, owned by root), unless MAX_PINS are there already. Two
/// launches racing to pin the same program: the second gets EEXIST, which is fine.
fn save_pinned(fd: &OwnedFd, pin: &Path) -> std::result::Result<(), String> {
    let pins = std::fs::read_dir(PIN_DIR)
        .map_err(|e| format!("{PIN_DIR}: {e}"))?
        .count();
    if pins >= MAX_PINS {
        return Err(format!(
            "{PIN_DIR} holds {pins} programs already (at most {MAX_PINS})"
        ));
    }
    let path = std::ffi::CString::new(pin.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
    let mut attr = ObjAttr {
        pathname: path.as_ptr() as u64,
        bpf_fd: fd.as_raw_fd() as u32,
        file_flags: 0,
    };
    match bpf(BPF_OBJ_PIN, &mut attr) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        Err(e) => Err(format!("pinning at {}: {e}", pin.display())),
    }
}

/// bpf(BPF_PROG_LOAD) for every program minirun writes (the device program, the capability
/// tracer's). Loaded first without the verifier's log, which costs verification time at every
/// launch; only a refused program is loaded again with it, so the error can quote its end.
pub(crate) fn load_program(
    prog_type: u32,
    prog: &[Insn],
    license: &std::ffi::CStr,
    name: &str,
    what: &str,
) -> Result<OwnedFd, LoadError> {
    let mut prog_name = [0u8; 16];
    let n = name.len().min(15);
    prog_name[..n].copy_from_slice(&name.as_bytes()[..n]);
    let mut attr = ProgLoadAttr {
        prog_type,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name,
        ..Default::default()
    };
    let owned = |fd: i32| {
        // SAFETY: BPF_PROG_LOAD returned a new file descriptor that nothing else owns.
        unsafe { OwnedFd::from_raw_fd(fd) }
    };
    if let Ok(fd) = bpf(BPF_PROG_LOAD, &mut attr) {
        return Ok(owned(fd));
    }
    let mut log = vec![0u8; 64 * 1024];
    attr.log_level = 1;
    attr.log_size = log.len() as u32;
    attr.log_buf = log.as_mut_ptr() as u64;
    match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => Ok(owned(fd)),
        Err(e) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let log = String::from_utf8_lossy(&log[..end]);
            let tail: Vec<&str> = log.trim().lines().rev().take(6).collect();
            Err(LoadError {
                what: what.to_string(),
                os: e,
                verifier: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
            })
        }
    }
}

/// BPF_PROG_LOAD refused a program: what it was, the kernel's answer, and the last lines of
/// the verifier's log (the reason, when the verifier refused).
#[derive(Debug, thiserror::Error)]
#[error("loading {what}: {os}; verifier: {verifier}")]
pub struct LoadError {
    pub what: String,
    pub os: std::io::Error,
    pub verifier: String,
}

/// Attach `prog` to the cgroup open at `cgroup`. Multi mode, as runc does, so that a nested
/// runtime can still attach its own programs below ours (all of them must allow).
pub fn attach(prog: &OwnedFd, cgroup: &impl AsRawFd) -> Result<()> {
    let mut attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    bpf(BPF_PROG_ATTACH, &mut attr)
        .map(drop)
        .map_err(|e| refused!("attaching the device eBPF program: {e}"))
}

#[cfg(test)]
mod tests {
    use super::super::devices::{self, MKNOD, READ, WRITE, docker_defaults};
    use super::*;

    /// A small interpreter of exactly the instructions `build` emits: enough to check the
    /// program's answers against `devices::decide` without a kernel.
    fn run(prog: &[Insn], typ: DevType, major: u32, minor: u32, access: u8) -> u32 {
        let t = if typ == DevType::Char { 2 } else { 1 };
        let ctx = [(u32::from(access) << 16) | t, major, minor];
        let mut r = [0u32; 11];
        let mut pc = 0usize;
        for _ in 0..10_000 {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_MEM_W => {
                    assert_eq!(src, 1, "loads only from the context");
                    r[dst] = ctx[i.off as usize / 4];
                }
                ALU32_MOV_X => r[dst] = r[src],
                ALU32_MOV_K => r[dst] = i.imm as u32,
                ALU32_AND_K => r[dst] &= i.imm as u32,
                ALU32_RSH_K => r[dst] >>= i.imm as u32,
                JMP32_JNE_K if r[dst] != i.imm as u32 => pc += i.off as usize,
                JMP32_JEQ_K if r[dst] == i.imm as u32 => pc += i.off as usize,
                JMP32_JNE_K | JMP32_JEQ_K => {}
                JMP_EXIT => return r[0],
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
        panic!("program did not exit");
    }

    fn agree(rules: &[Rule]) {
        let prog = build(rules);
        for typ in [DevType::Char, DevType::Block] {
            for (major, minor) in [
                (1, 3),
                (1, 5),
                (1, 11),
                (5, 1),
                (5, 2),
                (7, 0),
                (136, 0),
                (136, 9),
                (10, 200),
                (8, 1),
            ] {
                for access in 1..=7u8 {
                    let want = devices::decide(rules, typ, major, minor, access);
                    let got = run(&prog, typ, major, minor, access) == 1;
                    assert_eq!(
                        got, want,
                        "{typ:?} {major}:{minor} access {access} under {rules:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_pin_is_named_for_its_exact_program_and_only_that_program_is_reused() {
        let docker = build(&docker_defaults());
        let name = pin_name(&docker);
        assert_eq!(name, pin_name(&build(&docker_defaults())), "stable");
        assert!(name.starts_with("devices-") && name.len() == "devices-".len() + 16);
        let mut other = docker_defaults();
        other.push(Rule::parse_docker("c 10:200 rwm").unwrap());
        assert_ne!(name, pin_name(&build(&other)));

        let bytes: Vec<u8> = insn_bytes(&docker).collect();
        assert_eq!(bytes.len(), docker.len() * 8);
        assert!(same_program(BPF_PROG_TYPE_CGROUP_DEVICE, &bytes, &docker));
        // Another program type with the same bytes, one instruction less, one bit changed.
        assert!(!same_program(17, &bytes, &docker));
        assert!(!same_program(
            BPF_PROG_TYPE_CGROUP_DEVICE,
            &bytes[..bytes.len() - 8],
            &docker
        ));
        for at in [0, 7, bytes.len() - 1] {
            let mut changed = bytes.clone();
            changed[at] ^= 1;
            assert!(
                !same_program(BPF_PROG_TYPE_CGROUP_DEVICE, &changed, &docker),
                "byte {at}"
            );
        }
    }

    #[test]
    fn program_agrees_with_the_reference_meaning() {
        agree(&docker_defaults());
        agree(&[]);
        let deny_w = Rule {
            allow: false,
            typ: DevType::Char,
            major: Some(1),
            minor: None,
            access: WRITE,
        };
        let allow_r = Rule {
            allow: true,
            typ: DevType::Block,
            major: None,
            minor: Some(0),
            access: READ | MKNOD,
        };
        agree(&[deny_w]);
        agree(&[allow_r, deny_w]);
        let mut rules = docker_defaults();
        rules.push(deny_w);
        rules.push(Rule::parse_docker("b 7:0 rw").unwrap());
        agree(&rules);
        rules.push(Rule {
            allow: true,
            typ: DevType::All,
            major: None,
            minor: None,
            access: RWM,
        });
        agree(&rules);
        assert_eq!(
            build(&rules).len(),
            8,
            "an allow-all last: nothing before it is emitted"
        );
    }
}
