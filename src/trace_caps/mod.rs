//! `--trace-caps`: the kernel's own capability checks for one container.
//!
//! Since Linux 6.14 `capability:cap_capable` fires at every capability check with the
//! capability, the verdict and the user namespaces involved. Three hand-written eBPF programs
//! (`prog`) attach to it and to `sys_enter`/`sys_exit` as raw tracepoints (no kprobes, tracefs,
//! libbpf or clang), filter in the kernel to the container's cgroup v2, and send `Event`s
//! through a BPF ring buffer that a thread of the runtime reads (`ring`). `report` turns them
//! into lines and a summary.
//!
//! Off, none of this runs: not a syscall, not a file read.

pub mod btf;
pub mod prog;
pub mod report;
mod ring;
pub mod seccomp_verdict;

use crate::cgroups::bpf::{Insn, bpf};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use report::{Event, Report};

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_RAW_TRACEPOINT_OPEN: libc::c_long = 17;
const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_MAP_TYPE_LRU_HASH: u32 = 9;
const BPF_MAP_TYPE_RINGBUF: u32 = 27;
const BPF_PROG_TYPE_RAW_TRACEPOINT: u32 = 17;

/// Bytes of ring buffer: ≈ 2,700 checks (96 bytes each with its header) between two reads (the
/// reader wakes on each). 1 MiB was measured: attach took ≈ 0.15 ms longer and a flood of
/// 100,000 checks lost as many (the reader's pace is the limit), so the programs count what is
/// dropped instead (`prog::Maps::lost`).
const RING_SIZE: u32 = 256 * 1024;

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

#[repr(C)]
#[derive(Default)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

#[repr(C)]
#[derive(Default)]
struct RawTracepointAttr {
    name: u64,
    prog_fd: u32,
    _pad: u32,
}

fn name16(name: &str) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..name.len().min(15)].copy_from_slice(&name.as_bytes()[..name.len().min(15)]);
    b
}

