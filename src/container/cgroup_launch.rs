//! The container's cgroup around a launch: which one is the Plan's (`validate` computes the
//! request from the manager and `linux.cgroupsPath`, and refuses a bad one); here it is
//! made and limited before the child exists, the child born in it, its paths kept with the
//! state record, the OOM verdict at exit, and its removal.
//!
//! The order matters: the workload must never run unconfined, so `prepare` (create + every
//! limit, devices included) runs before clone3; the child is cloned straight into the v2
//! cgroup (CLONE_INTO_CGROUP) and moves itself into the v1 ones first thing after `Proceed`,
//! through `tasks` files the parent opened (see `cgroups::joins`). A host without any cgroup
//! filesystem gets no cgroup: a warning, or a refusal naming what needed one.

use super::error::{Context, Result};
use crate::cgroups::{Cgroup, CgroupPaths, Layout};
use std::path::Path;

/// The file in a container's state directory that names its cgroup.
pub const RECORD: &str = "cgroup.json";

/// The request and the manager live with the Plan's types (validate computes the request);
/// their names here stay.
pub use super::plan::{CgroupRequest as Request, Manager};

/// Effects, in the parent before clone3: the cgroup made and limited (or, for `Join`, opened).
/// A failure leaves nothing behind. None: this host has no cgroup filesystem and nothing was
/// asked for that needs one (a warning says so).
pub fn prepare(req: &Request) -> Result<Option<Cgroup>> {
    match req {
        Request::Join(paths) => Ok(Some(Cgroup::open(paths.clone()))),
        Request::Create {
            id,
            placement,
            resources,
        } => {
            let mut layout = Layout::detect()?;
            if !super::privilege::is_root() {
                // An ordinary user's request lies in the v2 subtree delegated to it
                // (`rootless_cgroup`): no v1 hierarchy is ever delegated to a user.
                layout.v1.clear();
            }
            if layout.is_empty() {
                let needed = crate::cgroups::joins::needed(resources)?;
                if !needed.is_empty() {
                    bail!(
                        "linux.resources sets limits for {}, but this host has no cgroup filesystem mounted (neither cgroup nor cgroup2 in /proc/self/mountinfo)",
                        needed.into_iter().collect::<Vec<_>>().join(", ")
                    );
                }
                tracing::warn!("{}", no_cgroupfs_warning());
                return Ok(None);
            }
            // Every hierarchy, named ones too: see `cgroups::joins` for why and what it costs.
            let cg = Cgroup::create(&layout, placement, id)?;
            crate::step!("cgroup made in {} v1 hierarchies and v2", layout.v1.len());
            if let Err(e) = cg.apply(resources) {
                let _ = cg.remove();
                return Err(e).context(format!("applying linux.resources to container {id}"));
            }
            crate::step!("cgroup limited");
            Ok(Some(cg))
        }
    }
}

/// The one line a launch without cgroupfs prints.
pub fn no_cgroupfs_warning() -> &'static str {
    "no cgroup filesystem is mounted (neither cgroup nor cgroup2 in /proc/self/mountinfo): the container runs without a cgroup (no limits, no device rules)"
}

