//! OCI hooks: programs the runtime runs at fixed points of the lifecycle, each given the
//! container's state as JSON on stdin, in order; a failure (non-zero exit, or the hook's
//! timeout passing) stops the sequence.
//!
//! Where each kind runs is decided by the caller: prestart and createRuntime by the parent in
//! `launch` (runtime namespaces), createContainer and startContainer by the container's init
//! (its namespaces), poststart by `start`, poststop by `delete`.

use super::error::{Context, Result};
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_chain::one_line;

    fn hook(json: serde_json::Value) -> Hook {
        serde_json::from_value(json).unwrap()
    }

    /// Each failure is one line naming the stage, the hook's place and path, then why.
    #[test]
    fn a_failed_hook_is_named_with_why() {
        let e = run(
            "poststop",
            &[hook(
                serde_json::json!({"path": "/nonexistent-minirun-hook"}),
            )],
            b"{}",
        )
        .unwrap_err();
        assert_eq!(
            one_line(&e),
            "poststop hook #0 (/nonexistent-minirun-hook): No such file or directory (os error 2)"
        );
        let ok =
            hook(serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "cat >/dev/null"]}));
        let fails = hook(serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}));
        let e = run("prestart", &[ok, fails], b"{}").unwrap_err();
        assert_eq!(one_line(&e), "prestart hook #1 (/bin/sh): exit status: 3");
        let zero = hook(serde_json::json!({"path": "/bin/true", "timeout": 0}));
        let e = run("createRuntime", &[zero], b"{}").unwrap_err();
        assert_eq!(
            one_line(&e),
            "createRuntime hook #0 (/bin/true): timeout must be greater than zero"
        );
        let slow = hook(
            serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "exec sleep 5"], "timeout": 1}),
        );
        let e = run("poststart", &[slow], b"{}").unwrap_err();
        assert_eq!(
            one_line(&e),
            "poststart hook #0 (/bin/sh): timed out after 1s"
        );
    }
}
