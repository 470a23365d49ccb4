//! The command layer: what each command line asks for, turned into calls to the runtime
//! library (`container`, `capability`) with plain values. Nothing below this layer sees a
//! clap struct; the mapping from errors to exit statuses lives here and nowhere else.
//!
//! The OCI commands (runc's and crun's, over bundles) let docker (through containerd's shim)
//! and podman (through conmon) use minirun as their runtime. Every command that starts a
//! process ends in the one launch path (`container::launch`), as the quick form does.

pub mod control;
pub mod detach;
pub mod exec;
pub mod features;
pub mod generate;
pub mod inspect;
pub mod lifecycle;
pub mod log;
pub mod logfile;
pub mod quick;
pub mod quick_cgroup;
pub mod quick_userns;
pub mod refusals;
pub mod spec;
pub mod stderr_format;
pub mod storage;
pub mod trace_caps;
pub mod tty;

use crate::cli::{Cli, Command, Global, LabCommand, OciCommand};
use crate::container::program::ExecFailure;
use anyhow::Result;
pub use log::Log;

/// Runs what the command line asked for; returns the exit status.
pub fn dispatch(cli: &Cli) -> Result<i32> {
    match &cli.command {
        None => quick::run(&cli.global, &cli.run),
        Some(Command::Ps(a)) => inspect::ps(&cli.global, a).map(|_| 0),
        Some(Command::Caps(a)) => inspect::caps(&cli.global, a).map(|_| 0),
        Some(Command::Explain(a)) => inspect::explain(a).map(|_| 0),
        Some(Command::Logs(a)) => detach::logs(
            &crate::container::state::Store::new(&cli.global.root),
            &a.id,
        )
        .map(|_| 0),
        Some(Command::TraceCaps(a)) => trace_caps::attach(&cli.global, a),
        Some(Command::Generate(a)) => generate::write(&a.what).map(|_| 0),
        Some(Command::Oci(c)) => oci(&cli.global, c),
        Some(Command::Lab(c)) => lab(&cli.global, c),
    }
}

/// The exit status for a command's error, the one place it is decided: Docker's 126/127 for
/// a workload that could not start; for minirun's own failures 125 in the quick form (as
/// docker run) and 1 for the OCI commands (as runc, which clients know).
pub fn exit_code(command: Option<&Command>, e: &anyhow::Error) -> i32 {
    let code = e
        .chain()
        .find_map(|c| c.downcast_ref::<ExecFailure>())
        .map(|f| f.code as i32)
        .unwrap_or(125);
    match command {
        Some(Command::Oci(_)) if code == 125 => 1,
        _ => code,
    }
}

fn lab(global: &Global, cmd: &LabCommand) -> Result<i32> {
    crate::container::privilege::require_root()?;
    match cmd {
        LabCommand::Experiment(a) if a.userns => crate::lab::userns::run(&global.root, &a.to_lab()),
        LabCommand::Experiment(a) => crate::lab::experiment::run(&global.root, &a.to_lab()),
        LabCommand::Minimize(a) => crate::lab::minimize::least_set(&global.root, &a.to_lab()),
    }
}

/// Runs one OCI command; returns the exit status. Errors are returned (main.rs writes them
/// to stderr and, as a JSON line, to --log) with runc's wording where clients parse it.
fn oci(global: &Global, cmd: &OciCommand) -> Result<i32> {
    let log = Log::new(global);
    // A bad --cgroup-manager is refused by every command, as runc does.
    lifecycle::manager(global)?;
    match cmd {
        OciCommand::Spec(a) => spec::write_default(a).map(|_| 0),
        OciCommand::Create(a) => lifecycle::create(global, &log, a).map(|_| 0),
        OciCommand::Start(a) => lifecycle::start(global, &log, &a.id).map(|_| 0),
        OciCommand::Run(a) => lifecycle::run(global, &log, a),
        OciCommand::State(a) => lifecycle::state(global, &a.id).map(|_| 0),
        OciCommand::Kill(a) => lifecycle::kill(global, a).map(|_| 0),
        OciCommand::Delete(a) => lifecycle::delete(global, &log, a).map(|_| 0),
        OciCommand::List(a) => lifecycle::list(global, a).map(|_| 0),
        OciCommand::Exec(a) => exec::exec(global, &log, a),
        OciCommand::Features => features::print().map(|_| 0),
        OciCommand::Pause(a) => control::pause(global, &a.id).map(|_| 0),
        OciCommand::Resume(a) => control::resume(global, &a.id).map(|_| 0),
        OciCommand::Update(a) => control::update(global, a).map(|_| 0),
        OciCommand::Events(a) => control::events(global, a).map(|_| 0),
    }
}
