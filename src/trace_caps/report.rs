//! The tracer's events as people and harnesses read them (pure): one line per check, a summary
//! per capability, and who refused each failed call.

use super::prog::{EACCES, EAGAIN, EPERM, EROFS, KIND_CAP, KIND_DEVICE, KIND_FAILED};
use crate::capability::names;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// One ring buffer record, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// A capability check, or a call that failed with EPERM, EACCES, EAGAIN or EROFS.
    pub failed: bool,
    /// Since the tracer attached.
    pub micros: u64,
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    /// The syscall in progress (x86_64 number), if one was.
    pub syscall: Option<u32>,
    /// When that syscall entered (ns): a check and a failure with the same value are one call.
    pub entered: u64,
    /// A check: the capability and whether it was granted; a failure: the errno.
    pub cap: u8,
    pub granted: bool,
    pub errno: i32,
    /// A failure: whether the call reached sys_enter (false: the seccomp filter refused it).
    pub ran: bool,
    /// A check: the target user namespace is the credentials' own.
    pub own_userns: bool,
    /// A check: the target user namespace's depth (0: the host's), when the kernel's BTF says.
    pub target_level: Option<u32>,
    /// A check: the credentials' address (never shown: `Report::json` numbers them).
    pub cred: u64,
    /// A failure: the call's six arguments as its registers held them at exit.
    pub args: [u64; 6],
    /// A device access the device rules decided during the call (neither a check nor a
    /// failure: the failure that follows says whether they refused it).
    pub device: Option<Device>,
}

/// A device the device rules refused, and for what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    pub block: bool,
    pub major: u32,
    pub minor: u32,
    /// DEVCG_ACC_*: 1 mknod, 2 read, 4 write.
    pub access: u32,
}

