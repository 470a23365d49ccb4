//! `minirun experiment`: for each capability, two containers run `capprobe CAP`, one with
//! Docker's default set plus the capability, one with the defaults minus it. When the probe's
//! operation is allowed in the first and refused in the second, the capability is shown to gate
//! it; every other combination gets a verdict that says what happened. That pair runs with
//! `seccomp=unconfined`, so the verdict is the kernel's capability check alone; the seccomp
//! dimension (`lab::seccomp_rows`) runs the granted probe again under Docker's profile.

use super::{Error, Result, within};
use super::{Finished, out, progress, progress_wanted, rootfs_dir, run_minirun};
use crate::capability::policy::DOCKER_DEFAULTS;
use crate::capability::{self as cap, CapSet, names};
use crate::error_chain::step;
use serde::Serialize;
use std::ffi::OsString;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::ExperimentArgs;
pub use super::probe::{Probe, Side};
use super::seccomp_rows::{
    SeccompRow, render_table as seccomp_table, with_opt, write_without_rule,
};

/// One capability's experiment: the capability pair and the seccomp dimension.
type Both = (Row, SeccompRow);

/// A scratch directory removed when dropped.
pub(super) struct Scratch(pub(super) std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(super) fn scratch_dir() -> Result<Scratch> {
    let d = std::env::temp_dir().join(format!("minirun-experiment-{}", std::process::id()));
    std::fs::create_dir_all(&d).map_err(step(|| format!("creating {}", d.display())))?;
    Ok(Scratch(d))
}

/// Containers running at once: the machine has two cores, and each probe is short.
pub const PARALLEL: usize = 2;

/// The outcome of one experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed with the capability, refused (EPERM or EACCES) without it.
    Gated,
    /// capprobe has no harmless operation for it here; the reason says why.
    NotProbed(String),
    /// Allowed even without the capability: it did not gate the operation.
    Ungated,
    /// Not gated in this environment, for a reason that is understood.
    Explained(String),
    /// Anything else: the experiment itself failed or the kernel answered surprisingly.
    Unexpected(String),
}

impl Verdict {
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::Gated => "gated",
            Verdict::NotProbed(_) => "not-probed",
            Verdict::Ungated => "ungated",
            Verdict::Explained(_) => "explained",
            Verdict::Unexpected(_) => "unexpected",
        }
    }

    pub fn why(&self) -> Option<&str> {
        match self {
            Verdict::Gated | Verdict::Ungated => None,
            Verdict::NotProbed(w) | Verdict::Explained(w) | Verdict::Unexpected(w) => Some(w),
        }
    }

    /// Whether the experiment counts as passed: the exit status is 0 only when all do.
    pub fn passes(&self) -> bool {
        matches!(
            self,
            Verdict::Gated | Verdict::NotProbed(_) | Verdict::Explained(_)
        )
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.why() {
            Some(w) => write!(f, "{}: {w}", self.kind()),
            None => f.write_str(self.kind()),
        }
    }
}

/// Results that mean "the kernel refused for lack of privilege". Permission-bit, port, SysV IPC,
/// nice, lease and perf checks answer EACCES rather than EPERM.
fn is_refusal(result: &str) -> bool {
    matches!(result, "EPERM" | "EACCES")
}

