//! Shared helpers for the integration tests: they start real containers from the fixture
//! rootfs, as root, and check that nothing is left behind.
#![allow(dead_code)]

pub mod bundles;
pub mod source;

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub fn minirun() -> PathBuf {
    std::env::var_os("MINIRUN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/minirun"))
}

pub fn fixture() -> PathBuf {
    let p = std::env::var_os("MINIRUN_FIXTURE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("rootfs-fixtures/build/busybox")
        });
    assert!(
        p.join("bin/busybox").exists(),
        "fixture rootfs {} missing: run `make fixtures`",
        p.display()
    );
    p
}

/// The top-level names rootfs-fixtures/busybox.sh creates. The fixture is shared by every test,
/// in parallel, and minirun makes a missing mount destination inside the rootfs (as runc does):
/// a test that mounts where the fixture has no directory must use `Sandbox::own_rootfs`.
pub const FIXTURE_TOP: &[&str] = &[
    "bin", "dev", "etc", "home", "proc", "root", "run", "sbin", "sys", "tmp", "usr", "var",
];

/// What the fixture's build puts in its /tmp.
pub const FIXTURE_TMP: &[&str] = &["f"];

/// Names at the fixture's top level or in its /tmp that its build does not make: something a
/// test (this one or one running beside it) created in the shared rootfs. A workload that
/// writes scratch files gets its own /tmp (`--tmpfs /tmp`).
pub fn fixture_strays() -> Vec<String> {
    let names = |dir: PathBuf, known: &[&str], prefix: &str| -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !known.contains(&n.as_str()))
            .map(|n| format!("{prefix}{n}"))
            .collect()
    };
    let mut strays = names(fixture(), FIXTURE_TOP, "");
    strays.extend(names(fixture().join("tmp"), FIXTURE_TMP, "tmp/"));
    strays.sort();
    strays
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A private state root (--root) and scratch dir for one test; on drop it checks that the
/// test left no container record, no mount and no process behind, then removes itself.
pub struct Sandbox {
    pub root: PathBuf,
    pub scratch: PathBuf,
}

impl Sandbox {
    pub fn new(tag: &str) -> Sandbox {
        assert!(
            nix::unistd::geteuid().is_root(),
            "integration tests need root"
        );
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let base =
            std::env::temp_dir().join(format!("minirun-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("state");
        let scratch = base.join("scratch");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&scratch).unwrap();
        Sandbox { root, scratch }
    }

    /// `minirun --root ROOT ARGS...`
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(minirun());
        c.arg("--root").arg(&self.root).args(args);
        c.stdin(Stdio::null());
        c
    }

    /// Quick form: `minirun --root ROOT [opts...] FIXTURE argv...`
    pub fn run(&self, opts: &[&str], argv: &[&str]) -> Output {
        let mut c = self.cmd(opts);
        c.arg(fixture()).args(argv);
        c.output().expect("spawning minirun")
    }

    pub fn base(&self) -> PathBuf {
        self.root.parent().unwrap().to_path_buf()
    }

    /// A private copy of the fixture in the scratch dir, for a test that mounts where the
    /// fixture has no directory or plants files in the rootfs; removed with the sandbox.
    pub fn own_rootfs(&self) -> PathBuf {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dst = self.scratch.join(format!("rootfs-{n}"));
        let o = Command::new("cp")
            .arg("-a")
            .arg(fixture())
            .arg(&dst)
            .output()
            .expect("spawning cp");
        assert!(o.status.success(), "cp -a: {}", stderr(&o));
        dst
    }
}

impl Drop for Sandbox {
    /// What a test leaves behind fails it: a state record, a cgroup, a mount, a process whose command
    /// line names the sandbox (a runtime given its --root, a monitor, an init that never
    /// exec'd), or a new name at the shared fixture's top level. Processes get a few seconds to
    /// finish exiting first.
    fn drop(&mut self) {
        let base = self.base();
        wait_for(5.0, || processes_mentioning(&base).is_empty().then_some(()));
        let processes = processes_mentioning(&base);
        let leftovers = records_in(&self.root);
        // A `-d --rm` container's monitor removes its cgroup a moment after the workload ends.
        wait_for(2.0, || {
            default_cgroups(&self.root, None).is_empty().then_some(())
        });
        let cgroups = default_cgroups(&self.root, None);
        let mounts = host_mounts_under(&base);
        let strays = fixture_strays();
        let _ = std::fs::remove_dir_all(&base);
        if !std::thread::panicking() {
            assert!(
                processes.is_empty(),
                "processes left running: {processes:?}"
            );
            assert!(leftovers.is_empty(), "state left in --root: {leftovers:?}");
            assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
            assert!(mounts.is_empty(), "mounts leaked: {mounts:?}");
            // Not removed here: a test beside this one may be mounting there right now.
            assert!(
                strays.is_empty(),
                "the shared fixture {} gained {strays:?} (a mount destination it lacks? mount \
                 where it has a directory, or on Sandbox::own_rootfs); remove them by hand",
                fixture().display()
            );
        }
    }
}

