//! `minirun experiment --userns`: each capability's probe runs as root of a fresh user namespace
//! (uid and gid 0 mapped to 100000, 65536 ids), once with the capability in its sets and once
//! without, under the capability tracer. Root there holds every capability it is given, but each
//! holds power only where the kernel checks it against a namespace that user namespace owns: the
//! tracer's answer says, per check, whether it was against the container's own user namespace or
//! the host's. The workshop's uid_map point runs last: a child user namespace gets an arbitrary
//! mapping only from a writer with CAP_SETUID, its own id without.
//!
//! Each probe is an OCI bundle (the quick form's Spec plus the user namespace and a read-only
//! root with a tmpfs /tmp, so the rootfs is never written) run by `minirun run`.

use super::experiment::{Side, side_from};
use super::{Error, Result, within};
use super::{Finished, out, progress, progress_wanted, rootfs_dir, run_minirun};
use crate::capability::policy::DOCKER_DEFAULTS;
use crate::capability::{self as cap, CapSet, CapSets, names};
use crate::error_chain::step;
use serde_json::{Value, json};
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

/// The host ids the container's 0..65536 map to: a range no host account uses.
pub const MAP_HOST: u32 = 100_000;
pub const MAP_SIZE: u32 = 65_536;

/// The config.json for one probe container (pure): `sets` in all but the ambient and
/// inheritable sets, `args` as the process, no seccomp filter (the verdict is the kernel's
/// capability check alone), its own user namespace and network namespace.
pub fn probe_config(rootfs: &Path, sets: CapSet, args: &[&str]) -> Result<Value> {
    let q = crate::spec::QuickForm {
        rootfs: rootfs.to_string_lossy().into_owned(),
        args: args.iter().map(|a| a.to_string()).collect(),
        env: crate::spec::environment(&[], "userns", "/root", |_| None),
        hostname: "userns".into(),
        read_only: true,
        caps: CapSets {
            bounding: sets,
            effective: sets,
            permitted: sets,
            ..Default::default()
        },
        mounts: vec![
            json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "mode=1777"]}),
        ],
        ..Default::default()
    };
    let mut v = serde_json::to_value(crate::spec::build(&q)?)?;
    v["linux"]["namespaces"]
        .as_array_mut()
        .ok_or_else(|| Error::Refused("namespaces".into()))?
        .push(json!({"type": "user"}));
    let map = json!([{"containerID": 0, "hostID": MAP_HOST, "size": MAP_SIZE}]);
    v["linux"]["uidMappings"] = map.clone();
    v["linux"]["gidMappings"] = map;
    Ok(v)
}

/// Where the kernel checked one capability during a probe, from the tracer's checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checked {
    /// Against the container's own user namespace (`ns_capable` on something it owns).
    pub own: bool,
    /// Against the host's user namespace (`capable()`): root of a user namespace never has it.
    pub host: bool,
    /// Against another user namespace (one the probe made, or an ancestor that is not the host's).
    pub other: bool,
}

impl Checked {
    /// Pure: the checks of capability `c` in `doc` (a `--trace-caps-json` document), leaving out
    /// the overcommit heuristic's, which never decide anything.
    pub fn of(doc: &Value, c: u8) -> Checked {
        let name = format!("CAP_{}", names::short_name(c).to_ascii_uppercase());
        let mut w = Checked::default();
        for check in doc["checks"].as_array().into_iter().flatten() {
            if check["capability"] != name.as_str() || check["advisory"] == true {
                continue;
            }
            match check["userns"].as_str() {
                Some("own") => w.own = true,
                Some("host") => w.host = true,
                Some(_) => w.other = true,
                None => {}
            }
        }
        w
    }

    /// The CHECKED-IN column: `own`, `host`, `own+host`, `none`.
    pub fn text(self) -> String {
        let parts: Vec<&str> = [
            (self.own, "own"),
            (self.host, "host"),
            (self.other, "other"),
        ]
        .into_iter()
        .filter_map(|(b, n)| b.then_some(n))
        .collect();
        match parts.is_empty() {
            true => "none".into(),
            false => parts.join("+"),
        }
    }
}

