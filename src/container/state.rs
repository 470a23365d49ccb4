//! Container records under `--root` (default /run/minirun): one directory per id, holding the
//! OCI state as state.json and, between `create` and `start`, the exec fifo.
//!
//! Status is derived, never stored: created while the fifo exists and the init process lives,
//! running while the recorded pid is alive with the recorded start time (a reused pid is not our
//! container), stopped otherwise.

use super::plan::Plan;
use super::procfs::{is_zombie, start_time};
use crate::error_chain::{Step, step};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub const DEFAULT_ROOT: &str = "/run/minirun";

/// What failed reading or writing a container's record: one line naming the step or the id;
/// the OS's (or serde's) answer is the source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Os(#[from] Step),
    #[error(transparent)]
    Json(#[from] Step<serde_json::Error>),
    #[error("naming a work directory")]
    Random(#[source] Step<nix::Error>),
    /// An id no record may have: the line says why.
    #[error("{0}")]
    BadId(String),
    #[error("container \"{0}\" does not exist")]
    NotFound(String),
    #[error("container \"{id}\" already exists (state in {})", dir.display())]
    Exists { id: String, dir: PathBuf },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `--root`'s default for this caller: DEFAULT_ROOT for root, the caller's own directory for
/// anyone else and for root of an ordinary user's namespace (`rootless::default_root_for`).
pub fn default_root() -> PathBuf {
    super::rootless::default_root_for(
        nix::unistd::geteuid().as_raw(),
        super::rootless::user_ns_root(
            &std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default(),
            std::env::var("USER").ok().as_deref(),
        ),
        std::env::var("XDG_RUNTIME_DIR").ok().as_deref(),
        DEFAULT_ROOT,
    )
}
pub const FIFO: &str = "exec.fifo";
/// Written by `reserve`: "PID START_TIME" of the runtime that claimed the id. Until state.json
/// exists it is the only way to tell a record being created from one whose runtime was killed.
pub const OWNER: &str = "owner";
/// In a quick-form record: keep it after the container exits (`minirun -d` without `--rm`),
/// as Docker keeps a stopped container until `docker rm`.
pub const KEEP: &str = "keep";
/// In a quick-form record: the process its init runs, as OCI `process` JSON. `exec` starts
/// from it as it starts from config.json's for an OCI container (runc's and Docker's rule: an
/// exec'd process gets the container's capabilities, identity, environment and cwd, never
/// more), so the flags the quick form resolved need not be resolved again.
pub const PROCESS: &str = "process.json";
/// Prefixes of the directories `reserve` and `remove` work in, followed by "PID-RANDOM".
const STAGING: &str = ".reserve-";
const TRASH: &str = ".remove-";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub bundle: String,
    pub rootfs: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub created: String,
    /// Field 22 of /proc/PID/stat when the container started: guards against pid reuse.
    #[serde(rename = "startTime")]
    pub start_time: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Stopped => "stopped",
        }
    }
}

/// Container ids become directory names: no separators, no dot names, a sane alphabet.
/// runc's alphabet (`^[\w+\-.]+$`), except that an id may not start with a dot: names starting
/// with one are the state root's own (the `.reserve-`/`.remove-` work directories the sweep
/// deletes, temporary files), so no id can ever be taken for one. Docker, podman and
/// containerd generate ids and names starting with a letter or digit, so none is refused.
pub fn validate_id(id: &str) -> Result<()> {
    if id.starts_with('.') && id != "." && id != ".." {
        return Err(Error::BadId(format!(
            "invalid container id \"{id}\": it may not start with \".\" (the state root's own names do)"
        )));
    }
    if !well_formed(id) {
        return Err(Error::BadId(format!(
            "invalid container id \"{id}\": use letters, digits and _ - . + only"
        )));
    }
    if id == super::seccomp_step::CACHE_DIR {
        return Err(Error::BadId(format!(
            "container id \"{id}\" is reserved: the state root keeps its seccomp cache there"
        )));
    }
    Ok(())
}

fn well_formed(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'))
}

/// `validate_id` as a yes/no, for the sweep: it asks this of every entry of the root (the
/// seccomp cache among them) on every launch, where a refusal's formatted line is waste (an
/// anyhow error, as it once was, also captured a backtrace: 1.2 ms, 15 M instructions).
fn is_container_id(id: &str) -> bool {
    well_formed(id) && id != super::seccomp_step::CACHE_DIR
}

