//! `minirun explain`: what each capability lets a process do, how risky it is to grant, and the
//! capprobe operation that shows it.
//!
//! Pure data and rendering. The descriptions paraphrase capabilities(7); whether Docker grants a
//! capability by default is not repeated here but read from [`policy::DOCKER_DEFAULTS`], and the
//! `probe` text is exactly the `operation` capprobe prints for that capability (a test checks both
//! against their sources).

use std::fmt;

use serde::Serialize;

use super::uses;
use crate::capability::names;
use crate::capability::policy::DOCKER_DEFAULTS;

/// How much damage a process can do with one capability, assuming the rest of the container's
/// walls (namespaces, cgroups, no other capabilities) stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Risk {
    /// Affects little beyond the container, or only availability in a small way.
    Low,
    /// Weakens isolation or lets the process interfere with others, but not a way out by itself.
    Medium,
    /// Reaches other users' data or the host's shared state (clock, network, audit).
    High,
    /// Known routes to full control of the host.
    Critical,
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
            Risk::Critical => "critical",
        })
    }
}

/// One capability, explained.
#[derive(Debug)]
pub struct CapInfo {
    pub number: u8,
    /// Short lowercase name, as in [`names::NAMES`].
    pub name: &'static str,
    /// What the capability allows, in a sentence or two.
    pub permits: &'static str,
    pub risk: Risk,
    /// Why it has that rating, in one line.
    pub risk_reason: &'static str,
    /// The operation capprobe performs to show it (capprobe's `operation` field).
    pub probe: &'static str,
}

const fn cap(
    number: u8,
    name: &'static str,
    permits: &'static str,
    risk: Risk,
    risk_reason: &'static str,
    probe: &'static str,
) -> CapInfo {
    CapInfo {
        number,
        name,
        permits,
        risk,
        risk_reason,
        probe,
    }
}

use Risk::{Critical, High, Low, Medium};

