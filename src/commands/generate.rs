//! `minirun generate man DIR` and `minirun generate completions SHELL DIR` (hidden; `make
//! install` runs them): man pages and completion scripts made from the clap definitions by
//! clap_mangen and clap_complete, so they always describe the binary being installed.
//!
//! A subcommand of the installed binary rather than a build script or a second binary: cargo
//! cannot give one binary of a package dependencies the other lacks, a build script cannot
//! see the library's `cli` module without duplicating it, and this way `make install` needs
//! nothing but the binary it has just built.

use crate::cli::{Generate, full_command};
use anyhow::{Context, Result};
use std::path::Path;

pub fn write(what: &Generate) -> Result<()> {
    match what {
        Generate::Man { dir } => man(dir),
        Generate::Completions { shell, dir } => {
            create(dir)?;
            let mut cmd = full_command();
            clap_complete::generate_to(*shell, &mut cmd, "minirun", dir)
                .with_context(|| format!("writing {shell} completions into {}", dir.display()))?;
            Ok(())
        }
    }
}

fn create(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// minirun.1 for the quick form (with the subcommands listed), and minirun-SUB.1 for each
/// visible subcommand, as git and podman ship theirs.
fn man(dir: &Path) -> Result<()> {
    create(dir)?;
    let cmd = full_command();
    let mut pages = vec![("minirun.1".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("minirun-{}", sub.get_name());
        let bin = format!("minirun {}", sub.get_name());
        pages.push((format!("{name}.1"), sub.clone().name(name).bin_name(bin)));
    }
    for (i, (file, page)) in pages.into_iter().enumerate() {
        let path = dir.join(&file);
        let mut text = Vec::new();
        let man = clap_mangen::Man::new(page);
        if i == 0 {
            top_page(&man, &mut text)
        } else {
            man.render(&mut text)
        }
        .with_context(|| format!("rendering {file}"))?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// minirun.1: clap_mangen's sections, with the examples as a no-fill EXAMPLES section
/// (its EXTRA section would refill the aligned lines).
fn top_page(man: &clap_mangen::Man, out: &mut Vec<u8>) -> std::io::Result<()> {
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    let (examples, rest) = crate::cli::QUICK_EXAMPLES
        .split_once("\n\n")
        .unwrap_or((crate::cli::QUICK_EXAMPLES, ""));
    let lines = examples.lines().skip(1).map(roff_line);
    let mut section = String::from(".SH EXAMPLES\n.nf\n");
    for l in lines {
        section.push_str(&l);
        section.push('\n');
    }
    section.push_str(".fi\n.PP\n");
    section.push_str(&rest.replace('\n', " ").replace('\\', "\\e"));
    section.push('\n');
    out.extend_from_slice(section.as_bytes());
    man.render_version_section(out)
}

/// One line of literal text for roff: backslashes escaped, a leading . or ' made inert.
fn roff_line(l: &str) -> String {
    let l = l.replace('\\', "\\e");
    if l.starts_with(['.', '\'']) {
        format!("\\&{l}")
    } else {
        l
    }
}
