//! The seccomp step of a launch: which filter the container gets, compiled in the parent
//! before clone3 (the Plan carries ready BPF; the child never runs libseccomp), installed by the
//! child at its place in `init`/`exec_init`, and the notify listener handed to
//! `linux.seccomp.listenerPath` as the OCI spec says.

use super::error::{Context, Error, IntoStep, Result};
use super::plan::Plan;
use super::protocol::{Channel, Message};
use crate::capability::CapSet;
use crate::seccomp::{self, Cache, Filter, Origin};
use crate::step;
use crate::trace_caps::seccomp_verdict::InForce;
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, Spec};
use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use super::plan::{Listener, Prepared};

/// What the quick form's `--security-opt seccomp=…` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Docker's default profile for the container's bounding set.
    Default,
    Unconfined,
    /// A Docker-format profile file.
    File(PathBuf),
}

/// The `seccomp=` values among `--security-opt` values, as docker reads them (the last wins).
pub fn choice_from(opts: &[String]) -> Choice {
    let mut c = Choice::Default;
    for o in opts {
        let Some(v) = o
            .strip_prefix("seccomp=")
            .or_else(|| o.strip_prefix("seccomp:"))
        else {
            continue;
        };
        c = match v {
            "unconfined" => Choice::Unconfined,
            "builtin" | "" => Choice::Default,
            path => Choice::File(path.into()),
        };
    }
    c
}

/// A profile file that could not be read or parsed: the line names the file.
#[derive(Debug, thiserror::Error)]
#[error("seccomp profile {}", .path.display())]
pub struct ProfileFileError {
    pub path: PathBuf,
    #[source]
    pub source: ProfileFileCause,
}

/// Why the profile file failed: the OS's answer to reading it, or the parser's.
#[derive(Debug, thiserror::Error)]
pub enum ProfileFileCause {
    #[error(transparent)]
    Read(std::io::Error),
    #[error(transparent)]
    Parse(seccomp::Error),
}

impl Choice {
    /// The Docker-format profile chosen, with its conditions (None: unconfined).
    pub fn profile(&self) -> Result<Option<seccomp::Profile>, ProfileFileError> {
        match self {
            Choice::Unconfined => Ok(None),
            Choice::Default => Ok(Some(seccomp::Profile::docker_default())),
            Choice::File(path) => {
                let failed = |source| ProfileFileError {
                    path: path.clone(),
                    source,
                };
                let text =
                    std::fs::read_to_string(path).map_err(|e| failed(ProfileFileCause::Read(e)))?;
                seccomp::Profile::from_json(&text)
                    .map_err(|e| failed(ProfileFileCause::Parse(e)))
                    .map(Some)
            }
        }
    }

    /// The profile a quick-form container with bounding set `caps` runs under, as the
    /// capability tracer names it in a refusal (None: no filter, as `for_quick_form` decides).
    pub fn in_force(&self, privileged: bool, caps: CapSet) -> Result<Option<InForce>> {
        let Some(profile) = self
            .profile()
            .map_err(Error::sibling)?
            .filter(|_| !privileged)
        else {
            return Ok(None);
        };
        let host = seccomp::Host {
            caps,
            kernel: seccomp::running_kernel()?,
        };
        Ok(Some(match self {
            Choice::File(path) => InForce::docker(
                &format!("the profile {}", path.display()),
                &profile,
                host,
                true,
            ),
            _ => InForce::docker("Docker's default profile", &profile, host, false),
        }))
    }
}

/// The profile of a bundle's `linux.seccomp`, as the capability tracer names it in a refusal.
pub fn in_force_of_spec(spec: &Spec) -> Option<InForce> {
    let sc = spec.linux().as_ref()?.seccomp().as_ref()?;
    Some(InForce::oci("config.json's linux.seccomp", sc))
}

/// The cache's directory under the state root (so no container may take this id).
pub const CACHE_DIR: &str = "seccomp";

/// The compiled-filter cache of a state root: `<root>/seccomp`, created 0700 by the cache.
pub fn cache(state_root: &Path) -> Cache {
    Cache::new(state_root.join(CACHE_DIR))
}

