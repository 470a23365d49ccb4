//! capprobe: asks the kernel, one harmless operation per capability, whether this process holds it.
//!
//! Runs inside a minirun container (static, libc only). Each probe picks an operation whose only
//! permission check the container could fail is the capability in question, performs it on
//! something the probe made itself (a scratch directory under /tmp, a forked child, a socket), and
//! undoes what it did. Anything that would change the probe's own credentials, limits or priority
//! happens in a forked child. Output is one JSON line per capability:
//!
//! `{"capability":"setuid","number":7,"operation":"...","result":"allowed"}`
//!
//! `result` is one of:
//! - `allowed`: the kernel got past its capability check. When the call then failed for an
//!   expected reason that has nothing to do with privilege, `detail` names the errno.
//! - an errno name: what the kernel refused with. Mostly `EPERM`; plain permission-bit, port,
//!   SysV IPC, nice, lease and perf checks answer `EACCES`, and `detail` says so.
//! - `EPERM` with a `detail` when the kernel refuses silently, by clearing a bit instead of
//!   failing (fsetid: S_ISGID; block_suspend: EPOLLWAKEUP).
//! - `not-probed` with a `reason`: nothing harmless shows this capability here.

use std::ffi::{CStr, CString};
use std::io::Error;
use std::os::raw::{c_int, c_void};

mod syscall;

type Probe = fn() -> Result<Outcome, Outcome>;

/// Index = capability number: name, the operation (the same words as minirun's `explain`), probe.
const PROBES: [(&str, &str, Probe); 41] = [
    ("chown", "chown a scratch file in /tmp to uid 1000", p_chown),
    (
        "dac_override",
        "open a mode-000 scratch file with O_RDWR",
        p_dac_override,
    ),
    (
        "dac_read_search",
        "open_by_handle_at on a scratch file's handle",
        p_dac_read_search,
    ),
    ("fowner", "chmod a scratch file owned by uid 1000", p_fowner),
    (
        "fsetid",
        "chmod g+s a scratch file whose group the caller is not in, then stat it",
        p_fsetid,
    ),
    (
        "kill",
        "kill(pid, 0) on a forked child running as uid 1000",
        p_kill,
    ),
    ("setgid", "setresgid(65534) in a forked child", p_setgid),
    ("setuid", "setresuid(65534) in a forked child", p_setuid),
    (
        "setpcap",
        "prctl(PR_CAPBSET_DROP, cap_last_cap) in a forked child",
        p_setpcap,
    ),
    (
        "linux_immutable",
        "set then clear FS_IMMUTABLE_FL on a scratch file (FS_IOC_SETFLAGS)",
        p_linux_immutable,
    ),
    (
        "net_bind_service",
        "bind a TCP socket to 127.0.0.1:80",
        p_net_bind_service,
    ),
    (
        "net_broadcast",
        "none: the kernel never checks this capability",
        p_net_broadcast,
    ),
    (
        "net_admin",
        "SIOCSIFFLAGS on lo with the flags it already has",
        p_net_admin,
    ),
    (
        "net_raw",
        "socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)",
        p_net_raw,
    ),
    (
        "ipc_lock",
        "mlock one page in a forked child whose RLIMIT_MEMLOCK is 0",
        p_ipc_lock,
    ),
    (
        "ipc_owner",
        "IPC_STAT on a mode-0600 SysV shm segment made by a child running as uid 1000",
        p_ipc_owner,
    ),
    (
        "sys_module",
        "delete_module(minirun_no_such_module)",
        p_sys_module,
    ),
    ("sys_rawio", "ioctl(FIBMAP) on a scratch file", p_sys_rawio),
    ("sys_chroot", "chroot(/) in a forked child", p_sys_chroot),
    (
        "sys_ptrace",
        "PTRACE_SEIZE a forked child running as uid 1000",
        p_sys_ptrace,
    ),
    (
        "sys_pacct",
        "acct() on a path that does not exist",
        p_sys_pacct,
    ),
    (
        "sys_admin",
        "sethostname to the current hostname",
        p_sys_admin,
    ),
    ("sys_boot", "reboot() with wrong magic numbers", p_sys_boot),
    (
        "sys_nice",
        "setpriority to one below the current nice value in a forked child",
        p_sys_nice,
    ),
    (
        "sys_resource",
        "lower then raise the RLIMIT_NOFILE hard limit by one in a forked child",
        p_sys_resource,
    ),
    (
        "sys_time",
        "settimeofday(NULL, NULL), which changes nothing",
        p_sys_time,
    ),
    (
        "sys_tty_config",
        "vhangup() in a forked child without a controlling terminal",
        p_sys_tty_config,
    ),
    (
        "mknod",
        "mknod a character device 1:3 in a scratch dir, then unlink it",
        p_mknod,
    ),
    (
        "lease",
        "F_SETLEASE F_RDLCK on a scratch file owned by uid 1000",
        p_lease,
    ),
    (
        "audit_write",
        "send an AUDIT_USER_MSG on a NETLINK_AUDIT socket and read the ack",
        p_audit_write,
    ),
    (
        "audit_control",
        "set /proc/self/loginuid, then unset it, in a forked child",
        p_audit_control,
    ),
    (
        "setfcap",
        "setxattr security.capability (v2, empty sets) on a scratch file",
        p_setfcap,
    ),
    (
        "mac_override",
        "none: only an LSM checks this capability",
        p_mac,
    ),
    (
        "mac_admin",
        "none: only an LSM checks this capability",
        p_mac,
    ),
    ("syslog", "syslog(SYSLOG_ACTION_SIZE_UNREAD)", p_syslog),
    (
        "wake_alarm",
        "timerfd_create(CLOCK_REALTIME_ALARM)",
        p_wake_alarm,
    ),
    (
        "block_suspend",
        "epoll_ctl with EPOLLWAKEUP, then read the flags back from fdinfo",
        p_block_suspend,
    ),
    (
        "audit_read",
        "bind a NETLINK_AUDIT socket to the readlog multicast group",
        p_audit_read,
    ),
    (
        "perfmon",
        "perf_event_open of a software event that also counts kernel mode",
        p_perfmon,
    ),
    ("bpf", "bpf(BPF_MAP_CREATE) of a one-entry array map", p_bpf),
    (
        "checkpoint_restore",
        "clone3 with set_tid naming a pid already in use",
        p_checkpoint_restore,
    ),
];

// ---------------------------------------------------------------------------------------------
// Outcomes and errno names
// ---------------------------------------------------------------------------------------------

/// A syscall's result: the value, or the errno.
type Res = Result<i64, i32>;

struct Outcome {
    result: String,
    detail: Option<String>,
    reason: Option<String>,
}

