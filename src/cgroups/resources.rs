//! Pure: the file writes that apply OCI `linux.resources` (all but devices) on cgroup v1 or v2.
//!
//! OCI speaks v1's language; v2 needs conversions: cpu shares become cpu.weight (the
//! log-quadratic map runc 1.3 and crun 1.23 share, 1024 -> 100), the blkio weight becomes
//! io.bfq.weight as is or io.weight rescaled, and swap, memory+swap in OCI and v1, becomes swap
//! alone (memory.swap.max = swap - limit).

use super::Result;
use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxMemory, LinuxNetwork, LinuxPids,
    LinuxResources,
};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    Memory,
    Pids,
    Cpu,
    Cpuset,
    Io,
    Hugetlb,
    NetCls,
    NetPrio,
}

impl Controller {
    pub fn v1_name(self) -> &'static str {
        match self {
            Controller::Io => "blkio",
            other => other.v2_name(),
        }
    }

    pub fn v2_name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Pids => "pids",
            Controller::Cpu => "cpu",
            Controller::Cpuset => "cpuset",
            Controller::Io => "io",
            Controller::Hugetlb => "hugetlb",
            Controller::NetCls => "net_cls",
            Controller::NetPrio => "net_prio",
        }
    }

    /// v1 and v2 names, as one phrase for errors.
    pub fn names(self) -> String {
        if self.v1_name() == self.v2_name() {
            self.v1_name().to_string()
        } else {
            format!("{}/{}", self.v1_name(), self.v2_name())
        }
    }
}

/// One value to write; `choices` are files tried in order, the first that exists taking its
/// value (blkio.weight only exists under CFQ, blkio.bfq.weight under BFQ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub version: Version,
    /// None: a core v2 file (from `unified`) that needs no controller enabled.
    pub controller: Option<Controller>,
    pub choices: Vec<(String, String)>,
}

/// `r` with the zeros that mean "not set" removed, as runc reads them: docker sends
/// `"blockIO": {"weight": 0}`, `"pids": {"limit": 0}`, `"cpu": {"shares": 0, "quota": 0}` for a
/// container that asked for nothing, and none of those may become a write (or an error naming
/// a controller the host lacks). Swappiness 0 is a real value and stays.
pub fn without_unset_zeros(r: &LinuxResources) -> LinuxResources {
    let nonzero_i64 = |v: Option<i64>| v.filter(|&x| x != 0);
    let nonzero_u64 = |v: Option<u64>| v.filter(|&x| x != 0);
    let nonempty = |v: &Option<String>| v.clone().filter(|x| !x.is_empty());
    let mut r = r.clone();
    if let Some(m) = *r.memory() {
        let mut m = m;
        m.set_limit(nonzero_i64(m.limit()));
        m.set_reservation(nonzero_i64(m.reservation()));
        m.set_swap(nonzero_i64(m.swap()));
        #[allow(deprecated)]
        {
            m.set_kernel(nonzero_i64(m.kernel()));
            m.set_kernel_tcp(nonzero_i64(m.kernel_tcp()));
        }
        r.set_memory(Some(m));
    }
    if let Some(c) = r.cpu().clone() {
        let mut c = c;
        c.set_shares(nonzero_u64(c.shares()));
        c.set_quota(nonzero_i64(c.quota()));
        c.set_period(nonzero_u64(c.period()));
        c.set_realtime_runtime(nonzero_i64(c.realtime_runtime()));
        c.set_realtime_period(nonzero_u64(c.realtime_period()));
        c.set_cpus(nonempty(c.cpus()));
        c.set_mems(nonempty(c.mems()));
        r.set_cpu(Some(c));
    }
    if r.pids().as_ref().is_some_and(|p| p.limit() == 0) {
        r.set_pids(None);
    }
    if let Some(b) = r.block_io().clone() {
        let mut b = b;
        b.set_weight(b.weight().filter(|&w| w != 0));
        b.set_leaf_weight(b.leaf_weight().filter(|&w| w != 0));
        r.set_block_io(Some(b));
    }
    r
}

