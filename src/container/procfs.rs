//! The one home of the /proc readers the runtime and its commands use: namespace links, the
//! start time and state fields of /proc/PID/stat, and the status file.

use std::path::PathBuf;

/// `/proc/PID/ns/NAME`'s target (`pid:[4026531836]`), or None when the process is gone.
/// `pid` None reads this process's own.
pub fn ns_link(pid: Option<i32>, name: &str) -> Option<PathBuf> {
    let who = pid.map_or_else(|| "self".to_string(), |p| p.to_string());
    std::fs::read_link(format!("/proc/{who}/ns/{name}")).ok()
}

/// Whether `pid` is in another `name` namespace than this process.
pub fn ns_differs(pid: i32, name: &str) -> bool {
    match (ns_link(Some(pid), name), ns_link(None, name)) {
        (Some(theirs), Some(ours)) => theirs != ours,
        _ => false,
    }
}

/// The fields of /proc/PID/stat after the command name (field 3, the state, comes first):
/// the name is in parentheses and may itself contain spaces and parentheses.
fn stat_fields(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat.get(stat.rfind(')')? + 2..)?.to_string())
}

/// The start time of `pid` (clock ticks since boot, field 22), or None when it does not exist.
pub fn start_time(pid: i32) -> Option<u64> {
    stat_fields(pid)?.split(' ').nth(19)?.parse().ok()
}

/// The command name (field 2, without its parentheses).
pub fn command_name(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat.get(stat.find('(')? + 1..stat.rfind(')')?)?.to_string())
}

/// The parent pid (field 4).
pub fn parent_pid(pid: i32) -> Option<i32> {
    stat_fields(pid)?.split(' ').nth(1)?.parse().ok()
}

/// True when `pid` is a zombie, or gone.
pub fn is_zombie(pid: i32) -> bool {
    stat_fields(pid).is_none_or(|f| f.starts_with('Z'))
}

/// /proc/PID/status (None: this process).
pub fn status_text(pid: Option<i32>) -> std::io::Result<String> {
    let who = pid.map_or_else(|| "self".to_string(), |p| p.to_string());
    std::fs::read_to_string(format!("/proc/{who}/status"))
}

/// Waits until `pid` has finished an execve it is inside of. The protocol channel closes at
/// execve's close-on-exec step, before the kernel commits the new credentials and names the
/// task after the program; all of that happens under the task's exec_update_lock, which a
/// read of /proc/PID/syscall takes too. So after this, /proc shows the workload's own name
/// and capability sets (what pscap and `minirun caps` read). Errors (a workload already gone)
/// are ignored: there is nothing left to wait for.
pub fn wait_exec_done(pid: i32) {
    let _ = std::fs::read(format!("/proc/{pid}/syscall"));
}

/// The host pids of every process in `pid`'s pid namespace, sorted.
pub fn pids_in_pid_namespace_of(pid: i32) -> Vec<i32> {
    let Some(target) = ns_link(Some(pid), "pid") else {
        return Vec::new();
    };
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|&p| ns_link(Some(p), "pid").as_ref() == Some(&target))
        .collect();
    pids.sort_unstable();
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id() as i32;
        assert!(start_time(me).is_some());
        assert!(command_name(me).is_some_and(|c| !c.is_empty()));
        assert!(!is_zombie(me));
        assert_eq!(parent_pid(me), Some(nix::unistd::getppid().as_raw()));
        assert!(ns_link(None, "pid").is_some());
        assert!(!ns_differs(me, "pid"));
        assert!(pids_in_pid_namespace_of(me).contains(&me));
        assert!(status_text(None).unwrap().contains("CapEff:"));
        assert!(start_time(-1).is_none() && is_zombie(-1));
    }
}