impl Outcome {
    fn new(result: String) -> Outcome {
        Outcome {
            result,
            detail: None,
            reason: None,
        }
    }
    fn of<T>(r: Result<T, i32>) -> Outcome {
        Outcome::new(r.map_or_else(errno_name, |_| "allowed".into()))
    }
    fn not_probed(reason: impl Into<String>) -> Outcome {
        Outcome {
            reason: Some(reason.into()),
            ..Outcome::new("not-probed".into())
        }
    }
    /// Ok, or an errno in `past` (ones the kernel returns only after its capability check),
    /// counts as allowed.
    fn past_check(r: Res, past: &[i32], why: &str) -> Outcome {
        match r {
            Err(e) if past.contains(&e) => Outcome::of(Ok(0)).detail(format!(
                "the kernel answered {} after the capability check: {why}",
                errno_name(e)
            )),
            r => Outcome::of(r),
        }
    }
    fn detail(mut self, d: impl Into<String>) -> Outcome {
        self.detail = Some(d.into());
        self
    }
    /// Adds `d` when the result is `result` and no detail is set yet.
    fn explain(self, result: &str, d: impl Into<String>) -> Outcome {
        if self.result == result && self.detail.is_none() {
            self.detail(d)
        } else {
            self
        }
    }
    fn json(&self, cap: u8, name: &str, op: &str) -> String {
        let mut line = format!(
            "{{\"capability\":{},\"number\":{cap},\"operation\":{},\"result\":{}",
            json_str(name),
            json_str(op),
            json_str(&self.result)
        );
        for (key, v) in [("detail", &self.detail), ("reason", &self.reason)] {
            if let Some(v) = v {
                line.push_str(&format!(",\"{key}\":{}", json_str(v)));
            }
        }
        line + "}"
    }
}

macro_rules! errno_names {
    ($e:expr, $($name:ident),*) => {
        match $e { $(libc::$name => stringify!($name).to_string(),)* e => format!("errno-{e}") }
    };
}

fn errno_name(e: i32) -> String {
    errno_names!(
        e,
        EPERM,
        ENOENT,
        ESRCH,
        EINTR,
        EIO,
        ENXIO,
        EBADF,
        ECHILD,
        EAGAIN,
        ENOMEM,
        EACCES,
        EFAULT,
        EBUSY,
        EEXIST,
        EXDEV,
        ENODEV,
        ENOTDIR,
        EISDIR,
        EINVAL,
        ENFILE,
        EMFILE,
        ENOTTY,
        ENOSPC,
        EROFS,
        EPIPE,
        ERANGE,
        ENAMETOOLONG,
        ENOSYS,
        ENODATA,
        ENOTSOCK,
        EPROTONOSUPPORT,
        EOPNOTSUPP,
        EAFNOSUPPORT,
        EADDRINUSE,
        EADDRNOTAVAIL,
        ECONNREFUSED,
        ETIMEDOUT
    )
}

fn errno() -> i32 {
    Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A raw return value as a Result: -1 means "look at errno".
fn sys<T: Into<i64>>(rc: T) -> Res {
    let rc = rc.into();
    if rc == -1 { Err(errno()) } else { Ok(rc) }
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => o.extend(['\\', c]),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o + "\""
}

fn cstr(s: &str) -> CString {
    CString::new(s).expect("paths we build have no NUL")
}

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn last_cap() -> u8 {
    read_trim("/proc/sys/kernel/cap_last_cap")
        .and_then(|s| s.parse().ok())
        .unwrap_or(40)
}

fn has_effective(cap: u8) -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| Some(l.strip_prefix("CapEff:")?.trim().to_string()))
        })
        .and_then(|v| u64::from_str_radix(&v, 16).ok())
        .is_some_and(|m| m & (1 << cap) != 0)
}

// ---------------------------------------------------------------------------------------------
// Safe wrappers for the calls several probes share
// ---------------------------------------------------------------------------------------------

fn close(fd: i64) {
    // SAFETY: callers pass only fds they opened and do not use afterwards.
    unsafe { libc::close(fd as c_int) };
}

fn open(p: &CStr, flags: c_int) -> Res {
    // SAFETY: p is NUL-terminated; the mode only matters with O_CREAT.
    sys(unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC, 0o600) })
}

fn chown(p: &CStr, uid: u32, gid: u32) -> Res {
    // SAFETY: p is NUL-terminated; u32::MAX (-1) leaves that id unchanged.
    sys(unsafe { libc::chown(p.as_ptr(), uid, gid) })
}

fn chmod(p: &CStr, mode: u32) -> Res {
    // SAFETY: p is NUL-terminated.
    sys(unsafe { libc::chmod(p.as_ptr(), mode) })
}

fn stat(p: &CStr) -> Result<libc::stat, i32> {
    // SAFETY: stat is plain data; all zeroes is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: p is NUL-terminated and st is a valid out-pointer.
    sys(unsafe { libc::stat(p.as_ptr(), &mut st) }).map(|_| st)
}

/// Real and effective uid, then real and effective gid.
fn ids() -> [u32; 4] {
    // SAFETY: these four calls cannot fail and touch no memory.
    unsafe {
        [
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
        ]
    }
}

fn groups() -> Vec<libc::gid_t> {
    let mut g = vec![0; 256];
    // SAFETY: the buffer holds 256 gids and that is the length passed.
    let n = unsafe { libc::getgroups(256, g.as_mut_ptr()) };
    g.truncate(n.max(0) as usize);
    g
}

fn setgroups_empty() -> Res {
    // SAFETY: a NULL list of length 0 is valid and clears the supplementary groups.
    sys(unsafe { libc::setgroups(0, std::ptr::null()) })
}

fn setresgid(g: u32) -> Res {
    // SAFETY: scalar arguments only.
    sys(unsafe { libc::setresgid(g, g, g) })
}

fn setresuid(u: u32) -> Res {
    // SAFETY: scalar arguments only.
    sys(unsafe { libc::setresuid(u, u, u) })
}

/// A uid that is not ours: 1000 (the fixture's `app`), or 65534 when we are 1000.
fn other_uid() -> u32 {
    if ids()[..2].contains(&1000) {
        65534
    } else {
        1000
    }
}

/// A gid that is none of ours (real, effective or supplementary).
fn other_gid() -> u32 {
    let (mine, g) = (ids(), groups());
    [1000, 65534, 4242]
        .into_iter()
        .find(|x| !mine[2..].contains(x) && !g.contains(x))
        .unwrap_or(4243)
}

/// Switches this (forked) process to `uid` and `gid` with no supplementary groups. With `gid`
/// None the group switch is best effort (CAP_SETGID may be missing): those callers depend only on
/// the uid being different.
fn become_user(uid: u32, gid: Option<u32>) -> Result<(), String> {
    let what = |call: &str, e| format!("{call} failed: {}", errno_name(e));
    let strict = gid.is_some();
    let gid = gid.unwrap_or_else(other_gid);
    if let Err(e) = setgroups_empty()
        && strict
        && !groups().is_empty()
    {
        return Err(what("setgroups([])", e));
    }
    if let (Err(e), true) = (setresgid(gid), strict) {
        return Err(what(&format!("setresgid({gid})"), e));
    }
    setresuid(uid)
        .map(drop)
        .map_err(|e| what(&format!("setresuid({uid})"), e))
}

// ---------------------------------------------------------------------------------------------
// Scratch directory under /tmp: removed on drop, with every path recorded in it
// ---------------------------------------------------------------------------------------------