/// The state record of a quick-form container (no bundle) whose init is `pid`.
pub fn quick_record(id: &str, plan: &Plan, pid: i32) -> State {
    State {
        oci_version: crate::spec::OCI_VERSION.into(),
        id: id.to_string(),
        pid,
        bundle: String::new(),
        rootfs: plan.rootfs.to_string_lossy().into_owned(),
        annotations: Default::default(),
        created: rfc3339_now(),
        start_time: start_time(pid).unwrap_or(0),
    }
}

/// Seconds since the epoch as RFC 3339 UTC (days-from-civil, Howard Hinnant's algorithm).
pub fn rfc3339_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_nanos()
    )
}

#[derive(Debug, Clone)]
pub struct Store {
    pub root: PathBuf,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Claims `id` by creating its directory. An existing record whose container is gone (a
    /// runtime killed mid-run) is cleaned and the id reused; a live one is an error.
    pub fn reserve(&self, id: &str) -> Result<PathBuf> {
        validate_id(id)?;
        // 0700, as runc: records hold config.json, whose environment may carry secrets. Like
        // runc, only what is created here gets the mode; an existing root is left as it is.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(step(|| {
                format!("creating the state root {}", self.root.display())
            }))?;
        self.sweep_orphans();
        let dir = self.dir(id);
        // The record appears with its owner file already inside (a directory prepared aside,
        // then renamed into place), so there is no moment at which a killed runtime could leave
        // a record nobody can tell from one being created. rename(2) refuses a non-empty
        // target: two runtimes reserving one id cannot both succeed.
        let me = std::process::id() as i32;
        let staging = self.root.join(format!("{STAGING}{me}-{}", rand_suffix()?));
        private_dir(&staging).map_err(step(|| format!("creating {}", staging.display())))?;
        let owner = format!("{me} {}", start_time(me).unwrap_or(0));
        if let Err(e) = write_private(&staging.join(OWNER), owner.as_bytes()) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(step(|| format!("writing {}", staging.display()))(e).into());
        }
        let claim = || std::fs::rename(&staging, &dir);
        let taken = |e: &std::io::Error| {
            matches!(e.raw_os_error(), Some(libc::ENOTEMPTY) | Some(libc::EEXIST))
        };
        let result = match claim() {
            Ok(()) => Ok(()),
            Err(e) if taken(&e) => {
                let stale = match self.load(id) {
                    Ok(st) => self.status(&st) == Status::Stopped && st.pid > 0,
                    Err(_) => self.orphaned(id),
                };
                if stale {
                    self.remove(id).and_then(|()| {
                        Ok(claim().map_err(step(|| format!("creating {}", dir.display())))?)
                    })
                } else {
                    Err(Error::Exists {
                        id: id.to_string(),
                        dir: dir.clone(),
                    })
                }
            }
            Err(e) => Err(step(|| format!("creating {}", dir.display()))(e).into()),
        };
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        result.map(|()| dir)
    }

    /// A record without state.json whose reserving runtime is gone: it was killed between
    /// `reserve` and `save` (before its container existed, or before it could record it).
    /// A record with no owner file is left alone: it may be one being reserved right now.
    pub fn orphaned(&self, id: &str) -> bool {
        let dir = self.dir(id);
        if dir.join("state.json").exists() {
            return false;
        }
        let Ok(text) = std::fs::read_to_string(dir.join(OWNER)) else {
            // Records appear with their owner file (see reserve): one without it is left from
            // a runtime older than that, or killed mid-removal by one: garbage if empty.
            return std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_none());
        };
        let mut f = text.split_whitespace().map(|x| x.parse::<u64>().ok());
        match (f.next().flatten(), f.next().flatten()) {
            (Some(pid), Some(start)) => {
                let pid = i32::try_from(pid).unwrap_or(0);
                pid <= 0 || start_time(pid) != Some(start) || is_zombie(pid)
            }
            _ => true,
        }
    }

    /// A quick-form record (no bundle) whose container is gone: its runtime was killed before
    /// it could clean up. An OCI record is kept: a stopped container waits for `delete`.
    fn quick_and_gone(&self, id: &str) -> bool {
        self.load(id)
            .is_ok_and(|st| st.bundle.is_empty() && self.status(&st) == Status::Stopped)
            && !self.dir(id).join(KEEP).exists()
    }

    /// Removes every orphaned reservation and every finished quick-form record under the root.
    pub fn sweep_orphans(&self) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        for e in entries.flatten() {
            let Some(name) = e.file_name().to_str().map(String::from) else {
                continue;
            };
            // The work directory of a runtime killed while reserving or removing.
            if let Some(rest) = name
                .strip_prefix(STAGING)
                .or_else(|| name.strip_prefix(TRASH))
            {
                let pid = rest.split('-').next().and_then(|p| p.parse::<i32>().ok());
                let alive = pid.is_some_and(|p| p > 0 && start_time(p).is_some());
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age.as_secs() > 60);
                if !alive || old {
                    let _ = std::fs::remove_dir_all(e.path());
                }
                continue;
            }
            if is_container_id(&name) && (self.orphaned(&name) || self.quick_and_gone(&name)) {
                let _ = self.remove(&name);
            }
        }
    }

    /// Writes state.json atomically (temp file + rename), so readers never see half a record.
    pub fn save(&self, st: &State) -> Result<()> {
        let dir = self.dir(&st.id);
        let tmp = dir.join("state.json.tmp");
        let json = serde_json::to_vec(st)
            .map_err(step(|| format!("serializing the state of {}", st.id)))?;
        write_private(&tmp, &json).map_err(step(|| format!("writing {}", tmp.display())))?;
        std::fs::rename(&tmp, dir.join("state.json"))
            .map_err(step(|| format!("saving the state of {}", st.id)))?;
        Ok(())
    }

    pub fn load(&self, id: &str) -> Result<State> {
        validate_id(id)?;
        let path = self.dir(id).join("state.json");
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(id.to_string()));
            }
            Err(e) => return Err(step(|| format!("reading {}", path.display()))(e).into()),
        };
        Ok(
            serde_json::from_slice(&text)
                .map_err(step(|| format!("parsing {}", path.display())))?,
        )
    }

    pub fn status(&self, st: &State) -> Status {
        let alive = st.pid > 0 && start_time(st.pid) == Some(st.start_time) && !is_zombie(st.pid);
        if !alive {
            Status::Stopped
        } else if self.dir(&st.id).join(FIFO).exists() {
            Status::Created
        } else {
            Status::Running
        }
    }

    /// Removes a record at once (renamed aside, then deleted), so a runtime killed while
    /// deleting never leaves a half-emptied record under the id.
    pub fn remove(&self, id: &str) -> Result<()> {
        validate_id(id)?;
        let dir = self.dir(id);
        let trash = self
            .root
            .join(format!("{TRASH}{}-{}", std::process::id(), rand_suffix()?));
        match std::fs::rename(&dir, &trash) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(step(|| format!("removing {}", dir.display()))(e).into()),
        }
        match std::fs::remove_dir_all(&trash) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(step(|| format!("removing {}", dir.display()))(e).into()),
        }
    }

    /// Every record, sorted by id; unreadable ones are skipped.
    pub fn list(&self) -> Vec<State> {
        let mut out: Vec<State> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| self.load(e.file_name().to_str()?).ok())
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }
}

