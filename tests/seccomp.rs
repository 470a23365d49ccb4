//! seccomp for real: Docker's default profile in the quick form (and what `--cap-add` and
//! `seccomp=unconfined` change), Docker-format profile files, and OCI `linux.seccomp` with each
//! action and argument operator, installed with and without no_new_privs, in `run` and `exec`,
//! with the notify listener handed to `listenerPath`. `capprobe syscall NAME` makes each call
//! with arguments the kernel refuses for its own reasons, so "allowed" (past the filter) and
//! the filter's errno are told apart.

mod common;

use common::bundles::*;
use common::*;
use serde_json::{Value, json};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

/// Calls the profile decides differently with and without CAP_SYS_ADMIN.
const ADMIN_OPENS: &[&str] = &[
    "mount",
    "umount2",
    "unshare",
    "setns",
    "bpf",
    "perf_event_open",
];
/// Calls Docker's profile refuses whatever the capabilities.
const ALWAYS_SHUT: &[&str] = &["keyctl", "add_key", "request_key"];

fn probe_script(calls: &[&str]) -> String {
    calls
        .iter()
        .map(|c| format!("capprobe syscall {c};"))
        .collect::<Vec<_>>()
        .join(" ")
        + " grep '^Seccomp:' /proc/self/status"
}

/// syscall name -> result, and the Seccomp: mode, from the probe script's output.
fn results(out: &str) -> (Vec<(String, String)>, String) {
    let mut r = Vec::new();
    let mut mode = String::new();
    for l in out.lines() {
        if let Some(m) = l.strip_prefix("Seccomp:") {
            mode = m.trim().to_string();
        } else {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            r.push((
                v["syscall"].as_str().unwrap().to_string(),
                v["result"].as_str().unwrap().to_string(),
            ));
        }
    }
    (r, mode)
}

fn result_of<'a>(r: &'a [(String, String)], name: &str) -> &'a str {
    &r.iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn docker_default_refuses_what_unconfined_allows_and_sys_admin_opens() {
    let sb = Sandbox::new("sc-default");
    let all: Vec<&str> = ADMIN_OPENS.iter().chain(ALWAYS_SHUT).copied().collect();
    let script = probe_script(&all);
    for (opts, mode) in [
        (&[][..], "2"),
        (&["--security-opt", "seccomp=unconfined"][..], "0"),
        (&["--cap-add", "sys_admin"][..], "2"),
        (&["--privileged"][..], "0"),
    ] {
        let (r, m) = results(&ok(&sb.run(opts, &["sh", "-c", &script])));
        assert_eq!(m, mode, "{opts:?}: Seccomp mode");
        for name in &all {
            let got = result_of(&r, name);
            let open = match opts.first().copied() {
                None => false,
                Some("--cap-add") => ADMIN_OPENS.contains(name),
                _ => true,
            };
            let want = if open { "allowed" } else { "EPERM" };
            assert_eq!(got, want, "{opts:?}: {name}");
        }
    }
}

#[test]
fn nested_user_namespaces_and_mounts_follow_the_profile() {
    let sb = Sandbox::new("sc-unshare");
    // Docker's default set: the nested user namespace (which would hold every capability) is
    // refused by the filter; unconfined it works, as it does under runc.
    let o = sb.run(&[], &["unshare", "-Ur", "true"]);
    assert_ne!(code(&o), 0);
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{}",
        stderr(&o)
    );
    ok(&sb.run(
        &["--security-opt", "seccomp=unconfined"],
        &["unshare", "-Ur", "true"],
    ));
    // mount: CAP_SYS_ADMIN opens both the capability check and the profile's rule.
    // (on /tmp, which the fixture has: the quick form writes to the fixture itself)
    let script = "mount -t tmpfs x /tmp && grep -c ' /tmp tmpfs ' /proc/mounts";
    let o = sb.run(&[], &["sh", "-c", script]);
    assert_ne!(code(&o), 0);
    assert_eq!(
        ok(&sb.run(&["--cap-add", "sys_admin"], &["sh", "-c", script])),
        "1\n"
    );
}

