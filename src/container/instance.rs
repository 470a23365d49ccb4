//! One container's life as one value (runc's `linuxContainer`, youki's `Container`): its
//! record in the state root, its cgroup, its init, and the undoing of a launch that failed
//! half-way.
//!
//! A `Container` is born by claiming its id (`reserve`); `spawn` launches its init (the
//! cgroup is made then, and recorded at once); `record` / `record_quick` save what later
//! commands read. Until `release` hands the container over to the system (an OCI `create`
//! returns, a `-d` monitor took it on), dropping the value undoes everything that was made:
//! the init is killed and reaped, its cgroup removed, its record removed, in that order
//! (`undo_steps`). `remove` is the same teardown when the container's life ends (the quick
//! form's workload exited, `--rm`, `delete` of a record `open` found), its error reported.

use super::cgroup_launch;
use super::error::{Context, Error, Result};
use super::launch::{self, Child, Handles, Reached, StartError};
use super::plan::Plan;
use super::state::{self, State, Store};
use crate::cgroups::Cgroup;
use nix::sys::wait::{Id, WaitPidFlag};
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// A container this process launches or looks after.
pub struct Container {
    store: Store,
    id: String,
    child: Option<Child>,
    /// Its cgroup, made by `spawn` or named by its record.
    cgroup: Option<Cgroup>,
    /// Dropping undoes the container (until `release`).
    armed: bool,
}

/// One step of the teardown, in the order `undo_steps` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Kill,
    Reap,
    RemoveCgroup,
    RemoveRecord,
}

/// Pure: what tearing a container down takes. The init dies before its cgroup goes (a
/// populated cgroup cannot be removed) and is reaped (when the command returns the process
/// is gone, not a zombie left for whoever inherits it). The record goes last: whatever a
/// teardown cut short leaves (a runtime killed in the middle of it) is still named by the
/// record, where `delete` and the sweep find it.
fn undo_steps(has_child: bool, has_cgroup: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    if has_child {
        steps.extend([Step::Kill, Step::Reap]);
    }
    if has_cgroup {
        steps.push(Step::RemoveCgroup);
    }
    steps.push(Step::RemoveRecord);
    steps
}

impl Container {
    /// Claims `id` in the state root (see `Store::reserve`).
    pub fn reserve(store: &Store, id: &str) -> Result<Container> {
        store.reserve(id).map_err(Error::sibling)?;
        Ok(Container {
            store: store.clone(),
            id: id.to_string(),
            child: None,
            cgroup: None,
            armed: true,
        })
    }

