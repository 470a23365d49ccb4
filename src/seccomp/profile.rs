//! Docker-format profiles (OCI rules plus `includes`/`excludes` conditions and an `archMap`), and
//! their resolution into an OCI `linux.seccomp` for one capability set and kernel, as moby's
//! `setupSeccomp` does it. Pure: no syscalls.

use super::{Error, Result};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompBuilder, LinuxSeccompOperator, LinuxSyscall, LinuxSyscallBuilder,
};
use serde::Deserialize;

use crate::capability::CapSet;
use crate::capability::names::{CapName, MAX_CAP, parse};

/// Docker's default profile in our notation (see the file's header for the grammar).
pub const DOCKER_DEFAULT_TEXT: &str = include_str!("docker_default.txt");

/// The host's architecture as Go names it, the vocabulary of `includes.arches`.
#[cfg(target_arch = "x86_64")]
pub const NATIVE_GO_ARCH: &str = "amd64";
#[cfg(target_arch = "aarch64")]
pub const NATIVE_GO_ARCH: &str = "arm64";

/// The host's architecture as `archMap` names it.
#[cfg(target_arch = "x86_64")]
const NATIVE_ARCH: Arch = Arch::ScmpArchX86_64;
#[cfg(target_arch = "aarch64")]
const NATIVE_ARCH: Arch = Arch::ScmpArchAarch64;

/// A Docker-format profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: LinuxSeccompAction,
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    #[serde(default)]
    pub architectures: Option<Vec<Arch>>,
    #[serde(default)]
    pub arch_map: Option<Vec<ArchMap>>,
    #[serde(default)]
    pub flags: Option<Vec<oci_spec::runtime::LinuxSeccompFilterFlag>>,
    #[serde(default)]
    pub syscalls: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    pub architecture: Arch,
    #[serde(default)]
    pub sub_architectures: Option<Vec<Arch>>,
}

/// One OCI syscall rule and the conditions under which Docker keeps it.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RuleJson")]
pub struct Rule {
    pub syscall: LinuxSyscall,
    pub includes: Option<Conditions>,
    pub excludes: Option<Conditions>,
}

/// A rule as Docker reads it: older profiles name one syscall in `name` instead of `names`.
#[derive(Deserialize)]
struct RuleJson {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    includes: Option<Conditions>,
    #[serde(default)]
    excludes: Option<Conditions>,
    #[serde(flatten)]
    syscall: serde_json::Map<String, serde_json::Value>,
}

impl TryFrom<RuleJson> for Rule {
    type Error = String;

