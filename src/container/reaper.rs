//! `--init`: a minimal PID 1 that forwards signals to the workload and reaps every zombie,
//! like `docker run --init` (tini), but as the runtime's own forked code: no extra binary in
//! the rootfs, nothing to mount.

use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

/// Forks. The child returns and goes on to execve the workload; this process stays PID 1,
/// reaps, and exits with the workload's status. Called after every setup step, so the reaper
/// holds no more privilege than the workload.
pub fn fork_reaper() {
    // Block everything first, so no SIGCHLD or forwarded signal can be lost between fork and
    // sigwait; the workload resets its mask before execve.
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), None);
    // SAFETY: the process is single-threaded here, so the child may run any code after fork.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {}
        Ok(ForkResult::Parent { child }) => {
            // The channel and every other fd belong to the workload, not the reaper.
            if let Err(e) = super::hygiene::close_fds_from(3, &[]) {
                eprintln!("minirun: init: {e:#}");
                let _ = kill(child, Signal::SIGKILL);
            }
            reap(child)
        }
        Err(e) => {
            eprintln!("minirun: init: fork failed: {e}");
            // SAFETY: leaving without running the parent's destructors.
            unsafe { libc::_exit(125) }
        }
    }
}

fn reap(workload: Pid) -> ! {
    let all = SigSet::all();
    loop {
        let Ok(sig) = all.wait() else { continue };
        if sig != Signal::SIGCHLD {
            let _ = kill(workload, sig);
            continue;
        }
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == workload => exit(code),
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid == workload => exit(128 + sig as i32),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}

fn exit(code: i32) -> ! {
    // SAFETY: PID 1's exit ends the namespace; nothing of the runtime's needs to run.
    unsafe { libc::_exit(code) }
}