/// The quick form's filter: none for `--privileged` or `seccomp=unconfined` (as docker run),
/// else Docker's default or the named profile, resolved for the bounding set `caps`.
pub fn for_quick_form(
    state_root: &Path,
    choice: &Choice,
    privileged: bool,
    caps: CapSet,
) -> Result<Option<Prepared>> {
    if privileged || *choice == Choice::Unconfined {
        step!("seccomp: unconfined");
        return Ok(None);
    }
    let kernel = seccomp::running_kernel()?;
    let started;
    let (filter, origin) = match choice {
        Choice::File(path) => {
            let spec = profile_file(path, caps, kernel)?;
            refuse_notify(&spec, "--security-opt seccomp=FILE")?;
            trace_rules(&format!("profile {}", path.display()), || spec.clone());
            started = Instant::now();
            seccomp::oci_filter(&cache(state_root), &spec)
                .with_context(|| format!("seccomp profile {}", path.display()))?
        }
        _ => {
            trace_rules("Docker's default profile", || {
                seccomp::docker_default(caps, kernel)
            });
            started = Instant::now();
            seccomp::default_filter(&cache(state_root), caps, kernel)
                .context("compiling Docker's default seccomp profile")?
        }
    };
    trace_filter(&filter, origin, started.elapsed());
    Ok(Some(Prepared {
        filter,
        listener: None,
    }))
}

/// A Docker-format profile file resolved for `caps` on `kernel`.
pub fn profile_file(path: &Path, caps: CapSet, kernel: (u32, u32)) -> Result<LinuxSeccomp> {
    let choice = Choice::File(path.to_path_buf());
    let profile = choice
        .profile()
        .map_err(Error::sibling)?
        .ok_or_else(|| refused!("a profile file is never unconfined"))?;
    profile
        .resolve(seccomp::Host { caps, kernel })
        .with_context(|| format!("seccomp profile {}", path.display()))
}

/// A bundle's `linux.seccomp`, compiled (or found in the cache).
pub fn for_spec(state_root: &Path, spec: &Spec) -> Result<Option<Prepared>> {
    let Some(sc) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(None);
    };
    let listener = listener_of(sc)?;
    trace_rules("linux.seccomp", || sc.clone());
    let started = Instant::now();
    let (filter, origin) = seccomp::oci_filter(&cache(state_root), sc).context("linux.seccomp")?;
    trace_filter(&filter, origin, started.elapsed());
    Ok(Some(Prepared { filter, listener }))
}

fn notifies(sc: &LinuxSeccomp) -> bool {
    sc.default_action() == LinuxSeccompAction::ScmpActNotify
        || sc
            .syscalls()
            .iter()
            .flatten()
            .any(|r| r.action() == LinuxSeccompAction::ScmpActNotify)
}

/// runc's rule: a profile that notifies needs somewhere to send the listener, and a
/// listenerPath without a notify rule is a mistake worth naming.
fn listener_of(sc: &LinuxSeccomp) -> Result<Option<Listener>> {
    let path = sc
        .listener_path()
        .clone()
        .filter(|p| !p.as_os_str().is_empty());
    match (notifies(sc), path) {
        (true, None) => bail!("linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath"),
        (false, Some(p)) => bail!(
            "linux.seccomp.listenerPath \"{}\" is set but no rule uses SCMP_ACT_NOTIFY",
            p.display()
        ),
        (false, None) => Ok(None),
        (true, Some(p)) if !p.is_absolute() => bail!(
            "linux.seccomp.listenerPath \"{}\" must be an absolute path",
            p.display()
        ),
        (true, Some(path)) => Ok(Some(Listener {
            path,
            metadata: sc.listener_metadata().clone().unwrap_or_default(),
        })),
    }
}

fn refuse_notify(sc: &LinuxSeccomp, what: &str) -> Result<()> {
    if notifies(sc) {
        bail!("{what}: SCMP_ACT_NOTIFY needs a listener, which only an OCI bundle can name");
    }
    Ok(())
}

/// Counting rules means resolving the profile: only when someone reads the trace.
fn trace_rules(what: &str, profile: impl FnOnce() -> LinuxSeccomp) {
    if crate::trace::enabled() {
        let p = profile();
        let rules: usize = p.syscalls().iter().flatten().map(|r| r.names().len()).sum();
        step!("seccomp: {what}: {rules} syscall rules");
    }
}

