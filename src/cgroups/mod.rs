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

/// `bail!` as anyhow's, for this folder: returns a [`Error::Refused`] whose line is the
/// message. Defined before the modules so that they all see it.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::cgroups::Error::Refused(format!($($arg)*)))
    };
}

/// A [`Error::Refused`] with this line, for `map_err` and `ok_or_else`.
macro_rules! refused {
    ($($arg:tt)*) => {
        $crate::cgroups::Error::Refused(format!($($arg)*))
    };
}

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

use crate::error_chain::Step;

/// What failed creating, filling, reading or removing a cgroup, or translating limits into its
/// files: one line naming the step with its path or value; the OS's answer is the source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Os(#[from] Step),
    #[error(transparent)]
    Nix(#[from] Step<nix::Error>),
    /// A cgroup file that should hold a number does not.
    #[error(transparent)]
    Number(#[from] Step<std::num::ParseIntError>),
    /// The BPF device program the kernel refused (its verifier's log in the line).
    #[error(transparent)]
    Load(#[from] bpf::LoadError),
    /// A larger step (`creating the cgroup of container ID`) over the one that failed.
    #[error("{step}")]
    Within {
        step: String,
        #[source]
        source: Box<Error>,
    },
    /// A value refused or a state not as expected: the line says it all.
    #[error("{0}")]
    Refused(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

crate::error_chain::step_context!(
    Error;
    leaf: std::io::Error, nix::Error, std::num::ParseIntError;
    typed:
);

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

#[cfg(test)]
mod tests {
    use super::{Context, Error};

    /// A step over a step reads as anyhow's context did: outer, inner, then the OS's answer.
    #[test]
    fn steps_read_as_an_anyhow_chain() {
        let os: Result<(), _> = Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
        let e = os
            .context("writing \"0\" to /c/tasks")
            .with_context(|| "creating the cgroup of container a")
            .unwrap_err();
        assert!(matches!(e, Error::Within { .. }), "{e:?}");
        assert_eq!(
            crate::error_chain::one_line(&e),
            "creating the cgroup of container a: writing \"0\" to /c/tasks: \
             No space left on device (os error 28)"
        );
        let refused: Error = refused!("rdma limits are not supported");
        assert_eq!(refused.to_string(), "rdma limits are not supported");
    }
}
