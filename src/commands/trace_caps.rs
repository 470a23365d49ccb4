//! `minirun trace-caps ID`: the capability tracer attached to a running container, until it
//! stops or the caller interrupts (Ctrl-C); then the summary, as `--trace-caps` gives at exit.

use crate::cli::{Global, TraceCapsArgs};
use crate::container::cgroup_launch;
use crate::container::state::{Status, Store};
use anyhow::{Context, Result, bail};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::os::fd::AsFd;

pub fn attach(global: &Global, args: &TraceCapsArgs) -> Result<i32> {
    crate::container::privilege::require_root()?;
    let store = Store::new(&global.root);
    let st = store.load(&args.id)?;
    if store.status(&st) == Status::Stopped {
        bail!("container \"{}\" is not running", args.id);
    }
    let cg = cgroup_launch::require(&store.dir(&args.id), &args.id)?;
    // Blocked before the tracer's thread exists, so that only the signalfd sees them.
    let mut stop = SigSet::empty();
    stop.add(Signal::SIGINT);
    stop.add(Signal::SIGTERM);
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&stop), None).context("blocking signals")?;
    let sfd = SignalFd::with_flags(&stop, SfdFlags::SFD_CLOEXEC).context("creating a signalfd")?;
    let tracer = crate::trace_caps::for_running(&cg)?;
    eprintln!(
        "minirun: tracing the capability checks of {} (attached in {:.1} ms); Ctrl-C ends",
        args.id,
        tracer.attach_time.as_secs_f64() * 1000.0
    );
    // An OCI container's config.json names its seccomp rules; a quick-form one has none saved.
    let spec = super::lifecycle::saved_spec(&store, &args.id);
    let profile = spec
        .as_ref()
        .and_then(crate::container::seccomp_step::in_force_of_spec);
    let running = tracer.start(true).with_seccomp(profile);
    loop {
        let mut fds = [nix::poll::PollFd::new(
            sfd.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(200u16));
        if fds[0].any().unwrap_or(false) || store.status(&st) == Status::Stopped {
            break;
        }
    }
    crate::trace_caps::report_at_exit(running, args.json.as_deref())?;
    Ok(0)
}