/// Keeps the cgroup's paths in the container's state directory, so that later commands
/// (run from anywhere) find it.
pub fn save(dir: &Path, cg: &Cgroup) -> Result<()> {
    let path = dir.join(RECORD);
    // Private as the rest of the record (state.rs).
    let text =
        serde_json::to_string(cg.paths()).with_context(|| format!("writing {}", path.display()))?;
    super::state::write_private(&path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// The cgroup recorded for the container whose state directory is `dir` (None: it has none,
/// as with `--cgroup-manager disabled`).
pub fn load(dir: &Path) -> Result<Option<Cgroup>> {
    let path = dir.join(RECORD);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let paths: CgroupPaths = serde_json::from_str(&text)
                .with_context(|| format!("reading {}", path.display()))?;
            Ok(Some(Cgroup::open(paths)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The recorded cgroup, or an error saying the container has none (for the commands that
/// need it: pause, update, events, ps).
pub fn require(dir: &Path, id: &str) -> Result<Cgroup> {
    load(dir)?.ok_or_else(|| {
        refused!(
            "container \"{id}\" has no cgroup (it was created with --cgroup-manager disabled, or on a host without a cgroup filesystem)"
        )
    })
}

/// Whatever is left in the cgroup is killed, then the cgroup goes.
pub fn destroy(cg: &Cgroup) -> Result<()> {
    if cg.populated().is_ok_and(|p| p) {
        let _ = cg.thaw();
        cg.kill_all(nix::sys::signal::Signal::SIGKILL)?;
    }
    Ok(cg.remove()?)
}

/// The name of container `id`'s default-placed cgroup: the id itself for the default state
/// root, `id@<hash of the root>` for any other, so that two roots (test sandboxes, a second
/// daemon) holding the same id never share a cgroup, and each sweeps only its own.
pub fn cgroup_name(root: &Path, id: &str) -> String {
    match root_tag(root) {
        None => id.to_string(),
        Some(tag) => format!("{id}@{tag}"),
    }
}

fn root_tag(root: &Path) -> Option<String> {
    if root == Path::new(crate::container::state::DEFAULT_ROOT) {
        return None;
    }
    // FNV-1a: stable across runs and builds, unlike std's hasher.
    let hash = root
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        });
    Some(format!("{:08x}", hash as u32))
}

/// The default-placed cgroups of this root's containers whose records are gone (a runtime
/// killed before it could remove them). Another root's are left alone unless empty for a
/// minute (a state root that was itself removed, as test sandboxes are, sweeps nothing
/// again). Failures are logged: a sweep never fails a launch.
pub fn sweep(root: &Path, is_live: &dyn Fn(&str) -> bool) {
    let Ok(layout) = Layout::detect() else { return };
    sweep_in(&layout, root, is_live);
}

/// `sweep` below the `own` cgroups `layout` names (rootless_cgroup's sweep, beside the leaf).
pub fn sweep_in(layout: &Layout, root: &Path, is_live: &dyn Fn(&str) -> bool) {
    let tag = root_tag(root);
    // Every container has a v2 cgroup where there is cgroup2; v1 ones only where needed.
    let probe = layout
        .unified
        .as_ref()
        .or(layout.v1.first())
        .map(|h| h.dir(&h.own));
    let ours_and_live = |name: &str| match (name.split_once('@'), tag.as_deref()) {
        (None, None) => is_live(name),
        (Some((id, t)), Some(tag)) if t == tag => is_live(id),
        _ => !probe.as_ref().is_some_and(|p| {
            empty_for_a_minute(&p.join(crate::cgroups::placement::default_leaf(name)))
                || empty_for_a_minute(&p.join(crate::cgroups::placement::DEFAULT_PARENT).join(name))
        }),
    };
    match crate::cgroups::sweep(layout, &ours_and_live) {
        Ok(ids) if !ids.is_empty() => tracing::debug!("swept the cgroups of {ids:?}"),
        Ok(_) => {}
        Err(e) => tracing::warn!(
            "sweeping leftover cgroups: {}",
            crate::error_chain::one_line(&e)
        ),
    }
}

fn empty_for_a_minute(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let old = std::fs::metadata(dir).is_ok_and(|m| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        now - m.ctime() > 60
    });
    old && std::fs::read_to_string(dir.join("cgroup.procs")).is_ok_and(|p| p.trim().is_empty())
}

/// A workload killed by SIGKILL (status 137) in a cgroup whose OOM count is not zero was
/// killed by the OOM killer: the one line that says so, naming the limit.
pub fn oom_verdict(cg: &Cgroup, status: i32) -> Option<String> {
    if status != 137 {
        return None;
    }
    let count = cg.oom_kill_count().ok().filter(|n| *n > 0)?;
    let limit = cg
        .memory_limit()
        .map(|b| format!("memory limit {}", human(b)))
        .unwrap_or_else(|| "no memory limit of its own".into());
    Some(format!(
        "the workload was killed by the OOM killer ({limit}, {count} OOM kill{} in its cgroup)",
        if count == 1 { "" } else { "s" }
    ))
}

fn human(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers() {
        assert_eq!(Manager::from_flags(None, false).unwrap(), Manager::Cgroupfs);
        assert_eq!(
            Manager::from_flags(Some("disabled"), false).unwrap(),
            Manager::Disabled
        );
        assert_eq!(Manager::from_flags(None, true).unwrap(), Manager::Systemd);
        let e = Manager::from_flags(Some("cgroupv3"), false).unwrap_err();
        assert!(e.to_string().contains("\"cgroupv3\""));
    }

    #[test]
    fn cgroup_names_are_scoped_by_root() {
        assert_eq!(cgroup_name(Path::new("/run/minirun"), "a"), "a");
        let other = cgroup_name(Path::new("/tmp/sb1"), "a");
        assert!(other.starts_with("a@") && other.len() == 10, "{other}");
        assert_ne!(other, cgroup_name(Path::new("/tmp/sb2"), "a"));
    }

    #[test]
    fn a_missing_or_cut_record_is_one_line_naming_it() {
        let dir = std::env::temp_dir().join(format!("minirun-cgrecord-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let e = require(&dir, "a").unwrap_err();
        assert!(
            crate::error_chain::one_line(&e).starts_with("container \"a\" has no cgroup ("),
            "{e}"
        );
        std::fs::write(dir.join(RECORD), "{\"v1\": [").unwrap();
        let e = crate::error_chain::one_line(&load(&dir).err().unwrap());
        let named = format!("reading {}: EOF while parsing", dir.join(RECORD).display());
        assert!(e.starts_with(&named), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(64 << 20), "64 MiB");
        assert_eq!(human(3 << 30), "3 GiB");
        assert_eq!(human(1000), "1000 bytes");
    }
}
