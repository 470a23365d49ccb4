//! Where warnings and errors go: with `--log`, to that file only (as JSON lines with
//! `--log-format json`), because conmon and the docker shim hand the runtime the container's
//! own stdout and stderr, and a warning there would land in the container's output.

use super::stderr_format;
use crate::cli::Global;
use std::io::Write;
use std::path::PathBuf;
use tracing_subscriber::fmt::FormatFields;

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

    /// One line in the `--log` file; false when there is none (or it cannot be written).
    fn to_file(&self, level: &str, msg: &str, text_prefix: &str) -> bool {
        let Some(p) = &self.path else { return false };
        let line = file_line(self.json, level, msg, text_prefix);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .and_then(|mut f| writeln!(f, "{line}"))
            .is_ok()
    }

    fn write(&self, level: tracing::Level, msg: &str) {
        let name = level_name(level);
        if self.path.is_none() {
            // Not eprintln: a closed stderr must not panic (and abort) the runtime mid-command.
            let _ = writeln!(
                std::io::stderr(),
                "{}{msg}",
                stderr_format::prefix(level, stderr_format::colour())
            );
        } else {
            self.to_file(&name, msg, &stderr_format::prefix(level, false));
        }
    }

    pub fn warn(&self, msg: &str) {
        self.write(tracing::Level::WARN, msg);
    }

    pub fn debug(&self, msg: &str) {
        if self.debug {
            self.write(tracing::Level::DEBUG, msg);
        }
    }

    /// A command's final error: always on stderr (clients show it), and in `--log` too
    /// (docker and podman read the reason from there). A client that passes `--log` names the
    /// runtime itself (podman: `Error: minirun: ...`), so then stderr has the bare message,
    /// as runc writes it; a person gets the prefix.
    pub fn error(&self, msg: &str) {
        // Not eprintln: a closed stderr must not panic (and abort) the runtime mid-command.
        let line = if self.to_file("error", msg, "minirun: ") {
            msg.to_string()
        } else {
            format!(
                "{}{msg}",
                stderr_format::prefix(tracing::Level::ERROR, stderr_format::colour())
            )
        };
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// A level as the `--log` file names it (runc's `warning`, not tracing's `warn`).
fn level_name(level: tracing::Level) -> String {
    match level {
        tracing::Level::WARN => "warning".to_string(),
        l => l.as_str().to_ascii_lowercase(),
    }
}

/// A line of the `--log` file: JSON (`--log-format json`, as runc writes it) or the text a
/// person reads on stderr, without colour.
fn file_line(json: bool, level: &str, msg: &str, text_prefix: &str) -> String {
    if json {
        serde_json::json!({"msg": msg, "level": level,
            "time": crate::container::state::rfc3339_now()})
        .to_string()
    } else {
        format!("{text_prefix}{msg}")
    }
}

/// The tracing subscriber's event format when a client passes `--log`: the library's warnings
/// (and `--debug` lines) go to that file, as `Log`'s own do, never to the stderr conmon and the
/// docker shim hand us, which is the container's.
pub struct LogFileFormat {
    json: bool,
}

impl LogFileFormat {
    pub fn new(g: &Global) -> LogFileFormat {
        LogFileFormat {
            json: g.log_format == "json",
        }
    }
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for LogFileFormat
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = *event.metadata().level();
        let mut msg = String::new();
        ctx.format_fields(
            tracing_subscriber::fmt::format::Writer::new(&mut msg),
            event,
        )?;
        let name = level_name(level);
        let line = file_line(self.json, &name, &msg, &stderr_format::prefix(level, false));
        writeln!(writer, "{line}")
    }
}