/// Index = capability number.
static CAPS: [CapInfo; 41] = [
    cap(
        0,
        "chown",
        "Change the owning user and group of any file to any value, whoever owns it now.",
        Medium,
        "can take over or give away any reachable file, though it changes no permission bits",
        "chown a scratch file in /tmp to uid 1000",
    ),
    cap(
        1,
        "dac_override",
        "Ignore the read, write and execute permission bits of files (and the write and search \
         bits of directories): root reaches every file as if its mode allowed it.",
        High,
        "reads and rewrites every file it can reach, other users' secrets and configuration included",
        "open a mode-000 scratch file with O_RDWR",
    ),
    cap(
        2,
        "dac_read_search",
        "Ignore read permission on files and read and search permission on directories; also open \
         files by handle with open_by_handle_at(2) and link an open file with linkat AT_EMPTY_PATH.",
        Critical,
        "open_by_handle_at can reach host files outside the container's root (the 2014 shocker escape)",
        "open_by_handle_at on a scratch file's handle",
    ),
    cap(
        3,
        "fowner",
        "Pass the checks that need the caller to own the file: chmod, utimes, setting ACLs and \
         extended attributes, deleting in sticky directories, O_NOATIME.",
        Medium,
        "can loosen the mode or ACL of any file so that it is open for later use",
        "chmod a scratch file owned by uid 1000",
    ),
    cap(
        4,
        "fsetid",
        "Keep the set-user-ID and set-group-ID bits when a file is modified, and set set-group-ID \
         on a file whose group the caller is not a member of.",
        Medium,
        "can create set-group-ID programs for groups the process does not belong to",
        "chmod g+s a scratch file whose group the caller is not in, then stat it",
    ),
    cap(
        5,
        "kill",
        "Send signals to processes of any user, skipping the rule that the sender's real or \
         effective uid must match the target's.",
        Low,
        "only reaches processes the container can see, normally its own pid namespace",
        "kill(pid, 0) on a forked child running as uid 1000",
    ),
    cap(
        6,
        "setgid",
        "Set the process's group IDs and supplementary groups to anything, claim any gid in \
         UNIX-socket credentials, and write a user namespace's gid map.",
        High,
        "the process can join any group and so gain whatever file access that group has",
        "setresgid(65534) in a forked child",
    ),
    cap(
        7,
        "setuid",
        "Set the process's user IDs to anything (setuid, setresuid, setfsuid), claim any uid in \
         UNIX-socket credentials, and write a user namespace's uid map.",
        High,
        "the process can become any user, or get back to root after pretending to drop it",
        "setresuid(65534) in a forked child",
    ),
    cap(
        8,
        "setpcap",
        "Copy capabilities from the bounding set into the inheritable set, drop capabilities from \
         the bounding set, and change the securebits flags.",
        Medium,
        "cannot go beyond the bounding set, but decides what children and exec'd programs keep",
        "prctl(PR_CAPBSET_DROP, cap_last_cap) in a forked child",
    ),
    cap(
        9,
        "linux_immutable",
        "Set and clear the immutable and append-only inode flags (FS_IMMUTABLE_FL, FS_APPEND_FL).",
        Medium,
        "can make files that even root cannot change, or tamper with append-only logs",
        "set then clear FS_IMMUTABLE_FL on a scratch file (FS_IOC_SETFLAGS)",
    ),
    cap(
        10,
        "net_bind_service",
        "Bind sockets to privileged ports, those below 1024 (below \
         net.ipv4.ip_unprivileged_port_start).",
        Low,
        "in the container's own network namespace it only lets a service claim well-known ports",
        "bind a TCP socket to 127.0.0.1:80",
    ),
    cap(
        11,
        "net_broadcast",
        "Meant for socket broadcasting and listening to multicast; no kernel code checks it today.",
        Low,
        "unused by the kernel, so granting it changes nothing",
        "none: the kernel never checks this capability",
    ),
    cap(
        12,
        "net_admin",
        "Administer networking: interfaces and their flags, addresses, routes, firewall and NAT \
         rules, traffic control, promiscuous mode, and socket options such as SO_MARK.",
        High,
        "can reroute or sniff the namespace's traffic, and rewrite the host's network if it shares it",
        "SIOCSIFFLAGS on lo with the flags it already has",
    ),
    cap(
        13,
        "net_raw",
        "Open RAW and PACKET sockets, and bind to any address for transparent proxying.",
        Medium,
        "can forge packets and watch traffic on every network the container is attached to",
        "socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)",
    ),
    cap(
        14,
        "ipc_lock",
        "Lock memory into RAM past RLIMIT_MEMLOCK (mlock, mlockall, MAP_LOCKED, SHM_LOCK) and \
         allocate huge pages.",
        Medium,
        "locked memory cannot be swapped out, so the process can pin the host's RAM",
        "mlock one page in a forked child whose RLIMIT_MEMLOCK is 0",
    ),
    cap(
        15,
        "ipc_owner",
        "Skip the permission checks on System V message queues, semaphores and shared memory \
         segments.",
        Medium,
        "reads and writes other users' SysV IPC objects within the IPC namespace",
        "IPC_STAT on a mode-0600 SysV shm segment made by a child running as uid 1000",
    ),
    cap(
        16,
        "sys_module",
        "Load and unload kernel modules (init_module, finit_module, delete_module).",
        Critical,
        "a module is code running inside the kernel: full control of the host",
        "delete_module(minirun_no_such_module)",
    ),
    cap(
        17,
        "sys_rawio",
        "Raw hardware and memory access: iopl and ioperm, /dev/mem and /proc/kcore, MSR devices, \
         raw SCSI commands, the FIBMAP ioctl, and mappings below mmap_min_addr.",
        Critical,
        "direct access to hardware and physical memory goes around every kernel protection",
        "ioctl(FIBMAP) on a scratch file",
    ),
    cap(
        18,
        "sys_chroot",
        "Call chroot(2), and switch mount namespace with setns(2).",
        Low,
        "by itself it only narrows the process's view of the filesystem",
        "chroot(/) in a forked child",
    ),
    cap(
        19,
        "sys_ptrace",
        "Trace and inspect processes of any user: ptrace, process_vm_readv and process_vm_writev, \
         kcmp, get_robust_list.",
        High,
        "reads and rewrites the memory of other processes it can see, secrets included",
        "PTRACE_SEIZE a forked child running as uid 1000",
    ),
    cap(
        20,
        "sys_pacct",
        "Switch BSD process accounting on and off with acct(2).",
        Low,
        "can fill a disk with accounting records or switch accounting off for its pid namespace",
        "acct() on a path that does not exist",
    ),
    cap(
        21,
        "sys_admin",
        "The catch-all administration capability: mount and umount, sethostname, creating and \
         joining namespaces, swapon, quotactl, keyctl, trusted.* attributes, and many device ioctls.",
        Critical,
        "mounts and the many other operations it unlocks are behind most known container escapes",
        "sethostname to the current hostname",
    ),
    cap(
        22,
        "sys_boot",
        "Call reboot(2) and load a new kernel for later execution with kexec_load(2).",
        Critical,
        "inside a pid namespace reboot only ends the container, but kexec can replace the host kernel",
        "reboot() with wrong magic numbers",
    ),
    cap(
        23,
        "sys_nice",
        "Raise priority (lower the nice value), use real-time scheduling, and set the priority, \
         CPU affinity and I/O class of any process.",
        Medium,
        "a real-time or top-priority process can starve everything else on the host's CPUs",
        "setpriority to one below the current nice value in a forked child",
    ),
    cap(
        24,
        "sys_resource",
        "Go past resource limits: raise hard rlimits, ignore disk quotas and ext4's reserved \
         blocks, exceed pipe, message queue and RLIMIT_NPROC limits, lower oom_score_adj.",
        Medium,
        "defeats the limits that keep one container from exhausting the host",
        "lower then raise the RLIMIT_NOFILE hard limit by one in a forked child",
    ),
    cap(
        25,
        "sys_time",
        "Set the system clock (settimeofday, clock_settime, adjtimex) and the hardware \
         real-time clock.",
        High,
        "the clock is not namespaced: a change hits the whole host (certificates, logs, schedules)",
        "settimeofday(NULL, NULL), which changes nothing",
    ),
    cap(
        26,
        "sys_tty_config",
        "Call vhangup(2) and use the privileged ioctls of virtual terminals.",
        Low,
        "affects terminals only, and a container rarely has a virtual terminal",
        "vhangup() in a forked child without a controlling terminal",
    ),
    cap(
        27,
        "mknod",
        "Create device special files with mknod(2).",
        Medium,
        "a device node gives raw access to disks or memory unless the device cgroup refuses it",
        "mknod a character device 1:3 in a scratch dir, then unlink it",
    ),
    cap(
        28,
        "lease",
        "Take leases (fcntl F_SETLEASE) on files the process does not own.",
        Low,
        "can make other processes' opens of a file wait until the lease is broken",
        "F_SETLEASE F_RDLCK on a scratch file owned by uid 1000",
    ),
    cap(
        29,
        "audit_write",
        "Send records to the kernel audit log (user messages over NETLINK_AUDIT).",
        Low,
        "can forge or flood audit records, and the audit log belongs to the whole host",
        "send an AUDIT_USER_MSG on a NETLINK_AUDIT socket and read the ack",
    ),
    cap(
        30,
        "audit_control",
        "Turn kernel auditing on and off, change audit rules and filters, read the audit status, \
         and change a process's loginuid once it is set.",
        High,
        "can blind the host's auditing or rewrite who a session is attributed to",
        "set /proc/self/loginuid, then unset it, in a forked child",
    ),
    cap(
        31,
        "setfcap",
        "Set file capabilities (the security.capability attribute) on any file; since Linux 5.12 \
         also needed to map uid 0 into a new user namespace.",
        Medium,
        "marks programs to run with capabilities, though never more than the runner's bounding set",
        "setxattr security.capability (v2, empty sets) on a scratch file",
    ),
    cap(
        32,
        "mac_override",
        "Override mandatory access control; the Smack LSM honours it.",
        High,
        "skips the LSM policy, which is one of the walls around a container",
        "none: only an LSM checks this capability",
    ),
    cap(
        33,
        "mac_admin",
        "Change mandatory access control configuration or state: load policy, set labels the \
         policy does not know (Smack, SELinux, AppArmor).",
        High,
        "can rewrite the very policy that confines containers",
        "none: only an LSM checks this capability",
    ),
    cap(
        34,
        "syslog",
        "Use the privileged syslog(2) operations (read or clear the kernel log when \
         dmesg_restrict is set) and see kernel addresses when kptr_restrict is 1.",
        Medium,
        "the kernel log and kernel addresses are the raw material of kernel exploits",
        "syslog(SYSLOG_ACTION_SIZE_UNREAD)",
    ),
    cap(
        35,
        "wake_alarm",
        "Arm timers that wake the system from suspend (CLOCK_REALTIME_ALARM, \
         CLOCK_BOOTTIME_ALARM).",
        Low,
        "can keep waking a sleeping machine and drain its battery",
        "timerfd_create(CLOCK_REALTIME_ALARM)",
    ),
    cap(
        36,
        "block_suspend",
        "Use features that keep the system from suspending: EPOLLWAKEUP, wake locks.",
        Low,
        "can keep a machine from going to sleep",
        "epoll_ctl with EPOLLWAKEUP, then read the flags back from fdinfo",
    ),
    cap(
        37,
        "audit_read",
        "Read the audit log by joining the audit netlink multicast group.",
        Medium,
        "the audit stream carries events from the whole host, not only the container",
        "bind a NETLINK_AUDIT socket to the readlog multicast group",
    ),
    cap(
        38,
        "perfmon",
        "Use performance monitoring beyond what perf_event_paranoid allows: perf_event_open on \
         kernel code and other processes, and BPF operations that observe performance.",
        Medium,
        "watching the kernel and other processes at this detail opens side channels",
        "perf_event_open of a software event that also counts kernel mode",
    ),
    cap(
        39,
        "bpf",
        "Use privileged BPF operations even when unprivileged_bpf_disabled is set: create maps, \
         load programs (tracing and networking ones together with perfmon or net_admin).",
        High,
        "BPF runs code inside the kernel, and verifier bugs have led to privilege escalation",
        "bpf(BPF_MAP_CREATE) of a one-entry array map",
    ),
    cap(
        40,
        "checkpoint_restore",
        "Checkpoint and restore operations: pick child pids with clone3 set_tid, write \
         ns_last_pid, read other processes' /proc/PID/map_files links.",
        Medium,
        "can choose pids and look at other processes' memory mappings",
        "clone3 with set_tid naming a pid already in use",
    ),
];

