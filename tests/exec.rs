//! Issue 20, items 4 and 5: a non-root workload without capabilities starts (the exec fifo),
//! and `exec` starts from the container's own process, never from more privilege. Real
//! containers from the fixture rootfs, as root; every test leaves nothing behind.

mod common;

use common::bundles::*;
use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Command;

/// The lines of /proc/PID/status that say what a process may do and who it is.
const KEYS: &[&str] = &[
    "Uid",
    "Gid",
    "Groups",
    "CapInh",
    "CapPrm",
    "CapEff",
    "CapBnd",
    "CapAmb",
    "NoNewPrivs",
    "Seccomp",
    "Seccomp_filters",
];

fn privileges(status: &str) -> BTreeMap<String, String> {
    status
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| KEYS.contains(k))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn proc_file(pid: i64, name: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{name}")).unwrap()
}

/// The environment of `pid`, one entry a line, sorted (as `env | sort` prints it).
fn environ(pid: i64) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let mut v: Vec<String> = String::from_utf8_lossy(&raw)
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    v.sort();
    v
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(String::from).collect();
    v.sort();
    v
}

/// Asserts that `exec ID` with no flags runs as the container's PID 1 does: the same
/// privileges, limits, environment and working directory.
fn assert_exec_matches_init(sb: &Sandbox, id: &str, pid: i64) {
    let status = ok(&oci(sb, &["exec", id, "cat", "/proc/self/status"]));
    assert_eq!(
        privileges(&status),
        privileges(&proc_file(pid, "status")),
        "exec vs the container's init"
    );
    let limits = ok(&oci(sb, &["exec", id, "cat", "/proc/self/limits"]));
    assert_eq!(limits, proc_file(pid, "limits"));
    let env = ok(&oci(sb, &["exec", id, "env"]));
    assert_eq!(sorted_lines(&env), environ(pid));
    let cwd = ok(&oci(sb, &["exec", id, "pwd"]));
    let init_cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    // The init's cwd as the host sees it ends with the container's path.
    assert!(
        init_cwd.ends_with(cwd.trim().trim_start_matches('/')),
        "exec in {cwd:?}, init in {}",
        init_cwd.display()
    );
}

/// pscap's command and capability columns for `pid`.
fn pscap_line(pid: i64) -> String {
    let out = Command::new("pscap")
        .arg("-a")
        .output()
        .expect("pscap (libcap-ng-utils) missing");
    stdout(&out)
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 4 && f[1] == pid.to_string()).then(|| f[3..].join(" "))
        })
        .unwrap_or_else(|| panic!("pscap lacks pid {pid}: {}", stdout(&out)))
}

/// A bundle whose process is uid/gid 1000 with every capability set empty, as runc runs it.
fn unprivileged(sb: &Sandbox, name: &str, args: &[&str]) -> std::path::PathBuf {
    bundle(sb, name, args, |c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["process"]["capabilities"] = json!({
            "bounding": [], "effective": [], "permitted": [], "inheritable": [], "ambient": []
        });
    })
}

/// Item 20.4: the init opens the exec fifo for writing after it became uid 1000 without
/// CAP_DAC_OVERRIDE. mkfifo under the usual umask 022 made it 0600 (root's only): EACCES,
/// and `start`/`run` saw only "exited before it was started".
#[test]
fn nonroot_workload_without_capabilities_starts() {
    // The umask under which the fifo used to lose its write bit for others.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    let sb = Sandbox::new("exec-nonroot");
    let _reap = Reap(&sb);

    // create + start.
    let dir = unprivileged(&sb, "b", &["sleep", "30"]);
    let pid = create(&sb, &dir, "n1");
    let fifo = sb.root.join("n1").join("exec.fifo");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&fifo).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o622, "exec fifo mode {mode:o}");
    ok(&oci(&sb, &["start", "n1"]));
    assert_eq!(status(&sb, "n1"), "running");
    let p = privileges(&proc_file(pid, "status"));
    assert_eq!(p["Uid"], "1000\t1000\t1000\t1000");
    assert_eq!(p["Gid"], "1000\t1000\t1000\t1000");
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(p[set], "0000000000000000", "{set}");
    }
    assert_eq!(comm(pid), "sleep");
    // exec into it starts from that same process: uid 1000, no capabilities.
    assert_exec_matches_init(&sb, "n1", pid);
    force_delete(&sb, "n1");

    // run, in the foreground: the workload's output and exit status.
    let dir = unprivileged(&sb, "r", &["sh", "-c", "id; exit 3"]);
    let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "n2"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert_eq!(stdout(&o), "uid=1000(app) gid=1000(app)\n");
    assert!(records_in(&sb.root).is_empty());
}

/// An init that fails after `start` released it: `run` said nothing and exited 125; the
/// reason is the error, as runc reports it.
#[test]
fn run_reports_a_failed_start_container_hook() {
    let sb = Sandbox::new("exec-hook-fail");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["true"], |c| {
        c["hooks"] = json!({"startContainer": [{"path": "/bin/false"}]});
    });
    let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "g1"]);
    refused(&o, 1, "startContainer");
    assert!(records_in(&sb.root).is_empty());
}

/// `minirun -d …` as the issue gives it: the id printed.
fn detach(sb: &Sandbox, opts: &[&str], argv: &[&str]) -> String {
    let mut all = vec!["-d"];
    all.extend_from_slice(opts);
    ok(&sb.run(&all, argv)).trim().to_string()
}

/// A detached container, killed and removed on drop, even when an assertion failed first.
struct Detached<'a> {
    sb: &'a Sandbox,
    id: String,
}

