//! `-d, --detach` for the quick form, as `docker run -d`: minirun returns once the workload
//! runs (its execve is done), prints the container id, and the container lives on.
//!
//! A monitor (a fork of this minirun, in a session of its own, as conmon is for podman) starts
//! the container and stays its parent: it reaps it and records its exit status, so a detached
//! container is never left to whichever process inherits orphans. The container's stdout and
//! stderr are a pipe the monitor reads into a capped, rotated file set in its record
//! (`output.log`, docker's json-file without the JSON; see logfile.rs), which `minirun logs
//! ID` prints; stdin is /dev/null, as with `docker run -d`. A file of its own would let the
//! container fill host disk (one fallocate through /proc/self/fd/1 allocated 256 MiB at once).
//! The record stays after the container exits (for `logs` and `ps -a`) until `minirun rm ID`,
//! unless `--rm` was given: then the monitor removes it at exit.
//!
//! With `--trace-caps` the monitor owns the capability tracer for the container's whole life:
//! each check goes to the log as it comes, the summary when the container exits, and the JSON
//! to `--trace-caps-json` then (the caller is long gone: nowhere else would hear it).

use super::Failure;
use super::logfile;
use crate::container::cgroup_launch;
use crate::container::instance::Container;
use crate::container::launch::{self, Handles};
use crate::container::plan::Plan;
use crate::container::procfs;
use crate::container::program::ExecFailure;
use crate::container::protocol::{self, Channel, Message};
use crate::container::state::{self, Store};
use anyhow::{Context, Result, anyhow, bail};
use nix::fcntl::OFlag;
use nix::unistd::ForkResult;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

/// The container's stdout and stderr, in its record.
pub const OUTPUT: &str = "output.log";
/// The workload's exit status as a shell reports it (128+N for signal N), once it has exited.
pub const EXIT_STATUS: &str = "exit-status";

/// Starts the container under a monitor and returns once the workload runs (exit status 0,
/// the id printed), or with the reason it could not start (Docker's exit code kept; the
/// monitor has undone the launch by then). `trace_caps`: `--trace-caps`, with the
/// `--trace-caps-json` file if any.
pub fn run(
    container: Container,
    plan: &Plan,
    remove_at_exit: bool,
    log_opts: logfile::Opts,
    trace_caps: Option<Option<PathBuf>>,
) -> Result<i32, Failure> {
    // The monitor writes it when the container exits, in whatever directory that is.
    let trace_caps = match trace_caps {
        Some(Some(json)) => {
            Some(Some(std::path::absolute(&json).with_context(|| {
                format!("--trace-caps-json \"{}\"", json.display())
            })?))
        }
        other => other,
    };
    let (ours, monitors) = protocol::pair()?;
    // SAFETY: the quick form is single-threaded here (no thread has been started), so the
    // forked monitor may run ordinary Rust code; it ends in process::exit.
    match unsafe { nix::unistd::fork() }.context("forking the container monitor")? {
        ForkResult::Child => {
            drop(ours);
            let keep = Keep {
                remove_at_exit,
                log_opts,
                trace_caps,
            };
            monitor(container, plan, keep, monitors)
        }
        ForkResult::Parent { .. } => {
            drop(monitors);
            // A failed launch the monitor has undone before it reported; dropping ours then
            // removes the record of one whose monitor died unheard (its cgroup is the sweep's).
            started(ours.recv()?.map(|r| r.message))?;
            println!("{}", container.id());
            container.release();
            Ok(0)
        }
    }
}

/// Pure: what the monitor's report (None: it closed its end unheard) says of the launch.
fn started(report: Option<Message>) -> Result<(), Failure> {
    match report {
        Some(Message::Running { .. }) => Ok(()),
        Some(Message::Failed { code, message }) => Err(ExecFailure { code, message }.into()),
        Some(other) => {
            Err(anyhow!("the container monitor sent {} out of turn", other.name()).into())
        }
        None => Err(anyhow!("the container monitor exited before the container started").into()),
    }
}

fn dup2(from: RawFd, to: RawFd) {
    // SAFETY: dup2 onto 0..2 replaces this process's stdio; no Rust object owns those fds.
    unsafe { libc::dup2(from, to) };
}

/// What the monitor does with the container's output, tracer and record.
struct Keep {
    remove_at_exit: bool,
    log_opts: logfile::Opts,
    trace_caps: Option<Option<PathBuf>>,
}

