//! The side of a process that joins a running container (`exec`): the straight line from
//! clone to execve. Nothing is created or mounted: every namespace of the container's init
//! is joined, its root entered, and the process's own limits, capabilities and identity
//! applied exactly as for an init (`child`).

use super::child::{self, ChildContext, ChildError};
use super::error::{Context, Result};
use crate::step;
use nix::unistd::getpid;
use std::convert::Infallible;
use std::os::fd::OwnedFd;

/// Runs in the child right after clone3; never returns.
pub fn run(ctx: ChildContext) -> ! {
    child::run(ctx, join_and_exec)
}

fn join_and_exec(ctx: &mut ChildContext) -> Result<Infallible, ChildError> {
    let plan = ctx.plan;
    step!("exec child: pid {}", getpid());

    // Die with the runtime (a foreground exec), then non-dumpable: from its first
    // instruction this process is visible inside the container (CVE-2019-5736).
    child::first_steps(ctx)?;

    // The container's root, opened while /proc is still the host's: joining the mount
    // namespace below changes what /proc/PID means.
    let root = open_container_root(plan.exec_root.as_deref())?;

    // The parent's go-ahead (nothing to map: a joined user namespace has its maps).
    child::await_proceed(ctx)?;

    // The container's v1 cgroups (clone3 put us in its v2 one), joined as its init joined
    // them (see `cgroups::joins`): before we enter its cgroup namespace, whose root they are.
    child::join_v1_cgroups(ctx)?;

    // Every namespace of the container (the pid one was joined by the parent).
    child::join_namespaces(plan)?;

    // Its root, so nothing of the host's filesystem stays reachable.
    enter_container_root(&root)?;

    // The tail the container's init shares (`child::confine_and_exec`): the pty, limits, the
    // seccomp filter, capabilities and identity in the order no_new_privs decides, the
    // program's lookup, execve. Nothing waits between them: no start gate for exec.
    child::confine_and_exec(ctx, |_| Ok(None))
}

fn open_container_root(path: Option<&std::path::Path>) -> Result<OwnedFd> {
    let path = path.ok_or_else(|| refused!("exec without the container's root"))?;
    nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("opening the container root {}", path.display()))
}

/// Make the running container's root ours (chroot through the fd opened earlier).
fn enter_container_root(root: &OwnedFd) -> Result<()> {
    nix::unistd::fchdir(root).context("entering the container's root")?;
    nix::unistd::chroot(".").context("chroot into the container's root")?;
    nix::unistd::chdir("/").context("chdir /")?;
    step!("chroot into the container's root");
    Ok(())
}
