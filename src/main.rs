//! Parse, dispatch, and turn every outcome into an exit status: the workload's own, 125 for
//! minirun's failures (1 for the OCI commands, as runc), 126/127 for a command that cannot run.

use minirun::cli::{Cli, Command};
use std::io::Write;

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
            // clap's message is several lines; the first names the bad value.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            eprintln!(
                "minirun: {} (see minirun --help)",
                first.trim_start_matches("error: ")
            );
            std::process::exit(125);
        }
    };
    init_logging(&cli);
    if enters_a_container(&cli) {
        minirun::container::sealed::reexec();
    }
    let result = match &cli.command {
        None => minirun::run::run(&cli.global, &cli.run),
        Some(Command::Ps(a)) => minirun::inspect_cmd::ps(&cli.global, a).map(|_| 0),
        Some(Command::Caps(a)) => minirun::inspect_cmd::caps(&cli.global, a).map(|_| 0),
        Some(Command::Explain(a)) => minirun::inspect_cmd::explain(a).map(|_| 0),
        Some(Command::Oci(c)) => minirun::oci::dispatch(&cli.global, c),
        Some(Command::Lab(c)) => minirun::lab::run(&cli.global, c),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let msg = format!("{e:#}");
            log_error(&cli, &msg);
            eprintln!("minirun: {msg}");
            let code = minirun::run::exit_code(&e);
            // The OCI commands answer like runc, which clients know: 1 for the runtime's own
            // failures. The quick form answers like docker run: 125.
            let code = match cli.command {
                Some(Command::Oci(_)) if code == 125 => 1,
                _ => code,
            };
            std::process::exit(code);
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
        .without_time()
        .with_target(false)
        .try_init();
}

/// docker and podman read the runtime's errors from `--log` (JSON lines with `--log-format json`).
fn log_error(cli: &Cli, msg: &str) {
    let Some(path) = &cli.global.log else { return };
    let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    let line = if cli.global.log_format == "json" {
        serde_json::json!({"msg": msg, "level": "error", "time": minirun::container::state::rfc3339_now()})
            .to_string()
    } else {
        format!("minirun: {msg}")
    };
    let _ = writeln!(f, "{line}");
}

/// Commands that put a process of this binary into a container (or next to one). The quick
/// form decides for itself (run.rs): only a container that can hold CAP_SYS_PTRACE needs the
/// sealed copy, and the copy costs more than the whole launch. `run` and `create` decide the
/// same way from config.json; `exec` always takes the copy.
fn enters_a_container(cli: &Cli) -> bool {
    use minirun::oci::OciCommand;
    match &cli.command {
        Some(Command::Oci(OciCommand::Run(a))) => bundle_may_hold_sys_ptrace(&a.create),
        Some(Command::Oci(OciCommand::Create(a))) => bundle_may_hold_sys_ptrace(a),
        Some(Command::Oci(OciCommand::Exec(_))) => true,
        _ => false,
    }
}

/// Whether the bundle's bounding set names CAP_SYS_PTRACE. A config that cannot be read or
/// parsed counts as yes: the safe side (the launch itself will then report what is wrong).
fn bundle_may_hold_sys_ptrace(a: &minirun::oci::CreateArgs) -> bool {
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
