//! `capprobe syscall NAME [ARG]`: whether a seccomp filter lets one syscall through.
//!
//! Each call is made with arguments the kernel rejects for a reason of its own, checked before
//! any privilege (a bad pointer, an unknown flag or command), so the answer tells the filter's
//! refusal (EPERM from Docker's profile, or the profile's errnoRet) from the kernel's own:
//! `{"syscall":"mount","result":"allowed","detail":"EFAULT"}` means the call reached the
//! kernel, which then refused the bad pointer; `{"syscall":"mount","result":"EPERM"}` means it
//! did not. Nothing is changed: no call can succeed with these arguments, except the
//! harmless ones marked so (getcpu, personality), which succeed when allowed.

use super::{emit, errno, errno_name, json_str};

/// Name, syscall number, arguments, and what the kernel answers once past the filter
/// (None: success).
type Call = (&'static str, libc::c_long, [libc::c_long; 6], Option<i32>);

const BAD: libc::c_long = 1; // an address nothing is mapped at: EFAULT when read

const CALLS: &[Call] = &[
    // The type string is copied before any check.
    (
        "mount",
        libc::SYS_mount,
        [0, BAD, BAD, 0, 0, 0],
        Some(libc::EFAULT),
    ),
    (
        "umount2",
        libc::SYS_umount2,
        [BAD, -1, 0, 0, 0, 0],
        Some(libc::EINVAL),
    ),
    // Unknown flag bits are refused before anything else.
    (
        "unshare",
        libc::SYS_unshare,
        [0x1, 0, 0, 0, 0, 0],
        Some(libc::EINVAL),
    ),
    (
        "setns",
        libc::SYS_setns,
        [-1, 0, 0, 0, 0, 0],
        Some(libc::EBADF),
    ),
    (
        "keyctl",
        libc::SYS_keyctl,
        [9999, 0, 0, 0, 0, 0],
        Some(libc::EOPNOTSUPP),
    ),
    (
        "add_key",
        libc::SYS_add_key,
        [BAD, 0, 0, 0, 0, 0],
        Some(libc::EFAULT),
    ),
    (
        "request_key",
        libc::SYS_request_key,
        [BAD, 0, 0, 0, 0, 0],
        Some(libc::EFAULT),
    ),
    (
        "bpf",
        libc::SYS_bpf,
        [9999, 0, 0, 0, 0, 0],
        Some(libc::EINVAL),
    ),
    (
        "perf_event_open",
        libc::SYS_perf_event_open,
        [BAD, 0, -1, -1, 0, 0],
        Some(libc::EFAULT),
    ),
    ("getcpu", libc::SYS_getcpu, [0, 0, 0, 0, 0, 0], None),
    // Returns the previous persona; ARG chooses the one asked for (0xffffffff only queries).
    (
        "personality",
        libc::SYS_personality,
        [0xffffffff, 0, 0, 0, 0, 0],
        None,
    ),
];

pub fn probe(name: &str, arg: Option<&str>) -> i32 {
    let Some(&(name, nr, mut args, past)) = CALLS.iter().find(|c| c.0 == name) else {
        let known: Vec<&str> = CALLS.iter().map(|c| c.0).collect();
        eprintln!(
            "capprobe: no syscall probe for {name:?} (known: {})",
            known.join(" ")
        );
        return 2;
    };
    if let Some(a) = arg {
        let parsed = match a.strip_prefix("0x") {
            Some(h) => libc::c_long::from_str_radix(h, 16),
            None => a.parse(),
        };
        match parsed {
            Ok(v) => args[0] = v,
            Err(_) => {
                eprintln!("capprobe: bad argument {a:?}");
                return 2;
            }
        }
    }
    // SAFETY: every pointer argument is either NULL or BAD, which the kernel checks and
    // refuses with EFAULT; nothing is written to this process's memory.
    let rc = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]) };
    let got = if rc == -1 { Some(errno()) } else { None };
    let (result, detail) = match (got, past) {
        (None, _) => ("allowed".to_string(), None),
        (Some(e), Some(p)) if e == p => ("allowed".to_string(), Some(errno_name(e))),
        (Some(e), _) => (errno_name(e), None),
    };
    let mut line = format!(
        "{{\"syscall\":{},\"result\":{}",
        json_str(name),
        json_str(&result)
    );
    if let Some(d) = detail {
        line.push_str(&format!(",\"detail\":{}", json_str(&d)));
    }
    emit(&(line + "}"));
    0
}