/// The OCI `process` a plan runs: what `validate::plan` reads back into the same settings.
/// The environment may carry secrets: it is written 0600, as config.json is.
pub fn process_json(plan: &Plan) -> serde_json::Value {
    let c = &plan.caps;
    let mut user = serde_json::json!({
        "uid": plan.identity.uid,
        "gid": plan.identity.gid,
        "additionalGids": plan.identity.additional_gids,
    });
    if let Some(m) = plan.umask {
        user["umask"] = m.into();
    }
    let mut p = serde_json::json!({
        "terminal": plan.terminal,
        "user": user,
        "args": plan.args,
        "env": plan.env,
        "cwd": plan.cwd,
        "capabilities": c.oci_json(),
        "noNewPrivileges": plan.no_new_privs,
        "rlimits": plan.rlimits.iter().map(|r| serde_json::json!({
            "type": r.name, "soft": r.soft, "hard": r.hard,
        })).collect::<Vec<_>>(),
    });
    if let Some(adj) = plan.oom_score_adj {
        p["oomScoreAdj"] = adj.into();
    }
    p
}

/// Saves the process of a quick-form container's init for `exec` (see `PROCESS`).
pub fn save_process(dir: &Path, plan: &Plan) -> Result<()> {
    let path = dir.join(PROCESS);
    let json = serde_json::to_vec(&process_json(plan))
        .map_err(step(|| format!("serializing {}", path.display())))?;
    Ok(write_private(&path, &json).map_err(step(|| format!("writing {}", path.display())))?)
}

