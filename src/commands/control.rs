//! The commands that work on a container through its cgroup: `pause`, `resume`, `update`,
//! `events`, and the process list `ps` and `kill --all` use. The cgroup is the one the
//! state record names (`container::cgroup_launch`).

use crate::cgroups::flags::parse_size;
use crate::cgroups::{Cgroup, FreezerState};
use crate::cli::{EventsArgs, Global, UpdateArgs};
use crate::container::cgroup_launch;
use crate::container::procfs;
use crate::container::rootless_cgroup;
use crate::container::state::{State, Status, Store};
use anyhow::{Context, Result, bail};
use oci_spec::runtime::{LinuxPids, LinuxResources};
use std::io::Write;
use std::time::Duration;

/// The running container's cgroup (stopped containers have nothing left to act on).
fn running_cgroup(g: &Global, id: &str) -> Result<(Store, State, Cgroup)> {
    let store = Store::new(&g.root);
    let st = store.load(id)?;
    if store.status(&st) == Status::Stopped {
        bail!("container \"{id}\" is not running");
    }
    let cg = cgroup_launch::require(&store.dir(id), id)?;
    Ok((store, st, cg))
}

/// Every process of the container: its cgroup's, or without one (cgroups disabled) its pid
/// namespace's when it has its own, else its init alone.
pub fn pids_of(store: &Store, st: &State) -> Vec<i32> {
    if let Ok(Some(cg)) = cgroup_launch::load(&store.dir(&st.id))
        && let Ok(pids) = cg.pids()
    {
        return pids;
    }
    if procfs::ns_differs(st.pid, "pid") {
        procfs::pids_in_pid_namespace_of(st.pid)
    } else {
        vec![st.pid]
    }
}

/// Whether a live container is frozen: `state` shows it as `paused`.
pub fn is_paused(store: &Store, st: &State) -> bool {
    matches!(
        cgroup_launch::load(&store.dir(&st.id)),
        Ok(Some(cg)) if cg.state().is_ok_and(|s| s != FreezerState::Thawed)
    )
}

pub fn pause(g: &Global, id: &str) -> Result<()> {
    let (_, _, cg) = running_cgroup(g, id)?;
    cg.freeze()
        .with_context(|| format!("pausing container \"{id}\""))
}

pub fn resume(g: &Global, id: &str) -> Result<()> {
    let (_, _, cg) = running_cgroup(g, id)?;
    cg.thaw()
        .with_context(|| format!("resuming container \"{id}\""))
}

/// Pure: runc's reading of an update's resources file, where 0 means "leave as it is"
/// (docker update sends every field, zeros for those not asked, memory ones too even where
/// the container has no memory cgroup): the zeros go, and a memory object left empty goes too.
fn zeros_unchanged(r: LinuxResources) -> LinuxResources {
    let mut r = crate::cgroups::resources::without_unset_zeros(&r);
    if let Some(m) = *r.memory() {
        let empty = m.limit().is_none() && m.reservation().is_none() && m.swap().is_none();
        let empty = empty && m.swappiness().is_none() && m.disable_oom_killer().is_none();
        r.set_memory((!empty).then_some(m));
    }
    r
}

/// Pure: the resources `update` asks for: `-r FILE` (JSON, `-` for stdin, as containerd sends
/// it), then each flag over it.
pub fn update_resources(a: &UpdateArgs, file_text: Option<&str>) -> Result<LinuxResources> {
    let mut r: LinuxResources = match file_text {
        Some(t) => zeros_unchanged(
            serde_json::from_str(t).context("--resources: not an OCI resources object")?,
        ),
        None => LinuxResources::default(),
    };
    let size = |v: &str, flag: &str| {
        if v == "-1" {
            return Ok(-1);
        }
        parse_size(v).map_err(|e| anyhow::anyhow!("--{flag} \"{v}\": {e}"))
    };
    let num = |v: &str, flag: &str| -> Result<i64> {
        v.parse()
            .map_err(|_| anyhow::anyhow!("--{flag} \"{v}\": not a number"))
    };
    if a.memory.is_some() || a.memory_swap.is_some() || a.memory_reservation.is_some() {
        let mut m = r.memory().unwrap_or_default();
        if let Some(v) = &a.memory {
            m.set_limit(Some(size(v, "memory")?));
        }
        if let Some(v) = &a.memory_swap {
            m.set_swap(Some(size(v, "memory-swap")?));
        }
        if let Some(v) = &a.memory_reservation {
            m.set_reservation(Some(size(v, "memory-reservation")?));
        }
        r.set_memory(Some(m));
    }
    if let Some(v) = &a.pids_limit {
        let mut p = LinuxPids::default();
        p.set_limit(num(v, "pids-limit")?);
        r.set_pids(Some(p));
    }
    let touches_cpu = a.cpu_quota.is_some()
        || a.cpu_period.is_some()
        || a.cpu_shares.is_some()
        || a.cpuset_cpus.is_some()
        || a.cpuset_mems.is_some();
    if touches_cpu {
        let mut c = r.cpu().clone().unwrap_or_default();
        if let Some(v) = &a.cpu_quota {
            c.set_quota(Some(num(v, "cpu-quota")?));
        }
        let unsigned = |v: &str, flag: &str| -> Result<u64> {
            u64::try_from(num(v, flag)?).map_err(|_| anyhow::anyhow!("--{flag} \"{v}\": negative"))
        };
        if let Some(v) = &a.cpu_period {
            c.set_period(Some(unsigned(v, "cpu-period")?));
        }
        if let Some(v) = &a.cpu_shares {
            c.set_shares(Some(unsigned(v, "cpu-shares")?));
        }
        if let Some(v) = &a.cpuset_cpus {
            c.set_cpus(Some(v.clone()));
        }
        if let Some(v) = &a.cpuset_mems {
            c.set_mems(Some(v.clone()));
        }
        r.set_cpu(Some(c));
    }
    if let Some(v) = &a.blkio_weight {
        let w: u16 = v
            .parse()
            .map_err(|_| anyhow::anyhow!("--blkio-weight \"{v}\": not a number"))?;
        let mut b = r.block_io().clone().unwrap_or_default();
        b.set_weight(Some(w));
        r.set_block_io(Some(b));
    }
    Ok(r)
}

