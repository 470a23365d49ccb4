//! Which cgroup hierarchies this host has, and where this process sits in each.
//!
//! Read from /proc/self/mountinfo (the mounts, whatever their names) and /proc/self/cgroup (our
//! own cgroup per hierarchy), so a moved or renamed /sys/fs/cgroup and a cgroup namespace work.

use std::path::{Path, PathBuf};

use super::{Context, Result};

/// Controllers a cgroup v1 mount can carry; of the other super options (`rw`,
/// `clone_children`...) only `name=X` names a hierarchy (a named one, as `name=systemd`).
pub const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// One mounted hierarchy: a v1 one carries `controllers` (a named one `name=X`, with or
/// without controllers); the v2 one carries none here (its controllers are listed per cgroup
/// in `cgroup.controllers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub mountpoint: PathBuf,
    pub controllers: Vec<String>,
    /// Our own cgroup in this hierarchy, as the kernel names it (`/` is the hierarchy's root).
    pub own: PathBuf,
}

impl Hierarchy {
    /// The directory of a cgroup named as the kernel names it (absolute within the hierarchy).
    pub fn dir(&self, cgroup: &Path) -> PathBuf {
        self.mountpoint
            .join(cgroup.strip_prefix("/").unwrap_or(cgroup))
    }

    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Controllers on v1 hierarchies only.
    V1,
    /// One cgroup2 hierarchy mounted where the v1 ones would be.
    V2,
    /// v1 controllers plus a cgroup2 mount (usually /sys/fs/cgroup/unified) that gives
    /// cgroup.kill, cgroup.freeze, eBPF device programs and whatever controllers v1 does not hold.
    Hybrid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub v1: Vec<Hierarchy>,
    pub unified: Option<Hierarchy>,
}

impl Layout {
    /// The running process's layout (empty where no cgroup filesystem is mounted: see
    /// [`Layout::is_empty`]). Read once per process: a launch asks three times (flags, the
    /// cgroup, the sweep), and generating /proc/self/mountinfo costs 30-70 µs a read here.
    /// A child of the launch inherits the answer, which it could not read again inside its
    /// cgroup namespace.
    pub fn detect() -> Result<Layout> {
        static HOST: std::sync::OnceLock<Layout> = std::sync::OnceLock::new();
        if let Some(l) = HOST.get() {
            return Ok(l.clone());
        }
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
            .context("reading /proc/self/mountinfo")?;
        let own =
            std::fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
        let layout = Layout::parse(&mountinfo, &own)?;
        Ok(HOST.get_or_init(|| layout).clone())
    }

    /// Pure: the layout from the texts of /proc/self/mountinfo and /proc/self/cgroup. A
    /// hierarchy mounted more than once counts once (the first mount whose root holds our cgroup).
    pub fn parse(mountinfo: &str, proc_cgroup: &str) -> Result<Layout> {
        let own = parse_proc_cgroup(proc_cgroup)?;
        let mut layout = Layout {
            v1: Vec::new(),
            unified: None,
        };
        let mounts: Vec<Mount> = mountinfo.lines().filter_map(parse_mount).collect();
        for (i, mount) in mounts.iter().enumerate() {
            // A mount made later on the same place or above it hides this one (as the client
            // tests' empty tmpfs hides the memory hierarchy): its controllers are not ours.
            if mounts[i + 1..]
                .iter()
                .any(|later| mount.mountpoint.starts_with(&later.mountpoint))
            {
                continue;
            }
            let mount = mount.clone();
            if mount.fstype == "cgroup2" {
                if layout.unified.is_some() {
                    continue;
                }
                let Some(own) = own.iter().find(|(c, _)| c.is_empty()) else {
                    continue;
                };
                if let Some(path) = below(&own.1, &mount.root) {
                    layout.unified = Some(Hierarchy {
                        mountpoint: mount.mountpoint,
                        controllers: vec![],
                        own: path,
                    });
                }
            } else if mount.fstype == "cgroup" {
                // Named hierarchies too: a container must be placed in each one, or its
                // cgroup namespace would be rooted at ours there (see `joins`).
                let controllers = v1_keys(&mount.super_options);
                if controllers.is_empty() || layout.v1.iter().any(|h| h.controllers == controllers)
                {
                    continue;
                }
                let mine = own.iter().find(|(c, _)| {
                    let mut listed = v1_keys(c);
                    listed.sort_unstable();
                    let mut wanted = controllers.clone();
                    wanted.sort_unstable();
                    listed == wanted
                });
                let Some((_, path)) = mine else { continue };
                if let Some(path) = below(path, &mount.root) {
                    layout.v1.push(Hierarchy {
                        mountpoint: mount.mountpoint,
                        controllers,
                        own: path,
                    });
                }
            }
        }
        Ok(layout)
    }

