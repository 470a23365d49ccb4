//! Command-line definitions only: the quick form `minirun [OPTIONS] ROOTFS COMMAND [ARG...]`
//! and the subcommands. What they do lives elsewhere.

use crate::capability::names::NAMES;
use crate::spec::Network;
use clap::builder::{PossibleValue, PossibleValuesParser, StringValueParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// What the command line asked for: a subcommand, or (command None) a quick-form run.
#[derive(Debug)]
pub struct Cli {
    pub global: Global,
    pub command: Option<Command>,
    pub run: QuickArgs,
}

const ABOUT: &str = "A small Linux container runtime that makes every capability decision explicit";

/// `minirun [GLOBAL] SUBCOMMAND ...`
#[derive(Parser, Debug)]
#[command(name = "minirun", version, about = ABOUT, disable_help_subcommand = true)]
struct SubCli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// `minirun [OPTIONS] ROOTFS COMMAND [ARG...]`
#[derive(Parser, Debug)]
#[command(
    name = "minirun",
    version,
    about = ABOUT,
    override_usage = "minirun [OPTIONS] ROOTFS COMMAND [ARG...]\n       minirun [GLOBAL OPTIONS] SUBCOMMAND [ARGS]   (minirun help-commands lists them)",
    after_help = QUICK_EXAMPLES,
    // The OCI runtime's global flags are for docker and podman; `help-commands` shows them.
    mut_arg("log", |a| a.hide(true)),
    mut_arg("log_format", |a| a.hide(true)),
    mut_arg("cgroup_manager", |a| a.hide(true)),
    mut_arg("systemd_cgroup", |a| a.hide(true)),
)]
struct QuickCli {
    #[command(flatten)]
    global: Global,
    #[command(flatten)]
    run: QuickArgs,
}

pub const QUICK_EXAMPLES: &str = "\
Examples:
  minirun rootfs/ sh -c 'echo hello from $(hostname)'     # a container, as docker run --rm
  minirun -it rootfs/ sh                                   # a shell on a terminal
  minirun -d --cap-drop=all --cap-add=setuid rootfs/ sleep 60
                                         # in the background: prints its id (minirun logs/kill/rm ID)
  minirun caps ID                                          # its five capability sets as a grid
  minirun ps                                               # every container's processes, as pscap
  minirun --read-only --tmpfs /tmp -v /srv:/srv:ro rootfs/ sh    # Docker's storage flags
  minirun --trace -u app --cap-add net_bind_service rootfs/ true # every step, a grid per step
  minirun explain net_raw                                  # what a capability permits, its risk
  minirun experiment rootfs/                               # prove what each capability gates
  minirun minimize rootfs/ capprobe net_raw                # the smallest set a command needs

Subcommands: ps, caps, explain, logs, experiment, minimize, and the OCI runtime's spec, create,
start, run, state, kill, delete (rm), list, exec, features. `minirun help-commands` lists them
with the OCI global flags, `minirun help SUBCOMMAND` explains one; man minirun, man minirun-caps.";

/// Global flags that take a value, so the scan below can step over it.
const GLOBAL_WITH_VALUE: [&str; 4] = ["--root", "--log", "--log-format", "--cgroup-manager"];