/// The verdict for one capability from what its two containers showed.
pub fn verdict(granted: &Side, dropped: &Side) -> Verdict {
    if let Side::Withheld(_) = granted {
        return Verdict::Explained(
            "withheld by the environment: minirun's own bounding set lacks it, so no container \
             here can be granted it"
                .into(),
        );
    }
    let (g, d) = match (granted, dropped) {
        (Side::Probe(g), Side::Probe(d)) => (g, d),
        (Side::Probe(_), other) => {
            let m = other.note().unwrap_or("no answer");
            return Verdict::Unexpected(format!("the dropped container failed: {m}"));
        }
        (other, _) => {
            let m = other.note().unwrap_or("no answer");
            return Verdict::Unexpected(format!("the granted container failed: {m}"));
        }
    };
    let not_probed = [g, d].into_iter().find(|p| p.result == "not-probed");
    if let Some(p) = not_probed {
        let reason = p.reason.clone().unwrap_or_else(|| "no reason given".into());
        return Verdict::NotProbed(reason);
    }
    match (g.result.as_str(), d.result.as_str()) {
        ("allowed", r) if is_refusal(r) => Verdict::Gated,
        ("allowed", "allowed") => Verdict::Ungated,
        ("allowed", other) => Verdict::Unexpected(format!(
            "without the capability the kernel answered {other}, which is not a permission refusal"
        )),
        (a, b) if a == b => match &g.detail {
            // The probe knows why this operation fails whatever the capabilities.
            Some(why) => Verdict::Explained(format!("{a} with and without it: {why}")),
            None => Verdict::Unexpected(format!("{a} with and without the capability")),
        },
        (a, b) => Verdict::Unexpected(format!(
            "refused with {a} even with the capability ({b} without it)"
        )),
    }
}

/// One capability's experiment.
#[derive(Debug, Clone)]
pub struct Row {
    pub number: u8,
    pub name: String,
    pub docker_default: bool,
    pub operation: String,
    pub granted: Side,
    pub dropped: Side,
    pub verdict: Verdict,
    /// The capabilities the kernel checked during the granted probe (`--trace-caps`); None
    /// where the tracer cannot run.
    pub checked: Option<CapSet>,
}

impl Row {
    pub fn new(number: u8, granted: Side, dropped: Side) -> Row {
        let operation = super::probe::operation(number, &granted, &dropped);
        Row {
            number,
            name: names::short_name(number),
            docker_default: DOCKER_DEFAULTS.contains(number),
            operation,
            verdict: verdict(&granted, &dropped),
            granted,
            dropped,
            checked: None,
        }
    }

    /// The CHECKED column: the capabilities the kernel checked, `!` first when the probe's own
    /// was not among them (the probe tests something else); `?` untraced, `-` no probe ran.
    pub fn checked_text(&self) -> String {
        if self.granted.probe().is_none() {
            return "-".into();
        }
        match self.checked {
            None => "?".into(),
            Some(s) if s.is_empty() => "!none".into(),
            Some(s) => {
                let names = s.short_names().join(",");
                match s.contains(self.number) {
                    true => names,
                    false => format!("!{names}"),
                }
            }
        }
    }
}

#[derive(Serialize)]
struct JsonRow<'a> {
    capability: &'a str,
    number: u8,
    docker_default: bool,
    operation: &'a str,
    granted: &'a str,
    granted_note: Option<&'a str>,
    dropped: &'a str,
    dropped_note: Option<&'a str>,
    verdict: &'a str,
    why: Option<&'a str>,
    kernel_checked: Option<Vec<String>>,
}

/// One JSON object: capability, number, docker_default, operation, granted, granted_note,
/// dropped, dropped_note, verdict (gated, not-probed, ungated, explained, unexpected), why.
pub fn render_json(row: &Row) -> String {
    serde_json::to_string(&JsonRow {
        capability: &row.name,
        number: row.number,
        docker_default: row.docker_default,
        operation: &row.operation,
        granted: row.granted.short(),
        granted_note: row.granted.note(),
        dropped: row.dropped.short(),
        dropped_note: row.dropped.note(),
        verdict: row.verdict.kind(),
        why: row.verdict.why(),
        kernel_checked: row.checked.map(|s| s.short_names()),
    })
    .unwrap_or_else(|e| format!("{{\"error\":\"serialising a row: {e}\"}}"))
}