/// What a capability is worth to root of a user namespace, as one probe pair showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Power {
    /// Allowed with it, refused without: it has power there.
    Works(String),
    /// Refused even with it.
    Refused(String),
    /// Allowed without it too: this operation needs no capability there.
    Ungated(String),
    NotProbed(String),
    /// minirun's own bounding set lacks it.
    Withheld,
    /// A container failed or the kernel answered surprisingly.
    Error(String),
}

impl Power {
    pub fn kind(&self) -> &'static str {
        match self {
            Power::Works(_) => "works",
            Power::Refused(_) => "refused",
            Power::Ungated(_) => "ungated",
            Power::NotProbed(_) => "not-probed",
            Power::Withheld => "withheld",
            Power::Error(_) => "error",
        }
    }

    pub fn why(&self) -> &str {
        match self {
            Power::Works(w)
            | Power::Refused(w)
            | Power::Ungated(w)
            | Power::NotProbed(w)
            | Power::Error(w) => w,
            Power::Withheld => {
                "withheld by the environment: minirun's own bounding set lacks it, so no container \
                 here can be granted it"
            }
        }
    }
}

fn is_refusal(r: &str) -> bool {
    matches!(r, "EPERM" | "EACCES")
}

/// Pure: the verdict from the two sides and where the granted probe's check went (None:
/// untraced).
pub fn power(granted: &Side, dropped: &Side, checked: Option<Checked>) -> Power {
    let g = match granted {
        Side::Withheld(_) => return Power::Withheld,
        Side::Failed(m) => return Power::Error(format!("the granted container failed: {m}")),
        Side::Probe(p) => p,
    };
    if g.result == "not-probed" {
        return Power::NotProbed(g.reason.clone().unwrap_or_else(|| "no reason given".into()));
    }
    let d = dropped.probe().map(|p| p.result.as_str());
    let own = "checked against the container's own user namespace, where its root holds it";
    let host = "checked against the host's user namespace, where the container holds nothing";
    let detail = g.detail.as_deref();
    match (g.result.as_str(), d, checked) {
        ("allowed", Some(r), c) if is_refusal(r) => Power::Works(match c {
            Some(c) if c.own && !c.host => own.into(),
            Some(c) => format!("checked in {}", c.text()),
            None => "untraced".into(),
        }),
        ("allowed", Some("allowed"), _) => Power::Ungated(
            "allowed without it too: root of the user namespace passes another check".into(),
        ),
        ("allowed", _, _) => Power::Error(format!("the dropped container: {dropped:?}")),
        (r, _, Some(c)) if c.host => Power::Refused(format!("{r}: {host}")),
        (r, _, Some(c)) if c.own => Power::Refused(format!(
            "{r}: granted in the container's own user namespace, then refused by a rule that \
             holds for every user namespace{}",
            detail.map(|d| format!(" ({d})")).unwrap_or_default()
        )),
        (r, _, c) => Power::Refused(format!(
            "{r} before any check of it{}",
            match (detail, c) {
                (Some(d), _) => format!(": {d}"),
                (None, None) => " (untraced)".into(),
                (None, Some(_)) => String::new(),
            }
        )),
    }
}

/// One capability as root of a user namespace.
#[derive(Debug, Clone)]
pub struct Row {
    pub number: u8,
    pub name: String,
    pub operation: String,
    pub granted: Side,
    pub dropped: Side,
    pub checked: Option<Checked>,
    pub power: Power,
}

impl Row {
    pub fn new(number: u8, granted: Side, dropped: Side, checked: Option<Checked>) -> Row {
        let operation = super::probe::operation(number, &granted, &dropped);
        Row {
            number,
            name: names::short_name(number),
            operation,
            power: power(&granted, &dropped, checked),
            granted,
            dropped,
            checked,
        }
    }

