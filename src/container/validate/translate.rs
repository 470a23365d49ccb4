//! The translation: Spec + Inputs → Plan. It runs after the checks (`checks.rs`) and
//! refuses only what the Plan cannot represent (an unknown capability or rlimit name, a mount
//! propagation or personality it has no value for, a cgroupsPath or device rule that does not
//! parse); every other refusal is a named check.

use super::{Cgroups, Inputs};
use crate::capability::{CapSet, CapSets, names};
use crate::container::error::{Context, Result};
use crate::container::plan::{
    CgroupRequest, DevicePlan, IdMap, Manager, MountPlan, Namespace, Plan, Rlimit,
};
use crate::container::user::Identity;
use nix::mount::MsFlags;
use oci_spec::runtime::{Linux, LinuxDeviceType, LinuxIdMapping, Process, Spec};
use std::path::{Path, PathBuf};

/// Mount options: flags to set, flags to clear, propagation, or filesystem data.
fn parse_mount_options(options: &[String]) -> Result<(MsFlags, String, Option<MsFlags>, bool)> {
    let mut flags = MsFlags::empty();
    let mut data: Vec<&str> = Vec::new();
    let mut propagation = None;
    let mut bind = false;
    for o in options {
        let (set, clear) = match o.as_str() {
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "bind" => {
                bind = true;
                (MsFlags::MS_BIND, MsFlags::empty())
            }
            "rbind" => {
                bind = true;
                (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty())
            }
            p @ ("private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave"
            | "unbindable" | "runbindable") => {
                propagation = Some(propagation_flags(p)?);
                continue;
            }
            "defaults" => continue,
            other if other.contains('=') || !other.is_empty() => {
                data.push(other);
                continue;
            }
            _ => continue,
        };
        flags = (flags | set) & !clear;
    }
    Ok((flags, data.join(","), propagation, bind))
}

/// The root's propagation when the config does not say: what a mount's own propagation needs
/// (a shared bind must stay the host mount's peer, a slave one its slave: a private root would
/// cut both off), as Docker and containerd set it for such mounts; private otherwise.
fn default_root_propagation(mounts: &[MountPlan]) -> MsFlags {
    let asks = |f: MsFlags| {
        mounts
            .iter()
            .any(|m| m.propagation.is_some_and(|p| p.contains(f)))
    };
    let kind = if asks(MsFlags::MS_SHARED) {
        MsFlags::MS_SHARED
    } else if asks(MsFlags::MS_SLAVE) {
        MsFlags::MS_SLAVE
    } else {
        MsFlags::MS_PRIVATE
    };
    kind | MsFlags::MS_REC
}

/// `rprivate` → MS_PRIVATE|MS_REC, and so on.
pub fn propagation_flags(name: &str) -> Result<MsFlags> {
    let (rec, base) = match name.strip_prefix('r') {
        Some(b) if !b.is_empty() => (MsFlags::MS_REC, b),
        _ => (MsFlags::empty(), name),
    };
    let kind = match base {
        "private" => MsFlags::MS_PRIVATE,
        "shared" => MsFlags::MS_SHARED,
        "slave" => MsFlags::MS_SLAVE,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        _ => bail!("unknown mount propagation \"{name}\""),
    };
    Ok(rec | kind)
}

fn rlimit_resource(name: &str) -> Option<libc::c_int> {
    Some(match name {
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        _ => return None,
    } as libc::c_int)
}

/// The devices every container gets (the OCI spec's list), with Docker's modes.
pub fn default_devices() -> Vec<DevicePlan> {
    [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ]
    .into_iter()
    .map(|(p, major, minor)| DevicePlan {
        path: p.into(),
        kind: libc::S_IFCHR,
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    })
    .collect()
}

fn cap_set(names_in: &Option<oci_spec::runtime::Capabilities>, last: u8) -> Result<CapSet> {
    let list: Vec<String> = names_in
        .iter()
        .flatten()
        .map(|c| {
            serde_json::to_value(c)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default()
        })
        .collect();
    Ok(names::parse_set(&list, last)?)
}