impl Device {
    /// "b 7:0 (read)", as a device rule spells the device.
    pub fn text(&self) -> String {
        let access: Vec<&str> = [(2, "read"), (4, "write"), (1, "mknod")]
            .iter()
            .filter(|(bit, _)| self.access & bit != 0)
            .map(|(_, n)| *n)
            .collect();
        format!(
            "{} {}:{} ({})",
            if self.block { 'b' } else { 'c' },
            self.major,
            self.minor,
            access.join(", ")
        )
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

impl Event {
    /// Decodes a record laid out as `prog::EVENT_SIZE` describes; `t0`: the attach time (ns).
    pub fn parse(b: &[u8], t0: u64) -> Option<Event> {
        if b.len() < super::prog::EVENT_SIZE as usize {
            return None;
        }
        let kind = u32_at(b, 0);
        if kind != KIND_CAP && kind != KIND_FAILED && kind != KIND_DEVICE {
            return None;
        }
        let device = (kind == KIND_DEVICE).then(|| Device {
            block: u32_at(b, 40) == 1,
            major: u32_at(b, 48),
            minor: u32_at(b, 52),
            access: u32_at(b, 56),
        });
        let failed = kind == KIND_FAILED;
        let nr = u32_at(b, 4) as i32;
        let pid_tgid = u64_at(b, 16);
        let comm = &b[24..40];
        let comm = &comm[..comm.iter().position(|&c| c == 0).unwrap_or(16)];
        let cap = u32_at(b, 40) as i32;
        let ret = u32_at(b, 44) as i32;
        let level = u32_at(b, 64);
        Some(Event {
            failed,
            micros: u64_at(b, 8).saturating_sub(t0) / 1000,
            pid: (pid_tgid >> 32) as u32,
            tid: pid_tgid as u32,
            comm: String::from_utf8_lossy(comm).into_owned(),
            syscall: (nr >= 0).then_some(nr as u32),
            entered: u64_at(b, 72),
            cap: if failed { 0 } else { cap.clamp(0, 255) as u8 },
            granted: !failed && ret == 0,
            errno: if failed { -ret } else { 0 },
            ran: failed && cap == 1,
            own_userns: !failed && u64_at(b, 48) == u64_at(b, 56),
            target_level: (!failed && level != u32::MAX).then_some(level),
            cred: if failed { 0 } else { u64_at(b, 80) },
            device,
            args: match failed && b.len() >= super::prog::FAILED_SIZE as usize {
                // pt_regs from r10 on: r10 r9 r8 ax cx dx si di; arguments di si dx r10 r8 r9.
                true => [56, 48, 40, 0, 16, 8].map(|at| u64_at(b, 88 + at)),
                false => [0; 6],
            },
        })
    }

    fn userns(&self) -> &'static str {
        match (self.target_level, self.own_userns) {
            (Some(0), _) => "host's user namespace",
            (_, true) => "its own user namespace",
            (_, false) => "another user namespace",
        }
    }

    /// The line printed as the check happens.
    pub fn line(&self) -> String {
        let t = format!("{}.{:06}", self.micros / 1_000_000, self.micros % 1_000_000);
        let call = syscall_name(self.syscall);
        if let Some(d) = &self.device {
            return format!(
                "[{t}] pid {} {}: {call}: the device rules refused {}",
                self.pid,
                self.comm,
                d.text()
            );
        }
        if self.failed {
            return format!(
                "[{t}] pid {} {}: {call} failed with {}",
                self.pid,
                self.comm,
                errno_name(self.errno)
            );
        }
        format!(
            "[{t}] pid {} {}: {call} checked {} → {} ({}){}",
            self.pid,
            self.comm,
            cap_name(self.cap),
            if self.granted { "granted" } else { "denied" },
            self.userns(),
            match advisory(self) {
                true => " [overcommit heuristic: never refuses]",
                false => "",
            }
        )
    }

    fn json(&self) -> Value {
        let mut v = json!({
            "time_us": self.micros,
            "pid": self.pid,
            "tid": self.tid,
            "comm": self.comm,
            "syscall": self.syscall.map(|n| syscall_name(Some(n))),
        });
        if self.failed {
            v["errno"] = json!(errno_name(self.errno));
        } else {
            v["capability"] = json!(cap_name(self.cap));
            v["granted"] = json!(self.granted);
            // For harnesses (`minimize`): a check whose answer never decides the call.
            if advisory(self) {
                v["advisory"] = json!(true);
            }
            v["userns"] = json!(match (self.target_level, self.own_userns) {
                (Some(0), _) => "host",
                (_, true) => "own",
                _ => "other",
            });
            if let Some(l) = self.target_level {
                v["userns_level"] = json!(l);
            }
        }
        v
    }
}

pub fn cap_name(cap: u8) -> String {
    format!("CAP_{}", names::short_name(cap).to_ascii_uppercase())
}

pub fn syscall_name(nr: Option<u32>) -> String {
    match nr {
        None => "(no syscall)".into(),
        Some(n) => libseccomp::ScmpSyscall::from(n as i32)
            .get_name_by_arch(libseccomp::ScmpArch::Native)
            .unwrap_or_else(|_| format!("syscall {n}")),
    }
}

fn errno_name(e: i32) -> String {
    match e {
        EPERM => "EPERM".into(),
        EACCES => "EACCES".into(),
        EAGAIN => "EAGAIN".into(),
        EROFS => "EROFS".into(),
        n => format!("errno {n}"),
    }
}

/// Per capability: how often it was checked, granted, denied, and by which calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub checked: u64,
    pub granted: u64,
    pub denied: u64,
    pub syscalls: Vec<String>,
}

/// Who refused one failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fence {
    /// A capability check in that call was denied.
    Capability(u8),
    /// The call never reached the kernel's code: the seccomp filter answered; which rule of
    /// which profile, when the profile in force is known (`seccomp_verdict::InForce::explain`).
    Seccomp(Option<String>),
    /// The call accessed a device and failed with EPERM: the device rules refused it.
    Device(Device),
    /// A fork or clone failed with EAGAIN and checked no capability.
    PidsLimit,
    /// A write to a read-only mount (EROFS): no capability lifts it.
    ReadOnlyMount,
    /// No capability was checked and the call ran: a noexec mount or a file no one may execute
    /// (EACCES before any check), an immutable file, an LSM, another check.
    Other,
}

