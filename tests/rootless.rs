//! minirun as an ordinary user (issue 24, items 1-3): the suite makes an unprivileged user
//! (removed after each test, also when it fails), runs minirun as it with setpriv, and checks
//! what the container gets and what the kernel refuses it. And `--userns=auto` for root.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// useradd, usermod and userdel take a lock on /etc/passwd and fail when another holds it:
/// this file's tests take turns, and retry while another program holds it.
static ACCOUNTS: Mutex<()> = Mutex::new(());
static N: AtomicU32 = AtomicU32::new(0);

fn account_tool(args: &[&str]) {
    if let Err(e) = try_account_tool(args) {
        panic!("{e}");
    }
}

fn try_account_tool(args: &[&str]) -> Result<(), String> {
    let _turn = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
    let mut last = String::new();
    for _ in 0..50 {
        let o = Command::new(args[0])
            .args(&args[1..])
            .output()
            .map_err(|e| format!("{} (package passwd) missing: {e}", args[0]))?;
        if o.status.success() {
            return Ok(());
        }
        last = stderr(&o);
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(format!("{args:?} failed: {last}"))
}

/// The processes whose real uid is `uid`.
fn processes_of(uid: u32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|l| l.split_whitespace().next())
                    == Some(&uid.to_string())
            })
        })
        .collect()
}

/// An unprivileged user of its own, with a sandbox whose state and runtime dirs it owns, a
/// copy of minirun it can run and a copy of the fixture it can read.
struct User {
    name: String,
    uid: u32,
    gid: u32,
    /// `$XDG_RUNTIME_DIR` for the user: the state root is `<it>/minirun`.
    runtime_dir: PathBuf,
    bin: PathBuf,
    rootfs: PathBuf,
    sb: Sandbox,
}

impl User {
    /// `ranges`: give it 65536 subordinate uids and gids (podman's full mapping).
    fn new(tag: &str, ranges: bool) -> User {
        let sb = Sandbox::new(&format!("rl-{tag}"));
        let n = N.fetch_add(1, Ordering::SeqCst);
        let name = format!("mr-rl-{}-{n}", std::process::id());
        // No subordinate ranges unless asked (useradd gives them by login.defs' default).
        account_tool(&[
            "useradd",
            "-K",
            "SUB_UID_COUNT=0",
            "-K",
            "SUB_GID_COUNT=0",
            "--no-create-home",
            "--user-group",
            "--shell",
            "/usr/sbin/nologin",
            &name,
        ]);
        let ids = nix::unistd::User::from_name(&name).unwrap().unwrap();
        let mut user = User {
            name,
            uid: ids.uid.as_raw(),
            gid: ids.gid.as_raw(),
            runtime_dir: sb.scratch.join("xdg"),
            bin: sb.scratch.join("minirun"),
            rootfs: sb.scratch.join("rootfs"),
            sb,
        };
        if ranges {
            // A range no other test process uses: 65536 ids per user from 300000.
            let start = 300_000 + (std::process::id() % 500 * 8 + n % 8) * 65_536;
            let range = format!("{start}-{}", start + 65_535);
            account_tool(&[
                "usermod",
                "--add-subuids",
                &range,
                "--add-subgids",
                &range,
                &user.name,
            ]);
        }
        user.prepare_files();
        user
    }