/// The saved process of a quick-form record; `None` when the record has none (an OCI one,
/// whose config.json holds it). An unreadable one is an error, never "no settings": `exec`
/// must not fall back to more privilege than the container has.
pub fn load_process(dir: &Path) -> Result<Option<serde_json::Value>> {
    let path = dir.join(PROCESS);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(step(|| format!("reading {}", path.display()))(e).into()),
    };
    Ok(serde_json::from_slice(&text)
        .map(Some)
        .map_err(step(|| format!("parsing {}", path.display())))?)
}

/// A record's directory: 0700, whatever the umask.
fn private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().mode(0o700).create(path)
}

/// A file of a record (state, owner, config.json): 0600, whatever the umask; replaced whole.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

fn rand_suffix() -> Result<u64> {
    let mut b = [0u8; 8];
    super::leak_guards::random_bytes(&mut b).map_err(Error::Random)?;
    Ok(u64::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in ["abc", "a-b_c.d+1", "0123456789ab"] {
            assert!(validate_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a b",
            "../x",
            ".x",
            ".remove-1-2",
            ".reserve-1-2",
        ] {
            let e = validate_id(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("\"{bad}\"")), "{e}");
        }
    }

    /// The sweep's work directories are named `.reserve-PID-N` and `.remove-PID-N`: no valid
    /// id may take either shape, or the sweep would delete a live container's record.
    #[test]
    fn no_id_looks_like_a_work_directory() {
        for prefix in [STAGING, TRASH] {
            let name = format!("{prefix}1-2");
            assert!(validate_id(&name).is_err(), "{name}");
            assert!(!is_container_id(&name), "{name}");
            assert!(prefix.starts_with('.'));
        }
    }

    #[test]
    fn lifecycle_in_a_temp_root() {
        let root = std::env::temp_dir().join(format!("minirun-state-{}", std::process::id()));
        let store = Store::new(&root);
        let dir = store.reserve("c1").unwrap();
        let e = store.reserve("c1").unwrap_err();
        assert!(matches!(e, Error::Exists { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "container \"c1\" already exists (state in {})",
                dir.display()
            )
        );
        let me = std::process::id() as i32;
        let st = State {
            oci_version: crate::spec::OCI_VERSION.into(),
            id: "c1".into(),
            pid: me,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            annotations: BTreeMap::new(),
            created: rfc3339_now(),
            start_time: start_time(me).unwrap(),
        };
        store.save(&st).unwrap();
        assert_eq!(store.load("c1").unwrap(), st);
        assert_eq!(store.status(&st), Status::Running);
        // A record whose start time does not match is a reused pid: stopped.
        let reused = State {
            start_time: st.start_time + 1,
            ..st.clone()
        };
        assert_eq!(store.status(&reused), Status::Stopped);
        store.save(&reused).unwrap();
        // A stopped record is reclaimed by the next reservation.
        assert!(store.reserve("c1").is_ok());
        let e = store.load("c2").unwrap_err();
        assert!(matches!(e, Error::NotFound(_)), "{e:?}");
        assert_eq!(e.to_string(), "container \"c2\" does not exist");
        // A record that is not JSON: the line names the file, serde says why.
        std::fs::write(dir.join("state.json"), "{").unwrap();
        let e = store.load("c1").unwrap_err();
        assert!(
            crate::error_chain::one_line(&e).starts_with(&format!(
                "parsing {}: EOF",
                dir.join("state.json").display()
            )),
            "{e:?}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn reservation_of_a_killed_runtime_is_reclaimed() {
        let root = std::env::temp_dir().join(format!("minirun-orphan-{}", std::process::id()));
        let store = Store::new(&root);
        // Our own reservation: the owner (this process) lives, so the id stays taken.
        store.reserve("mine").unwrap();
        assert!(!store.orphaned("mine"));
        assert!(store.reserve("mine").is_err());
        // A runtime killed before it wrote state.json: its owner pid is dead.
        std::fs::create_dir_all(store.dir("dead")).unwrap();
        std::fs::write(store.dir("dead").join(OWNER), "999999999 1").unwrap();
        assert!(store.orphaned("dead"));
        // An empty record is what a runtime killed mid-removal leaves: garbage. One with
        // content but no owner is not minirun's to judge: left alone.
        std::fs::create_dir_all(store.dir("empty")).unwrap();
        assert!(store.orphaned("empty"));
        std::fs::create_dir_all(store.dir("fresh")).unwrap();
        std::fs::write(store.dir("fresh").join("x"), "").unwrap();
        assert!(!store.orphaned("fresh"));
        // Work directories of killed runtimes are swept too.
        std::fs::create_dir_all(root.join(".reserve-999999999-1")).unwrap();
        std::fs::create_dir_all(root.join(".remove-999999999-2")).unwrap();
        // The next reservation of any id sweeps the orphan; reserving its id reclaims it.
        std::fs::create_dir_all(store.dir("dead2")).unwrap();
        std::fs::write(store.dir("dead2").join(OWNER), "999999999 1").unwrap();
        store.reserve("dead").unwrap();
        assert!(!store.dir("dead2").exists() && !store.dir("empty").exists());
        assert!(!root.join(".reserve-999999999-1").exists());
        assert!(!root.join(".remove-999999999-2").exists());
        assert!(store.dir("mine").exists() && store.dir("fresh").exists());
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// What `exec` reads back from a quick-form record is the plan its init ran: same sets,
    /// identity, environment, cwd, no_new_privs, limits.
    #[test]
    fn saved_process_reads_back_as_the_same_process() {
        use crate::capability::{CapSet, CapSets};
        use crate::container::validate::{Inputs, plan};
        let sets = |b: &[u8]| {
            b.iter().fold(CapSet::EMPTY, |mut s, &c| {
                s.insert(c);
                s
            })
        };
        let q = crate::spec::QuickForm {
            rootfs: "/r".into(),
            args: vec!["sleep".into(), "9".into()],
            env: vec!["PATH=/bin".into(), "FOO=bar".into()],
            cwd: Some("/tmp".into()),
            hostname: "h".into(),
            no_new_privileges: true,
            identity: crate::container::user::Identity {
                uid: 1000,
                gid: 1000,
                additional_gids: vec![10, 20],
                home: "/home/u".into(),
            },
            caps: CapSets {
                bounding: sets(&[6, 7, 21]),
                effective: sets(&[6, 7]),
                permitted: sets(&[6, 7]),
                inheritable: sets(&[6]),
                ambient: sets(&[6]),
            },
            ..Default::default()
        };
        let mut spec = crate::spec::build(&q).unwrap();
        let mut v = serde_json::to_value(&spec).unwrap();
        v["process"]["rlimits"] =
            serde_json::json!([{"type": "RLIMIT_NOFILE", "soft": 64, "hard": 128}]);
        v["process"]["oomScoreAdj"] = 300.into();
        v["process"]["user"]["umask"] = 0o27.into();
        spec = serde_json::from_value(v).unwrap();
        let first = plan(&spec, &Inputs::lexical(&spec, Path::new("/"), 40)).unwrap();

        let dir = std::env::temp_dir().join(format!("minirun-process-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(load_process(&dir).unwrap().is_none());
        save_process(&dir, &first).unwrap();
        let saved = load_process(&dir).unwrap().unwrap();
        let mut v = serde_json::to_value(&spec).unwrap();
        v["process"] = saved;
        let again: oci_spec::runtime::Spec = serde_json::from_value(v).unwrap();
        let second = plan(&again, &Inputs::lexical(&again, Path::new("/"), 40)).unwrap();
        assert_eq!(second.caps, first.caps);
        assert_eq!(second.identity.uid, 1000);
        assert_eq!(second.identity.additional_gids, vec![10, 20]);
        assert_eq!(second.env, first.env);
        assert_eq!(second.cwd, PathBuf::from("/tmp"));
        assert_eq!(second.args, first.args);
        assert!(second.no_new_privs);
        assert_eq!(second.rlimits, first.rlimits);
        assert_eq!(second.oom_score_adj, Some(300));
        assert_eq!(second.umask, Some(0o27));
        // 0600: the environment may carry secrets.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(PROCESS))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // A damaged file is an error, never "no settings" (which would mean more privilege).
        std::fs::write(dir.join(PROCESS), "{").unwrap();
        assert!(load_process(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn timestamp_shape() {
        let t = rfc3339_now();
        assert_eq!(t.len(), 30, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }
}
