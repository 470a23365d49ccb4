//! Issue 25: a container's process moves itself into its v1 cgroups, writing "0" to each
//! hierarchy's `tasks` file through an fd the runtime opened (the kernel then skips the lock
//! whose writer side waits for an RCU grace period: src/cgroups/joins.rs); no process writes
//! a pid to a v1 `cgroup.procs`. A join the kernel refuses undoes the launch, in one line
//! naming the file. Real launches under strace(1), as root, on this hybrid host.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The mount points of the host's v1 hierarchies (named ones too).
fn v1_mountpoints() -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mps: Vec<String> = info
        .lines()
        .filter_map(|l| {
            let (front, back) = l.split_once(" - ")?;
            (back.split(' ').next() == Some("cgroup")).then(|| front.split(' ').nth(4))?
        })
        .map(str::to_string)
        .collect();
    assert!(
        mps.len() >= 2,
        "this host has v1 hierarchies (hybrid): {mps:?}"
    );
    mps
}

/// `[wrapper...] strace -ff ... minirun --root ROOT ARGS...`, tracing `syscalls` with every fd
/// shown as its path: the run's output and the trace, each line prefixed with its pid. One
/// file per process (`-ff`), because with a single `-f` log a call another process interrupts
/// is split into "<unfinished ...>" and "<... resumed>" lines.
fn traced(sb: &Sandbox, wrapper: &[&str], syscalls: &str, args: &[&str]) -> (Output, String) {
    let log = sb.scratch.join("strace.log");
    let mut c = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg("strace");
            c
        }
        None => Command::new("strace"),
    };
    c.args(["-ff", "-y", "-qq", "-o"])
        .arg(&log)
        .arg("-e")
        .arg(format!("trace={syscalls}"))
        .arg(minirun())
        .arg("--root")
        .arg(&sb.root)
        .args(args)
        .stdin(std::process::Stdio::null());
    let o = c
        .output()
        .unwrap_or_else(|e| panic!("running strace (Debian package strace): {e}"));
    let mut trace = String::new();
    for entry in std::fs::read_dir(&sb.scratch).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("strace.log.") else {
            continue;
        };
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            trace.push_str(&format!("{pid} {line}\n"));
        }
        std::fs::remove_file(&path).unwrap();
    }
    assert!(!trace.is_empty(), "strace left no log: {}", stderr(&o));
    (o, trace)
}

/// The pid a strace line is from.
fn pid_of(line: &str) -> &str {
    line.split_whitespace().next().unwrap()
}

/// The trace (of write and clone3) shows the process the runtime cloned writing "0" to its
/// `tasks` file in every v1 hierarchy of `cgroup`, once, and nobody writing a v1
/// `cgroup.procs`.
fn assert_moved_itself(trace: &str, cgroup: &str) {
    let procs: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains("/cgroup.procs>"))
        .collect();
    assert!(procs.is_empty(), "cgroup.procs written: {procs:#?}");
    let joins: Vec<(&str, &str)> = trace
        .lines()
        .filter(|l| l.contains("/tasks>"))
        .map(|l| {
            let path = l.split_once('<').unwrap().1.split_once('>').unwrap().0;
            assert!(l.ends_with(", \"0\", 1) = 1"), "{l}");
            assert!(path.contains(&format!("/minirun.{cgroup}@")), "{l}");
            (pid_of(l), path)
        })
        .collect();
    let mut hierarchies: Vec<&str> = joins
        .iter()
        .map(|(_, path)| {
            v1_mountpoints()
                .into_iter()
                .find(|mp| path.starts_with(&format!("{mp}/")))
                .map(|mp| &path[..mp.len()])
                .unwrap_or_else(|| panic!("{path} is in no v1 hierarchy"))
        })
        .collect();
    hierarchies.sort_unstable();
    let mut want = v1_mountpoints();
    want.sort_unstable();
    assert_eq!(hierarchies, want, "one join per hierarchy: {joins:#?}");
    let writer = joins[0].0;
    assert!(joins.iter().all(|(p, _)| *p == writer), "{joins:#?}");
    let cloned_by = trace
        .lines()
        .find(|l| l.contains("clone3") && l.ends_with(&format!(" = {writer}")))
        .map(pid_of);
    assert!(
        cloned_by.is_some_and(|runtime| runtime != writer),
        "the joins' writer {writer} is no child of the runtime: {trace}"
    );
}

/// Every line of a /proc/PID/cgroup is `/` (inside the container's cgroup namespace).
fn assert_rooted(out: &str) {
    assert_eq!(out.lines().count(), v1_mountpoints().len() + 1, "{out}");
    for l in out.lines() {
        assert!(l.ends_with(":/"), "{l} (all: {out})");
    }
}

