//! What every test that starts a container daemon (dockerd, containerd) needs: a private mount
//! namespace to run it in, and the means to find and end what it leaves running.
#![allow(dead_code)]

use crate::common::processes_mentioning;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Covers /sys/fs/cgroup/memory and /sys/fs/cgroup/unified with an empty read-only tmpfs, then
/// execs the command: containerd's shim (and conmon) would otherwise register an OOM watch in
/// the caller's memory cgroup, which here belongs to the machine's supervisor.
pub const PRIVATE_NS: &str = "for d in memory unified; do \
    if [ -d /sys/fs/cgroup/$d ]; then mount -t tmpfs -o ro,size=4k tmpfs /sys/fs/cgroup/$d || exit 1; fi; \
    done; exec \"$@\"";

/// `argv` in a private mount namespace; unshare and sh exec, so the child's pid is argv[0]'s.
pub fn in_private_ns(argv: &[&str]) -> Command {
    let mut c = Command::new("unshare");
    c.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        PRIVATE_NS,
        "sh",
    ]);
    c.args(argv);
    c.stdin(Stdio::null());
    c
}

/// Fails (never skips) when a binary the test drives is missing, naming the Debian package.
pub fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: install Debian's `{package}` package (apt-get install {package})"
    );
}

/// Stops a daemon by its pid: SIGTERM, then SIGKILL if it is still there after 20 s.
pub fn stop_daemon(daemon: &mut Child) {
    let pid = Pid::from_raw(daemon.id() as i32);
    let _ = kill(pid, Signal::SIGTERM);
    let end = Instant::now() + Duration::from_secs(20);
    while daemon.try_wait().ok().flatten().is_none() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
}

/// Every process whose parent chain leads to `ancestor`.
pub fn descendants(ancestor: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|&pid| {
            let mut p = pid;
            for _ in 0..64 {
                match crate::common::ppid(p) {
                    Some(pp) if pp == ancestor => return true,
                    Some(pp) if pp > 1 => p = pp,
                    _ => return false,
                }
            }
            false
        })
        .collect()
}

/// SIGKILLs whatever still mentions `dir`, the workloads under it first (a shim killed first
/// would orphan them); returns the pids and command lines it found after a grace period.
pub fn kill_leftovers(dir: &Path) -> Vec<(i32, String)> {
    let wait =
        || crate::common::wait_for(10.0, || processes_mentioning(dir).is_empty().then_some(()));
    if wait().is_some() {
        return Vec::new();
    }
    let left = processes_mentioning(dir);
    for (pid, _) in &left {
        for d in descendants(*pid) {
            let _ = kill(Pid::from_raw(d), Signal::SIGKILL);
        }
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    wait();
    left
}

/// The socket a containerd 1.6 shim with this command line listens on, which it removes only
/// when it exits by itself: /run/containerd/s/ (fixed, whatever containerd's config says) and
/// the sha256 of ADDRESS/NAMESPACE/ID.
pub fn shim_socket(cmdline: &str) -> Option<std::path::PathBuf> {
    let args: Vec<&str> = cmdline.split_whitespace().collect();
    if !args.first()?.ends_with("containerd-shim-runc-v2") {
        return None;
    }
    let flag = |f: &str| {
        let i = args.iter().position(|a| *a == f)?;
        args.get(i + 1).copied()
    };
    let key = format!(
        "{}/{}/{}",
        flag("-address")?,
        flag("-namespace")?,
        flag("-id")?
    );
    let mut sum = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    use std::io::Write;
    sum.stdin.take()?.write_all(key.as_bytes()).ok()?;
    let out = sum.wait_with_output().ok()?;
    let hex = String::from_utf8_lossy(&out.stdout);
    Some(Path::new("/run/containerd/s").join(hex.split_whitespace().next()?))
}

/// pscap's capability column (its fifth field on) for `pid`.
pub fn pscap_caps(pid: i32) -> String {
    let o = Command::new("pscap")
        .arg("-a")
        .output()
        .expect("pscap (Debian's libcap-ng-utils) missing");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 4 && f[1] == pid.to_string()).then(|| f[4..].join(" "))
        })
        .unwrap_or_else(|| panic!("pid {pid} not in pscap output"))
}
