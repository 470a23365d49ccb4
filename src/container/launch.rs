//! The parent's side: clone3 into new namespaces, the parent's half of the protocol (see
//! `protocol` for the whole sequence), signal forwarding, and the exit status.
//!
//! Signals to forward (and SIGCHLD) are blocked before clone3 and read from a signalfd, and the
//! child's exit is watched through the pidfd clone3 returns: no signal and no exit can be lost
//! in a race, however quickly the workload exits.

use super::child::ChildContext;
use super::error::{Context, Error, IntoStep, Result};
pub use super::handles::Handles;
use super::hooks::{self, HookState};
use super::plan::Plan;
use super::program::ExecFailure;
use super::protocol::{self, Channel, Message};
use super::{cgroup_launch, exec_init, init};
use crate::cgroups::{Cgroup, V1Tasks};
use crate::step;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use oci_spec::runtime::Hooks;
use oci_spec::runtime::LinuxNamespaceType;
use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};

/// Signals the runtime passes on to the container's PID 1, as docker run does.
pub const FORWARDED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// How far a launched child got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// It called execve: the workload runs.
    Exec,
    /// It waits at the start gate for `minirun start`.
    Gate,
}

/// A started container's PID 1 (or exec'd process), as seen from the runtime.
pub struct Child {
    pub pid: Pid,
    pub pidfd: OwnedFd,
    channel: Channel,
    /// The hooks the parent runs when the child asks (prestart, createRuntime), and the
    /// identity their state JSON carries.
    create_hooks: Option<(Hooks, HookState)>,
    /// Its cgroup (made by `spawn`, removed by whoever deletes the container).
    pub cgroup: Option<Cgroup>,
    /// Where a seccomp notify listener goes, and the identity its state JSON carries.
    seccomp_listener: Option<(super::seccomp_step::Listener, HookState)>,
    /// Attached, not yet reading (its thread must not exist at clone3: see `Tracer::start`).
    pub caps_tracer: Option<crate::trace_caps::Tracer>,
}

pub fn forwarded_set() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    set
}

/// Clones the child into its namespaces and runs its side of the protocol (`init` for a new
/// container, `exec_init` to join one). Returns once the parent's post-clone steps are done;
/// `wait_ready` then follows the child to execve or the start gate.
pub fn spawn(plan: &Plan, handles: &Handles) -> Result<Child, StartError> {
    let hooks = handles.hooks_for(plan);
    // Blocked before clone3, so a signal that arrives while the child starts is queued for
    // the signalfd instead of killing the runtime and orphaning the container.
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&forwarded_set()), None).context("blocking signals")?;
    let (parent_end, child_end) = protocol::pair()?;
    // Made and limited before the child exists: the workload never runs unconfined.
    let cgroup = plan
        .cgroup
        .as_ref()
        .map(cgroup_launch::prepare)
        .transpose()?
        .flatten();
    let (cgroup_fd, v1_tasks, caps_tracer) = match before_clone(plan, cgroup.as_ref()) {
        Ok(r) => r,
        Err(e) => {
            remove_made(cgroup.as_ref(), plan);
            return Err(e.into());
        }
    };

    let flags = plan.clone_flags();
    step!("clone3 flags {:#x} ({})", flags, flag_names(flags));
    let mut pidfd: RawFd = -1;
    let mut clone = clone_args(plan, cgroup_fd.as_ref(), &mut pidfd);
    // SAFETY: without CLONE_VM the child gets a copy of this single-threaded process and runs
    // only `init::run` or `exec_init::run`, which end in execve or _exit.
    let pid = match unsafe { clone.call() } {
        Ok(0) => {
            drop(parent_end);
            // For the /sys/fs/cgroup view: the child mounts the cgroup the parent made.
            if let Some(cg) = &cgroup {
                super::cgroup_view::remember(cg.paths(), cg.mode());
            }
            let ctx = ChildContext {
                plan,
                handles,
                channel: child_end,
                v1_tasks,
            };
            match plan.exec_root {
                Some(_) => exec_init::run(ctx),
                None => init::run(ctx),
            }
        }
        Ok(pid) => {
            // The child's copies are the ones it writes through.
            drop(v1_tasks);
            pid
        }
        Err(e) => {
            remove_made(cgroup.as_ref(), plan);
            let e = std::io::Error::from_raw_os_error(e.0);
            return Err(StartError::Runtime(
                e.into_step("clone3 into new namespaces".into()),
            ));
        }
    };
    // Ours closed, the child's end is the only one left: its execve (or death) is our EOF.
    drop(child_end);
    // SAFETY: clone3 stored a fresh pidfd we now own.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    let child = Child {
        pid: Pid::from_raw(pid),
        pidfd,
        channel: parent_end,
        create_hooks: hooks.map(|h| (plan.hooks.clone(), h.clone())),
        cgroup,
        seccomp_listener: plan
            .seccomp
            .as_ref()
            .and_then(|s| s.listener.clone())
            .map(|l| (l, handles.hooks.clone().unwrap_or_default())),
        caps_tracer,
    };
    if let Err(e) = after_clone(plan, &child) {
        // The child is blocked waiting for us: kill and reap it.
        let _ = kill(child.pid, Signal::SIGKILL);
        let _ = waitpid(child.pid, None);
        remove_made(child.cgroup.as_ref(), plan);
        return Err(e);
    }
    Ok(child)
}

