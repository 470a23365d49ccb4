//! Issue 12 wired in: containers started by minirun (quick form and OCI) get a cgroup whose
//! limits, device rules, freezer and counters the kernel really enforces, and which is gone
//! when the container is. Every test checks that the cgroups it caused are removed.

mod common;

use common::bundles::*;
use common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The cgroup directories a container's record names (v1 ones and the v2 one).
fn cgroup_dirs(sb: &Sandbox, id: &str) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(sb.root.join(id).join("cgroup.json"))
        .unwrap_or_else(|e| panic!("container {id} has no cgroup record: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap();
    let mut dirs: Vec<PathBuf> = v["v1"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| PathBuf::from(d["dir"].as_str().unwrap()))
        .collect();
    if let Some(d) = v["v2"]["dir"].as_str() {
        dirs.push(d.into());
    }
    dirs
}

/// The container's directory in the v1 hierarchy holding `controller`.
fn v1_dir(dirs: &[PathBuf], controller: &str) -> PathBuf {
    dirs.iter()
        .find(|d| {
            d.starts_with("/sys/fs/cgroup")
                && d.components().nth(4).is_some_and(|c| {
                    c.as_os_str()
                        .to_string_lossy()
                        .split(',')
                        .any(|x| x == controller)
                })
        })
        .unwrap_or_else(|| panic!("no {controller} cgroup in {dirs:?}"))
        .clone()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
        .trim()
        .to_string()
}

fn assert_gone(dirs: &[PathBuf]) {
    for d in dirs {
        assert!(
            wait_for(2.0, || (!d.exists()).then_some(())).is_some(),
            "cgroup {} left behind",
            d.display()
        );
    }
}

/// A quick-form container running `sleep`, detached from the test, with its name; the
/// returned child is minirun itself.
fn quick_sleeper(sb: &Sandbox, name: &str, opts: &[&str]) -> std::process::Child {
    let mut c = sb.cmd(&["--name", name]);
    c.args(opts).arg(fixture()).args(["sleep", "60"]);
    let child = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(5.0, || {
        sb.root.join(name).join("state.json").exists().then_some(())
    })
    .expect("the container did not start");
    child
}

/// Kills the workload (a PID 1 ignores SIGTERM) and waits for minirun to clean up.
fn stop(sb: &Sandbox, id: &str, mut child: std::process::Child) {
    let pid = state_pid(sb, id);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = child.wait();
}

fn state_pid(sb: &Sandbox, id: &str) -> i32 {
    let text = std::fs::read_to_string(sb.root.join(id).join("state.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["pid"]
        .as_i64()
        .unwrap() as i32
}

/// The node goes in the container's own /dev (a tmpfs of its own, without nodev), not in the
/// shared fixture, where tests running at once would see it.
const MKNOD_ATTACK: &str = "d=/dev/d-$$-$RANDOM; mknod $d b 7 0 && echo made; cat $d >/dev/null; \
     rm -f $d; echo x > /dev/null && echo null-ok";

/// busybox's `cat: can't open '/dev/x': Operation not permitted` for `node`.
fn refused_open(err: &str, node: &str) -> bool {
    err.lines()
        .any(|l| l.contains(node) && l.ends_with("Operation not permitted"))
}

/// Item 4: CAP_MKNOD makes the node, the devices cgroup refuses to open it (quick form).
#[test]
fn mknod_of_a_host_disk_cannot_be_opened_quick_form() {
    let sb = Sandbox::new("lim-mknod");
    let o = sb.run(&[], &["sh", "-c", MKNOD_ATTACK]);
    let out = ok(&o);
    assert!(out.contains("made"), "mknod itself should succeed: {out}");
    assert!(out.contains("null-ok"), "/dev/null must work: {out}");
    assert!(
        refused_open(&stderr(&o), "/dev/d-"),
        "opening the node must fail with EPERM: {}",
        stderr(&o)
    );
}

/// The same through an OCI bundle from `minirun spec` (Docker's rules in linux.resources).
#[test]
fn mknod_of_a_host_disk_cannot_be_opened_oci() {
    let sb = Sandbox::new("lim-mknod-oci");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["sh", "-c", MKNOD_ATTACK], |_| {});
    let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "m"]);
    let out = ok(&o);
    assert!(out.contains("made") && out.contains("null-ok"), "{out}");
    assert!(refused_open(&stderr(&o), "/dev/d-"), "{}", stderr(&o));
}

