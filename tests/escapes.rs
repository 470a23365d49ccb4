//! Issue 11: the escapes and conformance gaps found by attacking minirun as a red team would,
//! each replayed against a real container, with the kernel's answer checked. Numbers in the
//! test names' comments are the issue's items.

mod common;

use common::bundles::*;
use common::*;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Adds CAP_SYS_PTRACE to the bounding, effective and permitted sets of a config.
fn grant_sys_ptrace(c: &mut Value) {
    for set in ["bounding", "effective", "permitted"] {
        c["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push("CAP_SYS_PTRACE".into());
    }
}

/// Binds `host` at `dest` in a config, read-write.
fn bind(c: &mut Value, host: &Path, dest: &str) {
    c["mounts"].as_array_mut().unwrap().push(
        json!({"destination": dest, "type": "bind", "source": host, "options": ["rbind", "rw"]}),
    );
}

/// Host pids of processes whose command line mentions `needle` (a sandbox's --root: the
/// runtime and every init it cloned and that has not exec'd the workload yet).
fn pids_mentioning(needle: &Path) -> Vec<i32> {
    processes_mentioning(needle)
        .into_iter()
        .map(|(pid, _)| pid)
        .filter(|&p| alive(p as i64))
        .collect()
}

/// Runs `shell` under script(1), which gives it a pty as its controlling terminal, and
/// returns what it printed.
fn under_a_terminal(shell: &str) -> String {
    let o = Command::new("script")
        .args(["-qec", shell, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script(1) is missing: install bsdutils (`make deps` does)");
    String::from_utf8_lossy(&o.stdout).replace('\r', "")
}

// ---------------------------------------------------------------------------------------------
// High

/// Item 1: Container A holds CAP_SYS_PTRACE; container B joins A's pid namespace without it. While
/// B waits at its start gate, A grabs /proc/<B's init>/exe, and once B has started (no process
/// runs the runtime's binary any more) reopens it for writing. The binary must stay intact.
#[test]
fn cve_2019_5736_through_a_joined_pid_namespace() {
    let sb = Sandbox::new("esc-5736-pidns");
    let bin = binary_copy(&sb);
    let before = sha256(&bin);
    let x = sb.scratch.join("x");
    std::fs::create_dir(&x).unwrap();
    // Every process that is not busybox is grabbed, whatever its exe reads: a protected
    // runtime's reads "/" (a detached read-only mount) or "/memfd:...", not "minirun".
    let attacker = r#"
        n=3
        while [ $n = 3 ]; do for p in /proc/[0-9]*; do
            case "$(readlink $p/exe 2>/dev/null)" in
            ""|*busybox*) ;;
            *) [ $n -lt 10 ] && eval "exec $n<$p/exe" && echo "grabbed $p $(readlink $p/exe)" >>/x/log && n=$((n+1));;
            esac
        done; sleep 0.01; done
        while [ ! -e /x/go ]; do sleep 0.02; done
        i=3; while [ $i -lt $n ]; do
            if (printf PWND 1<>/proc/self/fd/$i) 2>/dev/null; then echo "WROTE fd $i" >>/x/log; fi
            i=$((i+1))
        done
        echo end >>/x/log; sleep 30"#;
    // Its own rootfs: the bind makes /x, which the shared fixture lacks.
    let rootfs = sb.own_rootfs();
    let a = bundle(&sb, "a", &["sh", "-c", attacker], |c| {
        c["root"]["path"] = json!(rootfs);
        grant_sys_ptrace(c);
        bind(c, &x, "/x");
    });
    let run = |args: &[&str]| output_via_files(&mut copy_cmd(&bin, &sb, args), &sb.scratch);
    ok(&run(&["run", "-d", "--bundle", a.to_str().unwrap(), "a"]));
    let apid = state(&sb, "a")["pid"].as_i64().unwrap();
    let b = bundle(&sb, "b", &["true"], |c| {
        for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
            if ns["type"] == "pid" {
                ns["path"] = json!(format!("/proc/{apid}/ns/pid"));
            }
        }
    });
    let created = run(&["create", "--bundle", b.to_str().unwrap(), "b"]);
    let log = x.join("log");
    let grabbed = wait_for(10.0, || std::fs::read_to_string(&log).ok());
    ok(&created);
    ok(&run(&["start", "b"]));
    std::fs::write(x.join("go"), "").unwrap();
    let text = wait_for(10.0, || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|t| t.contains("end"))
    });
    // Cleaned up with the real binary: the copy may be the attack's victim.
    let _ = oci(&sb, &["delete", "--force", "b"]);
    let _ = oci(&sb, &["delete", "--force", "a"]);
    // Where B's init is not the host binary, A may find nothing to grab: that is a pass.
    if grabbed.is_some() {
        let text = text.expect("the attacker never finished");
        assert!(!text.contains("WROTE"), "{text}");
    }
    assert_eq!(sha256(&bin), before, "the runtime binary was modified");
}

