//! The container init's side: the straight line from clone to execve.
//!
//! Read top to bottom, this is the whole container setup, each step a call with the reason it
//! comes where it does: each needs something a later step takes away (the host's paths, root's
//! capabilities, an fd). Any failure goes to the parent as `Failed` (Docker's exit code and
//! one line) and the child exits: the parent prints it and cleans up. `protocol` shows the
//! parent's steps beside these.

use super::child::{self, ChildContext, ChildError};
use super::error::{Context, Result};
use super::plan::Plan;
use super::protocol::Message;
use super::{hooks, leak_guards, net, reaper, rootfs};
use crate::step;
use nix::fcntl::OFlag;
use nix::unistd::{getpid, sethostname};
use oci_spec::runtime::LinuxNamespaceType;
use std::convert::Infallible;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Runs in the child right after clone3; never returns.
pub fn run(ctx: ChildContext) -> ! {
    child::run(ctx, setup_and_exec)
}

fn setup_and_exec(ctx: &mut ChildContext) -> Result<Infallible, ChildError> {
    let plan = ctx.plan;
    step!("child: pid {} in its new namespaces", getpid());

    // With the runtime gone nobody would wait for us: die with it, first, before anything
    // slow; then non-dumpable, before anything in the container can see us.
    child::first_steps(ctx)?;

    // The parent writes our uid/gid maps (a new user namespace has none, so we would own
    // nothing yet) and tells us our pid as the host sees it, for hook state.
    let host_pid = child::await_proceed(ctx)?;
    // Non-dumpable now, if an unprivileged parent had to open our uid_map first.
    child::after_maps(ctx)?;

    // Our v1 cgroups (clone3 put us in the v2 one): first, so that everything from here on
    // (hooks included) runs inside them, and while we still have the parent's ids (see
    // `cgroups::joins`).
    child::join_v1_cgroups(ctx)?;

    // In a new user namespace we start as the overflow uid: become its root (mapped now), so
    // mounts and files we create belong to the container's root, not "nobody".
    if plan.creates(LinuxNamespaceType::User) {
        become_ns_root()?;
    }

    // Joined namespaces (linux.namespaces[].path) before any mount: a joined mount namespace
    // replaces the one we would otherwise set up.
    child::join_namespaces(plan)?;

    // A cgroup namespace rooted in our cgroups, now that we are in every one; after a joined
    // user namespace, which then owns it (a cgroupfs mount inside needs CAP_SYS_ADMIN there).
    enter_cgroup_namespace(plan)?;

    // runc's default: a session keyring of the container's own, so keys the workload adds
    // are not shared with the host's session (`--no-new-keyring` skips it).
    if plan.settings.new_keyring {
        join_session_keyring()?;
    }

    // Mounts need the host's paths (rootfs, bind sources), so they come before pivot_root.
    let mount_ns = plan
        .namespaces
        .iter()
        .any(|n| n.typ == LinuxNamespaceType::Mount);
    let root = match mount_ns {
        true => Some(rootfs::prepare(plan)?),
        false => None,
    };

    // Hostname and domain name: need CAP_SYS_ADMIN in the new uts namespace, still held here.
    set_names(plan)?;

    // Loopback up in a network namespace of our own (needs CAP_NET_ADMIN, still held).
    if plan.creates(LinuxNamespaceType::Network) {
        net::loopback_up()?;
        step!("ip link set lo up");
    }

    // OCI hooks at "created, before pivot_root": the parent runs prestart and createRuntime in
    // the runtime's namespaces (they may configure ours, e.g. the network), then we run
    // createContainer in ours, while host paths still resolve.
    if let Some(state) = ctx.hooks() {
        create_hooks(ctx, &state.state_json("creating", host_pid))?;
    }

    // Into the rootfs; after this no host path is reachable.
    let own_fds = if let Some(root) = &root {
        rootfs::enter(root, plan.settings.no_pivot)?;
        // A bad cwd is a create-time error (runc's order): checked, or made, inside the
        // root and before `finish` may make it read-only.
        child::prepare_cwd(plan)?;
        // sysctls go through the container's /proc/sys before it is made read-only.
        write_sysctls(plan)?;
        rootfs::finish(plan)?;
        // rootfsPropagation shared or unbindable: the setup ran under private propagation
        // (pivot_root refuses a shared parent); the requested one applies to / now.
        rootfs::apply_root_propagation(plan)?;
        None
    } else {
        // No mount namespace: nothing is mounted (validate refuses mounts then), but root.path
        // still applies, as crun does.
        chroot_without_mount_ns(ctx)?
    };

    // The execution domain and NUMA policy the workload inherits: before the seccomp filter,
    // which may refuse personality(2) or set_mempolicy(2) to the workload itself.
    super::task::apply(plan.personality, plan.memory_policy.as_ref())?;

    // The tail an exec'd process shares (`child::confine_and_exec`): the pty, limits, the
    // seccomp filter, capabilities and identity in the order no_new_privs decides, the
    // program's lookup; then `until_start`; then execve.
    child::confine_and_exec(ctx, |ctx| until_start(ctx, host_pid, own_fds))
}

