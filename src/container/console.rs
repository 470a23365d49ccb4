//! `terminal: true`: a pty for the workload, made in the container, whose master is handed to
//! the caller over `--console-socket` with SCM_RIGHTS, as runc does (conmon and the docker shim
//! then copy between the master and the user's terminal).

use super::error::{Context, Result};
use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// In the child, after entering the container's root and before dropping privileges: opens a
/// pty in the container's devpts, sends the master over `socket`, and makes the slave this
/// process's controlling terminal and stdin/stdout/stderr.
pub fn setup(socket: RawFd, uid: u32, size: Option<(u16, u16)>) -> Result<()> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY)
        .context("opening /dev/ptmx in the container")?;
    grantpt(&master).context("grantpt")?;
    unlockpt(&master).context("unlockpt")?;
    let name = ptsname_r(&master).context("ptsname")?;
    // The slave through the master (TIOCGPTPEER), not by its /dev/pts name: a name could be
    // swapped under us by a process already in the container.
    // SAFETY: TIOCGPTPEER takes open flags by value and returns a new fd we then own.
    let slave = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    let slave = nix::errno::Errno::result(slave).context("opening the pty slave")?;
    // SAFETY: the ioctl just returned this fd, owned by nobody else.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    // The workload's own terminal: it may reopen /dev/pts/N as its user.
    let _ = nix::unistd::fchown(&slave, Some(uid.into()), None);
    if let Some((rows, cols)) = size {
        set_size(master.as_raw_fd(), rows, cols).context("setting the pty's window size")?;
    }

    let fds = [master.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(
        socket,
        &[IoSlice::new(name.as_bytes())],
        &cmsg,
        MsgFlags::empty(),
        None,
    )
    .context("sending the pty master over the console socket")?;
    drop(master);

    // The pty becomes the controlling terminal of the session child::first_steps started:
    // ^C reaches the workload.
    // SAFETY: TIOCSCTTY with argument 0 on a terminal fd we own.
    let r = unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) };
    nix::errno::Errno::result(r).context("making the pty the controlling terminal")?;
    for target in 0..=2 {
        // SAFETY: dup2 onto 0..2 replaces our stdio with the pty; no Rust object owns them.
        let r = unsafe { libc::dup2(slave.as_raw_fd(), target) };
        nix::errno::Errno::result(r).context("pty as stdio")?;
    }
    Ok(())
}

/// TIOCSWINSZ: the terminal's size in rows and columns (pixels unknown, left 0).
pub fn set_size(fd: RawFd, rows: u16, cols: u16) -> nix::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize that lives across the call.
    let r = unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
    nix::errno::Errno::result(r).map(drop)
}
