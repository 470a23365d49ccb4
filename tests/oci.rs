//! The OCI runtime interface: bundles, the create/start/kill/delete lifecycle, hooks, joined
//! namespaces, the console socket, exec, and what a bad bundle does (one line, non-zero,
//! nothing left behind).

mod common;

use common::bundles::*;
use common::*;
use serde_json::{Value, json};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

#[test]
fn lifecycle_created_running_stopped_gone() {
    let sb = Sandbox::new("oci-life");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["sleep", "30"], |_| {});
    let pid_file = sb.scratch.join("init.pid");
    ok(&oci(
        &sb,
        &[
            "create",
            "--bundle",
            dir.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            "c1",
        ],
    ));
    let st = state(&sb, "c1");
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], "c1");
    assert_eq!(st["bundle"], dir.to_str().unwrap());
    assert!(st["ociVersion"].is_string());
    let pid = st["pid"].as_i64().unwrap();
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid.to_string());
    // The init lives, and is still minirun: the workload has not been exec'd yet.
    assert!(alive(pid));
    assert_ne!(comm(pid), "sleep");
    let list = stdout(&oci(&sb, &["list", "--format", "json"]));
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["id"], "c1");
    assert!(stdout(&oci(&sb, &["list"])).contains("created"));

    ok(&oci(&sb, &["start", "c1"]));
    assert_eq!(status(&sb, "c1"), "running");
    assert!(wait_for(5.0, || (comm(pid) == "sleep").then_some(())).is_some());
    // runc's messages for the wrong state.
    let again = oci(&sb, &["start", "c1"]);
    assert_ne!(code(&again), 0);
    let busy = oci(&sb, &["delete", "c1"]);
    assert_ne!(code(&busy), 0);
    assert!(stderr(&busy).contains("not stopped"), "{}", stderr(&busy));

    ok(&oci(&sb, &["kill", "c1", "KILL"]));
    assert!(wait_for(5.0, || (status(&sb, "c1") == "stopped").then_some(())).is_some());
    assert_eq!(state(&sb, "c1")["pid"], 0);
    let dead = oci(&sb, &["kill", "c1", "9"]);
    assert_ne!(code(&dead), 0);
    ok(&oci(&sb, &["delete", "c1"]));
    let gone = oci(&sb, &["state", "c1"]);
    assert_ne!(code(&gone), 0);
    assert!(
        stderr(&gone).contains("does not exist"),
        "{}",
        stderr(&gone)
    );
    assert!(!alive(pid));
    // delete --force of a missing container is not an error (runc's behaviour).
    ok(&oci(&sb, &["delete", "--force", "c1"]));
}

#[test]
fn create_returns_and_the_init_survives_it() {
    let sb = Sandbox::new("oci-detach");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["sh", "-c", "echo started; sleep 30"], |_| {});
    let out_file = sb.scratch.join("out");
    let out = std::fs::File::create(&out_file).unwrap();
    // create's stdout is the container's: the workload writes there after start.
    let st = sb
        .cmd(&["create", "--bundle", dir.to_str().unwrap(), "c2"])
        .stdout(out)
        .status()
        .unwrap();
    assert!(st.success());
    let pid = state(&sb, "c2")["pid"].as_i64().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(alive(pid), "the init died with create");
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "");
    ok(&oci(&sb, &["start", "c2"]));
    assert!(
        wait_for(5.0, || std::fs::read_to_string(&out_file)
            .unwrap()
            .contains("started")
            .then_some(()))
        .is_some()
    );
    // delete of a created-or-running container needs --force; it kills everything.
    force_delete(&sb, "c2");
    assert!(wait_for(5.0, || (!alive(pid)).then_some(())).is_some());
}

#[test]
fn delete_of_a_created_container_kills_its_init() {
    let sb = Sandbox::new("oci-delcreated");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["true"], |_| {});
    let pid = create(&sb, &dir, "c3");
    ok(&oci(&sb, &["delete", "c3"]));
    assert!(wait_for(5.0, || (!alive(pid)).then_some(())).is_some());
}

