//! Starting a container: the parent's side (launch), the child's straight line (init), and
//! what they use.

pub mod console;
pub mod exec;
pub mod in_root;
pub mod init;
pub mod launch;
pub mod net;
pub mod plan;
pub mod reaper;
pub mod rootfs;
pub mod sealed;
pub mod state;
pub mod user;
