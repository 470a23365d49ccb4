//! The named checks, as runc's `configs/validate/validator.go` lists them: each a small pure
//! function over the Spec and the `Facts` it needs, refusing with one line that names the
//! field; `run` adds the check's name, so a refusal says which rule made it. Adding a check
//! is a visible decision: the list's names are pinned by a test.

use super::{Cgroups, Facts};
use crate::container::plan::Manager;
use oci_spec::runtime::{LinuxDeviceType, LinuxNamespaceType, Spec};
use std::fmt;

/// A check: Ok, or the one line saying what it refuses (without the check's name).
pub type Check = fn(&Spec, &Facts) -> Result<(), String>;

/// Every check, in the order they run (the first refusal is the error).
pub const CHECKS: &[(&str, Check)] = &[
    ("platform", platform),
    ("args", args),
    ("cwd", cwd),
    ("user_ids", user_ids),
    ("namespaces", namespaces),
    ("exec_joins_all", exec_joins_all),
    // User namespace: the mappings a new one needs. Rootless checks (mappings the caller may
    // write, its own ids mapped) belong here, with the facts they read in `Facts`.
    ("id_mappings", id_mappings),
    ("rootless", rootless),
    ("mount_destinations", mount_destinations),
    ("mounts_need_mount_namespace", mounts_need_mount_namespace),
    ("devices", devices),
    ("sysctl", sysctl),
    ("sysctl_host_namespace", sysctl_host_namespace),
    ("cgroups_path", cgroups_path),
    ("device_rules", device_rules),
];

/// A check's refusal: its name and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub check: &'static str,
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (check \"{}\")", self.message, self.check)
    }
}

impl std::error::Error for Refusal {}

/// Runs every check in order; the first refusal stops the pass.
pub fn run(spec: &Spec, facts: &Facts) -> Result<(), Refusal> {
    for (name, check) in CHECKS {
        check(spec, facts).map_err(|message| Refusal {
            check: name,
            message,
        })?;
    }
    Ok(())
}

fn linux(spec: &Spec) -> oci_spec::runtime::Linux {
    spec.linux().clone().unwrap_or_default()
}

/// An ordinary caller: a user namespace of the container's own, and no limit that would need
/// a cgroup unless the host delegates one (then the request was built and checked against
/// its controllers: `rootless_cgroup`; docs/rootless.md).
fn rootless(spec: &Spec, facts: &Facts) -> Result<(), String> {
    let has_cgroup = !matches!(facts.cgroups, Cgroups::None);
    match facts.rootless {
        true => crate::container::rootless::oci_refusal(spec, has_cgroup).map_or(Ok(()), Err),
        false => Ok(()),
    }
}

/// Whether an optional field says anything: present and not empty once serialized (an empty
/// object asks for nothing).
fn present<T: serde::Serialize>(field: &Option<T>) -> bool {
    field
        .as_ref()
        .and_then(|v| serde_json::to_value(v).ok())
        .is_some_and(|v| match v {
            serde_json::Value::Null => false,
            serde_json::Value::Object(m) => !m.is_empty(),
            serde_json::Value::Array(a) => !a.is_empty(),
            _ => true,
        })
}

/// Fields of a platform or a feature minirun does not run: a container without them would not
/// be the one asked for.
fn platform(spec: &Spec, _: &Facts) -> Result<(), String> {
    let refused = [
        (
            present(linux(spec).time_offsets()),
            "linux.timeOffsets",
            "time namespace offsets are not supported",
        ),
        (
            present(spec.vm()),
            "vm",
            "minirun runs containers, not virtual machines",
        ),
        (
            present(spec.windows()),
            "windows",
            "this is not a Windows runtime",
        ),
        (
            present(spec.solaris()),
            "solaris",
            "this is not a Solaris runtime",
        ),
        (present(spec.zos()), "zos", "this is not a z/OS runtime"),
    ];
    match refused.into_iter().find(|(asked, _, _)| *asked) {
        Some((_, field, why)) => Err(format!("{field} cannot be honoured: {why}")),
        None => Ok(()),
    }
}

