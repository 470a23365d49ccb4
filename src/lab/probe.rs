//! What one probe container showed: capprobe's answer, or why there is none. Shared by the
//! capability experiment (`experiment.rs`) and its seccomp dimension (`seccomp.rs`).

use serde::Deserialize;

/// One line of capprobe output.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Probe {
    pub capability: String,
    pub number: u8,
    pub operation: String,
    /// `allowed`, an errno name, or `not-probed`.
    pub result: String,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// What one of the two containers showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    /// capprobe ran and answered.
    Probe(Probe),
    /// minirun refused to grant the capability: its own bounding set lacks it.
    Withheld(String),
    /// The container did not produce a probe answer (minirun error, crash, timeout).
    Failed(String),
}

impl Side {
    /// The short form for the table's result columns.
    pub fn short(&self) -> &str {
        match self {
            Side::Probe(p) => &p.result,
            Side::Withheld(_) => "withheld",
            Side::Failed(_) => "error",
        }
    }

    pub(super) fn probe(&self) -> Option<&Probe> {
        match self {
            Side::Probe(p) => Some(p),
            Side::Withheld(_) | Side::Failed(_) => None,
        }
    }

    /// The probe's detail or reason, or the failure message.
    pub fn note(&self) -> Option<&str> {
        match self {
            Side::Probe(p) => p.detail.as_deref().or(p.reason.as_deref()),
            Side::Withheld(m) | Side::Failed(m) => Some(m),
        }
    }
}

/// The operation a row shows: capprobe's own words from either side, else `explain`'s.
pub(super) fn operation(number: u8, granted: &Side, dropped: &Side) -> String {
    [granted, dropped]
        .iter()
        .find_map(|s| s.probe().map(|p| p.operation.clone()))
        .or_else(|| super::explain::info(number).map(|i| i.probe.to_string()))
        .unwrap_or_else(|| "none".into())
}
