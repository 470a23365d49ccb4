//! Capability names and numbers.
//!
//! Users type `setuid`, `SETUID`, `cap_setuid` or `CAP_SETUID`; the kernel speaks numbers.
//! The table here is the kernel's order (capabilities(7)); numbers past its end that a newer
//! kernel knows are still representable and are named `cap_N`, as libcap does. A bare number
//! (`7`, as capabilities(7) and /proc/PID/status count) names a capability too.

use super::CapSet;

/// Kernel order: index = capability number. Lowercase, without the `cap_` prefix (pscap's form).
pub const NAMES: [&str; 41] = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// The largest capability number minirun can ever handle (the width of the kernel's 64-bit sets).
pub const MAX_CAP: u8 = 63;

/// What a name parses to: one capability, or the keyword `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapName {
    Cap(u8),
    All,
}

/// Why a name did not parse; main maps both to exit 125.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("unknown capability \"{given}\"{}", hint(.closest))]
    Unknown {
        given: String,
        closest: Option<String>,
    },
    #[error(
        "capability \"{given}\" is not known to the running kernel (its last capability is {last})"
    )]
    NotInKernel { given: String, last: String },
    #[error("empty capability name in {given:?} (Docker refuses it too)")]
    Empty { given: String },
    #[error("no capability number {given}: this kernel's go from 0 to {last}")]
    Number { given: String, last: u8 },
}

fn hint(closest: &Option<String>) -> String {
    match closest {
        Some(c) => format!(" (did you mean \"{c}\"?)"),
        None => String::new(),
    }
}

/// The lowercase short name (`setuid`), or `cap_N` for a number past the table.
pub fn short_name(cap: u8) -> String {
    match NAMES.get(cap as usize) {
        Some(n) => (*n).to_string(),
        None => format!("cap_{cap}"),
    }
}

/// The canonical upper-case name (`CAP_SETUID`), as OCI config.json spells it.
pub fn oci_name(cap: u8) -> String {
    format!("CAP_{}", short_name(cap).to_uppercase())
}

/// Parses one name. `last_cap` is the running kernel's cap_last_cap: a name the table knows but
/// the kernel does not is a distinct error, so the user learns the kernel is the reason.
pub fn parse(raw: &str, last_cap: u8) -> Result<CapName, NameError> {
    let trimmed = raw.trim();
    // A bare number, as `explain 7` takes it; a sign or a value past the 64-bit set still
    // reads as a number, so the error says which numbers exist rather than "unknown name".
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return match trimmed.parse::<u8>() {
            Ok(n) if n <= last_cap && n <= MAX_CAP => Ok(CapName::Cap(n)),
            _ => Err(NameError::Number {
                given: trimmed.to_string(),
                last: last_cap.min(MAX_CAP),
            }),
        };
    }
    let upper = trimmed.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    let canonical = format!("CAP_{bare}");
    if bare == "ALL" {
        return Ok(CapName::All);
    }
    let lower = bare.to_ascii_lowercase();
    // `cap_N` (how short_name prints a number past the table, as libcap does) and the
    // `CAP_CAP_N` that oci_name makes of it both name capability N.
    let numbered = |s: &str| {
        s.strip_prefix("cap_")
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u8>().ok())
    };
    let number = NAMES
        .iter()
        .position(|n| *n == lower)
        .map(|i| i as u8)
        .or_else(|| numbered(&trimmed.to_ascii_lowercase()))
        .or_else(|| numbered(&lower));
    match number {
        // A set is 64 bits wide, whatever the caller says the kernel's last capability is.
        Some(n) if n <= last_cap && n <= MAX_CAP => Ok(CapName::Cap(n)),
        Some(n) if n <= MAX_CAP => Err(NameError::NotInKernel {
            given: canonical,
            last: oci_name(last_cap),
        }),
        _ => Err(NameError::Unknown {
            closest: closest(&lower).map(oci_name),
            given: canonical,
        }),
    }
}

/// Parses a list of flag values; each value may itself be a comma-separated list.
/// An empty name (`''`, `chown,`) is refused: it is a slip, not a request for nothing.
pub fn parse_list<S: AsRef<str>>(values: &[S], last_cap: u8) -> Result<Vec<CapName>, NameError> {
    let mut out = Vec::new();
    for v in values {
        let v = v.as_ref();
        for part in v.split(',') {
            if part.trim().is_empty() {
                return Err(NameError::Empty {
                    given: v.to_string(),
                });
            }
            out.push(parse(part, last_cap)?);
        }
    }
    Ok(out)
}

