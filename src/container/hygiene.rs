//! Process hygiene: the small calls that keep the runtime's own process from leaking into the
//! container (its binary, its fds, its signal handling) or outliving its caller.

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use std::os::fd::RawFd;

/// Non-dumpable: /proc/PID/exe, /proc/PID/mem and ptrace are closed to processes that lack
/// CAP_SYS_PTRACE, so a container process cannot reach the host's minirun binary through a
/// runtime process it can see (CVE-2019-5736). execve resets it.
pub fn set_non_dumpable() -> Result<()> {
    // SAFETY: integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong, 0, 0, 0) };
    nix::errno::Errno::result(r).context("prctl(PR_SET_DUMPABLE, 0)")?;
    Ok(())
}

/// SIGKILL this process when its parent (the runtime) dies.
pub fn die_with_parent() -> Result<()> {
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

/// Closes every fd from `first` up, except those in `keep`.
pub fn close_fds_from(first: u32, keep: &[RawFd]) {
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
