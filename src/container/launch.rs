//! The parent's side: clone3 into new namespaces, learn whether the workload started, forward
//! signals, and return its exit status.
//!
//! Signals to forward (and SIGCHLD) are blocked before clone3 and read from a signalfd, and the
//! child's exit is watched through the pidfd clone3 returns: no signal and no exit can be lost
//! in a race, however quickly the workload exits.

use super::exec::ExecFailure;
use super::init::{self, ChildContext};
use super::plan::Plan;
use crate::step;
use anyhow::{Context, Result};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use oci_spec::runtime::LinuxNamespaceType;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

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
    // Blocked before clone3, so a signal that arrives while the child starts is queued for
    // the signalfd instead of killing the runtime and orphaning the container.
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&forwarded_set()), None).context("blocking signals")?;

    let (report_r, report_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("creating the report pipe")?;

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
            let ctx = ChildContext {
                plan,
                report: report_w.as_raw_fd(),
                no_pivot: opts.no_pivot,
                init: opts.init,
                die_with_parent: opts.die_with_parent,
                start_gate: opts.start_gate,
                preserve_fds: opts.preserve_fds,
                last_cap: opts.last_cap,
            };
            std::mem::forget(report_w);
            init::run(&ctx)
        }
        Ok(pid) => pid,
        Err(e) => {
            return Err(anyhow::Error::new(std::io::Error::from_raw_os_error(e.0)))
                .context("clone3 into new namespaces");
        }
    };
    drop(report_w);
    // SAFETY: clone3 stored a fresh pidfd we now own.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    Ok(Child {
        pid: Pid::from_raw(pid),
        pidfd,
        report: report_r.into(),
    })
}

/// Waits until the child has called execve (the report pipe closes) or failed (it writes its
/// error). On failure, reaps the child and returns the error with Docker's exit code.
pub fn wait_started(child: &mut Child) -> Result<(), ExecFailure> {
    let mut buf = Vec::new();
    let _ = child.report.read_to_end(&mut buf);
    if buf.is_empty() {
        return Ok(());
    }
    let _ = waitpid(child.pid, None);
    Err(ExecFailure {
        code: buf[0],
        message: String::from_utf8_lossy(&buf[1..]).into_owned(),
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
