//! The README's promises that a test can check without a container: each command in its quick
//! start installs what it needs before it builds (a fresh machine has no libseccomp.a), every
//! page it links exists, and docs/design.md's map of src/ names exactly the files there are.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// What `make -n -B TARGET` would run, one command per line, in order.
fn make_plan(target: &str) -> Vec<String> {
    let out = Command::new("make")
        .args(["-n", "-B", target])
        .current_dir(repo())
        .output()
        .expect("running make (package make)");
    assert!(
        out.status.success(),
        "make -n -B {target} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The first line of `plan` containing `needle`, or a panic naming both.
fn position(plan: &[String], needle: &str, target: &str) -> usize {
    plan.iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("make {target} never runs a line with {needle:?}:\n{plan:#?}"))
}

#[test]
fn every_readme_make_command_installs_the_build_packages_before_cargo_builds() {
    // ea9f574's `make demo`, `make install` and `make build` ran cargo first, and the link
    // failed with "could not find native static library seccomp" on a fresh machine.
    let readme = read("README.md");
    let targets: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.trim().strip_prefix("make "))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    for t in ["build", "fixtures", "demo", "install", "test"] {
        assert!(targets.contains(&t), "README's quick start lost `make {t}`");
    }
    for target in targets {
        let plan = make_plan(target);
        let Some(cargo) = plan.iter().position(|l| {
            l.contains("cargo build") || l.contains("cargo test") || l.contains("cargo clippy")
        }) else {
            continue; // a target that builds nothing
        };
        let apt = position(&plan, "libseccomp-dev", target);
        assert!(
            apt < cargo,
            "make {target} runs cargo (line {cargo}) before installing libseccomp-dev (line {apt})"
        );
    }
}

#[test]
fn every_page_the_readme_links_exists() {
    let readme = read("README.md");
    let mut checked = 0;
    for (i, _) in readme.match_indices("](") {
        let rest = &readme[i + 2..];
        let target = &rest[..rest.find(')').expect("unclosed link")];
        if target.starts_with("http") || target.starts_with('#') {
            continue;
        }
        assert!(
            repo().join(target).exists(),
            "README links {target}, which does not exist"
        );
        checked += 1;
    }
    assert!(checked >= 8, "README links only {checked} local pages");
    let lines = readme.lines().count();
    assert!(
        lines < 250,
        "README has {lines} lines; reference material belongs in docs/"
    );
}

fn rust_files(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(
                path.strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

#[test]
fn the_design_page_maps_every_source_file() {
    let design = read("docs/design.md");
    let block = design
        .split("```")
        .find(|b| b.trim_start().starts_with("src/"))
        .expect("docs/design.md has no src/ map in a code block");
    // The map is an indented tree: a line ending in '/' opens a folder at its indentation.
    let mut listed = Vec::new();
    let mut folders: Vec<(usize, String)> = Vec::new();
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let indent = line.len() - line.trim_start().len();
        let name = line.split_whitespace().next().unwrap();
        folders.retain(|(i, _)| *i < indent);
        let prefix: String = folders.iter().map(|(_, f)| f.as_str()).collect();
        if let Some(folder) = name.strip_suffix('/') {
            folders.push((indent, format!("{folder}/")));
        } else if name.ends_with(".rs") {
            listed.push(format!("{prefix}{name}"));
        }
    }
    let mut actual = Vec::new();
    rust_files(&repo().join("src"), &repo(), &mut actual);
    let listed_folders: Vec<String> = block
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.ends_with('/'))
        .map(str::to_owned)
        .collect();
    // mod.rs files are the module tree itself; the map names their folder.
    for file in actual.iter().filter(|f| !f.ends_with("/mod.rs")) {
        let named = listed.contains(file)
            // A folder the map describes in one line (its files summarised) covers its files.
            || listed_folders.iter().any(|f| {
                let f = f.trim_end_matches('/');
                file.starts_with(&format!("src/{f}/"))
                    && !listed.iter().any(|l| l.starts_with(&format!("src/{f}/")))
            });
        assert!(
            named,
            "docs/design.md's map of src/ does not mention {file}"
        );
    }
    for file in &listed {
        assert!(
            actual.contains(file),
            "docs/design.md's map names {file}, which does not exist"
        );
    }
}

/// Flags are documented once, where clap reads them (`--help`, the man pages): no page of the
/// README or docs/ keeps a table of minirun's flags and what they mean, which drifted from the
/// binary before. A table may still name a flag in a row about something else (a device rule,
/// an error), so the check is the header a flag table has.
#[test]
fn flags_are_documented_once_by_the_binary() {
    let mut pages = vec![repo().join("README.md")];
    for e in std::fs::read_dir(repo().join("docs")).unwrap() {
        pages.push(e.unwrap().path());
    }
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        for line in text.lines() {
            let first = line
                .trim_start_matches('|')
                .split('|')
                .next()
                .unwrap_or("")
                .trim()
                .to_lowercase();
            assert!(
                !(line.starts_with('|') && (first == "flag" || first == "option")),
                "{} has a flag table ({line}): say it in the flag's doc comment in src/cli.rs",
                page.display()
            );
        }
    }
}