struct Scratch {
    dir: String,
    files: Vec<CString>,
}

impl Scratch {
    fn new() -> Result<Scratch, Outcome> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        for i in 0..100 {
            let dir = format!("/tmp/capprobe.{}.{nanos}.{i}", std::process::id());
            let c = cstr(&dir);
            // SAFETY: c is NUL-terminated.
            match sys(unsafe { libc::mkdir(c.as_ptr(), 0o700) }) {
                Ok(_) => {
                    return Ok(Scratch {
                        dir,
                        files: Vec::new(),
                    });
                }
                Err(libc::EEXIST) => continue,
                Err(e) => {
                    return Err(Outcome::not_probed(format!(
                        "mkdir {dir}: {}",
                        errno_name(e)
                    )));
                }
            }
        }
        Err(Outcome::not_probed("no free scratch name under /tmp"))
    }

    fn path(&mut self, name: &str) -> CString {
        let p = cstr(&format!("{}/{name}", self.dir));
        self.files.push(p.clone());
        p
    }

    /// An empty file of ours with exactly `mode`.
    fn create(&mut self, name: &str, mode: u32) -> Result<CString, Outcome> {
        let p = self.path(name);
        make_file(&p, mode).map_err(Outcome::not_probed)?;
        Ok(p)
    }

    /// A file with `mode` owned by another uid and gid: ours, then chowned; or, when chown is
    /// refused, made by a forked child that switched to that uid and gid.
    fn foreign(&mut self, name: &str, mode: u32) -> Result<CString, Outcome> {
        let (uid, gid) = (other_uid(), other_gid());
        let p = self.create(name, mode)?;
        let Err(chown_err) = chown(&p, uid, gid) else {
            return Ok(p);
        };
        // SAFETY: p is NUL-terminated and names our own file.
        unsafe { libc::unlink(p.as_ptr()) };
        let _ = chmod(&cstr(&self.dir), 0o777);
        match in_child(|| {
            become_user(uid, Some(gid))
                .and_then(|_| make_file(&p, mode))
                .map(Ok)
        }) {
            Ok(Ok(_)) => Ok(p),
            Ok(Err(e)) => Err(Outcome::not_probed(errno_name(e))),
            Err(o) => Err(Outcome::not_probed(format!(
                "no file owned by uid {uid}: chown gave {} and {}",
                errno_name(chown_err),
                o.reason.unwrap_or_default()
            ))),
        }
    }
}

fn make_file(p: &CStr, mode: u32) -> Result<i64, String> {
    let fd = open(p, libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY)
        .map_err(|e| format!("creating a scratch file: {}", errno_name(e)))?;
    // SAFETY: fd was just opened by us.
    unsafe { libc::fchmod(fd as c_int, mode) };
    close(fd);
    Ok(0)
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for f in &self.files {
            // SAFETY: f is NUL-terminated; a path that was never created just fails.
            unsafe { libc::unlink(f.as_ptr()) };
        }
        let dir = cstr(&self.dir);
        // SAFETY: dir is NUL-terminated.
        unsafe { libc::rmdir(dir.as_ptr()) };
    }
}

// ---------------------------------------------------------------------------------------------
// Forked children
// ---------------------------------------------------------------------------------------------

/// What a child reports: Ok(the probed call's result), or Err(why it never got to make it).
type ChildReport = Result<Res, String>;

fn pipe() -> [c_int; 2] {
    let mut p = [-1; 2];
    // SAFETY: p has room for the two fds pipe2 writes.
    unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) };
    p
}

fn write_msg(fd: c_int, msg: &str) {
    // SAFETY: msg is valid for msg.len() bytes; one short write is atomic on a pipe.
    unsafe { libc::write(fd, msg.as_ptr() as *const c_void, msg.len()) };
}

fn read_msg(fd: c_int) -> String {
    let mut buf = [0u8; 512];
    loop {
        // SAFETY: buf is writable for its full length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut c_void, buf.len()) };
        if n >= 0 {
            return String::from_utf8_lossy(&buf[..n as usize]).into_owned();
        }
        if errno() != libc::EINTR {
            return String::new();
        }
    }
}

fn encode(r: &ChildReport) -> String {
    match r {
        Ok(Ok(v)) => format!("ok {v}"),
        Ok(Err(e)) => format!("err {e}"),
        Err(s) => format!("setup {s}"),
    }
}

fn decode(msg: &str) -> Result<Res, Outcome> {
    let (kind, rest) = msg.split_once(' ').unwrap_or((msg, ""));
    match kind {
        "ok" => Ok(Ok(rest.parse().unwrap_or(0))),
        "err" => Ok(Err(rest.parse().unwrap_or(0))),
        "setup" => Err(Outcome::not_probed(format!("forked child: {rest}"))),
        _ => Err(Outcome::not_probed("forked child died without reporting")),
    }
}

fn fork() -> Result<libc::pid_t, Outcome> {
    // SAFETY: this program is single-threaded, so the child may run ordinary code; every child
    // ends with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Outcome::not_probed(format!(
            "fork: {}",
            errno_name(errno())
        )));
    }
    Ok(pid)
}

fn exit_child() -> ! {
    // SAFETY: leaves a forked child without running the parent's atexit handlers.
    unsafe { libc::_exit(0) }
}

fn reap(pid: libc::pid_t) {
    let mut st = 0;
    // SAFETY: waiting for our own child; st is a valid out-pointer.
    while unsafe { libc::waitpid(pid, &mut st, libc::__WALL) } < 0 && errno() == libc::EINTR {}
}

/// Runs `f` in a forked child, so credential, limit or priority changes stay there, and returns
/// its report.
fn in_child(f: impl FnOnce() -> ChildReport) -> Result<Res, Outcome> {
    let [rd, wr] = pipe();
    let pid = fork()?;
    if pid == 0 {
        write_msg(wr, &encode(&f()));
        exit_child();
    }
    close(wr.into());
    let msg = read_msg(rd);
    close(rd.into());
    reap(pid);
    decode(&msg)
}

/// A child running as another uid that stays alive until dropped, for probes that act on a
/// process (kill, ptrace) or on an object it owns (a SysV segment).
struct Held {
    pid: libc::pid_t,
    payload: i64,
    release: c_int,
}

impl Held {
    fn spawn(
        setup: impl FnOnce() -> Result<i64, String>,
        teardown: impl FnOnce(i64),
    ) -> Result<Held, Outcome> {
        let [rd, wr] = pipe();
        let [hold_rd, hold_wr] = pipe();
        let pid = fork()?;
        if pid == 0 {
            close(hold_wr.into());
            let ready = become_user(other_uid(), None).and_then(|_| setup());
            write_msg(wr, &encode(&ready.clone().map(Ok)));
            if let Ok(v) = ready {
                read_msg(hold_rd); // EOF: the parent dropped us (or died)
                teardown(v);
            }
            exit_child();
        }
        close(wr.into());
        close(hold_rd.into());
        let msg = read_msg(rd);
        close(rd.into());
        let mut held = Held {
            pid,
            payload: 0,
            release: hold_wr,
        };
        // On failure `held` drops here, which releases and reaps the child.
        held.payload = decode(&msg)?.map_err(|e| Outcome::not_probed(errno_name(e)))?;
        Ok(held)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        close(self.release.into());
        reap(self.pid);
    }
}

