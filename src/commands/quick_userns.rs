//! The quick form's user namespace: none for root unless `--userns=auto` asks (container
//! root is then an unprivileged host range); always one for an ordinary user, whose cgroup
//! lies in the subtree the host delegates to it, or who goes without one (none is delegated
//! on a host like this one: see `container::rootless_cgroup`).

use crate::cli::{Global, QuickArgs, UserNs};
use crate::container::cgroup_launch::{self, Manager, Request};
use crate::container::privilege;
use crate::container::rootless;
use anyhow::{Result, bail};
use oci_spec::runtime::Spec;

/// The Spec in the user namespace the caller and `--userns` call for.
pub fn adjust_spec(spec: Spec, args: &QuickArgs) -> Result<Spec> {
    match (privilege::is_root(), args.userns) {
        (true, None | Some(UserNs::Host)) => Ok(spec),
        (true, Some(UserNs::Auto)) => Ok(rootless::in_user_namespace(
            spec,
            &rootless::host_auto_mappings(),
            false,
        )?),
        (false, Some(UserNs::Host)) => bail!(HOST_NEEDS_ROOT),
        (false, None | Some(UserNs::Auto)) => Ok(rootless::in_user_namespace(
            spec,
            &rootless::caller_mappings(),
            true,
        )?),
    }
}

const HOST_NEEDS_ROOT: &str =
    "--userns=host needs root: an ordinary user's containers always get a user namespace";

/// Whether the container gets a user namespace of its own: always for an ordinary caller,
/// for root only with `--userns=auto`.
pub fn creates_user_namespace(args: &QuickArgs) -> bool {
    !matches!(
        (privilege::is_root(), args.userns),
        (true, None | Some(UserNs::Host))
    )
}

/// An ordinary user's cgroup: in the subtree the host delegates to it (`rootless_cgroup`),
/// with the limits its controllers allow; else none. A flag that needs one is refused by
/// name, rather than silently not applied; otherwise one warning says the container runs
/// without (as crun says it when no cgroup is delegated).
pub fn rootless_cgroup(global: &Global, args: &QuickArgs, id: &str) -> Result<Option<Request>> {
    // Refused before the warning below: a launch that will not happen says nothing else.
    if args.userns == Some(UserNs::Host) {
        bail!(HOST_NEEDS_ROOT);
    }
    let flags = args.resources.to_flags();
    let disabled = Manager::from_flags(global.cgroup_manager.as_deref(), global.systemd_cgroup)?
        == Manager::Disabled;
    if let Some(d) = crate::container::rootless_cgroup::detect().filter(|_| !disabled) {
        // --trace-caps loads eBPF, which is root's.
        if args.trace_caps {
            bail!("--trace-caps needs root (it loads an eBPF program)");
        }
        let path = args
            .cgroup_parent
            .as_ref()
            .map(|p| format!("{}/{id}", p.trim_end_matches('/')));
        let name = cgroup_launch::cgroup_name(&global.root, id);
        return Ok(Some(d.request(
            &name,
            path.as_deref(),
            Some(&flags.to_resources()?),
        )?));
    }
    let parent = args.cgroup_parent.as_ref().map(|_| "--cgroup-parent");
    if let Some(flag) = flags.first_set().or(parent) {
        bail!("{flag} needs a cgroup, and {}", rootless::NO_CGROUP_REASON);
    }
    if args.trace_caps {
        bail!(
            "--trace-caps needs a cgroup, and {}",
            rootless::NO_CGROUP_REASON
        );
    }
    tracing::warn!("{}", rootless::NO_CGROUP);
    Ok(None)
}
