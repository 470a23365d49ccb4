//! Issue "Launcher foundation": real containers from the fixture rootfs, as root.

mod common;
use common::*;
use std::process::Stdio;

#[test]
fn hello_from_the_container() {
    let sb = Sandbox::new("hello");
    let out = ok(&sb.run(
        &["--hostname", "box1"],
        &["/bin/sh", "-c", "echo hello from $(hostname)"],
    ));
    assert_eq!(out, "hello from box1\n");
}

#[test]
fn exit_codes_follow_docker() {
    let sb = Sandbox::new("codes");
    assert_eq!(code(&sb.run(&[], &["true"])), 0);
    assert_eq!(code(&sb.run(&[], &["sh", "-c", "exit 7"])), 7);
    let o = sb.run(&[], &["no-such-command"]);
    assert_eq!(code(&o), 127);
    assert_eq!(
        stderr(&o).trim(),
        "minirun: exec: \"no-such-command\": executable file not found in $PATH"
    );
    let o = sb.run(&[], &["/etc/passwd"]);
    assert_eq!(code(&o), 126);
    assert!(
        stderr(&o).contains("\"/etc/passwd\": permission denied"),
        "{}",
        stderr(&o)
    );
    let o = sb.run(&["--cap-add", "nonsense"], &["true"]);
    assert_eq!(code(&o), 125);
}

#[test]
fn killed_by_sigkill_is_137() {
    let sb = Sandbox::new("kill9");
    let child = sb
        .cmd(&["--name", "k9"])
        .arg(fixture())
        .args(["sleep", "30"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let runtime = child.id();
    let sleeper = wait_for(5.0, || descendants_named(runtime, "sleep").first().copied())
        .expect("sleep never started");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sleeper),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(137));
}

#[test]
fn workload_is_pid_1() {
    let sb = Sandbox::new("pid1");
    let out = ok(&sb.run(
        &[],
        &["sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '"],
    ));
    assert_eq!(out, "1\nsh -c echo $$; cat /proc/1/cmdline | tr '\\0' ' ' ");
    // Only the container's own processes are visible.
    let ps = ok(&sb.run(&[], &["sh", "-c", "ls /proc | grep -c '^[0-9]'"]));
    assert!(ps.trim().parse::<u32>().unwrap() <= 3, "{ps}");
}

#[test]
fn hostname_is_isolated_and_defaults_to_the_id() {
    let sb = Sandbox::new("uts");
    let host = nix::unistd::gethostname().unwrap();
    let out = ok(&sb.run(
        &["--name", "abcdef123456xyz"],
        &[
            "sh",
            "-c",
            "hostname; hostname other 2>/dev/null || echo refused; hostname",
        ],
    ));
    // Changing it needs CAP_SYS_ADMIN, which Docker's defaults do not grant.
    assert_eq!(out, "abcdef123456\nrefused\nabcdef123456\n");
    let out = ok(&sb.run(
        &["--cap-add", "sys_admin"],
        &["sh", "-c", "hostname other; hostname"],
    ));
    assert_eq!(out, "other\n");
    assert_eq!(nix::unistd::gethostname().unwrap(), host);
}

#[test]
fn network_none_has_only_loopback_up() {
    let sb = Sandbox::new("net");
    let out = ok(&sb.run(
        &[],
        &[
            "sh",
            "-c",
            "cat /proc/net/dev | tail -n +3 | cut -d: -f1; ip link",
        ],
    ));
    let ifaces: Vec<&str> = out
        .lines()
        .take_while(|l| !l.contains(':'))
        .map(str::trim)
        .collect();
    assert_eq!(ifaces, ["lo"], "{out}");
    assert!(out.contains("<LOOPBACK,UP,LOWER_UP>"), "{out}");
    // Loopback works: a listener and a client inside the container (its own /tmp: the
    // fixture is shared). No fixed sleeps: the client retries until the listener is up, and
    // the listener is waited for. Its stdin is a fifo the shell holds open: busybox nc quits
    // at EOF on stdin, and /dev/null (a background job's) raced the data it was about to
    // write (1 run in 4 lost "ping" here).
    let out = ok(&sb.run(
        &["--tmpfs", "/tmp"],
        &[
            "sh",
            "-c",
            "mkfifo /tmp/in; nc -l -p 8080 < /tmp/in > /tmp/got & l=$!; exec 3> /tmp/in
             i=0; until echo ping | nc 127.0.0.1 8080 2>/dev/null; do
               i=$((i+1)); [ $i -ge 100 ] && break; sleep 0.05
             done
             wait $l; cat /tmp/got",
        ],
    ));
    assert_eq!(out.trim(), "ping");
    let host = ok(&sb.run(
        &["--network", "host"],
        &["sh", "-c", "cat /proc/net/dev | wc -l"],
    ));
    let host_count = std::fs::read_to_string("/proc/net/dev")
        .unwrap()
        .lines()
        .count();
    assert_eq!(host.trim().parse::<usize>().unwrap(), host_count);
}