impl Fence {
    pub fn text(&self) -> String {
        match self {
            Fence::Capability(c) => format!(
                "the capability check for {} was denied (--cap-add {} would grant it)",
                cap_name(*c),
                names::short_name(*c)
            ),
            Fence::Seccomp(Some(rule)) => format!("the seccomp filter, before the call ran: {rule}"),
            Fence::Seccomp(None) => "the seccomp filter refused the call before it ran (see the profile's rule; --security-opt seccomp=unconfined lifts it)".into(),
            Fence::Device(d) => format!(
                "the device rules refused {}: no device rule of the container allows it (--device, or a linux.resources.devices rule, would)",
                d.text()
            ),
            Fence::ReadOnlyMount => {
                "a read-only mount (--read-only, a :ro volume or a read-only bind)".into()
            }
            Fence::PidsLimit => "no capability was checked: a fork refused for the cgroup's pids limit (--pids-limit)".into(),
            Fence::Other => "no capability was checked and no filter or device rule refused it: a noexec mount, a file no one may execute, an immutable file, or another check that is not a capability".into(),
        }
    }
    fn key(&self) -> String {
        match self {
            Fence::Capability(c) => format!("capability:{}", cap_name(*c)),
            Fence::Seccomp(_) => "seccomp".into(),
            Fence::Device(d) => format!(
                "device:{} {}:{}",
                if d.block { 'b' } else { 'c' },
                d.major,
                d.minor
            ),
            Fence::PidsLimit => "pids".into(),
            Fence::ReadOnlyMount => "read-only".into(),
            Fence::Other => "other".into(),
        }
    }
}

const FORKS: [&str; 4] = ["clone", "clone3", "fork", "vfork"];
const SYS_ADMIN: u8 = 21;
const SYS_RESOURCE: u8 = 24;

/// Whether a check is the memory-overcommit heuristic's (`cap_vm_enough_memory` asks for
/// CAP_SYS_ADMIN on each writable private mapping an mmap, brk, execve or fork makes): it only
/// sizes a reserve and never makes a call fail.
pub fn advisory(e: &Event) -> bool {
    const MEMORY: [&str; 11] = [
        "brk", "mmap", "mremap", "mprotect", "execve", "execveat", "shmat", "clone", "clone3",
        "fork", "vfork",
    ];
    !e.failed && e.cap == SYS_ADMIN && MEMORY.contains(&syscall_name(e.syscall).as_str())
}

/// Pure: the fence behind the failure `f`, from the checks made during the same call.
pub fn fence(f: &Event, checks: &[Event]) -> Fence {
    if !f.ran {
        return Fence::Seccomp(None);
    }
    if f.errno == EROFS {
        return Fence::ReadOnlyMount;
    }
    let during =
        |c: &&Event| !c.failed && c.tid == f.tid && f.entered != 0 && c.entered == f.entered;
    // A device access during a call that failed with EPERM: the device rules refused it (the
    // file's mode, decided before them, answers EACCES; no LSM confines a container here).
    if f.errno == EPERM
        && let Some(d) = checks.iter().filter(during).find_map(|c| c.device)
    {
        return Fence::Device(d);
    }
    let denied: Vec<&Event> = checks
        .iter()
        .filter(during)
        .filter(|c| !c.granted && c.device.is_none())
        .collect();
    let call = syscall_name(f.syscall);
    if f.errno == EAGAIN && FORKS.contains(&call.as_str()) {
        // RLIMIT_NPROC is waived for CAP_SYS_RESOURCE; without that check, the cgroup refused.
        return match denied.iter().any(|c| c.cap == SYS_RESOURCE) {
            true => Fence::Capability(SYS_RESOURCE),
            false => Fence::PidsLimit,
        };
    }
    // A fork's namespace checks come after its overcommit ones: the last denial is the fence.
    let fork = FORKS.contains(&call.as_str());
    match denied.iter().rev().find(|c| fork || !advisory(c)) {
        Some(c) => Fence::Capability(c.cap),
        None => Fence::Other,
    }
}

/// The events the programs dropped because the ring buffer was full (the reader fell behind a
/// flood of checks), per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lost {
    pub checks: u64,
    pub failed: u64,
    pub devices: u64,
}

impl Lost {
    pub fn total(&self) -> u64 {
        self.checks + self.failed + self.devices
    }
}

