//! Linux capabilities: names, Docker's policy, the syscalls that apply it, and reading sets back.
//!
//! A set is a plain 64-bit mask indexed by capability number, exactly as the kernel stores it
//! (`CapEff:` in /proc/PID/status), so sets compare, print and apply without translation.

pub mod apply;
pub mod grid;
pub mod identity;
pub mod inspect;
pub mod names;
pub mod policy;

use std::fmt;

/// What failed applying or reading capability sets (`apply`, `inspect`; names and policy
/// have their own: `names::NameError`, `policy::PolicyError`). One line naming the step or
/// the value; the OS error is the source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A step of `apply` refused: the syscall and its arguments, as the step says.
    #[error("{step}")]
    Apply {
        step: String,
        #[source]
        source: nix::Error,
    },
    #[error("reading {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A /proc/PID/status text without the sets, with where it came from.
    #[error("parsing {path}")]
    Status {
        path: String,
        #[source]
        source: StatusError,
    },
}

/// What is wrong with a /proc/PID/status text.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("no {0} line")]
    NoLine(&'static str),
    #[error("bad {key} value {line:?}")]
    BadValue {
        key: &'static str,
        line: String,
        #[source]
        source: std::num::ParseIntError,
    },
}

/// A set of capabilities, bit N = capability N.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CapSet(pub u64);

impl CapSet {
    pub const EMPTY: CapSet = CapSet(0);

    /// Every capability numbered 0..=last.
    pub fn all_up_to(last: u8) -> CapSet {
        if last >= 63 {
            CapSet(u64::MAX)
        } else {
            CapSet((1u64 << (last + 1)) - 1)
        }
    }

    pub fn of(caps: &[u8]) -> CapSet {
        let mut s = CapSet::EMPTY;
        for &c in caps {
            s.insert(c);
        }
        s
    }

    pub fn insert(&mut self, cap: u8) {
        self.0 |= 1u64 << cap;
    }

    pub fn remove(&mut self, cap: u8) {
        self.0 &= !(1u64 << cap);
    }

    pub fn contains(self, cap: u8) -> bool {
        cap < 64 && self.0 & (1u64 << cap) != 0
    }

    pub fn union(self, o: CapSet) -> CapSet {
        CapSet(self.0 | o.0)
    }

    pub fn intersect(self, o: CapSet) -> CapSet {
        CapSet(self.0 & o.0)
    }

    pub fn minus(self, o: CapSet) -> CapSet {
        CapSet(self.0 & !o.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Members in kernel order.
    pub fn iter(self) -> impl Iterator<Item = u8> {
        (0u8..64).filter(move |&c| self.contains(c))
    }

    /// `chown, kill, setuid`: pscap's list form.
    pub fn names(self) -> String {
        self.iter()
            .map(names::short_name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `["chown", "kill"]`: the one spelling of minirun's own JSON (ps, caps, explain,
    /// experiment, minimize), pscap's and the workshop's; config.json keeps OCI's.
    pub fn short_names(self) -> Vec<String> {
        self.iter().map(names::short_name).collect()
    }

    /// `["CAP_CHOWN", ...]`: OCI config.json's form.
    pub fn oci_names(self) -> Vec<String> {
        self.iter().map(names::oci_name).collect()
    }
}

impl fmt::Debug for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CapSet({:#018x}: {})", self.0, self.names())
    }
}

/// The five per-process sets, as one value so policy can compute them and effects apply them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CapSets {
    pub bounding: CapSet,
    pub effective: CapSet,
    pub permitted: CapSet,
    pub inheritable: CapSet,
    pub ambient: CapSet,
}

impl CapSets {
    /// The five sets as config.json's `process.capabilities` spells them.
    pub fn oci_json(&self) -> serde_json::Value {
        serde_json::json!({
            "bounding": self.bounding.oci_names(),
            "effective": self.effective.oci_names(),
            "permitted": self.permitted.oci_names(),
            "inheritable": self.inheritable.oci_names(),
            "ambient": self.ambient.oci_names(),
        })
    }
}

/// The running kernel's highest capability number (/proc/sys/kernel/cap_last_cap).
///
/// Read once per process: a launch asks for it several times (policy, plan, the child's
/// bounding-set drop), and it cannot change while the kernel runs.
pub fn kernel_last_cap() -> u8 {
    static LAST: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or((names::NAMES.len() - 1) as u8)
    })
}

/// The capabilities this process may still hand out: its own bounding set. On this machine type
/// the bounding set lacks CAP_SYS_RESOURCE, so "all" must mean all of these, not all the kernel knows.
///
/// Asked of the kernel with `prctl(PR_CAPBSET_READ)`, one cheap call per capability, rather
/// than by having it format the whole of /proc/self/status (the same `CapBnd:` value).
pub fn held_bounding() -> CapSet {
    let last = kernel_last_cap();
    let mut held = CapSet::EMPTY;
    for cap in 0..=last.min(63) {
        // SAFETY: PR_CAPBSET_READ takes a capability number and touches no memory.
        match unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(cap), 0, 0, 0) } {
            1 => held.insert(cap),
            0 => {}
            // EINVAL: not a capability this kernel knows; fall back to the status file.
            _ => {
                return inspect::read_status(None)
                    .map(|s| s.bounding)
                    .unwrap_or_else(|_| CapSet::all_up_to(last));
            }
        }
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_bounding_matches_the_status_file() {
        let from_status = inspect::read_status(None).unwrap().bounding;
        assert_eq!(held_bounding(), from_status);
        assert_eq!(kernel_last_cap(), kernel_last_cap());
    }
}
