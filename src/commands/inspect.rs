//! `minirun ps`, `minirun caps`, `minirun explain`: the workshop's step 1 built in.

use super::detach;
use crate::capability as cap;
use crate::capability::grid;
use crate::cli::{CapsArgs, ExplainArgs, Global, PsArgs};
use crate::container::state::{Status, Store};
use crate::container::{in_root, procfs};
use crate::lab::explain;
use crate::lab::pscap;
use anyhow::{Context, Result, bail};

pub fn ps(global: &Global, args: &PsArgs) -> Result<()> {
    // An ordinary user lists its own containers (its default --root is its own: see
    // container::rootless), whose processes it may read.
    let store = Store::new(&global.root);
    let states = match args.id.as_deref() {
        Some(id) => vec![store.load(id)?],
        None => store.list(),
    };
    if args.format.as_deref() == Some("json") {
        // runc's `ps --format json ID` (what `docker top` calls): the pids only.
        let pids: Vec<i32> = states
            .iter()
            .filter(|s| store.status(s) != Status::Stopped)
            .flat_map(|s| super::control::pids_of(&store, s))
            .collect();
        println!("{}", serde_json::to_string(&pids)?);
        return Ok(());
    }
    let last = cap::kernel_last_cap();
    // The container column first, as wide as the longest id listed (Docker's 12 at least): two
    // containers' processes are told apart by it, and an id is never cut to look like another.
    let width = states.iter().map(|s| s.id.len()).max().unwrap_or(0).max(12);
    if !args.json {
        println!("{:<width$}  {}", "container", pscap::HEADER);
    }
    for st in &states {
        let status = store.status(st);
        if status == Status::Stopped {
            if args.all || args.id.is_some() {
                let exit = std::fs::read_to_string(store.dir(&st.id).join(detach::EXIT_STATUS))
                    .ok()
                    .and_then(|t| t.trim().parse::<i32>().ok());
                if args.json {
                    let v = serde_json::json!({"container": st.id, "status": "stopped", "exit_status": exit});
                    println!("{v}");
                } else {
                    let exit = exit.map_or(String::new(), |c| format!(", exit status {c}"));
                    println!(
                        "{:<width$}  {:<5} {:<5} {:<10}  {:<18}  (stopped{exit})",
                        st.id, "-", "-", "-", "-"
                    );
                }
            }
            continue;
        }
        let users = container_users(st.pid);
        for pid in super::control::pids_of(&store, st) {
            let map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap_or_default();
            let name = |uid| pscap::passwd_lookup(&users, pscap::uid_inside(&map, uid));
            let Some(p) = pscap::read_proc(pid, &name) else {
                continue;
            };
            if args.json {
                let s = &p.sets;
                let v = serde_json::json!({
                    "container": st.id, "status": status.as_str(), "ppid": p.ppid, "pid": p.pid,
                    "name": p.user, "command": p.command, "user_namespace": p.in_child_userns,
                    "effective": s.effective.short_names(), "permitted": s.permitted.short_names(),
                    "inheritable": s.inheritable.short_names(), "bounding": s.bounding.short_names(),
                    "ambient": s.ambient.short_names(),
                });
                println!("{v}");
            } else {
                println!("{:<width$}  {}", st.id, pscap::ps_line(&p, last));
            }
        }
    }
    Ok(())
}

/// The most of a container's /etc/passwd `ps` reads: far beyond any real one.
const PASSWD_CAP: u64 = 1 << 20;

/// The container's own /etc/passwd as its init sees it (through /proc/PID/root, so its
/// mounts count; resolved inside that root, so a symlink cannot point at the host's), so a
/// uid is named as the container names it; empty when there is none or it is not a plain
/// file: the container controls it, see `in_root::read_untrusted`.
fn container_users(pid: i32) -> String {
    let Ok(root) = nix::fcntl::open(
        format!("/proc/{pid}/root").as_str(),
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) else {
        return String::new();
    };
    match in_root::read_untrusted(&root, std::path::Path::new("/etc/passwd"), PASSWD_CAP) {
        Ok(text) => text.unwrap_or_default(),
        Err(e) => {
            let e = crate::error_chain::one_line(&e);
            tracing::debug!("process {pid}: /etc/passwd not read: {e}");
            String::new()
        }
    }
}

