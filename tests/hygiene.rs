//! Issues 21 and 23, host-side hygiene: what the host does with files a container controls
//! (`ps`'s passwd lookup, `-d`'s output), the state root's reserved names, and the messages
//! of `rm`, `caps` and `logs`. Each test replays the attack or mistake against a real container.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `minirun -d` with `opts` on `rootfs`; returns the id.
fn detach_on(sb: &Sandbox, rootfs: &Path, opts: &[&str], argv: &[&str]) -> String {
    let o = sb
        .cmd(&["-d"])
        .args(opts)
        .arg(rootfs)
        .args(argv)
        .output()
        .unwrap();
    ok(&o).trim().to_string()
}

fn pid_of(sb: &Sandbox, id: &str) -> i32 {
    let st: serde_json::Value =
        serde_json::from_str(&ok(&sb.cmd(&["state", id]).output().unwrap())).unwrap();
    st["pid"].as_i64().unwrap() as i32
}

/// Kills (if running) and removes a detached container, waiting until it has stopped.
fn remove(sb: &Sandbox, id: &str) {
    let _ = sb.cmd(&["kill", id, "KILL"]).output();
    let stopped = wait_for(10.0, || {
        let o = sb.cmd(&["state", id]).output().unwrap();
        stdout(&o).contains("\"stopped\"").then_some(())
    });
    assert!(stopped.is_some(), "{id} did not stop");
    ok(&sb.cmd(&["rm", id]).output().unwrap());
}

/// Runs `cmd` for at most `secs`; a command still running then is killed and the test fails.
fn within(secs: u64, mut cmd: Command, what: &str) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A private copy of the fixture rootfs, which the test may plant things in.
fn rootfs_copy(sb: &Sandbox) -> PathBuf {
    let dst = sb.scratch.join("rootfs");
    let o = Command::new("cp")
        .arg("-a")
        .arg(fixture())
        .arg(&dst)
        .output()
        .unwrap();
    assert!(o.status.success(), "cp -a: {}", stderr(&o));
    dst
}

/// A loop device over a file, detached on drop.
struct Loop {
    dev: String,
}

impl Loop {
    fn over(file: &Path) -> Loop {
        let o = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(file)
            .output()
            .expect("losetup (util-linux) missing");
        assert!(o.status.success(), "losetup: {}", stderr(&o));
        Loop {
            dev: stdout(&o).trim().to_string(),
        }
    }

    fn rdev(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&self.dev).unwrap().rdev()
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.dev]).output();
    }
}

fn mknod(path: &Path, kind: libc::mode_t, rdev: u64) {
    let _ = std::fs::remove_file(path);
    nix::sys::stat::mknod(
        path,
        nix::sys::stat::SFlag::from_bits_truncate(kind),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
        rdev,
    )
    .unwrap();
}

/// The `ps` row of `pid`: (first column, user). Found by the pid column wherever it is, so
/// the same check reads the table with or without the container column.
fn ps_row(ps: &str, pid: i32) -> (String, String) {
    let pid = pid.to_string();
    ps.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let at = (1..f.len().saturating_sub(1)).find(|&i| f[i] == pid && f[i - 1] != pid)?;
            Some((f[0].to_string(), f[at + 1].to_string()))
        })
        .unwrap_or_else(|| panic!("no row for {pid}:\n{ps}"))
}

