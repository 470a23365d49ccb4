//! Issue 4, "Load and faults": many launches, workloads and runtimes killed at random points;
//! afterwards the host's mount table, process list, cgroups and --root are exactly as before.
//!
//! The short version runs in `make test`; MINIRUN_STRESS=long (`make stress`) runs 1000
//! sequential and 100 concurrent launches and prints a summary line per test.

mod common;
use common::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn long() -> bool {
    std::env::var("MINIRUN_STRESS").as_deref() == Ok("long")
}

fn n(short: usize, long_n: usize) -> usize {
    if long() { long_n } else { short }
}

/// The container processes of one test: every workload gets `-e MINIRUN_STRESS_TAG=<tag>`,
/// and every runtime has the sandbox's --root on its command line.
fn leftovers(tag: &str, root: &Path) -> Vec<String> {
    let env_mark = format!("MINIRUN_STRESS_TAG={tag}");
    let root_mark = root.to_string_lossy().into_owned();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid as u32 == std::process::id() {
            continue;
        }
        let read = |f: &str| std::fs::read(format!("/proc/{pid}/{f}")).unwrap_or_default();
        let environ = read("environ");
        let cmdline = read("cmdline");
        let has = |hay: &[u8], needle: &str| {
            hay.split(|&b| b == 0)
                .any(|part| String::from_utf8_lossy(part) == needle)
        };
        if has(&environ, &env_mark) || has(&cmdline, &root_mark) {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // A zombie already gone by the time we look is not a leftover.
            if stat.is_empty() {
                continue;
            }
            out.push(format!(
                "{pid} {}",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            ));
        }
    }
    out
}

/// What must be identical before and after: the host mount table and the cgroup trees.
#[derive(Debug, PartialEq, Eq)]
struct HostState {
    mounts: Vec<String>,
    /// Every cgroup two levels down, the containers' own aside (they come and go with whatever
    /// containers run at the time: the tests run two at once).
    cgroups: Vec<String>,
    /// The containers' cgroups: `minirun.<id>`, or below an older runtime's `minirun` parent.
    leaves: Vec<String>,
}

fn host_state() -> HostState {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let mut cgroups = Vec::new();
    let mut leaves = Vec::new();
    if let Ok(top) = std::fs::read_dir("/sys/fs/cgroup") {
        for c in top.flatten() {
            cgroups.push(c.path().display().to_string());
            for s in std::fs::read_dir(c.path()).into_iter().flatten().flatten() {
                if !s.path().is_dir() {
                    continue;
                }
                if s.file_name().to_string_lossy().starts_with("minirun.") {
                    leaves.push(s.path().display().to_string());
                } else if s.file_name() == "minirun" {
                    for leaf in std::fs::read_dir(s.path()).into_iter().flatten().flatten() {
                        if leaf.path().is_dir() {
                            leaves.push(leaf.path().display().to_string());
                        }
                    }
                } else {
                    cgroups.push(s.path().display().to_string());
                }
            }
        }
    }
    cgroups.sort();
    HostState {
        mounts,
        cgroups,
        leaves,
    }
}

/// Checks that nothing of the test survives: no process, no state record, no mount, no cgroup.
fn assert_clean(sb: &Sandbox, tag: &str, before: &HostState) {
    let procs = wait_for(5.0, || {
        let l = leftovers(tag, &sb.root);
        l.is_empty().then_some(())
    });
    assert!(
        procs.is_some(),
        "processes left: {:?}",
        leftovers(tag, &sb.root)
    );
    let state = records_in(&sb.root);
    assert!(state.is_empty(), "state left in --root: {state:?}");
    let after = host_state();
    let added: Vec<_> = after
        .mounts
        .iter()
        .filter(|m| !before.mounts.contains(m))
        .collect();
    assert!(added.is_empty(), "host mounts added: {added:?}");
    assert_eq!(after.cgroups, before.cgroups, "cgroups changed");
    // This sandbox's containers' cgroups are named `<id>@<tag of its --root>`: none may stay.
    let name = minirun::container::cgroup_launch::cgroup_name(&sb.root, "x");
    let ours = &name[1..];
    let left: Vec<_> = after.leaves.iter().filter(|l| l.ends_with(ours)).collect();
    assert!(left.is_empty(), "container cgroups left: {left:?}");
}