/// Item 2: A created container's init holds none of the caller's stray fds while it waits at the
/// start gate (a process that may exec into it could otherwise reach the host through them).
#[test]
fn a_created_init_holds_no_stray_fd() {
    let sb = Sandbox::new("esc-create-fd");
    let _reap = Reap(&sb);
    let host_dir = sb.scratch.join("host-secret");
    std::fs::create_dir(&host_dir).unwrap();
    let dir = bundle(&sb, "b", &["true"], |_| {});
    // The created init keeps the caller's stdio: files, so that nothing waits for their EOF.
    let mut c = sb.cmd(&["create", "--bundle", dir.to_str().unwrap(), "c"]);
    c.stdout(std::fs::File::create(sb.scratch.join("out")).unwrap());
    c.stderr(std::fs::File::create(sb.scratch.join("err")).unwrap());
    let o = with_stray_fds(c, &host_dir);
    assert!(
        o.status.success(),
        "{:?}",
        std::fs::read_to_string(sb.scratch.join("err"))
    );
    let pid = state(&sb, "c")["pid"].as_i64().unwrap();
    let fds: Vec<(String, String)> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .map(|e| {
            let target = std::fs::read_link(e.path()).unwrap_or_default();
            (
                e.file_name().to_string_lossy().into_owned(),
                target.to_string_lossy().into_owned(),
            )
        })
        .collect();
    for (fd, target) in &fds {
        assert!(
            !target.contains("host-secret") && fd != "5" && fd != "251",
            "the created init holds fd {fd} -> {target}: {fds:?}"
        );
    }
    force_delete(&sb, "c");
}

/// Item 3: The workload gets a session of its own: the caller's terminal is not its controlling
/// terminal, so TIOCSTI cannot push keystrokes into the caller's shell (quick form, run, exec).
#[test]
fn the_workload_cannot_type_into_the_callers_terminal() {
    let sb = Sandbox::new("esc-tiocsti");
    let _reap = Reap(&sb);
    // The terminal really is the caller's controlling tty: on the host, TIOCSTI works.
    let probe = fixture().join("bin/capprobe");
    let host = under_a_terminal(&format!("{} tiocsti", probe.display()));
    assert!(host.contains("allowed"), "host: {host}");
    let m = minirun();
    let root = sb.root.display().to_string();
    let quick = under_a_terminal(&format!(
        "{} --root {root} {} /bin/capprobe tiocsti",
        m.display(),
        fixture().display()
    ));
    assert!(quick.contains("EPERM"), "quick form: {quick}");
    let dir = bundle(&sb, "b", &["/bin/capprobe", "tiocsti"], |c| {
        c["process"]["terminal"] = json!(false);
    });
    let run = under_a_terminal(&format!(
        "{} --root {root} run --bundle {} r",
        m.display(),
        dir.display()
    ));
    assert!(run.contains("EPERM"), "run: {run}");
    let dir = bundle(&sb, "s", &["sleep", "30"], |c| {
        c["process"]["terminal"] = json!(false);
    });
    create(&sb, &dir, "s");
    ok(&oci(&sb, &["start", "s"]));
    let exec = under_a_terminal(&format!(
        "{} --root {root} exec s /bin/capprobe tiocsti",
        m.display()
    ));
    assert!(exec.contains("EPERM"), "exec: {exec}");
    force_delete(&sb, "s");
}