/// The writes for `r` (devices excepted), each controller on the version `version_of` says
/// holds it; `has_v2` says whether a cgroup2 hierarchy is there for `unified`. A limit asked
/// for where no version holds its controller is an error naming it.
pub fn plan(
    r: &LinuxResources,
    version_of: &dyn Fn(Controller) -> Option<Version>,
    has_v2: bool,
) -> Result<Vec<Write>> {
    let r = &without_unset_zeros(r);
    let mut writes = Vec::new();
    let mut section = |ctrl: Controller,
                       build: &dyn Fn(Version) -> Result<Vec<(String, String)>>|
     -> Result<()> {
        match version_of(ctrl) {
            Some(v) => {
                for (file, value) in build(v)? {
                    writes.push(Write {
                        version: v,
                        controller: Some(ctrl),
                        choices: vec![(file, value)],
                    });
                }
                Ok(())
            }
            None if build(Version::V1).is_ok_and(|w| w.is_empty()) => Ok(()),
            None => bail!(
                "a {} limit was asked for but this host has no {} controller",
                ctrl.v1_name(),
                ctrl.names()
            ),
        }
    };
    if let Some(m) = r.memory() {
        section(Controller::Memory, &|v| memory(m, v))?;
    }
    if let Some(p) = r.pids() {
        section(Controller::Pids, &|_| Ok(pids(p)))?;
    }
    if let Some(c) = r.cpu() {
        section(Controller::Cpu, &|v| cpu(c, v))?;
        section(Controller::Cpuset, &|_| Ok(cpuset(c)))?;
    }
    if let Some(hugepages) = r.hugepage_limits() {
        section(Controller::Hugetlb, &|v| hugetlb(hugepages, v))?;
    }
    if let Some(net) = r.network() {
        section(Controller::NetCls, &|_| Ok(net_cls(net)))?;
        section(Controller::NetPrio, &|_| Ok(net_prio(net)))?;
    }
    if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
        bail!("rdma limits are not supported");
    }
    // Block I/O last: its weight file differs with the scheduler, so it gets choices.
    if let Some(b) = r.block_io() {
        for w in block_io(b, version_of)? {
            writes.push(w);
        }
    }
    if let Some(u) = r.unified() {
        writes.extend(unified(u, has_v2)?);
    }
    Ok(writes)
}

fn max_or(limit: i64) -> String {
    if limit <= 0 {
        "max".into()
    } else {
        limit.to_string()
    }
}

fn memory(m: &LinuxMemory, v: Version) -> Result<Vec<(String, String)>> {
    let mut w: Vec<(String, String)> = Vec::new();
    if m.kernel().is_some() || m.kernel_tcp().is_some() {
        tracing::warn!("memory.kernel and memory.kernelTCP are deprecated and not applied");
    }
    match v {
        Version::V1 => {
            if let Some(limit) = m.limit() {
                w.push(("memory.limit_in_bytes".into(), limit.to_string()));
            }
            if let Some(swap) = m.swap() {
                w.push(("memory.memsw.limit_in_bytes".into(), swap.to_string()));
            }
            if let Some(r) = m.reservation() {
                w.push(("memory.soft_limit_in_bytes".into(), r.to_string()));
            }
            if let Some(s) = m.swappiness() {
                if s > 100 {
                    bail!("memory.swappiness {s} is not in 0..=100");
                }
                w.push(("memory.swappiness".into(), s.to_string()));
            }
            if m.disable_oom_killer() == Some(true) {
                w.push(("memory.oom_control".into(), "1".into()));
            }
        }
        Version::V2 => {
            if let Some(limit) = m.limit() {
                w.push(("memory.max".into(), max_or(limit)));
            }
            if let Some(swap) = swap_v2(m.swap(), m.limit())? {
                w.push(("memory.swap.max".into(), swap));
            }
            if let Some(r) = m.reservation() {
                w.push(("memory.low".into(), max_or(r)));
            }
            if m.swappiness().is_some() {
                bail!("memory.swappiness has no cgroup v2 file");
            }
            if m.disable_oom_killer() == Some(true) {
                bail!("memory.disableOOMKiller has no cgroup v2 file");
            }
        }
    }
    Ok(w)
}

