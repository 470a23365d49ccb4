//! CVE-2019-5736: re-executing from a read-only view of this binary.
//!
//! A process of this binary inside a pid namespace others can see (the init before execve,
//! the `--init` reaper, an `exec` entering a running container) exposes it as /proc/PID/exe.
//! Non-dumpable keeps that closed to ordinary workloads, but not to one holding CAP_SYS_PTRACE
//! over it, which can hold the fd and reopen it for writing once every minirun process has
//! exited. So such commands first re-execute from a detached, read-only bind mount of the
//! binary (as runc now does): /proc/PID/exe then names a file on a read-only mount (its path
//! reads "/", the root of a mount attached nowhere), and opening it for writing gives EROFS.
//! It costs a bind mount and an execveat (well under a millisecond); where the kernel lacks
//! open_tree or mount_setattr (before 5.12) a sealed memfd copy takes its place (a few ms).

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

const SEALED_NAME: &str = "minirun-sealed";
const OPEN_TREE_CLONE: libc::c_uint = 1;
/// Re-executes this process from a read-only view of its binary, unless it already runs from
/// one. Returns only when it already does or when neither protection is available (the run
/// then goes on from the binary itself; non-dumpable still holds).
pub fn reexec() {
    if running_protected() {
        // fexecve/execveat named us after the fd; ps, pscap and tests know us as minirun.
        // SAFETY: a NUL-terminated name that outlives the call.
        unsafe { libc::prctl(libc::PR_SET_NAME, c"minirun".as_ptr(), 0, 0, 0) };
        return;
    }
    let Some((argv, envp)) = argv_envp() else {
        return;
    };
    let fd = match read_only_mount() {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => match sealed_copy() {
            Some(fd) => fd,
            None => return,
        },
        Err(e) => {
            tracing::debug!("no read-only view of the binary ({e}); trying a sealed copy");
            match sealed_copy() {
                Some(fd) => fd,
                None => return,
            }
        }
    };
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|c| c.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of pointers into CStrings that outlive the call, an empty
    // path with AT_EMPTY_PATH (execute the fd itself); on success this never returns, on
    // failure we go on as before.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv_p.as_ptr(),
            envp_p.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
}

/// Whether /proc/self/exe is already a protected view: the root of a detached mount reads
/// "/", a sealed copy "/memfd:minirun-sealed (deleted)". Unreadable counts as protected, so
/// a process without /proc never loops.
fn running_protected() -> bool {
    std::fs::read_link("/proc/self/exe")
        .map(|p| {
            let b = p.as_os_str().as_bytes();
            b == b"/" || b.starts_with(b"/memfd:minirun-sealed")
        })
        .unwrap_or(true)
}

/// open_tree(OPEN_TREE_CLONE) of /proc/self/exe, made read-only with mount_setattr: an fd on
/// a private bind mount of just this file, attached to no directory, that nothing can remount
/// read-write (nobody else has the mount). It goes away with the last process executing it.
fn read_only_mount() -> std::io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated path and integer flags; the fd returned is ours.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            c"/proc/self/exe".as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: open_tree returned a fresh fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
    super::rootfs::set_read_only(&fd, false)?;
    Ok(fd)
}

/// The fallback: a sealed memfd copy of the binary (what runc did before 1.2).
fn sealed_copy() -> Option<OwnedFd> {
    let mut exe = std::fs::File::open("/proc/self/exe").ok()?;
    let name = CString::new(SEALED_NAME).ok()?;
    // SAFETY: a valid NUL-terminated name and flags; the fd returned is ours.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return None;
    }
    // SAFETY: memfd_create returned a fresh fd that nothing else owns.
    let mut copy = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    std::io::copy(&mut exe, &mut copy).ok()?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on an fd we own, integer arguments only.
    if unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        return None;
    }
    Some(copy.into())
}

fn argv_envp() -> Option<(Vec<CString>, Vec<CString>)> {
    let cstrings = |v: Vec<Vec<u8>>| -> Option<Vec<CString>> {
        v.into_iter().map(|b| CString::new(b).ok()).collect()
    };
    let argv = cstrings(std::env::args_os().map(|a| a.as_bytes().to_vec()).collect())?;
    let envp = cstrings(
        std::env::vars_os()
            .map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat())
            .collect(),
    )?;
    Some((argv, envp))
}
