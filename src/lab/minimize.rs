//! `minirun minimize`: the smallest capability set under which a command still exits 0.
//!
//! Greedy and deterministic: run the command once with the starting set (it must succeed), then
//! in kernel order try the set without each capability in turn, keeping every drop after which
//! the command still succeeds; finally run the result once more. Every trial is a fresh
//! container on a volatile root, so one trial's writes never help or hurt the next.
//!
//! The result is minimal one capability at a time: removing any single capability that remains
//! makes the command fail (checked by the trial that kept it). A command that needs "one of two"
//! capabilities keeps the later one in kernel order.
//!
//! Unless `--trial-only`, one traced run first narrows the capabilities to try to those the
//! kernel checked and granted and those the seccomp profile opens syscalls for
//! (`kernel_answer`); the baseline is then that narrower set.

use super::{Error, Result};
use super::{Finished, MinimizeArgs, network_name, out, progress, progress_wanted, rootfs_dir};
use crate::capability::policy::DOCKER_DEFAULTS;
use crate::capability::{self as cap, CapSet, names};
use crate::spec::Network;
use serde::Serialize;
use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

/// What a trial was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The starting set, which must work.
    Baseline,
    /// The current set without this capability.
    Without(u8),
    /// The final set, run once more.
    Verify,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trial {
    pub step: Step,
    pub set: CapSet,
    pub ok: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchStatus {
    /// `result` is minimal and passed its verification run.
    Found,
    /// The command failed with the starting set: there is nothing to minimise.
    BaselineFails,
    /// The minimal set failed its verification run: the command does not behave the same way
    /// every time, so the result cannot be trusted.
    VerifyFails,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub start: CapSet,
    pub result: CapSet,
    pub status: SearchStatus,
    pub trials: Vec<Trial>,
}

/// The minimisation loop over any trial function (a container in `run`, a closure in tests).
pub fn minimize(start: CapSet, mut trial: impl FnMut(CapSet) -> bool) -> Outcome {
    let mut trials = Vec::new();
    let mut record = |step: Step, set: CapSet, trials: &mut Vec<Trial>| {
        let ok = trial(set);
        trials.push(Trial { step, set, ok });
        ok
    };
    if !record(Step::Baseline, start, &mut trials) {
        return Outcome {
            start,
            result: start,
            status: SearchStatus::BaselineFails,
            trials,
        };
    }
    let mut current = start;
    for c in start.iter() {
        let candidate = current.minus(CapSet::of(&[c]));
        if record(Step::Without(c), candidate, &mut trials) {
            current = candidate;
        }
    }
    let status = if record(Step::Verify, current, &mut trials) {
        SearchStatus::Found
    } else {
        SearchStatus::VerifyFails
    };
    Outcome {
        start,
        result: current,
        status,
        trials,
    }
}

/// The number of containers a minimisation of `start` runs when the baseline works.
pub fn trial_count(start: CapSet) -> usize {
    start.len() + 2
}

/// `--from`: "defaults" (Docker's 14), "all", or a list; limited to what minirun may grant.
pub fn starting_set(from: &str, kernel: CapSet, held: CapSet) -> Result<CapSet> {
    let set = match from.trim().to_ascii_lowercase().as_str() {
        "defaults" | "default" => DOCKER_DEFAULTS.intersect(kernel).intersect(held),
        "all" => kernel.intersect(held),
        _ => {
            let last = kernel.iter().last().unwrap_or(0);
            let s = names::parse_set(&[from], last)?;
            if let Some(c) = s.minus(held).iter().next() {
                return Err(Error::Refused(format!(
                    "--from names {}, which the environment withholds (minirun's own bounding set lacks it)",
                    names::oci_name(c)
                )));
            }
            s
        }
    };
    Ok(set)
}

/// The run options that are passed to every trial and printed in the ready command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub user: Option<String>,
    pub group_add: Vec<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub network: Network,
    pub no_new_privileges: bool,
    pub security_opt: Vec<String>,
}

impl RunOptions {
    pub fn from_args(a: &MinimizeArgs) -> RunOptions {
        RunOptions {
            user: a.user.clone(),
            group_add: a.group_add.clone(),
            env: a.env.clone(),
            workdir: a.workdir.clone(),
            network: a.network,
            no_new_privileges: a.no_new_privileges,
            security_opt: a.security_opt.clone(),
        }
    }

