//! Who may do what: root does everything; an ordinary user runs containers in a user
//! namespace of its own (see `rootless`), but not what needs host privileges (the capability
//! lab's probes, the cgroup-attached capability tracer).

/// minirun is not running as root, and the command needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "this command must run as root (as an ordinary user, minirun runs the quick form, -d, exec, ps and the OCI commands in a user namespace)"
)]
pub struct NotRoot;

/// Whether the effective uid is 0.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Fails unless the effective uid is 0.
pub fn require_root() -> Result<(), NotRoot> {
    if is_root() { Ok(()) } else { Err(NotRoot) }
}
