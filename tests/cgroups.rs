//! The cgroups library against the real kernel (root): v1 for real under a minirun-named
//! parent (memory below our own memory cgroup), and the v2 core features (freeze, cgroup.kill,
//! the eBPF device program) on the cgroup2 mount. Every cgroup made is removed, even when an
//! assertion fails (the guard).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use minirun::cgroups::{Cgroup, FreezerState, Layout, Placement, devices};
use nix::sys::signal::Signal;
use oci_spec::runtime::LinuxResources;

/// Kills what is left in the cgroup, removes it and the test's parent in every hierarchy.
struct Guard {
    cg: Cgroup,
    parents: Vec<PathBuf>,
    children: Vec<Child>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.cg.thaw();
        let _ = self.cg.kill_all(Signal::SIGKILL);
        if let Err(e) = self.cg.remove() {
            eprintln!("guard: {e:#}");
        }
        for p in &self.parents {
            let _ = std::fs::remove_dir(p);
        }
    }
}

/// The cgroup `<own>/<parent>/c` in every hierarchy of `layout`, guarded.
fn make(layout: &Layout, parent: &str) -> Guard {
    let placement = Placement::parse(Some(&format!("{parent}/c")), false).unwrap();
    let cg = Cgroup::create(layout, &placement, "c").expect("creating the test cgroup");
    let parents = cg
        .paths()
        .v1
        .iter()
        .map(|d| d.dir.clone())
        .chain(cg.paths().v2.iter().map(|d| d.dir.clone()))
        .map(|d| d.parent().unwrap().to_path_buf())
        .collect();
    Guard {
        cg,
        parents,
        children: vec![],
    }
}

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

