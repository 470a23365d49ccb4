//! A container's usage as runc's `events --stats` reports it (same JSON names), read from v1
//! or v2 files; a controller the container has no cgroup for leaves its section at zero.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Context, Result};
use serde::Serialize;

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

/// Nanoseconds.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct CpuUsage {
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    /// Nanoseconds.
    pub throttled_time: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Memory {
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

/// `limit` is u64::MAX when there is none, as runc reports it.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    pub usage: u64,
    pub max: u64,
    pub failcnt: u64,
}

/// `limit` 0: none.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Pids {
    pub current: u64,
    pub limit: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blkio {
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

impl Stats {
    /// One line of `runc events --stats`.
    pub fn event_json(&self, id: &str) -> String {
        serde_json::json!({ "type": "stats", "id": id, "data": self }).to_string()
    }
}

/// Directories holding the container's cgroup for each kind of statistic.
#[derive(Debug, Default)]
pub struct Sources<'a> {
    pub v1_memory: Option<&'a Path>,
    pub v1_pids: Option<&'a Path>,
    pub v1_cpuacct: Option<&'a Path>,
    pub v1_cpu: Option<&'a Path>,
    pub v1_blkio: Option<&'a Path>,
    /// The v2 cgroup, read for whatever the v1 ones do not hold.
    pub v2: Option<&'a Path>,
}

/// A file's content; None when the controller's file is not there.
fn read(dir: &Path, file: &str) -> Result<Option<String>> {
    match std::fs::read_to_string(dir.join(file)) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", dir.join(file).display())),
    }
}

/// A single number, `max` (none) read as `max`.
fn number(dir: &Path, file: &str, max: u64) -> Result<u64> {
    Ok(match read(dir, file)? {
        None => 0,
        Some(s) if s.trim() == "max" => max,
        Some(s) => s.trim().parse().with_context(|| {
            format!(
                "{}: {:?} is not a number",
                dir.join(file).display(),
                s.trim()
            )
        })?,
    })
}

/// `key value` lines (memory.stat, cpu.stat, memory.events, cpuacct.stat).
pub fn keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// v1 `8:0 Read 4096` lines (the `Total` line left out).
pub fn parse_blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, op, value) = (f.next()?, f.next()?, f.next()?);
            let (major, minor) = dev.split_once(':')?;
            Some(BlkioEntry {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                op: op.to_string(),
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// v2 io.stat `8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...` as (bytes, ios) entries.
pub fn parse_io_stat(text: &str) -> (Vec<BlkioEntry>, Vec<BlkioEntry>) {
    let (mut bytes, mut ios) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some((major, minor)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse(), minor.parse()) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut bytes, "Read"),
                "wbytes" => (&mut bytes, "Write"),
                "rios" => (&mut ios, "Read"),
                "wios" => (&mut ios, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.into(),
                value,
            });
        }
    }
    (bytes, ios)
}

/// USER_HZ, in which cpuacct.stat counts.
const TICKS_PER_SECOND: u64 = 100;

