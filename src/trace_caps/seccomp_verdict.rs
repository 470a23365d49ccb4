//! Which rule of which seccomp profile refused a call (pure): the profile the container runs
//! under, with each rule's conditions decided for its host as the launch decided them, is
//! evaluated against the call's number and its arguments as the tracer read them at sys_exit.
//!
//! libseccomp's filter gives a call the action of the rule that names it and whose argument
//! conditions hold; with none, the profile's default action. So the refusal is either that rule
//! (an `errno` rule of a custom profile) or the default action, and then the rules that would
//! have allowed the call are named with what they lacked: a capability (`includes.caps`), a
//! kernel version, or arguments (`clone` without namespace flags).

use crate::capability::names::{self, CapName, MAX_CAP};
use crate::seccomp::{Host, Profile};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator, LinuxSyscall,
};

/// A rule of the profile in force, and why it is not in the filter (None: it is).
#[derive(Debug, Clone)]
struct InForceRule {
    syscall: LinuxSyscall,
    unmet: Option<String>,
}

/// The seccomp profile a traced container runs under.
#[derive(Debug, Clone)]
pub struct InForce {
    /// As the user knows it: "Docker's default profile", "the profile /x.json", ...
    name: String,
    /// Whether rules are named by their place in a file the user has (`syscalls[3]`).
    numbered: bool,
    rules: Vec<InForceRule>,
    default_action: LinuxSeccompAction,
    default_errno: Option<u32>,
}

impl InForce {
    /// A Docker-format profile as resolved for `host` (the bounding set and the kernel);
    /// `numbered` when it is a file the user wrote.
    pub fn docker(name: &str, profile: &Profile, host: Host, numbered: bool) -> InForce {
        let rules = profile
            .syscalls
            .iter()
            .map(|r| InForceRule {
                syscall: r.syscall.clone(),
                unmet: match r.applies(host) {
                    Ok(true) => None,
                    // A rule whose conditions do not parse was refused at launch already.
                    Ok(false) | Err(_) => Some(unmet(r, host)),
                },
            })
            .collect();
        InForce {
            name: name.to_string(),
            numbered,
            rules,
            default_action: profile.default_action,
            default_errno: profile.default_errno_ret,
        }
    }

    /// An OCI `linux.seccomp` (no conditions: every rule is in the filter).
    pub fn oci(name: &str, sc: &LinuxSeccomp) -> InForce {
        let rules = sc
            .syscalls()
            .iter()
            .flatten()
            .map(|s| InForceRule {
                syscall: s.clone(),
                unmet: None,
            })
            .collect();
        InForce {
            name: name.to_string(),
            numbered: true,
            rules,
            default_action: sc.default_action(),
            default_errno: sc.default_errno_ret(),
        }
    }

    /// Who in the profile refused `call` with arguments `args`, in a sentence.
    pub fn explain(&self, call: &str, args: &[u64; 6]) -> String {
        let naming: Vec<(usize, &InForceRule)> = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.syscall.names().iter().any(|n| n == call))
            .collect();
        let deciding = naming
            .iter()
            .filter(|(_, r)| r.unmet.is_none() && args_hold(r.syscall.args(), args));
        let mut allowing = None;
        for (i, r) in deciding {
            if allows(r.syscall.action()) {
                allowing = Some(*i);
                continue;
            }
            return format!(
                "refused by {}: its rule {} {}",
                self.name,
                self.rule_name(*i, call),
                action_text(r.syscall.action(), r.syscall.errno_ret())
            );
        }
        if let Some(i) = allowing {
            return format!(
                "{} allows this call (its rule {}): another filter, one the workload installed, refused it",
                self.name,
                self.rule_name(i, call)
            );
        }
        let mut text = format!(
            "refused by {}: no rule of it allows {call} here, and its default action {}",
            self.name,
            action_text(self.default_action, self.default_errno)
        );
        for (i, r) in naming.iter().filter(|(_, r)| allows(r.syscall.action())) {
            let lacks = match &r.unmet {
                Some(why) => why.clone(),
                None => format!("only {}", conditions(r.syscall.args(), args)),
            };
            text.push_str(&format!(
                "; its rule {} allows it {lacks}",
                self.rule_name(*i, call)
            ));
        }
        text
    }

    /// `syscalls[3] (errno: chmod)` for a file the user has; `allowing clone, unshare, … (30
    /// calls)` for Docker's built-in table, whose order means nothing to anyone.
    fn rule_name(&self, i: usize, call: &str) -> String {
        let r = &self.rules[i].syscall;
        let names = r.names();
        let list = match names.len() {
            0..=3 => names.join(", "),
            n => format!("for {call} and {} other calls", n - 1),
        };
        let action = match r.action() {
            LinuxSeccompAction::ScmpActAllow => "allow",
            LinuxSeccompAction::ScmpActErrno => "errno",
            LinuxSeccompAction::ScmpActLog => "log",
            _ => "kill/trap/trace/notify",
        };
        match self.numbered {
            true => format!("syscalls[{i}] ({action}: {list})"),
            false => format!("'{action}: {list}'"),
        }
    }
}

