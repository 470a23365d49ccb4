//! `--init`: a minimal PID 1 that forwards signals to the workload and reaps every zombie,
//! like `docker run --init` (tini), but as the runtime's own forked code: no extra binary in
//! the rootfs, nothing to mount.

use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

/// What the reaper's /proc/1/cmdline starts with, as Docker's shows `/sbin/docker-init -- CMD`.
pub const SHOWN_NAME: &str = "minirun-init";

/// Forks. The child returns and goes on to execve the workload (`args`); this process stays
/// PID 1, reaps, and exits with the workload's status. Called after every setup step, so the
/// reaper holds no more privilege than the workload.
pub fn fork_reaper(args: &[String]) {
    // Block everything first, so no SIGCHLD or forwarded signal can be lost between fork and
    // sigwait; the workload resets its mask before execve.
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), None);
    // SAFETY: the process is single-threaded here, so the child may run any code after fork.
    // The failures below are written, not traced: this is PID 1 of the container after the
    // runtime has gone, and its stderr is the container's (conmon or the shim reads it).
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {}
        Ok(ForkResult::Parent { child }) => {
            // Our argv and environment are the host's minirun command line (the rootfs path,
            // the caller's flags and variables): the container reads them in /proc/1/cmdline
            // and /proc/1/environ. Overwritten in place, since PR_SET_MM_ARG_START needs
            // CAP_SYS_RESOURCE and re-executing would need a binary the container could see.
            if let Err(e) = disguise(args) {
                eprintln!("minirun: init: {e}");
                let _ = kill(child, Signal::SIGKILL);
            }
            // The channel and every other fd belong to the workload, not the reaper.
            if let Err(e) = super::leak_guards::close_fds_from(3, &[]) {
                eprintln!("minirun: init: {}", crate::error_chain::one_line(&e));
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

/// The bytes /proc/1/cmdline shows: `minirun-init -- ARGS...`, cut to fit `room` bytes (the
/// original argv area) at an argument boundary, NUL-terminated, then NUL-padded to `room`.
pub fn shown_cmdline(args: &[String], room: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(room);
    for a in [SHOWN_NAME, "--"]
        .into_iter()
        .chain(args.iter().map(String::as_str))
    {
        if out.len() + a.len() + 1 > room {
            break;
        }
        out.extend_from_slice(a.as_bytes());
        out.push(0);
    }
    out.resize(room, 0);
    out
}

/// The argv and environment areas of this process: fields 48-51 of /proc/self/stat.
fn areas() -> std::io::Result<[(usize, usize); 2]> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let bad = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "unexpected /proc/self/stat",
        )
    };
    // Fields after the command name (which may hold spaces and parentheses) start at field 3.
    let rest = &stat[stat.rfind(')').ok_or_else(bad)? + 2..];
    let f: Vec<usize> = rest
        .split_whitespace()
        .skip(48 - 3)
        .take(4)
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    match f[..] {
        [a0, a1, e0, e1] if a0 < a1 && e0 <= e1 => Ok([(a0, a1), (e0, e1)]),
        _ => Err(bad()),
    }
}

fn disguise(args: &[String]) -> std::io::Result<()> {
    let [(arg_start, arg_end), (env_start, env_end)] = areas()?;
    let shown = shown_cmdline(args, arg_end - arg_start);
    // SAFETY: [arg_start, arg_end) and [env_start, env_end) are this process's own argv and
    // environment strings, which the kernel placed on the (writable) initial stack; nothing
    // else reads them concurrently (the reaper is single-threaded) and the stores stay within
    // the ranges the kernel reported. The strings are only changed, never moved: std's and
    // libc's pointers to them stay valid (they read the new bytes).
    unsafe {
        std::ptr::copy_nonoverlapping(shown.as_ptr(), arg_start as *mut u8, shown.len());
        std::ptr::write_bytes(env_start as *mut u8, 0, env_end - env_start);
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shown_command_line_fits_the_original_area() {
        let args: Vec<String> = ["sleep", "30"].map(String::from).to_vec();
        let mut want = b"minirun-init\0--\0sleep\x0030\0".to_vec();
        want.resize(40, 0);
        assert_eq!(shown_cmdline(&args, 40), want);
        // Too little room: whole arguments only, and always NUL-terminated (a last byte that is
        // not NUL makes the kernel read on into the environment area).
        assert_eq!(
            shown_cmdline(&args, 20),
            b"minirun-init\0--\0\0\0\0\0".to_vec()
        );
        assert_eq!(shown_cmdline(&args, 5), vec![0; 5]);
        for room in 1..64 {
            let s = shown_cmdline(&args, room);
            assert_eq!(s.len(), room);
            assert_eq!(s.last(), Some(&0));
        }
    }

    /// The areas /proc/self/stat names are this process's argv: the first bytes are argv[0].
    #[test]
    fn the_areas_are_this_process_s_argv() {
        let [(a0, a1), _] = areas().unwrap();
        let first = std::env::args_os().next().unwrap();
        let first = std::os::unix::ffi::OsStrExt::as_bytes(first.as_os_str()).to_vec();
        assert!(a1 - a0 > first.len());
        // SAFETY: reads within this process's argv area, which the kernel mapped readable.
        let seen = unsafe { std::slice::from_raw_parts(a0 as *const u8, first.len()) };
        assert_eq!(seen, &first[..]);
    }
}
