//! Issue 23: `--trace-caps` shows the kernel's own capability checks for one container, on the
//! real kernel (this machine's 6.18 has the capability:cap_capable tracepoint), and says who
//! refused each failed call.

mod common;
use common::*;
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// A traced quick-form run; returns (output, the --trace-caps-json document).
fn traced(sb: &Sandbox, opts: &[&str], argv: &[&str]) -> (std::process::Output, Value) {
    let json = sb
        .scratch
        .join(format!("trace-{}.json", argv.join("_").len()));
    let _ = std::fs::remove_file(&json);
    let mut all = vec!["--trace-caps", "--trace-caps-json", json.to_str().unwrap()];
    all.extend_from_slice(opts);
    let out = sb.run(&all, argv);
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| {
        panic!(
            "no JSON at {} ({e}); stderr: {}",
            json.display(),
            stderr(&out)
        )
    });
    (out, serde_json::from_str(&text).expect("valid JSON"))
}

fn tally<'a>(doc: &'a Value, cap: &str) -> Option<&'a Value> {
    doc["summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["capability"] == cap)
}

fn refusal<'a>(doc: &'a Value, syscall: &str) -> Option<&'a Value> {
    doc["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["syscall"] == syscall)
}

const CHOWN: [&str; 3] = ["sh", "-c", "touch /tmp/f && chown 1 /tmp/f"];

#[test]
fn chown_is_denied_cap_chown_with_the_drop_and_granted_without() {
    let sb = Sandbox::new("tc-chown");
    let (out, doc) = traced(&sb, &["--tmpfs", "/tmp", "--cap-drop", "chown"], &CHOWN);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("chown checked CAP_CHOWN → denied (host's user namespace)")
            || err.contains("fchownat checked CAP_CHOWN → denied (host's user namespace)"),
        "{err}"
    );
    let t = tally(&doc, "CAP_CHOWN").expect("CAP_CHOWN in the summary");
    assert!(t["denied"].as_u64().unwrap() >= 1, "{t}");
    assert_eq!(t["granted"], 0, "{t}");
    let refused = doc["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["comm"] == "chown")
        .expect("chown's refusal");
    assert_eq!(refused["fence"], "capability:CAP_CHOWN", "{refused}");
    assert_eq!(refused["errno"], "EPERM");
    assert!(err.contains("--cap-add chown would grant it"), "{err}");
    assert!(doc["attach_us"].as_u64().unwrap() > 0);

    let (out, doc) = traced(&sb, &["--tmpfs", "/tmp"], &CHOWN);
    ok(&out);
    let t = tally(&doc, "CAP_CHOWN").expect("CAP_CHOWN in the summary");
    assert!(t["granted"].as_u64().unwrap() >= 1, "{t}");
    assert_eq!(t["denied"], 0, "{t}");
    assert!(
        doc["refusals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["comm"] != "chown"),
        "{doc}"
    );
}

#[test]
fn ping_without_net_raw_is_refused_by_cap_net_raw() {
    let sb = Sandbox::new("tc-ping");
    let (out, doc) = traced(
        &sb,
        &["--cap-drop", "net_raw"],
        &["ping", "-c", "1", "127.0.0.1"],
    );
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    let t = tally(&doc, "CAP_NET_RAW").expect("CAP_NET_RAW in the summary");
    assert!(t["denied"].as_u64().unwrap() >= 1, "{t}");
    assert!(t["syscalls"].as_array().unwrap().contains(&"socket".into()));
    let r = refusal(&doc, "socket").expect("socket's refusal");
    assert_eq!(r["fence"], "capability:CAP_NET_RAW", "{r}");
}

#[test]
fn unshare_user_under_dockers_profile_is_refused_by_seccomp_not_a_capability() {
    let sb = Sandbox::new("tc-unshare");
    let (out, doc) = traced(&sb, &[], &["unshare", "-U", "true"]);
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = refusal(&doc, "unshare").expect("unshare's refusal");
    assert_eq!(r["fence"], "seccomp", "{r}");
    // The kernel was never asked: no capability check during unshare.
    assert!(
        doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["syscall"] != "unshare"),
        "{doc}"
    );
    // Unconfined, the kernel needs no capability for a user namespace and the call works.
    let (out, doc) = traced(
        &sb,
        &["--security-opt", "seccomp=unconfined"],
        &["unshare", "-U", "true"],
    );
    ok(&out);
    assert!(refusal(&doc, "unshare").is_none(), "{doc}");
}