/// The default-placed cgroups (`<own cgroup>/minirun.<id>@<tag of root>`, one per hierarchy)
/// that containers of state root `root` left on the host: all of them, or only `id`'s.
pub fn default_cgroups(root: &Path, id: Option<&str>) -> Vec<PathBuf> {
    use minirun::cgroups::placement::DEFAULT_PREFIX;
    let name = minirun::container::cgroup_launch::cgroup_name(root, id.unwrap_or(""));
    let (prefix, suffix) = match id {
        Some(_) => (format!("{DEFAULT_PREFIX}{name}"), String::new()),
        None => (DEFAULT_PREFIX.to_string(), name),
    };
    let Ok(layout) = minirun::cgroups::layout::Layout::detect() else {
        return Vec::new();
    };
    layout
        .v1
        .iter()
        .chain(layout.unified.as_ref())
        .filter_map(|h| std::fs::read_dir(h.dir(&h.own)).ok())
        .flatten()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            match id {
                Some(_) => n == prefix,
                None => n.starts_with(&prefix) && n.ends_with(&suffix),
            }
        })
        .map(|e| e.path())
        .collect()
}

/// Pids and command lines of the live processes (not zombies, not this test) whose command
/// line mentions `dir`: runtimes given a state root under it, monitors, daemons, shims.
pub fn processes_mentioning(dir: &Path) -> Vec<(i32, String)> {
    let needle = dir.to_string_lossy().into_owned();
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<i32>().ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let zombie = stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'));
            (pid != me && !zombie && cmd.contains(&needle)).then_some((pid, cmd))
        })
        .collect()
}

/// What a state root holds besides the compiled seccomp filters (a cache, not a container's
/// state): records, and the staging or trash directories of a runtime that was killed.
pub fn records_in(root: &Path) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(root)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name())
                .filter(|n| n != "seccomp")
                .collect()
        })
        .unwrap_or_default()
}

/// Host mount table lines that mention `path`.
pub fn host_mounts_under(path: &Path) -> Vec<String> {
    let p = path.to_string_lossy().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&p))
        .map(String::from)
        .collect()
}

/// Mount table lines that mention the fixture rootfs: there must never be any on the host.
pub fn fixture_mounts() -> Vec<String> {
    host_mounts_under(&fixture())
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// Runs `script` with sh in a private mount namespace (`unshare -m`), where a test shapes the
/// host it wants (a cgroup layout, a bpffs) without touching the real one; $M is minirun, $F
/// the fixture and $R the sandbox's state root.
pub fn in_private_mount_ns(sb: &Sandbox, script: &str) -> Output {
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script])
        .env("M", minirun())
        .env("F", fixture())
        .env("R", &sb.root)
        .stdin(Stdio::null())
        .output()
        .expect("running unshare (util-linux)")
}

pub fn code(o: &Output) -> i32 {
    o.status
        .code()
        .expect("minirun itself was killed by a signal")
}

/// Waits until `f` returns Some, up to `secs`.
pub fn wait_for<T>(secs: f64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if std::time::Instant::now() > end {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Host pids of processes named `comm` whose parent chain leads to `ancestor`.
pub fn descendants_named(ancestor: u32, comm: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(c) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
            continue;
        };
        if c.trim() != comm {
            continue;
        }
        let mut p = pid;
        for _ in 0..64 {
            let Some(pp) = ppid(p) else { break };
            if pp as u32 == ancestor {
                out.push(pid);
                break;
            }
            if pp <= 1 {
                break;
            }
            p = pp;
        }
    }
    out
}

pub fn ppid(pid: i32) -> Option<i32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s[s.rfind(')')? + 2..].split(' ').nth(1)?.parse().ok()
}

/// Runs `cmd` with a host directory open, without close-on-exec, at fds 5 and 251 of minirun:
/// what a careless caller (a shell, a daemon with a leaked cgroup or state-dir fd) hands it.
pub fn with_stray_fds(mut cmd: Command, host_dir: &Path) -> Output {
    let dir = std::fs::File::open(host_dir).unwrap();
    let fd = dir.as_raw_fd();
    // SAFETY: pre_exec runs in the forked child before execve; dup2 and fcntl are
    // async-signal-safe and only touch the child's fd table. dup2 clears FD_CLOEXEC on the new
    // descriptor, except when it already is `fd` (dup2 then does nothing): fcntl clears it.
    unsafe {
        cmd.pre_exec(move || {
            for target in [5, 251] {
                let r = if target == fd {
                    libc::fcntl(fd, libc::F_SETFD, 0)
                } else {
                    libc::dup2(fd, target)
                };
                if r < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let out = cmd.output().expect("spawning minirun");
    drop(dir);
    out
}

/// Asserts a clean refusal: the given exit code, one line on stderr that contains `want`,
/// nothing on stdout (the workload never ran).
pub fn refused(o: &Output, code_want: i32, want: &str) -> String {
    let err = stderr(o);
    assert_eq!(code(o), code_want, "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("minirun: "), "{err}");
    assert!(err.contains(want), "{err:?} lacks {want:?}");
    assert_eq!(stdout(o), "", "the workload ran");
    err.trim_end().to_string()
}

/// The SHA-256 of a file, as sha256sum prints it.
pub fn sha256(p: &Path) -> String {
    let o = Command::new("sha256sum").arg(p).output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

/// A private copy of the minirun binary: an attack that worked would damage only the copy.
pub fn binary_copy(sb: &Sandbox) -> PathBuf {
    let p = sb.scratch.join("minirun-copy");
    std::fs::copy(minirun(), &p).unwrap();
    p
}

pub fn copy_cmd(bin: &Path, sb: &Sandbox, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.arg("--root").arg(&sb.root).args(args);
    c.stdin(Stdio::null());
    c
}
