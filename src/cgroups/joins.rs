//! Pure: which v1 hierarchies a container joins: every one the host has, named ones
//! (`name=systemd`) included, as runc does.
//!
//! The reason is the cgroup namespace. Its root in each hierarchy is the cgroup the process
//! is in when it unshares; in a hierarchy it did not join, that is minirun's own cgroup,
//! usually the hierarchy's root. A workload that can mount (`--cap-add sys_admin`: Docker's
//! seccomp profile then allows `mount -t cgroup -o blkio none /x`) would see the host's tree
//! from there: every sibling's cgroup to freeze, kill or leave its own limits through, and the
//! root's `release_agent`, which the kernel runs as root on the host. Joined everywhere,
//! the same mount shows the container's own cgroup only.
//!
//! The cost (issue 12's reason to join fewer): each v1 join is a write to `cgroup.procs`,
//! which takes the global `cgroup_threadgroup_rwsem` for writing; entering its writer side
//! waits for an RCU grace period, but only when no writer came within the last grace period
//! (rcu_sync stays in writer mode for one more period after each exit). So a burst of joins
//! pays about one grace period, not one per hierarchy; and the launch overlaps that one with
//! the child's own setup (`launch::after_clone`: the child mounts its rootfs and pivots into
//! it meanwhile, and waits for `CgroupsJoined` only before its first step that must run in
//! its cgroups: createContainer hooks, or else the pty and the confinement before execve).
//!
//! Nothing starts that grace period earlier without stalling the launch: the writer waits for
//! it holding the global `cgroup_mutex`, which every cgroup mkdir and a clone3 with
//! CLONE_INTO_CGROUP also take. A helper that joined a cgroup of the container right before
//! clone3 (round 3) therefore held up clone3 itself whenever it won the race to its write,
//! and the child's whole setup came after the grace period instead of beside it.

use std::collections::BTreeSet;

use anyhow::Result;
use oci_spec::runtime::LinuxResources;

use super::resources::{self, Version};

/// The v1 controllers `r` writes a limit to (devices excepted: v2 does those).
pub fn needed(r: &LinuxResources) -> Result<BTreeSet<String>> {
    let writes = resources::plan(r, &|_| Some(Version::V1), true)?;
    Ok(writes
        .iter()
        .filter_map(|w| w.controller)
        .map(|c| c.v1_name().to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::layout::Layout;
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
    fn every_hierarchy_is_joined_named_ones_too() {
        let r = resources(serde_json::json!({"devices": [{"allow": false, "access": "rwm"}]}));
        assert!(needed(&r).unwrap().is_empty());
        // What `Cgroup::create` makes a cgroup in, and `join_v1` moves the child into.
        let l = hybrid();
        assert_eq!(
            mounts(&l),
            [
                "/sys/fs/cgroup/systemd",
                "/sys/fs/cgroup/pids",
                "/sys/fs/cgroup/devices",
                "/sys/fs/cgroup/cpu,cpuacct",
                "/sys/fs/cgroup/freezer",
                "/sys/fs/cgroup/memory"
            ]
        );
        assert!(l.unified.is_some());
    }

    #[test]
    fn limits_name_their_controllers() {
        let r = resources(serde_json::json!({"pids": {"limit": 20}, "cpu": {"quota": 50000}}));
        let n: Vec<String> = needed(&r).unwrap().into_iter().collect();
        assert_eq!(n, ["cpu", "pids"]);
    }

    #[test]
    fn empty_sections_ask_for_nothing() {
        let r = resources(serde_json::json!({"memory": {}, "cpu": {}, "blockIO": {}}));
        assert!(needed(&r).unwrap().is_empty());
    }
}
