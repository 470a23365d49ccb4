//! Issue "Capabilities and identity": the workshop's three steps and Docker's rules, checked
//! against what the kernel reports (/proc/PID/status), what pscap prints, and what crun prints
//! for a container with the same sets.

mod common;
use common::*;
use std::process::{Child, Command, Stdio};

const DEFAULTS: &str = "chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap";
const STEP2: &str = "chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot";
const STEP3: &str = "setgid, setuid";

/// A background `sleep` container; killed and reaped on drop.
struct Sleeper {
    runtime: Child,
    pid: i32,
}

impl Sleeper {
    fn start(sb: &Sandbox, opts: &[&str]) -> Sleeper {
        let runtime = sb
            .cmd(opts)
            .arg(fixture())
            .args(["sleep", "30"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let id = runtime.id();
        let pid = wait_for(5.0, || descendants_named(id, "sleep").first().copied())
            .expect("sleep never started");
        Sleeper { runtime, pid }
    }

    fn status(&self, key: &str) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        let v = s.lines().find_map(|l| l.strip_prefix(key)).unwrap();
        u64::from_str_radix(v.trim(), 16).unwrap()
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.runtime.wait();
    }
}

/// pscap's line for `pid`, if it lists the process.
fn pscap_line(pid: i32) -> Option<String> {
    let out = Command::new("pscap")
        .arg("-a")
        .output()
        .expect("pscap (libcap-ng-utils) missing");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(&pid.to_string()))
        .map(String::from)
}

fn expected_line(s: &Sleeper, caps: &str) -> String {
    let ppid = ppid(s.pid).unwrap();
    format!(
        "{:<5} {:<5} root        sleep               {caps} +",
        ppid, s.pid
    )
}

fn mask(names: &str) -> u64 {
    let all = minirun::capability::names::NAMES;
    names
        .split(", ")
        .map(|n| 1u64 << all.iter().position(|x| *x == n).unwrap())
        .fold(0, |a, b| a | b)
}

fn check_step(opts: &[&str], caps: &str) {
    let sb = Sandbox::new("step");
    let s = Sleeper::start(&sb, opts);
    assert_eq!(pscap_line(s.pid), Some(expected_line(&s, caps)));
    assert_eq!(s.status("CapEff:"), mask(caps));
    assert_eq!(s.status("CapPrm:"), mask(caps));
    assert_eq!(s.status("CapBnd:"), mask(caps));
    assert_eq!(s.status("CapInh:"), 0);
    assert_eq!(s.status("CapAmb:"), 0);
    // minirun's own ps prints the very same line, after its container column.
    let ps = ok(&sb.cmd(&["ps"]).output().unwrap());
    let want = pscap_line(s.pid).expect("pscap lists the sleeper");
    assert!(
        ps.lines().any(|l| l.ends_with(&format!("  {want}"))),
        "{ps}"
    );
}

#[test]
fn workshop_step_1_defaults() {
    check_step(&[], DEFAULTS);
}

#[test]
fn workshop_step_2_blacklist() {
    check_step(
        &[
            "--cap-drop=setfcap",
            "--cap-drop=audit_write",
            "--cap-drop=mknod",
        ],
        STEP2,
    );
}

#[test]
fn workshop_step_3_whitelist() {
    check_step(
        &["--cap-drop=all", "--cap-add=setuid", "--cap-add=setgid"],
        STEP3,
    );
}

#[test]
fn cap_add_adds_exactly_one() {
    check_step(&["--cap-add", "setuid"], DEFAULTS);
    check_step(
        &["--cap-add", "SYS_ADMIN"],
        "chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot, sys_admin, mknod, audit_write, setfcap",
    );
}