#[test]
fn run_foreground_exit_code_and_detach() {
    let sb = Sandbox::new("oci-run");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["sh", "-c", "echo out; exit 7"], |_| {});
    let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "r1"]);
    assert_eq!(code(&o), 7, "{}", stderr(&o));
    assert_eq!(stdout(&o), "out\n");
    let missing = bundle(&sb, "m", &["no-such-cmd"], |_| {});
    let o = oci(&sb, &["run", "--bundle", missing.to_str().unwrap(), "r2"]);
    assert_eq!(code(&o), 127, "{}", stderr(&o));
    assert!(stderr(&o).contains("executable file not found"));

    let d = bundle(&sb, "d", &["sleep", "30"], |_| {});
    ok(&oci(
        &sb,
        &["run", "--detach", "--bundle", d.to_str().unwrap(), "r3"],
    ));
    assert_eq!(status(&sb, "r3"), "running");
    ok(&oci(&sb, &["kill", "--all", "r3", "SIGKILL"]));
    assert!(wait_for(5.0, || (status(&sb, "r3") == "stopped").then_some(())).is_some());
    ok(&oci(&sb, &["delete", "r3"]));
}

#[test]
fn relative_root_through_a_symlink() {
    let sb = Sandbox::new("oci-rel");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["cat", "/etc/hostname-probe"], |c| {
        c["root"]["path"] = json!("rootfs");
        c["hostname"] = json!("relhost");
        c["process"]["args"] = json!(["hostname"]);
    });
    std::os::unix::fs::symlink(fixture(), dir.join("rootfs")).unwrap();
    // Default bundle: the current directory.
    let o = output_via_files(sb.cmd(&["run", "r1"]).current_dir(&dir), &sb.scratch);
    assert_eq!(ok(&o), "relhost\n");
}

#[test]
fn hooks_run_in_order_with_state_on_stdin() {
    let sb = Sandbox::new("oci-hooks");
    let _reap = Reap(&sb);
    let logdir = sb.scratch.join("hooklog");
    std::fs::create_dir_all(&logdir).unwrap();
    let log = logdir.join("log");
    let host_hook = |stage: &str, file: &Path| {
        json!({"path": "/bin/sh", "args": ["sh", "-c",
            format!("printf '%s ' {stage} >> {f}; cat >> {f}; echo >> {f}", f = file.display())],
            "timeout": 5})
    };
    let dir = bundle(&sb, "b", &["true"], |c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "/run", "type": "bind",
                "source": logdir, "options": ["rbind", "rw"]}));
        c["annotations"] = json!({"org.example.k": "v"});
        c["hooks"] = json!({
            "prestart": [host_hook("prestart", &log)],
            "createRuntime": [host_hook("createRuntime", &log)],
            "createContainer": [host_hook("createContainer", &log)],
            // Runs inside the container, after pivot_root: its paths are the container's
            // (/run there is the log directory, bound below).
            "startContainer": [host_hook("startContainer", Path::new("/run/log"))],
            "poststart": [host_hook("poststart", &log)],
            "poststop": [host_hook("poststop", &log)],
        });
    });
    let pid = create(&sb, &dir, "h1");
    ok(&oci(&sb, &["start", "h1"]));
    assert!(wait_for(5.0, || (status(&sb, "h1") == "stopped").then_some(())).is_some());
    ok(&oci(&sb, &["delete", "h1"]));
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<(&str, Value)> = text
        .lines()
        .map(|l| {
            let (stage, js) = l.split_once(' ').unwrap();
            (
                stage,
                serde_json::from_str(js).unwrap_or_else(|e| panic!("{e}: {text}")),
            )
        })
        .collect();
    let stages: Vec<&str> = lines.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        stages,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ],
        "{text}"
    );
    let statuses: Vec<&str> = lines
        .iter()
        .map(|(_, v)| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        // Issue 11, item 14: prestart and createRuntime see "created", as runtime-tools and
        // crun expect.
        [
            "created", "created", "creating", "created", "running", "stopped"
        ]
    );
    for (stage, v) in &lines {
        assert_eq!(v["id"], "h1", "{stage}");
        assert_eq!(v["pid"].as_i64().unwrap(), pid, "{stage}");
        assert_eq!(v["bundle"], dir.to_str().unwrap());
        assert_eq!(v["annotations"]["org.example.k"], "v");
    }
}

