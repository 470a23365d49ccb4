//! A container init that fails before it reads the runtime's `Proceed`: its `Failed` is the
//! error reported, not the EPIPE the runtime's send of `Proceed` then gets. The failure is made
//! real with strace(1)'s fault injection: the child's setsid(2) gets EPERM, and the runtime's
//! return from clone3 is held back 300 ms so that the child has failed and closed its end of
//! the channel before `Proceed` is sent.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Command;

/// The launch's cgroup directory in the cgroup2 hierarchy (this hybrid host has one).
fn v2_cgroup(sb: &Sandbox, id: &str) -> PathBuf {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("a cgroup2 line in /proc/self/cgroup");
    let name = minirun::container::cgroup_launch::cgroup_name(&sb.root, id);
    PathBuf::from(format!(
        "/sys/fs/cgroup/unified{}/minirun.{name}",
        own.trim_end_matches('/')
    ))
}

#[test]
fn a_failure_before_proceed_is_reported_not_the_broken_pipe() {
    let sb = Sandbox::new("early-fail");
    let o = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=setsid,clone3"])
        .args(["-e", "inject=setsid:error=EPERM"])
        .args(["-e", "inject=clone3:delay_exit=300000"])
        .arg(minirun())
        .arg("--root")
        .arg(&sb.root)
        .args(["--name", "ef1"])
        .arg(fixture())
        .arg("true")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running strace (Debian package strace): {e}"));
    let err = refused(&o, 125, "setsid: EPERM: Operation not permitted");
    assert!(!err.contains("Proceed"), "{err}");
    let cg = v2_cgroup(&sb, "ef1");
    assert!(
        !cg.exists(),
        "{} left behind by the failed launch",
        cg.display()
    );
}
