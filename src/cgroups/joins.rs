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
//! How (issue 25): the child moves itself in, by writing "0" to each hierarchy's `tasks` file
//! through an fd the parent opened before clone3 (`Cgroup::open_v1_tasks`,
//! `V1Tasks::join_self`). The obvious way, the parent writing the child's pid to
//! `cgroup.procs`, takes the global `cgroup_threadgroup_rwsem` for writing, and entering its
//! writer side waits for an RCU grace period: 3 to 7 ms on these machines, the whole cgroup
//! cost of a launch. The kernel skips that lock when one thread moves itself:
//! `cgroup_procs_write_start()` (kernel/cgroup/cgroup.c) locks the thread group only for
//! `pid || threadgroup`, and a v1 `tasks` write is not a thread-group write, so "0" (the
//! writer) is neither (upstream commit 9a3284fad42f, "cgroup: Optimize single thread
//! migration", backported as far as the 5.4 stable kernels; on a kernel without it the write
//! waits as a pid write does, and nothing else changes). The child is single-threaded then,
//! so moving its one thread moves the whole process. 15-30 µs a hierarchy here.
//!
//! Permission: `__cgroup1_procs_write()` lets the write through when the writer's euid is
//! root's or the mover's own uid or suid. Since 5.16 it checks the credentials the file was
//! opened with (`of->file->f_cred`: the parent's); before, the writer's: the child's own,
//! and a process moving itself passes the uid test whoever it is (its euid is its uid). In a new user namespace the
//! child writes before `become_ns_root`, still with the parent's ids, so `--userns` changes
//! nothing either way: no fallback to a write by the parent is needed.
//!
//! Where: right after `Proceed` (a failure then reaches the parent as `Failed`, naming the
//! file) and before anything else: the child unshares its cgroup namespace only once it is
//! in every hierarchy (the namespace's root must be the container's cgroup everywhere, see
//! above), and its hooks and the workload run in its cgroups. An `exec`'d process joins the
//! same way before it enters the container's cgroup namespace.

use std::collections::BTreeSet;

use super::Result;
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
        // What `Cgroup::create` makes a cgroup in, and the child moves itself into.
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
