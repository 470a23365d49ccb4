//! `minimize` on the kernel's answer: one run of the command under the capability tracer
//! (`--trace-caps`) with the whole starting set says which capabilities the kernel actually
//! checked and granted. Only those, and the ones the seccomp profile opens syscalls for (the
//! kernel may never check them: `unshare -U` needs no capability, Docker's profile refuses it
//! without CAP_SYS_ADMIN), are then tried one by one; the rest are dropped untried.
//!
//! Each capability of the result is labelled: needed by the kernel (a check of it was granted),
//! by the profile's rule (the profile opens a syscall only with it, and the kernel checked
//! nothing of it), or by trial alone (neither: a check the tracer did not see, or a command
//! that behaves differently from run to run).

use super::Result;
use crate::capability::{CapSet, names};
use crate::container::seccomp_step::Choice;
use std::path::Path;

/// Pure: the capabilities of `doc` (a `--trace-caps-json` document) the kernel granted in a
/// check that decides something (the overcommit heuristic's never does), against the
/// container's own user namespace: the shallowest one checked (a user namespace the workload
/// makes, `unshare -U`, grants its creator everything there, whatever the set). Credentials
/// that were granted a capability outside `start` are not the container's: overlayfs checks
/// its mounter's during the container's lookups under `--volatile`; their checks are left out.
pub fn granted(doc: &serde_json::Value, start: CapSet) -> CapSet {
    checked(doc, start, true)
}

/// As `granted`, every capability the kernel checked for the container (granted or not, when
/// `granted_only` is false): what an `experiment` probe really tested.
pub fn checked(doc: &serde_json::Value, start: CapSet, granted_only: bool) -> CapSet {
    let checks: Vec<&serde_json::Value> = doc["checks"].as_array().into_iter().flatten().collect();
    let level = |c: &serde_json::Value| c["userns_level"].as_u64();
    let container = checks.iter().filter_map(|c| level(c)).min();
    let cap = |c: &serde_json::Value| {
        c["capability"]
            .as_str()
            .and_then(|n| names::parse_set(&[n], names::MAX_CAP).ok())
            .unwrap_or(CapSet::EMPTY)
    };
    let deciding = |c: &&&serde_json::Value| {
        (c["granted"] == true || (!granted_only && c["granted"] == false))
            && c["advisory"] != true
            && level(c) == container
    };
    let foreign: Vec<&serde_json::Value> = checks
        .iter()
        .filter(deciding)
        .filter(|c| c["granted"] == true && !cap(c).minus(start).is_empty())
        .map(|c| &c["cred"])
        .collect();
    checks
        .iter()
        .filter(deciding)
        .filter(|c| !foreign.contains(&&c["cred"]))
        .fold(CapSet::EMPTY, |set, c| set.union(cap(c)))
}

/// The capabilities of `start` the chosen seccomp profile has a rule for: it resolves
/// differently with the capability than without (Docker's `includes.caps` opening a syscall,
/// or an `excludes.caps` refusal lifted).
pub fn profile_caps(choice: &Choice, start: CapSet) -> Result<CapSet> {
    let kernel = crate::seccomp::running_kernel()?;
    let Some(profile) = choice.profile()? else {
        return Ok(CapSet::EMPTY);
    };
    let resolved = |caps: CapSet| -> Result<serde_json::Value> {
        let r = profile.resolve(crate::seccomp::Host { caps, kernel })?;
        Ok(serde_json::to_value(r)?)
    };
    let without = resolved(CapSet::EMPTY)?;
    let mut set = CapSet::EMPTY;
    for c in start.iter() {
        if resolved(CapSet::of(&[c]))? != without {
            set.insert(c);
        }
    }
    Ok(set)
}

/// Why a capability of the result is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Kernel,
    ProfileRule,
    Trial,
}

impl Need {
    pub fn text(self) -> &'static str {
        match self {
            Need::Kernel => "needed by the kernel",
            Need::ProfileRule => "needed by the profile's rule",
            Need::Trial => "needed (by trial: the kernel granted no check of it)",
        }
    }
}