/// A node shipped in the image opens for nobody, however little the workload holds.
#[test]
fn image_shipped_node_cannot_be_opened_even_unprivileged() {
    let sb = Sandbox::new("lim-shipped");
    let rootfs = sb.scratch.join("rootfs");
    let cp = std::process::Command::new("cp")
        .arg("-a")
        .arg(fixture())
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(cp.success());
    for (name, kind, major, minor) in [("loop0", "b", "7", "0"), ("kmsg", "c", "1", "11")] {
        let node = rootfs.join("tmp").join(name);
        let st = std::process::Command::new("mknod")
            .args(["-m", "666"])
            .arg(&node)
            .args([kind, major, minor])
            .status()
            .unwrap();
        assert!(st.success(), "mknod {}", node.display());
    }
    let o = sb
        .cmd(&[
            "--cap-drop=all",
            "--user",
            "app",
            "--no-new-privileges",
            rootfs.to_str().unwrap(),
            "sh",
            "-c",
            "cat /tmp/loop0 >/dev/null; cat /tmp/kmsg >/dev/null; echo x >/dev/null && echo null-ok",
        ])
        .output()
        .unwrap();
    assert!(ok(&o).contains("null-ok"));
    let err = stderr(&o);
    for n in ["/tmp/loop0", "/tmp/kmsg"] {
        assert!(refused_open(&err, n), "{n} opened: {err}");
    }
}

/// `--device` lets exactly that node in; `--device-cgroup-rule` adds a rule.
#[test]
fn device_flags_allow_what_they_name() {
    let sb = Sandbox::new("lim-device");
    let o = sb.run(
        &["--device", "/dev/loop7:/dev/xdisk:r"],
        &[
            "sh",
            "-c",
            "head -c0 /dev/xdisk && echo opened; d=/tmp/l6-$$; mknod $d b 7 6; head -c0 $d; rm -f $d",
        ],
    );
    assert!(ok(&o).contains("opened"), "{}", stderr(&o));
    assert!(
        refused_open(&stderr(&o), "/tmp/l6-"),
        "only the node named is allowed: {}",
        stderr(&o)
    );
    let o = sb.run(
        &["--device-cgroup-rule", "b 7:* rm"],
        &[
            "sh",
            "-c",
            "d=/tmp/l-$$; mknod $d b 7 0 && head -c0 $d && echo opened; rm -f $d",
        ],
    );
    assert!(ok(&o).contains("opened"), "{}", stderr(&o));
}

/// Item 5: --pids-limit stops a fork bomb.
#[test]
fn pids_limit_stops_a_fork_bomb() {
    let sb = Sandbox::new("lim-pids");
    let o = sb.run(
        &["--pids-limit", "20"],
        &[
            "sh",
            "-c",
            // The bomb in a child shell (which gives up at its first refused fork); the count
            // with builtins only, as no fork is left to spare.
            "sh -c 'while true; do sleep 5 & done'; set -- /proc/[0-9]*; echo $#",
        ],
    );
    let out = ok(&o);
    let count: u32 = out.trim().parse().unwrap();
    assert!(
        (15..=20).contains(&count),
        "{count} processes under a limit of 20"
    );
    assert!(
        stderr(&o).contains("can't fork"),
        "the shell should have been refused a fork: {}",
        stderr(&o)
    );
}

/// Item 5: --memory, the OOM killer, exit 137 and the one line naming the limit.
#[test]
fn memory_limit_oom_kill_exits_137_and_says_so() {
    let sb = Sandbox::new("lim-oom");
    let o = sb.run(&["--memory", "16m"], &["sh", "-c", "tail /dev/zero"]);
    assert_eq!(code(&o), 137, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("OOM killer") && err.contains("16 MiB") && err.contains("1 OOM kill"),
        "{err}"
    );
}

