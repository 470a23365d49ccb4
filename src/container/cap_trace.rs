//! `--trace`'s capability grids: the sets after each step of the child, and the workload's
//! once its execve is done, read from /proc and drawn by [`crate::capability::grid`].

use crate::capability::CapSets;
use crate::capability::grid::{View, render, use_colour};
use crate::container::procfs;

/// The runtime's own user namespace, remembered before the container's is created, so the
/// child (whose /proc is the container's by then) can tell whether it is in another.
static HOST_USERNS: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();

pub fn remember_host_userns() {
    HOST_USERNS.get_or_init(|| procfs::ns_link(None, "user"));
}

/// `--trace`: the grid after a capability step, against the previous step's sets (the child
/// is one process, so a static remembers them). Printed to stderr, beside the trace steps it
/// belongs to (`trace::emit`), not through tracing: it is the child's display, not a message.
pub fn trace_step(sets: CapSets) {
    static PREVIOUS: std::sync::Mutex<Option<CapSets>> = std::sync::Mutex::new(None);
    let Ok(mut prev) = PREVIOUS.lock() else {
        return;
    };
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let seccomp = View::from_status(&text, false).and_then(|v| v.seccomp);
    let other_userns = HOST_USERNS
        .get()
        .is_some_and(|host| procfs::ns_link(None, "user") != *host);
    let v = View {
        sets,
        previous: *prev,
        other_userns,
        seccomp,
    };
    eprint!(
        "{}",
        render(&v, crate::capability::kernel_last_cap(), use_colour(2))
    );
    *prev = Some(sets);
}

/// `--trace`: the workload's grid read from /proc once its execve is complete, against the
/// sets the init gave it (`before`): what execve itself changed.
pub fn trace_after_execve(pid: i32, before: CapSets) {
    procfs::wait_exec_done(pid);
    let Ok(text) = procfs::status_text(Some(pid)) else {
        return;
    };
    let other = procfs::ns_differs(pid, "user");
    if let Some(mut v) = View::from_status(&text, other) {
        v.previous = Some(before);
        crate::step!("after execve, read from /proc/{pid}/status:");
        eprint!(
            "{}",
            render(&v, crate::capability::kernel_last_cap(), use_colour(2))
        );
    }
}
