//! What `docker run` refuses, refused the same way by the quick form: one line, exit 125,
//! before anything starts, instead of quietly doing something else.
//!
//! These stay here, apart from validate's named checks (container/validate/checks.rs), on
//! purpose: Docker refuses them from its flags before it builds a config, some never reach a
//! Spec (`--read-only --volatile` is one root either way), and the line names the flag the user
//! typed. A rule about the Spec itself (an absolute cwd, ids in range) is a check there, so
//! what the flags build is checked again by the same pass as any config.json.

use crate::cli::QuickArgs;
use anyhow::{Result, bail};

/// Every refusal that needs only the flags (capability names are checked where they are
/// parsed, capability/names.rs).
pub fn check(args: &QuickArgs) -> Result<()> {
    for e in &args.env {
        env_item(e)?;
    }
    if args.read_only && args.volatile {
        bail!(
            "--read-only and --volatile contradict each other: --volatile makes the root writable (writes discarded at exit), --read-only makes it unwritable; choose one"
        );
    }
    Ok(())
}

/// `-e KEY=VALUE` or `-e KEY`: Docker's `invalid environment variable: =bar` for an empty key.
fn env_item(item: &str) -> Result<()> {
    let key = item.split_once('=').map_or(item, |(k, _)| k);
    if item.is_empty() {
        bail!("invalid environment variable: \"\" (-e needs KEY=VALUE or KEY)");
    }
    if key.is_empty() {
        bail!("invalid environment variable: {item}");
    }
    if key.contains('\0') || item.contains('\0') {
        bail!("invalid environment variable: {item:?} contains a NUL byte");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(env: &[&str], read_only: bool, volatile: bool) -> QuickArgs {
        QuickArgs {
            env: env.iter().map(|s| s.to_string()).collect(),
            read_only,
            volatile,
            ..QuickArgs::default()
        }
    }

    #[test]
    fn empty_keys_are_refused_as_docker_does() {
        let e = check(&args(&["=bar"], false, false)).unwrap_err();
        assert_eq!(e.to_string(), "invalid environment variable: =bar");
        assert!(check(&args(&[""], false, false)).is_err());
        assert!(check(&args(&["A=", "B", "C=d=e"], false, false)).is_ok());
    }

    #[test]
    fn read_only_and_volatile_contradict() {
        assert!(check(&args(&[], true, true)).is_err());
        assert!(check(&args(&[], true, false)).is_ok());
    }
}
