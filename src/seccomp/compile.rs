//! OCI `linux.seccomp` to BPF, through libseccomp (the compiler runc, crun and youki use), with
//! runc's reading of the spec where it leaves room: a syscall libseccomp does not know is
//! skipped; a rule whose action is the default action adds nothing; several conditions on one
//! argument become one rule each (OR), otherwise a rule's conditions are ANDed. A number newer
//! than libseccomp's table gets ENOSYS, not the default action (see `enosys`).

use std::io::{Read, Seek, SeekFrom};

use super::{Error, Result};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator,
};

use super::filter::{self, Filter};
use super::{enosys, ranges};

const EPERM: i32 = libc::EPERM;

/// How the syscall checks are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// libseccomp alone: one check after another, by priority (its default, level 1).
    Linear,
    /// libseccomp alone: a binary search over syscall numbers (SCMP_FLTATR_CTL_OPTIMIZE = 2).
    Tree,
    /// The calls allowed outright as a search over runs of numbers, the rest as libseccomp's
    /// tree (`ranges`); the tree alone where that split does not apply.
    Ranges,
}

/// The filter for `spec` in the `Ranges` layout: it decides like libseccomp's own layouts, in
/// 474 instructions instead of 1264 for Docker's profile, which is what the kernel converts and
/// JIT-compiles at every launch (measurements in bench/BREAKDOWN.md).
pub fn compile(spec: &LinuxSeccomp) -> Result<Filter> {
    compile_as(spec, Layout::Ranges)
}

pub fn compile_as(spec: &LinuxSeccomp, layout: Layout) -> Result<Filter> {
    if layout == Layout::Ranges {
        let arches = spec
            .architectures()
            .iter()
            .flatten()
            .map(|&a| arch(a))
            .collect::<Result<Vec<_>>>()?;
        let Some(split) = ranges::split(spec, &arches) else {
            return compile_as(spec, Layout::Tree);
        };
        // libseccomp's program keeps everything but the outright allows, the ENOSYS stub and
        // the flags included; the search goes in front and lets through only numbers
        // libseccomp knows, which the stub never answers.
        let rest = compile_as(&split.rest, Layout::Tree)?;
        let mut program = split.prefix;
        program.extend(rest.program);
        return Ok(Filter {
            program,
            flags: rest.flags,
        });
    }
    let default = action(spec.default_action(), spec.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default).map_err(libseccomp_at("creating a filter"))?;
    if layout == Layout::Tree {
        ctx.set_ctl_optimize(2)
            .map_err(libseccomp_at("binary tree layout"))?;
    }
    let mut notify = spec.default_action() == LinuxSeccompAction::ScmpActNotify;
    let mut arches = Vec::new();
    for &a in spec.architectures().iter().flatten() {
        let arch = arch(a)?;
        arches.push(arch);
        // The native architecture is in every new context already.
        if !ctx.is_arch_present(arch).unwrap_or(false) {
            ctx.add_arch(arch)
                .map_err(libseccomp_at(format!("adding architecture {a}")))?;
        }
    }
    for rule in spec.syscalls().iter().flatten() {
        let act = action(rule.action(), rule.errno_ret())?;
        if act == default {
            continue;
        }
        notify |= rule.action() == LinuxSeccompAction::ScmpActNotify;
        let conds = conditions(rule.args().as_deref().unwrap_or_default())?;
        let ored = has_repeated_index(rule.args().as_deref().unwrap_or_default());
        for name in rule.names() {
            let Ok(nr) = ScmpSyscall::from_name(name) else {
                tracing::debug!("seccomp: syscall \"{name}\" unknown to libseccomp, skipped");
                continue;
            };
            let added = if conds.is_empty() {
                ctx.add_rule(act, nr)
            } else if ored {
                conds
                    .iter()
                    .try_for_each(|c| ctx.add_rule_conditional(act, nr, &[*c]).map(drop))
                    .map(|_| &mut ctx)
            } else {
                ctx.add_rule_conditional(act, nr, &conds)
            };
            added.map_err(libseccomp_at(format!("adding the rule for \"{name}\"")))?;
        }
    }
    let mut flags = spec
        .flags()
        .iter()
        .flatten()
        .map(|f| flag(*f))
        .fold(0, |a, b| a | b);
    if notify {
        flags |= filter::FLAG_NEW_LISTENER;
        if flags & filter::FLAG_TSYNC != 0 {
            flags |= filter::FLAG_TSYNC_ESRCH;
        }
    }
    Ok(Filter {
        program: enosys::patch(export(&ctx)?, &arches, spec.default_action()),
        flags,
    })
}

/// libseccomp 2.5 exports to a file descriptor only; a memfd keeps it off the disk.
/// The error of libseccomp's `step`, for `map_err`.
fn libseccomp_at(step: impl Into<String>) -> impl FnOnce(libseccomp::error::SeccompError) -> Error {
    move |source| Error::Libseccomp {
        step: step.into(),
        source,
    }
}