/// The table, then one note per row that is not plainly gated, then a summary line.
pub fn render_table(rows: &[Row]) -> String {
    let cw = rows
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(0)
        .max("CAPABILITY".len());
    let ow = rows
        .iter()
        .map(|r| r.operation.chars().count())
        .max()
        .unwrap_or(0)
        .max("OPERATION".len());
    let rw = rows
        .iter()
        .flat_map(|r| [r.granted.short().len(), r.dropped.short().len()])
        .max()
        .unwrap_or(0)
        .max("DROPPED".len());
    let kw = rows
        .iter()
        .map(|r| r.checked_text().len())
        .max()
        .unwrap_or(0)
        .max("CHECKED".len());
    let line = |c: &str, d: &str, o: &str, g: &str, x: &str, k: &str, v: &str| {
        format!("{c:<cw$}  {d:<7}  {o:<ow$}  {g:<rw$}  {x:<rw$}  {k:<kw$}  {v}")
            .trim_end()
            .to_string()
            + "\n"
    };
    let mut text = line(
        "CAPABILITY",
        "DEFAULT",
        "OPERATION",
        "GRANTED",
        "DROPPED",
        "CHECKED",
        "VERDICT",
    );
    for r in rows {
        text.push_str(&line(
            &r.name,
            if r.docker_default { "yes" } else { "no" },
            &r.operation,
            r.granted.short(),
            r.dropped.short(),
            &r.checked_text(),
            r.verdict.kind(),
        ));
    }
    if rows.iter().any(|r| r.checked.is_some()) {
        text.push_str(
            "\nCHECKED: the capabilities the kernel checked during the granted probe (--trace-caps);\n\
             ! first: the probe's own capability was not among them, so it tests something else\n",
        );
    }
    let notes: Vec<&Row> = rows.iter().filter(|r| r.verdict.why().is_some()).collect();
    if !notes.is_empty() {
        text.push_str("\nnotes:\n");
        for r in notes {
            text.push_str(&format!("  {:<cw$}  {}\n", r.name, r.verdict));
        }
    }
    text.push('\n');
    text.push_str(&summary(rows));
    text.push('\n');
    text
}

