//! The one validation pass: Spec (plus the facts the caller gathered) → Plan. Pure, no
//! syscalls: every check that can run before clone3 lives here, so a config field minirun
//! cannot honour is a one-line error in the parent before any namespace exists, never a
//! half-set-up container; and the Plan leaves complete, nobody patches it afterwards.

use super::plan::{DevicePlan, IdMap, MountPlan, Namespace, Plan, Rlimit, Settings};
use super::user::Identity;
use crate::capability::{CapSet, CapSets, names};
use anyhow::{Context, Result, bail};
use nix::mount::MsFlags;
use oci_spec::runtime::{LinuxDeviceType, LinuxNamespaceType, Spec};
use std::path::{Path, PathBuf};

/// What the caller resolved before the pass (the effects: reading the bundle, canonicalising
/// the rootfs, reading the kernel's last capability) and the command line's choices.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Relative mount sources are taken from here: the bundle directory ("/" for the quick form).
    pub base: PathBuf,
    /// The root filesystem, resolved and checked by the caller.
    pub rootfs: PathBuf,
    pub last_cap: u8,
    pub settings: Settings,
    /// `exec`: join the running container whose init is this pid, instead of creating one.
    pub join: Option<i32>,
    /// The filter the caller compiled from `linux.seccomp` or the quick form's choice
    /// (`container::seccomp_step`): compiling reads and writes the cache, an effect.
    pub seccomp: Option<super::seccomp_step::Prepared>,
}

impl Inputs {
    /// Inputs for a spec whose root is taken as it is (relative to `base`): tests and callers
    /// without a filesystem to check.
    pub fn lexical(spec: &Spec, base: &Path, last_cap: u8) -> Inputs {
        let root = spec
            .root()
            .as_ref()
            .map(|r| r.path().clone())
            .unwrap_or_default();
        Inputs {
            base: base.to_path_buf(),
            rootfs: base.join(root),
            last_cap,
            settings: Settings::default(),
            join: None,
            seccomp: None,
        }
    }
}

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

