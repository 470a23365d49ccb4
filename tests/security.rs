//! Issue 4, "no leaks, no escapes": fd hygiene, replays of runc's CVEs, masked paths, and every
//! row of the bad-input table (tests/fuzz-corpus/README-bad-inputs.md). Real containers, as root.

mod common;
use common::*;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A private copy of the fixture rootfs, to plant symlinks and files in.
fn scratch_rootfs(sb: &Sandbox) -> PathBuf {
    let dst = sb.scratch.join("rootfs");
    let st = Command::new("cp")
        .arg("-a")
        .arg(fixture())
        .arg(&dst)
        .status()
        .unwrap();
    assert!(st.success());
    dst
}

fn run_in(sb: &Sandbox, rootfs: &Path, opts: &[&str], argv: &[&str]) -> Output {
    sb.cmd(opts).arg(rootfs).args(argv).output().unwrap()
}

fn dir_listing(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(p)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// Fd hygiene and CVE-2024-21626

#[test]
fn only_stdio_reaches_the_workload_even_with_stray_fds() {
    let sb = Sandbox::new("sec-fds");
    let host = sb.scratch.join("hostdir");
    std::fs::create_dir(&host).unwrap();
    for opts in [&[][..], &["--init"][..]] {
        let mut c = sb.cmd(opts);
        // The shell's own fds (`; true` keeps sh from exec'ing ls), then ls's view of itself:
        // ls lists /proc/self/fd through one fd of its own, which points at nothing afterwards.
        c.arg(fixture()).args([
            "sh",
            "-c",
            "ls -l /proc/$$/fd; echo --; ls -l /proc/self/fd 2>/dev/null; true",
        ]);
        let o = with_stray_fds(c, &host);
        let out = ok(&o);
        let (shell, own) = out.split_once("--\n").unwrap();
        let fds = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with('l'))
                .map(|l| {
                    let name = l.split(" -> ").next().unwrap();
                    name.split_whitespace().last().unwrap().to_string()
                })
                .collect()
        };
        assert_eq!(fds(shell), ["0", "1", "2"], "{opts:?}: {out}");
        // ls's directory fd is the only extra one, and it is 3, not a leaked 5 or 251.
        let own_fds = fds(own);
        assert!(
            own_fds == ["0", "1", "2"] || own_fds == ["0", "1", "2", "3"],
            "{opts:?}: {out}"
        );
        assert!(!out.contains(host.to_str().unwrap()), "{out}");
    }
}

#[test]
fn cve_2024_21626_workdir_through_a_leaked_fd_fails_cleanly() {
    let sb = Sandbox::new("sec-21626");
    let host = sb.scratch.join("hostdir");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("marker"), "host").unwrap();
    for n in [5, 251] {
        let wd = format!("/proc/self/fd/{n}");
        for extra in [&[][..], &["--init"][..]] {
            let mut opts = vec!["-w", wd.as_str()];
            opts.extend_from_slice(extra);
            let mut c = sb.cmd(&opts);
            c.arg(fixture())
                .args(["sh", "-c", "pwd; ls; touch escaped-21626"]);
            let o = with_stray_fds(c, &host);
            refused(&o, 125, &format!("--workdir \"{wd}\""));
        }
    }
    // A rootfs that plants /proc/self/fd/5 as a real directory passes the runtime's own check
    // (which resolves the path inside the rootfs on disk); in the container, where /proc is
    // procfs and fd 5 is closed before chdir, the child refuses it just as cleanly.
    let rootfs = scratch_rootfs(&sb);
    std::fs::create_dir_all(rootfs.join("proc/self/fd/5")).unwrap();
    symlink("/proc/self/fd/5", rootfs.join("wd")).unwrap();
    for wd in ["/proc/self/fd/5", "/wd"] {
        for extra in [&[][..], &["--init"][..]] {
            let mut opts = vec!["-w", wd];
            opts.extend_from_slice(extra);
            let mut c = sb.cmd(&opts);
            c.arg(&rootfs)
                .args(["sh", "-c", "pwd; touch escaped-21626"]);
            let o = with_stray_fds(c, &host);
            refused(&o, 125, "working directory");
        }
    }
    assert_eq!(dir_listing(&host), ["marker"]);
    assert!(!rootfs.join("proc/self/fd/5/escaped-21626").exists());
    assert!(fixture_mounts().is_empty());
    assert!(host_mounts_under(&sb.scratch).is_empty());
}

