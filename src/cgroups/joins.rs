//! Pure: which v1 hierarchies a container joins.
//!
//! Every v1 join is a migration (a write to `cgroup.procs`), and each one takes the global
//! `cgroup_threadgroup_rwsem` for writing, which waits for an RCU grace period: milliseconds
//! per launch. A v2 cgroup costs nothing extra (the child is cloned into it with
//! CLONE_INTO_CGROUP), and cgroup v2 does device control (an eBPF program), freezing
//! (`cgroup.freeze`) and killing (`cgroup.kill`) without any controller. So where a cgroup2
//! hierarchy is mounted (v2 or hybrid), a container joins a v1 hierarchy only for what only
//! that v1 controller can do: a limit the resources ask for, or a count the caller wants to
//! read or change later (`also`: OCI containers want memory, pids, cpu and cpuacct for
//! `events --stats` and `docker update`).
//! Without cgroup2 (plain v1), devices and freezer are v1 too: every hierarchy is joined.

use std::collections::BTreeSet;

use anyhow::Result;
use oci_spec::runtime::LinuxResources;

use super::layout::Layout;
use super::resources::{self, Version};

/// The controllers OCI containers join even without a limit: what `events --stats` (and so
/// `docker stats`) reads, and what `docker update` most often changes.
pub const STATS_CONTROLLERS: &[&str] = &["memory", "pids", "cpu", "cpuacct"];

/// The v1 controllers `r` writes a limit to (devices excepted: v2 does those), plus `also`.
pub fn needed(r: &LinuxResources, also: &[&str]) -> Result<BTreeSet<String>> {
    let writes = resources::plan(r, &|_| Some(Version::V1), true)?;
    Ok(writes
        .iter()
        .filter_map(|w| w.controller)
        .map(|c| c.v1_name().to_string())
        .chain(also.iter().map(|c| c.to_string()))
        .collect())
}

/// `layout` narrowed to the hierarchies a container with `needed` joins: with a cgroup2
/// mount, the v1 hierarchies carrying one of `needed` (the named ones, as `name=systemd`,
/// carry none); without, all of them.
pub fn select(mut layout: Layout, needed: &BTreeSet<String>) -> Layout {
    if layout.unified.is_some() {
        layout
            .v1
            .retain(|h| h.controllers.iter().any(|c| needed.contains(c)));
    }
    layout
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTS: &str = "\
30 25 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
31 25 0:27 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
32 25 0:28 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
33 25 0:29 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices
34 25 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 25 0:31 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer
36 25 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
";
    const HYBRID_OWN: &str = "\
6:memory:/
5:freezer:/
4:cpu,cpuacct:/
3:devices:/
2:pids:/
1:name=systemd:/
0::/
";

    fn hybrid() -> Layout {
        Layout::parse(HYBRID_MOUNTS, HYBRID_OWN).unwrap()
    }

    fn mounts(l: &Layout) -> Vec<String> {
        l.v1.iter()
            .map(|h| h.mountpoint.display().to_string())
            .collect()
    }

    fn resources(json: serde_json::Value) -> LinuxResources {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn no_limit_joins_no_v1_hierarchy_where_there_is_cgroup2() {
        let r = resources(serde_json::json!({"devices": [{"allow": false, "access": "rwm"}]}));
        let l = select(hybrid(), &needed(&r, &[]).unwrap());
        assert!(l.v1.is_empty(), "{:?}", mounts(&l));
        assert!(l.unified.is_some());
    }

    #[test]
    fn a_limit_joins_the_hierarchy_of_its_controller() {
        let r = resources(serde_json::json!({"pids": {"limit": 20}, "cpu": {"quota": 50000}}));
        let l = select(hybrid(), &needed(&r, &[]).unwrap());
        assert_eq!(
            mounts(&l),
            ["/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpu,cpuacct"]
        );
    }

    #[test]
    fn empty_sections_ask_for_nothing() {
        let r = resources(serde_json::json!({"memory": {}, "cpu": {}, "blockIO": {}}));
        assert!(needed(&r, &[]).unwrap().is_empty());
    }

    #[test]
    fn stats_controllers_are_joined_when_asked() {
        let n = needed(&LinuxResources::default(), STATS_CONTROLLERS).unwrap();
        let l = select(hybrid(), &n);
        assert_eq!(
            mounts(&l),
            [
                "/sys/fs/cgroup/pids",
                "/sys/fs/cgroup/cpu,cpuacct",
                "/sys/fs/cgroup/memory"
            ]
        );
    }

    #[test]
    fn plain_v1_joins_everything() {
        let l = hybrid().without_unified();
        assert_eq!(select(l.clone(), &BTreeSet::new()), l);
    }
}
