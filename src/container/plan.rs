//! The Plan: the plain list of what the child will do, complete when `validate` returns it
//! (nobody patches it afterwards).

use super::error::Result;
use super::user::Identity;
use crate::capability::CapSets;
use nix::mount::MsFlags;
use oci_spec::runtime::LinuxNamespaceType;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountPlan {
    pub destination: PathBuf,
    pub typ: String,
    /// Host path for binds (absolute), or the filesystem's source name.
    pub source: String,
    pub flags: MsFlags,
    /// Filesystem-specific options (`mode=755,size=65536k`).
    pub data: String,
    /// Propagation to set after mounting (MS_PRIVATE, MS_SLAVE, … possibly with MS_REC).
    pub propagation: Option<MsFlags>,
    pub bind: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePlan {
    pub path: PathBuf,
    pub kind: libc::mode_t,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub typ: LinuxNamespaceType,
    /// Join this existing namespace (setns) instead of creating one.
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rlimit {
    pub name: String,
    pub resource: libc::c_int,
    pub soft: u64,
    pub hard: u64,
}

/// One line of /proc/PID/uid_map or gid_map: `container_id host_id size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

/// The `/proc/PID/{uid,gid}_map` text for a list of mappings.
pub fn id_map_text(maps: &[IdMap]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
        .collect()
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub rootfs: PathBuf,
    pub readonly_root: bool,
    pub namespaces: Vec<Namespace>,
    pub mounts: Vec<MountPlan>,
    pub devices: Vec<DevicePlan>,
    pub masked: Vec<PathBuf>,
    pub readonly: Vec<PathBuf>,
    pub rootfs_propagation: MsFlags,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub sysctl: Vec<(String, String)>,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: PathBuf,
    pub identity: Identity,
    pub umask: Option<u32>,
    pub caps: CapSets,
    pub no_new_privs: bool,
    pub rlimits: Vec<Rlimit>,
    pub oom_score_adj: Option<i32>,
    pub terminal: bool,
    /// How to launch, as the caller asked (not part of the Spec).
    pub settings: Settings,
    /// The kernel's highest capability number: the bounding set is dropped up to it.
    pub last_cap: u8,
    /// uid/gid mappings the parent writes for a new user namespace.
    pub uid_mappings: Vec<IdMap>,
    pub gid_mappings: Vec<IdMap>,
    /// The OCI hooks (run by the parent, the child, `start` and `delete` at their points).
    pub hooks: oci_spec::runtime::Hooks,
    /// `exec`: enter this existing container root (`/proc/PID/root`) instead of building one;
    /// every namespace is joined, nothing is mounted (`exec_init` runs instead of `init`).
    pub exec_root: Option<PathBuf>,
    /// The syscall filter, compiled by the parent (the child only installs it).
    pub seccomp: Option<Prepared>,
    /// linux.personality: the execution domain set before execve.
    pub personality: Option<u64>,
    /// linux.memoryPolicy: set_mempolicy(2) before execve.
    pub memory_policy: Option<super::task::MemPolicy>,
    /// The cgroup to make (or join) before the child exists; None: stay in ours.
    pub cgroup: Option<CgroupRequest>,
}

/// runc's and crun's `--cgroup-manager` (and `--systemd-cgroup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Manager {
    #[default]
    Cgroupfs,
    Systemd,
    /// No cgroup at all: the container stays in the caller's, unlimited.
    Disabled,
}

impl Manager {
    /// Pure: the manager the global flags ask for.
    pub fn from_flags(manager: Option<&str>, systemd_cgroup: bool) -> Result<Manager> {
        let m = match manager {
            None | Some("cgroupfs") => Manager::Cgroupfs,
            Some("systemd") => Manager::Systemd,
            Some("disabled") => Manager::Disabled,
            Some(other) => {
                bail!("--cgroup-manager \"{other}\": expected cgroupfs, systemd or disabled")
            }
        };
        if systemd_cgroup && m == Manager::Disabled {
            bail!("--systemd-cgroup and --cgroup-manager disabled contradict each other");
        }
        Ok(if systemd_cgroup { Manager::Systemd } else { m })
    }
}

/// What a launch does about cgroups (`cgroup_launch::prepare` carries it out).
#[derive(Debug, Clone)]
pub enum CgroupRequest {
    /// A new container: make its cgroup (`id` names it where the placement is the default:
    /// see `cgroup_launch::cgroup_name`) and apply its limits.
    Create {
        id: String,
        placement: crate::cgroups::Placement,
        resources: Box<oci_spec::runtime::LinuxResources>,
    },
    /// A process joining a running container (`exec`): into the container's cgroup.
    Join(crate::cgroups::CgroupPaths),
}

/// Launch choices that come from the command line, not the Spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// chroot instead of pivot_root (`--no-pivot`).
    pub no_pivot: bool,
    /// Keep a reaper as PID 1 (`--init`).
    pub reaper: bool,
    /// Overlay the rootfs with a tmpfs so writes vanish at exit (`--volatile`).
    pub volatile: bool,
    /// Give the container a session keyring of its own (runc's default; `--no-new-keyring`).
    pub new_keyring: bool,
    /// Pass fds 3..3+N on to the workload (`--preserve-fds`).
    pub preserve_fds: u32,
    /// SIGKILL the child if this runtime dies (the quick form, `run`, a foreground `exec`).
    pub die_with_parent: bool,
    /// `--trace-caps`: attach the capability tracer to the cgroup before the child exists.
    pub trace_caps: bool,
}

impl Plan {
    pub fn creates(&self, t: LinuxNamespaceType) -> bool {
        self.namespaces
            .iter()
            .any(|n| n.typ == t && n.path.is_none())
    }

    /// clone(2) flags for the namespaces to create.
    pub fn clone_flags(&self) -> u64 {
        self.namespaces
            .iter()
            .filter(|n| n.path.is_none())
            .map(|n| ns_flag(n.typ) as u64)
            .fold(0, |a, b| a | b)
    }
}

pub fn ns_flag(t: LinuxNamespaceType) -> libc::c_int {
    match t {
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Time => libc::CLONE_NEWTIME,
    }
}

/// A filter ready to install, and where its listener goes.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub filter: crate::seccomp::Filter,
    pub listener: Option<Listener>,
}

/// `linux.seccomp.listenerPath` and `listenerMetadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub path: PathBuf,
    pub metadata: String,
}

#[cfg(test)]
mod tests {
    use super::Manager;
    use crate::error_chain::one_line;

    /// The flags' refusals are the lines they were (one each, naming the value).
    #[test]
    fn contradictory_or_unknown_manager_flags_are_refused_by_name() {
        let e = Manager::from_flags(Some("cgroupv3"), false).unwrap_err();
        assert_eq!(
            one_line(&e),
            "--cgroup-manager \"cgroupv3\": expected cgroupfs, systemd or disabled"
        );
        let e = Manager::from_flags(Some("disabled"), true).unwrap_err();
        assert_eq!(
            one_line(&e),
            "--systemd-cgroup and --cgroup-manager disabled contradict each other"
        );
    }
}
