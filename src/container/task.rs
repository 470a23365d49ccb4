//! What the workload inherits through execve from the task that starts it, beside
//! credentials: the execution domain (`linux.personality`, personality(2)) and the NUMA
//! memory policy (`linux.memoryPolicy`, set_mempolicy(2)). Pure translation from the spec in
//! `personality` and `memory_policy` (validate calls them, so a bad value is a one-line error
//! before any namespace exists); `apply` is the effect, in the child.

use super::error::{Context, Result};
use crate::step;
use oci_spec::runtime::{
    LinuxMemoryPolicy, LinuxPersonality, LinuxPersonalityDomain, MemoryPolicyFlagType,
    MemoryPolicyModeType,
};

/// personality(2)'s PER_LINUX and PER_LINUX32.
const PER_LINUX: u64 = 0x0000;
const PER_LINUX32: u64 = 0x0008;

/// Nodes a nodemask can name: the kernel's MAX_NUMNODES at its largest (NODES_SHIFT 10).
const MAX_NODES: usize = 1024;

/// set_mempolicy(2)'s arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemPolicy {
    /// The mode with its flags or'ed in, as the syscall takes it.
    pub mode: i32,
    /// The nodemask, 64 nodes a word; empty for "no nodes".
    pub nodes: Vec<u64>,
    /// The spec's words, for messages.
    pub text: String,
}

/// `linux.personality`: the domain, or an error for the flags (the spec defines none).
pub fn personality(p: Option<&LinuxPersonality>) -> Result<Option<u64>> {
    let Some(p) = p else { return Ok(None) };
    if let Some(f) = p.flags().as_ref().filter(|f| !f.is_empty()) {
        bail!("linux.personality.flags {f:?}: no personality flags are supported");
    }
    Ok(Some(match p.domain() {
        LinuxPersonalityDomain::PerLinux => PER_LINUX,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    }))
}

/// `linux.memoryPolicy`: mode, flags and nodes checked as the kernel would check them, so that
/// set_mempolicy in the child fails only for a node this machine lacks.
pub fn memory_policy(p: Option<&LinuxMemoryPolicy>) -> Result<Option<MemPolicy>> {
    let Some(p) = p else { return Ok(None) };
    let (mode, needs_nodes) = match p.mode() {
        MemoryPolicyModeType::MpolDefault => (0, Some(false)),
        MemoryPolicyModeType::MpolPreferred => (1, None),
        MemoryPolicyModeType::MpolBind => (2, Some(true)),
        MemoryPolicyModeType::MpolInterleave => (3, Some(true)),
        MemoryPolicyModeType::MpolLocal => (4, Some(false)),
        MemoryPolicyModeType::MpolPreferredMany => (5, Some(true)),
        MemoryPolicyModeType::MpolWeightedInterleave => (6, Some(true)),
    };
    let text = format!(
        "linux.memoryPolicy {} nodes {:?}",
        p.mode(),
        p.nodes().as_deref().unwrap_or("")
    );
    let nodes =
        parse_nodes(p.nodes().as_deref().unwrap_or("")).map_err(|e| refused!("{text}: {e}"))?;
    let empty = nodes.iter().all(|w| *w == 0);
    match needs_nodes {
        Some(true) if empty => bail!("{text}: {} needs at least one node", p.mode()),
        Some(false) if !empty => bail!("{text}: {} takes no nodes", p.mode()),
        _ => {}
    }
    let mut flags = 0;
    for f in p.flags().iter().flatten() {
        flags |= match f {
            MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
            MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
            MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
        };
    }
    if flags & (3 << 14) == 3 << 14 {
        bail!("{text}: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other");
    }
    if flags & (1 << 13) != 0 && mode != 2 {
        bail!("{text}: MPOL_F_NUMA_BALANCING goes with MPOL_BIND only");
    }
    if flags != 0 && needs_nodes == Some(false) {
        bail!("{text}: {} takes no flags", p.mode());
    }
    Ok(Some(MemPolicy {
        mode: mode | flags,
        nodes,
        text,
    }))
}