// ---------------------------------------------------------------------------------------------
// CVE-2021-30465: symlinks in an untrusted rootfs

#[test]
fn cve_2021_30465_rootfs_symlinks_never_lead_to_the_host() {
    let sb = Sandbox::new("sec-30465");
    let rootfs = scratch_rootfs(&sb);
    // Host directories the rootfs's symlinks point at, each with one marker file.
    let hosts: Vec<PathBuf> = ["host-dev", "host-sys", "host-shm"]
        .iter()
        .map(|n| {
            let d = sb.scratch.join(n);
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("marker"), n).unwrap();
            d
        })
        .collect();
    symlink("/", rootfs.join("mnt")).unwrap();
    // /dev (where minirun mounts a tmpfs and makes device nodes) and /sys point at host
    // directories by absolute path, /dev/shm's parent through `..` chains.
    std::fs::remove_dir_all(rootfs.join("dev")).unwrap();
    symlink(&hosts[0], rootfs.join("dev")).unwrap();
    std::fs::remove_dir_all(rootfs.join("sys")).unwrap();
    let up = "../".repeat(20);
    symlink(
        format!("{up}{}", hosts[1].strip_prefix("/").unwrap().display()),
        rootfs.join("sys"),
    )
    .unwrap();
    // minirun either refuses (the symlinks' in-root targets do not exist) or mounts inside;
    // with the targets present inside the rootfs, it runs. The host directories never change.
    let probe = [
        "sh",
        "-c",
        "ls /dev/null /sys/kernel >/dev/null && echo ran",
    ];
    let o = run_in(&sb, &rootfs, &[], &probe);
    if code(&o) != 0 {
        refused(&o, 125, "in the rootfs");
    }
    for h in &hosts {
        assert_eq!(dir_listing(h), ["marker"], "{} was touched", h.display());
        std::fs::create_dir_all(rootfs.join(h.strip_prefix("/").unwrap())).unwrap();
    }
    let out = ok(&run_in(&sb, &rootfs, &[], &probe));
    assert_eq!(out, "ran\n");
    for h in &hosts {
        assert_eq!(dir_listing(h), ["marker"], "{} was touched", h.display());
    }
    // What was created instead lies inside the rootfs, at the symlinks' in-root targets.
    assert!(rootfs.join(hosts[0].strip_prefix("/").unwrap()).is_dir());
    assert!(host_mounts_under(&sb.scratch).is_empty());

    // passwd and group lookups: /etc/passwd is an absolute symlink to a host file that maps
    // "app" to uid 4242. minirun reads the rootfs's file at that path, or fails: never 4242.
    let host_passwd = sb.scratch.join("host-passwd");
    std::fs::write(&host_passwd, "app:x:4242:4242::/hosthome:/bin/sh\n").unwrap();
    let host_group = sb.scratch.join("host-group");
    std::fs::write(&host_group, "staff:x:4343:app\n").unwrap();
    std::fs::remove_file(rootfs.join("etc/passwd")).unwrap();
    symlink(&host_passwd, rootfs.join("etc/passwd")).unwrap();
    std::fs::remove_file(rootfs.join("etc/group")).ok();
    symlink(
        format!("{up}{}", host_group.strip_prefix("/").unwrap().display()),
        rootfs.join("etc/group"),
    )
    .unwrap();
    let o = run_in(&sb, &rootfs, &["--user", "app"], &["id"]);
    refused(&o, 125, "unable to find user \"app\"");
    let o = run_in(&sb, &rootfs, &["--group-add", "staff"], &["id"]);
    refused(&o, 125, "unable to find group \"staff\"");
    // With the files present at those paths inside the rootfs, they are what counts.
    let inside = rootfs.join(host_passwd.strip_prefix("/").unwrap());
    std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
    std::fs::write(&inside, "app:x:1000:1000::/home/app:/bin/sh\n").unwrap();
    std::fs::write(
        rootfs.join(host_group.strip_prefix("/").unwrap()),
        "staff:x:50:app\n",
    )
    .unwrap();
    let out = ok(&run_in(&sb, &rootfs, &["--user", "app"], &["id", "-u"]));
    assert_eq!(out, "1000\n");
    let out = ok(&run_in(
        &sb,
        &rootfs,
        &["--user", "app", "--group-add", "staff"],
        &["id", "-G"],
    ));
    assert_eq!(out.trim(), "1000 50");
    assert!(host_mounts_under(&sb.scratch).is_empty());
}

