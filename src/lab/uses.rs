//! `minirun explain COMMAND`: the commands and system calls a student meets, and the
//! capabilities the kernel checks when they do their privileged part.
//!
//! Each entry paraphrases capabilities(7) and the system call's own page; the tests in
//! tests/lab.rs check a few of them against `minirun minimize` on real containers.

/// A command or system call, and what it needs.
#[derive(Debug)]
pub struct Use {
    /// How it is typed: a command, a command with its first arguments (`ip link`, `date -s`),
    /// or a system call (`mount`, `socket(AF_INET, SOCK_RAW)`). Matched word by word.
    pub keys: &'static [&'static str],
    /// Short capability names, in kernel order.
    pub caps: &'static [&'static str],
    /// When the kernel asks for them, and when it does not.
    pub why: &'static str,
}

const fn u(keys: &'static [&'static str], caps: &'static [&'static str], why: &'static str) -> Use {
    Use { keys, caps, why }
}

/// Capability names are not keys here: `explain chown` finds the capability itself first.
pub static USES: &[Use] = &[
    u(
        &["ping", "ping6"],
        &["net_raw"],
        "ping sends ICMP echo requests on a raw socket, socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), \
         which only CAP_NET_RAW may open. (A ping that uses an ICMP datagram socket instead needs \
         no capability where net.ipv4.ping_group_range admits the caller's group.)",
    ),
    u(
        &[
            "traceroute",
            "arping",
            "tcpdump",
            "socket(AF_INET, SOCK_RAW)",
            "socket(AF_INET6, SOCK_RAW)",
            "socket(AF_PACKET)",
            "SOCK_RAW",
            "AF_PACKET",
            "raw socket",
            "packet socket",
        ],
        &["net_raw"],
        "Opening a RAW socket (SOCK_RAW) or a PACKET socket (AF_PACKET), as traceroute, arping \
         and tcpdump do to send or capture packets, needs CAP_NET_RAW: socket(2) fails with EPERM \
         without it.",
    ),
    u(
        &["chgrp", "fchown", "lchown", "fchownat"],
        &["chown"],
        "Changing a file's owner, or its group to one the caller is not a member of, needs \
         CAP_CHOWN (chown(2)); giving your own file to one of your own groups does not.",
    ),
    u(
        &["mknodat"],
        &["mknod"],
        "Creating a device file (character or block) with mknod(2) needs CAP_MKNOD; a FIFO or a \
         socket file does not. Whether the device may then be opened is the device cgroup's call.",
    ),
    u(
        &[
            "mount",
            "umount",
            "umount2",
            "fsopen",
            "fsmount",
            "move_mount",
            "pivot_root",
        ],
        &["sys_admin"],
        "Mounting, unmounting and pivot_root(2) need CAP_SYS_ADMIN in the user namespace that \
         owns the mount namespace.",
    ),
    u(
        &["unshare", "ip netns"],
        &["sys_admin"],
        "Creating any namespace but a user namespace (unshare(2), clone(2) with CLONE_NEW* flags; \
         ip netns add also mounts it) needs CAP_SYS_ADMIN; unshare --user alone needs none.",
    ),
    u(
        &["setns", "nsenter"],
        &["sys_chroot", "sys_admin"],
        "Joining a namespace with setns(2) needs CAP_SYS_ADMIN in the namespace joined; joining a \
         mount namespace also needs CAP_SYS_CHROOT.",
    ),
    u(
        &["hostname", "sethostname", "domainname", "setdomainname"],
        &["sys_admin"],
        "Setting the host or domain name (sethostname(2), setdomainname(2)) needs CAP_SYS_ADMIN; \
         reading it needs nothing.",
    ),
    u(
        &["swapon", "swapoff", "quotactl"],
        &["sys_admin"],
        "swapon(2), swapoff(2) and quota administration with quotactl(2) need CAP_SYS_ADMIN.",
    ),
    u(
        &["pkill", "killall", "tgkill"],
        &["kill"],
        "Signalling a process of another user (neither the sender's real nor effective uid is \
         the target's real or saved uid) needs CAP_KILL; signalling your own processes does not.",
    ),
    u(
        &["setresuid", "setreuid", "setfsuid"],
        &["setuid"],
        "Setting the user ids to any value other than the process's own real, effective or saved \
         uid needs CAP_SETUID.",
    ),
    u(
        &[
            "setresgid",
            "setregid",
            "setfsgid",
            "setgroups",
            "initgroups",
            "newgrp",
        ],
        &["setgid"],
        "Setting the group ids to any other value, or the supplementary group list at all \
         (setgroups(2)), needs CAP_SETGID.",
    ),
    u(
        &["su", "sudo", "gosu", "su-exec", "runuser", "setpriv"],
        &["setgid", "setuid"],
        "Switching to another user sets the supplementary groups and gid first (CAP_SETGID), \
         then the uid (CAP_SETUID); a root process that drops to a user needs both.",
    ),
    u(
        &["chroot"],
        &["sys_chroot"],
        "chroot(2) needs CAP_SYS_CHROOT.",
    ),
    u(
        &["reboot", "kexec", "kexec_load", "kexec_file_load"],
        &["sys_boot"],
        "reboot(2) (what reboot -f calls) and loading a new kernel with kexec_load(2) or \
         kexec_file_load(2) need CAP_SYS_BOOT; in a pid namespace other than the host's, reboot(2) \
         only ends that namespace's init.",
    ),
    u(
        &[
            "date -s",
            "date --set",
            "date",
            "hwclock",
            "settimeofday",
            "stime",
            "clock_settime",
            "adjtimex",
            "clock_adjtime",
            "ntpd",
            "chronyd",
        ],
        &["sys_time"],
        "Setting the system clock (settimeofday(2), clock_settime(2), adjtimex(2) with modes that \
         change it: date -s, hwclock -s, ntpd) or the hardware clock (hwclock -w) needs \
         CAP_SYS_TIME; reading the time needs nothing. The clock is not namespaced: a container \
         that may set it sets the host's.",
    ),
    u(
        &["bind", "privileged port"],
        &["net_bind_service"],
        "Binding a socket to a port below 1024 (below net.ipv4.ip_unprivileged_port_start) needs \
         CAP_NET_BIND_SERVICE: a web server on port 80 that runs as a user other than root, for \
         one.",
    ),
    u(
        &["iptables", "ip6tables", "nft", "ebtables"],
        &["net_admin"],
        "Reading or changing firewall and NAT rules (netfilter's socket options and netlink \
         messages) needs CAP_NET_ADMIN, iptables -L included.",
    ),
    u(
        &[
            "ip",
            "ip link",
            "ip addr",
            "ip address",
            "ip route",
            "ip rule",
            "ifconfig",
            "route",
            "tc",
            "brctl",
        ],
        &["net_admin"],
        "Changing interfaces, addresses, routes and traffic control (ip link set, ip addr add, ip \
         route add, ifconfig, tc qdisc add) needs CAP_NET_ADMIN; listing them needs nothing.",
    ),
    u(
        &[
            "insmod",
            "rmmod",
            "modprobe",
            "init_module",
            "finit_module",
            "delete_module",
        ],
        &["sys_module"],
        "Loading or unloading a kernel module (init_module(2), finit_module(2), delete_module(2)) \
         needs CAP_SYS_MODULE; lsmod needs nothing.",
    ),
    u(
        &[
            "nice",
            "renice",
            "setpriority",
            "chrt",
            "sched_setscheduler",
            "sched_setparam",
            "sched_setattr",
            "taskset",
            "sched_setaffinity",
        ],
        &["sys_nice"],
        "Lowering a nice value (nice -n -5, renice, setpriority(2)) beyond what RLIMIT_NICE \
         allows, real-time scheduling (chrt, sched_setscheduler(2)), and changing the priority or \
         CPU affinity (taskset) of another user's process need CAP_SYS_NICE.",
    ),
    u(
        &["ulimit", "setrlimit", "prlimit", "oom_score_adj"],
        &["sys_resource"],
        "Raising a hard resource limit (ulimit -H, setrlimit(2), prlimit) needs CAP_SYS_RESOURCE, \
         as does lowering oom_score_adj below what a privileged process last set; lowering a \
         limit, or raising a soft one up to the hard one, needs nothing.",
    ),
    u(
        &[
            "ptrace",
            "strace",
            "ltrace",
            "gdb",
            "process_vm_readv",
            "process_vm_writev",
            "kcmp",
        ],
        &["sys_ptrace"],
        "Attaching to a process of another user (strace -p, gdb -p, ptrace(2) PTRACE_ATTACH), or \
         to one that is not a descendant when Yama's ptrace_scope is 1, and reading or writing \
         another process's memory (process_vm_readv(2)) need CAP_SYS_PTRACE. strace COMMAND \
         traces its own child and needs none unless ptrace_scope is 2.",
    ),
    u(
        &["dmesg", "klogctl"],
        &["syslog"],
        "Reading the kernel log with syslog(2) (dmesg, klogctl) needs CAP_SYSLOG when \
         kernel.dmesg_restrict is 1, and clearing it always does.",
    ),
    u(
        &[
            "chmod",
            "fchmod",
            "fchmodat",
            "utime",
            "utimes",
            "utimensat",
            "touch",
            "setfacl",
        ],
        &["fowner"],
        "Changing the mode (chmod), the times (touch -d, utime(2)) or the ACL (setfacl) of a file \
         the caller does not own needs CAP_FOWNER; on your own files it needs nothing, and \
         touching a file you may write to sets its times to now without it.",
    ),
    u(
        &["chattr", "FS_IOC_SETFLAGS"],
        &["fowner", "linux_immutable"],
        "Setting or clearing the immutable or append-only flag (chattr +i, chattr +a) needs \
         CAP_LINUX_IMMUTABLE; changing any flag of a file the caller does not own needs \
         CAP_FOWNER.",
    ),
    u(
        &["setcap", "security.capability"],
        &["setfcap"],
        "Writing file capabilities (setcap, the security.capability attribute) needs \
         CAP_SETFCAP.",
    ),
    u(
        &["acct", "accton"],
        &["sys_pacct"],
        "Switching process accounting on or off with acct(2) needs CAP_SYS_PACCT.",
    ),
    u(
        &["open_by_handle_at"],
        &["dac_read_search"],
        "open_by_handle_at(2) needs CAP_DAC_READ_SEARCH: a file handle can name a file outside \
         the container's root.",
    ),
    u(
        &["mlock", "mlock2", "mlockall"],
        &["ipc_lock"],
        "Locking more memory than RLIMIT_MEMLOCK allows (mlock(2), mlockall(2), MAP_LOCKED, \
         SHM_LOCK) needs CAP_IPC_LOCK.",
    ),
    u(
        &["vhangup"],
        &["sys_tty_config"],
        "vhangup(2) needs CAP_SYS_TTY_CONFIG.",
    ),
    u(
        &["iopl", "ioperm", "/dev/mem", "/proc/kcore"],
        &["sys_rawio"],
        "I/O port access (iopl(2), ioperm(2)) and opening /dev/mem or /proc/kcore need \
         CAP_SYS_RAWIO.",
    ),
    u(
        &["perf", "perf_event_open"],
        &["perfmon"],
        "perf_event_open(2) beyond what kernel.perf_event_paranoid allows (kernel profiling, \
         other users' processes) needs CAP_PERFMON (or CAP_SYS_ADMIN).",
    ),
    u(
        &["auditctl"],
        &["audit_control"],
        "Changing audit rules, or switching auditing on or off (auditctl), needs \
         CAP_AUDIT_CONTROL.",
    ),
];

