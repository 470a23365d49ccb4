//! What both child paths (`init` for a new container, `exec_init` for a process joining one)
//! share: their context, how a failure is reported, and the steps they take alike. Each step
//! here is called, with the reason it comes where it does, from those two files.

use std::os::unix::fs::DirBuilderExt;

use super::hooks::HookState;
use super::hygiene;
use super::plan::Plan;
use super::program::{self, ExecFailure};
use super::protocol::{Channel, Message};
use crate::capability::apply::{self, Kernel};
use crate::capability::inspect;
use crate::step;
use anyhow::{Context, Result};
use nix::sys::signal::Signal;
use oci_spec::runtime::LinuxNamespaceType;
use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsFd, RawFd};
use std::path::PathBuf;

/// What the parent hands the child besides the plan.
pub struct ChildContext<'a> {
    pub plan: &'a Plan,
    /// The child's end of the protocol channel (close-on-exec: execve closes it, which is
    /// the parent's "started").
    pub channel: Channel,
    /// SIGKILL when the runtime dies.
    pub die_with_parent: bool,
    /// OCI create: the exec fifo to wait on before execve.
    pub start_gate: Option<RawFd>,
    /// Where the pty master goes (`--console-socket`).
    pub console_socket: Option<RawFd>,
    /// The pty's size (rows, columns), if the caller knows its window.
    pub console_size: Option<(u16, u16)>,
    /// Run the createContainer and startContainer hooks with this identity (only when the
    /// config has hooks).
    pub hooks: Option<&'a HookState>,
}

/// One child path: setup, then execve. Returns only by failing.
pub type Path = fn(&mut ChildContext) -> Result<Infallible, ExecFailure>;