    /// `--user U --group-add G -e K=V --workdir W --network host --no-new-privileges`, each only
    /// when set (the network only when not the default).
    pub fn args(&self) -> Vec<String> {
        let mut a = Vec::new();
        if let Some(u) = &self.user {
            a.push(format!("--user={u}"));
        }
        a.extend(self.group_add.iter().map(|g| format!("--group-add={g}")));
        a.extend(self.env.iter().map(|e| format!("--env={e}")));
        if let Some(w) = &self.workdir {
            a.push(format!("--workdir={w}"));
        }
        if self.network != Network::None {
            a.push(format!("--network={}", network_name(self.network)));
        }
        if self.no_new_privileges {
            a.push("--no-new-privileges".into());
        }
        a.extend(
            self.security_opt
                .iter()
                .map(|o| format!("--security-opt={o}")),
        );
        a
    }
}

/// `--cap-drop=all`, then one `--cap-add=NAME` per capability (Docker's spelling, which takes
/// no comma lists).
pub fn cap_args(set: CapSet) -> Vec<String> {
    std::iter::once("--cap-drop=all".to_string())
        .chain(
            set.iter()
                .map(|c| format!("--cap-add={}", names::short_name(c))),
        )
        .collect()
}

/// Quotes a word for a POSIX shell only when it needs it.
pub fn shell_quote(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:,@%+".contains(c));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// The command a user can paste: `minirun --cap-drop=all --cap-add=... [opts] ROOTFS COMMAND...`.
pub fn ready_line(set: CapSet, opts: &RunOptions, rootfs: &str, command: &[String]) -> String {
    let words: Vec<String> = std::iter::once("minirun".to_string())
        .chain(cap_args(set))
        .chain(opts.args())
        .chain(std::iter::once(rootfs.to_string()))
        .chain(command.iter().cloned())
        .collect();
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn step_label(t: &Trial, start: CapSet) -> String {
    match t.step {
        Step::Baseline if start == DOCKER_DEFAULTS => "baseline: Docker's defaults".into(),
        Step::Baseline => format!("baseline: {} capabilities", start.len()),
        Step::Without(c) => format!("without {}", names::short_name(c)),
        Step::Verify => "verify".into(),
    }
}

fn step_result(t: &Trial) -> &'static str {
    match (t.step, t.ok) {
        (Step::Without(_), true) => "not needed: dropped",
        (Step::Without(_), false) => "needed: kept",
        (_, true) => "ok",
        (_, false) => "FAILED",
    }
}

/// The human report: one line per trial with its exit status, the result, the ready line.
pub fn render_text(o: &Outcome, statuses: &[String], ready: &str) -> String {
    let mut text = String::new();
    let lw = o
        .trials
        .iter()
        .map(|t| step_label(t, o.start).len())
        .max()
        .unwrap_or(0);
    for (i, t) in o.trials.iter().enumerate() {
        let st = statuses.get(i).map(String::as_str).unwrap_or("");
        let line = format!(
            "  {:<lw$}  {st:<9}  {}",
            step_label(t, o.start),
            step_result(t)
        );
        text.push_str(line.trim_end());
        text.push('\n');
    }
    let set = if o.result.is_empty() {
        "none".to_string()
    } else {
        o.result.names()
    };
    match o.status {
        SearchStatus::Found => {
            text.push_str(&format!("\nsmallest set: {set}\n{ready}\n"));
        }
        SearchStatus::BaselineFails => {
            text.push_str("\nthe command fails with the starting set: nothing to minimise\n");
        }
        SearchStatus::VerifyFails => {
            text.push_str(&format!(
                "\nsmallest set found: {set}, but it failed its verification run: the command does not \
                 succeed reliably, so this set is not trustworthy\n"
            ));
        }
    }
    text
}

#[derive(Serialize)]
struct JsonTrial {
    trial: String,
    caps: Vec<String>,
    status: String,
    ok: bool,
}

#[derive(Serialize)]
struct JsonOutcome<'a> {
    command: &'a [String],
    from: Vec<String>,
    needed: Vec<String>,
    status: &'static str,
    verified: bool,
    cap_drop: Vec<&'static str>,
    cap_add: Vec<String>,
    run: &'a str,
    trials: Vec<JsonTrial>,
}

