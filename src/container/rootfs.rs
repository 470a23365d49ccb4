//! The container's filesystem: mounts, /dev, pivot_root, masked and read-only paths.
//!
//! Runs in the child, in its new mount namespace. Every target inside the rootfs is resolved
//! with `in_root` and mounted through its `/proc/self/fd/N` name, so a symlink in the rootfs
//! can never redirect a mount onto the host.

use super::error::{Context, Result};
use super::in_root::{self, Kind};
use super::plan::{MountPlan, Plan};
use crate::step;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::{Mode, SFlag, fchmodat, makedev, mknodat};
use nix::unistd::{chdir, chroot, fchownat, pivot_root};
use std::os::fd::{AsRawFd, OwnedFd};
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
    // The container's copy of the host's mount table takes the root's propagation: private
    // by default, so nothing we mount reaches the host; slave or shared where a mount asks
    // for it (its bind must stay a peer of the host's mount to receive or send events).
    let setup = setup_propagation(plan.rootfs_propagation);
    mnt(None, "/", None, setup, None)
        .with_context(|| format!("setting mount propagation {setup:?} on /"))?;
    step!("mount propagation {setup:?} on /");
    let rootfs = plan
        .rootfs
        .to_str()
        .ok_or_else(|| refused!("rootfs path is not valid UTF-8"))?;
    // runc's rootfsParentMountPrivate: the mount holding the rootfs must not be shared, or
    // the rootfs bind (and a volatile tmpfs) would appear on the host and pivot_root would
    // refuse it. Only that mount: a shared bind source elsewhere stays a peer of the host's.
    if setup.contains(MsFlags::MS_SHARED) {
        make_parent_private(rootfs)?;
    }
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

/// The propagation / has while the container is set up: the requested one, except that
/// unbindable would make the rootfs bind (an unbindable source) fail with EINVAL, so it is set
/// up private and applied after. Shared is kept as runc keeps it (a bind of a shared host
/// mount must stay its peer for bidirectional propagation); the rootfs's own mount is made
/// private instead, see `make_parent_private`.
fn setup_propagation(requested: MsFlags) -> MsFlags {
    if requested.contains(MsFlags::MS_UNBINDABLE) {
        MsFlags::MS_PRIVATE | MsFlags::MS_REC
    } else {
        requested
    }
}

/// The mount point holding `path` in a mountinfo text (the deepest, the last mounted where
/// several are stacked) and whether it is shared. Pure.
fn holding_mount(mountinfo: &str, path: &Path) -> Option<(PathBuf, bool)> {
    let mut best: Option<(PathBuf, bool)> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(point) = fields.get(4).map(|p| unescape_mountinfo(p)) else {
            continue;
        };
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        if !path.starts_with(&point) {
            continue;
        }
        let shared = fields[6..sep].iter().any(|f| f.starts_with("shared:"));
        let deeper = best
            .as_ref()
            .is_none_or(|(b, _)| point.components().count() >= b.components().count());
        if deeper {
            best = Some((point, shared));
        }
    }
    best
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(field: &str) -> PathBuf {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|d| u8::from_str_radix(d, 8).ok())
        });
        match octal {
            Some(c) if b[i] == b'\\' => {
                out.push(c);
                i += 4;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(out))
}

fn make_parent_private(rootfs: &str) -> Result<()> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").context("reading mountinfo")?;
    if let Some((point, true)) = holding_mount(&info, Path::new(rootfs)) {
        mnt(
            None,
            &point.to_string_lossy(),
            None,
            MsFlags::MS_PRIVATE,
            None,
        )
        .with_context(|| format!("making {} (the rootfs's mount) private", point.display()))?;
        step!("mount --make-private {}", point.display());
    }
    Ok(())
}