/// Runs `path` in the child right after clone3; never returns. A failure is sent to the
/// parent as `Failed` and the child exits with its code.
pub fn run(mut ctx: ChildContext, path: Path) -> ! {
    let failure = match path(&mut ctx) {
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
    if ctx.channel.send(&msg, &[]).is_err() {
        eprintln!("minirun: {}", failure.message);
    }
    // SAFETY: _exit skips destructors and atexit handlers that belong to the parent's copy.
    unsafe { libc::_exit(failure.code as i32) }
}

/// A setup step's error as the child reports it: exit code 125, one line.
pub fn setup_failure(e: anyhow::Error) -> ExecFailure {
    ExecFailure {
        code: 125,
        message: format!("{e:#}"),
    }
}

/// The first steps: die with the runtime (before anything slow), a session of our own, and
/// turn non-dumpable.
pub fn first_steps(ctx: &ChildContext) -> Result<(), ExecFailure> {
    if ctx.die_with_parent {
        hygiene::die_with_parent().map_err(setup_failure)?;
        // A runtime killed between clone3 and the prctl above sent no death signal: we would
        // live on, unowned. Its end of the channel closed with it.
        if ctx.channel.peer_gone() {
            // SAFETY: leaving at once; nothing of this copy of the runtime needs to run.
            unsafe { libc::_exit(125) }
        }
    }
    // Our own session, before anything of the container can run with the caller's terminal
    // as its controlling tty (TIOCSTI; see hygiene::new_session).
    hygiene::new_session().map_err(setup_failure)?;
    // Until execve this process is the runtime's own binary, visible in the container's pid
    // namespace (CVE-2019-5736): see hygiene::set_non_dumpable. The `--init` reaper, which
    // never execs, stays protected. An unprivileged parent must still open our uid_map, which
    // non-dumpable hands to host root: then it comes after Proceed (`after_maps`).
    if super::rootless::parent_writes_maps_unprivileged(ctx.plan) {
        return Ok(());
    }
    hygiene::set_non_dumpable().map_err(setup_failure)
}

/// Non-dumpable, for a child whose maps an unprivileged parent wrote (see `first_steps`):
/// nothing of the container has run yet.
pub fn after_maps(ctx: &ChildContext) -> Result<(), ExecFailure> {
    if super::rootless::parent_writes_maps_unprivileged(ctx.plan) {
        hygiene::set_non_dumpable().map_err(setup_failure)?;
    }
    Ok(())
}

/// Waits for the parent's `Proceed` (it writes our uid/gid maps first); returns our host pid
/// and whether `CgroupsJoined` is still to come.
pub fn await_proceed(ctx: &ChildContext) -> Result<(i32, bool), ExecFailure> {
    match ctx
        .channel
        .expect("Proceed", |m| matches!(m, Message::Proceed { .. }))
        .context("waiting for the runtime")
        .map_err(setup_failure)?
    {
        Message::Proceed {
            host_pid,
            cgroups_pending,
        } => Ok((host_pid, cgroups_pending)),
        _ => unreachable!("expect() returned another message"),
    }
}

/// Waits until the parent has moved us into every v1 cgroup of the container.
pub fn await_cgroups(ctx: &ChildContext) -> Result<(), ExecFailure> {
    ctx.channel
        .expect("CgroupsJoined", |m| matches!(m, Message::CgroupsJoined))
        .context("waiting for the runtime to place us in our cgroups")
        .map_err(setup_failure)?;
    Ok(())
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
    match ctx.console_socket {
        Some(sock) if ctx.plan.terminal => {
            super::console::setup(sock, ctx.plan.identity.uid, ctx.console_size)
        }
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
pub fn capabilities_and_identity(plan: &Plan) -> Result<()> {
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
pub fn lookup_program(plan: &Plan) -> Result<PathBuf, ExecFailure> {
    program::lookup(&plan.args[0], program::path_of(&plan.env))
}

/// The last steps: close every fd the workload must not have (CVE-2024-21626), choose the
/// cwd, reset signal handling, execve. `keep` are close-on-exec fds still needed until then.
pub fn exec_workload(
    plan: &Plan,
    program: &std::path::Path,
    keep: &[RawFd],
) -> Result<Infallible, ExecFailure> {
    hygiene::close_fds_from(3 + plan.settings.preserve_fds, keep).map_err(setup_failure)?;
    enter_cwd(plan)?;
    let cmd = &plan.args[0];
    let argv = cstrings(&plan.args)?;
    let envp = cstrings(&plan.env)?;
    let path = CString::new(program.as_os_str().as_encoded_bytes())
        .map_err(|_| program::failure(cmd, nix::errno::Errno::EINVAL))?;
    step!("execve {} {:?}", program.display(), plan.args);
    hygiene::reset_signals();
    let errno = nix::unistd::execve(&path, &argv, &envp).unwrap_err();
    Err(program::failure(cmd, errno))
}

/// Makes sure the workload's cwd is a directory before `create` reports ready, so a bad cwd
/// is a create-time error rather than a workload that silently never runs after `start`.
/// A missing one is created (0755, as runc does); the chdir itself waits for `enter_cwd`,
/// after the fds are closed. Called inside the container's root: nothing here resolves on
/// the host.
pub fn prepare_cwd(plan: &Plan) -> Result<(), ExecFailure> {
    let cwd = &plan.cwd;
    let failure = |what: String| ExecFailure {
        code: 125,
        message: format!("working directory {:?}: {what}", cwd.display().to_string()),
    };
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
fn enter_cwd(plan: &Plan) -> Result<(), ExecFailure> {
    let cwd = &plan.cwd;
    nix::unistd::chdir(cwd).map_err(|e| ExecFailure {
        code: 125,
        message: format!(
            "working directory {:?}: {}",
            cwd.display().to_string(),
            e.desc().to_lowercase()
        ),
    })?;
    match nix::unistd::getcwd() {
        Ok(p) if p.is_absolute() => Ok(()),
        _ => Err(ExecFailure {
            code: 125,
            message: format!(
                "working directory {:?} is outside the container's root",
                cwd.display().to_string()
            ),
        }),
    }
}

fn cstrings(items: &[String]) -> Result<Vec<CString>, ExecFailure> {
    items
        .iter()
        .map(|s| {
            CString::new(s.as_bytes()).map_err(|_| ExecFailure {
                code: 125,
                message: format!("argument or environment value {s:?} contains a NUL byte"),
            })
        })
        .collect()
}