/// `41 capabilities: 33 gated, 6 not-probed, 2 explained`.
pub fn summary(rows: &[Row]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for r in rows {
        let k = r.verdict.kind();
        match counts.iter_mut().find(|(n, _)| *n == k) {
            Some((_, c)) => *c += 1,
            None => counts.push((k, 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(k, c)| format!("{c} {k}")).collect();
    let noun = if rows.len() == 1 {
        "capability"
    } else {
        "capabilities"
    };
    format!("{} {noun}: {}", rows.len(), parts.join(", "))
}

/// The capabilities to test: the named ones (or all the kernel knows), in kernel order, once each.
pub fn selection(values: &[String], last: u8) -> Result<CapSet> {
    if values.is_empty() {
        return Ok(CapSet::all_up_to(last));
    }
    Ok(names::parse_set(values, last)?)
}

/// Turns one container's outcome into a `Side`. `held`: whether minirun may grant the capability.
/// capprobe's JSON line is the verdict whatever its exit status (which is 1 for a refusal); only
/// a container that printed no probe line has failed.
pub fn side_from(f: &Finished, cap: u8, held: bool) -> Side {
    let last = f.stdout.lines().rev().find(|l| !l.trim().is_empty());
    let parsed = last.map(serde_json::from_str::<Probe>);
    if let Some(Ok(p)) = &parsed
        && p.number == cap
    {
        return Side::Probe(p.clone());
    }
    if !f.success() {
        let msg = format!("{} ({})", f.first_error_line(), f.status_text());
        let withheld = f.stderr.contains("withheld by the environment");
        return if withheld || !held {
            Side::Withheld(msg)
        } else {
            Side::Failed(msg)
        };
    }
    match parsed {
        Some(Ok(p)) => Side::Failed(format!(
            "capprobe answered for capability {} instead of {cap}",
            p.number
        )),
        Some(Err(e)) => Side::Failed(format!("capprobe's output is not a probe line: {e}")),
        None => Side::Failed("capprobe printed nothing".into()),
    }
}

/// Docker's default PATH: where the container will look for `capprobe`.
const CONTAINER_PATH: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Checked once, before 82 containers each fail to find it. Looked up as the container will
/// (symlinks resolved inside the rootfs): a regular file with an execute bit.
pub(super) fn require_capprobe(rootfs: &Path) -> Result<()> {
    use crate::container::in_root;
    use nix::fcntl::OFlag;
    let root = nix::fcntl::open(
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(step(|| format!("opening rootfs {}", rootfs.display())))?;
    let found = CONTAINER_PATH.iter().any(|dir| {
        let path = Path::new(dir).join("capprobe");
        in_root::open(&root, &path, OFlag::O_PATH)
            .and_then(|fd| nix::sys::stat::fstat(&fd))
            .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_mode & 0o111 != 0)
    });
    if !found {
        return Err(Error::Refused(format!(
            "rootfs \"{}\" has no capprobe in its PATH: `make fixtures` builds rootfs-fixtures/build/busybox with it, or copy the static capprobe (`make build`) into its /usr/local/bin",
            rootfs.display()
        )));
    }
    Ok(())
}

fn container_args(
    flag: &str,
    name: &str,
    user: Option<&str>,
    rootfs: &std::path::Path,
) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec!["--volatile".into(), flag.into(), name.into()];
    if let Some(u) = user {
        a.push("--user".into());
        a.push(u.into());
    }
    a.push(rootfs.into());
    a.push("capprobe".into());
    a.push(name.into());
    a
}

pub fn run(state_root: &Path, args: &ExperimentArgs) -> Result<i32> {
    let rootfs = rootfs_dir(&args.rootfs)?;
    require_capprobe(&rootfs)?;
    let last = cap::kernel_last_cap();
    let caps: Vec<u8> = selection(&args.caps, last)?.iter().collect();
    if caps.is_empty() {
        return Err(Error::Refused("no capability to test".into()));
    }
    let held = cap::held_bounding();
    let timeout = Duration::from_secs(args.timeout.max(1));
    let user = args.user.as_deref();
    let show = progress_wanted();

    // Profiles without one capability's rule, for the seccomp dimension.
    let scratch = scratch_dir()?;
    let bench = Bench {
        state_root,
        rootfs: &rootfs,
        user,
        held,
        timeout,
        scratch: &scratch,
        tracer_ok: AtomicBool::new(true),
    };
    let (rows, sc_rows) = in_pool(&caps, show, |c| bench.one(c))?;
    print_rows(args.json, &rows, &sc_rows)?;
    Ok(if rows.iter().all(|r| r.verdict.passes()) {
        0
    } else {
        1
    })
}

/// What every capability's experiment shares.
struct Bench<'a> {
    state_root: &'a Path,
    rootfs: &'a Path,
    user: Option<&'a str>,
    held: CapSet,
    timeout: Duration,
    scratch: &'a Scratch,
    /// Cleared when the capability tracer proves unavailable (said once).
    tracer_ok: AtomicBool,
}

impl Bench<'_> {
    /// One capability's experiment: the pair, then the seccomp dimension.
    fn one(&self, c: u8) -> Result<Both> {
        let name = names::short_name(c);
        let (granted, checked) = match self.tracer_ok.load(Ordering::SeqCst) {
            true => self.granted_traced(c, &name)?,
            false => (self.side(c, self.unconfined("--cap-add", &name))?, None),
        };
        let dropped = self.side(c, self.unconfined("--cap-drop", &name))?;
        let sc = self.seccomp_row(c, &name, &granted)?;
        let mut row = Row::new(c, granted, dropped);
        row.checked = checked;
        Ok((row, sc))
    }

    /// Runs one container and reads the probe's side from it.
    fn side(&self, c: u8, args: Vec<OsString>) -> Result<Side> {
        let f = run_minirun(self.state_root, &args, self.timeout)
            .map_err(within(|| format!("experiment on {}", names::oci_name(c))))?;
        Ok(side_from(&f, c, self.held.contains(c)))
    }

    /// The capability pair runs unconfined: its verdict is the kernel's capability check.
    fn unconfined(&self, flag: &str, name: &str) -> Vec<OsString> {
        with_opt(
            "seccomp=unconfined",
            &container_args(flag, name, self.user, self.rootfs),
        )
    }

    /// Granted, under the capability tracer: which capabilities the probe made the kernel
    /// check. Where the tracer cannot run (one line said so), untraced from then on.
    fn granted_traced(&self, c: u8, name: &str) -> Result<(Side, Option<CapSet>)> {
        let json = self.scratch.0.join(format!("checked-{name}.json"));
        let mut a: Vec<OsString> = vec![
            "--trace-caps".into(),
            "--trace-caps-json".into(),
            json.clone().into(),
        ];
        a.extend(self.unconfined("--cap-add", name));
        let f = run_minirun(self.state_root, &a, self.timeout)
            .map_err(within(|| format!("experiment on {}", names::oci_name(c))))?;
        let doc = std::fs::read_to_string(&json)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        let _ = std::fs::remove_file(&json);
        Ok(
            match (doc, super::kernel_answer::tracer_unavailable(&f.stderr)) {
                (None, Some(why)) => {
                    if self.tracer_ok.swap(false, Ordering::SeqCst) {
                        tracing::warn!("experiment: {why}; no CHECKED column");
                    }
                    (self.side(c, self.unconfined("--cap-add", name))?, None)
                }
                (doc, _) => {
                    let mut start = DOCKER_DEFAULTS;
                    start.insert(c);
                    let checked = doc.map(|d| super::kernel_answer::checked(&d, start, false));
                    (side_from(&f, c, self.held.contains(c)), checked)
                }
            },
        )
    }

    /// The seccomp dimension: granted again, under Docker's default profile, and under it
    /// without the capability's rule when it has one.
    fn seccomp_row(&self, c: u8, name: &str, granted: &Side) -> Result<SeccompRow> {
        let kernel = crate::seccomp::running_kernel()?;
        let opens = crate::seccomp::opened_by(c, kernel);
        let profile = self.side(c, container_args("--cap-add", name, self.user, self.rootfs))?;
        let without_rule = if opens.is_empty() {
            None
        } else {
            let mut bounding = DOCKER_DEFAULTS;
            bounding.insert(c);
            let file = write_without_rule(&self.scratch.0, bounding, c)?;
            let opt = format!("seccomp={}", file.display());
            Some(self.side(
                c,
                with_opt(
                    &opt,
                    &container_args("--cap-add", name, self.user, self.rootfs),
                ),
            )?)
        };
        Ok(SeccompRow {
            number: c,
            unconfined: granted.clone(),
            profile,
            without_rule,
            opens,
        })
    }
}