    /// No cgroup filesystem at all (neither cgroup nor cgroup2 in /proc/self/mountinfo, or
    /// none showing our own cgroup): a container then runs without one.
    pub fn is_empty(&self) -> bool {
        self.v1.is_empty() && self.unified.is_none()
    }

    pub fn mode(&self) -> Mode {
        match (self.v1.is_empty(), self.unified.is_some()) {
            (true, _) => Mode::V2,
            (false, false) => Mode::V1,
            (false, true) => Mode::Hybrid,
        }
    }

    /// The v1 hierarchy carrying `controller`.
    pub fn v1_with(&self, controller: &str) -> Option<&Hierarchy> {
        self.v1.iter().find(|h| h.has(controller))
    }

    /// This layout without its cgroup2 mount: hybrid hosts seen as plain v1 (tests of the v1
    /// paths, or a caller that wants them).
    pub fn without_unified(mut self) -> Layout {
        self.unified = None;
        self
    }

    /// Only the cgroup2 mount: the v2 paths on a hybrid host (freeze, kill, eBPF devices).
    pub fn unified_only(mut self) -> Option<Layout> {
        self.v1.clear();
        self.unified.is_some().then_some(self)
    }
}

/// The options of a v1 mount (or the first field of a /proc/self/cgroup line) that name its
/// hierarchy: its controllers and its `name=X`.
fn v1_keys(options: &str) -> Vec<String> {
    options
        .split(',')
        .filter(|o| V1_CONTROLLERS.contains(o) || (o.starts_with("name=") && o.len() > 5))
        .map(str::to_string)
        .collect()
}

#[derive(Clone)]
struct Mount {
    root: PathBuf,
    mountpoint: PathBuf,
    fstype: String,
    super_options: String,
}

/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
fn parse_mount(line: &str) -> Option<Mount> {
    let (left, right) = line.split_once(" - ")?;
    let left: Vec<&str> = left.split(' ').collect();
    let right: Vec<&str> = right.split(' ').collect();
    Some(Mount {
        root: PathBuf::from(unescape(left.get(3)?)),
        mountpoint: PathBuf::from(unescape(left.get(4)?)),
        fstype: right.first()?.to_string(),
        super_options: right.get(2).unwrap_or(&"").to_string(),
    })
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let s = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(s, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `4:memory:/process_api/x` lines as (controllers, path); the v2 line has empty controllers.
fn parse_proc_cgroup(text: &str) -> Result<Vec<(String, PathBuf)>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next(), parts.next(), parts.next());
            match (controllers, path) {
                (Some(c), Some(p)) if p.starts_with('/') => Ok((c.to_string(), PathBuf::from(p))),
                _ => bail!("unexpected line in /proc/self/cgroup: {line:?}"),
            }
        })
        .collect()
}

/// Our cgroup as a path inside a mount whose root is `root` (a bind mount of a sub-tree, or
/// a cgroup namespace's view); None when the mount does not show our cgroup.
fn below(own: &Path, root: &Path) -> Option<PathBuf> {
    let rest = own.strip_prefix(root).ok()?;
    Some(Path::new("/").join(rest))
}

