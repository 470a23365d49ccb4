//! Errors at library boundaries are typed (issue 22, item 5): `anyhow` belongs to the command
//! layer (`commands/`, `main.rs`, `cli*.rs`), which adds context and decides exit statuses
//! (`commands::Failure`). This test measures it from the source, as tests/imports.rs does for
//! the import graph: no library file uses anyhow.

use std::path::{Path, PathBuf};

/// Where anyhow belongs: the command layer.
fn command_layer(rel: &str) -> bool {
    rel.starts_with("commands/") || rel == "main.rs" || rel.starts_with("cli")
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Whether the code (comment lines aside: a doc may name anyhow) uses anyhow, tests included.
fn uses_anyhow(text: &str) -> bool {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .any(|l| l.contains("anyhow::") || l.contains("anyhow!") || l.contains("use anyhow"))
}

/// Every library file that uses anyhow, relative to src/ (`a/b.rs`).
fn library_files_using_anyhow() -> Vec<String> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut out: Vec<String> = files
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            (rel, std::fs::read_to_string(p).unwrap())
        })
        .filter(|(rel, text)| !command_layer(rel) && uses_anyhow(text))
        .map(|(rel, _)| rel)
        .collect();
    out.sort();
    out
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
