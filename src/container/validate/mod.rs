//! The one validation pass: Spec (plus the facts the caller gathered) → Plan. Pure, no
//! syscalls, in two steps as runc's `libcontainer/configs/validate`:
//!
//! 1. `checks`: a list of named checks, each a small function over the Spec and the `Facts`
//!    it needs, run in order; the first refusal is the error, its check's name in it.
//! 2. `translate`: the Spec becomes the Plan, the cgroup request included; it refuses only
//!    what the Plan cannot represent (an unknown capability or rlimit name, a bad option).
//!
//! Every check that can run before clone3 is in the list, so a config field minirun cannot
//! honour is a one-line error in the parent before any namespace exists, never a half-set-up
//! container; and the Plan leaves complete: nobody patches it afterwards (a choice the
//! command line makes, such as the quick form's `-t`, goes into the Spec or the Inputs).

pub mod checks;
pub mod translate;

use super::error::{Error, Result};
use super::plan::{CgroupRequest, Manager, Plan, Settings};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::path::{Path, PathBuf};

pub use checks::{CHECKS, Refusal, check_id, sysctl_namespace};
pub use translate::{default_devices, propagation_flags};

/// What the caller resolved before the pass (the effects: reading the bundle, canonicalising
/// the rootfs, reading the kernel's last capability, the host facts) and the command line's
/// choices.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Relative mount sources are taken from here: the bundle directory ("/" for the quick form).
    pub base: PathBuf,
    /// The root filesystem, resolved and checked by the caller.
    pub rootfs: PathBuf,
    pub last_cap: u8,
    pub settings: Settings,
    /// The filter the caller compiled from `linux.seccomp` or the quick form's choice
    /// (`container::seccomp_step`): compiling reads and writes the cache, an effect.
    pub seccomp: Option<super::seccomp_step::Prepared>,
    /// What the checks know besides the Spec (translate reads `join` and `cgroups` too).
    pub facts: Facts,
}

/// The command's choices and the host facts the checks need, read by the caller beforehand
/// so that every check stays a pure function testable without root.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// `exec`: join the running container whose init is this pid, instead of creating one.
    pub join: Option<i32>,
    /// Where the container's cgroup comes from.
    pub cgroups: Cgroups,
    /// The namespace types whose `linux.namespaces` path is the runtime's own (the host's):
    /// `bundle::host_namespaces` reads them.
    pub host_namespaces: Vec<LinuxNamespaceType>,
    /// The caller is not root: the container must bring a user namespace of its own and may
    /// ask for no limits (checks.rs, "rootless").
    pub rootless: bool,
}

/// Where the cgroup request comes from.
#[derive(Debug, Clone, Default)]
pub enum Cgroups {
    /// No cgroup (`--cgroup-manager disabled` from the quick form, a host without cgroupfs, tests).
    #[default]
    None,
    /// OCI create/run: `linux.cgroupsPath` placed by this manager, `linux.resources` applied;
    /// `name` names a default-placed cgroup (`cgroup_launch::cgroup_name`).
    FromSpec { manager: Manager, name: String },
    /// Decided by the caller: the quick form's Docker flags, exec's join of the container's.
    Given(CgroupRequest),
}

impl Inputs {
    /// Inputs for a spec whose root is taken as it is (relative to `base`): tests and callers
    /// without a filesystem to check.
    pub fn lexical(spec: &Spec, base: &Path, last_cap: u8) -> Inputs {
        let root = spec
            .root()
            .as_ref()
            .map(|r| r.path().clone())
            .unwrap_or_default();
        Inputs {
            base: base.to_path_buf(),
            rootfs: base.join(root),
            last_cap,
            settings: Settings::default(),
            seccomp: None,
            facts: Facts::default(),
        }
    }
}

/// The pass itself: every check, then the translation. A check's refusal stays a [`Refusal`]
/// inside the error (`Error::Sibling`), its line naming the check.
pub fn plan(spec: &Spec, inputs: &Inputs) -> Result<Plan> {
    checks::run(spec, &inputs.facts).map_err(Error::sibling)?;
    translate::translate(spec, inputs)
}

/// The checks alone, for a caller with an effect to make before `plan` (compiling the seccomp
/// filter writes its cache): a refused config then leaves nothing behind. `plan` runs them
/// again (pure and cheap).
pub fn check(spec: &Spec, facts: &Facts) -> Result<(), Refusal> {
    checks::run(spec, facts)
}

#[cfg(test)]
mod tests {
    use super::{Inputs, Refusal};
    use crate::container::error::Error;
    use crate::error_chain::one_line;
    use oci_spec::runtime::Spec;
    use std::path::Path;