#[test]
fn a_docker_format_profile_file_is_resolved_and_applied() {
    let sb = Sandbox::new("sc-file");
    let p = sb.scratch.join("profile.json");
    std::fs::write(
        &p,
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                         "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
            "syscalls": [
                {"names": ["getcpu"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18},
                // Applies only with CAP_SYS_ADMIN, as Docker's includes.caps do.
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18,
                 "includes": {"caps": ["CAP_SYS_ADMIN"]}}
            ]
        })
        .to_string(),
    )
    .unwrap();
    let opt = format!("seccomp={}", p.display());
    let script = "capprobe syscall getcpu; capprobe syscall personality";
    let (r, _) = results(&ok(
        &sb.run(&["--security-opt", &opt], &["sh", "-c", script])
    ));
    assert_eq!(result_of(&r, "getcpu"), "EXDEV");
    assert_eq!(result_of(&r, "personality"), "allowed");
    let (r, _) = results(&ok(&sb.run(
        &["--security-opt", &opt, "--cap-add", "sys_admin"],
        &["sh", "-c", script],
    )));
    assert_eq!(result_of(&r, "personality"), "EXDEV");

    let missing = sb.scratch.join("missing.json");
    let o = sb.run(
        &["--security-opt", &format!("seccomp={}", missing.display())],
        &["true"],
    );
    refused(&o, 125, &format!("seccomp profile {}", missing.display()));
    std::fs::write(&p, r#"{"defaultAction":"SCMP_ACT_FROB"}"#).unwrap();
    let o = sb.run(&["--security-opt", &opt], &["true"]);
    let e = refused(&o, 125, "SCMP_ACT_FROB");
    assert!(e.contains("profile.json"), "{e}");
}

/// A bundle whose linux.seccomp allows everything but `rule`.
fn bundle_with(
    sb: &Sandbox,
    name: &str,
    args: &[&str],
    nnp: bool,
    rules: Value,
) -> std::path::PathBuf {
    bundle(sb, name, args, |c| {
        c["process"]["noNewPrivileges"] = json!(nnp);
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules});
    })
}

fn run_bundle(sb: &Sandbox, dir: &std::path::Path, id: &str) -> std::process::Output {
    oci(sb, &["run", "--bundle", dir.to_str().unwrap(), id])
}

#[test]
fn every_action_is_what_the_kernel_does() {
    let sb = Sandbox::new("sc-actions");
    let _reap = Reap(&sb);
    const SIGSYS: i32 = 128 + libc::SIGSYS;
    for (i, (action, errno_ret, want_code, want)) in [
        ("SCMP_ACT_ERRNO", Some(18), 0, Some("EXDEV")),
        ("SCMP_ACT_ERRNO", None, 0, Some("EPERM")),
        ("SCMP_ACT_KILL_PROCESS", None, SIGSYS, None),
        ("SCMP_ACT_KILL_THREAD", None, SIGSYS, None),
        ("SCMP_ACT_KILL", None, SIGSYS, None),
        ("SCMP_ACT_TRAP", None, SIGSYS, None),
        ("SCMP_ACT_LOG", None, 0, Some("allowed")),
        // No tracer: the kernel answers ENOSYS.
        ("SCMP_ACT_TRACE", None, 0, Some("ENOSYS")),
        ("SCMP_ACT_ALLOW", None, 0, Some("allowed")),
    ]
    .into_iter()
    .enumerate()
    {
        for nnp in [false, true] {
            let mut rule = json!({"names": ["getcpu"], "action": action});
            if let Some(e) = errno_ret {
                rule["errnoRet"] = json!(e);
            }
            let name = format!("a{i}{}", if nnp { "n" } else { "" });
            let dir = bundle_with(
                &sb,
                &name,
                &["capprobe", "syscall", "getcpu"],
                nnp,
                json!([rule]),
            );
            let o = run_bundle(&sb, &dir, &name);
            assert_eq!(code(&o), want_code, "{action} nnp={nnp}: {}", stderr(&o));
            if let Some(w) = want {
                let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
                assert_eq!(v["result"], w, "{action} nnp={nnp}");
            }
        }
    }
}

