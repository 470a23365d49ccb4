//! The seccomp dimension of `minirun experiment` and `minirun explain`: capabilities are one
//! fence, Docker's seccomp profile another, and the profile is built for the capability set
//! (a rule with `includes.caps` opens syscalls only when the capability is granted).
//!
//! For each capability, with the capability granted every time, the probe runs three ways:
//! unconfined (the capability pair's GRANTED column), under Docker's default profile, and,
//! when the profile has a rule for the capability, under the profile resolved *without* that
//! rule. So a student sees where the capability is useless without the profile's rule, and
//! where the profile blocks what the capability allows.

use super::Result;
use super::probe::Side;
use crate::capability::CapSet;
use crate::capability::names;
use crate::error_chain::step;
use crate::seccomp;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The probe's answers for one capability, granted, under each filter.
#[derive(Debug, Clone)]
pub struct SeccompRow {
    pub number: u8,
    pub unconfined: Side,
    pub profile: Side,
    /// Under the profile without the capability's rule; None when it has no such rule.
    pub without_rule: Option<Side>,
    /// What the profile opens for the capability (`seccomp::opened_by`).
    pub opens: Vec<String>,
}

/// What the profile does to the capability's probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The same answer with and without the filter.
    None,
    /// Allowed only because the profile has a rule for the capability.
    NeedsRule,
    /// The capability allows it, the profile refuses it anyway.
    Blocks,
    /// Some other difference (a failed container, a surprising errno).
    Differs,
}

impl Effect {
    pub fn text(self) -> &'static str {
        match self {
            Effect::None => "none",
            Effect::NeedsRule => "needs the profile's rule",
            Effect::Blocks => "the profile blocks it",
            Effect::Differs => "differs",
        }
    }
}

impl SeccompRow {
    pub fn effect(&self) -> Effect {
        let (u, p) = (self.unconfined.short(), self.profile.short());
        let allowed = |s: &str| s == "allowed";
        if u != p {
            return if allowed(u) && !allowed(p) {
                Effect::Blocks
            } else {
                Effect::Differs
            };
        }
        match &self.without_rule {
            Some(w) if allowed(p) && !allowed(w.short()) => Effect::NeedsRule,
            _ => Effect::None,
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "unconfined": self.unconfined.short(),
            "profile": self.profile.short(),
            "without_rule": self.without_rule.as_ref().map(|s| s.short()),
            "opens": self.opens,
            "effect": self.effect().text(),
        })
    }
}

/// `--security-opt` arguments put before the container's other flags.
pub fn with_opt(opt: &str, args: &[OsString]) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec!["--security-opt".into(), opt.into()];
    a.extend_from_slice(args);
    a
}

/// Docker's default profile for `bounding` without `cap`'s rules, written where `--security-opt
/// seccomp=FILE` can read it (a resolved OCI profile is a Docker-format one with no conditions).
pub fn write_without_rule(dir: &Path, bounding: CapSet, cap: u8) -> Result<PathBuf> {
    let mut caps = bounding;
    caps.remove(cap);
    let profile = seccomp::docker_default(caps, seccomp::running_kernel()?);
    let path = dir.join(format!("without-{}.json", names::short_name(cap)));
    std::fs::write(&path, serde_json::to_vec(&profile)?)
        .map_err(step(|| format!("writing {}", path.display())))?;
    Ok(path)
}

/// The seccomp table: the capabilities the profile changes something for, then a count of the
/// others, so the table stays short.
pub fn render_table(rows: &[SeccompRow]) -> String {
    let shown: Vec<&SeccompRow> = rows.iter().filter(|r| r.effect() != Effect::None).collect();
    let mut text = String::from(
        "\nseccomp (capability granted in each column; PROFILE is Docker's default for the set,\n\
         WITHOUT RULE the same profile without the capability's rule):\n",
    );
    if !shown.is_empty() {
        let cw = shown
            .iter()
            .map(|r| names::short_name(r.number).len())
            .max()
            .unwrap_or(0)
            .max("CAPABILITY".len());
        let line = |c: &str, u: &str, p: &str, w: &str, e: &str| {
            format!("{c:<cw$}  {u:<10}  {p:<8}  {w:<12}  {e}\n")
        };
        text.push_str(&line(
            "CAPABILITY",
            "UNCONFINED",
            "PROFILE",
            "WITHOUT RULE",
            "EFFECT",
        ));
        for r in &shown {
            let w = r.without_rule.as_ref().map_or("-", |s| s.short());
            text.push_str(&line(
                &names::short_name(r.number),
                r.unconfined.short(),
                r.profile.short(),
                w,
                r.effect().text(),
            ));
        }
    }
    let rest = rows.len() - shown.len();
    text.push_str(&format!(
        "{rest} of {} capabilities: the profile does not change the probe's answer\n",
        rows.len()
    ));
    text
}

/// `explain CAP`'s seccomp line: what Docker's profile opens when the capability is granted.
pub fn explain_line(cap: u8) -> Result<String> {
    let opens = seccomp::opened_by(cap, seccomp::running_kernel()?);
    let text = if opens.is_empty() {
        "Docker's profile opens nothing more for it".to_string()
    } else {
        format!("Docker's profile also opens {}", opens.join(" "))
    };
    Ok(super::explain::wrap(
        &format!("  {:<16}", "seccomp:"),
        &text,
        super::explain::TABLE_WIDTH,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::probe::Probe;
    use super::*;

    fn side(result: &str) -> Side {
        Side::Probe(Probe {
            capability: "x".into(),
            number: 21,
            operation: "op".into(),
            result: result.into(),
            detail: None,
            reason: None,
        })
    }

    fn row(u: &str, p: &str, w: Option<&str>) -> SeccompRow {
        SeccompRow {
            number: 21,
            unconfined: side(u),
            profile: side(p),
            without_rule: w.map(side),
            opens: vec!["mount".into()],
        }
    }

    #[test]
    fn effects_say_which_fence_decided() {
        assert_eq!(row("allowed", "allowed", None).effect(), Effect::None);
        assert_eq!(
            row("allowed", "allowed", Some("EPERM")).effect(),
            Effect::NeedsRule
        );
        assert_eq!(
            row("allowed", "allowed", Some("allowed")).effect(),
            Effect::None
        );
        assert_eq!(row("allowed", "ENOSYS", None).effect(), Effect::Blocks);
        assert_eq!(row("EPERM", "ENOSYS", None).effect(), Effect::Differs);
        assert_eq!(row("EPERM", "EPERM", Some("EPERM")).effect(), Effect::None);
    }

    #[test]
    fn the_table_lists_only_what_the_profile_changes() {
        let rows = [
            row("allowed", "allowed", Some("EPERM")),
            row("allowed", "allowed", None),
        ];
        let t = render_table(&rows);
        assert!(t.contains("CAPABILITY  UNCONFINED"), "{t}");
        assert!(
            t.contains("sys_admin   allowed     allowed   EPERM         needs the profile's rule"),
            "{t}"
        );
        assert!(
            t.ends_with("1 of 2 capabilities: the profile does not change the probe's answer\n")
        );
        let j = rows[0].json();
        assert_eq!(j["effect"], "needs the profile's rule");
        assert_eq!(j["without_rule"], "EPERM");
    }

    #[test]
    fn explain_names_what_sys_admin_opens() {
        let l = explain_line(21).unwrap();
        assert!(l.contains("mount") && l.contains("unshare"), "{l}");
        assert!(explain_line(0).unwrap().contains("nothing more"));
    }
}