#[test]
fn drop_all_leaves_nothing() {
    let sb = Sandbox::new("dropall");
    let s = Sleeper::start(&sb, &["--cap-drop", "all"]);
    assert_eq!(pscap_line(s.pid), None);
    for k in ["CapEff:", "CapPrm:", "CapBnd:", "CapInh:", "CapAmb:"] {
        assert_eq!(s.status(k), 0, "{k}");
    }
    // The kernel agrees: chown now fails with EPERM.
    let o = sb.run(&["--cap-drop", "all"], &["chown", "1000", "/tmp/f"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{}",
        stderr(&o)
    );
}

/// The same sets through crun, in the private mount namespace crun 1.8 needs on this
/// machine's hybrid cgroup layout: pscap must print the same line, pid columns aside.
#[test]
fn pscap_lines_equal_cruns() {
    if Command::new("crun").arg("--version").output().is_err() {
        panic!("crun missing: `make test` installs it");
    }
    for (opts, caps) in [
        (&[][..], DEFAULTS),
        (
            &[
                "--cap-drop=setfcap",
                "--cap-drop=audit_write",
                "--cap-drop=mknod",
            ][..],
            STEP2,
        ),
        (
            &["--cap-drop=all", "--cap-add=setuid", "--cap-add=setgid"][..],
            STEP3,
        ),
    ] {
        let sb = Sandbox::new("crun");
        let ours = {
            let s = Sleeper::start(&sb, opts);
            pscap_line(s.pid).unwrap()
        };
        let theirs = crun_pscap_line(&sb, caps);
        let tail = |l: &str| l.split_at(12).1.to_string();
        assert_eq!(
            tail(&ours),
            tail(&theirs),
            "ours:   {ours}\ncrun's: {theirs}"
        );
    }
}

fn crun_pscap_line(sb: &Sandbox, caps: &str) -> String {
    let bundle = sb.scratch.join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    let names: Vec<String> = caps
        .split(", ")
        .map(|c| format!("CAP_{}", c.to_uppercase()))
        .collect();
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": fixture()},
        "process": {"args": ["sleep", "30"], "cwd": "/", "user": {"uid": 0, "gid": 0},
            "env": ["PATH=/bin"],
            "capabilities": {"bounding": names, "effective": names, "permitted": names}},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"},
            {"type": "ipc"}, {"type": "network"}]},
    });
    std::fs::write(bundle.join("config.json"), config.to_string()).unwrap();
    let state = sb.scratch.join("crun-state");
    let script = format!(
        "umount /sys/fs/cgroup/unified 2>/dev/null; exec crun --root {} --cgroup-manager=disabled run -b {} minirun-cmp",
        state.display(),
        bundle.display()
    );
    let mut child = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = wait_for(5.0, || {
        descendants_named(child.id(), "sleep").first().copied()
    })
    .expect("crun's sleep never started");
    let line = pscap_line(pid).expect("pscap shows crun's sleep");
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    child.wait().unwrap();
    line
}