/// Pure: the label of `cap`, from what the kernel granted and what the profile opens for.
pub fn need(cap: u8, granted: CapSet, by_profile: CapSet) -> Need {
    if granted.contains(cap) {
        Need::Kernel
    } else if by_profile.contains(cap) {
        Need::ProfileRule
    } else {
        Need::Trial
    }
}

/// Pure: whether a failed traced run failed because the tracer could not run (the one line
/// `--trace-caps` refuses with), not because of the command.
pub fn tracer_unavailable(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find(|l| l.contains("--trace-caps"))
        .map(|l| l.trim().trim_start_matches("minirun: ").to_string())
}

/// A scratch path for the traced run's JSON, removed by the caller.
pub fn json_path(state_root: &Path) -> std::path::PathBuf {
    state_root.join(format!(".minimize-trace-{}.json", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn granted_counts_deciding_checks_only() {
        let doc = json!({"checks": [
            {"capability": "CAP_SETUID", "granted": true, "userns_level": 0, "cred": 0},
            {"capability": "CAP_SETGID", "granted": true, "userns_level": 0, "cred": 0},
            {"capability": "CAP_CHOWN", "granted": false, "userns_level": 0, "cred": 0},
            {"capability": "CAP_SYS_ADMIN", "granted": true, "advisory": true, "userns_level": 0, "cred": 0},
            // In a user namespace the workload made: its creator holds everything there.
            {"capability": "CAP_NET_ADMIN", "granted": true, "userns_level": 1, "cred": 1},
            // overlayfs's mounter: granted what the set lacks, so none of its checks count.
            {"capability": "CAP_DAC_READ_SEARCH", "granted": true, "userns_level": 0, "cred": 2},
            {"capability": "CAP_SETUID", "granted": true, "userns_level": 0, "cred": 2},
            {"capability": "CAP_FOWNER", "granted": true, "userns_level": 0, "cred": 2},
            {"syscall": "chown", "errno": "EPERM"},
        ]});
        let start = CapSet::of(&[0, 3, 6, 7, 21]);
        assert_eq!(granted(&doc, start), CapSet::of(&[6, 7]));
        assert_eq!(granted(&json!({}), start), CapSet::EMPTY);
        assert_eq!(checked(&doc, start, false), CapSet::of(&[0, 6, 7]));
    }

    #[test]
    fn labels_prefer_the_kernel_then_the_profile() {
        let (k, p) = (CapSet::of(&[0, 18]), CapSet::of(&[18, 21]));
        assert_eq!(need(0, k, p), Need::Kernel);
        assert_eq!(need(18, k, p), Need::Kernel);
        assert_eq!(need(21, k, p), Need::ProfileRule);
        assert_eq!(need(7, k, p), Need::Trial);
    }

    #[test]
    fn docker_profile_rules_among_the_defaults_are_sys_chroot_only() {
        let d = crate::capability::policy::DOCKER_DEFAULTS;
        assert_eq!(
            profile_caps(&Choice::Default, d).unwrap(),
            CapSet::of(&[18])
        );
        assert_eq!(profile_caps(&Choice::Unconfined, d).unwrap(), CapSet::EMPTY);
        assert!(profile_caps(&Choice::Default, CapSet::of(&[21])).unwrap() == CapSet::of(&[21]));
    }

    #[test]
    fn the_tracers_refusal_is_told_from_the_commands_failure() {
        let e = "minirun: --trace-caps needs Linux 6.14 or later (the capability:cap_capable tracepoint); this kernel is 6.1.0\n";
        assert_eq!(
            tracer_unavailable(e).unwrap(),
            "--trace-caps needs Linux 6.14 or later (the capability:cap_capable tracepoint); this kernel is 6.1.0"
        );
        assert!(tracer_unavailable("chown: /tmp/f: Operation not permitted\n").is_none());
    }
}
