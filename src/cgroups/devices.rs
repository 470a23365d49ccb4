//! Device access rules: the OCI list, Docker's defaults, and the one meaning both the v1
//! `devices.allow`/`devices.deny` files and the v2 eBPF program give it.
//!
//! Meaning (the v1 kernel's, which the eBPF program reproduces): the rules are read in order
//! over a start of "everything allowed" (what the parent cgroup gives); a rule of type `a`
//! resets the default to allow or deny everything and drops the rules before it; any other rule
//! is an exception: an allow rule grants an access it covers completely, a deny rule refuses an
//! access it overlaps. The last rule that decides wins.

use super::{Context, Result};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

/// Access bits as the kernel's BPF_DEVCG_ACC_* (and the eBPF context) number them.
pub const MKNOD: u8 = 1;
pub const READ: u8 = 2;
pub const WRITE: u8 = 4;
pub const RWM: u8 = MKNOD | READ | WRITE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevType {
    All,
    Char,
    Block,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    pub typ: DevType,
    /// None: any.
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

impl Rule {
    /// `a *:* rwm` denied: the start of every confined list.
    pub const DENY_ALL: Rule = Rule {
        allow: false,
        typ: DevType::All,
        major: None,
        minor: None,
        access: RWM,
    };

    /// An OCI `linux.resources.devices` entry; a missing type is `a`, a missing or negative
    /// number is `*`, a missing access is `rwm` (as crun reads them).
    pub fn from_oci(rule: &LinuxDeviceCgroup) -> Result<Rule> {
        let typ = match rule.typ() {
            None | Some(LinuxDeviceType::A) => DevType::All,
            Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => DevType::Char,
            Some(LinuxDeviceType::B) => DevType::Block,
            Some(LinuxDeviceType::P) => {
                bail!("device rule {rule}: type p (fifo) has no cgroup rule")
            }
        };
        let number = |n: Option<i64>| -> Result<Option<u32>> {
            match n {
                None => Ok(None),
                Some(n) if n < 0 => Ok(None),
                Some(n) => u32::try_from(n)
                    .map(Some)
                    .map_err(|_| refused!("device rule {rule}: number {n} is out of range")),
            }
        };
        let access = match rule.access().as_deref() {
            None | Some("") => RWM,
            Some(a) => parse_access(a).map_err(|e| refused!("device rule {rule}: {e}"))?,
        };
        Ok(Rule {
            allow: rule.allow(),
            typ,
            major: number(rule.major())?,
            minor: number(rule.minor())?,
            access,
        })
    }

    pub fn to_oci(self) -> LinuxDeviceCgroup {
        let mut rule = LinuxDeviceCgroup::default();
        rule.set_allow(self.allow);
        rule.set_typ(Some(match self.typ {
            DevType::All => LinuxDeviceType::A,
            DevType::Char => LinuxDeviceType::C,
            DevType::Block => LinuxDeviceType::B,
        }));
        rule.set_major(self.major.map(i64::from));
        rule.set_minor(self.minor.map(i64::from));
        rule.set_access(Some(access_string(self.access)));
        rule
    }

    /// The line written to v1 `devices.allow` or `devices.deny`.
    pub fn v1_line(&self) -> String {
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        match self.typ {
            DevType::All => "a".to_string(),
            DevType::Char | DevType::Block => format!(
                "{} {}:{} {}",
                if self.typ == DevType::Char { 'c' } else { 'b' },
                num(self.major),
                num(self.minor),
                access_string(self.access)
            ),
        }
    }

    pub fn v1_file(&self) -> &'static str {
        if self.allow {
            "devices.allow"
        } else {
            "devices.deny"
        }
    }

    /// Docker's `--device-cgroup-rule` text, `c 1:3 mr` (always an allow rule).
    pub fn parse_docker(text: &str) -> Result<Rule> {
        let bad = || refused!("invalid device cgroup format '{text}'");
        let fields: Vec<&str> = text.split(' ').collect();
        let [typ, numbers, access] = fields[..] else {
            return Err(bad());
        };
        let typ = match typ {
            "a" => DevType::All,
            "c" => DevType::Char,
            "b" => DevType::Block,
            _ => return Err(bad()),
        };
        let (major, minor) = numbers.split_once(':').ok_or_else(bad)?;
        let number = |n: &str| -> Result<Option<u32>> {
            if n == "*" {
                return Ok(None);
            }
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            n.parse().map(Some).map_err(|_| bad())
        };
        if access.is_empty() || access.len() > 3 {
            return Err(bad());
        }
        let access = parse_access(access).map_err(|_| bad())?;
        Ok(Rule {
            allow: true,
            typ,
            major: number(major)?,
            minor: number(minor)?,
            access,
        })
    }

    fn covers(&self, typ: DevType, major: u32, minor: u32) -> bool {
        (self.typ == DevType::All || self.typ == typ)
            && self.major.is_none_or(|m| m == major)
            && self.minor.is_none_or(|m| m == minor)
    }
}

