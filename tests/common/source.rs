//! The project's own source, as the tests that measure it read it (tests/imports.rs,
//! tests/error_types.rs, tests/one_voice.rs).

use std::path::{Path, PathBuf};

pub fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `dir`.
pub fn rs_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rs_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// The command layer: where anyhow, clap and writing to stdout or stderr belong.
pub fn command_layer(rel: &str) -> bool {
    rel.starts_with("commands/") || rel == "main.rs" || rel.starts_with("cli")
}

/// Every library file (outside the command layer) relative to src/ (`a/b.rs`), with its text,
/// sorted by path.
pub fn library_sources() -> Vec<(String, String)> {
    let src = src();
    let mut out: Vec<(String, String)> = rs_files(&src)
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            (rel, std::fs::read_to_string(p).unwrap())
        })
        .filter(|(rel, _)| !command_layer(rel))
        .collect();
    out.sort();
    out
}

/// The lines of `text` that are not comment lines (a doc may name what the code may not use).
pub fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.trim_start().starts_with("//"))
}
