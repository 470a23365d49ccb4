//! Parse, dispatch, and turn every outcome into an exit status (`commands::exit_code`).

use minirun::cli::{Cli, Command, OciCommand};

/// musl's own allocator unmaps memory as soon as it can (src/arena.rs).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: minirun::arena::Arena = minirun::arena::Arena;

fn main() {
    minirun::trace::start_clock();
    let cli = match minirun::cli::parse(std::env::args_os().collect()) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                std::process::exit(0);
            }
            // clap's message is several lines; cli_error keeps what they say in one.
            use minirun::commands::voice;
            let prefix = voice::prefix(tracing::Level::ERROR, voice::colour());
            eprintln!("{prefix}{}", minirun::cli_error::one_line(&e));
            std::process::exit(125);
        }
    };
    init_logging(&cli);
    if only_prints(&cli) {
        // Rust ignores SIGPIPE, so `minirun features | head -1` would panic on EPIPE (and
        // abort): a command that only prints ends as cat does, quietly, by the signal. The
        // others keep it ignored: their writes into hooks' stdin must not kill them midway.
        // SAFETY: restoring the default disposition installs no handler code.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    if enters_a_container(&cli) {
        minirun::container::sealed::reexec();
    }
    match minirun::commands::dispatch(&cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            minirun::commands::Log::new(&cli.global).error(&format!("{e:#}"));
            std::process::exit(minirun::commands::exit_code(cli.command.as_ref(), &e));
        }
    }
}

fn init_logging(cli: &Cli) {
    let level = if cli.global.debug {
        tracing::Level::DEBUG
    } else {
        tracing::Level::WARN
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        // `minirun: warning: ...`, as every other warning reads (commands/voice.rs).
        .event_format(minirun::commands::voice::Voice::new())
        .try_init();
}
/// Commands that read and print, and start nothing.
fn only_prints(cli: &Cli) -> bool {
    matches!(
        &cli.command,
        Some(
            Command::Ps(_)
                | Command::Caps(_)
                | Command::Explain(_)
                | Command::Oci(
                    OciCommand::Spec(_)
                        | OciCommand::State(_)
                        | OciCommand::List(_)
                        | OciCommand::Features
                )
        )
    )
}

/// Commands whose processes live in a pid namespace others can share (CVE-2019-5736, see
/// container/sealed.rs): an OCI init waits at its start gate, where any container may join
/// its pid namespace meanwhile, and an `exec` runs inside a container that already exists, so
/// both always re-execute from a read-only view of the binary (about 0.7 ms). The quick form
/// decides for itself (commands/quick.rs).
fn enters_a_container(cli: &Cli) -> bool {
    matches!(
        &cli.command,
        Some(Command::Oci(
            OciCommand::Run(_) | OciCommand::Create(_) | OciCommand::Exec(_)
        ))
    )
}