#[test]
fn non_root_gets_cap_add_through_ambient() {
    let sb = Sandbox::new("ambient");
    let granted = ok(&sb.run(
        &["--user", "app", "--cap-add", "net_bind_service"],
        &["capprobe", "net_bind_service"],
    ));
    assert!(granted.contains("\"result\":\"allowed\""), "{granted}");
    // capprobe exits 1 when the kernel refuses.
    let o = sb.run(&["--user", "app"], &["capprobe", "net_bind_service"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let denied = stdout(&o);
    assert!(denied.contains("\"result\":\"EACCES\""), "{denied}");
    // busybox nc really binds :80 (it waits until timeout kills it) or is refused.
    let o = sb.run(
        &["--user", "app", "--cap-add", "net_bind_service"],
        &["sh", "-c", "timeout 1 nc -l -p 80; echo rc=$?"],
    );
    assert_eq!(stdout(&o).trim(), "rc=143", "{}", stderr(&o));
    let o = sb.run(
        &["--user", "app"],
        &["sh", "-c", "timeout 1 nc -l -p 80; echo rc=$?"],
    );
    assert!(stderr(&o).contains("Permission denied"), "{}", stderr(&o));
    // The five sets: the asked-for capability everywhere, Docker's defaults in bounding.
    let s = Sleeper::start(&sb, &["--user", "app", "--cap-add", "net_bind_service"]);
    let nbs = 1u64 << 10;
    for k in ["CapEff:", "CapPrm:", "CapInh:", "CapAmb:"] {
        assert_eq!(s.status(k), nbs, "{k}");
    }
    assert_eq!(s.status("CapBnd:"), mask(DEFAULTS));
    let line = pscap_line(s.pid).unwrap();
    assert!(line.ends_with("  net_bind_service @ +"), "{line}");
    // pscap names the user from the host's passwd, as it does for any process.
    let host_name = std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find(|l| l.split(':').nth(2) == Some("1000"))
        .map(|l| l.split(':').next().unwrap().to_string())
        .unwrap_or_else(|| "1000".into());
    assert!(line.contains(&format!(" {host_name:<10}  sleep")), "{line}");
}

#[test]
fn non_root_without_cap_add_has_nothing() {
    let sb = Sandbox::new("nonroot");
    let s = Sleeper::start(&sb, &["--user", "app"]);
    for k in ["CapEff:", "CapPrm:", "CapInh:", "CapAmb:"] {
        assert_eq!(s.status(k), 0, "{k}");
    }
    assert_eq!(pscap_line(s.pid), None);
}

#[test]
fn user_group_and_group_add() {
    let sb = Sandbox::new("ids");
    let out = ok(&sb.run(&["--user", "1000:2000", "--group-add", "3000"], &["id"]));
    assert_eq!(out.trim(), "uid=1000(app) gid=2000 groups=3000");
    let out = ok(&sb.run(&["--user", "app"], &["sh", "-c", "id; echo $HOME"]));
    assert_eq!(out, "uid=1000(app) gid=1000(app)\n/home/app\n");
    let out = ok(&sb.run(&["-u", "nobody"], &["id", "-u"]));
    assert_eq!(out.trim(), "65534");
}

#[test]
fn no_new_privileges_stops_setuid_root() {
    let sb = Sandbox::new("nnp");
    let rootfs = sb.scratch.join("rootfs");
    let cp = Command::new("cp")
        .arg("-a")
        .arg(fixture())
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(cp.success());
    let suid = rootfs.join("bin/suidprobe");
    std::fs::copy(rootfs.join("bin/capprobe"), &suid).unwrap();
    std::os::unix::fs::chown(&suid, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&suid, std::os::unix::fs::PermissionsExt::from_mode(0o4755)).unwrap();
    let run = |opts: &[&str]| {
        let mut c = sb.cmd(opts);
        c.arg(&rootfs).args(["suidprobe", "id"]);
        ok(&c.output().unwrap())
    };
    let gains = run(&["--user", "app"]);
    assert!(gains.contains("\"euid\":0"), "{gains}");
    for flag in [
        &["--no-new-privileges"][..],
        &["--security-opt", "no-new-privileges"][..],
    ] {
        let mut opts = vec!["--user", "app"];
        opts.extend_from_slice(flag);
        let held = run(&opts);
        assert!(held.contains("\"euid\":1000"), "{held}");
    }
}

#[test]
fn bad_capability_names() {
    let sb = Sandbox::new("badcap");
    let o = sb.run(&["--cap-add", "foo"], &["true"]);
    assert_eq!(code(&o), 125);
    assert_eq!(stderr(&o).trim(), "minirun: unknown capability \"CAP_FOO\"");
    let o = sb.run(&["--cap-drop", "setiud"], &["true"]);
    assert_eq!(code(&o), 125);
    assert_eq!(
        stderr(&o).trim(),
        "minirun: unknown capability \"CAP_SETIUD\" (did you mean \"CAP_SETUID\"?)"
    );
}

/// This machine's bounding set lacks CAP_SYS_RESOURCE; where a host withholds nothing the
/// test only checks that "all" really is everything.
#[test]
fn all_means_all_that_minirun_holds() {
    let sb = Sandbox::new("all");
    let held = minirun::capability::held_bounding();
    let last = minirun::capability::kernel_last_cap();
    let kernel = minirun::capability::CapSet::all_up_to(last);
    let s = Sleeper::start(&sb, &["--cap-add", "all"]);
    assert_eq!(s.status("CapEff:"), held.0);
    assert_eq!(s.status("CapBnd:"), held.0);
    drop(s);
    let o = sb.run(&["--cap-add", "all"], &["true"]);
    if held != kernel {
        let err = stderr(&o);
        assert!(err.contains("withholds"), "{err}");
        for c in kernel.minus(held).oci_names() {
            assert!(err.contains(&c), "{err}");
            let o = sb.run(&["--cap-add", &c], &["true"]);
            assert_eq!(code(&o), 125);
            assert!(
                stderr(&o).contains("withheld by the environment"),
                "{}",
                stderr(&o)
            );
        }
    }
}

#[test]
fn added_and_dropped_is_kept_with_a_warning() {
    let sb = Sandbox::new("both");
    let o = sb.run(
        &["--cap-add", "net_admin", "--cap-drop", "net_admin"],
        &["sh", "-c", "grep CapEff /proc/self/status"],
    );
    let out = ok(&o);
    let eff = u64::from_str_radix(out.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_ne!(eff & (1 << 12), 0);
    assert!(
        stderr(&o).contains("CAP_NET_ADMIN both added and dropped"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn caps_and_ps_json() {
    let sb = Sandbox::new("capscmd");
    let s = Sleeper::start(
        &sb,
        &["--name", "capsjson", "--cap-drop=all", "--cap-add=kill"],
    );
    let text = ok(&sb.cmd(&["caps", "capsjson"]).output().unwrap());
    assert!(
        text.contains("effective    0000000000000020  kill"),
        "{text}"
    );
    assert!(
        text.contains("ambient      0000000000000000  (none)"),
        "{text}"
    );
    let js = ok(&sb
        .cmd(&["caps", "--json", &s.pid.to_string()])
        .output()
        .unwrap());
    let v: serde_json::Value = serde_json::from_str(&js).unwrap();
    assert_eq!(v["bounding"], serde_json::json!(["kill"]));
    let ps = ok(&sb.cmd(&["ps", "--json"]).output().unwrap());
    let v: serde_json::Value = serde_json::from_str(ps.lines().next().unwrap()).unwrap();
    assert_eq!(v["container"], "capsjson");
    assert_eq!(v["pid"], s.pid);
    assert_eq!(v["effective"], serde_json::json!(["kill"]));
}

#[test]
fn trace_shows_the_capability_steps_in_order() {
    let sb = Sandbox::new("trace");
    let o = sb.run(
        &["--trace", "--cap-drop=all", "--cap-add=setuid"],
        &["true"],
    );
    ok(&o);
    let err = stderr(&o);
    let pos = |needle: &str| {
        err.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing:\n{err}"))
    };
    let bounding = pos("bounding set dropped: bounding=[setuid]");
    let pivot = pos("pivot_root");
    let ids = pos("identity switched");
    let exec = pos("execve");
    assert!(pivot < bounding && bounding < ids && ids < exec, "{err}");
}