    /// An existing record (another runtime launched it), for `remove`: its cgroup as the
    /// record names it. Dropping it does nothing.
    pub fn open(store: &Store, id: &str) -> Result<Container> {
        state::validate_id(id).map_err(Error::sibling)?;
        Ok(Container {
            store: store.clone(),
            id: id.to_string(),
            child: None,
            cgroup: cgroup_launch::load(&store.dir(id))?,
            armed: false,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its record's directory.
    pub fn dir(&self) -> PathBuf {
        self.store.dir(&self.id)
    }

    /// Launches the container's init (see `launch::spawn`). Its cgroup is recorded at once:
    /// a record left half-made (this runtime killed) still names it for `delete`.
    pub fn spawn(&mut self, plan: &Plan, handles: &Handles) -> Result<&mut Child, StartError> {
        let child = self.child.insert(launch::spawn(plan, handles)?);
        self.cgroup = child.cgroup.clone();
        if let Some(cg) = &self.cgroup {
            cgroup_launch::save(&self.store.dir(&self.id), cg)?;
        }
        Ok(child)
    }

    /// Its cgroup, until `remove_cgroup`.
    pub fn cgroup(&self) -> Option<&Cgroup> {
        self.cgroup.as_ref()
    }

    /// The launched init.
    pub fn child(&mut self) -> Result<&mut Child> {
        let id = &self.id;
        self.child
            .as_mut()
            .ok_or_else(|| refused!("container \"{id}\" has not been launched"))
    }

    /// Follows the init to its execve or the start gate (see `launch::wait_ready`).
    pub fn wait_ready(&mut self) -> Result<Reached, launch::StartError> {
        launch::wait_ready(self.child()?)
    }

    /// Saves the OCI state (state.json): from now on `state`, `kill`, `exec` find it.
    pub fn record(&self, st: &State) -> Result<()> {
        self.store.save(st).map_err(Error::sibling)
    }

    /// Records a quick-form container whose init runs `plan`: what `exec` needs instead of a
    /// config.json (the compiled seccomp filter, the process), then state.json.
    pub fn record_quick(&mut self, plan: &Plan) -> Result<()> {
        let pid = self.child()?.pid.as_raw();
        let dir = self.dir();
        if let Some(p) = &plan.seccomp {
            super::seccomp_step::save(&dir, p)?;
        }
        state::save_process(&dir, plan).map_err(Error::sibling)?;
        self.store
            .save(&state::quick_record(&self.id, plan, pid))
            .map_err(Error::sibling)
    }

    /// Removes the cgroup now (whatever is left in it killed), keeping the record.
    pub fn remove_cgroup(&mut self) -> Result<()> {
        match &self.cgroup {
            Some(cg) => {
                cgroup_launch::destroy(cg)
                    .with_context(|| format!("removing the cgroup of {}", self.id))?;
                self.cgroup = None;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The launch is done and the container lives on without us (OCI `create`, a `-d`
    /// container handed to its monitor): nothing is undone. The init, if this process
    /// launched it, is returned for whoever still waits for it.
    pub fn release(mut self) -> Option<Child> {
        self.armed = false;
        self.child.take()
    }

    /// Tears the container down: its init killed and reaped if it still runs, its cgroup and
    /// its record removed. A cgroup that will not go is the error, and the record stays to
    /// name it (a later `delete` retries).
    pub fn remove(mut self) -> Result<()> {
        self.armed = false;
        self.undo()
    }

    fn undo(&mut self) -> Result<()> {
        for step in undo_steps(self.child.is_some(), self.cgroup.is_some()) {
            match (step, &self.child) {
                (Step::Kill, Some(c)) => kill(c),
                (Step::Reap, Some(c)) => reap(c),
                (Step::RemoveCgroup, _) => self.remove_cgroup()?,
                (Step::RemoveRecord, _) => self.store.remove(&self.id).map_err(Error::sibling)?,
                (Step::Kill | Step::Reap, None) => {}
            }
        }
        Ok(())
    }
}

impl Drop for Container {
    /// A launch that failed (an error returned through `?`) leaves nothing behind.
    fn drop(&mut self) {
        if self.armed
            && let Err(e) = self.undo()
        {
            tracing::warn!(
                "undoing the launch of {}: {}",
                self.id,
                crate::error_chain::one_line(&e)
            );
        }
    }
}

/// SIGKILL through the pidfd: exact even after the init was reaped (then ESRCH), where a pid
/// could name a stranger.
fn kill(c: &Child) {
    // SAFETY: pidfd_send_signal reads only its arguments; the pidfd is ours and open, and a
    // null info is the kernel's "as kill(2) would".
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            c.pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
}

/// Waits for the killed init through its pidfd: one already reaped (`wait_exit`, a failed
/// `wait_ready`) is ECHILD, never another child that reused its pid.
fn reap(c: &Child) {
    use std::os::fd::AsFd;
    loop {
        match nix::sys::wait::waitid(Id::PIDFd(c.pidfd.as_fd()), WaitPidFlag::WEXITED) {
            Err(nix::errno::Errno::EINTR) => continue,
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_kills_and_reaps_before_the_cgroup_and_the_record_goes_last() {
        use Step::*;
        assert_eq!(
            undo_steps(true, true),
            [Kill, Reap, RemoveCgroup, RemoveRecord]
        );
        // Reserved, never launched (`spawn` failed: launch removed what it had made).
        assert_eq!(undo_steps(false, false), [RemoveRecord]);
        assert_eq!(undo_steps(true, false), [Kill, Reap, RemoveRecord]);
        // A record `open`ed for delete: no child of ours.
        assert_eq!(undo_steps(false, true), [RemoveCgroup, RemoveRecord]);
    }

    fn scratch_store(tag: &str) -> Store {
        let root =
            std::env::temp_dir().join(format!("minirun-instance-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        Store::new(root)
    }

    #[test]
    fn a_dropped_container_leaves_no_record_a_released_one_keeps_it() {
        let store = scratch_store("guard");
        let c = Container::reserve(&store, "a").unwrap();
        assert!(store.dir("a").is_dir());
        drop(c);
        assert!(
            !store.dir("a").exists(),
            "an unreleased launch left its record"
        );

        let c = Container::reserve(&store, "b").unwrap();
        assert!(c.release().is_none());
        assert!(
            store.dir("b").is_dir(),
            "a released container lost its record"
        );

        let c = Container::reserve(&store, "c").unwrap();
        c.remove().unwrap();
        assert!(!store.dir("c").exists());
        std::fs::remove_dir_all(&store.root).unwrap();
    }

    #[test]
    fn an_unlaunched_container_has_no_child_to_wait_for() {
        let store = scratch_store("nochild");
        let mut c = Container::reserve(&store, "x").unwrap();
        let e = c.wait_ready().unwrap_err();
        assert!(e.to_string().contains("\"x\" has not been launched"), "{e}");
        drop(c);
        std::fs::remove_dir_all(&store.root).unwrap();
    }
}
