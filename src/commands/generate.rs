//! `minirun generate man DIR` and `minirun generate completions SHELL DIR` (hidden; `make
//! install` runs them): man pages and completion scripts made from the clap definitions by
//! clap_mangen and clap_complete, so they always describe the binary being installed.
//!
//! A subcommand of the installed binary rather than a build script or a second binary: cargo
//! cannot give one binary of a package dependencies the other lacks, a build script cannot
//! see the library's `cli` module without duplicating it, and this way `make install` needs
//! nothing but the binary it has just built.

use crate::capability::names::NAMES;
use crate::cli::{Generate, full_command};
use anyhow::{Context, Result};
use clap_complete::Shell;
use std::path::Path;

pub fn write(what: &Generate) -> Result<()> {
    match what {
        Generate::Man { dir } => man(dir),
        Generate::Completions { shell, dir } => {
            create(dir)?;
            let path = dir.join(clap_complete::Generator::file_name(shell, "minirun"));
            std::fs::write(&path, completions(*shell))
                .with_context(|| format!("writing {}", path.display()))
        }
    }
}

/// Subcommands whose first positional is an existing container (or, for caps, a pid or a
/// container): their completion offers the ids `minirun list -q` prints. create and run name a
/// new container, so they are not here.
pub const TAKES_ID: &[&str] = &[
    "ps", "caps", "logs", "start", "state", "kill", "delete", "rm", "exec", "pause", "resume",
    "update", "events",
];

/// Global flags that take a value (the parser's list), for the scripts to step over.
const GLOBAL_WITH_VALUE: &[&str] = &["--root", "--log", "--log-format", "--cgroup-manager"];

/// clap_complete's script for `shell`, and for bash, zsh and fish the container ids it cannot
/// offer itself (its dynamic completion is unstable): a function that finds whether the word
/// being completed is a subcommand's ID and then asks `minirun [--root R] list -q`.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut cmd = full_command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "minirun", &mut out);
    match shell {
        Shell::Bash => out.extend_from_slice(bash_ids(&cmd).as_bytes()),
        Shell::Fish => out.extend_from_slice(fish_ids(&cmd).as_bytes()),
        Shell::Zsh => return zsh_ids(&String::from_utf8_lossy(&out)).into_bytes(),
        _ => {}
    }
    out
}

/// zsh's script with the ID positional of each `TAKES_ID` subcommand completed by
/// `_minirun_ids` instead of `_default` (file names).
fn zsh_ids(script: &str) -> String {
    let mut out = String::new();
    let mut case = "";
    let mut done = false;
    for line in script.split_inclusive('\n') {
        let t = line.trim();
        if let Some(label) = t.strip_prefix('(').and_then(|l| l.strip_suffix(')')) {
            case = label;
            done = false;
        }
        let id_arg = ["':id", "'::id", "':target"]
            .iter()
            .any(|p| t.starts_with(p))
            && t.contains(":_default'");
        if id_arg && !done && TAKES_ID.contains(&case) {
            out.push_str(&line.replacen(":_default'", ":_minirun_ids'", 1));
            done = true;
            continue;
        }
        if t.starts_with("if [ \"$funcstack[1]\" = \"_minirun\" ]") {
            out.push_str(ZSH_IDS);
        }
        out.push_str(line);
    }
    out
}