    fn checked_text(&self) -> String {
        match (self.granted.probe(), self.checked) {
            (None, _) => "-".into(),
            (Some(_), None) => "?".into(),
            (Some(_), Some(c)) => c.text(),
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "capability": self.name,
            "number": self.number,
            "operation": self.operation,
            "granted": self.granted.short(),
            "dropped": self.dropped.short(),
            "checked_in": self.granted.probe().and(self.checked).map(|c| c.text()),
            "power": self.power.kind(),
            "why": self.power.why(),
        })
    }
}

/// The workshop's point, measured: writing a child user namespace's uid_map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UidMapPoint {
    /// With CAP_SETUID: (arbitrary mapping, own id) allowed?
    pub with: (bool, bool),
    /// Without CAP_SETUID.
    pub without: (bool, bool),
}

/// The script a uid_map container runs: two child user namespaces (a map is written once),
/// each waited for until it exists, one given `0 1000 1`, one the writer's own id `0 0 1`.
pub const UID_MAP_SCRIPT: &str = "\
try() { unshare -U sleep 5 & p=$!; \
while [ \"$(readlink /proc/$p/ns/user)\" = \"$(readlink /proc/self/ns/user)\" ]; do :; done; \
if echo \"$2\" > /proc/$p/uid_map; then echo \"$1=allowed\"; else echo \"$1=refused\"; fi; \
kill $p; wait $p; }; try arbitrary '0 1000 1'; try own '0 0 1'";

/// Pure: the answer a script printed for `key` as `KEY=allowed` or `KEY=refused`.
fn answer(stdout: &str, key: &str) -> Option<bool> {
    stdout.lines().find_map(|l| match l.strip_prefix(key)? {
        "=allowed" => Some(true),
        "=refused" => Some(false),
        _ => None,
    })
}

/// Pure: `(arbitrary, own)` from the script's output; None when a line is missing.
pub fn parse_uid_map(stdout: &str) -> Option<(bool, bool)> {
    Some((answer(stdout, "arbitrary")?, answer(stdout, "own")?))
}

/// Filesystems root of the namespace tries to mount with CAP_SYS_ADMIN: the first ones are
/// marked safe for user namespaces (FS_USERNS_MOUNT) and need the namespace to own the
/// matching namespace; ext4, debugfs and securityfs are not, so the check is the host's.
pub const FILESYSTEMS: [&str; 9] = [
    "tmpfs", "ramfs", "mqueue", "devpts", "cgroup2", "sysfs", "proc", "ext4", "debugfs",
];

/// The script of the mount demonstration: each filesystem mounted on a fresh directory of
/// /tmp (the source names the type; ext4 fails on the capability check before it looks).
pub fn mount_script() -> String {
    format!(
        "for t in {}; do mkdir -p /tmp/fs-$t; if mount -t $t $t /tmp/fs-$t 2>/dev/null; \
         then echo $t=allowed; umount /tmp/fs-$t; else echo $t=refused; fi; done",
        FILESYSTEMS.join(" ")
    )
}

/// Pure: each filesystem with whether it mounted; None when one has no answer.
pub fn parse_mounts(stdout: &str) -> Option<Vec<(&'static str, bool)>> {
    FILESYSTEMS
        .iter()
        .map(|&fs| Some((fs, answer(stdout, fs)?)))
        .collect()
}

fn word(allowed: bool) -> &'static str {
    if allowed { "allowed" } else { "refused" }
}

