//! CVE-2019-5736: re-executing from a sealed memfd copy of this binary.

const SEALED_NAME: &str = "minirun-sealed";

/// CVE-2019-5736: a process of this binary inside a container's pid namespace (the init before
/// execve, the `--init` reaper, an `exec` entering a running container) exposes it as
/// /proc/PID/exe. Non-dumpable keeps that closed to ordinary workloads, but not to one with
/// CAP_SYS_PTRACE, which can hold the fd and reopen it for writing once every minirun process
/// has exited. So, as runc does, such commands first re-execute from a sealed memfd copy:
/// /proc/PID/exe is then the copy, which nothing can write, never the host's binary.
/// Where memfds or sealing are unavailable the run goes on from the binary itself.
pub fn reexec() {
    use std::ffi::CString;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    let already = std::fs::read_link("/proc/self/exe")
        .map(|p| {
            p.as_os_str()
                .as_bytes()
                .starts_with(b"/memfd:minirun-sealed")
        })
        .unwrap_or(true);
    if already {
        // fexecve named us after /dev/fd/N; ps, pscap and tests know the runtime as minirun.
        // SAFETY: a NUL-terminated name that outlives the call.
        unsafe { libc::prctl(libc::PR_SET_NAME, c"minirun".as_ptr(), 0, 0, 0) };
        return;
    }
    let Ok(mut exe) = std::fs::File::open("/proc/self/exe") else {
        return;
    };
    let name = CString::new(SEALED_NAME).unwrap();
    // SAFETY: a valid NUL-terminated name and flags; the fd returned is ours.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return;
    }
    // SAFETY: memfd_create returned a fresh fd that nothing else owns.
    let mut copy = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    if std::io::copy(&mut exe, &mut copy).is_err() {
        return;
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on an fd we own, integer arguments only.
    if unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        return;
    }
    let cstrings = |v: Vec<Vec<u8>>| -> Option<Vec<CString>> {
        v.into_iter().map(|b| CString::new(b).ok()).collect()
    };
    let Some(argv) = cstrings(std::env::args_os().map(|a| a.as_bytes().to_vec()).collect()) else {
        return;
    };
    let Some(envp) = cstrings(
        std::env::vars_os()
            .map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat())
            .collect(),
    ) else {
        return;
    };
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|c| c.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of pointers into CStrings that outlive the call; on
    // success this never returns, on failure we go on as before.
    unsafe { libc::fexecve(copy.as_raw_fd(), argv_p.as_ptr(), envp_p.as_ptr()) };
}