/// After pivot_root and the last mount: rootfsPropagation shared or unbindable, on /.
pub fn apply_root_propagation(plan: &Plan) -> Result<()> {
    let requested = plan.rootfs_propagation;
    if !requested.intersects(MsFlags::MS_SHARED | MsFlags::MS_UNBINDABLE) {
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
    if !m.bind && m.typ == "proc" {
        refuse_non_directory(root, m)?;
    }
    let kind = if m.bind && !Path::new(&m.source).is_dir() {
        Kind::File
    } else {
        Kind::Dir
    };
    let target = in_root::ensure(root, &m.destination, kind)
        .with_context(|| format!("preparing mount point {dest}"))?;
    let tpath = in_root::proc_path(&target);
    if m.bind {
        bind_mount(root, m, &tpath)?;
    } else {
        fs_mount(root, m, &tpath)?;
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

/// A bind mount on `tpath` (the mount point's /proc/self/fd path), then the flags a bind
/// ignores applied by a remount.
fn bind_mount(root: &OwnedFd, m: &MountPlan, tpath: &str) -> Result<()> {
    let dest = m.destination.display();
    mnt(
        Some(&m.source),
        tpath,
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
    // The remount makes only the top mount read-only: the mounts below the source that
    // rbind brought along stay writable unless the whole tree is (Docker 25+ does this).
    if m.flags.contains(MsFlags::MS_REC | MsFlags::MS_RDONLY) {
        let mounted = reopen_mounted(root, m)?;
        recursive_readonly(&mounted)
            .with_context(|| format!("making {dest} and the mounts below it read-only"))?;
        step!("mount_setattr {dest} MOUNT_ATTR_RDONLY AT_RECURSIVE");
    }
    Ok(())
}

/// A filesystem (proc, sysfs, tmpfs, cgroup, …) mounted on `tpath`, with the fallbacks the
/// kernel's refusals call for.
fn fs_mount(root: &OwnedFd, m: &MountPlan, tpath: &str) -> Result<()> {
    let dest = m.destination.display();
    let data = (!m.data.is_empty()).then_some(m.data.as_str());
    let fstype = m.typ.as_str();
    let r = mnt(Some(&m.source), tpath, Some(fstype), m.flags, data);
    match r {
        // sysfs cannot be mounted in a net namespace we did not create (network: host
        // inside a user namespace, or joined): bind the host's /sys instead, as runc does,
        // read-only when the mount asked for it.
        Err(Errno::EPERM) if fstype == "sysfs" => bind_host_sys(root, m, tpath),
        // A user namespace gets a fresh procfs only if the host's /proc shows everything:
        // a path covered by another mount (as runtimes mask /proc/kcore) makes the kernel
        // refuse it. Binding the host's /proc instead would show the host's processes.
        Err(Errno::EPERM) if fstype == "proc" => bail!(
            "mounting proc on {dest}: the kernel refused a fresh procfs (Operation not \
             permitted), as it does in a user namespace while the host's /proc has paths \
             covered by other mounts"
        ),
        // A v1 "cgroup" mount without controllers asks for all of them in one hierarchy,
        // which a hybrid host (v1 controllers already mounted separately) refuses. minirun
        // manages no cgroups, so the container gets the unified (v2) view instead. So
        // does one in a cgroup namespace, where the kernel answers EPERM.
        Err(Errno::EBUSY | Errno::EPERM) if fstype == "cgroup" => {
            match mnt(Some("cgroup2"), tpath, Some("cgroup2"), m.flags, None) {
                // A user namespace without a cgroup namespace of its own (rootless
                // podman's) may mount no cgroupfs: an empty read-only tmpfs, not the
                // host's tree (crun binds it), so no cgroup above the container's shows.
                Err(Errno::EPERM) => mnt(
                    Some("tmpfs"),
                    tpath,
                    Some("tmpfs"),
                    m.flags | MsFlags::MS_RDONLY,
                    Some("size=4k,mode=555"),
                ),
                r => r,
            }
        }
        r => r,
    }
    .with_context(|| format!("mounting {fstype} on {dest}"))?;
    Ok(())
}

/// The host's /sys bound where a fresh sysfs was refused: recursively (a plain bind of a
/// tree whose submounts the user namespace may not uncover is refused too), and read-only
/// all the way down when the mount asked for `ro`.
fn bind_host_sys(root: &OwnedFd, m: &MountPlan, target: &str) -> nix::Result<()> {
    mnt(
        Some("/sys"),
        target,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )?;
    if m.flags.contains(MsFlags::MS_RDONLY) {
        let mounted = reopen_mounted(root, m).map_err(|_| Errno::ENOENT)?;
        set_read_only(&mounted, true)
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    }
    step!(
        "bind host /sys on {} (a fresh sysfs was refused)",
        m.destination.display()
    );
    Ok(())
}

/// proc goes on an ordinary directory only, as runc insists: through a symlink (`/proc -> /`),
/// in-root resolution would mount it over whatever it names, the root itself, and hide the
/// workload's binaries. (runc refuses sysfs alike; minirun still mounts sysfs through a
/// symlink, inside the root.)
fn refuse_non_directory(root: &OwnedFd, m: &MountPlan) -> Result<()> {
    let dest = m.destination.display();
    let what = match in_root::lstat(root, &m.destination) {
        Ok(Some(st)) => match SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT) {
            SFlag::S_IFDIR => return Ok(()),
            SFlag::S_IFLNK => "a symlink",
            SFlag::S_IFREG => "a file",
            _ => "not a directory",
        },
        Ok(None) => return Ok(()),
        Err(e) => {
            return Err(e).with_context(|| format!("resolving {dest} in the rootfs"));
        }
    };
    bail!(
        "mounting {} on {dest}: {dest} is {what} in the rootfs, and {} must be mounted on a directory",
        m.typ,
        m.typ
    )
}

/// mount_setattr(2): read-only for the mount `fd` names, and with `recursive` for every mount
/// below it too. Shared with the sealed re-exec, which makes its private bind of the binary
/// read-only the same way.
pub(crate) fn set_read_only(fd: &impl AsRawFd, recursive: bool) -> std::io::Result<()> {
    super::mount_attr::set(fd, super::mount_attr::RDONLY, recursive)
}

/// Read-only for the mount `fd` names and every mount below it.
fn recursive_readonly(fd: &OwnedFd) -> Result<()> {
    match set_read_only(fd, true) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => bail!(
            "this kernel has no mount_setattr(2) (Linux 5.12 and later), which a recursive \
             read-only bind needs: use a non-recursive bind (`bind,ro`)"
        ),
        Err(e) => Err(e).context("mount_setattr"),
    }
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
        let name = d
            .path
            .file_name()
            .ok_or_else(|| refused!("device path has no name"))?;
        let dirfd = match cached.take() {
            Some((p, fd)) if p == parent => fd,
            _ => {
                let dir = in_root::ensure(root, parent, Kind::Dir)?;
                nix::fcntl::openat(
                    &dir,
                    ".",
                    OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .with_context(|| format!("opening {}", parent.display()))?
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
            // Anywhere else EPERM is a real refusal (the device rules), not a cue to bind.
            Err(Errno::EPERM) if in_user_namespace(plan) => {
                bind_host_device(root, d)?;
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
            match d.kind {
                libc::S_IFBLK => 'b',
                libc::S_IFIFO => 'p',
                _ => 'c',
            },
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
    )
    .context("opening /dev")?;
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

/// Whether mknod of a device is impossible here: the container has a user namespace (made or
/// joined), or minirun itself runs in one (its uid map is not the whole range).
fn in_user_namespace(plan: &Plan) -> bool {
    use oci_spec::runtime::LinuxNamespaceType;
    plan.namespaces
        .iter()
        .any(|n| n.typ == LinuxNamespaceType::User)
        || std::fs::read_to_string("/proc/self/uid_map")
            .is_ok_and(|m| m.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
}

/// Binds the host's node for `d`: only one that exists and is the very device listed, so a
/// config can never bind a different host node than the one it names.
fn bind_host_device(root: &OwnedFd, d: &super::plan::DevicePlan) -> Result<()> {
    let path = d.path.as_path();
    let host = path
        .to_str()
        .ok_or_else(|| refused!("device path is not UTF-8"))?;
    let st = match nix::sys::stat::stat(path) {
        Ok(st) => st,
        Err(Errno::ENOENT) => bail!(
            "linux.devices: {host}: mknod is refused in a user namespace and the host has no \
             {host} to bind instead"
        ),
        Err(e) => return Err(e).with_context(|| format!("stat of the host's {host}")),
    };
    if st.st_mode & libc::S_IFMT != d.kind || st.st_rdev != makedev(d.major, d.minor) {
        bail!(
            "linux.devices: {host}: mknod is refused in a user namespace and the host's {host} \
             is not device {}:{} of that type, so it is not bound instead",
            d.major,
            d.minor
        );
    }
    let target = in_root::ensure(root, path, Kind::File)
        .with_context(|| format!("creating {} for a bind", path.display()))?;
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
        let old_root = nix::fcntl::open(
            "/",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .context("opening the old root")?;
        pivot_root(".", ".").context("pivot_root into the rootfs")?;
        step!("pivot_root . .");
        // The old root is now stacked on the new one, but "." still names the new root's
        // mount: into the old one itself (as runc does), or the flags below would reach the
        // container's own mounts too (and cut a shared bind off from its host peers).
        nix::unistd::fchdir(&old_root).context("fchdir into the old root")?;
        drop(old_root);
        // A slave, so that the detach below cannot propagate anywhere; then detached.
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
        let target = p
            .to_str()
            .ok_or_else(|| refused!("masked path is not UTF-8"))?;
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
        let target = p
            .to_str()
            .ok_or_else(|| refused!("read-only path is not UTF-8"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mount_holding_the_rootfs() {
        let info = "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
                    40 27 0:50 / /tmp rw - tmpfs tmpfs rw\n\
                    41 40 0:51 / /tmp/my\\040dir rw shared:7 master:2 - tmpfs tmpfs rw\n\
                    42 40 0:52 / /tmp/my rw - tmpfs tmpfs rw\n";
        let at = |p: &str| holding_mount(info, Path::new(p));
        assert_eq!(at("/srv/rootfs"), Some(("/".into(), true)));
        assert_eq!(at("/tmp/x/rootfs"), Some(("/tmp".into(), false)));
        assert_eq!(at("/tmp/my dir/rootfs"), Some(("/tmp/my dir".into(), true)));
        // /tmp/my is not a prefix of /tmp/mydir (whole components only).
        assert_eq!(at("/tmp/mydir"), Some(("/tmp".into(), false)));
        let stacked = format!("{info}43 27 0:53 / /tmp rw shared:9 - tmpfs tmpfs rw\n");
        assert_eq!(
            holding_mount(&stacked, Path::new("/tmp/x")),
            Some(("/tmp".into(), true))
        );
    }

    #[test]
    fn setup_keeps_shared_and_defers_unbindable() {
        let rshared = MsFlags::MS_SHARED | MsFlags::MS_REC;
        assert_eq!(setup_propagation(rshared), rshared);
        assert_eq!(
            setup_propagation(MsFlags::MS_UNBINDABLE | MsFlags::MS_REC),
            MsFlags::MS_PRIVATE | MsFlags::MS_REC
        );
    }
}