/// The monitor: never returns. Reports on `report` once the workload runs (or, having undone
/// the launch, why it could not), then waits for it, removes its cgroup, records its exit
/// status, and removes the record if asked to.
fn monitor(mut container: Container, plan: &Plan, keep: Keep, report: Channel) -> ! {
    let Keep {
        remove_at_exit,
        log_opts,
        trace_caps,
    } = keep;
    // Out of the caller's session: ^C in the caller's terminal is not for a detached container.
    let _ = nix::unistd::setsid();
    let opened = open_outputs(&container, log_opts);
    let log = std::sync::Arc::new(std::sync::Mutex::new(None::<logfile::Rotating>));
    let mut watch = Watch {
        copier: None,
        caps: None,
    };
    let opened = opened.map_err(Failure::from);
    let started = opened.and_then(|opened| {
        start(
            &mut container,
            plan,
            opened,
            &log,
            remove_at_exit,
            &mut watch,
        )
    });
    let pid = match started {
        Ok(pid) => pid,
        Err(e) => undo_and_report(container, e, report),
    };
    let _ = report.send(&Message::Running { pid }, &[]);
    drop(report);
    let status = match container.child() {
        Ok(child) => launch::wait_exit(child).unwrap_or(-1),
        Err(_) => -1,
    };
    after_exit(container, status, watch, &log, &trace_caps, remove_at_exit)
}

/// The caller's stderr, /dev/null, the output pipe and the log, in that order.
type Opened = (OwnedFd, OwnedFd, OwnedFd, OwnedFd, logfile::Rotating);

fn open_outputs(container: &Container, log_opts: logfile::Opts) -> Result<Opened> {
    let caller_err = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .context("dup stderr")?;
    let null = std::fs::File::open("/dev/null").context("opening /dev/null")?;
    let log = logfile::Rotating::open(&container.dir().join(OUTPUT), log_opts)
        .context("creating the container's output file")?;
    let (out_r, out_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe")?;
    Ok((caller_err, null.into(), out_r, out_w, log))
}

/// What the monitor watches while the workload runs: set as soon as each exists, so that a
/// launch failing after that keeps them alive until the monitor exits.
struct Watch {
    /// Hears when the output copier has read the pipe to its end.
    copier: Option<std::sync::mpsc::Receiver<()>>,
    caps: Option<crate::trace_caps::Running>,
}

/// Spawns the container with its stdio on the pipe and waits until its execve is done and
/// it is recorded; returns the workload's pid.
fn start(
    container: &mut Container,
    plan: &Plan,
    (caller_err, null, out_r, out_w, rotating): Opened,
    log: &std::sync::Arc<std::sync::Mutex<Option<logfile::Rotating>>>,
    remove_at_exit: bool,
    watch: &mut Watch,
) -> Result<i32, Failure> {
    *log.lock().unwrap_or_else(|p| p.into_inner()) = Some(rotating);
    dup2(null.as_raw_fd(), 0);
    dup2(out_w.as_raw_fd(), 1);
    dup2(out_w.as_raw_fd(), 2);
    // The monitor is the container's keeper (the plan's die_with_parent): if it is killed,
    // the container goes too.
    let spawned = container.spawn(plan, &Handles::default()).map(drop);
    // The container has its own copy of the fd table now; --trace goes to the caller until
    // it returns.
    dup2(caller_err.as_raw_fd(), 2);
    // The monitor keeps no write end: the pipe ends when the container's processes do.
    dup2(null.as_raw_fd(), 1);
    drop(out_w);
    spawned?;
    // Read from now on, so a workload that writes at once never waits on a full pipe. The
    // launch's fork is done: from here the monitor may have a thread.
    watch.copier = Some(copy_output(out_r, log.clone()));
    watch.caps = container
        .child()?
        .caps_tracer
        .take()
        .map(|t| t.start_to(Some(log_sink(log.clone()))));
    container.wait_ready()?;
    let pid = container.child()?.pid.as_raw();
    procfs::wait_exec_done(pid);
    if crate::trace::enabled() {
        crate::container::cap_trace::trace_after_execve(pid, plan.caps);
    }
    container.record_quick(plan)?;
    if !remove_at_exit {
        std::fs::write(container.dir().join(state::KEEP), "")
            .context("marking the record to keep")?;
    }
    dup2(null.as_raw_fd(), 2);
    Ok(pid)
}

fn undo_and_report(container: Container, e: Failure, report: Channel) -> ! {
    // Undone before the caller hears of it: when it returns, nothing is left.
    if let Err(u) = container.remove() {
        tracing::warn!("{}", crate::error_chain::one_line(&u));
    }
    let code = e.code;
    let message = e.to_string();
    let _ = report.send(&Message::Failed { code, message }, &[]);
    std::process::exit(1);
}

/// The workload has exited with `status`: its output, OOM verdict and tracer summary go to
/// the log, its cgroup goes, then its exit status is recorded.
fn after_exit(
    mut container: Container,
    status: i32,
    watch: Watch,
    log: &std::sync::Arc<std::sync::Mutex<Option<logfile::Rotating>>>,
    trace_caps: &Option<Option<PathBuf>>,
    remove_at_exit: bool,
) -> ! {
    // What the workload wrote before it exited is in the log before its exit status is
    // recorded. A process that escaped the container's end (none should: the pid namespace
    // ends with its init) and holds the pipe open is not waited for beyond a moment.
    if let Some(done) = watch.copier {
        let _ = done.recv_timeout(std::time::Duration::from_secs(2));
    }
    // The OOM verdict goes where the container's own output goes: `minirun logs`.
    if let Some(line) = container
        .cgroup()
        .and_then(|cg| cgroup_launch::oom_verdict(cg, status))
        && let Some(w) = log.lock().unwrap_or_else(|p| p.into_inner()).as_mut()
    {
        let _ = w.write(format!("minirun: {line}\n").as_bytes());
    }
    let _ = container.remove_cgroup();
    // After the workload's last output, before its exit status: whoever waits for that finds
    // the summary in the log and the JSON written.
    if let (Some(caps), Some(json)) = (watch.caps, trace_caps) {
        let mut sink = log_sink(log.clone());
        if let Err(e) = crate::trace_caps::report_at_exit_to(caps, json.as_deref(), &mut sink) {
            sink(&format!("{:#}", anyhow::Error::from(e)));
        }
    }
    // Whole or not at all (a temporary file renamed into place): `ps -a` and a caller polling
    // for the file never read it empty, half written (tests/trace_caps saw that once).
    let tmp = container.dir().join(".exit-status.tmp");
    let _ = std::fs::write(&tmp, format!("{status}\n"))
        .and_then(|_| std::fs::rename(&tmp, container.dir().join(EXIT_STATUS)));
    if remove_at_exit {
        let _ = container.remove();
    } else {
        container.release();
    }
    std::process::exit(0)
}

/// Lines of minirun's into the container's log, as `minirun: LINE`.
fn log_sink(
    log: std::sync::Arc<std::sync::Mutex<Option<logfile::Rotating>>>,
) -> crate::trace_caps::Sink {
    Box::new(move |line: &str| {
        if let Some(w) = log.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            let _ = w.write(format!("minirun: {line}\n").as_bytes());
        }
    })
}