    fn try_from(mut r: RuleJson) -> Result<Rule, String> {
        if let Some(name) = r.name {
            if let Some(names) = r.syscall.get("names") {
                return Err(format!(
                    "syscall rule with both \"name\": \"{name}\" and \"names\": {names}; use one"
                ));
            }
            r.syscall.insert("names".into(), vec![name].into());
        }
        Ok(Rule {
            syscall: serde_json::from_value(r.syscall.into()).map_err(|e| e.to_string())?,
            includes: r.includes,
            excludes: r.excludes,
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conditions {
    #[serde(default)]
    pub caps: Option<Vec<String>>,
    #[serde(default)]
    pub arches: Option<Vec<String>>,
    #[serde(default)]
    pub min_kernel: Option<String>,
}

/// What a rule's conditions are checked against.
#[derive(Debug, Clone, Copy)]
pub struct Host {
    /// The container's bounding set: Docker tests `includes.caps` against it.
    pub caps: CapSet,
    /// (major, minor) of the running kernel, as `uname -r` begins.
    pub kernel: (u32, u32),
}

impl Profile {
    pub fn from_json(text: &str) -> Result<Profile> {
        serde_json::from_str(text).map_err(Error::Json)
    }

    /// Docker's default profile, parsed from our table.
    pub fn docker_default() -> Profile {
        // The table is part of the binary and covered by tests: a parse error is a build defect.
        parse_text(DOCKER_DEFAULT_TEXT).expect("docker_default.txt parses")
    }

    /// The OCI profile for `host`: the rules whose conditions hold, the native architecture's
    /// archMap entry. Errors for what moby rejects (both architectures and archMap; a bad
    /// minKernel).
    pub fn resolve(&self, host: Host) -> Result<LinuxSeccomp> {
        let mut arches = self.architectures.clone().unwrap_or_default();
        if let Some(map) = &self.arch_map {
            if !arches.is_empty() {
                return Err(Error::Profile(
                    "the seccomp profile has both architectures and archMap".into(),
                ));
            }
            if let Some(m) = map.iter().find(|m| m.architecture == NATIVE_ARCH) {
                arches.push(m.architecture);
                arches.extend(m.sub_architectures.iter().flatten().copied());
            }
        }
        let mut syscalls = Vec::new();
        for rule in &self.syscalls {
            if rule.applies(host)? {
                syscalls.push(rule.syscall.clone());
            }
        }
        let mut b = LinuxSeccompBuilder::default()
            .default_action(self.default_action)
            .architectures(arches)
            .syscalls(syscalls);
        if let Some(e) = self.default_errno_ret {
            b = b.default_errno_ret(e);
        }
        if let Some(f) = &self.flags {
            b = b.flags(f.clone());
        }
        Ok(b.build()?)
    }
}

impl Rule {
    /// moby's rule: any excluded arch/cap/kernel drops the rule; every included one must hold.
    pub fn applies(&self, host: Host) -> Result<bool> {
        if let Some(ex) = &self.excludes
            && (ex.arches.iter().flatten().any(|a| a == NATIVE_GO_ARCH)
                || ex.caps.iter().flatten().any(|c| holds(host.caps, c))
                || kernel_at_least(ex.min_kernel.as_deref(), host.kernel)? == Some(true))
        {
            return Ok(false);
        }
        if let Some(inc) = &self.includes {
            if let Some(a) = &inc.arches
                && !a.is_empty()
                && !a.iter().any(|a| a == NATIVE_GO_ARCH)
            {
                return Ok(false);
            }
            if !inc.caps.iter().flatten().all(|c| holds(host.caps, c))
                || kernel_at_least(inc.min_kernel.as_deref(), host.kernel)? == Some(false)
            {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Docker compares names with the bounding list: a name it does not know is never held.
fn holds(caps: CapSet, name: &str) -> bool {
    matches!(parse(name, MAX_CAP), Ok(CapName::Cap(c)) if caps.contains(c))
}

fn kernel_at_least(min: Option<&str>, kernel: (u32, u32)) -> Result<Option<bool>> {
    match min {
        None => Ok(None),
        Some(v) => Ok(Some(kernel >= parse_kernel(v)?)),
    }
}

/// "X.Y" or "X.Y.Z-anything": only major and minor count, as in moby.
pub fn parse_kernel(release: &str) -> Result<(u32, u32)> {
    let bad = || Error::Profile(format!("bad kernel version \"{release}\""));
    let mut it = release.splitn(3, |c: char| !c.is_ascii_digit());
    let major = it.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let minor = it.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    Ok((major, minor))
}

/// Parses our one-rule-per-line notation (see docker_default.txt's header).
pub fn parse_text(text: &str) -> Result<Profile> {
    let mut p = Profile {
        default_action: LinuxSeccompAction::ScmpActErrno,
        default_errno_ret: None,
        architectures: None,
        arch_map: None,
        flags: None,
        syscalls: Vec::new(),
    };
    let mut rules: Vec<(RuleHead, Vec<String>)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("");
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("line {}: \"{}\"", i + 1, raw.trim());
        if line.starts_with(char::is_whitespace) {
            let (_, names) = rules
                .last_mut()
                .ok_or_else(|| Error::Profile(format!("{}: continues nothing", at())))?;
            names.extend(line.split_whitespace().map(str::to_string));
        } else if let Some(rest) = line.strip_prefix("default ") {
            let (a, e) = parse_action(rest.trim()).map_err(|e| e.at(at()))?;
            p.default_action = a;
            p.default_errno_ret = e;
        } else if let Some(rest) = line.strip_prefix("archmap ") {
            let mut arches = rest.split_whitespace().map(parse_arch);
            let architecture = arches
                .next()
                .ok_or_else(|| Error::Profile(format!("{}: no arch", at())))?;
            let sub: Vec<Arch> = arches.collect::<Result<_>>().map_err(|e| e.at(at()))?;
            p.arch_map.get_or_insert_with(Vec::new).push(ArchMap {
                architecture: architecture.map_err(|e| e.at(at()))?,
                sub_architectures: Some(sub),
            });
        } else {
            let (head, names) = line
                .split_once(':')
                .ok_or_else(|| Error::Profile(format!("{}: no ':'", at())))?;
            let head = parse_head(head).map_err(|e| e.at(at()))?;
            rules.push((head, names.split_whitespace().map(str::to_string).collect()));
        }
    }
    for (head, names) in rules {
        let mut b = LinuxSyscallBuilder::default()
            .names(names)
            .action(head.action);
        if let Some(e) = head.errno {
            b = b.errno_ret(e);
        }
        if !head.args.is_empty() {
            b = b.args(head.args);
        }
        p.syscalls.push(Rule {
            syscall: b.build()?,
            includes: head.includes,
            excludes: head.excludes,
        });
    }
    Ok(p)
}

struct RuleHead {
    action: LinuxSeccompAction,
    errno: Option<u32>,
    includes: Option<Conditions>,
    excludes: Option<Conditions>,
    args: Vec<LinuxSeccompArg>,
}

fn parse_head(head: &str) -> Result<RuleHead> {
    let mut words = head.split_whitespace();
    let first = words
        .next()
        .ok_or_else(|| Error::Profile("no action".into()))?;
    let (action, errno) = parse_action(first)?;
    let mut h = RuleHead {
        action,
        errno,
        includes: None,
        excludes: None,
        args: Vec::new(),
    };
    for w in words {
        let (neg, cond) = match w.strip_prefix('!') {
            Some(c) => (true, c),
            None => (false, w),
        };
        let target = if neg {
            &mut h.excludes
        } else {
            &mut h.includes
        };
        let list = |v: &str| Some(v.split(',').map(str::to_string).collect());
        if let Some(v) = cond.strip_prefix("cap=") {
            target.get_or_insert_with(Default::default).caps = list(v);
        } else if let Some(v) = cond.strip_prefix("arch=") {
            target.get_or_insert_with(Default::default).arches = list(v);
        } else if let Some(v) = cond.strip_prefix("kernel>=") {
            parse_kernel(v)?;
            target.get_or_insert_with(Default::default).min_kernel = Some(v.to_string());
        } else if let (false, Some(v)) = (neg, cond.strip_prefix("arg")) {
            h.args
                .push(parse_arg(v).map_err(|e| e.at(format!("bad condition \"{w}\"")))?);
        } else {
            return Err(Error::Profile(format!("unknown condition \"{w}\"")));
        }
    }
    Ok(h)
}

/// `N<op>V` or `N&M==V` (what follows "arg").
fn parse_arg(s: &str) -> Result<LinuxSeccompArg> {
    use LinuxSeccompOperator::*;
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let index: usize = s[..digits].parse().map_err(|source| Error::Number {
        what: format!("bad argument index \"{}\"", &s[..digits]),
        source,
    })?;
    let rest = &s[digits..];
    let b = LinuxSeccompArgBuilder::default().index(index);
    if let Some(masked) = rest.strip_prefix('&') {
        let (mask, value) = masked
            .split_once("==")
            .ok_or_else(|| Error::Profile("no ==".into()))?;
        return Ok(b
            .op(ScmpCmpMaskedEq)
            .value(parse_u64(mask)?)
            .value_two(parse_u64(value)?)
            .build()?);
    }
    // Two-character operators first, so "<=" is not read as "<" and "=5".
    const OPS: [(&str, LinuxSeccompOperator); 6] = [
        ("==", ScmpCmpEq),
        ("!=", ScmpCmpNe),
        ("<=", ScmpCmpLe),
        (">=", ScmpCmpGe),
        ("<", ScmpCmpLt),
        (">", ScmpCmpGt),
    ];
    let (op, v) = OPS
        .iter()
        .find_map(|(t, op)| rest.strip_prefix(t).map(|v| (*op, v)))
        .ok_or_else(|| Error::Profile("no operator".into()))?;
    Ok(b.op(op).value(parse_u64(v)?).build()?)
}

fn parse_u64(s: &str) -> Result<u64> {
    let r = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|source| Error::Number {
        what: format!("bad number \"{s}\""),
        source,
    })
}

fn parse_action(s: &str) -> Result<(LinuxSeccompAction, Option<u32>)> {
    use LinuxSeccompAction::*;
    let (name, n) = match s.split_once('/') {
        Some((a, n)) => (
            a,
            Some(n.parse::<u32>().map_err(|source| Error::Number {
                what: format!("bad errno \"{n}\""),
                source,
            })?),
        ),
        None => (s, None),
    };
    let action = match name {
        "allow" => ScmpActAllow,
        "errno" => ScmpActErrno,
        "kill" => ScmpActKillThread,
        "kill_process" => ScmpActKillProcess,
        "trap" => ScmpActTrap,
        "trace" => ScmpActTrace,
        "log" => ScmpActLog,
        "notify" => ScmpActNotify,
        _ => return Err(Error::Profile(format!("unknown action \"{s}\""))),
    };
    Ok((action, n))
}

fn parse_arch(s: &str) -> Result<Arch> {
    format!("SCMP_ARCH_{}", s.to_ascii_uppercase())
        .parse()
        .map_err(|_| Error::Profile(format!("unknown architecture \"{s}\"")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::policy::DOCKER_DEFAULTS;
    use crate::error_chain::one_line;

    const SYS_ADMIN: u8 = 21;
    const K: (u32, u32) = (6, 18);

    fn names(p: &LinuxSeccomp, action: LinuxSeccompAction) -> Vec<String> {
        let mut v: Vec<String> = p
            .syscalls()
            .iter()
            .flatten()
            .filter(|r| r.action() == action && r.args().as_ref().is_none_or(|a| a.is_empty()))
            .flat_map(|r| r.names().clone())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn our_table_says_what_dockers_json_says() {
        // The structure of moby's default.json, counted when the table was written.
        let p = Profile::docker_default();
        assert_eq!(p.default_action, LinuxSeccompAction::ScmpActErrno);
        assert_eq!(p.default_errno_ret, Some(1));
        assert_eq!(p.syscalls.len(), 33);
        assert_eq!(p.syscalls[0].syscall.names().len(), 361);
        let admin = &p.syscalls[17];
        assert_eq!(admin.syscall.names().len(), 26);
        assert_eq!(
            admin.includes.as_ref().unwrap().caps,
            Some(vec!["CAP_SYS_ADMIN".to_string()])
        );
        let x86 = &p.arch_map.as_ref().unwrap()[0];
        assert_eq!(x86.architecture, Arch::ScmpArchX86_64);
        assert_eq!(
            x86.sub_architectures,
            Some(vec![Arch::ScmpArchX86, Arch::ScmpArchX32])
        );
    }

    #[test]
    fn resolve_applies_caps_kernel_and_arch_like_moby() {
        let p = Profile::docker_default();
        let host = Host {
            caps: DOCKER_DEFAULTS,
            kernel: K,
        };
        let d = p.resolve(host).unwrap();
        assert_eq!(
            d.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
        );
        let allowed = names(&d, LinuxSeccompAction::ScmpActAllow);
        for open in ["ptrace", "arch_prctl", "modify_ldt", "chroot", "read"] {
            assert!(allowed.contains(&open.to_string()), "{open}");
        }
        for shut in [
            "mount",
            "unshare",
            "bpf",
            "reboot",
            "s390_runtime_instr",
            "cacheflush",
        ] {
            assert!(!allowed.contains(&shut.to_string()), "{shut}");
        }
        // clone3 fails with ENOSYS so that glibc falls back to clone, whose flags are checked.
        let c3 = d
            .syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .find(|r| r.names() == &["clone3"]);
        assert_eq!(c3.unwrap().errno_ret(), Some(38));

        let admin = p
            .resolve(Host {
                caps: CapSet(DOCKER_DEFAULTS.0 | 1 << SYS_ADMIN),
                kernel: K,
            })
            .unwrap();
        let allowed = names(&admin, LinuxSeccompAction::ScmpActAllow);
        assert!(allowed.contains(&"mount".to_string()));
        assert!(allowed.contains(&"clone3".to_string()));
        assert!(
            !admin
                .syscalls()
                .iter()
                .flatten()
                .any(|r| r.action() != LinuxSeccompAction::ScmpActAllow)
        );

        let old = p
            .resolve(Host {
                caps: CapSet::EMPTY,
                kernel: (4, 4),
            })
            .unwrap();
        let allowed = names(&old, LinuxSeccompAction::ScmpActAllow);
        assert!(!allowed.contains(&"ptrace".to_string()));
        assert!(!allowed.contains(&"chroot".to_string()));
    }

    #[test]
    fn bad_text_is_an_error_naming_the_line() {
        for (text, needle) in [
            ("frobnicate : read", "unknown action \"frobnicate\""),
            ("allow arg0~3 : read", "bad condition \"arg0~3\""),
            ("allow flavour=x : read", "unknown condition \"flavour=x\""),
            ("archmap vax", "unknown architecture \"vax\""),
            ("allow kernel>=four : read", "bad kernel version \"four\""),
            ("    read", "continues nothing"),
        ] {
            let e = one_line(&parse_text(text).unwrap_err());
            assert!(e.contains(needle), "{text}: {e}");
            assert!(e.contains("line 1"), "{text}: {e}");
        }
    }

    #[test]
    fn json_profiles_parse_and_both_arch_forms_are_refused() {
        let e = one_line(&Profile::from_json(r#"{"defaultAction":"SCMP_ACT_FROB"}"#).unwrap_err());
        assert!(e.contains("SCMP_ACT_FROB"), "{e}");
        let both = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],
            "archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}"#;
        let host = Host {
            caps: CapSet::EMPTY,
            kernel: K,
        };
        assert!(Profile::from_json(both).unwrap().resolve(host).is_err());
    }

    #[test]
    fn a_rule_may_name_one_syscall_in_name_as_older_profiles_do() {
        let p = Profile::from_json(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"name":"getpid","action":"SCMP_ACT_ALLOW"},
            {"names":["read","write"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_CHOWN"]}}]}"#,
        )
        .unwrap();
        let host = Host {
            caps: CapSet::of(&[0]),
            kernel: K,
        };
        let r = p.resolve(host).unwrap();
        assert_eq!(
            names(&r, LinuxSeccompAction::ScmpActAllow),
            ["getpid", "read", "write"]
        );
        for (json, needle) in [
            (
                r#"{"name":"getpid","names":["read"],"action":"SCMP_ACT_ALLOW"}"#,
                "\"name\": \"getpid\" and \"names\": [\"read\"]",
            ),
            (r#"{"action":"SCMP_ACT_ALLOW"}"#, "missing field `names`"),
            (
                r#"{"name":"getpid","action":"SCMP_ACT_FROB"}"#,
                "SCMP_ACT_FROB",
            ),
        ] {
            let text = format!(r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{json}]}}"#);
            let e = one_line(&Profile::from_json(&text).unwrap_err());
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn kernel_versions_parse_like_moby() {
        assert_eq!(parse_kernel("6.18.0-1-amd64").unwrap(), (6, 18));
        assert_eq!(parse_kernel("3.12-1-amd64").unwrap(), (3, 12));
        assert!(parse_kernel("x").is_err());
    }
}