/// The ids in the state root the command line names (--root), else the default one. The
/// words before the cursor are read from LBUFFER: _arguments has cut `words` down to the
/// subcommand's.
const ZSH_IDS: &str = r#"(( $+functions[_minirun_ids] )) ||
_minirun_ids() {
    local -a line ids root
    line=(${(z)LBUFFER})
    local i=${line[(i)--root]} r=${line[(r)--root=*]}
    (( i < ${#line} )) && root=(--root ${(Q)line[i+1]})
    [[ -n $r ]] && root=(--root ${(Q)r#--root=})
    ids=(${(f)"$(${(Q)line[1]} $root list -q 2>/dev/null)"})
    _describe -t containers 'container id' ids
}

"#;

/// Each ID-taking subcommand (aliases resolved) and its options that take a value, so a
/// script can tell `exec --cwd /x ID` (ID is the first positional) from `exec /x` .
fn value_options(cmd: &clap::Command) -> Vec<(&'static str, Vec<String>)> {
    TAKES_ID
        .iter()
        .map(|&name| {
            let sub = cmd
                .find_subcommand(name)
                .unwrap_or_else(|| panic!("no subcommand {name}"));
            let mut opts = Vec::new();
            for a in sub
                .get_arguments()
                .filter(|a| a.get_action().takes_values())
            {
                if a.is_positional() || a.is_global_set() {
                    continue;
                }
                opts.extend(
                    a.get_long_and_visible_aliases()
                        .into_iter()
                        .flatten()
                        .map(|l| format!("--{l}")),
                );
                opts.extend(
                    a.get_short_and_visible_aliases()
                        .into_iter()
                        .flatten()
                        .map(|c| format!("-{c}")),
                );
            }
            opts.sort();
            (name, opts)
        })
        .collect()
}

fn bash_ids(cmd: &clap::Command) -> String {
    let mut cases = String::new();
    for (name, opts) in value_options(cmd) {
        let pattern = if opts.is_empty() {
            "--minirun-no-such-option".to_string()
        } else {
            opts.join("|")
        };
        cases.push_str(&format!(
            "            {name}) case \"$w\" in {pattern}) expect=1 ;; -*) ;; *) npos=$((npos + 1)) ;; esac ;;\n"
        ));
    }
    format!(
        r#"
# Container ids for the subcommands that take one (added by minirun generate completions).
# Succeeds when the word being completed is such a subcommand's first positional.
_minirun_wants_id() {{
    local i w sub="" expect=0 npos=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${{COMP_WORDS[i]}}"
        # --opt=value arrives as three words: --opt, =, value.
        if [[ $w == "=" ]]; then expect=1; continue; fi
        if ((expect)); then expect=0; continue; fi
        if [[ -z $sub ]]; then
            case "$w" in
                {globals}) expect=1 ;;
                -*) ;;
                {subs}) sub=$w ;;
                *) return 1 ;;
            esac
            continue
        fi
        case "$sub" in
{cases}        esac
    done
    [[ -n $sub && $expect == 0 && $npos == 0 && ${{COMP_WORDS[COMP_CWORD]}} != -* ]]
}}

# The ids in the state root the command line names (--root), else the default one.
_minirun_ids() {{
    local i root=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${{COMP_WORDS[i]}} == --root ]]; then
            root="${{COMP_WORDS[i + 1]}}"
            [[ $root == "=" ]] && root="${{COMP_WORDS[i + 2]}}"
        fi
    done
    "${{COMP_WORDS[0]}}" ${{root:+--root "$root"}} list -q 2>/dev/null
}}

_minirun_with_ids() {{
    _minirun "$@"
    if _minirun_wants_id; then
        COMPREPLY=( $(compgen -W "$(_minirun_ids)" -- "${{COMP_WORDS[COMP_CWORD]}}") )
        # No id matches: offer nothing rather than file names.
        [[ ${{BASH_VERSINFO[0]}} -ge 4 ]] && compopt +o default +o bashdefault 2>/dev/null
    fi
    return 0
}}

if [[ "${{BASH_VERSINFO[0]}}" -eq 4 && "${{BASH_VERSINFO[1]}}" -ge 4 || "${{BASH_VERSINFO[0]}}" -gt 4 ]]; then
    complete -F _minirun_with_ids -o nosort -o bashdefault -o default minirun
else
    complete -F _minirun_with_ids -o bashdefault -o default minirun
fi
"#,
        globals = GLOBAL_WITH_VALUE.join("|"),
        subs = TAKES_ID.join("|"),
    )
}