/// The translation itself (after `checks::run`: see `validate::plan`).
pub fn translate(spec: &Spec, inputs: &Inputs) -> Result<Plan> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| refused!("config has no \"root\""))?;
    let (last_cap, join) = (inputs.last_cap, inputs.facts.join);
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| refused!("config has no \"process\""))?;
    let user = process.user();
    let caps = capabilities(process, last_cap)?;
    let rlimits = rlimits(process)?;
    let linux = spec.linux().clone().unwrap_or_default();
    let mounts = mounts(spec, inputs.base.as_path())?;
    let devices = devices(&linux, join)?;
    let rootfs_propagation = match linux.rootfs_propagation() {
        Some(p) if !p.is_empty() => propagation_flags(p)?,
        _ => default_root_propagation(&mounts),
    };

    Ok(Plan {
        rootfs: match join {
            Some(pid) => PathBuf::from(format!("/proc/{pid}/root")),
            None => inputs.rootfs.clone(),
        },
        readonly_root: root.readonly().unwrap_or(false),
        namespaces: namespaces(&linux),
        mounts,
        devices,
        masked: paths(linux.masked_paths()),
        readonly: paths(linux.readonly_paths()),
        rootfs_propagation,
        hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
        domainname: spec.domainname().clone().filter(|h| !h.is_empty()),
        sysctl: sysctl(&linux),
        args: process.args().clone().unwrap_or_default(),
        env: process.env().clone().unwrap_or_default(),
        cwd: process.cwd().clone(),
        identity: Identity {
            uid: user.uid(),
            gid: user.gid(),
            additional_gids: user.additional_gids().clone().unwrap_or_default(),
            home: String::new(),
        },
        umask: user.umask(),
        caps,
        no_new_privs: process.no_new_privileges().unwrap_or(false),
        rlimits,
        oom_score_adj: process.oom_score_adj(),
        terminal: process.terminal().unwrap_or(false),
        settings: inputs.settings.clone(),
        last_cap,
        uid_mappings: id_maps(linux.uid_mappings()),
        gid_mappings: id_maps(linux.gid_mappings()),
        hooks: spec.hooks().clone().unwrap_or_default(),
        exec_root: join.map(|pid| PathBuf::from(format!("/proc/{pid}/root"))),
        seccomp: inputs.seccomp.clone(),
        personality: crate::container::task::personality(linux.personality().as_ref())?,
        memory_policy: crate::container::task::memory_policy(linux.memory_policy().as_ref())?,
        cgroup: cgroup_request(spec, &inputs.facts.cgroups)?,
    })
}

fn capabilities(process: &Process, last_cap: u8) -> Result<CapSets> {
    Ok(match process.capabilities() {
        Some(c) => CapSets {
            bounding: cap_set(c.bounding(), last_cap)?,
            effective: cap_set(c.effective(), last_cap)?,
            permitted: cap_set(c.permitted(), last_cap)?,
            inheritable: cap_set(c.inheritable(), last_cap)?,
            ambient: cap_set(c.ambient(), last_cap)?,
        },
        None => CapSets::default(),
    })
}

fn rlimits(process: &Process) -> Result<Vec<Rlimit>> {
    let mut rlimits = Vec::new();
    for r in process.rlimits().iter().flatten() {
        let name = serde_json::to_value(r.typ())
            .context("process.rlimits")?
            .as_str()
            .unwrap_or_default()
            .to_string();
        let resource = rlimit_resource(&name)
            .ok_or_else(|| refused!("process.rlimits: unknown type \"{name}\""))?;
        rlimits.push(Rlimit {
            name,
            resource,
            soft: r.soft(),
            hard: r.hard(),
        });
    }
    Ok(rlimits)
}

/// A bind mount's relative source is taken from the bundle directory (`base`).
fn mounts(spec: &Spec, base: &Path) -> Result<Vec<MountPlan>> {
    let mut mounts = Vec::new();
    for m in spec.mounts().iter().flatten() {
        let (flags, data, propagation, bind_opt) =
            parse_mount_options(m.options().as_deref().unwrap_or_default())?;
        let typ = m.typ().clone().unwrap_or_else(|| "none".into());
        let bind = bind_opt || typ == "bind";
        let source = match m.source() {
            Some(s) if bind && s.is_relative() => base.join(s).to_string_lossy().into_owned(),
            Some(s) => s.to_string_lossy().into_owned(),
            None => typ.clone(),
        };
        mounts.push(MountPlan {
            destination: m.destination().clone(),
            typ,
            source,
            flags: if bind {
                flags | MsFlags::MS_BIND
            } else {
                flags
            },
            data,
            propagation,
            bind,
        });
    }
    Ok(mounts)
}

