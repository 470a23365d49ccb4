//! The quick form end to end: flags → policy → Spec → the one launch path → exit status.

use super::Failure;
use crate::capability::policy::{self, CapRequest, Environment};
use crate::capability::{self as cap, CapSet, CapSets, names};
use crate::cli::{Global, QuickArgs};
use crate::container::cgroup_launch;
use crate::container::in_root;
use crate::container::instance::Container;
use crate::container::launch::{self, Handles};
use crate::container::plan::{Plan, Settings};
use crate::container::seccomp_step;
use crate::container::state::{self, Store};
use crate::container::user;
use crate::container::validate::{self, Cgroups, Facts, Inputs};
use crate::spec::{self, QuickForm};
use crate::step;
use anyhow::{Context, Result, anyhow, bail};
use nix::fcntl::OFlag;
use oci_spec::runtime::Spec;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// A fresh container id: 12 hex digits, as Docker shows ids.
pub fn new_id() -> Result<String> {
    let mut b = [0u8; 6];
    crate::container::leak_guards::random_bytes(&mut b).context("choosing a container id")?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// `--security-opt` values: no-new-privileges is honoured; seccomp=… is read by
/// `container::seccomp_step::choice_from`; anything else is refused by name rather than silently
/// ignored.
fn no_new_privs_from(opts: &[String], flag: bool) -> Result<bool> {
    let mut nnp = flag;
    for o in opts {
        match o.as_str() {
            "no-new-privileges" | "no-new-privileges:true" | "no-new-privileges=true" => nnp = true,
            "no-new-privileges:false" | "no-new-privileges=false" => nnp = false,
            o if o.starts_with("seccomp=") || o.starts_with("seccomp:") => {}
            other => {
                bail!("--security-opt \"{other}\" is not supported (minirun has no LSM support)")
            }
        }
    }
    Ok(nnp)
}

/// Resolves the quick form's flags against the rootfs and the host into a Plan (its cgroup
/// request included).
pub fn plan_for(global: &Global, args: &QuickArgs, id: &str) -> Result<Plan> {
    super::refusals::check(args)?;
    let (rootfs, root_fd) = open_rootfs(args)?;
    let identity = identity(args, &root_fd)?;
    check_workdir(args, &root_fd)?;
    let last = cap::kernel_last_cap();
    let resolved = capabilities(args, last)?;
    let cgroup = match crate::container::privilege::is_root() {
        true => super::quick_cgroup::request(global, args, id)?,
        false => super::quick_userns::rootless_cgroup(global, args, id)?,
    };
    let mut caps = policy::sets_for(&resolved, identity.uid);
    if cgroup.is_none() {
        without_cgroup(args, &mut caps)?;
    }
    let spec = spec_for(args, &rootfs, id, identity, caps)?;
    let inputs = inputs(global, args, rootfs, last, resolved.set, cgroup)?;
    Ok(validate::plan(&spec, &inputs)?)
}

/// The rootfs, canonical and opened; the COMMAND is checked here so that its message can name
/// the rootfs.
fn open_rootfs(args: &QuickArgs) -> Result<(PathBuf, OwnedFd)> {
    let rootfs = args.rootfs.as_ref().context("no ROOTFS given")?;
    let rootfs = std::fs::canonicalize(rootfs)
        .with_context(|| format!("rootfs \"{}\" does not exist", rootfs.display()))?;
    if !rootfs.is_dir() {
        bail!("rootfs \"{}\" is not a directory", rootfs.display());
    }
    if args.command.is_empty() {
        bail!(
            "no COMMAND given to run in \"{}\" (usage: minirun [OPTIONS] ROOTFS COMMAND [ARG...])",
            rootfs.display()
        );
    }
    let root_fd = nix::fcntl::open(
        &rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("opening rootfs {}", rootfs.display()))?;
    Ok((rootfs, root_fd))
}

/// `--user` and `--group-add`, resolved against the rootfs's /etc/passwd and /etc/group.
fn identity(args: &QuickArgs, root_fd: &OwnedFd) -> Result<user::Identity> {
    let user_spec = args.user.clone().unwrap_or_default();
    let identity = if user_spec.is_empty() && args.group_add.is_empty() {
        user::Identity::default()
    } else {
        let passwd = in_root::read_to_string(root_fd, Path::new("/etc/passwd"))?;
        let group = in_root::read_to_string(root_fd, Path::new("/etc/group"))?;
        user::resolve(
            &user_spec,
            &args.group_add,
            passwd.as_deref(),
            group.as_deref(),
        )?
    };
    // An id the kernel reads as "unchanged" would keep the workload root: the "user_ids" check
    // refuses it too, but this line names the flag.
    for (what, id) in [("uid", identity.uid), ("gid", identity.gid)]
        .into_iter()
        .chain(identity.additional_gids.iter().map(|&g| ("group", g)))
    {
        validate::check_id(&format!("--user \"{user_spec}\" resolves to {what}"), id)?;
    }
    Ok(identity)
}

fn check_workdir(args: &QuickArgs, root_fd: &OwnedFd) -> Result<()> {
    if let Some(w) = &args.workdir {
        if !w.starts_with('/') {
            bail!("--workdir \"{w}\" must be an absolute path");
        }
        in_root::open(root_fd, Path::new(w), OFlag::O_PATH | OFlag::O_DIRECTORY).map_err(|e| {
            anyhow::anyhow!(
                "--workdir \"{w}\" does not exist in the rootfs ({})",
                e.desc()
            )
        })?;
    }
    Ok(())
}

/// `--cap-add`, `--cap-drop` and `--privileged` against what the kernel has and this process
/// holds.
fn capabilities(args: &QuickArgs, last: u8) -> Result<policy::Resolved> {
    let request = CapRequest {
        add: names::parse_list(&args.cap_add, last)?,
        drop: names::parse_list(&args.cap_drop, last)?,
        privileged: args.privileged,
    };
    let env = Environment {
        kernel: CapSet::all_up_to(last),
        held: cap::held_bounding(),
    };
    let resolved = policy::resolve(&request, env)?;
    for w in &resolved.warnings {
        tracing::warn!("{w}");
    }
    Ok(resolved)
}

/// A launch with no cgroup of its own.
fn without_cgroup(args: &QuickArgs, caps: &mut CapSets) -> Result<()> {
    // Refused before anything else is said about a launch that will not happen.
    if args.trace_caps {
        bail!(crate::trace_caps::NEEDS_V2);
    }
    // Into the Spec, not the Plan: nothing changes the Plan after validation. In a user
    // namespace the kernel refuses mknod of a device whatever the capabilities.
    if !super::quick_userns::creates_user_namespace(args) {
        super::quick_cgroup::without_device_fence(caps, args);
    }
    Ok(())
}

fn spec_for(
    args: &QuickArgs,
    rootfs: &Path,
    id: &str,
    identity: user::Identity,
    caps: CapSets,
) -> Result<Spec> {
    let hostname = args
        .hostname
        .clone()
        .unwrap_or_else(|| id.chars().take(12).collect());
    let quick = QuickForm {
        rootfs: rootfs.to_string_lossy().into_owned(),
        args: args.command.clone(),
        env: spec::environment(&args.env, &hostname, &identity.home, |k| {
            std::env::var(k).ok()
        }),
        cwd: args.workdir.clone(),
        hostname,
        network: args.network,
        read_only: args.read_only,
        privileged: args.privileged,
        no_new_privileges: no_new_privs_from(&args.security_opt, args.no_new_privileges)?,
        caps,
        identity,
        mounts: super::storage::mounts(&args.volume, &args.mount, &args.tmpfs, Path::exists)?,
    };
    let mut spec = spec::build(&quick)?;
    // -t is the config's process.terminal, as in the config Docker hands runc.
    if let Some(p) = spec.process_mut() {
        p.set_terminal(Some(args.tty));
    }
    let spec = super::quick_cgroup::adjust_spec(spec, args)?;
    super::quick_userns::adjust_spec(spec, args)
}

fn inputs(
    global: &Global,
    args: &QuickArgs,
    rootfs: PathBuf,
    last: u8,
    bounding: CapSet,
    cgroup: Option<cgroup_launch::Request>,
) -> Result<Inputs> {
    Ok(Inputs {
        base: "/".into(),
        rootfs,
        last_cap: last,
        settings: Settings {
            no_pivot: args.no_pivot,
            reaper: args.init,
            volatile: args.volatile,
            // A session keyring of its own, as the OCI path and runc give: keys the caller's
            // session holds stay out of the container (issue 11, item 6).
            new_keyring: true,
            preserve_fds: 0,
            // The runtime (or -d's monitor) is the container's keeper: the container dies with it.
            die_with_parent: true,
            trace_caps: args.trace_caps,
        },
        // Docker's default profile for the resolved bounding set (or the named one), compiled
        // or read from the cache here in the parent.
        seccomp: seccomp_step::for_quick_form(
            &global.root,
            &seccomp_step::choice_from(&args.security_opt),
            args.privileged,
            bounding,
        )?,
        facts: Facts {
            cgroups: cgroup.map_or(Cgroups::None, Cgroups::Given),
            rootless: !crate::container::privilege::is_root(),
            ..Facts::default()
        },
    })
}

/// Runs the quick form; returns the exit status minirun should exit with.
pub fn run(global: &Global, args: &QuickArgs) -> Result<i32, Failure> {
    if !crate::container::privilege::is_root() {
        crate::container::rootless::check_state_root(&global.root)?;
    }
    if args.trace {
        crate::trace::enable();
        crate::container::cap_trace::remember_host_userns();
    }
    step!("arguments parsed");
    let id = match &args.name {
        Some(n) => n.clone(),
        None => new_id()?,
    };
    state::validate_id(&id).with_context(|| "--name".to_string())?;
    // CVE-2019-5736 (container/readonly_reexec.rs): non-dumpable (leak_guards.rs) keeps /proc/PID/exe of
    // our processes closed to a workload without CAP_SYS_PTRACE. A container that may hold it,
    // or the `--init` reaper (minirun code running for the container's whole life), gets a
    // read-only view of the binary to look at. Decided from the flags before anything is
    // printed (the re-exec runs main again), and checked against the resolved bounding set.
    if args.init || may_hold_sys_ptrace(args) {
        crate::container::readonly_reexec::reexec();
    }
    let log_opts = super::logfile::Opts::parse(&args.log_opt)?;
    if !args.log_opt.is_empty() && !args.detach {
        return Err(anyhow!(
            "--log-opt applies to the output of -d containers only (this one writes to your terminal)"
        )
        .into());
    }
    if args.tty {
        if args.detach {
            return Err(anyhow!(
                "-t with -d is not supported: a detached container has no terminal to attach"
            )
            .into());
        }
        super::tty::check(args.interactive)?;
    }
    let plan = plan_for(global, args, &id)?;
    if plan.caps.bounding.contains(SYS_PTRACE) {
        crate::container::readonly_reexec::reexec();
    }
    step!("plan built");
    let store = Store::new(&global.root);
    // Dropped on any error below: nothing of a failed launch stays.
    let mut container = Container::reserve(&store, &id)?;
    step!("state record {id} reserved");
    // The cgroups a killed runtime left (their records are gone) go before we add ours; a
    // launch that makes none leaves them to the next one that does (it costs ≈ 0.2 ms).
    if plan.cgroup.is_some() {
        let live = |other: &str| store.dir(other).exists();
        cgroup_launch::sweep(&store.root, &live);
        crate::container::rootless_cgroup::sweep(&store.root, &live);
    }
    if args.detach {
        // The record outlives this process (see detach.rs); only a failed start removes it.
        let trace_caps = args.trace_caps.then(|| args.trace_caps_json.clone());
        return super::detach::run(container, &plan, args.rm, log_opts, trace_caps);
    }
    let trace_caps = match args.trace_caps {
        true => {
            let choice = seccomp_step::choice_from(&args.security_opt);
            // Read at launch already: failing now (a file changed since) only loses the rule's
            // name, never the run.
            let profile = choice
                .in_force(args.privileged, plan.caps.bounding)
                .unwrap_or_else(|e| {
                    let e = crate::error_chain::one_line(&e);
                    tracing::debug!("the seccomp rules are not named: {e}");
                    None
                });
            Some((args.trace_caps_json.as_deref(), profile))
        }
        false => None,
    };
    let result = launch_and_wait(&mut container, &plan, args.interactive, trace_caps);
    // The workload is dead by now (or never ran): its cgroup and record go with it.
    let removed = container.remove();
    step!("state record removed");
    let code = result?;
    removed?;
    Ok(code)
}

const SYS_PTRACE: u8 = 19;

/// Whether the container could end up with CAP_SYS_PTRACE: Docker's defaults lack it, so only
/// `--privileged` or a `--cap-add` of it or of "all" can give it (drops are ignored: erring
/// towards the sealed copy is safe). A name that does not parse is left to `plan_for`.
fn may_hold_sys_ptrace(args: &QuickArgs) -> bool {
    use names::CapName;
    args.privileged
        || names::parse_list(&args.cap_add, names::MAX_CAP).is_ok_and(|adds| {
            adds.iter()
                .any(|c| matches!(c, CapName::All | CapName::Cap(SYS_PTRACE)))
        })
}

fn launch_and_wait(
    container: &mut Container,
    plan: &Plan,
    interactive: bool,
    trace_caps: Option<(
        Option<&Path>,
        Option<crate::trace_caps::seccomp_verdict::InForce>,
    )>,
) -> Result<i32, Failure> {
    // -t: the pty is made inside the container; its master comes back over this socket pair.
    let console = match plan.terminal {
        true => Some(super::tty::socket()?),
        false => None,
    };
    let handles = Handles {
        console_socket: console.as_ref().map(|(_, theirs)| theirs.as_raw_fd()),
        console_size: super::tty::caller_size(),
        ..Handles::default()
    };
    let (json, profile) = trace_caps.unzip();
    let caps = container
        .spawn(plan, &handles)?
        .caps_tracer
        .take()
        .map(|t| t.start(true).with_seccomp(profile.flatten()));
    let result = wait_in_cgroup(container, plan, console, interactive);
    match (caps, json) {
        (Some(caps), Some(json)) => crate::trace_caps::report_at_exit(caps, json)
            .map_err(Failure::from)
            .and(result),
        _ => result,
    }
}

fn wait_in_cgroup(
    container: &mut Container,
    plan: &Plan,
    console: Option<(OwnedFd, OwnedFd)>,
    interactive: bool,
) -> Result<i32, Failure> {
    container.wait_ready()?;
    let master = match console {
        Some((ours, theirs)) => {
            drop(theirs);
            Some(super::tty::receive(&ours)?)
        }
        None => None,
    };
    if crate::trace::enabled() {
        let pid = container.child()?.pid.as_raw();
        crate::container::cap_trace::trace_after_execve(pid, plan.caps);
    }
    container.record_quick(plan)?;
    step!("state saved; waiting for the workload");
    let child = container.child()?;
    let code = match master {
        Some(master) => {
            // -i: the caller's terminal in raw mode until the workload exits.
            let _raw = match interactive {
                true => Some(super::tty::RawMode::enter()?),
                false => None,
            };
            super::tty::relay(child, master, interactive)?
        }
        None => launch::wait_exit(child)?,
    };
    step!("workload exited: status {code}");
    if let Some(line) = child
        .cgroup
        .as_ref()
        .and_then(|cg| cgroup_launch::oom_verdict(cg, code))
    {
        eprintln!("minirun: {line}");
    }
    Ok(code)
}