impl Drop for Detached<'_> {
    fn drop(&mut self) {
        let (sb, id) = (self.sb, self.id.as_str());
        let _ = sb.cmd(&["kill", id, "KILL"]).output();
        let stopped = wait_for(10.0, || {
            let o = sb.cmd(&["state", id]).output().unwrap();
            stdout(&o).contains("\"stopped\"").then_some(())
        });
        let removed = sb.cmd(&["rm", id]).output().unwrap();
        if !std::thread::panicking() {
            assert!(stopped.is_some(), "{id} did not stop");
            ok(&removed);
        }
    }
}

/// Item 20.5: `exec` into a quick-form container ran with Docker's 14 capabilities, as uid 0,
/// in /, without the container's environment (CapEff a80425fb where the container holds c0).
#[test]
fn exec_into_a_quick_form_container_starts_from_its_process() {
    let sb = Sandbox::new("exec-quick");
    let id = detach(
        &sb,
        &[
            "--cap-drop",
            "all",
            "--cap-add",
            "setuid,setgid",
            "-u",
            "1000",
            "--group-add",
            "10",
            "-e",
            "FOO=bar",
            "-w",
            "/tmp",
            "--security-opt",
            "no-new-privileges",
        ],
        &["sleep", "30"],
    );
    let container = Detached {
        sb: &sb,
        id: id.clone(),
    };
    let pid = state(&sb, &id)["pid"].as_i64().unwrap();
    let init = privileges(&proc_file(pid, "status"));
    assert_eq!(init["CapEff"], "00000000000000c0");
    assert_eq!(init["NoNewPrivs"], "1");
    assert_eq!(init["Groups"], "10");
    assert_exec_matches_init(&sb, &id, pid);
    let out = ok(&oci(&sb, &["exec", &id, "sh", "-c", "id; pwd; echo $FOO"]));
    assert_eq!(out, "uid=1000(app) gid=1000(app) groups=10\n/tmp\nbar\n");

    // Each flag changes only what it names.
    let probe = "id -u; id -g; pwd; echo $FOO; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status";
    let out = ok(&oci(&sb, &["exec", "-u", "0", &id, "sh", "-c", probe]));
    assert_eq!(
        out,
        "0\n0\n/tmp\nbar\nCapEff:\t00000000000000c0\nNoNewPrivs:\t1\n"
    );
    let out = ok(&oci(
        &sb,
        &["exec", "-e", "FOO=baz", &id, "sh", "-c", probe],
    ));
    assert_eq!(
        out,
        "1000\n1000\n/tmp\nbaz\nCapEff:\t00000000000000c0\nNoNewPrivs:\t1\n"
    );
    for w in ["-w", "--workdir", "--cwd"] {
        let out = ok(&oci(&sb, &["exec", w, "/", &id, "sh", "-c", probe]));
        assert_eq!(
            out, "1000\n1000\n/\nbar\nCapEff:\t00000000000000c0\nNoNewPrivs:\t1\n",
            "{w}"
        );
    }

    // pscap: the exec'd process holds the container's two capabilities, no more.
    let pid_file = sb.scratch.join("exec.pid");
    ok(&oci(
        &sb,
        &[
            "exec",
            "-d",
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
            "sleep",
            "30",
        ],
    ));
    let epid: i64 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // "@": ambient too (a non-root user keeps what it asked for, policy::sets_for).
    assert_eq!(pscap_line(epid), "sleep setgid, setuid @ +");
    assert_eq!(pscap_line(epid), pscap_line(pid));

    // A record without its saved process (an older minirun's): refused, never run with
    // defaults that would widen the container's privileges.
    std::fs::remove_file(sb.root.join(&id).join("process.json")).unwrap();
    let o = oci(&sb, &["exec", &id, "true"]);
    // 1: an OCI command's own failure, as runc exits.
    refused(&o, 1, "--process");
    drop(container);
    assert!(wait_for(5.0, || (!alive(epid)).then_some(())).is_some());
}

/// OCI `exec` without --process takes config.json's process as its base (runc's rule), so a
/// non-default process (uid, two capabilities in all five sets, no_new_privs, a variable, a
/// cwd, an rlimit) is what the exec'd process gets too.
#[test]
fn oci_exec_without_process_starts_from_config_json() {
    let sb = Sandbox::new("exec-oci");
    let _reap = Reap(&sb);
    let two = json!(["CAP_SETUID", "CAP_SETGID"]);
    let dir = bundle(&sb, "b", &["sleep", "30"], |c: &mut Value| {
        let p = &mut c["process"];
        p["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [10]});
        p["capabilities"] = json!({"bounding": two, "effective": two, "permitted": two,
                                   "inheritable": two, "ambient": two});
        p["noNewPrivileges"] = json!(true);
        p["cwd"] = json!("/tmp");
        p["env"] = json!(["PATH=/bin:/usr/bin", "FOO=bar"]);
        p["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]);
    });
    let pid = create(&sb, &dir, "o1");
    ok(&oci(&sb, &["start", "o1"]));
    assert_eq!(
        privileges(&proc_file(pid, "status"))["CapEff"],
        "00000000000000c0"
    );
    assert_exec_matches_init(&sb, "o1", pid);
    let out = ok(&oci(
        &sb,
        &[
            "exec",
            "-u",
            "0:0",
            "o1",
            "sh",
            "-c",
            "id -u; pwd; echo $FOO",
        ],
    ));
    assert_eq!(out, "0\n/tmp\nbar\n");
    force_delete(&sb, "o1");
}