/// Copies the container's output pipe into the log until every writer has closed it; the
/// receiver hears when it has.
fn copy_output(
    pipe: OwnedFd,
    log: std::sync::Arc<std::sync::Mutex<Option<logfile::Rotating>>>,
) -> std::sync::mpsc::Receiver<()> {
    let (done, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut pipe = std::fs::File::from(pipe);
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            if let Some(w) = log.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                // A full disk loses output, never the container: keep reading.
                let _ = w.write(&buf[..n]);
            }
        }
        let _ = done.send(());
    });
    rx
}

/// `minirun logs ID`: what a detached container wrote to stdout and stderr, as far as the
/// log's cap kept it (the rotated files oldest first, then the current one).
pub fn logs(store: &Store, id: &str) -> Result<()> {
    store.load(id)?;
    let files = logfile::files_oldest_first(&store.dir(id).join(OUTPUT));
    if files.is_empty() {
        bail!("container \"{id}\" keeps no output: only `minirun -d` containers do");
    }
    let mut out = std::io::stdout().lock();
    for path in files {
        let mut f = match std::fs::File::open(&path) {
            Ok(f) => f,
            // Rotated away between listing and opening: its bytes are in a later file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
        };
        match std::io::copy(&mut f, &mut out) {
            Ok(_) => {}
            // `minirun logs ID | head`: the reader has what it wanted; end quietly, as cat.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e).context("printing the output"),
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("printing the output")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monitors_report_decides_the_outcome() {
        assert!(started(Some(Message::Running { pid: 7 })).is_ok());
        let e = started(Some(Message::Failed {
            code: 127,
            message: "exec: \"x\": executable file not found in $PATH".into(),
        }))
        .unwrap_err();
        assert_eq!(e.exit_code(None), 127);
        assert!(e.to_string().contains("\"x\""), "{e}");
        let e = started(None).unwrap_err();
        assert!(e.to_string().contains("exited before"), "{e}");
        let e = started(Some(Message::AtStartGate)).unwrap_err();
        assert!(e.to_string().contains("AtStartGate out of turn"), "{e}");
    }
}