/// Pure: the warning for `lost` events, none when nothing was lost.
pub fn lost_warning(lost: &Lost) -> Option<String> {
    match lost.total() {
        0 => None,
        n => Some(format!(
            "warning: the tracer lost {n} of its events (its ring buffer was full): the counts above are short"
        )),
    }
}

/// Pure: the note before the refusal lines when events were lost: a lost check or device
/// access may have been a call's fence, and a lost failure is a refusal not shown.
pub fn refusals_note(lost: &Lost) -> Option<String> {
    (lost.total() > 0).then(|| {
        format!(
            "note: with {} events lost, the refusals below are the ones kept and their fences are a best guess: a lost check ({}) or device access ({}) may have been the fence, and {} failed calls are not shown",
            lost.total(),
            lost.checks,
            lost.devices,
            lost.failed
        )
    })
}

/// Everything one traced run saw.
#[derive(Debug, Clone)]
pub struct Report {
    pub events: Vec<Event>,
    pub attach_time: Duration,
    /// What the ring buffer could not hold: the counts are short by this much.
    pub lost: Lost,
    /// The seccomp profile the container ran under, when the launch said.
    pub seccomp: Option<super::seccomp_verdict::InForce>,
}

impl Report {
    pub fn new(events: Vec<Event>, attach_time: Duration) -> Report {
        Report {
            events,
            attach_time,
            lost: Lost::default(),
            seccomp: None,
        }
    }

    pub fn checks(&self) -> impl Iterator<Item = &Event> {
        self.events
            .iter()
            .filter(|e| !e.failed && e.device.is_none())
    }

    pub fn tally(&self) -> BTreeMap<u8, Tally> {
        let mut t: BTreeMap<u8, Tally> = BTreeMap::new();
        for e in self.checks() {
            let s = t.entry(e.cap).or_default();
            s.checked += 1;
            if e.granted {
                s.granted += 1;
            } else {
                s.denied += 1;
            }
            let call = syscall_name(e.syscall);
            if !s.syscalls.contains(&call) {
                s.syscalls.push(call);
            }
        }
        t
    }

    /// Each failed call with its fence, in order.
    pub fn refusals(&self) -> Vec<(&Event, Fence)> {
        let checks: Vec<Event> = self.events.iter().filter(|e| !e.failed).cloned().collect();
        self.events
            .iter()
            .filter(|e| e.failed)
            .map(|e| {
                let f = match (fence(e, &checks), &self.seccomp) {
                    (Fence::Seccomp(None), Some(p)) => {
                        Fence::Seccomp(Some(p.explain(&syscall_name(e.syscall), &e.args)))
                    }
                    (f, _) => f,
                };
                (e, f)
            })
            .collect()
    }

    /// The lines printed at exit.
    pub fn summary(&self) -> Vec<String> {
        let tally = self.tally();
        let mut out = vec![format!(
            "capability checks by the container: {} (tracer attached in {:.1} ms)",
            self.checks().count(),
            self.attach_time.as_secs_f64() * 1000.0
        )];
        for (cap, s) in &tally {
            let heuristic = self.checks().filter(|e| e.cap == *cap).all(advisory);
            out.push(format!(
                "  {:<22} checked {:>4}  granted {:>4}  denied {:>4}  by {}{}",
                cap_name(*cap),
                s.checked,
                s.granted,
                s.denied,
                s.syscalls.join(", "),
                match heuristic {
                    true => " (the overcommit heuristic: never refuses)",
                    false => "",
                }
            ));
        }
        out.extend(lost_warning(&self.lost));
        // The same refusal again and again (a retry loop) is one line with a count.
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (e, f) in self.refusals() {
            let line = format!(
                "{}: {} → {}: {}",
                e.comm,
                syscall_name(e.syscall),
                errno_name(e.errno),
                f.text()
            );
            match seen.iter_mut().find(|(l, _)| *l == line) {
                Some((_, n)) => *n += 1,
                None => seen.push((line, 1)),
            }
        }
        if !seen.is_empty() {
            out.extend(refusals_note(&self.lost));
        }
        for (line, n) in seen {
            match n {
                1 => out.push(format!("refused: {line}")),
                n => out.push(format!("refused ({n} times): {line}")),
            }
        }
        out
    }

