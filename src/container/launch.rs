//! The parent's side: clone3 into new namespaces, learn whether the workload started, forward
//! signals, and return its exit status.
//!
//! Signals to forward (and SIGCHLD) are blocked before clone3 and read from a signalfd, and the
//! child's exit is watched through the pidfd clone3 returns: no signal and no exit can be lost
//! in a race, however quickly the workload exits.

use super::init::{self, ChildContext};
use super::plan::Plan;
use super::program::ExecFailure;
use crate::step;
use anyhow::{Context, Result};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use oci_spec::runtime::LinuxNamespaceType;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

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

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub no_pivot: bool,
    pub init: bool,
    pub die_with_parent: bool,
    pub start_gate: Option<RawFd>,
    pub preserve_fds: u32,
    pub last_cap: u8,
}

/// What an OCI launch adds to `Options`: none of it is used by the quick form.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// A connected unix socket: the child sends its pty master over it (`--console-socket`).
    pub console_socket: Option<RawFd>,
    /// Run the config's hooks, with this container's identity in their state JSON.
    pub hooks: Option<HookContext>,
    /// Give the container a session keyring of its own (runc's default; `--no-new-keyring`).
    pub new_keyring: bool,
}

/// What a hook's state JSON says besides status and pid.
#[derive(Debug, Clone, Default)]
pub struct HookContext {
    pub id: String,
    pub bundle: String,
    pub annotations: BTreeMap<String, String>,
}

impl HookContext {
    /// The OCI state a hook reads on stdin.
    pub fn state_json(&self, status: &str, pid: i32) -> Vec<u8> {
        serde_json::json!({
            "ociVersion": "1.0.2",
            "id": self.id,
            "status": status,
            "pid": pid,
            "bundle": self.bundle,
            "annotations": self.annotations,
        })
        .to_string()
        .into_bytes()
    }
}

/// First byte the child writes on the report pipe when it waits at the start gate (OCI
/// create). Failure codes are 125..=127, so 0 cannot be confused with one.
pub const READY_AT_GATE: u8 = 0;

/// Messages on the parent/child sync socket.
pub mod sync {
    /// child → parent: mounts are done, before pivot_root: run prestart/createRuntime hooks.
    pub const HOOKS: u8 = b'H';
    /// parent → child: the hooks ran; go on.
    pub const HOOKS_DONE: u8 = b'G';
}

/// How far a launched child got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// It called execve: the workload runs.
    Exec,
    /// It waits at the start gate for `minirun start`.
    Gate,
}

/// A started container's PID 1, as seen from the runtime.
pub struct Child {
    pub pid: Pid,
    pub pidfd: OwnedFd,
    report: std::fs::File,
}

fn forwarded_set() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    set
}

/// Clones the container's PID 1 and lets it run `init`. Returns once the clone exists; use
/// `wait_started` to learn whether it reached execve.
pub fn spawn(plan: &Plan, opts: &Options) -> Result<Child> {
    spawn_with(plan, opts, &Extras::default())
}

/// `spawn` with the OCI extras: console socket, hooks, keyring.
///
/// When the plan creates a user namespace or has hooks, parent and child talk over a sync
/// socket: the child first waits for the parent to write its uid/gid maps and tell it its
/// host pid; later, with its mounts done and before pivot_root, it asks the parent to run
/// the prestart and createRuntime hooks (in the runtime's namespaces) and waits for them.
pub fn spawn_with(plan: &Plan, opts: &Options, extras: &Extras) -> Result<Child> {
    let creates_user = plan.creates(LinuxNamespaceType::User);
    let hook_ctx = extras.hooks.as_ref().filter(|_| has_hooks(plan));
    let needs_sync = creates_user || hook_ctx.is_some();
    // Blocked before clone3, so a signal that arrives while the child starts is queued for
    // the signalfd instead of killing the runtime and orphaning the container.
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&forwarded_set()), None).context("blocking signals")?;

    let (report_r, report_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("creating the report pipe")?;
    // std creates unix sockets close-on-exec.
    let (mut sync_parent, sync_child) = match needs_sync {
        true => {
            let (a, b) = UnixStream::pair().context("creating the sync socket")?;
            (Some(a), Some(b))
        }
        false => (None, None),
    };

    // A pid namespace is joined by the parent: setns(CLONE_NEWPID) applies to children only.
    for ns in &plan.namespaces {
        if let (LinuxNamespaceType::Pid, Some(path)) = (ns.typ, &ns.path) {
            let f = std::fs::File::open(path)
                .with_context(|| format!("opening pid namespace {}", path.display()))?;
            nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWPID)
                .with_context(|| format!("joining pid namespace {}", path.display()))?;
        }
    }

    let flags = plan.clone_flags();
    step!("clone3 flags {:#x} ({})", flags, flag_names(flags));
    let mut pidfd: RawFd = -1;
    let mut clone = clone3::Clone3::default();
    clone
        .flag_pidfd(&mut pidfd)
        .exit_signal(libc::SIGCHLD as u64);
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
    // SAFETY: without CLONE_VM the child gets a copy of this single-threaded process and runs
    // only `init::run`, which ends in execve or _exit.
    let pid = match unsafe { clone.call() } {
        Ok(0) => {
            drop(report_r);
            drop(sync_parent);
            let ctx = ChildContext {
                plan,
                report: report_w.as_raw_fd(),
                opts,
                extras,
                sync: sync_child,
                hooks: hook_ctx,
            };
            std::mem::forget(report_w);
            init::run(ctx)
        }
        Ok(pid) => pid,
        Err(e) => {
            return Err(anyhow::Error::new(std::io::Error::from_raw_os_error(e.0)))
                .context("clone3 into new namespaces");
        }
    };
    drop(report_w);
    drop(sync_child);
    // SAFETY: clone3 stored a fresh pidfd we now own.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    let child = Child {
        pid: Pid::from_raw(pid),
        pidfd,
        report: report_r.into(),
    };
    if let Some(sock) = sync_parent.as_mut()
        && let Err(e) = parent_sync(plan, &child, sock, hook_ctx)
    {
        // The child may be blocked on us: kill it, reap it, and report what went wrong
        // (its own error if it wrote one, else ours).
        let _ = kill(child.pid, Signal::SIGKILL);
        let _ = waitpid(child.pid, None);
        return Err(e);
    }
    Ok(child)
}