#[test]
fn failing_hook_fails_create_and_leaves_nothing() {
    let sb = Sandbox::new("oci-hookfail");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["true"], |c| {
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]});
    });
    let o = oci(&sb, &["create", "--bundle", dir.to_str().unwrap(), "f1"]);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("createRuntime hook"), "{}", stderr(&o));
    let slow = bundle(&sb, "s", &["true"], |c| {
        c["hooks"] = json!({"createContainer": [{"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}]});
    });
    let o = oci(&sb, &["create", "--bundle", slow.to_str().unwrap(), "f2"]);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("timed out"), "{}", stderr(&o));
}

/// poststart and poststop run after the workload started: a failure there is a warning (the
/// command succeeds), one line with the hook and the OS's reason.
#[test]
fn failing_post_hooks_warn_with_their_reason() {
    let sb = Sandbox::new("oci-hookwarn");
    let _reap = Reap(&sb);
    let missing = "/nonexistent-minirun-hook";
    let dir = bundle(&sb, "b", &["true"], |c| {
        c["hooks"] = json!({"poststart": [{"path": missing}], "poststop": [{"path": missing}]});
    });
    create(&sb, &dir, "w1");
    let o = oci(&sb, &["start", "w1"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let why = format!("hook #0 ({missing}): No such file or directory (os error 2)");
    assert!(
        stderr(&o).contains(&format!("poststart {why}")),
        "{}",
        stderr(&o)
    );
    assert!(wait_for(5.0, || (status(&sb, "w1") == "stopped").then_some(())).is_some());
    let o = oci(&sb, &["delete", "w1"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("poststop {why}")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn namespaces_joined_by_path() {
    let sb = Sandbox::new("oci-join");
    let _reap = Reap(&sb);
    let a = bundle(&sb, "a", &["sleep", "30"], |c| {
        c["hostname"] = json!("host-a")
    });
    let apid = create(&sb, &a, "ja");
    let b = bundle(&sb, "b", &["hostname"], |c| {
        c["hostname"] = Value::Null;
        for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
            let t = ns["type"].as_str().unwrap().to_string();
            let proc_name = match t.as_str() {
                "network" => "net",
                "uts" => "uts",
                "ipc" => "ipc",
                _ => continue,
            };
            ns["path"] = json!(format!("/proc/{apid}/ns/{proc_name}"));
        }
    });
    let bpid = create(&sb, &b, "jb");
    for n in ["net", "uts", "ipc"] {
        let link = |p: i64| std::fs::read_link(format!("/proc/{p}/ns/{n}")).unwrap();
        assert_eq!(link(apid), link(bpid), "{n}");
    }
    let link = |p: i64| std::fs::read_link(format!("/proc/{p}/ns/mnt")).unwrap();
    assert_ne!(link(apid), link(bpid));
    force_delete(&sb, "jb");
    force_delete(&sb, "ja");
}

/// A bad bundle: one line on stderr, exit non-zero, and no record left in --root.
fn refused(sb: &Sandbox, args: &[&str], expect: &str) {
    let o = oci(sb, args);
    assert_ne!(code(&o), 0, "{args:?} succeeded");
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.contains(expect), "{args:?}: {err}");
    let left: Vec<_> = std::fs::read_dir(&sb.root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{args:?} left {left:?}");
    assert!(fixture_mounts().is_empty());
}

#[test]
fn bad_bundles_are_one_line_errors() {
    let sb = Sandbox::new("oci-bad");
    let _reap = Reap(&sb);
    let empty = sb.scratch.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = empty.to_str().unwrap();
    refused(&sb, &["create", "--bundle", e, "x"], "has no config.json");
    refused(
        &sb,
        &["create", "--bundle", "/nonexistent/b", "x"],
        "does not exist",
    );

    let bad = sb.scratch.join("badjson");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("config.json"), "{\"ociVersion\": ").unwrap();
    refused(
        &sb,
        &["create", "--bundle", bad.to_str().unwrap(), "x"],
        "invalid JSON",
    );

    let ns = bundle(&sb, "ns", &["true"], |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "bogus"}));
    });
    refused(
        &sb,
        &["create", "--bundle", ns.to_str().unwrap(), "x"],
        "unknown namespace type \"bogus\"",
    );

    let out = bundle(&sb, "out", &["true"], |c| {
        c["root"]["path"] = json!("../../rootfs")
    });
    refused(
        &sb,
        &["create", "--bundle", out.to_str().unwrap(), "x"],
        "outside the bundle",
    );

    let ok_bundle = bundle(&sb, "ok", &["sleep", "30"], |_| {});
    let ob = ok_bundle.to_str().unwrap();
    refused(
        &sb,
        &["create", "--bundle", ob, "a/b"],
        "invalid container id",
    );

    let unsafe_field = bundle(&sb, "sol", &["true"], |c| {
        c["solaris"] = json!({"milestone": "svc:/milestone/container:default"})
    });
    refused(
        &sb,
        &["create", "--bundle", unsafe_field.to_str().unwrap(), "x"],
        "solaris",
    );

    // A duplicate id is refused and the first container is untouched.
    let pid = create(&sb, &ok_bundle, "dup");
    let o = oci(&sb, &["create", "--bundle", ob, "dup"]);
    assert_ne!(code(&o), 0);
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(status(&sb, "dup"), "created");
    assert!(alive(pid));
    force_delete(&sb, "dup");
}

/// The refusals that moved into validate's list of named checks (issue 22): each is one line
/// naming the field and its check, before anything exists (no record, no mount, no cgroup).
#[test]
fn config_refusals_name_their_check() {
    let sb = Sandbox::new("oci-checks");
    let _reap = Reap(&sb);
    // The id names its cgroup (`id@hash` when default-placed), so a leftover one is found.
    let id = "oci-checks-c";
    // (the check, global flags, the config's change, what the line names)
    type Case = (
        &'static str,
        Vec<&'static str>,
        Box<dyn Fn(&mut Value)>,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "platform",
            vec![],
            Box::new(|c| c["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 1}})),
            "linux.timeOffsets cannot be honoured",
        ),
        (
            "platform",
            vec![],
            Box::new(|c| c["windows"] = json!({"layerFolders": ["C:\\l"]})),
            "windows cannot be honoured",
        ),
        (
            "cgroups_path",
            vec!["--systemd-cgroup"],
            Box::new(|c| c["linux"]["cgroupsPath"] = json!("/oci-checks/x")),
            "slice:prefix:name",
        ),
        (
            "device_rules",
            vec![],
            Box::new(|c| {
                c["linux"]["resources"] = json!({"devices": [
                    {"allow": true, "type": "c", "major": 5, "access": "rx"}]})
            }),
            "linux.resources.devices",
        ),
        (
            "sysctl_host_namespace",
            vec![],
            Box::new(|c| {
                c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
                for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
                    if ns["type"] == "network" {
                        ns["path"] = json!(format!("/proc/{}/ns/net", std::process::id()));
                    }
                }
            }),
            "would be set in the host's Network namespace",
        ),
    ];
    for (i, (check, global, change, field)) in cases.iter().enumerate() {
        let dir = bundle(&sb, &format!("b{i}"), &["true"], |c| change(c));
        let mut args: Vec<&str> = global.clone();
        args.extend(["run", "--bundle", dir.to_str().unwrap(), id]);
        refused(&sb, &args, field);
        let o = oci(&sb, &args);
        let err = stderr(&o);
        assert!(err.contains(&format!("(check \"{check}\")")), "{err}");
    }
    assert_eq!(cgroup_dirs_named(id), Vec::<PathBuf>::new());
}

/// Cgroup directories anywhere under /sys/fs/cgroup whose name contains `tag`.
fn cgroup_dirs_named(tag: &str) -> Vec<PathBuf> {
    let o = std::process::Command::new("find")
        .args(["/sys/fs/cgroup", "-type", "d", "-name"])
        .arg(format!("*{tag}*"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(PathBuf::from)
        .collect()
}

#[test]
fn unhonoured_fields_warn_by_name_and_errors_reach_the_json_log() {
    let sb = Sandbox::new("oci-warn");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["true"], |c| {
        // memory.kernel: a warning from the library (tracing), not from the command layer.
        c["linux"]["resources"] = json!({"pids": {"limit": 100}, "memory": {"kernel": 1048576}});
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW"});
        c["linux"]["cgroupsPath"] = json!("/minirun/oci-warn-x");
        c["linux"]["intelRdt"] = json!({"closID": "minirun-test"});
    });
    let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "w1"]);
    ok(&o);
    // Both are honoured now: cgroups (issue 12) and seccomp (issue 13).
    assert!(!stderr(&o).contains("linux.resources is not honoured"));
    assert!(!stderr(&o).contains("linux.seccomp"));
    // With --log, warnings go only there (the caller's stderr is the container's).
    let log = sb.scratch.join("log.json");
    let o = oci(
        &sb,
        &[
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "run",
            "--bundle",
            dir.to_str().unwrap(),
            "w2",
        ],
    );
    ok(&o);
    assert_eq!(stderr(&o), "");
    let o = oci(
        &sb,
        &[
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "state",
            "nope",
        ],
    );
    assert_ne!(code(&o), 0);
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().any(
        |l| l["level"] == "warning" && l["msg"].as_str().unwrap().starts_with("linux.intelRdt")
    ));
    // The library's own warnings too: before, they went to stderr whatever --log said.
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "warning"
                && l["msg"].as_str().unwrap().starts_with("memory.kernel")),
        "{lines:?}"
    );
    let last = lines.last().unwrap();
    assert_eq!(last["level"], "error");
    assert!(last["msg"].as_str().unwrap().contains("does not exist"));
    assert!(last["time"].is_string());
}

