//! Docker's capability rules, as pure functions: flags in, the five sets out.

use super::names::{CapName, NameError, oci_name};
use super::{CapSet, CapSets};

/// Docker's 14 default capabilities (moby's `oci/caps/defaults.go`), in kernel order.
pub const DOCKER_DEFAULTS: CapSet = CapSet(
    (1 << 0)      // chown
        | (1 << 1)  // dac_override
        | (1 << 3)  // fowner
        | (1 << 4)  // fsetid
        | (1 << 5)  // kill
        | (1 << 6)  // setgid
        | (1 << 7)  // setuid
        | (1 << 8)  // setpcap
        | (1 << 10) // net_bind_service
        | (1 << 13) // net_raw
        | (1 << 18) // sys_chroot
        | (1 << 27) // mknod
        | (1 << 29) // audit_write
        | (1 << 31), // setfcap
);

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct CapRequest {
    pub add: Vec<CapName>,
    pub drop: Vec<CapName>,
    pub privileged: bool,
}

/// Where the request is resolved: the kernel's capabilities and the ones minirun itself holds.
#[derive(Debug, Clone, Copy)]
pub struct Environment {
    pub kernel: CapSet,
    pub held: CapSet,
}

/// The resolved set, the part of it the user asked for by `--cap-add`, and what to warn about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub set: CapSet,
    pub requested: CapSet,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error(
        "capability \"{0}\" is withheld by the environment: minirun's own bounding set lacks it, so no container here can have it"
    )]
    Withheld(String),
}

fn named(list: &[CapName]) -> CapSet {
    let mut s = CapSet::EMPTY;
    for n in list {
        if let CapName::Cap(c) = n {
            s.insert(*c);
        }
    }
    s
}

/// Docker's resolution (moby `TweakCapabilities`):
/// privileged → all; add contains ALL → all minus drops; drop contains ALL → only the adds;
/// otherwise defaults minus drops plus adds. "All" is limited to what minirun holds, with a
/// warning naming what the environment withholds; asking for a withheld one by name is an error.
pub fn resolve(req: &CapRequest, env: Environment) -> Result<Resolved, PolicyError> {
    let all = env.kernel.intersect(env.held);
    let add_all = req.add.contains(&CapName::All);
    let drop_all = req.drop.contains(&CapName::All);
    let adds = named(&req.add);
    let drops = named(&req.drop);
    let mut warnings = Vec::new();

    if let Some(c) = adds.minus(env.held).iter().next() {
        return Err(PolicyError::Withheld(oci_name(c)));
    }
    let withheld = env.kernel.minus(env.held);
    if (req.privileged || add_all) && !withheld.is_empty() {
        warnings.push(format!(
            "granting all capabilities except {} which the environment withholds (not in minirun's bounding set)",
            withheld.oci_names().join(", ")
        ));
    }

    let (set, requested) = if req.privileged {
        (all, all)
    } else if add_all {
        let set = all.minus(drops);
        (set, set)
    } else if drop_all {
        (adds, adds)
    } else {
        let both = adds.intersect(drops);
        if !both.is_empty() {
            warnings.push(format!(
                "{} both added and dropped: kept, as Docker does (adds are applied after drops)",
                both.oci_names().join(", ")
            ));
        }
        let defaults = DOCKER_DEFAULTS.intersect(env.kernel);
        let missing = defaults.minus(env.held);
        if !missing.is_empty() {
            warnings.push(format!(
                "default capabilities {} are withheld by the environment and not granted",
                missing.oci_names().join(", ")
            ));
        }
        (defaults.intersect(env.held).minus(drops).union(adds), adds)
    };
    Ok(Resolved {
        set,
        requested,
        warnings,
    })
}