/// `0-3,5,7-8` → a nodemask.
fn parse_nodes(list: &str) -> Result<Vec<u64>> {
    let mut mask = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let number = |n: &str| -> Result<usize> {
            let n: usize = n
                .trim()
                .parse()
                .map_err(|_| refused!("\"{part}\" is not a node number or range"))?;
            if n >= MAX_NODES {
                bail!("node {n} is out of range (0 to {})", MAX_NODES - 1);
            }
            Ok(n)
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => (number(part)?, number(part)?),
        };
        if lo > hi {
            bail!("\"{part}\" is a range that goes down");
        }
        for n in lo..=hi {
            if mask.len() <= n / 64 {
                mask.resize(n / 64 + 1, 0);
            }
            mask[n / 64] |= 1u64 << (n % 64);
        }
    }
    Ok(mask)
}

/// In the child, before execve (both are inherited by it).
pub fn apply(personality: Option<u64>, policy: Option<&MemPolicy>) -> Result<()> {
    if let Some(p) = personality {
        // SAFETY: an integer argument; the call changes only this task's execution domain.
        let r = unsafe { libc::personality(p as libc::c_ulong) };
        nix::errno::Errno::result(r).with_context(|| format!("personality({p:#x})"))?;
        step!("personality {p:#x}");
    }
    if let Some(p) = policy {
        let (ptr, maxnode) = if p.nodes.is_empty() {
            (std::ptr::null(), 0)
        } else {
            // The kernel reads maxnode - 1 bits.
            (p.nodes.as_ptr(), p.nodes.len() * 64 + 1)
        };
        // SAFETY: `ptr` is null or points at `nodes`, which holds maxnode - 1 bits and lives
        // across the call; the kernel only reads it.
        let r = unsafe { libc::syscall(libc::SYS_set_mempolicy, p.mode, ptr, maxnode) };
        nix::errno::Errno::result(r).with_context(|| {
            format!(
                "{}: set_mempolicy refused it (a node this machine does not have?)",
                p.text
            )
        })?;
        step!("set_mempolicy {}", p.text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: serde_json::Value) -> Result<Option<MemPolicy>> {
        memory_policy(Some(&serde_json::from_value(json).unwrap()))
    }

    #[test]
    fn node_lists() {
        assert_eq!(parse_nodes("").unwrap(), Vec::<u64>::new());
        assert_eq!(parse_nodes("0").unwrap(), vec![1]);
        assert_eq!(parse_nodes("0-2,5").unwrap(), vec![0b100111]);
        assert_eq!(parse_nodes("64").unwrap(), vec![0, 1]);
        for bad in ["x", "3-1", "1-", "1024"] {
            assert!(parse_nodes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn modes_and_flags() {
        let p = policy(serde_json::json!({"mode": "MPOL_BIND", "nodes": "0"}))
            .unwrap()
            .unwrap();
        assert_eq!((p.mode, p.nodes), (2, vec![1]));
        let p = policy(
            serde_json::json!({"mode": "MPOL_INTERLEAVE", "nodes": "0-1",
            "flags": ["MPOL_F_STATIC_NODES"]}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.mode, 3 | 1 << 15);
        assert_eq!(
            policy(serde_json::json!({"mode": "MPOL_LOCAL"}))
                .unwrap()
                .unwrap()
                .mode,
            4
        );
        let e = |j| policy(j).unwrap_err().to_string();
        assert!(e(serde_json::json!({"mode": "MPOL_BIND"})).contains("needs at least one node"));
        assert!(e(serde_json::json!({"mode": "MPOL_DEFAULT", "nodes": "0"})).contains("no nodes"));
        assert!(
            e(serde_json::json!({"mode": "MPOL_BIND", "nodes": "0",
            "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}))
            .contains("exclude")
        );
        assert!(e(serde_json::json!({"mode": "MPOL_BIND", "nodes": "a"})).contains("\"a\""));
        assert_eq!(memory_policy(None).unwrap(), None);
    }

    #[test]
    fn personality_domains() {
        let p = |j| personality(Some(&serde_json::from_value(j).unwrap()));
        assert_eq!(
            p(serde_json::json!({"domain": "LINUX32"})).unwrap(),
            Some(PER_LINUX32)
        );
        assert_eq!(
            p(serde_json::json!({"domain": "LINUX"})).unwrap(),
            Some(PER_LINUX)
        );
        let e = p(serde_json::json!({"domain": "LINUX", "flags": ["X"]})).unwrap_err();
        assert!(e.to_string().contains("linux.personality.flags"), "{e}");
    }
}