#[test]
fn cve_2021_30465_oci_bind_through_mnt_symlink_stays_inside() {
    let sb = Sandbox::new("sec-30465-oci");
    let bundle = sb.scratch.join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    let st = Command::new(minirun())
        .arg("spec")
        .current_dir(&bundle)
        .status()
        .unwrap();
    assert!(st.success());
    let rootfs = scratch_rootfs(&sb);
    std::fs::rename(&rootfs, bundle.join("rootfs")).unwrap();
    let rootfs = bundle.join("rootfs");
    symlink("/", rootfs.join("mnt")).unwrap();
    // The bind's destination goes through /mnt -> / to a host directory: a runtime that
    // follows the symlink on the host would mount over `target` there.
    let source = sb.scratch.join("source");
    std::fs::create_dir(&source).unwrap();
    std::fs::write(source.join("from-source"), "x").unwrap();
    let target = sb.scratch.join("target");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("marker"), "host").unwrap();
    let cfg_path = bundle.join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    cfg["process"]["args"] = serde_json::json!([
        "sh",
        "-c",
        format!(
            "ls /mnt{}; touch /mnt{}/from-container",
            target.display(),
            target.display()
        )
    ]);
    cfg["process"]["terminal"] = false.into();
    cfg["mounts"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "destination": format!("/mnt{}", target.display()),
            "type": "bind",
            "source": source,
            "options": ["rbind", "rw"],
        }));
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    let o = sb
        .cmd(&["run", "-b", bundle.to_str().unwrap(), "bind30465"])
        .output()
        .unwrap();
    let out = ok(&o);
    assert_eq!(out, "from-source\n", "{}", stderr(&o));
    // On the host: target untouched; the write went through the bind into the source.
    assert_eq!(dir_listing(&target), ["marker"]);
    assert_eq!(dir_listing(&source), ["from-container", "from-source"]);
    assert!(rootfs.join(target.strip_prefix("/").unwrap()).is_dir());
    assert!(host_mounts_under(&sb.scratch).is_empty());
    let _ = sb.cmd(&["delete", "--force", "bind30465"]).output();
}

// ---------------------------------------------------------------------------------------------
// CVE-2019-5736: the runtime binary through /proc/PID/exe

