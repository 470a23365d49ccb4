//! minirun: a small Linux container runtime that makes every capability decision explicit.

pub mod capability;
pub mod cgroups;
pub mod cli;
pub mod container;
pub mod inspect_cmd;
pub mod lab;
pub mod oci;
pub mod run;
pub mod spec;
pub mod trace;