fn args(spec: &Spec, _: &Facts) -> Result<(), String> {
    match spec.process() {
        Some(p) if p.args().as_ref().is_none_or(|a| a.is_empty()) => {
            Err("config has no \"process.args\": nothing to run".into())
        }
        _ => Ok(()),
    }
}

fn cwd(spec: &Spec, _: &Facts) -> Result<(), String> {
    match spec.process() {
        Some(p) if !p.cwd().is_absolute() => Err(format!(
            "process.cwd \"{}\" must be an absolute path",
            p.cwd().display()
        )),
        _ => Ok(()),
    }
}

/// The highest id the kernel takes as one: (uid_t)-1 means "leave unchanged" to setresuid and
/// setgroups, so 4294967295 would keep the workload root (runc refuses the same range).
const MAX_ID: u32 = 2_147_483_647;

/// Refuses a uid or gid the kernel would not take as an id (see MAX_ID). The quick form calls
/// it on what `--user` resolves to.
pub fn check_id(what: &str, id: u32) -> crate::container::error::Result<()> {
    id_in_range(what, id).map_err(crate::container::error::Error::Refused)
}

fn id_in_range(what: &str, id: u32) -> Result<(), String> {
    if id > MAX_ID {
        return Err(format!(
            "{what} {id}: out of range (ids go from 0 to {MAX_ID})"
        ));
    }
    Ok(())
}

fn user_ids(spec: &Spec, _: &Facts) -> Result<(), String> {
    let Some(p) = spec.process() else {
        return Ok(());
    };
    let user = p.user();
    id_in_range("process.user.uid", user.uid())?;
    id_in_range("process.user.gid", user.gid())?;
    for g in user.additional_gids().iter().flatten() {
        id_in_range("process.user.additionalGids:", *g)?;
    }
    Ok(())
}

fn namespaces(spec: &Spec, _: &Facts) -> Result<(), String> {
    let mut seen = Vec::new();
    for n in linux(spec).namespaces().iter().flatten() {
        if seen.contains(&n.typ()) {
            return Err(format!("linux.namespaces: {:?} is listed twice", n.typ()));
        }
        seen.push(n.typ());
    }
    Ok(())
}

/// `exec` enters a container that exists: it must join every namespace it lists.
fn exec_joins_all(spec: &Spec, facts: &Facts) -> Result<(), String> {
    let Some(pid) = facts.join else {
        return Ok(());
    };
    match linux(spec)
        .namespaces()
        .iter()
        .flatten()
        .find(|n| n.path().is_none())
    {
        Some(n) => Err(format!(
            "exec into the container of pid {pid}: the {:?} namespace would be new",
            n.typ()
        )),
        None => Ok(()),
    }
}

fn id_mappings(spec: &Spec, _: &Facts) -> Result<(), String> {
    let linux = linux(spec);
    let creates_user = linux
        .namespaces()
        .iter()
        .flatten()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    let (uids, gids) = (
        linux.uid_mappings().clone().unwrap_or_default(),
        linux.gid_mappings().clone().unwrap_or_default(),
    );
    if creates_user && (uids.is_empty() || gids.is_empty()) {
        return Err(
            "linux.namespaces: a user namespace needs linux.uidMappings and linux.gidMappings"
                .into(),
        );
    }
    if uids.iter().chain(&gids).any(|m| m.size() == 0) {
        return Err("linux.uidMappings/gidMappings: a mapping has size 0".into());
    }
    Ok(())
}

fn mount_destinations(spec: &Spec, _: &Facts) -> Result<(), String> {
    match spec
        .mounts()
        .iter()
        .flatten()
        .find(|m| !m.destination().is_absolute())
    {
        Some(m) => Err(format!(
            "mounts: destination \"{}\" must be absolute",
            m.destination().display()
        )),
        None => Ok(()),
    }
}