#[test]
fn cve_2019_5736_runtime_binary_is_not_reachable_or_writable() {
    let sb = Sandbox::new("sec-5736");
    let bin = binary_copy(&sb);
    let before = sha256(&bin);
    // Default capabilities: the --init reaper (PID 1, still the minirun binary) is
    // non-dumpable, so its exe cannot even be opened.
    let script = "cat /proc/1/exe 2>&1 >/dev/null; \
                  printf X >> /proc/1/exe 2>/dev/null && echo WROTE-EXE; \
                  for f in /proc/1/map_files/*; do printf X 1<>$f 2>/dev/null && echo WROTE-MAP; done; \
                  for f in /proc/1/fd/*; do [ -e $f ] && echo REAPER-FD $f; done; \
                  find / -xdev -name minirun-copy 2>/dev/null; true";
    let o = copy_cmd(&bin, &sb, &["--init"])
        .arg(fixture())
        .args(["sh", "-c", script])
        .output()
        .unwrap();
    let out = ok(&o);
    assert!(out.contains("Permission denied"), "{out}");
    assert!(
        !out.contains("WROTE") && !out.contains("REAPER-FD"),
        "{out}"
    );
    assert!(!out.contains("minirun-copy"), "{out}");
    // With CAP_SYS_PTRACE (or --privileged) the exe can be opened; the classic attack keeps
    // that fd and reopens it for writing later: it must still fail.
    for opts in [
        &["--init", "--cap-add", "sys_ptrace"][..],
        &["--init", "--privileged"],
    ] {
        let script = "exec 7</proc/1/exe && echo opened; \
                      printf X 1<>/proc/self/fd/7 2>/dev/null && echo WROTE-FD; \
                      printf X >> /proc/1/exe 2>/dev/null && echo WROTE-EXE; true";
        let o = copy_cmd(&bin, &sb, opts)
            .arg(fixture())
            .args(["sh", "-c", script])
            .output()
            .unwrap();
        let out = ok(&o);
        assert!(!out.contains("WROTE"), "{opts:?}: {out}");
    }
    assert_eq!(sha256(&bin), before, "the runtime binary was modified");
}

#[test]
fn cve_2019_5736_exec_into_a_hostile_container_leaves_the_binary_intact() {
    // The CVE's own shape: a detached container with CAP_SYS_PTRACE waits for `exec`, grabs
    // /proc/PID/exe of the runtime process that enters it, and once every runtime process has
    // exited, reopens that fd for writing.
    let sb = Sandbox::new("sec-5736-exec");
    let bin = binary_copy(&sb);
    let before = sha256(&bin);
    let bundle = sb.scratch.join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    let st = Command::new(&bin)
        .arg("spec")
        .current_dir(&bundle)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::rename(scratch_rootfs(&sb), bundle.join("rootfs")).unwrap();
    let cfg_path = bundle.join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    for set in ["bounding", "effective", "permitted"] {
        cfg["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push("CAP_SYS_PTRACE".into());
    }
    cfg["process"]["terminal"] = false.into();
    cfg["process"]["args"] = serde_json::json!([
        "sh",
        "-c",
        r#"
        while :; do for p in /proc/[0-9]*; do
            case "$(readlink $p/exe 2>/dev/null)" in ""|*busybox*) ;; *) exec 7<$p/exe && echo grabbed >/tmp/log && break 2;; esac
        done; done
        i=0; while [ $i -lt 100 ]; do
            if (printf PWND 1<>/proc/self/fd/7) 2>/dev/null; then echo WROTE >>/tmp/log; break; fi
            i=$((i+1)); sleep 0.01
        done; echo end >>/tmp/log; sleep 30"#
    ]);
    // The pattern matches any exe that is not busybox: a protected runtime's reads "/" (a
    // detached read-only mount) or "/memfd:...", never "minirun".
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    let o = copy_cmd(
        &bin,
        &sb,
        &["run", "-d", "-b", bundle.to_str().unwrap(), "hostile"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .status()
    .unwrap();
    assert!(o.success());
    let log = bundle.join("rootfs/tmp/log");
    // The container's busybox loop must catch an exec process during its few milliseconds of
    // setup: on a loaded machine that takes some tries.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut execs = 0;
    while !log.exists() && std::time::Instant::now() < deadline {
        let _ = copy_cmd(&bin, &sb, &["exec", "hostile", "true"]).output();
        execs += 1;
    }
    eprintln!("{execs} execs until the container grabbed an exe");
    let text = wait_for(10.0, || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|t| t.contains("end"))
    });
    let _ = copy_cmd(&bin, &sb, &["delete", "--force", "hostile"]).output();
    let text = text.expect("the container never grabbed the runtime's exe");
    assert!(text.starts_with("grabbed"), "{text}");
    assert!(!text.contains("WROTE"), "{text}");
    assert_eq!(sha256(&bin), before, "the runtime binary was modified");
}