/// 21.2: `ps` names users from the container's /etc/passwd, which the container controls. A
/// FIFO there used to hang `ps` for ever, a device node was read by the host's root (a block
/// node: a host disk the container cannot open itself; /dev/zero: without end). Each is now
/// left unread: `ps` returns promptly and shows the bare uid.
#[test]
fn ps_reads_only_a_plain_passwd_of_bounded_size() {
    let sb = Sandbox::new("hyg-ps-passwd");
    let rootfs = rootfs_copy(&sb);
    let passwd = rootfs.join("etc/passwd");
    let id = detach_on(&sb, &rootfs, &["-u", "1000"], &["sleep", "60"]);
    let pid = pid_of(&sb, &id);
    let user_of = |what: &str| {
        let o = within(
            10,
            sb.cmd(&["ps"]),
            &format!("ps with {what} as /etc/passwd"),
        );
        ps_row(&ok(&o), pid).1
    };
    // The control: a plain file names uid 1000 (through the container's own view of it).
    assert_eq!(user_of("the fixture's passwd"), "app");
    let disk = sb.scratch.join("disk.img");
    let mut text = b"hostdisk:x:1000:1000::/:/bin/sh\n".to_vec();
    text.resize(1 << 20, b'\n');
    std::fs::write(&disk, &text).unwrap();
    let dev = Loop::over(&disk);
    type Plant<'a> = Box<dyn Fn() + 'a>;
    let cases: [(&str, Plant); 5] = [
        (
            "a FIFO",
            Box::new(|| {
                let _ = std::fs::remove_file(&passwd);
                nix::unistd::mkfifo(&passwd, nix::sys::stat::Mode::from_bits_truncate(0o644))
                    .unwrap();
            }),
        ),
        (
            "a block node of a host disk",
            Box::new(|| mknod(&passwd, libc::S_IFBLK, dev.rdev())),
        ),
        (
            "a /dev/zero node",
            Box::new(|| mknod(&passwd, libc::S_IFCHR, libc::makedev(1, 5))),
        ),
        (
            "a symlink to the container's /dev/zero",
            Box::new(|| {
                let _ = std::fs::remove_file(&passwd);
                std::os::unix::fs::symlink("/dev/zero", &passwd).unwrap();
            }),
        ),
        (
            "a 2 MiB file",
            Box::new(|| {
                let mut big = b"huge:x:1000:1000::/:/bin/sh\n".to_vec();
                big.resize(2 << 20, b'\n');
                let _ = std::fs::remove_file(&passwd);
                std::fs::write(&passwd, &big).unwrap();
            }),
        ),
    ];
    for (what, plant) in &cases {
        plant();
        assert_eq!(user_of(what), "1000", "{what}");
    }
    assert!(
        std::fs::symlink_metadata(&passwd)
            .unwrap()
            .file_type()
            .is_file(),
        "the last case is a plain file"
    );
    remove(&sb, &id);
}

/// 23: `ps` has a container column (text and JSON), so two containers' processes are told
/// apart; a stopped one (`-a`) shows its id there too.
#[test]
fn ps_names_each_process_s_container() {
    let sb = Sandbox::new("hyg-ps-column");
    let a = detach_on(&sb, &fixture(), &["--name", "first"], &["sleep", "60"]);
    let b = detach_on(
        &sb,
        &fixture(),
        &["--name", "a-rather-longer-second-name"],
        &["sleep", "60"],
    );
    let ps = ok(&sb.cmd(&["ps"]).output().unwrap());
    assert!(ps.starts_with("container  "), "{ps}");
    assert_eq!(ps_row(&ps, pid_of(&sb, &a)).0, "first");
    assert_eq!(
        ps_row(&ps, pid_of(&sb, &b)).0,
        "a-rather-longer-second-name"
    );
    // Columns line up whatever the ids' lengths: the header's ppid over every row's.
    let at = ps.lines().next().unwrap().find("ppid").unwrap();
    for l in ps.lines().skip(1) {
        assert_eq!(l.as_bytes()[at - 1], b' ', "{ps}");
        assert_ne!(l.as_bytes()[at], b' ', "{ps}");
    }
    let js = ok(&sb.cmd(&["ps", "--json"]).output().unwrap());
    let rows: Vec<serde_json::Value> = js
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (id, pid) in [(&a, pid_of(&sb, &a)), (&b, pid_of(&sb, &b))] {
        assert!(
            rows.iter()
                .any(|r| r["container"] == **id && r["pid"] == pid),
            "{js}"
        );
    }
    ok(&sb.cmd(&["kill", &a, "KILL"]).output().unwrap());
    let ps = wait_for(10.0, || {
        let ps = ok(&sb.cmd(&["ps", "-a"]).output().unwrap());
        ps.contains("(stopped").then_some(ps)
    })
    .expect("the killed container is listed as stopped");
    let stopped = ps.lines().find(|l| l.starts_with("first ")).unwrap();
    assert!(stopped.contains("(stopped"), "{ps}");
    remove(&sb, &a);
    remove(&sb, &b);
}

/// Waits until a detached container has exited (its monitor wrote the exit status).
fn wait_exited(sb: &Sandbox, id: &str) {
    let done = wait_for(20.0, || {
        std::fs::read_to_string(sb.root.join(id).join("exit-status")).ok()
    });
    assert!(done.is_some(), "{id} did not exit");
}