/// --cpus, --cpu-shares, --cpuset-cpus, --memory-reservation: the values in the cgroup's
/// files; and the cgroup is gone when the container is.
#[test]
fn cpu_flags_reach_the_cgroup_files() {
    let sb = Sandbox::new("lim-cpu");
    let child = quick_sleeper(
        &sb,
        "cpu1",
        &[
            "--cpus",
            "0.5",
            "--cpu-shares",
            "512",
            "--cpuset-cpus",
            "0",
            "--memory",
            "64m",
            "--memory-reservation",
            "32m",
            "--blkio-weight",
            "300",
        ],
    );
    let dirs = cgroup_dirs(&sb, "cpu1");
    let cpu = v1_dir(&dirs, "cpu");
    assert_eq!(read(&cpu.join("cpu.cfs_quota_us")), "50000");
    assert_eq!(read(&cpu.join("cpu.cfs_period_us")), "100000");
    assert_eq!(read(&cpu.join("cpu.shares")), "512");
    assert_eq!(read(&v1_dir(&dirs, "cpuset").join("cpuset.cpus")), "0");
    let mem = v1_dir(&dirs, "memory");
    assert_eq!(read(&mem.join("memory.limit_in_bytes")), "67108864");
    assert_eq!(read(&mem.join("memory.soft_limit_in_bytes")), "33554432");
    // The rule: memory cgroups only below our own.
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own_mem = own
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_string()))
        .unwrap();
    assert!(
        mem.starts_with(Path::new("/sys/fs/cgroup/memory").join(own_mem.trim_start_matches('/'))),
        "{} is not below our memory cgroup {own_mem}",
        mem.display()
    );
    let blkio = v1_dir(&dirs, "blkio");
    let weight = ["blkio.weight", "blkio.bfq.weight"]
        .iter()
        .map(|f| blkio.join(f))
        .find(|p| p.exists());
    match weight {
        Some(w) => assert!(read(&w).ends_with("300"), "{}", read(&w)),
        // Docker's behaviour where the kernel has no weight file: discarded (see
        // blkio_weight_is_written_or_discarded_with_dockers_warning for the warning).
        None => assert!(
            !blkio.join("blkio.weight").exists() && !blkio.join("blkio.bfq.weight").exists()
        ),
    }
    stop(&sb, "cpu1", child);
    assert_gone(&dirs);
}

/// Issue 20 item 2: `--blkio-weight` where the kernel has a weight file (blkio.weight under
/// CFQ, blkio.bfq.weight under BFQ, in our own blkio cgroup) is written; where it has none,
/// Docker's warning and the run goes on. An OCI config's weight is runc's: written or refused.
#[test]
fn blkio_weight_is_written_or_discarded_with_dockers_warning() {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own_blkio = own
        .lines()
        .find_map(|l| l.split_once(":blkio:").map(|(_, p)| p.to_string()))
        .expect("this test expects a v1 blkio hierarchy (as on this host)");
    let dir = Path::new("/sys/fs/cgroup/blkio").join(own_blkio.trim_start_matches('/'));
    let weight_file = ["blkio.weight", "blkio.bfq.weight"]
        .iter()
        .find(|f| dir.join(f).exists());
    let sb = Sandbox::new("lim-blkio");
    let o = sb.run(
        &["--blkio-weight", "300"],
        &[
            "sh",
            "-c",
            "cat /sys/fs/cgroup/blkio/blkio*weight 2>/dev/null; echo ran",
        ],
    );
    let out = ok(&o);
    assert!(out.contains("ran"), "{out}");
    let warning = "Your kernel does not support Block I/O weight or the cgroup is not mounted. \
                   Weight discarded.";
    let dir = bundle(&sb, "b", &["true"], |c| {
        c["linux"]["resources"]["blockIO"] = json!({"weight": 300});
    });
    let run = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "w"]);
    match weight_file {
        Some(f) => {
            assert!(!stderr(&o).contains("Weight discarded"), "{}", stderr(&o));
            assert!(out.lines().any(|l| l.ends_with("300")), "{f}: {out}");
            ok(&run);
        }
        None => {
            assert_eq!(
                stderr(&o).trim(),
                format!("minirun: warning: {warning}"),
                "one line, Docker's words"
            );
            // As runc: a weight the config asks for and the kernel cannot hold is an error.
            refused(&run, 1, "no blkio.weight or blkio.bfq.weight file");
        }
    }
}

/// The workload sees its own cgroup as `/` (cgroup namespace) in every hierarchy, and
/// `--cgroupns host` shows the host's view.
#[test]
fn proc_self_cgroup_shows_root() {
    let sb = Sandbox::new("lim-cgns");
    let out = ok(&sb.run(&[], &["cat", "/proc/self/cgroup"]));
    for line in out.lines() {
        assert!(line.ends_with(":/"), "{line} (all: {out})");
    }
    let out = ok(&sb.run(&["--cgroupns", "host"], &["cat", "/proc/self/cgroup"]));
    assert!(out.contains("/minirun."), "{out}");
}