fn has_hooks(plan: &Plan) -> bool {
    #[allow(deprecated)]
    let prestart = plan.hooks.prestart();
    let h = &plan.hooks;
    [
        prestart,
        h.create_runtime(),
        h.create_container(),
        h.start_container(),
    ]
    .iter()
    .any(|l| l.as_ref().is_some_and(|l| !l.is_empty()))
}

/// The parent's half of the sync protocol (see `spawn_with`).
fn parent_sync(
    plan: &Plan,
    child: &Child,
    sock: &mut UnixStream,
    hooks: Option<&HookContext>,
) -> Result<()> {
    let pid = child.pid.as_raw();
    if plan.creates(LinuxNamespaceType::User) {
        // gid_map before the child can call setgroups; as root in the parent namespace no
        // "setgroups deny" is needed.
        for (file, maps) in [
            ("uid_map", &plan.uid_mappings),
            ("gid_map", &plan.gid_mappings),
        ] {
            let path = format!("/proc/{pid}/{file}");
            std::fs::write(&path, super::plan::id_map_text(maps))
                .with_context(|| format!("writing {path}"))?;
            step!("wrote {file} {:?}", super::plan::id_map_text(maps));
        }
    }
    sock.write_all(&pid.to_le_bytes())
        .context("sync with the container init")?;
    let Some(hooks) = hooks else { return Ok(()) };
    let mut b = [0u8; 1];
    match sock.read(&mut b) {
        // The child failed before its mounts were done; wait_started reports why.
        Ok(0) | Err(_) => return Ok(()),
        Ok(_) if b[0] == sync::HOOKS => {}
        Ok(_) => anyhow::bail!("sync with the container init: unexpected message {}", b[0]),
    }
    let state = hooks.state_json("creating", pid);
    #[allow(deprecated)]
    let prestart = plan.hooks.prestart().clone().unwrap_or_default();
    super::hooks::run("prestart", &prestart, &state)?;
    let create_runtime = plan.hooks.create_runtime().clone().unwrap_or_default();
    super::hooks::run("createRuntime", &create_runtime, &state)?;
    // A child that died meanwhile is reported by wait_started.
    let _ = sock.write_all(&[sync::HOOKS_DONE]);
    Ok(())
}

/// Waits until the child has called execve (the report pipe closes) or failed (it writes its
/// error). On failure, reaps the child and returns the error with Docker's exit code.
pub fn wait_started(child: &mut Child) -> Result<(), ExecFailure> {
    wait_ready(child).map(drop)
}

/// Waits until the child has called execve or reached the start gate; on failure, reaps it
/// and returns its error.
pub fn wait_ready(child: &mut Child) -> Result<Reached, ExecFailure> {
    let mut first = [0u8; 1];
    let n = loop {
        match child.report.read(&mut first) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => break r.unwrap_or(0),
        }
    };
    if n == 0 {
        return Ok(Reached::Exec);
    }
    if first[0] == READY_AT_GATE {
        return Ok(Reached::Gate);
    }
    let mut rest = Vec::new();
    let _ = child.report.read_to_end(&mut rest);
    let _ = waitpid(child.pid, None);
    Err(ExecFailure {
        code: first[0],
        message: String::from_utf8_lossy(&rest).into_owned(),
    })
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
                other => anyhow::bail!("unexpected wait status {other:?}"),
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