    fn prepare_files(&mut self) {
        std::fs::create_dir(&self.runtime_dir).unwrap();
        std::fs::set_permissions(&self.runtime_dir, std::fs::Permissions::from_mode(0o700))
            .unwrap();
        nix::unistd::chown(
            &self.runtime_dir,
            Some(self.uid.into()),
            Some(self.gid.into()),
        )
        .unwrap();
        std::fs::copy(minirun(), &self.bin).unwrap();
        std::fs::set_permissions(&self.bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let o = Command::new("cp")
            .arg("-a")
            .arg(fixture())
            .arg(&self.rootfs)
            .output()
            .unwrap();
        assert!(o.status.success(), "copying the fixture: {}", stderr(&o));
        // The scratch dir lies in the root-only sandbox: let the user through to its files.
        for d in [self.sb.base(), self.sb.scratch.clone()] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    /// `minirun ARGS` as this user, with a clean environment.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--init-groups")
            .arg("--")
            .arg(&self.bin)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .current_dir("/")
            .stdin(Stdio::null());
        c
    }

    /// The quick form as this user: `minirun OPTS ROOTFS ARGV`.
    fn run(&self, opts: &[&str], argv: &[&str]) -> Output {
        let rootfs = self.rootfs.to_str().unwrap();
        let args: Vec<&str> = opts
            .iter()
            .copied()
            .chain([rootfs])
            .chain(argv.iter().copied())
            .collect();
        self.cmd(&args)
            .output()
            .expect("setpriv (util-linux) missing")
    }

    /// The first of its subordinate uids (`User::new` with ranges).
    fn subuid_start(&self) -> u32 {
        let text = std::fs::read_to_string("/etc/subuid").unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{}:", self.name)))
            .and_then(|r| r.split(':').next())
            .and_then(|s| s.parse().ok())
            .unwrap()
    }

    fn state_root(&self) -> PathBuf {
        self.runtime_dir.join("minirun")
    }

    /// An OCI bundle in the sandbox running `args` as container uid and gid `id`, in a user
    /// namespace with these mappings (JSON arrays of OCI mappings): what `spec --rootless`
    /// writes, pointed at the user's rootfs. Returns its directory and the config.
    fn bundle(
        &self,
        args: &[&str],
        id: u32,
        uid_maps: serde_json::Value,
        gid_maps: serde_json::Value,
    ) -> (PathBuf, serde_json::Value) {
        let bundle = self.sb.scratch.join("bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        let config = serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": self.rootfs},
            "process": {
                "cwd": "/", "args": args,
                "env": ["PATH=/bin:/usr/bin"], "user": {"uid": id, "gid": id},
            },
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
                {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["newinstance", "ptmxmode=0666", "mode=0620"]},
                {"destination": "/sys", "type": "bind", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]},
            ],
            "linux": {
                "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "user"}],
                "uidMappings": uid_maps,
                "gidMappings": gid_maps,
            },
        });
        std::fs::write(bundle.join("config.json"), config.to_string()).unwrap();
        std::fs::set_permissions(&bundle, std::fs::Permissions::from_mode(0o755)).unwrap();
        (bundle, config)
    }
}

