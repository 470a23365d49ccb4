//! What both child paths (`init` for a new container, `exec_init` for a process joining one)
//! share: their context, their error, the steps they take alike, and the tail both end in
//! (`confine_and_exec`). Each step is called, with the reason it comes where it does, from
//! those two files.

use std::os::unix::fs::DirBuilderExt;

use super::error::{Context, Error, Result};
use super::handles::Handles;
use super::hooks::HookState;
use super::leak_guards;
use super::plan::Plan;
use super::program::{self, ExecFailure};
use super::protocol::{Channel, Message};
use super::seccomp_step;
use crate::capability::apply::{self, Kernel};
use crate::capability::inspect;
use crate::cgroups::V1Tasks;
use crate::step;
use nix::sys::signal::Signal;
use oci_spec::runtime::LinuxNamespaceType;
use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

/// What the parent hands the child: the plan and this launch's options, read in place.
pub struct ChildContext<'a> {
    pub plan: &'a Plan,
    pub handles: &'a Handles,
    /// The child's end of the protocol channel (close-on-exec: execve closes it, which is
    /// the parent's "started").
    pub channel: Channel,
    /// The container's v1 `tasks` files, which the child moves itself in through
    /// (`join_v1_cgroups`); empty once it has.
    pub v1_tasks: V1Tasks,
}

impl ChildContext<'_> {
    /// Run the createContainer and startContainer hooks with this identity (only when the
    /// config has hooks).
    pub fn hooks(&self) -> Option<&HookState> {
        self.handles.hooks_for(self.plan)
    }
}

/// Why the child stopped short of execve: Docker's exit code (125 setup, 126 cannot execute,
/// 127 not found) and one line, which the parent prints. Every setup step's error converts
/// to it, so each step is a plain `step()?`: whatever becomes a `container::Error` (another
/// folder's typed error too) is a setup failure (125), an `ExecFailure` keeps its own code (it
/// cannot hide inside an error chain: see its doc).
#[derive(Debug)]
pub struct ChildError(pub ExecFailure);

/// Through `container::Error`, so that a step may return any error the folder's error
/// holds: `?` takes one conversion only. (`ExecFailure` has none into it, so no overlap.)
impl<E: Into<Error>> From<E> for ChildError {
    fn from(e: E) -> Self {
        ChildError(ExecFailure {
            code: 125,
            message: crate::error_chain::one_line(&e.into()),
        })
    }
}

impl From<ExecFailure> for ChildError {
    fn from(f: ExecFailure) -> Self {
        ChildError(f)
    }
}

/// One child path: setup, then execve. Returns only by failing.
pub type Path = fn(&mut ChildContext) -> Result<Infallible, ChildError>;

/// Runs `path` in the child right after clone3; never returns. A failure is sent to the
/// parent as `Failed` and the child exits with its code.
pub fn run(mut ctx: ChildContext, path: Path) -> ! {
    let ChildError(failure) = match path(&mut ctx) {
        Ok(never) => match never {},
        Err(f) => f,
    };
    // After `create` has returned nobody reads the channel: the send then fails with EPIPE
    // (MSG_NOSIGNAL), and the message goes to the container's stderr, where the caller
    // (conmon, the shim) collects it; writing that must not kill us with SIGPIPE either
    // (execve's failure path has reset the disposition).
    // SAFETY: ignoring a signal installs no handler code.
    unsafe {
        let _ = nix::sys::signal::signal(Signal::SIGPIPE, nix::sys::signal::SigHandler::SigIgn);
    }
    let msg = Message::Failed {
        code: failure.code,
        message: failure.message.clone(),
    };
    // Not tracing: the runtime whose subscriber would format it has gone, and this line is
    // the container's stderr, read by conmon or the shim, in the runtime's own error form.
    if ctx.channel.send(&msg, &[]).is_err() {
        eprintln!("minirun: {}", failure.message);
    }
    // SAFETY: _exit skips destructors and atexit handlers that belong to the parent's copy.
    unsafe { libc::_exit(failure.code as i32) }
}