fn pids(p: &LinuxPids) -> Vec<(String, String)> {
    vec![("pids.max".into(), max_or(p.limit()))]
}

/// OCI's memory+swap as v2's swap alone. `None`: leave memory.swap.max as it is.
pub fn swap_v2(swap: Option<i64>, limit: Option<i64>) -> Result<Option<String>> {
    let limit_v = limit.unwrap_or(0);
    match swap {
        None | Some(0) if limit == Some(-1) => Ok(Some("max".into())),
        None | Some(0) => Ok(None),
        Some(s) if s < 0 => Ok(Some("max".into())),
        Some(s) if limit_v <= 0 => bail!("memory.swap {s} needs a memory limit on cgroup v2"),
        Some(s) if s < limit_v => {
            bail!("memory.swap {s} is below memory.limit {limit_v} (swap counts memory+swap)")
        }
        Some(s) => Ok(Some((s - limit_v).to_string())),
    }
}

fn cpu(c: &LinuxCpu, v: Version) -> Result<Vec<(String, String)>> {
    let mut w: Vec<(String, String)> = Vec::new();
    match v {
        Version::V1 => {
            let files = [
                ("cpu.shares", c.shares().map(|s| s.to_string())),
                ("cpu.cfs_period_us", c.period().map(|p| p.to_string())),
                ("cpu.cfs_quota_us", c.quota().map(|q| q.to_string())),
                ("cpu.cfs_burst_us", c.burst().map(|b| b.to_string())),
                (
                    "cpu.rt_period_us",
                    c.realtime_period().map(|p| p.to_string()),
                ),
                (
                    "cpu.rt_runtime_us",
                    c.realtime_runtime().map(|r| r.to_string()),
                ),
                ("cpu.idle", c.idle().map(|i| i.to_string())),
            ];
            w.extend(
                files
                    .into_iter()
                    .filter_map(|(f, v)| Some((f.to_string(), v?))),
            );
        }
        Version::V2 => {
            if let Some(shares) = c.shares() {
                w.push(("cpu.weight".into(), shares_to_weight(shares).to_string()));
            }
            if c.quota().is_some() || c.period().is_some() {
                let quota = c
                    .quota()
                    .filter(|q| *q > 0)
                    .map_or("max".to_string(), |q| q.to_string());
                w.push((
                    "cpu.max".into(),
                    format!("{quota} {}", c.period().unwrap_or(100_000)),
                ));
            }
            if let Some(b) = c.burst() {
                w.push(("cpu.max.burst".into(), b.to_string()));
            }
            if let Some(i) = c.idle() {
                w.push(("cpu.idle".into(), i.to_string()));
            }
            if c.realtime_period().is_some() || c.realtime_runtime().is_some() {
                bail!("cpu.realtimePeriod and cpu.realtimeRuntime have no cgroup v2 file");
            }
        }
    }
    Ok(w)
}

/// cpu.shares (2..=262144, 1024 the default) as cpu.weight (1..=10000, 100 the default): the
/// map runc and crun adopted in 2025, which keeps the default at the default.
pub fn shares_to_weight(shares: u64) -> u64 {
    match shares {
        0 => 0,
        1..=2 => 1,
        262_144.. => 10_000,
        s => {
            let l = (s as f64).log2();
            let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
            10f64.powf(exponent).ceil() as u64
        }
    }
}

/// cpuset's fields sit in OCI's `cpu` but are another controller's files.
fn cpuset(c: &LinuxCpu) -> Vec<(String, String)> {
    let mut w = Vec::new();
    if let Some(cpus) = c.cpus() {
        w.push(("cpuset.cpus".into(), cpus.clone()));
    }
    if let Some(mems) = c.mems() {
        w.push(("cpuset.mems".into(), mems.clone()));
    }
    w
}

