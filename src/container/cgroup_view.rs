//! The container's /sys/fs/cgroup: its own cgroups, read-only, as Docker shows them.
//!
//! A `cgroup` mount (Docker's configs have one; the quick form too) becomes: on a pure v2 host
//! a bind of the container's v2 cgroup; elsewhere a tmpfs holding a bind of the container's
//! cgroup in each v1 hierarchy (named for its controllers, `cpu,cpuacct`, with a symlink per
//! controller of a co-mounted one) and of its v2 cgroup at `unified`. Binds of the very
//! directories the parent made, not fresh cgroupfs mounts. Each bind gets the mount's flags
//! (`ro`: writes are EROFS).
//!
//! The child learns the paths and the host's layout by inheriting them (`remember`, right
//! after clone3): in its own cgroup namespace, /proc/self/mountinfo no longer shows the
//! host's hierarchies as holding its cgroup (their roots lie above the namespace's), so the
//! layout cannot be read again there (on a pure v1 or pure v2 host nothing would be left).

use super::error::{Context, Result};
use super::in_root::{self, Kind};
use super::plan::MountPlan;
use crate::cgroups::{CgroupPaths, Layout, Mode};
use crate::step;
use nix::fcntl::OFlag;
use nix::mount::{MsFlags, mount};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static PATHS: OnceLock<(CgroupPaths, Option<Mode>)> = OnceLock::new();

/// In the child: the cgroup the parent made for it and the layout it was made in (the child is
/// a copy of the parent, and nothing else of the launch reaches the mount code).
pub fn remember(paths: &CgroupPaths, mode: Option<Mode>) {
    let _ = PATHS.set((paths.clone(), mode));
}

/// What goes under the view: (name, host directory) binds, and (name, target) symlinks.
#[derive(Debug, PartialEq, Eq)]
pub struct View {
    pub binds: Vec<(String, PathBuf)>,
    pub links: Vec<(String, String)>,
}

/// Pure: the view of `paths`. None on a pure v2 host: the v2 cgroup is the whole view.
pub fn view(paths: &CgroupPaths, mode: Mode) -> Option<View> {
    if mode == Mode::V2 {
        return None;
    }
    let mut v = View {
        binds: vec![],
        links: vec![],
    };
    for d in &paths.v1 {
        // `name=systemd` is a named hierarchy: Docker shows it as `systemd`.
        let names: Vec<&str> = d
            .controllers
            .iter()
            .map(|c| c.strip_prefix("name=").unwrap_or(c))
            .collect();
        let name = names.join(",");
        if names.len() > 1 {
            v.links
                .extend(names.iter().map(|n| (n.to_string(), name.clone())));
        }
        v.binds.push((name, d.dir.clone()));
    }
    if let Some(d) = &paths.v2 {
        v.binds.push(("unified".into(), d.dir.clone()));
    }
    Some(v)
}

/// Mounts the view at `m.destination`; false when the container has no cgroup of ours (the
/// caller then mounts the filesystem the config names).
pub fn mount_view(root: &OwnedFd, m: &MountPlan) -> Result<bool> {
    let Some((paths, mode)) = PATHS.get() else {
        return Ok(false);
    };
    let dest = &m.destination;
    let target = in_root::ensure(root, dest, Kind::Dir)
        .with_context(|| format!("preparing mount point {}", dest.display()))?;
    let mode = match mode {
        Some(m) => *m,
        None => Layout::detect()?.mode(),
    };
    let Some(view) = view(paths, mode) else {
        let v2 = paths
            .v2
            .as_ref()
            .ok_or_else(|| refused!("a v2 host without a v2 cgroup"))?;
        bind(&v2.dir, &in_root::proc_path(&target), MsFlags::empty())?;
        // The flags go on the new mount, which the fd above (the directory under it) does
        // not name: resolved again.
        let mounted = in_root::open(root, dest, OFlag::O_PATH | OFlag::O_DIRECTORY)
            .with_context(|| format!("opening {} after mounting", dest.display()))?;
        let extra = m.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC);
        if !extra.is_empty() {
            remount(&in_root::proc_path(&mounted), extra, true)?;
        }
        step!(
            "bind {} on {} (cgroup view)",
            v2.dir.display(),
            dest.display()
        );
        return Ok(true);
    };
    let base = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(
        Some("tmpfs"),
        in_root::proc_path(&target).as_str(),
        Some("tmpfs"),
        base,
        Some("mode=755"),
    )
    .with_context(|| format!("mounting the cgroup view's tmpfs on {}", dest.display()))?;
    // The fd above names the directory under the tmpfs: the tmpfs's own root, fresh and ours.
    let top_fd = in_root::open(root, dest, OFlag::O_PATH | OFlag::O_DIRECTORY)
        .with_context(|| format!("opening {} after mounting", dest.display()))?;
    let top = PathBuf::from(in_root::proc_path(&top_fd));
    // The flags of every bind and of the tmpfs in one mount_setattr over the tree, after the
    // binds, rather than a remount per bind (10 on a hybrid host); a kernel without it
    // (before 5.12) or a flag it cannot express gets the remounts.
    let attrs = mount_attrs(m.flags | base);
    let bind_flags = if attrs.is_some() {
        MsFlags::empty()
    } else {
        m.flags | base
    };
    for (name, host) in &view.binds {
        let at = top.join(name);
        std::fs::create_dir(&at).with_context(|| format!("making {}", at.display()))?;
        bind(host, &at.to_string_lossy(), bind_flags)?;
    }
    for (name, to) in &view.links {
        let at = top.join(name);
        std::os::unix::fs::symlink(to, &at).with_context(|| format!("linking {}", at.display()))?;
    }
    let set = attrs.map(|a| super::mount_attr::set(&top_fd, a, true));
    if let Some(Err(e)) = &set {
        tracing::debug!("mount_setattr on the cgroup view: {e}: remounting each bind");
        for (name, _) in &view.binds {
            remount(&top.join(name).to_string_lossy(), m.flags | base, true)?;
        }
    }
    if !matches!(set, Some(Ok(()))) && m.flags.contains(MsFlags::MS_RDONLY) {
        remount(&top.to_string_lossy(), base | MsFlags::MS_RDONLY, false)?;
    }
    step!("cgroup view on {}: {:?}", dest.display(), view.binds);
    Ok(true)
}

