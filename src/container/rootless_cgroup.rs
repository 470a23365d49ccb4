//! An ordinary user's cgroup: one in the cgroup v2 subtree the host delegates to the caller
//! (systemd's `Delegate=`: user@UID.service, or a `systemd-run --user -p Delegate=yes` scope),
//! else none (one warning, as crun gives; `rootless::NO_CGROUP`). v1 is never delegated to a
//! user, so such a container has a v2 cgroup only.
//!
//! The kernel's rules decide the place. Moving a process (clone3's CLONE_INTO_CGROUP here)
//! needs write access to `cgroup.procs` of the destination and of the common ancestor of
//! source and destination; and a cgroup that holds processes can enable no controller for
//! its children ("no internal processes"). The caller's own cgroup holds the caller, so:
//! when its parent is writable too (systemd's layout: the user's processes sit in leaves
//! such as `app.slice/x.scope` below the delegated unit) the container's cgroup is a sibling
//! of the caller's, `<parent>/minirun.<name>`, and gets the controllers the parent may
//! enable; otherwise it is `<own>/minirun.<name>`, with no controller (still a freezer,
//! `cgroup.kill`, `cgroup.procs` and the usage files every v2 cgroup has).
//!
//! Policy ([`placement`], [`missing_controllers`]) is pure; [`detect`] reads the host.

use crate::cgroups::{Layout, Placement};
use crate::container::cgroup_launch::Request;
use crate::container::error::Result;
use oci_spec::runtime::LinuxResources;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A v2 subtree delegated to the caller, and where its containers go in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// The cgroup2 mount point.
    pub mountpoint: PathBuf,
    /// The highest cgroup above (or at) the caller's own that it may write: the delegation,
    /// as the kernel names it.
    pub top: PathBuf,
    /// Below which the containers' cgroups go (`<base>/minirun.<name>`), as the kernel names it.
    pub base: PathBuf,
    /// The controllers a container's cgroup can have there.
    pub controllers: BTreeSet<String>,
}

/// What [`placement`] needs to know of one cgroup (named as the kernel names it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// The caller may write its directory (mkdir) and its `cgroup.procs` (move processes).
    pub writable: bool,
    /// The caller may write its `cgroup.subtree_control`.
    pub subtree_writable: bool,
    /// It holds processes of its own (then it can enable no controller).
    pub populated: bool,
    /// Its `cgroup.controllers`: what its parent enabled for it.
    pub offered: BTreeSet<String>,
    /// Its `cgroup.subtree_control`: what it enabled for its children.
    pub enabled: BTreeSet<String>,
}

/// Pure: where an ordinary caller whose cgroup is `own` places its containers, given what
/// `access` says of each cgroup (None: none delegated, the caller's own is not writable).
pub fn placement(own: &Path, access: &dyn Fn(&Path) -> Access) -> Option<(PathBuf, PathBuf)> {
    if !access(own).writable {
        return None;
    }
    // The root cgroup is no one's to delegate: stop below it.
    let top = own
        .ancestors()
        .take_while(|c| c.parent().is_some() && access(c).writable)
        .last()?
        .to_path_buf();
    let base = match own.parent() {
        Some(parent) if top != own => parent.to_path_buf(),
        _ => own.to_path_buf(),
    };
    Some((top, base))
}

/// Pure: the controllers a container's cgroup below `base` can have: those `base` enabled
/// already, and those offered to it if it holds no process and its caller may enable them.
pub fn controllers(base: &Access) -> BTreeSet<String> {
    let mut c = base.enabled.clone();
    if base.subtree_writable && !base.populated {
        c.extend(base.offered.iter().cloned());
    }
    c
}

/// Pure: the controllers `r` sets a limit for (by their v2 names) that `offered` lacks.
pub fn missing_controllers(r: &LinuxResources, offered: &BTreeSet<String>) -> Result<Vec<String>> {
    use crate::cgroups::resources::{Version, plan};
    let writes = plan(r, &|_| Some(Version::V2), true)?;
    let mut missing: Vec<String> = writes
        .iter()
        .filter_map(|w| w.controller)
        .map(|c| c.v2_name().to_string())
        .filter(|c| !offered.contains(c))
        .collect();
    missing.dedup();
    Ok(missing)
}

/// Pure: whether a caller in cgroup `own` may move a process into `target` (both as the
/// kernel names them): write access to `target` and to the common ancestor of the two.
pub fn can_join(own: &Path, target: &Path, access: &dyn Fn(&Path) -> Access) -> bool {
    let common: PathBuf = own
        .components()
        .zip(target.components())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a)
        .collect();
    access(target).writable && access(&common).writable
}