fn allows(a: LinuxSeccompAction) -> bool {
    matches!(
        a,
        LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
    )
}

fn action_text(a: LinuxSeccompAction, errno: Option<u32>) -> String {
    match a {
        LinuxSeccompAction::ScmpActErrno => {
            // libseccomp's and runc's default errno for SCMP_ACT_ERRNO is EPERM.
            let e = match errno.unwrap_or(1) {
                1 => "EPERM".to_string(),
                13 => "EACCES".to_string(),
                11 => "EAGAIN".to_string(),
                38 => "ENOSYS".to_string(),
                n => format!("errno {n}"),
            };
            format!("answers {e}")
        }
        LinuxSeccompAction::ScmpActNotify => "hands the call to its supervisor".into(),
        LinuxSeccompAction::ScmpActTrace => "hands the call to its tracer".into(),
        LinuxSeccompAction::ScmpActTrap => "sends SIGSYS".into(),
        LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog => "allows it".into(),
        _ => "kills the caller".into(),
    }
}

/// Whether every argument condition of a rule holds (libseccomp ANDs a rule's conditions).
fn args_hold(conds: &Option<Vec<LinuxSeccompArg>>, args: &[u64; 6]) -> bool {
    conds.iter().flatten().all(|c| arg_holds(c, args))
}

fn arg_holds(c: &LinuxSeccompArg, args: &[u64; 6]) -> bool {
    use LinuxSeccompOperator::*;
    let Some(&a) = args.get(c.index()) else {
        return false;
    };
    let v = c.value();
    match c.op() {
        ScmpCmpNe => a != v,
        ScmpCmpLt => a < v,
        ScmpCmpLe => a <= v,
        ScmpCmpEq => a == v,
        ScmpCmpGe => a >= v,
        ScmpCmpGt => a > v,
        ScmpCmpMaskedEq => a & v == c.value_two().unwrap_or(0),
    }
}

/// "when arg0 & 0x7e020000 == 0 (here arg0 = 0x10000000)".
fn conditions(conds: &Option<Vec<LinuxSeccompArg>>, args: &[u64; 6]) -> String {
    use LinuxSeccompOperator::*;
    let text: Vec<String> = conds
        .iter()
        .flatten()
        .map(|c| {
            let i = c.index();
            let cond = match c.op() {
                ScmpCmpMaskedEq => format!(
                    "arg{i} & {:#x} == {:#x}",
                    c.value(),
                    c.value_two().unwrap_or(0)
                ),
                op => {
                    let sym = match op {
                        ScmpCmpNe => "!=",
                        ScmpCmpLt => "<",
                        ScmpCmpLe => "<=",
                        ScmpCmpGe => ">=",
                        ScmpCmpGt => ">",
                        _ => "==",
                    };
                    format!("arg{i} {sym} {:#x}", c.value())
                }
            };
            let here = args.get(i).copied().unwrap_or(0);
            format!("{cond} (here {here:#x})")
        })
        .collect();
    format!("when {}", text.join(" and "))
}