fn parse_access(text: &str) -> Result<u8> {
    text.chars().try_fold(0u8, |acc, c| match c {
        'r' => Ok(acc | READ),
        'w' => Ok(acc | WRITE),
        'm' => Ok(acc | MKNOD),
        _ => bail!("access {text:?} is not a combination of r, w and m"),
    })
}

fn access_string(access: u8) -> String {
    [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')]
        .iter()
        .filter(|(bit, _)| access & bit != 0)
        .map(|(_, c)| c)
        .collect()
}

/// The reference decision for a request of `access` on a char or block device: what the
/// kernel's v1 list and the v2 eBPF program both answer (the eBPF tests compare with it).
pub fn decide(rules: &[Rule], typ: DevType, major: u32, minor: u32, access: u8) -> bool {
    for rule in rules.iter().rev() {
        if rule.typ == DevType::All {
            return rule.allow;
        }
        if !rule.covers(typ, major, minor) {
            continue;
        }
        if rule.allow && access & !rule.access == 0 {
            return true;
        }
        if !rule.allow && access & rule.access != 0 {
            return false;
        }
    }
    true
}

/// What Docker gives a container that is not privileged: its own spec denies everything, and
/// runc appends mknod of any node, the standard nodes, the pty nodes and tun. (The old
/// /dev/console rule, 5:1, left runc's list in 1.2: a terminal's console is a pty.)
pub fn docker_defaults() -> Vec<Rule> {
    let c = |major, minor: Option<u32>| Rule {
        allow: true,
        typ: DevType::Char,
        major: Some(major),
        minor,
        access: RWM,
    };
    vec![
        Rule::DENY_ALL,
        Rule {
            allow: true,
            typ: DevType::Char,
            major: None,
            minor: None,
            access: MKNOD,
        },
        Rule {
            allow: true,
            typ: DevType::Block,
            major: None,
            minor: None,
            access: MKNOD,
        },
        c(1, Some(3)),    // null
        c(1, Some(8)),    // random
        c(1, Some(7)),    // full
        c(5, Some(0)),    // tty
        c(1, Some(5)),    // zero
        c(1, Some(9)),    // urandom
        c(136, None),     // pts/*
        c(5, Some(2)),    // ptmx
        c(10, Some(200)), // net/tun
    ]
}

/// What runc (1.1) always lets a container do after its config's rules: mknod of any node,
/// and open the nodes every container gets (null, zero, full, random, urandom, tty, console,
/// the pty nodes) and tun.
pub fn runtime_defaults() -> Vec<Rule> {
    let mut rules = docker_defaults();
    rules.remove(0);
    rules.push(Rule {
        allow: true,
        typ: DevType::Char,
        major: Some(5),
        minor: Some(1),
        access: RWM,
    });
    rules
}

/// The rules a container's cgroup gets, as runc builds them: everything denied, then the
/// config's `linux.resources.devices` (absent and `[]` alike add nothing, so a config without
/// rules opens no host device), then [`runtime_defaults`], then each `linux.devices` node the
/// runtime makes (fifos need no rule). A config's own `a` allow rule still opens everything.
pub fn container_rules(
    config: Option<&[LinuxDeviceCgroup]>,
    listed: &[oci_spec::runtime::LinuxDevice],
) -> Result<Vec<LinuxDeviceCgroup>> {
    let mut rules = vec![Rule::DENY_ALL];
    for r in config.into_iter().flatten() {
        rules.push(Rule::from_oci(r).context("linux.resources.devices")?);
    }
    rules.extend(runtime_defaults());
    for d in listed {
        let typ = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => DevType::Char,
            LinuxDeviceType::B => DevType::Block,
            LinuxDeviceType::P | LinuxDeviceType::A => continue,
        };
        let number = |n: i64| {
            u32::try_from(n).map_err(|_| {
                refused!(
                    "linux.devices: {}: device number {n} is out of range",
                    d.path().display()
                )
            })
        };
        rules.push(Rule {
            allow: true,
            typ,
            major: Some(number(d.major())?),
            minor: Some(number(d.minor())?),
            access: RWM,
        });
    }
    Ok(rules.into_iter().map(Rule::to_oci).collect())
}