/// One JSON object: command, from, needed, status (found, baseline-fails, verify-fails),
/// verified, cap_drop, cap_add, run (the ready line), trials.
pub fn render_json(o: &Outcome, statuses: &[String], command: &[String], ready: &str) -> String {
    let trials = o
        .trials
        .iter()
        .enumerate()
        .map(|(i, t)| JsonTrial {
            trial: match t.step {
                Step::Baseline => "baseline".into(),
                Step::Without(c) => format!("without {}", names::short_name(c)),
                Step::Verify => "verify".into(),
            },
            caps: t.set.short_names(),
            status: statuses.get(i).cloned().unwrap_or_default(),
            ok: t.ok,
        })
        .collect();
    let j = JsonOutcome {
        command,
        from: o.start.short_names(),
        needed: o.result.short_names(),
        status: match o.status {
            SearchStatus::Found => "found",
            SearchStatus::BaselineFails => "baseline-fails",
            SearchStatus::VerifyFails => "verify-fails",
        },
        verified: o.status == SearchStatus::Found,
        cap_drop: vec!["all"],
        cap_add: o.result.short_names(),
        run: ready,
        trials,
    };
    serde_json::to_string(&j).unwrap_or_else(|e| format!("{{\"error\":\"serialising: {e}\"}}"))
}

pub fn least_set(state_root: &Path, args: &MinimizeArgs) -> Result<i32> {
    let rootfs = rootfs_dir(&args.rootfs)?;
    let rootfs_text = rootfs.to_string_lossy().into_owned();
    let last = cap::kernel_last_cap();
    let start = starting_set(&args.from, CapSet::all_up_to(last), cap::held_bounding())?;
    let opts = RunOptions::from_args(args);
    let timeout = Duration::from_secs(args.timeout.max(1));
    let began = Instant::now();
    let choice = crate::container::seccomp_step::choice_from(&args.security_opt);
    let answer = match args.trial_only {
        true => None,
        false => ask_the_kernel(state_root, args, &rootfs, start, &opts, timeout)?,
    };
    let by_profile = match &answer {
        Some(_) => super::kernel_answer::profile_caps(&choice, start)?,
        None => CapSet::EMPTY,
    };
    let narrowed = answer
        .as_ref()
        .map(|granted| granted.union(by_profile).intersect(start));
    let ((outcome, finished), containers) = search_narrowed_first(
        state_root,
        args,
        &rootfs,
        start,
        narrowed,
        &opts,
        usize::from(answer.is_some()),
    )?;
    let elapsed = began.elapsed();
    if outcome.status == SearchStatus::BaselineFails {
        return Err(baseline_fails(&finished, start));
    }
    let report = Report {
        statuses: finished.iter().map(Finished::status_text).collect(),
        ready: ready_line(outcome.result, &opts, &rootfs_text, &args.command),
        labels: why_each(&outcome, answer, by_profile),
        mode: match answer {
            Some(_) => "traced",
            None => "trial-only",
        },
        outcome,
        answer,
        start,
        by_profile,
        containers,
        elapsed,
    };
    if args.json {
        out(&report.json(&args.command)?);
    } else {
        out(&report.text());
    }
    Ok(if report.outcome.status == SearchStatus::Found {
        0
    } else {
        1
    })
}

/// The search from the narrowed set when there is one, from the whole starting set when
/// there is none or it was not enough; with the count of containers run (`before` of them
/// already, by the traced run).
fn search_narrowed_first(
    state_root: &Path,
    args: &MinimizeArgs,
    rootfs: &Path,
    start: CapSet,
    narrowed: Option<CapSet>,
    opts: &RunOptions,
    before: usize,
) -> Result<((Outcome, Vec<Finished>), usize)> {
    let mut outcome = search(state_root, args, rootfs, narrowed.unwrap_or(start), opts)?;
    let mut containers = outcome.0.trials.len() + before;
    if narrowed.is_some() && outcome.0.status != SearchStatus::Found {
        tracing::warn!(
            "the capabilities the kernel checked were not enough on their own: trying every one of the starting set"
        );
        outcome = search(state_root, args, rootfs, start, opts)?;
        containers += outcome.0.trials.len();
    }
    Ok((outcome, containers))
}

