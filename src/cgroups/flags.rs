//! Docker's resource flags (`--memory 512m`, `--cpus 1.5`, `--device /dev/sda:/dev/xvda:r`...)
//! read as Docker reads them, into OCI `linux.resources` and `linux.devices`.

use std::path::PathBuf;

use super::Result;
use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType, LinuxMemory,
    LinuxPids, LinuxResources,
};

use super::devices::Rule;

/// The flags' values, as Docker spells them (cli.rs's `ResourceArgs` reads them).
#[derive(Debug, Default, Clone)]
pub struct ResourceFlags {
    /// Memory limit (e.g. 512m, 1g)
    pub memory: Option<String>,
    /// Memory plus swap limit; -1 for unlimited swap
    pub memory_swap: Option<String>,
    /// Memory soft limit
    pub memory_reservation: Option<String>,
    /// Process limit; -1 or 0 for unlimited
    pub pids_limit: Option<String>,
    /// Number of CPUs (e.g. 1.5)
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    pub cpu_shares: Option<String>,
    /// CFS quota in microseconds
    pub cpu_quota: Option<String>,
    /// CFS period in microseconds
    pub cpu_period: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    pub cpuset_cpus: Option<String>,
    /// Memory nodes in which to allow execution (0-3, 0,1)
    pub cpuset_mems: Option<String>,
    /// Block IO weight, 10 to 1000 (0 to leave it)
    pub blkio_weight: Option<String>,
    /// Add a host device: HOST[:CONTAINER[:PERMISSIONS]]
    pub devices: Vec<String>,
    /// Add a rule to the cgroup's allowed devices ('c 1:3 mr')
    pub device_cgroup_rules: Vec<String>,
}

fn invalid(value: &str, flag: &str, why: impl std::fmt::Display) -> super::Error {
    refused!("invalid argument \"{value}\" for \"--{flag}\" flag: {why}")
}

/// Docker's RAMInBytes: `512m`, `1.5g`, `100` (bytes), `2GiB`, `10kb`; units are binary.
pub fn parse_size(text: &str) -> Result<i64, String> {
    let bad = || format!("invalid size: '{text}'");
    let lower = text.to_ascii_lowercase();
    let trimmed = lower.strip_suffix('b').unwrap_or(&lower);
    let trimmed = trimmed.strip_suffix('i').unwrap_or(trimmed);
    let (number, unit) = match trimmed.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (trimmed[..i].trim_end(), Some(c)),
        _ => (trimmed, None),
    };
    if trimmed.len() != lower.len() && unit.is_none() && lower != format!("{number}b") {
        return Err(bad());
    }
    let shift = match unit {
        None => 0,
        Some('k') => 10,
        Some('m') => 20,
        Some('g') => 30,
        Some('t') => 40,
        Some('p') => 50,
        Some(_) => return Err(bad()),
    };
    if number.is_empty()
        || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || number.starts_with('.')
    {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let bytes = value * (1u64 << shift) as f64;
    if bytes >= i64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as i64)
}

fn int(value: &str, flag: &str) -> Result<i64> {
    value.parse().map_err(|_| {
        invalid(
            value,
            flag,
            format!("strconv.ParseInt: parsing \"{value}\": invalid syntax"),
        )
    })
}

fn size(value: &str, flag: &str) -> Result<i64> {
    parse_size(value).map_err(|e| invalid(value, flag, e))
}

/// `0-3,5`: what the kernel's cpuset list syntax accepts.
fn check_list(value: &str, what: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.split(',').all(|part| {
            let mut ends = part.splitn(2, '-');
            let a = ends.next().and_then(|n| n.parse::<u32>().ok());
            match (a, ends.next()) {
                (Some(_), None) => true,
                (Some(a), Some(b)) => b.parse::<u32>().is_ok_and(|b| b >= a),
                _ => false,
            }
        });
    if ok {
        Ok(())
    } else {
        bail!("Invalid value {value} for {what}")
    }
}