#[test]
fn every_argument_operator_compares_for_real() {
    let sb = Sandbox::new("sc-ops");
    let _reap = Reap(&sb);
    // personality(ARG) is refused with EXDEV exactly when the condition holds for ARG.
    let args = [0u64, 0x8, 0x20008, 0xffffffff];
    for (i, (op, value, value_two, refused_for)) in [
        ("SCMP_CMP_EQ", 0x8u64, None, &[0x8u64][..]),
        ("SCMP_CMP_NE", 0x8, None, &[0, 0x20008, 0xffffffff][..]),
        ("SCMP_CMP_LT", 0x8, None, &[0][..]),
        ("SCMP_CMP_LE", 0x8, None, &[0, 0x8][..]),
        ("SCMP_CMP_GT", 0x8, None, &[0x20008, 0xffffffff][..]),
        ("SCMP_CMP_GE", 0x8, None, &[0x8, 0x20008, 0xffffffff][..]),
        // (arg & 0xff) == 0x8
        (
            "SCMP_CMP_MASKED_EQ",
            0xff,
            Some(0x8u64),
            &[0x8, 0x20008][..],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut cond = json!({"index": 0, "op": op, "value": value});
        if let Some(v2) = value_two {
            cond["valueTwo"] = json!(v2);
        }
        let rule = json!({"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                          "errnoRet": 18, "args": [cond]});
        let script: String = args
            .iter()
            .map(|a| format!("capprobe syscall personality {a:#x};"))
            .collect();
        let name = format!("op{i}");
        let dir = bundle_with(&sb, &name, &["sh", "-c", &script], true, json!([rule]));
        let out = ok(&run_bundle(&sb, &dir, &name));
        let got: Vec<String> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["result"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let want: Vec<&str> = args
            .iter()
            .map(|a| {
                if refused_for.contains(a) {
                    "EXDEV"
                } else {
                    "allowed"
                }
            })
            .collect();
        assert_eq!(got, want, "{op} {value:#x}");
    }
}

#[test]
fn a_profile_that_forbids_the_setup_calls_is_a_one_line_error() {
    let sb = Sandbox::new("sc-setup");
    let _reap = Reap(&sb);
    // Without no_new_privs the filter is in place before the capability step (as in runc).
    let rule = json!({"names": ["capset"], "action": "SCMP_ACT_ERRNO"});
    let dir = bundle_with(&sb, "b", &["true"], false, json!([rule]));
    let o = run_bundle(&sb, &dir, "b");
    assert_ne!(code(&o), 0);
    let e = stderr(&o);
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(
        e.contains("seccomp") && e.contains("noNewPrivileges"),
        "{e}"
    );
    // With no_new_privs it comes after that step: the same profile lets the container start.
    let dir = bundle_with(&sb, "c", &["true"], true, json!([rule]));
    ok(&run_bundle(&sb, &dir, "c"));
}

#[test]
fn spec_writes_dockers_profile_and_exec_gets_the_containers_filter() {
    let sb = Sandbox::new("sc-exec");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["sleep", "30"], |c| {
        let sc = &c["linux"]["seccomp"];
        assert_eq!(sc["defaultAction"], "SCMP_ACT_ERRNO", "minirun spec: {sc}");
    });
    let pid = create(&sb, &dir, "b");
    ok(&oci(&sb, &["start", "b"]));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("Seccomp:\t2\n"), "{status}");
    let o = oci(
        &sb,
        &[
            "exec",
            "b",
            "sh",
            "-c",
            &probe_script(&["unshare", "keyctl"]),
        ],
    );
    let (r, mode) = results(&ok(&o));
    assert_eq!(mode, "2");
    assert_eq!(result_of(&r, "unshare"), "EPERM");
    assert_eq!(result_of(&r, "keyctl"), "EPERM");
    force_delete(&sb, "b");
}

/// Receives the listener with its state JSON, then answers one notified call with EXDEV.
fn notify_agent(listener: UnixListener) -> std::thread::JoinHandle<(Value, i64)> {
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 65536];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 2]);
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let msg = nix::sys::socket::recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            nix::sys::socket::MsgFlags::empty(),
        )
        .unwrap();
        let mut fd = None;
        for c in msg.cmsgs().unwrap() {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(l) = c {
                // SAFETY: SCM_RIGHTS just installed this fd in our process.
                fd = Some(unsafe { OwnedFd::from_raw_fd(l[0]) });
            }
        }
        let n = msg.bytes;
        let state: Value = serde_json::from_slice(&buf[..n]).unwrap();
        let fd = fd.expect("the listener fd");
        // SAFETY: seccomp_notif is plain data; the kernel wants it zeroed before RECV.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: RECV with a seccomp_notif, SEND with a seccomp_notif_resp: the sizes they encode.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) };
        assert_eq!(r, 0, "NOTIF_RECV: {}", std::io::Error::last_os_error());
        let nr = req.data.nr as i64;
        let mut resp = libc::seccomp_notif_resp {
            id: req.id,
            val: 0,
            error: -libc::EXDEV,
            flags: 0,
        };
        // SAFETY: as above.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &mut resp) };
        assert_eq!(r, 0, "NOTIF_SEND: {}", std::io::Error::last_os_error());
        (state, nr)
    })
}