#[test]
fn a_fork_under_the_pids_limit_is_refused_by_the_pids_limit() {
    let sb = Sandbox::new("tc-pids");
    let (_, doc) = traced(
        &sb,
        &["--pids-limit", "2"],
        &["sh", "-c", "sleep 1 & sleep 1 & sleep 1 & wait"],
    );
    let forks: Vec<&Value> = doc["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["errno"] == "EAGAIN")
        .collect();
    assert!(!forks.is_empty(), "{doc}");
    for r in forks {
        assert_eq!(r["fence"], "pids", "{r}");
    }
}

#[test]
fn a_host_process_checking_capabilities_meanwhile_is_never_shown() {
    let sb = Sandbox::new("tc-host");
    // A host process with a name of its own, doing CAP_CHOWN checks while the container runs.
    let probe = sb.scratch.join("hostprobe");
    std::fs::copy(fixture().join("bin/busybox"), &probe).unwrap();
    let file = sb.scratch.join("owned");
    std::fs::write(&file, "").unwrap();
    // Named hostprobe (its comm), acting as busybox's chown (its argv[0]).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (flag, p, f) = (stop.clone(), probe.clone(), file.clone());
    let host = std::thread::spawn(move || {
        let mut pids = vec![];
        let mut i = 0;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            let mut c = Command::new(&p);
            c.arg0("chown").arg((i % 2).to_string()).arg(&f);
            let mut child = c.spawn().unwrap();
            pids.push(u64::from(child.id()));
            assert!(child.wait().unwrap().success(), "the host's chown works");
            i += 1;
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        pids
    });
    let (out, doc) = traced(
        &sb,
        &["--tmpfs", "/tmp"],
        &[
            "sh",
            "-c",
            "touch /tmp/f; for i in 1 2 3 4 5; do chown $i /tmp/f; usleep 100000; done",
        ],
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let host_pids = host.join().unwrap();
    assert!(host_pids.len() >= 10, "the host checked meanwhile");
    ok(&out);
    let checks = doc["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .filter(|c| c["capability"] == "CAP_CHOWN")
            .count()
            >= 5,
        "the container's own checks were traced: {doc}"
    );
    for c in checks {
        assert_ne!(c["comm"], "hostprobe", "{c}");
        assert!(!host_pids.contains(&c["pid"].as_u64().unwrap()), "{c}");
    }
    assert!(!stderr(&out).contains("hostprobe"));
}

/// Off, the tracer costs nothing: not a bpf(2) call, not a look at the kernel's BTF.
#[test]
fn without_the_flag_no_bpf_program_is_loaded_for_tracing() {
    let sb = Sandbox::new("tc-off");
    let log = sb.scratch.join("strace");
    let mut c = Command::new("strace");
    c.args(["-f", "-qq", "-e", "trace=bpf,openat", "-o"])
        .arg(&log)
        .arg(minirun())
        .arg("--root")
        .arg(&sb.root)
        .arg(fixture())
        .arg("true");
    let out = c.output().expect("strace (Debian package strace) runs");
    ok(&out);
    let trace = std::fs::read_to_string(&log).unwrap();
    for word in [
        "BPF_RAW_TRACEPOINT_OPEN",
        "BPF_MAP_TYPE_RINGBUF",
        "BPF_PROG_TYPE_RAW_TRACEPOINT",
        "/sys/kernel/btf",
    ] {
        assert!(
            !trace.contains(word),
            "{word} without --trace-caps:\n{trace}"
        );
    }
    // And with it, all of them, before the workload's execve.
    let mut c = Command::new("strace");
    c.args(["-f", "-qq", "-e", "trace=bpf,execve", "-o"])
        .arg(&log)
        .arg(minirun())
        .arg("--root")
        .arg(&sb.root)
        .arg("--trace-caps")
        .arg(fixture())
        .arg("true");
    ok(&c.output().unwrap());
    let trace = std::fs::read_to_string(&log).unwrap();
    let attach = trace.find("BPF_RAW_TRACEPOINT_OPEN").expect("attached");
    let workload = trace
        .find("execve(\"/bin/true\"")
        .or_else(|| trace.rfind("execve("));
    assert!(attach < workload.unwrap(), "{trace}");
}

#[test]
fn without_a_cgroup_v2_it_says_what_it_needs_and_leaves_nothing() {
    let sb = Sandbox::new("tc-nocg");
    let out = sb.run(&["--cgroup-manager", "disabled", "--trace-caps"], &["true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(
        err.contains("--trace-caps needs the container's cgroup v2"),
        "{err}"
    );
    // One error line; before it only warnings (without a device fence the quick form says it
    // drops CAP_MKNOD).
    let lines: Vec<&str> = err.trim().lines().collect();
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l.starts_with("minirun: warning: ")),
        "{err}"
    );
    assert!(
        lines.last().unwrap().contains("--trace-caps needs"),
        "{err}"
    );
}

/// `minirun trace-caps ID` attaches to a running container and reports at Ctrl-C.
#[test]
fn trace_caps_attaches_to_a_running_container() {
    let sb = Sandbox::new("tc-attach");
    let out = sb.run(
        &["-d", "--cap-drop", "chown", "--tmpfs", "/tmp"],
        &[
            "sh",
            "-c",
            "touch /tmp/f; while true; do chown 1 /tmp/f 2>/dev/null; usleep 50000; done",
        ],
    );
    let id = ok(&out).trim().to_string();
    let json = sb.scratch.join("attach.json");
    let mut tracer = sb
        .cmd(&["trace-caps", &id, "--json", json.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(tracer.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = tracer.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut tracer.stderr.take().unwrap(), &mut err).unwrap();
    ok(&sb.cmd(&["rm", "-f", &id]).output().unwrap());
    assert!(status.success(), "{err}");
    assert!(err.contains("refused ("), "one line with a count: {err}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let t = tally(&doc, "CAP_CHOWN").expect("CAP_CHOWN in the summary");
    assert!(t["denied"].as_u64().unwrap() >= 3, "{t}");
    assert!(refusal(&doc, "chown").is_some(), "{doc}");
    // Not running: refused by name.
    let out = sb.cmd(&["trace-caps", "nosuch"]).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("nosuch"), "{}", stderr(&out));
}

/// The tracer's maps, programs, links and wake-up pipe stay in the runtime.
#[test]
fn no_tracer_fd_reaches_the_workload() {
    let sb = Sandbox::new("tc-fds");
    let out = sb.run(&["--trace-caps"], &["ls", "/proc/self/fd"]);
    let fds: Vec<String> = ok(&out).split_whitespace().map(String::from).collect();
    // 0-2 and ls's own directory fd.
    assert_eq!(fds, ["0", "1", "2", "3"], "{}", stderr(&out));
}