fn export(ctx: &ScmpFilterContext) -> Result<Vec<filter::Insn>> {
    let fd = nix::sys::memfd::memfd_create(c"seccomp-bpf", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
        .map_err(|e| Error::Export {
            step: "memfd_create for the BPF export",
            source: e.into(),
        })?;
    let mut file = std::fs::File::from(fd);
    ctx.export_bpf(&file)
        .map_err(libseccomp_at("exporting BPF"))?;
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(|source| Error::Export {
            step: "reading the exported BPF",
            source,
        })?;
    Filter::program_from_bytes(&bytes).ok_or(Error::TornExport(bytes.len()))
}

fn action(a: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction> {
    use LinuxSeccompAction::*;
    let ret = |what: &'static str| -> Result<i32> {
        match errno {
            None => Ok(EPERM),
            // SECCOMP_RET_DATA is 16 bits.
            Some(e) if e <= 0xffff => Ok(e as i32),
            Some(value) => Err(Error::ErrnoTooLarge { what, value }),
        }
    };
    Ok(match a {
        ScmpActKill | ScmpActKillThread => ScmpAction::KillThread,
        ScmpActKillProcess => ScmpAction::KillProcess,
        ScmpActTrap => ScmpAction::Trap,
        ScmpActErrno => ScmpAction::Errno(ret("errnoRet")?),
        ScmpActTrace => ScmpAction::Trace(ret("errnoRet")? as u16),
        ScmpActLog => ScmpAction::Log,
        ScmpActNotify => ScmpAction::Notify,
        ScmpActAllow => ScmpAction::Allow,
    })
}

fn arch(a: Arch) -> Result<ScmpArch> {
    use Arch::*;
    Ok(match a {
        ScmpArchNative => ScmpArch::Native,
        ScmpArchX86 => ScmpArch::X86,
        ScmpArchX86_64 => ScmpArch::X8664,
        ScmpArchX32 => ScmpArch::X32,
        ScmpArchArm => ScmpArch::Arm,
        ScmpArchAarch64 => ScmpArch::Aarch64,
        ScmpArchMips => ScmpArch::Mips,
        ScmpArchMips64 => ScmpArch::Mips64,
        ScmpArchMips64n32 => ScmpArch::Mips64N32,
        ScmpArchMipsel => ScmpArch::Mipsel,
        ScmpArchMipsel64 => ScmpArch::Mipsel64,
        ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        ScmpArchPpc => ScmpArch::Ppc,
        ScmpArchPpc64 => ScmpArch::Ppc64,
        ScmpArchPpc64le => ScmpArch::Ppc64Le,
        ScmpArchS390 => ScmpArch::S390,
        ScmpArchS390x => ScmpArch::S390X,
        ScmpArchParisc => ScmpArch::Parisc,
        ScmpArchParisc64 => ScmpArch::Parisc64,
        ScmpArchRiscv64 => ScmpArch::Riscv64,
        ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        ScmpArchM68k => ScmpArch::M68k,
        ScmpArchSh => ScmpArch::Sh,
        ScmpArchSheb => ScmpArch::Sheb,
    })
}

fn flag(f: LinuxSeccompFilterFlag) -> u32 {
    use LinuxSeccompFilterFlag::*;
    match f {
        SeccompFilterFlagTsync => filter::FLAG_TSYNC,
        SeccompFilterFlagLog => filter::FLAG_LOG,
        SeccompFilterFlagSpecAllow => filter::FLAG_SPEC_ALLOW,
        SeccompFilterFlagWaitKillableRecv => filter::FLAG_WAIT_KILLABLE_RECV,
    }
}

fn conditions(args: &[LinuxSeccompArg]) -> Result<Vec<ScmpArgCompare>> {
    use LinuxSeccompOperator::*;
    args.iter()
        .map(|a| {
            if a.index() > 5 {
                return Err(Error::ArgIndex(a.index()));
            }
            let op = match a.op() {
                ScmpCmpNe => ScmpCompareOp::NotEqual,
                ScmpCmpLt => ScmpCompareOp::Less,
                ScmpCmpLe => ScmpCompareOp::LessOrEqual,
                ScmpCmpEq => ScmpCompareOp::Equal,
                ScmpCmpGe => ScmpCompareOp::GreaterEqual,
                ScmpCmpGt => ScmpCompareOp::Greater,
                // OCI: value is the mask, valueTwo what the masked argument must equal.
                ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(a.value()),
            };
            let datum = match a.op() {
                ScmpCmpMaskedEq => a.value_two().unwrap_or(0),
                _ => a.value(),
            };
            Ok(ScmpArgCompare::new(a.index() as u32, op, datum))
        })
        .collect()
}

/// libseccomp ANDs a rule's conditions and refuses two on one argument; runc then adds one rule
/// per condition, so `arg0 == 1, arg0 == 2` means either value.
fn has_repeated_index(args: &[LinuxSeccompArg]) -> bool {
    let mut seen = [false; 6];
    args.iter().any(|a| {
        let i = a.index().min(5);
        std::mem::replace(&mut seen[i], true)
    })
}