/// `--cgroup-manager disabled` makes no cgroup (and refuses limits it could not apply);
/// `--systemd-cgroup` without systemd is one clear line.
#[test]
fn cgroup_manager_disabled_and_systemd() {
    let sb = Sandbox::new("lim-manager");
    let out = ok(&sb.run(
        &["--cgroup-manager", "disabled"],
        &["cat", "/proc/self/cgroup"],
    ));
    assert!(!out.contains("minirun"), "{out}");
    let o = sb.run(
        &["--cgroup-manager", "disabled", "--pids-limit", "5"],
        &["true"],
    );
    refused(&o, 125, "--cgroup-manager is disabled");
    let o = sb.run(&["--cgroup-manager", "bogus"], &["true"]);
    refused(&o, 125, "\"bogus\"");
    if !Path::new("/run/systemd/system").exists() {
        let o = sb.run(&["--systemd-cgroup"], &["true"]);
        refused(&o, 125, "systemd, which is not running");
    }
}

/// A runtime killed before it removed the cgroup: the next run's sweep reclaims it.
#[test]
fn cgroups_of_a_killed_runtime_are_swept() {
    let sb = Sandbox::new("lim-sweep");
    let child = quick_sleeper(&sb, "victim", &[]);
    let dirs = cgroup_dirs(&sb, "victim");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let mut child = child;
    child.wait().unwrap();
    // The workload dies with its runtime (PDEATHSIG); its cgroup stays until the sweep.
    wait_for(5.0, || {
        std::fs::read_to_string(dirs[0].join("cgroup.procs"))
            .ok()
            .filter(|p| p.trim().is_empty())
    })
    .expect("the workload outlived its runtime");
    assert!(dirs.iter().all(|d| d.exists()));
    ok(&sb.run(&[], &["true"]));
    assert_gone(&dirs);
}

/// A cgroup an older runtime left in the shared parent (`<own>/minirun/<name>`, before the
/// flat `minirun.<id>` leaves) is swept too, and the emptied parent with it.
#[test]
fn cgroups_of_an_older_runtime_are_swept() {
    let sb = Sandbox::new("lim-sweep-old");
    let name = minirun::container::cgroup_launch::cgroup_name(&sb.root, "old1");
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    // Our cgroup in the hierarchy whose controllers are `controllers` ("" for cgroup2).
    let own_of = |controllers: &str| {
        own.lines()
            .find_map(|l| {
                let mut f = l.splitn(3, ':');
                let (_, c, path) = (f.next()?, f.next()?, f.next()?);
                (c == controllers).then(|| path.trim_end_matches('/').to_string())
            })
            .unwrap_or_else(|| panic!("no {controllers:?} line in {own}"))
    };
    let parents = [
        PathBuf::from(format!("/sys/fs/cgroup/unified{}/minirun", own_of(""))),
        PathBuf::from(format!("/sys/fs/cgroup/pids{}/minirun", own_of("pids"))),
    ];
    let dirs: Vec<PathBuf> = parents.iter().map(|p| p.join(&name)).collect();
    for d in &dirs {
        std::fs::create_dir_all(d).unwrap();
    }
    ok(&sb.run(&[], &["true"]));
    assert_gone(&dirs);
    assert_gone(&parents);
}