    fn spec_with(process: serde_json::Value) -> Spec {
        serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": process}))
        .unwrap()
    }

    /// The pass's error keeps a check's refusal typed (its check named, its line as before),
    /// and a translation's refusal reads as the anyhow line it was.
    #[test]
    fn the_pass_refuses_with_typed_errors() {
        let s = spec_with(
            serde_json::json!({"cwd": "tmp", "args": ["x"], "user": {"uid": 0, "gid": 0}}),
        );
        let e = super::plan(&s, &Inputs::lexical(&s, Path::new("/b"), 40)).unwrap_err();
        let Error::Sibling(ref inner) = e else {
            panic!("{e:?}")
        };
        assert_eq!(
            inner.downcast_ref::<Refusal>().map(|r| r.check),
            Some("cwd")
        );
        assert_eq!(
            one_line(&e),
            "process.cwd \"tmp\" must be an absolute path (check \"cwd\")"
        );
        let s = spec_with(
            serde_json::json!({"cwd": "/", "args": ["x"], "user": {"uid": 0, "gid": 0},
            "capabilities": {"bounding": ["CAP_BPF"]}}),
        );
        // A kernel whose last capability is 38 has no CAP_BPF (39).
        let e = super::plan(&s, &Inputs::lexical(&s, Path::new("/b"), 38)).unwrap_err();
        assert!(one_line(&e).contains("CAP_BPF"), "{e:?}");
        let mut s =
            spec_with(serde_json::json!({"cwd": "/", "args": ["x"], "user": {"uid": 0, "gid": 0}}));
        s.set_root(None);
        let e = super::plan(&s, &Inputs::lexical(&s, Path::new("/b"), 40)).unwrap_err();
        assert_eq!(one_line(&e), "config has no \"root\"");
    }

    /// Whether a line of Rust changes a variable named `plan` (or takes it mutably): an
    /// assignment to one of its fields, `&mut plan`, `let mut plan`, `plan: &mut`.
    fn edits_plan(line: &str) -> bool {
        let code = line.split("//").next().unwrap_or_default();
        let word = |c: char| c.is_alphanumeric() || c == '_';
        for (i, _) in code.match_indices("plan") {
            let after = &code[i + 4..];
            if code[..i].ends_with(word) || after.starts_with(word) {
                continue;
            }
            let before = code[..i].trim_end();
            if (before.ends_with("mut") && !before[..before.len() - 3].ends_with(word))
                || after.starts_with(": &mut")
            {
                return true;
            }
            if let Some(rest) = after.strip_prefix('.') {
                let end = rest
                    .find(|c: char| !word(c) && c != '.')
                    .unwrap_or(rest.len());
                let tail = rest[end..].trim_start();
                let assigns =
                    tail.starts_with('=') && !tail.starts_with("==") && !tail.starts_with("=>");
                if assigns
                    || ["+=", "-=", "|=", "&="]
                        .iter()
                        .any(|op| tail.starts_with(op))
                {
                    return true;
                }
            }
        }
        false
    }

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn the_scanner_sees_edits() {
        assert!(edits_plan("        plan.terminal = true;"));
        assert!(edits_plan(
            "    without_device_fence(&mut plan.caps, args);"
        ));
        assert!(edits_plan("    let mut plan = plan_for(args)?;"));
        assert!(edits_plan("fn f(plan: &mut Plan) {"));
        assert!(edits_plan("    ctx.plan.settings.reaper |= x;"));
        assert!(!edits_plan("    if plan.terminal == x {"));
        assert!(!edits_plan("    let mut planned = Vec::new();"));
        assert!(!edits_plan(
            "    let plan = validate::plan(&spec, &inputs)?; // plan.x = 1"
        ));
        assert!(!edits_plan("    let f = |plan: &Plan| plan.caps;"));
    }

    /// The Plan is complete when the pass returns it: no code outside the pass changes one (a
    /// command-line choice goes into the Spec or the Inputs instead). The quick form used to
    /// set `plan.terminal` for -t and drop CAP_MKNOD from `plan.caps` afterwards.
    #[test]
    fn nothing_changes_the_plan_after_validation() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut edits = Vec::new();
        for f in files
            .iter()
            .filter(|f| !f.starts_with(src.join("container/validate")))
        {
            let text = std::fs::read_to_string(f).unwrap();
            for (n, line) in text.lines().enumerate() {
                if edits_plan(line) {
                    edits.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
        assert!(files.len() > 50, "{}", src.display());
        assert!(
            edits.is_empty(),
            "the Plan changed after validation:\n{}",
            edits.join("\n")
        );
    }
}