/// Between the last confinement and execve: OCI create's start gate, then what runs after
/// `start` and before the workload. Returns the exec fifo, held open until execve.
fn until_start(
    ctx: &ChildContext,
    host_pid: i32,
    own_fds: Option<OwnedFd>,
) -> Result<Option<OwnedFd>, ChildError> {
    let plan = ctx.plan;
    // OCI create: everything is ready; tell the parent (so `create` can return) and wait
    // here until `start` opens the fifo. The fifo stays open (close-on-exec) until execve, so
    // `start` sees EOF exactly when the workload runs and its poststart hooks come after it.
    let started_fifo = match ctx.handles.start_gate {
        Some(gate) => Some(start_gate(ctx, gate, own_fds)?),
        None => None,
    };

    // startContainer hooks: after `start`, in the container, before the workload's execve.
    if let Some(state) = ctx.hooks() {
        let list = plan.hooks.start_container().clone().unwrap_or_default();
        hooks::run(
            "startContainer",
            &list,
            &state.state_json("created", host_pid),
        )?;
    }

    // `--init`: PID 1 stays ours and reaps; the fork continues to execve. After every setup
    // step, so the reaper holds no more privilege than the workload.
    if plan.settings.reaper {
        reaper::fork_reaper(&plan.args);
    }
    Ok(started_fifo)
}

/// Reports the container ready and blocks until `start`; returns the exec fifo, opened.
fn start_gate(ctx: &ChildContext, gate: RawFd, own_fds: Option<OwnedFd>) -> Result<OwnedFd> {
    // Whatever the caller left open (a host directory, a socket) would stay reachable through
    // /proc/1/fd by anything that joins us until `start`: only stdio, the preserved fds, the
    // channel and the fifo stay.
    let mut keep = vec![ctx.channel.raw_fd(), gate];
    keep.extend(own_fds.as_ref().map(|d| d.as_raw_fd()));
    leak_guards::close_fds_from(3 + ctx.plan.settings.preserve_fds, &keep)?;
    // A parent already gone is seen below (end-of-file instead of Recorded).
    let _ = ctx.channel.send(&Message::AtStartGate, &[]);
    await_recorded(ctx)?;
    Ok(wait_for_start(gate, own_fds)?.into())
}

/// A cgroup namespace of our own, rooted where we stand now, in every hierarchy. clone3
/// fixed the first one's root where we were born, before the v1 joins: this one makes
/// /proc/self/cgroup show `/` in every hierarchy (runc does the same), and a cgroupfs mounted
/// inside shows no cgroup above ours.
fn enter_cgroup_namespace(plan: &Plan) -> Result<()> {
    if plan.creates(LinuxNamespaceType::Cgroup) {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .context("unshare(CLONE_NEWCGROUP) in the container's cgroup")?;
    }
    Ok(())
}

/// Waits until the runtime has saved our record. A runtime killed before that leaves nobody
/// who could ever start, kill or delete us: its end-of-file makes us exit instead.
fn await_recorded(ctx: &ChildContext) -> Result<()> {
    ctx.channel
        .expect("Recorded", |m| *m == Message::Recorded)
        .context("the runtime exited before it recorded the container")?;
    Ok(())
}