/// Index = capability number: what the capability is worth to root of a user namespace that is
/// not the host's (it holds every capability of its sets there). A capability counts only where
/// the kernel checks it against a user namespace that owns the object: the namespace's own
/// network, UTS, IPC and pid namespaces, mounts it made, files whose ids it maps. A check with
/// `capable()` is against the host's user namespace and always fails. Measured on this kernel by
/// `minirun experiment --userns` (docs/lab.md).
static IN_USERNS: [&str; 41] = [
    "works on files whose owner and group are mapped in the namespace, to ids mapped there; \
     files of unmapped ids (the host's root shows as nobody) are out of reach",
    "works on files whose owner and group are mapped in the namespace; files of unmapped ids \
     keep their permission bits",
    "reading past permission bits works on files of mapped ids; open_by_handle_at stays \
     refused (checked against the host's user namespace)",
    "works on files whose owner is mapped in the namespace",
    "works on files whose owner and group are mapped in the namespace",
    "works on processes of its own user namespace (and namespaces it created), never on the \
     host's",
    "setgid to any group mapped in the namespace; setgroups only when /proc/PID/setgroups allows \
     it; writing an arbitrary gid_map for a child namespace",
    "setuid to any user mapped in the namespace; writing an arbitrary uid_map for a child user \
     namespace needs it (without it only the caller's own id can be mapped)",
    "works: drops bounding-set capabilities and sets securebits for its own processes",
    "refused: checked against the host's user namespace",
    "works on the namespace's own network (ports below 1024 of its network namespace)",
    "never checked by the kernel, in any namespace",
    "works only on the namespace's own network: its interfaces, routes and firewall, never the \
     host's",
    "works on the namespace's own network: raw and packet sockets there",
    "refused: mlock past RLIMIT_MEMLOCK is checked against the host's user namespace",
    "works on SysV IPC objects of its own IPC namespace",
    "refused: loading and removing modules is checked against the host's user namespace",
    "refused: checked against the host's user namespace",
    "works: chroot is checked against its own user namespace",
    "works on processes of its own user namespace, never on the host's",
    "refused: checked against the host's user namespace",
    "works for what the namespace owns: its hostname, and mounts of the filesystems marked safe \
     for user namespaces (tmpfs, ramfs, mqueue, devpts, cgroup2, proc, overlay, fuse) where it owns \
     the matching namespace; others (ext4, debugfs...) are checked against the host's user \
     namespace and refused",
    "works on its own pid namespace only: reboot() there ends the namespace's init instead of \
     restarting the machine",
    "refused: raising priority past RLIMIT_NICE is checked against the host's user namespace",
    "refused for the host's limits and quotas; a raised hard limit is checked against the host's \
     user namespace",
    "refused: the clocks are the host's (time namespaces offset only monotonic and boottime, set \
     before the first process)",
    "refused: checked against the host's user namespace",
    "refused for devices even with it: mknod of a character or block device is checked against \
     the host's user namespace (FIFOs and sockets need no capability)",
    "refused: leases on other users' files are checked against the host's user namespace",
    "refused before any check: the audit socket answers ECONNREFUSED outside the host's user \
     namespace",
    "refused: the audit configuration and loginuid are the host's",
    "works on files of mapped ids: file capabilities written there are v3, valid only for that \
     namespace's root",
    "only an LSM checks it; none grants it inside a user namespace",
    "only an LSM checks it; none grants it inside a user namespace",
    "refused: the kernel log is the host's",
    "refused: checked against the host's user namespace",
    "refused: EPOLLWAKEUP is cleared silently, checked against the host's user namespace",
    "refused: the audit log is the host's",
    "refused: checked against the host's user namespace",
    "refused unless the host delegated a BPF token to the namespace (bpffs mounted with \
     delegate options); otherwise checked against the host's user namespace",
    "works in its own pid namespace: choosing pids with clone3 set_tid",
];