/// Where the first word after the global flags is in argv (a subcommand's name, or the quick
/// form's rootfs).
fn first_word_at(args: &[std::ffi::OsString]) -> usize {
    let mut i = 1;
    while let Some(a) = args.get(i).and_then(|a| a.to_str()) {
        if GLOBAL_WITH_VALUE.contains(&a) {
            i += 2;
        } else if a.starts_with("--")
            && (GLOBAL_WITH_VALUE
                .iter()
                .any(|g| a.starts_with(&format!("{g}=")))
                || a == "--debug"
                || a == "--systemd-cgroup")
        {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// Whether argv names `run`, `create` or `exec`, whose processes live in a pid namespace others
/// can share (CVE-2019-5736, container/readonly_reexec.rs): they always re-execute from a read-only view
/// of the binary, and main asks before parsing, so the first start does nothing the second
/// would redo. The quick form decides for itself (commands/quick.rs).
pub fn enters_a_container(args: &[std::ffi::OsString]) -> bool {
    let word = args.get(first_word_at(args)).and_then(|a| a.to_str());
    matches!(word, Some("run" | "create" | "exec"))
}

/// Parses argv. A subcommand is recognised only as the first word after the global flags, so
/// a workload named `ps` or `kill` (`minirun ROOTFS ps`) is never mistaken for one.
pub fn parse(args: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
    let i = first_word_at(&args);
    let first = args.get(i).and_then(|a| a.to_str()).unwrap_or("");
    let is_sub = first == "help-commands" || SUBCOMMANDS.contains(&first);
    // `help`, `version` and a mistyped subcommand, unless a directory of that name is meant.
    if !is_sub
        && !first.is_empty()
        && !first.starts_with('-')
        && !std::path::Path::new(first).is_dir()
    {
        let mut args = args.clone();
        match first {
            "help" if args.len() > i + 1 => {
                // `minirun help caps` is `minirun caps --help`.
                args.remove(i);
                args.insert(i + 1, "--help".into());
                return parse(args);
            }
            "help" => return parse(vec!["minirun".into(), "help-commands".into()]),
            "version" => return parse(vec!["minirun".into(), "--version".into()]),
            _ => {}
        }
        if let Some(sub) = mistyped_subcommand(first) {
            return Err(clap::Error::raw(
                clap::error::ErrorKind::InvalidSubcommand,
                format!(
                    "\"{first}\" is neither a subcommand nor a directory (did you mean \"{sub}\"?)\n"
                ),
            ));
        }
    }
    if is_sub {
        // `help-commands` shows the subcommands' help, which the quick form's --help cannot.
        let args = if first == "help-commands" {
            vec!["minirun".into(), "--help".into()]
        } else {
            args
        };
        let s = SubCli::try_parse_from(args)?;
        Ok(Cli {
            global: s.global,
            command: Some(s.command),
            run: QuickArgs::default(),
        })
    } else {
        let q = QuickCli::try_parse_from(args)?;
        Ok(Cli {
            global: q.global,
            command: None,
            run: q.run,
        })
    }
}

/// Every subcommand name and alias of `SubCli`, so that telling the quick form from a
/// subcommand does not build clap's whole command tree (≈ 0.1 ms a launch); a test keeps the
/// list equal to clap's.
const SUBCOMMANDS: &[&str] = &[
    "ps",
    "caps",
    "explain",
    "logs",
    "trace-caps",
    "generate",
    "experiment",
    "minimize",
    "spec",
    "create",
    "start",
    "run",
    "state",
    "kill",
    "delete",
    "rm",
    "list",
    "ls",
    "exec",
    "features",
    "pause",
    "resume",
    "update",
    "events",
];

/// The subcommand `word` is a typo of, if any: within two edits, or its start (three letters
/// or more). A word that is neither is left to the quick form, which says the rootfs is missing.
fn mistyped_subcommand(word: &str) -> Option<String> {
    let w = word.to_ascii_lowercase();
    SUBCOMMANDS
        .iter()
        .map(|n| (crate::capability::names::edit_distance(&w, n), n))
        .filter(|(d, n)| *d <= 2.min(n.len() / 2) || (w.len() >= 3 && n.starts_with(&w)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.to_string())
}

/// Flags runc and crun accept before the subcommand; docker, podman and conmon pass them.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Directory for container state
    #[arg(long, global = true, default_value_os_t = crate::container::state::default_root())]
    pub root: PathBuf,
    /// Write errors and warnings to this file too
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Format of --log: text or json
    #[arg(long, global = true, default_value = "text")]
    pub log_format: String,
    /// Verbose logs
    #[arg(long, global = true)]
    pub debug: bool,
    /// cgroupfs (default), systemd (needs systemd running) or disabled (no cgroups: no limits)
    #[arg(long, global = true)]
    pub cgroup_manager: Option<String>,
    /// runc's spelling of --cgroup-manager systemd (cgroupsPath is "slice:prefix:name")
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
}

/// The quick form's run options (Docker's names).
#[derive(Args, Debug, Clone, Default)]
pub struct QuickArgs {
    /// Add a capability (name in any case, with or without CAP_, or "all"); repeatable, comma lists
    #[arg(long = "cap-add", value_name = "CAP", value_parser = cap_names(), hide_possible_values = true)]
    pub cap_add: Vec<String>,
    /// Drop a capability (or "all"); repeatable, comma lists
    #[arg(long = "cap-drop", value_name = "CAP", value_parser = cap_names(), hide_possible_values = true)]
    pub cap_drop: Vec<String>,
    /// All capabilities, no masked or read-only paths, writable /sys
    ///
    /// Every capability minirun itself holds (its bounding set), no seccomp filter (as Docker),
    /// and /proc and /sys as the host has them: no masked or read-only paths.
    #[arg(long)]
    pub privileged: bool,
    /// UID[:GID] or NAME[:GROUP], resolved in the rootfs's /etc/passwd and /etc/group
    ///
    /// Names are looked up in the container's own files, never the host's; HOME comes from the
    /// passwd entry, as Docker sets it. A number that has no entry is used as it is.
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Extra supplementary group (name or number); repeatable
    #[arg(long = "group-add", value_name = "GROUP")]
    pub group_add: Vec<String>,
    /// Security options: no-new-privileges[:true|:false], seccomp=unconfined|PROFILE.json
    /// (default: Docker's seccomp profile for the container's capabilities)
    ///
    /// A profile file is in Docker's format; its `includes` and `excludes` are resolved for the
    /// container's capabilities, as Docker does. `--privileged` implies seccomp=unconfined.
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Set no_new_privs: setuid binaries and file capabilities grant nothing
    #[arg(long)]
    pub no_new_privileges: bool,
    /// none: own network namespace with lo up; host: the host's network
    ///
    /// No other network is set up: minirun has no bridge or port mapping.
    #[arg(long, value_parser = network_values(), default_value = "none")]
    pub network: Network,
    /// Container hostname (default: the container id)
    #[arg(long)]
    pub hostname: Option<String>,
    /// Mount the root filesystem read-only
    #[arg(long)]
    pub read_only: bool,
    /// Set an environment variable: KEY=VALUE, or KEY to pass the host's value
    ///
    /// PATH, HOSTNAME and HOME are set as Docker sets them unless given here.
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside the container (must exist)
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Run a tiny reaper as PID 1 that forwards signals and reaps zombies
    #[arg(long)]
    pub init: bool,
    /// Container id (default: generated)
    ///
    /// The generated id is 12 hex digits. A name a live container already has is refused; an id
    /// may not start with a dot.
    #[arg(long)]
    pub name: Option<String>,
    /// chroot instead of pivot_root (weaker: only for roots that cannot be pivoted)
    #[arg(long)]
    pub no_pivot: bool,
    /// Overlay the rootfs with a tmpfs: every write is discarded at exit
    #[arg(long)]
    pub volatile: bool,
    /// Print each launch step to stderr with microsecond timestamps
    #[arg(long)]
    pub trace: bool,
    /// Show every capability check the container's processes make, as the kernel decides it
    /// (needs Linux 6.14+), then a summary per capability and who refused each failed call
    #[arg(long)]
    pub trace_caps: bool,
    /// With --trace-caps: also write the checks, summary and refusals as JSON to FILE
    #[arg(long, value_name = "FILE", requires = "trace_caps")]
    pub trace_caps_json: Option<PathBuf>,
    /// Accepted for Docker compatibility: minirun always removes the container at exit
    /// (with --detach: remove it when it exits instead of keeping it for `logs` and `ps -a`)
    #[arg(long)]
    pub rm: bool,
    /// Run in the background: return once the workload runs, print its id; output goes to
    /// `minirun logs ID`, `minirun kill ID` stops it, `minirun rm ID` removes it
    ///
    /// The workload has run its execve when this returns. Its stdin is /dev/null; its stdout and
    /// stderr are a pipe that minirun's monitor copies into a capped log (--log-opt). The record
    /// stays until `minirun rm ID` (`-f` to kill first), or until it exits with --rm.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// With -d: cap the output kept for `minirun logs`, as docker's json-file:
    /// max-size=SIZE (default 10m), max-file=N (default 2); repeatable
    #[arg(long = "log-opt", value_name = "KEY=VALUE")]
    pub log_opt: Vec<String>,
    /// Docker's resource flags (--memory, --pids-limit, --cpus, --device, ...)
    #[command(flatten)]
    pub resources: ResourceArgs,
    /// Parent of the container's cgroup (absolute: from the hierarchy's root; relative: below
    /// minirun's own cgroup). Default: <minirun's own cgroup>/minirun
    #[arg(long, value_name = "PATH")]
    pub cgroup_parent: Option<String>,
    /// private: the container sees its own cgroup as `/`; host: the host's cgroup tree
    #[arg(long, value_enum, default_value_t = CgroupNs::Private)]
    pub cgroupns: CgroupNs,
    /// host: the host's user namespace (root only); auto: a new one where container root is
    /// an unprivileged host range (/etc/subuid's "minirun" entry, else 100000:65536). An
    /// ordinary user always gets one mapping it to root (and its /etc/subuid range)
    #[arg(long, value_enum)]
    pub userns: Option<UserNs>,
    /// Keep stdin open and, with -t, pass what you type to the workload (minirun always
    /// passes stdin through; -i is accepted so `-it` reads as Docker's)
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Give the workload a pty of the caller's window size (with -i: your terminal in raw
    /// mode, resizes followed, restored at exit)
    ///
    /// The pty is made inside the container and its master comes back to minirun. `-it` needs a
    /// terminal on stdin (Docker's "the input device is not a TTY"); `-t` with `-d` is refused.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Bind a host directory or file: HOST:CONTAINER[:ro] (HOST absolute and existing)
    ///
    /// Named and anonymous volumes are refused by name. A mount point missing from the rootfs is
    /// created there, as runc does, and stays. `--read-only --tmpfs /tmp` gives a read-only root
    /// with a writable /tmp.
    #[arg(short = 'v', long = "volume", value_name = "HOST:CONTAINER[:ro]")]
    pub volume: Vec<String>,
    /// Docker's --mount: type=bind,source=HOST,target=PATH[,readonly] or type=tmpfs,target=PATH
    #[arg(long = "mount", value_name = "type=bind|tmpfs,...")]
    pub mount: Vec<String>,
    /// Mount a tmpfs (noexec,nosuid,nodev unless OPTS says otherwise): PATH[:OPTS]
    #[arg(long = "tmpfs", value_name = "PATH[:OPTS]")]
    pub tmpfs: Vec<String>,
    /// The root filesystem directory
    #[arg(value_name = "ROOTFS")]
    pub rootfs: Option<PathBuf>,
    /// The command to run and its arguments
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

/// `--cgroupns`, as Docker spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CgroupNs {
    #[default]
    Private,
    Host,
}

/// `--userns`, as podman spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum UserNs {
    #[default]
    Host,
    Auto,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Every process of every running container with its capabilities, in pscap's columns
    Ps(PsArgs),
    /// Show the five capability sets of a process or container
    Caps(CapsArgs),
    /// Explain what a capability permits, its risk, and how minirun demonstrates it
    Explain(ExplainArgs),
    /// Print the output of a container started with --detach
    #[command(after_help = CAP_HELP)]
    Logs(IdArg),
    /// Show the capability checks a running container makes, as the kernel decides them
    /// (Linux 6.14+), until it stops or Ctrl-C; then a summary and who refused what
    TraceCaps(TraceCapsArgs),
    /// Write man pages or shell completions generated from these definitions (make install)
    #[command(hide = true)]
    Generate(GenerateArgs),
    #[command(flatten)]
    Lab(LabCommand),
    #[command(flatten)]
    Oci(OciCommand),
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    #[command(subcommand)]
    pub what: Generate,
}

#[derive(Subcommand, Debug)]
pub enum Generate {
    /// minirun.1 and minirun-SUBCOMMAND.1 into DIR
    Man { dir: PathBuf },
    /// The completion script for SHELL (bash, zsh, fish, elvish, powershell) into DIR
    Completions {
        shell: clap_complete::Shell,
        dir: PathBuf,
    },
}

/// Every definition in one clap Command, for man pages and completions: the quick form's
/// flags and arguments, and the subcommands (which the parser keeps apart, see `parse`).
pub fn full_command() -> clap::Command {
    use clap::CommandFactory;
    let subs: Vec<clap::Command> = SubCli::command().get_subcommands().cloned().collect();
    QuickCli::command()
        .subcommands(subs)
        .args_conflicts_with_subcommands(true)
}

#[derive(Args, Debug)]
#[command(after_help = crate::lab::pscap::MARKS)]
pub struct PsArgs {
    /// Print all five sets per process as JSON lines
    #[arg(long)]
    pub json: bool,
    /// Also list containers that are not running (with their exit status when known)
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Only this container (for `ps ID`, as runc has it)
    pub id: Option<String>,
    /// runc's `ps --format json ID` (pids only, for `docker top`); use --json
    #[arg(long, short = 'f', hide = true)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct TraceCapsArgs {
    /// The container's id or name
    pub id: String,
    /// Also write the checks, summary and refusals as JSON to FILE
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CapsArgs {
    /// A pid, or a container id or name
    pub target: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// A capability (name or number), a command or system call (ping, mount(2), ip link set),
    /// or words to look for in the descriptions; default: every capability
    #[arg(value_name = "CAP|COMMAND", value_parser = cap_names(), hide_possible_values = true)]
    pub cap: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum LabCommand {
    /// Prove what each capability gates: run capprobe with the capability granted and dropped
    Experiment(ExperimentFlags),
    /// Find the smallest capability set under which a command still exits 0
    Minimize(MinimizeFlags),
}

#[derive(Args, Debug)]
pub struct ExperimentFlags {
    /// A capability to test (any spelling, comma lists, repeatable); default: all the kernel knows
    #[arg(long = "cap", value_name = "CAP", value_parser = cap_names(), hide_possible_values = true)]
    pub caps: Vec<String>,
    /// Run the probes as this user (UID[:GID] or NAME[:GROUP] in the rootfs)
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// One JSON object per capability instead of the table
    #[arg(long)]
    pub json: bool,
    /// Run each probe as root of a fresh user namespace: which capabilities have power there
    #[arg(long, conflicts_with = "user")]
    pub userns: bool,
    /// Seconds one probe container may take before it is killed
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    /// A root filesystem with capprobe on its PATH (the fixture built by `make fixtures`)
    #[arg(value_name = "ROOTFS")]
    pub rootfs: PathBuf,
}

#[derive(Args, Debug)]
pub struct MinimizeFlags {
    /// Starting set: "defaults" (Docker's 14), "all", or a comma list of capabilities
    #[arg(long, default_value = "defaults", value_name = "SET", value_parser = cap_set_names(), hide_possible_values = true)]
    pub from: String,
    /// UID[:GID] or NAME[:GROUP], resolved in the rootfs
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Extra supplementary group (name or number); repeatable
    #[arg(long = "group-add", value_name = "GROUP")]
    pub group_add: Vec<String>,
    /// Set an environment variable: KEY=VALUE, or KEY to pass the host's value
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside the container (must exist)
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// none: own network namespace with lo up; host: the host's network
    #[arg(long, value_parser = network_values(), default_value = "none")]
    pub network: Network,
    /// Set no_new_privs in every trial
    #[arg(long)]
    pub no_new_privileges: bool,
    /// seccomp=unconfined or seccomp=PROFILE.json for every trial (default: Docker's profile
    /// for each trial's set)
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Find the set by trial alone, without first asking the kernel which capabilities it
    /// checked and granted (one traced run; needs Linux 6.14+ and cgroup v2)
    #[arg(long)]
    pub trial_only: bool,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
    /// Seconds one trial may take before it is killed and counted as a failure
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    /// The root filesystem directory
    #[arg(value_name = "ROOTFS")]
    pub rootfs: PathBuf,
    /// The command to run and its arguments
    #[arg(
        value_name = "COMMAND",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

impl ExperimentFlags {
    /// The library's plain form.
    pub fn to_lab(&self) -> crate::lab::ExperimentArgs {
        crate::lab::ExperimentArgs {
            caps: self.caps.clone(),
            user: self.user.clone(),
            json: self.json,
            timeout: self.timeout,
            rootfs: self.rootfs.clone(),
            userns: self.userns,
        }
    }
}

impl MinimizeFlags {
    /// The library's plain form.
    pub fn to_lab(&self) -> crate::lab::MinimizeArgs {
        crate::lab::MinimizeArgs {
            from: self.from.clone(),
            user: self.user.clone(),
            group_add: self.group_add.clone(),
            env: self.env.clone(),
            workdir: self.workdir.clone(),
            network: self.network,
            no_new_privileges: self.no_new_privileges,
            security_opt: self.security_opt.clone(),
            trial_only: self.trial_only,
            json: self.json,
            timeout: self.timeout,
            rootfs: self.rootfs.clone(),
            command: self.command.clone(),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum OciCommand {
    /// Write a default config.json (Docker's defaults) into the bundle directory
    Spec(SpecArgs),
    /// Create a container from a bundle; it waits before the workload's execve until `start`
    Create(CreateArgs),
    /// Start a created container: its workload runs
    Start(IdArg),
    /// Create and start a container (in the foreground unless --detach)
    Run(OciRunArgs),
    /// Print a container's OCI state as JSON
    State(IdArg),
    /// Send a signal (default SIGTERM) to a container's init, or with --all to every process
    Kill(KillArgs),
    /// Remove a stopped (or, with --force, any) container's record
    #[command(alias = "rm")]
    Delete(DeleteArgs),
    /// List containers
    #[command(alias = "ls")]
    List(ListArgs),
    /// Run a process in a running container's namespaces
    Exec(ExecArgs),
    /// Print the OCI features JSON: what this runtime supports
    Features,
    /// Freeze every process of a container (its cgroup's freezer)
    Pause(IdArg),
    /// Thaw a paused container
    Resume(IdArg),
    /// Change a running container's resource limits (runc's flags, or -r resources.json)
    Update(UpdateArgs),
    /// Print a container's resource usage (--stats: once) and OOM events
    Events(EventsArgs),
}

#[derive(Args, Debug, Default)]
pub struct UpdateArgs {
    /// OCI linux.resources JSON file ("-": stdin); the flags below override it
    #[arg(long, short = 'r')]
    pub resources: Option<PathBuf>,
    /// Memory limit (e.g. 512m; -1: unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory plus swap limit (-1: unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(long, allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Maximum number of processes (-1: unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// CFS quota in microseconds (-1: unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// CFS period in microseconds
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_period: Option<String>,
    /// CPU shares (relative weight)
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_shares: Option<String>,
    /// CPUs the container may use (0-3, 0,1)
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Block I/O weight, 10 to 1000
    #[arg(long)]
    pub blkio_weight: Option<String>,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Print one stats event and exit
    #[arg(long)]
    pub stats: bool,
    /// How often to look (stats, and the OOM count): 5s, 500ms
    #[arg(long, default_value = "5s")]
    pub interval: String,
    pub id: String,
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
    /// `run` in the foreground: show the kernel's capability checks for the container, then a
    /// summary (Linux 6.14+); after `create`/`run -d` use `minirun trace-caps ID`
    #[arg(long)]
    pub trace_caps: bool,
    /// With --trace-caps: also write the checks, summary and refusals as JSON to FILE
    #[arg(long, value_name = "FILE", requires = "trace_caps")]
    pub trace_caps_json: Option<PathBuf>,
    /// Container id
    pub id: String,
}

#[derive(Args, Debug)]
pub struct OciRunArgs {
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
    ///
    /// Also to its ambient set when the process has inheritable capabilities. Every other
    /// capability stays as the container's process has it.
    #[arg(long, short = 'c', value_parser = cap_names(), hide_possible_values = true)]
    pub cap: Vec<String>,
    /// UID[:GID] (numbers)
    ///
    /// Without GID the gid is 0, as runc has it; the supplementary groups stay the
    /// container process's.
    #[arg(long, short = 'u')]
    pub user: Option<String>,
    /// Extra supplementary gids; repeatable
    #[arg(long, short = 'g')]
    pub additional_gids: Vec<u32>,
    /// KEY=VALUE; repeatable
    ///
    /// Adds the variable, or replaces it, in the container process's environment.
    #[arg(long, short = 'e')]
    pub env: Vec<String>,
    /// Working directory inside the container (-w/--workdir as docker exec spells it)
    #[arg(long, short = 'w', visible_alias = "workdir")]
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

#[cfg(test)]
mod tests {
    /// What docs/quick-form.md and docs/exec.md said in their flag tables is now the flags'
    /// long help: `--help` (and so the man pages) carries it, `-h` only the summaries.
    #[test]
    fn long_help_carries_what_the_flag_tables_said() {
        use clap::CommandFactory;
        let long = super::QuickCli::command().render_long_help().to_string();
        for detail in [
            "Its stdin is /dev/null",
            "Named and anonymous volumes are refused",
            "HOME comes from the",
            "the input device is not a TTY",
            "`includes` and `excludes`",
        ] {
            assert!(long.contains(detail), "--help lacks {detail:?}:\n{long}");
        }
        let short = super::QuickCli::command().render_help().to_string();
        assert!(!short.contains("Its stdin is /dev/null"), "{short}");
        let exec = super::full_command()
            .find_subcommand_mut("exec")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(exec.contains("Without GID the gid is 0"), "{exec}");
    }

    #[test]
    fn the_subcommand_list_is_clap_s() {
        use clap::CommandFactory;
        let clap_s: std::collections::BTreeSet<String> = super::SubCli::command()
            .get_subcommands()
            .flat_map(|c| std::iter::once(c.get_name()).chain(c.get_all_aliases()))
            .map(str::to_string)
            .collect();
        let ours = super::SUBCOMMANDS.iter().map(|s| s.to_string()).collect();
        assert_eq!(clap_s, ours);
    }

    #[test]
    fn the_container_entering_subcommands_are_found_before_parsing() {
        let argv =
            |s: &str| -> Vec<std::ffi::OsString> { s.split_whitespace().map(Into::into).collect() };
        for yes in [
            "minirun exec ID true",
            "minirun --root /r --log /l --log-format json exec ID true",
            "minirun --root=/r --debug --systemd-cgroup create --bundle b ID",
            "minirun --cgroup-manager disabled run ID",
        ] {
            assert!(super::enters_a_container(&argv(yes)), "{yes}");
        }
        for no in [
            "minirun rootfs exec",
            "minirun state ID",
            "minirun help exec",
            "minirun --root /r",
            "minirun",
        ] {
            assert!(!super::enters_a_container(&argv(no)), "{no}");
        }
        // What it finds is what clap parses.
        for args in ["minirun exec ID true", "minirun --root /r run ID"] {
            let cli = super::parse(argv(args)).unwrap();
            assert!(matches!(
                cli.command,
                Some(super::Command::Oci(
                    super::OciCommand::Exec(_) | super::OciCommand::Run(_)
                ))
            ));
        }
    }
}

/// `--network`'s values: the library's [`Network`] by its names, each with its help line.
fn network_values() -> impl TypedValueParser<Value = Network> {
    let values = Network::ALL.map(|n| PossibleValue::new(n.name()).help(n.about()));
    PossibleValuesParser::new(values).map(|name| {
        Network::ALL
            .into_iter()
            .find(|n| n.name() == name)
            .unwrap_or_default()
    })
}

/// What the help says about the cap (`minirun logs --help`, `--log-opt`).
pub const CAP_HELP: &str = "A detached container's output is kept in its record, rotated: \
at most max-size × max-file bytes, the oldest dropped first (default 10m × 2 = 20 MiB; set with \
`minirun -d --log-opt max-size=SIZE --log-opt max-file=N`, SIZE in bytes or with k, m, g). \
`minirun logs` prints what is left, oldest first.";

/// A capability flag's value parser: any string (names::parse judges it later, with its own
/// errors and suggestions), but with the capability names as possible values, so that the
/// completion scripts offer them instead of file names. The flags hide them from --help.
#[derive(Clone)]
pub struct CapNames {
    keywords: &'static [&'static str],
}

/// For --cap-add, --cap-drop, exec --cap, experiment --cap and explain.
pub fn cap_names() -> CapNames {
    CapNames { keywords: &["all"] }
}

/// For minimize --from, which also takes Docker's default set by name.
pub fn cap_set_names() -> CapNames {
    CapNames {
        keywords: &["defaults", "all"],
    }
}

impl TypedValueParser for CapNames {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            self.keywords
                .iter()
                .chain(NAMES.iter())
                .map(|n| PossibleValue::new(*n)),
        ))
    }
}

/// Docker's resource flags; flatten into the quick form's arguments.
#[derive(Args, Debug, Default, Clone)]
pub struct ResourceArgs {
    /// Memory limit (e.g. 512m, 1g)
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Memory plus swap limit; -1 for unlimited swap
    #[arg(long)]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// Process limit; -1 or 0 for unlimited
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Number of CPUs (e.g. 1.5)
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<String>,
    /// CFS quota in microseconds
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// CFS period in microseconds
    #[arg(long)]
    pub cpu_period: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes in which to allow execution (0-3, 0,1)
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Block IO weight, 10 to 1000 (0 to leave it)
    #[arg(long)]
    pub blkio_weight: Option<String>,
    /// Add a host device: HOST[:CONTAINER[:PERMISSIONS]]
    #[arg(long = "device")]
    pub devices: Vec<String>,
    /// Add a rule to the cgroup's allowed devices ('c 1:3 mr')
    #[arg(long = "device-cgroup-rule")]
    pub device_cgroup_rules: Vec<String>,
}

impl ResourceArgs {
    /// The library's plain form.
    pub fn to_flags(&self) -> crate::cgroups::flags::ResourceFlags {
        crate::cgroups::flags::ResourceFlags {
            memory: self.memory.clone(),
            memory_swap: self.memory_swap.clone(),
            memory_reservation: self.memory_reservation.clone(),
            pids_limit: self.pids_limit.clone(),
            cpus: self.cpus.clone(),
            cpu_shares: self.cpu_shares.clone(),
            cpu_quota: self.cpu_quota.clone(),
            cpu_period: self.cpu_period.clone(),
            cpuset_cpus: self.cpuset_cpus.clone(),
            cpuset_mems: self.cpuset_mems.clone(),
            blkio_weight: self.blkio_weight.clone(),
            devices: self.devices.clone(),
            device_cgroup_rules: self.device_cgroup_rules.clone(),
        }
    }
}
