//! What one start holds besides its Plan: live fds and the identity of this one start, which
//! a pure Plan cannot hold (every decision of the launch is in `Plan.settings`). The parent
//! reads all of it; its child reads it through `ChildContext`, never a copy.

use super::hooks::{self, HookState};
use super::plan::Plan;
use std::os::fd::RawFd;

#[derive(Debug, Clone, Default)]
pub struct Handles {
    /// OCI create: an O_PATH fd of the exec fifo; the child waits on it before execve.
    pub start_gate: Option<RawFd>,
    /// A connected unix socket: the child sends its pty master over it (`--console-socket`).
    pub console_socket: Option<RawFd>,
    /// The pty's size (rows, columns), set before the workload runs so its first look at the
    /// terminal sees the caller's window (the quick form's `-t`).
    pub console_size: Option<(u16, u16)>,
    /// Run the config's hooks, with this container's identity in their state JSON.
    pub hooks: Option<HookState>,
}

impl Handles {
    /// The identity hooks run with, when `plan` has any hook to run.
    pub fn hooks_for(&self, plan: &Plan) -> Option<&HookState> {
        self.hooks.as_ref().filter(|_| hooks::any(&plan.hooks))
    }
}
