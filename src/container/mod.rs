//! The runtime library: starting a container and everything it uses. The parent's side
//! (launch), the child's straight lines (init for a new container, exec_init for a process
//! joining one), the messages between them (protocol), the pure pass from Spec to Plan
//! (validate), and the effects each step needs. It takes plain values: nothing here knows
//! the command line.

/// `bail!` as anyhow's, for this folder: returns an [`error::Error::Refused`] whose line is
/// the message. Defined before the modules so that they all see it.
#[allow(unused_macros)]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::container::error::Error::Refused(format!($($arg)*)).into())
    };
}

/// An [`error::Error::Refused`] with this line, for `map_err` and `ok_or_else`.
#[allow(unused_macros)]
macro_rules! refused {
    ($($arg:tt)*) => {
        $crate::container::error::Error::Refused(format!($($arg)*))
    };
}

pub mod bundle;
pub mod cap_trace;
pub mod cgroup_launch;
pub mod cgroup_view;
pub mod child;
pub mod console;
pub mod error;
pub mod exec_init;
pub mod handles;
pub mod hooks;
pub mod in_root;
pub mod init;
pub mod instance;
pub mod launch;
pub mod leak_guards;
pub mod mount_attr;
pub mod net;
pub mod plan;
pub mod privilege;
pub mod procfs;
pub mod program;
pub mod protocol;
pub mod readonly_reexec;
pub mod reaper;
pub mod rootfs;
pub mod rootless;
pub mod rootless_cgroup;
pub mod seccomp_step;
pub mod state;
pub mod subprocess;
pub mod task;
pub mod user;
pub mod validate;
