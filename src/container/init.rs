//! The child's side: the straight line from clone to execve.
//!
//! Read top to bottom, this is the whole container setup. Each step comes where it does because
//! it needs something a later step takes away (the host's paths, root's capabilities, an fd).
//! Any failure is written to the report pipe as one line with Docker's exit code, then the
//! child exits: the parent prints it and cleans up.

use super::launch::{Extras, HookContext, Options};
use super::plan::Plan;
use super::program::{self, ExecFailure};
use super::{net, reaper, rootfs};
use crate::capability::apply::{self, Kernel};
use crate::capability::inspect;
use crate::step;
use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::unistd::{getpid, sethostname};
use oci_spec::runtime::LinuxNamespaceType;
use std::convert::Infallible;
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

/// What the parent hands the child besides the plan.
pub struct ChildContext<'a> {
    pub plan: &'a Plan,
    /// Write end of the report pipe (O_CLOEXEC: a successful execve closes it, which is the
    /// parent's "started" signal).
    pub report: RawFd,
    /// How to launch: pivot or not, `--init`, dying with the runtime, the start gate, …
    pub opts: &'a Options,
    /// The OCI additions: console socket, session keyring.
    pub extras: &'a Extras,
    /// The sync socket to the parent (user namespace maps, hooks); see `launch::spawn_with`.
    pub sync: Option<UnixStream>,
    /// Run the createContainer and startContainer hooks with this identity (only when the
    /// config has hooks).
    pub hooks: Option<&'a HookContext>,
}

/// Runs in the child right after clone3; never returns.
pub fn run(mut ctx: ChildContext) -> ! {
    let failure = match setup_and_exec(&mut ctx) {
        Ok(never) => match never {},
        Err(f) => f,
    };
    // After `create` has returned nobody reads the report pipe: a write must fail with EPIPE,
    // not kill us with SIGPIPE (execve's failure path has reset it), and the message then goes
    // to the container's stderr, where the caller (conmon, the shim) collects it.
    // SAFETY: ignoring a signal installs no handler code.
    unsafe {
        let _ = nix::sys::signal::signal(Signal::SIGPIPE, nix::sys::signal::SigHandler::SigIgn);
    }
    // SAFETY: `report` is the pipe's write end, owned by this process and not used elsewhere.
    let mut pipe = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(ctx.report) });
    let mut msg = vec![failure.code];
    msg.extend_from_slice(failure.message.as_bytes());
    if pipe.write_all(&msg).is_err() {
        eprintln!("minirun: {}", failure.message);
    }
    // SAFETY: _exit skips destructors and atexit handlers that belong to the parent's copy.
    unsafe { libc::_exit(failure.code as i32) }
}

fn setup_failure(e: anyhow::Error) -> ExecFailure {
    ExecFailure {
        code: 125,
        message: format!("{e:#}"),
    }
}

