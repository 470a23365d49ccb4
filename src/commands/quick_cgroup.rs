//! The quick form's cgroup: Docker's resource flags, `--device`, `--device-cgroup-rule`,
//! `--cgroup-parent` and `--cgroupns`, turned into the Spec's devices and namespaces and the
//! launch's cgroup request.

use crate::cgroups::devices::oci_defaults;
use crate::cgroups::flags::host_device;
use crate::cgroups::{Layout, Placement};
use crate::cli::{CgroupNs, Global, QuickArgs};
use crate::container::cgroup_launch::{Manager, Request};
use anyhow::{Context, Result};
use oci_spec::runtime::{LinuxDevice, LinuxNamespaceType, LinuxResources, Spec};
use std::path::Path;

/// The limits and device rules the flags ask for (Docker's defaults first, then each
/// `--device`'s rule, then `--device-cgroup-rule`s), and the nodes `--device` adds.
fn resources(args: &QuickArgs) -> Result<(LinuxResources, Vec<LinuxDevice>)> {
    let flags = args.resources.to_flags();
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

/// What the launch does about cgroups: nothing with `--cgroup-manager disabled` or on a host
/// without a cgroup filesystem (then a limit asked for is an error naming its flag: it would
/// be silently dropped), else `<parent>/<id>` with the limits.
pub fn request(global: &Global, args: &QuickArgs, id: &str) -> Result<Option<Request>> {
    let manager = Manager::from_flags(global.cgroup_manager.as_deref(), global.systemd_cgroup)?;
    if manager == Manager::Disabled {
        let flags = args.resources.to_flags();
        if !flags.is_empty() || !flags.device_cgroup_rules.is_empty() {
            anyhow::bail!("resource limits were asked for but --cgroup-manager is disabled");
        }
        return Ok(None);
    }
    let layout = Layout::detect()?;
    if layout.is_empty() {
        let parent = args.cgroup_parent.as_ref().map(|_| "--cgroup-parent");
        if let Some(flag) = args.resources.to_flags().first_set().or(parent) {
            anyhow::bail!(
                "{flag} needs a cgroup, but this host has no cgroup filesystem mounted (neither cgroup nor cgroup2 in /proc/self/mountinfo)"
            );
        }
        tracing::warn!("{}", crate::container::cgroup_launch::no_cgroupfs_warning());
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
    let (mut resources, _) = resources(args)?;
    if let Some(mut b) = resources.block_io().clone()
        && b.weight().is_some()
        && !blkio_weight_supported(&layout, &|p| std::fs::read_to_string(p).ok())
    {
        // Docker's words and behaviour: the weight is discarded, the container runs. (An OCI
        // config's weight is written or refused, as runc does.)
        tracing::warn!(
            "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."
        );
        b.set_weight(None);
        resources.set_block_io(Some(b));
    }
    Ok(Some(Request::Create {
        id: crate::container::cgroup_launch::cgroup_name(&global.root, id),
        placement,
        resources: Box::new(resources),
    }))
}

/// Pure: whether a blkio weight can be written here, decided as Docker decides it: the weight
/// file in our own cgroup of the v1 blkio hierarchy (`blkio.weight` under CFQ,
/// `blkio.bfq.weight` under BFQ), or, without a v1 blkio hierarchy, the `io` controller on the
/// cgroup2 root. `read` gives a file's text (None: no such file).
pub fn blkio_weight_supported(layout: &Layout, read: &dyn Fn(&Path) -> Option<String>) -> bool {
    if let Some(h) = layout.v1_with("blkio") {
        let dir = h.dir(&h.own);
        return ["blkio.weight", "blkio.bfq.weight"]
            .iter()
            .any(|f| read(&dir.join(f)).is_some());
    }
    layout.unified.as_ref().is_some_and(|h| {
        read(&h.mountpoint.join("cgroup.controllers"))
            .is_some_and(|c| c.split_whitespace().any(|w| w == "io"))
    })
}

/// CAP_MKNOD, which Docker grants because the device cgroup stops a node from being opened.
const CAP_MKNOD: u8 = 27;

/// Without a cgroup (`--cgroup-manager disabled`, or no cgroup filesystem) there is no device
/// fence: a workload holding CAP_MKNOD could make and open a node of a host disk. So the
/// default CAP_MKNOD goes, and one line says so (`--privileged`, which opens every device
/// anyway, and an explicit `--cap-add mknod` keep it).
pub fn without_device_fence(caps: &mut crate::capability::CapSets, args: &QuickArgs) {
    use crate::capability::names::{self, CapName};
    let asked = names::parse_list(&args.cap_add, names::MAX_CAP).is_ok_and(|adds| {
        adds.iter()
            .any(|c| matches!(c, CapName::All | CapName::Cap(CAP_MKNOD)))
    });
    if args.privileged || asked || !caps.bounding.contains(CAP_MKNOD) {
        return;
    }
    for set in [
        &mut caps.bounding,
        &mut caps.effective,
        &mut caps.permitted,
        &mut caps.inheritable,
        &mut caps.ambient,
    ] {
        set.remove(CAP_MKNOD);
    }
    tracing::warn!(
        "no device cgroup (no cgroup for this container): CAP_MKNOD dropped from the default capabilities"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blkio_weight_support_as_docker_reads_it() {
        let hybrid = Layout::parse(
            "38 31 0:35 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n\
             41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
            "7:blkio:/\n0::/\n",
        )
        .unwrap();
        let none = |_: &Path| None;
        assert!(!blkio_weight_supported(&hybrid, &none));
        let bfq = |p: &Path| {
            p.ends_with("blkio/blkio.bfq.weight")
                .then(|| "100".to_string())
        };
        assert!(blkio_weight_supported(&hybrid, &bfq));
        let v2 = Layout::parse(
            "30 23 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
            "0::/\n",
        )
        .unwrap();
        let io = |p: &Path| {
            p.ends_with("cgroup.controllers")
                .then(|| "cpu io memory".to_string())
        };
        assert!(blkio_weight_supported(&v2, &io));
        let hugetlb_only = |_: &Path| Some("hugetlb".to_string());
        assert!(!blkio_weight_supported(&v2, &hugetlb_only));
    }
}
