//! One voice for everything minirun says on stderr: `minirun: warning: ...` for warnings,
//! `minirun: ...` for errors, the prefix once, colour only on a terminal (NO_COLOR honoured,
//! capability/grid.rs's `use_colour`). Both writers use it: `Log` (the commands' warnings and final
//! errors) and the tracing subscriber (warnings from the library).

use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The words before a message of `level`, painted when `colour`.
pub fn prefix(level: Level, colour: bool) -> String {
    let (word, paint) = match level {
        Level::ERROR => ("", "1;31"),
        Level::WARN => ("warning: ", "1;33"),
        Level::INFO => ("", ""),
        Level::DEBUG | Level::TRACE => ("debug: ", "2"),
    };
    let text = format!("minirun: {word}");
    if colour && !paint.is_empty() {
        format!("\x1b[{paint}m{}\x1b[0m ", text.trim_end())
    } else {
        text
    }
}

/// Whether stderr gets colour.
pub fn colour() -> bool {
    crate::capability::grid::use_colour(2)
}

/// The tracing subscriber's event format: the prefix, then the message and its fields.
pub struct StderrFormat {
    colour: bool,
}

impl StderrFormat {
    pub fn new() -> StderrFormat {
        StderrFormat { colour: colour() }
    }
}

impl Default for StderrFormat {
    fn default() -> Self {
        StderrFormat::new()
    }
}

impl<S, N> FormatEvent<S, N> for StderrFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "{}", prefix(*event.metadata().level(), self.colour))?;
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_once_and_colour_only_when_asked() {
        assert_eq!(prefix(Level::WARN, false), "minirun: warning: ");
        assert_eq!(prefix(Level::ERROR, false), "minirun: ");
        assert_eq!(
            prefix(Level::WARN, true),
            "\x1b[1;33mminirun: warning:\x1b[0m "
        );
        assert_eq!(prefix(Level::ERROR, true), "\x1b[1;31mminirun:\x1b[0m ");
    }
}