/// The five sets for a workload running as `uid`.
///
/// Root keeps the resolved set through execve via the bounding set alone, so inheritable and
/// ambient stay empty (Docker since 2022). A non-root uid loses everything at execve except what
/// is ambient, so the capabilities the user explicitly asked for are raised in ambient too; this
/// is where minirun deliberately differs from Docker, which leaves such users with nothing.
pub fn sets_for(resolved: &Resolved, uid: u32) -> CapSets {
    if uid == 0 {
        CapSets {
            bounding: resolved.set,
            effective: resolved.set,
            permitted: resolved.set,
            inheritable: CapSet::EMPTY,
            ambient: CapSet::EMPTY,
        }
    } else {
        let granted = resolved.requested.intersect(resolved.set);
        CapSets {
            bounding: resolved.set,
            effective: granted,
            permitted: granted,
            inheritable: granted,
            ambient: granted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::names::parse_list;

    const LAST: u8 = 40;

    fn env_full() -> Environment {
        Environment {
            kernel: CapSet::all_up_to(LAST),
            held: CapSet::all_up_to(LAST),
        }
    }

    fn env_here() -> Environment {
        // This machine type: the bounding set lacks CAP_SYS_RESOURCE (24).
        let mut held = CapSet::all_up_to(LAST);
        held.remove(24);
        Environment {
            kernel: CapSet::all_up_to(LAST),
            held,
        }
    }

    fn req(add: &[&str], drop: &[&str]) -> CapRequest {
        CapRequest {
            add: parse_list(add, LAST).unwrap(),
            drop: parse_list(drop, LAST).unwrap(),
            privileged: false,
        }
    }

    fn names(r: &CapRequest, env: Environment) -> String {
        resolve(r, env).unwrap().set.names()
    }

    #[test]
    fn no_flags_gives_dockers_fourteen() {
        assert_eq!(
            names(&req(&[], &[]), env_full()),
            "chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap"
        );
        assert_eq!(DOCKER_DEFAULTS.len(), 14);
    }

    #[test]
    fn workshop_step_two_blacklist() {
        let r = req(&[], &["setfcap", "audit_write", "mknod"]);
        assert_eq!(
            names(&r, env_full()),
            "chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot"
        );
    }

    #[test]
    fn workshop_step_three_whitelist() {
        let r = req(&["setuid", "setgid"], &["all"]);
        assert_eq!(names(&r, env_full()), "setgid, setuid");
    }

    #[test]
    fn add_one_to_defaults() {
        let r = resolve(&req(&["sys_admin"], &[]), env_full()).unwrap();
        assert_eq!(r.set, DOCKER_DEFAULTS.union(CapSet::of(&[21])));
        assert_eq!(r.requested, CapSet::of(&[21]));
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn add_all_minus_drops() {
        let r = resolve(&req(&["all"], &["sys_admin", "net_admin"]), env_full()).unwrap();
        assert_eq!(r.set, CapSet::all_up_to(LAST).minus(CapSet::of(&[21, 12])));
    }

    #[test]
    fn add_all_wins_over_drop_all_as_in_docker() {
        let r = resolve(&req(&["all"], &["all"]), env_full()).unwrap();
        assert_eq!(r.set, CapSet::all_up_to(LAST));
    }

    #[test]
    fn drop_all_alone_is_empty() {
        assert!(
            resolve(&req(&[], &["all"]), env_full())
                .unwrap()
                .set
                .is_empty()
        );
    }

    #[test]
    fn added_and_dropped_is_kept_with_a_warning() {
        let r = resolve(&req(&["sys_admin"], &["sys_admin", "chown"]), env_full()).unwrap();
        assert!(r.set.contains(21));
        assert!(!r.set.contains(0));
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].contains("CAP_SYS_ADMIN both added and dropped"));
    }

    #[test]
    fn all_means_all_that_is_held_and_warns() {
        let r = resolve(&req(&["all"], &[]), env_here()).unwrap();
        assert!(!r.set.contains(24));
        assert_eq!(r.set.len(), 40);
        assert!(
            r.warnings[0].contains("CAP_SYS_RESOURCE"),
            "{:?}",
            r.warnings
        );
        let p = CapRequest {
            privileged: true,
            ..Default::default()
        };
        assert_eq!(resolve(&p, env_here()).unwrap().set, r.set);
    }

    #[test]
    fn withheld_by_name_is_an_error() {
        let err = resolve(&req(&["sys_resource"], &[]), env_here()).unwrap_err();
        assert_eq!(err, PolicyError::Withheld("CAP_SYS_RESOURCE".into()));
        assert!(err.to_string().contains("withheld by the environment"));
    }

    #[test]
    fn root_gets_bounding_effective_permitted_only() {
        let r = resolve(&req(&["net_admin"], &[]), env_full()).unwrap();
        let s = sets_for(&r, 0);
        assert_eq!(s.bounding, r.set);
        assert_eq!(s.effective, r.set);
        assert_eq!(s.permitted, r.set);
        assert!(s.inheritable.is_empty());
        assert!(s.ambient.is_empty());
    }

    #[test]
    fn non_root_gets_what_it_asked_for_in_ambient() {
        let r = resolve(&req(&["net_bind_service"], &[]), env_full()).unwrap();
        let s = sets_for(&r, 1000);
        assert_eq!(s.bounding, r.set);
        let nbs = CapSet::of(&[10]);
        assert_eq!(
            (s.effective, s.permitted, s.inheritable, s.ambient),
            (nbs, nbs, nbs, nbs)
        );
        let plain = sets_for(&resolve(&req(&[], &[]), env_full()).unwrap(), 1000);
        assert!(plain.effective.is_empty() && plain.permitted.is_empty());
        assert!(plain.ambient.is_empty() && plain.inheritable.is_empty());
        assert_eq!(plain.bounding, DOCKER_DEFAULTS);
    }
}
