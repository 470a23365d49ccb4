//! The teaching part of minirun, apart from the launch path that guards the host: `experiment`
//! proves by running containers what each capability gates, `minimize` finds the least set a
//! command needs, `explain` is the capability table, `pscap` pscap's view of processes.
//! Nothing in the runtime imports this tree.
//!
//! Both drive the minirun binary itself as a subprocess (quick form, always `--volatile`), so
//! every trial goes through exactly the launch path a user's container does and the rootfs is
//! never changed. The decisions (verdicts, tables, the minimisation loop) are pure functions in
//! the submodules, tested without root.

pub mod experiment;
pub mod explain;
pub mod kernel_answer;
pub mod minimize;
pub mod probe;
pub mod pscap;
pub mod seccomp_rows;
pub mod userns;
pub mod uses;

use crate::error_chain::{Step, step};
use crate::spec::Network;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What failed in a lab command: one line naming the value or the step; the OS's or a
/// library's error is its source, so the command layer prints `line: source` as before.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request refused, said as one line (a bad value, nothing to test, no capprobe).
    #[error("{0}")]
    Refused(String),
    /// A step on a file or a subprocess, and the OS's answer.
    #[error(transparent)]
    Os(#[from] Step),
    /// A step through nix, and the OS's answer as nix words it.
    #[error(transparent)]
    Nix(#[from] Step<nix::Error>),
    /// A probe container that printed no answer: what it printed instead.
    #[error("{0}")]
    NoAnswer(String),
    /// The worker pool lost a result (a worker panicked).
    #[error("{0}")]
    Worker(&'static str),
    #[error(transparent)]
    Name(#[from] crate::capability::names::NameError),
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::Error),
    #[error(transparent)]
    Profile(#[from] crate::container::seccomp_step::ProfileFileError),
    #[error(transparent)]
    Spec(#[from] crate::spec::BuildError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// One capability's experiment (`experiment on CAP_X`), and what failed in it.
    #[error("{what}")]
    In {
        what: String,
        #[source]
        source: Box<Error>,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `e` as what failed in `what` (made only on failure).
fn within(what: impl FnOnce() -> String) -> impl FnOnce(Error) -> Error {
    move |e| Error::In {
        what: what(),
        source: Box::new(e),
    }
}

/// What `lab experiment` was asked (cli.rs's flags, as plain values).
#[derive(Debug, Clone)]
pub struct ExperimentArgs {
    /// A capability to test (any spelling, comma lists, repeatable); default: all the kernel knows
    pub caps: Vec<String>,
    /// Run the probes as this user (UID[:GID] or NAME[:GROUP] in the rootfs)
    pub user: Option<String>,
    /// One JSON object per capability instead of the table
    pub json: bool,
    /// Seconds one probe container may take before it is killed
    pub timeout: u64,
    /// A root filesystem with capprobe on its PATH (the fixture built by `make fixtures`)
    pub rootfs: PathBuf,
    /// Run each probe as root of a fresh user namespace and say where the kernel checked it
    pub userns: bool,
}

/// What `lab minimize` was asked (cli.rs's flags, as plain values).
#[derive(Debug, Clone)]
pub struct MinimizeArgs {
    /// Starting set: "defaults" (Docker's 14), "all", or a comma list of capabilities
    pub from: String,
    /// UID[:GID] or NAME[:GROUP], resolved in the rootfs
    pub user: Option<String>,
    /// Extra supplementary group (name or number); repeatable
    pub group_add: Vec<String>,
    /// Set an environment variable: KEY=VALUE, or KEY to pass the host's value
    pub env: Vec<String>,
    /// Working directory inside the container (must exist)
    pub workdir: Option<String>,
    /// none: own network namespace with lo up; host: the host's network
    pub network: Network,
    /// Set no_new_privs in every trial
    pub no_new_privileges: bool,
    /// seccomp=unconfined or seccomp=PROFILE.json for every trial (default: Docker's profile
    /// for each trial's set)
    pub security_opt: Vec<String>,
    /// Find the set by trial alone, without first asking the kernel which capabilities it
    /// checked and granted (one traced run; needs Linux 6.14+ and cgroup v2)
    pub trial_only: bool,
    /// Print the result as one JSON object
    pub json: bool,
    /// Seconds one trial may take before it is killed and counted as a failure
    pub timeout: u64,
    /// The root filesystem directory
    pub rootfs: PathBuf,
    /// The command to run and its arguments
    pub command: Vec<String>,
}

/// Checks that ROOTFS is a directory and returns its canonical path, so every subprocess sees
/// the same tree whatever its working directory.
fn rootfs_dir(p: &std::path::Path) -> Result<PathBuf> {
    let c = std::fs::canonicalize(p).map_err(step(|| {
        format!("rootfs \"{}\" does not exist", p.display())
    }))?;
    if !c.is_dir() {
        return Err(Error::Refused(format!(
            "rootfs \"{}\" is not a directory",
            p.display()
        )));
    }
    Ok(c)
}

/// The name clap accepts for a `--network` value, to pass it on.
fn network_name(n: Network) -> String {
    n.name().to_string()
}

/// What one minirun subprocess did.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Exit status; None when killed by a signal (or by us after the timeout).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The first line minirun (or the workload) wrote to stderr, for one-line reports.
    pub fn first_error_line(&self) -> String {
        self.stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string()
    }

    /// "exit 1", "killed by signal", "timed out".
    pub fn status_text(&self) -> String {
        match (self.timed_out, self.code) {
            (true, _) => "timed out".into(),
            (false, Some(c)) => format!("exit {c}"),
            (false, None) => "killed by a signal".into(),
        }
    }
}

/// `minirun --root ROOT ARGS...` with this very binary; stdin is /dev/null, output captured.
/// After `timeout` the subprocess is SIGKILLed: its container dies with it (PDEATHSIG), and its
/// state record is swept by the next minirun run.
pub fn run_minirun(state_root: &Path, args: &[OsString], timeout: Duration) -> Result<Finished> {
    let exe = std::env::current_exe().map_err(step(|| "finding minirun's own binary".into()))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--root").arg(state_root).args(args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(step(|| "starting a minirun subprocess".into()))?;
    // Readers on their own threads, so a chatty workload never blocks on a full pipe.
    let out = child.stdout.take().map(reader);
    let err = child.stderr.take().map(reader);
    let status =
        crate::container::subprocess::wait_until(&mut child, Some(Instant::now() + timeout))
            .map_err(step(|| "waiting for minirun".into()))?;
    let timed_out = status.is_none();
    let join = |h: Option<std::thread::JoinHandle<String>>| {
        h.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    Ok(Finished {
        code: status.and_then(|s| s.code()),
        stdout: join(out),
        stderr: join(err),
        timed_out,
    })
}

fn reader(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Writes to stdout; a reader that went away (`| head`) ends the output quietly.
fn out(text: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes());
    let _ = o.flush();
}

/// Whether progress lines are wanted: only when a person watches stderr.
fn progress_wanted() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// Draws `[#####.....] done/total label` over the previous one on stderr. Not tracing: a
/// terminal's progress bar is the command's display, not a message (and never in a log).
fn progress(done: usize, total: usize, label: &str) {
    const W: usize = 30;
    let filled = (done * W).checked_div(total).unwrap_or(W);
    eprint!(
        "\r\x1b[2K[{}{}] {done}/{total} {label}",
        "#".repeat(filled),
        ".".repeat(W - filled)
    );
    if done == total {
        eprintln!();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_chain::one_line;

    /// The lines a user sees are the ones anyhow's context made before the typed error.
    #[test]
    fn errors_read_as_before() {
        let e = rootfs_dir(Path::new("/nonexistent-minirun-lab")).unwrap_err();
        assert_eq!(
            one_line(&e),
            "rootfs \"/nonexistent-minirun-lab\" does not exist: No such file or directory (os error 2)"
        );
        let e = rootfs_dir(Path::new("/etc/passwd")).unwrap_err();
        assert_eq!(one_line(&e), "rootfs \"/etc/passwd\" is not a directory");
        let e = within(|| "experiment on CAP_CHOWN".into())(
            step(|| "waiting for minirun".into())(std::io::Error::from_raw_os_error(libc::EINTR))
                .into(),
        );
        assert_eq!(
            one_line(&e),
            "experiment on CAP_CHOWN: waiting for minirun: Interrupted system call (os error 4)"
        );
        let e = experiment::selection(&["nonsense".into()], 40).unwrap_err();
        assert_eq!(one_line(&e), "unknown capability \"CAP_NONSENSE\"");
    }
}
