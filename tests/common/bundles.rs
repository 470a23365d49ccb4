//! OCI bundles for the integration tests: a config.json from `minirun spec` pointed at the
//! fixture, and the lifecycle commands run with their output in files.

use super::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A bundle directory in the sandbox with config.json from `minirun spec`, its root pointing
/// at the fixture and the process's args replaced by `args`.
pub fn bundle(sb: &Sandbox, name: &str, args: &[&str], edit: impl FnOnce(&mut Value)) -> PathBuf {
    let dir = sb.scratch.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    ok(&sb
        .cmd(&["spec", "--bundle", dir.to_str().unwrap()])
        .output()
        .unwrap());
    let path = dir.join("config.json");
    let mut c: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    c["root"]["path"] = json!(fixture());
    c["process"]["args"] = json!(args);
    edit(&mut c);
    std::fs::write(&path, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    dir
}

/// Runs minirun with stdout and stderr in files: a created container's init inherits them
/// (they are the container's stdio), so pipes would not see EOF until it exits.
pub fn output_via_files(c: &mut Command, dir: &Path) -> Output {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let (o, e) = (dir.join(format!(".out{n}")), dir.join(format!(".err{n}")));
    let status = c
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap())
        .status()
        .expect("spawning minirun");
    let out = Output {
        status,
        stdout: std::fs::read(&o).unwrap(),
        stderr: std::fs::read(&e).unwrap(),
    };
    let _ = std::fs::remove_file(o);
    let _ = std::fs::remove_file(e);
    out
}

/// Force-deletes every container left in the sandbox when a test ends, even by a panic (a
/// created init waits at its gate forever otherwise).
pub struct Reap<'a>(pub &'a Sandbox);

impl Drop for Reap<'_> {
    fn drop(&mut self) {
        let ids = oci(self.0, &["list", "-q"]);
        for id in stdout(&ids).lines() {
            let _ = oci(self.0, &["delete", "--force", id]);
        }
    }
}

pub fn oci(sb: &Sandbox, args: &[&str]) -> Output {
    output_via_files(&mut sb.cmd(args), &sb.scratch)
}

pub fn state(sb: &Sandbox, id: &str) -> Value {
    serde_json::from_str(&ok(&oci(sb, &["state", id]))).unwrap()
}

pub fn status(sb: &Sandbox, id: &str) -> String {
    state(sb, id)["status"].as_str().unwrap().to_string()
}

pub fn comm(pid: i64) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

pub fn alive(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s[s.rfind(')').unwrap() + 2..].starts_with('Z'))
        .unwrap_or(false)
}

pub fn create(sb: &Sandbox, dir: &Path, id: &str) -> i64 {
    ok(&oci(sb, &["create", "--bundle", dir.to_str().unwrap(), id]));
    state(sb, id)["pid"].as_i64().unwrap()
}

pub fn force_delete(sb: &Sandbox, id: &str) {
    ok(&oci(sb, &["delete", "--force", id]));
}