fn trace_filter(f: &Filter, origin: Origin, took: std::time::Duration) {
    step!(
        "seccomp: {} BPF instructions, {} in {} µs",
        f.program.len(),
        match origin {
            Origin::Cache => "from the cache",
            Origin::Compiled => "built by libseccomp",
        },
        took.as_micros()
    );
}

/// Where a container without a saved config.json (the quick form) keeps its filter, so that
/// `exec` applies the same one.
const SAVED: &str = "seccomp.bpf";

/// Saves `p`'s filter in the container's state directory: the flags, then the program.
pub fn save(state_dir: &Path, p: &Prepared) -> Result<()> {
    let mut bytes = p.filter.flags.to_ne_bytes().to_vec();
    bytes.extend(p.filter.to_bytes());
    let path = state_dir.join(SAVED);
    std::fs::write(&path, bytes).with_context(|| format!("saving {}", path.display()))
}

/// The filter `save` kept, if any.
pub fn load(state_dir: &Path) -> Result<Option<Prepared>> {
    let path = state_dir.join(SAVED);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let bad = || refused!("{} is damaged", path.display());
    let (flags, program) = bytes.split_at_checked(4).ok_or_else(bad)?;
    let filter = Filter {
        flags: u32::from_ne_bytes(flags.try_into().map_err(|_| bad())?),
        program: Filter::program_from_bytes(program).ok_or_else(bad)?,
    };
    Ok(Some(Prepared {
        filter,
        listener: None,
    }))
}

/// The child's step: installs the plan's filter; a listener fd goes to the parent (over the
/// channel, SCM_RIGHTS) and is closed here, so the workload never holds its own listener.
pub fn install(plan: &Plan, channel: &Channel) -> Result<()> {
    let Some(p) = &plan.seccomp else {
        return Ok(());
    };
    let listener = seccomp::install(&p.filter).context("installing the seccomp filter")?;
    step!(
        "seccomp filter installed ({} instructions, flags {:#x})",
        p.filter.program.len(),
        p.filter.flags
    );
    if let Some(fd) = listener {
        channel
            .send(&Message::SeccompListener, &[fd.as_raw_fd()])
            .context("sending the seccomp listener to the runtime")?;
    }
    Ok(())
}

/// Without no_new_privs the filter is in place before the capability step: a refusal there may
/// be the profile's, and the error says so.
pub fn blame_for_setup(plan: &Plan, e: Error) -> Error {
    blame(plan.seccomp.is_some(), plan.no_new_privs, e)
}

fn blame(filtered: bool, no_new_privs: bool, e: Error) -> Error {
    if filtered && !no_new_privs {
        e.into_step(
            "capabilities and identity, under the seccomp filter (installed before them \
             because noNewPrivileges is false, as runc does: the profile must allow these calls)"
                .into(),
        )
    } else {
        e
    }
}