#[test]
fn a_stray_fd_never_reaches_the_container() {
    let sb = Sandbox::new("oci-fd");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["ls", "/proc/self/fd"], |_| {});
    let f = std::fs::File::open("/etc/hostname").unwrap();
    let raw = f.as_raw_fd();
    let mut c = sb.cmd(&["run", "--bundle", dir.to_str().unwrap(), "fd1"]);
    // SAFETY: (test) dup2 in the forked child before exec, no allocation.
    unsafe {
        c.pre_exec(move || {
            if libc::dup2(raw, 251) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = ok(&output_via_files(&mut c, &sb.scratch));
    let fds: Vec<&str> = out.split_whitespace().collect();
    assert!(!fds.contains(&"251"), "{out}");
    assert!(fds.len() <= 4, "{out}");
    // --preserve-fds 1 hands fd 3 on, and only it.
    let mut c = sb.cmd(&[
        "run",
        "--preserve-fds",
        "1",
        "--bundle",
        dir.to_str().unwrap(),
        "fd2",
    ]);
    // SAFETY: (test) as above.
    unsafe {
        c.pre_exec(move || {
            libc::dup2(raw, 3);
            libc::dup2(raw, 251);
            Ok(())
        });
    }
    let out = ok(&output_via_files(&mut c, &sb.scratch));
    let fds: Vec<&str> = out.split_whitespace().collect();
    assert!(fds.contains(&"3") && !fds.contains(&"251"), "{out}");
}

/// Receives one fd over a unix socket (the console socket's other end).
fn recv_fd(listener: &std::os::unix::net::UnixListener) -> (OwnedFd, String) {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let (conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 256];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .unwrap();
    let mut fd = None;
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(fds) = c {
            fd = fds.first().copied();
        }
    }
    let n = msg.bytes;
    let name = String::from_utf8_lossy(&buf[..n]).into_owned();
    (
        // SAFETY: (test) SCM_RIGHTS installed a new fd in this process.
        unsafe { OwnedFd::from_raw_fd(fd.expect("no fd received")) },
        name,
    )
}

fn read_until(master: &OwnedFd, want: &str) -> String {
    let mut f = std::fs::File::from(master.try_clone().unwrap());
    let mut all = String::new();
    let mut buf = [0u8; 1024];
    let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !all.contains(want) && std::time::Instant::now() < end {
        match std::io::Read::read(&mut f, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => all.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    all
}

#[test]
fn console_socket_receives_the_pty_master() {
    let sb = Sandbox::new("oci-tty");
    let _reap = Reap(&sb);
    let dir = bundle(
        &sb,
        "b",
        &["sh", "-c", "tty; echo ok-$((6*7)); sleep 1"],
        |c| {
            c["process"]["terminal"] = json!(true);
        },
    );
    let sock = sb.scratch.join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let mut c = sb.cmd(&[
        "create",
        "--bundle",
        dir.to_str().unwrap(),
        "--console-socket",
        sock.to_str().unwrap(),
        "t1",
    ]);
    let scratch = sb.scratch.clone();
    let creator = std::thread::spawn(move || output_via_files(&mut c, &scratch));
    let (master, name) = recv_fd(&listener);
    ok(&creator.join().unwrap());
    assert!(name.contains("/dev/pts/"), "{name}");
    ok(&oci(&sb, &["start", "t1"]));
    let text = read_until(&master, "ok-42");
    assert!(text.contains("/dev/pts/0"), "{text}");
    assert!(text.contains("ok-42"), "{text}");
    // terminal: true without a socket cannot be created detached.
    let o = oci(&sb, &["create", "--bundle", dir.to_str().unwrap(), "t2"]);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("console-socket"));
    force_delete(&sb, "t1");
}

#[test]
fn exec_joins_the_container_with_its_own_capabilities() {
    let sb = Sandbox::new("oci-exec");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["sleep", "30"], |c| {
        c["hostname"] = json!("exechost")
    });
    let pid = create(&sb, &dir, "e1");
    ok(&oci(&sb, &["start", "e1"]));
    let o = oci(
        &sb,
        &[
            "exec",
            "e1",
            "sh",
            "-c",
            "hostname; echo $$; grep -E '^Cap(Eff|Bnd|Amb)' /proc/self/status; readlink /proc/1/exe; ls /proc/self/fd | wc -l",
        ],
    );
    let out = ok(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "exechost");
    assert_ne!(
        lines[1], "1",
        "the exec'd process is in the container's pid namespace"
    );
    assert!(lines[1].parse::<u32>().unwrap() < 100, "{out}");
    assert_eq!(lines[2], "CapEff:\t00000000a80425fb");
    assert_eq!(lines[3], "CapBnd:\t00000000a80425fb");
    assert_eq!(lines[4], "CapAmb:\t0000000000000000");
    assert_eq!(lines[5], "/bin/busybox");
    assert!(lines[6].trim().parse::<u32>().unwrap() <= 4, "{out}");

    // --user and --cap: a non-root process with one capability added.
    let o = oci(
        &sb,
        &[
            "exec",
            "--user",
            "1000:1000",
            "--cap",
            "CAP_SYS_TIME",
            "e1",
            "sh",
            "-c",
            "id -u; grep -E '^Cap(Eff|Bnd)' /proc/self/status",
        ],
    );
    let out = ok(&o);
    assert!(out.starts_with("1000\n"), "{out}");
    assert!(out.contains("CapBnd:\t00000000aa0425fb"), "{out}");

    // --process FILE, --detach, --pid-file (docker's form), and the exit code of a failure.
    let proc_file = sb.scratch.join("process.json");
    std::fs::write(
        &proc_file,
        json!({"args": ["sleep", "20"], "cwd": "/tmp", "user": {"uid": 0, "gid": 0},
               "env": ["PATH=/bin"], "capabilities": {"bounding": ["CAP_KILL"],
               "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}})
        .to_string(),
    )
    .unwrap();
    let pidf = sb.scratch.join("exec.pid");
    ok(&oci(
        &sb,
        &[
            "exec",
            "--process",
            proc_file.to_str().unwrap(),
            "--detach",
            "--pid-file",
            pidf.to_str().unwrap(),
            "e1",
        ],
    ));
    let epid: i64 = std::fs::read_to_string(&pidf).unwrap().parse().unwrap();
    assert!(alive(epid));
    let status_text = std::fs::read_to_string(format!("/proc/{epid}/status")).unwrap();
    assert!(
        status_text.contains("CapBnd:\t0000000000000020"),
        "{status_text}"
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{epid}/cwd")).unwrap(),
        PathBuf::from("/tmp")
    );
    // `ps ID` sees both processes.
    let ps = ok(&oci(&sb, &["ps", "--format", "json", "e1"]));
    let pids: Vec<i64> = serde_json::from_str(&ps).unwrap();
    assert!(pids.contains(&pid) && pids.contains(&epid), "{ps}");
    let o = oci(&sb, &["exec", "e1", "no-such-cmd"]);
    assert_eq!(code(&o), 127, "{}", stderr(&o));

    force_delete(&sb, "e1");
    assert!(wait_for(5.0, || (!alive(epid)).then_some(())).is_some());
    let o = oci(&sb, &["exec", "e1", "true"]);
    assert!(stderr(&o).contains("does not exist"));
}

#[test]
fn spec_and_features() {
    let sb = Sandbox::new("oci-spec");
    let _reap = Reap(&sb);
    let dir = sb.scratch.join("s");
    std::fs::create_dir_all(&dir).unwrap();
    ok(&oci(&sb, &["spec", "--bundle", dir.to_str().unwrap()]));
    let c: Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        c["process"]["capabilities"]["bounding"]
            .as_array()
            .unwrap()
            .len(),
        14
    );
    assert!(
        c["process"]["capabilities"]["ambient"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A second spec does not overwrite.
    assert_ne!(
        code(&oci(&sb, &["spec", "--bundle", dir.to_str().unwrap()])),
        0
    );
    let f: Value = serde_json::from_str(&ok(&oci(&sb, &["features"]))).unwrap();
    assert!(
        f["hooks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h == "createRuntime")
    );
    assert_eq!(f["linux"]["seccomp"]["enabled"], true);
    // What validate accepts (container/task.rs), so a client sees memoryPolicy is honoured.
    assert_eq!(
        f["linux"]["memoryPolicy"]["modes"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
}

#[test]
fn read_only_bind_with_propagation_applies_to_the_bind() {
    let sb = Sandbox::new("oci-robind");
    let data = sb.scratch.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("f"), "x").unwrap();
    let host_file = sb.scratch.join("hosts");
    std::fs::write(&host_file, "127.0.0.1 localhost\n").unwrap();
    let dir = bundle(
        &sb,
        "b",
        &[
            "sh",
            "-c",
            "cat /tmp/f; touch /tmp/g 2>/dev/null && echo writable || echo ro; cat /etc/hostname",
        ],
        |c| {
            let m = c["mounts"].as_array_mut().unwrap();
            // podman's shapes: a directory bind and a file bind, ro and rprivate.
            m.push(
                json!({"destination": "/tmp", "type": "bind", "source": data,
                "options": ["rbind", "ro", "nosuid", "rprivate"]}),
            );
            m.push(json!({"destination": "/etc/hostname", "type": "bind",
                "source": host_file, "options": ["bind", "rprivate"]}));
        },
    );
    let out = ok(&oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "rb"]));
    assert_eq!(out, "xro\n127.0.0.1 localhost\n");
    assert!(!data.join("g").exists());
}

/// A user namespace from uidMappings/gidMappings: root inside is host uid 100000, the host's
/// own files show up as the overflow id, and root's capabilities inside reach only what the
/// namespace owns (chown of a host-root file still fails with EPERM).
#[test]
fn user_namespace_from_mappings() {
    let sb = Sandbox::new("oci-userns");
    let _reap = Reap(&sb);
    let script = "id -u; cat /proc/self/uid_map; stat -c %u /bin/busybox; \
                  chown 0 /bin/busybox 2>&1 | grep -c 'not permitted'; \
                  touch /dev/shm/userns-probe && stat -c %u /dev/shm/userns-probe";
    let dir = bundle(&sb, "u", &["sh", "-c", script], |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    });
    let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "u1"]);
    let out = ok(&o);
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines[0], "0", "{out}");
    let map: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(map, ["0", "100000", "65536"], "{out}");
    assert_eq!(lines[2], "65534", "{out}");
    assert_eq!(lines[3], "1", "{out}");
    assert_eq!(lines[4], "0", "{out}");
}

/// A cwd is settled at create time, as runc does it: a missing one is made inside the root,
/// one that is not a directory fails `create` (on ea9f574 `create` and `start` both returned 0
/// and the workload never ran).
#[test]
fn a_bad_cwd_fails_create_and_a_missing_one_is_made() {
    let sb = Sandbox::new("oci-cwd");
    let _reap = Reap(&sb);
    let tmpfs = |c: &mut Value| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}));
    };
    let made = bundle(&sb, "made", &["pwd"], |c| {
        tmpfs(c);
        // Below a tmpfs on a directory the fixture has: the shared fixture gains nothing.
        c["process"]["cwd"] = json!("/tmp/a/b");
    });
    let o = oci(
        &sb,
        &["run", "--bundle", made.to_str().unwrap(), "cwd-made"],
    );
    assert_eq!(ok(&o).trim(), "/tmp/a/b");

    let file = bundle(&sb, "file", &["true"], |c| {
        c["process"]["cwd"] = json!("/etc/passwd");
    });
    let o = oci(
        &sb,
        &["create", "--bundle", file.to_str().unwrap(), "cwd-file"],
    );
    assert_ne!(code(&o), 0, "create accepted a file as the cwd");
    assert!(
        stderr(&o).contains("working directory \"/etc/passwd\": not a directory"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&oci(&sb, &["list", "-q"])).trim().is_empty(),
        "a failed create left a record"
    );
}