/// With a user namespace too (`--userns=auto` as root): the child writes before it becomes
/// the namespace's root, with the runtime's ids, which the kernel checks.
#[test]
fn the_init_moves_itself_into_every_v1_cgroup_by_writing_0_to_tasks() {
    let sb = Sandbox::new("v1join-init");
    let f = fixture();
    for (name, userns) in [("j1", &[][..]), ("j1u", &["--userns", "auto"][..])] {
        let mut args = vec!["--name", name];
        args.extend_from_slice(userns);
        args.extend([f.to_str().unwrap(), "cat", "/proc/self/cgroup"]);
        let (o, trace) = traced(&sb, &[], "write,clone3", &args);
        assert_rooted(&ok(&o));
        assert_moved_itself(&trace, name);
    }
}

/// A detached container's init, killed and removed on drop.
struct Detached<'a>(&'a Sandbox, &'a str);

impl Drop for Detached<'_> {
    fn drop(&mut self) {
        let _ = self.0.cmd(&["delete", "--force", self.1]).output();
    }
}

#[test]
fn an_exec_moves_itself_into_the_containers_v1_cgroups_too() {
    let sb = Sandbox::new("v1join-exec");
    ok(&sb.run(&["-d", "--name", "j2"], &["sleep", "30"]));
    let _container = Detached(&sb, "j2");
    let state: serde_json::Value =
        serde_json::from_str(&ok(&sb.cmd(&["state", "j2"]).output().unwrap())).unwrap();
    let pid = state["pid"].as_i64().expect("a pid in the state");
    // From the host: the init is in the container's own cgroup in every v1 hierarchy.
    let host_view = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for l in host_view.lines().filter(|l| !l.starts_with("0::")) {
        assert!(l.contains("/minirun.j2@"), "{l} (all: {host_view})");
    }
    let (o, trace) = traced(
        &sb,
        &[],
        "write,clone3",
        &["exec", "j2", "cat", "/proc/self/cgroup"],
    );
    assert_rooted(&ok(&o));
    assert_moved_itself(&trace, "j2");
}

/// The kernel refuses a real-time task a v1 cpu cgroup without a real-time budget (a new
/// cgroup's cpu.rt_runtime_us is 0): `chrt -f 1 minirun ...` fails at the join, with 125 and
/// one line naming the tasks file, and every cgroup directory the launch made is gone. A
/// kernel without real-time group scheduling (no cpu.rt_runtime_us) runs it.
#[test]
fn a_refused_join_names_the_tasks_file_and_undoes_the_launch() {
    let sb = Sandbox::new("v1join-refused");
    let cpu = v1_mountpoints()
        .into_iter()
        .find(|mp| {
            mp.rsplit('/')
                .next()
                .unwrap()
                .split(',')
                .any(|c| c == "cpu")
        })
        .expect("a v1 cpu hierarchy on this hybrid host");
    let f = fixture();
    let args = ["--name", "j3", f.to_str().unwrap(), "true"];
    let (o, trace) = traced(&sb, &["chrt", "-f", "1"], "write,mkdir,mkdirat", &args);
    if Path::new(&cpu).join("cpu.rt_runtime_us").exists() {
        assert_refused_and_undone(&sb, &o, &trace, &cpu);
    } else {
        // No real-time group scheduling: nothing to refuse, the container runs.
        ok(&o);
    }
}

fn assert_refused_and_undone(sb: &Sandbox, o: &Output, trace: &str, cpu: &str) {
    let err = refused(o, 125, "/tasks: Invalid argument (os error 22)");
    let want =
        format!("minirun: moving into the container's cgroup: writing \"0\" to {cpu}/minirun.j3@");
    assert!(err.starts_with(&want), "{err}");
    let made: Vec<PathBuf> = trace
        .lines()
        .filter(|l| l.contains("mkdir") && l.ends_with("= 0"))
        .filter_map(|l| Some(PathBuf::from(l.split_once('"')?.1.split_once('"')?.0)))
        .filter(|p| p.to_string_lossy().contains("/minirun.j3@"))
        .collect();
    assert!(made.len() >= v1_mountpoints().len(), "{trace}");
    let left = wait_for(2.0, || {
        let l: Vec<&PathBuf> = made.iter().filter(|p| p.exists()).collect();
        l.is_empty().then_some(())
    });
    assert!(
        left.is_some(),
        "left: {:?}",
        made.iter().filter(|p| p.exists()).collect::<Vec<_>>()
    );
    assert!(records_in(&sb.root).is_empty());
}
