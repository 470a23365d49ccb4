//! `minirun features`: the OCI features document, so a client can tell what this runtime
//! supports before it writes a config (runtime-spec features.md).

use crate::capability::{self as cap, CapSet};
use crate::container::bundle::NAMESPACES;
use anyhow::Result;
use serde_json::{Value, json};

pub fn document() -> Value {
    let caps = CapSet::all_up_to(cap::kernel_last_cap()).oci_names();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.0",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer",
                  "poststart", "poststop"],
        "mountOptions": ["async", "atime", "bind", "defaults", "dev", "diratime", "dirsync",
            "exec", "mand", "noatime", "nodev", "nodiratime", "noexec", "nomand",
            "norelatime", "nostrictatime", "nosuid", "private", "rbind", "relatime", "ro",
            "rprivate", "rshared", "rslave", "runbindable", "rw", "shared", "slave",
            "strictatime", "suid", "sync", "unbindable"],
        "linux": {
            "namespaces": NAMESPACES,
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": false},
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                    "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
                    "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                    "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
                "archs": ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
                "knownFlags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                    "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                "supportedFlags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                    "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
            },
            "memoryPolicy": {
                "modes": ["MPOL_DEFAULT", "MPOL_PREFERRED", "MPOL_BIND", "MPOL_INTERLEAVE",
                    "MPOL_LOCAL", "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE"],
                "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": false}}
        },
        "annotations": {
            "org.opencontainers.runc.checkpoint.enabled": "false",
            "io.github.minirun.cgroups": "v1, v2 and hybrid (cgroupfs): memory, pids, cpu, cpuset, blkio/io, hugetlb, devices (v1 lists or a v2 eBPF program), freezer; pause, resume, update, events, ps, kill --all by cgroup",
        }
    })
}

pub fn print() -> Result<()> {
    println!("{}", serde_json::to_string_pretty(&document())?);
    Ok(())
}