/// Item 4: uid and gid 4294967295 mean "leave unchanged" to the kernel: an id resolving to it would
/// keep the workload root. Ids outside 0..=2147483647 are refused, wherever they come from.
#[test]
fn ids_the_kernel_reads_as_unchanged_are_refused() {
    let sb = Sandbox::new("esc-ids");
    let _reap = Reap(&sb);
    for user in ["1000:4294967295", "4294967295", "2147483648:0"] {
        let o = sb.run(&["--user", user], &["id"]);
        let bad = user
            .split(':')
            .find(|p| p.parse::<u64>().unwrap() > 2147483647);
        refused(&o, 125, bad.unwrap());
    }
    let rootfs = sb.scratch.join("rootfs");
    let st = Command::new("cp")
        .arg("-a")
        .arg(fixture())
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(st.success());
    let passwd = rootfs.join("etc/passwd");
    let mut text = std::fs::read_to_string(&passwd).unwrap();
    text.push_str("evil:x:4294967295:0:evil:/:/bin/sh\n");
    std::fs::write(&passwd, text).unwrap();
    let o = sb
        .cmd(&["--user", "evil"])
        .arg(&rootfs)
        .arg("id")
        .output()
        .unwrap();
    refused(&o, 125, "4294967295");
    for (field, value) in [("uid", 4294967295u64), ("gid", 4294967295)] {
        let dir = bundle(&sb, field, &["id"], |c| {
            c["process"]["user"][field] = json!(value)
        });
        let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), field]);
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        assert!(stderr(&o).contains("4294967295"), "{}", stderr(&o));
        assert_eq!(stdout(&o), "", "the workload ran");
    }
}

// ---------------------------------------------------------------------------------------------
// Medium

/// Item 5: Only namespaced sysctls, and only with the namespace they belong to.
#[test]
fn sysctls_never_reach_the_host() {
    let sb = Sandbox::new("esc-sysctl");
    let _reap = Reap(&sb);
    let host_file = "/proc/sys/kernel/printk_ratelimit_burst";
    let before = std::fs::read_to_string(host_file).unwrap();
    let other = (before.trim().parse::<u32>().unwrap() + 1).to_string();
    let refused_run = |name: &str, sysctl: Value, drop_ns: Option<&str>, key: &str| {
        let dir = bundle(&sb, name, &["true"], |c| {
            c["linux"]["sysctl"] = sysctl;
            if let Some(t) = drop_ns {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|n| n["type"] != t);
            }
        });
        let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), name]);
        assert_eq!(code(&o), 1, "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(key), "{name}: {}", stderr(&o));
    };
    refused_run(
        "printk",
        json!({"kernel.printk_ratelimit_burst": other}),
        None,
        "kernel.printk_ratelimit_burst",
    );
    refused_run(
        "core",
        json!({"kernel.core_pattern": "|/tmp/x"}),
        None,
        "kernel.core_pattern",
    );
    refused_run(
        "net-without-netns",
        json!({"net.ipv4.ip_forward": "1"}),
        Some("network"),
        "net.ipv4.ip_forward",
    );
    refused_run(
        "ipc-without-ipcns",
        json!({"kernel.msgmax": "9000"}),
        Some("ipc"),
        "kernel.msgmax",
    );
    // A network namespace joined by path that is the host's own is no namespace of the
    // container's: refused as runc refuses it.
    let dir = bundle(&sb, "host-netns", &["true"], |c| {
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
        for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
            if ns["type"] == "network" {
                ns["path"] = json!(format!("/proc/{}/ns/net", std::process::id()));
            }
        }
    });
    let o = oci(
        &sb,
        &["run", "--bundle", dir.to_str().unwrap(), "host-netns"],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("net.ipv4.ip_forward"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(host_file).unwrap(), before);
    // The namespaced ones work, inside the container only.
    let dir = bundle(
        &sb,
        "ok",
        &[
            "cat",
            "/proc/sys/net/ipv4/ip_forward",
            "/proc/sys/kernel/msgmax",
            "/proc/sys/fs/mqueue/msg_max",
        ],
        |c| {
            c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1",
                "kernel.msgmax": "9000", "fs.mqueue.msg_max": "20"})
        },
    );
    let out = ok(&oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "ok"]));
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["1", "9000", "20"]
    );
}

