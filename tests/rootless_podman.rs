//! Rootless podman drives minirun (issue 24, item 4): an ordinary user the test makes, with
//! subordinate uid and gid ranges of its own, imports the fixture as an image and runs it
//! with `podman --runtime minirun`: run, run -d, exec, rm -f, and the workshop's three
//! capability steps as pscap shows them.
//!
//! podman runs its runtime as uid 0 of the user's namespace (uid 0 = the user, 1.. = its
//! subordinate ids), without a cgroup namespace. The user's storage, runroot and state are
//! under the test's scratch dir. No private mount namespace is needed for conmon's OOM
//! watch (tests/daemon's PRIVATE_NS): as the user it cannot write the supervisor's memory
//! cgroup (cgroup.event_control is root's, mode 0200), which the test checks.

mod common;
mod daemon;

use common::*;
use daemon::{pscap_caps, require};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};

const IMAGE: &str = "localhost/minirun-fixture";
const OPTS: &[&str] = &["--network=none", "--cgroups=disabled"];

/// An ordinary user with 65536 subordinate ids, and the podman configuration it runs with.
struct Rootless {
    name: String,
    uid: u32,
    range: String,
    home: PathBuf,
    xdg: PathBuf,
    sb: Sandbox,
}

/// Runs an account tool (package passwd), retrying while another program holds the lock on
/// /etc/passwd.
fn passwd_tool(args: &[&str]) {
    let mut last = String::new();
    for _ in 0..50 {
        let o = Command::new(args[0])
            .args(&args[1..])
            .output()
            .unwrap_or_else(|e| panic!("{} (Debian's passwd) missing: {e}", args[0]));
        if o.status.success() {
            return;
        }
        last = stderr(&o);
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{args:?}: {last}");
}

impl Rootless {
    fn new() -> Rootless {
        let sb = Sandbox::new("rl-podman");
        let name = format!("mr-rlp-{}", std::process::id());
        // No ranges from login.defs: the test gives its own below.
        let add = "useradd -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 --no-create-home --user-group";
        let mut add: Vec<&str> = add.split(' ').collect();
        add.extend(["--shell", "/usr/sbin/nologin", &name]);
        passwd_tool(&add);
        // Far above tests/rootless.rs's ranges, so both files' users can exist at once.
        let start = 2_000_000_000 + (std::process::id() % 1000) * 65_536;
        let range = format!("{start}-{}", start + 65_535);
        let user = nix::unistd::User::from_name(&name).unwrap().unwrap();
        let me = Rootless {
            name,
            uid: user.uid.as_raw(),
            range,
            home: sb.scratch.join("home"),
            xdg: sb.scratch.join("xdg"),
            sb,
        };
        passwd_tool(&[
            "usermod",
            "--add-subuids",
            &me.range,
            "--add-subgids",
            &me.range,
            &me.name,
        ]);
        let s = &me.sb.scratch;
        for d in [me.sb.base(), s.clone()] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for d in [&me.home, &me.xdg] {
            std::fs::create_dir(d).unwrap();
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
            nix::unistd::chown(d, Some(user.uid), Some(user.gid)).unwrap();
        }
        let bin = s.join("minirun");
        std::fs::copy(minirun(), &bin).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(
            s.join("containers.conf"),
            format!(
                "[containers]\nnetns = \"none\"\n\n[engine]\ncgroup_manager = \"cgroupfs\"\n\
                 events_logger = \"file\"\nevents_logfile_path = \"{h}/events.log\"\n\
                 runtime_supports_nocgroup = [\"minirun\"]\n\
                 runtime_supports_json = [\"minirun\"]\n\n[engine.runtimes]\n\
                 minirun = [\"{b}\"]\n",
                h = me.home.display(),
                b = bin.display()
            ),
        )
        .unwrap();
        std::fs::write(
            s.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\nrunroot = \"{}/storage\"\ngraphroot = \"{}/storage\"\n",
                me.xdg.display(),
                me.home.display()
            ),
        )
        .unwrap();
        me
    }

    /// `podman ARGS` as the user, with a clean environment of its own.
    fn podman(&self, args: &[&str]) -> Command {
        let s = &self.sb.scratch;
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.uid))
            .arg("--init-groups")
            .args(["--", "podman", "--runtime", "minirun"])
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", &self.home)
            .env("USER", &self.name)
            .env("XDG_RUNTIME_DIR", &self.xdg)
            .env("CONTAINERS_CONF", s.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", s.join("storage.conf"))
            .current_dir("/")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> String {
        ok(&self.podman(args).output().expect("setpriv (util-linux)"))
            .trim()
            .to_string()
    }

    /// `run -d OPTS EXTRA IMAGE sleep 30`: the id, and the workload's host pid.
    fn start(&self, extra: &[&str]) -> (String, i32) {
        let mut a = vec!["run", "-d"];
        a.extend_from_slice(OPTS);
        a.extend_from_slice(extra);
        a.extend_from_slice(&[IMAGE, "sleep", "30"]);
        let id = self.run(&a);
        let pid = self.run(&["inspect", "--format", "{{.State.Pid}}", &id]);
        (id, pid.parse().unwrap())
    }

    /// The user's live processes (pid, comm), from ps.
    fn processes(&self) -> Vec<(i32, String)> {
        let o = Command::new("ps")
            .args(["-u", &self.uid.to_string(), "-o", "pid=,stat=,comm="])
            .output()
            .expect("ps (procps)");
        stdout(&o)
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let pid = f.next()?.parse().ok()?;
                // Zombies go when their parent (podman's pause process) does.
                let live = !f.next()?.starts_with('Z');
                live.then(|| (pid, f.collect::<Vec<_>>().join(" ")))
            })
            .collect()
    }
}

