//! The five capability sets as a grid: capabilities down the side, the sets across, Docker's
//! defaults marked and what differs from them (or from the previous step) highlighted. Pure:
//! the callers read /proc and decide about colour (`use_colour`).

use crate::capability::policy::DOCKER_DEFAULTS;
use crate::capability::{CapSet, CapSets, names};

/// What the grid shows about one process.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub sets: CapSets,
    /// The sets one step earlier (a trace): cells that changed are marked.
    pub previous: Option<CapSets>,
    /// The process is in a user namespace other than the host's.
    pub other_userns: bool,
    /// /proc/PID/status's `Seccomp:` (0 disabled, 1 strict, 2 filter) and `Seccomp_filters:`.
    pub seccomp: Option<(u8, u32)>,
}

impl View {
    /// The grid's facts from a /proc/PID/status text (None when it has no Cap lines).
    pub fn from_status(text: &str, other_userns: bool) -> Option<View> {
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k))
                .and_then(|v| v.trim().parse::<u32>().ok())
        };
        let seccomp = field("Seccomp:").map(|m| (m as u8, field("Seccomp_filters:").unwrap_or(0)));
        Some(View {
            sets: crate::capability::inspect::parse_status(text).ok()?,
            previous: None,
            other_userns,
            seccomp,
        })
    }
}

