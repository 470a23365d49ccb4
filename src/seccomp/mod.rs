//! seccomp: Docker's default profile for a capability set, any OCI `linux.seccomp` compiled to
//! BPF, a disk cache of compiled filters, and the syscall that installs one.
//!
//! Policy (pure, testable without root):
//! - [`docker_default`]`(caps, kernel)`: Docker's default profile as an OCI `LinuxSeccomp`,
//!   built for the container's bounding set as moby builds it (rules with `includes.caps`,
//!   `excludes`, minKernel and arch conditions; ERRNO/EPERM default; x86_64 with x86 and x32).
//!   The facts live in `docker_default.txt`, one rule per line.
//! - [`Profile`]: a Docker-format profile (`--security-opt seccomp=FILE.json`):
//!   `Profile::from_json(text)?.resolve(Host { caps, kernel })?` gives the OCI profile.
//! - [`compile`]`(&LinuxSeccomp) -> Result<Filter>`: libseccomp's BPF plus the seccomp() flags
//!   (TSYNC, LOG, SPEC_ALLOW, WAIT_KILLABLE_RECV; NEW_LISTENER when anything notifies).
//!   An unknown syscall name is skipped with a debug line; an unknown action, operator or
//!   architecture is already refused when config.json is parsed (serde names the value).
//!   Unless the default action lets unknown calls run, a syscall number above the highest one
//!   libseccomp 2.5.4 knows on x86_64, x32, i386 or aarch64 gets ENOSYS rather than the default
//!   action, so programs fall back from calls newer than the compiler (runc's idea; `enosys.rs`).
//!   The price: calls of the profile newer than libseccomp (statmount, mseal, … in Docker's)
//!   get ENOSYS where the profile allows them, and numbers in a gap of the table (x86_64's
//!   uretprobe, 335) still get the default action.
//! - [`opened_by`]`(cap, kernel)`: the syscalls Docker's profile opens when `cap` is granted.
//!
//! Cost: [`Cache`]`::new("/run/minirun/seccomp")` then [`default_filter`]`(&cache, caps, kernel)`
//! or [`oci_filter`]`(&cache, &spec)`: a launch with a known profile reads one small file instead
//! of running libseccomp.
//!
//! Layout: [`compile`] puts a search over runs of the calls the profile allows outright in front
//! of libseccomp's binary tree for the rest (`ranges.rs`: 504 instructions for Docker's profile
//! instead of 1264, which the kernel converts and JIT-compiles at every launch);
//! [`compile_as`]`(spec, Layout::Tree)` gives libseccomp's tree alone (SCMP_FLTATR_CTL_OPTIMIZE
//! = 2) and `Layout::Linear` its default linear filter. All three decide alike for every number of x86_64, x32 and i386 and every argument
//! vector of the tests (Docker's set, + sys_admin, none). Measured on this VM (kernel 6.18, 2
//! loaded cores, Docker's default profile, 2 million calls on a filtered thread, median of 7,
//! ns per call over two runs):
//!
//! | call                                    | no filter | linear  | tree    |
//! |-----------------------------------------|-----------|---------|---------|
//! | getppid (allowed whatever the args)     | 180-250   | 197-283 | 195-306 |
//! | personality(0xffffffff) (argument rule) | 272-293   | 612-618 | 372-386 |
//! | reboot (no rule: default EPERM)         | 192-203   | 428-484 | 237-264 |
//!
//! A call the filter allows whatever its arguments costs the same under both: the kernel (5.11+)
//! decides it from a per-number bitmap computed at install and never runs the BPF. A call that
//! runs the BPF pays ~100 ns in the tree against ~300 ns in the linear filter. Compiling costs
//! more (median 21.6 ms vs 15.6 ms on the quietest run; 1264 instructions vs 1019, the ENOSYS
//! stub's 18 included), but the cache pays that once. Installing is what every launch pays;
//! see `ranges.rs` and bench/BREAKDOWN.md for the Ranges layout's effect on it.
//!
//! Effect: [`install`]`(&filter)` in the container's init: seccomp(SECCOMP_SET_MODE_FILTER)
//! with the filter's flags; returns the listener fd when the profile uses SCMP_ACT_NOTIFY (the
//! runtime then hands it to `listenerPath`). The kernel accepts a filter only from a thread with
//! no_new_privs set or CAP_SYS_ADMIN effective: with no_new_privs, install it as the last step
//! before execve; without, before the capability step drops CAP_SYS_ADMIN (as runc does), and
//! the remaining setup syscalls must then pass the filter.

mod cache;
mod compile;
mod enosys;
mod filter;
mod install;
mod profile;
mod ranges;
#[cfg(test)]
mod tests;

pub use cache::{Cache, Origin};
pub use compile::{Layout, compile, compile_as};
pub use filter::{Filter, Insn};
pub use install::{InstallError, install};
pub use profile::{Host, Profile, Rule, parse_kernel};

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction};

