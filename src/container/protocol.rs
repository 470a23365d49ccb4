//! Every message between the runtime (the parent) and the process it clones (the container's
//! init, or an `exec`'d process): one typed enum over one channel, used by the quick form,
//! `create`/`start`/`run` and `exec` alike.
//!
//! The channel is a unix SOCK_SEQPACKET socketpair, always present: each message is one
//! packet (the framing is the kernel's), JSON-encoded, and may carry fds with SCM_RIGHTS.
//! Both ends are close-on-exec, so the workload's successful execve closes the child's end:
//! the parent reads end-of-file, which *is* "started". Nothing else is ever sent as a raw
//! byte, a pipe or a bare integer.
//!
//! The whole sequence (steps in brackets happen only when the plan asks for them):
//!
//! ```text
//!  parent (launch.rs)                                child (init.rs / exec_init.rs)
//!  ------------------                                ------------------------------
//!  socketpair, block forwarded signals
//!  [setns into a joined pid namespace]
//!  [create the cgroup, open its v1 tasks files]
//!  clone3 (into the v2 cgroup) ────────────────────▶ pdeathsig, non-dumpable
//!  [write uid_map, gid_map]                          waits for Proceed
//!  Proceed { host_pid } ────────────────────────────▶ [write "0" to each v1 tasks file: in
//!                                                    its cgroups], [become the user
//!                                                    namespace's root], join namespaces,
//!                                                    [unshare cgroupns] (init only),
//!                                                    [keyring], mounts, hostname, loopback
//!                  ◀──────────────────────────────── [RunCreateHooks]       (init only)
//!  [prestart, createRuntime hooks]
//!  [CreateHooksDone] ───────────────────────────────▶ [createContainer hooks], pivot_root,
//!                                                    sysctls, read-only and masked paths,
//!                                                    personality, then child::confine_and_exec:
//!                                                    [pty], limits, [seccomp filter],
//!                                                    capabilities and identity, program
//!                                                    lookup, [seccomp filter if
//!                                                    no_new_privs]
//!                  ◀──────────────────────────────── [SeccompListener + fd] (notify only)
//!  [hand the fd to linux.seccomp.listenerPath]       [close every fd it does not need]
//!                  ◀──────────────────────────────── [AtStartGate]          (OCI create)
//!  [save state.json]
//!  [Recorded] ──────────────────────────────────────▶ (end-of-file instead: exit)
//!  `create` returns; later `start` opens the          blocks on the exec fifo until `start`
//!  exec fifo                                          [startContainer hooks], [--init reaper]
//!                                                    close fds, cwd, reset signals, execve
//!  end-of-file: the workload runs  ◀──────────────── (execve closes the child's end)
//!
//!  at any step instead:
//!                  ◀──────────────────────────────── Failed { code, message }, _exit(code)
//! ```
//!
//! `minirun -d` (commands/detach.rs) adds one hop: the foreground minirun forks a monitor,
//! which runs the parent's side above and reports over a pair of its own:
//!
//! ```text
//!  foreground minirun                                monitor (the container's parent)
//!  ------------------                                --------------------------------
//!  pair(), fork ───────────────────────────────────▶ spawn, wait_ready, save the record
//!                  ◀──────────────────────────────── Running { pid }   (the workload runs)
//!  print the id, exit 0                              wait for the workload, its exit status
//!
//!  instead, once it has undone the launch:
//!                  ◀──────────────────────────────── Failed { code, message }, exit
//! ```
//!
//! Adding a step (a seccomp listener fd coming back) is a variant here, a send on one side and a match arm on the other.

use super::error::{Context, Result};
use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};
use serde::{Deserialize, Serialize};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// One message. Direction and moment are in each variant's comment and the diagram above.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// parent → child, right after clone3: the parent's own steps for this child are done
    /// (its uid/gid maps are written when it has a new user namespace). Carries the child's
    /// pid as the host sees it, which hook state reports. The child then moves itself into
    /// its v1 cgroups (`cgroups::joins`).
    Proceed { host_pid: i32 },
    /// child → parent: mounts are done, pivot_root is next: run the prestart and
    /// createRuntime hooks (in the runtime's namespaces) now.
    RunCreateHooks,
    /// parent → child: those hooks ran and succeeded.
    CreateHooksDone,
    /// child → parent: everything up to execve is done; waiting at the start gate (OCI create).
    AtStartGate,
    /// parent → child, after AtStartGate: the container is recorded in the state root, so
    /// `start`, `kill` and `delete` can find it. Until then the child does not block on the
    /// exec fifo: end-of-file instead (a runtime killed before it recorded the container)
    /// makes it exit rather than wait forever where nobody can find it.
    Recorded,
    /// child → parent, with one fd: the seccomp notify listener the filter's installation
    /// returned; the parent hands it to `linux.seccomp.listenerPath`.
    SeccompListener,
    /// monitor → foreground (`-d`): the container is recorded and its workload runs, as
    /// `pid` on the host; the foreground prints the id and returns.
    Running { pid: i32 },
    /// child → parent (and monitor → foreground): setup failed; Docker's exit code (125
    /// setup, 126 cannot execute, 127 not found) and one line. The child exits with the same
    /// code.
    Failed { code: u8, message: String },
}

/// The largest packet: a failure line is short; this only bounds a runaway.
const MAX_PACKET: usize = 64 * 1024;
/// The most fds one message may carry.
const MAX_FDS: usize = 4;

/// One end of the channel.
#[derive(Debug)]
pub struct Channel {
    sock: OwnedFd,
}

/// What `recv` got.
#[derive(Debug)]
pub struct Received {
    pub message: Message,
    /// fds that came with it (SCM_RIGHTS), in the order sent.
    pub fds: Vec<OwnedFd>,
}