fn tagged(tag: &str) -> String {
    format!("MINIRUN_STRESS_TAG={tag}")
}

#[test]
fn sequential_launches_of_true() {
    let sb = Sandbox::new("stress-seq");
    let tag = format!("seq-{}", std::process::id());
    let before = host_state();
    let count = n(100, 1000);
    let t = Instant::now();
    for i in 0..count {
        let o = sb.run(&["-e", &tagged(&tag)], &["true"]);
        assert_eq!(code(&o), 0, "launch {i}: {}", stderr(&o));
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "stress: {count} sequential launches of true in {secs:.2}s ({:.1} ms each), 0 failures",
        secs * 1000.0 / count as f64
    );
    assert_clean(&sb, &tag, &before);
}

#[test]
fn concurrent_launches_of_true() {
    let sb = Sandbox::new("stress-conc");
    let tag = format!("conc-{}", std::process::id());
    let before = host_state();
    let count = n(20, 100);
    let t = Instant::now();
    let children: Vec<_> = (0..count)
        .map(|_| {
            sb.cmd(&["-e", &tagged(&tag)])
                .arg(fixture())
                .arg("true")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let o = c.wait_with_output().unwrap();
        assert_eq!(code(&o), 0, "launch {i}: {}", stderr(&o));
    }
    println!(
        "stress: {count} concurrent launches of true in {:.2}s, 0 failures",
        t.elapsed().as_secs_f64()
    );
    assert_clean(&sb, &tag, &before);
}

/// Host pids of the processes inside one container (its workload and descendants), found by
/// the environment mark, for a runtime `runtime`.
fn workload_pids(runtime: u32, comm: &str) -> Vec<i32> {
    descendants_named(runtime, comm)
}

#[test]
fn workloads_killed_mid_run_from_the_host() {
    let sb = Sandbox::new("stress-kill");
    let tag = format!("kill-{}", std::process::id());
    let before = host_state();
    let count = n(10, 100);
    let t = Instant::now();
    // In batches of 10 concurrent containers, each killed with SIGKILL once its sleep runs.
    for batch in 0..count.div_ceil(10) {
        let k = 10.min(count - batch * 10);
        let children: Vec<_> = (0..k)
            .map(|_| {
                sb.cmd(&["-e", &tagged(&tag)])
                    .arg(fixture())
                    .args(["sleep", "60"])
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in &children {
            let sleeper = wait_for(10.0, || workload_pids(c.id(), "sleep").first().copied())
                .expect("sleep never started");
            kill(Pid::from_raw(sleeper), Signal::SIGKILL).unwrap();
        }
        for c in children {
            assert_eq!(c.wait_with_output().unwrap().status.code(), Some(137));
        }
    }
    println!(
        "stress: {count} workloads killed mid-run in {:.2}s, all reported 137",
        t.elapsed().as_secs_f64()
    );
    assert_clean(&sb, &tag, &before);
}

/// Where in the launch a runtime is killed: at a --trace step, or after a delay.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    Trace(&'static str),
    Delay(u64),
}

#[test]
fn runtime_killed_at_random_points_leaves_nothing_running() {
    let sb = Sandbox::new("stress-rtkill");
    let tag = format!("rtkill-{}", std::process::id());
    let before = host_state();
    let points = [
        KillPoint::Trace("clone3"),
        KillPoint::Trace("child: pid"),
        KillPoint::Trace("mount --rbind"),
        KillPoint::Trace("mknod /dev/null"),
        KillPoint::Trace("pivot_root"),
        KillPoint::Trace("read-only /proc/sys"),
        KillPoint::Trace("capset"),
        KillPoint::Trace("execve"),
        KillPoint::Delay(0),
        KillPoint::Delay(1),
        KillPoint::Delay(3),
        KillPoint::Delay(7),
        KillPoint::Delay(15),
        KillPoint::Delay(40),
    ];
    let rounds = n(2, 10);
    let mut seed = std::process::id() as u64;
    let mut kills = 0;
    for round in 0..rounds {
        for (i, point) in points.iter().enumerate() {
            // Every other run with --init, every third with a fixed name.
            let name = format!("rt{}", i % 3);
            let mut opts = vec!["--trace", "-e"];
            let env = tagged(&tag);
            opts.push(&env);
            if (i + round) % 2 == 0 {
                opts.push("--init");
            }
            if i % 3 == 0 {
                opts.extend(["--name", &name]);
            }
            let mut child = sb
                .cmd(&opts)
                .arg(fixture())
                .args(["sh", "-c", "sleep 60"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let pid = Pid::from_raw(child.id() as i32);
            // Kept open until the runtime is dead: a closed pipe would fail its next trace
            // write and end it before our kill does.
            let mut err = BufReader::new(child.stderr.take().unwrap());
            match point {
                KillPoint::Trace(word) => {
                    let mut line = String::new();
                    while err.read_line(&mut line).unwrap_or(0) > 0 && !line.contains(word) {
                        line.clear();
                    }
                }
                KillPoint::Delay(ms) => {
                    // A little jitter around the nominal delay (xorshift).
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let us = ms * 1000 + seed % 1000;
                    std::thread::sleep(Duration::from_micros(us));
                }
            }
            let _ = kill(pid, Signal::SIGKILL);
            let st = child.wait().unwrap();
            let mut rest = String::new();
            let _ = err.read_to_string(&mut rest);
            kills += 1;
            // Killed, or (a kill that came late) finished: never a failure of its own.
            assert!(st.code().is_none(), "{point:?}: {st:?}: {rest}");
            // PDEATHSIG: the container dies with its runtime, wherever the kill landed.
            let gone = wait_for(5.0, || leftovers(&tag, &sb.root).is_empty().then_some(()));
            assert!(
                gone.is_some(),
                "{point:?}: left running: {:?}",
                leftovers(&tag, &sb.root)
            );
        }
        // Records the killed runtimes left are reclaimed by later runs: a fixed name is
        // reusable at once, and any run sweeps the rest.
        ok(&sb.run(&["--name", "rt0", "-e", &tagged(&tag)], &["true"]));
        ok(&sb.run(&["-e", &tagged(&tag)], &["true"]));
        let left = records_in(&sb.root);
        let show: Vec<_> = left
            .iter()
            .map(|n| {
                let d = sb.root.join(n);
                let files: Vec<_> = std::fs::read_dir(&d)
                    .map(|r| r.flatten().map(|e| e.file_name()).collect())
                    .unwrap_or_default();
                format!("{n:?}: {files:?}")
            })
            .collect();
        assert!(left.is_empty(), "records not reclaimed: {show:?}");
    }
    // `delete --force` also cleans a record whose runtime was killed.
    let mut child = sb
        .cmd(&["--name", "forced", "-e", &tagged(&tag)])
        .arg(fixture())
        .args(["sleep", "60"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(5.0, || {
        sb.root.join("forced/state.json").exists().then_some(())
    })
    .expect("no record");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    let o = sb.cmd(&["delete", "--force", "forced"]).output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    println!("stress: {kills} runtimes killed at random launch points, nothing left running");
    assert_clean(&sb, &tag, &before);
}

#[test]
fn init_reaps_zombies_and_never_loses_the_status() {
    let sb = Sandbox::new("stress-reap");
    let tag = format!("reap-{}", std::process::id());
    let before = host_state();
    // Children that exit at once and orphaned grandchildren: all reaped by the --init reaper.
    let out = sb.run(
        &["--init", "-e", &tagged(&tag)],
        &[
            "sh",
            "-c",
            "for i in $(seq 20); do (true &); sh -c 'exit 0' & done; sleep 0.3; \
             ps -o stat,comm | grep -c '^Z'; exit 3",
        ],
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "0", "zombies inside");
    let count = n(100, 1000);
    let t = Instant::now();
    for i in 0..count {
        let opts: &[&str] = if i % 2 == 0 {
            &["--init"]
        } else {
            &["--name", "samename"]
        };
        let o = sb.run(opts, &["sh", "-c", "exit 3"]);
        assert_eq!(code(&o), 3, "launch {i} ({opts:?}): {}", stderr(&o));
    }
    println!(
        "stress: {count} launches of `exit 3` in {:.2}s, every status 3",
        t.elapsed().as_secs_f64()
    );
    assert_clean(&sb, &tag, &before);
}