/// A shell that waits for a line on stdin (time for the parent to move it) before `script`.
fn held_shell(script: &str) -> Child {
    Command::new("/bin/sh")
        .args(["-c", &format!("read _; {script}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning /bin/sh")
}

fn release(child: &mut Child) {
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

#[test]
fn v1_for_real_limits_stats_freeze_kill_remove() {
    let layout = Layout::detect().unwrap().without_unified();
    assert!(
        layout.v1_with("memory").is_some() && layout.v1_with("pids").is_some(),
        "this test needs v1 memory and pids: {layout:?}"
    );
    let parent = format!("minirun-test-v1-{}", std::process::id());
    let g = make(&layout, &parent);
    let mem_dir =
        g.cg.paths()
            .v1
            .iter()
            .find(|d| d.controllers.contains(&"memory".to_string()))
            .unwrap()
            .dir
            .clone();
    let own_mem = layout.v1_with("memory").unwrap();
    assert!(
        mem_dir.starts_with(own_mem.dir(&own_mem.own)),
        "memory cgroup {} is below our own",
        mem_dir.display()
    );

    g.cg.apply(&resources(r#"{"pids": {"limit": 5}, "memory": {"limit": 67108864}, "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]}"#)).unwrap();
    let pids_dir =
        g.cg.paths()
            .v1
            .iter()
            .find(|d| d.controllers.contains(&"pids".to_string()))
            .unwrap()
            .dir
            .clone();
    assert_eq!(read(pids_dir.join("pids.max")), "5");
    assert_eq!(read(mem_dir.join("memory.limit_in_bytes")), "67108864");
    let dev_dir =
        g.cg.paths()
            .v1
            .iter()
            .find(|d| d.controllers.contains(&"devices".to_string()))
            .unwrap()
            .dir
            .clone();
    assert_eq!(read(dev_dir.join("devices.list")), "c 1:3 rwm");

    // The shell forks sleepers until pids.max refuses the fifth fork (shell + 4 sleepers),
    // and exits on that refusal; the sleepers stay in the cgroup.
    let mut child =
        held_shell("for i in 1 2 3 4 5 6 7 8; do sleep 100 >/dev/null 2>&1 & done; wait");
    g.cg.add_pid(child.id() as i32).unwrap();
    release(&mut child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.to_lowercase().contains("fork"),
        "the kernel refused a fork: {stderr:?}"
    );
    let pids = g.cg.pids().unwrap();
    assert_eq!(pids.len(), 4, "{pids:?}");
    let stats = g.cg.stats().unwrap();
    assert_eq!((stats.pids.current, stats.pids.limit), (4, 5));
    assert_eq!(stats.memory.usage.limit, 67108864);
    assert!(
        stats.memory.usage.usage > 0 && stats.cpu.usage.total > 0,
        "{stats:?}"
    );

    g.cg.freeze().unwrap();
    assert_eq!(g.cg.state().unwrap(), FreezerState::Frozen);
    g.cg.thaw().unwrap();
    assert_eq!(g.cg.state().unwrap(), FreezerState::Thawed);

    // v1 has no cgroup.kill: freeze, signal each, thaw.
    g.cg.kill_all(Signal::SIGKILL).unwrap();
    for pid in pids {
        wait_until("a killed sleeper", || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map_or(true, |s| s.contains(") Z "))
        });
    }
    wait_until("an empty cgroup", || {
        g.cg.pids().map(|p| p.is_empty()).unwrap_or(false)
    });
    assert_eq!(g.cg.oom_kill_count().unwrap(), 0);
    g.cg.remove().unwrap();
    for d in &g.cg.paths().v1 {
        assert!(!d.dir.exists(), "{} was removed", d.dir.display());
    }
}

fn unified_layout() -> Layout {
    Layout::detect()
        .unwrap()
        .unified_only()
        .expect("this test needs a cgroup2 mount (hybrid or v2 host)")
}

#[test]
fn v2_freeze_and_cgroup_kill_for_real() {
    let layout = unified_layout();
    let mut g = make(&layout, &format!("minirun-test-v2-{}", std::process::id()));
    let mut child = held_shell("sleep 100 & sleep 100 & wait");
    g.cg.add_pid(child.id() as i32).unwrap();
    release(&mut child);
    g.children.push(child);
    wait_until("3 processes", || {
        g.cg.pids().map(|p| p.len() == 3).unwrap_or(false)
    });

    g.cg.freeze().unwrap();
    assert_eq!(g.cg.state().unwrap(), FreezerState::Frozen);
    g.cg.thaw().unwrap();
    assert_eq!(g.cg.state().unwrap(), FreezerState::Thawed);

    g.cg.kill_all(Signal::SIGKILL).unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(g.children[0].wait().unwrap().signal(), Some(libc::SIGKILL));
    wait_until("an empty cgroup", || {
        g.cg.pids().map(|p| p.is_empty()).unwrap_or(false)
    });
}

#[test]
fn v2_ebpf_device_program_is_what_the_kernel_enforces() {
    let layout = unified_layout();
    let g = make(&layout, &format!("minirun-test-bpf-{}", std::process::id()));
    // Docker's defaults less /dev/zero: null still opens, zero is refused.
    let mut rules: Vec<_> = devices::docker_defaults()
        .into_iter()
        .map(devices::Rule::to_oci)
        .collect();
    rules.push(
        devices::Rule::parse_docker("c 1:5 rwm")
            .map(|mut r| {
                r.allow = false;
                r.to_oci()
            })
            .unwrap(),
    );
    let mut r = LinuxResources::default();
    r.set_devices(Some(rules));
    g.cg.apply(&r).unwrap();

    let mut child = held_shell(
        "head -c 0 /dev/null && echo null-opened; head -c 1 /dev/zero >/dev/null && echo zero-opened; exit 0",
    );
    g.cg.add_pid(child.id() as i32).unwrap();
    release(&mut child);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("null-opened"),
        "stdout {stdout:?} stderr {stderr:?}"
    );
    assert!(!stdout.contains("zero-opened"), "stdout {stdout:?}");
    assert!(
        stderr.contains("/dev/zero") && stderr.contains("Operation not permitted"),
        "stderr {stderr:?}"
    );
}

/// create + apply (Docker's default devices, a pids limit) + remove on this host's layout:
/// the cost the launch pays. `cargo test --release --test cgroups -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_create_apply_remove() {
    let layout = Layout::detect().unwrap();
    let parent = format!("minirun-bench-{}", std::process::id());
    let mut r = LinuxResources::default();
    r.set_devices(Some(
        devices::docker_defaults()
            .into_iter()
            .map(devices::Rule::to_oci)
            .collect(),
    ));
    r.set_pids(Some(serde_json::from_str(r#"{"limit": 100}"#).unwrap()));
    let placement = Placement::parse(Some(&format!("{parent}/c")), false).unwrap();
    let (mut times, mut creates, mut applies) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..300 {
        let t = Instant::now();
        let cg = Cgroup::create(&layout, &placement, "c").unwrap();
        creates.push(t.elapsed());
        let g = Guard {
            cg,
            parents: vec![],
            children: vec![],
        };
        let a = Instant::now();
        g.cg.apply(&r).unwrap();
        applies.push(a.elapsed());
        g.cg.remove().unwrap();
        times.push(t.elapsed());
        drop(g);
    }
    creates.sort();
    applies.sort();
    println!(
        "create median {:?}, apply median {:?}",
        creates[150], applies[150]
    );
    // The parents last.
    let g = make(&layout, &parent);
    drop(g);
    times.sort();
    println!(
        "create+apply+remove on {:?}: median {:?}, p90 {:?} over {} runs",
        layout.mode(),
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        times.len()
    );
}
