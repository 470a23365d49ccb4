//! OCI hooks: programs the runtime runs at fixed points of the lifecycle, each given the
//! container's state as JSON on stdin, in order; a failure (non-zero exit, or the hook's
//! timeout passing) stops the sequence.
//!
//! Where each kind runs is decided by the caller: prestart and createRuntime by the parent in
//! `launch` (runtime namespaces), createContainer and startContainer by the container's init
//! (its namespaces), poststart by `start`, poststop by `delete`.

use anyhow::{Context, Result, bail};
use oci_spec::runtime::{Hook, Hooks};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a hook's state JSON says besides status and pid.
#[derive(Debug, Clone, Default)]
pub struct HookState {
    pub id: String,
    pub bundle: String,
    pub annotations: BTreeMap<String, String>,
}

impl HookState {
    /// The OCI state a hook reads on stdin.
    pub fn state_json(&self, status: &str, pid: i32) -> Vec<u8> {
        serde_json::json!({
            "ociVersion": crate::spec::OCI_VERSION,
            "id": self.id,
            "status": status,
            "pid": pid,
            "bundle": self.bundle,
            "annotations": self.annotations,
        })
        .to_string()
        .into_bytes()
    }
}

/// Whether a config has any hook a launch runs (prestart, createRuntime, createContainer,
/// startContainer): only then does the child stop to ask for them.
pub fn any(h: &Hooks) -> bool {
    #[allow(deprecated)]
    let prestart = h.prestart();
    [
        prestart,
        h.create_runtime(),
        h.create_container(),
        h.start_container(),
    ]
    .iter()
    .any(|l| l.as_ref().is_some_and(|l| !l.is_empty()))
}

/// Runs `hooks` in order with `state` on stdin. `stage` names them in errors.
pub fn run(stage: &str, hooks: &[Hook], state: &[u8]) -> Result<()> {
    for (i, h) in hooks.iter().enumerate() {
        let path = h.path();
        let what = || format!("{stage} hook #{i} ({})", path.display());
        let mut cmd = Command::new(path);
        if let Some(args) = h.args()
            && let Some((first, rest)) = args.split_first()
        {
            cmd.arg0(first).args(rest);
        }
        // A hook sees only the environment its config gives it, not the runtime's.
        cmd.env_clear();
        for kv in h.env().iter().flatten() {
            if let Some((k, v)) = kv.split_once('=') {
                cmd.env(k, v);
            }
        }
        cmd.stdin(Stdio::piped());
        let mut child = cmd.spawn().with_context(what)?;
        if let Some(mut stdin) = child.stdin.take() {
            // A hook that does not read its stdin may exit first: EPIPE is fine.
            let _ = stdin.write_all(state);
        }
        let deadline = match h.timeout() {
            Some(t) if t <= 0 => bail!("{}: timeout must be greater than zero", what()),
            Some(t) => Some(Instant::now() + Duration::from_secs(t as u64)),
            None => None,
        };
        let Some(status) =
            super::subprocess::wait_until(&mut child, deadline).with_context(what)?
        else {
            bail!("{}: timed out after {}s", what(), h.timeout().unwrap_or(0));
        };
        if !status.success() {
            bail!("{}: {status}", what());
        }
    }
    Ok(())
}