// ---------------------------------------------------------------------------------------------
// The probes, in capability order
// ---------------------------------------------------------------------------------------------

type R = Result<Outcome, Outcome>;

const EACCES_BITS: &str = "permission bits refuse with EACCES, not EPERM";

fn p_chown() -> R {
    let mut s = Scratch::new()?;
    let p = s.create("f", 0o644)?;
    Ok(Outcome::of(chown(&p, other_uid(), u32::MAX)))
}

fn p_dac_override() -> R {
    let mut s = Scratch::new()?;
    let p = s.create("f", 0)?;
    // Best effort: for the rwx bits of a mode-000 file it makes no difference who owns it.
    let _ = chown(&p, other_uid(), other_gid());
    Ok(Outcome::of(open(&p, libc::O_RDWR).map(close)).explain("EACCES", EACCES_BITS))
}

fn p_dac_read_search() -> R {
    #[repr(C)]
    struct FileHandle {
        bytes: u32,
        kind: c_int,
        data: [u8; 128],
    }
    let mut s = Scratch::new()?;
    let p = s.create("f", 0o600)?;
    let mut h = FileHandle {
        bytes: 128,
        kind: 0,
        data: [0; 128],
    };
    let mut mount_id: c_int = 0;
    let at = libc::AT_FDCWD;
    // SAFETY: h has room for the 128 handle bytes it declares; mount_id is an out int.
    let named = sys(unsafe {
        libc::syscall(
            libc::SYS_name_to_handle_at,
            at,
            p.as_ptr(),
            &mut h,
            &mut mount_id,
            0,
        )
    });
    if let Err(e) = named {
        return Err(Outcome::not_probed(format!(
            "name_to_handle_at gave {}: the filesystem under /tmp cannot encode file handles",
            errno_name(e)
        )));
    }
    let dfd = open(&cstr(&s.dir), libc::O_RDONLY | libc::O_DIRECTORY).unwrap_or(-1);
    let flags = libc::O_RDONLY | libc::O_CLOEXEC;
    // SAFETY: h was filled in by the kernel; dfd is a directory on the same mount.
    let r = sys(unsafe { libc::syscall(libc::SYS_open_by_handle_at, dfd, &mut h, flags) });
    close(dfd);
    Ok(Outcome::of(r.map(close)))
}

/// A scratch file owned by another user, with the mode to chmod it to; or, when none can be
/// made (a non-root caller), /etc/passwd if it is not ours, with the mode it already has.
fn foreign_or_passwd(s: &mut Scratch) -> Result<(CString, u32, Option<&'static str>), Outcome> {
    let err = match s.foreign("f", 0o644) {
        Ok(p) => return Ok((p, 0o640, None)),
        Err(o) => o,
    };
    let p = cstr("/etc/passwd");
    match stat(&p) {
        Ok(st) if st.st_uid != ids()[1] => {
            let note = "no scratch file of another user could be made: used /etc/passwd, unchanged";
            Ok((p, st.st_mode & 0o7777, Some(note)))
        }
        _ => Err(err),
    }
}

fn p_fowner() -> R {
    let mut s = Scratch::new()?;
    let (p, mode, note) = foreign_or_passwd(&mut s)?;
    let o = Outcome::of(chmod(&p, mode));
    Ok(if let Some(n) = note { o.detail(n) } else { o })
}

fn p_fsetid() -> R {
    let mut s = Scratch::new()?;
    let p = s.create("f", 0o644)?;
    // Ours with a group we are not in (needs CAP_CHOWN); else a file made by another user.
    let p = match chown(&p, u32::MAX, other_gid()) {
        Ok(_) => p,
        Err(_) => s.foreign("g", 0o644)?,
    };
    if let Err(e) = chmod(&p, 0o2644) {
        return Err(Outcome::not_probed(format!(
            "chmod g+s itself failed with {} (the file is not ours and CAP_FOWNER is missing)",
            errno_name(e)
        )));
    }
    let st = stat(&p).map_err(|e| Outcome::not_probed(format!("stat: {}", errno_name(e))))?;
    Ok(if st.st_mode & libc::S_ISGID != 0 {
        Outcome::of(Ok(0))
    } else {
        Outcome::of::<()>(Err(libc::EPERM)).detail("kernel cleared S_ISGID silently")
    })
}

fn p_kill() -> R {
    let held = Held::spawn(|| Ok(0), drop)?;
    // SAFETY: signal 0 only checks permission; held.pid is our live child.
    Ok(Outcome::of(sys(unsafe { libc::kill(held.pid, 0) })))
}

fn p_setgid() -> R {
    let g = if ids()[3] == 65534 { 1000 } else { 65534 };
    Ok(Outcome::of(in_child(|| Ok(setresgid(g)))?))
}

fn p_setuid() -> R {
    let u = if ids()[1] == 65534 { 1000 } else { 65534 };
    Ok(Outcome::of(in_child(|| Ok(setresuid(u)))?))
}

fn p_setpcap() -> R {
    let cap = last_cap() as libc::c_ulong;
    // SAFETY: runs in a forked child; only that child's bounding set shrinks.
    let drop_cap = || sys(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) });
    Ok(Outcome::of(in_child(|| Ok(drop_cap()))?))
}

fn p_linux_immutable() -> R {
    const FS_IMMUTABLE_FL: c_int = 0x10;
    let mut s = Scratch::new()?;
    let p = s.create("f", 0o644)?;
    let fd = open(&p, libc::O_RDONLY).map_err(|e| Outcome::not_probed(errno_name(e)))? as c_int;
    let mut flags: c_int = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one int into flags.
    if let Err(e) = sys(unsafe { libc::ioctl(fd, libc::FS_IOC_GETFLAGS, &mut flags) }) {
        close(fd.into());
        let why = "FS_IOC_GETFLAGS failed: the filesystem under /tmp has no inode flags";
        return Ok(Outcome::of::<()>(Err(e)).detail(why));
    }
    let set = flags | FS_IMMUTABLE_FL;
    // SAFETY: FS_IOC_SETFLAGS reads one int.
    let r = sys(unsafe { libc::ioctl(fd, libc::FS_IOC_SETFLAGS, &set) });
    // SAFETY: as above; puts the original flags back at once so the file can be removed.
    let restored = r.is_err() || unsafe { libc::ioctl(fd, libc::FS_IOC_SETFLAGS, &flags) } == 0;
    close(fd.into());
    let o = Outcome::of(r);
    Ok(if restored {
        o
    } else {
        o.detail(format!("could not clear the flag: {} stays", s.dir))
    })
}