/// Without a mount namespace every mount would land in the host's mount table: refused, the
/// first one named, rather than skipped (a container silently missing its /proc, its masked
/// paths or its read-only root would be weaker than its config says).
fn mounts_need_mount_namespace(spec: &Spec, _: &Facts) -> Result<(), String> {
    const WHY: &str = "needs a mount namespace (linux.namespaces has none)";
    let linux = linux(spec);
    if linux
        .namespaces()
        .iter()
        .flatten()
        .any(|n| n.typ() == LinuxNamespaceType::Mount)
    {
        return Ok(());
    }
    if let Some(m) = spec.mounts().iter().flatten().next() {
        return Err(format!("mounts: \"{}\" {WHY}", m.destination().display()));
    }
    if let Some(p) = linux.masked_paths().iter().flatten().next() {
        return Err(format!("linux.maskedPaths: \"{p}\" {WHY}"));
    }
    if let Some(p) = linux.readonly_paths().iter().flatten().next() {
        return Err(format!("linux.readonlyPaths: \"{p}\" {WHY}"));
    }
    if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        return Err(format!("root.readonly {WHY}"));
    }
    if linux
        .rootfs_propagation()
        .as_ref()
        .is_some_and(|p| !p.is_empty())
    {
        return Err(format!("linux.rootfsPropagation {WHY}"));
    }
    Ok(())
}

