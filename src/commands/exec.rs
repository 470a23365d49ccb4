//! `exec`: a new process in a running container (docker exec, podman exec).
//!
//! It goes through the same launch path as a container's init, with a plan that creates
//! nothing: every namespace of the container's init is joined by its /proc/PID/ns path, the
//! root is the init's (/proc/PID/root, entered with chroot), and the process's own capability
//! sets and identity are applied by `capability::apply` exactly as for an init. The process
//! starts from the container's own (config.json's, or the quick form's `state::PROCESS`) and
//! the flags change only what they name, as runc and docker exec do (docs/exec.md).
//!
//! CVE-2019-5736: this runtime process makes itself non-dumpable before the clone, so the
//! child, which is visible inside the container from its first instruction, inherits that and
//! nothing in the container can open the host's minirun binary through /proc/PID/exe.

use super::Failure;
use super::Log;
use super::lifecycle::{console_socket, saved_spec, write_pid_file};
use crate::capability::{self as cap, names};
use crate::cli::ExecArgs;
use crate::container::launch::{self, Handles};
use crate::container::leak_guards;
use crate::container::plan::{CgroupRequest, Settings};
use crate::container::procfs;
use crate::container::state::{self, Status, Store};
use crate::container::validate::{self, Cgroups, Facts, Inputs};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// /proc/PID/ns names and the OCI type each stands for, in the order they are joined (the
/// user namespace first, so the others are joined with its capabilities).
const NS: &[(&str, &str)] = &[
    ("user", "user"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("net", "network"),
    ("pid", "pid"),
    ("cgroup", "cgroup"),
    ("mnt", "mount"),
];

/// The namespaces of `pid` that differ from ours, as OCI `linux.namespaces` entries.
fn namespaces_of(pid: i32) -> Vec<Value> {
    NS.iter()
        .filter(|(n, _)| procfs::ns_differs(pid, n))
        .map(|(n, t)| json!({"type": t, "path": format!("/proc/{pid}/ns/{n}")}))
        .collect()
}

/// The process to run, as OCI process JSON: --process, or the container's own process with
/// the command line's changes (runc's rules).
pub fn process_for(a: &ExecArgs, base: Option<Value>, last: u8) -> Result<Value> {
    if let Some(f) = &a.process {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("reading the process file {}", f.display()))?;
        let mut p: Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: invalid JSON", f.display()))?;
        if a.tty {
            p["terminal"] = json!(true);
        }
        return Ok(p);
    }
    if a.command.is_empty() {
        bail!("exec: no command given (and no --process)");
    }
    // Never a default: a process with settings of its own (Docker's capabilities, root) would
    // hold more than the container it joins.
    let mut p = base.context(
        "the container's process settings were not saved (a record of an older minirun): \
         give the whole process with --process",
    )?;
    p["args"] = json!(a.command);
    p["terminal"] = json!(a.tty);
    if let Some(c) = &a.cwd {
        p["cwd"] = json!(c);
    }
    let mut env: Vec<String> = serde_json::from_value(p["env"].clone()).unwrap_or_default();
    for kv in &a.env {
        let key = kv.split('=').next().unwrap_or_default();
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    p["env"] = json!(env);
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u.as_str(), None),
        };
        let num = |s: &str| {
            s.parse::<u32>()
                .with_context(|| format!("--user \"{u}\": expected UID[:GID] as numbers"))
        };
        p["user"]["uid"] = json!(num(uid)?);
        p["user"]["gid"] = json!(gid.map(num).transpose()?.unwrap_or(0));
    }
    if !a.additional_gids.is_empty() {
        p["user"]["additionalGids"] = json!(a.additional_gids);
    }
    if a.no_new_privs {
        p["noNewPrivileges"] = json!(true);
    }
    if !a.cap.is_empty() {
        let added = names::parse_set(&a.cap, last)?;
        let caps = &mut p["capabilities"];
        let has_inheritable = caps["inheritable"]
            .as_array()
            .is_some_and(|v| !v.is_empty());
        let mut sets = vec!["bounding", "effective", "permitted"];
        // Ambient needs inheritable; as runc does, only when the process already has some.
        if has_inheritable {
            sets.push("ambient");
        }
        for set in sets {
            let mut names: Vec<String> =
                serde_json::from_value(caps[set].clone()).unwrap_or_default();
            let current = names::parse_set(&names, last)?;
            names.extend(added.minus(current).oci_names());
            caps[set] = json!(names);
        }
    }
    Ok(p)
}

/// Whether an ordinary caller cannot join the container's cgroup (`rootless_cgroup`).
fn outside_delegation(paths: &crate::cgroups::CgroupPaths) -> bool {
    !crate::container::privilege::is_root()
        && paths
            .v2
            .as_ref()
            .is_some_and(|d| !crate::container::rootless_cgroup::joinable(&d.dir))
}

