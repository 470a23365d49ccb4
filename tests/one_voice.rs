//! Output goes through one channel (issue 22, item 5): outside the command layer
//! (`commands/`, `main.rs`, `cli*.rs`) a warning or error a user sees is a `tracing` event,
//! which `commands::stderr_format` gives the one voice (`minirun: warning: …`, colour on a
//! terminal, NO_COLOR). This test measures it from the source, as tests/error_types.rs does
//! for anyhow: a library file that writes to stdout or stderr itself is on the list below,
//! with the number of such lines and why; any other is a stray.

mod common;
use common::source::{code_lines, command_layer, library_sources};
use common::*;

/// The library files that write themselves, how many lines do, and why they may.
const WRITERS: &[(&str, usize, &str)] = &[
    (
        "trace.rs",
        1,
        "the --trace steps: the second channel, printed by the child too",
    ),
    (
        "container/cap_trace.rs",
        2,
        "--trace's capability grids, beside the steps they belong to",
    ),
    (
        "trace_caps/mod.rs",
        2,
        "--trace-caps's live lines and summary: the report asked for, not messages",
    ),
    (
        "lab/mod.rs",
        4,
        "the lab's report on stdout and its progress bar on a terminal's stderr",
    ),
    (
        "container/child.rs",
        1,
        "the child's failure once the runtime has gone: the container's stderr, for conmon or the shim",
    ),
    (
        "container/reaper.rs",
        3,
        "--init's PID 1 after the runtime has gone: the container's stderr",
    ),
];

/// The lines of code (comments aside: a doc may name eprintln!) that write to stdout or
/// stderr themselves, tests included.
fn writing_lines(text: &str) -> usize {
    const WRITES: &[&str] = &["print!(", "println!(", "io::stdout()", "io::stderr()"];
    code_lines(text)
        .filter(|l| WRITES.iter().any(|w| l.contains(w)))
        .count()
}

/// Every library file that writes itself, relative to src/ (`a/b.rs`), with its count.
fn library_writers() -> Vec<(String, usize)> {
    library_sources()
        .into_iter()
        .map(|(rel, text)| (rel, writing_lines(&text)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[test]
fn the_library_speaks_through_tracing() {
    let mut allowed: Vec<(String, usize)> = WRITERS
        .iter()
        .map(|(f, n, _)| (f.to_string(), *n))
        .collect();
    allowed.sort();
    assert_eq!(
        library_writers(),
        allowed,
        "a library file writes to stdout or stderr itself: say a warning or error with \
         tracing::warn!/error! (the one voice), or return it to the command layer; if it \
         truly cannot, add it to WRITERS in tests/one_voice.rs with why"
    );
}

/// The reader itself: a comment naming eprintln! is not a write, code is.
#[test]
fn the_reader_tells_code_from_comments() {
    assert_eq!(
        writing_lines("/// never eprintln!(\"x\") here\n// print!(\n"),
        0
    );
    assert_eq!(writing_lines("    eprintln!(\"minirun: {e}\");\n"), 1);
    assert_eq!(writing_lines("    eprint!(\"{}\", grid);\n"), 1);
    assert_eq!(
        writing_lines("let _ = writeln!(std::io::stderr(), \"x\");\n"),
        1
    );
    assert!(command_layer("commands/log.rs") && command_layer("cli_error.rs"));
    assert!(!command_layer("lab/minimize.rs"));
}

/// A lab warning is said in the one voice: `experiment` where the capability tracer cannot
/// run (a pure v1 host here: no cgroup v2 to filter on) says why once, as a warning, and
/// still prints its table.
#[test]
fn a_lab_warning_speaks_with_the_one_voice() {
    let sb = Sandbox::new("voice-lab");
    let script = "umount /sys/fs/cgroup/unified || exit 99\n\
                  exec \"$M\" --root \"$R\" experiment --cap chown \"$F\"";
    let out = in_private_mount_ns(&sb, script);
    assert!(
        ok(&out).contains("1 capability: 1 gated"),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "minirun: warning: experiment: --trace-caps needs the container's cgroup v2"
        ) && err.ends_with("; no CHECKED column\n"),
        "{err}"
    );
}