fn setup_and_exec(ctx: &mut ChildContext) -> Result<Infallible, ExecFailure> {
    let plan = ctx.plan;
    step!("child: pid {} in its new namespaces", getpid());

    // With the runtime gone nobody would wait for us: die too. First, before anything slow.
    if ctx.opts.die_with_parent {
        prctl_pdeathsig().map_err(setup_failure)?;
        // A runtime killed between clone3 and the prctl above sent no death signal: we would
        // live on, unowned. Its end of the report pipe closed with it, so the write end we
        // hold reports an error when nobody is left to read.
        if parent_gone(ctx.report) {
            // SAFETY: leaving at once; nothing of this copy of the runtime needs to run.
            unsafe { libc::_exit(125) }
        }
    }

    // Until execve this process is the runtime's own binary. Non-dumpable, its /proc/PID/exe
    // cannot be opened by the container's processes, which could otherwise reach the host's
    // minirun binary through it (CVE-2019-5736). execve resets it for the workload; the
    // `--init` reaper, which never execs, stays protected.
    set_non_dumpable().map_err(setup_failure)?;

    // `exec`: the container's root, opened while /proc is still the host's (joining the
    // mount namespace below changes what /proc/PID means).
    let exec_root = match &plan.exec_root {
        Some(p) => Some(
            nix::fcntl::open(
                p,
                nix::fcntl::OFlag::O_PATH
                    | nix::fcntl::OFlag::O_DIRECTORY
                    | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .with_context(|| format!("opening the container root {}", p.display()))
            .map_err(setup_failure)?,
        ),
        None => None,
    };

    // Wait for the parent: it writes our uid/gid maps (a new user namespace has none, so we
    // would own nothing yet) and tells us our pid as the host sees it, for hook state.
    let host_pid = match ctx.sync.as_mut() {
        Some(sock) => {
            let mut b = [0u8; 4];
            sock.read_exact(&mut b)
                .context("waiting for the runtime (sync socket)")
                .map_err(setup_failure)?;
            i32::from_le_bytes(b)
        }
        None => 0,
    };

    // In a new user namespace we start as the overflow uid: become its root (mapped now), so
    // mounts and files we create belong to the container's root, not "nobody".
    if plan.creates(LinuxNamespaceType::User) {
        become_ns_root().map_err(setup_failure)?;
    }

    // Joined namespaces (linux.namespaces[].path) before any mount: a joined mount namespace
    // replaces the one we would otherwise set up.
    join_namespaces(plan).map_err(setup_failure)?;

    // runc's default: a session keyring of the container's own, so keys the workload adds
    // are not shared with the host's session (`--no-new-keyring` skips it).
    if ctx.extras.new_keyring {
        join_session_keyring().map_err(setup_failure)?;
    }

    // Mounts need the host's paths (rootfs, bind sources), so they come before pivot_root.
    // `exec` mounts nothing: it enters the running container's root.
    let mount_ns = plan.creates(LinuxNamespaceType::Mount)
        || plan
            .namespaces
            .iter()
            .any(|n| n.typ == LinuxNamespaceType::Mount);
    let root = if mount_ns && exec_root.is_none() {
        Some(rootfs::prepare(plan).map_err(setup_failure)?)
    } else {
        None
    };

    // Hostname: needs CAP_SYS_ADMIN in the new uts namespace, still held here.
    if let Some(h) = &plan.hostname {
        sethostname(h)
            .with_context(|| format!("sethostname {h:?}"))
            .map_err(setup_failure)?;
        step!("sethostname {h}");
    }
    if let Some(d) = &plan.domainname {
        set_domainname(d).map_err(setup_failure)?;
    }

    // Loopback up in a network namespace of our own (needs CAP_NET_ADMIN, still held).
    if plan.creates(LinuxNamespaceType::Network) {
        net::loopback_up().map_err(setup_failure)?;
        step!("ip link set lo up");
    }

    // OCI hooks at "created, before pivot_root": the parent runs prestart and createRuntime in
    // the runtime's namespaces (they may configure ours, e.g. the network), then we run
    // createContainer in ours, while host paths still resolve.
    if let Some(hooks) = &ctx.hooks {
        if let Some(sock) = ctx.sync.as_mut() {
            sync_hooks(sock).map_err(setup_failure)?;
        }
        let list = plan.hooks.create_container().clone().unwrap_or_default();
        super::hooks::run(
            "createContainer",
            &list,
            &hooks.state_json("creating", host_pid),
        )
        .map_err(setup_failure)?;
    }
    // Nothing more to say to the parent.
    ctx.sync = None;

    // Into the rootfs; after this no host path is reachable.
    if let Some(root) = &root {
        rootfs::enter(root, ctx.opts.no_pivot).map_err(setup_failure)?;
        // sysctls go through the container's /proc/sys before it is made read-only.
        write_sysctls(plan).map_err(setup_failure)?;
        rootfs::finish(plan).map_err(setup_failure)?;
    }
    if let Some(fd) = &exec_root {
        enter_existing_root(fd).map_err(setup_failure)?;
    }

    // A terminal: a pty from the container's own devpts (so the workload can reopen it by its
    // /dev/pts name), made our controlling tty and stdio; the master goes to the caller.
    if plan.terminal
        && let Some(sock) = ctx.extras.console_socket
    {
        super::console::setup(sock, plan.identity.uid).map_err(setup_failure)?;
    }

    // Process limits while we are still root with every capability: raising a hard limit or
    // lowering oom_score_adj needs CAP_SYS_RESOURCE, which the capability step may drop.
    set_rlimits(plan).map_err(setup_failure)?;
    if let Some(adj) = plan.oom_score_adj {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .with_context(|| format!("setting oom_score_adj to {adj}"))
            .map_err(setup_failure)?;
    }
    if let Some(mask) = plan.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }

    // Capabilities and identity, in crun's order (see capability::apply).
    let mut kernel = Kernel {
        on_step: |s: &str| trace_sets(s),
    };
    apply::apply(
        &mut kernel,
        &plan.caps,
        &plan.identity,
        plan.no_new_privs,
        ctx.opts.last_cap,
    )
    .map_err(setup_failure)?;

    // Look the program up as the workload's user, after the identity switch, so that
    // "permission denied" is what the workload itself would get.
    let cmd = &plan.args[0];
    let program = program::lookup(cmd, program::path_of(&plan.env))?;

    // OCI create: everything is ready; tell the parent (so `create` can return) and wait
    // here until `start` opens the fifo. The fifo stays open (close-on-exec) until execve, so
    // `start` sees EOF exactly when the workload runs and its poststart hooks come after it.
    let mut started_fifo = None;
    if let Some(gate) = ctx.opts.start_gate {
        // SAFETY: a one-byte write from a live buffer to the report pipe we own.
        unsafe {
            libc::write(
                ctx.report,
                [super::launch::READY_AT_GATE].as_ptr().cast(),
                1,
            )
        };
        started_fifo = Some(wait_for_start(gate).map_err(setup_failure)?);
    }

    // startContainer hooks: after `start`, in the container, before the workload's execve.
    if let Some(hooks) = &ctx.hooks {
        let list = plan.hooks.start_container().clone().unwrap_or_default();
        super::hooks::run(
            "startContainer",
            &list,
            &hooks.state_json("created", host_pid),
        )
        .map_err(setup_failure)?;
    }

    // `--init`: PID 1 stays ours and reaps; the fork continues to execve.
    if ctx.opts.init {
        reaper::fork_reaper(ctx.report);
    }

    // No fd of the runtime may reach the workload (CVE-2024-21626): close all but 0-2, the
    // preserved ones, the report pipe and the exec fifo (both close-on-exec) before the
    // workload's cwd is chosen.
    let mut keep = vec![ctx.report];
    keep.extend(started_fifo.as_ref().map(|f| f.as_raw_fd()));
    close_fds(3 + ctx.opts.preserve_fds, &keep);
    enter_cwd(plan)?;

    let argv = cstrings(&plan.args)?;
    let envp = cstrings(&plan.env)?;
    let path = CString::new(program.as_os_str().as_encoded_bytes())
        .map_err(|_| program::failure(cmd, nix::errno::Errno::EINVAL))?;
    step!("execve {} {:?}", program.display(), plan.args);
    reset_signals();
    let errno = nix::unistd::execve(&path, &argv, &envp).unwrap_err();
    Err(program::failure(cmd, errno))
}

