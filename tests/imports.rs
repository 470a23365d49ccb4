//! The import graph is a tree: docs/design.md says so, and this test measures it.
//!
//! Read from the source text: a file depends on every module it names by path (`crate::a::b`,
//! `super::c`, `self::d`), whether in a `use` or inline. Three rules:
//! - no circle between files (a file's own submodules and `mod` lines are not imports);
//! - no circle between top-level parts (a folder such as `container/`, or a file such as
//!   `spec.rs`): arrows between parts point one way;
//! - clap is named only by the command layer (`cli.rs`, `cli_error.rs`, `commands/`, `main.rs`).

mod common;
use common::source::{library_sources, rs_files, src};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `src/a/b.rs` → `a::b`; `src/a/mod.rs` → `a`; `src/lib.rs` and `src/main.rs` → `` and `main`.
fn module_of(rel: &Path) -> String {
    let s = rel.with_extension("").to_string_lossy().replace('/', "::");
    match s.as_str() {
        "lib" => String::new(),
        _ => s.strip_suffix("::mod").unwrap_or(&s).to_string(),
    }
}

/// Comments and string literals removed, so a doc line naming `crate::x` is not an import.
fn code_only(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut cut = line;
        if let Some(i) = line.find("//") {
            // Keep `//` inside a string literal: count the quotes before it.
            if line[..i].matches('"').count() % 2 == 0 {
                cut = &line[..i];
            }
        }
        let mut in_str = false;
        let mut prev = ' ';
        for c in cut.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// Every path-like token `a::b::c` (identifiers joined by `::`), with `{...}` groups of a `use`
/// expanded one level.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut i = 0;
    while i < bytes.len() {
        if is_ident(bytes[i]) && (i == 0 || !is_ident(bytes[i - 1]) && bytes[i - 1] != ':') {
            let mut segs = Vec::new();
            let mut j = i;
            loop {
                let start = j;
                while j < bytes.len() && is_ident(bytes[j]) {
                    j += 1;
                }
                segs.push(bytes[start..j].iter().collect::<String>());
                if j + 2 < bytes.len() && bytes[j] == ':' && bytes[j + 1] == ':' {
                    if is_ident(bytes[j + 2]) {
                        j += 2;
                        continue;
                    }
                    if bytes[j + 2] == '{' {
                        // use a::{b, c::d}: each member joined to the prefix.
                        let end = (j + 2..bytes.len())
                            .find(|&k| bytes[k] == '}')
                            .unwrap_or(j + 2);
                        let inner: String = bytes[j + 3..end].iter().collect();
                        for member in inner.split(',') {
                            let m: Vec<String> = member
                                .trim()
                                .split("::")
                                .map(|s| s.trim().to_string())
                                .filter(|s| !s.is_empty() && s.chars().all(is_ident))
                                .collect();
                            if !m.is_empty() {
                                let mut p = segs.clone();
                                p.extend(m);
                                out.push(p);
                            }
                        }
                    }
                }
                break;
            }
            if segs.len() > 1 {
                out.push(segs);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

struct Graph {
    /// module name → the modules it imports
    edges: BTreeMap<String, BTreeSet<String>>,
}

fn graph() -> Graph {
    let all = rs_files(&src());
    let modules: BTreeMap<String, PathBuf> = all
        .iter()
        .map(|p| (module_of(p.strip_prefix(src()).unwrap()), p.clone()))
        .collect();
    let mut edges = BTreeMap::new();
    for (module, path) in &modules {
        if module == "main" {
            continue; // the binary's root sees the library as `minirun::`, outside the graph
        }
        let code = code_only(&std::fs::read_to_string(path).unwrap());
        let is_dir_module = path.ends_with("mod.rs") || module.is_empty();
        let mut deps = BTreeSet::new();
        for p in paths_in(&code) {
            let base: Vec<String> = if module.is_empty() {
                vec![]
            } else {
                module.split("::").map(str::to_owned).collect()
            };
            // The module a path starts from.
            let (mut at, rest): (Vec<String>, &[String]) = match p[0].as_str() {
                "crate" => (vec![], &p[1..]),
                "super" => {
                    let mut b = base.clone();
                    // A mod.rs is its folder: super is the folder's parent.
                    if !is_dir_module || !b.is_empty() {
                        b.pop();
                    }
                    let mut rest = &p[1..];
                    while rest.first().is_some_and(|s| s == "super") {
                        b.pop();
                        rest = &rest[1..];
                    }
                    (b, rest)
                }
                "self" if is_dir_module => (base.clone(), &p[1..]),
                "self" => {
                    let mut b = base.clone();
                    b.pop();
                    (b, &p[1..])
                }
                _ => continue,
            };
            // The longest prefix that names a module file.
            let mut found = None;
            for seg in rest {
                at.push(seg.clone());
                let name = at.join("::");
                if modules.contains_key(&name) {
                    found = Some(name);
                } else {
                    break;
                }
            }
            // Nothing deeper: the path names an item of the module it starts from.
            let target = found.unwrap_or_else(|| {
                at.pop();
                at.join("::")
            });
            if &target != module
                && !target.starts_with(&format!("{module}::"))
                && !(module.is_empty())
            {
                deps.insert(target);
            }
        }
        edges.insert(module.clone(), deps);
    }
    Graph { edges }
}

/// One circle in `edges`, if there is any, as the list of its nodes.
fn find_circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|s| s == m).unwrap();
                    let mut c = stack[from..].to_vec();
                    c.push(m.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(m, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in edges.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0
            && let Some(c) = visit(n, edges, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

/// The top-level part a module belongs to: `container::launch` → `container`.
fn part(module: &str) -> String {
    module.split("::").next().unwrap_or("").to_string()
}

#[test]
fn no_file_imports_another_that_imports_it_back() {
    let g = graph();
    // A folder's mod.rs re-exporting a child is the module tree, not a dependency of the
    // folder on itself: edges into and out of a part's own mod.rs are left out here, and the
    // part-level test below sees them.
    let edges: BTreeMap<String, BTreeSet<String>> = g
        .edges
        .iter()
        .map(|(m, deps)| {
            let deps = deps
                .iter()
                .filter(|d| !(m.starts_with(&format!("{d}::")) || d.starts_with(&format!("{m}::"))))
                .cloned()
                .collect();
            (m.clone(), deps)
        })
        .collect();
    if let Some(c) = find_circle(&edges) {
        panic!("files import each other in a circle: {}", c.join(" → "));
    }
}

#[test]
fn top_level_parts_point_one_way() {
    let g = graph();
    let mut parts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, deps) in &g.edges {
        let from = part(m);
        if from.is_empty() {
            continue;
        }
        for d in deps {
            let to = part(d);
            if !to.is_empty() && to != from {
                parts.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    if let Some(c) = find_circle(&parts) {
        let why: Vec<String> = c
            .windows(2)
            .map(|w| {
                let files: Vec<&String> = g
                    .edges
                    .iter()
                    .filter(|(m, deps)| part(m) == w[0] && deps.iter().any(|d| part(d) == w[1]))
                    .map(|(m, _)| m)
                    .collect();
                format!("{} → {} (from {files:?})", w[0], w[1])
            })
            .collect();
        panic!(
            "top-level parts import each other in a circle: {}",
            why.join("; ")
        );
    }
}

#[test]
fn only_the_command_layer_names_clap() {
    let offenders: Vec<String> = library_sources()
        .into_iter()
        .filter(|(_, text)| paths_in(&code_only(text)).iter().any(|p| p[0] == "clap"))
        .map(|(rel, _)| rel)
        .collect();
    assert!(
        offenders.is_empty(),
        "clap below the command layer, in {offenders:?}: the library takes plain values"
    );
}