/// The parent's steps between the cgroup and clone3: the v2 cgroup's fd to be born in, the
/// v1 `tasks` files the child moves itself in through (`cgroups::joins`), the capability
/// tracer, a joined pid namespace.
fn before_clone(
    plan: &Plan,
    cgroup: Option<&Cgroup>,
) -> Result<(Option<OwnedFd>, V1Tasks, Option<crate::trace_caps::Tracer>)> {
    let (cgroup_fd, v1_tasks) = match cgroup {
        Some(cg) => (cg.v2_fd()?, cg.open_v1_tasks()?),
        None => (None, V1Tasks::default()),
    };
    let caps_tracer = match plan.settings.trace_caps {
        true => Some(crate::trace_caps::for_cgroup(cgroup)?),
        false => None,
    };
    // A pid namespace is joined by the parent: setns(CLONE_NEWPID) applies to children only
    // (an unprivileged parent enters the container's user namespace first, as the kernel asks).
    super::rootless::join_user_namespace_for_pid(plan).map_err(Error::sibling)?;
    for ns in &plan.namespaces {
        if let (LinuxNamespaceType::Pid, Some(path)) = (ns.typ, &ns.path) {
            let f = std::fs::File::open(path)
                .with_context(|| format!("opening pid namespace {}", path.display()))?;
            nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWPID)
                .with_context(|| format!("joining pid namespace {}", path.display()))?;
        }
    }
    Ok((cgroup_fd, v1_tasks, caps_tracer))
}

/// clone3's arguments: a pidfd, SIGCHLD at exit, the namespaces to create, and the v2 cgroup
/// to be born in.
fn clone_args<'a>(
    plan: &Plan,
    cgroup_fd: Option<&'a OwnedFd>,
    pidfd: &'a mut RawFd,
) -> clone3::Clone3<'a> {
    let mut clone = clone3::Clone3::default();
    clone.flag_pidfd(pidfd).exit_signal(libc::SIGCHLD as u64);
    // Born in its v2 cgroup: no instant of the child's life is spent in ours.
    if let Some(fd) = cgroup_fd {
        clone.flag_into_cgroup(fd);
    }
    for ns in plan.namespaces.iter().filter(|n| n.path.is_none()) {
        match ns.typ {
            LinuxNamespaceType::Mount => clone.flag_newns(),
            LinuxNamespaceType::Pid => clone.flag_newpid(),
            LinuxNamespaceType::Uts => clone.flag_newuts(),
            LinuxNamespaceType::Ipc => clone.flag_newipc(),
            LinuxNamespaceType::Network => clone.flag_newnet(),
            LinuxNamespaceType::Cgroup => clone.flag_newcgroup(),
            LinuxNamespaceType::User => clone.flag_newuser(),
            LinuxNamespaceType::Time => clone.flag_newtime(),
        };
    }
    clone
}

