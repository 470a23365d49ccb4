//! Paths inside a rootfs, resolved so that they can never leave it.
//!
//! A rootfs is untrusted: `/mnt -> /` or `../../..` inside it must not make a bind mount, a
//! device node or a passwd lookup land on the host (CVE-2021-30465). Every lookup goes through
//! openat2 with RESOLVE_IN_ROOT, which treats the rootfs fd as `/` for `..` and absolute symlinks.

use super::error::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::{Mode, mkdirat};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Component, Path};

fn how(flags: OFlag) -> OpenHow {
    OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS)
}

/// Opens `path` (absolute or relative, taken relative to the root) inside `root`.
pub fn open(root: impl AsFd, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    openat2(root, rel, how(flags))
}

/// Reads a small text file inside `root`; Ok(None) when it does not exist.
pub fn read_to_string(root: impl AsFd, path: &Path) -> Result<Option<String>> {
    match open(root, path, OFlag::O_RDONLY) {
        Ok(fd) => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::fs::File::from(fd), &mut s)
                .with_context(|| format!("reading {}", path.display()))?;
            Ok(Some(s))
        }
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("opening {} in the rootfs", path.display())),
    }
}

/// Reads a container-controlled text file from the host, as `minirun ps` reads the
/// container's /etc/passwd: Ok(None) unless `path` is a regular file of at most `cap` bytes.
///
/// The container may have made the path anything: a FIFO (a plain open blocks for ever), a
/// block node of a host disk (the host's open is not bound by the container's device rules),
/// /dev/zero (never ends), or a procfs file such as /proc/kmsg (reading it consumes the host's
/// log). So the path is opened O_PATH (which opens no device and waits on no FIFO), checked on
/// that fd, and only then reopened for reading, non-blocking, through the fd itself (the very
/// inode checked, whatever the container renames meanwhile); at most the size the inode
/// reported is read, and a size-0 pseudo-file is never read at all.
pub fn read_untrusted(root: impl AsFd, path: &Path, cap: u64) -> Result<Option<String>> {
    let fd = match open(root, path, OFlag::O_PATH) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("opening {} in the rootfs", path.display()));
        }
    };
    let st = nix::sys::stat::fstat(&fd).with_context(|| format!("fstat {}", path.display()))?;
    let size = u64::try_from(st.st_size).unwrap_or(0);
    if st.st_mode & libc::S_IFMT != libc::S_IFREG || size == 0 {
        return Ok(None);
    }
    if size > cap {
        bail!(
            "{} is {size} bytes, more than the {cap} read from a container",
            path.display()
        );
    }
    let fs =
        nix::sys::statfs::fstatfs(&fd).with_context(|| format!("statfs {}", path.display()))?;
    if [
        nix::sys::statfs::PROC_SUPER_MAGIC,
        nix::sys::statfs::SYSFS_MAGIC,
    ]
    .contains(&fs.filesystem_type())
    {
        return Ok(None);
    }
    let file = nix::fcntl::open(
        proc_path(&fd).as_str(),
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("reopening {}", path.display()))?;
    let mut bytes = Vec::with_capacity(size as usize);
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::from(file), size),
        &mut bytes,
    )
    .with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The file `path` names inside `root`, its last component not followed (lstat): Ok(None)
/// when it does not exist.
pub fn lstat(root: impl AsFd, path: &Path) -> nix::Result<Option<nix::sys::stat::FileStat>> {
    match open(root, path, OFlag::O_PATH | OFlag::O_NOFOLLOW) {
        Ok(fd) => nix::sys::stat::fstat(&fd).map(Some),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What a mount target must be: a directory, or a file (for binding a file or /dev/null).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// Creates `path` inside `root` (parents as directories) if missing, and returns an O_PATH fd
/// for it. Each step is re-resolved inside the root, so a symlink planted anywhere on the way
/// is followed only within the rootfs.
pub fn ensure(root: impl AsFd, path: &Path, kind: Kind) -> Result<OwnedFd> {
    ensure_at_depth(root.as_fd(), path, kind, 0)
}

/// Symlinks followed while creating, at most: the kernel's own limit (ELOOP).
const MAX_LINKS: u32 = 40;

fn ensure_at_depth(
    root: std::os::fd::BorrowedFd,
    path: &Path,
    kind: Kind,
    links: u32,
) -> Result<OwnedFd> {
    let comps: Vec<_> = path
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    // Fast path: the target usually exists already (/proc, /dev, /sys in any rootfs; each
    // device node's /dev). One openat2 of the whole path, resolved inside the root exactly as
    // the walk's last step would resolve it, replaces the walk's 2 lookups per component.
    if !comps.is_empty() {
        let whole: std::path::PathBuf = comps.iter().collect();
        let flags = match kind {
            Kind::File => OFlag::O_PATH,
            Kind::Dir => OFlag::O_PATH | OFlag::O_DIRECTORY,
        };
        if let Ok(fd) = open(root, &whole, flags) {
            return Ok(fd);
        }
    }
    let mut at = open(root, Path::new("/"), OFlag::O_PATH | OFlag::O_DIRECTORY)
        .context("opening the rootfs")?;
    for (i, comp) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let name = Path::new(comp.as_os_str());
        // Resolved from the root, so that a symlink component is confined to it.
        let sofar: std::path::PathBuf = comps[..=i].iter().collect();
        let existing = open(root, &sofar, OFlag::O_PATH);
        match existing {
            Ok(_) => {}
            // A symlink to something missing (`/var/run -> /run` in a rootfs without /run):
            // what it names is created, inside the root, as runc does.
            Err(Errno::ENOENT) if dangling_link(root, &sofar).is_some() => {
                if links >= MAX_LINKS {
                    bail!(
                        "creating {} in the rootfs: too many levels of symlinks",
                        path.display()
                    );
                }
                let target = dangling_link(root, &sofar).unwrap_or_default();
                let target = lexical(&sofar.parent().unwrap_or(Path::new("")).join(target));
                let step_kind = if last { kind } else { Kind::Dir };
                drop(ensure_at_depth(root, &target, step_kind, links + 1)?);
            }
            Err(Errno::ENOENT) if last && kind == Kind::File => {
                let fd = open(
                    root,
                    &sofar,
                    OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_NOFOLLOW,
                )
                .or_else(|e| match e {
                    Errno::EEXIST => open(root, &sofar, OFlag::O_PATH),
                    e => Err(e),
                })
                .with_context(|| format!("creating {} in the rootfs", path.display()))?;
                drop(fd);
            }
            Err(Errno::ENOENT) => {
                match mkdirat(at.as_fd(), name, Mode::from_bits_truncate(0o755)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => {
                        return Err(e).with_context(|| {
                            format!("creating {} in the rootfs", sofar.display())
                        });
                    }
                }
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("resolving {} in the rootfs", path.display()));
            }
        }
        let flags = if last && kind == Kind::File {
            OFlag::O_PATH
        } else {
            OFlag::O_PATH | OFlag::O_DIRECTORY
        };
        at = open(root, &sofar, flags)
            .with_context(|| format!("resolving {} in the rootfs", sofar.display()))?;
    }
    if comps.is_empty() && kind == Kind::File {
        bail!("{} is the rootfs itself, not a file", path.display());
    }
    Ok(at)
}