/// The first steps: die with the runtime (before anything slow), a session of our own, and
/// turn non-dumpable.
pub fn first_steps(ctx: &ChildContext) -> Result<()> {
    if ctx.plan.settings.die_with_parent {
        leak_guards::die_with_parent()?;
        // A runtime killed between clone3 and the prctl above sent no death signal: we would
        // live on, unowned. Its end of the channel closed with it.
        if ctx.channel.peer_gone() {
            // SAFETY: leaving at once; nothing of this copy of the runtime needs to run.
            unsafe { libc::_exit(125) }
        }
    }
    // Our own session, before anything of the container can run with the caller's terminal
    // as its controlling tty (TIOCSTI; see leak_guards::new_session).
    leak_guards::new_session()?;
    // Until execve this process is the runtime's own binary, visible in the container's pid
    // namespace (CVE-2019-5736): see leak_guards::set_non_dumpable. The `--init` reaper, which
    // never execs, stays protected. An unprivileged parent must still open our uid_map, which
    // non-dumpable hands to host root: then it comes after Proceed (`after_maps`).
    if super::rootless::parent_writes_maps_unprivileged(ctx.plan) {
        return Ok(());
    }
    leak_guards::set_non_dumpable()?;
    Ok(())
}

/// Non-dumpable, for a child whose maps an unprivileged parent wrote (see `first_steps`):
/// nothing of the container has run yet.
pub fn after_maps(ctx: &ChildContext) -> Result<()> {
    if super::rootless::parent_writes_maps_unprivileged(ctx.plan) {
        leak_guards::set_non_dumpable()?;
    }
    Ok(())
}

/// Waits for the parent's `Proceed` (it writes our uid/gid maps first); returns our host pid.
pub fn await_proceed(ctx: &ChildContext) -> Result<i32> {
    match ctx
        .channel
        .expect("Proceed", |m| matches!(m, Message::Proceed { .. }))
        .context("waiting for the runtime")?
    {
        Message::Proceed { host_pid } => Ok(host_pid),
        _ => unreachable!("expect() returned another message"),
    }
}

/// Into the container's v1 cgroups (clone3 put us in the v2 one): we write "0" to each
/// `tasks` file the parent opened, which moves this one thread (all of us) without waiting
/// for an RCU grace period (see `cgroups::joins`), and close them all.
pub fn join_v1_cgroups(ctx: &mut ChildContext) -> Result<()> {
    let tasks = std::mem::take(&mut ctx.v1_tasks);
    if tasks.is_empty() {
        return Ok(());
    }
    let n = tasks.len();
    tasks
        .join_self()
        .context("moving into the container's cgroup")?;
    step!("in its cgroup in {n} v1 hierarchies");
    Ok(())
}

/// The tail both paths end in, once inside the container's root and cgroups: what confines
/// the process, in the one order that works, then execve. `before_exec` runs between the
/// last confinement and execve (`init`'s start gate) and returns an fd to hold open until
/// execve closes it (close-on-exec).
pub fn confine_and_exec(
    ctx: &ChildContext,
    before_exec: impl FnOnce(&ChildContext) -> Result<Option<OwnedFd>, ChildError>,
) -> Result<Infallible, ChildError> {
    let plan = ctx.plan;

    // The pty comes from the container's own devpts, so after entering the root.
    terminal(ctx)?;

    // Process limits while we are still root with every capability: raising a hard limit or
    // lowering oom_score_adj needs CAP_SYS_RESOURCE, which the capability step may drop.
    limits(plan)?;

    // The seccomp filter without no_new_privs: the kernel takes it only from a holder of
    // CAP_SYS_ADMIN, which the capability step may drop; so now, as runc does (Docker's
    // profile lets the remaining setup calls through).
    if !plan.no_new_privs {
        seccomp_step::install(plan, &ctx.channel)?;
    }

    // Capabilities and identity, in crun's order (see capability::apply).
    capabilities_and_identity(plan)?;

    // Look the program up as the workload's user, after the identity switch, so that
    // "permission denied" is what the workload itself would get; and before the start gate,
    // so that `create` reports it.
    let program = lookup_program(plan)?;

    // With no_new_privs, the filter as late as it can go, so the fewest setup calls pass
    // through it: before the start gate, because a listener fd still goes to the parent.
    if plan.no_new_privs {
        seccomp_step::install(plan, &ctx.channel)?;
    }

    // The caller's last steps (OCI create's start gate), confined as the workload will be.
    let held = before_exec(ctx)?;

    // No fd of the runtime may reach the workload (CVE-2024-21626): all but 0-2, the
    // preserved ones, the channel and what `before_exec` holds (both close-on-exec) are
    // closed before the workload's cwd is chosen; then execve.
    let mut keep: Vec<RawFd> = vec![ctx.channel.raw_fd()];
    keep.extend(held.as_ref().map(AsRawFd::as_raw_fd));
    exec_workload(plan, &program, &keep)
}