    /// The checks, each with `cred`: which credentials were checked, numbered in order of
    /// appearance (a kernel address is nobody's business).
    fn checks_json(&self) -> Vec<Value> {
        let mut creds: Vec<u64> = Vec::new();
        self.checks()
            .map(|e| {
                let mut v = e.json();
                if !e.failed {
                    let n = creds.iter().position(|&c| c == e.cred).unwrap_or_else(|| {
                        creds.push(e.cred);
                        creds.len() - 1
                    });
                    v["cred"] = json!(n);
                }
                v
            })
            .collect()
    }

    pub fn json(&self) -> Value {
        let summary: Vec<Value> = self
            .tally()
            .into_iter()
            .map(|(cap, s)| {
                json!({
                    "capability": cap_name(cap),
                    "checked": s.checked,
                    "granted": s.granted,
                    "denied": s.denied,
                    "syscalls": s.syscalls,
                })
            })
            .collect();
        let refusals: Vec<Value> = self
            .refusals()
            .into_iter()
            .map(|(e, f)| {
                let mut v = e.json();
                v["fence"] = json!(f.key());
                v["explanation"] = json!(f.text());
                if self.lost.total() > 0 {
                    // A lost check or device access may have been the fence.
                    v["uncertain"] = json!(true);
                }
                v
            })
            .collect();
        json!({
            "attach_us": self.attach_time.as_micros() as u64,
            "checks": self.checks_json(),
            "summary": summary,
            "refusals": refusals,
            "lost": self.lost.total(),
            "lost_by_kind": {
                "checks": self.lost.checks,
                "failed_calls": self.lost.failed,
                "device_accesses": self.lost.devices,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u32, nr: i32, cap: i32, ret: i32, entered: u64, same_ns: bool) -> Vec<u8> {
        let mut b = vec![0u8; super::super::prog::EVENT_SIZE as usize];
        b[0..4].copy_from_slice(&kind.to_le_bytes());
        b[4..8].copy_from_slice(&nr.to_le_bytes());
        b[8..16].copy_from_slice(&5_000_000u64.to_le_bytes());
        b[16..24].copy_from_slice(&((42u64 << 32) | 43).to_le_bytes());
        b[24..29].copy_from_slice(b"chown");
        b[40..44].copy_from_slice(&cap.to_le_bytes());
        b[44..48].copy_from_slice(&ret.to_le_bytes());
        b[48..56].copy_from_slice(&7u64.to_le_bytes());
        b[56..64].copy_from_slice(&(if same_ns { 7u64 } else { 8 }).to_le_bytes());
        b[64..68].copy_from_slice(&0u32.to_le_bytes());
        b[72..80].copy_from_slice(&entered.to_le_bytes());
        b
    }

    #[test]
    fn a_denied_check_in_the_failed_call_is_its_fence() {
        let check = Event::parse(&record(KIND_CAP, 260, 0, -1, 99, true), 0).unwrap();
        assert_eq!(check.pid, 42);
        assert_eq!(check.tid, 43);
        assert_eq!(check.comm, "chown");
        assert!(!check.granted);
        assert_eq!(check.micros, 5000);
        assert!(
            check
                .line()
                .contains("fchownat checked CAP_CHOWN → denied (host's")
        );
        let failed = Event::parse(&record(KIND_FAILED, 260, 1, -1, 99, false), 0).unwrap();
        assert_eq!(
            fence(&failed, std::slice::from_ref(&check)),
            Fence::Capability(0)
        );
        // Another call of the same thread (another entry time) is not this one's fence.
        let other = Event::parse(&record(KIND_FAILED, 260, 1, -1, 100, false), 0).unwrap();
        assert_eq!(fence(&other, &[check]), Fence::Other);
    }

    #[test]
    fn a_call_that_never_entered_was_refused_by_seccomp_and_a_failed_fork_by_pids() {
        let seccomp = Event::parse(&record(KIND_FAILED, 272, 0, -1, 0, false), 0).unwrap();
        assert!(!seccomp.ran);
        assert_eq!(fence(&seccomp, &[]), Fence::Seccomp(None));
        let fork = Event::parse(&record(KIND_FAILED, 56, 1, -11, 5, false), 0).unwrap();
        // The overcommit heuristic's CAP_SYS_ADMIN check during the fork is not the fence.
        let overcommit = Event::parse(&record(KIND_CAP, 56, 21, -1, 5, true), 0).unwrap();
        assert!(advisory(&overcommit));
        assert_eq!(fence(&fork, &[overcommit]), Fence::PidsLimit);
        let nproc = Event::parse(&record(KIND_CAP, 56, 24, -1, 5, true), 0).unwrap();
        assert_eq!(fence(&fork, &[nproc]), Fence::Capability(24));
    }

    #[test]
    fn a_device_access_in_a_call_that_failed_eperm_names_the_device() {
        // openat (257) of b 7:0 for reading, then the call fails with EPERM.
        let mut dev = record(KIND_DEVICE, 257, 1, 0, 9, true);
        dev[48..52].copy_from_slice(&7u32.to_le_bytes());
        dev[52..56].copy_from_slice(&0u32.to_le_bytes());
        dev[56..60].copy_from_slice(&2u32.to_le_bytes());
        let dev = Event::parse(&dev, 0).unwrap();
        let want = Device {
            block: true,
            major: 7,
            minor: 0,
            access: 2,
        };
        assert_eq!(dev.device, Some(want));
        let failed = Event::parse(&record(KIND_FAILED, 257, 1, -EPERM, 9, false), 0).unwrap();
        let f = fence(&failed, std::slice::from_ref(&dev));
        assert_eq!(f, Fence::Device(want));
        assert_eq!(f.key(), "device:b 7:0");
        assert!(
            f.text()
                .starts_with("the device rules refused b 7:0 (read)")
        );
        // EACCES is the file's mode, decided before the device rules.
        let eacces = Event::parse(&record(KIND_FAILED, 257, 1, -EACCES, 9, false), 0).unwrap();
        assert_eq!(fence(&eacces, std::slice::from_ref(&dev)), Fence::Other);
        // A device access is not a capability check.
        let r = Report::new(vec![dev, failed], Duration::ZERO);
        assert_eq!(r.checks().count(), 0);
        assert_eq!(r.json()["refusals"][0]["fence"], "device:b 7:0");
    }

    #[test]
    fn the_summary_counts_per_capability() {
        let mut events = vec![];
        for ret in [0, -1, -1] {
            events.push(Event::parse(&record(KIND_CAP, 260, 0, ret, 1, true), 0).unwrap());
        }
        let r = Report::new(events, Duration::from_micros(1500));
        let t = r.tally();
        assert_eq!(
            t[&0],
            Tally {
                checked: 3,
                granted: 1,
                denied: 2,
                syscalls: vec!["fchownat".into()]
            }
        );
        assert_eq!(r.json()["summary"][0]["denied"], 2);
        assert!(r.summary()[0].contains("1.5 ms"));
    }

    #[test]
    fn lost_events_are_said_and_make_the_refusals_uncertain() {
        let check = Event::parse(&record(KIND_CAP, 260, 0, -1, 99, true), 0).unwrap();
        let failed = Event::parse(&record(KIND_FAILED, 260, 1, -1, 99, false), 0).unwrap();
        let mut r = Report::new(vec![check, failed], Duration::ZERO);
        assert_eq!(r.json()["lost"], 0, "always present");
        assert!(r.json()["refusals"][0].get("uncertain").is_none());
        assert!(!r.summary().iter().any(|l| l.contains("lost")));

        r.lost = Lost {
            checks: 1000,
            failed: 2,
            devices: 0,
        };
        let lines = r.summary();
        assert!(lines.contains(&"warning: the tracer lost 1002 of its events (its ring buffer was full): the counts above are short".to_string()), "{lines:?}");
        let note = lines
            .iter()
            .position(|l| l.starts_with("note: with 1002 events lost"))
            .unwrap();
        let refused = lines.iter().position(|l| l.starts_with("refused")).unwrap();
        assert!(note < refused, "{lines:?}");
        let doc = r.json();
        assert_eq!(doc["lost"], 1002);
        assert_eq!(doc["lost_by_kind"]["checks"], 1000);
        assert_eq!(doc["lost_by_kind"]["failed_calls"], 2);
        assert_eq!(doc["refusals"][0]["uncertain"], true);
    }
}