/// `path` with `.` and `..` applied as names (`..` stops at the root): a symlink's target
/// taken relative to the root, as RESOLVE_IN_ROOT takes it.
fn lexical(path: &Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir => out.clear(),
            Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The target of `path` inside `root` when it is a symlink (whose target, being followed
/// just before, is missing).
fn dangling_link(root: std::os::fd::BorrowedFd, path: &Path) -> Option<std::path::PathBuf> {
    let fd = open(root, path, OFlag::O_PATH | OFlag::O_NOFOLLOW).ok()?;
    nix::fcntl::readlinkat(&fd, "")
        .ok()
        .map(std::path::PathBuf::from)
}

/// The `/proc/self/fd/N` name of an fd: how mount(2) is pointed at a target resolved above.
pub fn proc_path(fd: &impl AsRawFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("minirun-inroot-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn dirfd(p: &Path) -> OwnedFd {
        nix::fcntl::open(p, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap()
    }

    #[test]
    fn symlink_to_host_root_stays_inside() {
        let host = tmpdir("host");
        let root = host.join("rootfs");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/passwd"), "inside\n").unwrap();
        std::fs::write(host.join("secret"), "host\n").unwrap();
        symlink("/", root.join("mnt")).unwrap();
        symlink("../../..", root.join("up")).unwrap();
        let rfd = dirfd(&root);
        // `/mnt/etc/passwd` resolves to the rootfs's own passwd, never the host's.
        let s = read_to_string(&rfd, Path::new("/mnt/etc/passwd")).unwrap();
        assert_eq!(s.as_deref(), Some("inside\n"));
        assert_eq!(read_to_string(&rfd, Path::new("/up/secret")).unwrap(), None);
        // Creating through the symlink creates inside the rootfs.
        ensure(&rfd, Path::new("/mnt/newdir/sub"), Kind::Dir).unwrap();
        assert!(root.join("newdir/sub").is_dir());
        ensure(&rfd, Path::new("/up/file"), Kind::File).unwrap();
        assert!(root.join("file").is_file());
        assert!(!host.join("file").exists());
        // Existing targets (the fast path) resolve inside the rootfs too.
        use std::os::unix::fs::MetadataExt;
        let ino = |fd: &OwnedFd| nix::sys::stat::fstat(fd).unwrap().st_ino;
        let etc = ensure(&rfd, Path::new("/mnt/etc"), Kind::Dir).unwrap();
        assert_eq!(
            ino(&etc),
            std::fs::metadata(root.join("etc")).unwrap().ino()
        );
        let pw = ensure(&rfd, Path::new("/up/etc/passwd"), Kind::File).unwrap();
        assert_eq!(
            ino(&pw),
            std::fs::metadata(root.join("etc/passwd")).unwrap().ino()
        );
        assert!(ensure(&rfd, Path::new("/etc/passwd"), Kind::Dir).is_err());
        std::fs::remove_dir_all(&host).unwrap();
    }

    #[test]
    fn dangling_symlinks_are_created_inside() {
        let host = tmpdir("dangling");
        let root = host.join("rootfs");
        std::fs::create_dir_all(root.join("var")).unwrap();
        symlink("/missing/dir", root.join("abs")).unwrap();
        symlink("../gone", root.join("var/rel")).unwrap();
        symlink("../../../../escape", root.join("up")).unwrap();
        symlink("loop2", root.join("loop1")).unwrap();
        symlink("loop1", root.join("loop2")).unwrap();
        let rfd = dirfd(&root);
        ensure(&rfd, Path::new("/abs/sub"), Kind::Dir).unwrap();
        assert!(root.join("missing/dir/sub").is_dir());
        ensure(&rfd, Path::new("/var/rel/f"), Kind::File).unwrap();
        assert!(root.join("gone/f").is_file());
        ensure(&rfd, Path::new("/up/x"), Kind::Dir).unwrap();
        assert!(root.join("escape/x").is_dir());
        assert!(!host.join("escape").exists());
        let e = ensure(&rfd, Path::new("/loop1/x"), Kind::Dir).unwrap_err();
        let line = crate::error_chain::one_line(&e);
        assert!(line.contains("ELOOP"), "{line}");
        std::fs::remove_dir_all(&host).unwrap();
    }
}