/// The default nodes, each replaced by a `linux.devices` entry of the same path.
fn devices(linux: &Linux, join: Option<i32>) -> Result<Vec<DevicePlan>> {
    // `exec` enters a container that exists: it creates no devices.
    let mut devices = match join {
        Some(_) => Vec::new(),
        None => default_devices(),
    };
    for d in linux.devices().iter().flatten() {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
            LinuxDeviceType::B => libc::S_IFBLK,
            LinuxDeviceType::P => libc::S_IFIFO,
            // Refused by the "devices" check; no node has this type.
            LinuxDeviceType::A => bail!("linux.devices: type \"a\" makes no node"),
        };
        devices.retain(|x| x.path != *d.path());
        devices.push(DevicePlan {
            path: d.path().clone(),
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666),
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        });
    }
    Ok(devices)
}

fn namespaces(linux: &Linux) -> Vec<Namespace> {
    linux
        .namespaces()
        .iter()
        .flatten()
        .map(|n| Namespace {
            typ: n.typ(),
            path: n.path().clone(),
        })
        .collect()
}

/// `linux.maskedPaths`, `linux.readonlyPaths`.
fn paths(list: &Option<Vec<String>>) -> Vec<PathBuf> {
    list.iter().flatten().map(PathBuf::from).collect()
}

/// Sorted, so that the Plan does not depend on the config's map order.
fn sysctl(linux: &Linux) -> Vec<(String, String)> {
    let mut sysctl: Vec<(String, String)> = linux
        .sysctl()
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    sysctl.sort();
    sysctl
}

fn id_maps(m: &Option<Vec<LinuxIdMapping>>) -> Vec<IdMap> {
    m.iter()
        .flatten()
        .map(|m| IdMap {
            container_id: m.container_id(),
            host_id: m.host_id(),
            size: m.size(),
        })
        .collect()
}

/// The cgroup request: the caller's, or the spec's own (`linux.cgroupsPath` placed by the
/// manager, `linux.resources` with the device rules runc gives every container: deny by
/// default whatever the config says, the standard nodes and the config's linux.devices
/// openable; see `cgroups::devices::container_rules`).
pub fn cgroup_request(spec: &Spec, cgroups: &Cgroups) -> Result<Option<CgroupRequest>> {
    let (manager, name) = match cgroups {
        Cgroups::None => return Ok(None),
        Cgroups::Given(r) => return Ok(Some(r.clone())),
        Cgroups::FromSpec { manager, name } => (*manager, name),
    };
    if manager == Manager::Disabled {
        return Ok(None);
    }
    let linux = spec.linux().as_ref();
    let placement = placement(spec, manager)?;
    let mut resources = linux
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    let rules = device_rules(spec)?;
    resources.set_devices(Some(rules));
    Ok(Some(CgroupRequest::Create {
        id: name.clone(),
        placement,
        resources: Box::new(resources),
    }))
}

/// `linux.cgroupsPath` as the manager reads it (the "cgroups_path" check shares it).
pub fn placement(spec: &Spec, manager: Manager) -> Result<crate::cgroups::Placement> {
    let path = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref());
    let path = path.map(|p| p.to_string_lossy().into_owned());
    Ok(crate::cgroups::Placement::parse(
        path.as_deref(),
        manager == Manager::Systemd,
    )?)
}