/// Parses OCI config.json names (which must be exact `CAP_X`, but we are lenient in case only).
pub fn parse_set<S: AsRef<str>>(values: &[S], last_cap: u8) -> Result<CapSet, NameError> {
    let mut set = CapSet::EMPTY;
    for name in parse_list(values, last_cap)? {
        match name {
            CapName::Cap(n) => set.insert(n),
            CapName::All => set = set.union(CapSet::all_up_to(last_cap)),
        }
    }
    Ok(set)
}

/// The table entry closest to `lower`: the first one it begins (`net_bind` is a start of
/// `net_bind_service`, nearer by intent than `setgid` by letters), else the nearest by edit
/// distance if close enough to be a typo.
fn closest(lower: &str) -> Option<u8> {
    if lower.len() >= 3
        && let Some(i) = NAMES.iter().position(|n| n.starts_with(lower))
    {
        return Some(i as u8);
    }
    let (best, dist) = NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| (i as u8, edit_distance(lower, n)))
        .min_by_key(|&(_, d)| d)?;
    (dist <= lower.len().max(3) / 2).then_some(best)
}

/// Optimal-string-alignment distance: a swapped pair of letters (the commonest typo) costs one.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_parses() {
        for s in [
            "setuid",
            "SETUID",
            "cap_setuid",
            "CAP_SETUID",
            " Cap_SetUid ",
        ] {
            assert_eq!(parse(s, 40), Ok(CapName::Cap(7)), "{s}");
        }
        assert_eq!(parse("all", 40), Ok(CapName::All));
        assert_eq!(parse("ALL", 40), Ok(CapName::All));
        assert_eq!(parse("CAP_ALL", 40), Ok(CapName::All));
    }

    #[test]
    fn a_prefix_is_suggested_before_a_near_spelling() {
        assert_eq!(
            parse("net_bind", 40).unwrap_err().to_string(),
            "unknown capability \"CAP_NET_BIND\" (did you mean \"CAP_NET_BIND_SERVICE\"?)"
        );
    }

    #[test]
    fn unknown_name_suggests_the_closest() {
        let err = parse("setiud", 40).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown capability \"CAP_SETIUD\" (did you mean \"CAP_SETUID\"?)"
        );
        let err = parse("foo", 40).unwrap_err();
        assert_eq!(err.to_string(), "unknown capability \"CAP_FOO\"");
    }

    #[test]
    fn name_the_kernel_lacks_is_a_distinct_error() {
        let err = parse("checkpoint_restore", 39).unwrap_err();
        assert!(matches!(err, NameError::NotInKernel { .. }));
        assert!(
            err.to_string().contains("not known to the running kernel"),
            "{err}"
        );
    }

    #[test]
    fn numbers_name_capabilities_up_to_the_kernels_last() {
        assert_eq!(parse("7", 40), Ok(CapName::Cap(7)));
        assert_eq!(parse(" 0 ", 40), Ok(CapName::Cap(0)));
        assert_eq!(parse("+21", 40), Ok(CapName::Cap(21)));
        assert_eq!(parse("40", 40), Ok(CapName::Cap(40)));
        for bad in ["41", "64", "-1", "300", "99999999999999999999"] {
            assert_eq!(
                parse(bad, 40).unwrap_err().to_string(),
                format!("no capability number {bad}: this kernel's go from 0 to 40"),
                "{bad}"
            );
        }
        // Never past the 64-bit set, whatever last_cap claims.
        assert!(matches!(
            parse("64", 255),
            Err(NameError::Number { last: 63, .. })
        ));
        let got = parse_list(&["7,setgid", "0"], 40).unwrap();
        assert_eq!(got, vec![CapName::Cap(7), CapName::Cap(6), CapName::Cap(0)]);
        assert_eq!(parse_set(&["13"], 40).unwrap(), CapSet::of(&[13]));
    }

    #[test]
    fn comma_lists_and_repeats() {
        let got = parse_list(&["chown,kill", "setuid"], 40).unwrap();
        assert_eq!(got, vec![CapName::Cap(0), CapName::Cap(5), CapName::Cap(7)]);
    }

    #[test]
    fn names_round_trip() {
        for (i, n) in NAMES.iter().enumerate() {
            assert_eq!(parse(n, 40), Ok(CapName::Cap(i as u8)));
            assert_eq!(parse(&oci_name(i as u8), 40), Ok(CapName::Cap(i as u8)));
        }
        assert_eq!(short_name(41), "cap_41");
        // Numbers past the table parse back from both printed forms.
        assert_eq!(parse("cap_41", 63), Ok(CapName::Cap(41)));
        assert_eq!(parse(&oci_name(41), 63), Ok(CapName::Cap(41)));
        assert!(matches!(
            parse("cap_41", 40),
            Err(NameError::NotInKernel { .. })
        ));
        // Never a capability past the 64-bit set, whatever last_cap claims.
        assert!(matches!(
            parse("cap_64", 255),
            Err(NameError::Unknown { .. })
        ));
    }
}