/// Bytes of the output files in a record (output.log and its rotations).
fn output_files(sb: &Sandbox, id: &str) -> Vec<(String, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut v: Vec<(String, u64)> = std::fs::read_dir(sb.root.join(id))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("output.log"))
        .map(|e| {
            let m = e.metadata().unwrap();
            // Allocated bytes, not the apparent size: what the host's disk really holds.
            (
                e.file_name().to_string_lossy().into_owned(),
                m.len().max(m.blocks() * 512),
            )
        })
        .collect();
    v.sort();
    v
}

/// 21.4: the container's stdout is a pipe, not the host file: fallocate through
/// /proc/self/fd/1 (which allocated 256 MiB of the state root's disk at once) fails, and the
/// record stays small. Ordinary output still reaches `minirun logs`.
#[test]
fn detached_output_cannot_allocate_host_disk() {
    let sb = Sandbox::new("hyg-fallocate");
    let id = detach_on(
        &sb,
        &fixture(),
        &[],
        &[
            "sh",
            "-c",
            "echo hello; fallocate -l 256M /proc/self/fd/1; echo fallocate=$?; \
             truncate -s 256M /proc/self/fd/1; echo truncate=$?",
        ],
    );
    wait_exited(&sb, &id);
    let logs = ok(&sb.cmd(&["logs", &id]).output().unwrap());
    assert!(logs.starts_with("hello\n"), "{logs}");
    assert!(!logs.contains("fallocate=0"), "{logs}");
    assert!(!logs.contains("truncate=0"), "{logs}");
    let files = output_files(&sb, &id);
    let total: u64 = files.iter().map(|f| f.1).sum();
    assert!(total < 1 << 20, "{files:?}");
    ok(&sb.cmd(&["rm", &id]).output().unwrap());
}

/// 21.4: output beyond max-size × max-file is dropped oldest first: the files never hold more,
/// and `minirun logs` prints the newest output, in order.
#[test]
fn detached_output_is_capped_and_rotated() {
    let sb = Sandbox::new("hyg-rotate");
    let id = detach_on(
        &sb,
        &fixture(),
        &["--log-opt", "max-size=4k", "--log-opt", "max-file=3"],
        &["sh", "-c", "seq 1 20000; echo done"],
    );
    wait_exited(&sb, &id);
    let files = output_files(&sb, &id);
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, ["output.log", "output.log.1", "output.log.2"]);
    for (name, _) in &files {
        let len = std::fs::metadata(sb.root.join(&id).join(name))
            .unwrap()
            .len();
        assert!(len <= 4096, "{name}: {len}");
    }
    let logs = ok(&sb.cmd(&["logs", &id]).output().unwrap());
    assert!(
        logs.len() <= 3 * 4096 && logs.len() > 2 * 4096,
        "{}",
        logs.len()
    );
    assert!(logs.ends_with("19999\n20000\ndone\n"), "{logs}");
    // The tail, in order: every whole line follows the one before it.
    let nums: Vec<u32> = logs
        .lines()
        .skip(1)
        .filter_map(|l| l.parse().ok())
        .collect();
    assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "out of order");
    assert!(nums[0] > 15000, "{}", nums[0]);
    ok(&sb.cmd(&["rm", &id]).output().unwrap());
    // The default cap is said where `logs` is explained; bad options are refused by name.
    let help = ok(&sb.cmd(&["logs", "--help"]).output().unwrap());
    assert!(
        help.contains("max-size") && help.contains("20 MiB"),
        "{help}"
    );
    for (opts, want) in [
        (
            &["-d", "--log-opt", "labels=x"][..],
            "unknown option \"labels\"",
        ),
        (&["-d", "--log-opt", "max-size=0"], "max-size=0"),
        (&["--log-opt", "max-size=1m"], "-d containers only"),
    ] {
        let o = sb.run(opts, &["true"]);
        refused(&o, 125, want);
    }
    assert!(records_in(&sb.root).is_empty());
}