/// The hooks the parent runs (ask, and wait until they ran), then createContainer, ours.
fn create_hooks(ctx: &ChildContext, state_json: &[u8]) -> Result<()> {
    ctx.channel
        .send(&Message::RunCreateHooks, &[])
        .context("asking the runtime to run hooks")?;
    ctx.channel
        .expect("CreateHooksDone", |m| *m == Message::CreateHooksDone)
        .context("waiting for the runtime's hooks")?;
    let list = ctx
        .plan
        .hooks
        .create_container()
        .clone()
        .unwrap_or_default();
    hooks::run("createContainer", &list, state_json)
}

fn become_ns_root() -> Result<()> {
    // SAFETY: integer arguments only; one thread, so raw syscalls are right.
    let r = unsafe { libc::syscall(libc::SYS_setresgid, 0, 0, 0) };
    nix::errno::Errno::result(r).context("setresgid(0) in the new user namespace")?;
    // SAFETY: as above.
    let r = unsafe { libc::syscall(libc::SYS_setresuid, 0, 0, 0) };
    nix::errno::Errno::result(r).context("setresuid(0) in the new user namespace")?;
    step!("setresuid/setresgid 0 in the user namespace");
    Ok(())
}

fn join_session_keyring() -> Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_int = 1;
    // SAFETY: a NULL name asks the kernel for a new anonymous session keyring.
    let r = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    match nix::errno::Errno::result(r) {
        // No keyrings in this kernel: nothing to isolate.
        Ok(_) | Err(nix::errno::Errno::ENOSYS) => Ok(()),
        Err(e) => Err(e).context("joining a new session keyring"),
    }
}

fn set_names(plan: &Plan) -> Result<()> {
    if let Some(h) = &plan.hostname {
        sethostname(h).with_context(|| format!("sethostname {h:?}"))?;
        step!("sethostname {h}");
    }
    if let Some(d) = &plan.domainname {
        set_domainname(d)?;
    }
    Ok(())
}

fn set_domainname(name: &str) -> Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes for the duration of the call.
    let r = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    nix::errno::Errno::result(r).with_context(|| format!("setdomainname {name:?}"))?;
    Ok(())
}

fn write_sysctls(plan: &Plan) -> Result<()> {
    for (k, v) in &plan.sysctl {
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        std::fs::write(&path, v).with_context(|| format!("linux.sysctl: setting {k}={v}"))?;
        step!("sysctl {k}={v}");
    }
    Ok(())
}

/// Sysctls through the host's /proc first (each names the namespace of the writer), then
/// chroot. Returns what the start gate needs of /proc after the chroot.
fn chroot_without_mount_ns(ctx: &ChildContext) -> Result<Option<OwnedFd>> {
    write_sysctls(ctx.plan)?;
    // The exec fifo is reopened through /proc/self/fd, which the chroot leaves behind.
    let own_fds = match ctx.handles.start_gate {
        Some(_) => Some(open_own_fd_dir()?),
        None => None,
    };
    rootfs::chroot_only(&ctx.plan.rootfs)?;
    child::prepare_cwd(ctx.plan)?;
    Ok(own_fds)
}

/// /proc/self/fd of the host's /proc, for a chroot without a mount namespace (whose root has
/// no /proc). Closed as soon as the fifo is reopened, long before the workload runs.
fn open_own_fd_dir() -> Result<OwnedFd> {
    nix::fcntl::open(
        "/proc/self/fd",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .context("opening /proc/self/fd before the chroot")
}

fn wait_for_start(gate: RawFd, own_fds: Option<OwnedFd>) -> Result<std::fs::File> {
    // Opening a fifo for writing blocks until a reader comes: `minirun start`.
    let flags = OFlag::O_WRONLY | OFlag::O_CLOEXEC;
    let mode = nix::sys::stat::Mode::empty();
    let fd = match &own_fds {
        Some(dir) => nix::fcntl::openat(dir, gate.to_string().as_str(), flags, mode),
        None => nix::fcntl::open(format!("/proc/self/fd/{gate}").as_str(), flags, mode),
    }
    .context("waiting on the exec fifo")?;
    drop(own_fds);
    let mut f = std::fs::File::from(fd);
    f.write_all(&[0]).context("writing the exec fifo")?;
    step!("start signalled");
    Ok(f)
}