pub fn render_table(rows: &[Row], mounts: &[(&str, bool)], point: Option<&UidMapPoint>) -> String {
    let width = |f: &dyn Fn(&Row) -> usize, title: &str| {
        rows.iter().map(f).max().unwrap_or(0).max(title.len())
    };
    let cw = width(&|r| r.name.len(), "CAPABILITY");
    let ow = width(&|r| r.operation.chars().count(), "OPERATION");
    let rw = width(
        &|r| r.granted.short().len().max(r.dropped.short().len()),
        "GRANTED",
    );
    let kw = width(&|r| r.checked_text().len(), "CHECKED-IN");
    let line = |c: &str, o: &str, g: &str, d: &str, k: &str, p: &str| {
        format!("{c:<cw$}  {o:<ow$}  {g:<rw$}  {d:<rw$}  {k:<kw$}  {p}")
            .trim_end()
            .to_string()
            + "\n"
    };
    let mut t = format!(
        "As root of a user namespace (0 -> {MAP_HOST}, {MAP_SIZE} ids; own network namespace):\n"
    );
    t += &line(
        "CAPABILITY",
        "OPERATION",
        "GRANTED",
        "DROPPED",
        "CHECKED-IN",
        "POWER",
    );
    for r in rows {
        t += &line(
            &r.name,
            &r.operation,
            r.granted.short(),
            r.dropped.short(),
            &r.checked_text(),
            r.power.kind(),
        );
    }
    t += "\nCHECKED-IN: which user namespace the kernel checked the capability against during the\n\
          granted probe (own: the container's; host: the initial one, where it holds nothing)\n\nwhy:\n";
    for r in rows {
        t += &format!("  {:<cw$}  {}: {}\n", r.name, r.power.kind(), r.power.why());
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for r in rows {
        match counts.iter_mut().find(|(k, _)| *k == r.power.kind()) {
            Some((_, n)) => *n += 1,
            None => counts.push((r.power.kind(), 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    t += &format!("\n{} capabilities: {}\n", rows.len(), parts.join(", "));
    if !mounts.is_empty() {
        let list = |ok: bool| {
            let l: Vec<&str> = mounts.iter().filter(|m| m.1 == ok).map(|m| m.0).collect();
            if l.is_empty() {
                "none".to_string()
            } else {
                l.join(", ")
            }
        };
        t += &format!(
            "\nmount(2) as root of this one, with CAP_SYS_ADMIN:\n  mounts:  {}\n  refused: {}\n",
            list(true),
            list(false)
        );
    }
    if let Some(p) = point {
        t += &format!(
            "\nuid_map of a child user namespace, written by root of this one:\n\
             \x20 with CAP_SETUID:    an arbitrary mapping (0 1000 1) {}, its own id (0 0 1) {}\n\
             \x20 without CAP_SETUID: an arbitrary mapping (0 1000 1) {}, its own id (0 0 1) {}\n",
            word(p.with.0),
            word(p.with.1),
            word(p.without.0),
            word(p.without.1),
        );
    }
    t
}

/// Pure: a /proc/PID/uid_map (or gid_map) as words: `0 -> host 100000 (65536 ids)`, lines
/// joined; the host's own identity map is `every id to itself`.
pub fn describe_map(text: &str) -> String {
    let parts: Vec<String> = super::pscap::id_map(text)
        .into_iter()
        .map(|m| match m {
            [0, 0, u32::MAX] => "every id to itself".to_string(),
            [inside, outside, 1] => format!("{inside} -> host {outside} (1 id)"),
            [inside, outside, n] => format!("{inside} -> host {outside} ({n} ids)"),
        })
        .collect();
    match parts.is_empty() {
        true => "nothing mapped yet".into(),
        false => parts.join(", "),
    }
}

/// The line `caps` prints above the grid: which user namespace owns the sets, and its mapping.
pub fn owner_line(ns: &str, host: bool, uid_map: &str, gid_map: &str) -> String {
    let whose = if host { "the host's" } else { "not the host's" };
    format!(
        "sets owned by user namespace {ns} ({whose}); uid map: {}; gid map: {}",
        describe_map(uid_map),
        describe_map(gid_map)
    )
}

/// Runs one bundle with `minirun run`, under the tracer when `trace` names the JSON file.
fn run_bundle(
    state_root: &Path,
    dir: &Path,
    config: &Value,
    id: &str,
    trace: Option<&Path>,
    timeout: Duration,
) -> Result<(Finished, Option<Value>)> {
    std::fs::create_dir_all(dir).map_err(step(|| format!("creating {}", dir.display())))?;
    let cfg = dir.join("config.json");
    std::fs::write(&cfg, config.to_string())
        .map_err(step(|| format!("writing {}", cfg.display())))?;
    let mut a: Vec<OsString> = vec!["run".into()];
    if let Some(t) = trace {
        a.extend(["--trace-caps".into(), "--trace-caps-json".into(), t.into()]);
    }
    a.extend(["-b".into(), dir.into(), id.into()]);
    let f = run_minirun(state_root, &a, timeout)?;
    let doc = trace
        .and_then(|t| std::fs::read_to_string(t).ok())
        .and_then(|t| serde_json::from_str(&t).ok());
    Ok((f, doc))
}

pub fn run(state_root: &Path, args: &super::ExperimentArgs) -> Result<i32> {
    if args.user.is_some() {
        return Err(Error::Refused(
            "--userns runs the probes as root of the user namespace: --user does not apply".into(),
        ));
    }
    let rootfs = rootfs_dir(&args.rootfs)?;
    super::experiment::require_capprobe(&rootfs)?;
    let caps: Vec<u8> = super::experiment::selection(&args.caps, cap::kernel_last_cap())?
        .iter()
        .collect();
    if caps.is_empty() {
        return Err(Error::Refused("no capability to test".into()));
    }
    let held = cap::held_bounding();
    let timeout = Duration::from_secs(args.timeout.max(1));
    let scratch = super::experiment::scratch_dir()?;
    let tag = std::process::id();
    let show = progress_wanted();
    let mut traced = true;
    let mut rows = Vec::with_capacity(caps.len());
    for (i, &c) in caps.iter().enumerate() {
        let name = names::short_name(c);
        let probe = ["capprobe", name.as_str()];
        let mut with = DOCKER_DEFAULTS;
        with.insert(c);
        let json_file = scratch.0.as_path().join(format!("{name}.json"));
        let (f, doc) = run_bundle(
            state_root,
            &scratch.0.as_path().join(format!("{name}-granted")),
            &probe_config(&rootfs, with, &probe)?,
            &format!("userns-{tag}-{name}-g"),
            traced.then_some(json_file.as_path()),
            timeout,
        )
        .map_err(within(|| {
            format!("experiment --userns on {}", names::oci_name(c))
        }))?;
        if doc.is_none()
            && let Some(why) = super::kernel_answer::tracer_unavailable(&f.stderr)
        {
            tracing::warn!("experiment: {why}; no CHECKED-IN column");
            traced = false;
        }
        let granted = side_from(&f, c, held.contains(c));
        let (f, _) = run_bundle(
            state_root,
            &scratch.0.as_path().join(format!("{name}-dropped")),
            &probe_config(&rootfs, DOCKER_DEFAULTS.minus(CapSet::of(&[c])), &probe)?,
            &format!("userns-{tag}-{name}-d"),
            None,
            timeout,
        )
        .map_err(within(|| {
            format!("experiment --userns on {}", names::oci_name(c))
        }))?;
        let dropped = side_from(&f, c, held.contains(c));
        let mut row = Row::new(c, granted, dropped, doc.map(|d| Checked::of(&d, c)));
        if let Power::Refused(why) = &mut row.power
            && !held.contains(c)
        {
            // The OCI path grants what the config asks within minirun's own bounding set.
            why.push_str(" (minirun's own bounding set lacks it too)");
        }
        rows.push(row);
        if show {
            progress(i + 1, caps.len(), &name);
        }
    }
    let point = uid_map_point(state_root, &rootfs, scratch.0.as_path(), timeout)?;
    let mounts = mounts(state_root, &rootfs, scratch.0.as_path(), timeout)?;
    if args.json {
        let mut text: String = rows.iter().map(|r| r.json().to_string() + "\n").collect();
        text += &json!({"uid_map": {
            "with_setuid": {"arbitrary": word(point.with.0), "own": word(point.with.1)},
            "without_setuid": {"arbitrary": word(point.without.0), "own": word(point.without.1)},
        }})
        .to_string();
        text.push('\n');
        let m: serde_json::Map<String, Value> = mounts
            .iter()
            .map(|(fs, ok)| (fs.to_string(), word(*ok).into()))
            .collect();
        text += &json!({ "mounts": m }).to_string();
        text.push('\n');
        out(&text);
    } else {
        out(&render_table(&rows, &mounts, Some(&point)));
    }
    let failed = rows.iter().any(|r| matches!(r.power, Power::Error(_)));
    Ok(if failed { 1 } else { 0 })
}

/// The mount demonstration: the script as root of the user namespace with CAP_SYS_ADMIN.
fn mounts(
    state_root: &Path,
    rootfs: &Path,
    scratch: &Path,
    timeout: Duration,
) -> Result<Vec<(&'static str, bool)>> {
    let sets = DOCKER_DEFAULTS.union(names::parse_set(&["sys_admin"], names::MAX_CAP)?);
    let script = mount_script();
    let config = probe_config(rootfs, sets, &["sh", "-c", &script])?;
    let id = format!("userns-{}-mounts", std::process::id());
    let (f, _) = run_bundle(
        state_root,
        &scratch.join("mounts"),
        &config,
        &id,
        None,
        timeout,
    )?;
    parse_mounts(&f.stdout).ok_or_else(|| {
        Error::NoAnswer(format!(
            "the mount container did not answer: {} ({})",
            f.first_error_line(),
            f.status_text()
        ))
    })
}

/// The uid_map point: the script as root of the user namespace with and without CAP_SETUID.
fn uid_map_point(
    state_root: &Path,
    rootfs: &Path,
    scratch: &Path,
    timeout: Duration,
) -> Result<UidMapPoint> {
    let setuid = names::parse_set(&["setuid"], names::MAX_CAP)?;
    let answer = |sets: CapSet, tag: &str| -> Result<(bool, bool)> {
        let config = probe_config(rootfs, sets, &["sh", "-c", UID_MAP_SCRIPT])?;
        let id = format!("userns-{}-uidmap-{tag}", std::process::id());
        let (f, _) = run_bundle(
            state_root,
            &scratch.join(format!("uidmap-{tag}")),
            &config,
            &id,
            None,
            timeout,
        )?;
        parse_uid_map(&f.stdout).ok_or_else(|| {
            Error::NoAnswer(format!(
                "the uid_map container ({tag}) did not answer: {} ({})",
                f.first_error_line(),
                f.status_text()
            ))
        })
    };
    Ok(UidMapPoint {
        with: answer(DOCKER_DEFAULTS.union(setuid), "with")?,
        without: answer(DOCKER_DEFAULTS.minus(setuid), "without")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::probe::Probe;

    fn probe(result: &str, detail: Option<&str>) -> Side {
        Side::Probe(Probe {
            capability: "mknod".into(),
            number: 27,
            operation: "mknod".into(),
            result: result.into(),
            detail: detail.map(Into::into),
            reason: None,
        })
    }

    fn doc(checks: Value) -> Value {
        json!({ "checks": checks })
    }

    #[test]
    fn checked_reads_the_tracers_namespace_per_check() {
        let d = doc(json!([
            {"capability": "CAP_MKNOD", "granted": false, "userns": "host", "userns_level": 0},
            {"capability": "CAP_SYS_ADMIN", "granted": false, "userns": "host", "advisory": true},
            {"capability": "CAP_CHOWN", "granted": true, "userns": "own", "userns_level": 1},
        ]));
        assert_eq!(Checked::of(&d, 27).text(), "host");
        assert_eq!(Checked::of(&d, 0).text(), "own");
        assert_eq!(
            Checked::of(&d, 21).text(),
            "none",
            "advisory checks never count"
        );
    }

    #[test]
    fn power_says_who_checked() {
        let host = Checked {
            host: true,
            ..Default::default()
        };
        let own = Checked {
            own: true,
            ..Default::default()
        };
        let p = power(&probe("EPERM", None), &probe("EPERM", None), Some(host));
        assert_eq!(p.kind(), "refused");
        assert!(p.why().contains("host's user namespace"), "{p:?}");
        let p = power(&probe("allowed", None), &probe("EPERM", None), Some(own));
        assert_eq!(p.kind(), "works");
        assert!(p.why().contains("own user namespace"), "{p:?}");
        let p = power(
            &probe("ECONNREFUSED", Some("no audit daemon")),
            &probe("ECONNREFUSED", None),
            Some(Checked::default()),
        );
        assert_eq!(
            p.why(),
            "ECONNREFUSED before any check of it: no audit daemon"
        );
        let p = power(&probe("allowed", None), &probe("allowed", None), None);
        assert_eq!(p.kind(), "ungated");
        let p = power(
            &Side::Failed("exit 125".into()),
            &probe("EPERM", None),
            None,
        );
        assert_eq!(p.kind(), "error");
        assert_eq!(
            power(&Side::Withheld("w".into()), &probe("EPERM", None), None),
            Power::Withheld
        );
    }

    #[test]
    fn probe_config_adds_the_user_namespace_and_a_read_only_root() {
        let v = probe_config(Path::new("/r"), DOCKER_DEFAULTS, &["capprobe", "chown"]).unwrap();
        let ns = v["linux"]["namespaces"].to_string();
        assert!(ns.contains(r#"{"type":"user"}"#), "{ns}");
        assert!(ns.contains(r#"{"type":"network"}"#), "{ns}");
        assert_eq!(v["linux"]["uidMappings"][0]["hostID"], MAP_HOST);
        assert_eq!(v["linux"]["gidMappings"][0]["size"], MAP_SIZE);
        assert_eq!(v["root"]["readonly"], true);
        assert!(v["linux"].get("seccomp").is_none());
        assert!(v["mounts"].to_string().contains("\"/tmp\""));
        let spec: oci_spec::runtime::Spec = serde_json::from_value(v).unwrap();
        use crate::container::validate::{Inputs, plan};
        let plan = plan(&spec, &Inputs::lexical(&spec, Path::new("/b"), 40)).unwrap();
        assert_eq!(plan.caps.bounding, DOCKER_DEFAULTS);
        assert!(!plan.uid_mappings.is_empty());
    }

    #[test]
    fn maps_in_words() {
        assert_eq!(
            describe_map("         0     100000      65536\n"),
            "0 -> host 100000 (65536 ids)"
        );
        assert_eq!(describe_map("0 0 4294967295\n"), "every id to itself");
        assert_eq!(describe_map(""), "nothing mapped yet");
        assert_eq!(
            owner_line("user:[4026532001]", false, "0 1000 1\n", "0 1000 1\n"),
            "sets owned by user namespace user:[4026532001] (not the host's); uid map: 0 -> host \
             1000 (1 id); gid map: 0 -> host 1000 (1 id)"
        );
    }

    #[test]
    fn uid_map_answers_and_table() {
        let out = "arbitrary=refused\nown=allowed\n";
        assert_eq!(parse_uid_map(out), Some((false, true)));
        assert_eq!(parse_uid_map("own=allowed\n"), None);
        let all: String = FILESYSTEMS
            .iter()
            .map(|f| format!("{f}=refused\n"))
            .collect();
        let m = parse_mounts(&all.replacen("tmpfs=refused", "tmpfs=allowed", 1)).unwrap();
        assert_eq!(m[0], ("tmpfs", true));
        assert!(m[1..].iter().all(|(_, ok)| !ok));
        assert_eq!(parse_mounts("tmpfs=allowed\n"), None);
        assert!(mount_script().contains("for t in tmpfs ramfs"));
        let rows = [Row::new(
            27,
            probe("EPERM", None),
            probe("EPERM", None),
            Some(Checked {
                host: true,
                ..Default::default()
            }),
        )];
        let point = UidMapPoint {
            with: (true, true),
            without: (false, true),
        };
        let t = render_table(&rows, &[("tmpfs", true), ("ext4", false)], Some(&point));
        assert!(t.contains("  mounts:  tmpfs\n  refused: ext4\n"), "{t}");
        let row = t.lines().find(|l| l.starts_with("mknod")).unwrap();
        assert!(row.contains(" host ") && row.ends_with("refused"), "{t}");
        assert!(t.contains("1 capabilities: 1 refused"), "{t}");
        assert!(
            t.contains("without CAP_SETUID: an arbitrary mapping (0 1000 1) refused, its own id (0 0 1) allowed"),
            "{t}"
        );
        assert_eq!(rows[0].json()["checked_in"], "host");
    }
}