fn fish_ids(cmd: &clap::Command) -> String {
    let mut cases = String::new();
    for (name, opts) in value_options(cmd) {
        cases.push_str(&format!("            case {name}\n"));
        if !opts.is_empty() {
            cases.push_str(&format!(
                "                if contains -- $w {}\n                    set expect 1\n                    continue\n                end\n",
                opts.join(" ")
            ));
        }
    }
    format!(
        r#"
# Container ids for the subcommands that take one (added by minirun generate completions).
function __minirun_wants_id
    set -l sub
    set -l expect 0
    set -l root
    set -l words (commandline -opc)
    for w in $words[2..-1]
        if test $expect -eq 1
            set expect 0
            continue
        end
        if test -z "$sub"
            switch $w
                case {globals}
                    set expect 1
                case '-*'
                case {subs}
                    set sub $w
                case '*'
                    return 1
            end
            continue
        end
        switch $sub
{cases}        end
        switch $w
            case '-*'
            case '*'
                return 1
        end
    end
    test -n "$sub" -a $expect -eq 0
end

function __minirun_ids
    set -l words (commandline -opc)
    set -l root
    set -l i (contains -i -- --root $words)
    and set root --root $words[(math $i + 1)]
    for w in $words
        string match -q -- '--root=*' $w; and set root --root (string replace -- '--root=' '' $w)
    end
    $words[1] $root list -q 2>/dev/null
end

complete -c minirun -n __minirun_wants_id -f -a "(__minirun_ids)"

# What clap_complete's script misses: explain's argument, and the quick form's capability flags
# (its condition's argparse fails while the flag still lacks its value).
complete -c minirun -n "__fish_minirun_using_subcommand explain" -f -a "{caps}"
complete -c minirun -n "not __fish_seen_subcommand_from {all_subs}" -l cap-add -l cap-drop -r -f -a "{caps}"
"#,
        globals = GLOBAL_WITH_VALUE.join(" "),
        subs = TAKES_ID.join(" "),
        caps = std::iter::once("all")
            .chain(NAMES)
            .collect::<Vec<_>>()
            .join(" "),
        all_subs = cmd
            .get_subcommands()
            .flat_map(|s| std::iter::once(s.get_name()).chain(s.get_all_aliases()))
            .collect::<Vec<_>>()
            .join(" "),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn script(shell: Shell) -> String {
        String::from_utf8(completions(shell)).unwrap()
    }

    #[test]
    fn capability_flags_complete_capability_names() {
        let bash = script(Shell::Bash);
        let all = format!("all {}", NAMES.join(" "));
        for flag in ["--cap-add", "--cap-drop", "--cap", "-c"] {
            let case = format!("{flag})\n                    COMPREPLY=($(compgen -W \"{all}\"");
            assert!(bash.contains(&case), "{flag}");
        }
        assert!(bash.contains(&format!("defaults {all}")), "minimize --from");
        let zsh = script(Shell::Zsh);
        assert!(
            zsh.contains("--cap-add=[") && zsh.contains("sys_admin"),
            "{zsh}"
        );
        let fish = script(Shell::Fish);
        let zsh_ids = zsh.matches(":_minirun_ids'").count();
        assert_eq!(zsh_ids, TAKES_ID.len() - 1, "rm is delete's alias: {zsh}");
        let (_, after) = fish.split_once("-l cap-add").unwrap();
        let entry = after.split("\ncomplete ").next().unwrap();
        assert!(entry.contains("\nnet_raw\\t"), "{entry}");
    }

    #[test]
    fn the_id_subcommands_exist_and_their_value_options_are_found() {
        let mut cmd = full_command();
        cmd.build();
        let opts = value_options(&cmd);
        assert_eq!(opts.len(), TAKES_ID.len());
        let exec = &opts.iter().find(|(n, _)| *n == "exec").unwrap().1;
        for o in ["--cwd", "-u", "--user", "-c", "--cap", "--process"] {
            assert!(exec.contains(&o.to_string()), "{o}: {exec:?}");
        }
        assert!(
            !exec.contains(&"--detach".to_string()),
            "a flag takes no value"
        );
        let delete = &opts.iter().find(|(n, _)| *n == "rm").unwrap().1;
        assert!(delete.is_empty(), "{delete:?}");
        for sub in TAKES_ID {
            assert!(
                cmd.find_subcommand(sub)
                    .unwrap()
                    .get_positionals()
                    .next()
                    .is_some(),
                "{sub} takes a positional"
            );
        }
    }

    #[test]
    fn capability_values_are_left_to_names_parse() {
        for args in [
            "minirun --cap-add 7 r true",
            "minirun --cap-drop=CAP_CHOWN,kill r true",
            "minirun --cap-add nonsense r true",
            "minirun explain ip link set",
            "minirun minimize --from 0,7 r true",
        ] {
            let argv = args.split(' ').map(Into::into).collect();
            assert!(crate::cli::parse(argv).is_ok(), "{args}");
        }
    }
}