pub fn read_stats(src: &Sources) -> Result<Stats> {
    let mut s = Stats::default();
    if let Some(dir) = src.v1_memory {
        s.memory.usage = MemoryEntry {
            limit: number(dir, "memory.limit_in_bytes", u64::MAX)?,
            usage: number(dir, "memory.usage_in_bytes", 0)?,
            max: number(dir, "memory.max_usage_in_bytes", 0)?,
            failcnt: number(dir, "memory.failcnt", 0)?,
        };
        s.memory.swap = MemoryEntry {
            limit: number(dir, "memory.memsw.limit_in_bytes", u64::MAX)?,
            usage: number(dir, "memory.memsw.usage_in_bytes", 0)?,
            max: number(dir, "memory.memsw.max_usage_in_bytes", 0)?,
            failcnt: number(dir, "memory.memsw.failcnt", 0)?,
        };
        s.memory.raw = keyed(&read(dir, "memory.stat")?.unwrap_or_default());
        s.memory.cache = s.memory.raw.get("total_cache").copied().unwrap_or_default();
    } else if let Some(dir) = src.v2.filter(|d| d.join("memory.current").exists()) {
        let events = keyed(&read(dir, "memory.events")?.unwrap_or_default());
        s.memory.usage = MemoryEntry {
            limit: number(dir, "memory.max", u64::MAX)?,
            usage: number(dir, "memory.current", 0)?,
            max: number(dir, "memory.peak", 0)?,
            failcnt: events.get("max").copied().unwrap_or_default(),
        };
        s.memory.swap = MemoryEntry {
            limit: number(dir, "memory.swap.max", u64::MAX)?,
            usage: number(dir, "memory.swap.current", 0)?,
            max: number(dir, "memory.swap.peak", 0)?,
            failcnt: 0,
        };
        s.memory.raw = keyed(&read(dir, "memory.stat")?.unwrap_or_default());
        s.memory.cache = s.memory.raw.get("file").copied().unwrap_or_default();
    }
    if let Some(dir) = src
        .v1_pids
        .or(src.v2.filter(|d| d.join("pids.current").exists()))
    {
        s.pids = Pids {
            current: number(dir, "pids.current", 0)?,
            limit: number(dir, "pids.max", 0)?,
        };
    }
    if let Some(dir) = src.v1_cpuacct {
        let ticks = keyed(&read(dir, "cpuacct.stat")?.unwrap_or_default());
        let ns = |k: &str| {
            ticks.get(k).copied().unwrap_or_default() * (1_000_000_000 / TICKS_PER_SECOND)
        };
        s.cpu.usage = CpuUsage {
            total: number(dir, "cpuacct.usage", 0)?,
            percpu: read(dir, "cpuacct.usage_percpu")?
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect(),
            kernel: ns("system"),
            user: ns("user"),
        };
    }
    if let Some(dir) = src.v1_cpu {
        let stat = keyed(&read(dir, "cpu.stat")?.unwrap_or_default());
        let get = |k: &str| stat.get(k).copied().unwrap_or_default();
        s.cpu.throttling = Throttling {
            periods: get("nr_periods"),
            throttled_periods: get("nr_throttled"),
            throttled_time: get("throttled_time"),
        };
    }
    if let (None, Some(dir)) = (src.v1_cpuacct, src.v2) {
        // cpu.stat is a core v2 file: usage without the cpu controller, throttling with it.
        let stat = keyed(&read(dir, "cpu.stat")?.unwrap_or_default());
        let get = |k: &str| stat.get(k).copied().unwrap_or_default();
        s.cpu.usage = CpuUsage {
            total: get("usage_usec") * 1000,
            percpu: vec![],
            kernel: get("system_usec") * 1000,
            user: get("user_usec") * 1000,
        };
        if src.v1_cpu.is_none() {
            s.cpu.throttling = Throttling {
                periods: get("nr_periods"),
                throttled_periods: get("nr_throttled"),
                throttled_time: get("throttled_usec") * 1000,
            };
        }
    }
    if let Some(dir) = src.v1_blkio {
        s.blkio.io_service_bytes_recursive = parse_blkio_v1(
            &read(dir, "blkio.throttle.io_service_bytes_recursive")?.unwrap_or_default(),
        );
        s.blkio.io_serviced_recursive =
            parse_blkio_v1(&read(dir, "blkio.throttle.io_serviced_recursive")?.unwrap_or_default());
    } else if let Some(dir) = src.v2 {
        (
            s.blkio.io_service_bytes_recursive,
            s.blkio.io_serviced_recursive,
        ) = parse_io_stat(&read(dir, "io.stat")?.unwrap_or_default());
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::super::FakeDir;
    use super::*;

    fn tree(files: &[(&str, &str)]) -> FakeDir {
        let dir = FakeDir::new();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn v1_files() {
        let mem = tree(&[
            ("memory.limit_in_bytes", "536870912\n"),
            ("memory.usage_in_bytes", "1024\n"),
            ("memory.max_usage_in_bytes", "4096\n"),
            ("memory.failcnt", "3\n"),
            ("memory.stat", "cache 10\ntotal_cache 20\n"),
        ]);
        let pids = tree(&[("pids.current", "2\n"), ("pids.max", "max\n")]);
        let acct = tree(&[
            ("cpuacct.usage", "5000\n"),
            ("cpuacct.usage_percpu", "3000 2000 \n"),
            ("cpuacct.stat", "user 2\nsystem 1\n"),
        ]);
        let blkio = tree(&[(
            "blkio.throttle.io_service_bytes_recursive",
            "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n",
        )]);
        let s = read_stats(&Sources {
            v1_memory: Some(mem.path()),
            v1_pids: Some(pids.path()),
            v1_cpuacct: Some(acct.path()),
            v1_blkio: Some(blkio.path()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            s.memory.usage,
            MemoryEntry {
                limit: 536870912,
                usage: 1024,
                max: 4096,
                failcnt: 3
            }
        );
        assert_eq!(s.memory.swap.limit, 0, "no memsw file: nothing to report");
        assert_eq!(s.memory.cache, 20);
        assert_eq!(
            s.pids,
            Pids {
                current: 2,
                limit: 0
            }
        );
        assert_eq!(
            s.cpu.usage,
            CpuUsage {
                total: 5000,
                percpu: vec![3000, 2000],
                kernel: 10_000_000,
                user: 20_000_000
            }
        );
        assert_eq!(s.blkio.io_service_bytes_recursive.len(), 2);
        let json: serde_json::Value = serde_json::from_str(&s.event_json("c1")).unwrap();
        assert_eq!(json["type"], "stats");
        assert_eq!(json["data"]["memory"]["usage"]["failcnt"], 3);
        assert_eq!(
            json["data"]["blkio"]["ioServiceBytesRecursive"][0]["op"],
            "Read"
        );
    }

    #[test]
    fn v2_files() {
        let dir = tree(&[
            ("memory.current", "2048\n"),
            ("memory.max", "max\n"),
            ("memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n"),
            ("pids.current", "4\n"),
            ("pids.max", "20\n"),
            (
                "cpu.stat",
                "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 5\nnr_throttled 2\nthrottled_usec 3\n",
            ),
            (
                "io.stat",
                "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n",
            ),
        ]);
        let s = read_stats(&Sources {
            v2: Some(dir.path()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            s.memory.usage,
            MemoryEntry {
                limit: u64::MAX,
                usage: 2048,
                max: 0,
                failcnt: 7
            }
        );
        assert_eq!(
            s.pids,
            Pids {
                current: 4,
                limit: 20
            }
        );
        assert_eq!(s.cpu.usage.total, 10_000);
        assert_eq!(
            s.cpu.throttling,
            Throttling {
                periods: 5,
                throttled_periods: 2,
                throttled_time: 3000
            }
        );
        assert_eq!(
            s.blkio.io_service_bytes_recursive[1],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Write".into(),
                value: 200
            }
        );
        assert_eq!(s.blkio.io_serviced_recursive.len(), 2);
    }

    #[test]
    fn unreadable_number_names_the_file() {
        let dir = tree(&[("pids.current", "lots\n")]);
        let err = read_stats(&Sources {
            v1_pids: Some(dir.path()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("pids.current"), "{err:#}");
    }
}