/// createContainer hooks are processes of the container: they run in its cgroups, inside the
/// cgroup namespace its workload gets (rooted at its own cgroup in every hierarchy). The init
/// waits for its cgroups as late as it can, but before these hooks, not only before the
/// workload.
#[test]
fn create_container_hooks_run_in_the_container_cgroups() {
    let sb = Sandbox::new("oci-hookcg");
    let _reap = Reap(&sb);
    let logdir = sb.scratch.join("hookcg");
    std::fs::create_dir_all(&logdir).unwrap();
    let hook_log = logdir.join("hook");
    let record = "readlink /proc/self/ns/cgroup; cat /proc/self/cgroup";
    let dir = bundle(
        &sb,
        "b",
        &["sh", "-c", &format!("({record}) > /run/workload")],
        |c| {
            c["mounts"]
                .as_array_mut()
                .unwrap()
                .push(json!({"destination": "/run", "type": "bind",
                "source": logdir, "options": ["rbind", "rw"]}));
            // Before pivot_root: the host's sh, writing to the host's path.
            c["hooks"] = json!({"createContainer": [{"path": "/bin/sh",
            "args": ["sh", "-c", format!("({record}) > {}", hook_log.display())]}]});
        },
    );
    create(&sb, &dir, "cg1");
    ok(&oci(&sb, &["start", "cg1"]));
    assert!(wait_for(5.0, || (status(&sb, "cg1") == "stopped").then_some(())).is_some());
    ok(&oci(&sb, &["delete", "cg1"]));
    let hook = std::fs::read_to_string(&hook_log).unwrap();
    let workload = std::fs::read_to_string(logdir.join("workload")).unwrap();
    assert_eq!(hook, workload, "the hook's cgroup namespace and cgroups");
    let mut lines = hook.lines();
    assert!(lines.next().unwrap().starts_with("cgroup:["), "{hook}");
    for line in lines {
        assert!(
            line.ends_with(":/"),
            "a cgroup above the container's: {line}\n{hook}"
        );
    }
}