/// The pass itself.
pub fn plan(spec: &Spec, inputs: &Inputs) -> Result<Plan> {
    let root = spec.root().as_ref().context("config has no \"root\"")?;
    let (base, last_cap) = (inputs.base.as_path(), inputs.last_cap);
    let process = spec
        .process()
        .as_ref()
        .context("config has no \"process\"")?;
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() {
        bail!("config has no \"process.args\": nothing to run");
    }
    if !process.cwd().is_absolute() {
        bail!(
            "process.cwd \"{}\" must be an absolute path",
            process.cwd().display()
        );
    }
    let user = process.user();
    let caps = match process.capabilities() {
        Some(c) => CapSets {
            bounding: cap_set(c.bounding(), last_cap)?,
            effective: cap_set(c.effective(), last_cap)?,
            permitted: cap_set(c.permitted(), last_cap)?,
            inheritable: cap_set(c.inheritable(), last_cap)?,
            ambient: cap_set(c.ambient(), last_cap)?,
        },
        None => CapSets::default(),
    };
    let mut rlimits = Vec::new();
    for r in process.rlimits().iter().flatten() {
        let name = serde_json::to_value(r.typ())?
            .as_str()
            .unwrap_or_default()
            .to_string();
        let resource = rlimit_resource(&name)
            .with_context(|| format!("process.rlimits: unknown type \"{name}\""))?;
        rlimits.push(Rlimit {
            name,
            resource,
            soft: r.soft(),
            hard: r.hard(),
        });
    }

    let linux = spec.linux().clone().unwrap_or_default();
    let mut namespaces: Vec<Namespace> = Vec::new();
    for n in linux.namespaces().iter().flatten() {
        if namespaces.iter().any(|m| m.typ == n.typ()) {
            bail!("linux.namespaces: {:?} is listed twice", n.typ());
        }
        namespaces.push(Namespace {
            typ: n.typ(),
            path: n.path().clone(),
        });
    }
    let creates_user = namespaces
        .iter()
        .any(|n| n.typ == LinuxNamespaceType::User && n.path.is_none());
    let id_maps = |m: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| -> Vec<IdMap> {
        m.iter()
            .flatten()
            .map(|m| IdMap {
                container_id: m.container_id(),
                host_id: m.host_id(),
                size: m.size(),
            })
            .collect()
    };
    let uid_mappings = id_maps(linux.uid_mappings());
    let gid_mappings = id_maps(linux.gid_mappings());
    if creates_user && (uid_mappings.is_empty() || gid_mappings.is_empty()) {
        bail!("linux.namespaces: a user namespace needs linux.uidMappings and linux.gidMappings");
    }
    if uid_mappings
        .iter()
        .chain(&gid_mappings)
        .any(|m| m.size == 0)
    {
        bail!("linux.uidMappings/gidMappings: a mapping has size 0");
    }

    let mut mounts = Vec::new();
    for m in spec.mounts().iter().flatten() {
        let dest = m.destination();
        if !dest.is_absolute() {
            bail!(
                "mounts: destination \"{}\" must be absolute",
                dest.display()
            );
        }
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
            destination: dest.clone(),
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

    // `exec` enters a container that exists: it must join every namespace, and creates no
    // devices.
    if let Some(pid) = inputs.join
        && let Some(n) = namespaces.iter().find(|n| n.path.is_none())
    {
        bail!(
            "exec into the container of pid {pid}: the {:?} namespace would be new",
            n.typ
        );
    }
    let mut devices = match inputs.join {
        Some(_) => Vec::new(),
        None => default_devices(),
    };
    for d in linux.devices().iter().flatten() {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
            LinuxDeviceType::B => libc::S_IFBLK,
            LinuxDeviceType::P => libc::S_IFIFO,
            LinuxDeviceType::A => bail!(
                "linux.devices: \"{}\" has type \"a\", which is only valid in cgroup rules",
                d.path().display()
            ),
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

    let rootfs_propagation = match linux.rootfs_propagation() {
        Some(p) if !p.is_empty() => propagation_flags(p)?,
        _ => default_root_propagation(&mounts),
    };
    let mut sysctl: Vec<(String, String)> = linux
        .sysctl()
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    sysctl.sort();
    for (k, _) in &sysctl {
        if k.contains("..") || k.starts_with('/') {
            bail!("linux.sysctl: invalid key {k:?}");
        }
        check_sysctl(k, &namespaces)?;
    }
    check_ids(user)?;
    if !namespaces
        .iter()
        .any(|n| n.typ == LinuxNamespaceType::Mount)
    {
        check_nothing_to_mount(spec, &mounts)?;
    }

    Ok(Plan {
        rootfs: match inputs.join {
            Some(pid) => PathBuf::from(format!("/proc/{pid}/root")),
            None => inputs.rootfs.clone(),
        },
        readonly_root: root.readonly().unwrap_or(false),
        namespaces,
        mounts,
        devices,
        masked: linux
            .masked_paths()
            .iter()
            .flatten()
            .map(PathBuf::from)
            .collect(),
        readonly: linux
            .readonly_paths()
            .iter()
            .flatten()
            .map(PathBuf::from)
            .collect(),
        rootfs_propagation,
        hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
        domainname: spec.domainname().clone().filter(|h| !h.is_empty()),
        sysctl,
        args,
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
        uid_mappings,
        gid_mappings,
        hooks: spec.hooks().clone().unwrap_or_default(),
        exec_root: inputs
            .join
            .map(|pid| PathBuf::from(format!("/proc/{pid}/root"))),
        seccomp: inputs.seccomp.clone(),
        personality: super::task::personality(linux.personality().as_ref())?,
        memory_policy: super::task::memory_policy(linux.memory_policy().as_ref())?,
    })
}

/// The highest id the kernel takes as one: (uid_t)-1 means "leave unchanged" to setresuid and
/// setgroups, so 4294967295 would keep the workload root (runc refuses the same range).
const MAX_ID: u32 = 2_147_483_647;

/// Refuses a uid or gid the kernel would not take as an id (see MAX_ID).
pub fn check_id(what: &str, id: u32) -> Result<()> {
    if id > MAX_ID {
        bail!("{what} {id}: out of range (ids go from 0 to {MAX_ID})");
    }
    Ok(())
}

fn check_ids(user: &oci_spec::runtime::User) -> Result<()> {
    check_id("process.user.uid", user.uid())?;
    check_id("process.user.gid", user.gid())?;
    for g in user.additional_gids().iter().flatten() {
        check_id("process.user.additionalGids:", *g)?;
    }
    Ok(())
}

/// The namespace that scopes a sysctl (runc's validator's list), or None: not namespaced.
pub fn sysctl_namespace(key: &str) -> Option<LinuxNamespaceType> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(LinuxNamespaceType::Ipc)
    } else if key.starts_with("net.") {
        Some(LinuxNamespaceType::Network)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(LinuxNamespaceType::Uts)
    } else {
        None
    }
}

/// The sysctls a container may set: those its own namespaces scope. Any other is written to
/// the host's kernel (kernel.core_pattern would give host root).
fn check_sysctl(key: &str, namespaces: &[Namespace]) -> Result<()> {
    let Some(typ) = sysctl_namespace(key) else {
        bail!("linux.sysctl: \"{key}\" is not namespaced: setting it would change the host");
    };
    if !namespaces.iter().any(|n| n.typ == typ) {
        bail!(
            "linux.sysctl: \"{key}\" needs a {typ:?} namespace (linux.namespaces has none): \
             setting it would change the host"
        );
    }
    Ok(())
}

/// Without a mount namespace every mount would land in the host's mount table: refused, the
/// first one named, rather than skipped (a container silently missing its /proc, its masked
/// paths or its read-only root would be weaker than its config says).
fn check_nothing_to_mount(spec: &Spec, mounts: &[MountPlan]) -> Result<()> {
    const WHY: &str = "needs a mount namespace (linux.namespaces has none)";
    if let Some(m) = mounts.first() {
        bail!("mounts: \"{}\" {WHY}", m.destination.display());
    }
    let linux = spec.linux().clone().unwrap_or_default();
    if let Some(p) = linux.masked_paths().iter().flatten().next() {
        bail!("linux.maskedPaths: \"{p}\" {WHY}");
    }
    if let Some(p) = linux.readonly_paths().iter().flatten().next() {
        bail!("linux.readonlyPaths: \"{p}\" {WHY}");
    }
    if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        bail!("root.readonly {WHY}");
    }
    if linux
        .rootfs_propagation()
        .as_ref()
        .is_some_and(|p| !p.is_empty())
    {
        bail!("linux.rootfsPropagation {WHY}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{QuickForm, build};

    fn from_spec(spec: &Spec, base: &Path, last: u8) -> Result<Plan> {
        plan(spec, &Inputs::lexical(spec, base, last))
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
}