/// The refusal when the command fails even with the starting set, with its first error.
fn baseline_fails(finished: &[Finished], start: CapSet) -> Error {
    let why = finished
        .first()
        .map(|f| format!("{}: {}", f.status_text(), f.first_error_line()))
        .unwrap_or_default();
    Error::Refused(format!(
        "the command fails even with the starting set ({} capabilities), so there is nothing to minimise ({})",
        start.len(),
        why.trim_end_matches(": ")
    ))
}

/// Why each capability of the result is needed: the kernel's answer when traced.
fn why_each(
    outcome: &Outcome,
    answer: Option<CapSet>,
    by_profile: CapSet,
) -> Vec<(u8, &'static str)> {
    let granted = answer.unwrap_or(CapSet::EMPTY);
    outcome
        .result
        .iter()
        .map(|c| match answer {
            Some(_) => (c, super::kernel_answer::need(c, granted, by_profile).text()),
            None => (c, "needed (by trial)"),
        })
        .collect()
}

/// What `minimize` prints, as JSON or text.
struct Report {
    outcome: Outcome,
    statuses: Vec<String>,
    ready: String,
    labels: Vec<(u8, &'static str)>,
    mode: &'static str,
    answer: Option<CapSet>,
    start: CapSet,
    by_profile: CapSet,
    containers: usize,
    elapsed: Duration,
}

impl Report {
    fn json(&self, command: &[String]) -> Result<String> {
        let mut j: serde_json::Value = serde_json::from_str(&render_json(
            &self.outcome,
            &self.statuses,
            command,
            &self.ready,
        ))?;
        j["mode"] = serde_json::json!(self.mode);
        j["kernel_granted"] =
            serde_json::json!(self.answer.map(|g| g.intersect(self.start).short_names()));
        j["tried"] = serde_json::json!(self.outcome.start.short_names());
        j["why"] = self
            .labels
            .iter()
            .map(|(c, l)| (names::short_name(*c), serde_json::json!(l)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        j["containers"] = serde_json::json!(self.containers);
        j["elapsed_ms"] = serde_json::json!(self.elapsed.as_millis() as u64);
        Ok(j.to_string() + "\n")
    }

    fn text(&self) -> String {
        let mut text = String::new();
        if let Some(g) = self.answer {
            let g = g.intersect(self.start);
            text.push_str(&format!(
                "traced run with {} capabilities: the kernel checked and granted {}{}\n",
                self.start.len(),
                if g.is_empty() {
                    "none".into()
                } else {
                    g.names()
                },
                match self.by_profile.minus(g).is_empty() {
                    true => String::new(),
                    false => format!(
                        "; the profile opens syscalls for {}",
                        self.by_profile.minus(g).names()
                    ),
                }
            ));
        }
        let report = render_text(&self.outcome, &self.statuses, &self.ready);
        // The ready line stays last, to paste.
        let pasteable = format!("{}\n", self.ready);
        let (body, tail) = match report.strip_suffix(&pasteable) {
            Some(body) => (body.to_string(), pasteable),
            None => (report, String::new()),
        };
        text.push_str(&body);
        for (c, l) in &self.labels {
            text.push_str(&format!("  {}: {l}\n", names::short_name(*c)));
        }
        text.push_str(&format!(
            "{}: {} containers in {:.1} s\n",
            self.mode,
            self.containers,
            self.elapsed.as_secs_f64()
        ));
        text.push_str(&tail);
        text
    }
}

/// The traced run with the whole starting set: the capabilities the kernel granted, or None
/// (with a one-line note) where the tracer cannot run. The command failing is the caller's
/// baseline failure, found again by its first trial.
fn ask_the_kernel(
    state_root: &Path,
    args: &MinimizeArgs,
    rootfs: &Path,
    start: CapSet,
    opts: &RunOptions,
    timeout: Duration,
) -> Result<Option<CapSet>> {
    let json = super::kernel_answer::json_path(state_root);
    let mut a: Vec<OsString> = vec![
        "--volatile".into(),
        "--trace-caps".into(),
        "--trace-caps-json".into(),
        json.clone().into(),
    ];
    a.extend(cap_args(start).into_iter().map(OsString::from));
    a.extend(opts.args().into_iter().map(OsString::from));
    a.push(rootfs.into());
    a.extend(args.command.iter().map(OsString::from));
    let f = super::run_minirun(state_root, &a, timeout)?;
    let doc = std::fs::read_to_string(&json).ok();
    let _ = std::fs::remove_file(&json);
    if let Some(why) = super::kernel_answer::tracer_unavailable(&f.stderr).filter(|_| doc.is_none())
    {
        tracing::warn!("minimize: {why}; finding the set by trial alone");
        return Ok(None);
    }
    match doc.and_then(|d| serde_json::from_str(&d).ok()) {
        Some(doc) if f.success() => Ok(Some(super::kernel_answer::granted(&doc, start))),
        // The command failed: every capability is tried, and the baseline says so.
        _ => Ok(None),
    }
}

/// The trial-by-trial search from `start`, and what each trial's container did.
fn search(
    state_root: &Path,
    args: &MinimizeArgs,
    rootfs: &Path,
    start: CapSet,
    opts: &RunOptions,
) -> Result<(Outcome, Vec<Finished>)> {
    let timeout = Duration::from_secs(args.timeout.max(1));
    let show = progress_wanted();
    let total = trial_count(start);
    let mut finished: Vec<Finished> = Vec::new();
    let mut spawn_error: Option<Error> = None;
    let outcome = minimize(start, |set| {
        if spawn_error.is_some() {
            return false;
        }
        let mut a: Vec<OsString> = vec!["--volatile".into()];
        a.extend(cap_args(set).into_iter().map(OsString::from));
        a.extend(opts.args().into_iter().map(OsString::from));
        a.push(rootfs.into());
        a.extend(args.command.iter().map(OsString::from));
        if show {
            progress(
                finished.len(),
                total,
                &format!("{} capabilities", set.len()),
            );
        }
        match run_trial(|| super::run_minirun(state_root, &a, timeout)) {
            Ok(f) => {
                let ok = f.success();
                finished.push(f);
                ok
            }
            Err(e) => {
                spawn_error = Some(e);
                false
            }
        }
    });
    if show {
        progress(total, total, "done");
    }
    if let Some(e) = spawn_error {
        return Err(e);
    }
    Ok((outcome, finished))
}

/// minirun's own failure (Docker's 125): the launch failed, not the command.
const LAUNCH_FAILED: i32 = 125;

/// One trial, run once more when the launch itself failed (exit 125): a launch failing under
/// load (seen once: one trial's 125 made CAP_SYS_CHROOT look needed for ping) is not the
/// command needing the capability. A drop that makes every launch fail still fails.
fn run_trial(mut run: impl FnMut() -> Result<Finished>) -> Result<Finished> {
    let first = run()?;
    if first.code != Some(LAUNCH_FAILED) {
        return Ok(first);
    }
    tracing::debug!(
        "minimize: a trial's launch failed ({}); running it again",
        first.first_error_line()
    );
    run()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHOWN: u8 = 0;
    const SETGID: u8 = 6;
    const SETUID: u8 = 7;

    #[test]
    fn keeps_exactly_what_the_command_needs() {
        let need = CapSet::of(&[SETGID, SETUID]);
        let o = minimize(DOCKER_DEFAULTS, |s| need.minus(s).is_empty());
        assert_eq!(o.status, SearchStatus::Found);
        assert_eq!(o.result, need);
        assert_eq!(o.trials.len(), trial_count(DOCKER_DEFAULTS));
        assert_eq!(o.trials[0].step, Step::Baseline);
        assert_eq!(o.trials.last().unwrap().step, Step::Verify);
        let kept: Vec<u8> = o
            .trials
            .iter()
            .filter_map(|t| match t.step {
                Step::Without(c) if !t.ok => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(kept, vec![SETGID, SETUID]);
    }

    #[test]
    fn each_trial_drops_one_more_from_the_current_set() {
        let mut seen = Vec::new();
        let o = minimize(CapSet::of(&[CHOWN, 5, SETUID]), |s| {
            seen.push(s);
            s.contains(CHOWN)
        });
        assert_eq!(o.result, CapSet::of(&[CHOWN]));
        assert_eq!(
            seen,
            vec![
                CapSet::of(&[CHOWN, 5, SETUID]),
                CapSet::of(&[5, SETUID]),
                CapSet::of(&[CHOWN, SETUID]),
                CapSet::of(&[CHOWN]),
                CapSet::of(&[CHOWN]),
            ]
        );
    }

    #[test]
    fn a_failed_launch_is_tried_once_more_and_a_failed_command_is_not() {
        let finished = |code| Finished {
            code: Some(code),
            stdout: String::new(),
            stderr: "minirun: something\n".into(),
            timed_out: false,
        };
        let runs = |codes: &[i32]| {
            let mut it = codes.iter();
            let mut n = 0;
            let f = run_trial(|| {
                n += 1;
                Ok(finished(*it.next().unwrap()))
            })
            .unwrap();
            (f.code, n)
        };
        assert_eq!(runs(&[125, 0]), (Some(0), 2));
        assert_eq!(runs(&[125, 125]), (Some(125), 2));
        assert_eq!(runs(&[1]), (Some(1), 1));
        assert_eq!(runs(&[0]), (Some(0), 1));
    }

    #[test]
    fn nothing_needed_gives_the_empty_set() {
        let o = minimize(DOCKER_DEFAULTS, |_| true);
        assert_eq!(o.result, CapSet::EMPTY);
        assert_eq!(o.status, SearchStatus::Found);
    }

    #[test]
    fn failing_baseline_stops_at_once() {
        let mut n = 0;
        let o = minimize(DOCKER_DEFAULTS, |_| {
            n += 1;
            false
        });
        assert_eq!(n, 1);
        assert_eq!(o.status, SearchStatus::BaselineFails);
    }

    #[test]
    fn flaky_command_fails_verification() {
        let mut n = 0;
        // Succeeds on every trial but the last (the verification run).
        let total = trial_count(CapSet::of(&[CHOWN]));
        let o = minimize(CapSet::of(&[CHOWN]), |_| {
            n += 1;
            n < total
        });
        assert_eq!(o.status, SearchStatus::VerifyFails);
    }

    #[test]
    fn ready_line_is_pasteable() {
        let opts = RunOptions {
            user: Some("1000".into()),
            env: vec!["A=b c".into()],
            network: Network::Host,
            ..Default::default()
        };
        let cmd: Vec<String> = ["sh", "-c", "echo 'hi'"].map(String::from).to_vec();
        let line = ready_line(CapSet::of(&[SETGID, SETUID]), &opts, "/r", &cmd);
        assert_eq!(
            line,
            r#"minirun --cap-drop=all --cap-add=setgid --cap-add=setuid --user=1000 '--env=A=b c' --network=host /r sh -c 'echo '\''hi'\'''"#
        );
        assert_eq!(
            ready_line(
                CapSet::EMPTY,
                &RunOptions::default(),
                "/r",
                &["true".into()]
            ),
            "minirun --cap-drop=all /r true"
        );
    }

    #[test]
    fn starting_sets() {
        let kernel = CapSet::all_up_to(40);
        let held = kernel.minus(CapSet::of(&[24]));
        assert_eq!(
            starting_set("defaults", kernel, held).unwrap(),
            DOCKER_DEFAULTS
        );
        assert_eq!(starting_set("ALL", kernel, held).unwrap(), held);
        assert_eq!(
            starting_set("chown,setuid", kernel, held).unwrap(),
            CapSet::of(&[CHOWN, SETUID])
        );
        let e = starting_set("sys_resource", kernel, held).unwrap_err();
        assert!(e.to_string().contains("CAP_SYS_RESOURCE"), "{e}");
        assert!(starting_set("bogus", kernel, held).is_err());
    }

    #[test]
    fn text_report() {
        let o = minimize(CapSet::of(&[CHOWN, SETUID]), |s| s.contains(CHOWN));
        let st: Vec<String> = ["exit 0", "exit 1", "exit 0", "exit 0"]
            .map(String::from)
            .to_vec();
        let t = render_text(&o, &st, "minirun --cap-drop=all --cap-add=chown /r x");
        assert!(
            t.contains("  without chown             exit 1     needed: kept\n"),
            "{t}"
        );
        assert!(
            t.contains("  without setuid            exit 0     not needed: dropped\n"),
            "{t}"
        );
        assert!(
            t.starts_with("  baseline: 2 capabilities  exit 0     ok\n"),
            "{t}"
        );
        assert!(t.ends_with("smallest set: chown\nminirun --cap-drop=all --cap-add=chown /r x\n"));
        let j: serde_json::Value =
            serde_json::from_str(&render_json(&o, &st, &["x".into()], "r")).unwrap();
        assert_eq!(j["needed"], serde_json::json!(["chown"]));
        assert_eq!(j["trials"][1]["trial"], "without chown");
        assert_eq!(j["verified"], true);
    }
}