/// A small pool: PARALLEL workers take the next capability until none is left. The rows
/// come back in the order of `caps`.
fn in_pool(
    caps: &[u8],
    show: bool,
    one: impl Fn(u8) -> Result<Both> + Sync,
) -> Result<(Vec<Row>, Vec<SeccompRow>)> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Both>>>> =
        Mutex::new((0..caps.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL.min(caps.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&c) = caps.get(i) else { break };
                    let r = one(c);
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    if let Ok(mut v) = results.lock() {
                        v[i] = Some(r);
                    }
                    if show {
                        progress(n, caps.len(), &names::short_name(c));
                    }
                }
            });
        }
    });
    let results = results
        .into_inner()
        .map_err(|_| Error::Worker("an experiment worker panicked"))?;
    let mut rows = Vec::with_capacity(caps.len());
    let mut sc_rows = Vec::with_capacity(caps.len());
    for r in results {
        let (row, sc) = r.ok_or(Error::Worker("an experiment did not run"))??;
        rows.push(row);
        sc_rows.push(sc);
    }
    Ok((rows, sc_rows))
}

/// The report on stdout: one JSON object a line, or the two tables.
fn print_rows(json: bool, rows: &[Row], sc_rows: &[SeccompRow]) -> Result<()> {
    if json {
        let mut text = String::new();
        for (r, sc) in rows.iter().zip(sc_rows) {
            // The capability's object, with the seccomp dimension as one more field.
            let mut v: serde_json::Value = serde_json::from_str(&render_json(r))?;
            v["seccomp"] = sc.json();
            text.push_str(&v.to_string());
            text.push('\n');
        }
        out(&text);
    } else {
        out(&(render_table(rows) + &seccomp_table(sc_rows)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(result: &str, detail: Option<&str>, reason: Option<&str>) -> Side {
        Side::Probe(Probe {
            capability: "chown".into(),
            number: 0,
            operation: "chown a scratch file in /tmp to uid 1000".into(),
            result: result.into(),
            detail: detail.map(Into::into),
            reason: reason.map(Into::into),
        })
    }

    #[test]
    fn allowed_then_refused_is_gated() {
        let g = probe("allowed", None, None);
        assert_eq!(verdict(&g, &probe("EPERM", None, None)), Verdict::Gated);
        let eacces = probe("EACCES", Some("permission bits"), None);
        assert_eq!(verdict(&g, &eacces), Verdict::Gated);
    }

    #[test]
    fn allowed_both_ways_is_ungated_and_fails() {
        let g = probe("allowed", None, None);
        let v = verdict(&g, &g.clone());
        assert_eq!(v, Verdict::Ungated);
        assert!(!v.passes());
    }

    #[test]
    fn withheld_is_explained_and_passes() {
        let g = Side::Withheld("minirun: capability \"CAP_SYS_RESOURCE\" is withheld".into());
        let v = verdict(&g, &probe("EPERM", None, None));
        assert_eq!(v.kind(), "explained");
        assert!(
            v.to_string()
                .starts_with("explained: withheld by the environment")
        );
        assert!(v.passes());
    }

    #[test]
    fn not_probed_carries_the_reason() {
        let np = probe("not-probed", None, Some("no core kernel check uses it"));
        let v = verdict(&np, &np.clone());
        assert_eq!(v, Verdict::NotProbed("no core kernel check uses it".into()));
        assert!(v.passes());
    }

    #[test]
    fn same_errno_both_ways_needs_the_probes_explanation() {
        let nosys = probe("ENOSYS", Some("no module support"), None);
        let v = verdict(&nosys, &nosys.clone());
        assert_eq!(
            v,
            Verdict::Explained("ENOSYS with and without it: no module support".into())
        );
        let bare = probe("ECONNREFUSED", None, None);
        assert_eq!(verdict(&bare, &bare.clone()).kind(), "unexpected");
    }

    #[test]
    fn failures_and_odd_answers_are_unexpected() {
        let g = probe("allowed", None, None);
        let failed = Side::Failed("exit 127".into());
        assert_eq!(verdict(&g, &failed).kind(), "unexpected");
        assert_eq!(verdict(&failed, &g).kind(), "unexpected");
        assert_eq!(
            verdict(&g, &probe("EINVAL", None, None)).kind(),
            "unexpected"
        );
        let v = verdict(&probe("EPERM", None, None), &probe("EPERM", None, None));
        assert!(!v.passes());
    }

    fn finished(code: i32, stdout: &str, stderr: &str) -> Finished {
        Finished {
            code: Some(code),
            stdout: stdout.into(),
            stderr: stderr.into(),
            timed_out: false,
        }
    }

    #[test]
    fn sides_from_subprocess_outcomes() {
        let line = r#"{"capability":"chown","number":0,"operation":"op","result":"EPERM"}"#;
        let s = side_from(&finished(0, &format!("{line}\n"), ""), 0, true);
        assert_eq!(s.short(), "EPERM");
        // capprobe exits 1 for a refusal: the verdict is still its JSON line.
        let s = side_from(&finished(1, &format!("{line}\n"), ""), 0, true);
        assert_eq!(s.short(), "EPERM");
        assert_eq!(
            side_from(&finished(0, line, ""), 1, true).short(),
            "error",
            "a probe for another capability is an error"
        );
        let w = side_from(
            &finished(
                125,
                "",
                "minirun: capability \"CAP_SYS_RESOURCE\" is withheld by the environment: ...\n",
            ),
            24,
            false,
        );
        assert_eq!(w.short(), "withheld");
        let f = side_from(
            &finished(
                127,
                "",
                "minirun: exec: \"capprobe\": executable file not found in $PATH\n",
            ),
            0,
            true,
        );
        assert_eq!(f.short(), "error");
        assert!(f.note().unwrap().contains("exit 127"), "{f:?}");
        assert_eq!(
            side_from(&finished(0, "garbage", ""), 0, true).short(),
            "error"
        );
    }

    #[test]
    fn table_lists_rows_and_explains_the_others() {
        let rows = vec![
            Row::new(0, probe("allowed", None, None), probe("EPERM", None, None)),
            Row::new(
                24,
                Side::Withheld("withheld".into()),
                probe("EPERM", None, None),
            ),
        ];
        let t = render_table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("CAPABILITY"), "{t}");
        assert!(lines[1].starts_with("chown "), "{t}");
        assert!(
            lines[1].contains(" yes ") && lines[1].ends_with("gated"),
            "{t}"
        );
        assert!(
            lines[2].starts_with("sys_resource") && lines[2].contains("withheld"),
            "{t}"
        );
        assert!(t.contains("notes:\n  sys_resource  explained: withheld by the environment"));
        assert!(t.ends_with("2 capabilities: 1 gated, 1 explained\n"), "{t}");
        let j: serde_json::Value = serde_json::from_str(&render_json(&rows[1])).unwrap();
        assert_eq!(j["capability"], "sys_resource");
        assert_eq!(j["docker_default"], false);
        assert_eq!(j["granted"], "withheld");
        assert_eq!(j["verdict"], "explained");
    }

    #[test]
    fn the_checked_column_flags_a_probe_that_tests_something_else() {
        let mut r = Row::new(0, probe("allowed", None, None), probe("EPERM", None, None));
        assert_eq!(r.checked_text(), "?");
        r.checked = Some(CapSet::of(&[0, 3]));
        assert_eq!(r.checked_text(), "chown,fowner");
        r.checked = Some(CapSet::of(&[3]));
        assert_eq!(r.checked_text(), "!fowner");
        r.checked = Some(CapSet::EMPTY);
        assert_eq!(r.checked_text(), "!none");
        let t = render_table(&[r.clone()]);
        assert!(t.lines().nth(1).unwrap().contains("  !none  "), "{t}");
        let j: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
        assert_eq!(j["kernel_checked"], serde_json::json!([]));
        let withheld = Row::new(24, Side::Withheld("w".into()), probe("EPERM", None, None));
        assert_eq!(withheld.checked_text(), "-");
    }

    #[test]
    fn selection_parses_any_spelling() {
        let s = selection(&["CAP_CHOWN".into(), "setuid,kill".into()], 40).unwrap();
        assert_eq!(s, CapSet::of(&[0, 5, 7]));
        assert_eq!(selection(&[], 40).unwrap().len(), 41);
        assert_eq!(selection(&["all".into()], 40).unwrap().len(), 41);
        assert!(selection(&["nonsense".into()], 40).is_err());
    }
}