/// The quick form's and `minirun spec`'s `linux.resources.devices`: Docker's defaults, or for
/// `--privileged` every device (Docker's privileged containers open any node).
pub fn oci_defaults(privileged: bool) -> Vec<oci_spec::runtime::LinuxDeviceCgroup> {
    if privileged {
        return vec![
            Rule {
                allow: true,
                ..Rule::DENY_ALL
            }
            .to_oci(),
        ];
    }
    docker_defaults().into_iter().map(Rule::to_oci).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_defaults_refuse_the_mknod_attack_and_keep_the_standard_nodes() {
        let rules = docker_defaults();
        // mknod of the host's loop device succeeds; opening it does not.
        assert!(decide(&rules, DevType::Block, 7, 0, MKNOD));
        assert!(!decide(&rules, DevType::Block, 7, 0, READ | WRITE));
        for (major, minor) in [
            (1, 11), /* kmsg */
            (5, 1),  /* console */
            (4, 1),
            (10, 232),
            (10, 229),
        ] {
            assert!(
                !decide(&rules, DevType::Char, major, minor, READ),
                "{major}:{minor}"
            );
        }
        for (major, minor) in [
            (1, 3),
            (1, 5),
            (1, 7),
            (1, 8),
            (1, 9),
            (5, 0),
            (5, 2),
            (136, 4),
            (10, 200),
        ] {
            assert!(
                decide(&rules, DevType::Char, major, minor, READ | WRITE),
                "{major}:{minor}"
            );
        }
        let lines: Vec<String> = rules.iter().map(Rule::v1_line).collect();
        assert_eq!(&lines[..4], ["a", "c *:* m", "b *:* m", "c 1:3 rwm"]);
        assert_eq!(rules[0].v1_file(), "devices.deny");
        assert_eq!(rules[9].v1_line(), "c 136:* rwm");
    }

    fn oci(json: serde_json::Value) -> Vec<Rule> {
        let linux: oci_spec::runtime::Linux = serde_json::from_value(json).unwrap();
        let rules = linux
            .resources()
            .as_ref()
            .and_then(|r| r.devices().as_deref());
        container_rules(rules, linux.devices().as_deref().unwrap_or_default())
            .unwrap()
            .iter()
            .map(|r| Rule::from_oci(r).unwrap())
            .collect()
    }

    #[test]
    fn a_config_without_rules_opens_no_host_device() {
        for linux in [
            serde_json::json!({}),
            serde_json::json!({"resources": {"devices": []}}),
            serde_json::json!({"resources": {"devices": [{"allow": false, "access": "rwm"}]}}),
        ] {
            let rules = oci(linux.clone());
            assert!(
                !decide(&rules, DevType::Block, 254, 0, READ),
                "{linux}: the host's disk"
            );
            assert!(decide(&rules, DevType::Block, 254, 0, MKNOD), "{linux}");
            assert!(
                !decide(&rules, DevType::Char, 1, 1, READ),
                "{linux}: /dev/mem"
            );
            for (major, minor) in [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1)] {
                assert!(
                    decide(&rules, DevType::Char, major, minor, RWM),
                    "{linux}: {major}:{minor}"
                );
            }
            assert!(decide(&rules, DevType::Char, 136, 7, READ | WRITE));
        }
        // The config's allow-all (privileged) still opens everything.
        let all =
            oci(serde_json::json!({"resources": {"devices": [{"allow": true, "access": "rwm"}]}}));
        assert!(decide(&all, DevType::Block, 254, 0, READ | WRITE));
    }

    #[test]
    fn listed_devices_are_allowed() {
        let rules = oci(serde_json::json!({
        "resources": {"devices": [{"allow": false, "access": "rwm"}]},
        "devices": [
            {"path": "/dev/test1", "type": "c", "major": 10, "minor": 666},
            {"path": "/dev/test2", "type": "b", "major": 8, "minor": 3},
            {"path": "/dev/test3", "type": "p", "major": 0, "minor": 0}
        ]}));
        assert!(decide(&rules, DevType::Char, 10, 666, RWM));
        assert!(decide(&rules, DevType::Block, 8, 3, RWM));
        assert!(!decide(&rules, DevType::Block, 8, 0, READ));
    }

    #[test]
    fn partial_access_rules() {
        let rules = [Rule::DENY_ALL, Rule::parse_docker("c 1:3 r").unwrap()];
        assert!(decide(&rules, DevType::Char, 1, 3, READ));
        assert!(
            !decide(&rules, DevType::Char, 1, 3, READ | WRITE),
            "allow must cover all"
        );
        let deny_write = Rule {
            allow: false,
            typ: DevType::Char,
            major: Some(1),
            minor: Some(3),
            access: WRITE,
        };
        assert!(
            !decide(&[deny_write], DevType::Char, 1, 3, READ | WRITE),
            "deny wins on overlap"
        );
        assert!(decide(&[deny_write], DevType::Char, 1, 3, READ));
        assert!(
            decide(&[], DevType::Block, 8, 0, RWM),
            "no rule: the parent's allow-all"
        );
    }

    #[test]
    fn oci_rules_round_trip() {
        for rule in docker_defaults() {
            assert_eq!(Rule::from_oci(&rule.to_oci()).unwrap(), rule);
        }
        let mut oci = LinuxDeviceCgroup::default();
        oci.set_typ(Some(LinuxDeviceType::C));
        oci.set_major(Some(-1));
        oci.set_access(Some("rx".into()));
        let err = Rule::from_oci(&oci).unwrap_err().to_string();
        assert!(err.contains("\"rx\""), "{err}");
        oci.set_access(None);
        assert_eq!(Rule::from_oci(&oci).unwrap().v1_line(), "c *:* rwm");
    }

    #[test]
    fn docker_rule_syntax() {
        assert_eq!(
            Rule::parse_docker("c 1:3 mr").unwrap().v1_line(),
            "c 1:3 rm"
        );
        assert_eq!(
            Rule::parse_docker("b *:* rwm").unwrap().v1_line(),
            "b *:* rwm"
        );
        assert_eq!(Rule::parse_docker("a *:* rwm").unwrap().v1_line(), "a");
        for bad in [
            "c 1:3",
            "x 1:3 r",
            "c 1-3 r",
            "c 1:3 rwmr",
            "c -1:3 r",
            "c 1:3 q",
            "c  1:3 r",
        ] {
            let err = Rule::parse_docker(bad).unwrap_err().to_string();
            assert_eq!(err, format!("invalid device cgroup format '{bad}'"));
        }
    }
}