fn hugetlb(hugepages: &[LinuxHugepageLimit], v: Version) -> Result<Vec<(String, String)>> {
    hugepages
        .iter()
        .map(|h| {
            let size = h.page_size();
            let unit_ok = ["KB", "MB", "GB"].iter().any(|u| {
                size.strip_suffix(u)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            });
            if !unit_ok {
                bail!("hugepage size {size:?} is not a number of KB, MB or GB");
            }
            let file = match v {
                Version::V1 => format!("hugetlb.{size}.limit_in_bytes"),
                Version::V2 => format!("hugetlb.{size}.max"),
            };
            Ok((file, max_or(h.limit())))
        })
        .collect()
}

fn net_cls(net: &LinuxNetwork) -> Vec<(String, String)> {
    net.class_id()
        .map(|id| ("net_cls.classid".into(), id.to_string()))
        .into_iter()
        .collect()
}

fn net_prio(net: &LinuxNetwork) -> Vec<(String, String)> {
    net.priorities()
        .iter()
        .flatten()
        .map(|p| {
            (
                "net_prio.ifpriomap".into(),
                format!("{} {}", p.name(), p.priority()),
            )
        })
        .collect()
}

/// blkio weight (10..=1000) as io.weight (1..=10000).
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990
}

fn block_io(
    b: &LinuxBlockIo,
    version_of: &dyn Fn(Controller) -> Option<Version>,
) -> Result<Vec<Write>> {
    let check = |w: u16| -> Result<u16> {
        if (10..=1000).contains(&w) {
            Ok(w)
        } else {
            bail!("blkio weight {w} is not in 10..=1000")
        }
    };
    let mut planned: Vec<Vec<(String, String)>> = Vec::new();
    let v = version_of(Controller::Io);
    let throttles = [
        (b.throttle_read_bps_device(), "read_bps_device", "rbps"),
        (b.throttle_write_bps_device(), "write_bps_device", "wbps"),
        (b.throttle_read_iops_device(), "read_iops_device", "riops"),
        (b.throttle_write_iops_device(), "write_iops_device", "wiops"),
    ];
    match v.unwrap_or(Version::V1) {
        Version::V1 => {
            if let Some(w) = b.weight() {
                let w = check(w)?.to_string();
                planned.push(vec![
                    ("blkio.weight".into(), w.clone()),
                    ("blkio.bfq.weight".into(), w),
                ]);
            }
            if let Some(w) = b.leaf_weight() {
                planned.push(vec![("blkio.leaf_weight".into(), check(w)?.to_string())]);
            }
            for d in b.weight_device().iter().flatten() {
                if let Some(w) = d.weight() {
                    let line = format!("{}:{} {}", d.major(), d.minor(), check(w)?);
                    planned.push(vec![
                        ("blkio.weight_device".into(), line.clone()),
                        ("blkio.bfq.weight_device".into(), line),
                    ]);
                }
            }
            for (devices, file, _) in throttles {
                for d in devices.iter().flatten() {
                    planned.push(vec![(
                        format!("blkio.throttle.{file}"),
                        format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                    )]);
                }
            }
        }
        Version::V2 => {
            if let Some(w) = b.weight() {
                let w = check(w)?;
                planned.push(vec![
                    ("io.bfq.weight".into(), w.to_string()),
                    ("io.weight".into(), blkio_weight_to_io_weight(w).to_string()),
                ]);
            }
            if b.leaf_weight().is_some() {
                bail!("blkio.leafWeight has no cgroup v2 file");
            }
            for d in b.weight_device().iter().flatten() {
                if let Some(w) = d.weight() {
                    let w = check(w)?;
                    let (maj, min) = (d.major(), d.minor());
                    planned.push(vec![
                        ("io.bfq.weight".into(), format!("{maj}:{min} {w}")),
                        (
                            "io.weight".into(),
                            format!("{maj}:{min} {}", blkio_weight_to_io_weight(w)),
                        ),
                    ]);
                }
            }
            for (devices, _, key) in throttles {
                for d in devices.iter().flatten() {
                    planned.push(vec![(
                        "io.max".into(),
                        format!("{}:{} {key}={}", d.major(), d.minor(), d.rate()),
                    )]);
                }
            }
        }
    }
    match v {
        Some(version) => Ok(planned
            .into_iter()
            .map(|choices| Write {
                version,
                controller: Some(Controller::Io),
                choices,
            })
            .collect()),
        None if planned.is_empty() => Ok(vec![]),
        None => bail!("a blkio limit was asked for but this host has no blkio/io controller"),
    }
}

