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
use crate::container::launch::StartError;
use crate::container::program::ExecFailure;
use anyhow::Result;
pub use log::Log;

/// Runs what the command line asked for; returns the exit status.
pub fn dispatch(cli: &Cli) -> Result<i32, Failure> {
    Ok(match &cli.command {
        None => quick::run(&cli.global, &cli.run)?,
        Some(Command::Ps(a)) => inspect::ps(&cli.global, a).map(|_| 0)?,
        Some(Command::Caps(a)) => inspect::caps(&cli.global, a).map(|_| 0)?,
        Some(Command::Explain(a)) => inspect::explain(a).map(|_| 0)?,
        Some(Command::Logs(a)) => detach::logs(
            &crate::container::state::Store::new(&cli.global.root),
            &a.id,
        )
        .map(|_| 0)?,
        Some(Command::TraceCaps(a)) => trace_caps::attach(&cli.global, a)?,
        Some(Command::Generate(a)) => generate::write(&a.what).map(|_| 0)?,
        Some(Command::Oci(c)) => oci(&cli.global, c)?,
        Some(Command::Lab(c)) => lab(&cli.global, c)?,
    })
}

/// A command's failure: the error as it is printed, and Docker's exit code, which the typed
/// library error it was built from knew (`From` below). Nothing searches an error chain for
/// a code: a library error that decides one (`ExecFailure`, `StartError`) is not a
/// `std::error::Error`, so it cannot be folded into an `anyhow` chain on the way here.
#[derive(Debug)]
pub struct Failure {
    /// 125: minirun's own failure; 126: the workload cannot be executed; 127: not found.
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    /// The exit status, the one place it is decided: Docker's 126/127 for a workload that
    /// could not start; for minirun's own failures 125 in the quick form (as docker run) and
    /// 1 for the OCI commands (as runc, which clients know).
    pub fn exit_code(&self, command: Option<&Command>) -> i32 {
        match command {
            Some(Command::Oci(_)) if self.code == 125 => 1,
            _ => i32::from(self.code),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

/// minirun's own failure: 125.
impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure { code: 125, error }
    }
}

/// The library's typed errors that are minirun's own failures (125), for the commands whose
/// functions return `Failure` (a `From` each: anyhow's blanket one is not ours to add).
macro_rules! runtime_failures {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Self {
                anyhow::Error::new(e).into()
            }
        }
    )*};
}
runtime_failures!(
    crate::container::error::Error,
    crate::container::validate::Refusal,
    crate::container::bundle::BundleError,
    crate::trace_caps::Error,
    crate::container::rootless::Error,
    crate::container::state::Error,
);

impl From<ExecFailure> for Failure {
    fn from(f: ExecFailure) -> Self {
        Failure {
            code: f.exit_code(),
            error: anyhow::Error::msg(f.message),
        }
    }
}

impl From<StartError> for Failure {
    fn from(e: StartError) -> Self {
        match e {
            StartError::Child(f) => f.into(),
            StartError::Runtime(error) => error.into(),
        }
    }
}

fn lab(global: &Global, cmd: &LabCommand) -> Result<i32> {
    crate::container::privilege::require_root()?;
    Ok(match cmd {
        LabCommand::Experiment(a) if a.userns => crate::lab::userns::run(&global.root, &a.to_lab()),
        LabCommand::Experiment(a) => crate::lab::experiment::run(&global.root, &a.to_lab()),
        LabCommand::Minimize(a) => crate::lab::minimize::least_set(&global.root, &a.to_lab()),
    }?)
}

/// Runs one OCI command; returns the exit status. Errors are returned (main.rs writes them
/// to stderr and, as a JSON line, to --log) with runc's wording where clients parse it.
fn oci(global: &Global, cmd: &OciCommand) -> Result<i32, Failure> {
    let log = Log::new(global);
    // A bad --cgroup-manager is refused by every command, as runc does.
    lifecycle::manager(global)?;
    Ok(match cmd {
        OciCommand::Spec(a) => spec::write_default(a).map(|_| 0)?,
        OciCommand::Create(a) => lifecycle::create(global, &log, a).map(|_| 0)?,
        OciCommand::Start(a) => lifecycle::start(global, &log, &a.id).map(|_| 0)?,
        OciCommand::Run(a) => lifecycle::run(global, &log, a)?,
        OciCommand::State(a) => lifecycle::state(global, &a.id).map(|_| 0)?,
        OciCommand::Kill(a) => lifecycle::kill(global, a).map(|_| 0)?,
        OciCommand::Delete(a) => lifecycle::delete(global, &log, a).map(|_| 0)?,
        OciCommand::List(a) => lifecycle::list(global, a).map(|_| 0)?,
        OciCommand::Exec(a) => exec::exec(global, &log, a)?,
        OciCommand::Features => features::print().map(|_| 0)?,
        OciCommand::Pause(a) => control::pause(global, &a.id).map(|_| 0)?,
        OciCommand::Resume(a) => control::resume(global, &a.id).map(|_| 0)?,
        OciCommand::Update(a) => control::update(global, a).map(|_| 0)?,
        OciCommand::Events(a) => control::events(global, a).map(|_| 0)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::program;

    const OCI: Option<&Command> = Some(&Command::Oci(OciCommand::Features));

    #[test]
    fn minirun_s_own_failure_is_125_quick_and_1_for_the_oci_commands() {
        let f: Failure = anyhow::anyhow!("EPERM").context("mount /proc").into();
        assert_eq!((f.exit_code(None), f.exit_code(OCI)), (125, 1));
        assert_eq!(f.to_string(), "mount /proc: EPERM");
        let f: Failure =
            StartError::Runtime(crate::container::error::Error::Refused("pipe".into())).into();
        assert_eq!((f.exit_code(None), f.exit_code(OCI)), (125, 1));
        let refusal = crate::container::validate::Refusal {
            check: "x",
            message: "no".into(),
        };
        assert_eq!(Failure::from(refusal).exit_code(OCI), 1);
    }

    #[test]
    fn a_workload_that_cannot_start_keeps_docker_s_code_in_every_command() {
        let f: Failure = program::not_found("nope").into();
        assert_eq!((f.exit_code(None), f.exit_code(OCI)), (127, 127));
        assert_eq!(
            f.to_string(),
            "exec: \"nope\": executable file not found in $PATH"
        );
        let f: Failure = StartError::Child(program::failure("x", nix::errno::Errno::EACCES)).into();
        assert_eq!((f.exit_code(None), f.exit_code(OCI)), (126, 126));
    }

    /// The child's own setup failure (it reports 125) is minirun's failure: 1 for OCI.
    #[test]
    fn a_child_setup_failure_is_the_runtime_s() {
        let reported = program::ExecFailure {
            code: 125,
            message: "sethostname: EPERM".into(),
        };
        let f: Failure = StartError::Child(reported).into();
        assert_eq!((f.exit_code(None), f.exit_code(OCI)), (125, 1));
    }
}
