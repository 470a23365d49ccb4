//! clap's errors as one line that keeps what matters: clap spreads a missing argument's name,
//! the valid values and its suggestion over the lines after the first, which minirun's one-line
//! errors used to cut off.

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// The one line minirun prints (after `minirun: `) for a command line clap refused.
pub fn one_line(e: &clap::Error) -> String {
    let strings = |k: ContextKind| match e.get(k) {
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    let usage = match e.get(ContextKind::Usage) {
        Some(ContextValue::StyledStr(s)) => s.to_string(),
        _ => String::new(),
    };
    let usage = usage.trim().trim_start_matches("Usage:").trim();
    // The command's path, `minirun caps`, for the help to point at.
    let command: Vec<&str> = usage
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .take_while(|w| !w.starts_with(['[', '<']))
        .collect();
    let help = match command.join(" ") {
        c if c.is_empty() => "minirun --help".to_string(),
        c => format!("{c} --help"),
    };
    let first_line = || {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or("bad arguments").to_string();
        first
            .trim_start_matches("error: ")
            .trim_end_matches(':')
            .to_string()
    };
    if first_line().contains("did you mean") {
        return first_line();
    }
    match e.kind() {
        ErrorKind::MissingRequiredArgument => format!(
            "{} needs {} (usage: {})",
            command.get(1..).unwrap_or_default().join(" "),
            strings(ContextKind::InvalidArg).join(" "),
            usage.lines().next().unwrap_or("")
        ),
        ErrorKind::InvalidValue => {
            let valid = strings(ContextKind::ValidValue);
            let mut line = first_line();
            if !valid.is_empty() {
                line.push_str(&format!(" (valid: {})", valid.join(", ")));
            }
            line
        }
        ErrorKind::UnknownArgument | ErrorKind::InvalidSubcommand => {
            let suggested = [ContextKind::SuggestedArg, ContextKind::SuggestedSubcommand]
                .into_iter()
                .flat_map(strings)
                .next();
            match suggested {
                Some(s) => format!("{} (did you mean '{s}'?)", first_line()),
                None => format!("{} (see {help})", first_line()),
            }
        }
        _ => format!("{} (see {help})", first_line()),
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;

    fn err(args: &[&str]) -> String {
        let mut argv = vec!["minirun"];
        argv.extend(args);
        one_line(&crate::cli::parse(argv.iter().map(Into::into).collect()).unwrap_err())
    }

    #[test]
    fn a_missing_argument_is_named_with_the_usage() {
        assert_eq!(
            err(&["caps"]),
            "caps needs <TARGET> (usage: minirun caps <TARGET>)"
        );
        assert_eq!(
            err(&["kill"]),
            "kill needs <ID> (usage: minirun kill <ID> [SIGNAL])"
        );
        assert!(err(&["minimize"]).starts_with("minimize needs <ROOTFS> <COMMAND>..."));
    }

    #[test]
    fn valid_values_and_suggestions_are_kept() {
        assert_eq!(
            err(&["--network", "bridge", "r", "c"]),
            "invalid value 'bridge' for '--network <NETWORK>' (valid: none, host)"
        );
        assert_eq!(
            err(&["ps", "--jsn"]),
            "unexpected argument '--jsn' found (did you mean '--json'?)"
        );
        assert_eq!(
            err(&["experimnet", "/tmp"]),
            "\"experimnet\" is neither a subcommand nor a directory (did you mean \"experiment\"?)"
        );
    }
}