/// The two ends: (parent's, child's). Both close-on-exec.
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("creating the parent/child channel")?;
    Ok((Channel { sock: a }, Channel { sock: b }))
}

impl Channel {
    /// Sends one message, with `fds` attached. A peer that is gone is an error (EPIPE), never
    /// a SIGPIPE.
    pub fn send(&self, m: &Message, fds: &[RawFd]) -> Result<()> {
        let bytes = serde_json::to_vec(m).context("encoding a protocol message")?;
        let cmsg = [ControlMessage::ScmRights(fds)];
        let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
        loop {
            match sendmsg::<()>(
                self.sock.as_raw_fd(),
                &[IoSlice::new(&bytes)],
                cmsgs,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => {
                    r.with_context(|| format!("sending {}", m.name()))?;
                    return Ok(());
                }
            }
        }
    }

    /// The next message, or None at end-of-file: the peer closed its end (the child exec'd
    /// or died; the parent died).
    pub fn recv(&self) -> Result<Option<Received>> {
        let mut buf = vec![0u8; MAX_PACKET];
        let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
        let (len, fds) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(
                self.sock.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                // The peer closed its end with a message of ours unread (a child that failed
                // before reading Proceed). On a SOCK_SEQPACKET socket the kernel reports
                // that once, before the packets the peer sent: read again to get its Failed,
                // then end-of-file.
                Err(nix::errno::Errno::ECONNRESET) => continue,
                Err(e) => return Err(e).context("reading the parent/child channel"),
                Ok(msg) => {
                    let mut fds = Vec::new();
                    for c in msg.cmsgs().context("reading the fds of a message")? {
                        if let ControlMessageOwned::ScmRights(list) = c {
                            // SAFETY: SCM_RIGHTS just installed these fds in this process;
                            // nothing else owns them.
                            fds.extend(
                                list.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }),
                            );
                        }
                    }
                    break (msg.bytes, fds);
                }
            }
        };
        if len == 0 {
            return Ok(None);
        }
        let message = serde_json::from_slice(&buf[..len])
            .context("decoding a message from the parent/child channel")?;
        Ok(Some(Received { message, fds }))
    }

    /// The next message, which must be `want`; end-of-file or another message is an error.
    pub fn expect(&self, want: &str, is: impl Fn(&Message) -> bool) -> Result<Message> {
        match self.recv()? {
            Some(r) if is(&r.message) => Ok(r.message),
            Some(r) => bail!("expected {want}, got {}", r.message.name()),
            None => bail!("expected {want}, but the other side is gone"),
        }
    }

    /// True when the peer has closed its end: for a child, the runtime that would read its
    /// reports is dead. Never blocks.
    pub fn peer_gone(&self) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.sock.as_raw_fd(),
            events: 0,
            revents: 0,
        };
        // SAFETY: one pollfd that outlives the call; timeout 0, so it never blocks.
        let n = unsafe { libc::poll(&mut pfd, 1, 0) };
        n == 1 && pfd.revents & (libc::POLLHUP | libc::POLLERR) != 0
    }

    pub fn raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl Message {
    /// The variant's name, for errors.
    pub fn name(&self) -> &'static str {
        match self {
            Message::Proceed { .. } => "Proceed",
            Message::RunCreateHooks => "RunCreateHooks",
            Message::CreateHooksDone => "CreateHooksDone",
            Message::AtStartGate => "AtStartGate",
            Message::Recorded => "Recorded",
            Message::SeccompListener => "SeccompListener",
            Message::Running { .. } => "Running",
            Message::Failed { .. } => "Failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_fds_and_end_of_file() {
        let (parent, child) = pair().unwrap();
        parent
            .send(&Message::Proceed { host_pid: 42 }, &[])
            .unwrap();
        let r = child.recv().unwrap().unwrap();
        assert_eq!(r.message, Message::Proceed { host_pid: 42 });
        assert!(r.fds.is_empty());
        let failed = Message::Failed {
            code: 127,
            message: "exec: \"x\": executable file not found in $PATH".into(),
        };
        let (r, w) = nix::unistd::pipe().unwrap();
        child.send(&failed, &[w.as_raw_fd()]).unwrap();
        let got = parent.recv().unwrap().unwrap();
        assert_eq!(got.message, failed);
        assert_eq!(got.fds.len(), 1);
        // The fd that came over is the pipe's write end: a byte written there arrives.
        nix::unistd::write(&got.fds[0], b"x").unwrap();
        let mut b = [0u8; 1];
        assert_eq!(nix::unistd::read(&r, &mut b).unwrap(), 1);
        child.send(&Message::AtStartGate, &[]).unwrap();
        assert!(
            parent
                .expect("AtStartGate", |m| *m == Message::AtStartGate)
                .is_ok()
        );
        assert!(!child.peer_gone());
        drop(parent);
        assert!(child.peer_gone());
        let e = child.expect("Proceed", |m| matches!(m, Message::Proceed { .. }));
        assert!(e.unwrap_err().to_string().contains("gone"));
        assert!(child.recv().unwrap().is_none());
    }

    /// A child that fails with a message of the parent's unread still gets its Failed read:
    /// the kernel's ECONNRESET comes first and must not hide it (CI saw exactly this).
    #[test]
    fn a_failure_sent_before_an_unread_message_is_still_read() {
        let (parent, child) = pair().unwrap();
        let failed = Message::Failed {
            code: 125,
            message: "the host has no /dev/full2".into(),
        };
        child.send(&failed, &[]).unwrap();
        parent
            .send(&Message::Proceed { host_pid: 42 }, &[])
            .unwrap();
        drop(child);
        assert_eq!(parent.recv().unwrap().unwrap().message, failed);
        assert!(parent.recv().unwrap().is_none());
    }
}