/// Whether this (ordinary) process may join the v2 cgroup `dir` (a container's, from its
/// record): `exec` from outside the delegation may not.
pub fn joinable(dir: &Path) -> bool {
    let Some(h) = Layout::detect().ok().and_then(|l| l.unified) else {
        return false;
    };
    let Ok(rel) = dir.strip_prefix(&h.mountpoint) else {
        return false;
    };
    can_join(&h.own, &Path::new("/").join(rel), &|c| {
        read_access(&h.dir(c))
    })
}

/// The caller's delegated subtree, if the host gives it one.
pub fn detect() -> Option<Delegation> {
    let layout = Layout::detect().ok()?;
    let h = layout.unified?;
    let access = |c: &Path| read_access(&h.dir(c));
    let (top, base) = placement(&h.own, &access)?;
    let controllers = controllers(&access(&base));
    Some(Delegation {
        mountpoint: h.mountpoint,
        top,
        base,
        controllers,
    })
}

/// `update` of an ordinary user's container whose cgroup `dir` (v2) lies in a delegation:
/// the limits of `r` are checked against what its parent may give it, as `create` checks
/// them, so a controller the delegation lacks is refused by name rather than failing on the
/// root-owned `cgroup.subtree_control` far above.
pub fn check_update(dir: &Path, r: &LinuxResources) -> Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    let mut r = r.clone();
    r.set_devices(None);
    // Name the delegation as `create` does when this caller has one; else the parent.
    let named = detect()
        .map(|d| d.mountpoint.join(d.top.strip_prefix("/").unwrap_or(&d.top)))
        .filter(|top| dir.starts_with(top))
        .unwrap_or_else(|| parent.to_path_buf());
    refuse_missing(&r, &controllers(&read_access(parent)), &named)
}

/// The refusal of a limit whose controller `given` lacks, naming the delegation `top` (a path).
fn refuse_missing(r: &LinuxResources, given: &BTreeSet<String>, top: &Path) -> Result<()> {
    let missing = missing_controllers(r, given)?;
    if let Some(c) = missing.first() {
        let offered: Vec<&str> = given.iter().map(String::as_str).collect();
        bail!(
            "a {c} limit needs the {c} controller, which the cgroup delegated to this user ({}) does not give its containers (they get: {})",
            top.display(),
            if offered.is_empty() {
                "none".to_string()
            } else {
                offered.join(" ")
            }
        );
    }
    Ok(())
}

/// `cgroup_launch::sweep` beside the caller's leaf, where an ordinary user's containers lie
/// in the delegated subtree (v2 only, as they have no other cgroup): a killed runtime's
/// `minirun.<id>` whose record is gone goes, as below the caller's own cgroup.
pub fn sweep(root: &Path, is_live: &dyn Fn(&str) -> bool) {
    if nix::unistd::geteuid().is_root() {
        return;
    }
    let Ok(layout) = Layout::detect() else { return };
    if let Some(d) = detect()
        && layout.unified.as_ref().is_some_and(|h| h.own != d.base)
    {
        let beside = Layout {
            v1: Vec::new(),
            unified: Some(crate::cgroups::layout::Hierarchy {
                mountpoint: d.mountpoint,
                controllers: Vec::new(),
                own: d.base,
            }),
        };
        crate::container::cgroup_launch::sweep_in(&beside, root, is_live);
    }
}