fn p_net_bind_service() -> R {
    // SAFETY: a plain socket call.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    let bind = |ip: [u8; 4]| {
        let a = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 80u16.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(ip),
            },
            sin_zero: [0; 8],
        };
        let len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: a is a valid sockaddr_in of the stated length.
        sys(unsafe { libc::bind(fd, &a as *const _ as *const libc::sockaddr, len) })
    };
    let mut r = bind([127, 0, 0, 1]);
    let lo_down = r == Err(libc::EADDRNOTAVAIL);
    if lo_down {
        r = bind([0, 0, 0, 0]);
    }
    close(fd.into());
    let start = read_trim("/proc/sys/net/ipv4/ip_unprivileged_port_start").unwrap_or_default();
    let o = Outcome::past_check(r, &[libc::EADDRINUSE], "port 80 is already taken").explain(
        "EACCES",
        format!("ports below ip_unprivileged_port_start ({start}) get EACCES"),
    );
    Ok(match () {
        _ if o.result == "allowed" && start.parse::<u32>().is_ok_and(|s| s <= 80) => o.detail(
            format!("ip_unprivileged_port_start is {start}: port 80 needs no privilege"),
        ),
        _ if lo_down => o.detail("127.0.0.1 is not configured here, so 0.0.0.0:80 was used"),
        _ => o,
    })
}

fn p_net_broadcast() -> R {
    Err(Outcome::not_probed(
        "the kernel defines CAP_NET_BROADCAST but no code path checks it, so nothing can show it",
    ))
}

fn p_net_admin() -> R {
    // SAFETY: a plain socket call.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    // SAFETY: ifreq is plain data; all zeroes is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    ifr.ifr_name[..2].copy_from_slice(&[b'l' as libc::c_char, b'o' as libc::c_char]);
    // SAFETY: SIOCGIFFLAGS fills in the flags of the interface named in ifr.
    let got = sys(unsafe { libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr) });
    // SAFETY: writes back exactly the flags just read, which changes nothing.
    let r = got.and_then(|_| sys(unsafe { libc::ioctl(fd, libc::SIOCSIFFLAGS, &ifr) }));
    close(fd.into());
    match got {
        Err(e) => Err(Outcome::not_probed(format!(
            "SIOCGIFFLAGS on lo: {}",
            errno_name(e)
        ))),
        Ok(_) => Ok(Outcome::of(r)),
    }
}

fn p_net_raw() -> R {
    let (family, kind) = (libc::AF_INET, libc::SOCK_RAW | libc::SOCK_CLOEXEC);
    // SAFETY: a plain socket call; the fd is closed at once.
    let r = sys(unsafe { libc::socket(family, kind, libc::IPPROTO_ICMP) });
    Ok(Outcome::of(r.map(close)))
}

fn p_ipc_lock() -> R {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let child = || -> ChildReport {
        // SAFETY: in a forked child: lowers its own limit.
        sys(unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &zero) })
            .map_err(|e| format!("setrlimit(RLIMIT_MEMLOCK, 0): {}", errno_name(e)))?;
        let (prot, flags) = (
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANON,
        );
        // SAFETY: a fresh private anonymous page, ours alone.
        let page = unsafe { libc::mmap(std::ptr::null_mut(), 4096, prot, flags, -1, 0) };
        if page == libc::MAP_FAILED {
            return Err(format!("mmap: {}", errno_name(errno())));
        }
        // SAFETY: page is a valid 4096-byte mapping; it is unlocked again right after.
        let r = sys(unsafe { libc::mlock(page, 4096) });
        // SAFETY: as above.
        unsafe { libc::munlock(page, 4096) };
        Ok(r)
    };
    Ok(Outcome::of(in_child(child)?))
}

fn p_ipc_owner() -> R {
    let held = Held::spawn(
        || {
            // SAFETY: a new private segment in the child's IPC namespace, removed in teardown.
            sys(unsafe { libc::shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600) })
                .map_err(errno_name)
        },
        // SAFETY: the creator removes its own segment.
        |id| unsafe {
            libc::shmctl(id as c_int, libc::IPC_RMID, std::ptr::null_mut());
        },
    )?;
    // SAFETY: shmid_ds is plain data; all zeroes is a valid value.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT writes one shmid_ds into ds.
    let r = sys(unsafe { libc::shmctl(held.payload as c_int, libc::IPC_STAT, &mut ds) });
    Ok(Outcome::of(r).explain("EACCES", "SysV IPC permission checks refuse with EACCES"))
}

fn p_sys_module() -> R {
    let name = cstr("minirun_no_such_module");
    // SAFETY: a valid name that no module has, so nothing can be unloaded.
    let r = sys(unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) });
    Ok(
        Outcome::past_check(r, &[libc::ENOENT], "no module has that name").explain(
            "ENOSYS",
            "this kernel has no loadable module support: the call does not exist, so nothing shows",
        ),
    )
}

fn p_sys_rawio() -> R {
    const FIBMAP: libc::Ioctl = 1;
    let mut s = Scratch::new()?;
    let p = s.create("f", 0o644)?;
    let fd = open(&p, libc::O_RDONLY).map_err(|e| Outcome::not_probed(errno_name(e)))?;
    let mut block: c_int = 0;
    // SAFETY: FIBMAP reads and writes one int (logical block in, physical block out).
    let r = sys(unsafe { libc::ioctl(fd as c_int, FIBMAP, &mut block) });
    close(fd);
    let why = "the filesystem cannot map blocks";
    Ok(Outcome::past_check(r, &[libc::EINVAL, libc::ENOTTY], why))
}

fn p_sys_chroot() -> R {
    let root = cstr("/");
    // SAFETY: runs in a forked child; a chroot to its own root changes nothing else.
    let call = || sys(unsafe { libc::chroot(root.as_ptr()) });
    Ok(Outcome::of(in_child(|| Ok(call()))?))
}

fn p_sys_ptrace() -> R {
    let held = Held::spawn(|| Ok(0), drop)?;
    // SAFETY: PTRACE_SEIZE does not stop the child; it detaches when the child exits on drop.
    Ok(Outcome::of(sys(unsafe {
        libc::ptrace(libc::PTRACE_SEIZE, held.pid, 0, 0)
    })))
}

fn p_sys_pacct() -> R {
    let s = Scratch::new()?;
    let p = cstr(&format!("{}/missing/acct", s.dir));
    // SAFETY: a valid path whose directory does not exist: the open fails before accounting is
    // touched.
    let r = sys(unsafe { libc::acct(p.as_ptr()) });
    let why = "the accounting file's directory is deliberately missing";
    Ok(Outcome::past_check(r, &[libc::ENOENT], why))
}

fn p_sys_admin() -> R {
    let mut buf = [0u8; 65];
    // SAFETY: buf is writable; passing 64 keeps the last byte NUL.
    if let Err(e) = sys(unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, 64) }) {
        return Err(Outcome::not_probed(format!(
            "gethostname: {}",
            errno_name(e)
        )));
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(64);
    // SAFETY: sets the hostname to the value it already has.
    Ok(Outcome::of(sys(unsafe {
        libc::sethostname(buf.as_ptr() as *const libc::c_char, len)
    })))
}