use crate::capability::CapSet;

/// What failed in this folder: every public function but `install` (`InstallError`) returns
/// it. The message is one line naming the bad value or the step; the library's or the OS's
/// error is its source (printed after it, as `{:#}` of an anyhow chain prints).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// libseccomp refused a step of building the filter.
    #[error("libseccomp: {step}")]
    Libseccomp {
        step: String,
        #[source]
        source: libseccomp::error::SeccompError,
    },
    /// The OS failed a step of exporting the BPF.
    #[error("{step}")]
    Export {
        step: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("libseccomp exported {0} bytes, not whole instructions")]
    TornExport(usize),
    #[error("{what} {value} does not fit seccomp's 16-bit return value")]
    ErrnoTooLarge { what: &'static str, value: u32 },
    #[error("seccomp argument index {0} (a syscall has 6, 0..=5)")]
    ArgIndex(usize),
    /// A JSON profile (`--security-opt seccomp=FILE`) that does not parse.
    #[error("parsing the seccomp profile")]
    Json(#[source] serde_json::Error),
    /// A profile's own fault, in a line naming the bad value.
    #[error("{0}")]
    Profile(String),
    /// Where in a profile the fault (its source) is: a line of the text table, a condition.
    #[error("{at}")]
    At {
        at: String,
        #[source]
        source: Box<Error>,
    },
    /// The OCI profile could not be written as the cache's key.
    #[error("the seccomp profile as a cache key")]
    Key(#[source] serde_json::Error),
    #[error("uname")]
    Uname(#[source] nix::Error),
    /// A number in the text table that does not parse: `what` names it ("bad errno \"x\"").
    #[error("{what}")]
    Number {
        what: String,
        #[source]
        source: std::num::ParseIntError,
    },
    /// An OCI builder's refusal (a required field missing).
    #[error(transparent)]
    Spec(#[from] oci_spec::OciSpecError),
}

impl Error {
    /// `self`, said to be at `at` (a line of the table, a condition).
    pub(crate) fn at(self, at: impl Into<String>) -> Error {
        Error::At {
            at: at.into(),
            source: Box::new(self),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Docker's default profile for a container whose bounding set is `caps`, on kernel `kernel`.
pub fn docker_default(caps: CapSet, kernel: (u32, u32)) -> LinuxSeccomp {
    Profile::docker_default()
        .resolve(Host { caps, kernel })
        // Resolution fails only for a bad minKernel or both arch forms; the table has neither.
        .expect("docker_default.txt resolves")
}

/// The compiled default profile, from `cache` when it holds it.
pub fn default_filter(cache: &Cache, caps: CapSet, kernel: (u32, u32)) -> Result<(Filter, Origin)> {
    const TABLE: u64 = cache::fnv1a(profile::DOCKER_DEFAULT_TEXT.as_bytes());
    let key = format!(
        "docker-default {TABLE:016x} caps {:016x} kernel {}.{} arch {}",
        caps.0,
        kernel.0,
        kernel.1,
        profile::NATIVE_GO_ARCH
    );
    cache.get_or_compile(key.as_bytes(), || Ok(docker_default(caps, kernel)))
}

/// Any OCI profile, from `cache` when it holds it (keyed by its JSON).
pub fn oci_filter(cache: &Cache, spec: &LinuxSeccomp) -> Result<(Filter, Origin)> {
    let key = serde_json::to_vec(spec).map_err(Error::Key)?;
    cache.get_or_compile(&key, || Ok(spec.clone()))
}

/// The running kernel's (major, minor).
pub fn running_kernel() -> Result<(u32, u32)> {
    let uts = nix::sys::utsname::uname().map_err(Error::Uname)?;
    parse_kernel(&uts.release().to_string_lossy())
}

/// The syscalls Docker's profile allows outright once `cap` is in the bounding set and does not
/// allow outright without it, on `kernel` (e.g. sys_admin: mount, unshare, setns, clone3, …;
/// sys_ptrace on a 4.8+ kernel: kcmp, pidfd_getfd, process_madvise; ptrace itself is open there
/// anyway). Sorted.
pub fn opened_by(cap: u8, kernel: (u32, u32)) -> Vec<String> {
    let profile = Profile::docker_default();
    let open = |caps: CapSet| -> Vec<String> {
        let resolved = profile
            .resolve(Host { caps, kernel })
            .expect("table resolves");
        let mut names: Vec<String> = resolved
            .syscalls()
            .iter()
            .flatten()
            .filter(|r| {
                r.action() == LinuxSeccompAction::ScmpActAllow
                    && r.args().as_ref().is_none_or(|a| a.is_empty())
            })
            .flat_map(|r| r.names().iter().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let without = open(CapSet::EMPTY);
    let with = open(CapSet::of(&[cap]));
    with.into_iter().filter(|n| !without.contains(n)).collect()
}
