//! pscap's view of a process, reproduced exactly so the two can be compared line by line.
//!
//! libcap-ng's rules: a process whose effective set is empty is not listed; one whose effective
//! set holds every capability the kernel knows prints `full`; otherwise its permitted set is
//! printed by name in kernel order. ` @` follows when the ambient set is not empty and ` +`
//! when the bounding set is not empty.

use crate::capability::{CapSet, CapSets};
use crate::container::procfs;

pub const HEADER: &str = "ppid  pid   name        command             capabilities";

/// One process as pscap needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub ppid: i32,
    pub pid: i32,
    /// `root` for euid 0, else the host's user name, else the number.
    pub user: String,
    pub command: String,
    pub sets: CapSets,
    pub in_child_userns: bool,
}

/// The pscap line for `p`, or None when pscap would not list it.
pub fn line(p: &Proc, last_cap: u8) -> Option<String> {
    (!p.sets.effective.is_empty()).then(|| ps_line(p, last_cap))
}

/// `minirun ps`'s line: pscap's, except that a process with an empty effective set is listed
/// too, with `(none)` where pscap would leave it out.
pub fn ps_line(p: &Proc, last_cap: u8) -> String {
    let mut cmd = p.command.clone();
    if p.in_child_userns {
        cmd.push_str(" *");
    }
    let all = CapSet::all_up_to(last_cap);
    let caps = if p.sets.effective.is_empty() {
        "(none)".to_string()
    } else if p.sets.effective.intersect(all) == all {
        "full".to_string()
    } else {
        p.sets.permitted.names()
    };
    let mut out = format!(
        "{:<5} {:<5} {:<10}  {:<18}  {caps}",
        p.ppid, p.pid, p.user, cmd
    );
    if !p.sets.ambient.is_empty() {
        out.push_str(" @");
    }
    if !p.sets.bounding.is_empty() {
        out.push_str(" +");
    }
    out
}

/// What the marks of a ps line mean (for --help and the README).
pub const MARKS: &str = "Marks: \" +\" after the list: the bounding set is not empty (execve can regain \
capabilities, e.g. through a setuid-root file); \" @\": the ambient set is not empty (capabilities \
that survive execve for a non-root user); \"*\" after the command: the process is in a user \
namespace other than the host's (its capabilities apply only there). \"full\": every capability \
the kernel knows; \"(none)\": an empty effective set.";

/// The uid a process has inside its own user namespace: the host's `uid` mapped back through
/// the lines of its /proc/PID/uid_map ("inside outside count"); unchanged when unmapped.
pub fn uid_inside(uid_map: &str, uid: u32) -> u32 {
    id_map(uid_map)
        .into_iter()
        .find_map(|[inside, outside, count]| {
            (uid >= outside && uid - outside < count).then(|| inside + (uid - outside))
        })
        .unwrap_or(uid)
}

/// The well-formed lines of a /proc/PID/uid_map or gid_map: `[inside, outside, count]`.
pub(super) fn id_map(text: &str) -> Vec<[u32; 3]> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<u32> = l
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            f.try_into().ok()
        })
        .collect()
}

/// Reads a process from /proc; `users` maps uids to names (the host's /etc/passwd).
pub fn read_proc(pid: i32, users: &dyn Fn(u32) -> Option<String>) -> Option<Proc> {
    let status = procfs::status_text(Some(pid)).ok()?;
    let command = procfs::command_name(pid)?;
    let ppid = procfs::parent_pid(pid)?;
    let euid: u32 = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let user = if euid == 0 {
        "root".to_string()
    } else {
        users(euid).unwrap_or_else(|| euid.to_string())
    };
    let sets = crate::capability::inspect::parse_status(&status).ok()?;
    Some(Proc {
        ppid,
        pid,
        user,
        command,
        sets,
        in_child_userns: procfs::ns_link(Some(pid), "user") != procfs::ns_link(None, "user"),
    })
}

/// uid → name from a passwd text.
pub fn passwd_lookup(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2].parse() == Ok(uid)).then(|| f[0].to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::policy::DOCKER_DEFAULTS;

    fn proc_with(e: CapSet, p: CapSet, b: CapSet, a: CapSet) -> Proc {
        Proc {
            ppid: 4321,
            pid: 4330,
            user: "root".into(),
            command: "sleep".into(),
            sets: CapSets {
                bounding: b,
                effective: e,
                permitted: p,
                inheritable: CapSet::EMPTY,
                ambient: a,
            },
            in_child_userns: false,
        }
    }

    #[test]
    fn docker_defaults_line() {
        let d = DOCKER_DEFAULTS;
        let l = line(&proc_with(d, d, d, CapSet::EMPTY), 40).unwrap();
        assert_eq!(
            l,
            "4321  4330  root        sleep               chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap +"
        );
    }

    #[test]
    fn empty_effective_is_not_listed_and_full_and_ambient() {
        let none = CapSet::EMPTY;
        assert_eq!(line(&proc_with(none, none, none, none), 40), None);
        let all = CapSet::all_up_to(40);
        let l = line(&proc_with(all, all, all, none), 40).unwrap();
        assert!(l.ends_with("  full +"), "{l}");
        let nbs = CapSet::of(&[10]);
        let l = line(&proc_with(nbs, nbs, DOCKER_DEFAULTS, nbs), 40).unwrap();
        assert!(l.ends_with("  net_bind_service @ +"), "{l}");
    }

    #[test]
    fn ps_lists_an_empty_effective_set_as_none() {
        let none = CapSet::EMPTY;
        let l = ps_line(&proc_with(none, none, none, none), 40);
        assert_eq!(l, "4321  4330  root        sleep               (none)");
        let mut p = proc_with(none, none, DOCKER_DEFAULTS, none);
        p.in_child_userns = true;
        assert!(ps_line(&p, 40).ends_with("sleep *             (none) +"));
        let d = DOCKER_DEFAULTS;
        let full = proc_with(d, d, d, none);
        assert_eq!(Some(ps_line(&full, 40)), line(&full, 40));
    }

    #[test]
    fn uids_map_back_into_the_namespace() {
        assert_eq!(
            uid_inside("         0     100000      65536\n", 101000),
            1000
        );
        assert_eq!(uid_inside("         0          0 4294967295\n", 1000), 1000);
        assert_eq!(uid_inside("         0     100000          1\n", 5), 5);
    }

    #[test]
    fn header_matches_pscap() {
        assert_eq!(
            HEADER,
            format!(
                "{:<5} {:<5} {:<10}  {:<18}  {}",
                "ppid", "pid", "name", "command", "capabilities"
            )
        );
    }
}