fn p_sys_boot() -> R {
    // magic1 = 0 is never valid: the kernel refuses it right after the capability check.
    // SAFETY: with wrong magic numbers reboot() does nothing but return an error.
    let r = sys(unsafe { libc::syscall(libc::SYS_reboot, 0, 0, 0, std::ptr::null::<c_void>()) });
    Ok(Outcome::past_check(
        r,
        &[libc::EINVAL],
        "the magic numbers are deliberately wrong",
    ))
}

fn p_sys_nice() -> R {
    let child = || -> ChildReport {
        let which = libc::PRIO_PROCESS;
        // SAFETY: reads the forked child's own nice value.
        let cur = unsafe { libc::getpriority(which, 0) };
        if cur <= -20 {
            return Err("already at nice -20".into());
        }
        // SAFETY: changes only the forked child's own priority.
        Ok(sys(unsafe { libc::setpriority(which, 0, cur - 1) }))
    };
    let o = Outcome::of(in_child(child)?);
    Ok(o.explain(
        "EACCES",
        "setpriority refuses a lower nice value with EACCES",
    ))
}

fn p_sys_resource() -> R {
    let child = || -> ChildReport {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: l is a valid out-pointer.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) };
        let hard = l.rlim_max;
        let lower = libc::rlimit {
            rlim_cur: l.rlim_cur.min(hard - 1),
            rlim_max: hard - 1,
        };
        // SAFETY: lowers the forked child's own limit, which needs no privilege.
        sys(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lower) })
            .map_err(|e| format!("lowering RLIMIT_NOFILE: {}", errno_name(e)))?;
        let raise = libc::rlimit {
            rlim_max: hard,
            ..lower
        };
        // SAFETY: raises it back to where it was, still only in the child.
        Ok(sys(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raise) }))
    };
    Ok(Outcome::of(in_child(child)?))
}

fn p_sys_time() -> R {
    // SAFETY: with both pointers NULL the kernel checks CAP_SYS_TIME and then changes nothing.
    Ok(Outcome::of(sys(unsafe {
        libc::syscall(libc::SYS_settimeofday, 0usize, 0usize)
    })))
}

fn p_sys_tty_config() -> R {
    let tty = cstr("/dev/tty");
    let child = || -> ChildReport {
        // SAFETY: the forked child leaves its session, and with it any controlling terminal.
        sys(unsafe { libc::setsid() }).map_err(|e| format!("setsid: {}", errno_name(e)))?;
        if open(&tty, libc::O_RDWR | libc::O_NOCTTY).map(close).is_ok() {
            return Err("still has a controlling terminal after setsid".into());
        }
        // SAFETY: without a controlling terminal there is nothing to hang up.
        Ok(sys(unsafe { libc::vhangup() }))
    };
    Ok(Outcome::of(in_child(child)?))
}

fn p_mknod() -> R {
    let mut s = Scratch::new()?;
    let p = s.path("null");
    let (mode, dev) = (libc::S_IFCHR | 0o600, libc::makedev(1, 3));
    // SAFETY: a valid path in our scratch dir; the node is unlinked when s drops.
    Ok(Outcome::of(sys(unsafe {
        libc::mknod(p.as_ptr(), mode, dev)
    })))
}

fn p_lease() -> R {
    let mut s = Scratch::new()?;
    let (p, _, note) = foreign_or_passwd(&mut s)?;
    let fd = open(&p, libc::O_RDONLY)
        .map_err(|e| Outcome::not_probed(format!("open for reading: {}", errno_name(e))))?;
    // SAFETY: a read lease on our own fd.
    let r = sys(unsafe { libc::fcntl(fd as c_int, libc::F_SETLEASE, libc::F_RDLCK) });
    if r.is_ok() {
        // SAFETY: gives the lease back at once.
        unsafe { libc::fcntl(fd as c_int, libc::F_SETLEASE, libc::F_UNLCK) };
    }
    close(fd);
    let o = Outcome::of(r).explain(
        "EACCES",
        "a lease on another user's file is refused with EACCES",
    );
    Ok(match note {
        Some(n) if o.detail.is_none() => o.detail(n),
        _ => o,
    })
}

/// A NETLINK_AUDIT socket with a 2 s receive timeout.
fn audit_socket() -> Result<c_int, Outcome> {
    let kind = libc::SOCK_RAW | libc::SOCK_CLOEXEC;
    // SAFETY: a plain socket call; callers close the fd.
    let fd = sys(unsafe { libc::socket(libc::AF_NETLINK, kind, libc::NETLINK_AUDIT) })
        .map_err(|e| Outcome::not_probed(format!("NETLINK_AUDIT socket: {}", errno_name(e))))?;
    let tv = libc::timeval {
        tv_sec: 2,
        tv_usec: 0,
    };
    let (tvp, len) = (
        &tv as *const _ as *const c_void,
        size_of::<libc::timeval>() as u32,
    );
    // SAFETY: tv is a valid timeval of the stated size.
    unsafe { libc::setsockopt(fd as c_int, libc::SOL_SOCKET, libc::SO_RCVTIMEO, tvp, len) };
    Ok(fd as c_int)
}

fn netlink_kernel(groups: u32) -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is plain data; all zeroes is a valid value.
    let mut a: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    a.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    a.nl_groups = groups;
    a
}

fn p_audit_write() -> R {
    const AUDIT_USER_MSG: u16 = 1107;
    let fd = audit_socket()?;
    let text = b"capprobe: audit_write probe\0";
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
    let mut msg = ((16 + text.len()) as u32).to_ne_bytes().to_vec(); // nlmsghdr: length,
    msg.extend(AUDIT_USER_MSG.to_ne_bytes()); // type,
    msg.extend(flags.to_ne_bytes()); // flags,
    msg.extend([1, 0, 0, 0, 0, 0, 0, 0]); // sequence 1 (little endian), port 0 (the kernel's)
    msg.extend(text);
    let to = netlink_kernel(0);
    let (top, len) = (
        &to as *const _ as *const libc::sockaddr,
        size_of::<libc::sockaddr_nl>(),
    );
    // SAFETY: msg and to are valid for the lengths given.
    let sent = unsafe {
        libc::sendto(
            fd,
            msg.as_ptr() as *const c_void,
            msg.len(),
            0,
            top,
            len as u32,
        )
    };
    let mut ack = [0u8; 256];
    let n = if sent < 0 {
        -1
    } else {
        // SAFETY: ack is writable for its full length.
        unsafe { libc::recv(fd, ack.as_mut_ptr() as *mut c_void, 256, 0) }
    };
    let e = errno();
    close(fd.into());
    let r = match (sent, n) {
        (s, _) if s < 0 => Err(e),
        (_, n) if n < 20 => return Err(Outcome::not_probed(format!("no ack: {}", errno_name(e)))),
        // An NLMSG_ERROR ack: its header (16 bytes), then the error as a negative errno.
        _ => match i32::from_ne_bytes([ack[16], ack[17], ack[18], ack[19]]) {
            0 => Ok(0),
            err => Err(-err),
        },
    };
    let why = "the kernel answers audit messages from a non-initial user namespace this way";
    Ok(Outcome::of(r).explain("ECONNREFUSED", why))
}

