//! The effect: seccomp(SECCOMP_SET_MODE_FILTER). No allocation, so a freshly cloned child may
//! call it.

use std::os::fd::{FromRawFd, OwnedFd};

use super::filter::Filter;

const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("seccomp filter of {0} instructions is empty or longer than the kernel's 4096")]
    Size(usize),
    #[error(
        "seccomp(SET_MODE_FILTER): {0} (the kernel requires no_new_privs or CAP_SYS_ADMIN first)"
    )]
    NotPermitted(nix::Error),
    #[error("seccomp(SET_MODE_FILTER, flags {flags:#x}): {err}")]
    Failed { flags: u32, err: nix::Error },
}

/// Installs `filter` on the calling thread (all threads with TSYNC). Returns the notification
/// listener when the filter notifies.
///
/// The caller must have set no_new_privs or hold CAP_SYS_ADMIN in its effective set.
pub fn install(filter: &Filter) -> Result<Option<OwnedFd>, InstallError> {
    let len = filter.program.len();
    if len == 0 || len > 4096 {
        return Err(InstallError::Size(len));
    }
    let prog = libc::sock_fprog {
        len: len as u16,
        filter: filter.program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prog points at `len` initialised instructions that outlive the call; the kernel
    // copies them and does not keep the pointer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            filter.flags as libc::c_ulong,
            &prog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        let err = nix::Error::last();
        return Err(match err {
            nix::Error::EACCES => InstallError::NotPermitted(err),
            _ => InstallError::Failed {
                flags: filter.flags,
                err,
            },
        });
    }
    if filter.notifies() {
        // SAFETY: with NEW_LISTENER the kernel returns a new fd that nothing else owns.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as i32) }))
    } else {
        Ok(None)
    }
}