/// Pure: `flags` as MOUNT_ATTR_* bits; None when one of them has none (bind and rec aside).
fn mount_attrs(flags: MsFlags) -> Option<u64> {
    use super::mount_attr::{NODEV, NOEXEC, NOSUID, RDONLY};
    let table = [
        (MsFlags::MS_RDONLY, RDONLY),
        (MsFlags::MS_NOSUID, NOSUID),
        (MsFlags::MS_NODEV, NODEV),
        (MsFlags::MS_NOEXEC, NOEXEC),
    ];
    let mut rest = flags & !(MsFlags::MS_BIND | MsFlags::MS_REC);
    let mut attrs = 0;
    for (flag, attr) in table {
        if rest.contains(flag) {
            attrs |= attr;
            rest.remove(flag);
        }
    }
    rest.is_empty().then_some(attrs)
}

fn bind(host: &Path, at: &str, flags: MsFlags) -> Result<()> {
    mount(Some(host), at, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .with_context(|| format!("binding {} into the cgroup view", host.display()))?;
    let extra = flags & !(MsFlags::MS_BIND | MsFlags::MS_REC);
    if !extra.is_empty() {
        remount(at, extra, true)?;
    }
    Ok(())
}

fn remount(at: &str, flags: MsFlags, is_bind: bool) -> Result<()> {
    let bind = if is_bind {
        MsFlags::MS_BIND
    } else {
        MsFlags::empty()
    };
    mount(
        None::<&str>,
        at,
        None::<&str>,
        flags | bind | MsFlags::MS_REMOUNT,
        None::<&str>,
    )
    .with_context(|| format!("remounting {at} with {flags:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::{V1Dir, V2Dir};

    #[test]
    fn mount_flags_as_mount_attrs() {
        let ro = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        assert_eq!(mount_attrs(ro | MsFlags::MS_BIND), Some(0xf));
        assert_eq!(mount_attrs(MsFlags::MS_NOSUID), Some(0x2));
        assert_eq!(mount_attrs(MsFlags::MS_RDONLY | MsFlags::MS_RELATIME), None);
    }

    fn paths() -> CgroupPaths {
        CgroupPaths {
            v1: vec![
                V1Dir {
                    controllers: vec!["pids".into()],
                    dir: "/sys/fs/cgroup/pids/minirun/a".into(),
                },
                V1Dir {
                    controllers: vec!["cpu".into(), "cpuacct".into()],
                    dir: "/sys/fs/cgroup/cpu,cpuacct/minirun/a".into(),
                },
            ],
            v2: Some(V2Dir {
                mountpoint: "/sys/fs/cgroup/unified".into(),
                dir: "/sys/fs/cgroup/unified/minirun/a".into(),
            }),
        }
    }

    #[test]
    fn hybrid_view_names_hierarchies_as_docker_does() {
        let v = view(&paths(), Mode::Hybrid).unwrap();
        let names: Vec<&str> = v.binds.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["pids", "cpu,cpuacct", "unified"]);
        assert_eq!(v.binds[2].1, Path::new("/sys/fs/cgroup/unified/minirun/a"));
        assert_eq!(
            v.links,
            [
                ("cpu".to_string(), "cpu,cpuacct".to_string()),
                ("cpuacct".to_string(), "cpu,cpuacct".to_string())
            ]
        );
    }

    #[test]
    fn pure_v2_is_one_bind() {
        assert_eq!(view(&paths(), Mode::V2), None);
    }
}
