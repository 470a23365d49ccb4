//! Parse, dispatch, and turn every outcome into an exit status (`commands::exit_code`).

use minirun::cli::{Cli, Command, OciCommand};

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
/// Commands that put a process of this binary into a container (or next to one). The quick
/// form decides for itself (commands/quick.rs): only a container that can hold CAP_SYS_PTRACE needs the
/// sealed copy, and the copy costs more than the whole launch. `run` and `create` decide the
/// same way from config.json; `exec` always takes the copy.
fn enters_a_container(cli: &Cli) -> bool {
    match &cli.command {
        Some(Command::Oci(OciCommand::Run(a))) => bundle_may_hold_sys_ptrace(&a.create),
        Some(Command::Oci(OciCommand::Create(a))) => bundle_may_hold_sys_ptrace(a),
        Some(Command::Oci(OciCommand::Exec(_))) => true,
        _ => false,
    }
}

/// Whether the bundle's bounding set names CAP_SYS_PTRACE. A config that cannot be read or
/// parsed counts as yes: the safe side (the launch itself will then report what is wrong).
fn bundle_may_hold_sys_ptrace(a: &minirun::cli::CreateArgs) -> bool {
    let dir = a.bundle.clone().unwrap_or_else(|| ".".into());
    let Ok(text) = std::fs::read_to_string(dir.join("config.json")) else {
        return true;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return true;
    };
    let Some(bounding) = v.pointer("/process/capabilities/bounding") else {
        return false;
    };
    let Some(list) = bounding.as_array() else {
        return true;
    };
    list.iter().any(|c| match c.as_str() {
        Some(s) => s.to_ascii_uppercase().trim_start_matches("CAP_") == "SYS_PTRACE",
        None => true,
    })
}
