//! What failed starting, joining, or tearing down a container: the typed error of this folder
//! (the command layer adds its context and the exit status, `commands::Failure`). Each line
//! names the step with its path or value, and the OS's (or another folder's) error is its
//! source, so `{:#}` of it reads as the anyhow chain it replaced: `step: why`.
//!
//! In a file of this folder: `use super::error::{Context, Result}` (`context`/`with_context`
//! as anyhow's), and `bail!` or `refused!` (the error itself, for `map_err`) for a line of
//! our own (container/mod.rs).
//!
//! A sibling file with a typed error of its own (`state::Error`, `rootless::Error`) is held
//! as [`Error::Sibling`], not named here: those files sit below most of this folder in the
//! import graph, and naming them would make a circle (tests/imports.rs).

use crate::error_chain::Step;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Os(#[from] Step),
    #[error(transparent)]
    Nix(#[from] Step<nix::Error>),
    #[error(transparent)]
    Json(#[from] Step<serde_json::Error>),
    #[error(transparent)]
    Cgroups(#[from] crate::cgroups::Error),
    #[error(transparent)]
    Capability(#[from] crate::capability::Error),
    #[error(transparent)]
    CapName(#[from] crate::capability::names::NameError),
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::Error),
    #[error(transparent)]
    SeccompInstall(#[from] crate::seccomp::InstallError),
    #[error(transparent)]
    Tracer(#[from] crate::trace_caps::Error),
    /// A sibling file's typed error, kept whole (see the module's doc): `Error::sibling(e)`.
    #[error(transparent)]
    Sibling(Box<dyn std::error::Error + Send + Sync + 'static>),
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

impl Error {
    pub fn sibling(e: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Sibling(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

crate::error_chain::step_context!(
    Error;
    leaf: std::io::Error, nix::Error, serde_json::Error;
    typed: crate::cgroups::Error, crate::capability::Error, crate::seccomp::Error,
        crate::trace_caps::Error, crate::capability::names::NameError,
        crate::seccomp::InstallError
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_chain::one_line;

    #[test]
    fn a_step_within_a_step_reads_as_an_anyhow_chain() {
        let inner: Result<()> = Err(std::io::Error::from_raw_os_error(libc::ENOENT))
            .with_context(|| "opening /x".to_string());
        let outer = inner.context("starting the container");
        assert_eq!(
            one_line(&outer.unwrap_err()),
            "starting the container: opening /x: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn another_folders_error_keeps_its_line() {
        let e: Result<()> = Err(crate::cgroups::Error::Refused("no pids controller".into()))
            .context("creating the cgroup");
        assert_eq!(
            one_line(&e.unwrap_err()),
            "creating the cgroup: no pids controller"
        );
    }
}