impl Drop for User {
    /// The account and its subordinate ranges go, also after a failed test; the sandbox's
    /// own checks (no process, mount or record left) run after.
    fn drop(&mut self) {
        let leftovers = records_in(&self.state_root());
        // Exiting processes get a moment; any still there (a failed test's container) are
        // killed by pid, and fail the test: a process of the user keeps userdel from working.
        wait_for(5.0, || processes_of(self.uid).is_empty().then_some(()));
        let stray = processes_of(self.uid);
        for pid in &stray {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        wait_for(5.0, || processes_of(self.uid).is_empty().then_some(()));
        let deleted = try_account_tool(&["userdel", &self.name]);
        let _turn = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        for file in ["/etc/subuid", "/etc/subgid"] {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            let prefix = format!("{}:", self.name);
            if text.lines().any(|l| l.starts_with(&prefix)) {
                let kept: String = text
                    .lines()
                    .filter(|l| !l.starts_with(&prefix))
                    .map(|l| format!("{l}\n"))
                    .collect();
                let _ = std::fs::write(file, kept);
            }
        }
        if !std::thread::panicking() {
            assert!(stray.is_empty(), "processes left running: {stray:?}");
            assert_eq!(deleted, Ok(()));
            assert!(leftovers.is_empty(), "state left behind: {leftovers:?}");
        }
    }
}

/// The warning an ordinary user's launch gives, once, on this host (no cgroup delegated).
const NO_CGROUP: &str = "minirun: warning: running without a cgroup";

fn warnings_stripped(o: &Output) -> String {
    stderr(o)
        .lines()
        .filter(|l| !l.starts_with(NO_CGROUP))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The quick form as an ordinary user: its uid is root inside, alone in the single mapping
/// (setgroups denied, as the kernel demands for it), and one warning says there is no cgroup.
#[test]
fn quick_form_single_mapping() {
    let u = User::new("single", false);
    let o = u.run(
        &[],
        &[
            "sh",
            "-c",
            "id; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups",
        ],
    );
    let out = ok(&o);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("uid=0(root) gid=0(root) groups=0(root)"),
        "{out}"
    );
    let words = |l: Option<&str>| {
        l.unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(words(lines.next()), ["0", &u.uid.to_string(), "1"], "{out}");
    assert_eq!(words(lines.next()), ["0", &u.gid.to_string(), "1"], "{out}");
    assert_eq!(lines.next(), Some("deny"), "{out}");
    let err = stderr(&o);
    assert_eq!(err.matches(NO_CGROUP).count(), 1, "{err}");
    assert_eq!(warnings_stripped(&o), "", "{err}");
    // The state root defaulted to $XDG_RUNTIME_DIR/minirun, and the record is gone.
    assert!(u.state_root().is_dir());
    assert!(records_in(&u.state_root()).is_empty());
}

/// With /etc/subuid and /etc/subgid ranges and newuidmap/newgidmap: podman's full mapping,
/// setgroups allowed, and devpts keeps gid=5 (mapped now).
#[test]
fn quick_form_full_mapping_through_newuidmap() {
    for helper in ["/usr/bin/newuidmap", "/usr/bin/newgidmap"] {
        assert!(
            Path::new(helper).exists(),
            "{helper} missing: install uidmap"
        );
    }
    let u = User::new("full", true);
    let start = u.subuid_start().to_string();
    let o = u.run(
        &[],
        &[
            "sh",
            "-c",
            "cat /proc/self/uid_map /proc/self/setgroups; grep ' /dev/pts ' /proc/self/mountinfo",
        ],
    );
    let out = ok(&o);
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0", &u.uid.to_string(), "1"], "{out}");
    assert_eq!(lines[1], ["1", start.as_str(), "65536"], "{out}");
    assert_eq!(lines[2], ["allow"], "{out}");
    // mountinfo shows devpts's gid as the host sees it: container gid 5 is START+4 (the
    // test gave the same range for gids).
    let gid5 = format!("gid={}", start.parse::<u32>().unwrap() + 4);
    assert!(
        lines[3].iter().any(|w| w.split(',').any(|o| o == gid5)),
        "{out}"
    );
    // Container uid 1000 is a subordinate uid on the host: a file chowned to it says which.
    let vol = u.runtime_dir.join("vol");
    std::fs::create_dir(&vol).unwrap();
    nix::unistd::chown(&vol, Some(u.uid.into()), Some(u.gid.into())).unwrap();
    // Onto /home, which the fixture has: the rootfs is host root's, where container root may
    // not make a directory (a missing mount point would be EACCES).
    let v = format!("{}:/home", vol.display());
    let o = u.run(
        &["-v", &v],
        &["sh", "-c", "touch /home/f && chown 1000:1000 /home/f"],
    );
    ok(&o);
    let st = nix::sys::stat::stat(&vol.join("f")).unwrap();
    let first: u32 = start.parse().unwrap();
    assert_eq!(st.st_uid, first + 999);
}

/// -d, exec into it, ps, logs and caps see it, then kill and rm, all as the ordinary user.
#[test]
fn detached_exec_ps_and_rm() {
    let u = User::new("detach", false);
    let o = common::bundles::output_via_files(
        &mut u.cmd(&[
            "-d",
            "--name",
            "rl1",
            u.rootfs.to_str().unwrap(),
            "sleep",
            "60",
        ]),
        &u.sb.scratch,
    );
    assert_eq!(ok(&o).trim(), "rl1");
    let o = u
        .cmd(&["exec", "rl1", "sh", "-c", "id -u; cat /proc/self/uid_map"])
        .output()
        .unwrap();
    let out = ok(&o);
    assert!(out.starts_with("0\n"), "{out}");
    assert!(out.contains(&format!(" {} ", u.uid)), "{out}");
    let ps = ok(&u.cmd(&["ps"]).output().unwrap());
    assert!(ps.contains("rl1") && ps.contains("sleep"), "{ps}");
    let logs = ok(&u.cmd(&["logs", "rl1"]).output().unwrap());
    assert_eq!(logs, "");
    let caps = ok(&u.cmd(&["caps", "rl1"]).output().unwrap());
    assert!(caps.to_lowercase().contains("bounding"), "{caps}");
    let _ = u.cmd(&["kill", "rl1", "KILL"]).output().unwrap();
    let stopped = wait_for(10.0, || {
        let o = u.cmd(&["state", "rl1"]).output().unwrap();
        stdout(&o).contains("\"stopped\"").then_some(())
    });
    assert!(stopped.is_some(), "rl1 did not stop");
    ok(&u.cmd(&["rm", "rl1"]).output().unwrap());
}

/// An OCI bundle with a user namespace mapping the caller (as `spec --rootless` writes it):
/// `run`, and create/start/delete.
#[test]
fn oci_run_and_create_start_delete() {
    let u = User::new("oci", false);
    let single = |id| serde_json::json!([{"containerID": 0, "hostID": id, "size": 1}]);
    let (bundle, config) = u.bundle(
        &["sh", "-c", "id -u; cat /proc/self/uid_map"],
        0,
        single(u.uid),
        single(u.gid),
    );
    let b = bundle.to_str().unwrap();
    let o = u.cmd(&["run", "-b", b, "oci1"]).output().unwrap();
    let out = ok(&o);
    assert!(
        out.starts_with("0\n") && out.contains(&format!(" {} ", u.uid)),
        "{out}"
    );
    // create's stdout is the container's: files, not a pipe the waiting init keeps open.
    ok(&common::bundles::output_via_files(
        &mut u.cmd(&["create", "-b", b, "oci2"]),
        &u.sb.scratch,
    ));
    let st = ok(&u.cmd(&["state", "oci2"]).output().unwrap());
    assert!(st.contains("\"created\""), "{st}");
    ok(&u.cmd(&["start", "oci2"]).output().unwrap());
    let stopped = wait_for(10.0, || {
        let o = u.cmd(&["state", "oci2"]).output().unwrap();
        stdout(&o).contains("\"stopped\"").then_some(())
    });
    assert!(stopped.is_some(), "oci2 did not stop");
    ok(&u.cmd(&["delete", "oci2"]).output().unwrap());
    // A config without a user namespace cannot run unprivileged: one line says why.
    let mut plain = config.clone();
    plain["linux"] = serde_json::json!({"namespaces": [{"type": "mount"}]});
    std::fs::write(bundle.join("config.json"), plain.to_string()).unwrap();
    let o = u.cmd(&["run", "-b", b, "oci3"]).output().unwrap();
    // 1, as runc exits for its own failures.
    refused(&o, 1, "config.json has no user namespace");
}

/// Under the full mapping, a bundle whose workload is container uid 1000 (a subordinate uid
/// on the host): `create` hands exec.fifo to the container's root (the caller itself), not to
/// that uid, which an ordinary caller may not chown to (the old code failed there with
/// EPERM); the workload opens it through the mode's bit for others.
#[test]
fn create_start_with_a_subordinate_workload_uid() {
    let u = User::new("fifo", true);
    let start = u.subuid_start();
    let full = |own: u32| {
        serde_json::json!([
            {"containerID": 0, "hostID": own, "size": 1},
            {"containerID": 1, "hostID": start, "size": 65536},
        ])
    };
    let (bundle, _) = u.bundle(&["sleep", "2"], 1000, full(u.uid), full(u.gid));
    let b = bundle.to_str().unwrap();
    ok(&common::bundles::output_via_files(
        &mut u.cmd(&["create", "-b", b, "sub1"]),
        &u.sb.scratch,
    ));
    let state = |key: &str| -> serde_json::Value {
        let o = u.cmd(&["state", "sub1"]).output().unwrap();
        serde_json::from_str::<serde_json::Value>(&ok(&o)).unwrap()[key].clone()
    };
    assert_eq!(state("status"), "created");
    let pid = state("pid").as_i64().unwrap();
    ok(&u.cmd(&["start", "sub1"]).output().unwrap());
    // The workload runs as host uid START+999 (container uid 1 is START).
    let uid_line = wait_for(5.0, || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status.contains("Name:\tsleep").then_some(())?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .map(str::to_string)
    });
    let want = (start + 999).to_string();
    assert!(
        uid_line
            .as_deref()
            .is_some_and(|l| l.split_whitespace().all(|w| w == want)),
        "workload uids {uid_line:?}, want {want}"
    );
    let stopped = wait_for(10.0, || (state("status") == "stopped").then_some(()));
    assert!(stopped.is_some(), "sub1 did not stop");
    ok(&u.cmd(&["delete", "sub1"]).output().unwrap());
    assert!(records_in(&u.state_root()).is_empty());
}

/// No cgroup for an ordinary user on this host: a flag that needs one is refused by name;
/// so is `--userns=host`.
#[test]
fn limit_flags_are_refused_by_name() {
    let u = User::new("limits", false);
    let o = u.run(&["--memory", "64m"], &["true"]);
    refused(&o, 125, "--memory needs a cgroup");
    let o = u.run(&["--pids-limit", "10"], &["true"]);
    refused(&o, 125, "--pids-limit needs a cgroup");
    // And the host's user namespace is root's to ask for.
    let o = u.run(&["--userns", "host"], &["true"]);
    refused(&o, 125, "--userns=host needs root");
}

/// mknod is the kernel's to refuse in a user namespace (EPERM); the devices the container
/// has are the host's nodes, bound, and they work.
#[test]
fn device_nodes_are_bound_and_mknod_is_refused() {
    let u = User::new("dev", false);
    let o = u.run(
        &["--cap-add", "mknod"],
        &[
            "sh",
            "-c",
            "echo x > /dev/null && head -c 4 /dev/zero | wc -c; grep -c ' /dev/null ' /proc/self/mountinfo; mknod /tmp/n c 1 3",
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(stdout(&o), "4\n1\n");
    assert!(
        stderr(&o).contains("mknod: /tmp/n: Operation not permitted"),
        "{}",
        stderr(&o)
    );
}

/// Without a network namespace of its own (--network host) a fresh sysfs is the kernel's to
/// refuse (EPERM): /sys is the host's, bound read-only (EROFS on a write).
#[test]
fn sysfs_is_bound_read_only_without_a_network_namespace() {
    let u = User::new("sys", false);
    let o = u.run(
        &["--network", "host", "--cap-add", "sys_admin", "--security-opt", "seccomp=unconfined"],
        &[
            "sh",
            "-c",
            "ls /sys/kernel >/dev/null && echo listed; echo 1 > /sys/kernel/uevent_helper; mkdir /tmp/s; mount -t sysfs sysfs /tmp/s",
        ],
    );
    assert_eq!(stdout(&o), "listed\n", "{}", stderr(&o));
    let err = warnings_stripped(&o);
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(
        err.contains("mount: permission denied") || err.contains("Operation not permitted"),
        "{err}"
    );
    // With one of its own, a fresh sysfs.
    let o = u.run(&[], &["sh", "-c", "grep ' /sys ' /proc/self/mountinfo"]);
    assert!(ok(&o).contains(" - sysfs "), "{}", stdout(&o));
}

/// The single mapping leaves group 5 (tty) unmapped: devpts is mounted without gid=5, which
/// the kernel would refuse (EINVAL) there.
#[test]
fn devpts_without_gid_5_when_unmapped() {
    let u = User::new("pts", false);
    let o = u.run(
        &["--cap-add", "sys_admin", "--security-opt", "seccomp=unconfined"],
        &[
            "sh",
            "-c",
            "grep ' /dev/pts ' /proc/self/mountinfo; mkdir /tmp/p; mount -t devpts -o newinstance,gid=5 devpts /tmp/p",
        ],
    );
    let out = stdout(&o);
    let opts = out.split_whitespace().flat_map(|w| w.split(','));
    assert!(
        out.contains("devpts") && !opts.clone().any(|o| o == "gid=5"),
        "{out}"
    );
    assert_ne!(code(&o), 0);
    let err = warnings_stripped(&o);
    assert!(err.contains("Invalid argument"), "{err}");
}

/// setgroups is denied with the single mapping (the kernel's rule for an unprivileged
/// writer of gid_map): a --group-add gets the kernel's EPERM, in one line.
#[test]
fn setgroups_denied_with_the_single_mapping() {
    let u = User::new("groups", false);
    let o = u.run(&["--group-add", "0"], &["id"]);
    let err = warnings_stripped(&o);
    assert_eq!(code(&o), 125, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("setgroups") && err.contains("Operation not permitted"),
        "{err}"
    );
    assert_eq!(stdout(&o), "");
}

/// A host /proc with a path covered (as a container runtime masks them) makes the kernel
/// refuse a fresh procfs in a user namespace (EPERM): said in one line, nothing left behind.
#[test]
fn fresh_procfs_refused_under_a_masked_proc() {
    let u = User::new("proc", false);
    let inner = u.cmd(&[u.rootfs.to_str().unwrap(), "true"]);
    let argv: Vec<String> = std::iter::once(inner.get_program())
        .chain(inner.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // One of the files Docker masks that this kernel has.
    let masked = ["/proc/kcore", "/proc/keys", "/proc/timer_list"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("none of /proc/kcore, /proc/keys, /proc/timer_list exists to mask");
    let o = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(r#"mount --bind /dev/null {masked} && exec "$@""#))
        .arg("sh")
        .args(&argv)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("XDG_RUNTIME_DIR", &u.runtime_dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = warnings_stripped(&o);
    assert_eq!(code(&o), 125, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("mounting proc on /proc"), "{err}");
    assert!(err.contains("Operation not permitted"), "{err}");
    assert!(records_in(&u.state_root()).is_empty());
}

/// Root asks for a user namespace with --userns=auto: container root is host uid 100000
/// (no "minirun" line in /etc/subuid here), host root's files show as nobody, and the
/// fixture still runs.
#[test]
fn root_with_userns_auto() {
    let sb = Sandbox::new("rl-auto");
    let subuid = std::fs::read_to_string("/etc/subuid").unwrap_or_default();
    assert!(
        !subuid.lines().any(|l| l.starts_with("minirun:")),
        "this test expects no \"minirun\" line in /etc/subuid"
    );
    let o = sb.run(
        &["--userns", "auto"],
        &[
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map; stat -c %u /bin/busybox",
        ],
    );
    let out = ok(&o);
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0"], "{out}");
    assert_eq!(lines[1], ["0", "100000", "65536"], "{out}");
    assert_eq!(lines[2], ["65534"], "{out}");
    assert_eq!(stderr(&o), "");
}

/// A cgroup v2 subtree delegated to a user as systemd's `Delegate=` makes one, on a simulated
/// pure v2 host: in a private mount namespace (a holder process keeps it for the commands
/// entered into it) cgroup2 is mounted on /sys/fs/cgroup; `<test>/user` and its leaf
/// `user/session` belong to the user, and `<test>` gives `user` every controller cgroup2
/// offers here. Everything goes on drop: the holder, the cgroups, and the controllers it had
/// to enable at the root.
struct Delegated {
    /// `<test>` as the host sees it (below /sys/fs/cgroup/unified) and as the kernel names it.
    host_top: PathBuf,
    rel: String,
    holder: std::process::Child,
    /// The controllers cgroup2 offers here, and those the root had to enable for them.
    offered: Vec<String>,
    enabled_at_root: Vec<String>,
}

const UNIFIED: &str = "/sys/fs/cgroup/unified";

impl Delegated {
    fn new(u: &User) -> Delegated {
        use std::io::BufRead;
        let unified = Path::new(UNIFIED);
        let words = |p: &Path| -> Vec<String> {
            std::fs::read_to_string(p)
                .unwrap_or_else(|e| {
                    panic!(
                        "reading {}: {e} (this test needs cgroup2 at {UNIFIED})",
                        p.display()
                    )
                })
                .split_whitespace()
                .map(String::from)
                .collect()
        };
        let offered = words(&unified.join("cgroup.controllers"));
        let at_root = words(&unified.join("cgroup.subtree_control"));
        let rel = format!(
            "minirun-test-deleg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let mut d = Delegated {
            host_top: unified.join(&rel),
            rel,
            holder: Command::new("true").spawn().unwrap(),
            offered: offered.clone(),
            enabled_at_root: vec![],
        };
        let _ = d.holder.wait();
        let write = |p: &Path, v: &str| {
            std::fs::write(p, v).unwrap_or_else(|e| panic!("writing {v} to {}: {e}", p.display()))
        };
        for c in offered.iter().filter(|c| !at_root.contains(c)) {
            write(&unified.join("cgroup.subtree_control"), &format!("+{c}"));
            d.enabled_at_root.push(c.clone());
        }
        std::fs::create_dir(&d.host_top).unwrap();
        for c in &offered {
            write(&d.host_top.join("cgroup.subtree_control"), &format!("+{c}"));
        }
        // systemd's delegation: the directory and the three files a delegatee writes.
        for dir in [d.host_top.join("user"), d.host_top.join("user/session")] {
            std::fs::create_dir(&dir).unwrap();
            for p in [
                "",
                "cgroup.procs",
                "cgroup.subtree_control",
                "cgroup.threads",
            ] {
                nix::unistd::chown(&dir.join(p), Some(u.uid.into()), Some(u.gid.into())).unwrap();
            }
        }
        d.holder = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg("umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && echo ready && exec sleep 600")
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare (util-linux) missing");
        let mut line = String::new();
        std::io::BufReader::new(d.holder.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n", "shaping the pure v2 host failed");
        d
    }

    /// `minirun ARGS` as `u` in the holder's mount namespace, started in the user's leaf
    /// cgroup as the user's own shell would be (root moves the process it started there).
    fn cmd(&self, u: &User, args: &[&str]) -> Command {
        self.cmd_in(u, args, true)
    }

    /// The same, in the session (`in_session`) or left in the test's own cgroup, outside the
    /// delegation (as a user's login shell is on a systemd host).
    fn cmd_in(&self, u: &User, args: &[&str], in_session: bool) -> Command {
        let inner = u.cmd(args);
        let mut c = Command::new("nsenter");
        c.arg("-t")
            .arg(self.holder.id().to_string())
            .args(["-m", "--", "sh", "-c"])
            .arg(if in_session {
                r#"echo $$ > "/sys/fs/cgroup/$1/user/session/cgroup.procs" && shift && exec "$@""#
            } else {
                r#"shift && exec "$@""#
            })
            .arg("sh")
            .arg(&self.rel)
            .arg(inner.get_program())
            .args(inner.get_args())
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("XDG_RUNTIME_DIR", &u.runtime_dir)
            .current_dir("/")
            .stdin(Stdio::null());
        c
    }

    /// Where the containers' cgroups go: `<test>/user`, as the host sees it.
    fn containers(&self) -> PathBuf {
        self.host_top.join("user")
    }

    /// The containers' cgroups there (`minirun.<id>@<hash of the root>`).
    fn leaves(&self) -> Vec<String> {
        std::fs::read_dir(self.containers())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("minirun."))
            .collect()
    }

    /// The cgroup of the container whose name starts with `id` (`minirun.id@<hash of the root>`).
    fn cgroup_of(&self, id: &str) -> PathBuf {
        let prefix = format!("minirun.{id}@");
        std::fs::read_dir(self.containers())
            .unwrap()
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .unwrap_or_else(|| panic!("no cgroup for {id} in {}", self.containers().display()))
            .path()
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
        // Deepest first; a process left in one (a failed test's) is killed by pid first.
        fn remove(dir: &Path) {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        remove(&e.path());
                    }
                }
            }
            let _ = std::fs::write(dir.join("cgroup.kill"), "1");
            wait_for(5.0, || std::fs::remove_dir(dir).ok());
        }
        remove(&self.host_top);
        for c in &self.enabled_at_root {
            let _ = std::fs::write(
                Path::new(UNIFIED).join("cgroup.subtree_control"),
                format!("-{c}"),
            );
        }
        if !std::thread::panicking() {
            assert!(!self.host_top.exists(), "{} left", self.host_top.display());
        }
    }
}

/// In a cgroup delegated to it, an ordinary user's container gets a cgroup there, beside the
/// user's own leaf, and no warning: the container sees itself at the root of its cgroup
/// namespace; ps, pause/resume (the freezer observed), exec, kill --all and delete work; a
/// limit whose controller is not delegated is refused naming it, one that is is written.
#[test]
fn a_delegated_cgroup_is_used() {
    let u = User::new("deleg", false);
    let d = Delegated::new(&u);
    let run =
        |args: &[&str]| common::bundles::output_via_files(&mut d.cmd(&u, args), &u.sb.scratch);
    let rootfs = u.rootfs.to_str().unwrap();

    // The v2 line: the kernel still lists its v1 hierarchies (the simulation only unmounts
    // them), where the container stays in the caller's cgroup, its namespace's root too.
    let v2_line = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("0::"))
            .map(str::to_string)
    };
    let o = run(&[rootfs, "cat", "/proc/self/cgroup"]);
    assert_eq!(v2_line(&ok(&o)).as_deref(), Some("0::/"));
    assert!(!stderr(&o).contains(NO_CGROUP), "{}", stderr(&o));

    assert_eq!(
        ok(&run(&["-d", "--name", "dl1", rootfs, "sleep", "60"])).trim(),
        "dl1"
    );
    let st: serde_json::Value = serde_json::from_str(&ok(&run(&["state", "dl1"]))).unwrap();
    let pid = st["pid"].as_i64().unwrap();
    let cg = d.cgroup_of("dl1");
    let host_view = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert_eq!(
        v2_line(&host_view).unwrap_or_default(),
        format!(
            "0::/{}/user/{}",
            d.rel,
            cg.file_name().unwrap().to_string_lossy()
        ),
        "the container's cgroup lies in the delegation, beside the user's leaf"
    );
    let inside = ok(&run(&[
        "exec",
        "dl1",
        "cat",
        "/proc/1/cgroup",
        "/proc/self/cgroup",
    ]));
    assert_eq!(inside.matches("0::/\n").count(), 2, "{inside}");
    // From outside the delegation the kernel refuses the move (EACCES on the common
    // ancestor's cgroup.procs): the process runs beside the container's cgroup, with a warning.
    let o = common::bundles::output_via_files(
        &mut d.cmd_in(&u, &["exec", "dl1", "cat", "/proc/self/cgroup"], false),
        &u.sb.scratch,
    );
    assert!(
        v2_line(&ok(&o)).is_some_and(|l| l.starts_with("0::/..")),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("runs outside the container's cgroup"),
        "{}",
        stderr(&o)
    );
    let pids = ok(&run(&["ps", "--format", "json", "dl1"]));
    assert!(pids.contains(&pid.to_string()), "{pids}");
    let stats = ok(&run(&["events", "--stats", "dl1"]));
    assert!(stats.contains("\"type\":\"stats\""), "{stats}");
    // update checks the limits against what the delegation gives, as create does: pids is
    // bound to a v1 hierarchy on this kernel, so not delegated, refused by name (the old
    // check against the v2 root failed on the root-owned subtree_control instead).
    let o = run(&["update", "--pids-limit", "10", "dl1"]);
    refused(
        &o,
        1,
        "a pids limit needs the pids controller, which the cgroup delegated to this user",
    );

    let frozen = || {
        std::fs::read_to_string(cg.join("cgroup.events"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("frozen "))
            .map(str::to_string)
    };
    let status = || {
        serde_json::from_str::<serde_json::Value>(&ok(&run(&["state", "dl1"]))).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    ok(&run(&["pause", "dl1"]));
    assert_eq!(frozen().as_deref(), Some("1"));
    assert_eq!(status(), "paused");
    ok(&run(&["resume", "dl1"]));
    assert_eq!(frozen().as_deref(), Some("0"));
    assert_eq!(status(), "running");
    ok(&run(&["kill", "--all", "dl1", "KILL"]));
    assert!(
        wait_for(10.0, || (status() == "stopped").then_some(())).is_some(),
        "dl1 did not stop"
    );
    ok(&run(&["delete", "dl1"]));
    assert!(!cg.exists(), "{} left", cg.display());

    // pids is bound to a v1 hierarchy on this kernel: not delegated, refused by name.
    assert!(!d.offered.contains(&"pids".to_string()), "{:?}", d.offered);
    let o = run(&["--pids-limit", "10", rootfs, "true"]);
    refused(&o, 125, "a pids limit needs the pids controller");

    // A hugetlb limit through an OCI bundle: written where cgroup2 offers hugetlb here.
    let single = |id| serde_json::json!([{"containerID": 0, "hostID": id, "size": 1}]);
    let (bundle, mut config) = u.bundle(&["sleep", "60"], 0, single(u.uid), single(u.gid));
    config["linux"]["resources"] =
        serde_json::json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]});
    std::fs::write(bundle.join("config.json"), config.to_string()).unwrap();
    let o = run(&["create", "-b", bundle.to_str().unwrap(), "hp1"]);
    if d.offered.contains(&"hugetlb".to_string()) {
        ok(&o);
        assert!(!stderr(&o).contains(NO_CGROUP), "{}", stderr(&o));
        let limit = std::fs::read_to_string(d.cgroup_of("hp1").join("hugetlb.2MB.max")).unwrap();
        assert_eq!(limit.trim(), "4194304");
        // A delegated controller's limit is updated in place.
        let file = u.sb.scratch.join("hp1-resources.json");
        std::fs::write(
            &file,
            r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 8388608}]}"#,
        )
        .unwrap();
        ok(&run(&[
            "update",
            "--resources",
            file.to_str().unwrap(),
            "hp1",
        ]));
        let limit = std::fs::read_to_string(d.cgroup_of("hp1").join("hugetlb.2MB.max")).unwrap();
        assert_eq!(limit.trim(), "8388608");
        ok(&run(&["delete", "--force", "hp1"]));
    } else {
        refused(&o, 1, "a hugetlb limit needs the hugetlb controller");
    }
    assert_eq!(
        d.leaves(),
        Vec::<String>::new(),
        "left in {}",
        d.containers().display()
    );
}

