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
            "seccomp": {"enabled": false},
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
