//! Errors at library boundaries are typed (issue 22, item 5): `anyhow` belongs to the command
//! layer (`commands/`, `main.rs`, `cli*.rs`), which adds context and decides exit statuses
//! (`commands::Failure`). This test measures it from the source, as tests/imports.rs does for
//! the import graph: no library file uses anyhow.

mod common;
use common::source::{code_lines, command_layer, library_sources};

/// Whether the code (comment lines aside: a doc may name anyhow) uses anyhow, tests included.
fn uses_anyhow(text: &str) -> bool {
    code_lines(text)
        .any(|l| l.contains("anyhow::") || l.contains("anyhow!") || l.contains("use anyhow"))
}

/// Every library file that uses anyhow, relative to src/ (`a/b.rs`).
fn library_files_using_anyhow() -> Vec<String> {
    library_sources()
        .into_iter()
        .filter(|(_, text)| uses_anyhow(text))
        .map(|(rel, _)| rel)
        .collect()
}

#[test]
fn anyhow_stays_in_the_command_layer() {
    let found = library_files_using_anyhow();
    assert!(
        found.is_empty(),
        "library files use anyhow: give them their folder's typed error (thiserror) instead: {found:?}"
    );
}

/// The reader itself: a doc comment naming anyhow is not a use, code is.
#[test]
fn the_reader_tells_code_from_comments() {
    assert!(!uses_anyhow(
        "//! anyhow::Error stays in commands/\n/// see anyhow!\n"
    ));
    assert!(uses_anyhow("use anyhow::Result;\n"));
    assert!(uses_anyhow("    .map_err(|e| anyhow!(\"{e}\"))\n"));
    assert!(command_layer("commands/quick.rs") && command_layer("cli_error.rs"));
    assert!(!command_layer("container/launch.rs"));
}