/// The cgroup a killed runtime left beside the user's leaf in the delegation (its record
/// gone) is removed by that user's next launch, as the root sweep removes those below the
/// caller's own cgroup; a live container's cgroup there is left alone.
#[test]
fn a_delegated_cgroup_left_behind_is_swept() {
    let u = User::new("dsweep", false);
    let d = Delegated::new(&u);
    let run =
        |args: &[&str]| common::bundles::output_via_files(&mut d.cmd(&u, args), &u.sb.scratch);
    let rootfs = u.rootfs.to_str().unwrap();
    ok(&run(&["-d", "--name", "live", rootfs, "sleep", "60"]));
    ok(&run(&["-d", "--name", "stale", rootfs, "sleep", "60"]));
    let (live, stale) = (d.cgroup_of("live"), d.cgroup_of("stale"));
    // What a runtime killed before its cleanup leaves: the cgroup, with its processes, and
    // no record (the record alone names a container to `delete`).
    let record = u.state_root().join("stale");
    assert!(record.is_dir(), "{} missing", record.display());
    std::fs::remove_dir_all(&record).unwrap();
    ok(&run(&[rootfs, "true"]));
    assert!(
        !stale.exists(),
        "{} left by the next launch",
        stale.display()
    );
    assert!(live.exists(), "{} swept while running", live.display());
    ok(&run(&["delete", "--force", "live"]));
    assert_eq!(
        d.leaves(),
        Vec::<String>::new(),
        "left in {}",
        d.containers().display()
    );
}