#[test]
fn notify_sends_the_listener_and_state_to_listener_path() {
    let sb = Sandbox::new("sc-notify");
    let _reap = Reap(&sb);
    for nnp in [false, true] {
        let sock = sb.scratch.join(format!("agent{nnp}.sock"));
        let agent = notify_agent(UnixListener::bind(&sock).unwrap());
        let id = format!("n{nnp}");
        let dir = bundle(&sb, &id, &["capprobe", "syscall", "getcpu"], |c| {
            c["process"]["noNewPrivileges"] = json!(nnp);
            c["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "listenerPath": sock,
                "listenerMetadata": "hello agent",
                "syscalls": [{"names": ["getcpu"], "action": "SCMP_ACT_NOTIFY"}]
            });
        });
        let o = run_bundle(&sb, &dir, &id);
        let (state, nr) = agent.join().unwrap();
        let v: Value = serde_json::from_str(ok(&o).trim()).unwrap();
        assert_eq!(v["result"], "EXDEV", "nnp={nnp}: the agent's answer");
        assert_eq!(nr, libc::SYS_getcpu);
        assert_eq!(state["fds"], json!(["seccompFd"]));
        assert_eq!(state["metadata"], "hello agent");
        assert_eq!(state["state"]["id"], id.as_str());
        assert_eq!(state["state"]["status"], "creating");
        assert_eq!(state["pid"], state["state"]["pid"]);
        assert!(state["pid"].as_i64().unwrap() > 0);
    }
    // A notify rule without a listenerPath is refused before anything starts.
    let dir = bundle_with(
        &sb,
        "bad",
        &["true"],
        true,
        json!([{"names": ["getcpu"], "action": "SCMP_ACT_NOTIFY"}]),
    );
    refused(&run_bundle(&sb, &dir, "bad"), 1, "listenerPath");
}

#[test]
fn experiment_and_explain_show_how_capabilities_and_the_profile_combine() {
    let sb = Sandbox::new("sc-lab");
    let fixture = fixture();
    let o = sb
        .cmd(&[
            "experiment",
            "--json",
            "--cap",
            "sys_admin,checkpoint_restore,chown",
            fixture.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let rows: Vec<Value> = ok(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sc = |cap: &str| {
        rows.iter()
            .find(|r| r["capability"] == cap)
            .unwrap_or_else(|| panic!("no row for {cap}"))["seccomp"]
            .clone()
    };
    // sethostname: the capability opens it, and so does the profile's rule for it; the
    // profile resolved without that rule refuses it.
    let admin = sc("sys_admin");
    assert_eq!(admin["profile"], "allowed", "{admin}");
    assert_eq!(admin["without_rule"], "EPERM", "{admin}");
    assert_eq!(admin["effect"], "needs the profile's rule", "{admin}");
    // clone3 with set_tid: the capability allows it, Docker's profile answers ENOSYS.
    let cr = sc("checkpoint_restore");
    assert_eq!(cr["unconfined"], "allowed", "{cr}");
    assert_eq!(cr["profile"], "ENOSYS", "{cr}");
    assert_eq!(cr["effect"], "the profile blocks it", "{cr}");
    let chown = sc("chown");
    assert_eq!(chown["effect"], "none", "{chown}");
    assert!(chown["without_rule"].is_null());
    // The capability verdicts themselves are unchanged (taken unconfined).
    assert!(rows.iter().all(|r| r["verdict"] == "gated"), "{rows:?}");

    let text = ok(&sb.cmd(&["explain", "sys_admin"]).output().unwrap());
    let line = text
        .lines()
        .find(|l| l.contains("seccomp:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        text.contains(" mount ") && text.contains("unshare"),
        "{line}\n{text}"
    );
}

#[test]
fn exec_into_a_quick_form_container_gets_its_filter() {
    let sb = Sandbox::new("sc-qexec");
    for (opts, want) in [
        (&[][..], "EPERM"),
        (&["--security-opt", "seccomp=unconfined"][..], "allowed"),
    ] {
        let mut c = sb.cmd(&["--name", "q"]);
        c.args(opts).arg(fixture()).args(["sleep", "30"]);
        let mut child = c.spawn().unwrap();
        let up = wait_for(10.0, || {
            let o = sb.cmd(&["state", "q"]).output().unwrap();
            o.status.success().then_some(())
        });
        assert!(up.is_some(), "the quick-form container did not come up");
        let o = sb
            .cmd(&["exec", "q", "capprobe", "syscall", "unshare"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_str(ok(&o).trim()).unwrap();
        let _ = sb.cmd(&["kill", "q", "KILL"]).output();
        child.wait().unwrap();
        assert_eq!(v["result"], want, "{opts:?}");
    }
}