/// Item 6: pause/resume (state says paused), update (flags and -r), events --stats, ps,
/// exec joining the cgroup, delete removing it.
#[test]
fn oci_pause_update_events_ps_and_delete() {
    let sb = Sandbox::new("lim-oci");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["sleep", "60"], |c| {
        c["linux"]["resources"]["pids"] = json!({"limit": 50});
    });
    let pid = create(&sb, &dir, "c1");
    ok(&oci(&sb, &["start", "c1"]));
    let dirs = cgroup_dirs(&sb, "c1");
    // Where there is cgroup2 the freezer is v2's (SIGKILL gets through it), else v1's.
    let frozen = || match dirs.iter().find(|d| d.join("cgroup.events").exists()) {
        Some(v2) => read(&v2.join("cgroup.events")).contains("frozen 1"),
        None => read(&v1_dir(&dirs, "freezer").join("freezer.state")) == "FROZEN",
    };
    ok(&oci(&sb, &["pause", "c1"]));
    assert_eq!(status(&sb, "c1"), "paused");
    assert!(frozen());
    ok(&oci(&sb, &["resume", "c1"]));
    assert_eq!(status(&sb, "c1"), "running");
    assert!(!frozen());

    let pids = v1_dir(&dirs, "pids");
    assert_eq!(read(&pids.join("pids.max")), "50");
    ok(&oci(&sb, &["update", "--pids-limit", "7", "c1"]));
    assert_eq!(read(&pids.join("pids.max")), "7");
    let res = sb.scratch.join("r.json");
    std::fs::write(&res, r#"{"cpu": {"shares": 256}, "pids": {"limit": 9}}"#).unwrap();
    ok(&oci(&sb, &["update", "-r", res.to_str().unwrap(), "c1"]));
    assert_eq!(read(&pids.join("pids.max")), "9");
    assert_eq!(read(&v1_dir(&dirs, "cpu").join("cpu.shares")), "256");
    let o = oci(&sb, &["update", "--cpu-period", "soon", "c1"]);
    refused(&o, 1, "\"soon\"");

    let ev: Value = serde_json::from_str(&ok(&oci(&sb, &["events", "--stats", "c1"]))).unwrap();
    assert_eq!(ev["type"], "stats");
    assert_eq!(ev["id"], "c1");
    assert!(ev["data"]["pids"]["current"].as_u64().unwrap() >= 1, "{ev}");
    assert!(
        ev["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0,
        "{ev}"
    );

    // An exec'd process is in the container's cgroup: ps lists it, kill --all finds it.
    let e = oci(&sb, &["exec", "--detach", "c1", "sleep", "61"]);
    ok(&e);
    let listed: Vec<i64> =
        serde_json::from_str(&ok(&oci(&sb, &["ps", "--format", "json", "c1"]))).unwrap();
    assert!(listed.contains(&pid), "{listed:?}");
    assert_eq!(listed.len(), 2, "init and the exec'd sleep: {listed:?}");

    ok(&oci(&sb, &["delete", "--force", "c1"]));
    assert!(!alive(pid));
    for p in listed {
        assert!(!alive(p), "{p} survived delete --force");
    }
    assert_gone(&dirs);
}

/// `events` (no --stats): an OOM in the container shows up as an oom event.
#[test]
fn events_report_an_oom_kill() {
    let sb = Sandbox::new("lim-events");
    let _reap = Reap(&sb);
    let dir = bundle(
        &sb,
        "b",
        &["sh", "-c", "sleep 1; tail /dev/zero; sleep 60"],
        |c| {
            c["linux"]["resources"]["memory"] = json!({"limit": 16 << 20, "swap": 16 << 20});
        },
    );
    create(&sb, &dir, "o1");
    let mut events = sb
        .cmd(&["events", "--interval", "100ms", "o1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    ok(&oci(&sb, &["start", "o1"]));
    let lines = BufReader::new(events.stdout.take().unwrap()).lines();
    let mut saw = false;
    for line in lines.take(200) {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if v["type"] == "oom" {
            saw = true;
            break;
        }
        assert_eq!(v["type"], "stats");
    }
    let _ = events.kill();
    let _ = events.wait();
    assert!(saw, "no oom event");
    let dirs = cgroup_dirs(&sb, "o1");
    ok(&oci(&sb, &["delete", "--force", "o1"]));
    assert_gone(&dirs);
}

/// An OCI cgroupsPath is honoured (relative: below our own cgroup) and removed at delete.
#[test]
fn oci_cgroups_path_is_honoured() {
    let sb = Sandbox::new("lim-path");
    let _reap = Reap(&sb);
    let leaf = format!("minirun-test-path-{}", std::process::id());
    let dir = bundle(&sb, "b", &["sleep", "60"], |c| {
        c["linux"]["cgroupsPath"] = json!(format!("{leaf}/x"));
    });
    create(&sb, &dir, "p1");
    let dirs = cgroup_dirs(&sb, "p1");
    assert!(
        dirs.iter()
            .all(|d| d.ends_with(format!("{leaf}/x")) && d.join("cgroup.procs").exists()),
        "{dirs:?}"
    );
    ok(&oci(&sb, &["delete", "--force", "p1"]));
    assert_gone(&dirs);
    for d in &dirs {
        let _ = std::fs::remove_dir(d.parent().unwrap());
    }
}

/// `features` says what is supported.
#[test]
fn features_list_cgroups() {
    let sb = Sandbox::new("lim-features");
    let v: Value = serde_json::from_str(&ok(&sb.cmd(&["features"]).output().unwrap())).unwrap();
    assert_eq!(v["linux"]["cgroup"]["v1"], true);
    assert_eq!(v["linux"]["cgroup"]["v2"], true);
}

/// The v1 hierarchies mounted here, as their mountpoints (named ones, `name=systemd`, too).
fn v1_mountpoints() -> Vec<PathBuf> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(" - cgroup cgroup "))
        .map(|l| PathBuf::from(l.split(' ').nth(4).unwrap()))
        .collect()
}

/// Issue 21 item 1: a container is in its own cgroup in every hierarchy (so no cgroup
/// namespace of its is rooted above it), `name=systemd` included, with no limit asked for;
/// pause and resume, `ps` and `kill --all` work on it, and everything is removed.
#[test]
fn every_hierarchy_is_joined_even_without_a_limit() {
    let sb = Sandbox::new("lim-joins");
    let child = quick_sleeper(&sb, "bare", &[]);
    let dirs = cgroup_dirs(&sb, "bare");
    let pid = state_pid(&sb, "bare");
    let host_view = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for mp in v1_mountpoints() {
        let dir = dirs
            .iter()
            .find(|d| d.starts_with(&mp))
            .unwrap_or_else(|| panic!("no cgroup in {}: {dirs:?}", mp.display()));
        let procs = read(&dir.join("cgroup.procs"));
        assert!(
            procs.lines().any(|p| p == pid.to_string()),
            "{} holds {procs:?}, not {pid}",
            dir.display()
        );
    }
    assert!(
        host_view.lines().all(|l| l.contains("/minirun.")),
        "{host_view}"
    );
    // The freezer is v2's where there is cgroup2: a paused container still dies of SIGKILL.
    let v2 = dirs
        .iter()
        .find(|d| d.join("cgroup.events").exists())
        .expect("a v2 cgroup on this hybrid host");
    ok(&sb.cmd(&["pause", "bare"]).output().unwrap());
    assert!(read(&v2.join("cgroup.events")).contains("frozen 1"));
    ok(&sb.cmd(&["resume", "bare"]).output().unwrap());
    assert!(read(&v2.join("cgroup.events")).contains("frozen 0"));
    let listed = ok(&sb.cmd(&["ps", "bare"]).output().unwrap());
    assert!(listed.contains(&pid.to_string()), "{listed}");
    ok(&sb.cmd(&["pause", "bare"]).output().unwrap());
    ok(&sb.cmd(&["kill", "--all", "bare", "KILL"]).output().unwrap());
    let mut child = child;
    child.wait().unwrap();
    assert!(!alive(pid as i64));
    assert_gone(&dirs);
}

/// Item 7: /sys/fs/cgroup inside is the container's own cgroup, read-only: the pids limit
/// shows and a write is EROFS; every hierarchy is there (all are joined).
#[test]
fn sys_fs_cgroup_shows_the_containers_own_cgroup_read_only() {
    let sb = Sandbox::new("lim-view");
    let o = sb.run(
        &["--pids-limit", "17"],
        &[
            "sh",
            "-c",
            "cat /sys/fs/cgroup/pids/pids.max; echo 3 > /sys/fs/cgroup/pids/pids.max; \
             ls /sys/fs/cgroup; touch /sys/fs/cgroup/x",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(out.lines().next(), Some("17"), "{out}{err}");
    assert!(err.contains("pids.max: Read-only file system"), "{err}");
    assert!(
        err.contains("/sys/fs/cgroup/x: Read-only file system"),
        "{err}"
    );
    for h in ["memory", "systemd", "freezer"] {
        assert!(
            out.lines().any(|l| l == h),
            "{h} is joined and shown: {out}"
        );
    }
    // The v2 view is the container's cgroup: its only process is the shell.
    let procs = ok(&sb.run(&[], &["cat", "/sys/fs/cgroup/unified/cgroup.procs"]));
    assert_eq!(procs.trim(), "1", "{procs}");
}