/// `linux.resources.unified`: v2 files by name, in name order so that the writes do not
/// depend on the config's map order.
fn unified(unified: &HashMap<String, String>, has_v2: bool) -> Result<Vec<Write>> {
    if !has_v2 && !unified.is_empty() {
        bail!("linux.resources.unified needs cgroup v2, which this host does not mount");
    }
    let mut keys: Vec<_> = unified.iter().collect();
    keys.sort();
    let mut writes = Vec::new();
    for (key, value) in keys {
        if key.contains('/') || key.starts_with('.') || !key.contains('.') {
            bail!("linux.resources.unified key {key:?} is not a cgroup file name");
        }
        let controller = [
            Controller::Memory,
            Controller::Pids,
            Controller::Cpu,
            Controller::Cpuset,
            Controller::Io,
            Controller::Hugetlb,
        ]
        .into_iter()
        .find(|c| key.split('.').next() == Some(c.v2_name()));
        writes.push(Write {
            version: Version::V2,
            controller,
            choices: vec![(key.clone(), value.clone())],
        });
    }
    Ok(writes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_zeros_ask_for_nothing() {
        // What dockerd sends for `docker run` without resource flags.
        let r = resources(
            r#"{"memory": {"limit": 0, "reservation": 0, "swap": 0}, "cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": "", "mems": ""},
                "pids": {"limit": 0}, "blockIO": {"weight": 0}}"#,
        );
        // No controller anywhere: nothing may be asked of one.
        let writes = plan(&r, &|_| None, false).unwrap();
        assert!(writes.is_empty(), "{writes:?}");
        // A real weight is still one.
        let r = resources(r#"{"blockIO": {"weight": 300}, "pids": {"limit": 0}}"#);
        let writes = plan(&r, &|_| Some(Version::V1), false).unwrap();
        assert_eq!(writes.len(), 1, "{writes:?}");
    }

    fn resources(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn files(writes: &[Write]) -> Vec<(String, String)> {
        writes.iter().map(|w| w.choices[0].clone()).collect()
    }

    const ALL: &str = r#"{
        "memory": {"limit": 536870912, "reservation": 268435456, "swap": 1073741824},
        "pids": {"limit": 20},
        "cpu": {"shares": 512, "quota": 150000, "period": 100000, "cpus": "0-1", "mems": "0"},
        "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 0}]
    }"#;

    #[test]
    fn v1_files() {
        let w = plan(&resources(ALL), &|_| Some(Version::V1), false).unwrap();
        let f = files(&w);
        for want in [
            ("memory.limit_in_bytes", "536870912"),
            ("memory.memsw.limit_in_bytes", "1073741824"),
            ("memory.soft_limit_in_bytes", "268435456"),
            ("pids.max", "20"),
            ("cpu.shares", "512"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.cfs_quota_us", "150000"),
            ("cpuset.cpus", "0-1"),
            ("cpuset.mems", "0"),
            ("blkio.weight", "500"),
            ("blkio.throttle.read_bps_device", "8:0 1048576"),
            ("hugetlb.2MB.limit_in_bytes", "max"),
        ] {
            assert!(
                f.contains(&(want.0.to_string(), want.1.to_string())),
                "{want:?} missing from {f:?}"
            );
        }
        let weight = w.iter().find(|w| w.choices[0].0 == "blkio.weight").unwrap();
        assert_eq!(weight.choices[1], ("blkio.bfq.weight".into(), "500".into()));
    }

    #[test]
    fn v2_files_with_conversions() {
        let w = plan(&resources(ALL), &|_| Some(Version::V2), true).unwrap();
        let f = files(&w);
        for want in [
            ("memory.max", "536870912"),
            ("memory.swap.max", "536870912"),
            ("memory.low", "268435456"),
            ("pids.max", "20"),
            ("cpu.weight", "59"),
            ("cpu.max", "150000 100000"),
            ("cpuset.cpus", "0-1"),
            ("io.bfq.weight", "500"),
            ("io.max", "8:0 rbps=1048576"),
            ("hugetlb.2MB.max", "max"),
        ] {
            assert!(
                f.contains(&(want.0.to_string(), want.1.to_string())),
                "{want:?} missing from {f:?}"
            );
        }
        let weight = w
            .iter()
            .find(|w| w.choices[0].0 == "io.bfq.weight")
            .unwrap();
        assert_eq!(weight.choices[1], ("io.weight".into(), "4950".into()));
    }

    #[test]
    fn hybrid_routes_each_controller_to_its_version() {
        let w = plan(
            &resources(ALL),
            &|c| {
                Some(if c == Controller::Hugetlb {
                    Version::V2
                } else {
                    Version::V1
                })
            },
            true,
        )
        .unwrap();
        let huge = w
            .iter()
            .find(|w| w.controller == Some(Controller::Hugetlb))
            .unwrap();
        assert_eq!(
            (huge.version, huge.choices[0].0.as_str()),
            (Version::V2, "hugetlb.2MB.max")
        );
        assert!(
            w.iter()
                .filter(|w| w.controller != Some(Controller::Hugetlb))
                .all(|w| w.version == Version::V1)
        );
    }

    #[test]
    fn missing_controller_is_an_error_naming_it_only_when_asked_for() {
        let no_pids = |c| (c != Controller::Pids).then_some(Version::V1);
        let err = plan(&resources(r#"{"pids": {"limit": 5}}"#), &no_pids, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no pids controller"), "{err}");
        assert!(
            plan(&resources(r#"{"memory": {}, "cpu": {}}"#), &|_| None, false)
                .unwrap()
                .is_empty()
        );
        let err = plan(
            &resources(r#"{"blockIO": {"weight": 100}}"#),
            &|_| None,
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("blkio/io"), "{err}");
    }

    #[test]
    fn conversions() {
        assert_eq!(shares_to_weight(1024), 100);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
        assert_eq!(
            swap_v2(Some(-1), Some(100)).unwrap().as_deref(),
            Some("max")
        );
        assert_eq!(swap_v2(None, Some(-1)).unwrap().as_deref(), Some("max"));
        assert_eq!(swap_v2(None, Some(100)).unwrap(), None);
        assert!(
            swap_v2(Some(50), Some(100))
                .unwrap_err()
                .to_string()
                .contains("below")
        );
        assert!(
            swap_v2(Some(50), None)
                .unwrap_err()
                .to_string()
                .contains("needs a memory limit")
        );
        assert_eq!(max_or(-1), "max");
    }

    #[test]
    fn v2_only_and_v1_only_fields_are_errors_not_silence() {
        let err = plan(
            &resources(r#"{"memory": {"swappiness": 10}}"#),
            &|_| Some(Version::V2),
            true,
        )
        .unwrap_err();
        assert!(err.to_string().contains("swappiness"), "{err}");
        let err = plan(
            &resources(r#"{"unified": {"memory.high": "1"}}"#),
            &|_| Some(Version::V1),
            false,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unified"), "{err}");
        let err = plan(
            &resources(r#"{"hugepageLimits": [{"pageSize": "2XB", "limit": 1}]}"#),
            &|_| Some(Version::V1),
            false,
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"2XB\""), "{err}");
        let err = plan(
            &resources(r#"{"blockIO": {"weight": 5}}"#),
            &|_| Some(Version::V1),
            false,
        )
        .unwrap_err();
        assert!(err.to_string().contains("weight 5"), "{err}");
        let w = plan(
            &resources(r#"{"unified": {"memory.high": "1048576"}}"#),
            &|_| Some(Version::V2),
            true,
        )
        .unwrap();
        assert_eq!(w[0].controller, Some(Controller::Memory));
    }
}
