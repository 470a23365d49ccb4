//! Issue 22 item 3: a launch that fails after its cgroup exists leaves nothing behind (record,
//! cgroup, process, mount), for the quick form, `-d` and OCI `create` alike: the `Container`
//! guard (src/container/instance.rs) undoes it. The Sandbox checks records, mounts and
//! processes when it drops; these tests check the cgroups.

mod common;

use common::bundles::*;
use common::*;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Every directory `rel` (relative to this process's own cgroup, which minirun shares) could
/// be in, one per hierarchy mounted under /sys/fs/cgroup.
fn candidates(rel: &str) -> Vec<PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mut owns: Vec<&str> = own
        .lines()
        .filter_map(|l| l.splitn(3, ':').nth(2))
        .collect();
    owns.sort();
    owns.dedup();
    let mut hierarchies: Vec<PathBuf> = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("cgroup.procs").exists())
        .collect();
    // A pure v2 host has its one hierarchy at /sys/fs/cgroup itself.
    if Path::new("/sys/fs/cgroup/cgroup.procs").exists() {
        hierarchies.push("/sys/fs/cgroup".into());
    }
    let mut out = Vec::new();
    for h in &hierarchies {
        for o in &owns {
            out.push(h.join(o.trim_start_matches('/')).join(rel));
        }
    }
    out
}

fn existing(rel: &str) -> Vec<PathBuf> {
    candidates(rel).into_iter().filter(|d| d.exists()).collect()
}

/// The parent of a test's `linux.cgroupsPath` (`<name>/c`). Removed when the test ends,
/// whatever its outcome: minirun removes only the container's `c` (and `c` is removed here
/// too when it failed to).
struct Leaf(String);

impl Leaf {
    fn new(tag: &str) -> Leaf {
        Leaf(format!(
            "minirun-test-teardown-{tag}-{}",
            std::process::id()
        ))
    }

    /// The container cgroups left after a failed create.
    fn left(&self) -> Vec<PathBuf> {
        existing(&format!("{}/c", self.0))
    }
}

impl Drop for Leaf {
    fn drop(&mut self) {
        for d in existing(&self.0) {
            let _ = std::fs::remove_dir(d.join("c"));
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Quick form: the program is looked up after the cgroup was made and joined (the trace
/// says so); its absence fails the launch with 127 and nothing stays.
#[test]
fn a_quick_launch_that_fails_late_leaves_no_cgroup() {
    let sb = Sandbox::new("td-quick");
    let id = format!("tdq{}", std::process::id());
    let o = sb.run(&["--trace", "--name", &id], &["no-such-program"]);
    let err = stderr(&o);
    assert_eq!(code(&o), 127, "{err}");
    assert!(
        err.contains("cgroup made"),
        "the cgroup was never made: {err}"
    );
    assert!(err.contains("executable file not found"), "{err}");
    assert_eq!(default_cgroups(&sb.root, Some(&id)), Vec::<PathBuf>::new());
}

/// `-d`: the monitor undoes the launch before it reports the failure (over the protocol's
/// channel), so when the caller returns there is no record, no cgroup and no monitor.
#[test]
fn a_detached_launch_that_fails_late_leaves_no_cgroup() {
    let sb = Sandbox::new("td-detach");
    let id = format!("tdd{}", std::process::id());
    // The launch is the quick form's (above: the cgroup exists when the lookup fails); the
    // monitor's trace of it goes to the container's log, so it is not asserted here.
    let o = sb.run(&["-d", "--name", &id], &["no-such-program"]);
    let err = stderr(&o);
    assert_eq!(code(&o), 127, "{err}");
    assert_eq!(
        err,
        "minirun: exec: \"no-such-program\": executable file not found in $PATH\n"
    );
    assert_eq!(
        stdout(&o),
        "",
        "an id was printed for a container that failed"
    );
    // At once: the caller returned after the undo, not before.
    assert_eq!(records_in(&sb.root), Vec::<std::ffi::OsString>::new());
    assert_eq!(default_cgroups(&sb.root, Some(&id)), Vec::<PathBuf>::new());
}

/// OCI create failing in a createRuntime hook: the init exists, in its cgroup (the hook saw
/// it there), and everything goes.
#[test]
fn a_create_whose_hook_fails_leaves_no_cgroup_and_no_init() {
    let sb = Sandbox::new("td-hook");
    let leaf = Leaf::new("hook");
    let seen = sb.scratch.join("seen");
    let script = format!(
        "pid=$(sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/'); cat /proc/$pid/cgroup > {}; exit 1",
        seen.display()
    );
    let dir = bundle(&sb, "b", &["true"], |c| {
        c["linux"]["cgroupsPath"] = json!(format!("{}/c", leaf.0));
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]});
    });
    let o = oci(&sb, &["create", "--bundle", dir.to_str().unwrap(), "h1"]);
    let err = stderr(&o);
    // runc's status for a failed OCI command.
    assert_eq!(code(&o), 1, "{err}");
    assert!(err.contains("createRuntime hook"), "{err}");
    let cgroups = std::fs::read_to_string(&seen).unwrap();
    assert!(
        cgroups.contains(&format!("{}/c", leaf.0)),
        "the init was not in its cgroup when the hook ran: {cgroups}"
    );
    assert_eq!(leaf.left(), Vec::<PathBuf>::new());
}

/// OCI create failing at its last step: the init waits at the start gate, the record is
/// saved, and the pid file cannot be written. The init is killed and reaped, its cgroup and
/// record removed.
#[test]
fn a_create_that_fails_after_recording_leaves_nothing() {
    let sb = Sandbox::new("td-pidfile");
    let leaf = Leaf::new("pid");
    let dir = bundle(&sb, "b", &["sleep", "30"], |c| {
        c["linux"]["cgroupsPath"] = json!(format!("{}/c", leaf.0));
    });
    let pid_file = sb.scratch.join("no-such-dir").join("pid");
    let o = oci(
        &sb,
        &[
            "create",
            "--bundle",
            dir.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            "p1",
        ],
    );
    let err = stderr(&o);
    // runc's status for a failed OCI command.
    assert_eq!(code(&o), 1, "{err}");
    assert!(err.contains("pid file"), "{err}");
    assert_eq!(leaf.left(), Vec::<PathBuf>::new());
    assert_eq!(records_in(&sb.root), Vec::<std::ffi::OsString>::new());
}