fn p_audit_control() -> R {
    let path = "/proc/self/loginuid";
    let write = |v: &str| {
        std::fs::write(path, v)
            .map(|_| 0)
            .map_err(|e| e.raw_os_error().unwrap_or(0))
    };
    let child = || -> ChildReport {
        if read_trim(path).ok_or(format!("cannot read {path}"))? == "4294967295" {
            // Setting an unset loginuid the first time needs no privilege.
            let uid = ids()[0].to_string();
            write(&uid).map_err(|e| format!("first write of {path}: {}", errno_name(e)))?;
        }
        // Changing a loginuid once set (here: back to unset) is what CAP_AUDIT_CONTROL allows.
        Ok(write("4294967295"))
    };
    Ok(Outcome::of(in_child(child)?))
}

fn p_setfcap() -> R {
    let mut s = Scratch::new()?;
    let p = s.create("f", 0o644)?;
    // vfs_cap_data revision 2 with empty permitted and inheritable sets: valid, grants nothing.
    let mut v = 0x0200_0000u32.to_le_bytes().to_vec();
    v.extend([0u8; 16]);
    let (name, val) = (cstr("security.capability"), v.as_ptr() as *const c_void);
    // SAFETY: valid path, name and value buffer of the given length; the file is removed after.
    Ok(Outcome::of(sys(unsafe {
        libc::setxattr(p.as_ptr(), name.as_ptr(), val, v.len(), 0)
    })))
}

fn p_mac() -> R {
    let lsms = read_trim("/sys/kernel/security/lsm")
        .map(|l| format!("active LSMs: {l}"))
        .unwrap_or_else(|| "/sys/kernel/security/lsm is not readable here".into());
    Err(Outcome::not_probed(format!(
        "no core kernel check uses it; only SELinux, Smack or AppArmor do, through operations \
         specific to their policy ({lsms})"
    )))
}

fn p_syslog() -> R {
    const SYSLOG_ACTION_SIZE_UNREAD: c_int = 9;
    // SAFETY: this action only returns a count; no buffer is used.
    let r = sys(unsafe { libc::klogctl(SYSLOG_ACTION_SIZE_UNREAD, std::ptr::null_mut(), 0) });
    Ok(Outcome::of(r))
}

fn p_wake_alarm() -> R {
    // SAFETY: creates a timer fd that is closed without ever being armed.
    let r = sys(unsafe { libc::timerfd_create(libc::CLOCK_REALTIME_ALARM, libc::TFD_CLOEXEC) });
    Ok(Outcome::of(r.map(close)))
}

fn p_block_suspend() -> R {
    let wake = libc::EPOLLWAKEUP as u32;
    // SAFETY: an epoll fd and an eventfd, both closed below.
    let (ep, ev) = unsafe {
        (
            libc::epoll_create1(libc::EPOLL_CLOEXEC),
            libc::eventfd(0, libc::EFD_CLOEXEC),
        )
    };
    let mut e = libc::epoll_event {
        events: libc::EPOLLIN as u32 | wake,
        u64: 0,
    };
    // SAFETY: e is a valid event; ep and ev are our fds.
    let added = sys(unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, ev, &mut e) });
    let info = read_trim(&format!("/proc/self/fdinfo/{ep}")).unwrap_or_default();
    close(ev.into());
    close(ep.into());
    added.map_err(|e| Outcome::not_probed(format!("epoll_ctl: {}", errno_name(e))))?;
    // fdinfo shows the flags the kernel kept: "tfd: 4 events: 20000019 data: ...".
    let events = info
        .lines()
        .find(|l| l.starts_with("tfd:"))
        .and_then(|l| l.split_whitespace().skip_while(|w| *w != "events:").nth(1))
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or_else(|| Outcome::not_probed("no epoll entry in /proc/self/fdinfo to check"))?;
    if events & wake != 0 {
        Ok(Outcome::of(Ok(0)))
    } else if std::path::Path::new("/sys/power/wakeup_count").exists() {
        Ok(Outcome::of::<()>(Err(libc::EPERM)).detail("kernel cleared EPOLLWAKEUP silently"))
    } else {
        Err(Outcome::not_probed(
            "the kernel dropped EPOLLWAKEUP, but it seems to lack suspend support (no \
             /sys/power/wakeup_count), and then it drops the flag for everyone",
        ))
    }
}

fn p_audit_read() -> R {
    let fd = audit_socket()?;
    let a = netlink_kernel(1); // AUDIT_NLGRP_READLOG
    let (ap, len) = (
        &a as *const _ as *const libc::sockaddr,
        size_of::<libc::sockaddr_nl>(),
    );
    // SAFETY: a is a valid sockaddr_nl of the stated length; the socket is closed right after.
    let r = sys(unsafe { libc::bind(fd, ap, len as u32) });
    close(fd.into());
    Ok(Outcome::of(r))
}

fn p_perfmon() -> R {
    // perf_event_attr in its first published size (64 bytes).
    let mut attr = [0u64; 8];
    attr[0] = 1 | (64 << 32); // type PERF_TYPE_SOFTWARE, size 64
    attr[1] = 1; // config PERF_COUNT_SW_TASK_CLOCK
    attr[5] = 1 | (1 << 6); // disabled, exclude_hv; exclude_kernel stays 0
    let cloexec = 8; // PERF_FLAG_FD_CLOEXEC
    // SAFETY: attr is a 64-byte perf_event_attr; the event is on ourselves, never enabled.
    let r =
        sys(unsafe { libc::syscall(libc::SYS_perf_event_open, attr.as_ptr(), 0, -1, -1, cloexec) });
    let paranoid = read_trim("/proc/sys/kernel/perf_event_paranoid").unwrap_or_default();
    let lax = paranoid.parse::<i32>().is_ok_and(|p| p <= 1);
    let o = Outcome::of(r.map(close)).explain(
        "EACCES",
        format!("perf_event_paranoid is {paranoid}: refused with EACCES"),
    );
    Ok(match o.result.as_str() {
        "allowed" if lax => o.detail(format!("perf_event_paranoid is {paranoid}: anyone may")),
        "allowed" if has_effective(21) => o.detail("CAP_SYS_ADMIN, also held, passes this check"),
        _ => o,
    })
}

fn p_bpf() -> R {
    // union bpf_attr for BPF_MAP_CREATE: map_type, key_size, value_size, max_entries; rest zero.
    let mut attr = [0u32; 30];
    attr[..4].copy_from_slice(&[2, 4, 4, 1]); // BPF_MAP_TYPE_ARRAY, 4-byte key and value, 1 entry
    // SAFETY: attr is zero past the fields set, as the kernel requires; the map fd is closed.
    let r = sys(unsafe {
        libc::syscall(
            libc::SYS_bpf,
            0, /* BPF_MAP_CREATE */
            attr.as_ptr(),
            120,
        )
    });
    let knob = read_trim("/proc/sys/kernel/unprivileged_bpf_disabled").unwrap_or_default();
    let o = Outcome::of(r.map(close));
    Ok(match o.result.as_str() {
        "allowed" if knob == "0" => o.detail("unprivileged_bpf_disabled is 0: anyone may"),
        "allowed" if has_effective(21) => o.detail("CAP_SYS_ADMIN, also held, passes this check"),
        _ => o,
    })
}