/// The parent's side: sends `fd` to the listener with the OCI container process state (the
/// spec's `ContainerProcessState`: `fds: ["seccompFd"]`, pid, metadata, state).
pub fn hand_listener(l: &Listener, fd: OwnedFd, state_json: &[u8], pid: i32) -> Result<()> {
    let state: serde_json::Value =
        serde_json::from_slice(state_json).context("the container state")?;
    let msg = serde_json::json!({
        "ociVersion": crate::spec::OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": l.metadata,
        "state": state,
    })
    .to_string();
    let what = || format!("linux.seccomp.listenerPath {}", l.path.display());
    let sock = UnixStream::connect(&l.path).with_context(what)?;
    let fds = [fd.as_raw_fd()];
    nix::sys::socket::sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(msg.as_bytes())],
        &[nix::sys::socket::ControlMessage::ScmRights(&fds)],
        nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .with_context(what)?;
    step!("seccomp listener sent to {}", l.path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile file's error names the file, then the OS's or the parser's answer.
    #[test]
    fn profile_file_errors_name_the_file() {
        let missing = Choice::File("/nonexistent-minirun.json".into());
        assert_eq!(
            crate::error_chain::one_line(&missing.profile().unwrap_err()),
            "seccomp profile /nonexistent-minirun.json: No such file or directory (os error 2)"
        );
        let dir = std::env::temp_dir().join(format!("minirun-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{").unwrap();
        let e = Choice::File(bad.clone()).profile().unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(e.source, ProfileFileCause::Parse(_)), "{e:?}");
        let line = crate::error_chain::one_line(&e);
        let head = format!("seccomp profile {}: ", bad.display());
        assert!(line.starts_with(&head) && line.len() > head.len(), "{line}");
    }

    #[test]
    fn security_opt_values_choose_like_docker() {
        let c = |v: &[&str]| choice_from(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(c(&[]), Choice::Default);
        assert_eq!(c(&["no-new-privileges"]), Choice::Default);
        assert_eq!(c(&["seccomp=unconfined"]), Choice::Unconfined);
        assert_eq!(c(&["seccomp:unconfined"]), Choice::Unconfined);
        assert_eq!(c(&["seccomp=/p.json"]), Choice::File("/p.json".into()));
        assert_eq!(
            c(&["seccomp=unconfined", "seccomp=builtin"]),
            Choice::Default
        );
    }

    fn sc(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn notify_and_listener_path_go_together() {
        let notify = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]"#;
        let e = listener_of(&sc(&format!("{notify}}}"))).unwrap_err();
        assert!(e.to_string().contains("listenerPath"), "{e}");
        let l = listener_of(&sc(&format!(
            r#"{notify},"listenerPath":"/run/a.sock","listenerMetadata":"m"}}"#
        )))
        .unwrap()
        .unwrap();
        assert_eq!(l.path, PathBuf::from("/run/a.sock"));
        assert_eq!(l.metadata, "m");
        let e = listener_of(&sc(&format!(r#"{notify},"listenerPath":"a.sock"}}"#))).unwrap_err();
        assert!(
            e.to_string().contains("\"a.sock\" must be an absolute"),
            "{e}"
        );
        let e = listener_of(&sc(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/a.sock"}"#,
        ))
        .unwrap_err();
        assert!(
            e.to_string().contains("no rule uses SCMP_ACT_NOTIFY"),
            "{e}"
        );
    }

    #[test]
    fn a_saved_filter_loads_back() {
        let dir = std::env::temp_dir().join(format!("minirun-scsave-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(load(&dir).unwrap().is_none());
        let filter = crate::seccomp::compile(&sc(r#"{"defaultAction":"SCMP_ACT_ALLOW",
            "flags":["SECCOMP_FILTER_FLAG_LOG"],
            "syscalls":[{"names":["getcpu"],"action":"SCMP_ACT_ERRNO"}]}"#))
        .unwrap();
        let p = Prepared {
            filter: filter.clone(),
            listener: None,
        };
        save(&dir, &p).unwrap();
        assert_eq!(load(&dir).unwrap().unwrap().filter, filter);
        std::fs::write(dir.join(SAVED), [1, 2, 3]).unwrap();
        assert!(load(&dir).unwrap_err().to_string().contains("damaged"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Without no_new_privs the capability step runs under the filter: its refusal says so,
    /// over the step's own line (which is all it says with no filter, or with no_new_privs).
    #[test]
    fn a_setup_refusal_under_the_filter_blames_it() {
        let refusal = || -> Error {
            crate::capability::Error::Apply {
                step: "capset".into(),
                source: nix::Error::EPERM,
            }
            .into()
        };
        let own = format!("capset: {}", nix::Error::EPERM);
        let line = |filtered, nnp| crate::error_chain::one_line(&blame(filtered, nnp, refusal()));
        assert_eq!(line(false, false), own);
        assert_eq!(line(true, true), own);
        let blamed = line(true, false);
        assert!(
            blamed.starts_with("capabilities and identity, under the seccomp filter")
                && blamed.ends_with(&format!("the profile must allow these calls): {own}")),
            "{blamed}"
        );
    }

    #[test]
    fn a_missing_or_bad_profile_file_is_named() {
        let e = profile_file(Path::new("/nonexistent/p.json"), CapSet::EMPTY, (6, 1)).unwrap_err();
        let line = crate::error_chain::one_line(&e);
        assert!(line.contains("/nonexistent/p.json"), "{line}");
        let dir = std::env::temp_dir().join(format!("minirun-scprof-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(&bad, r#"{"defaultAction":"SCMP_ACT_FROB"}"#).unwrap();
        let e =
            crate::error_chain::one_line(&profile_file(&bad, CapSet::EMPTY, (6, 1)).unwrap_err());
        assert!(e.contains("bad.json") && e.contains("SCMP_ACT_FROB"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