#[cfg(test)]
mod covered_tests {
    use super::*;

    #[test]
    fn a_hierarchy_covered_by_a_later_mount_is_not_used() {
        let mountinfo = "\
30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs ro
31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
40 33 0:50 / /sys/fs/cgroup/memory ro - tmpfs tmpfs ro
41 31 0:51 / /sys/fs/cgroup/unified ro - tmpfs tmpfs ro
";
        let own = "2:pids:/\n1:memory:/a\n0::/\n";
        let l = Layout::parse(mountinfo, own).unwrap();
        assert!(l.unified.is_none());
        assert_eq!(l.v1.len(), 1);
        assert!(l.v1[0].has("pids"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_OWN: &str = "\
9:name=systemd:/
8:pids:/
4:memory:/process_api/0c06
2:cpuacct:/
1:cpu:/
0::/
";

    #[test]
    fn hybrid_host_as_on_these_machines() {
        let layout = Layout::parse(HYBRID_MOUNTINFO, HYBRID_OWN).unwrap();
        assert_eq!(layout.mode(), Mode::Hybrid);
        assert_eq!(
            layout.v1.len(),
            5,
            "name=systemd is a hierarchy too: {layout:?}"
        );
        let named = layout.v1.iter().find(|h| h.has("name=systemd")).unwrap();
        assert_eq!(named.mountpoint, Path::new("/sys/fs/cgroup/systemd"));
        let memory = layout.v1_with("memory").unwrap();
        assert_eq!(memory.own, Path::new("/process_api/0c06"));
        assert_eq!(
            memory.dir(&memory.own.join("minirun/x")),
            Path::new("/sys/fs/cgroup/memory/process_api/0c06/minirun/x")
        );
        let unified = layout.unified.as_ref().unwrap();
        assert_eq!(unified.mountpoint, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(unified.own, Path::new("/"));
        assert_eq!(layout.clone().without_unified().mode(), Mode::V1);
        assert_eq!(layout.unified_only().unwrap().mode(), Mode::V2);
    }

    #[test]
    fn comounted_controllers_and_pure_v2() {
        let mi = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpuacct,cpu\n";
        let layout = Layout::parse(mi, "3:cpu,cpuacct:/user\n0::/\n").unwrap();
        assert_eq!(layout.mode(), Mode::V1);
        assert!(layout.v1_with("cpuacct").unwrap().has("cpu"));
        assert_eq!(layout.v1[0].own, Path::new("/user"));

        let mi = "30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let layout = Layout::parse(mi, "0::/user.slice/session-1.scope\n").unwrap();
        assert_eq!(layout.mode(), Mode::V2);
        assert_eq!(
            layout.unified.unwrap().own,
            Path::new("/user.slice/session-1.scope")
        );
    }

    #[test]
    fn mount_of_a_subtree_and_escaped_mountpoint() {
        // A container's view: the hierarchy's /docker/abc mounted at "/sys/fs/cgroup/my cg".
        let mi = "41 31 0:38 /docker/abc /sys/fs/cgroup/my\\040cg rw - cgroup2 cgroup2 rw\n";
        let layout = Layout::parse(mi, "0::/docker/abc/sub\n").unwrap();
        let h = layout.unified.unwrap();
        assert_eq!(h.mountpoint, Path::new("/sys/fs/cgroup/my cg"));
        assert_eq!(h.own, Path::new("/sub"));
    }

    #[test]
    fn no_cgroup_mount_is_an_empty_layout() {
        let l = Layout::parse("22 1 0:21 / /proc rw - proc proc rw\n", "0::/\n").unwrap();
        assert!(l.is_empty());
        // Mounted, but not showing our cgroup (another cgroup namespace's view): unusable.
        let mi = "41 31 0:38 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert!(Layout::parse(mi, "0::/\n").unwrap().is_empty());
        let err = Layout::parse("", "garbage\n").unwrap_err();
        assert!(err.to_string().contains("garbage"), "{err}");
    }
}