/// Why a rule of a Docker-format profile is not in the filter for `host`, as moby decides.
fn unmet(r: &crate::seccomp::Rule, host: Host) -> String {
    let held =
        |n: &str| matches!(names::parse(n, MAX_CAP), Ok(CapName::Cap(c)) if host.caps.contains(c));
    let flag = |n: &str| match names::parse(n, MAX_CAP) {
        Ok(CapName::Cap(c)) => names::short_name(c).to_string(),
        _ => n.to_ascii_lowercase(),
    };
    if let Some(inc) = &r.includes {
        let lacking: Vec<&String> = inc.caps.iter().flatten().filter(|c| !held(c)).collect();
        if !lacking.is_empty() {
            let caps: Vec<&str> = lacking.iter().map(|c| c.as_str()).collect();
            let adds: Vec<String> = lacking
                .iter()
                .map(|c| format!("--cap-add {}", flag(c)))
                .collect();
            return format!(
                "only with {} ({} would open it)",
                caps.join(" and "),
                adds.join(" ")
            );
        }
        if let Some(k) = &inc.min_kernel {
            return format!("only on Linux {k} or later");
        }
    }
    if let Some(ex) = &r.excludes {
        let held: Vec<&str> = ex
            .caps
            .iter()
            .flatten()
            .filter(|c| held(c))
            .map(|c| c.as_str())
            .collect();
        if !held.is_empty() {
            return format!("only without {}", held.join(" and "));
        }
    }
    "only on another architecture or kernel".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::CapSet;
    use crate::capability::policy::DOCKER_DEFAULTS;

    const K: (u32, u32) = (6, 18);
    const NEWUSER: u64 = 0x1000_0000;

    fn docker(caps: CapSet) -> InForce {
        InForce::docker(
            "Docker's default profile",
            &Profile::docker_default(),
            Host { caps, kernel: K },
            false,
        )
    }

    #[test]
    fn unshare_under_dockers_profile_names_the_cap_sys_admin_rule() {
        let t = docker(DOCKER_DEFAULTS).explain("unshare", &[NEWUSER, 0, 0, 0, 0, 0]);
        assert!(
            t.starts_with(
                "refused by Docker's default profile: no rule of it allows unshare here, and its default action answers EPERM; its rule 'allow: for unshare and "
            ),
            "{t}"
        );
        assert!(
            t.ends_with("allows it only with CAP_SYS_ADMIN (--cap-add sys_admin would open it)"),
            "{t}"
        );
    }

    #[test]
    fn clone_with_namespace_flags_names_the_argument_condition() {
        let t = docker(DOCKER_DEFAULTS).explain("clone", &[NEWUSER | 17, 0, 0, 0, 0, 0]);
        assert!(
            t.contains("allows it only when arg0 & 0x7e020000 == 0x0 (here 0x10000011)"),
            "{t}"
        );
    }

    #[test]
    fn a_custom_errno_rule_is_named_by_its_place_in_the_file() {
        let p = Profile::from_json(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
        )
        .unwrap();
        let f = InForce::docker(
            "the profile /p.json",
            &p,
            Host {
                caps: DOCKER_DEFAULTS,
                kernel: K,
            },
            true,
        );
        assert_eq!(
            f.explain("fchmodat", &[0; 6]),
            "refused by the profile /p.json: its rule syscalls[1] (errno: chmod, fchmodat) answers EACCES"
        );
        assert!(
            f.explain("getpid", &[0; 6])
                .contains("allows this call (its rule syscalls[0] (allow: getpid))")
        );
    }

    #[test]
    fn an_oci_profile_is_read_as_installed() {
        let sc: LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}"#,
        )
        .unwrap();
        let t = InForce::oci("config.json's linux.seccomp", &sc).explain("personality", &[9; 6]);
        assert_eq!(
            t,
            "refused by config.json's linux.seccomp: no rule of it allows personality here, and its default action answers EPERM; its rule syscalls[0] (allow: personality) allows it only when arg0 == 0x8 (here 0x9)"
        );
    }
}
