//! Parse, dispatch, and turn every outcome into an exit status (`commands::Failure`).

use minirun::cli::{Cli, Command, OciCommand};

/// musl's own allocator unmaps memory as soon as it can (src/arena.rs).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: minirun::arena::Arena = minirun::arena::Arena;

fn main() {
    minirun::trace::start_clock();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // First of all: a re-execution starts the binary again, so nothing before it is wasted.
    if minirun::cli::enters_a_container(&args) {
        minirun::container::readonly_reexec::reexec();
    }
    let cli = match minirun::cli::parse(args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                std::process::exit(0);
            }
            // clap's message is several lines; cli_error keeps what they say in one.
            use minirun::commands::stderr_format;
            let prefix = stderr_format::prefix(tracing::Level::ERROR, stderr_format::colour());
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
    match minirun::commands::dispatch(&cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            minirun::commands::Log::new(&cli.global).error(&e.to_string());
            std::process::exit(e.exit_code(cli.command.as_ref()));
        }
    }
}

fn init_logging(cli: &Cli) {
    let level = if cli.global.debug {
        tracing::Level::DEBUG
    } else {
        tracing::Level::WARN
    };
    // With --log, the library's lines go where the commands' own warnings go (commands/log.rs
    // says why). The file is opened once, append and close-on-exec, so that the child, which
    // shares this subscriber until it execs, writes to the host's file even after pivot_root.
    let file = cli.global.log.as_ref().and_then(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    });
    let _ = match file {
        Some(f) => tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::sync::Mutex::new(f))
            .event_format(minirun::commands::log::LogFileFormat::new(&cli.global))
            .try_init(),
        None => tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::stderr)
            // `minirun: warning: ...`, as every other warning reads (commands/stderr_format.rs).
            .event_format(minirun::commands::stderr_format::StderrFormat::new())
            .try_init(),
    };
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