// ---------------------------------------------------------------------------------------------
// Masked paths, read-only /proc/sys, the old root

#[test]
fn masked_paths_read_only_proc_sys_and_no_old_root() {
    let sb = Sandbox::new("sec-mask");
    let marker_name = format!("host-marker-{}", std::process::id());
    let marker = sb.scratch.join(&marker_name);
    std::fs::write(&marker, "secret").unwrap();
    let script = format!(
        "for f in /proc/keys /proc/timer_list; do echo $f $(wc -c < $f); done; \
         [ -e /proc/kcore ] && echo /proc/kcore $(wc -c < /proc/kcore); \
         echo /sys/firmware $(ls -A /sys/firmware | wc -l); \
         echo 1 > /proc/sys/kernel/ns_last_pid; \
         cat {m} 2>/dev/null; find / -xdev -name {n} 2>/dev/null; \
         cd /; cd ..; cd ..; ls -d /*/{n} /../{n} 2>/dev/null; true",
        m = marker.display(),
        n = marker_name
    );
    let o = sb.run(&[], &["sh", "-c", &script]);
    let out = ok(&o);
    assert!(out.contains("/proc/keys 0\n"), "{out}");
    assert!(out.contains("/proc/timer_list 0\n"), "{out}");
    if Path::new("/proc/kcore").exists() {
        assert!(out.contains("/proc/kcore 0\n"), "{out}");
    }
    assert!(out.contains("/sys/firmware 0\n"), "{out}");
    assert!(
        stderr(&o).contains("Read-only file system"),
        "{}",
        stderr(&o)
    );
    assert!(
        !out.contains("secret") && !out.contains(&marker_name),
        "{out}"
    );

    // Every mount point inside is one the container itself made: nothing of the host's tree.
    let inside = ok(&sb.run(&[], &["cat", "/proc/self/mountinfo"]));
    let allowed: Vec<String> = ["/", "/proc", "/dev", "/dev/pts", "/sys", "/dev/mqueue"]
        .iter()
        .map(|s| s.to_string())
        .chain(["/dev/shm".to_string()])
        .chain(minirun::spec::MASKED_PATHS.iter().map(|s| s.to_string()))
        .chain(minirun::spec::READONLY_PATHS.iter().map(|s| s.to_string()))
        .collect();
    for line in inside.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let point = f[4];
        // The container's own cgroups, read-only, rooted at its cgroup namespace's "/".
        let own_cgroup_view =
            point.starts_with("/sys/fs/cgroup") && f[3] == "/" && f[5].starts_with("ro,");
        assert!(
            own_cgroup_view || allowed.iter().any(|a| a == point),
            "mount point {point} inside is not the container's: {line}"
        );
    }
    // Even with CAP_SYS_ADMIN the old root is gone: nothing left to mount back.
    let o = sb.run(
        &["--cap-add", "sys_admin", "--tmpfs", "/tmp"],
        &[
            "sh",
            "-c",
            &format!(
                "mkdir -p /tmp/o; mount -t proc proc /tmp/o 2>/dev/null; \
                 ls /tmp/o/1/root/{} 2>/dev/null; grep -c . /proc/self/mountinfo; true",
                marker.strip_prefix("/").unwrap().display()
            ),
        ],
    );
    let out = ok(&o);
    assert!(!out.contains(&marker_name), "{out}");
    assert!(fixture_mounts().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Bad input: every row of tests/fuzz-corpus/README-bad-inputs.md

#[test]
fn bad_input_missing_rootfs() {
    let sb = Sandbox::new("bad-missing");
    let p = sb.scratch.join("nope");
    let o = sb.cmd(&[p.to_str().unwrap(), "true"]).output().unwrap();
    let msg = refused(&o, 125, "does not exist");
    assert_eq!(
        msg,
        format!(
            "minirun: rootfs \"{}\" does not exist: No such file or directory (os error 2)",
            p.display()
        )
    );
}

#[test]
fn bad_input_rootfs_is_a_file() {
    let sb = Sandbox::new("bad-file");
    let f = sb.scratch.join("file");
    std::fs::write(&f, "x").unwrap();
    let o = sb.cmd(&[f.to_str().unwrap(), "true"]).output().unwrap();
    refused(
        &o,
        125,
        &format!("rootfs \"{}\" is not a directory", f.display()),
    );
}

#[test]
fn bad_input_rootfs_without_command() {
    let sb = Sandbox::new("bad-nocmd");
    let o = sb.cmd(&[fixture().to_str().unwrap()]).output().unwrap();
    refused(&o, 125, "no COMMAND given to run in");
}

#[test]
fn bad_input_unknown_flag() {
    let sb = Sandbox::new("bad-flag");
    let o = sb
        .cmd(&["--bogus", fixture().to_str().unwrap(), "true"])
        .output()
        .unwrap();
    refused(
        &o,
        125,
        "unexpected argument '--bogus' found (see minirun --help)",
    );
}

#[test]
fn bad_input_unknown_capability_suggests() {
    let sb = Sandbox::new("bad-cap");
    let o = sb.run(&["--cap-add", "setiud"], &["true"]);
    let msg = refused(&o, 125, "unknown capability");
    assert_eq!(
        msg,
        "minirun: unknown capability \"CAP_SETIUD\" (did you mean \"CAP_SETUID\"?)"
    );
    let o = sb.run(&["--cap-drop", "fooo"], &["true"]);
    refused(&o, 125, "unknown capability \"CAP_FOOO\"");
}

#[test]
fn bad_input_capability_the_kernel_lacks() {
    let sb = Sandbox::new("bad-kcap");
    let last: u8 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let past = format!("cap_{}", last + 1);
    let o = sb.run(&["--cap-add", &past], &["true"]);
    refused(
        &o,
        125,
        &format!(
            "capability \"CAP_{}\" is not known to the running kernel (its last capability is {})",
            last + 1,
            minirun::capability::names::oci_name(last)
        ),
    );
}

#[test]
fn bad_input_withheld_capability() {
    // Withheld by this host (this project's machines lack CAP_SYS_RESOURCE), or, on a host that
    // withholds none, by a bounding set setpriv(1) narrows for minirun: the answer must be the
    // same either way, and the test never passes without asking.
    let sb = Sandbox::new("bad-withheld");
    let held = minirun::capability::held_bounding();
    let withheld = minirun::capability::CapSet::all_up_to(minirun::capability::kernel_last_cap())
        .minus(held)
        .iter()
        .next();
    let (cap, o) = match withheld {
        Some(cap) => {
            let name = minirun::capability::names::short_name(cap);
            (cap, sb.run(&["--cap-add", &name], &["true"]))
        }
        None => {
            let cap = 22; // CAP_SYS_BOOT
            let mut c = Command::new("setpriv");
            c.args(["--bounding-set", "-sys_boot", "--"])
                .arg(minirun())
                .arg("--root")
                .arg(sb.base().join("state"))
                .args(["--cap-add", "sys_boot"])
                .arg(fixture())
                .arg("true");
            (cap, c.output().expect("setpriv (package util-linux)"))
        }
    };
    refused(
        &o,
        125,
        &format!(
            "capability \"{}\" is withheld by the environment",
            minirun::capability::names::oci_name(cap)
        ),
    );
}

#[test]
fn bad_input_unknown_user_and_group() {
    let sb = Sandbox::new("bad-user");
    let o = sb.run(&["--user", "ghost"], &["true"]);
    refused(
        &o,
        125,
        "unable to find user \"ghost\": no matching entries in the rootfs's /etc/passwd",
    );
    let o = sb.run(&["--user", "app:ghosts"], &["true"]);
    refused(
        &o,
        125,
        "unable to find group \"ghosts\": no matching entries in the rootfs's /etc/group",
    );
    let o = sb.run(&["--group-add", "nope"], &["true"]);
    refused(&o, 125, "unable to find group \"nope\"");
}

#[test]
fn bad_input_relative_or_missing_workdir() {
    let sb = Sandbox::new("bad-wd");
    let o = sb.run(&["-w", "tmp"], &["true"]);
    refused(&o, 125, "--workdir \"tmp\" must be an absolute path");
    let o = sb.run(&["-w", "/no/such/dir"], &["true"]);
    refused(
        &o,
        125,
        "--workdir \"/no/such/dir\" does not exist in the rootfs (No such file or directory)",
    );
    let o = sb.run(&["-w", "/etc/passwd"], &["true"]);
    refused(
        &o,
        125,
        "--workdir \"/etc/passwd\" does not exist in the rootfs",
    );
}

#[test]
fn bad_input_duplicate_name_while_running() {
    let sb = Sandbox::new("bad-dup");
    let mut first = sb
        .cmd(&["--name", "twin", "--init"])
        .arg(fixture())
        .args(["sleep", "30"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(5.0, || {
        sb.root.join("twin/state.json").exists().then_some(())
    })
    .expect("first container never recorded");
    let o = sb.run(&["--name", "twin"], &["echo", "second"]);
    refused(
        &o,
        125,
        &format!(
            "container \"twin\" already exists (state in {})",
            sb.root.join("twin").display()
        ),
    );
    // The refusal touched nothing of the running one.
    assert!(sb.root.join("twin/state.json").exists());
    let runtime = nix::unistd::Pid::from_raw(first.id() as i32);
    nix::sys::signal::kill(runtime, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_eq!(first.wait().unwrap().code(), Some(143));
    assert!(!sb.root.join("twin").exists());
}

#[test]
fn bad_input_security_opt() {
    let sb = Sandbox::new("bad-secopt");
    let o = sb.run(&["--security-opt", "apparmor=unconfined"], &["true"]);
    refused(
        &o,
        125,
        "--security-opt \"apparmor=unconfined\" is not supported (minirun has no LSM support)",
    );
    let o = sb.run(&["--security-opt", "no-new-privileges=maybe"], &["true"]);
    refused(&o, 125, "\"no-new-privileges=maybe\" is not supported");
}

#[test]
fn bad_input_not_root() {
    let sb = Sandbox::new("bad-notroot");
    let o = Command::new("setpriv")
        .args(["--reuid", "1000", "--regid", "1000", "--clear-groups"])
        .arg(minirun())
        .arg("--root")
        .arg(&sb.root)
        .args(["trace-caps", "some-id"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // Containers run for an ordinary user (tests/rootless.rs); what needs host privileges
    // says so.
    refused(&o, 125, "minirun: this command must run as root");
}

#[test]
fn bad_input_command_not_found_or_not_executable() {
    let sb = Sandbox::new("bad-exec");
    let o = sb.run(&[], &["no-such-command"]);
    let msg = refused(&o, 127, "executable file not found in $PATH");
    assert_eq!(
        msg,
        "minirun: exec: \"no-such-command\": executable file not found in $PATH"
    );
    let o = sb.run(&[], &["/no/such/file"]);
    refused(
        &o,
        127,
        "exec: \"/no/such/file\": no such file or directory",
    );
    let o = sb.run(&[], &["/etc/passwd"]);
    refused(&o, 126, "exec: \"/etc/passwd\": permission denied");
    let o = sb.run(&[], &["/etc"]);
    refused(&o, 126, "exec: \"/etc\": permission denied");
    assert!(fixture_mounts().is_empty());
}
