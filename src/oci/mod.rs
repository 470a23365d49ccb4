//! The OCI runtime interface: runc's and crun's commands over bundles, so that docker (through
//! containerd's shim) and podman (through conmon) can use minirun as their runtime.
//!
//! Every command ends in the one launch path (`container::launch`), exactly as the quick form
//! does. This module only adds what the OCI lifecycle needs around it: bundles, state records,
//! the exec fifo that separates `create` from `start`, hooks, the console socket and `exec`.

pub mod bundle;
pub mod exec;
pub mod features;
pub mod hooks;
pub mod lifecycle;
pub mod spec_cmd;

use crate::cli::Global;
use anyhow::Result;
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum OciCommand {
    /// Write a default config.json (Docker's defaults) into the bundle directory
    Spec(SpecArgs),
    /// Create a container from a bundle; it waits before the workload's execve until `start`
    Create(CreateArgs),
    /// Start a created container: its workload runs
    Start(IdArg),
    /// Create and start a container (in the foreground unless --detach)
    Run(RunArgs),
    /// Print a container's OCI state as JSON
    State(IdArg),
    /// Send a signal (default SIGTERM) to a container's init, or with --all to every process
    Kill(KillArgs),
    /// Remove a stopped (or, with --force, any) container's record
    Delete(DeleteArgs),
    /// List containers
    #[command(alias = "ls")]
    List(ListArgs),
    /// Run a process in a running container's namespaces
    Exec(ExecArgs),
    /// Print the OCI features JSON: what this runtime supports
    Features,
}

#[derive(Args, Debug)]
pub struct SpecArgs {
    /// Write a spec for a rootless container (a user namespace mapping the current user)
    #[arg(long)]
    pub rootless: bool,
    /// Bundle directory (default: the current directory)
    #[arg(long, short = 'b')]
    pub bundle: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct CreateArgs {
    /// Bundle directory holding config.json (default: the current directory)
    #[arg(long, short = 'b')]
    pub bundle: Option<PathBuf>,
    /// Write the init's pid to this file
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master (process.terminal: true)
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// chroot instead of pivot_root
    #[arg(long)]
    pub no_pivot: bool,
    /// Keep the caller's session keyring instead of creating one for the container
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass fds 3..3+N to the container
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Container id
    pub id: String,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Return once the workload has started instead of waiting for it
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// Keep the container's record after it exits (foreground run)
    #[arg(long)]
    pub keep: bool,
}

#[derive(Args, Debug)]
pub struct IdArg {
    pub id: String,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal every process in the container, not only its init
    #[arg(long, short = 'a')]
    pub all: bool,
    pub id: String,
    /// Signal name (TERM, SIGKILL, …) or number
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Kill a running container first (SIGKILL)
    #[arg(long, short = 'f')]
    pub force: bool,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// table or json
    #[arg(long, short = 'f', default_value = "table")]
    pub format: String,
    /// Ids only
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// An OCI process JSON file (instead of COMMAND and the flags below)
    #[arg(long, short = 'p')]
    pub process: Option<PathBuf>,
    /// Allocate a pty (needs --console-socket)
    #[arg(long, short = 't')]
    pub tty: bool,
    /// Return once the process has started
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// Write the process's pid to this file
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Add a capability to the process's bounding, effective and permitted sets; repeatable
    #[arg(long, short = 'c')]
    pub cap: Vec<String>,
    /// UID[:GID] (numbers)
    #[arg(long, short = 'u')]
    pub user: Option<String>,
    /// Extra supplementary gids; repeatable
    #[arg(long, short = 'g')]
    pub additional_gids: Vec<u32>,
    /// KEY=VALUE; repeatable
    #[arg(long, short = 'e')]
    pub env: Vec<String>,
    /// Working directory inside the container
    #[arg(long)]
    pub cwd: Option<String>,
    /// Set no_new_privs for the process
    #[arg(long)]
    pub no_new_privs: bool,
    /// Pass fds 3..3+N to the process
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    pub id: String,
    /// The command and its arguments (unless --process)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// Where warnings and errors go: with `--log`, to that file only (as JSON lines with
/// `--log-format json`), because conmon and the docker shim hand the runtime the container's
/// own stdout and stderr, and a warning there would land in the container's output.
#[derive(Debug, Clone)]
pub struct Log {
    path: Option<PathBuf>,
    json: bool,
    debug: bool,
}

impl Log {
    pub fn new(g: &Global) -> Log {
        Log {
            path: g.log.clone(),
            json: g.log_format == "json",
            debug: g.debug,
        }
    }

    fn write(&self, level: &str, msg: &str) {
        match &self.path {
            Some(p) => {
                let line = if self.json {
                    serde_json::json!({"msg": msg, "level": level,
                        "time": crate::container::state::rfc3339_now()})
                    .to_string()
                } else {
                    format!("minirun: {level}: {msg}")
                };
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                {
                    let _ = writeln!(f, "{line}");
                }
            }
            None => eprintln!("minirun: {level}: {msg}"),
        }
    }

    pub fn warn(&self, msg: &str) {
        self.write("warning", msg);
    }

    pub fn debug(&self, msg: &str) {
        if self.debug {
            self.write("debug", msg);
        }
    }
}

/// Runs one OCI command; returns the exit status. Errors are returned (main.rs writes them
/// to stderr and, as a JSON line, to --log) with runc's wording where clients parse it.
pub fn dispatch(global: &Global, cmd: &OciCommand) -> Result<i32> {
    let log = Log::new(global);
    match global.cgroup_manager.as_deref() {
        None | Some("cgroupfs") | Some("disabled") => {}
        Some("systemd") => log.warn("--cgroup-manager systemd: minirun creates no cgroups"),
        Some(other) => {
            anyhow::bail!("--cgroup-manager \"{other}\": expected cgroupfs, systemd or disabled")
        }
    }
    if global.systemd_cgroup {
        log.warn("--systemd-cgroup cannot be honoured: minirun creates no cgroups");
    }
    match cmd {
        OciCommand::Spec(a) => spec_cmd::spec(a).map(|_| 0),
        OciCommand::Create(a) => lifecycle::create(global, &log, a).map(|_| 0),
        OciCommand::Start(a) => lifecycle::start(global, &log, &a.id).map(|_| 0),
        OciCommand::Run(a) => lifecycle::run(global, &log, a),
        OciCommand::State(a) => lifecycle::state(global, &a.id).map(|_| 0),
        OciCommand::Kill(a) => lifecycle::kill(global, a).map(|_| 0),
        OciCommand::Delete(a) => lifecycle::delete(global, &log, a).map(|_| 0),
        OciCommand::List(a) => lifecycle::list(global, a).map(|_| 0),
        OciCommand::Exec(a) => exec::exec(global, &log, a),
        OciCommand::Features => features::print().map(|_| 0),
    }
}
