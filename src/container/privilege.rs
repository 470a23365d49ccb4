//! The one privilege check: minirun creates namespaces, mounts and sets ids, which only root
//! may do (there is no rootless mode yet).

/// minirun is not running as root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("minirun must run as root (rootless containers are not supported yet)")]
pub struct NotRoot;

/// Fails unless the effective uid is 0.
pub fn require_root() -> Result<(), NotRoot> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(NotRoot)
    }
}