/// Colour only on a terminal, and never when NO_COLOR is set (no-color.org) or TERM is dumb.
pub fn use_colour(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    let tty = unsafe { libc::isatty(fd) } == 1;
    tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

const SETS: [&str; 5] = ["bnd", "prm", "eff", "inh", "amb"];
pub const LEGEND: &str =
    "bnd bounding, prm permitted, eff effective, inh inheritable, amb ambient; x held, . not held";

fn row_sets(s: &CapSets) -> [CapSet; 5] {
    [
        s.bounding,
        s.permitted,
        s.effective,
        s.inheritable,
        s.ambient,
    ]
}

fn paint(text: &str, code: &str, colour: bool) -> String {
    if colour && !code.is_empty() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The grid, its context lines first (user namespace, seccomp), one row per capability that is
/// in any set, in Docker's defaults or (with `previous`) was in a set a step earlier.
pub fn render(v: &View, last_cap: u8, colour: bool) -> String {
    let mut out = String::new();
    if v.other_userns {
        out.push_str(&paint(
            "user namespace: NOT the host's: these capabilities apply only to what that namespace owns\n",
            "1;33",
            colour,
        ));
    } else {
        out.push_str("user namespace: the host's\n");
    }
    if let Some((mode, filters)) = v.seccomp {
        let what = match mode {
            0 => "disabled".to_string(),
            1 => "strict".to_string(),
            _ => format!(
                "filter ({filters} filter{})",
                if filters == 1 { "" } else { "s" }
            ),
        };
        out.push_str(&format!("seccomp: {what}\n"));
    }
    let now = row_sets(&v.sets);
    let before = v.previous.as_ref().map(row_sets);
    let mut shown = DOCKER_DEFAULTS;
    for s in now.iter().chain(before.iter().flatten()) {
        shown = shown.union(*s);
    }
    shown = shown.intersect(CapSet::all_up_to(last_cap));
    out.push_str(&format!(
        "{:<20}{}docker\n",
        "capability",
        SETS.map(|s| format!("{s:<4}")).concat()
    ));
    for cap in shown.iter() {
        let mut line = format!("{:<20}", names::short_name(cap));
        let mut changed = false;
        for (i, set) in now.iter().enumerate() {
            let held = set.contains(cap);
            let was = before.map(|b| b[i].contains(cap));
            let cell = if held { "x" } else { "." };
            let code = match was {
                Some(w) if w != held => {
                    changed = true;
                    if held { "1;32;7" } else { "1;31;7" }
                }
                _ if held => "32",
                _ => "2",
            };
            line.push_str(&paint(cell, code, colour));
            line.push_str("   ");
        }
        let default = DOCKER_DEFAULTS.contains(cap);
        line.push_str(if default { "default" } else { "       " });
        let in_bnd = v.sets.bounding.contains(cap);
        let note = match (default, in_bnd) {
            (true, false) => paint("  dropped", "31", colour),
            (false, true) => paint("  added", "33", colour),
            _ => String::new(),
        };
        line.push_str(&note);
        if changed {
            line.push_str(&paint("  changed", "1", colour));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let others = CapSet::all_up_to(last_cap).minus(shown).len();
    if others > 0 {
        out.push_str(&format!(
            "({others} other capabilities: in no set, not Docker defaults)\n"
        ));
    }
    out.push_str(LEGEND);
    out.push('\n');
    out
}

/// The same facts as one JSON object (names spelled as everywhere in minirun's JSON).
pub fn json(pid: i32, v: &View) -> serde_json::Value {
    let s = &v.sets;
    serde_json::json!({
        "pid": pid,
        "user_namespace": if v.other_userns { "other" } else { "host" },
        "seccomp": v.seccomp.map(|(m, _)| match m { 0 => "disabled", 1 => "strict", _ => "filter" }),
        "seccomp_filters": v.seccomp.map(|(_, f)| f),
        "bounding": s.bounding.short_names(), "permitted": s.permitted.short_names(),
        "effective": s.effective.short_names(), "inheritable": s.inheritable.short_names(),
        "ambient": s.ambient.short_names(),
        "docker_defaults_dropped": DOCKER_DEFAULTS.minus(s.bounding).short_names(),
        "added_to_docker_defaults": s.bounding.minus(DOCKER_DEFAULTS).short_names(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(b: CapSet, p: CapSet, e: CapSet, a: CapSet) -> CapSets {
        CapSets {
            bounding: b,
            permitted: p,
            effective: e,
            inheritable: a,
            ambient: a,
        }
    }

    #[test]
    fn marks_defaults_drops_and_additions() {
        let b = DOCKER_DEFAULTS
            .minus(CapSet::of(&[13]))
            .union(CapSet::of(&[21]));
        let v = View {
            sets: sets(b, b, b, CapSet::EMPTY),
            seccomp: Some((2, 1)),
            ..View::default()
        };
        let g = render(&v, 40, false);
        assert!(g.contains("seccomp: filter (1 filter)\n"), "{g}");
        assert!(g.contains("user namespace: the host's\n"), "{g}");
        assert!(
            g.contains("\nchown               x   x   x   .   .   default\n"),
            "{g}"
        );
        assert!(
            g.contains("\nnet_raw             .   .   .   .   .   default  dropped\n"),
            "{g}"
        );
        assert!(
            g.contains("\nsys_admin           x   x   x   .   .            added\n"),
            "{g}"
        );
        assert!(g.contains("(26 other capabilities"), "{g}");
        assert!(!g.contains('\x1b'), "no colour unless asked: {g}");
    }

    #[test]
    fn marks_what_changed_since_the_previous_step_and_another_userns() {
        let nbs = CapSet::of(&[10]);
        let before = sets(DOCKER_DEFAULTS, DOCKER_DEFAULTS, DOCKER_DEFAULTS, nbs);
        let after = sets(DOCKER_DEFAULTS, nbs, nbs, nbs);
        let v = View {
            sets: after,
            previous: Some(before),
            other_userns: true,
            seccomp: None,
        };
        let g = render(&v, 40, false);
        assert!(g.contains("NOT the host's"), "{g}");
        assert!(
            g.contains("\nchown               x   .   .   .   .   default  changed\n"),
            "{g}"
        );
        assert!(
            g.contains("\nnet_bind_service    x   x   x   x   x   default\n"),
            "{g}"
        );
        let coloured = render(&v, 40, true);
        assert!(coloured.contains("\x1b[1;31;7m.\x1b[0m"), "{coloured}");
    }

    #[test]
    fn reads_status_and_prints_json() {
        let t = "CapInh:\t0000000000000000\nCapPrm:\t0000000000000020\nCapEff:\t0000000000000020\nCapBnd:\t0000000000000020\nCapAmb:\t0000000000000000\nSeccomp:\t2\nSeccomp_filters:\t3\n";
        let v = View::from_status(t, false).unwrap();
        assert_eq!(v.seccomp, Some((2, 3)));
        let j = json(7, &v);
        assert_eq!(j["effective"], serde_json::json!(["kill"]));
        assert_eq!(j["seccomp_filters"], 3);
        assert_eq!(j["added_to_docker_defaults"], serde_json::json!([]));
        assert_eq!(j["docker_defaults_dropped"].as_array().unwrap().len(), 13);
    }
}