/// setns into every namespace the plan names by path (except pid, joined by the parent).
pub fn join_namespaces(plan: &Plan) -> Result<()> {
    // Open every path first: once a mount namespace is joined, a path like /proc/PID/ns/net
    // would resolve in the container's /proc and name another process.
    let mut fds = Vec::new();
    for ns in &plan.namespaces {
        let (Some(path), false) = (&ns.path, ns.typ == LinuxNamespaceType::Pid) else {
            continue;
        };
        // An unprivileged parent joined it already (`rootless::join_user_namespace_for_pid`),
        // and setns into the namespace one is in is EINVAL.
        if ns.typ == LinuxNamespaceType::User && super::rootless::is_current_user_ns(path) {
            continue;
        }
        let fd = nix::fcntl::open(
            path,
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .with_context(|| format!("opening namespace {}", path.display()))?;
        fds.push((ns, path, fd));
    }
    // The user namespace first: it grants the capabilities the other setns calls need.
    fds.sort_by_key(|(ns, _, _)| ns.typ != LinuxNamespaceType::User);
    for (ns, path, fd) in fds {
        nix::sched::setns(
            fd.as_fd(),
            nix::sched::CloneFlags::from_bits_truncate(super::plan::ns_flag(ns.typ)),
        )
        .with_context(|| format!("joining {:?} namespace {}", ns.typ, path.display()))?;
        step!("setns {:?} {}", ns.typ, path.display());
    }
    Ok(())
}

/// A terminal: a pty from the container's own devpts (so the workload can reopen it by its
/// /dev/pts name), made our controlling tty and stdio; the master goes to the caller.
pub fn terminal(ctx: &ChildContext) -> Result<()> {
    match ctx.handles.console_socket {
        Some(sock) if ctx.plan.terminal => Ok(super::console::setup(
            sock,
            ctx.plan.identity.uid,
            ctx.handles.console_size,
        )?),
        _ => Ok(()),
    }
}

/// rlimits, oom_score_adj and umask.
pub fn limits(plan: &Plan) -> Result<()> {
    for r in &plan.rlimits {
        let lim = libc::rlimit {
            rlim_cur: r.soft,
            rlim_max: r.hard,
        };
        // SAFETY: `lim` is a valid rlimit that outlives the call.
        let rc = unsafe { libc::setrlimit(r.resource as _, &lim) };
        nix::errno::Errno::result(rc).with_context(|| {
            format!(
                "setting {} to {}:{} (raising a hard limit needs CAP_SYS_RESOURCE, which this host may withhold)",
                r.name, r.soft, r.hard
            )
        })?;
        step!("setrlimit {} {}:{}", r.name, r.soft, r.hard);
    }
    if let Some(adj) = plan.oom_score_adj {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .with_context(|| format!("setting oom_score_adj to {adj}"))?;
    }
    if let Some(mask) = plan.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    Ok(())
}

/// Capabilities and identity, in crun's order (see capability::apply).
fn capabilities_and_identity(plan: &Plan) -> Result<()> {
    let mut kernel = Kernel {
        on_step: |s: &str| trace_sets(s),
    };
    apply::apply(
        &mut kernel,
        &plan.caps,
        &plan.identity,
        plan.no_new_privs,
        plan.last_cap,
    )
    .map_err(|e| seccomp_step::blame_for_setup(plan, e.into()))?;
    Ok(())
}

fn trace_sets(stage: &str) {
    if crate::trace::enabled()
        && let Ok(s) = inspect::read_status(None)
    {
        crate::trace::emit(format_args!(
            "{stage}: bounding=[{}] effective=[{}] permitted=[{}] inheritable=[{}] ambient=[{}]",
            s.bounding.names(),
            s.effective.names(),
            s.permitted.names(),
            s.inheritable.names(),
            s.ambient.names()
        ));
        // The same step as a grid, with what this step changed (issue 14).
        super::cap_trace::trace_step(s);
    }
}

/// The workload's program, looked up on its PATH.
fn lookup_program(plan: &Plan) -> Result<PathBuf, ExecFailure> {
    program::lookup(&plan.args[0], program::path_of(&plan.env))
}

/// The last steps: close every fd the workload must not have (CVE-2024-21626), choose the
/// cwd, reset signal handling, execve. `keep` are close-on-exec fds still needed until then.
fn exec_workload(
    plan: &Plan,
    program: &std::path::Path,
    keep: &[RawFd],
) -> Result<Infallible, ChildError> {
    leak_guards::close_fds_from(3 + plan.settings.preserve_fds, keep)?;
    enter_cwd(plan)?;
    let cmd = &plan.args[0];
    let argv = cstrings(&plan.args)?;
    let envp = cstrings(&plan.env)?;
    let path = CString::new(program.as_os_str().as_encoded_bytes())
        .map_err(|_| program::failure(cmd, nix::errno::Errno::EINVAL))?;
    step!("execve {} {:?}", program.display(), plan.args);
    leak_guards::reset_signals();
    let errno = nix::unistd::execve(&path, &argv, &envp).unwrap_err();
    Err(program::failure(cmd, errno).into())
}

/// Makes sure the workload's cwd is a directory before `create` reports ready, so a bad cwd
/// is a create-time error rather than a workload that silently never runs after `start`.
/// A missing one is created (0755, as runc does); the chdir itself waits for `enter_cwd`,
/// after the fds are closed. Called inside the container's root: nothing here resolves on
/// the host.
pub fn prepare_cwd(plan: &Plan) -> Result<()> {
    let cwd = &plan.cwd;
    let failure =
        |what: String| refused!("working directory {:?}: {what}", cwd.display().to_string());
    match std::fs::metadata(cwd) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(failure("not a directory".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(cwd)
                .map_err(|e| failure(format!("cannot be created: {e}")))?;
            step!("mkdir -p {} (the cwd)", cwd.display());
            Ok(())
        }
        Err(e) => Err(failure(e.to_string().to_lowercase())),
    }
}

/// chdir to the workload's cwd, then check the result is inside the container's root: a cwd
/// that resolves outside it (through an fd that should not exist) is refused.
fn enter_cwd(plan: &Plan) -> Result<()> {
    let cwd = &plan.cwd;
    if let Err(e) = nix::unistd::chdir(cwd) {
        bail!(
            "working directory {:?}: {}",
            cwd.display().to_string(),
            e.desc().to_lowercase()
        );
    }
    match nix::unistd::getcwd() {
        Ok(p) if p.is_absolute() => Ok(()),
        _ => bail!(
            "working directory {:?} is outside the container's root",
            cwd.display().to_string()
        ),
    }
}

fn cstrings(items: &[String]) -> Result<Vec<CString>> {
    items
        .iter()
        .map(|s| {
            CString::new(s.as_bytes())
                .map_err(|_| refused!("argument or environment value {s:?} contains a NUL byte"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setup_error_exits_125_with_its_whole_chain_on_one_line() {
        let e = Err::<(), _>(nix::errno::Errno::EPERM)
            .context("sethostname \"x\"")
            .context("setting the names");
        let ChildError(f) = e.unwrap_err().into();
        assert_eq!(f.code, 125);
        assert_eq!(
            f.message,
            "setting the names: sethostname \"x\": EPERM: Operation not permitted"
        );
        // Another folder's typed error too, with one `?`.
        let ChildError(f) = crate::cgroups::Error::Refused("no pids controller".into()).into();
        assert_eq!((f.code, f.message.as_str()), (125, "no pids controller"));
    }

    /// A step that failed to execute the workload keeps Docker's 126/127 through `?`.
    #[test]
    fn an_exec_failure_keeps_its_code() {
        let ChildError(f) = program::not_found("nope").into();
        assert_eq!(f.code, 127);
        let ChildError(f) = program::failure("x", nix::errno::Errno::EACCES).into();
        assert_eq!(
            (f.code, f.message.as_str()),
            (126, "exec: \"x\": permission denied")
        );
    }
}