/// Item 6: The quick form gives the container a session keyring of its own, as the OCI path does.
#[test]
fn the_quick_form_does_not_share_the_callers_keyring() {
    let sb = Sandbox::new("esc-keyring");
    let host = Command::new(fixture().join("bin/capprobe"))
        .arg("keyring")
        .output()
        .unwrap();
    let host = ok(&host);
    // Unconfined: Docker's seccomp profile refuses keyctl altogether, which would hide the
    // keyring this test looks at.
    let inside = ok(&sb.run(
        &["--security-opt", "seccomp=unconfined"],
        &["/bin/capprobe", "keyring"],
    ));
    assert_ne!(
        host.trim(),
        inside.trim(),
        "the caller's session keyring is shared"
    );
}

/// Item 7: Signalling one container never reaches a neighbour whose pid namespace it joined.
#[test]
fn kill_all_and_force_delete_spare_the_neighbour() {
    let sb = Sandbox::new("esc-kill-all");
    let _reap = Reap(&sb);
    let a = bundle(&sb, "a", &["sleep", "300"], |_| {});
    let apid = create(&sb, &a, "a");
    ok(&oci(&sb, &["start", "a"]));
    let joined = |name: &str| {
        bundle(&sb, name, &["sleep", "301"], |c| {
            for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
                if ns["type"] == "pid" {
                    ns["path"] = json!(format!("/proc/{apid}/ns/pid"));
                }
            }
        })
    };
    let b = joined("b");
    let bpid = create(&sb, &b, "b");
    ok(&oci(&sb, &["start", "b"]));
    ok(&oci(&sb, &["kill", "--all", "b", "KILL"]));
    assert!(
        wait_for(5.0, || (!alive(bpid)).then_some(())).is_some(),
        "b's init survived kill --all"
    );
    // A SIGKILL takes a moment to land: give one sent to a time to show.
    std::thread::sleep(Duration::from_millis(200));
    assert!(alive(apid), "kill --all b killed a");
    ok(&oci(&sb, &["delete", "b"]));
    let c = joined("c");
    create(&sb, &c, "c");
    ok(&oci(&sb, &["start", "c"]));
    ok(&oci(&sb, &["delete", "--force", "c"]));
    std::thread::sleep(Duration::from_millis(100));
    assert!(alive(apid), "delete --force c killed a");
    force_delete(&sb, "a");
}