/// 21.7: `minirun logs ID | head` ends quietly: no "Broken pipe", not exit 125.
#[test]
fn logs_into_a_closed_pipe_ends_quietly() {
    let sb = Sandbox::new("hyg-logs-epipe");
    let id = detach_on(&sb, &fixture(), &[], &["sh", "-c", "seq 1 100000"]);
    wait_exited(&sb, &id);
    let mut child = sb
        .cmd(&["logs", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 2];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    assert_eq!(&first, b"1\n");
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(stderr(&o), "");
    assert_ne!(o.status.code(), Some(125), "{:?}", o.status);
    ok(&sb.cmd(&["rm", &id]).output().unwrap());
}

/// 21.7: ids starting with "." are refused: `.remove-*` and `.reserve-*` are the sweep's own
/// work directories, and a container named so was deleted by the next launch.
#[test]
fn ids_cannot_take_the_sweep_s_names() {
    let sb = Sandbox::new("hyg-ids");
    for name in [".remove-1-2", ".reserve-1-2", ".hidden"] {
        let o = sb.run(&["--name", name], &["true"]);
        let err = refused(&o, 125, &format!("\"{name}\""));
        assert!(err.contains("may not start with"), "{err}");
        let o = sb.run(&["-d", "--name", name], &["sleep", "30"]);
        refused(&o, 125, &format!("\"{name}\""));
    }
    assert!(records_in(&sb.root).is_empty());
}

/// 21.7: with --init, /proc/1 is minirun's reaper: its command line and environment must not
/// show the host's (the rootfs path, minirun's flags, the caller's variables).
#[test]
fn the_init_reaper_shows_no_host_command_line() {
    let sb = Sandbox::new("hyg-init-cmdline");
    let script =
        "tr '\\0' ' ' < /proc/1/cmdline; echo; cat /proc/1/environ 2>/dev/null | tr '\\0' '\\n'";
    let o = sb
        .cmd(&["--init", "--name", "reaped"])
        .arg(fixture())
        .args(["sh", "-c", script])
        .env("HYGIENE_HOST_SECRET", "s3cret-host-value")
        .output()
        .unwrap();
    let out = ok(&o);
    let cmdline = out.lines().next().unwrap();
    assert_eq!(
        cmdline.trim_end(),
        format!("minirun-init -- sh -c {script}"),
        "{out}"
    );
    let host = fixture().to_string_lossy().into_owned();
    assert!(!out.contains(&host), "{out}");
    assert!(!out.contains("--init") && !out.contains("reaped"), "{out}");
    assert!(!out.contains("s3cret-host-value"), "{out}");
}

/// 23: `rm` of a running container says how to proceed; `caps` of an unknown id says where
/// else to look.
#[test]
fn rm_and_caps_say_what_to_do() {
    let sb = Sandbox::new("hyg-messages");
    let id = detach_on(&sb, &fixture(), &[], &["sleep", "60"]);
    let o = sb.cmd(&["rm", &id]).output().unwrap();
    assert_ne!(code(&o), 0);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("container {id} is running"))
            && err.contains("stop it first or use rm -f"),
        "{err}"
    );
    ok(&sb.cmd(&["rm", "-f", &id]).output().unwrap());
    let o = sb.cmd(&["caps", "nosuch"]).output().unwrap();
    let err = refused(&o, 125, "\"nosuch\"");
    assert!(
        err.contains("--root")
            && err.contains(&sb.root.display().to_string())
            && err.contains("pid"),
        "{err}"
    );
}

/// The monitor's own verdict on an OOM kill goes where the container's output goes: after
/// it, in `minirun logs` (it used to be written to the monitor's stderr, /dev/null by then).
#[test]
fn a_detached_oom_kill_is_told_in_the_logs() {
    let sb = Sandbox::new("hyg-oom-logs");
    let id = detach_on(
        &sb,
        &fixture(),
        &["--memory", "16m"],
        &["sh", "-c", "echo before; tail /dev/zero"],
    );
    wait_exited(&sb, &id);
    let status = std::fs::read_to_string(sb.root.join(&id).join("exit-status")).unwrap();
    assert_eq!(status.trim(), "137");
    let logs = ok(&sb.cmd(&["logs", &id]).output().unwrap());
    assert!(logs.starts_with("before\n"), "{logs}");
    assert!(
        logs.contains("minirun: ") && logs.contains("OOM killer") && logs.contains("16 MiB"),
        "{logs}"
    );
    ok(&sb.cmd(&["rm", &id]).output().unwrap());
}
