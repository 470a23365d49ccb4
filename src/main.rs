//! Parse, dispatch, and turn every outcome into an exit status: the workload's own, 125 for
//! minirun's failures, 126/127 for a command that cannot run.

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
        reexec_sealed();
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
            std::process::exit(minirun::run::exit_code(&e));
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

/// Commands that put a process of this binary into a container (or next to one).
fn enters_a_container(cli: &Cli) -> bool {
    use minirun::oci::OciCommand;
    match &cli.command {
        None => true,
        Some(Command::Oci(c)) => matches!(
            c,
            OciCommand::Run(_) | OciCommand::Create(_) | OciCommand::Exec(_)
        ),
        _ => false,
    }
}

const SEALED_NAME: &str = "minirun-sealed";

/// CVE-2019-5736: a process of this binary inside a container's pid namespace (the init before
/// execve, the `--init` reaper, an `exec` entering a running container) exposes it as
/// /proc/PID/exe. Non-dumpable keeps that closed to ordinary workloads, but not to one with
/// CAP_SYS_PTRACE, which can hold the fd and reopen it for writing once every minirun process
/// has exited. So, as runc does, such commands first re-execute from a sealed memfd copy:
/// /proc/PID/exe is then the copy, which nothing can write, never the host's binary.
/// Where memfds or sealing are unavailable the run goes on from the binary itself.
fn reexec_sealed() {
    use std::ffi::CString;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    let already = std::fs::read_link("/proc/self/exe")
        .map(|p| {
            p.as_os_str()
                .as_bytes()
                .starts_with(b"/memfd:minirun-sealed")
        })
        .unwrap_or(true);
    if already {
        // fexecve named us after /dev/fd/N; ps, pscap and tests know the runtime as minirun.
        // SAFETY: a NUL-terminated name that outlives the call.
        unsafe { libc::prctl(libc::PR_SET_NAME, c"minirun".as_ptr(), 0, 0, 0) };
        return;
    }
    let Ok(mut exe) = std::fs::File::open("/proc/self/exe") else {
        return;
    };
    let name = CString::new(SEALED_NAME).unwrap();
    // SAFETY: a valid NUL-terminated name and flags; the fd returned is ours.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return;
    }
    // SAFETY: memfd_create returned a fresh fd that nothing else owns.
    let mut copy = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    if std::io::copy(&mut exe, &mut copy).is_err() {
        return;
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on an fd we own, integer arguments only.
    if unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        return;
    }
    let cstrings = |v: Vec<Vec<u8>>| -> Option<Vec<CString>> {
        v.into_iter().map(|b| CString::new(b).ok()).collect()
    };
    let Some(argv) = cstrings(std::env::args_os().map(|a| a.as_bytes().to_vec()).collect()) else {
        return;
    };
    let Some(envp) = cstrings(
        std::env::vars_os()
            .map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat())
            .collect(),
    ) else {
        return;
    };
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|c| c.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of pointers into CStrings that outlive the call; on
    // success this never returns, on failure we go on as before.
    unsafe { libc::fexecve(copy.as_raw_fd(), argv_p.as_ptr(), envp_p.as_ptr()) };
}