/// Item 8: State is root's alone: the root 0700, each record 0700 with its files 0600.
#[test]
fn state_is_private_to_root() {
    let sb = Sandbox::new("esc-state-mode");
    let root = sb.root.join("fresh");
    let dir = bundle(&sb, "b", &["sleep", "30"], |c| {
        c["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push("SECRET=hunter2".into());
    });
    let with_root = |args: &[&str]| {
        let mut c = Command::new(minirun());
        c.arg("--root").arg(&root).args(args);
        output_via_files(&mut c, &sb.scratch)
    };
    ok(&with_root(&[
        "create",
        "--bundle",
        dir.to_str().unwrap(),
        "m",
    ]));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let record = root.join("m");
    let mut checked = vec![(root.clone(), mode(&root)), (record.clone(), mode(&record))];
    for e in std::fs::read_dir(&record).unwrap().flatten() {
        if e.file_type().unwrap().is_file() {
            checked.push((e.path(), mode(&e.path())));
        }
    }
    ok(&with_root(&["delete", "--force", "m"]));
    // Nothing but the seccomp cache may be left in the root.
    assert!(records_in(&root).is_empty(), "{:?}", records_in(&root));
    std::fs::remove_dir_all(&root).unwrap();
    for (p, m) in &checked {
        let want = if p == &root || p == &record {
            0o700
        } else {
            0o600
        };
        assert_eq!(*m, want, "{} is {m:o}: {checked:?}", p.display());
    }
    assert!(checked.iter().any(|(p, _)| p.ends_with("config.json")));
}

/// Item 9a: An init whose `create` was killed before it recorded the container exits by itself.
#[test]
fn an_init_never_outlives_a_create_killed_before_recording_it() {
    let sb = Sandbox::new("esc-leak-killed");
    let dir = bundle(&sb, "b", &["true"], |_| {});
    // How long one create takes here, to spread the kills over it.
    let t = Instant::now();
    create(&sb, &dir, "probe");
    let span = t.elapsed();
    force_delete(&sb, "probe");
    for i in 0..60u32 {
        let mut c = sb.cmd(&[
            "create",
            "--bundle",
            dir.to_str().unwrap(),
            &format!("k{i}"),
        ]);
        c.stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        std::thread::sleep(span.mul_f64(f64::from(i) / 50.0));
        let _ = child.kill();
        let _ = child.wait();
    }
    // A create that finished before its kill left a recorded container: delete those (and any
    // record a killed create left). Whatever still runs after that, nobody can find.
    for i in 0..60 {
        let _ = oci(&sb, &["delete", "--force", &format!("k{i}")]);
    }
    // A create killed while it reserved its id leaves a staging directory: the next one sweeps.
    create(&sb, &dir, "sweep");
    force_delete(&sb, "sweep");
    let gone = wait_for(5.0, || pids_mentioning(&sb.root).is_empty().then_some(()));
    let survivors = pids_mentioning(&sb.root);
    for p in &survivors {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*p),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(
        gone.is_some(),
        "untracked inits outlived their killed create: {survivors:?}"
    );
}

/// Item 9b: `delete` never removes the record of a container whose `create` is still running, so a
/// second `create` of the same id cannot leave an untracked init behind.
#[test]
fn delete_racing_create_leaves_no_untracked_init() {
    let sb = Sandbox::new("esc-leak-race");
    let dir = bundle(&sb, "b", &["true"], |_| {});
    let t = Instant::now();
    create(&sb, &dir, "probe");
    let span = t.elapsed();
    force_delete(&sb, "probe");
    for i in 0..40u32 {
        let mut c = sb.cmd(&["create", "--bundle", dir.to_str().unwrap(), "r"]);
        c.stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        std::thread::sleep(span.mul_f64(f64::from(i) / 40.0));
        let _ = oci(&sb, &["delete", "r"]);
        let _ = child.wait();
        let _ = oci(&sb, &["create", "--bundle", dir.to_str().unwrap(), "r"]);
        let _ = oci(&sb, &["delete", "--force", "r"]);
        let left = pids_mentioning(&sb.root);
        assert!(left.is_empty(), "round {i}: untracked inits {left:?}");
    }
    create(&sb, &dir, "sweep");
    force_delete(&sb, "sweep");
}

/// Item 10: The fd guard does not depend on close_range: where the kernel lacks it (ENOSYS here,
/// through a seccomp filter on minirun), stray fds are still closed.
#[test]
fn stray_fds_are_closed_where_close_range_is_missing() {
    let sb = Sandbox::new("esc-close-range");
    let host_dir = sb.scratch.join("host-secret");
    std::fs::create_dir(&host_dir).unwrap();
    let mut cmd = sb.cmd(&[]);
    cmd.arg(fixture()).args(["ls", "/proc/self/fd"]);
    // SAFETY: in the forked child before execve: prctl and seccomp only take pointers to the
    // filter, which lives on this stack frame for the call.
    unsafe {
        cmd.pre_exec(|| {
            let nr = libc::SYS_close_range as u32;
            let errno = libc::ENOSYS as u32;
            let mut filter = [
                // A = seccomp_data.nr
                libc::sock_filter {
                    code: 0x20,
                    jt: 0,
                    jf: 0,
                    k: 0,
                },
                // if A == close_range: errno(ENOSYS), else allow
                libc::sock_filter {
                    code: 0x15,
                    jt: 0,
                    jf: 1,
                    k: nr,
                },
                libc::sock_filter {
                    code: 0x06,
                    jt: 0,
                    jf: 0,
                    k: 0x0005_0000 | errno,
                },
                libc::sock_filter {
                    code: 0x06,
                    jt: 0,
                    jf: 0,
                    k: 0x7fff_0000,
                },
            ];
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_mut_ptr(),
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::syscall(libc::SYS_seccomp, 1, 0, &prog as *const _) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = with_stray_fds(cmd, &host_dir);
    let out = ok(&o);
    let fds: Vec<&str> = out.split_whitespace().collect();
    assert!(!fds.contains(&"5") && !fds.contains(&"251"), "{out}");
}

/// Item 11: Output into a pipe nobody reads any more ends quietly: no abort, no panic message.
#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let sb = Sandbox::new("esc-epipe");
    for args in [
        &["features"][..],
        &["list"],
        &["list", "--format", "json"],
        &["explain"],
        &["ps"],
        &["--help"],
    ] {
        let (r, w) = nix::unistd::pipe().unwrap();
        drop(r);
        let o = sb
            .cmd(args)
            .stdout(Stdio::from(w))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_ne!(o.status.signal(), Some(libc::SIGABRT), "{args:?} aborted");
        let err = stderr(&o);
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// OCI conformance

/// Item 12: rootfsPropagation shared, slave and unbindable: set up under private propagation,
/// applied to the root after pivot_root.
#[test]
fn rootfs_propagation_is_honoured() {
    let sb = Sandbox::new("esc-propagation");
    let _reap = Reap(&sb);
    for (p, mark) in [
        ("shared", Some("shared:")),
        ("rshared", Some("shared:")),
        ("slave", None),
        ("unbindable", Some("unbindable")),
    ] {
        let dir = bundle(&sb, p, &["cat", "/proc/self/mountinfo"], |c| {
            c["linux"]["rootfsPropagation"] = json!(p);
        });
        let out = ok(&oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), p]));
        let root_line = out
            .lines()
            .find(|l| l.split(' ').nth(4) == Some("/"))
            .unwrap_or_else(|| panic!("{p}: no root mount in {out}"));
        if let Some(mark) = mark {
            assert!(root_line.contains(mark), "{p}: {root_line}");
        }
    }
}

/// Item 13: Without a mount namespace the container still runs in root.path (chroot), as crun does.
#[test]
fn without_a_mount_namespace_the_root_still_applies() {
    let sb = Sandbox::new("esc-no-mntns");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["cat", "/etc/passwd"], |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "mount");
        c["mounts"] = json!([]);
        c["linux"]["maskedPaths"] = json!([]);
        c["linux"]["readonlyPaths"] = json!([]);
    });
    let out = ok(&oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "n"]));
    assert!(
        out.contains("app:x:1000:1000"),
        "not the fixture's passwd: {out}"
    );
    assert!(fixture_mounts().is_empty(), "{:?}", fixture_mounts());
}