#[test]
fn host_files_outside_rootfs_are_unreachable() {
    let sb = Sandbox::new("marker");
    let marker = sb.scratch.join("host-marker-7f3a");
    std::fs::write(&marker, "secret").unwrap();
    let out = sb.run(
        &[],
        &[
            "sh",
            "-c",
            &format!(
                "cat {} || find / -name host-marker-7f3a 2>/dev/null; echo done",
                marker.display()
            ),
        ],
    );
    let text = stdout(&out);
    assert!(!text.contains("secret"), "{text}");
    assert!(!text.contains("host-marker-7f3a"), "{text}");
    assert!(text.ends_with("done\n"));
}

#[test]
fn mount_table_inside_is_the_containers_own() {
    let sb = Sandbox::new("mountinfo");
    let out = ok(&sb.run(&[], &["cat", "/proc/self/mountinfo"]));
    let points: Vec<&str> = out.lines().map(|l| l.split(' ').nth(4).unwrap()).collect();
    assert_eq!(points[0], "/", "{out}");
    for want in [
        "/proc",
        "/dev",
        "/dev/pts",
        "/sys",
        "/dev/shm",
        "/dev/mqueue",
    ] {
        assert!(points.contains(&want), "{want} missing: {out}");
    }
    // No host mount point (the old root, the host's /work, …) is listed.
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for hp in host.lines().map(|l| l.split(' ').nth(4).unwrap()) {
        if hp.starts_with("/work") || hp.starts_with("/run/") {
            assert!(
                !points.contains(&hp),
                "host mount point {hp} visible inside"
            );
        }
    }
    // /sys/fs/cgroup is the container's own view, as Docker gives it: a read-only tmpfs with
    // cgroup filesystems whose root is the container's own cgroup ("/" in its cgroup
    // namespace), never the host's tree.
    for l in out
        .lines()
        .filter(|l| l.split(' ').nth(4).unwrap().starts_with("/sys/fs/cgroup"))
    {
        let f: Vec<&str> = l.split(' ').collect();
        let fstype = f[f.iter().position(|x| *x == "-").unwrap() + 1];
        assert!(
            f[3] == "/"
                && f[5].starts_with("ro,")
                && ["tmpfs", "cgroup", "cgroup2"].contains(&fstype),
            "{l}"
        );
    }
}

#[test]
fn device_nodes_have_the_spec_mode_and_the_umask_is_the_callers() {
    let sb = Sandbox::new("devmodes");
    let out = ok(&sb.run(
        &[],
        &[
            "sh",
            "-c",
            "for d in null zero full random urandom tty; do stat -c '%n %A %t:%T' /dev/$d; done; umask",
        ],
    ));
    for want in [
        "/dev/null crw-rw-rw- 1:3",
        "/dev/zero crw-rw-rw- 1:5",
        "/dev/full crw-rw-rw- 1:7",
        "/dev/random crw-rw-rw- 1:8",
        "/dev/urandom crw-rw-rw- 1:9",
        "/dev/tty crw-rw-rw- 5:0",
    ] {
        assert!(out.contains(want), "{want} missing: {out}");
    }
    // Device nodes are made with the umask cleared; the workload still gets the runtime's.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let umask = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .unwrap()
        .trim();
    assert!(out.ends_with(&format!("{umask}\n")), "umask {umask}: {out}");
}

#[test]
fn masked_and_read_only_paths() {
    let sb = Sandbox::new("masked");
    let out = ok(&sb.run(
        &[],
        &["sh", "-c", "wc -c < /proc/keys; wc -c < /proc/timer_list; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/ns_last_pid; echo rc=$?; echo x > /proc/sysrq-trigger; echo rc=$?"],
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..3], ["0", "0", "0"], "{out}");
    assert_eq!(lines[3], "rc=1");
    assert_eq!(lines[4], "rc=1");
    let err = stderr(&sb.run(&[], &["sh", "-c", "echo 1 > /proc/sys/kernel/ns_last_pid"]));
    assert!(err.contains("Read-only file system"), "{err}");
    if std::path::Path::new("/proc/kcore").exists() {
        let out = ok(&sb.run(&[], &["sh", "-c", "wc -c < /proc/kcore"]));
        assert_eq!(out.trim(), "0");
    }
    // --privileged lifts the masks, as in Docker.
    let out = ok(&sb.run(
        &["--privileged"],
        &[
            "sh",
            "-c",
            "grep -c ' /proc/sys ' /proc/self/mountinfo || true",
        ],
    ));
    assert_eq!(out.trim(), "0");
}

