//! mount_setattr(2) (Linux 5.12): mount flags set on a mount, or on a whole tree of mounts in
//! one call, through an fd.

use std::os::fd::AsRawFd;

/// linux/mount.h's MOUNT_ATTR_*: what `set` sets.
pub const RDONLY: u64 = 0x1;
pub const NOSUID: u64 = 0x2;
pub const NODEV: u64 = 0x4;
pub const NOEXEC: u64 = 0x8;

/// mount_setattr(2): `attr_set` (MOUNT_ATTR_*) on the mount `fd` names, and with `recursive`
/// on every mount below it too.
pub fn set(fd: &impl AsRawFd, attr_set: u64, recursive: bool) -> std::io::Result<()> {
    /// struct mount_attr (linux/mount.h).
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let attr = MountAttr {
        attr_set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let mut flags = libc::AT_EMPTY_PATH;
    if recursive {
        flags |= libc::AT_RECURSIVE;
    }
    // SAFETY: the path is a NUL-terminated empty string and `attr` a live struct of the size
    // passed; the kernel reads both only during the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
