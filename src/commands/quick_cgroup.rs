//! The quick form's cgroup: Docker's resource flags, `--device`, `--device-cgroup-rule`,
//! `--cgroup-parent` and `--cgroupns`, turned into the Spec's devices and namespaces and the
//! launch's cgroup request.

use crate::cgroups::Placement;
use crate::cgroups::devices::oci_defaults;
use crate::cgroups::flags::host_device;
use crate::cli::{CgroupNs, Global, QuickArgs};
use crate::container::cgroup_launch::{Manager, Request};
use anyhow::{Context, Result};
use oci_spec::runtime::{LinuxDevice, LinuxNamespaceType, LinuxResources, Spec};

/// The limits and device rules the flags ask for (Docker's defaults first, then each
/// `--device`'s rule, then `--device-cgroup-rule`s), and the nodes `--device` adds.
fn resources(args: &QuickArgs) -> Result<(LinuxResources, Vec<LinuxDevice>)> {
    let flags = &args.resources;
    let mut r = flags.to_resources()?;
    let mut rules = oci_defaults(args.privileged);
    let mut nodes = Vec::new();
    for mapping in flags.device_mappings()? {
        let (node, rule) = host_device(&mapping)?;
        nodes.push(node);
        rules.push(rule);
    }
    rules.extend(flags.device_rules()?);
    r.set_devices(Some(rules));
    Ok((r, nodes))
}

/// The Spec with the `--device` nodes added and, for `--cgroupns host`, no cgroup namespace.
pub fn adjust_spec(spec: Spec, args: &QuickArgs) -> Result<Spec> {
    let (_, nodes) = resources(args)?;
    if nodes.is_empty() && args.cgroupns == CgroupNs::Private {
        return Ok(spec);
    }
    let mut spec = spec;
    let mut linux = spec.linux().clone().unwrap_or_default();
    if !nodes.is_empty() {
        let mut devices = linux.devices().clone().unwrap_or_default();
        devices.extend(nodes);
        linux.set_devices(Some(devices));
    }
    if args.cgroupns == CgroupNs::Host {
        let mut ns = linux.namespaces().clone().unwrap_or_default();
        ns.retain(|n| n.typ() != LinuxNamespaceType::Cgroup);
        linux.set_namespaces(Some(ns));
    }
    spec.set_linux(Some(linux));
    Ok(spec)
}

/// What the launch does about cgroups: nothing with `--cgroup-manager disabled` (then a limit
/// asked for is an error: it would be silently dropped), else `<parent>/<id>` with the limits.
pub fn request(global: &Global, args: &QuickArgs, id: &str) -> Result<Option<Request>> {
    let manager = Manager::from_flags(global.cgroup_manager.as_deref(), global.systemd_cgroup)?;
    if manager == Manager::Disabled {
        if !args.resources.is_empty() || !args.resources.device_cgroup_rules.is_empty() {
            anyhow::bail!("resource limits were asked for but --cgroup-manager is disabled");
        }
        return Ok(None);
    }
    let path = match (&args.cgroup_parent, manager) {
        (Some(p), Manager::Systemd) => Some(format!("{p}:minirun:{id}")),
        (None, Manager::Systemd) => Some(format!(":minirun:{id}")),
        (Some(p), _) => Some(format!("{}/{id}", p.trim_end_matches('/'))),
        (None, _) => None,
    };
    let placement = Placement::parse(path.as_deref(), manager == Manager::Systemd)
        .context("--cgroup-parent")?;
    let (resources, _) = resources(args)?;
    Ok(Some(Request::Create {
        id: crate::container::cgroup_launch::cgroup_name(&global.root, id),
        placement,
        resources: Box::new(resources),
        // Only what the flags ask for: the common case joins no v1 hierarchy.
        also: &[],
    }))
}