impl ResourceFlags {
    /// The first flag given that needs a cgroup to mean anything (a limit, or a
    /// `--device-cgroup-rule`), as the user spelled it; `--blkio-weight 0` and the like, which
    /// ask for nothing, do not count.
    pub fn first_set(&self) -> Option<&'static str> {
        let given = [
            ("--memory", self.memory.is_some()),
            ("--memory-swap", self.memory_swap.is_some()),
            ("--memory-reservation", self.memory_reservation.is_some()),
            ("--pids-limit", self.pids_limit.is_some()),
            ("--cpus", self.cpus.is_some()),
            ("--cpu-shares", self.cpu_shares.is_some()),
            ("--cpu-quota", self.cpu_quota.is_some()),
            ("--cpu-period", self.cpu_period.is_some()),
            ("--cpuset-cpus", self.cpuset_cpus.is_some()),
            ("--cpuset-mems", self.cpuset_mems.is_some()),
            ("--blkio-weight", self.blkio_weight.is_some()),
            ("--device-cgroup-rule", !self.device_cgroup_rules.is_empty()),
        ];
        if self.is_empty() && self.device_cgroup_rules.is_empty() {
            return None;
        }
        given.iter().find(|(_, set)| *set).map(|(name, _)| *name)
    }

    pub fn is_empty(&self) -> bool {
        self.to_resources()
            .is_ok_and(|r| r == LinuxResources::default())
    }

    /// The OCI resources the flags ask for (devices apart: see [`device_rules`]), with
    /// Docker's checks and messages.
    pub fn to_resources(&self) -> Result<LinuxResources> {
        let mut r = LinuxResources::default();
        r.set_memory(self.to_memory()?);
        r.set_pids(self.to_pids()?);
        r.set_cpu(self.to_cpu()?);
        r.set_block_io(self.to_block_io()?);
        Ok(r)
    }

    /// `--memory`, `--memory-swap`, `--memory-reservation`.
    fn to_memory(&self) -> Result<Option<LinuxMemory>> {
        let memory = self
            .memory
            .as_deref()
            .map(|v| size(v, "memory"))
            .transpose()?;
        let swap = match self.memory_swap.as_deref() {
            None => None,
            Some("-1") => Some(-1),
            Some(v) => Some(size(v, "memory-swap")?),
        };
        let reservation = self
            .memory_reservation
            .as_deref()
            .map(|v| size(v, "memory-reservation"))
            .transpose()?;
        if let Some(m) = memory
            && m > 0
            && m < 6 * 1024 * 1024
        {
            bail!("Minimum memory limit allowed is 6MB");
        }
        if let Some(s) = swap {
            if s > 0 && memory.is_none() {
                bail!(
                    "You should always set the Memory limit when using Memoryswap limit, see usage"
                );
            }
            if s > 0 && memory.is_some_and(|m| s < m) {
                bail!("Minimum memoryswap limit should be larger than memory limit, see usage");
            }
        }
        if let (Some(m), Some(res)) = (memory, reservation)
            && m > 0
            && res > m
        {
            bail!("Minimum memory limit can not be less than memory reservation limit, see usage");
        }
        if memory.is_none() && swap.is_none() && reservation.is_none() {
            return Ok(None);
        }
        let mut mem = LinuxMemory::default();
        mem.set_limit(memory);
        // Docker's default with a limit and no --memory-swap: as much swap as memory.
        mem.set_swap(swap.or(memory.filter(|m| *m > 0).map(|m| m * 2)));
        mem.set_reservation(reservation);
        Ok(Some(mem))
    }

    /// `--pids-limit`.
    fn to_pids(&self) -> Result<Option<LinuxPids>> {
        let Some(v) = self.pids_limit.as_deref() else {
            return Ok(None);
        };
        let limit = int(v, "pids-limit")?;
        let mut pids = LinuxPids::default();
        pids.set_limit(if limit <= 0 { -1 } else { limit });
        Ok(Some(pids))
    }

    /// `--cpus`, `--cpu-shares`, `--cpu-period`, `--cpu-quota`, `--cpuset-cpus`,
    /// `--cpuset-mems`.
    fn to_cpu(&self) -> Result<Option<LinuxCpu>> {
        let mut cpu = LinuxCpu::default();
        if let Some(v) = self.cpus.as_deref() {
            if self.cpu_quota.is_some() || self.cpu_period.is_some() {
                bail!("Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set");
            }
            let cpus: f64 = v
                .parse()
                .ok()
                .filter(|c: &f64| c.is_finite() && *c >= 0.0)
                .ok_or_else(|| {
                    invalid(
                        v,
                        "cpus",
                        format!("failed to parse {v} as a rational number"),
                    )
                })?;
            let available = std::thread::available_parallelism().map_or(1, |n| n.get());
            if cpus > 0.0 && (cpus < 0.01 || cpus > available as f64) {
                bail!(
                    "Range of CPUs is from 0.01 to {available}.00, as there are only {available} CPUs available"
                );
            }
            if cpus > 0.0 {
                cpu.set_period(Some(100_000));
                cpu.set_quota(Some((cpus * 100_000.0).round() as i64));
            }
        }
        if let Some(v) = self.cpu_shares.as_deref() {
            let shares = int(v, "cpu-shares")?;
            if shares < 0 {
                bail!("invalid CPU shares {shares}: must not be negative");
            }
            if shares > 0 {
                cpu.set_shares(Some(shares.clamp(2, 262_144) as u64));
            }
        }
        if let Some(v) = self.cpu_period.as_deref() {
            let period = int(v, "cpu-period")?;
            if period != 0 && !(1000..=1_000_000).contains(&period) {
                bail!(
                    "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
                );
            }
            if period > 0 {
                cpu.set_period(Some(period as u64));
            }
        }
        if let Some(v) = self.cpu_quota.as_deref() {
            let quota = int(v, "cpu-quota")?;
            if quota > 0 && quota < 1000 {
                bail!("CPU cfs quota can not be less than 1ms (i.e. 1000)");
            }
            if quota != 0 {
                cpu.set_quota(Some(quota));
            }
        }
        if let Some(v) = self.cpuset_cpus.as_deref() {
            check_list(v, "cpuset cpus")?;
            cpu.set_cpus(Some(v.to_string()));
        }
        if let Some(v) = self.cpuset_mems.as_deref() {
            check_list(v, "cpuset mems")?;
            cpu.set_mems(Some(v.to_string()));
        }
        Ok((cpu != LinuxCpu::default()).then_some(cpu))
    }

    /// `--blkio-weight`.
    fn to_block_io(&self) -> Result<Option<LinuxBlockIo>> {
        let Some(v) = self.blkio_weight.as_deref() else {
            return Ok(None);
        };
        let weight: u16 = v.parse().map_err(|_| {
            invalid(
                v,
                "blkio-weight",
                format!("strconv.ParseUint: parsing \"{v}\": invalid syntax"),
            )
        })?;
        if weight != 0 && !(10..=1000).contains(&weight) {
            bail!("Range of blkio weight is from 10 to 1000");
        }
        if weight == 0 {
            return Ok(None);
        }
        let mut b = LinuxBlockIo::default();
        b.set_weight(Some(weight));
        Ok(Some(b))
    }

    /// `--device` mappings, parsed (the host nodes are looked at by [`host_device`]).
    pub fn device_mappings(&self) -> Result<Vec<DeviceMapping>> {
        self.devices.iter().map(|d| parse_device(d)).collect()
    }

    /// `--device-cgroup-rule` rules, to append after the defaults and the `--device` rules.
    pub fn device_rules(&self) -> Result<Vec<LinuxDeviceCgroup>> {
        self.device_cgroup_rules
            .iter()
            .map(|r| Rule::parse_docker(r).map(Rule::to_oci))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceMapping {
    pub host: PathBuf,
    pub container: PathBuf,
    /// A combination of r, w and m.
    pub permissions: String,
}

/// `HOST[:CONTAINER[:PERMISSIONS]]`, `HOST:PERMISSIONS` too, as Docker reads it.
pub fn parse_device(text: &str) -> Result<DeviceMapping> {
    let valid_mode =
        |m: &str| !m.is_empty() && m.len() <= 3 && m.chars().all(|c| "rwm".contains(c));
    let parts: Vec<&str> = text.split(':').collect();
    let (host, container, permissions) = match parts[..] {
        [host] => (host, host, "rwm"),
        [host, second] if valid_mode(second) => (host, host, second),
        [host, container] => (host, container, "rwm"),
        [host, container, mode] => {
            if !valid_mode(mode) {
                bail!("invalid device mode: {mode}");
            }
            (host, container, mode)
        }
        _ => bail!("invalid device specification: {text}"),
    };
    if host.is_empty() || !host.starts_with('/') {
        bail!("invalid device specification: {text}: the host path must be absolute");
    }
    if !container.starts_with('/') {
        bail!("{container} is not an absolute path");
    }
    Ok(DeviceMapping {
        host: host.into(),
        container: container.into(),
        permissions: permissions.to_string(),
    })
}

/// The host node of a mapping, looked at: the device to create in the container and the rule
/// that lets it be opened.
pub fn host_device(mapping: &DeviceMapping) -> Result<(LinuxDevice, LinuxDeviceCgroup)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = std::fs::metadata(&mapping.host).map_err(|e| {
        refused!(
            "error gathering device information while adding custom device \"{}\": {e}",
            mapping.host.display()
        )
    })?;
    let typ = if meta.file_type().is_char_device() {
        LinuxDeviceType::C
    } else if meta.file_type().is_block_device() {
        LinuxDeviceType::B
    } else {
        bail!(
            "error gathering device information while adding custom device \"{}\": not a device node",
            mapping.host.display()
        );
    };
    let (major, minor) = (
        libc::major(meta.rdev()) as i64,
        libc::minor(meta.rdev()) as i64,
    );
    let mut dev = LinuxDevice::default();
    dev.set_path(mapping.container.clone());
    dev.set_typ(typ);
    dev.set_major(major);
    dev.set_minor(minor);
    dev.set_file_mode(Some(meta.mode() & 0o7777));
    dev.set_uid(Some(meta.uid()));
    dev.set_gid(Some(meta.gid()));
    let mut rule = LinuxDeviceCgroup::default();
    rule.set_allow(true);
    rule.set_typ(Some(typ));
    rule.set_major(Some(major));
    rule.set_minor(Some(minor));
    rule.set_access(Some(mapping.permissions.clone()));
    Ok((dev, rule))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn flags(f: impl FnOnce(&mut ResourceFlags)) -> Result<LinuxResources> {
        let mut flags = ResourceFlags::default();
        f(&mut flags);
        flags.to_resources()
    }

    #[test]
    fn sizes_as_docker_reads_them() {
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("10kb"), Ok(10 << 10));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("7b"), Ok(7));
        for bad in ["", "m", "512x", "-1m", "1..2m", "12 34", ".5g"] {
            assert_eq!(
                parse_size(bad),
                Err(format!("invalid size: '{bad}'")),
                "{bad}"
            );
        }
    }

    #[test]
    fn memory_flags() {
        let r = flags(|f| {
            f.memory = Some("512m".into());
            f.memory_reservation = Some("256m".into());
        })
        .unwrap();
        let m = r.memory().unwrap();
        assert_eq!(
            (m.limit(), m.swap(), m.reservation()),
            (Some(512 << 20), Some(1 << 30), Some(256 << 20))
        );
        let r = flags(|f| {
            f.memory = Some("512m".into());
            f.memory_swap = Some("-1".into());
        })
        .unwrap();
        assert_eq!(r.memory().unwrap().swap(), Some(-1));
        let err = flags(|f| f.memory = Some("512x".into()))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid argument \"512x\" for \"--memory\" flag: invalid size: '512x'"
        );
        let err = flags(|f| f.memory = Some("1m".into()))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "Minimum memory limit allowed is 6MB");
        let err = flags(|f| {
            f.memory = Some("512m".into());
            f.memory_swap = Some("256m".into());
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("memoryswap limit should be larger"),
            "{err}"
        );
    }

    #[test]
    fn pids_and_cpu_flags() {
        let r = flags(|f| f.pids_limit = Some("20".into())).unwrap();
        assert_eq!(r.pids().unwrap().limit(), 20);
        assert_eq!(
            flags(|f| f.pids_limit = Some("-1".into()))
                .unwrap()
                .pids()
                .unwrap()
                .limit(),
            -1
        );
        let r = flags(|f| f.cpus = Some("0.5".into())).unwrap();
        let c = r.cpu().as_ref().unwrap();
        assert_eq!((c.quota(), c.period()), (Some(50_000), Some(100_000)));
        let r = flags(|f| {
            f.cpu_shares = Some("512".into());
            f.cpu_quota = Some("20000".into());
            f.cpu_period = Some("50000".into());
            f.cpuset_cpus = Some("0".into());
            f.cpuset_mems = Some("0".into());
        })
        .unwrap();
        let c = r.cpu().as_ref().unwrap();
        assert_eq!(
            (c.shares(), c.quota(), c.period()),
            (Some(512), Some(20_000), Some(50_000))
        );
        assert_eq!(
            (c.cpus().as_deref(), c.mems().as_deref()),
            (Some("0"), Some("0"))
        );
        let err = flags(|f| f.cpus = Some("abc".into()))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid argument \"abc\" for \"--cpus\" flag: failed to parse abc as a rational number"
        );
        let err = flags(|f| f.cpus = Some("100000".into()))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("Range of CPUs is from 0.01 to"), "{err}");
        let err = flags(|f| {
            f.cpus = Some("1".into());
            f.cpu_quota = Some("1000".into());
        })
        .unwrap_err();
        assert!(err.to_string().starts_with("Conflicting options"), "{err}");
        let err = flags(|f| f.cpu_period = Some("10".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("CPU cfs period can not be less than 1ms"),
            "{err}"
        );
        let err = flags(|f| f.cpu_quota = Some("10".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("CPU cfs quota can not be less than 1ms"),
            "{err}"
        );
        let err = flags(|f| f.cpuset_cpus = Some("0-a".into()))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "Invalid value 0-a for cpuset cpus");
        let err = flags(|f| f.pids_limit = Some("many".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid argument \"many\" for \"--pids-limit\" flag"),
            "{err}"
        );
    }

    #[test]
    fn first_set_names_the_flag() {
        assert_eq!(ResourceFlags::default().first_set(), None);
        let f = ResourceFlags {
            pids_limit: Some("5".into()),
            ..Default::default()
        };
        assert_eq!(f.first_set(), Some("--pids-limit"));
        let f = ResourceFlags {
            blkio_weight: Some("0".into()),
            ..Default::default()
        };
        assert_eq!(f.first_set(), None, "a 0 asks for nothing");
        let f = ResourceFlags {
            device_cgroup_rules: vec!["c 1:3 mr".into()],
            ..Default::default()
        };
        assert_eq!(f.first_set(), Some("--device-cgroup-rule"));
    }

    #[test]
    fn blkio_flag() {
        let r = flags(|f| f.blkio_weight = Some("300".into())).unwrap();
        assert_eq!(r.block_io().as_ref().unwrap().weight(), Some(300));
        let err = flags(|f| f.blkio_weight = Some("5".into()))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "Range of blkio weight is from 10 to 1000");
        assert!(
            flags(|f| f.blkio_weight = Some("0".into()))
                .unwrap()
                .block_io()
                .is_none()
        );
        assert!(ResourceFlags::default().is_empty());
    }

    #[test]
    fn device_flags() {
        let d = parse_device("/dev/sda").unwrap();
        assert_eq!(
            (d.container.as_path(), d.permissions.as_str()),
            (Path::new("/dev/sda"), "rwm")
        );
        let d = parse_device("/dev/sda:/dev/xvda:r").unwrap();
        assert_eq!(
            (d.container.as_path(), d.permissions.as_str()),
            (Path::new("/dev/xvda"), "r")
        );
        assert_eq!(parse_device("/dev/sda:rw").unwrap().permissions, "rw");
        assert_eq!(
            parse_device("/dev/sda:/dev/xvda:rx")
                .unwrap_err()
                .to_string(),
            "invalid device mode: rx"
        );
        assert!(
            parse_device("/dev/sda:xvda")
                .unwrap_err()
                .to_string()
                .contains("xvda is not an absolute path")
        );
        assert!(
            parse_device("a:b:c:d")
                .unwrap_err()
                .to_string()
                .contains("a:b:c:d")
        );
        let (dev, rule) = host_device(&parse_device("/dev/null:/dev/mynull:r").unwrap()).unwrap();
        assert_eq!(
            (dev.major(), dev.minor(), dev.path().as_path()),
            (1, 3, Path::new("/dev/mynull"))
        );
        assert_eq!(Rule::from_oci(&rule).unwrap().v1_line(), "c 1:3 r");
        let err = host_device(&parse_device("/etc/passwd").unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a device node"), "{err}");
        let f = ResourceFlags {
            device_cgroup_rules: vec!["c 1:3 mr".into(), "bad".into()],
            ..Default::default()
        };
        assert_eq!(
            f.device_rules().unwrap_err().to_string(),
            "invalid device cgroup format 'bad'"
        );
    }
}