fn read_access(dir: &Path) -> Access {
    use nix::unistd::{AccessFlags, access};
    let w = |p: &Path| access(p, AccessFlags::W_OK).is_ok();
    let words = |f: &str| -> BTreeSet<String> {
        std::fs::read_to_string(dir.join(f))
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    Access {
        writable: w(dir) && w(&dir.join("cgroup.procs")),
        subtree_writable: w(&dir.join("cgroup.subtree_control")),
        populated: std::fs::read_to_string(dir.join("cgroup.procs"))
            .is_ok_and(|p| !p.trim().is_empty()),
        offered: words("cgroup.controllers"),
        enabled: words("cgroup.subtree_control"),
    }
}

impl Delegation {
    /// The request for a container's cgroup named `name` (`cgroup_launch::cgroup_name`):
    /// `cgroups_path` (OCI's, or the quick form's `--cgroup-parent`/id) placed within the
    /// delegation as runc places it below its own cgroup, the limits of `r` (device rules
    /// left out, as runc's rootless mode leaves them: the user namespace keeps mknod out, and
    /// an eBPF device program is root's to load). A limit whose controller is not delegated
    /// is refused naming it, rather than silently not applied.
    pub fn request(
        &self,
        name: &str,
        cgroups_path: Option<&str>,
        r: Option<&LinuxResources>,
    ) -> Result<Request> {
        let mut r = r.cloned().unwrap_or_default();
        r.set_devices(None);
        refuse_missing(
            &r,
            &self.controllers,
            &self
                .mountpoint
                .join(self.top.strip_prefix("/").unwrap_or(&self.top)),
        )?;
        let path = Placement::parse(cgroups_path, false)?.resolve(&self.base, name, true)?;
        Ok(Request::Create {
            id: name.to_string(),
            placement: Placement::Absolute(path),
            resources: Box::new(r),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(words: &str) -> BTreeSet<String> {
        words.split_whitespace().map(str::to_string).collect()
    }

    /// systemd's layout: user@1000.service delegated, the caller in a leaf scope below it.
    fn systemd(c: &Path) -> Access {
        let s = c.to_str().unwrap();
        let delegated = s.starts_with("/user.slice/user-1000.slice/user@1000.service");
        Access {
            writable: delegated,
            subtree_writable: delegated,
            populated: s.ends_with(".scope"),
            offered: set("cpu memory pids"),
            enabled: set(if s.ends_with("app.slice") { "pids" } else { "" }),
        }
    }

    #[test]
    fn a_delegated_subtree_puts_containers_beside_the_callers_leaf() {
        let own = Path::new("/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope");
        let (top, base) = placement(own, &systemd).unwrap();
        assert_eq!(
            top,
            Path::new("/user.slice/user-1000.slice/user@1000.service")
        );
        assert_eq!(base, own.parent().unwrap());
        assert_eq!(controllers(&systemd(&base)), set("cpu memory pids"));
    }

    #[test]
    fn a_writable_leaf_alone_gets_children_without_controllers() {
        let own = Path::new("/user.slice/user-1000.slice/user@1000.service");
        let (top, base) = placement(own, &systemd).unwrap();
        assert_eq!((top.as_path(), base.as_path()), (own, own));
        // It holds the caller: nothing can be enabled below it.
        let here = Access {
            populated: true,
            ..systemd(own)
        };
        assert!(controllers(&here).is_empty());
    }

    #[test]
    fn nothing_writable_or_the_root_is_no_delegation() {
        let own = Path::new("/user.slice/user-1000.slice/session-1.scope");
        assert_eq!(placement(own, &systemd), None);
        // A root-owned host where the caller somehow writes everything: never the root.
        let all = |_: &Path| Access {
            writable: true,
            ..Access::default()
        };
        assert_eq!(placement(Path::new("/"), &all), None);
        assert_eq!(
            placement(Path::new("/a/b"), &all),
            Some((PathBuf::from("/a"), PathBuf::from("/a")))
        );
    }

    #[test]
    fn joining_needs_the_common_ancestor() {
        let scope = "/user.slice/user-1000.slice/user@1000.service/app.slice";
        let target = PathBuf::from(format!("{scope}/minirun/c1"));
        assert!(can_join(
            &Path::new(scope).join("x.scope"),
            &target,
            &systemd
        ));
        // From a login session: the common ancestor is the root-owned user-1000.slice.
        assert!(!can_join(
            Path::new("/user.slice/user-1000.slice/session-1.scope"),
            &target,
            &systemd
        ));
    }

    #[test]
    fn limits_are_checked_against_the_delegated_controllers() {
        let r: LinuxResources = serde_json::from_str(
            r#"{"pids": {"limit": 5}, "hugepageLimits": [{"pageSize": "2MB", "limit": 0}]}"#,
        )
        .unwrap();
        assert_eq!(missing_controllers(&r, &set("hugetlb")).unwrap(), ["pids"]);
        assert!(
            missing_controllers(&r, &set("hugetlb pids"))
                .unwrap()
                .is_empty()
        );
        let d = Delegation {
            mountpoint: "/sys/fs/cgroup".into(),
            top: "/t/user".into(),
            base: "/t/user".into(),
            controllers: set("hugetlb"),
        };
        let err = d.request("c1", None, Some(&r)).unwrap_err().to_string();
        assert!(
            err.contains("pids controller") && err.contains("/sys/fs/cgroup/t/user"),
            "{err}"
        );
        let Request::Create { placement, .. } =
            d.request("c1", Some("/elsewhere/x"), None).unwrap()
        else {
            panic!("a Create request");
        };
        assert_eq!(
            placement,
            Placement::Absolute("/t/user/elsewhere/x".into()),
            "an absolute cgroupsPath stays within the delegation"
        );
    }
}