fn prctl_pdeathsig() -> Result<()> {
    // SAFETY: integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    nix::errno::Errno::result(r).context("prctl(PR_SET_PDEATHSIG)")?;
    Ok(())
}

/// True when the read end of the report pipe is closed: the runtime that would read it is dead.
fn parent_gone(report: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd: report,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one pollfd that outlives the call; timeout 0, so it never blocks.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    n == 1 && pfd.revents & libc::POLLERR != 0
}

fn set_non_dumpable() -> Result<()> {
    // SAFETY: integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong, 0, 0, 0) };
    nix::errno::Errno::result(r).context("prctl(PR_SET_DUMPABLE, 0)")?;
    Ok(())
}

fn join_namespaces(plan: &Plan) -> Result<()> {
    // Open every path first: once a mount namespace is joined, a path like /proc/PID/ns/net
    // would resolve in the container's /proc and name another process.
    let mut fds = Vec::new();
    for ns in &plan.namespaces {
        let (Some(path), false) = (&ns.path, ns.typ == LinuxNamespaceType::Pid) else {
            continue;
        };
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

/// `exec`: make the running container's root ours (chroot through the fd opened earlier),
/// so nothing of the host's filesystem stays reachable.
fn enter_existing_root(root: &OwnedFd) -> Result<()> {
    nix::unistd::fchdir(root).context("entering the container's root")?;
    nix::unistd::chroot(".").context("chroot into the container's root")?;
    nix::unistd::chdir("/").context("chdir /")?;
    step!("chroot into the container's root");
    Ok(())
}

fn sync_hooks(sock: &mut UnixStream) -> Result<()> {
    sock.write_all(&[super::launch::sync::HOOKS])
        .context("asking the runtime to run hooks")?;
    let mut b = [0u8; 1];
    sock.read_exact(&mut b)
        .context("waiting for the runtime's hooks")?;
    anyhow::ensure!(
        b[0] == super::launch::sync::HOOKS_DONE,
        "unexpected sync message {}",
        b[0]
    );
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
        if k.contains("..") || k.contains('/') && k.starts_with('/') {
            anyhow::bail!("linux.sysctl: invalid key {k:?}");
        }
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        std::fs::write(&path, v).with_context(|| format!("linux.sysctl: setting {k}={v}"))?;
        step!("sysctl {k}={v}");
    }
    Ok(())
}

fn set_rlimits(plan: &Plan) -> Result<()> {
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
    }
}

fn wait_for_start(gate: RawFd) -> Result<std::fs::File> {
    // Opening a fifo for writing blocks until a reader comes: `minirun start`.
    let path = format!("/proc/self/fd/{gate}");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .context("waiting on the exec fifo")?;
    f.write_all(&[0]).context("writing the exec fifo")?;
    step!("start signalled");
    Ok(f)
}

/// Closes every fd from `first` up, except those in `keep`.
fn close_fds(first: u32, keep: &[RawFd]) {
    let mut keep: Vec<u32> = keep
        .iter()
        .map(|&k| k as u32)
        .filter(|&k| k >= first)
        .collect();
    keep.sort_unstable();
    let mut from = first;
    for k in keep {
        if k > from {
            // SAFETY: close_range only closes descriptors; none in [from, k) is used again.
            unsafe { libc::syscall(libc::SYS_close_range, from, k - 1, 0) };
        }
        from = from.max(k + 1);
    }
    // SAFETY: as above, for everything above the last kept fd.
    unsafe { libc::syscall(libc::SYS_close_range, from, u32::MAX, 0) };
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

/// The workload starts with default signal handling and nothing blocked, whatever the runtime
/// had (it blocks the signals it forwards, and its caller may have ignored some).
pub fn reset_signals() {
    for sig in Signal::iterator() {
        if matches!(sig, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: restoring the default disposition installs no handler code.
        unsafe {
            let _ = nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::SigDfl);
        }
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}