/// Removes the cgroup this launch made (not one it joined) after a failure.
fn remove_made(cgroup: Option<&Cgroup>, plan: &Plan) {
    if let (Some(cg), Some(cgroup_launch::Request::Create { .. })) = (cgroup, &plan.cgroup) {
        let _ = cg.remove();
    }
}

/// The parent's steps between clone3 and `Proceed`.
fn after_clone(plan: &Plan, child: &Child) -> Result<(), StartError> {
    let pid = child.pid.as_raw();
    if plan.creates(LinuxNamespaceType::User) {
        // Root writes any mapping; an unprivileged caller its own id or through newuidmap.
        super::rootless::write_maps(pid, &plan.uid_mappings, &plan.gid_mappings)
            .map_err(Error::sibling)?;
    }
    let Err(e) = child.channel.send(&Message::Proceed { host_pid: pid }, &[]) else {
        return Ok(());
    };
    // EPIPE: the child failed before it read Proceed, and closed its end with its Failed
    // unread; that says why, the EPIPE does not. (Only then: a live child sends nothing
    // before Proceed, and the read would wait for it.)
    if peer_closed(&e)
        && let Ok(Some(protocol::Received {
            message: Message::Failed { code, message },
            ..
        })) = child.channel.recv()
    {
        return Err(StartError::Child(ExecFailure { code, message }));
    }
    Err(e.into_step("releasing the container init".into()).into())
}

/// Whether a send failed because the peer closed its end: `sendmsg`'s own EPIPE.
fn peer_closed(e: &Error) -> bool {
    matches!(e, Error::Nix(s) if s.source == nix::errno::Errno::EPIPE)
}

/// Why a launch did not reach execve or the start gate, and so the exit status it ends with.
/// Not a `std::error::Error`, like the `ExecFailure` it may hold: `?` cannot fold it into
/// another error's chain and lose the code (see `program::ExecFailure`).
#[derive(Debug)]
pub enum StartError {
    /// The child stopped short of execve and said why, with Docker's exit code.
    Child(ExecFailure),
    /// The runtime's own side failed (the child, if any, is killed and reaped): 125.
    Runtime(Error),
}

impl StartError {
    /// Docker's exit status: the child's own code, or 125 for the runtime's failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Child(f) => f.exit_code(),
            StartError::Runtime(_) => 125,
        }
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Child(e) => e.fmt(f),
            StartError::Runtime(e) => f.write_str(&crate::error_chain::one_line(e)),
        }
    }
}

impl From<Error> for StartError {
    fn from(e: Error) -> Self {
        StartError::Runtime(e)
    }
}

/// Follows the child until it has called execve (end-of-file on the channel) or reached the
/// start gate, answering its requests on the way. On failure, the child is reaped and the
/// error says whose failure it was (`StartError`).
pub fn wait_ready(child: &mut Child) -> Result<Reached, StartError> {
    loop {
        let (msg, fds) = match child.channel.recv() {
            Ok(Some(r)) => (r.message, r.fds),
            Ok(None) => return Ok(Reached::Exec),
            Err(e) => return Err(kill_and_reap(child, e).into()),
        };
        match msg {
            Message::AtStartGate => return Ok(Reached::Gate),
            Message::Failed { code, message } => {
                let _ = waitpid(child.pid, None);
                return Err(StartError::Child(ExecFailure { code, message }));
            }
            Message::RunCreateHooks => {
                if let Err(e) = run_create_hooks(child) {
                    return Err(kill_and_reap(child, e).into());
                }
            }
            Message::SeccompListener => {
                if let Err(e) = hand_seccomp_listener(child, fds) {
                    return Err(kill_and_reap(child, e).into());
                }
            }
            other => {
                let e = refused!("the container init sent {} out of turn", other.name());
                return Err(kill_and_reap(child, e).into());
            }
        }
    }
}

fn kill_and_reap(child: &Child, e: Error) -> Error {
    let _ = kill(child.pid, Signal::SIGKILL);
    let _ = waitpid(child.pid, None);
    e
}

