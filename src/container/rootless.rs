//! Containers in a user namespace: the caller's mappings (a single one, or podman's full one
//! from /etc/subuid and /etc/subgid through newuidmap/newgidmap), how the parent writes them,
//! and what a Spec must give up when the runtime is not root on the host (runc's specconv
//! ToRootless and crun's rootless handling, redone here).
//!
//! Policy (the pure functions) first, then the few effects: reading the host's files and
//! writing /proc/PID/{uid,gid}_map.

use super::plan::{IdMap, id_map_text};
use crate::error_chain::{self, Step};
use crate::step;
use oci_spec::runtime::{
    LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, Mount,
    MountBuilder, Spec,
};
use std::path::{Path, PathBuf};

/// What failed putting a container in a user namespace or checking an ordinary user's state
/// root: one line naming the step or the path; the OS's answer is the source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Os(#[from] Step),
    #[error(transparent)]
    Nix(#[from] Step<nix::Error>),
    /// newuidmap or newgidmap refused: its command line, status and stderr.
    #[error("{0}")]
    Helper(String),
    #[error("{what}")]
    Build {
        what: &'static str,
        #[source]
        source: oci_spec::OciSpecError,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn built(what: &'static str) -> impl FnOnce(oci_spec::OciSpecError) -> Error {
    move |source| Error::Build { what, source }
}

/// Who runs minirun, as the host sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    /// The login name of `uid` in the host's /etc/passwd, when it has one (subuid lines may
    /// name the user or give the uid).
    pub name: Option<String>,
}

/// A range of subordinate ids: `start` and the `count` after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubIds {
    pub start: u32,
    pub count: u32,
}

/// The first usable range /etc/subuid or /etc/subgid (`text`) grants `name` or `id`, as
/// shadow's newuidmap reads the file: `NAME:START:COUNT` or `ID:START:COUNT`.
pub fn sub_ids(text: &str, name: Option<&str>, id: u32) -> Option<SubIds> {
    text.lines().find_map(|line| {
        let mut f = line.trim().split(':');
        let (who, start, count) = (f.next()?, f.next()?, f.next()?);
        let mine = Some(who) == name || who.parse::<u32>() == Ok(id);
        let r = SubIds {
            start: start.parse().ok()?,
            count: count.parse().ok()?,
        };
        (mine && r.count > 0 && r.start.checked_add(r.count).is_some()).then_some(r)
    })
}

/// The user namespace's mappings and how they must be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mappings {
    pub uid: Vec<IdMap>,
    pub gid: Vec<IdMap>,
}

impl Mappings {
    /// The caller as root and nothing else (`unshare -r`): all an unprivileged process may
    /// write itself.
    pub fn single(caller: &Caller) -> Mappings {
        let one = |id| {
            vec![IdMap {
                container_id: 0,
                host_id: id,
                size: 1,
            }]
        };
        Mappings {
            uid: one(caller.uid),
            gid: one(caller.gid),
        }
    }

    /// Whether container gid `gid` has a host gid (devpts's `gid=5`, `--group-add`).
    pub fn maps_gid(&self, gid: u32) -> bool {
        maps_id(&self.gid, gid)
    }
}

fn maps_id(maps: &[IdMap], id: u32) -> bool {
    host_id(maps, id).is_some()
}

/// The host id container id `id` maps to.
fn host_id(maps: &[IdMap], id: u32) -> Option<u32> {
    maps.iter()
        .find(|m| id >= m.container_id && id - m.container_id < m.size)
        .map(|m| m.host_id + (id - m.container_id))
}

/// Who owns `exec.fifo` in a container with a user namespace: its root's host ids, as runc
/// chowns it (an ordinary caller can chown only to itself, which its container's root is);
/// a workload of another uid opens it through the mode's write bit for others. Where root
/// is unmapped, the workload's own (`workload`: uid, gid). Pure.
pub fn fifo_owner(
    uid: &[IdMap],
    gid: &[IdMap],
    workload: (u32, u32),
) -> (Option<u32>, Option<u32>) {
    (
        host_id(uid, 0).or_else(|| host_id(uid, workload.0)),
        host_id(gid, 0).or_else(|| host_id(gid, workload.1)),
    )
}

