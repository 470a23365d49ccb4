//! `-t` (and `-it`) for the quick form, as `docker run -it`: the workload gets a pty made in
//! the container (container/console.rs, the OCI path's code) whose master comes back to us
//! over a socketpair by SCM_RIGHTS; we copy between it and the caller's terminal until the
//! workload exits.
//!
//! With -i the caller's terminal is put in raw mode, so ^C, ^Z and line editing go to the
//! workload's pty (where its shell handles them) instead of to minirun; the previous mode is
//! restored on every way out but SIGKILL. SIGWINCH becomes a resize of the pty.

use crate::container::console;
use crate::container::launch::{self, Child};
use anyhow::{Context, Result, bail};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg, socketpair,
};
use nix::sys::termios::{self, SetArg, Termios};
use std::io::{IoSliceMut, IsTerminal, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Our end and the child's end of the socket the pty master travels over.
pub fn socket() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("socketpair for the pty master")
}

/// Refuses what Docker refuses: `-it` needs a terminal to read from.
pub fn check(interactive: bool) -> Result<()> {
    if interactive && !std::io::stdin().is_terminal() {
        bail!("the input device is not a TTY (use -t without -i, or run from a terminal)");
    }
    Ok(())
}

/// The caller's window as (rows, columns): from stdin's terminal, else stdout's.
pub fn caller_size() -> Option<(u16, u16)> {
    window(0).or_else(|| window(1))
}

/// The window of the terminal on `fd` as (rows, columns); None if it is not a terminal.
pub fn window(fd: RawFd) -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into `ws`, which we own; a non-terminal fails.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
}

/// The master the child sent (before its execve; the message waits in the socket).
pub fn receive(sock: &OwnedFd) -> Result<OwnedFd> {
    let mut name = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .context("receiving the pty master")?;
    for c in msg.cmsgs().context("reading the pty master's message")? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(&fd) = fds.first()
        {
            // SAFETY: SCM_RIGHTS just installed this fd in our table; nobody else owns it.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    bail!("the container sent no pty master")
}

/// The caller's terminal in raw mode until dropped.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    pub fn enter() -> Result<RawMode> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).context("reading the terminal's mode")?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        // TCSANOW, not TCSAFLUSH: what was typed ahead (or piped into script(1)) is kept.
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)
            .context("putting the terminal in raw mode")?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// Copies the caller's stdin (with -i) to the pty and the pty to stdout, turns SIGWINCH into
/// a resize and forwards the other signals, until the workload exits; returns its status.
pub fn relay(child: &Child, master: OwnedFd, interactive: bool) -> Result<i32> {
    let sfd = SignalFd::with_flags(
        &launch::forwarded_set(),
        SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK,
    )
    .context("creating a signalfd")?;
    // SAFETY: fd 0 stays open for the life of this process.
    let stdin = unsafe { BorrowedFd::borrow_raw(0) };
    let mut reading_stdin = interactive;
    let mut pty_open = true;
    let mut out = std::io::stdout().lock();
    let mut buf = [0u8; 8192];
    loop {
        let mut fds = vec![
            PollFd::new(child.pidfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
        ];
        // A closed pty polls as always ready: it leaves the set.
        let pty_at = pty_open.then(|| {
            fds.push(PollFd::new(master.as_fd(), PollFlags::POLLIN));
            fds.len() - 1
        });
        let stdin_at = reading_stdin.then(|| {
            fds.push(PollFd::new(stdin, PollFlags::POLLIN));
            fds.len() - 1
        });
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => r.context("poll")?,
        };
        let ready = |i: Option<usize>| {
            i.and_then(|i| fds[i].revents())
                .is_some_and(|r| !r.is_empty())
        };
        let (exited, signalled, output) = (ready(Some(0)), ready(Some(1)), ready(pty_at));
        let input = ready(stdin_at);
        if signalled {
            while let Ok(Some(info)) = sfd.read_signal() {
                match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGWINCH) => {
                        if let Some((rows, cols)) = caller_size() {
                            let _ = console::set_size(master.as_raw_fd(), rows, cols);
                        }
                    }
                    Ok(Signal::SIGCHLD) | Err(_) => {}
                    Ok(sig) => {
                        let _ = kill(child.pid, sig);
                    }
                }
            }
        }
        if output && copy_out(&master, &mut out, &mut buf)? == 0 {
            // Every slave fd is closed: nothing more will come; wait for the exit.
            pty_open = false;
        }
        if input {
            match nix::unistd::read(stdin, &mut buf) {
                Ok(0) | Err(_) => reading_stdin = false,
                Ok(n) => write_all(master.as_fd(), &buf[..n])?,
            }
        }
        if exited {
            // What the workload wrote just before it exited is still in the pty.
            nix::fcntl::fcntl(
                &master,
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
            )
            .context("draining the pty")?;
            while pty_open && copy_out(&master, &mut out, &mut buf)? > 0 {}
            return Ok(launch::wait_exit(child)?);
        }
    }
}

/// One read from the master to stdout; 0 at its end (EIO once the slave is closed).
fn copy_out(master: &OwnedFd, out: &mut impl Write, buf: &mut [u8]) -> Result<usize> {
    match nix::unistd::read(master, buf) {
        Ok(n) => {
            out.write_all(&buf[..n]).context("writing to stdout")?;
            out.flush().context("writing to stdout")?;
            Ok(n)
        }
        Err(nix::errno::Errno::EIO | nix::errno::Errno::EAGAIN) => Ok(0),
        Err(nix::errno::Errno::EINTR) => Ok(1),
        Err(e) => Err(e).context("reading the pty"),
    }
}

fn write_all(fd: BorrowedFd, mut data: &[u8]) -> Result<()> {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e).context("writing to the pty"),
        }
    }
    Ok(())
}