pub fn exec(g: &crate::cli::Global, log: &Log, a: &ExecArgs) -> Result<i32, Failure> {
    let store = Store::new(&g.root);
    let st = store.load(&a.id)?;
    if store.status(&st) == Status::Stopped {
        return Err(anyhow!("cannot exec in a stopped container").into());
    }
    let last = cap::kernel_last_cap();
    let saved = saved_spec(&store, &a.id);
    // The container's own process, from config.json (OCI) or the quick form's saved one: the
    // base the flags change (runc exec, docker exec).
    let base = match saved.as_ref().and_then(|s| s.process().clone()) {
        Some(p) => Some(serde_json::to_value(p).context("the container's process")?),
        None => state::load_process(&store.dir(&a.id))?,
    };
    let process = process_for(a, base, last)?;
    let spec = json!({
        "ociVersion": crate::spec::OCI_VERSION,
        "root": {"path": format!("/proc/{}/root", st.pid)},
        "process": process,
        "linux": {"namespaces": namespaces_of(st.pid)},
    });
    let spec: oci_spec::runtime::Spec =
        serde_json::from_value(spec).context("the exec process is not a valid OCI process")?;
    let inputs = Inputs {
        base: "/".into(),
        rootfs: PathBuf::from(format!("/proc/{}/root", st.pid)),
        last_cap: last,
        settings: Settings {
            preserve_fds: a.preserve_fds,
            die_with_parent: !a.detach,
            ..Settings::default()
        },
        // The container's own filter, as runc applies it to every exec'd process (a
        // quick-form container saved its compiled one).
        seccomp: match &saved {
            Some(s) => crate::container::seccomp_step::for_spec(&g.root, s)?,
            None => crate::container::seccomp_step::load(&store.dir(&a.id))?,
        },
        facts: Facts {
            join: Some(st.pid),
            // Into the container's cgroup: its limits count the process, `kill --all` finds it.
            cgroups: match crate::container::cgroup_launch::load(&store.dir(&a.id))? {
                // An ordinary caller outside the container's delegated subtree may not move a
                // process into it (EACCES): as runc and crun, the process runs outside it. It
                // still dies with the container (its pid namespace).
                Some(cg) if !outside_delegation(cg.paths()) => {
                    Cgroups::Given(CgroupRequest::Join(cg.paths().clone()))
                }
                Some(cg) => {
                    log.warn(&format!(
                        "the process runs outside the container's cgroup {}: this process's own cgroup is outside the subtree delegated to this user, so it may not move a process there (no limits, `kill --all` does not see it)",
                        cg.paths().v2.as_ref().map_or_else(String::new, |d| d.dir.display().to_string())
                    ));
                    Cgroups::None
                }
                None => Cgroups::None,
            },
            ..Facts::default()
        },
    };
    let plan = validate::plan(&spec, &inputs)?;
    let console = console_socket(a.console_socket.as_deref(), plan.terminal, !a.detach, log)?;

    // Before the clone: the child inherits it (see the module comment).
    leak_guards::set_non_dumpable()?;
    let handles = Handles {
        console_socket: console.as_ref().map(|s| s.as_raw_fd()),
        // The identity a seccomp listener's state names (the exec plan has no hooks to run).
        hooks: Some(crate::container::hooks::HookState {
            id: st.id.clone(),
            bundle: st.bundle.clone(),
            annotations: st.annotations.clone(),
        }),
        ..Handles::default()
    };
    let mut child = launch::spawn(&plan, &handles)?;
    launch::wait_ready(&mut child)?;
    if let Some(p) = &a.pid_file {
        write_pid_file(p, child.pid.as_raw())?;
    }
    if a.detach {
        return Ok(0);
    }
    Ok(launch::wait_exit(&child)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec_args(words: &str) -> ExecArgs {
        let argv = std::iter::once("minirun")
            .chain(words.split_whitespace())
            .map(Into::into)
            .collect();
        match crate::cli::parse(argv).unwrap().command {
            Some(crate::cli::Command::Oci(crate::cli::OciCommand::Exec(a))) => a,
            other => panic!("not exec: {other:?}"),
        }
    }

    fn container() -> Value {
        let two = json!(["CAP_SETGID", "CAP_SETUID"]);
        json!({
            "args": ["sleep", "30"], "cwd": "/tmp", "terminal": false,
            "user": {"uid": 1000, "gid": 1000, "additionalGids": [10]},
            "env": ["PATH=/bin", "FOO=bar"], "noNewPrivileges": true,
            "capabilities": {"bounding": two, "effective": two, "permitted": two,
                             "inheritable": two, "ambient": two},
        })
    }

    /// Without flags, the container's process with only args replaced: nothing widens.
    #[test]
    fn the_base_is_the_containers_process() {
        let p = process_for(&exec_args("exec c1 sh -c id"), Some(container()), 40).unwrap();
        let mut want = container();
        want["args"] = json!(["sh", "-c", "id"]);
        assert_eq!(p, want);
    }

    /// Each flag changes only what it names.
    #[test]
    fn flags_change_only_what_they_name() {
        let base = container();
        let changed = |words: &str| {
            let p = process_for(&exec_args(words), Some(base.clone()), 40).unwrap();
            let mut diff: Vec<String> = p
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, v)| *k != "args" && base.get(*k) != Some(*v))
                .map(|(k, _)| k.clone())
                .collect();
            diff.sort();
            (p, diff)
        };
        let (p, d) = changed("exec -u 0 c1 id");
        assert_eq!(d, ["user"]);
        assert_eq!(
            p["user"],
            json!({"uid": 0, "gid": 0, "additionalGids": [10]})
        );
        let (p, d) = changed("exec -e FOO=baz -e NEW=1 c1 id");
        assert_eq!(d, ["env"]);
        assert_eq!(p["env"], json!(["PATH=/bin", "FOO=baz", "NEW=1"]));
        for w in ["-w", "--workdir", "--cwd"] {
            let (p, d) = changed(&format!("exec {w} / c1 id"));
            assert_eq!(d, ["cwd"], "{w}");
            assert_eq!(p["cwd"], "/");
        }
        let (p, d) = changed("exec --cap CAP_KILL c1 id");
        assert_eq!(d, ["capabilities"]);
        assert_eq!(
            p["capabilities"]["effective"],
            json!(["CAP_SETGID", "CAP_SETUID", "CAP_KILL"])
        );
    }

    /// No saved process: refused, not run with settings of exec's own.
    #[test]
    fn no_base_is_refused() {
        let e = process_for(&exec_args("exec c1 id"), None, 40).unwrap_err();
        assert!(format!("{e:#}").contains("--process"), "{e:#}");
    }
}
