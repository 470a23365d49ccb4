//! The effects: a container's cgroup in every hierarchy, made, filled, limited, frozen,
//! signalled, read and removed.

use std::collections::HashSet;
use std::io::ErrorKind;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Context, IntoStep, Result};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use super::bpf;
use super::devices::Rule;
use super::layout::{Layout, Mode};
use super::placement::{DEFAULT_PARENT, Placement, default_id};
use super::resources::{self, Controller, Version};
use super::stats::{self, Stats};

/// The hierarchy where an absolute cgroupsPath still lands below our own cgroup: the memory
/// hierarchy is delegated to us at our own cgroup on these machines, and nothing above it is
/// ours to create in.
const CONFINED_CONTROLLERS: &[&str] = &["memory"];

/// Where a container's cgroup is, in every hierarchy: what the state record keeps, so that a
/// later `minirun kill/pause/delete` (run from another cgroup) finds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupPaths {
    pub v1: Vec<V1Dir>,
    pub v2: Option<V2Dir>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1Dir {
    pub controllers: Vec<String>,
    pub dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct V2Dir {
    pub mountpoint: PathBuf,
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezerState {
    Thawed,
    Freezing,
    Frozen,
}

#[derive(Debug, Clone)]
pub struct Cgroup {
    paths: CgroupPaths,
    /// The layout it was made in (None: opened from a record).
    mode: Option<Mode>,
}

impl Cgroup {
    /// Make the container's cgroup in every hierarchy of `layout` (the parents too), nothing
    /// written in them yet. Where one fails, those already made are removed.
    pub fn create(layout: &Layout, placement: &Placement, id: &str) -> Result<Cgroup> {
        if let Placement::Systemd { .. } = placement {
            if Path::new("/run/systemd/system").exists() {
                bail!(
                    "the systemd cgroup manager is not supported yet: use --cgroup-manager cgroupfs"
                );
            }
            bail!(
                "the systemd cgroup manager needs systemd, which is not running here (no /run/systemd/system): use --cgroup-manager cgroupfs"
            );
        }
        let mut made = Cgroup {
            paths: CgroupPaths {
                v1: vec![],
                v2: None,
            },
            mode: Some(layout.mode()),
        };
        // The v2 cgroup first (the first v1 one on a pure v1 host) and, in `remove`, last: a
        // launch or removal killed half-way leaves at least that one, which is where `sweep`
        // looks for leftovers.
        let result = (|| -> Result<()> {
            if let Some(h) = &layout.unified {
                let dir = h.dir(&placement.resolve(&h.own, id, false)?);
                mkdir_chain(&dir, false)?;
                made.paths.v2 = Some(V2Dir {
                    mountpoint: h.mountpoint.clone(),
                    dir,
                });
            }
            for h in &layout.v1 {
                let confined = h
                    .controllers
                    .iter()
                    .any(|c| CONFINED_CONTROLLERS.contains(&c.as_str()));
                let dir = h.dir(&placement.resolve(&h.own, id, confined)?);
                mkdir_chain(&dir, h.has("cpuset"))?;
                made.paths.v1.push(V1Dir {
                    controllers: h.controllers.clone(),
                    dir,
                });
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(made),
            Err(e) => {
                if let Err(cleanup) = made.remove() {
                    tracing::warn!(
                        "removing a half-made cgroup: {}",
                        crate::error_chain::one_line(&cleanup)
                    );
                }
                Err(e.into_step(format!("creating the cgroup of container {id}")))
            }
        }
    }

    /// The cgroup a state record names.
    pub fn open(paths: CgroupPaths) -> Cgroup {
        Cgroup { paths, mode: None }
    }

    /// The host's layout when the cgroup was made here (None: opened from a record). The
    /// container's view of /sys/fs/cgroup depends on it, and the child cannot read it again
    /// once in its cgroup namespace.
    pub fn mode(&self) -> Option<Mode> {
        self.mode
    }

    pub fn paths(&self) -> &CgroupPaths {
        &self.paths
    }

    fn v1(&self, controller: &str) -> Option<&Path> {
        self.paths
            .v1
            .iter()
            .find(|d| d.controllers.iter().any(|c| c == controller))
            .map(|d| d.dir.as_path())
    }

    fn v2(&self) -> Option<&Path> {
        self.paths.v2.as_ref().map(|d| d.dir.as_path())
    }

    /// The v2 cgroup opened as clone3's CLONE_INTO_CGROUP wants it (and BPF_PROG_ATTACH).
    pub fn v2_fd(&self) -> Result<Option<OwnedFd>> {
        let Some(dir) = self.v2() else {
            return Ok(None);
        };
        let fd = nix::fcntl::open(
            dir,
            nix::fcntl::OFlag::O_RDONLY
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .with_context(|| format!("opening {}", dir.display()))?;
        Ok(Some(fd))
    }

    /// Its `tasks` file in every v1 hierarchy, opened for the child of a launch to move itself
    /// in (see `V1Tasks`): by the parent, before clone3.
    pub fn open_v1_tasks(&self) -> Result<V1Tasks> {
        let mut files = Vec::with_capacity(self.paths.v1.len());
        for d in &self.paths.v1 {
            let path = d.dir.join("tasks");
            let fd = nix::fcntl::open(
                &path,
                nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .with_context(|| format!("opening {}", path.display()))?;
            files.push((path, fd));
        }
        Ok(V1Tasks(files))
    }

    /// Move `pid` (all its threads) into the cgroup in every hierarchy.
    pub fn add_pid(&self, pid: i32) -> Result<()> {
        for dir in self
            .paths
            .v1
            .iter()
            .map(|d| d.dir.as_path())
            .chain(self.v2())
        {
            write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Apply `r`: each controller on the hierarchy that holds it (v1 first, then v2, where
    /// controllers are enabled along the way down as needed), devices as v1 rules or as an
    /// eBPF program. Anything asked for that this host cannot do is an error naming it.
    pub fn apply(&self, r: &LinuxResources) -> Result<()> {
        let v2_available: Option<HashSet<String>> = match &self.paths.v2 {
            Some(d) => Some(words(&d.mountpoint.join("cgroup.controllers"))?),
            None => None,
        };
        let version_of = |c: Controller| {
            if self.v1(c.v1_name()).is_some() {
                Some(Version::V1)
            } else if v2_available
                .as_ref()
                .is_some_and(|s| s.contains(c.v2_name()))
            {
                Some(Version::V2)
            } else {
                None
            }
        };
        let writes = resources::plan(r, &version_of, self.paths.v2.is_some())?;
        let mut enabled: HashSet<&str> = HashSet::new();
        let mut failed = Vec::new();
        for w in &writes {
            let dir = match (w.version, w.controller) {
                (Version::V1, Some(c)) => self.v1(c.v1_name()),
                _ => self.v2(),
            }
            .expect("plan routes only to hierarchies we have");
            if let (Version::V2, Some(c), Some(v2)) = (w.version, w.controller, &self.paths.v2)
                && enabled.insert(c.v2_name())
            {
                enable_v2(v2, c.v2_name())?;
            }
            if let Err(e) = write_choice(dir, &w.choices) {
                failed.push((dir, w, e));
            }
        }
        // A value refused may depend on another written after it (memory.limit_in_bytes
        // above the old memsw limit, cfs quota and period): one more pass in the other order.
        for (dir, w, first) in failed {
            write_choice(dir, &w.choices).map_err(|_| first)?;
        }
        if let Some(rules) = r.devices() {
            let rules: Vec<Rule> = rules.iter().map(Rule::from_oci).collect::<Result<_>>()?;
            self.apply_devices(&rules)?;
        }
        Ok(())
    }

    fn apply_devices(&self, rules: &[Rule]) -> Result<()> {
        if let Some(dir) = self.v1("devices") {
            // Each write(2) is one rule to the kernel: one open per file, not one per rule
            // (Docker's defaults are a dozen).
            let mut files: Vec<(&str, std::fs::File)> = Vec::with_capacity(2);
            for rule in rules {
                let name = rule.v1_file();
                let path = dir.join(name);
                let at = match files.iter().position(|(n, _)| *n == name) {
                    Some(i) => i,
                    None => {
                        let f = std::fs::OpenOptions::new()
                            .write(true)
                            .open(&path)
                            .with_context(|| format!("opening {}", path.display()))?;
                        files.push((name, f));
                        files.len() - 1
                    }
                };
                let line = rule.v1_line();
                std::io::Write::write_all(&mut files[at].1, line.as_bytes())
                    .with_context(|| format!("writing {line:?} to {}", path.display()))?;
            }
            return Ok(());
        }
        let Some(fd) = self.v2_fd()? else {
            bail!(
                "device rules were asked for but this host has neither the v1 devices controller nor cgroup v2"
            );
        };
        let prog = bpf::load(rules)?;
        bpf::attach(&prog, &fd)
    }

    /// Stop every process of the cgroup (and its children), and wait until they are stopped.
    pub fn freeze(&self) -> Result<()> {
        self.set_frozen(true)
    }

    pub fn thaw(&self) -> Result<()> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let want = if frozen {
            FreezerState::Frozen
        } else {
            FreezerState::Thawed
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            // v2's freezer where there is one: unlike v1's, it lets SIGKILL through, so a
            // paused container can still be killed (`kill --all`, `delete --force`).
            if let Some(dir) = self.v2() {
                write(&dir.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
            } else if let Some(dir) = self.v1("freezer") {
                write(
                    &dir.join("freezer.state"),
                    if frozen { "FROZEN" } else { "THAWED" },
                )?;
            } else {
                bail!("no freezer: neither the v1 freezer controller nor cgroup v2");
            }
            // Freezing takes as long as the tasks take to reach a safe point; v1 may need
            // the state written again (runc does the same).
            for _ in 0..100 {
                if self.state()? == want {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_micros(100));
            }
            if Instant::now() > deadline {
                bail!("the cgroup did not reach {want:?} within 5 s");
            }
        }
    }

    pub fn state(&self) -> Result<FreezerState> {
        if let Some(dir) = self.v1("freezer").filter(|_| self.v2().is_none()) {
            let path = dir.join("freezer.state");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return match text.trim() {
                "THAWED" => Ok(FreezerState::Thawed),
                "FREEZING" => Ok(FreezerState::Freezing),
                "FROZEN" => Ok(FreezerState::Frozen),
                other => bail!("{}: unexpected {other:?}", path.display()),
            };
        }
        let Some(dir) = self.v2() else {
            bail!("no freezer: neither the v1 freezer controller nor cgroup v2")
        };
        let events = stats::keyed(&read(&dir.join("cgroup.events"))?);
        let asked = read(&dir.join("cgroup.freeze"))?.trim() == "1";
        Ok(match (asked, events.get("frozen") == Some(&1)) {
            (_, true) => FreezerState::Frozen,
            (true, false) => FreezerState::Freezing,
            (false, false) => FreezerState::Thawed,
        })
    }

    /// Whether a process is left in the cgroup or its descendants. v2 keeps the answer in
    /// `cgroup.events` (one read, no walk of the directories); v1 has only the walk.
    pub fn populated(&self) -> Result<bool> {
        if let Some(dir) = self.v2() {
            let events = stats::keyed(&read(&dir.join("cgroup.events"))?);
            return Ok(events.get("populated").is_some_and(|n| *n != 0));
        }
        Ok(!self.pids()?.is_empty())
    }

    /// Every process in the cgroup and its descendants.
    pub fn pids(&self) -> Result<Vec<i32>> {
        let dir = self
            .v2()
            .or_else(|| self.v1("pids"))
            .or_else(|| self.v1("freezer"))
            .or_else(|| self.paths.v1.first().map(|d| d.dir.as_path()));
        let Some(dir) = dir else { return Ok(vec![]) };
        let mut pids = Vec::new();
        walk(dir, &mut |d| {
            for line in read(&d.join("cgroup.procs"))?.lines() {
                pids.push(
                    line.trim()
                        .parse()
                        .with_context(|| format!("{}: pid {line:?}", d.display()))?,
                );
            }
            Ok(())
        })?;
        Ok(pids)
    }

    /// Send `signal` to every process in the cgroup. SIGKILL on v2 is cgroup.kill (no process
    /// can escape by forking); otherwise the cgroup is frozen while the signals go out, so
    /// that no new process appears between reading the list and signalling it.
    pub fn kill_all(&self, signal: Signal) -> Result<()> {
        if signal == Signal::SIGKILL
            && let Some(dir) = self.v2()
        {
            let kill_file = dir.join("cgroup.kill");
            match write_raw(&kill_file, "1") {
                Ok(()) => return Ok(()),
                // Before Linux 5.14: the freezer way below.
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("writing 1 to {}", kill_file.display()));
                }
            }
        }
        let frozen = self.freeze().is_ok();
        let result = self.pids().and_then(|pids| {
            for pid in pids {
                match kill(Pid::from_raw(pid), signal) {
                    Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                    Err(e) => bail!("sending {signal} to {pid}: {e}"),
                }
            }
            Ok(())
        });
        // The signals may already have done their work: the last process gone, whoever owns
        // the cgroup (a `-d` container's monitor) removes it while the thaw still checks.
        if frozen
            && let Err(e) = self.thaw()
            && !gone(&e)
        {
            return Err(e);
        }
        result
    }

    pub fn stats(&self) -> Result<Stats> {
        stats::read_stats(&stats::Sources {
            v1_memory: self.v1("memory"),
            v1_pids: self.v1("pids"),
            v1_cpuacct: self.v1("cpuacct"),
            v1_cpu: self.v1("cpu"),
            v1_blkio: self.v1("blkio"),
            v2: self.v2(),
        })
    }

    /// How many times the OOM killer killed a process of this cgroup (0 without a memory
    /// cgroup to count in).
    pub fn oom_kill_count(&self) -> Result<u64> {
        let (dir, file) = match (self.v1("memory"), self.v2()) {
            (Some(d), _) => (d, "memory.oom_control"),
            (None, Some(d)) => (d, "memory.events"),
            (None, None) => return Ok(0),
        };
        match std::fs::read_to_string(dir.join(file)) {
            Ok(text) => Ok(stats::keyed(&text)
                .get("oom_kill")
                .copied()
                .unwrap_or_default()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e).with_context(|| format!("reading {}", dir.join(file).display())),
        }
    }

    /// The memory limit in bytes (None: unlimited, or no memory cgroup).
    pub fn memory_limit(&self) -> Option<u64> {
        let text = match (self.v1("memory"), self.v2()) {
            (Some(d), _) => read(&d.join("memory.limit_in_bytes")).ok()?,
            (None, Some(d)) => read(&d.join("memory.max")).ok()?,
            (None, None) => return None,
        };
        // v1 spells "unlimited" as the largest page-aligned value.
        text.trim().parse().ok().filter(|b| *b < 1 << 62)
    }

    /// Remove the cgroup (sub-cgroups first) in every hierarchy, in the reverse order of
    /// `create`, then the shared `minirun` parent of a cgroup made before issue 25 if it is
    /// left empty. A cgroup still busy after a short wait (its last process exiting) is an
    /// error naming it.
    pub fn remove(&self) -> Result<()> {
        let mut first_error = None;
        let v1 = self.paths.v1.iter().rev().map(|d| d.dir.as_path());
        for dir in v1.chain(self.v2()) {
            if let Err(e) = remove_tree(dir) {
                first_error.get_or_insert(e);
                continue;
            }
            if let Some(parent) = dir
                .parent()
                .filter(|p| p.file_name().is_some_and(|n| n == DEFAULT_PARENT))
            {
                // Another container's cgroup may still be in it: that is not ours to wait for.
                let _ = std::fs::remove_dir(parent);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Remove the default-placed cgroups (`<own>/minirun.<id>`) of containers `is_live` does not
/// know: what a runtime killed before `delete` left. A process still in one (an init whose
/// runtime was killed before it could record it) is killed first: with no record, nothing
/// else could ever find it. Returns the ids removed.
///
/// Only the hierarchy `Cgroup::create` makes first and `remove` removes last is listed (one
/// directory read per launch, not one per hierarchy); a cgroup made before issue 25, in the
/// shared `minirun/` parent, is looked for in every hierarchy when that parent is there.
pub fn sweep(layout: &Layout, is_live: &dyn Fn(&str) -> bool) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let Some(probe) = layout.unified.as_ref().or(layout.v1.first()) else {
        return Ok(removed);
    };
    let hierarchies = || layout.v1.iter().chain(layout.unified.as_ref());
    let own = probe.dir(&probe.own);
    let entries = match std::fs::read_dir(&own) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(e).with_context(|| format!("reading {}", own.display())),
    };
    let mut old_parent = false;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", own.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        old_parent |= name == DEFAULT_PARENT;
        let Some(id) = default_id(name) else { continue };
        if is_live(id) {
            continue;
        }
        let mut left = false;
        for h in hierarchies() {
            let dir = h.dir(&h.own.join(name));
            kill_tree(&dir);
            if let Err(e) = remove_tree(&dir) {
                tracing::warn!(
                    "leaving the cgroup of container {id}: {}",
                    crate::error_chain::one_line(&e)
                );
                left = true;
            }
        }
        if !left {
            removed.push(id.to_string());
        }
    }
    if old_parent {
        sweep_old_parent(layout, is_live, &mut removed)?;
    }
    Ok(removed)
}

/// `sweep` for the cgroups of a runtime before issue 25: `<own>/minirun/<id>`.
fn sweep_old_parent(
    layout: &Layout,
    is_live: &dyn Fn(&str) -> bool,
    removed: &mut Vec<String>,
) -> Result<()> {
    for h in layout.v1.iter().chain(layout.unified.as_ref()) {
        let parent = h.dir(&h.own.join(DEFAULT_PARENT));
        let entries = match std::fs::read_dir(&parent) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", parent.display())),
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", parent.display()))?;
            let Some(id) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !entry.file_type().is_ok_and(|t| t.is_dir()) || is_live(&id) {
                continue;
            }
            kill_tree(&entry.path());
            match remove_tree(&entry.path()) {
                Ok(()) if !removed.contains(&id) => removed.push(id),
                Ok(()) => {}
                Err(e) => tracing::warn!(
                    "leaving the cgroup of container {id}: {}",
                    crate::error_chain::one_line(&e)
                ),
            }
        }
        let _ = std::fs::remove_dir(&parent);
    }
    Ok(())
}

/// SIGKILL to every process in `dir` and below (best effort: the sweep's last resort).
fn kill_tree(dir: &Path) {
    let _ = walk(dir, &mut |d| {
        for pid in read(&d.join("cgroup.procs"))?.lines() {
            if let Ok(pid) = pid.trim().parse() {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        Ok(())
    });
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn words(path: &Path) -> Result<HashSet<String>> {
    Ok(read(path)?.split_whitespace().map(str::to_string).collect())
}

/// A container's v1 `tasks` files, opened by the runtime (`Cgroup::open_v1_tasks`) and
/// inherited by the process it clones, which moves itself in with `join_self`: writing "0"
/// there moves the calling thread alone, which the kernel does without the global lock whose
/// writer side waits for an RCU grace period (`cgroups::joins` says why). Close-on-exec, and
/// consumed by `join_self`: the workload never holds one.
#[derive(Debug, Default)]
pub struct V1Tasks(Vec<(PathBuf, OwnedFd)>);

impl V1Tasks {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Moves the calling thread into every v1 cgroup, then closes the files. Only for a
    /// single-threaded process: the other threads of a caller would stay behind.
    pub fn join_self(self) -> Result<()> {
        for (path, fd) in self.0 {
            match nix::unistd::write(&fd, b"0") {
                Ok(1) => {}
                Ok(n) => bail!("writing \"0\" to {}: {n} bytes written", path.display()),
                Err(e) => {
                    return Err(std::io::Error::from(e))
                        .with_context(|| format!("writing \"0\" to {}", path.display()));
                }
            }
        }
        Ok(())
    }
}

/// One write(2) of `value`, as cgroupfs wants it.
fn write(path: &Path, value: &str) -> Result<()> {
    write_raw(path, value)
        .map_err(|e| e.into_step(format!("writing {value:?} to {}", path.display())))
}

fn write_raw(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .write_all(value.as_bytes())
}

/// The first of `choices` whose file exists gets its value.
fn write_choice(dir: &Path, choices: &[(String, String)]) -> Result<()> {
    for (file, value) in choices {
        match write_raw(&dir.join(file), value) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(
                    e.into_step(format!("writing {value:?} to {}", dir.join(file).display()))
                );
            }
        }
    }
    let names: Vec<&str> = choices.iter().map(|(f, _)| f.as_str()).collect();
    bail!(
        "{} has no {} file: is its controller enabled?",
        dir.display(),
        names.join(" or ")
    )
}

/// `+controller` into cgroup.subtree_control from the hierarchy's root down to the leaf's
/// parent, where it is not there yet.
fn enable_v2(v2: &V2Dir, controller: &str) -> Result<()> {
    if words(&v2.dir.join("cgroup.controllers"))?.contains(controller) {
        return Ok(());
    }
    let rel = v2.dir.strip_prefix(&v2.mountpoint).unwrap_or(Path::new(""));
    let mut dir = v2.mountpoint.clone();
    for part in rel.iter() {
        let control = dir.join("cgroup.subtree_control");
        if !words(&control)?.contains(controller) {
            write(&control, &format!("+{controller}"))
                .with_context(|| format!("enabling the {controller} controller"))?;
        }
        dir.push(part);
    }
    Ok(())
}

/// mkdir -p, where each directory made in the cpuset hierarchy gets its parent's cpus and
/// mems (v1 starts them empty, and a task cannot join an empty cpuset). A parent removed by
/// a concurrent `remove` between two mkdirs is made again.
fn mkdir_chain(dir: &Path, cpuset: bool) -> Result<()> {
    // The parent usually exists already: one mkdir, no walk up.
    match std::fs::create_dir(dir) {
        Ok(()) if cpuset => return inherit_cpuset(dir),
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
    }
    for _ in 0..20 {
        let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
        let mut vanished = false;
        for d in missing.iter().rev() {
            match std::fs::create_dir(d) {
                Ok(()) => {
                    // A concurrent `remove` may take an empty parent between its mkdir and
                    // the cpuset writes (ENOENT, or ENODEV from a dying cgroup): made again.
                    if cpuset && let Err(e) = inherit_cpuset(d) {
                        if !gone(&e) {
                            return Err(e);
                        }
                        vanished = true;
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    vanished = true;
                    break;
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", d.display())),
            }
        }
        if !vanished {
            return Ok(());
        }
    }
    bail!("creating {}: its parent kept disappearing", dir.display())
}

/// Whether `e` says a cgroup went away under us (removed: ENOENT; being removed: ENODEV).
fn gone(e: &super::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = next {
        if c.downcast_ref::<std::io::Error>()
            .and_then(|io| io.raw_os_error())
            .is_some_and(|n| n == libc::ENOENT || n == libc::ENODEV)
        {
            return true;
        }
        next = c.source();
    }
    false
}

/// A parent made by a concurrent launch may not have its own cpus and mems yet: it gets them
/// first, from its parent, so no cgroup here is ever given an empty set.
fn inherit_cpuset(dir: &Path) -> Result<()> {
    let parent = dir
        .parent()
        .ok_or_else(|| refused!("a cgroup has a parent"))?;
    for file in ["cpuset.cpus", "cpuset.mems"] {
        if read(&dir.join(file))?.trim().is_empty() {
            let mut from = read(&parent.join(file))?;
            if from.trim().is_empty() {
                inherit_cpuset(parent)?;
                from = read(&parent.join(file))?;
            }
            write(&dir.join(file), from.trim())?;
        }
    }
    Ok(())
}

/// Visit `dir` and every cgroup below it, parents first.
fn walk(dir: &Path, visit: &mut dyn FnMut(&Path) -> Result<()>) -> Result<()> {
    visit(dir)?;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let file_type = entry
            .file_type()
            .with_context(|| format!("reading {}", entry.path().display()))?;
        if file_type.is_dir() {
            walk(&entry.path(), visit)?;
        }
    }
    Ok(())
}

/// rmdir `dir` after its sub-cgroups; EBUSY (a process still leaving) is retried for 100 ms.
fn remove_tree(dir: &Path) -> Result<()> {
    // A container's cgroup usually has no sub-cgroup and no process left: one rmdir, without
    // listing the directory's dozens of files (EBUSY says there is something below).
    match std::fs::remove_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
        Err(e) => return Err(e).with_context(|| format!("removing cgroup {}", dir.display())),
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let file_type = entry
            .file_type()
            .with_context(|| format!("reading {}", entry.path().display()))?;
        if file_type.is_dir() {
            remove_tree(&entry.path())?;
        }
    }
    let deadline = Instant::now() + Duration::from_millis(100);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(e).with_context(|| format!("removing cgroup {}", dir.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::FakeDir;
    use super::*;

    fn resources(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn content(dir: &Path, file: &str) -> String {
        std::fs::read_to_string(dir.join(file)).unwrap()
    }

    /// The child moves itself: "0" to each v1 `tasks` file (never a pid to `cgroup.procs`,
    /// which waits for an RCU grace period), and a refused write names the file.
    #[test]
    fn the_child_joins_by_writing_0_to_each_v1_tasks_file() {
        let fake = FakeDir::new();
        let pids = fake.files("pids/c", &["tasks", "cgroup.procs"]);
        let mem = fake.files("memory/c", &["tasks", "cgroup.procs"]);
        let v1 = |dirs: &[&Path]| {
            Cgroup::open(CgroupPaths {
                v1: dirs
                    .iter()
                    .map(|d| V1Dir {
                        controllers: vec![d.parent().unwrap().display().to_string()],
                        dir: d.to_path_buf(),
                    })
                    .collect(),
                v2: None,
            })
        };
        let tasks = v1(&[&pids, &mem]).open_v1_tasks().unwrap();
        assert_eq!(tasks.len(), 2);
        tasks.join_self().unwrap();
        for d in [&pids, &mem] {
            assert_eq!(content(d, "tasks"), "0");
            assert_eq!(content(d, "cgroup.procs"), "");
        }
        // The kernel's refusal (EINVAL for a real-time task, ENOSPC for an empty cpuset)
        // stands in as /dev/full's ENOSPC.
        let full = fake.path().join("cpuset/c");
        std::fs::create_dir_all(&full).unwrap();
        std::os::unix::fs::symlink("/dev/full", full.join("tasks")).unwrap();
        let e = v1(&[&pids, &full])
            .open_v1_tasks()
            .unwrap()
            .join_self()
            .unwrap_err();
        assert_eq!(
            crate::error_chain::one_line(&e),
            format!(
                "writing \"0\" to {}: No space left on device (os error 28)",
                full.join("tasks").display()
            )
        );
        let e = v1(&[&fake.path().join("gone")])
            .open_v1_tasks()
            .unwrap_err();
        assert!(e.to_string().contains("gone/tasks"), "{e:#}");
        assert!(V1Tasks::default().join_self().is_ok());
    }

    #[test]
    fn v1_writes_land_in_each_controllers_hierarchy() {
        let fake = FakeDir::new();
        let mem = fake.files(
            "memory/c",
            &[
                "cgroup.procs",
                "memory.limit_in_bytes",
                "memory.memsw.limit_in_bytes",
            ],
        );
        let pids = fake.files("pids/c", &["cgroup.procs", "pids.max"]);
        let cpu = fake.files(
            "cpu,cpuacct/c",
            &[
                "cgroup.procs",
                "cpu.shares",
                "cpu.cfs_quota_us",
                "cpu.cfs_period_us",
            ],
        );
        let blkio = fake.files("blkio/c", &["cgroup.procs", "blkio.bfq.weight"]);
        let devices = fake.files(
            "devices/c",
            &["cgroup.procs", "devices.allow", "devices.deny"],
        );
        let dir = |controllers: &[&str], dir: &Path| V1Dir {
            controllers: controllers.iter().map(|c| c.to_string()).collect(),
            dir: dir.to_path_buf(),
        };
        let cg = Cgroup::open(CgroupPaths {
            v1: vec![
                dir(&["memory"], &mem),
                dir(&["pids"], &pids),
                dir(&["cpu", "cpuacct"], &cpu),
                dir(&["blkio"], &blkio),
                dir(&["devices"], &devices),
            ],
            v2: None,
        });
        cg.apply(&resources(
            r#"{"memory": {"limit": 67108864, "swap": 134217728}, "pids": {"limit": 5},
                "cpu": {"shares": 512, "quota": 50000, "period": 100000}, "blockIO": {"weight": 300},
                "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]}"#,
        ))
        .unwrap();
        assert_eq!(content(&mem, "memory.limit_in_bytes"), "67108864");
        assert_eq!(content(&mem, "memory.memsw.limit_in_bytes"), "134217728");
        assert_eq!(content(&pids, "pids.max"), "5");
        assert_eq!(content(&cpu, "cpu.shares"), "512");
        assert_eq!(content(&cpu, "cpu.cfs_quota_us"), "50000");
        assert_eq!(
            content(&blkio, "blkio.bfq.weight"),
            "300",
            "no blkio.weight (CFQ): the BFQ file"
        );
        // A regular file keeps only the last write; the kernel's keeps a list.
        assert_eq!(content(&devices, "devices.deny"), "a");
        assert_eq!(content(&devices, "devices.allow"), "c 1:3 rw");
        cg.add_pid(42).unwrap();
        assert_eq!(content(&pids, "cgroup.procs"), "42");

        let err = cg
            .apply(&resources(
                r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]}"#,
            ))
            .unwrap_err();
        assert!(err.to_string().contains("no hugetlb controller"), "{err}");
    }

    #[test]
    fn v2_writes_enable_controllers_down_the_tree() {
        let fake = FakeDir::new();
        let root = fake.files("", &["cgroup.controllers", "cgroup.subtree_control"]);
        std::fs::write(
            root.join("cgroup.controllers"),
            "cpu io memory pids hugetlb\n",
        )
        .unwrap();
        let mid = fake.files("minirun", &["cgroup.controllers", "cgroup.subtree_control"]);
        let leaf = fake.files(
            "minirun/c",
            &[
                "cgroup.controllers",
                "cgroup.procs",
                "memory.max",
                "memory.swap.max",
                "pids.max",
                "cpu.weight",
                "cpu.max",
                "io.weight",
            ],
        );
        let cg = Cgroup::open(CgroupPaths {
            v1: vec![],
            v2: Some(V2Dir {
                mountpoint: root.clone(),
                dir: leaf.clone(),
            }),
        });
        cg.apply(&resources(
            r#"{"memory": {"limit": 67108864, "swap": 134217728}, "pids": {"limit": 5},
                "cpu": {"shares": 1024, "quota": 50000}, "blockIO": {"weight": 1000}}"#,
        ))
        .unwrap();
        assert_eq!(content(&leaf, "memory.max"), "67108864");
        assert_eq!(content(&leaf, "memory.swap.max"), "67108864");
        assert_eq!(content(&leaf, "pids.max"), "5");
        assert_eq!(content(&leaf, "cpu.weight"), "100");
        assert_eq!(content(&leaf, "cpu.max"), "50000 100000");
        assert_eq!(
            content(&leaf, "io.weight"),
            "10000",
            "no io.bfq.weight: io.weight rescaled"
        );
        // Each enabled at the root and in the parent (a plain file keeps the last one).
        assert!(content(&root, "cgroup.subtree_control").starts_with('+'));
        assert!(content(&mid, "cgroup.subtree_control").starts_with('+'));
        assert_eq!(cg.pids().unwrap(), Vec::<i32>::new());

        let err = cg
            .apply(&resources(r#"{"network": {"classID": 7}}"#))
            .unwrap_err();
        assert!(err.to_string().contains("no net_cls controller"), "{err}");
    }
}
