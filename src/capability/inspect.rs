//! Reading a process's capability sets back from the kernel (/proc/PID/status).

use super::{CapSet, CapSets, Error, StatusError};

/// The five sets of `pid` (None: this process).
pub fn read_status(pid: Option<i32>) -> Result<CapSets, Error> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(source) => return Err(Error::Read { path, source }),
    };
    parse_status(&text).map_err(|source| Error::Status { path, source })
}

/// Parses the `Cap*:` lines of a /proc/PID/status text.
pub fn parse_status(text: &str) -> Result<CapSets, StatusError> {
    let field = |key: &'static str| -> Result<CapSet, StatusError> {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .ok_or(StatusError::NoLine(key))?;
        let v = u64::from_str_radix(line.trim(), 16).map_err(|source| StatusError::BadValue {
            key,
            line: line.to_string(),
            source,
        })?;
        Ok(CapSet(v))
    };
    Ok(CapSets {
        inheritable: field("CapInh:")?,
        permitted: field("CapPrm:")?,
        effective: field("CapEff:")?,
        bounding: field("CapBnd:")?,
        ambient: field("CapAmb:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        let t = "Name:\tsleep\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\n";
        let s = parse_status(t).unwrap();
        assert_eq!(s.effective, crate::capability::policy::DOCKER_DEFAULTS);
        assert!(s.ambient.is_empty());
        assert!(parse_status("Name: x\n").is_err());
    }

    /// Our parser and the `caps` crate (capget(2) and prctl) must agree on this process.
    #[test]
    fn agrees_with_capget() {
        let ours = read_status(None).unwrap();
        let mask = |set: caps::CapsHashSet| CapSet(set.iter().map(|c| c.bitmask()).sum());
        let read = |which| mask(caps::read(None, which).unwrap());
        assert_eq!(ours.effective, read(caps::CapSet::Effective));
        assert_eq!(ours.permitted, read(caps::CapSet::Permitted));
        assert_eq!(ours.inheritable, read(caps::CapSet::Inheritable));
        assert_eq!(ours.bounding, read(caps::CapSet::Bounding));
        assert_eq!(ours.ambient, read(caps::CapSet::Ambient));
    }
}
