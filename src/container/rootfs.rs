//! The container's filesystem: mounts, /dev, pivot_root, masked and read-only paths.
//!
//! Runs in the child, in its new mount namespace. Every target inside the rootfs is resolved
//! with `in_root` and mounted through its `/proc/self/fd/N` name, so a symlink in the rootfs
//! can never redirect a mount onto the host.

use super::in_root::{self, Kind};
use super::plan::{MountPlan, Plan};
use crate::step;
use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::{Mode, SFlag, fchmodat, makedev, mknodat};
use nix::unistd::{chdir, chroot, fchownat, pivot_root};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

fn mnt(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> nix::Result<()> {
    mount(source, target, fstype, flags, data)
}

/// Everything that happens while the host's root is still reachable: propagation, the rootfs
/// bind, the spec's mounts and the device nodes. Returns the path of the root to enter.
pub fn prepare(plan: &Plan) -> Result<PathBuf> {
    // Nothing we mount may propagate back to the host's mount table.
    mnt(
        None,
        "/",
        None,
        setup_propagation(plan.rootfs_propagation),
        None,
    )
    .context("making / private (mount propagation)")?;
    step!("mount --make-rprivate /");
    let rootfs = plan
        .rootfs
        .to_str()
        .context("rootfs path is not valid UTF-8")?;
    let volatile_root = if plan.settings.volatile {
        Some(volatile(rootfs)?)
    } else {
        None
    };
    let rootfs = volatile_root.as_deref().unwrap_or(rootfs);
    // pivot_root needs the new root to be a mount point.
    mnt(
        Some(rootfs),
        rootfs,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .with_context(|| format!("bind-mounting the rootfs {rootfs} onto itself"))?;
    step!("mount --rbind {rootfs} {rootfs}");
    let root = nix::fcntl::open(
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening the rootfs {rootfs}"))?;

    for m in &plan.mounts {
        mount_one(&root, m)?;
        if m.destination == Path::new("/dev") && m.typ == "tmpfs" {
            populate_dev(&root, plan)?;
        }
    }
    Ok(PathBuf::from(rootfs))
}

/// The propagation / has while the container is set up: the requested one when it is private
/// or slave; shared or unbindable would make pivot_root (shared parent) or the rootfs bind
/// (unbindable source) fail with EINVAL, so those are set up private and applied after.
fn setup_propagation(requested: MsFlags) -> MsFlags {
    if requested.intersects(MsFlags::MS_SHARED | MsFlags::MS_UNBINDABLE) {
        MsFlags::MS_PRIVATE | MsFlags::MS_REC
    } else {
        requested
    }
}

/// After pivot_root and the last mount: rootfsPropagation shared or unbindable, on /.
pub fn apply_root_propagation(plan: &Plan) -> Result<()> {
    let requested = plan.rootfs_propagation;
    if setup_propagation(requested) == requested {
        return Ok(());
    }
    mnt(None, "/", None, requested, None)
        .with_context(|| format!("setting rootfsPropagation {requested:?} on /"))?;
    step!("mount propagation {requested:?} on /");
    Ok(())
}

/// No mount namespace: root.path still becomes / (chroot, as crun does); nothing is mounted.
pub fn chroot_only(root: &Path) -> Result<()> {
    chroot(root).with_context(|| format!("chroot into {}", root.display()))?;
    chdir("/").context("chdir /")?;
    step!("chroot {} (no mount namespace)", root.display());
    Ok(())
}

/// `--volatile`: an overlay whose upper layer is a tmpfs, so the workload may write anywhere
/// and the rootfs on disk never changes. The tmpfs is mounted over the rootfs path itself, in
/// our private mount namespace; the lower layer is reached through an fd opened before that.
fn volatile(rootfs: &str) -> Result<String> {
    let lower = nix::fcntl::open(
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening the rootfs {rootfs}"))?;
    mnt(
        Some("tmpfs"),
        rootfs,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=755"),
    )
    .context("mounting the volatile tmpfs")?;
    for d in ["upper", "work", "merged"] {
        std::fs::create_dir(format!("{rootfs}/{d}"))
            .with_context(|| format!("creating the volatile {d} directory"))?;
    }
    let data = format!(
        "lowerdir={},upperdir={rootfs}/upper,workdir={rootfs}/work",
        in_root::proc_path(&lower)
    );
    let merged = format!("{rootfs}/merged");
    let overlay = |data: &str| {
        mnt(
            Some("overlay"),
            &merged,
            Some("overlay"),
            MsFlags::empty(),
            Some(data),
        )
    };
    // index and nfs_export give overlay files stable handles, so name_to_handle_at and
    // open_by_handle_at work inside as on a plain filesystem; a kernel or lower filesystem
    // that cannot do it gets the plain overlay.
    let data = match overlay(&format!("{data},index=on,nfs_export=on")) {
        Ok(()) => format!("{data},index=on,nfs_export=on"),
        Err(_) => {
            overlay(&data).context("mounting the volatile overlay")?;
            data
        }
    };
    step!("mount overlay {data} on {merged} (--volatile)");
    Ok(merged)
}

fn mount_one(root: &OwnedFd, m: &MountPlan) -> Result<()> {
    // The container's own cgroups (Docker's view), where minirun made them.
    if m.typ == "cgroup" && super::cgroup_view::mount_view(root, m)? {
        return Ok(());
    }
    let dest = m.destination.display();
    let kind = if m.bind && !Path::new(&m.source).is_dir() {
        Kind::File
    } else {
        Kind::Dir
    };
    let target = in_root::ensure(root, &m.destination, kind)
        .with_context(|| format!("preparing mount point {dest}"))?;
    let tpath = in_root::proc_path(&target);
    let data = (!m.data.is_empty()).then_some(m.data.as_str());
    if m.bind {
        mnt(
            Some(&m.source),
            &tpath,
            None,
            m.flags & (MsFlags::MS_BIND | MsFlags::MS_REC),
            None,
        )
        .with_context(|| format!("bind-mounting {} on {dest}", m.source))?;
        // A bind ignores every flag but MS_BIND|MS_REC: apply ro, nosuid, … with a remount,
        // on the new mount (the fd above still names the directory under it).
        let extra = m.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC);
        if !extra.is_empty() {
            let mounted = reopen_mounted(root, m)?;
            mnt(
                None,
                &in_root::proc_path(&mounted),
                None,
                extra | MsFlags::MS_BIND | MsFlags::MS_REMOUNT,
                None,
            )
            .with_context(|| format!("remounting {dest} with {extra:?}"))?;
        }
    } else {
        let fstype = m.typ.as_str();
        let r = mnt(Some(&m.source), &tpath, Some(fstype), m.flags, data);
        match r {
            // sysfs cannot be mounted in a net namespace we did not create (network: host
            // inside a user namespace, or joined): bind the host's /sys instead, as runc does.
            Err(Errno::EPERM) if fstype == "sysfs" => mnt(
                Some("/sys"),
                &tpath,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
            ),
            // A v1 "cgroup" mount without controllers asks for all of them in one hierarchy,
            // which a hybrid host (v1 controllers already mounted separately) refuses. minirun
            // manages no cgroups, so the container gets the unified (v2) view instead. So
            // does one in a cgroup namespace, where the kernel answers EPERM.
            Err(Errno::EBUSY | Errno::EPERM) if fstype == "cgroup" => {
                mnt(Some("cgroup2"), &tpath, Some("cgroup2"), m.flags, None)
            }
            r => r,
        }
        .with_context(|| format!("mounting {fstype} on {dest}"))?;
    }
    step!(
        "mount {} on {dest} type {} flags {:?} data {:?}",
        m.source,
        m.typ,
        m.flags,
        m.data
    );
    if let Some(p) = m.propagation {
        let mounted = reopen_mounted(root, m)?;
        mnt(None, &in_root::proc_path(&mounted), None, p, None)
            .with_context(|| format!("setting propagation {p:?} on {dest}"))?;
    }
    Ok(())
}

/// The destination resolved again after mounting: the new mount's root, which a remount or a
/// propagation change must name (an fd opened before the mount names what it covers).
fn reopen_mounted(root: &OwnedFd, m: &MountPlan) -> Result<OwnedFd> {
    in_root::open(root, &m.destination, OFlag::O_PATH)
        .with_context(|| format!("resolving {} after mounting", m.destination.display()))
}

/// Device nodes and the conventional links in a fresh /dev tmpfs.
fn populate_dev(root: &OwnedFd, plan: &Plan) -> Result<()> {
    // mknod applies the umask; the spec's mode is what the workload must see. With the umask
    // cleared while the nodes are made, a node mknod creates already has that mode and needs
    // no chmod (which, not following symlinks, costs glibc four syscalls per node).
    let old_umask = nix::sys::stat::umask(Mode::empty());
    let made = make_device_nodes(root, plan);
    nix::sys::stat::umask(old_umask);
    made?;
    populate_dev_links(root)
}

fn make_device_nodes(root: &OwnedFd, plan: &Plan) -> Result<()> {
    // The directory of the previous node, reused while the next one is in the same place.
    let mut cached: Option<(&Path, OwnedFd)> = None;
    for d in &plan.devices {
        let parent = d.path.parent().unwrap_or(Path::new("/dev"));
        let name = d.path.file_name().context("device path has no name")?;
        let dirfd = match cached.take() {
            Some((p, fd)) if p == parent => fd,
            _ => {
                let dir = in_root::ensure(root, parent, Kind::Dir)?;
                nix::fcntl::openat(
                    &dir,
                    ".",
                    OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?
            }
        };
        let kind = SFlag::from_bits_truncate(d.kind);
        let created = match mknodat(
            &dirfd,
            name,
            kind,
            Mode::from_bits_truncate(d.mode),
            makedev(d.major, d.minor),
        ) {
            Ok(()) => true,
            Err(Errno::EEXIST) => false,
            // In a user namespace mknod is refused: bind the host's node instead, as runc does.
            Err(Errno::EPERM) => {
                bind_host_device(root, &d.path)?;
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("mknod {}", d.path.display())),
        };
        // A node that was there already keeps its old mode unless we set it.
        if !created {
            fchmodat(
                &dirfd,
                name,
                Mode::from_bits_truncate(d.mode),
                nix::sys::stat::FchmodatFlags::NoFollowSymlink,
            )
            .or_else(|e| {
                if e == Errno::EOPNOTSUPP {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .with_context(|| format!("chmod {}", d.path.display()))?;
        }
        if d.uid != 0 || d.gid != 0 {
            fchownat(
                &dirfd,
                name,
                Some(d.uid.into()),
                Some(d.gid.into()),
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .with_context(|| format!("chown {}", d.path.display()))?;
        }
        step!(
            "mknod {} {} {}:{} mode {:o}",
            d.path.display(),
            if d.kind == libc::S_IFBLK { 'b' } else { 'c' },
            d.major,
            d.minor,
            d.mode
        );
        cached = Some((parent, dirfd));
    }
    Ok(())
}

/// The conventional links in /dev.
fn populate_dev_links(root: &OwnedFd) -> Result<()> {
    let dev = in_root::ensure(root, Path::new("/dev"), Kind::Dir)?;
    let devfd = nix::fcntl::openat(
        &dev,
        ".",
        OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    for (link, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
        ("core", "/proc/kcore"),
    ] {
        match nix::unistd::symlinkat(to, &devfd, link) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e).with_context(|| format!("symlink /dev/{link}")),
        }
    }
    Ok(())
}

fn bind_host_device(root: &OwnedFd, path: &Path) -> Result<()> {
    let target = in_root::ensure(root, path, Kind::File)
        .with_context(|| format!("creating {} for a bind", path.display()))?;
    let host = path.to_str().context("device path is not UTF-8")?;
    mnt(
        Some(host),
        &in_root::proc_path(&target),
        None,
        MsFlags::MS_BIND,
        None,
    )
    .with_context(|| format!("binding the host's {host}"))?;
    step!("bind host {host} (mknod refused in a user namespace)");
    Ok(())
}

/// Makes the rootfs `/`. pivot_root, then the old root is detached so that no path in the
/// container leads back to the host; with `no_pivot`, a plain chroot (escapable by a process
/// with CAP_SYS_CHROOT, which is why it is opt-in, as in runc).
pub fn enter(root: &Path, no_pivot: bool) -> Result<()> {
    chdir(root).context("chdir into the rootfs")?;
    if no_pivot {
        mnt(Some("."), "/", None, MsFlags::MS_MOVE, None).context("moving the rootfs to /")?;
        chroot(".").context("chroot into the rootfs")?;
        step!("chroot . (no pivot_root)");
    } else {
        pivot_root(".", ".").context("pivot_root into the rootfs")?;
        step!("pivot_root . .");
        // The old root now sits under the new one; make it a slave so the detach below
        // cannot propagate anywhere, then detach it.
        mnt(None, ".", None, MsFlags::MS_SLAVE | MsFlags::MS_REC, None)
            .context("making the old root a slave")?;
        umount2(".", MntFlags::MNT_DETACH).context("detaching the old root")?;
        step!("umount2 old root MNT_DETACH");
    }
    chdir("/").context("chdir /")?;
    Ok(())
}

/// After pivot: hide what the spec masks, make read-only what it protects, and the root itself.
pub fn finish(plan: &Plan) -> Result<()> {
    for p in &plan.masked {
        let target = p.to_str().context("masked path is not UTF-8")?;
        let r = match std::fs::symlink_metadata(p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("masking {target}")),
            Ok(md) if md.is_dir() => mnt(
                Some("tmpfs"),
                target,
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None,
            ),
            Ok(_) => mnt(Some("/dev/null"), target, None, MsFlags::MS_BIND, None),
        };
        r.with_context(|| format!("masking {target}"))?;
        step!("mask {target}");
    }
    for p in &plan.readonly {
        let target = p.to_str().context("read-only path is not UTF-8")?;
        match mnt(
            Some(target),
            target,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        ) {
            Err(Errno::ENOENT) => continue,
            r => r.with_context(|| format!("binding {target} to make it read-only"))?,
        }
        mnt(
            None,
            target,
            None,
            MsFlags::MS_BIND
                | MsFlags::MS_REMOUNT
                | MsFlags::MS_RDONLY
                | MsFlags::MS_NOSUID
                | MsFlags::MS_NODEV
                | MsFlags::MS_NOEXEC,
            None,
        )
        .with_context(|| format!("making {target} read-only"))?;
        step!("read-only {target}");
    }
    if plan.readonly_root {
        mnt(
            None,
            "/",
            None,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None,
        )
        .context("making the root read-only")?;
        step!("read-only /");
    }
    Ok(())
}