fn devices(spec: &Spec, _: &Facts) -> Result<(), String> {
    match linux(spec)
        .devices()
        .iter()
        .flatten()
        .find(|d| d.typ() == LinuxDeviceType::A)
    {
        Some(d) => Err(format!(
            "linux.devices: \"{}\" has type \"a\", which is only valid in cgroup rules",
            d.path().display()
        )),
        None => Ok(()),
    }
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

/// The keys of linux.sysctl, sorted (the order they are written and refused in).
fn sysctl_keys(spec: &Spec) -> Vec<String> {
    let mut keys: Vec<String> = linux(spec)
        .sysctl()
        .iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    keys.sort();
    keys
}

/// The sysctls a container may set: those its own namespaces scope. Any other is written to
/// the host's kernel (kernel.core_pattern would give host root).
fn sysctl(spec: &Spec, _: &Facts) -> Result<(), String> {
    let linux = linux(spec);
    for key in sysctl_keys(spec) {
        if key.contains("..") || key.starts_with('/') {
            return Err(format!("linux.sysctl: invalid key {key:?}"));
        }
        let Some(typ) = sysctl_namespace(&key) else {
            return Err(format!(
                "linux.sysctl: \"{key}\" is not namespaced: setting it would change the host"
            ));
        };
        if !linux.namespaces().iter().flatten().any(|n| n.typ() == typ) {
            return Err(format!(
                "linux.sysctl: \"{key}\" needs a {typ:?} namespace (linux.namespaces has none): \
                 setting it would change the host"
            ));
        }
    }
    Ok(())
}

/// A sysctl whose namespace is joined by a path that is the runtime's own (the host's) would
/// be set on the host: `sysctl` sees only that the namespace is listed (runc refuses it too).
fn sysctl_host_namespace(spec: &Spec, facts: &Facts) -> Result<(), String> {
    let linux = linux(spec);
    for key in sysctl_keys(spec) {
        let Some(typ) = sysctl_namespace(&key) else {
            continue;
        };
        if !facts.host_namespaces.contains(&typ) {
            continue;
        }
        let joined = linux.namespaces().iter().flatten().find(|n| n.typ() == typ);
        if let Some(path) = joined.and_then(|n| n.path().as_ref()) {
            return Err(format!(
                "linux.sysctl: \"{key}\" would be set in the host's {typ:?} namespace ({} is the runtime's own)",
                path.display()
            ));
        }
    }
    Ok(())
}

/// The manager that places the spec's own cgroup; None: no cgroup from the spec.
fn spec_manager(facts: &Facts) -> Option<Manager> {
    match facts.cgroups {
        Cgroups::FromSpec { manager, .. } if manager != Manager::Disabled => Some(manager),
        _ => None,
    }
}

/// linux.cgroupsPath must be what the manager reads (systemd: slice:prefix:name).
fn cgroups_path(spec: &Spec, facts: &Facts) -> Result<(), String> {
    match spec_manager(facts) {
        Some(m) => super::translate::placement(spec, m)
            .map(drop)
            .map_err(|e| crate::error_chain::one_line(&e)),
        None => Ok(()),
    }
}

/// linux.resources.devices and linux.devices must make device cgroup rules.
fn device_rules(spec: &Spec, facts: &Facts) -> Result<(), String> {
    match spec_manager(facts) {
        Some(_) => super::translate::device_rules(spec)
            .map(drop)
            .map_err(|e| crate::error_chain::one_line(&e)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// A valid config with `change` applied to its JSON.
    fn spec(change: impl FnOnce(&mut Value)) -> Spec {
        let mut v = json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "process": {"cwd": "/", "args": ["true"], "user": {"uid": 0, "gid": 0}},
            "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network"},
                                     {"type": "ipc"}, {"type": "uts"}]}
        });
        change(&mut v);
        serde_json::from_value(v).unwrap()
    }

    /// What `check` says of the spec, or "" for Ok.
    fn says(check: Check, spec: &Spec, facts: &Facts) -> String {
        check(spec, facts).err().unwrap_or_default()
    }

    fn no_facts() -> Facts {
        Facts::default()
    }

    #[test]
    fn the_list_of_checks() {
        let names: Vec<&str> = CHECKS.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "platform",
                "args",
                "cwd",
                "user_ids",
                "namespaces",
                "exec_joins_all",
                "id_mappings",
                "rootless",
                "mount_destinations",
                "mounts_need_mount_namespace",
                "devices",
                "sysctl",
                "sysctl_host_namespace",
                "cgroups_path",
                "device_rules",
            ],
            "a new check is a decision: add its name here, with a test of its own"
        );
        let valid = spec(|_| {});
        for (name, check) in CHECKS {
            assert_eq!(says(*check, &valid, &no_facts()), "", "{name}");
        }
    }

    #[test]
    fn a_refusal_names_its_check() {
        let s = spec(|v| v["process"]["cwd"] = json!("tmp"));
        let r = run(&s, &no_facts()).unwrap_err();
        assert_eq!(r.check, "cwd");
        assert_eq!(
            r.to_string(),
            "process.cwd \"tmp\" must be an absolute path (check \"cwd\")"
        );
    }

    #[test]
    fn platform_refuses_other_platforms_and_time_offsets() {
        let s = spec(|v| v["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 1}}));
        assert!(
            says(platform, &s, &no_facts()).starts_with("linux.timeOffsets cannot be honoured")
        );
        let s = spec(|v| v["linux"]["timeOffsets"] = json!({}));
        assert_eq!(says(platform, &s, &no_facts()), "");
        let s = spec(|v| v["windows"] = json!({"layerFolders": ["C:\\x"]}));
        assert_eq!(
            says(platform, &s, &no_facts()),
            "windows cannot be honoured: this is not a Windows runtime"
        );
        let s = spec(|v| v["solaris"] = json!({"milestone": "x"}));
        assert!(says(platform, &s, &no_facts()).starts_with("solaris "));
    }

    #[test]
    fn args_must_name_a_program() {
        let s = spec(|v| v["process"]["args"] = json!([]));
        assert!(says(args, &s, &no_facts()).contains("process.args"));
        let s = spec(|v| {
            v["process"]
                .as_object_mut()
                .unwrap()
                .remove("args")
                .map(drop)
                .unwrap()
        });
        assert!(says(args, &s, &no_facts()).contains("nothing to run"));
    }

    #[test]
    fn rootless_needs_a_user_namespace_and_no_limits_only_for_an_ordinary_caller() {
        let root = no_facts();
        let ordinary = Facts {
            rootless: true,
            ..no_facts()
        };
        let plain = spec(|_| {});
        assert_eq!(says(rootless, &plain, &root), "");
        assert!(says(rootless, &plain, &ordinary).contains("no user namespace"));
        let userns = spec(|v| {
            v["linux"]["namespaces"] = json!([{"type": "user"}]);
            v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
            v["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
        });
        assert_eq!(says(rootless, &userns, &ordinary), "");
        let mut limited = userns.clone();
        let mut v = serde_json::to_value(&limited).unwrap();
        v["linux"]["resources"] = json!({"pids": {"limit": 10}});
        limited = serde_json::from_value(v).unwrap();
        assert!(
            says(rootless, &limited, &ordinary).starts_with("linux.resources.pids needs a cgroup")
        );
    }

    #[test]
    fn cwd_must_be_absolute() {
        let s = spec(|v| v["process"]["cwd"] = json!("a/b"));
        assert!(says(cwd, &s, &no_facts()).contains("\"a/b\" must be an absolute path"));
    }

    #[test]
    fn ids_past_the_kernels_range_are_refused() {
        let s = spec(|v| v["process"]["user"]["uid"] = json!(4_294_967_295u32));
        assert!(
            says(user_ids, &s, &no_facts()).contains("process.user.uid 4294967295: out of range")
        );
        let s = spec(|v| v["process"]["user"]["additionalGids"] = json!([5, 2_147_483_648u32]));
        assert!(says(user_ids, &s, &no_facts()).contains("additionalGids"));
        let s = spec(|v| v["process"]["user"]["gid"] = json!(MAX_ID));
        assert_eq!(says(user_ids, &s, &no_facts()), "");
        assert!(check_id("--user", MAX_ID + 1).is_err());
    }

    #[test]
    fn a_namespace_type_is_listed_once() {
        let s = spec(|v| v["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "pid"}]));
        assert!(says(namespaces, &s, &no_facts()).contains("Pid is listed twice"));
    }

    #[test]
    fn exec_creates_no_namespace() {
        let s = spec(|v| {
            v["linux"]["namespaces"] = json!([{"type": "pid", "path": "/proc/7/ns/pid"},
                                              {"type": "network"}])
        });
        let exec = Facts {
            join: Some(7),
            ..Facts::default()
        };
        assert_eq!(
            says(exec_joins_all, &s, &exec),
            "exec into the container of pid 7: the Network namespace would be new"
        );
        // A new container creates what it lists.
        assert_eq!(says(exec_joins_all, &s, &no_facts()), "");
    }

    #[test]
    fn a_new_user_namespace_needs_mappings() {
        let s = spec(|v| v["linux"]["namespaces"] = json!([{"type": "user"}]));
        assert!(says(id_mappings, &s, &no_facts()).contains("needs linux.uidMappings"));
        let map = json!([{"containerID": 0, "hostID": 100000, "size": 0}]);
        let s = spec(|v| {
            v["linux"]["namespaces"] = json!([{"type": "user"}]);
            v["linux"]["uidMappings"] = map.clone();
            v["linux"]["gidMappings"] = map;
        });
        assert!(says(id_mappings, &s, &no_facts()).contains("size 0"));
        // Joined by path: the mappings are that namespace's.
        let s = spec(|v| v["linux"]["namespaces"] = json!([{"type": "user", "path": "/x"}]));
        assert_eq!(says(id_mappings, &s, &no_facts()), "");
    }

    #[test]
    fn mount_destinations_are_absolute() {
        let s = spec(|v| v["mounts"][0]["destination"] = json!("proc"));
        assert_eq!(
            says(mount_destinations, &s, &no_facts()),
            "mounts: destination \"proc\" must be absolute"
        );
    }

    #[test]
    fn nothing_is_mounted_without_a_mount_namespace() {
        let no_mntns = |v: &mut Value| {
            v["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "mount")
        };
        let s = spec(no_mntns);
        assert!(
            says(mounts_need_mount_namespace, &s, &no_facts()).starts_with("mounts: \"/proc\"")
        );
        let s = spec(|v| {
            no_mntns(v);
            v["mounts"] = json!([]);
            v["linux"]["maskedPaths"] = json!(["/proc/kcore"]);
        });
        assert!(
            says(mounts_need_mount_namespace, &s, &no_facts()).starts_with("linux.maskedPaths")
        );
        let s = spec(|v| {
            no_mntns(v);
            v["mounts"] = json!([]);
            v["root"]["readonly"] = json!(true);
        });
        assert!(says(mounts_need_mount_namespace, &s, &no_facts()).starts_with("root.readonly"));
        let s = spec(|v| {
            no_mntns(v);
            v["mounts"] = json!([]);
        });
        assert_eq!(says(mounts_need_mount_namespace, &s, &no_facts()), "");
    }

    #[test]
    fn devices_of_type_a_are_refused() {
        let s = spec(|v| {
            v["linux"]["devices"] =
                json!([{"path": "/dev/all", "type": "a", "major": 0, "minor": 0}])
        });
        assert!(says(devices, &s, &no_facts()).contains("\"/dev/all\" has type \"a\""));
    }

    #[test]
    fn sysctls_must_be_the_containers() {
        let with = |sysctl: Value| spec(|v| v["linux"]["sysctl"] = sysctl);
        assert_eq!(
            says(
                sysctl,
                &with(json!({"net.ipv4.ip_forward": "1"})),
                &no_facts()
            ),
            ""
        );
        let e = says(
            sysctl,
            &with(json!({"kernel.core_pattern": "|x"})),
            &no_facts(),
        );
        assert!(
            e.contains("\"kernel.core_pattern\" is not namespaced"),
            "{e}"
        );
        let e = says(sysctl, &with(json!({"net/../../kernel": "1"})), &no_facts());
        assert!(e.contains("invalid key"), "{e}");
        let s = spec(|v| {
            v["linux"]["sysctl"] = json!({"kernel.msgmax": "1"});
            v["linux"]["namespaces"] = json!([{"type": "mount"}]);
        });
        assert!(says(sysctl, &s, &no_facts()).contains("needs a Ipc namespace"));
    }

    #[test]
    fn sysctls_of_the_hosts_own_namespace_are_refused() {
        let s = spec(|v| {
            v["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
            v["linux"]["namespaces"] = json!([{"type": "network", "path": "/proc/1/ns/net"}]);
        });
        // The caller found the path to be the runtime's own network namespace.
        let host = Facts {
            host_namespaces: vec![LinuxNamespaceType::Network],
            ..Facts::default()
        };
        let e = says(sysctl_host_namespace, &s, &host);
        assert!(
            e.contains("host's Network namespace (/proc/1/ns/net"),
            "{e}"
        );
        assert_eq!(says(sysctl_host_namespace, &s, &no_facts()), "");
        // A sysctl of another namespace is not touched by it.
        let s = spec(|v| {
            v["linux"]["sysctl"] = json!({"kernel.msgmax": "1"});
            v["linux"]["namespaces"] = json!([{"type": "ipc"}, {"type": "network", "path": "/n"}]);
        });
        assert_eq!(says(sysctl_host_namespace, &s, &host), "");
    }

    fn from_spec(manager: Manager) -> Facts {
        Facts {
            cgroups: Cgroups::FromSpec {
                manager,
                name: "c".into(),
            },
            ..Facts::default()
        }
    }

    #[test]
    fn cgroups_path_fits_the_manager() {
        let s = spec(|v| v["linux"]["cgroupsPath"] = json!("/docker/abc"));
        assert_eq!(says(cgroups_path, &s, &from_spec(Manager::Cgroupfs)), "");
        let e = says(cgroups_path, &s, &from_spec(Manager::Systemd));
        assert!(e.contains("slice:prefix:name"), "{e}");
        // No cgroup made from the spec: nothing to place.
        assert_eq!(says(cgroups_path, &s, &from_spec(Manager::Disabled)), "");
        assert_eq!(says(cgroups_path, &s, &no_facts()), "");
    }

    #[test]
    fn device_rules_must_parse() {
        let s = spec(|v| {
            v["linux"]["resources"] = json!({"devices": [
                {"allow": true, "type": "c", "major": 5, "access": "rx"}]})
        });
        let e = says(device_rules, &s, &from_spec(Manager::Cgroupfs));
        assert!(e.starts_with("linux.resources.devices"), "{e}");
        assert_eq!(says(device_rules, &s, &from_spec(Manager::Disabled)), "");
        let s = spec(|v| {
            v["linux"]["devices"] =
                json!([{"path": "/dev/x", "type": "c", "major": -1, "minor": 0}])
        });
        let e = says(device_rules, &s, &from_spec(Manager::Cgroupfs));
        assert!(e.contains("out of range"), "{e}");
    }
}