/// podman's rootless default: the caller is root, its subordinate ranges follow from 1. The
/// single mapping when the caller has no range in either file, or no newuidmap/newgidmap to
/// write one (`helpers`).
pub fn mappings(
    caller: &Caller,
    subuid: Option<&str>,
    subgid: Option<&str>,
    helpers: bool,
) -> Mappings {
    let name = caller.name.as_deref();
    let uids = subuid.and_then(|t| sub_ids(t, name, caller.uid));
    let gids = subgid.and_then(|t| sub_ids(t, name, caller.gid).or(sub_ids(t, name, caller.uid)));
    match (uids, gids, helpers) {
        (Some(u), Some(g), true) => {
            let full = |own, r: SubIds| {
                vec![
                    IdMap {
                        container_id: 0,
                        host_id: own,
                        size: 1,
                    },
                    IdMap {
                        container_id: 1,
                        host_id: r.start,
                        size: r.count,
                    },
                ]
            };
            Mappings {
                uid: full(caller.uid, u),
                gid: full(caller.gid, g),
            }
        }
        _ => Mappings::single(caller),
    }
}

/// `--userns=auto` for a root caller: container root is an unprivileged host range, the one
/// /etc/subuid and /etc/subgid give the user "minirun" if they do, else [`AUTO_RANGE`].
pub fn auto_mappings(subuid: Option<&str>, subgid: Option<&str>) -> Mappings {
    let range = |text: Option<&str>| {
        text.and_then(|t| sub_ids(t, Some(AUTO_USER), u32::MAX))
            .unwrap_or(AUTO_RANGE)
    };
    let whole = |r: SubIds| {
        vec![IdMap {
            container_id: 0,
            host_id: r.start,
            size: r.count,
        }]
    };
    Mappings {
        uid: whole(range(subuid)),
        gid: whole(range(subgid)),
    }
}

/// The user whose /etc/subuid and /etc/subgid entries `--userns=auto` uses (Docker's
/// `--userns-remap=default` names its "dockremap" the same way).
pub const AUTO_USER: &str = "minirun";
/// `--userns=auto`'s range when /etc/subuid has no "minirun" line: 65536 ids from 100000, the
/// range useradd gives a system's first user.
pub const AUTO_RANGE: SubIds = SubIds {
    start: 100000,
    count: 65536,
};

/// How the parent writes a mapping into its child's `uid_map` or `gid_map`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// Root on the host writes any mapping.
    Direct,
    /// An unprivileged parent may write only its own id, once; for gid_map the kernel first
    /// wants `deny` in /proc/PID/setgroups (else a mapped root could drop groups the
    /// caller was denied through).
    OwnId,
    /// Anything else goes through the setuid helper (newuidmap/newgidmap), which checks the
    /// ranges against /etc/subuid and /etc/subgid.
    Helper,
}

/// The writer for `maps` when the parent's effective id for this file is `own` (`euid` says
/// whether it is root).
pub fn writer(euid: u32, own: u32, maps: &[IdMap]) -> Writer {
    match maps {
        _ if euid == 0 => Writer::Direct,
        [m] if m.host_id == own && m.size == 1 => Writer::OwnId,
        _ => Writer::Helper,
    }
}

/// Whether the parent writing `plan`'s maps is not root: it then needs the child dumpable
/// until they are written (non-dumpable hands /proc/PID's files to host root, and
/// newuidmap checks that /proc/PID is the caller's).
pub fn parent_writes_maps_unprivileged(plan: &super::plan::Plan) -> bool {
    plan.creates(LinuxNamespaceType::User) && !nix::unistd::geteuid().is_root()
}

/// An unprivileged runtime joining a container's pid namespace (exec) must first be in the
/// user namespace that owns it (the kernel wants CAP_SYS_ADMIN there and in ours): the
/// parent joins it too. It loses nothing: it had no capabilities on the host, and keeps its
/// host uid for the files it touches.
pub fn join_user_namespace_for_pid(plan: &super::plan::Plan) -> Result<()> {
    let path = |t| {
        plan.namespaces
            .iter()
            .find(|n| n.typ == t)
            .and_then(|n| n.path.as_ref())
    };
    let (Some(user), Some(_)) = (
        path(LinuxNamespaceType::User),
        path(LinuxNamespaceType::Pid),
    ) else {
        return Ok(());
    };
    if nix::unistd::geteuid().is_root() || is_current_user_ns(user) {
        return Ok(());
    }
    let f = std::fs::File::open(user).map_err(error_chain::step(|| {
        format!("opening user namespace {}", user.display())
    }))?;
    nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWUSER).map_err(error_chain::step(
        || format!("joining user namespace {}", user.display()),
    ))?;
    step!(
        "setns user {} (the parent, to join the pid namespace)",
        user.display()
    );
    Ok(())
}