/// What the capability is worth to root of a user namespace (the `explain` line "inside a user
/// namespace").
pub fn in_userns(cap: u8) -> Option<&'static str> {
    IN_USERNS.get(cap as usize).copied()
}

/// The entry for capability `cap`, if minirun knows it.
pub fn info(cap: u8) -> Option<&'static CapInfo> {
    CAPS.get(cap as usize)
}

/// One capability in the field order `render_one` documents.
#[derive(Serialize)]
struct Record<'a> {
    name: String,
    number: u8,
    docker_default: bool,
    permits: Option<&'a str>,
    risk: Option<String>,
    risk_reason: Option<&'a str>,
    probe: Option<&'a str>,
    in_userns: Option<&'a str>,
}

fn record(cap: u8) -> Record<'static> {
    let i = info(cap);
    Record {
        name: names::short_name(cap),
        number: cap,
        docker_default: DOCKER_DEFAULTS.contains(cap),
        permits: i.map(|i| i.permits),
        risk: i.map(|i| i.risk.to_string()),
        risk_reason: i.map(|i| i.risk_reason),
        probe: i.map(|i| i.probe),
        in_userns: in_userns(cap),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// One capability: a readable block, or one JSON object with the fields name, number,
/// docker_default, permits, risk, risk_reason, probe and in_userns (null for a number minirun does
/// not know).
pub fn render_one(cap: u8, json: bool) -> String {
    if json {
        return serde_json::to_string(&record(cap)).expect("a plain struct serialises");
    }
    let default = yes_no(DOCKER_DEFAULTS.contains(cap));
    let Some(i) = info(cap) else {
        return format!(
            "cap_{cap} (number {cap})\n  docker default: {default}\n  not described: minirun \
             knows capabilities 0 to {}\n",
            CAPS.len() - 1
        );
    };
    let mut out = format!(
        "{} ({}, number {})\n",
        i.name,
        names::oci_name(cap),
        i.number
    );
    let risk = format!("{} ({})", i.risk, i.risk_reason);
    for (label, text) in [
        ("docker default:", default),
        ("risk:", &risk),
        ("permits:", i.permits),
        ("probe:", i.probe),
    ] {
        out.push_str(&wrap(&format!("  {label:<16}"), text, TABLE_WIDTH));
    }
    if let Some(u) = in_userns(cap) {
        out.push_str(&wrap("  inside a user namespace: ", u, TABLE_WIDTH));
    }
    out
}

/// `text` after `lead`, word-wrapped to `width` columns, continuation lines indented to match.
pub(crate) fn wrap(lead: &str, text: &str, width: usize) -> String {
    let indent = " ".repeat(lead.len());
    let mut out = String::new();
    let mut line = lead.to_string();
    for word in text.split_whitespace() {
        let fresh = line.len() == lead.len();
        if !fresh && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = indent.clone();
        } else if !fresh {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// Total width the table aims at when there is no terminal to measure.
pub const TABLE_WIDTH: usize = 100;

/// Every capability: a table (capability, Docker default, risk, permits cut to fit), or one JSON
/// object per line.
pub fn render_all(json: bool) -> String {
    render_some(
        &(0..CAPS.len() as u8).collect::<Vec<_>>(),
        json,
        TABLE_WIDTH,
    )
}

/// The table (or JSON lines) for these capabilities only, `width` columns wide.
pub fn render_some(caps: &[u8], json: bool, width: usize) -> String {
    let chosen = || CAPS.iter().filter(|i| caps.contains(&i.number));
    let mut out = String::new();
    if json {
        for i in chosen() {
            out.push_str(&render_one(i.number, true));
            out.push('\n');
        }
        return out;
    }
    let name_w = CAPS.iter().map(|i| i.name.len()).max().unwrap_or(10);
    let prefix = |name: &str, default: &str, risk: &str| {
        format!("{name:<name_w$}  {default:<7}  {risk:<8}  ")
    };
    let header = prefix("CAPABILITY", "DEFAULT", "RISK");
    let room = width.saturating_sub(header.len()).max(20);
    out.push_str(&header);
    out.push_str("PERMITS\n");
    for i in chosen() {
        let default = yes_no(DOCKER_DEFAULTS.contains(i.number));
        out.push_str(&prefix(i.name, default, &i.risk.to_string()));
        out.push_str(&truncate(i.permits, room));
        out.push('\n');
    }
    out
}

/// What `explain QUERY` is about.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// No query, or `all`: the table of every capability the kernel knows.
    All,
    /// A capability by name or number.
    One(u8),
    /// A command or system call the table in [`uses`] knows.
    Use {
        /// The key as the table spells it (`date -s`), for the heading.
        key: &'static str,
        caps: Vec<u8>,
        why: &'static str,
    },
    /// Capabilities whose name or description holds the query's words.
    Found(Vec<u8>),
}

/// Why `explain QUERY` has nothing to show.
#[derive(Debug, thiserror::Error)]
pub enum NotFound {
    /// A typo of a capability (with its suggestion), or a number the kernel lacks.
    #[error(transparent)]
    Name(#[from] names::NameError),
    #[error(
        "\"{0}\" names no capability, and no command or system call minirun knows (minirun explain \
         lists the capabilities)"
    )]
    Nothing(String),
}

/// Reads `explain QUERY`, most specific first: a capability's name or number, a command or
/// system call of the [`uses`] table (`ping`, `mount(2)`, `ip link set`), then a whole-word
/// search of the capabilities' names and descriptions (`net`, `swapon`).
pub fn lookup(query: &str, last: u8) -> Result<Answer, NotFound> {
    let q = query.trim();
    if q.is_empty() {
        return Ok(Answer::All);
    }
    let err = match names::parse(q, last) {
        Ok(names::CapName::All) => return Ok(Answer::All),
        Ok(names::CapName::Cap(n)) => return Ok(Answer::One(n)),
        Err(e @ names::NameError::Number { .. }) => return Err(e.into()),
        Err(e) => e,
    };
    if let Some(u) = uses::find(q) {
        let caps = u
            .caps
            .iter()
            .filter_map(|c| names::NAMES.iter().position(|n| n == c))
            .map(|n| n as u8)
            .collect();
        return Ok(Answer::Use {
            key: uses::key_for(u, q),
            caps,
            why: u.why,
        });
    }
    match search(q).as_slice() {
        [] => match err {
            names::NameError::Unknown { closest: None, .. } => Err(NotFound::Nothing(q.into())),
            e => Err(e.into()),
        },
        [one] => Ok(Answer::One(*one)),
        some => Ok(Answer::Found(some.to_vec())),
    }
}

/// Lowercase words of letters, digits and `_`: what a query and a description are compared by.
fn words_of(s: &str) -> Vec<String> {
    s.to_ascii_lowercase()
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether `hay` holds the words of `needle` in a row, each whole (a plural `s` allowed), so
/// `ping` is not found in "skipping" nor `map` in "mapping".
fn holds_words(hay: &[String], needle: &[String]) -> bool {
    !needle.is_empty()
        && hay.windows(needle.len()).any(|w| {
            w.iter()
                .zip(needle)
                .all(|(h, n)| h == n || h.strip_suffix('s') == Some(n.as_str()))
        })
}

/// `explain WORD` when WORD names no capability nor a command the table knows: the
/// capabilities whose name holds it as whole `_`-separated words (`net`, `admin`), else those
/// whose description holds it as whole words (`swapon`, `huge pages`), in kernel order.
pub fn search(word: &str) -> Vec<u8> {
    let lower = word.trim().to_ascii_lowercase();
    let bare = lower.strip_prefix("cap_").unwrap_or(&lower);
    let q: Vec<String> = bare
        .split(|c: char| c == '_' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    if q.is_empty() {
        return Vec::new();
    }
    let name_words = |n: &str| -> Vec<String> { n.split('_').map(str::to_string).collect() };
    let by_name: Vec<u8> = CAPS
        .iter()
        .filter(|i| holds_words(&name_words(i.name), &q))
        .map(|i| i.number)
        .collect();
    if !by_name.is_empty() {
        return by_name;
    }
    let q = words_of(bare);
    CAPS.iter()
        .filter(|i| holds_words(&words_of(i.permits), &q))
        .map(|i| i.number)
        .collect()
}

/// `s` cut to at most `max` characters, ending in "..." when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let kept: String = s.chars().take(max.saturating_sub(3)).collect();
    format!("{}...", kept.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_capability_is_described_in_order() {
        assert_eq!(CAPS.len(), names::NAMES.len());
        for n in 0u8..=40 {
            let i = info(n).unwrap_or_else(|| panic!("no entry for {n}"));
            assert_eq!(i.number, n);
            assert_eq!(i.name, names::NAMES[n as usize]);
            for text in [i.permits, i.risk_reason, i.probe] {
                assert!(!text.trim().is_empty(), "{}: empty text", i.name);
            }
        }
        assert!(info(41).is_none());
    }

    #[test]
    fn every_capability_says_what_it_is_worth_in_a_user_namespace() {
        for n in 0u8..=40 {
            assert!(!in_userns(n).unwrap().trim().is_empty(), "{n}");
        }
        assert!(in_userns(27).unwrap().starts_with("refused for devices"));
        assert!(
            render_one(12, false)
                .contains("\n  inside a user namespace: works only on the namespace's own")
        );
        let j: serde_json::Value = serde_json::from_str(&render_one(7, true)).unwrap();
        assert!(j["in_userns"].as_str().unwrap().contains("uid_map"));
    }

    #[test]
    fn probes_are_capprobes_own_words() {
        let source = include_str!("../../rootfs-fixtures/capprobe/src/main.rs");
        for i in &CAPS {
            let quoted = format!("\"{}\"", i.probe);
            assert!(
                source.contains(&quoted),
                "capprobe has no operation {quoted}"
            );
        }
    }

    #[test]
    fn risk_displays_lowercase() {
        let all = [Low, Medium, High, Critical].map(|r| r.to_string());
        assert_eq!(all, ["low", "medium", "high", "critical"]);
    }

    #[test]
    fn one_block_for_setfcap() {
        let text = render_one(31, false);
        assert!(text.contains("setfcap"), "{text}");
        assert!(text.contains("CAP_SETFCAP"), "{text}");
        assert!(text.contains("default: yes"), "{text}");
        assert!(text.contains("risk:           medium"), "{text}");
        assert!(
            text.lines().all(|l| l.chars().count() <= TABLE_WIDTH),
            "{text}"
        );
        let sys_admin = render_one(21, false);
        assert!(sys_admin.contains("default: no"), "{sys_admin}");
        assert!(sys_admin.contains("critical"), "{sys_admin}");
    }

    #[test]
    fn one_json_object() {
        let v: serde_json::Value = serde_json::from_str(&render_one(31, true)).unwrap();
        assert_eq!(v["name"], "setfcap");
        assert_eq!(v["number"], 31);
        assert_eq!(v["docker_default"], true);
        assert_eq!(v["risk"], "medium");
        assert_eq!(v["probe"], info(31).unwrap().probe);
        for key in ["permits", "risk_reason"] {
            assert!(v[key].is_string(), "{key} missing");
        }
        let unknown: serde_json::Value = serde_json::from_str(&render_one(41, true)).unwrap();
        assert_eq!(unknown["name"], "cap_41");
        assert!(unknown["risk"].is_null());
        assert!(render_one(41, false).contains("not described"));
    }

    #[test]
    fn defaults_come_from_policy() {
        let defaults: Vec<&str> = CAPS
            .iter()
            .filter(|i| {
                let v: serde_json::Value =
                    serde_json::from_str(&render_one(i.number, true)).unwrap();
                v["docker_default"] == true
            })
            .map(|i| i.name)
            .collect();
        assert_eq!(defaults.join(", "), DOCKER_DEFAULTS.names());
    }

    #[test]
    fn table_has_a_row_per_capability_within_the_width() {
        let table = render_all(false);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 42, "header and 41 rows");
        assert!(lines[0].starts_with("CAPABILITY"));
        for (n, line) in lines[1..].iter().enumerate() {
            assert!(line.starts_with(names::NAMES[n]), "{line}");
            assert!(line.chars().count() <= TABLE_WIDTH, "too wide: {line}");
        }
        let chown = lines[1].split_whitespace().collect::<Vec<_>>();
        assert_eq!(chown[..3], ["chown", "yes", "medium"]);
        assert!(
            lines.iter().any(|l| l.ends_with("...")),
            "long permits are cut"
        );
        let sys_admin: Vec<&str> = lines[22].split_whitespace().take(3).collect();
        assert_eq!(sys_admin, ["sys_admin", "no", "critical"]);
    }

    #[test]
    fn the_table_fits_the_width_it_is_given() {
        for width in [60, 100, 160] {
            let t = render_some(&[0, 21], false, width);
            assert!(
                t.lines().all(|l| l.chars().count() <= width),
                "{width}: {t}"
            );
        }
        let wide = render_some(&[21], false, 1000);
        assert!(
            !wide.contains("..."),
            "sys_admin's line fits in 1000 columns: {wide}"
        );
    }

    #[test]
    fn search_by_name_then_by_description() {
        let found = |w: &str| -> Vec<&str> {
            search(w)
                .iter()
                .map(|&c| names::NAMES[c as usize])
                .collect()
        };
        assert_eq!(
            found("net"),
            ["net_bind_service", "net_broadcast", "net_admin", "net_raw"]
        );
        assert!(
            found("mount").contains(&"sys_admin"),
            "{:?}",
            found("mount")
        );
        assert!(search("zzzz").is_empty());
        let t = render_some(&search("net"), false, TABLE_WIDTH);
        assert_eq!(t.lines().count(), 5, "{t}");
        // Whole words only: "skipping" and "mapping" do not hold "ping".
        assert!(search("ping").is_empty(), "{:?}", found("ping"));
        assert!(!found("map").contains(&"sys_rawio"), "{:?}", found("map"));
        assert_eq!(found("admin"), ["net_admin", "sys_admin", "mac_admin"]);
        assert_eq!(found("bind_service"), ["net_bind_service"]);
        assert_eq!(found("swapon"), ["sys_admin"]);
        assert_eq!(found("huge page"), ["ipc_lock"]);
    }

    #[test]
    fn lookup_by_name_number_command_and_syscall() {
        let one = |q: &str| match lookup(q, 40).unwrap() {
            Answer::One(n) => vec![names::NAMES[n as usize]],
            Answer::Use { caps, .. } | Answer::Found(caps) => {
                caps.iter().map(|&n| names::NAMES[n as usize]).collect()
            }
            Answer::All => vec!["all"],
        };
        assert_eq!(one("ping"), ["net_raw"]);
        assert_eq!(one("mount"), ["sys_admin"]);
        assert_eq!(one("mount(2)"), ["sys_admin"]);
        assert_eq!(one("umount(8)"), ["sys_admin"]);
        assert_eq!(one("7"), ["setuid"]);
        assert_eq!(one("CAP_KILL"), ["kill"]);
        assert_eq!(one("kill"), ["kill"]);
        assert_eq!(one(""), ["all"]);
        assert_eq!(one("all"), ["all"]);
        assert_eq!(
            one("net"),
            ["net_bind_service", "net_broadcast", "net_admin", "net_raw"]
        );
        assert!(matches!(
            lookup("ping", 40),
            Ok(Answer::Use { key: "ping", .. })
        ));
        assert!(matches!(
            lookup("date -s 12:00", 40),
            Ok(Answer::Use { key: "date -s", .. })
        ));
        assert_eq!(
            lookup("99", 40).unwrap_err().to_string(),
            "no capability number 99: this kernel's go from 0 to 40"
        );
        assert_eq!(
            lookup("net_rwa", 40).unwrap_err().to_string(),
            "unknown capability \"CAP_NET_RWA\" (did you mean \"CAP_NET_RAW\"?)"
        );
        assert_eq!(
            lookup("zzzz", 40).unwrap_err().to_string(),
            "\"zzzz\" names no capability, and no command or system call minirun knows \
             (minirun explain lists the capabilities)"
        );
    }

    #[test]
    fn json_lines_parse() {
        let out = render_all(true);
        let rows: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect();
        assert_eq!(rows.len(), 41);
        for (n, row) in rows.iter().enumerate() {
            assert_eq!(row["number"], n);
            assert_eq!(row["name"], names::NAMES[n]);
        }
    }

    #[test]
    fn wrapping_keeps_every_word_and_indents() {
        let w = wrap("  label: ", "one two three four five six", 20);
        assert_eq!(
            w,
            "  label: one two\n         three four\n         five six\n"
        );
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("abcdefghijkl", 8), "abcde...");
        assert_eq!(truncate("é".repeat(30).as_str(), 10).chars().count(), 10);
    }
}