/// The device rules the container's cgroup gets (the "device_rules" check shares it).
pub fn device_rules(spec: &Spec) -> Result<Vec<oci_spec::runtime::LinuxDeviceCgroup>> {
    let linux = spec.linux().as_ref();
    let config = linux
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.devices().clone());
    let listed = linux.and_then(|l| l.devices().clone()).unwrap_or_default();
    Ok(crate::cgroups::devices::container_rules(
        config.as_deref(),
        &listed,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{QuickForm, build};
    use std::path::Path;

    fn from_spec(spec: &Spec, base: &Path, last: u8) -> Result<Plan> {
        crate::container::validate::plan(spec, &Inputs::lexical(spec, base, last))
    }

    #[test]
    fn mount_options_split_into_flags_and_data() {
        let opts: Vec<String> = [
            "nosuid",
            "strictatime",
            "mode=755",
            "size=65536k",
            "ro",
            "rprivate",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (flags, data, prop, bind) = parse_mount_options(&opts).unwrap();
        assert_eq!(
            flags,
            MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME | MsFlags::MS_RDONLY
        );
        assert_eq!(data, "mode=755,size=65536k");
        assert_eq!(prop, Some(MsFlags::MS_PRIVATE | MsFlags::MS_REC));
        assert!(!bind);
        let (flags, _, _, bind) =
            parse_mount_options(&["rbind".to_string(), "ro".to_string(), "rw".to_string()])
                .unwrap();
        assert!(bind);
        assert_eq!(flags, MsFlags::MS_BIND | MsFlags::MS_REC);
    }

    #[test]
    fn quick_form_plan() {
        let q = QuickForm {
            rootfs: "/r".into(),
            args: vec!["true".into()],
            hostname: "h".into(),
            ..Default::default()
        };
        let plan = from_spec(&build(&q).unwrap(), Path::new("/"), 40).unwrap();
        assert_eq!(plan.rootfs, PathBuf::from("/r"));
        let f = plan.clone_flags() as libc::c_int;
        for flag in [
            libc::CLONE_NEWNS,
            libc::CLONE_NEWPID,
            libc::CLONE_NEWNET,
            libc::CLONE_NEWUTS,
            libc::CLONE_NEWIPC,
            libc::CLONE_NEWCGROUP,
        ] {
            assert!(f & flag != 0);
        }
        assert_eq!(plan.devices.len(), 6);
        assert_eq!(plan.mounts[0].typ, "proc");
        assert_eq!(plan.hostname.as_deref(), Some("h"));
    }

    #[test]
    fn bad_fields_are_named() {
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"cwd":"/","args":[],"user":{"uid":0,"gid":0}}}"#,
        )
        .unwrap();
        let e = from_spec(&spec, Path::new("/b"), 40)
            .unwrap_err()
            .to_string();
        assert!(e.contains("process.args"), "{e}");
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"cwd":"/","args":["x"],"user":{"uid":0,"gid":0}},
                "linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]}}"#,
        )
        .unwrap();
        let e = from_spec(&spec, Path::new("/b"), 40)
            .unwrap_err()
            .to_string();
        assert!(e.contains("listed twice"), "{e}");
        let plan_root = from_spec(
            &serde_json::from_str(
                r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"cwd":"/","args":["x"],"user":{"uid":0,"gid":0}}}"#,
            )
            .unwrap(),
            Path::new("/b"),
            40,
        )
        .unwrap();
        assert_eq!(plan_root.rootfs, PathBuf::from("/b/rootfs"));
    }

    fn with_linux(linux: serde_json::Value) -> Spec {
        serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2", "root": {"path": "rootfs"},
            "process": {"cwd": "/", "args": ["true"], "user": {"uid": 0, "gid": 0}},
            "linux": linux}))
        .unwrap()
    }

    #[test]
    fn the_cgroup_request_is_in_the_plan() {
        use crate::cgroups::Placement;
        let s = with_linux(serde_json::json!({"cgroupsPath": "/docker/abc",
            "resources": {"pids": {"limit": 10}}}));
        let from_spec = |manager| Cgroups::FromSpec {
            manager,
            name: "abc".into(),
        };
        match cgroup_request(&s, &from_spec(Manager::Cgroupfs)).unwrap() {
            Some(CgroupRequest::Create {
                id,
                placement,
                resources,
            }) => {
                assert_eq!(id, "abc");
                assert_eq!(placement, Placement::Absolute("/docker/abc".into()));
                assert_eq!(resources.pids().as_ref().map(|p| p.limit()), Some(10));
                // Deny-all first, whatever the config says (runc's rules).
                let rules = resources.devices().clone().unwrap();
                assert!(!rules[0].allow(), "{rules:?}");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            cgroup_request(&s, &from_spec(Manager::Disabled))
                .unwrap()
                .is_none()
        );
        assert!(cgroup_request(&s, &Cgroups::None).unwrap().is_none());
        // The caller's request is taken as it is (the quick form's flags, exec's join).
        let paths = crate::cgroups::CgroupPaths {
            v1: Vec::new(),
            v2: None,
        };
        let given = Cgroups::Given(CgroupRequest::Join(paths));
        assert!(matches!(
            cgroup_request(&s, &given).unwrap(),
            Some(CgroupRequest::Join(_))
        ));
        // And the pass puts it in the Plan.
        let mut inputs = Inputs::lexical(&s, Path::new("/b"), 40);
        inputs.facts.cgroups = from_spec(Manager::Cgroupfs);
        let plan = crate::container::validate::plan(&s, &inputs).unwrap();
        assert!(matches!(plan.cgroup, Some(CgroupRequest::Create { .. })));
    }

    #[test]
    fn process_terminal_is_the_plans() {
        let mut s = with_linux(serde_json::json!({}));
        s.process_mut().as_mut().unwrap().set_terminal(Some(true));
        let plan = from_spec(&s, Path::new("/b"), 40).unwrap();
        assert!(plan.terminal);
    }
}