/// Whether the namespace file `path` is this process's user namespace.
pub fn is_current_user_ns(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (
        std::fs::metadata(path),
        std::fs::metadata("/proc/self/ns/user"),
    ) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// The helper's arguments after the pid: `ID HOST_ID SIZE` per mapping.
fn helper_args(maps: &[IdMap]) -> Vec<String> {
    maps.iter()
        .flat_map(|m| [m.container_id, m.host_id, m.size])
        .map(|n| n.to_string())
        .collect()
}

/// Writes `pid`'s uid and gid maps the way this caller may (see [`writer`]). gid_map first:
/// before the child can call setgroups.
pub fn write_maps(pid: i32, uid: &[IdMap], gid: &[IdMap]) -> Result<()> {
    let euid = nix::unistd::geteuid().as_raw();
    let egid = nix::unistd::getegid().as_raw();
    for (file, maps, own, helper) in [
        ("gid_map", gid, egid, "newgidmap"),
        ("uid_map", uid, euid, "newuidmap"),
    ] {
        let path = format!("/proc/{pid}/{file}");
        match writer(euid, own, maps) {
            Writer::Direct => {}
            Writer::OwnId if file == "gid_map" => {
                let sg = format!("/proc/{pid}/setgroups");
                std::fs::write(&sg, "deny")
                    .map_err(error_chain::step(|| format!("writing deny to {sg}")))?;
                step!("wrote deny to setgroups (a single gid mapping)");
            }
            Writer::OwnId => {}
            Writer::Helper => {
                run_helper(helper, pid, maps)?;
                continue;
            }
        }
        std::fs::write(&path, id_map_text(maps))
            .map_err(error_chain::step(|| format!("writing {path}")))?;
        step!("wrote {file} {:?}", id_map_text(maps));
    }
    Ok(())
}

fn run_helper(helper: &str, pid: i32, maps: &[IdMap]) -> Result<()> {
    let args = helper_args(maps);
    let out = std::process::Command::new(helper)
        .arg(pid.to_string())
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(error_chain::step(|| {
            format!("running {helper} (Debian's uidmap package)")
        }))?;
    if !out.status.success() {
        return Err(Error::Helper(format!(
            "{helper} {pid} {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    step!("{helper} {pid} {}", args.join(" "));
    Ok(())
}

/// Whether `name` is an executable file in one of the usual directories (the helpers are
/// setuid root, so they are looked for where the distribution puts them, not on PATH).
fn helper_exists(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin"].iter().any(|d| {
        std::fs::metadata(Path::new(d).join(name))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// The caller's mappings, from the host's files.
pub fn caller_mappings() -> Mappings {
    let uid = nix::unistd::geteuid();
    let caller = Caller {
        uid: uid.as_raw(),
        gid: nix::unistd::getegid().as_raw(),
        name: nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map(|u| u.name),
    };
    let subuid = std::fs::read_to_string("/etc/subuid").ok();
    let subgid = std::fs::read_to_string("/etc/subgid").ok();
    let helpers = helper_exists("newuidmap") && helper_exists("newgidmap");
    let ranged = subuid
        .as_deref()
        .and_then(|t| sub_ids(t, caller.name.as_deref(), caller.uid))
        .is_some();
    if ranged && !helpers {
        tracing::warn!(
            "/etc/subuid gives uid {} a range, but newuidmap/newgidmap (Debian's uidmap) are missing: only the caller is mapped",
            caller.uid
        );
    }
    mappings(&caller, subuid.as_deref(), subgid.as_deref(), helpers)
}

/// `--userns=auto`'s mappings, from the host's files.
pub fn host_auto_mappings() -> Mappings {
    let subuid = std::fs::read_to_string("/etc/subuid").ok();
    let subgid = std::fs::read_to_string("/etc/subgid").ok();
    auto_mappings(subuid.as_deref(), subgid.as_deref())
}

fn oci_maps(maps: &[IdMap]) -> Result<Vec<LinuxIdMapping>> {
    maps.iter()
        .map(|m| {
            LinuxIdMappingBuilder::default()
                .container_id(m.container_id)
                .host_id(m.host_id)
                .size(m.size)
                .build()
                .map_err(built("building an id mapping"))
        })
        .collect()
}

/// The Spec in a new user namespace with `maps`, as runc's specconv makes a rootless one:
/// sysfs bound read-only from the host when there is no network namespace of the
/// container's own (a fresh sysfs needs one), devpts without a `gid=` the mappings leave
/// unmapped, and no resources (there is no cgroup to apply them to).
pub fn in_user_namespace(spec: Spec, maps: &Mappings, drop_resources: bool) -> Result<Spec> {
    let mut spec = spec;
    let mut linux = spec.linux().clone().unwrap_or_default();
    let mut namespaces = linux.namespaces().clone().unwrap_or_default();
    let own_net = namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Network && n.path().is_none());
    if !namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User)
    {
        namespaces.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::User)
                .build()
                .map_err(built("building the user namespace"))?,
        );
    }
    linux.set_namespaces(Some(namespaces));
    linux.set_uid_mappings(Some(oci_maps(&maps.uid)?));
    linux.set_gid_mappings(Some(oci_maps(&maps.gid)?));
    if drop_resources {
        linux.set_resources(None);
    }
    spec.set_linux(Some(linux));
    let mounts = spec.mounts().clone().unwrap_or_default();
    let mounts = mounts
        .into_iter()
        .map(|m| adjust_mount(m, maps, own_net))
        .collect::<Result<Vec<_>>>()?;
    spec.set_mounts(Some(mounts));
    Ok(spec)
}

fn adjust_mount(m: Mount, maps: &Mappings, own_net: bool) -> Result<Mount> {
    let typ = m.typ().clone().unwrap_or_default();
    let options = m.options().clone().unwrap_or_default();
    if typ == "sysfs" && !own_net {
        // runc's choice: the host's /sys, recursively (a plain bind of a tree with mounts the
        // user namespace may not uncover is refused), read-only.
        let mut opts = vec!["rbind", "nosuid", "noexec", "nodev", "ro"];
        opts.retain(|o| *o != "ro" || options.iter().any(|x| x == "ro"));
        if !opts.contains(&"ro") {
            opts.push("rw");
        }
        return MountBuilder::default()
            .destination(m.destination().clone())
            .typ("bind")
            .source("/sys")
            .options(opts.into_iter().map(String::from).collect::<Vec<_>>())
            .build()
            .map_err(built("building the /sys bind"));
    }
    let unmapped_gid = |o: &String| {
        o.strip_prefix("gid=")
            .and_then(|g| g.parse::<u32>().ok())
            .is_some_and(|g| !maps.maps_gid(g))
    };
    if options.iter().any(unmapped_gid) {
        let mut m = m;
        m.set_options(Some(
            options.into_iter().filter(|o| !unmapped_gid(o)).collect(),
        ));
        return Ok(m);
    }
    Ok(m)
}

/// The state root when `--root` is not given: `root_default` (/run/minirun) for root, as
/// before; for anyone else `$XDG_RUNTIME_DIR/minirun` (runc's convention), or
/// /run/user/UID/minirun (where systemd puts that directory) when the variable is unset or
/// not absolute. `user_ns_root`: uid 0 is an ordinary user's root (see [`user_ns_root`]), which
/// keeps its state where that user does, as runc does. Pure.
pub fn default_root_for(
    euid: u32,
    user_ns_root: bool,
    xdg_runtime_dir: Option<&str>,
    root_default: &str,
) -> PathBuf {
    match xdg_runtime_dir {
        Some(d) if euid == 0 && user_ns_root && d.starts_with('/') => Path::new(d).join("minirun"),
        _ if euid == 0 => PathBuf::from(root_default),
        Some(d) if d.starts_with('/') => Path::new(d).join("minirun"),
        _ => PathBuf::from(format!("/run/user/{euid}/minirun")),
    }
}

/// Whether uid 0 here is an ordinary user's root: rootless podman runs its runtime as uid 0
/// of a user namespace it made, where /run/minirun is not writable. runc's rule: a uid_map
/// other than the initial namespace's identity map, and $USER not "root". Pure.
pub fn user_ns_root(uid_map: &str, user: Option<&str>) -> bool {
    let initial = uid_map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"];
    !initial && user != Some("root")
}

/// An ordinary user's state root, made (0700, as `Store` makes it) and checked writable
/// before anything is planned, so that a root it cannot use is the one line it reads.
pub fn check_state_root(root: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let hint = "an ordinary user's containers keep their state in $XDG_RUNTIME_DIR/minirun: \
                set XDG_RUNTIME_DIR to a directory of yours, or pass --root";
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .and_then(|_| {
            nix::unistd::access(
                root,
                nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK,
            )
            .map_err(std::io::Error::from)
        })
        .map_err(error_chain::step(|| {
            format!("state root {} ({hint})", root.display())
        }))?;
    Ok(())
}

/// Why an ordinary user's container has no cgroup, for the refusal of what needs one.
pub const NO_CGROUP_REASON: &str =
    "an ordinary user's container has none here (the host delegates no cgroup to the caller)";
/// The warning an ordinary user's launch gives once when the host delegates no cgroup to it
/// (with one, `rootless_cgroup` places the container there and nothing is said).
pub const NO_CGROUP: &str = "running without a cgroup: the host delegates none to this user (no resource limits, no device rules; crun does the same)";

/// Why an ordinary user cannot run this OCI config, if it cannot: it needs a user namespace
/// of its own, and, without a cgroup (`has_cgroup`: none is delegated), no limits in
/// `linux.resources` (device rules are left out as runc's rootless mode leaves them: the user
/// namespace already keeps mknod out). Pure: the validation pass's "rootless" check.
pub fn oci_refusal(spec: &Spec, has_cgroup: bool) -> Option<String> {
    let linux = spec.linux().clone().unwrap_or_default();
    let creates_user = linux
        .namespaces()
        .iter()
        .flatten()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    if !creates_user {
        return Some(
            "config.json has no user namespace, which an ordinary user's container needs \
             (linux.namespaces [{\"type\": \"user\"}] with uidMappings and gidMappings: \
             `minirun spec --rootless` writes one)"
                .into(),
        );
    }
    if has_cgroup {
        return None;
    }
    let key = linux.resources().as_ref().and_then(limit_set)?;
    Some(format!(
        "linux.resources.{key} needs a cgroup, and {NO_CGROUP_REASON}"
    ))
}

/// The first field of `resources` that asks for a limit (anything but device rules).
fn limit_set(resources: &oci_spec::runtime::LinuxResources) -> Option<String> {
    let v = serde_json::to_value(resources).ok()?;
    v.as_object()?
        .iter()
        .find(|(k, v)| {
            k.as_str() != "devices"
                && !v.is_null()
                && v.as_object().is_none_or(|o| !o.is_empty())
                && v.as_array().is_none_or(|a| !a.is_empty())
        })
        .map(|(k, _)| k.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The state root's refusal names it and says what to do, then the OS's answer.
    #[test]
    fn a_state_root_that_cannot_be_made_is_one_line_naming_it() {
        let root = Path::new("/proc/self/minirun-no-such/minirun");
        let line = crate::error_chain::one_line(&check_state_root(root).unwrap_err());
        assert!(
            line.starts_with("state root /proc/self/minirun-no-such/minirun (an ordinary user's")
                && line.contains("pass --root): ")
                && line.ends_with("(os error 2)"),
            "{line}"
        );
    }

    fn caller() -> Caller {
        Caller {
            uid: 1000,
            gid: 1001,
            name: Some("alice".into()),
        }
    }

    fn map(c: u32, h: u32, s: u32) -> IdMap {
        IdMap {
            container_id: c,
            host_id: h,
            size: s,
        }
    }

    #[test]
    fn the_fifo_goes_to_container_root_not_to_a_subordinate_workload_uid() {
        let full = [map(0, 1000, 1), map(1, 300000, 65536)];
        let gids = [map(0, 1001, 1), map(1, 300000, 65536)];
        assert_eq!(
            fifo_owner(&full, &gids, (1000, 1000)),
            (Some(1000), Some(1001))
        );
        // Root unmapped: the workload's own host ids.
        let no_root = [map(1000, 5000, 1)];
        assert_eq!(
            fifo_owner(&no_root, &no_root, (1000, 1000)),
            (Some(5000), Some(5000))
        );
        assert_eq!(fifo_owner(&no_root, &no_root, (7, 7)), (None, None));
    }

    #[test]
    fn subid_lines_by_name_or_uid() {
        let text = "bob:100000:65536\nalice:165536:65536\n";
        assert_eq!(
            sub_ids(text, Some("alice"), 1000),
            Some(SubIds {
                start: 165536,
                count: 65536
            })
        );
        assert_eq!(
            sub_ids("1000:200000:10\n", Some("alice"), 1000).map(|r| r.start),
            Some(200000)
        );
        assert_eq!(sub_ids(text, Some("carol"), 1002), None);
        // Malformed, empty or overflowing ranges are skipped, not used.
        assert_eq!(
            sub_ids(
                "alice:x:1\nalice:5:0\nalice:4294967295:2\n",
                Some("alice"),
                1
            ),
            None
        );
        assert_eq!(sub_ids("alice:7", Some("alice"), 1), None);
    }

    #[test]
    fn single_mapping_without_ranges_or_helpers() {
        let single = Mappings {
            uid: vec![map(0, 1000, 1)],
            gid: vec![map(0, 1001, 1)],
        };
        assert_eq!(mappings(&caller(), None, None, true), single);
        let sub = "alice:100000:65536\n";
        assert_eq!(mappings(&caller(), Some(sub), Some(sub), false), single);
        // A uid range without a gid range is not a full mapping either.
        assert_eq!(mappings(&caller(), Some(sub), Some(""), true), single);
        assert!(!single.maps_gid(5));
        assert!(single.maps_gid(0));
    }

    #[test]
    fn full_mapping_as_podman_makes_it() {
        let m = mappings(
            &caller(),
            Some("alice:100000:65536\n"),
            Some("alice:300000:1000\n"),
            true,
        );
        assert_eq!(m.uid, vec![map(0, 1000, 1), map(1, 100000, 65536)]);
        assert_eq!(m.gid, vec![map(0, 1001, 1), map(1, 300000, 1000)]);
        assert!(m.maps_gid(5) && m.maps_gid(1000) && !m.maps_gid(1001));
    }

    #[test]
    fn auto_uses_the_minirun_range_or_the_fixed_one() {
        let m = auto_mappings(None, None);
        assert_eq!(m.uid, vec![map(0, 100000, 65536)]);
        let m = auto_mappings(Some("minirun:500000:1000\n"), Some("minirun:600000:1000\n"));
        assert_eq!(m.uid, vec![map(0, 500000, 1000)]);
        assert_eq!(m.gid, vec![map(0, 600000, 1000)]);
    }

    #[test]
    fn oci_configs_an_ordinary_user_can_run() {
        let with_user = |resources: &str| -> Spec {
            serde_json::from_str(&format!(
                r#"{{"ociVersion":"1.0.2","root":{{"path":"r"}},"linux":{{"namespaces":[{{"type":"user"}}],
                "uidMappings":[{{"containerID":0,"hostID":1000,"size":1}}],
                "gidMappings":[{{"containerID":0,"hostID":1000,"size":1}}]{resources}}}}}"#
            ))
            .unwrap()
        };
        assert_eq!(oci_refusal(&with_user(""), false), None);
        let devices = r#","resources":{"devices":[{"allow":false,"access":"rwm"}]}"#;
        assert_eq!(oci_refusal(&with_user(devices), false), None);
        let memory = r#","resources":{"memory":{"limit":1000000}}"#;
        let e = oci_refusal(&with_user(memory), false).unwrap();
        assert!(
            e.starts_with("linux.resources.memory needs a cgroup"),
            "{e}"
        );
        // In a delegated cgroup: its controllers decide (`rootless_cgroup`).
        assert_eq!(oci_refusal(&with_user(memory), true), None);
        let e = oci_refusal(&spec(true), true).unwrap();
        assert!(e.contains("no user namespace"), "{e}");
    }

    #[test]
    fn state_root_defaults() {
        let root = |euid, xdg| default_root_for(euid, false, xdg, "/run/minirun");
        assert_eq!(root(0, Some("/run/user/0")), Path::new("/run/minirun"));
        // Rootless podman's runtime: uid 0 of the user's namespace, its XDG_RUNTIME_DIR.
        let nested = |xdg| default_root_for(0, true, xdg, "/run/minirun");
        assert_eq!(
            nested(Some("/run/user/1000")),
            Path::new("/run/user/1000/minirun")
        );
        assert_eq!(nested(None), Path::new("/run/minirun"));
        assert_eq!(nested(Some("tmp")), Path::new("/run/minirun"));
        assert_eq!(
            root(1000, Some("/run/user/1000")),
            Path::new("/run/user/1000/minirun")
        );
        assert_eq!(root(1000, None), Path::new("/run/user/1000/minirun"));
        // A relative value is ignored, as the XDG spec says.
        assert_eq!(root(1000, Some("tmp")), Path::new("/run/user/1000/minirun"));
    }

    #[test]
    fn root_of_a_user_namespace() {
        let host = "         0          0 4294967295\n";
        let podman = "         0       1000          1\n         1     100000      65536\n";
        assert!(!user_ns_root(host, None));
        assert!(!user_ns_root(host, Some("alice")));
        assert!(user_ns_root(podman, None));
        assert!(user_ns_root(podman, Some("alice")));
        // runc's escape hatch: root of a user namespace that says it is root keeps /run.
        assert!(!user_ns_root(podman, Some("root")));
    }

    #[test]
    fn who_writes_which_map() {
        assert_eq!(writer(0, 0, &[map(0, 100000, 65536)]), Writer::Direct);
        assert_eq!(writer(1000, 1000, &[map(0, 1000, 1)]), Writer::OwnId);
        assert_eq!(writer(1000, 1000, &[map(0, 1001, 1)]), Writer::Helper);
        assert_eq!(
            writer(1000, 1000, &[map(0, 1000, 1), map(1, 100000, 65536)]),
            Writer::Helper
        );
        assert_eq!(
            helper_args(&[map(0, 1000, 1), map(1, 100000, 65536)]),
            ["0", "1000", "1", "1", "100000", "65536"]
        );
    }

    fn spec(net: bool) -> Spec {
        let ns = if net {
            r#"[{"type":"mount"},{"type":"network"}]"#
        } else {
            r#"[{"type":"mount"}]"#
        };
        serde_json::from_str(&format!(
            r#"{{"ociVersion":"1.0.2","root":{{"path":"r"}},
            "mounts":[{{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","ro"]}},
            {{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["newinstance","gid=5","mode=0620"]}}],
            "linux":{{"namespaces":{ns},"resources":{{"devices":[{{"allow":false,"access":"rwm"}}]}}}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn rootless_spec_binds_sysfs_without_a_network_namespace() {
        let s = in_user_namespace(spec(false), &Mappings::single(&caller()), true).unwrap();
        let m = &s.mounts().as_ref().unwrap()[0];
        assert_eq!(m.typ().as_deref(), Some("bind"));
        assert_eq!(m.source().as_deref(), Some(Path::new("/sys")));
        let opts = m.options().clone().unwrap();
        assert!(
            opts.contains(&"rbind".into()) && opts.contains(&"ro".into()),
            "{opts:?}"
        );
        let linux = s.linux().as_ref().unwrap();
        assert!(linux.resources().is_none());
        assert!(
            linux
                .namespaces()
                .as_ref()
                .unwrap()
                .iter()
                .any(|n| n.typ() == LinuxNamespaceType::User)
        );
        assert_eq!(linux.uid_mappings().as_ref().unwrap()[0].host_id(), 1000);
        // Its own network namespace: a fresh sysfs is allowed there.
        let s = in_user_namespace(spec(true), &Mappings::single(&caller()), true).unwrap();
        assert_eq!(
            s.mounts().as_ref().unwrap()[0].typ().as_deref(),
            Some("sysfs")
        );
    }

    #[test]
    fn devpts_keeps_gid_5_only_when_mapped() {
        let single = in_user_namespace(spec(true), &Mappings::single(&caller()), true).unwrap();
        let opts = single.mounts().as_ref().unwrap()[1]
            .options()
            .clone()
            .unwrap();
        assert_eq!(opts, ["newinstance", "mode=0620"]);
        let full = mappings(
            &caller(),
            Some("alice:1:100\n"),
            Some("alice:1:100\n"),
            true,
        );
        let s = in_user_namespace(spec(true), &full, false).unwrap();
        let opts = s.mounts().as_ref().unwrap()[1].options().clone().unwrap();
        assert!(opts.contains(&"gid=5".into()));
        assert!(s.linux().as_ref().unwrap().resources().is_some());
    }
}
