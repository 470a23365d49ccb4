//! cgroups: a container's resource limits, device access control, freezer, signals and
//! usage, on cgroup v1, v2 and the hybrid layout (v1 controllers plus a cgroup2 mount, as on
//! Debian hosts booted with systemd's hybrid mode and on these machines).
//!
//! Policy (pure, tested without root) is kept apart from effects:
//!
//! | what | pure | effect |
//! | --- | --- | --- |
//! | hierarchies, own cgroups | [`Layout::parse`] | [`Layout::detect`] |
//! | cgroupsPath | [`Placement::parse`], [`Placement::resolve`] | [`Cgroup::create`] |
//! | limits | [`resources::plan`] (v1/v2 file names, conversions) | [`Cgroup::apply`] |
//! | devices | [`devices::Rule`], [`devices::docker_defaults`], [`bpf::build`] | v1 files or [`bpf::load`] + [`bpf::attach`] in [`Cgroup::apply`] |
//! | Docker's flags | [`flags::ResourceFlags::to_resources`], [`flags::parse_device`] | [`flags::host_device`] (stat) |
//! | usage | [`stats::keyed`], [`stats::parse_io_stat`]... | [`Cgroup::stats`] |
//!
//! Launch sequence (the parent, in this order):
//! 1. `let layout = Layout::detect()?; let cg = Cgroup::create(&layout, &Placement::parse(path, systemd)?, id)?;`
//!    then `cg.apply(resources)?` (devices included) before the child exists, so that the
//!    workload never runs unconfined; store `cg.paths()` in the state record.
//! 2. clone3 with `flag_into_cgroup(&cg.v2_fd()?)` where there is a v2 cgroup: the child is
//!    born in it (v2 and hybrid).
//!    A cgroup is made in every v1 hierarchy, named ones too ([`joins`] says why).
//! 3. v1 has no CLONE_INTO_CGROUP: the parent opens `cg.open_v1_tasks()?` before clone3,
//!    and the child, first thing after `Proceed`, moves itself in with `join_self()`
//!    (writing "0" to each `tasks` file: [`joins`] says why the child, and why "0").
//!    A host without any cgroup filesystem ([`Layout::is_empty`]) gets no cgroup at all.
//! 4. On the child's exit, `cg.oom_kill_count()` tells an OOM kill from a SIGKILL.
//! 5. delete: `Cgroup::open(paths).kill_all(SIGKILL)` if anything is left, then `remove()`;
//!    the store's sweep calls [`sweep`] with "is there a record for this id".
//!
//! Commands: pause/resume are [`Cgroup::freeze`]/[`Cgroup::thaw`] ([`Cgroup::state`] for
//! `paused`), `ps` is [`Cgroup::pids`], `kill --all` is [`Cgroup::kill_all`], `update` is
//! [`Cgroup::apply`] again, `events --stats` prints [`Stats::event_json`].
//!
//! The memory hierarchy is confined: an absolute cgroupsPath lands below our own memory cgroup
//! there (the machine's supervisor owns everything above it).

pub mod bpf;
mod cgroup;
pub mod devices;
pub mod flags;
pub mod joins;
pub mod layout;
pub mod placement;
pub mod resources;
pub mod stats;

pub use cgroup::{Cgroup, CgroupPaths, FreezerState, V1Dir, V1Tasks, V2Dir, sweep};
pub use layout::{Layout, Mode};
pub use placement::Placement;
pub use stats::Stats;

/// A throwaway directory laid out like a cgroup by the tests, removed on drop.
#[cfg(test)]
pub(crate) struct FakeDir(std::path::PathBuf);

#[cfg(test)]
impl FakeDir {
    pub(crate) fn new() -> FakeDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("minirun-cgtest-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        FakeDir(p)
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.0
    }

    /// Empty files (cgroupfs has them all from the start) under `dir`.
    pub(crate) fn files(&self, dir: &str, names: &[&str]) -> std::path::PathBuf {
        let d = self.0.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        for n in names {
            std::fs::write(d.join(n), "").unwrap();
        }
        d
    }
}

#[cfg(test)]
impl Drop for FakeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