/// prestart and createRuntime, in the runtime's namespaces (they may configure the
/// container's, e.g. its network), then tell the child to go on.
fn run_create_hooks(child: &Child) -> Result<()> {
    let Some((list, who)) = &child.create_hooks else {
        bail!("the container init asked for hooks, but there are none");
    };
    // "created", as runtime-tools and crun give these hooks (only createContainer, run in the
    // container before pivot_root, sees "creating").
    let state = who.state_json("created", child.pid.as_raw());
    #[allow(deprecated)]
    let prestart = list.prestart().clone().unwrap_or_default();
    hooks::run("prestart", &prestart, &state)?;
    let create_runtime = list.create_runtime().clone().unwrap_or_default();
    hooks::run("createRuntime", &create_runtime, &state)?;
    child.channel.send(&Message::CreateHooksDone, &[])
}

impl Child {
    /// Tells a child at the start gate that its state record is saved: only then does it
    /// block on the exec fifo (see `Message::Recorded`).
    pub fn recorded(&self) -> Result<()> {
        self.channel.send(&Message::Recorded, &[])
    }
}

/// The listener fd the child sent, to `linux.seccomp.listenerPath` with the state "creating".
fn hand_seccomp_listener(child: &Child, fds: Vec<OwnedFd>) -> Result<()> {
    let Some((listener, who)) = &child.seccomp_listener else {
        bail!("the container init sent a seccomp listener nobody asked for");
    };
    let fd = fds
        .into_iter()
        .next()
        .ok_or_else(|| refused!("SeccompListener came without its fd"))?;
    let pid = child.pid.as_raw();
    super::seccomp_step::hand_listener(listener, fd, &who.state_json("creating", pid), pid)?;
    Ok(())
}

/// Forwards signals to the child until it exits; returns its status as a shell would: the exit
/// code, or 128+N when killed by signal N.
pub fn wait_exit(child: &Child) -> Result<i32> {
    let sfd = SignalFd::with_flags(
        &forwarded_set(),
        SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK,
    )
    .context("creating a signalfd")?;
    loop {
        let mut fds = [
            PollFd::new(child.pidfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => r.context("poll")?,
        };
        if fds[1].any().unwrap_or(false) {
            while let Ok(Some(info)) = sfd.read_signal() {
                if let Ok(sig) = Signal::try_from(info.ssi_signo as i32)
                    && sig != Signal::SIGCHLD
                {
                    step!("forward {sig} to {}", child.pid);
                    let _ = kill(child.pid, sig);
                }
            }
        }
        if fds[0].any().unwrap_or(false) {
            return match waitpid(child.pid, None).context("waiting for the container")? {
                WaitStatus::Exited(_, code) => Ok(code),
                WaitStatus::Signaled(_, sig, _) => Ok(128 + sig as i32),
                other => bail!("unexpected wait status {other:?}"),
            };
        }
    }
}

fn flag_names(flags: u64) -> String {
    [
        (libc::CLONE_NEWNS, "NEWNS"),
        (libc::CLONE_NEWPID, "NEWPID"),
        (libc::CLONE_NEWUTS, "NEWUTS"),
        (libc::CLONE_NEWIPC, "NEWIPC"),
        (libc::CLONE_NEWNET, "NEWNET"),
        (libc::CLONE_NEWCGROUP, "NEWCGROUP"),
        (libc::CLONE_NEWUSER, "NEWUSER"),
        (libc::CLONE_NEWTIME, "NEWTIME"),
    ]
    .iter()
    .filter(|(f, _)| flags & (*f as u64) != 0)
    .map(|(_, n)| *n)
    .collect::<Vec<_>>()
    .join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `after_clone` reads the child's Failed only when its Proceed met a closed end: the
    /// typed match must still see sendmsg's EPIPE under the step that names the send.
    #[test]
    fn a_send_to_a_closed_end_is_peer_closed_and_nothing_else_is() {
        let (parent, child) = protocol::pair().unwrap();
        drop(child);
        let e = parent
            .send(&Message::Proceed { host_pid: 1 }, &[])
            .unwrap_err();
        assert!(peer_closed(&e), "{}", crate::error_chain::one_line(&e));
        assert_eq!(
            crate::error_chain::one_line(&e),
            "sending Proceed: EPIPE: Broken pipe"
        );
        assert!(!peer_closed(&refused!("sending Proceed: EPIPE")));
    }
}