impl Drop for Rootless {
    /// Containers removed, podman's pause process (the user namespace's keeper, which
    /// outlives every podman command) ended, the account, its ranges and its storage gone.
    fn drop(&mut self) {
        let _ = self.podman(&["rm", "-fa", "-t", "0"]).output();
        let live = || {
            let p = self.processes();
            p.iter().all(|(_, c)| c.starts_with("podman")).then_some(())
        };
        let settled = wait_for(10.0, live).is_some();
        let strays = self.processes();
        for (pid, _) in &strays {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        wait_for(5.0, || self.processes().is_empty().then_some(()));
        let r = &self.range;
        passwd_tool(&[
            "usermod",
            "--del-subuids",
            r,
            "--del-subgids",
            r,
            &self.name,
        ]);
        passwd_tool(&["userdel", &self.name]);
        if !std::thread::panicking() {
            assert!(settled, "left running after rm -fa: {strays:?}");
        }
    }
}

#[test]
fn rootless_podman_drives_minirun() {
    require("/usr/bin/podman", "podman");
    require("/usr/bin/conmon", "conmon");
    require("/usr/bin/newuidmap", "uidmap");
    require("/usr/bin/pscap", "libcap-ng-utils");
    // conmon's OOM watch cannot reach the supervisor's memory cgroup as this user.
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    if let Some(p) = own.lines().find_map(|l| Some(l.split_once(":memory:")?.1)) {
        let f = PathBuf::from(format!("/sys/fs/cgroup/memory{p}/cgroup.event_control"));
        let m = std::fs::metadata(&f).unwrap();
        assert!(m.uid() == 0 && m.mode() & 0o022 == 0, "{}", f.display());
    }
    let u = Rootless::new();
    let tar = u.sb.scratch.join("fixture.tar");
    let o = Command::new("tar")
        .arg("-C")
        .arg(fixture())
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .output()
        .unwrap();
    ok(&o);
    u.run(&["import", tar.to_str().unwrap(), IMAGE]);

    // run: root inside is the user; the state is in its XDG_RUNTIME_DIR; /sys/fs/cgroup
    // shows nothing (no cgroupfs may be mounted without a cgroup namespace).
    let mut a = vec!["run", "--rm"];
    a.extend_from_slice(OPTS);
    a.extend_from_slice(&[IMAGE, "sh", "-c"]);
    a.push("id -u; cat /proc/self/uid_map; ls /sys/fs/cgroup | wc -l");
    let out = u.run(&a);
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words[0], "0", "{out}");
    assert_eq!(words[1..4], ["0", &u.uid.to_string(), "1"], "{out}");
    assert_eq!(
        words[4..7],
        ["1", u.range.split('-').next().unwrap(), "65536"]
    );
    assert_eq!(words[7], "0", "{out}");
    assert!(u.xdg.join("minirun").is_dir());

    // run -d, exec, rm -f.
    let (id, pid) = u.start(&[]);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = u.uid.to_string();
    assert!(
        status.contains(&format!("Uid:\t{uid}\t{uid}\t{uid}\t{uid}")),
        "{status}"
    );
    assert_eq!(
        u.run(&["exec", &id, "sh", "-c", "echo exec-ok; id -u"]),
        "exec-ok\n0"
    );
    u.run(&["rm", "-f", "-t", "0", &id]);
    let gone = wait_for(5.0, || {
        (!PathBuf::from(format!("/proc/{pid}")).exists()).then_some(())
    });
    assert!(gone.is_some(), "rm -f left pid {pid}");
    assert_eq!(u.run(&["ps", "-aq"]), "");

    // The workshop's three steps. Debian's rootless defaults are 14 capabilities (with
    // mknod, audit_write and net_raw); the second drops three; the third keeps two. pscap's
    // `*` marks a process in a child user namespace: these are capabilities over the
    // user's namespace only.
    let steps: [(&[&str], &str); 3] = [
        (
            &[],
            "* chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap +",
        ),
        (
            &[
                "--cap-drop=setfcap",
                "--cap-drop=audit_write",
                "--cap-drop=mknod",
            ],
            "* chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot +",
        ),
        (
            &["--cap-drop=all", "--cap-add=setgid", "--cap-add=setuid"],
            "* setgid, setuid +",
        ),
    ];
    for (flags, want) in steps {
        let (id, pid) = u.start(flags);
        let caps = pscap_caps(pid);
        u.run(&["rm", "-f", "-t", "0", &id]);
        assert_eq!(caps, want, "{flags:?}");
    }
}