pub fn caps(global: &Global, args: &CapsArgs) -> Result<()> {
    let pid = match args.target.parse::<i32>() {
        Ok(p) => p,
        Err(_) => {
            let store = Store::new(&global.root);
            // A name that is no record here was perhaps made under another --root, or meant
            // as a pid: say both ways in.
            let st = store.load(&args.target).map_err(|e| {
                if store.dir(&args.target).join("state.json").exists() {
                    anyhow::Error::new(e)
                } else {
                    anyhow::anyhow!(
                        "no container \"{}\" under --root {} (nor is it a pid): give the --root it was started with, or a pid",
                        args.target,
                        global.root.display()
                    )
                }
            })?;
            if store.status(&st) == Status::Stopped {
                bail!("container \"{}\" is not running", args.target);
            }
            st.pid
        }
    };
    let text = procfs::status_text(Some(pid)).with_context(|| format!("process {pid}"))?;
    let view = grid::View::from_status(&text, procfs::ns_differs(pid, "user"))
        .with_context(|| format!("parsing /proc/{pid}/status"))?;
    // Which user namespace the sets belong to, and how its ids map to the host's.
    let ns = procfs::ns_link(Some(pid), "user").map_or("?".into(), |l| l.display().to_string());
    let map = |f: &str| std::fs::read_to_string(format!("/proc/{pid}/{f}")).unwrap_or_default();
    let (uid_map, gid_map) = (map("uid_map"), map("gid_map"));
    if args.json {
        let mut j = grid::json(pid, &view);
        j["user_namespace_id"] = ns.into();
        j["uid_map"] = crate::lab::userns::describe_map(&uid_map).into();
        j["gid_map"] = crate::lab::userns::describe_map(&gid_map).into();
        println!("{j}");
        return Ok(());
    }
    let name = procfs::command_name(pid).unwrap_or_default();
    println!("process {pid} ({name})");
    let host = !view.other_userns;
    println!(
        "{}",
        crate::lab::userns::owner_line(&ns, host, &uid_map, &gid_map)
    );
    print!(
        "{}",
        grid::render(&view, cap::kernel_last_cap(), grid::use_colour(1))
    );
    // The same sets as /proc/PID/status holds them, to connect the grid with the raw hex.
    let s = view.sets;
    for (k, v) in [
        ("effective", s.effective),
        ("permitted", s.permitted),
        ("inheritable", s.inheritable),
        ("bounding", s.bounding),
        ("ambient", s.ambient),
    ] {
        let names = if v.is_empty() {
            "(none)".into()
        } else {
            v.names()
        };
        println!("{k:<12} {:016x}  {names}", v.0);
    }
    Ok(())
}

/// explain's table fills the terminal it is printed on (else COLUMNS, else 100 columns).
fn table_width() -> usize {
    super::tty::window(1)
        .map(|(_, cols)| cols as usize)
        .or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
        .unwrap_or(explain::TABLE_WIDTH)
}

pub fn explain(args: &ExplainArgs) -> Result<()> {
    use explain::Answer;
    let last = cap::kernel_last_cap();
    let width = table_width();
    match explain::lookup(&args.cap.join(" "), last)? {
        Answer::All => {
            let all: Vec<u8> = (0..=last).collect();
            print!("{}", explain::render_some(&all, args.json, width));
        }
        Answer::Found(some) => print!("{}", explain::render_some(&some, args.json, width)),
        Answer::One(n) => print!("{}", explain_one(n, args.json, None)?),
        // `explain ping`: what the kernel checks, then each capability it checks.
        Answer::Use { key, caps, why } => {
            if !args.json {
                println!(
                    "{}",
                    explain::wrap(&format!("{key}: "), why, width).trim_end()
                );
                println!();
            }
            let mut blocks = Vec::new();
            for n in caps {
                blocks.push(explain_one(n, args.json, Some((key, why)))?);
            }
            print!("{}", blocks.join(if args.json { "" } else { "\n" }));
        }
    }
    Ok(())
}

/// One capability, with what Docker's seccomp profile opens for it; in JSON, `use` and `why`
/// say which command or system call asked for it.
fn explain_one(n: u8, json: bool, asked_by: Option<(&str, &str)>) -> Result<String> {
    if json {
        let mut v: serde_json::Value = serde_json::from_str(&explain::render_one(n, true))?;
        let kernel = crate::seccomp::running_kernel()?;
        v["seccomp_opens"] = serde_json::json!(crate::seccomp::opened_by(n, kernel));
        if let Some((key, why)) = asked_by {
            v["use"] = serde_json::json!(key);
            v["why"] = serde_json::json!(why);
        }
        return Ok(format!("{v}\n"));
    }
    Ok(format!(
        "{}{}",
        explain::render_one(n, false),
        crate::lab::seccomp_rows::explain_line(n)?
    ))
}