/// What failed attaching or reporting the tracer: one line naming the step or the path; the
/// OS's error is the source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel cannot trace here, said as one line naming what is needed (`refusal`).
    #[error("{0}")]
    Refused(String),
    /// No cgroup v2 to filter on (`NEEDS_V2`, or its wording for a running container).
    #[error("{0}")]
    NoCgroupV2(&'static str),
    #[error(transparent)]
    Load(#[from] crate::cgroups::bpf::LoadError),
    /// A step on the container's cgroup or the tracer's own maps: what it was, the OS's answer.
    #[error("{step}")]
    Os {
        step: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cgroup {} is not below {}", .dir.display(), .mountpoint.display())]
    NotBelow { dir: PathBuf, mountpoint: PathBuf },
    #[error("the report as JSON")]
    Json(#[source] serde_json::Error),
    #[error("writing --trace-caps-json \"{}\"", .path.display())]
    WriteJson {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error of `step`, for `map_err` (the line is made only on failure).
fn os(step: impl FnOnce() -> String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Os {
        step: step(),
        source,
    }
}

/// bpf(2) returned a new fd.
fn owned(fd: i32) -> OwnedFd {
    // SAFETY: the bpf command returned a new file descriptor (O_CLOEXEC) nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn map(kind: u32, key: u32, value: u32, entries: u32, name: &str) -> std::io::Result<OwnedFd> {
    let mut attr = MapCreateAttr {
        map_type: kind,
        key_size: key,
        value_size: value,
        max_entries: entries,
        map_name: name16(name),
        ..Default::default()
    };
    bpf(BPF_MAP_CREATE, &mut attr).map(owned)
}

fn load(prog: &[Insn], name: &str) -> Result<OwnedFd> {
    // GPL-compatible: bpf_probe_read_kernel is a GPL-only helper.
    crate::cgroups::bpf::load_program(
        BPF_PROG_TYPE_RAW_TRACEPOINT,
        prog,
        c"Dual MIT/GPL",
        name,
        &format!("the capability tracer's {name} program"),
    )
    .map_err(Error::Load)
}

fn attach_raw(prog: &OwnedFd, tracepoint: &std::ffi::CStr) -> std::io::Result<OwnedFd> {
    let mut attr = RawTracepointAttr {
        name: tracepoint.as_ptr() as u64,
        prog_fd: prog.as_raw_fd() as u32,
        _pad: 0,
    };
    bpf(BPF_RAW_TRACEPOINT_OPEN, &mut attr).map(owned)
}

const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_LINK_CREATE: libc::c_long = 28;

#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
}

/// `prog::device_access` linked to the cgroup at `dir`. A link, not BPF_PROG_ATTACH: the
/// program leaves the cgroup when the tracer is dropped, even from a container that runs on
/// (`minirun trace-caps ID` then Ctrl-C). Beside minirun's own device program, attached with
/// BPF_F_ALLOW_MULTI, which a link joins.
fn attach_device_watch(dir: &Path, m: &prog::Maps) -> Result<(OwnedFd, OwnedFd)> {
    let p = crate::cgroups::bpf::load_program(
        BPF_PROG_TYPE_CGROUP_DEVICE,
        &prog::device_access(m),
        c"Dual MIT/GPL",
        "minirun_devwatch",
        "the capability tracer's device program",
    )?;
    let cgroup =
        std::fs::File::open(dir).map_err(os(|| format!("opening the cgroup {}", dir.display())))?;
    let mut attr = LinkCreateAttr {
        prog_fd: p.as_raw_fd() as u32,
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        flags: 0,
    };
    let link = bpf(BPF_LINK_CREATE, &mut attr).map(owned).map_err(os(|| {
        format!("linking a device program to {}", dir.display())
    }))?;
    Ok((p, link))
}

/// The one-line refusal for a kernel without the tracepoint, naming what is needed.
pub fn too_old(release: &str) -> String {
    format!(
        "--trace-caps needs Linux 6.14 or later (the capability:cap_capable tracepoint); this kernel is {release}"
    )
}

/// Pure: the one-line error for bpf(2) failing with `e` while doing `what` on kernel `release`.
/// A kernel without the tracepoint (before 6.14) answers ENOENT to the attach; one without BPF,
/// ENOSYS to anything.
pub fn refusal(what: &str, e: &std::io::Error, release: &str) -> Error {
    Error::Refused(match e.raw_os_error() {
        Some(libc::ENOENT) if what.contains("cap_capable") => too_old(release),
        Some(libc::ENOSYS) => format!(
            "{} (this kernel has no bpf(2): CONFIG_BPF_SYSCALL)",
            too_old(release)
        ),
        Some(libc::EPERM) => format!(
            "--trace-caps: the kernel refused {what} (needs CAP_BPF and CAP_PERFMON, or root): {e}"
        ),
        _ => format!("--trace-caps: {what}: {e}"),
    })
}

fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// A cgroup v2 directory's id (its kernfs inode number, what bpf_get_current_cgroup_id
/// returns) and level (0: the hierarchy's root), as the tracer filters on.
pub fn cgroup_target(dir: &Path, mountpoint: &Path) -> Result<(u64, u32)> {
    let id = std::fs::metadata(dir)
        .map_err(os(|| format!("reading the cgroup {}", dir.display())))?
        .ino();
    let rel = dir.strip_prefix(mountpoint).map_err(|_| Error::NotBelow {
        dir: dir.to_path_buf(),
        mountpoint: mountpoint.to_path_buf(),
    })?;
    Ok((id, rel.components().count() as u32))
}

/// The refusal for a container without a cgroup v2 to filter on.
pub const NEEDS_V2: &str = "--trace-caps needs the container's cgroup v2 (the unified hierarchy, and no --cgroup-manager disabled)";

/// The tracer for a container being launched into `cgroup`: armed at its first execve.
pub fn for_cgroup(cgroup: Option<&crate::cgroups::Cgroup>) -> Result<Tracer> {
    let v2 = cgroup
        .and_then(|c| c.paths().v2.as_ref())
        .ok_or(Error::NoCgroupV2(NEEDS_V2))?;
    Tracer::attach(&v2.dir, &v2.mountpoint, false)
}

/// The tracer for a running container's cgroup: armed at once.
pub fn for_running(cgroup: &crate::cgroups::Cgroup) -> Result<Tracer> {
    let v2 = cgroup.paths().v2.as_ref().ok_or(Error::NoCgroupV2(
        "the container has no cgroup v2 (the unified hierarchy), which the tracer filters on",
    ))?;
    Tracer::attach(&v2.dir, &v2.mountpoint, true)
}

/// The attached programs and their maps. Dropping it detaches everything.
pub struct Tracer {
    ring: ring::Ring,
    /// `prog::Maps::lost`: the events the full ring buffer dropped, per kind.
    lost: OwnedFd,
    _maps: Vec<OwnedFd>,
    _progs: Vec<OwnedFd>,
    _links: Vec<OwnedFd>,
    /// How long `attach` took (the tracer's cost on a launch).
    pub attach_time: Duration,
    /// CLOCK_MONOTONIC at attach, in ns: the events' times are shown from it.
    t0: u64,
}

impl Tracer {
    /// Loads and attaches the programs for the cgroup v2 at `dir` (under `mountpoint`). With
    /// `armed`, checks are recorded at once (a running container); else from the first execve
    /// in the cgroup on (a container being set up).
    pub fn attach(dir: &Path, mountpoint: &Path, armed: bool) -> Result<Tracer> {
        let started = Instant::now();
        let (cgroup_id, cgroup_level) = cgroup_target(dir, mountpoint)?;
        let t0 = monotonic_ns();
        let refused = |what: &str, e: std::io::Error| refusal(what, &e, &kernel_release());
        let armed_map = map(BPF_MAP_TYPE_ARRAY, 4, 8, 1, "minirun_armed")
            .map_err(|e| refused("creating a BPF map", e))?;
        let syscalls = map(BPF_MAP_TYPE_LRU_HASH, 4, 16, 16384, "minirun_sysnr")
            .map_err(|e| refused("creating a BPF map", e))?;
        let lost = map(BPF_MAP_TYPE_ARRAY, 4, 8, prog::LOST_SLOTS, "minirun_lost")
            .map_err(|e| refused("creating a BPF map", e))?;
        let ring_fd = map(BPF_MAP_TYPE_RINGBUF, 0, 0, RING_SIZE, "minirun_caps")
            .map_err(|e| refused("creating a BPF ring buffer", e))?;
        if armed {
            let (key, value) = (0u32, 1u64);
            let mut attr = MapElemAttr {
                map_fd: armed_map.as_raw_fd() as u32,
                key: &key as *const u32 as u64,
                value: &value as *const u64 as u64,
                ..Default::default()
            };
            bpf(BPF_MAP_UPDATE_ELEM, &mut attr)
                .map_err(os(|| "arming the capability tracer".into()))?;
        }
        let target = prog::Target {
            cgroup_id,
            cgroup_level,
            userns_level_offset: btf::userns_level_offset(),
        };
        let maps = prog::Maps {
            armed: armed_map.as_raw_fd(),
            syscalls: syscalls.as_raw_fd(),
            ring: ring_fd.as_raw_fd(),
            lost: lost.as_raw_fd(),
        };
        let mut progs = vec![
            load(&prog::cap_capable(&target, &maps), "minirun_caps")?,
            load(&prog::sys_enter(&target, &maps), "minirun_sysin")?,
            load(&prog::sys_exit(&target, &maps), "minirun_sysout")?,
        ];
        let mut links = Vec::new();
        // cap_capable first: on an older kernel its absence is the one thing to say.
        for (p, tp) in progs
            .iter()
            .zip([c"cap_capable", c"sys_enter", c"sys_exit"])
        {
            let link = attach_raw(p, tp).map_err(|e| {
                refused(
                    &format!("attaching to the {} tracepoint", tp.to_string_lossy()),
                    e,
                )
            })?;
            links.push(link);
        }
        // The device accesses, which tell the device rules' refusals apart.
        match attach_device_watch(dir, &maps) {
            Ok((p, l)) => {
                progs.push(p);
                links.push(l);
            }
            Err(e) => tracing::debug!(
                "device refusals not traced: {}",
                crate::error_chain::one_line(&e)
            ),
        }
        let ring = ring::Ring::map(ring_fd, RING_SIZE as usize)?;
        let attach_time = started.elapsed();
        tracing::debug!(
            "capability tracer attached to cgroup id {cgroup_id} (level {cgroup_level}) in {attach_time:?}"
        );
        Ok(Tracer {
            ring,
            lost,
            _maps: vec![armed_map, syscalls],
            _progs: progs,
            _links: links,
            attach_time,
            t0,
        })
    }

    /// What the programs counted as dropped for a full ring buffer. A counter that cannot be
    /// read counts as none, with a debug line: the report is then no worse than before.
    fn lost(&self) -> report::Lost {
        let mut n = [0u64; prog::LOST_SLOTS as usize];
        for (key, value) in (0u32..).zip(n.iter_mut()) {
            let mut attr = MapElemAttr {
                map_fd: self.lost.as_raw_fd() as u32,
                key: &key as *const u32 as u64,
                value: value as *mut u64 as u64,
                ..Default::default()
            };
            if let Err(e) = bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) {
                tracing::debug!("reading the tracer's lost-event counter {key}: {e}");
            }
        }
        report::Lost {
            checks: n[(prog::KIND_CAP - 1) as usize],
            failed: n[(prog::KIND_FAILED - 1) as usize],
            devices: n[(prog::KIND_DEVICE - 1) as usize],
        }
    }

    /// Reads events on a thread until `Running::finish`; with `live`, prints each to stderr
    /// as it comes. Called after clone3: a child cloned from a process with a second thread
    /// could inherit an allocator lock that thread holds. The lines are `--trace-caps`'s
    /// output (a detached container's go to its log instead), so not tracing's warnings.
    pub fn start(self, live: bool) -> Running {
        let sink: Option<Sink> = match live {
            true => Some(Box::new(|line: &str| eprintln!("minirun: {line}"))),
            false => None,
        };
        self.start_to(sink)
    }

    /// As `start`, each event's line going to `sink` (a detached container's log) if any.
    pub fn start_to(self, mut sink: Option<Sink>) -> Running {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let attach_time = self.attach_time;
        // Closing the write end wakes the thread at once when the run ends.
        let (wake, waker) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
            Ok((r, w)) => (Some(r), Some(w)),
            Err(_) => (None, None),
        };
        let handle = std::thread::spawn(move || {
            let mut tracer = self;
            let mut events = Vec::new();
            loop {
                let last = flag.load(Ordering::Acquire);
                if !last {
                    match &wake {
                        Some(w) => tracer.ring.wait(w.as_fd(), Duration::from_millis(500)),
                        None => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
                tracer.ring.drain(|bytes| {
                    if let Some(e) = Event::parse(bytes, tracer.t0) {
                        // Device accesses are many (/dev/null...): only a refusal names one.
                        if let Some(sink) = sink.as_mut().filter(|_| e.device.is_none()) {
                            sink(&e.line());
                        }
                        events.push(e);
                    }
                });
                if last {
                    let lost = tracer.lost();
                    return (events, lost);
                }
            }
        });
        Running {
            stop,
            waker,
            handle,
            attach_time,
            seccomp: None,
        }
    }
}

/// The reading thread of an attached tracer.
pub struct Running {
    stop: Arc<AtomicBool>,
    waker: Option<OwnedFd>,
    handle: std::thread::JoinHandle<(Vec<Event>, report::Lost)>,
    attach_time: Duration,
    seccomp: Option<seccomp_verdict::InForce>,
}

impl Running {
    /// The seccomp profile the container runs under, so a refusal names its rule.
    pub fn with_seccomp(mut self, profile: Option<seccomp_verdict::InForce>) -> Running {
        self.seccomp = profile;
        self
    }

    /// Stops reading once what is in the ring buffer is read; detaches the programs.
    pub fn finish(self) -> Report {
        self.stop.store(true, Ordering::Release);
        drop(self.waker);
        let (events, lost) = self.handle.join().unwrap_or_default();
        let mut report = Report::new(events, self.attach_time);
        report.seccomp = self.seccomp;
        report.lost = lost;
        report
    }
}

/// Where the lines of a tracer go, one line at a time without "minirun: " or a newline.
pub type Sink = Box<dyn FnMut(&str) + Send>;

/// Stops the tracer of a run that ended: the summary on stderr, the JSON to `json`. The
/// summary is the report `--trace-caps` asked for, so it is written, not logged.
pub fn report_at_exit(caps: Running, json: Option<&Path>) -> Result<()> {
    report_at_exit_to(caps, json, &mut |line| eprintln!("minirun: {line}"))
}

/// As `report_at_exit`, the summary going to `sink`.
pub fn report_at_exit_to(
    caps: Running,
    json: Option<&Path>,
    sink: &mut dyn FnMut(&str),
) -> Result<()> {
    let report = caps.finish();
    for line in report.summary() {
        sink(&line);
    }
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&report.json()).map_err(Error::Json)?;
        std::fs::write(path, text + "\n").map_err(|source| Error::WriteJson {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

fn monotonic_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: t is a valid timespec to write; CLOCK_MONOTONIC is bpf_ktime_get_ns's clock.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_kernel_gets_one_line_naming_the_version_needed() {
        let enoent = std::io::Error::from_raw_os_error(libc::ENOENT);
        let e = refusal(
            "attaching to the cap_capable tracepoint",
            &enoent,
            "6.1.0-28-amd64",
        );
        let text = e.to_string();
        assert_eq!(
            text,
            "--trace-caps needs Linux 6.14 or later (the capability:cap_capable tracepoint); this kernel is 6.1.0-28-amd64"
        );
        let enosys = std::io::Error::from_raw_os_error(libc::ENOSYS);
        let text = refusal("creating a BPF map", &enosys, "5.4.0").to_string();
        assert!(text.contains("Linux 6.14") && text.contains("5.4.0") && !text.contains('\n'));
        // ENOENT elsewhere is not mistaken for the missing tracepoint.
        let other = refusal("attaching to the sys_enter tracepoint", &enoent, "6.1").to_string();
        assert!(!other.contains("6.14"), "{other}");
    }
}