/// Lowercase words, with a trailing man-page section (`mount(2)`, `ip(8)`) dropped and
/// parentheses and commas read as spaces, so `socket(AF_INET,SOCK_RAW)` is three words.
fn words(s: &str) -> Vec<String> {
    let s = s.trim().to_ascii_lowercase();
    let s = match s.strip_suffix(')').and_then(|rest| rest.rsplit_once('(')) {
        Some((head, section))
            if section.starts_with(|c: char| c.is_ascii_digit())
                && section.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            head.to_string()
        }
        _ => s,
    };
    s.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ','))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The entry whose key begins `query` word for word, the longest such key winning:
/// `ip netns add x` is `ip netns`, `nice -n -5 true` is `nice`, `mount(2)` is `mount`.
/// A key is never matched inside a word (`pinger` is not `ping`).
pub fn find(query: &str) -> Option<&'static Use> {
    let q = words(query);
    USES.iter()
        .flat_map(|u| u.keys.iter().map(move |k| (u, words(k))))
        .filter(|(_, k)| !k.is_empty() && q.starts_with(k))
        .max_by_key(|(_, k)| k.len())
        .map(|(u, _)| u)
}

/// The first of the entry's keys that `query` begins with, as the entry spells it.
pub fn key_for(u: &Use, query: &str) -> &'static str {
    let q = words(query);
    u.keys
        .iter()
        .filter(|k| q.starts_with(&words(k)))
        .max_by_key(|k| words(k).len())
        .copied()
        .unwrap_or(u.keys[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::names::NAMES;

    #[test]
    fn every_capability_named_exists_and_is_in_kernel_order() {
        for u in USES {
            let numbers: Vec<usize> = u
                .caps
                .iter()
                .map(|c| {
                    NAMES
                        .iter()
                        .position(|n| n == c)
                        .unwrap_or_else(|| panic!("{c} in {:?}", u.keys))
                })
                .collect();
            assert!(numbers.is_sorted(), "{:?}", u.keys);
            assert!(!u.caps.is_empty() && !u.keys.is_empty());
        }
    }

    #[test]
    fn every_key_finds_its_own_entry_and_names_no_capability() {
        for u in USES {
            for k in u.keys {
                assert!(std::ptr::eq(find(k).unwrap(), u), "{k}");
                assert_eq!(key_for(u, k), *k);
                assert!(
                    !NAMES.contains(&k.to_ascii_lowercase().as_str()),
                    "{k} is a capability's name: explain finds the capability first"
                );
                // The text says which capability, in the spelling capabilities(7) uses.
                for c in u.caps {
                    let oci = format!("CAP_{}", c.to_ascii_uppercase());
                    assert!(u.why.contains(&oci), "{k}: {oci} not in {}", u.why);
                }
            }
        }
    }

    #[test]
    fn whole_words_only_and_the_longest_key() {
        let caps = |q: &str| find(q).map(|u| u.caps.to_vec());
        assert_eq!(caps("ping"), Some(vec!["net_raw"]));
        assert_eq!(caps("PING -c1 10.0.0.1"), Some(vec!["net_raw"]));
        assert_eq!(caps("pinger"), None);
        assert_eq!(caps("skipping"), None);
        assert_eq!(caps("mount(2)"), Some(vec!["sys_admin"]));
        assert_eq!(caps("mount(8)"), Some(vec!["sys_admin"]));
        assert_eq!(caps("mount --bind /a /b"), Some(vec!["sys_admin"]));
        assert_eq!(caps("socket(AF_INET,SOCK_RAW)"), Some(vec!["net_raw"]));
        assert_eq!(
            caps("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)"),
            Some(vec!["net_raw"])
        );
        assert_eq!(caps("socket(AF_INET, SOCK_STREAM)"), None);
        assert_eq!(caps("ip link set lo up"), Some(vec!["net_admin"]));
        assert_eq!(caps("ip netns add x"), Some(vec!["sys_admin"]));
        assert_eq!(caps("nice -n -5 true"), Some(vec!["sys_nice"]));
        assert_eq!(caps("date -s 12:00"), Some(vec!["sys_time"]));
        assert_eq!(
            key_for(find("date -s 12:00").unwrap(), "date -s 12:00"),
            "date -s"
        );
        assert_eq!(
            caps("nsenter -t 1 -m"),
            Some(vec!["sys_chroot", "sys_admin"])
        );
        assert_eq!(caps(""), None);
        assert_eq!(caps("()"), None);
    }
}