fn p_checkpoint_restore() -> R {
    // clone_args, version 1 (80 bytes): flags, pidfd, child_tid, parent_tid, exit_signal, stack,
    // stack_size, tls, set_tid, set_tid_size. Asking for our own pid, which is certainly taken,
    // gets EEXIST with the capability and creates nothing; without it, EPERM.
    let tid: [libc::pid_t; 1] = [std::process::id() as libc::pid_t];
    let mut args = [0u64; 10];
    args[4] = libc::SIGCHLD as u64;
    args[8] = tid.as_ptr() as u64;
    args[9] = 1;
    // SAFETY: args is a valid clone_args pointing at a live tid array. Should a child be created
    // anyway, it leaves at once and is reaped below.
    let rc = unsafe { libc::syscall(libc::SYS_clone3, args.as_ptr(), 80) };
    if rc == 0 {
        exit_child();
    }
    let r = sys(rc);
    if let Ok(pid) = r {
        reap(pid as libc::pid_t);
    }
    let why = "the requested pid is in use, so no process was created";
    let o = Outcome::past_check(r, &[libc::EEXIST], why);
    Ok(if o.result == "allowed" && has_effective(21) {
        o.detail("CAP_SYS_ADMIN, also held, passes this check too (EEXIST after the check)")
    } else {
        o
    })
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

/// Exit statuses of `capprobe CAP`, so a script (or `minirun minimize`) can ask "allowed?"
/// without reading the JSON: 0 allowed, 1 refused, 2 bad usage, 3 not probed.
const REFUSED: i32 = 1;
const NOT_PROBED: i32 = 3;

/// The JSON line for one capability, and the exit status that says the same.
fn run_probe(cap: u8, kernel_last: u8) -> (String, i32) {
    let known = PROBES.get(cap as usize);
    let name = known.map_or_else(|| format!("cap_{cap}"), |p| p.0.to_string());
    let (op, o) = match known {
        _ if cap > kernel_last => {
            let why = format!("not known to the running kernel (cap_last_cap is {kernel_last})");
            ("none", Outcome::not_probed(why))
        }
        Some((_, op, probe)) => (*op, probe().unwrap_or_else(|o| o)),
        None => (
            "none",
            Outcome::not_probed("capprobe does not know this capability"),
        ),
    };
    let code = match o.result.as_str() {
        "allowed" => 0,
        "not-probed" => NOT_PROBED,
        _ => REFUSED,
    };
    (o.json(cap, &name, op), code)
}

fn parse_cap(raw: &str) -> Option<u8> {
    let lower = raw.trim().to_ascii_lowercase();
    let bare = lower.strip_prefix("cap_").unwrap_or(&lower);
    let by_name = PROBES.iter().position(|p| p.0 == bare).map(|i| i as u8);
    by_name.or_else(|| bare.parse::<u8>().ok().filter(|n| *n < 64))
}

fn setids(uid: &str, gid: &str) -> i32 {
    let (Ok(uid), Ok(gid)) = (uid.parse::<u32>(), gid.parse::<u32>()) else {
        eprintln!("capprobe setids: UID and GID must be numbers");
        return 2;
    };
    let steps: [(&str, &dyn Fn() -> Res); 3] = [
        ("setgroups([])", &setgroups_empty),
        ("setresgid", &|| setresgid(gid)),
        ("setresuid", &|| setresuid(uid)),
    ];
    for (what, call) in steps {
        if let Err(e) = call() {
            eprintln!(
                "capprobe setids: {what} failed: {}",
                Error::from_raw_os_error(e)
            );
            return 1;
        }
    }
    0
}

fn id_json() -> String {
    let [uid, euid, gid, egid] = ids();
    let g: Vec<String> = groups().iter().map(u32::to_string).collect();
    let g = g.join(",");
    format!("{{\"uid\":{uid},\"gid\":{gid},\"euid\":{euid},\"egid\":{egid},\"groups\":[{g}]}}")
}

/// Prints one line; a reader that went away (`| head`) is not an error worth a panic.
fn emit(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// The serial of this process's session keyring (KEYCTL_GET_KEYRING_ID, not creating one).
fn keyring() -> i32 {
    const KEYCTL_GET_KEYRING_ID: c_int = 0;
    const KEY_SPEC_SESSION_KEYRING: c_int = -3;
    // SAFETY: integer arguments only.
    let r = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_GET_KEYRING_ID,
            KEY_SPEC_SESSION_KEYRING,
            0,
        )
    };
    if r < 0 {
        eprintln!("capprobe: keyctl: {}", Error::last_os_error());
        return 1;
    }
    emit(&r.to_string());
    0
}

/// Pushes one byte into stdin's terminal input queue (TIOCSTI), as an attacker would type into
/// the operator's shell: prints "allowed" or the errno name the kernel answered with.
fn tiocsti() -> i32 {
    let c: u8 = b'#';
    // SAFETY: TIOCSTI reads one byte from a pointer that outlives the call.
    let r = unsafe { libc::ioctl(0, libc::TIOCSTI, &c as *const u8) };
    if r == 0 {
        emit("allowed");
    } else {
        emit(&errno_name(
            Error::last_os_error().raw_os_error().unwrap_or(0),
        ));
    }
    0
}

const USAGE: &str =
    "usage: capprobe CAP | all | id | setids UID GID | keyring | tiocsti | syscall NAME [ARG]
  CAP      a capability name (any case, with or without cap_) or number: probe it; exit 0
           when the kernel allowed the operation, 1 when it refused, 3 when not probed
  all      probe every capability the kernel knows (0..=cap_last_cap)
  id       print uid, gid, euid, egid and groups as JSON
  setids   setgroups([]), setresgid(GID), setresuid(UID); exit 0, or 1 with a message
  keyring  print the serial of the session keyring
  tiocsti  push a byte into stdin's terminal (TIOCSTI): allowed, or the errno name
  syscall NAME [ARG]  make one syscall with arguments the kernel refuses for its own reasons:
           allowed (past any seccomp filter), or the errno the filter answered";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let last = last_cap();
    let code = match argv.as_slice() {
        ["all"] => {
            (0..=last).for_each(|cap| emit(&run_probe(cap, last).0));
            0
        }
        ["id"] => {
            emit(&id_json());
            0
        }
        ["setids", uid, gid] => setids(uid, gid),
        ["keyring"] => keyring(),
        ["tiocsti"] => tiocsti(),
        ["syscall", name] => syscall::probe(name, None),
        ["syscall", name, arg] => syscall::probe(name, Some(arg)),
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            0
        }
        [cap] => match parse_cap(cap) {
            Some(n) => {
                let (line, code) = run_probe(n, last);
                emit(&line);
                code
            }
            None => {
                eprintln!("capprobe: unknown capability {cap:?}\n{USAGE}");
                2
            }
        },
        _ => {
            eprintln!("{USAGE}");
            2
        }
    };
    std::process::exit(code);
}