#[test]
fn read_only_root_gives_erofs() {
    let sb = Sandbox::new("ro");
    let o = sb.run(&["--read-only"], &["sh", "-c", "touch /newfile"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("Read-only file system"),
        "{}",
        stderr(&o)
    );
    // /dev/shm and /tmp-like mounts of their own stay writable.
    ok(&sb.run(&["--read-only"], &["sh", "-c", "touch /dev/shm/x"]));
    assert!(!fixture().join("newfile").exists());
}

#[test]
fn env_and_workdir() {
    let sb = Sandbox::new("env");
    let out = ok(&sb.run(
        &[
            "-e",
            "FOO=bar",
            "-e",
            "PATH=/bin",
            "-w",
            "/home/app",
            "--hostname",
            "h1",
        ],
        &["sh", "-c", "echo $FOO $PATH $HOSTNAME $HOME; pwd"],
    ));
    assert_eq!(out, "bar /bin h1 /root\n/home/app\n");
    let out = ok(&sb.run(&[], &["env"]));
    assert!(
        out.contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"),
        "{out}"
    );
}

#[test]
fn only_stdio_fds_reach_the_workload() {
    let sb = Sandbox::new("fds");
    // `; true` keeps sh from exec'ing ls, whose own directory fd would otherwise be listed.
    let out = ok(&sb.run(&[], &["sh", "-c", "ls /proc/$$/fd; true"]));
    assert_eq!(out, "0\n1\n2\n");
}

#[test]
fn sigterm_is_forwarded_through_init() {
    let sb = Sandbox::new("init");
    let child = sb
        .cmd(&["--init"])
        .arg(fixture())
        .args([
            "sh",
            "-c",
            "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let runtime = child.id();
    // Wait until the trap is installed (the loop's sleeps have started).
    wait_for(5.0, || descendants_named(runtime, "sleep").first().copied()).expect("no sleep");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(runtime as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(42), "{}", stdout(&out));
    assert_eq!(stdout(&out), "ready\ngot-term\n");
}

#[test]
fn init_reaps_zombies_and_keeps_the_status() {
    let sb = Sandbox::new("reap");
    let out = sb.run(
        &["--init"],
        &["sh", "-c", "for i in 1 2 3 4 5; do (sleep 0.01 &) ; done; sleep 0.3; ps -o stat | grep -c Z; exit 3"],
    );
    assert_eq!(code(&out), 3);
    assert_eq!(stdout(&out).trim(), "0");
    let out = ok(&sb.run(&["--init"], &["sh", "-c", "echo $PPID"]));
    assert_eq!(out.trim(), "1");
}

#[test]
fn bad_input_is_one_line_and_125() {
    let sb = Sandbox::new("bad");
    let missing = sb.scratch.join("nope");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![missing.display().to_string(), "true".into()],
            "does not exist",
        ),
        (
            vec!["/etc/passwd".into(), "true".into()],
            "is not a directory",
        ),
        (vec![fixture().display().to_string()], "no COMMAND given"),
        (
            vec![
                "--bogus-flag".into(),
                fixture().display().to_string(),
                "true".into(),
            ],
            "--bogus-flag",
        ),
        (
            vec![
                "-w".into(),
                "/no/such/dir".into(),
                fixture().display().to_string(),
                "true".into(),
            ],
            "--workdir \"/no/such/dir\" does not exist",
        ),
        (
            vec![
                "--user".into(),
                "ghost".into(),
                fixture().display().to_string(),
                "true".into(),
            ],
            "\"ghost\"",
        ),
    ];
    for (args, want) in cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = sb.cmd(&a).output().unwrap();
        assert_eq!(code(&o), 125, "{a:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{a:?}: {err}");
        assert!(err.contains(want), "{a:?}: {err}");
    }
    assert!(fixture_mounts().is_empty());
}

#[test]
fn duplicate_name_is_refused_while_running() {
    let sb = Sandbox::new("dup");
    let mut first = sb
        .cmd(&["--name", "twin"])
        .arg(fixture())
        .args(["sleep", "5"])
        .spawn()
        .unwrap();
    let runtime = first.id();
    let sleeper =
        wait_for(5.0, || descendants_named(runtime, "sleep").first().copied()).expect("no sleep");
    wait_for(5.0, || {
        sb.root.join("twin/state.json").exists().then_some(())
    })
    .unwrap();
    let o = sb.run(&["--name", "twin"], &["true"]);
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains("container \"twin\" already exists"),
        "{}",
        stderr(&o)
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(runtime as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    first.wait().unwrap();
    // The runtime died without cleaning up; its container died with it (PDEATHSIG), and the
    // next run with the name reclaims the record. The container is watched by its own pid: once
    // the runtime is gone it is no longer the runtime's descendant, dead or not.
    let gone = || {
        std::fs::read_to_string(format!("/proc/{sleeper}/stat"))
            .map(|s| s[s.rfind(')').unwrap() + 2..].starts_with('Z'))
            .unwrap_or(true)
    };
    assert!(wait_for(5.0, || gone().then_some(())).is_some());
    ok(&sb.run(&["--name", "twin"], &["true"]));
}

/// An ordinary user's state root it cannot write is refused in one line naming it, before
/// anything starts (tests/rootless.rs runs the containers it can).
#[test]
fn non_root_with_a_state_root_it_cannot_write() {
    let sb = Sandbox::new("notroot");
    let o = std::process::Command::new("setpriv")
        .args(["--reuid", "1000", "--regid", "1000", "--clear-groups"])
        .arg(minirun())
        .arg("--root")
        .arg(&sb.root)
        .arg(fixture())
        .arg("true")
        .output()
        .unwrap();
    assert_eq!(code(&o), 125);
    let err = stderr(&o);
    assert!(err.contains(&*sb.root.to_string_lossy()), "{err}");
    assert_eq!(stdout(&o), "");
    drop(sb);
}
