//! Process hygiene: the small calls that keep the runtime's own process from leaking into the
//! container (its binary, its fds, its signal handling) or outliving its caller.

use super::error::{Context, Result};
use nix::errno::Errno;
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

/// Closes every fd from `first` up, except those in `keep`: close_range where the kernel has
/// it, else (ENOSYS before 5.9, EINVAL for flags it does not know, or a filter refusing it)
/// every fd /proc/self/fd lists, as crun does; where /proc is not there either, every number
/// up to RLIMIT_NOFILE. This is the guard against CVE-2024-21626: it never silently fails.
pub fn close_fds_from(first: u32, keep: &[RawFd]) -> Result<()> {
    let mut keep: Vec<u32> = keep
        .iter()
        .map(|&k| k as u32)
        .filter(|&k| k >= first)
        .collect();
    keep.sort_unstable();
    match close_ranges(first, &keep) {
        Ok(()) => Ok(()),
        Err(Errno::ENOSYS | Errno::EINVAL | Errno::EPERM) => close_one_by_one(first, &keep),
        Err(e) => Err(e).context("close_range"),
    }
}

fn close_ranges(first: u32, keep: &[u32]) -> nix::Result<()> {
    let close_range = |lo: u32, hi: u32| {
        // SAFETY: close_range only closes descriptors; none in [lo, hi] is used again.
        Errno::result(unsafe { libc::syscall(libc::SYS_close_range, lo, hi, 0) }).map(drop)
    };
    let mut from = first;
    for &k in keep {
        if k > from {
            close_range(from, k - 1)?;
        }
        from = from.max(k + 1);
    }
    close_range(from, u32::MAX)
}

fn close_one_by_one(first: u32, keep: &[u32]) -> Result<()> {
    // The numbers first, then the closes: the directory's own fd is gone by then.
    let open: Vec<u32> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect(),
        Err(_) => {
            let (soft, _) =
                nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
                    .context("close_range is missing and so is /proc: reading RLIMIT_NOFILE")?;
            (0..u32::try_from(soft).unwrap_or(u32::MAX)).collect()
        }
    };
    for fd in open {
        if fd >= first && !keep.contains(&fd) {
            // SAFETY: close only releases the descriptor; nothing here uses it again. EBADF
            // (a number not open, or the listing's own fd) is what we want anyway.
            unsafe { libc::close(fd as RawFd) };
        }
    }
    Ok(())
}

/// Fills `buf` from the kernel's random source; a short or failed read is an error, never
/// predictable bytes.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), crate::error_chain::Step<nix::Error>> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: getrandom writes at most the remaining length into the buffer we own.
        let n = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        match Errno::result(n) {
            Ok(n) => done += n as usize,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e).map_err(crate::error_chain::step(|| "getrandom".into())),
        }
    }
    Ok(())
}

/// A session of its own for the workload: the caller's terminal stops being its controlling
/// terminal, so TIOCSTI cannot push keystrokes into the caller's shell, and a hangup of that
/// terminal does not reach it (runc and crun do the same). A pty from `--console-socket`
/// becomes the new session's controlling terminal afterwards (console.rs).
pub fn new_session() -> Result<()> {
    nix::unistd::setsid().context("setsid")?;
    Ok(())
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
