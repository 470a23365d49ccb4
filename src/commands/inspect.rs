//! `minirun ps`, `minirun caps`, `minirun explain`: the workshop's step 1 built in.

use crate::capability::{self as cap, inspect, names};
use crate::cli::{CapsArgs, ExplainArgs, Global, PsArgs};
use crate::container::procfs;
use crate::container::state::{State, Status, Store};
use crate::lab::explain;
use crate::lab::pscap::{self, Proc};
use anyhow::{Context, Result, bail};

fn live(store: &Store, id: Option<&str>) -> Result<Vec<State>> {
    Ok(match id {
        Some(id) => vec![store.load(id)?],
        None => store
            .list()
            .into_iter()
            .filter(|s| store.status(s) != Status::Stopped)
            .collect(),
    })
}

pub fn ps(global: &Global, args: &PsArgs) -> Result<()> {
    let store = Store::new(&global.root);
    let states = live(&store, args.id.as_deref())?;
    if args.format.as_deref() == Some("json") {
        let pids: Vec<i32> = states
            .iter()
            .flat_map(|s| procfs::pids_in_pid_namespace_of(s.pid))
            .collect();
        println!("{}", serde_json::to_string(&pids)?);
        return Ok(());
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let users = |uid| pscap::passwd_lookup(&passwd, uid);
    let last = cap::kernel_last_cap();
    let procs: Vec<(String, Proc)> = states
        .iter()
        .flat_map(|s| {
            procfs::pids_in_pid_namespace_of(s.pid)
                .into_iter()
                .filter_map(|p| pscap::read_proc(p, &users))
                .map(move |p| (s.id.clone(), p))
                .collect::<Vec<_>>()
        })
        .collect();
    if args.json {
        for (id, p) in &procs {
            let s = &p.sets;
            let v = serde_json::json!({
                "container": id, "ppid": p.ppid, "pid": p.pid, "name": p.user, "command": p.command,
                "effective": s.effective.oci_names(), "permitted": s.permitted.oci_names(),
                "inheritable": s.inheritable.oci_names(), "bounding": s.bounding.oci_names(),
                "ambient": s.ambient.oci_names(),
            });
            println!("{v}");
        }
        return Ok(());
    }
    let lines: Vec<String> = procs
        .iter()
        .filter_map(|(_, p)| pscap::line(p, last))
        .collect();
    if !lines.is_empty() {
        println!("{}", pscap::HEADER);
    }
    for l in lines {
        println!("{l}");
    }
    Ok(())
}

pub fn caps(global: &Global, args: &CapsArgs) -> Result<()> {
    let pid = match args.target.parse::<i32>() {
        Ok(p) => p,
        Err(_) => {
            let store = Store::new(&global.root);
            let st = store.load(&args.target)?;
            if store.status(&st) == Status::Stopped {
                bail!("container \"{}\" is not running", args.target);
            }
            st.pid
        }
    };
    let s = inspect::read_status(Some(pid)).with_context(|| format!("process {pid}"))?;
    let sets = [
        ("effective", s.effective),
        ("permitted", s.permitted),
        ("inheritable", s.inheritable),
        ("bounding", s.bounding),
        ("ambient", s.ambient),
    ];
    if args.json {
        let mut m = serde_json::Map::new();
        m.insert("pid".into(), pid.into());
        for (k, v) in sets {
            m.insert(k.into(), serde_json::json!(v.oci_names()));
        }
        println!("{}", serde_json::Value::Object(m));
    } else {
        for (k, v) in sets {
            let names = if v.is_empty() {
                "(none)".into()
            } else {
                v.names()
            };
            println!("{k:<12} {:016x}  {names}", v.0);
        }
    }
    Ok(())
}

pub fn explain(args: &ExplainArgs) -> Result<()> {
    let last = cap::kernel_last_cap();
    let cap = match args.cap.as_deref() {
        None => names::CapName::All,
        Some(c) => names::parse(c, last)?,
    };
    match cap {
        names::CapName::All => print!("{}", explain::render_all(args.json)),
        // One capability also says what Docker's seccomp profile opens for it.
        names::CapName::Cap(n) if args.json => {
            let mut v: serde_json::Value = serde_json::from_str(&explain::render_one(n, true))?;
            let kernel = crate::seccomp::running_kernel()?;
            v["seccomp_opens"] = serde_json::json!(crate::seccomp::opened_by(n, kernel));
            println!("{v}");
        }
        names::CapName::Cap(n) => print!(
            "{}{}",
            explain::render_one(n, false),
            crate::lab::seccomp::explain_line(n)?
        ),
    }
    Ok(())
}