pub fn update(g: &Global, a: &UpdateArgs) -> Result<()> {
    let text = match a.resources.as_deref() {
        None => None,
        Some(p) if p.as_os_str() == "-" => {
            let mut t = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut t)
                .context("reading --resources from stdin")?;
            Some(t)
        }
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("reading --resources {}", p.display()))?,
        ),
    };
    let r = update_resources(a, text.as_deref())?;
    let (_, _, cg) = running_cgroup(g, &a.id)?;
    // An ordinary user's container has a v2 cgroup only, in a delegated subtree.
    if !nix::unistd::geteuid().is_root()
        && cg.paths().v1.is_empty()
        && let Some(v2) = &cg.paths().v2
    {
        rootless_cgroup::check_update(&v2.dir, &r)?;
    }
    // A container is in every v1 hierarchy the host had at its start (cgroups::joins).
    cg.apply(&r).with_context(|| {
        format!(
            "updating container \"{}\" (in the v1 hierarchies of {:?} only)",
            a.id,
            cg.paths()
                .v1
                .iter()
                .flat_map(|d| d.controllers.iter())
                .collect::<Vec<_>>()
        )
    })
}

/// `events --stats`: one stats event. `events`: a stats event every `--interval`, and an
/// `oom` event whenever the OOM count grew since the last look (a poll, not the kernel's
/// eventfd notification), until the container stops.
pub fn events(g: &Global, a: &EventsArgs) -> Result<()> {
    let (store, st, cg) = running_cgroup(g, &a.id)?;
    if a.stats {
        println!("{}", cg.stats()?.event_json(&a.id));
        return Ok(());
    }
    let interval = parse_interval(&a.interval)?;
    let mut ooms = cg.oom_kill_count().unwrap_or(0);
    let mut out = std::io::stdout();
    while store.status(&st) != Status::Stopped {
        let now = cg.oom_kill_count().unwrap_or(ooms);
        if now > ooms {
            writeln!(
                out,
                "{}",
                serde_json::json!({"type": "oom", "id": a.id, "data": {}})
            )?;
        }
        ooms = now;
        if let Ok(s) = cg.stats() {
            writeln!(out, "{}", s.event_json(&a.id))?;
        }
        out.flush()?;
        std::thread::sleep(interval);
    }
    Ok(())
}

/// Go's durations as runc takes them: `5s`, `500ms`, `1m`.
pub fn parse_interval(text: &str) -> Result<Duration> {
    let bad = || anyhow::anyhow!("--interval \"{text}\": expected a duration such as 5s or 500ms");
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .ok_or_else(bad)?;
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut UpdateArgs)) -> UpdateArgs {
        let mut a = UpdateArgs {
            id: "c".into(),
            ..Default::default()
        };
        f(&mut a);
        a
    }

    #[test]
    fn zeros_in_the_resources_file_change_nothing() {
        let file = r#"{"memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0},
            "cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": "", "mems": ""},
            "pids": {"limit": 7}, "blockIO": {"weight": 0}}"#;
        let r = update_resources(&args(|_| {}), Some(file)).unwrap();
        assert!(r.memory().is_none());
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!(
            (cpu.shares(), cpu.quota(), cpu.period()),
            (None, None, None)
        );
        assert_eq!(r.pids().as_ref().unwrap().limit(), 7);
        let writes = crate::cgroups::resources::plan(
            &r,
            &|_| Some(crate::cgroups::resources::Version::V1),
            false,
        )
        .unwrap();
        assert_eq!(writes.len(), 1, "{writes:?}");
    }

    #[test]
    fn update_flags_over_the_resources_file() {
        let file = r#"{"pids": {"limit": 5}, "cpu": {"shares": 512}}"#;
        let a = args(|a| {
            a.memory = Some("64m".into());
            a.cpu_quota = Some("50000".into());
            a.pids_limit = Some("20".into());
        });
        let r = update_resources(&a, Some(file)).unwrap();
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(64 << 20));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 20);
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!((cpu.shares(), cpu.quota()), (Some(512), Some(50000)));
        let e = update_resources(&args(|a| a.cpu_period = Some("-5".into())), None).unwrap_err();
        assert!(e.to_string().contains("\"-5\""), "{e}");
        assert!(
            update_resources(
                &UpdateArgs::default(),
                Some(r#"{"pids": {"limit": "many"}}"#)
            )
            .is_err()
        );
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_interval("250ms").unwrap(), Duration::from_millis(250));
        for bad in ["", "5", "s", "0s", "5x"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
